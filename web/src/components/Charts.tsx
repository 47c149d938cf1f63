import { useMemo } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import type { PostureRow, StatusRow } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { useDisplay } from '../lib/display';
import { wallClock } from '../lib/timezone';
import { CHART_ORDER, FALL, POSTURE_COLOURS, POSTURE_COLOURS_CONTRAST, POSTURE_COUNT, postureKey, rowIndex } from '../lib/posture';
import { EChart } from './EChart';

export type Range = 'hour' | 'day' | 'week';
export const RANGE_MS: Record<Range, number> = { hour: 3600_000, day: 86400_000, week: 7 * 86400_000 };
export { postureIndex } from '../lib/posture';

/** The charts' colours in the standard and the high-contrast theme (styles.css has the same pairs). */
export const CHART_PALETTES = {
  standard: {
    text: '#1b2430',
    grid: '#e3e7ec',
    line: '#8d96a0',
    edge: '#fff',
    levels: ['#1e7b34', '#a15800', '#b3261e'],
    fall: '#b3261e',
    postures: POSTURE_COLOURS,
  },
  contrast: {
    text: '#fff',
    grid: '#6b6b6b',
    line: '#c8c8c8',
    edge: '#000',
    levels: ['#7ee08a', '#ffb454', '#ff8a80'],
    fall: '#ff8a80',
    postures: POSTURE_COLOURS_CONTRAST,
  },
} as const;

/**
 * The palette of the theme shown, and a px size scaled like the page's text (20 px root = ×1), up to
 * ×1.6: beyond that the labels crowd a phone's chart, and the summary below it says the same in text.
 */
function useChartLook() {
  const { contrast, rootPx } = useDisplay();
  const k = Math.min(1.6, rootPx / 20);
  return { c: CHART_PALETTES[contrast ? 'contrast' : 'standard'], px: (n: number) => Math.round(n * k), contrast, k };
}

export function statusTime(s: StatusRow): string {
  return s.reading_at ?? s.updated_at;
}

export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  const { t } = useI18n();
  return (
    <fieldset className="range-picker">
      <legend>{t('chart.range')}</legend>
      {(['hour', 'day', 'week'] as const).map((r) => (
        <label key={r} className={value === r ? 'selected' : ''}>
          <input type="radio" name="range" value={r} checked={value === r} onChange={() => onChange(r)} />
          {t(`chart.range.${r}`)}
        </label>
      ))}
    </fieldset>
  );
}

export function StatusChart({ statuses, range, now }: { statuses: StatusRow[]; range: Range; now: number }) {
  const { t, lang, timeZone } = useI18n();
  const from = now - RANGE_MS[range];
  const points = useMemo(
    () =>
      statuses
        .map((s) => [Date.parse(statusTime(s)), s.status] as [number, number])
        .filter(([x]) => x >= from && x <= now + 300_000)
        .sort((a, b) => a[0] - b[0]),
    [statuses, from, now],
  );
  const counts = [0, 0, 0];
  for (const [, v] of points) counts[v] = (counts[v] ?? 0) + 1;
  const levelNames = [t('level.normal'), t('level.caution'), t('level.danger')];
  const { c, px, contrast, k } = useChartLook();
  const option = useMemo<EChartsCoreOption>(
    () => ({
      animation: false,
      aria: { enabled: true },
      // The axis reads the wearer's clock: UTC mode over wall-clock times (lib/timezone wallClock).
      useUTC: true,
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => levelNames[Number(v)] ?? String(v) },
      xAxis: {
        type: 'time',
        min: wallClock(from, timeZone),
        max: wallClock(now, timeZone),
        axisLabel: { fontSize: px(14), color: c.text, hideOverlap: true, margin: px(12) },
        axisLine: { lineStyle: { color: c.text } },
      },
      yAxis: {
        type: 'value',
        min: 0,
        max: 2,
        interval: 1,
        axisLabel: { fontSize: px(16), color: c.text, formatter: (v: number) => levelNames[v] ?? '' },
        splitLine: { lineStyle: { color: c.grid } },
      },
      visualMap: {
        show: false,
        dimension: 1,
        pieces: [
          { value: 0, color: c.levels[0] },
          { value: 1, color: c.levels[1] },
          { value: 2, color: c.levels[2] },
        ],
      },
      series: [
        {
          type: 'line',
          step: 'end',
          symbol: 'circle',
          symbolSize: 9,
          lineStyle: { width: 3 },
          data: points.map(([x, v]) => [wallClock(x, timeZone), v]),
        },
      ],
    }),
    // c and px follow contrast and k
    [points, from, now, lang, contrast, k, timeZone],
  );
  const rangeName = t(`chart.range.${range}`);
  const summary = t('chart.status.summary', {
    range: rangeName,
    normal: counts[0] ?? 0,
    caution: counts[1] ?? 0,
    danger: counts[2] ?? 0,
  });
  return (
    <section className="panel" aria-labelledby="status-chart-title">
      <h2 id="status-chart-title">{t('chart.status.title')}</h2>
      {points.length === 0 ? <p className="note">{t('chart.empty')}</p> : null}
      <EChart option={option} height={Math.round(220 * k)} label={summary} />
      <p className="chart-summary">{summary}</p>
    </section>
  );
}

