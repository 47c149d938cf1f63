import type { Vitals } from '../api/types';
import { useI18n } from '../i18n/i18n';
import type { StringKey } from '../i18n/strings';

type Metric = 'heart_rate' | 'spo2' | 'respiration_rate' | 'skin_temp' | 'glucose' | 'steps';
/** `optional`: a tile only when the readings carry the metric (glucose: a wearer with a glucose sensor). */
const TILES: { metric: Metric; unit: StringKey; digits: number; optional?: boolean }[] = [
  { metric: 'heart_rate', unit: 'vitals.unit.bpm', digits: 0 },
  { metric: 'spo2', unit: 'vitals.unit.percent', digits: 0 },
  { metric: 'respiration_rate', unit: 'vitals.unit.breaths', digits: 0 },
  { metric: 'skin_temp', unit: 'vitals.unit.celsius', digits: 1 },
  { metric: 'glucose', unit: 'vitals.unit.mgdl', digits: 0, optional: true },
  { metric: 'steps', unit: 'vitals.unit.stepsPerMin', digits: 0 },
];

/** The latest value of each metric, from the newest reading that has it. */
export function latestValues(readings: Vitals[]): Partial<Record<Metric, { value: number; at: string }>> {
  const out: Partial<Record<Metric, { value: number; at: string }>> = {};
  const sorted = [...readings].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp));
  for (const r of sorted) {
    for (const { metric } of TILES) {
      const v = r[metric];
      if (out[metric] === undefined && typeof v === 'number') out[metric] = { value: v, at: r.timestamp };
    }
  }
  return out;
}

export function VitalsTiles({ readings, abnormal }: { readings: Vitals[]; abnormal: string[] }) {
  const { t, relativeTime, formatTime } = useI18n();
  const latest = latestValues(readings);
  return (
    <section aria-labelledby="vitals-title" className="panel vitals-panel">
      <h2 id="vitals-title">{t('vitals.title')}</h2>
      <ul className="tiles">
        {TILES.filter((tile) => !tile.optional || latest[tile.metric] !== undefined).map(({ metric, unit, digits }) => {
          const v = latest[metric];
          const bad = abnormal.includes(metric);
          return (
            <li key={metric} className={`tile${bad ? ' tile-abnormal' : ''}`} data-testid={`tile-${metric}`}>
              <span className="tile-name">
                {t(`vitals.${metric}`)}
                {bad ? <span className="tile-flag"> ⚠ {t('vitals.abnormal')}</span> : null}
              </span>
              {v ? (
                <>
                  <span className="tile-value">
                    {v.value.toFixed(digits)}
                    <span className="tile-unit">{t(unit)}</span>
                  </span>
                  {/* "3분 전 측정"; the clock time (in the wearer's zone) on hover, and in dateTime for machines. */}
                  <time className="tile-time" dateTime={v.at} title={formatTime(v.at)}>
                    {t('vitals.at', { time: relativeTime(v.at) })}
                  </time>
                </>
              ) : (
                <span className="tile-empty">{t('vitals.noValue')}</span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
