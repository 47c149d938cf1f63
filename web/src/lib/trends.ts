// The Trends view's data shaping (issue 19): what GET /api/vitals?from=&to= answers, made into what a
// chart draws (a mean line and a min–max band that break where buckets are missing), the caution and
// danger bands of the wearer's rules as value ranges, the axis that shows them, and the plain-words
// summary above each chart. No React here: test/trends.test.ts checks it directly.
import type { Incident, MetricStats, TrendBand, TrendMetric, VitalsTrend } from '../api/types';
import type { StringKey } from '../i18n/strings';

export type TrendRange = 'hour' | 'day' | 'week' | 'month';
export const TREND_RANGES: readonly TrendRange[] = ['hour', 'day', 'week', 'month'];
export const TREND_RANGE_MS: Record<TrendRange, number> = {
  hour: 3600_000,
  day: 86400_000,
  week: 7 * 86400_000,
  month: 30 * 86400_000, // the server keeps readings up to 30 days old
};

/** The metrics that get a chart, in the order shown; glucose only when the buckets carry it. */
export const CHART_METRICS = ['heart_rate', 'spo2', 'respiration_rate', 'skin_temp', 'glucose'] as const;
export type ChartMetric = (typeof CHART_METRICS)[number];

/** Each chart metric's unit (i18n key) and the digits its values are shown with. */
export const METRIC_FORMAT: Record<ChartMetric, { unit: StringKey; digits: number }> = {
  heart_rate: { unit: 'vitals.unit.bpm', digits: 0 },
  spo2: { unit: 'vitals.unit.percent', digits: 0 },
  respiration_rate: { unit: 'vitals.unit.breaths', digits: 0 },
  skin_temp: { unit: 'vitals.unit.celsius', digits: 1 },
  glucose: { unit: 'vitals.unit.mgdl', digits: 0 },
};

export const isChartMetric = (m: string): m is ChartMetric => (CHART_METRICS as readonly string[]).includes(m);

export function formatValue(metric: ChartMetric, v: number): string {
  return v.toFixed(METRIC_FORMAT[metric].digits);
}

/**
 * The window a range asks for, ending now. `to` is the next whole minute, so that renders within a
 * minute ask the same URL (and the server's bucket rounding sees the same `from`).
 */
export function trendWindow(range: TrendRange, now: number): { from: number; to: number } {
  const to = Math.ceil(now / 60_000) * 60_000;
  return { from: to - TREND_RANGE_MS[range], to };
}

/** The chart metrics that have at least one reading in the buckets, in CHART_METRICS order. */
export function metricsWithData(trend: Pick<VitalsTrend, 'buckets'>): ChartMetric[] {
  return CHART_METRICS.filter((m) => trend.buckets.some((b) => (b[m]?.count ?? 0) > 0));
}

export interface TrendPoint {
  /** The bucket's middle (ms), where its values are drawn. */
  at: number;
  start: number;
  stats: MetricStats;
}

/** A metric's buckets that have it, oldest first. */
export function metricPoints(trend: Pick<VitalsTrend, 'buckets' | 'bucket_seconds'>, metric: TrendMetric): TrendPoint[] {
  const half = (trend.bucket_seconds * 1000) / 2;
  const out: TrendPoint[] = [];
  for (const b of trend.buckets) {
    const s = b[metric];
    const start = Date.parse(b.start);
    if (!s || s.count <= 0 || Number.isNaN(start)) continue;
    out.push({ at: start + half, start, stats: s });
  }
  return out.sort((a, b) => a.start - b.start);
}

export type SeriesValue = [number, number | null];

export interface MetricSeries {
  points: TrendPoint[];
  /** The mean line: a null between two buckets that are not neighbours, so no line crosses the gap. */
  mean: SeriesValue[];
  /** The band's lower edge and its height (max − min), stacked, with the same nulls. */
  low: SeriesValue[];
  spread: SeriesValue[];
  /** Indexes (into `mean`) of points with no neighbour on either side: drawn as a dot. */
  isolated: number[];
}

/**
 * No readings for longer than this (or than one bucket, when buckets are longer) breaks the line: the
 * server calls 15 minutes without readings a signal loss. A watch that reports every 10 minutes leaves
 * empty 5-minute buckets between its readings, which are not gaps.
 */
