import { useEffect, useMemo, useState } from 'react';
import type { Incident } from '../api/types';
import { AddressConfirmBanner } from '../components/AddressConfirmBanner';
import { PostureChart, RangePicker, StatusChart, type Range } from '../components/Charts';
import { IncidentAlert } from '../components/IncidentAlert';
import { PhoneVerifyCard } from '../components/PhoneVerifyCard';
import { PostureCard } from '../components/PostureCard';
import { StatusCard } from '../components/StatusCard';
import { TimeZoneNote } from '../components/TimeZoneNote';
import { VitalsTiles } from '../components/VitalsTiles';
import { useI18n } from '../i18n/i18n';
import type { StringKey } from '../i18n/strings';
import { callForHelp } from '../lib/location';
import { useWearerLive } from '../lib/useWearerLive';
import { wearerLink } from '../lib/route';
import { useSession } from '../session';

const PHASE_RANK: Record<Incident['phase'], number> = { guidance: 0, guardians: 1, countdown: 2, dispatched: 3, closed: 4 };

/** The incident state a person has put aside; a new incident or a more serious phase shows it again. */
interface Minimized {
  id: number;
  rank: number;
}
const minimizeAt = (i: Incident, cap = 4): Minimized => ({ id: i.id, rank: Math.min(cap, PHASE_RANK[i.phase]) });
const isMinimized = (i: Incident, m: Minimized | null) => m !== null && m.id === i.id && PHASE_RANK[i.phase] <= m.rank;

export function Dashboard({ wearer, wearerName }: { wearer?: string; wearerName?: string }) {
  const { api, user, refreshMe } = useSession();
  const { t, lang } = useI18n();
  const live = useWearerLive(api, wearer, lang);
  const [range, setRange] = useState<Range>('hour');
  const [minimized, setMinimized] = useState<Minimized | null>(null);
  const [now, setNow] = useState(Date.now());
  const [sosError, setSosError] = useState<string | null>(null);
  const [sosBusy, setSosBusy] = useState(false);
  /** Whether the wearer's last SOS carried the position, for the incident it opened or joined. */
  const [sosLocated, setSosLocated] = useState<{ id: number; located: boolean } | null>(null);
  const role = wearer ? 'guardian' : 'wearer';

  // The chart window moves with the clock (each minute) and with every new status.
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(id);
  }, []);
  useEffect(() => setNow(Date.now()), [live.statuses, live.posture.rows]);

  const incident = live.incident;
  // Someone who already answered (the wearer said OK, a guardian acknowledged) sees a banner, not
  // the full-screen alert, until the incident gets more serious (a new countdown, the dispatch).
  const answered =
    incident !== null &&
    ((role === 'wearer' && !!incident.wearer_ok_at && PHASE_RANK[incident.phase] <= 1) ||
      (role === 'guardian' && !!incident.acknowledged_at && PHASE_RANK[incident.phase] <= 2));
  const showAlert = incident !== null && !answered && !isMinimized(incident, minimized);
  const abnormal = useMemo(() => (live.current.level && live.current.level !== 'normal' ? live.current.causes ?? [] : []), [live.current]);

  const sos = async () => {
    setSosBusy(true);
    setSosError(null);
    try {
      const a = await callForHelp(api);
      live.applyIncident(a.incident);
      setSosLocated({ id: a.incident.id, located: a.located });
      setMinimized(null);
    } catch (e) {
      setSosError(e instanceof Error ? e.message : t('common.error'));
    } finally {
      setSosBusy(false);
    }
  };

  return (
    <>
      <main id="main" className="dashboard" aria-hidden={showAlert ? true : undefined} inert={showAlert ? true : undefined}>
        {wearer ? (
          <p className="viewing">
            {t('guardian.viewing', { name: wearerName ?? wearer })} <a href="#/guardian">{t('guardian.backToList')}</a>
          </p>
        ) : null}
        <p className={`stream-state stream-${live.stream}`} data-testid="stream-state">
          <span className="dot" aria-hidden="true" /> {t(`stream.${live.stream}` as StringKey)}
        </p>
        {live.loadError ? (
          <p className="form-error" role="alert">
            {live.loadError === 'network' ? t('common.network') : live.loadError}
          </p>
        ) : null}
        {incident && !showAlert ? (
          <div className={`incident-banner level-${incident.level}`} role="status">
            <span>
              {incident.kind === 'fall' ? t('incident.banner.fall') : t('incident.banner', { level: t(`level.${incident.level}`) })}
            </span>
            <button type="button" className="btn btn-secondary" onClick={() => setMinimized(null)}>
              {t('incident.reopen')}
            </button>
          </div>
        ) : null}
        <StatusCard status={live.current}>
          {role === 'wearer' ? (
            <>
              <button type="button" className="btn btn-call btn-block" onClick={sos} disabled={sosBusy} data-testid="sos">
                {sosBusy ? t('incident.calling') : t('incident.call')}
              </button>
              {sosError ? <p className="form-error" role="alert">{sosError}</p> : null}
            </>
          ) : null}
        </StatusCard>
        {/* The times here are in the wearer's zone: said once where this browser's is another. */}
        <TimeZoneNote />
        {/* After the status card, so that "Call 119" stays on the first screen of a phone. */}
        {role === 'wearer' ? <AddressConfirmBanner user={user} api={api} onConfirmed={refreshMe} /> : null}
        {role === 'wearer' ? <PhoneVerifyCard user={user} api={api} onVerified={() => void refreshMe()} /> : null}
        <PostureCard posture={live.posture} incident={incident} now={now} />
        <VitalsTiles readings={live.vitals} abnormal={abnormal} />
        <p className="trends-link">
          <a className="btn btn-primary btn-block" href={wearerLink('/trends', wearer, wearerName)} data-testid="open-trends">
            {t('trends.open')}
          </a>
        </p>
        <div className="charts">
          <RangePicker value={range} onChange={setRange} />
          <StatusChart statuses={live.statuses} range={range} now={now} />
          <PostureChart postures={live.posture.rows} unavailable={live.posture.unavailable} range={range} now={now} />
        </div>
      </main>
      {incident && showAlert ? (
        <IncidentAlert
          incident={incident}
          receivedAt={live.incidentReceivedAt}
          detail={live.detail}
          role={role}
          wearerName={wearerName ?? wearer}
          onMinimize={() => setMinimized(minimizeAt(incident))}
          onOk={async () => {
            const a = await api.imOk(incident.id);
            live.applyIncident(a.incident);
            // "I'm OK" puts the alert aside until something new happens, such as a fresh countdown.
            setMinimized(minimizeAt(a.incident, 1));
          }}
          onCall={async () => {
            const a = await callForHelp(api);
            live.applyIncident(a.incident);
            setSosLocated({ id: a.incident.id, located: a.located });
          }}
          locationSent={sosLocated && sosLocated.id === incident.id ? sosLocated.located : null}
          onAck={async () => {
            const a = await api.acknowledge(incident.id);
            live.applyIncident(a.incident);
            setMinimized(minimizeAt(a.incident, 2));
          }}
        />
      ) : null}
    </>
  );
}
