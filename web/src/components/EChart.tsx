// A thin React wrapper over ECharts: one instance per element, options replaced on change,
// resized with its container, disposed on unmount. Only the chart types we use are bundled.
// Charts that zoom (the Trends view) share one zoom: `zoom` (percent of the time axis) is applied to
// this chart's dataZoom, and `onZoom` hears the person zooming this chart (pinch, drag, slider).
import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { LineChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  TooltipComponent,
  VisualMapComponent,
  MarkAreaComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

// Line charts only (no chart here is a bar chart or has an ECharts legend: the legends are words in the page).
echarts.use([
  LineChart,
  AriaComponent,
  GridComponent,
  TooltipComponent,
  VisualMapComponent,
  MarkAreaComponent,
  SVGRenderer,
]);
// The zoom (dataZoom) and the incident lines (markLine) are registered by TrendChart, in the Trends
// view's own chunk, so the dashboard's first load does not carry them.

export interface Zoom {
  start: number;
  end: number;
}

const close = (a: number, b: number) => Math.abs(a - b) < 0.01;

/**
 * ECharts' aria component writes its own description ("This is a chart…", in English) over the
 * container's aria-label: give it ours, the summary in the page's language.
 */
function withLabel(option: EChartsCoreOption, label: string): EChartsCoreOption {
  const aria = (option as { aria?: { enabled?: boolean; label?: object } }).aria;
  if (!aria?.enabled) return option;
  return { ...option, aria: { ...aria, label: { ...aria.label, description: label } } };
}

/** The option with its dataZoom components set to `zoom`. */
function withZoom(option: EChartsCoreOption, zoom: Zoom | undefined): EChartsCoreOption {
  const dz = (option as { dataZoom?: unknown }).dataZoom;
  if (!zoom || !Array.isArray(dz)) return option;
  return { ...option, dataZoom: dz.map((d: object) => ({ ...d, start: zoom.start, end: zoom.end })) };
}

export function EChart({
  option,
  height,
  label,
  zoom,
  onZoom,
}: {
  option: EChartsCoreOption;
  height: number;
  label: string;
  zoom?: Zoom;
  onZoom?: (z: Zoom) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const zoomRef = useRef(zoom);
  zoomRef.current = zoom;
  const onZoomRef = useRef(onZoom);
  onZoomRef.current = onZoom;

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: 'svg' });
    chart.current = c;
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => c.resize()) : null;
    ro?.observe(el.current);
    c.on('datazoom', () => {
      const dz = (c.getOption() as { dataZoom?: { start?: number; end?: number }[] }).dataZoom?.[0];
      if (dz && typeof dz.start === 'number' && typeof dz.end === 'number') onZoomRef.current?.({ start: dz.start, end: dz.end });
    });
    return () => {
      ro?.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(withLabel(withZoom(option, zoomRef.current), label), { notMerge: true });
  }, [option, label]);

  // Another chart (or a button) zoomed: follow without telling back (silent), so nothing loops.
  useEffect(() => {
    const c = chart.current;
    if (!c || !zoom) return;
    const dz = (c.getOption() as { dataZoom?: { start?: number; end?: number }[] } | undefined)?.dataZoom?.[0];
    if (!dz || (close(dz.start ?? 0, zoom.start) && close(dz.end ?? 100, zoom.end))) return;
    c.dispatchAction({ type: 'dataZoom', start: zoom.start, end: zoom.end }, { silent: true });
  }, [zoom?.start, zoom?.end]);

  return <div ref={el} className="chart" style={{ height }} role="img" aria-label={label} />;
}