export const GAP_MS = 15 * 60_000;

/** The series of one metric, with gaps where readings (of this metric) stopped for longer than GAP_MS. */
export function metricSeries(trend: Pick<VitalsTrend, 'buckets' | 'bucket_seconds'>, metric: TrendMetric): MetricSeries {
  const points = metricPoints(trend, metric);
  const step = trend.bucket_seconds * 1000;
  const gap = Math.max(step, GAP_MS);
  const mean: SeriesValue[] = [];
  const low: SeriesValue[] = [];
  const spread: SeriesValue[] = [];
  const isolated: number[] = [];
  points.forEach((p, i) => {
    const prev = points[i - 1];
    const next = points[i + 1];
    const gapBefore = prev !== undefined && p.start - prev.start > gap;
    if (gapBefore) {
      const at = prev.start + step;
      mean.push([at, null]);
      low.push([at, null]);
      spread.push([at, null]);
    }
    const alone = (prev === undefined || gapBefore) && (next === undefined || next.start - p.start > gap);
    if (alone) isolated.push(mean.length);
    mean.push([p.at, p.stats.mean]);
    low.push([p.at, p.stats.min]);
    spread.push([p.at, p.stats.max - p.stats.min]);
  });
  return { points, mean, low, spread, isolated };
}

export interface MetricSummary {
  mean: number;
  min: number;
  max: number;
  /** Readings with this metric. */
  count: number;
}

/** The whole window's average (weighted by each bucket's count), lowest and highest. */
export function summarize(points: TrendPoint[]): MetricSummary | null {
  if (points.length === 0) return null;
  let sum = 0;
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const { stats } of points) {
    sum += stats.mean * stats.count;
    count += stats.count;
    min = Math.min(min, stats.min);
    max = Math.max(max, stats.max);
  }
  return { mean: count > 0 ? sum / count : points[0]!.stats.mean, min, max, count };
}

// ---- bands ----

/** Does the value fall in the band? Every bound the band has must hold. */
export function inBand(b: TrendBand, v: number): boolean {
  if (b.at_least !== undefined && !(v >= b.at_least)) return false;
  if (b.above !== undefined && !(v > b.above)) return false;
  if (b.at_most !== undefined && !(v <= b.at_most)) return false;
  if (b.below !== undefined && !(v < b.below)) return false;
  return b.at_least !== undefined || b.above !== undefined || b.at_most !== undefined || b.below !== undefined;
}

/** Bands that hold at once (no `for_s`): the ones drawn. */
export const instantBands = (bands: TrendBand[] | undefined): TrendBand[] => (bands ?? []).filter((b) => !b.for_s);
/** Bands that count only when sustained: said in words under the chart, not drawn. */
export const sustainedBands = (bands: TrendBand[] | undefined): TrendBand[] => (bands ?? []).filter((b) => !!b.for_s);

const LEVEL_RANK = { caution: 1, danger: 2 } as const;

/** The most serious level whose instantaneous band holds the value, or null. */
export function levelAt(bands: TrendBand[] | undefined, v: number): 'caution' | 'danger' | null {
  let best: 'caution' | 'danger' | null = null;
  for (const b of instantBands(bands)) if (inBand(b, v) && (best === null || LEVEL_RANK[b.level] > LEVEL_RANK[best])) best = b.level;
  return best;
}

const bounds = (b: TrendBand) => [b.at_least, b.above, b.at_most, b.below].filter((x): x is number => x !== undefined);
/** A high-side band (values at or above a bound) or a low-side one. */
export const isHighSide = (b: TrendBand) => b.at_least !== undefined || b.above !== undefined;

export interface BandArea {
  level: 'caution' | 'danger';
  from: number;
  to: number;
}

/**
 * The value ranges to shade between `min` and `max` of the axis: each part of the axis takes the most
 * serious level whose band covers it, so a caution band stops where the danger band above it starts.
 */
