// One metric of the Trends view: the plain-words summary, the chart (mean line, min–max band, usual
// range, caution/danger bands, incidents on the time axis, zoom and pan), and a legend in words.
import { useMemo } from 'react';
import * as echarts from 'echarts/core';
import type { EChartsCoreOption } from 'echarts/core';
import { DataZoomInsideComponent, DataZoomSliderComponent, MarkLineComponent } from 'echarts/components';
import type { Incident } from '../api/types';
import type { TrendBand, VitalsTrend } from '../api/types';
import { useI18n } from '../i18n/i18n';
import type { Lang } from '../i18n/strings';
import { useDisplay } from '../lib/display';
import { wallClock } from '../lib/timezone';
import {
  bandAreas,
  bandBoundText,
  formatValue,
  incidentLevel,
  instantBands,
  METRIC_FORMAT,
  metricSeries,
  sustainedBands,
  trendSummary,
  valueAxis,
  type ChartMetric,
  type TrendRange,
} from '../lib/trends';
import { EChart, type Zoom } from './EChart';

echarts.use([DataZoomInsideComponent, DataZoomSliderComponent, MarkLineComponent]);

/** The Trends charts' colours in the standard and the high-contrast theme. */
export const TREND_PALETTES = {
  standard: {
    text: '#1b2430',
    grid: '#dde2e8',
    mean: '#0b3d5c',
    spread: 'rgba(11, 61, 92, 0.2)',
    usual: 'rgba(30, 110, 200, 0.13)',
    usualEdge: '#1e6ec8',
    usualText: '#0a4f8a',
    caution: 'rgba(245, 176, 0, 0.3)',
    cautionText: '#5a3200',
    danger: 'rgba(179, 38, 30, 0.2)',
    dangerText: '#6f130e',
    incident: { caution: '#a15800', danger: '#b3261e', normal: '#1e7b34' },
    filler: 'rgba(11, 61, 92, 0.18)',
    handle: '#0b3d5c',
    sliderBg: '#f5f7fa',
    labelBg: 'rgba(255, 255, 255, 0.88)',
  },
  contrast: {
    text: '#fff',
    grid: '#5c5c5c',
    mean: '#ffe14d',
    spread: 'rgba(255, 225, 77, 0.3)',
    usual: 'rgba(0, 229, 255, 0.2)',
    usualEdge: '#00e5ff',
    usualText: '#00e5ff',
    caution: 'rgba(255, 180, 84, 0.32)',
    cautionText: '#ffb454',
    danger: 'rgba(255, 138, 128, 0.34)',
    dangerText: '#ff8a80',
    incident: { caution: '#ffb454', danger: '#ff8a80', normal: '#7ee08a' },
    filler: 'rgba(255, 225, 77, 0.3)',
    handle: '#ffe14d',
    sliderBg: '#000',
    labelBg: 'rgba(0, 0, 0, 0.85)',
  },
} as const;

/**
 * Axis label templates per level of ECharts' time axis. The axis runs in UTC mode over wall-clock times of
 * the wearer's zone (lib/timezone wallClock), so these read the wearer's clock.
 */
const TIME_LABELS: Record<Lang, Record<string, string>> = {
  ko: { year: '{yyyy}년', month: '{M}월', day: '{M}월 {d}일', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}', millisecond: '{HH}:{mm}:{ss}' },
  en: { year: '{yyyy}', month: '{MMM}', day: '{d} {MMM}', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}', millisecond: '{HH}:{mm}:{ss}' },
};

export const locale = (lang: Lang) => (lang === 'ko' ? 'ko-KR' : 'en-GB');

/** "12월 5일 03:05" / "5 Dec, 03:05" in `timeZone` (the wearer's; absent: the browser's). */
export function timeFormatter(lang: Lang, withDate = true, timeZone?: string): (ms: number) => string {
  const f = new Intl.DateTimeFormat(
    locale(lang),
    withDate
      ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }
      : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone },
  );
  return (ms) => f.format(new Date(ms));
}

function bandLegend(bands: TrendBand[] | undefined, metric: ChartMetric, level: 'caution' | 'danger', t: ReturnType<typeof useI18n>['t']): string | null {
  const of = instantBands(bands).filter((b) => b.level === level);
  return of.length ? of.map((b) => bandBoundText(b, metric, t)).join(' · ') : null;
}

