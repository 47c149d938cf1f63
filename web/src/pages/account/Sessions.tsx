import { useCallback, useEffect, useState } from 'react';
import type { ApiClient } from '../../api/client';
import type { SessionInfo } from '../../api/types';
import { useI18n } from '../../i18n/i18n';
import { explainError } from '../../lib/accountErrors';
import { describeUserAgent } from '../../lib/profile';

/**
 * "Where you are logged in" (GET /api/me/sessions): each session as its browser and system, when it
 * was last used and from where; this device marked and listed first. Others can be logged out one by
 * one or all at once. `reloadKey` changes when something else ended sessions (a password change).
 */
export function Sessions({ api, reloadKey = 0 }: { api: ApiClient; reloadKey?: number }) {
  const { t, formatTime } = useI18n();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const a = await api.listSessions();
      // This device first, then the server's order (newest first).
      setSessions([...a.sessions].sort((x, y) => Number(y.current) - Number(x.current)));
    } catch (e) {
      setError(explainError(e, t));
    }
  }, [api, t]);
  useEffect(() => {
    void load();
  }, [load, reloadKey]);

  const act = async (fn: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      setNotice(await fn());
    } catch (e) {
      setError(explainError(e, t));
    } finally {
      setBusy(false);
      void load();
    }
  };
  const endOne = (s: SessionInfo) =>
    act(async () => {
      await api.endSession(s.id);
      return t('sessions.loggedOut');
    });
  const endOthers = () =>
    act(async () => {
      const a = await api.endOtherSessions();
      return t(a.sessions_ended === 1 ? 'sessions.endedOne' : 'sessions.ended', { n: a.sessions_ended });
    });

  const others = (sessions ?? []).filter((s) => !s.current);
  return (
    <section className="panel" aria-labelledby="sessions-title" data-testid="sessions">
      <h2 id="sessions-title">{t('sessions.title')}</h2>
      <p className="field-hint">{t('sessions.hint')}</p>
      {sessions === null && !error ? <p>{t('common.loading')}</p> : null}
      <ul className="sessions">
        {(sessions ?? []).map((s) => {
          const device = describeUserAgent(s.user_agent) || t('sessions.unknownDevice');
          return (
            <li key={s.id} className={s.current ? 'session-row session-current' : 'session-row'} data-testid={s.current ? 'session-current' : 'session-other'}>
              <div className="session-text">
                <p className="session-device">
                  <strong>{device}</strong>
                  {s.current ? <span className="badge">{t('sessions.current')}</span> : null}
                </p>
                <p className="session-meta">
                  {t('sessions.lastSeen', { time: formatTime(s.last_seen_at ?? s.created_at) })}
                  <br />
                  {t('sessions.started', { time: formatTime(s.created_at) })}
                  {s.client_address ? (
                    <>
                      <br />
                      {t('sessions.from', { address: s.client_address })}
                    </>
                  ) : null}
                </p>
              </div>
              {!s.current ? (
                <button
                  type="button"
                  className="btn btn-secondary"
                  onClick={() => void endOne(s)}
                  disabled={busy}
                  aria-label={t('sessions.logoutNamed', { device })}
                >
                  {t('sessions.logout')}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {sessions !== null && others.length === 0 ? <p className="note">{t('sessions.onlyThis')}</p> : null}
      {notice ? (
        <p className="notice" role="status" data-testid="sessions-notice">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {others.length > 0 ? (
        <button type="button" className="btn btn-primary btn-block" onClick={() => void endOthers()} disabled={busy} data-testid="sessions-end-others">
          {t('sessions.logoutOthers')}
        </button>
      ) : null}
    </section>
  );
}
