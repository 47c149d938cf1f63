import { useMemo } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import type { PostureRow, StatusRow } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { CHART_ORDER, FALL, POSTURE_COLOURS, POSTURE_COUNT, postureKey, rowIndex } from '../lib/posture';
import { EChart } from './EChart';

export type Range = 'hour' | 'day' | 'week';
export const RANGE_MS: Record<Range, number> = { hour: 3600_000, day: 86400_000, week: 7 * 86400_000 };
const LEVEL_COLOURS = ['#1e7b34', '#a15800', '#b3261e'] as const;
export { postureIndex } from '../lib/posture';

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
  const { t, lang } = useI18n();
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
  const option = useMemo<EChartsCoreOption>(
    () => ({
      animation: false,
      aria: { enabled: true },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => levelNames[Number(v)] ?? String(v) },
      xAxis: {
        type: 'time',
        min: from,
        max: now,
        axisLabel: { fontSize: 14, color: '#1b2430', hideOverlap: true },
      },
      yAxis: {
        type: 'value',
        min: 0,
        max: 2,
        interval: 1,
        axisLabel: { fontSize: 16, color: '#1b2430', formatter: (v: number) => levelNames[v] ?? '' },
      },
      visualMap: {
        show: false,
        dimension: 1,
        pieces: [
          { value: 0, color: LEVEL_COLOURS[0] },
          { value: 1, color: LEVEL_COLOURS[1] },
          { value: 2, color: LEVEL_COLOURS[2] },
        ],
      },
      series: [
        {
          type: 'line',
          step: 'end',
          symbol: 'circle',
          symbolSize: 9,
          lineStyle: { width: 3 },
          data: points,
        },
      ],
    }),
    [points, from, now, lang],
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
      <EChart option={option} height={220} label={summary} />
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
  const { t, lang, formatTime } = useI18n();
  const { points, min, max, counts } = useMemo(() => postureTimeline(postures, range, now), [postures, range, now]);
  const names = useMemo(() => CHART_ORDER.map((i) => t(postureKey(i))), [lang]);
  const short = max - min <= 15 * 60_000;
  const option = useMemo<EChartsCoreOption>(() => {
    const timeFmt = new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB',
      short
        ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }
        : range === 'week'
          ? { month: 'numeric', day: 'numeric', hour: '2-digit', hourCycle: 'h23' }
          : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    return {
      animation: false,
      aria: { enabled: true },
      grid: { left: 8, right: 20, top: 12, bottom: 8, containLabel: true },
      tooltip: {
        trigger: 'item',
        formatter: (p: { value: [number, number] }) => `${timeFmt.format(new Date(p.value[0]))}<br/><b>${names[p.value[1]] ?? ''}</b>`,
      },
      xAxis: {
        type: 'time',
        min,
        max,
        splitNumber: 3,
        axisLabel: { fontSize: 14, color: '#1b2430', hideOverlap: true, formatter: (v: number) => timeFmt.format(new Date(v)) },
      },
      yAxis: {
        type: 'category',
        data: names.map((n, row) => ({
          value: n,
          textStyle: CHART_ORDER[row] === FALL ? { color: '#b3261e', fontWeight: 'bold' } : undefined,
        })),
        axisLabel: { fontSize: 15, color: '#1b2430' },
        axisTick: { alignWithLabel: true },
        splitLine: { show: true, lineStyle: { color: '#e3e7ec' } },
      },
      series: [
        {
          type: 'line',
          step: 'end',
          lineStyle: { width: 3, color: '#8d96a0' },
          symbol: 'circle',
          symbolSize: 12,
          data: points.map((p) => ({
            value: [p.at, p.row],
            symbol: p.index === FALL ? 'triangle' : 'circle',
            symbolSize: p.index === FALL ? 20 : 12,
            itemStyle: { color: POSTURE_COLOURS[p.index], borderColor: '#fff', borderWidth: 1.5 },
          })),
        },
      ],
    };
  }, [points, min, max, names, short, range, lang]);
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
          <EChart option={option} height={300} label={summary} />
          <p className="chart-summary">{summary}</p>
        </>
      )}
    </section>
  );
}
