import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { openStream } from '../api/stream';
import type { GuardianLink, Incident, Level, StatusRow } from '../api/types';
import { Field } from '../components/Field';
import { LevelIcon } from '../components/LevelIcon';
import { PostureIcon } from '../components/PostureIcon';
import { currentPosture, FALL_FLAG_TEXT, fallFlag, initialPosture, postureKey, postureReducer, type PostureState } from '../lib/posture';
import { useI18n } from '../i18n/i18n';
import type { StringKey } from '../i18n/strings';
import { wearerLink } from '../lib/route';
import { useSession } from '../session';

export const STALE_MS = 15 * 60_000;

export interface WearerSummary {
  id: string;
  name: string;
  level: Level | null;
  lastReadingAt: string | null;
  incident: Incident | null;
  /** Absent until fetched; `unavailable` when the server has no posture model. */
  posture?: PostureState;
}

const fallOf = (w: WearerSummary) => fallFlag(w.posture?.fall ?? 'none', w.incident);

const LEVEL_RANK: Record<Level, number> = { normal: 0, caution: 1, danger: 2 };

/** Most severe first: an open incident's level, then a suspected fall, the status level, stale data, then name. */
export function sortBySeverity(list: WearerSummary[], now: number): WearerSummary[] {
  const score = (w: WearerSummary) => {
    const inc = w.incident ? 10 + LEVEL_RANK[w.incident.level] * 2 : 0;
    const fall = !w.incident && fallOf(w) ? 5 : 0;
    const lvl = w.level ? LEVEL_RANK[w.level] * 2 : 0;
    const stale = isStale(w.lastReadingAt, now) ? 1 : 0;
    return inc + fall + lvl + stale;
  };
  return [...list].sort((a, b) => score(b) - score(a) || a.name.localeCompare(b.name));
}

export function isStale(at: string | null, now: number): boolean {
  if (!at) return true;
  const t = Date.parse(at);
  return Number.isNaN(t) || now - t > STALE_MS;
}

function WearerCard({ w, now, onAck }: { w: WearerSummary; now: number; onAck: (i: Incident) => Promise<void> }) {
  const { t, formatTime, relativeTime } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const level = w.incident?.level ?? w.level ?? 'unknown';
  const stale = isStale(w.lastReadingAt, now);
  const posture = w.posture ? currentPosture(w.posture.rows) : null;
  const fall = fallOf(w);
  return (
    <li className={`wearer-card level-${level}`} data-testid={`wearer-${w.id}`} data-level={level}>
      <div className="wearer-head">
        <LevelIcon level={level} size={48} />
        <div>
          <h3>{w.name} <span className="wearer-id">({w.id})</span></h3>
          <p className="wearer-level">{t(`level.${level}`)}</p>
        </div>
      </div>
      {w.lastReadingAt ? (
        <p>{t('guardian.lastReading', { time: `${formatTime(w.lastReadingAt)} (${relativeTime(w.lastReadingAt, now)})` })}</p>
      ) : (
        <p>{t('guardian.noReading')}</p>
      )}
      {stale && w.lastReadingAt ? <p className="stale" data-testid="stale">⏱ {t('guardian.stale')}</p> : null}
      {fall ? (
        <p className={`posture-fall fall-${fall}`} data-testid="wearer-fall" data-fall={fall}>
          <span aria-hidden="true">{fall === 'answered' ? '✓ ' : '⚠ '}</span>
          {t(FALL_FLAG_TEXT[fall])}
        </p>
      ) : null}
      {posture ? (
        <p className="wearer-posture" data-testid="wearer-posture" data-posture={posture.index}>
          <PostureIcon posture={posture.index} size={40} />
          <span>{t('guardian.posture', { posture: t(postureKey(posture.index)), time: relativeTime(posture.at, now) })}</span>
        </p>
      ) : null}
      {w.incident ? (
        <p className="wearer-incident">{t('guardian.openIncident', { phase: t(`incident.phase.${w.incident.phase}` as StringKey) })}</p>
      ) : null}
      {error ? <p className="form-error" role="alert">{error}</p> : null}
      <div className="wearer-actions">
        {w.incident && !w.incident.acknowledged_at ? (
          <button
            type="button"
            className="btn btn-ok"
            onClick={() => onAck(w.incident as Incident).catch((e: unknown) => setError(e instanceof Error ? e.message : t('common.error')))}
          >
            {t('incident.ack')}
          </button>
        ) : null}
        <a className="btn btn-primary" href={`#/dashboard?wearer=${encodeURIComponent(w.id)}&name=${encodeURIComponent(w.name)}`}>
          {t('guardian.open', { name: w.name })}
        </a>
        <a className="btn btn-secondary" href={wearerLink('/trends', w.id, w.name)} data-testid={`trends-${w.id}`}>
          {t('trends.openNamed', { name: w.name })}
        </a>
      </div>
    </li>
  );
}

