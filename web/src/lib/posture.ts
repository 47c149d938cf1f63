// Posture and falls: the eight classes of the posture model (the seed's UserPosture numbers), how
// a row or a live event is read, and one reducer that keeps a wearer's posture history and fall
// state current from GET /api/get_posture and the stream's {"type":"posture"} events.
import type { FallState, Incident, PostureEvent, PostureRow } from '../api/types';
import type { StringKey } from '../i18n/strings';

export const POSTURE_COUNT = 8;
export const FALL = 7;
export const LYING = 6;

/** The API's names (the seed's labels, WireName in src/posture), and the model's class names older servers sent. */
const NAMES: Record<string, number> = {
  downstairs: 0, downstair: 0, upstairs: 1, upstair: 1, running: 2, sitting: 3, 'sit down': 3, sitdown: 3,
  standing: 4, 'stand up': 4, standup: 4, walking: 5, lying: 6, fall: 7,
};

/** 0–7 from a number, a numeric string or a class name; null for anything else. */
export function postureIndex(p: unknown): number | null {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p < POSTURE_COUNT ? p : null;
  if (typeof p !== 'string') return null;
  const s = p.trim().toLowerCase();
  if (/^\d$/.test(s)) return postureIndex(Number(s));
  const i = NAMES[s];
  return i === undefined ? null : i;
}

/** The row's class: its number when it has one, else its name. */
export function rowIndex(r: PostureRow): number | null {
  return postureIndex(r.posture) ?? postureIndex(r.name);
}

export const postureKey = (i: number) => `posture.${i}` as StringKey;

/** Colours per class for the chart (each at least 4.5:1 on white); Fall is the danger red. */
export const POSTURE_COLOURS = ['#6b4fa3', '#3f6fb5', '#0f7c8c', '#5b7d2a', '#8a6d1d', '#1e7b34', '#555f6d', '#b3261e'] as const;
/** The same for the high-contrast theme: light colours, each at least 9:1 on black. */
export const POSTURE_COLOURS_CONTRAST = ['#c9b3ff', '#9ecbff', '#5fe3f0', '#c5e478', '#ffe14d', '#7ee08a', '#d0d0d0', '#ff8a80'] as const;

/** The chart's rows, bottom to top: from resting to moving, the fall on top where it stands out. */
export const CHART_ORDER = [LYING, 3, 4, 5, 1, 0, 2, FALL] as const;

const FALL_STATES: readonly FallState[] = ['none', 'suspected', 'confirmed', 'dismissed'];
export const fallState = (v: unknown): FallState => (FALL_STATES.includes(v as FallState) ? (v as FallState) : 'none');

export interface PostureState {
  /** Newest first; rows whose class cannot be read are dropped. */
  rows: PostureRow[];
  /** From the latest live event; a fetched history says nothing about the fall state. */
  fall: FallState;
  fallAt: string | null;
  /** The server has no posture model (503) or no posture routes (404/405). */
  unavailable: boolean;
}

export const initialPosture: PostureState = { rows: [], fall: 'none', fallAt: null, unavailable: false };

export type PostureAction =
  | { type: 'reset' }
  | { type: 'loaded'; rows: PostureRow[] }
  | { type: 'unavailable' }
  | { type: 'event'; event: PostureEvent }
  /** The fall incident closed (I'm OK, acknowledged and resolved): the fall is no longer news. */
  | { type: 'fallClosed' };

export const MAX_POSTURES = 500;

const time = (r: PostureRow) => {
  const t = Date.parse(r.updated_at);
  return Number.isNaN(t) ? -Infinity : t;
};

/** Newest first, one row per (time, class), at most MAX_POSTURES. */
function normalise(rows: PostureRow[]): PostureRow[] {
  const seen = new Set<string>();
  const out: PostureRow[] = [];
  for (const r of [...rows].sort((a, b) => time(b) - time(a))) {
    const i = rowIndex(r);
    if (i === null || time(r) === -Infinity) continue;
    const key = `${time(r)}/${i}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
    if (out.length >= MAX_POSTURES) break;
  }
  return out;
}

/** When the event happened: `at` in the contract, `updated_at` in older servers. */
export const eventTime = (e: PostureEvent): string => e.at ?? e.updated_at ?? new Date().toISOString();

export function postureReducer(state: PostureState, action: PostureAction): PostureState {
  switch (action.type) {
    case 'reset':
      return initialPosture;
    case 'unavailable':
      return { ...state, rows: [], unavailable: true };
    case 'loaded': {
      // Events that arrived while the history was on its way are kept: the fetch may predate them.
      const newestLoaded = action.rows.reduce((m, r) => Math.max(m, time(r)), -Infinity);
      const later = state.rows.filter((r) => time(r) > newestLoaded);
      return { ...state, rows: normalise([...later, ...action.rows]), unavailable: false };
    }
    case 'fallClosed':
      return state.fall === 'none' || state.fall === 'dismissed' ? state : { ...state, fall: 'dismissed', fallAt: null };
    case 'event': {
      const e = action.event;
      const at = eventTime(e);
      const row: PostureRow = { posture: e.posture, updated_at: at };
      if (e.name) row.name = e.name;
      const newest = state.rows[0];
      // An event older than what is shown (a late window after a reconnect) joins the history but
      // does not overrule the current fall state.
      const isLatest = !newest || time(row) >= time(newest);
      const fall = isLatest && e.fall !== undefined ? fallState(e.fall) : state.fall;
      return {
        rows: rowIndex(row) === null ? state.rows : normalise([row, ...state.rows]),
        fall,
        fallAt: fall !== 'suspected' && fall !== 'confirmed' ? null : fall === state.fall && state.fallAt ? state.fallAt : at,
        unavailable: false,
      };
    }
  }
}

/** The current posture: the newest row's class and time. */
export function currentPosture(rows: PostureRow[]): { index: number; at: string } | null {
  const r = rows[0];
  if (!r) return null;
  const index = rowIndex(r);
  return index === null ? null : { index, at: r.updated_at };
}

/** Since when the current posture has held: the oldest of the newest rows that share its class; null after a change. */
export function postureSince(rows: PostureRow[]): string | null {
  const first = rows[0];
  if (!first) return null;
  const index = rowIndex(first);
  let since: string | null = null;
  for (const r of rows.slice(1)) {
    if (rowIndex(r) !== index) break;
    since = r.updated_at;
  }
  return since;
}

export type FallFlag = 'suspected' | 'confirmed' | 'answered';

/**
 * What the dashboard says about a fall: an open fall incident is a confirmed fall whatever the
 * last posture event said, and "answered" once the wearer said "I'm OK" (it stays open until a person
 * closes it, and should not keep shouting); a dismissed or absent fall says nothing.
 */
export function fallFlag(fall: FallState, incident: Pick<Incident, 'kind' | 'wearer_ok_at'> | null | undefined): FallFlag | null {
  if (incident?.kind === 'fall') return incident.wearer_ok_at ? 'answered' : 'confirmed';
  return fall === 'suspected' || fall === 'confirmed' ? fall : null;
}

export const FALL_FLAG_TEXT: Record<FallFlag, StringKey> = {
  suspected: 'posture.fall.suspected',
  confirmed: 'posture.fall.confirmed',
  answered: 'posture.fall.answered',
};
