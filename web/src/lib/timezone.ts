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
  let minutes = 0;
  try {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    }).formatToParts(at);
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
    minutes = Math.round((asUtc - Math.floor(at.getTime() / 60000) * 60000) / 60000);
  } catch {
    minutes = 0;
  }
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
