// The wearer's IANA time zone (issue 19): sign-up sends the browser's, "My details" can change it, and
// times of a wearer are written in the wearer's zone (a guardian abroad sees the wearer's local time,
// with the zone named when it is not the guardian's own).

/** The browser's IANA zone ("Asia/Seoul"); "Asia/Seoul" when the browser does not say. */
export function browserTimeZone(): string {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone && zone.length <= 64 ? zone : 'Asia/Seoul';
  } catch {
    return 'Asia/Seoul';
  }
}

/**
 * The zones to offer: the browser's list (Intl.supportedValuesOf), with `current` and the browser's own
 * always in it (an older browser's list may lack a zone the server knows).
 */
export function timeZoneChoices(current: string): string[] {
  let zones: string[] = [];
  try {
    const supported = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
    zones = supported ? supported('timeZone') : [];
  } catch {
    zones = [];
  }
  const set = new Set(zones);
  set.add(current);
  set.add(browserTimeZone());
  set.add('Asia/Seoul');
  return [...set].sort((a, b) => a.localeCompare(b));
}

/** A zone as a person reads it: "Asia/Seoul (UTC+09:00)" at `at`. */
export function describeTimeZone(zone: string, at: Date = new Date()): string {
  return `${zone.replace(/_/g, ' ')} (${utcOffsetText(zone, at)})`;
}

/** "UTC+09:00", "UTC-02:30", "UTC+00:00" for `zone` at `at`. */
export function utcOffsetText(zone: string, at: Date = new Date()): string {
  const minutes = zoneOffsetMinutes(zone, at);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

// ---- times written in the wearer's zone ----
// The wearer's own screens and a guardian's view of a wearer write clock times in the wearer's zone
// (i18n's TimeZoneScope); the charts' time axes run in ECharts' UTC mode over "wall-clock" times (the
// instant moved by the zone's offset), so that their ticks fall on the zone's hours and midnights.

const partsFormatters = new Map<string, Intl.DateTimeFormat | null>();

/** A formatter giving the date and time of day in `zone`; null when the browser does not know the zone. */
function partsFormatter(zone: string): Intl.DateTimeFormat | null {
  let f = partsFormatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      });
    } catch {
      f = null;
    }
    partsFormatters.set(zone, f);
  }
  return f;
}

/** Year, month (1–12), day, hour and minute of the instant in `zone` (null: an unknown zone). */
function wallParts(zone: string, at: number): { y: number; mo: number; d: number; h: number; mi: number } | null {
  const f = partsFormatter(zone);
  if (!f || !Number.isFinite(at)) return null;
  const parts = f.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour') % 24, mi: get('minute') };
}

/** Minutes `zone` is ahead of UTC at `at` (negative west of Greenwich; 0 for a zone the browser does not know). */
export function zoneOffsetMinutes(zone: string, at: Date | number = Date.now()): number {
  const ms = typeof at === 'number' ? at : at.getTime();
  const p = wallParts(zone, ms);
  if (!p) return 0;
  const asUtc = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi);
  return Math.round((asUtc - Math.floor(ms / 60000) * 60000) / 60000);
}

/** Whether the browser knows the IANA zone. */
export function isKnownTimeZone(zone: string | null | undefined): zone is string {
  return !!zone && partsFormatter(zone) !== null;
}

/** The zone as the browser names it (an alias such as "Asia/Calcutta" resolved), or null when unknown. */
function canonicalZone(zone: string): string | null {
  const f = partsFormatter(zone);
  return f ? f.resolvedOptions().timeZone : null;
}

/** Are both the same zone (by the browser's name for it)? */
export function sameTimeZone(a: string, b: string): boolean {
  if (a === b) return true;
  const ca = canonicalZone(a);
  return ca !== null && ca === canonicalZone(b);
}

/** The zone to write a wearer's times in: theirs when the browser knows it, else the browser's own. */
export function displayTimeZone(zone?: string | null): string {
  return isKnownTimeZone(zone) ? zone : browserTimeZone();
}

/**
 * The instant's wall-clock time in `zone` as if that were UTC: for a time axis in ECharts' UTC mode, whose
 * ticks then fall on the zone's whole hours and midnights and whose labels read the zone's clock.
 */
export function wallClock(ms: number, zone: string): number {
  return ms + zoneOffsetMinutes(zone, ms) * 60_000;
}

/** The day (YYYY-MM-DD) the instant falls on in `zone`. */
export function zonedDayKey(ms: number, zone: string): string {
  const p = wallParts(zone, ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (!p) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }
  return `${String(p.y).padStart(4, '0')}-${pad(p.mo)}-${pad(p.d)}`;
}

/**
 * The first instant of the calendar day (year, month 1–12, day; out-of-range days roll over) in `zone`:
 * its midnight, or the first time after it where a daylight-saving change skips midnight.
 */
export function zonedDayStart(y: number, mo: number, d: number, zone: string): number {
  const wall = Date.UTC(y, mo - 1, d);
  // The offset at the guess, then at the instant it gives: right on both sides of a change.
  let at = wall - zoneOffsetMinutes(zone, wall) * 60_000;
  at = wall - zoneOffsetMinutes(zone, at) * 60_000;
  // Midnight skipped (the clock jumped from 23:59 to 01:00): the day starts at the jump.
  if (wallClock(at, zone) < wall) {
    const step = 15 * 60_000;
    while (wallClock(at, zone) < wall) at += step;
    at -= step;
    while (wallClock(at, zone) < wall) at += 60_000;
  }
  return at;
}