export function bandAreas(bands: TrendBand[] | undefined, min: number, max: number): BandArea[] {
  const drawn = instantBands(bands);
  if (drawn.length === 0 || !(max > min)) return [];
  const cuts = [min, max, ...drawn.flatMap(bounds).filter((v) => v > min && v < max)].sort((a, b) => a - b);
  const out: BandArea[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const lo = cuts[i]!;
    const hi = cuts[i + 1]!;
    if (!(hi > lo)) continue;
    const level = levelAt(drawn, (lo + hi) / 2);
    if (!level) continue;
    const last = out[out.length - 1];
    if (last && last.level === level && last.to === lo) last.to = hi;
    else out.push({ level, from: lo, to: hi });
  }
  return out;
}

/**
 * A tick step of 1, 2 or 5 × 10ⁿ giving about `ticks` intervals over `span`, and at least `minStep` (the
 * smallest difference the labels show: 1 for whole numbers, 0.1 for skin temperature).
 */
export function niceStep(span: number, ticks = 4, minStep = 0): number {
  const raw = span / ticks;
  if (!(raw > 0)) return Math.max(1, minStep);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  return Math.max(step, minStep);
}

/**
 * The value axis: the data (lowest min to highest max), the usual range, and the nearest caution or
 * danger bound on each side (so the family sees how far the values are from them), on whole ticks.
 */
