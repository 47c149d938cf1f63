import { useMemo } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import type { PostureRow, StatusRow } from '../api/types';
import { useI18n } from '../i18n/i18n';
import type { StringKey } from '../i18n/strings';
import { EChart } from './EChart';

export type Range = 'hour' | 'day' | 'week';
export const RANGE_MS: Record<Range, number> = { hour: 3600_000, day: 86400_000, week: 7 * 86400_000 };
const LEVEL_COLOURS = ['#1e7b34', '#a15800', '#b3261e'] as const;
const POSTURE_COLOURS = ['#6b4fa3', '#3f6fb5', '#0f7c8c', '#5b7d2a', '#8a6d1d', '#1e7b34', '#555f6d', '#b3261e'];
const POSTURE_NAMES: Record<string, number> = {
  downstairs: 0, downstair: 0, upstairs: 1, upstair: 1, running: 2, sitting: 3, 'sit down': 3, sitdown: 3,
  standing: 4, 'stand up': 4, standup: 4, walking: 5, lying: 6, fall: 7,
};

export function postureIndex(p: number | string): number | null {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 7 ? p : null;
  const i = POSTURE_NAMES[p.trim().toLowerCase()];
  return i === undefined ? null : i;
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

function bucketsFor(range: Range, now: number): { start: number; size: number; count: number } {
  if (range === 'hour') return { start: now - 3600_000, size: 600_000, count: 6 };
  if (range === 'day') return { start: now - 86400_000, size: 3 * 3600_000, count: 8 };
  return { start: now - 7 * 86400_000, size: 86400_000, count: 7 };
}

export function postureBuckets(rows: PostureRow[], range: Range, now: number) {
  const { start, size, count } = bucketsFor(range, now);
  const table: number[][] = Array.from({ length: 8 }, () => Array<number>(count).fill(0));
  for (const r of rows) {
    const i = postureIndex(r.posture);
    const at = Date.parse(r.updated_at);
    if (i === null || Number.isNaN(at) || at < start || at > now) continue;
    const b = Math.min(count - 1, Math.floor((at - start) / size));
    const row = table[i];
    if (row) row[b] = (row[b] ?? 0) + 1;
  }
  return { start, size, count, table };
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
  const { t, lang } = useI18n();
  const { start, size, count, table } = useMemo(() => postureBuckets(postures, range, now), [postures, range, now]);
  const labels = useMemo(() => {
    const fmt = new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB',
      range === 'week' ? { month: 'numeric', day: 'numeric' } : { hour: '2-digit', minute: '2-digit' });
    return Array.from({ length: count }, (_, i) => fmt.format(new Date(start + i * size)));
  }, [start, size, count, range, lang]);
  const totals = table.map((row) => row.reduce((a, b) => a + b, 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const top = total > 0 ? totals.indexOf(Math.max(...totals)) : -1;
  const option = useMemo<EChartsCoreOption>(
    () => ({
      animation: false,
      aria: { enabled: true },
      legend: { bottom: 0, textStyle: { fontSize: 14, color: '#1b2430' }, itemWidth: 18, itemHeight: 14 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 8, right: 16, top: 8, bottom: 72, containLabel: true },
      xAxis: { type: 'value', minInterval: 1, axisLabel: { fontSize: 14, color: '#1b2430' } },
      yAxis: { type: 'category', data: labels, inverse: true, axisLabel: { fontSize: 14, color: '#1b2430' } },
      series: table.map((row, i) => ({
        name: t(`posture.${i}` as StringKey),
        type: 'bar',
        stack: 'posture',
        itemStyle: { color: POSTURE_COLOURS[i] },
        emphasis: { focus: 'series' },
        data: row,
      })),
    }),
    [table, labels, lang],
  );
  const summary =
    top >= 0
      ? t('chart.posture.summary', { range: t(`chart.range.${range}`), posture: t(`posture.${top}` as StringKey) })
      : t('chart.empty');
  return (
    <section className="panel" aria-labelledby="posture-chart-title">
      <h2 id="posture-chart-title">{t('chart.posture.title')}</h2>
      {unavailable ? (
        <p className="note" data-testid="posture-unavailable">{t('chart.posture.unavailable')}</p>
      ) : total === 0 ? (
        <p className="note">{t('chart.empty')}</p>
      ) : null}
      <EChart option={option} height={range === 'hour' ? 300 : 360} label={summary} />
      {!unavailable && total > 0 ? <p className="chart-summary">{summary}</p> : null}
    </section>
  );
}
