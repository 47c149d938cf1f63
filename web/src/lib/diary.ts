// The day diary (issue 19): one day of a wearer's life told as short lines, oldest first, newest last:
//   03:05 심박수 165회/분, 위험 · 03:05 보호자에게 알렸어요 · 03:06 119에 신고했어요 · 03:07 보호자 … 님이 확인했어요
// built from the incidents of that day and their timelines (GET /api/incidents/{id}: events and
// notifications), the status changes of that day (GET /api/get_status), and the readings around each
// incident's start (the day's buckets of GET /api/vitals?from=&to=). No React here.
import type { Incident, IncidentDetail, Level, StatusRow } from '../api/types';
import type { MetricStats, TrendBand, VitalsTrend } from '../api/types';
import type { StringKey } from '../i18n/strings';
import { zonedDayKey, zonedDayStart } from './timezone';
import { CHART_METRICS, formatValue, isChartMetric, levelAt, METRIC_FORMAT, type ChartMetric } from './trends';

type T = (k: StringKey, v?: Record<string, string | number>) => string;

// ---- days (the wearer's time zone when given, else the browser's) ----

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The day (YYYY-MM-DD) of the instant in `zone` (absent: the browser's zone). */
export function dayKey(ms: number, zone?: string): string {
  if (zone) return zonedDayKey(ms, zone);
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A calendar day of the form YYYY-MM-DD that exists (no 2026-02-30). */
export function isDayKey(s: string | null | undefined): s is string {
  const m = s ? DAY_RE.exec(s) : null;
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** Midnight at the start of the day and of the next one (23, 24 or 25 hours apart) in `zone` (absent: the browser's). */
export function dayBounds(key: string, zone?: string): { start: number; end: number } {
  const m = DAY_RE.exec(key);
  if (!m) throw new Error(`not a day: ${key}`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  const d = Number(m[3]);
  if (zone) return { start: zonedDayStart(y, mo + 1, d, zone), end: zonedDayStart(y, mo + 1, d + 1, zone) };
  return { start: new Date(y, mo, d).getTime(), end: new Date(y, mo, d + 1).getTime() };
}

/** The calendar day `days` after (or before) `key`, whatever the zone. */
export function shiftDay(key: string, days: number): string {
  const m = DAY_RE.exec(key);
  if (!m) throw new Error(`not a day: ${key}`);
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
}

// ---- values ----

/** "165회/분", "72 bpm", "98%", "36.4°C": a space before a unit that is a word in Latin letters. */
export function withUnit(value: string, unit: string): string {
  return /^[A-Za-z]/.test(unit) ? `${value} ${unit}` : `${value}${unit}`;
}

/** The buckets' values of the bucket that holds `at` (or null). */
export function valuesAt(trend: Pick<VitalsTrend, 'buckets' | 'bucket_seconds'> | null, at: number) {
  if (!trend) return null;
  const step = trend.bucket_seconds * 1000;
  for (const b of trend.buckets) {
    const s = Date.parse(b.start);
    if (s <= at && at < s + step) return b;
  }
  return null;
}

/**
 * The value that says what happened: the highest when it is in a caution or danger band, else the
 * lowest when that is, else the average.
 */
export function telling(stats: MetricStats, bands: TrendBand[] | undefined): number {
  if (levelAt(bands, stats.max)) return stats.max;
  if (levelAt(bands, stats.min)) return stats.min;
  return stats.mean;
}

export function metricText(metric: ChartMetric, value: number, t: T): string {
  return `${t(`vitals.${metric}`)} ${withUnit(formatValue(metric, value), t(METRIC_FORMAT[metric].unit))}`;
}

/**
 * The values of `metrics` in the bucket that holds `at`. `inBandOnly`: only values that are in a caution or
 * danger band (or of a metric without fixed bands), so that a line saying "danger" never shows calm numbers
 * beside it (an incident's time is when the server judged, which for readings sent late is not when they
 * were measured).
 */
function valuesText(trend: VitalsTrend | null, at: number, metrics: readonly string[], t: T, inBandOnly = false): string {
  const b = valuesAt(trend, at);
  if (!b || !trend) return '';
  return metrics
    .filter(isChartMetric)
    .map((m) => {
      const s = b[m];
      if (!s || s.count <= 0) return '';
      const bands = trend.bands[m];
      const v = telling(s, bands);
      if (inBandOnly && (bands ?? []).some((x) => !x.for_s) && !levelAt(bands, v)) return '';
      return metricText(m, v, t);
    })
    .filter(Boolean)
    .join(', ');
}

// ---- the diary ----

export type DiaryKind = 'start' | 'event' | 'notification' | 'status';

export interface DiaryEntry {
  at: number;
  kind: DiaryKind;
  text: string;
  /** A second line in smaller type: the readings at an incident's start. */
  detail?: string;
  level?: Level;
  incidentId?: number;
  /** The event type for events (data-event in the page, for tests). */
  type?: string;
}

export interface DiaryInput {
  day: string;
  /** The wearer's IANA zone: the day runs from its midnight to the next (absent: the browser's zone). */
  timeZone?: string;
  /** The incidents of the day with their timelines; an incident whose detail could not be read has only itself. */
  incidents: { incident: Incident; detail?: IncidentDetail | null }[];
  /** GET /api/get_status rows, any order. */
  statuses: StatusRow[];
  /** Whether `statuses` may be missing older rows (the server answers at most 1000). */
  statusesTruncated?: boolean;
  trend: VitalsTrend | null;
  /** People's names by id (the linked guardians and wearers), for who acknowledged. */
  names?: Record<string, string>;
  /** The signed-in person's id: "I acknowledged" rather than one's own id. */
  me?: string;
}

/** The incidents that were open at some time of the day (in `zone`; absent: the browser's). */
export function incidentsOfDay(incidents: Incident[], day: string, now = Date.now(), zone?: string): Incident[] {
  const { start, end } = dayBounds(day, zone);
  return incidents.filter((i) => {
    const opened = Date.parse(i.opened_at);
    const closed = i.closed_at ? Date.parse(i.closed_at) : now;
    return opened < end && closed >= start;
  });
}

const EVENT_KEYS: Record<string, StringKey> = {
  escalated: 'diary.event.escalated',
  updated: 'diary.event.updated',
  guardians_notified: 'diary.event.guardians_notified',
  guardians_reminded: 'diary.event.guardians_reminded',
  countdown_started: 'diary.event.countdown_started',
  dispatched: 'diary.event.dispatched',
  acknowledged: 'diary.event.acknowledged',
  wearer_ok: 'diary.event.wearer_ok',
  ok_expired: 'diary.event.ok_expired',
  snoozed: 'diary.event.snoozed',
  all_clear: 'diary.event.all_clear',
  resolved: 'diary.event.resolved',
  sos: 'diary.event.sos',
  sos_repeated: 'diary.event.sos_repeated',
  fall: 'diary.event.fall',
  location: 'diary.event.location',
  sms_skipped: 'diary.event.sms_skipped',
  email_skipped: 'diary.event.email_skipped',
  dispatch_refused: 'diary.event.dispatch_refused',
};

/** Events shown as alarming (danger); the rest are calm steps: notices, answers, endings. */
const ALARMING = new Set(['escalated', 'countdown_started', 'dispatched', 'ok_expired', 'sos', 'sos_repeated', 'fall', 'dispatch_refused']);

/** An incident opened because the watch stopped sending (its rule is the profile's signal_loss). */
export const isSignalLoss = (i: Pick<Incident, 'causes' | 'rules'>) =>
  i.causes.includes('signal_loss') || (i.causes.length === 0 && i.rules.some((r) => r.includes('signal_loss')));

const MAX_LEVEL: Record<number, Level> = { 0: 'normal', 1: 'caution', 2: 'danger' };

const time = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

function startText(i: Incident, startLevel: Level, trend: VitalsTrend | null, at: number, t: T): string {
  const level = t(`level.${startLevel}`);
  if (i.kind === 'fall') return t('diary.start.fall');
  if (i.kind === 'sos') return t('diary.start.sos');
  if (isSignalLoss(i)) return t('diary.signalLoss');
  const values = valuesText(trend, at, i.causes, t, true);
  if (values) return t('diary.start.values', { values, level });
  const causes = i.causes.map((c) => (isChartMetric(c) ? t(`vitals.${c}`) : c === 'signal_loss' ? t('cause.signal_loss') : c)).join(', ');
  return causes ? t('diary.start.causes', { level, causes }) : t('diary.start.plain', { level });
}

function notificationWords(channel: string, purpose: string, t: T, has: (k: string) => boolean) {
  const ch = has(`incident.notify.channel.${channel}`) ? t(`incident.notify.channel.${channel}` as StringKey) : channel;
  const pu = has(`incident.notify.purpose.${purpose}`) ? t(`incident.notify.purpose.${purpose}` as StringKey) : t('incident.notify.purpose.other');
  return { channel: ch, purpose: pu };
}

/**
 * The day's lines, oldest first. A status change within 3 minutes of an incident's start, rise or end
 * is left out: the incident's line says it, with the values.
 */
export function buildDiary(input: DiaryInput, t: T, has: (k: string) => boolean = () => true): { entries: DiaryEntry[]; statusesComplete: boolean } {
  const { start, end } = dayBounds(input.day, input.timeZone);
  const inDay = (at: number) => !Number.isNaN(at) && at >= start && at < end;
  const entries: (DiaryEntry & { seq: number })[] = [];
  let seq = 0;
  const push = (e: DiaryEntry) => {
    if (inDay(e.at)) entries.push({ ...e, seq: seq++ });
  };
  const incidentMoments: number[] = [];

  const incidents = [...input.incidents].sort((a, b) => time(a.incident.opened_at) - time(b.incident.opened_at));
  for (const { incident: i, detail } of incidents) {
    const events = [...(detail?.events ?? [])].sort((a, b) => time(a.at) - time(b.at));
    const opened = events.find((e) => e.type === 'opened');
    const openedAt = opened ? time(opened.at) : time(i.opened_at);
    incidentMoments.push(openedAt);
    const others = CHART_METRICS.filter((m) => !i.causes.includes(m));
    // The level it opened at: caution when it rose to danger later, else the most serious it reached.
    const startLevel: Level = events.some((e) => e.type === 'escalated') ? 'caution' : MAX_LEVEL[i.max_status] ?? i.level;
    const rest = i.kind === 'vitals' ? valuesText(input.trend, openedAt, others, t) : valuesText(input.trend, openedAt, CHART_METRICS, t);
    push({
      at: openedAt,
      kind: 'start',
      text: startText(i, startLevel, input.trend, openedAt, t),
      detail: rest ? t('diary.start.detail', { values: rest }) : undefined,
      level: i.kind === 'vitals' ? startLevel : 'danger',
      incidentId: i.id,
      type: 'opened',
    });
    for (const e of events) {
      if (e.type === 'opened') continue;
      const at = time(e.at);
      // The SOS or fall that opened the incident is its first line already.
      if ((e.type === 'sos' || e.type === 'fall') && Math.abs(at - openedAt) < 2000) continue;
      if (e.type === 'escalated' || e.type === 'all_clear') incidentMoments.push(at);
      const key = EVENT_KEYS[e.type];
      const mine = !!input.me && e.actor === input.me;
      const actor =
        e.actor === 'wearer'
          ? t('diary.actor.wearer')
          : mine
            ? t('diary.actor.me')
            : e.actor && e.actor !== 'system'
              ? input.names?.[e.actor] ?? e.actor
              : t('diary.someone');
      // A skipped message names its (masked) recipient in the detail: "No SMS to 010-****-5432: …".
      const to = /(?:to )(\S+?)(?::|$)/.exec(e.detail ?? '')?.[1];
      const text =
        (e.type === 'sms_skipped' || e.type === 'email_skipped') && to
          ? t(`diary.event.${e.type}.to`, { to })
          : mine && (e.type === 'acknowledged' || e.type === 'snoozed')
            ? t(`diary.event.${e.type}.me`)
            : key
              ? t(key, { actor })
              : t('diary.event.other', { type: e.type });
      push({
        at,
        kind: 'event',
        text,
        level: ALARMING.has(e.type) ? 'danger' : e.type === 'all_clear' ? 'normal' : undefined,
        incidentId: i.id,
        type: e.type,
      });
    }
    for (const n of detail?.notifications ?? []) {
      const w = notificationWords(n.channel, n.purpose, t, has);
      const via = n.to ? `${w.channel}, ${n.to}` : w.channel;
      if (n.state === 'delivered' && n.delivered_at) {
        push({ at: time(n.delivered_at), kind: 'notification', text: t('diary.notified', { purpose: w.purpose, via }), incidentId: i.id, type: 'delivered' });
      } else if (n.state === 'failed') {
        push({ at: time(n.created_at), kind: 'notification', text: t('diary.notifyFailed', { purpose: w.purpose, via }), level: 'danger', incidentId: i.id, type: 'failed' });
      }
    }
  }

  // Status changes: each row whose level differs from the row before it.
  const rows = input.statuses
    .map((s) => ({ s, at: time(s.reading_at ?? s.updated_at) }))
    .filter((r) => !Number.isNaN(r.at))
    .sort((a, b) => a.at - b.at);
  let prev: Level | null = null;
  let sawBefore = false;
  for (const { s, at } of rows) {
    if (at < start) {
      prev = s.level;
      sawBefore = true;
      continue;
    }
    if (at >= end) break;
    const changed = prev === null ? s.level !== 'normal' : s.level !== prev;
    prev = s.level;
    if (!changed) continue;
    if (incidentMoments.some((m) => Math.abs(m - at) <= 180_000)) continue;
    const signalLoss = s.reading_at === null || s.reading_at === undefined ? (s.causes ?? []).includes('signal_loss') : false;
    const values = valuesText(input.trend, at, s.causes ?? [], t, s.level !== 'normal');
    const level = t(`level.${s.level}`);
    push({
      at,
      kind: 'status',
      text: signalLoss ? t('diary.signalLoss') : values ? t('diary.status.values', { level, values }) : t('diary.status', { level }),
      level: s.level,
      type: s.level,
    });
  }
  const statusesComplete = sawBefore || !input.statusesTruncated;

  entries.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return { entries: entries.map(({ seq: _seq, ...e }) => e), statusesComplete };
}

/** One line of the day's numbers: "심박수 평균 71회/분 (58–97)" per metric with data. */
export function daySummary(trend: VitalsTrend | null, t: T): string[] {
  if (!trend) return [];
  const out: string[] = [];
  for (const m of CHART_METRICS) {
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const b of trend.buckets) {
      const s = b[m];
      if (!s || s.count <= 0) continue;
      sum += s.mean * s.count;
      count += s.count;
      min = Math.min(min, s.min);
      max = Math.max(max, s.max);
    }
    if (count === 0) continue;
    const unit = t(METRIC_FORMAT[m].unit);
    out.push(t('diary.summary.metric', { metric: t(`vitals.${m}`), mean: withUnit(formatValue(m, sum / count), unit), min: formatValue(m, min), max: formatValue(m, max) }));
  }
  return out;
}