export function valueAxis(
  points: TrendPoint[],
  bands: TrendBand[] | undefined,
  usual?: { low: number; high: number } | null,
  minStep = 1,
): { min: number; max: number; interval: number } {
  const s = summarize(points);
  let lo = s ? s.min : Infinity;
  let hi = s ? s.max : -Infinity;
  if (usual) {
    lo = Math.min(lo, usual.low);
    hi = Math.max(hi, usual.high);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  const drawn = instantBands(bands);
  // The nearest bound above the data on the high side, and below it on the low side.
  const highs = drawn.filter(isHighSide).flatMap((b) => [b.at_least, b.above]).filter((v): v is number => v !== undefined);
  const lows = drawn.filter((b) => !isHighSide(b)).flatMap((b) => [b.at_most, b.below]).filter((v): v is number => v !== undefined);
  const highAbove = highs.filter((v) => v >= hi);
  const lowBelow = lows.filter((v) => v <= lo);
  if (highAbove.length) hi = Math.min(...highAbove);
  if (lowBelow.length) lo = Math.max(...lowBelow);
  // A flat line (every value the same) gets a few ticks around it.
  if (!(hi - lo >= 2 * minStep)) {
    const mid = (hi + lo) / 2;
    lo = mid - 2 * minStep;
    hi = mid + 2 * minStep;
  }
  const span = hi - lo;
  lo -= span * 0.06;
  hi += span * 0.06;
  const step = niceStep(hi - lo, 4, minStep);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return { min: round(min), max: round(max === min ? min + step : max), interval: step };
}

export interface Episode {
  level: 'caution' | 'danger';
  /** The first bucket's start and the last bucket's end (ms). */
  from: number;
  to: number;
}

/**
 * The times the values reached a caution or danger band: neighbouring buckets whose lowest or highest
 * value fell in a band make one episode, as serious as its most serious bucket.
 */
export function episodes(points: TrendPoint[], bands: TrendBand[] | undefined, bucketSeconds: number): Episode[] {
  const step = bucketSeconds * 1000;
  const out: Episode[] = [];
  let prevStart = -Infinity;
  for (const p of points) {
    const a = levelAt(bands, p.stats.min);
    const b = levelAt(bands, p.stats.max);
    const level = a === 'danger' || b === 'danger' ? 'danger' : a ?? b;
    const last = out[out.length - 1];
    if (level) {
      if (last && p.start - prevStart <= step && last.to === prevStart + step) {
        last.to = p.start + step;
        if (level === 'danger') last.level = 'danger';
      } else out.push({ level, from: p.start, to: p.start + step });
    }
    prevStart = p.start;
  }
  return out;
}

/** A band's bound in words: "131 이상" / "at least 131". */
export function bandBoundText(b: TrendBand, metric: ChartMetric, t: (k: StringKey, v?: Record<string, string | number>) => string): string {
  const parts: string[] = [];
  const f = (v: number) => formatValue(metric, v);
  if (b.at_least !== undefined) parts.push(t('trends.band.atLeast', { v: f(b.at_least) }));
  if (b.above !== undefined) parts.push(t('trends.band.above', { v: f(b.above) }));
  if (b.at_most !== undefined) parts.push(t('trends.band.atMost', { v: f(b.at_most) }));
  if (b.below !== undefined) parts.push(t('trends.band.below', { v: f(b.below) }));
  return parts.join(' · ');
}

// ---- words ----

type T = (k: StringKey, v?: Record<string, string | number>) => string;

/**
 * The plain-words summary above a chart: "지난 1주 심박수: 평균 69, 58–97." then the usual range and how
 * often the values reached the caution or danger bands (with the first time), so that the numbers are
 * there without reading the chart, for screen readers too.
 */
export function trendSummary(
  trend: Pick<VitalsTrend, 'buckets' | 'bucket_seconds' | 'bands' | 'usual'>,
  metric: ChartMetric,
  range: TrendRange,
  t: T,
  formatTime: (ms: number) => string,
): string {
  const points = metricPoints(trend, metric);
  const s = summarize(points);
  const name = t(`vitals.${metric}`);
  const period = t(`trends.period.${range}`);
  if (!s) return t('trends.summary.none', { metric: name, range: period });
  const f = (v: number) => formatValue(metric, v);
  const parts = [t('trends.summary', { metric: name, range: period, mean: f(s.mean), min: f(s.min), max: f(s.max), unit: t(METRIC_FORMAT[metric].unit) })];
  const usual = trend.usual[metric];
  parts.push(
    !usual
      ? t('trends.summary.noUsual')
      : f(usual.low) === f(usual.high)
        ? t('trends.summary.usualOne', { value: f(usual.low) })
        : t('trends.summary.usual', { low: f(usual.low), high: f(usual.high) }),
  );
  const all = episodes(points, trend.bands[metric], trend.bucket_seconds);
  const danger = all.filter((e) => e.level === 'danger');
  const caution = all.filter((e) => e.level === 'caution');
  if (danger.length) parts.push(t('trends.summary.danger', { n: danger.length, time: formatTime(danger[0]!.from) }));
  if (caution.length) parts.push(t('trends.summary.caution', { n: caution.length, time: formatTime(caution[0]!.from) }));
  if (!danger.length && !caution.length && instantBands(trend.bands[metric]).length) parts.push(t('trends.summary.inRange'));
  return parts.join(' ');
}

/** The most serious level an incident reached (its `level` is where it stands now, `normal` once over). */
export function incidentLevel(i: Pick<Incident, 'max_status' | 'level'>): 'normal' | 'caution' | 'danger' {
  return (['normal', 'caution', 'danger'] as const)[i.max_status] ?? i.level;
}

/** The incidents opened within the window, oldest first. */
export function incidentsIn(incidents: Incident[], from: number, to: number): Incident[] {
  return incidents
    .filter((i) => {
      const at = Date.parse(i.opened_at);
      return !Number.isNaN(at) && at >= from && at <= to;
    })
    .sort((a, b) => Date.parse(a.opened_at) - Date.parse(b.opened_at));
}

/** Is this what the Trends route answers, and not the old form ({"vitals": [...]}) of an older server? */
export function isTrend(v: unknown): v is VitalsTrend {
  const o = v as Partial<VitalsTrend> | null;
  return !!o && typeof o === 'object' && Array.isArray(o.buckets) && typeof o.bucket_seconds === 'number';
}

/** Visible window of a zoom given in percent of [from, to]. */
export function zoomWindow(from: number, to: number, zoom: { start: number; end: number }): { from: number; to: number } {
  const span = to - from;
  return { from: from + (span * zoom.start) / 100, to: from + (span * zoom.end) / 100 };
}

/** Zoom in (factor < 1) or out (factor > 1) around the middle of the visible part, within 0–100 %. */
export function zoomBy(zoom: { start: number; end: number }, factor: number, minSpan = 2): { start: number; end: number } {
  const mid = (zoom.start + zoom.end) / 2;
  const span = Math.min(100, Math.max(minSpan, (zoom.end - zoom.start) * factor));
  let start = mid - span / 2;
  let end = mid + span / 2;
  if (start < 0) {
    end -= start;
    start = 0;
  }
  if (end > 100) {
    start -= end - 100;
    end = 100;
  }
  const r = (v: number) => Math.round(Math.max(0, Math.min(100, v)) * 1000) / 1000;
  return { start: r(start), end: r(end) };
}

