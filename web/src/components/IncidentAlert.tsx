import { useEffect, useRef, useState } from 'react';
import type { Incident, IncidentDetail, Notification } from '../api/types';
import { ApiError } from '../api/client';
import { useI18n } from '../i18n/i18n';
import type { StringKey } from '../i18n/strings';
import { Countdown, countdownEnd } from './Countdown';
import { LevelIcon } from './LevelIcon';
import { PostureIcon } from './PostureIcon';
import { FALL } from '../lib/posture';
import { guidanceWording, rewriteParts } from '../lib/guidance';
import { TimeZoneNote } from './TimeZoneNote';

export function NotificationList({ notifications }: { notifications: Notification[] }) {
  const { t, has, formatTime } = useI18n();
  const label = (prefix: string, v: string, fallback?: StringKey) => {
    const k = `${prefix}${v}`;
    return has(k) ? t(k) : fallback ? t(fallback) : v;
  };
  if (notifications.length === 0) return <p className="note">{t('incident.notifications.none')}</p>;
  return (
    <ul className="notifications" data-testid="notifications">
      {notifications.map((n, i) => (
        <li key={i} className={`notification state-${n.state}`} data-state={n.state} data-channel={n.channel}>
          <span className="notification-what">
            {label('incident.notify.channel.', n.channel)} ·{' '}
            {label('incident.notify.purpose.', n.purpose, 'incident.notify.purpose.other')}
            {n.to ? <span className="notification-to"> ({n.to})</span> : null}
          </span>
          <span className="notification-state">
            {label('incident.notify.state.', n.state)}
            {n.delivered_at ? ` · ${formatTime(n.delivered_at)}` : null}
            {n.state !== 'delivered' && n.attempts ? ` · ${t('incident.notify.attempts', { n: n.attempts })}` : null}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** What became of the emergency call: say "help is coming" only once it was delivered. */
export function DispatchState({ detail }: { detail: IncidentDetail | null }) {
  const { t } = useI18n();
  const calls = (detail?.notifications ?? []).filter((n) => n.channel === 'emergency' || n.purpose === 'emergency_dispatch');
  const state = calls.some((n) => n.state === 'delivered')
    ? 'delivered'
    : calls.length > 0 && calls.every((n) => n.state === 'failed')
      ? 'failed'
      : 'sending';
  return (
    <div className={`incident-dispatched dispatch-${state}`} data-testid="dispatched" data-state={state} role="status">
      <p>{t(state === 'delivered' ? 'incident.dispatched' : state === 'failed' ? 'incident.dispatch.failed' : 'incident.dispatch.sending')}</p>
      {state !== 'delivered' ? (
        <a className="btn btn-call btn-block" href="tel:119">
          {t('incident.dispatch.callNow')}
        </a>
      ) : null}
    </div>
  );
}

export interface IncidentAlertProps {
  incident: Incident;
  receivedAt: number;
  detail: IncidentDetail | null;
  /** 'wearer' answers with I'm OK / Call 119; 'guardian' acknowledges. */
  role: 'wearer' | 'guardian';
  wearerName?: string;
  onOk: () => Promise<void>;
  onCall: () => Promise<void>;
  /** After the wearer's own call: whether it carried their position (null: not known, say nothing). */
  locationSent?: boolean | null;
  onAck: () => Promise<void>;
  onMinimize: () => void;
}

export function IncidentAlert(props: IncidentAlertProps) {
  const { incident, detail, role } = props;
  const { t, formatTime, lang } = useI18n();
  const [busy, setBusy] = useState<null | 'ok' | 'call' | 'ack'>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const endsAt = incident.phase === 'countdown' ? countdownEnd(incident, props.receivedAt) : null;
  const g = incident.guidance ?? null;
  const level = incident.level;
  const fall = incident.kind === 'fall';
  const name = props.wearerName ?? incident.wearer;
  const title = fall
    ? role === 'guardian'
      ? t('incident.title.fall.guardian', { name })
      : t('incident.title.fall')
    : incident.kind === 'sos'
      ? t('incident.title.sos')
      : t(`incident.title.${level}` as StringKey);
  // A fall's four parts come from the server's guidance when it has them; until then (or without
  // a knowledge base entry) the alert still says what happened and what to do, not a vitals cause.
  // Without guidance, what was found: in Korean the catalogue's words, never the rules' English.
  const found = (lang === 'ko' ? incident.summary?.ko : '') || incident.explanation || '';
  const state = g?.state || (fall ? t('incident.fall.state') : found);
  const cause = g?.cause || (fall ? t('incident.fall.cause') : found);
  const actions =
    g && g.actions.length > 0
      ? g.actions
      : fall && role === 'wearer'
        ? [t('incident.fall.action.1'), t('incident.fall.action.2'), t('incident.fall.action.3')]
        : [];
  // The endpoint's rewrite once it is done; until then, or without one, the knowledge base's parts.
  const wording = guidanceWording(g);
  const rewritten = wording.source === 'rewrite' ? rewriteParts(wording.text) : null;

  useEffect(() => {
    heading.current?.focus();
  }, [incident.id, incident.phase]);

  const act = (which: 'ok' | 'call' | 'ack', fn: () => Promise<void>) => async () => {
    setBusy(which);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t('common.network'));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div
      className={`incident-overlay level-${level} phase-${incident.phase}`}
      role="alertdialog"
      aria-modal="true"
      aria-labelledby="incident-title"
      aria-describedby="incident-state"
      data-testid="incident-alert"
      data-incident-id={incident.id}
      data-phase={incident.phase}
    >
      <div className="incident-inner">
        <header className="incident-head">
          {fall ? <PostureIcon posture={FALL} size={64} /> : <LevelIcon level={level} size={56} />}
          <div>
            {role === 'guardian' && props.wearerName && !fall ? (
              <p className="incident-wearer">{t('incident.wearer', { name: props.wearerName })}</p>
            ) : null}
            <h1 id="incident-title" tabIndex={-1} ref={heading}>
              {title}
            </h1>
            <p className="incident-phase">
              {t('incident.phase')}: {t(`incident.phase.${incident.phase}` as StringKey)}
            </p>
          </div>
        </header>

        {/* What to do after a fall, before the buttons. The wearer reads it in the countdown's
            hint when there is a countdown, so the two buttons stay on the first screen. */}
        {fall && incident.phase !== 'dispatched' && !incident.wearer_ok_at && (role === 'guardian' || endsAt === null) ? (
          <p className="incident-lead" data-testid="fall-lead">
            {role === 'guardian' ? t('incident.fall.lead.guardian', { name }) : t('incident.fall.lead')}
          </p>
        ) : null}

        {endsAt !== null ? (
          <Countdown
            endsAt={endsAt}
            hint={
              role === 'guardian'
                ? t('incident.countdown.hint.guardian', { name })
                : fall
                  ? t('incident.fall.lead')
                  : undefined
            }
          />
        ) : null}
        {incident.phase === 'dispatched' ? <DispatchState detail={detail} /> : null}
        {role === 'wearer' && props.locationSent != null ? (
          <p className="incident-note" data-testid="sos-location" data-located={props.locationSent ? 'yes' : 'no'}>
            {t(props.locationSent ? 'incident.location.sent' : 'incident.location.none')}
          </p>
        ) : null}
        {incident.acknowledged_by ? (
          <p className="incident-note">{t('incident.acked', { who: incident.acknowledged_by })}</p>
        ) : null}
        {incident.wearer_ok_at ? <p className="incident-note">{t('incident.okDone')}</p> : null}

        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}

        <div className="incident-actions">
          {role === 'wearer' ? (
            <>
              <button type="button" className="btn btn-ok" onClick={act('ok', props.onOk)} disabled={busy !== null}>
                {t('incident.ok')}
              </button>
              {incident.phase !== 'dispatched' ? (
                <button type="button" className="btn btn-call" onClick={act('call', props.onCall)} disabled={busy !== null}>
                  {busy === 'call' ? t('incident.calling') : t('incident.call')}
                </button>
              ) : null}
            </>
          ) : (
            <>
              {!incident.acknowledged_at ? (
                <button type="button" className="btn btn-ok" onClick={act('ack', props.onAck)} disabled={busy !== null}>
                  {t('incident.ack')}
                </button>
              ) : null}
              {/* A guardian who cannot reach someone who fell calls for help themselves. */}
              {fall && incident.phase !== 'dispatched' ? (
                <a className="btn btn-call" href="tel:119">
                  {t('incident.dispatch.callNow')}
                </a>
              ) : null}
            </>
          )}
        </div>

        {rewritten ? (
          <div className="guidance-rewrite">
            <ol className="guidance guidance-rewritten" data-testid="guidance" data-source="rewrite">
              {rewritten.map((part, i) => (
                <li key={i} className={part.n === 4 ? (g?.call_119 ? 'guidance-warning call-119' : 'guidance-warning') : undefined}>
                  {part.lines.map((line, j) => (
                    <p key={j} id={i === 0 && j === 0 ? 'incident-state' : undefined}>
                      {line}
                    </p>
                  ))}
                </li>
              ))}
            </ol>
            <p className="guidance-ai-note" data-testid="guidance-ai-note">
              {t('incident.guidance.ai')}
            </p>
          </div>
        ) : (
          <ol className="guidance" data-testid="guidance" data-source="knowledge" data-pending={wording.source === 'knowledge' && wording.pending ? 'yes' : undefined}>
            <li>
              <h2>{t('incident.state')}</h2>
              <p id="incident-state">{state}</p>
            </li>
            <li>
              <h2>{t('incident.cause')}</h2>
              <p>{cause}</p>
            </li>
            {actions.length > 0 ? (
              <li>
                <h2>{t('incident.actions')}</h2>
                <ol className="guidance-actions">
                  {actions.map((a, i) => (
                    <li key={i}>{a}</li>
                  ))}
                </ol>
              </li>
            ) : null}
            {g?.warning ? (
              <li className={g.call_119 ? 'guidance-warning call-119' : 'guidance-warning'}>
                <h2>{t('incident.warning')}</h2>
                <p>{g.warning}</p>
              </li>
            ) : null}
          </ol>
        )}

        <section className="incident-status" aria-labelledby="incident-notif-title">
          <h2 id="incident-notif-title">{t('incident.notifications')}</h2>
          {incident.guardians_notified_at ? <p>{t('incident.guardiansNotified')}</p> : null}
          {incident.phase === 'guidance' && incident.escalate_at ? (
            <p>{t('incident.escalateAt', { time: formatTime(incident.escalate_at) })}</p>
          ) : null}
          <NotificationList notifications={detail?.notifications ?? []} />
          <TimeZoneNote />
        </section>

        {g?.sources && g.sources.length > 0 ? (
          <details className="sources">
            <summary>{t('incident.sources')}</summary>
            <ul>
              {g.sources.map((s, i) => (
                <li key={i}>
                  {s.publisher} — {s.url ? <a href={s.url} target="_blank" rel="noreferrer">{s.title}</a> : s.title}
                </li>
              ))}
            </ul>
          </details>
        ) : null}

        <button type="button" className="btn-link" onClick={props.onMinimize}>
          {t('incident.minimize')}
        </button>
      </div>
    </div>
  );
}