/** The timeline's points, oldest first, within the range: [time, row on the chart's axis, class]. */
export function postureTimeline(rows: PostureRow[], range: Range, now: number) {
  const from = now - RANGE_MS[range];
  const points: { at: number; row: number; index: number }[] = [];
  for (const r of rows) {
    const index = rowIndex(r);
    const at = Date.parse(r.updated_at);
    if (index === null || Number.isNaN(at) || at < from || at > now + 300_000) continue;
    points.push({ at, row: CHART_ORDER.indexOf(index as (typeof CHART_ORDER)[number]), index });
  }
  points.sort((a, b) => a.at - b.at);
  // The axis spans what there is (posture windows are seconds apart), padded a little, rather than a
  // whole hour with every point squeezed against its right edge.
  const first = points[0]?.at ?? from;
  const min = Math.max(from, Math.min(first - (now - first) * 0.05, now - 60_000));
  const counts = Array<number>(POSTURE_COUNT).fill(0);
  for (const p of points) counts[p.index] = (counts[p.index] ?? 0) + 1;
  return { points, min, max: now, counts };
}

export function PostureChart({
  postures,
  unavailable,
  range,
  now,
}: {
  postures: PostureRow[];
  unavailable: boolean;
  range: Range;
  now: number;
}) {
  const { t, lang, formatTime, timeZone } = useI18n();
  const { points, min, max, counts } = useMemo(() => postureTimeline(postures, range, now), [postures, range, now]);
  const names = useMemo(() => CHART_ORDER.map((i) => t(postureKey(i))), [lang]);
  const short = max - min <= 15 * 60_000;
  const { c, px, contrast, k } = useChartLook();
  const option = useMemo<EChartsCoreOption>(() => {
    // The axis runs over wall-clock times of the wearer's zone (lib/timezone wallClock) in UTC mode, so
    // its values are written as UTC.
    const timeFmt = new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB',
      short
        ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: 'UTC' }
        : range === 'week'
          ? { month: 'numeric', day: 'numeric', hour: '2-digit', hourCycle: 'h23', timeZone: 'UTC' }
          : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });
    return {
      animation: false,
      aria: { enabled: true },
      useUTC: true,
      grid: { left: 8, right: 20, top: 12, bottom: 8, containLabel: true },
      tooltip: {
        trigger: 'item',
        formatter: (p: { value: [number, number] }) => `${timeFmt.format(new Date(p.value[0]))}<br/><b>${names[p.value[1]] ?? ''}</b>`,
      },
      xAxis: {
        type: 'time',
        min: wallClock(min, timeZone),
        max: wallClock(max, timeZone),
        splitNumber: 3,
        axisLabel: { fontSize: px(14), color: c.text, hideOverlap: true, margin: px(12), formatter: (v: number) => timeFmt.format(new Date(v)) },
        axisLine: { lineStyle: { color: c.text } },
      },
      yAxis: {
        type: 'category',
        data: names.map((n, row) => ({
          value: n,
          textStyle: CHART_ORDER[row] === FALL ? { color: c.fall, fontWeight: 'bold' } : undefined,
        })),
        axisLabel: { fontSize: px(15), color: c.text },
        axisLine: { lineStyle: { color: c.text } },
        axisTick: { alignWithLabel: true },
        splitLine: { show: true, lineStyle: { color: c.grid } },
      },
      series: [
        {
          type: 'line',
          step: 'end',
          lineStyle: { width: 3, color: c.line },
          symbol: 'circle',
          symbolSize: px(12),
          data: points.map((p) => ({
            value: [wallClock(p.at, timeZone), p.row],
            symbol: p.index === FALL ? 'triangle' : 'circle',
            symbolSize: px(p.index === FALL ? 20 : 12),
            itemStyle: { color: c.postures[p.index], borderColor: c.edge, borderWidth: 1.5 },
          })),
        },
      ],
    };
    // c and px follow contrast and k
  }, [points, min, max, names, short, range, lang, contrast, k, timeZone]);
  const latest = points[points.length - 1];
  const top = counts.indexOf(Math.max(...counts));
  const falls = counts[FALL] ?? 0;
  const summary =
    latest === undefined
      ? t('chart.empty')
      : [
          t('chart.posture.summary', { n: points.length, posture: t(postureKey(top)) }),
          t('chart.posture.latest', { posture: t(postureKey(latest.index)), time: formatTime(new Date(latest.at).toISOString()) }),
          falls > 0 ? t('chart.posture.falls', { n: falls }) : '',
        ]
          .filter(Boolean)
          .join(' ');
  return (
    <section className="panel" aria-labelledby="posture-chart-title" data-testid="posture-chart" data-points={points.length}>
      <h2 id="posture-chart-title">{t('chart.posture.title')}</h2>
      {unavailable ? (
        <p className="note" data-testid="posture-unavailable">{t('chart.posture.unavailable')}</p>
      ) : points.length === 0 ? (
        <p className="note">{t('chart.empty')}</p>
      ) : (
        <>
          <EChart option={option} height={Math.round(300 * k)} label={summary} />
          <p className="chart-summary">{summary}</p>
        </>
      )}
    </section>
  );
}