export function TrendChart({
  metric,
  trend,
  range,
  from,
  to,
  incidents,
  zoom,
  onZoom,
}: {
  metric: ChartMetric;
  trend: VitalsTrend;
  range: TrendRange;
  from: number;
  to: number;
  incidents: Incident[];
  zoom: Zoom;
  onZoom: (z: Zoom) => void;
}) {
  const { t, lang, timeZone } = useI18n();
  const { contrast, rootPx } = useDisplay();
  const k = Math.min(1.6, rootPx / 20);
  const px = (n: number) => Math.round(n * k);
  const c = TREND_PALETTES[contrast ? 'contrast' : 'standard'];
  const bands = trend.bands[metric];
  const usual = trend.usual[metric] ?? null;
  const unit = t(METRIC_FORMAT[metric].unit);
  const series = useMemo(() => metricSeries(trend, metric), [trend, metric]);
  const axis = useMemo(() => valueAxis(series.points, bands, usual, 10 ** -METRIC_FORMAT[metric].digits), [series, bands, usual, metric]);
  const fmtTime = useMemo(() => timeFormatter(lang, true, timeZone), [lang, timeZone]);
  const summary = trendSummary(trend, metric, range, t, fmtTime);
  const height = Math.round(300 * k);
  const slider = px(34);

  const option = useMemo<EChartsCoreOption>(() => {
    // x values are wall-clock times of the wearer's zone, the axis in UTC mode: ticks on their hours.
    const wall = (ms: number) => wallClock(ms, timeZone);
    const onWall = (values: [number, number | null][]) => values.map(([x, v]) => [wall(x), v]);
    const byAt = new Map(series.points.map((p) => [wall(p.at), p]));
    const step = trend.bucket_seconds * 1000;
    const short = timeFormatter(lang, false, timeZone);
    // The plot's height in px (the chart less the slider and the axis labels), to leave out labels
    // of bands too thin to hold them.
    const plotPx = height - slider - px(16) - px(40);
    const fits = (lo: number, hi: number) => ((hi - lo) / (axis.max - axis.min)) * plotPx >= px(16);
    // The shaded bands go under the lines; their words go in a layer above them (transparent areas with
    // only a label, each on a light backing), so that the line never hides "평소 범위", "주의" or "위험".
    const label = (text: string, color: string, position: string) => ({
      show: true,
      position,
      formatter: text,
      color,
      fontSize: px(13),
      fontWeight: 'bold',
      backgroundColor: c.labelBg,
      // Wide enough for Korean glyphs, which ECharts measures a little narrow.
      padding: [3, 8],
      borderRadius: 3,
    });
    const areas: unknown[] = [];
    const labels: unknown[] = [];
    for (const a of bandAreas(bands, axis.min, axis.max)) {
      areas.push([{ yAxis: a.from, itemStyle: { color: a.level === 'danger' ? c.danger : c.caution } }, { yAxis: a.to }]);
      if (fits(a.from, a.to)) {
        labels.push([
          { yAxis: a.from, label: label(t(`level.${a.level}`), a.level === 'danger' ? c.dangerText : c.cautionText, 'insideRight') },
          { yAxis: a.to },
        ]);
      }
    }
    if (usual) {
      const lo = Math.max(axis.min, usual.low);
      const hi = Math.min(axis.max, usual.high);
      areas.push([{ yAxis: lo, itemStyle: { color: c.usual, borderColor: c.usualEdge, borderWidth: 1.5, borderType: 'dashed' } }, { yAxis: hi }]);
      // A band too thin for its word still gets it, just above the band.
      const top = fits(lo, hi) ? hi : Math.min(axis.max, lo + (axis.max - axis.min) * 0.12);
      labels.push([{ yAxis: lo, label: label(t('trends.usual'), c.usualText, 'insideTopLeft') }, { yAxis: top }]);
    }
    const marks = incidents
      .map((i) => ({ i, at: Date.parse(i.opened_at) }))
      .filter(({ at }) => at >= from && at <= to)
      .map(({ i, at }) => ({
        xAxis: wall(at),
        lineStyle: { color: c.incident[incidentLevel(i)], type: 'dashed', width: 2.5 },
        label: { formatter: '⚠', color: c.incident[incidentLevel(i)], fontSize: px(16), fontWeight: 'bold' },
      }));
    return {
      animation: false,
      aria: { enabled: true },
      useUTC: true,
      grid: { left: 8, right: 18, top: px(22), bottom: slider + px(16), containLabel: true },
      tooltip: {
        trigger: 'axis',
        confine: true,
        textStyle: { fontSize: px(15) },
        formatter: (params: { seriesName?: string; value?: [number, number | null] }[]) => {
          const m = params.find((p) => p.seriesName === 'mean');
          const p = m?.value ? byAt.get(m.value[0]) : undefined;
          if (!p) return '';
          const f = (v: number) => formatValue(metric, v);
          return [
            `${fmtTime(p.start)}–${short(p.start + step)}`,
            `${t('trends.tip.mean')}: <b>${f(p.stats.mean)}</b> ${unit}`,
            `${t('trends.tip.range')}: ${f(p.stats.min)}–${f(p.stats.max)}`,
            t('trends.tip.count', { n: p.stats.count }),
          ].join('<br/>');
        },
      },
      xAxis: {
        type: 'time',
        min: wall(from),
        max: wall(to),
        axisLabel: { fontSize: px(14), color: c.text, hideOverlap: true, margin: px(10), formatter: TIME_LABELS[lang] },
        axisLine: { lineStyle: { color: c.text } },
        splitLine: { show: false },
      },
      yAxis: {
        type: 'value',
        min: axis.min,
        max: axis.max,
        interval: axis.interval,
        axisLabel: { fontSize: px(14), color: c.text, formatter: (v: number) => formatValue(metric, v) },
        splitLine: { lineStyle: { color: c.grid } },
      },
      dataZoom: [
        { type: 'inside', xAxisIndex: 0, filterMode: 'none', zoomOnMouseWheel: 'ctrl', moveOnMouseWheel: false, moveOnMouseMove: true },
        {
          type: 'slider',
          xAxisIndex: 0,
          filterMode: 'none',
          height: slider,
          bottom: 6,
          showDetail: false,
          brushSelect: false,
          handleSize: '120%',
          handleStyle: { color: c.handle, borderColor: c.text },
          moveHandleSize: px(9),
          moveHandleStyle: { color: c.handle },
          borderColor: c.text,
          backgroundColor: c.sliderBg,
          fillerColor: c.filler,
          dataBackground: { lineStyle: { color: c.mean, opacity: 0.6 }, areaStyle: { color: c.spread } },
          selectedDataBackground: { lineStyle: { color: c.mean }, areaStyle: { color: c.spread } },
          textStyle: { color: c.text },
        },
      ],
      series: [
        {
          name: 'low',
          type: 'line',
          data: onWall(series.low),
          stack: 'minmax',
          symbol: 'none',
          lineStyle: { opacity: 0 },
          connectNulls: false,
          silent: true,
          markArea: { silent: true, data: areas },
          z: 1,
        },
        {
          name: 'spread',
          type: 'line',
          data: onWall(series.spread),
          stack: 'minmax',
          symbol: 'none',
          lineStyle: { opacity: 0 },
          areaStyle: { color: c.spread, opacity: 1 },
          connectNulls: false,
          silent: true,
          z: 2,
        },
        {
          name: 'mean',
          type: 'line',
          data: onWall(series.mean).map((v, i) =>
            series.isolated.includes(i) ? { value: v, symbol: 'circle', symbolSize: px(8) } : { value: v, symbol: 'none' },
          ),
          showSymbol: true,
          lineStyle: { width: 3, color: c.mean },
          itemStyle: { color: c.mean },
          connectNulls: false,
          markLine: marks.length ? { silent: true, symbol: ['none', 'none'], data: marks } : undefined,
          z: 3,
        },
        {
          name: 'labels',
          type: 'line',
          data: [],
          silent: true,
          // markArea has a z of its own (1: under the lines); these only carry words, above them.
          markArea: { silent: true, z: 10, itemStyle: { color: 'transparent' }, data: labels },
          z: 5,
        },
      ],
    };
    // c and px follow contrast and k
  }, [series, axis, bands, usual, incidents, from, to, lang, contrast, k, metric, unit, height, slider, fmtTime, trend.bucket_seconds, timeZone]);

  const caution = bandLegend(bands, metric, 'caution', t);
  const danger = bandLegend(bands, metric, 'danger', t);
  const sustained = sustainedBands(bands);
  const hasMarks = incidents.some((i) => {
    const at = Date.parse(i.opened_at);
    return at >= from && at <= to;
  });
  const f = (v: number) => formatValue(metric, v);
  const title = `trend-${metric}-title`;
  return (
    <section className="panel trend-panel" aria-labelledby={title} data-testid={`trend-${metric}`} data-points={series.points.length} data-gaps={series.mean.filter((v) => v[1] === null).length}>
      <h2 id={title}>{t('trends.heading', { metric: t(`vitals.${metric}`), unit })}</h2>
      <p className="trend-summary" data-testid={`trend-summary-${metric}`}>{summary}</p>
      <EChart option={option} height={height} label={summary} zoom={zoom} onZoom={onZoom} />
      <ul className="trend-legend" aria-label={t('trends.legend')}>
        <li><span className="swatch swatch-line" style={{ background: c.mean }} aria-hidden="true" />{t('trends.legend.mean')}</li>
        <li><span className="swatch" style={{ background: c.spread }} aria-hidden="true" />{t('trends.legend.spread')}</li>
        {usual ? (
          <li>
            <span className="swatch swatch-usual" style={{ background: c.usual, borderColor: c.usualEdge }} aria-hidden="true" />
            {f(usual.low) === f(usual.high) ? t('trends.legend.usualOne', { value: f(usual.low) }) : t('trends.legend.usual', { low: f(usual.low), high: f(usual.high) })}
          </li>
        ) : null}
        {caution ? <li><span className="swatch" style={{ background: c.caution }} aria-hidden="true" />{t('trends.legend.caution', { bounds: caution })}</li> : null}
        {danger ? <li><span className="swatch" style={{ background: c.danger }} aria-hidden="true" />{t('trends.legend.danger', { bounds: danger })}</li> : null}
        {sustained.map((b) => (
          <li key={b.rule} className="trend-legend-note">
            {t('trends.legend.sustained', { bounds: bandBoundText(b, metric, t), minutes: Math.round((b.for_s ?? 0) / 60), level: t(`level.${b.level}`) })}
          </li>
        ))}
        {hasMarks ? <li><span className="swatch swatch-mark" style={{ borderColor: c.incident.danger }} aria-hidden="true" />{t('trends.legend.incident')}</li> : null}
        {series.mean.some((v) => v[1] === null) ? <li className="trend-legend-note">{t('trends.legend.gap')}</li> : null}
      </ul>
    </section>
  );
}