function LinkRow({ link, mySide, onChange }: { link: GuardianLink; mySide: 'wearer' | 'guardian'; onChange: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const other = mySide === 'wearer' ? link.guardian : link.wearer;
  const canAccept = link.state === 'pending' && link.requested_by !== mySide;
  const [error, setError] = useState<string | null>(null);
  const run = (fn: () => Promise<unknown>) => () => {
    setError(null);
    fn().then(onChange, (e: unknown) => setError(e instanceof Error ? e.message : t('common.error')));
  };
  return (
    <li className="link-row" data-testid={`link-${other.id}`}>
      <span>
        {other.name ? <><strong>{other.name}</strong> ({other.id})</> : <strong>{other.id}</strong>} — {link.state === 'active' ? t('guardian.active') : t('guardian.pending')}
        {link.state === 'pending' ? ` · ${link.requested_by === mySide ? t('guardian.requestedByMe') : t('guardian.requestedByOther')}` : ''}
      </span>
      <span className="link-actions">
        {canAccept ? (
          <button type="button" className="btn btn-primary" onClick={run(() => api.acceptLink(link.id))}>
            {t('guardian.accept')}
          </button>
        ) : null}
        <button type="button" className="btn btn-secondary" onClick={run(() => api.endLink(link.id))}>
          {t('guardian.end')}
        </button>
      </span>
      {error ? <p className="form-error" role="alert">{error}</p> : null}
    </li>
  );
}

function LinkForm({ label, title, send, onDone }: { label: string; title: string; send: (id: string) => Promise<unknown>; onDone: () => void }) {
  const { t } = useI18n();
  const [id, setId] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setMsg(null);
    try {
      await send(id.trim());
      setId('');
      setMsg({ ok: true, text: t('guardian.sent') });
      onDone();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setMsg({ ok: false, text: t('guardian.notFound') });
      else setMsg({ ok: false, text: err instanceof Error ? err.message : t('common.error') });
    }
  };
  return (
    <form onSubmit={submit} className="link-form" noValidate>
      <h3>{title}</h3>
      <Field label={label} value={id} onChange={setId} autoCapitalize="none" spellCheck={false} />
      <button type="submit" className="btn btn-primary" disabled={!id.trim()}>
        {t('guardian.send')}
      </button>
      {msg ? <p className={msg.ok ? 'notice' : 'form-error'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p> : null}
    </form>
  );
}

export function Guardian() {
  const { api } = useSession();
  const { t, lang } = useI18n();
  const [links, setLinks] = useState<{ wearers: GuardianLink[]; guardians: GuardianLink[] } | null>(null);
  const [summaries, setSummaries] = useState<Record<string, WearerSummary>>({});
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  const langRef = useRef(lang);
  langRef.current = lang;

  const loadLinks = useCallback(() => {
    api.guardians().then(
      (l) => {
        setLinks(l);
        setError(null);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : t('common.error')),
    );
  }, [api, t]);
  useEffect(loadLinks, [loadLinks]);

  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(id);
  }, []);

  const active = (links?.wearers ?? []).filter((l) => l.state === 'active');
  const activeKey = active.map((l) => `${l.wearer.id}\u0000${l.wearer.name}`).join('\u0001');

  // One summary fetch per linked wearer, then each one's live stream (no polling).
  useEffect(() => {
    const list = activeKey ? activeKey.split('\u0001').map((s) => s.split('\u0000') as [string, string]) : [];
    const stops: (() => void)[] = [];
    const load = (id: string, name: string) => {
      Promise.allSettled([
        api.getStatuses(1, id),
        api.listIncidents({ limit: 1, wearer: id, lang: langRef.current }),
        api.getPostures(id, 1),
      ]).then(([st, inc, po]) => {
        const row: StatusRow | undefined = st.status === 'fulfilled' ? st.value.statuses[0] : undefined;
        const open = inc.status === 'fulfilled' ? inc.value.incidents.find((i) => i.phase !== 'closed') ?? null : null;
        setSummaries((old) => {
          const before = old[id]?.posture ?? initialPosture;
          const posture =
            po.status === 'fulfilled'
              ? postureReducer(before, { type: 'loaded', rows: po.value.postures ?? [] })
              : postureReducer(before, { type: 'unavailable' });
          return {
            ...old,
            [id]: { id, name, level: row?.level ?? null, lastReadingAt: row ? row.reading_at ?? row.updated_at : null, incident: open, posture },
          };
        });
      });
    };
    for (const [id, name] of list.slice(0, 20)) {
      load(id, name);
      stops.push(
        openStream({
          wearer: id,
          onMessage: (m) => {
            setSummaries((old) => {
              const cur = old[id] ?? { id, name, level: null, lastReadingAt: null, incident: null };
              if (m.type === 'detection')
                return { ...old, [id]: { ...cur, level: m.level, lastReadingAt: m.reading_at ?? cur.lastReadingAt } };
              if (m.type === 'incident') {
                const closed = m.incident.phase === 'closed';
                const posture = closed && m.incident.kind === 'fall' && cur.posture ? postureReducer(cur.posture, { type: 'fallClosed' }) : cur.posture;
                return { ...old, [id]: { ...cur, incident: closed ? null : m.incident, posture } };
              }
              if (m.type === 'posture')
                return { ...old, [id]: { ...cur, posture: postureReducer(cur.posture ?? initialPosture, { type: 'event', event: m }) } };
              return old;
            });
            setNow(Date.now());
          },
        }),
      );
    }
    return () => stops.forEach((s) => s());
  }, [activeKey, api]);

  const ack = async (i: Incident) => {
    const a = await api.acknowledge(i.id);
    setSummaries((old) => {
      const cur = old[a.incident.wearer];
      return cur ? { ...old, [a.incident.wearer]: { ...cur, incident: a.incident.phase === 'closed' ? null : a.incident } } : old;
    });
  };

  const cards = sortBySeverity(
    active.map((l) => summaries[l.wearer.id] ?? { id: l.wearer.id, name: l.wearer.name ?? l.wearer.id, level: null, lastReadingAt: null, incident: null }),
    now,
  );

  return (
    <main id="main">
      <h1>{t('guardian.title')}</h1>
      <p className="lead">{t('guardian.intro')}</p>
      {error ? <p className="form-error" role="alert">{error}</p> : null}
      {links === null && !error ? <p>{t('common.loading')}</p> : null}
      {links && cards.length === 0 ? <p className="note">{t('guardian.empty')}</p> : null}
      <ul className="wearer-list" aria-live="polite">
        {cards.map((w) => (
          <WearerCard key={w.id} w={w} now={now} onAck={ack} />
        ))}
      </ul>

      <section className="panel" aria-labelledby="links-title">
        <h2 id="links-title">{t('guardian.links')}</h2>
        <h3>{t('guardian.myWearers')}</h3>
        {links && links.wearers.length > 0 ? (
          <ul className="links">{links.wearers.map((l) => <LinkRow key={l.id} link={l} mySide="guardian" onChange={loadLinks} />)}</ul>
        ) : (
          <p className="note">{t('guardian.linkNone')}</p>
        )}
        <h3>{t('guardian.myGuardians')}</h3>
        {links && links.guardians.length > 0 ? (
          <ul className="links">{links.guardians.map((l) => <LinkRow key={l.id} link={l} mySide="wearer" onChange={loadLinks} />)}</ul>
        ) : (
          <p className="note">{t('guardian.linkNone')}</p>
        )}
        <div className="link-forms">
          <LinkForm title={t('guardian.ask')} label={t('guardian.ask.label')} send={(id) => api.askToWatch(id)} onDone={loadLinks} />
          <LinkForm title={t('guardian.invite')} label={t('guardian.invite.label')} send={(id) => api.inviteGuardian(id)} onDone={loadLinks} />
        </div>
      </section>
    </main>
  );
}
