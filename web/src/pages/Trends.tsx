// The Trends view (issue 19): a wearer's readings over the last hour, day, week or month, one chart per
// metric with data, for the wearer and for a guardian watching them (#/trends[?wearer=ID&name=…]).
// One GET /api/vitals?from=&to= per range change (and a refresh every 5 minutes while open, never
// faster than once a minute), the incidents once.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client';
import type { Incident } from '../api/types';
import type { VitalsTrend } from '../api/types';
import type { Zoom } from '../components/EChart';
import { TimeZoneNote } from '../components/TimeZoneNote';
import { timeFormatter, TrendChart } from '../components/TrendChart';
import { useI18n } from '../i18n/i18n';
import { dayKey, isSignalLoss } from '../lib/diary';
import { incidentLevel, incidentsIn, isChartMetric, isTrend, metricsWithData, TREND_RANGES, trendWindow, zoomBy, zoomWindow, type TrendRange } from '../lib/trends';
import { wearerLink } from '../lib/route';
import { useSession } from '../session';

const REFRESH_MS = 5 * 60_000;
const FULL: Zoom = { start: 0, end: 100 };

export function TrendRangePicker({ value, onChange }: { value: TrendRange; onChange: (r: TrendRange) => void }) {
  const { t } = useI18n();
  return (
    <fieldset className="range-picker trend-range" data-testid="trend-range">
      <legend>{t('trends.range')}</legend>
      {TREND_RANGES.map((r) => (
        <label key={r} className={value === r ? 'selected' : ''}>
          <input type="radio" name="trend-range" value={r} checked={value === r} onChange={() => onChange(r)} />
          {t(`trends.range.${r}`)}
        </label>
      ))}
    </fieldset>
  );
}

type Loaded = { range: TrendRange; from: number; to: number; trend: VitalsTrend };

