// Everything a dashboard shows about one wearer, kept current from the live stream: one fetch
// of history after each (re)connect, then events. No polling loop.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import { openStream, type StreamState } from '../api/stream';
import type { Incident, IncidentDetail, StatusRow, StreamMessage, Vitals } from '../api/types';
import type { CurrentStatus } from '../components/StatusCard';
import type { Lang } from '../i18n/strings';
import { initialPosture, MAX_POSTURES, postureReducer, type PostureState } from './posture';
import { mergeGuidance, REWRITE_POLL_MS, REWRITE_POLL_TRIES, rewritePending } from './guidance';

export interface WearerLive {
  current: CurrentStatus;
  statuses: StatusRow[];
  vitals: Vitals[];
  /** Posture history (newest first), the fall state from the live events, and whether the server has a posture model. */
  posture: PostureState;
  incident: Incident | null;
  incidentReceivedAt: number;
  detail: IncidentDetail | null;
  stream: StreamState;
  loadError: string | null;
  /** Replace the incident with a server answer (after OK / ack / SOS). */
  applyIncident: (i: Incident) => void;
}

const MAX_STATUSES = 5000;

export function useWearerLive(api: ApiClient, wearer: string | undefined, lang: Lang): WearerLive {
  const [current, setCurrent] = useState<CurrentStatus>({ level: null });
  const [statuses, setStatuses] = useState<StatusRow[]>([]);
  const [vitals, setVitals] = useState<Vitals[]>([]);
  const [posture, dispatchPosture] = useReducer(postureReducer, initialPosture);
  const [incident, setIncident] = useState<Incident | null>(null);
  const [incidentReceivedAt, setReceivedAt] = useState(Date.now());
  const [detail, setDetail] = useState<IncidentDetail | null>(null);
  const [stream, setStream] = useState<StreamState>('connecting');
  const [loadError, setLoadError] = useState<string | null>(null);
  const vitalsTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const langRef = useRef(lang);
  langRef.current = lang;

  // While the guidance's rewrite is pending, the incident is read again every REWRITE_POLL_MS, at most
  // REWRITE_POLL_TRIES times for one state of it (its id, update time and the screen's language).
  const rewriteTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const rewriteTries = useRef({ key: '', n: 0 });
  const incidentId = useRef<number | null>(null);
  const stopRewritePoll = useCallback(() => {
    if (rewriteTimer.current) clearTimeout(rewriteTimer.current);
    rewriteTimer.current = null;
  }, []);

  const loadDetail = useCallback(
    (id: number) => {
      api.getIncident(id, langRef.current).then(
        (d) => {
          if (incidentId.current !== d.incident.id) return; // closed, or another incident since
          setDetail(d);
          // The detail's guidance is composed in the screen's language; keep the live incident's
          // timing fields (seconds_left was measured when the stream event arrived).
          setIncident((cur) =>
            cur && cur.id === d.incident.id ? { ...cur, guidance: mergeGuidance(cur.guidance, d.incident.guidance ?? cur.guidance) } : cur,
          );
          stopRewritePoll();
          if (rewritePending(d.incident.guidance)) {
            const key = `${d.incident.id}|${d.incident.updated_at}|${langRef.current}`;
            if (rewriteTries.current.key !== key) rewriteTries.current = { key, n: 0 };
            if (rewriteTries.current.n < REWRITE_POLL_TRIES) {
              rewriteTries.current.n += 1;
              rewriteTimer.current = setTimeout(() => {
                rewriteTimer.current = null;
                if (incidentId.current === id) loadDetailRef.current(id);
              }, REWRITE_POLL_MS);
            }
          }
        },
        () => setDetail(null),
      );
    },
    [api, stopRewritePoll],
  );
  const loadDetailRef = useRef(loadDetail);
  loadDetailRef.current = loadDetail;

  const applyIncident = useCallback(
    (i: Incident) => {
      if (i.kind === 'fall' && i.phase === 'closed') dispatchPosture({ type: 'fallClosed' });
      incidentId.current = i.phase === 'closed' ? null : i.id;
      // Stream events and answers to OK/ack/SOS carry no guidance: keep the words shown until the
      // detail read below brings them again.
      setIncident((cur) =>
        i.phase === 'closed' ? null : cur && cur.id === i.id && i.guidance === undefined ? { ...i, guidance: cur.guidance } : i,
      );
      setReceivedAt(Date.now());
      if (i.phase !== 'closed') loadDetail(i.id);
      else {
        stopRewritePoll();
        setDetail(null);
      }
    },
    [loadDetail, stopRewritePoll],
  );

  const loadVitals = useCallback(() => {
    api.getVitals(wearer).then((a) => setVitals(a.vitals), () => undefined);
  }, [api, wearer]);

  const loadAll = useCallback(async () => {
    setLoadError(null);
    const [st, vi, po, inc] = await Promise.allSettled([
      api.getStatuses(1000, wearer),
      api.getVitals(wearer),
      // More than the seed's 10 rows, so the chart covers minutes rather than seconds of windows.
      api.getPostures(wearer, MAX_POSTURES),
      api.listIncidents({ limit: 5, wearer, lang: langRef.current }),
    ]);
    if (st.status === 'fulfilled') {
      setStatuses(st.value.statuses);
      const latest = st.value.statuses[0];
      if (latest)
        setCurrent({
          level: latest.level,
          explanation: latest.explanation,
          summary: latest.summary,
          causes: latest.causes,
          at: latest.reading_at ?? latest.updated_at,
        });
    } else if (!(st.reason instanceof ApiError && st.reason.status === 401)) {
      setLoadError(st.reason instanceof ApiError ? st.reason.message : 'network');
    }
    if (vi.status === 'fulfilled') setVitals(vi.value.vitals);
    if (po.status === 'fulfilled') dispatchPosture({ type: 'loaded', rows: po.value.postures ?? [] });
    // 503: the server runs without a posture model; 404/405: a server without posture routes.
    else if (po.reason instanceof ApiError && [404, 405, 503].includes(po.reason.status)) dispatchPosture({ type: 'unavailable' });
    if (inc.status === 'fulfilled') {
      const open = inc.value.incidents.find((i) => i.phase !== 'closed');
      if (open) applyIncident(open);
      else {
        incidentId.current = null;
        stopRewritePoll();
        setIncident(null);
        setDetail(null);
      }
    }
  }, [api, wearer, applyIncident, stopRewritePoll]);

  useEffect(() => {
    setStatuses([]);
    setVitals([]);
    dispatchPosture({ type: 'reset' });
    setIncident(null);
    setDetail(null);
    incidentId.current = null;
    setCurrent({ level: null });
    const onMessage = (m: StreamMessage) => {
      if (m.type === 'hello') {
        if (m.level) setCurrent((c) => (c.level ? c : { ...c, level: m.level }));
      } else if (m.type === 'detection') {
        setCurrent({
          level: m.level,
          explanation: m.explanation,
          summary: m.summary,
          causes: m.causes,
          at: m.reading_at ?? m.detected_at,
          adviceOnly: m.advice_only,
        });
        setStatuses((old) => [
          {
            status: m.status,
            level: m.level,
            updated_at: m.detected_at,
            reading_at: m.reading_at,
            causes: m.causes,
            explanation: m.explanation,
            summary: m.summary,
          },
          ...old,
        ].slice(0, MAX_STATUSES));
        // The event names the verdict, not every value: fetch the readings once things settle.
        if (m.reading_at) {
          if (vitalsTimer.current) clearTimeout(vitalsTimer.current);
          vitalsTimer.current = setTimeout(loadVitals, 300);
        }
      } else if (m.type === 'incident') {
        applyIncident(m.incident);
      } else if (m.type === 'posture') {
        dispatchPosture({ type: 'event', event: m });
      }
    };
    // History once now, and again after every reconnect (events may have been missed meanwhile).
    void loadAll();
    let opens = 0;
    const stop = openStream({
      wearer,
      onMessage,
      onOpen: () => {
        if (opens++ > 0) void loadAll();
      },
      onState: setStream,
      // Upgrades keep failing: an ordinary request tells whether the session is gone (401 → login).
      onUnauthorized: () => void api.getStatuses(1, wearer).catch(() => undefined),
    });
    return () => {
      stop();
      if (vitalsTimer.current) clearTimeout(vitalsTimer.current);
      stopRewritePoll();
    };
  }, [api, wearer, loadAll, loadVitals, applyIncident, stopRewritePoll]);

  // Guidance follows the screen's language.
  useEffect(() => {
    if (incident) loadDetail(incident.id);
  }, [lang]);

  return { current, statuses, vitals, posture, incident, incidentReceivedAt, detail, stream, loadError, applyIncident };
}
