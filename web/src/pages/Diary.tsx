// The day diary (issue 19): one day of the wearer's incidents, their timelines and the status changes,
// as lines oldest first (#/diary[?wearer=ID&name=…][&day=YYYY-MM-DD], today by default).
import { useEffect, useMemo, useState } from 'react';
import type { Incident, IncidentDetail, StatusRow } from '../api/types';
import type { VitalsTrend } from '../api/types';
import { LevelIcon } from '../components/LevelIcon';
import { TimeZoneNote } from '../components/TimeZoneNote';
import { locale, timeFormatter } from '../components/TrendChart';
import { useI18n } from '../i18n/i18n';
import { buildDiary, dayBounds, dayKey, daySummary, incidentsOfDay, isDayKey, shiftDay } from '../lib/diary';
import { navigate, wearerLink } from '../lib/route';
import { isTrend } from '../lib/trends';
import { useSession } from '../session';

const STATUS_LIMIT = 1000; // the most GET /api/get_status answers
const MAX_DETAILS = 30;

interface DayData {
  day: string;
  trend: VitalsTrend | null;
  details: { incident: Incident; detail: IncidentDetail | null }[];
}

export function Diary({ wearer, wearerName, day: asked }: { wearer?: string; wearerName?: string; day?: string | null }) {
  const { api, user } = useSession();
  // Days run from the wearer's midnight, and times are the wearer's clock (the route's TimeZoneScope).
  const { t, lang, has, timeZone } = useI18n();
  const today = dayKey(Date.now(), timeZone);
  const day = isDayKey(asked) && asked <= today ? asked : today;
  const [statuses, setStatuses] = useState<StatusRow[] | null>(null);
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [data, setData] = useState<DayData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});

  useEffect(() => {
    api.getStatuses(STATUS_LIMIT, wearer).then(
      (r) => setStatuses(r.statuses),
      () => setStatuses([]),
    );
    api.listIncidents({ limit: 100, wearer }).then(
      (r) => setIncidents(r.incidents),
      (e: unknown) => {
        setIncidents([]);
        setError(e instanceof Error ? e.message : 'error');
      },
    );
    // Who acknowledged, by name: the people linked with this account.
    api.guardians().then(
      (l) => {
        const out: Record<string, string> = {};
        for (const x of [...l.wearers.map((w) => w.wearer), ...l.guardians.map((g) => g.guardian)]) if (x.name) out[x.id] = x.name;
        setNames(out);
      },
      () => undefined,
    );
  }, [api, wearer]);

  // The day's readings (one request) and the timelines of its incidents.
  useEffect(() => {
    if (incidents === null) return;
    let live = true;
    const { start, end } = dayBounds(day, timeZone);
    const to = Math.min(end, Math.ceil(Date.now() / 60_000) * 60_000);
    const ofDay = incidentsOfDay(incidents, day, Date.now(), timeZone).slice(0, MAX_DETAILS);
    Promise.all([
      api.getVitalsTrend({ from: new Date(start).toISOString(), to: new Date(Math.max(to, start + 60_000)).toISOString(), wearer }).then(
        (v) => (isTrend(v) ? v : null),
        () => null,
      ),
      Promise.all(ofDay.map((i) => api.getIncident(i.id).then((d) => ({ incident: i, detail: d }), () => ({ incident: i, detail: null })))),
    ]).then(([trend, details]) => {
      if (live) setData({ day, trend, details });
    });
    return () => {
      live = false;
    };
  }, [api, wearer, day, incidents, timeZone]);

  const shown = data && data.day === day && statuses !== null ? data : null;
  const diary = useMemo(
    () =>
      shown
        ? buildDiary(
            { day, timeZone, incidents: shown.details, statuses: statuses ?? [], statusesTruncated: (statuses ?? []).length >= STATUS_LIMIT, trend: shown.trend, names, me: user.id },
            t,
            has,
          )
        : null,
    [shown, statuses, day, timeZone, t, has, names, user.id],
  );
  const summary = useMemo(() => (shown ? daySummary(shown.trend, t) : []), [shown, t]);
  const hhmm = useMemo(() => timeFormatter(lang, false, timeZone), [lang, timeZone]);
  const dateText = new Intl.DateTimeFormat(locale(lang), { year: 'numeric', month: 'long', day: 'numeric', weekday: 'long', timeZone }).format(
    new Date(dayBounds(day, timeZone).start),
  );
  const go = (d: string) => navigate(wearerLink('/diary', wearer, wearerName, { day: d }).slice(1));
  const name = wearerName ?? wearer ?? '';

  return (
    <main id="main" className="diary" data-testid="diary" data-day={day}>
      {wearer ? (
        <p className="viewing">
          {t('trends.viewing', { name })} <a href={wearerLink('/dashboard', wearer, wearerName)}>{t('trends.backToStatus')}</a>
        </p>
      ) : null}
      <h1>{wearer ? t('diary.titleNamed', { name }) : t('diary.title')}</h1>
      <p className="lead">{t('diary.intro')}</p>
      <p className="diary-date" data-testid="diary-date">
        <strong>{dateText}</strong>
        {day === today ? <span className="badge">{t('diary.todayMark')}</span> : null}
      </p>
      <TimeZoneNote />
      <nav className="day-nav" aria-label={t('diary.nav')}>
        <button type="button" className="btn btn-secondary" onClick={() => go(shiftDay(day, -1))} data-testid="diary-prev">
          <span aria-hidden="true">←</span> {t('diary.prev')}
        </button>
        {day !== today ? (
          <button type="button" className="btn btn-secondary" onClick={() => go(today)}>
            {t('diary.today')}
          </button>
        ) : null}
        <button type="button" className="btn btn-secondary" onClick={() => go(shiftDay(day, 1))} disabled={day >= today} data-testid="diary-next">
          {t('diary.next')} <span aria-hidden="true">→</span>
        </button>
      </nav>
      {error ? <p className="form-error" role="alert">{error === 'error' ? t('common.error') : error}</p> : null}

      <section className="panel" aria-labelledby="diary-lines-title">
        <h2 id="diary-lines-title">{t('diary.lines')}</h2>
        {!diary ? (
          <p role="status">{t('common.loading')}</p>
        ) : diary.entries.length === 0 ? (
          <p className="note" data-testid="diary-empty">{t('diary.empty')}</p>
        ) : (
          <ol className="diary-list" data-testid="diary-list">
            {diary.entries.map((e, i) => (
              <li
                key={i}
                className={`diary-entry diary-${e.kind}${e.level && e.level !== 'normal' ? ` level-${e.level}` : ''}`}
                data-kind={e.kind}
                data-type={e.type}
                data-incident={e.incidentId}
              >
                <p className="diary-line">
                  <time dateTime={new Date(e.at).toISOString()}>{hhmm(e.at)}</time>{' '}
                  {e.level === 'danger' || e.level === 'caution' ? <LevelIcon level={e.level} size={22} /> : null}
                  <span className="diary-text">{e.text}</span>
                </p>
                {e.detail ? <p className="diary-detail">{e.detail}</p> : null}
              </li>
            ))}
          </ol>
        )}
        {diary && !diary.statusesComplete ? <p className="note">{t('diary.partial')}</p> : null}
      </section>

      {shown ? (
        <section className="panel" aria-labelledby="diary-summary-title" data-testid="diary-summary">
          <h2 id="diary-summary-title">{t('diary.summary')}</h2>
          {summary.length === 0 ? (
            <p className="note">{t('diary.noData')}</p>
          ) : (
            <ul className="diary-summary">
              {summary.map((s) => (
                <li key={s}>{s}</li>
              ))}
            </ul>
          )}
        </section>
      ) : null}
      <p>
        <a className="btn btn-secondary btn-block" href={wearerLink('/trends', wearer, wearerName)}>
          {t('diary.backToTrends')}
        </a>
      </p>
    </main>
  );
}