export function Trends({ wearer, wearerName, initialRange }: { wearer?: string; wearerName?: string; initialRange?: TrendRange }) {
  const { api } = useSession();
  // Times are the wearer's clock (the route's TimeZoneScope).
  const { t, lang, timeZone } = useI18n();
  const [range, setRange] = useState<TrendRange>(initialRange ?? 'day');
  const [tick, setTick] = useState(0);
  const [data, setData] = useState<Loaded | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [retryIn, setRetryIn] = useState<number | null>(null);
  const [incidents, setIncidents] = useState<Incident[]>([]);
  const [zoom, setZoom] = useState<Zoom>(FULL);

  // One request per range change (and per refresh); an answer for an older request is dropped.
  useEffect(() => {
    let live = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const { from, to } = trendWindow(range, Date.now());
    setLoading(true);
    setError(null);
    api.getVitalsTrend({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), wearer }).then(
      (trend) => {
        if (!live) return;
        setLoading(false);
        setRetryIn(null);
        if (!isTrend(trend)) {
          setError('unsupported');
          return;
        }
        setData({ range, from, to, trend });
      },
      (e: unknown) => {
        if (!live) return;
        setLoading(false);
        if (e instanceof ApiError && e.status === 429) {
          const s = Math.max(1, e.retryAfterSeconds ?? 30);
          setRetryIn(s);
          retry = setTimeout(() => setTick((n) => n + 1), s * 1000);
          return;
        }
        setError(e instanceof TypeError ? 'network' : e instanceof Error ? e.message : 'error');
      },
    );
    return () => {
      live = false;
      if (retry) clearTimeout(retry);
    };
  }, [api, wearer, range, tick]);

  useEffect(() => {
    const id = setInterval(() => {
      if (typeof document === 'undefined' || document.visibilityState !== 'hidden') setTick((n) => n + 1);
    }, REFRESH_MS);
    return () => clearInterval(id);
  }, []);

  useEffect(() => {
    api.listIncidents({ limit: 100, wearer }).then(
      (r) => setIncidents(r.incidents),
      () => setIncidents([]), // the charts stand without them
    );
  }, [api, wearer]);

  const chooseRange = (r: TrendRange) => {
    setRange(r);
    setZoom(FULL);
  };
  const onZoom = useCallback((z: Zoom) => {
    setZoom((old) => (Math.abs(old.start - z.start) < 0.01 && Math.abs(old.end - z.end) < 0.01 ? old : { start: z.start, end: z.end }));
  }, []);

  const shown = data && data.range === range ? data : null;
  const metrics = useMemo(() => (shown ? metricsWithData(shown.trend) : []), [shown]);
  const inWindow = useMemo(() => (shown ? incidentsIn(incidents, shown.from, shown.to) : []), [incidents, shown]);
  const fmt = useMemo(() => timeFormatter(lang, true, timeZone), [lang, timeZone]);
  const visible = shown ? zoomWindow(shown.from, shown.to, zoom) : null;
  const name = wearerName ?? wearer;
  const whatOf = (i: Incident) =>
    i.kind === 'fall'
      ? t('trends.kind.fall')
      : i.kind === 'sos'
        ? t('trends.kind.sos')
        : isSignalLoss(i)
          ? t('cause.signal_loss')
          : i.causes.map((c) => (isChartMetric(c) ? t(`vitals.${c}`) : c)).join(', ') || t('trends.kind.vitals');

  return (
    <main id="main" className="trends" data-testid="trends" data-range={shown?.range ?? ''} data-bucket={shown?.trend.bucket_seconds ?? ''}>
      {wearer ? (
        <p className="viewing">
          {t('trends.viewing', { name: name ?? '' })} <a href={wearerLink('/dashboard', wearer, wearerName)}>{t('trends.backToStatus')}</a>
        </p>
      ) : (
        <p className="back-link"><a href="#/dashboard">{t('trends.backToStatus')}</a></p>
      )}
      <h1>{wearer ? t('trends.titleNamed', { name: name ?? '' }) : t('trends.title')}</h1>
      <p className="lead">{t('trends.intro')}</p>
      <TimeZoneNote />
      <TrendRangePicker value={range} onChange={chooseRange} />

      {loading && !shown ? <p role="status">{t('common.loading')}</p> : null}
      {retryIn !== null ? <p className="notice" role="status">{t('trends.rateLimited', { seconds: retryIn })}</p> : null}
      {error ? (
        <p className="form-error" role="alert">
          {error === 'unsupported' ? t('trends.unsupported') : error === 'network' ? t('common.network') : error === 'error' ? t('common.error') : error}
        </p>
      ) : null}

      {shown && metrics.length === 0 ? <p className="note panel" data-testid="trend-empty">{t('trends.empty')}</p> : null}
      {shown && metrics.length > 0 && visible ? (
        <div className="trend-zoom" data-testid="trend-zoom" data-start={zoom.start} data-end={zoom.end}>
          <div className="btn-row" role="group" aria-label={t('trends.zoom.label')}>
            <button type="button" className="btn btn-secondary" onClick={() => setZoom((z) => zoomBy(z, 0.5))} disabled={zoom.end - zoom.start <= 2.01}>
              <span aria-hidden="true">＋</span> {t('trends.zoom.in')}
            </button>
            <button type="button" className="btn btn-secondary" onClick={() => setZoom((z) => zoomBy(z, 2))} disabled={zoom.start === 0 && zoom.end === 100}>
              <span aria-hidden="true">－</span> {t('trends.zoom.out')}
            </button>
            <button type="button" className="btn btn-secondary" onClick={() => setZoom(FULL)} disabled={zoom.start === 0 && zoom.end === 100}>
              {t('trends.zoom.reset')}
            </button>
          </div>
          <p className="trend-visible" data-testid="trend-visible">{t('trends.zoom.visible', { from: fmt(visible.from), to: fmt(visible.to) })}</p>
          <p className="note trend-hint">{t('trends.zoom.hint')}</p>
        </div>
      ) : null}
      {shown
        ? metrics.map((m) => (
            <TrendChart
              key={m}
              metric={m}
              trend={shown.trend}
              range={shown.range}
              from={shown.from}
              to={shown.to}
              incidents={inWindow}
              zoom={zoom}
              onZoom={onZoom}
            />
          ))
        : null}

      {shown ? (
        <section className="panel" aria-labelledby="trend-incidents-title" data-testid="trend-incidents">
          <h2 id="trend-incidents-title">{t('trends.incidents')}</h2>
          {inWindow.length === 0 ? (
            <p className="note">{t('trends.incidents.none')}</p>
          ) : (
            <>
              <p className="note">{t('trends.incident.hint')}</p>
              <ul className="trend-incidents">
                {inWindow.map((i) => (
                  <li key={i.id} className={`level-${incidentLevel(i)}`}>
                    <a href={wearerLink('/diary', wearer, wearerName, { day: dayKey(Date.parse(i.opened_at), timeZone) })}>
                      {t('trends.incident', { time: fmt(Date.parse(i.opened_at)), level: t(`level.${incidentLevel(i)}`), what: whatOf(i) })}
                    </a>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      ) : null}
      <p>
        <a className="btn btn-primary btn-block" href={wearerLink('/diary', wearer, wearerName)} data-testid="open-diary">
          {t('diary.open')}
        </a>
      </p>
    </main>
  );
}
