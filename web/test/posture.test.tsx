import { act, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReactNode } from 'react';
import { ApiClient, ApiError } from '../src/api/client';
import type { Incident, PostureEvent, PostureRow, User } from '../src/api/types';
import { IncidentAlert } from '../src/components/IncidentAlert';
import { PostureCard } from '../src/components/PostureCard';
import { I18nProvider } from '../src/i18n/i18n';
import { en, ko, type Lang } from '../src/i18n/strings';
import {
  currentPosture,
  fallFlag,
  initialPosture,
  MAX_POSTURES,
  postureIndex,
  postureReducer,
  postureSince,
  rowIndex,
  type PostureState,
} from '../src/lib/posture';
import { Dashboard } from '../src/pages/Dashboard';
import { sortBySeverity, type WearerSummary } from '../src/pages/Guardian';
import { SessionContext } from '../src/session';

// ECharts needs a canvas to measure text, which jsdom lacks; the chart's data is tested in components.test.tsx.
vi.mock('../src/components/EChart', () => ({ EChart: ({ label }: { label: string }) => <div role="img" aria-label={label} /> }));

const wrap = (ui: ReactNode, lang: Lang = 'ko') => render(<I18nProvider lang={lang}>{ui}</I18nProvider>);
const T0 = Date.parse('2026-12-02T09:00:00Z');
const iso = (secondsAfter: number) => new Date(T0 + secondsAfter * 1000).toISOString();
const event = (posture: number, at: number, extra: Partial<PostureEvent> = {}): PostureEvent => ({
  type: 'posture', wearer: 'kim01', posture, name: 'x', previous_posture: null, changed: true, fall: 'none', at: iso(at), ...extra,
});
const apply = (s: PostureState, ...events: PostureEvent[]) => events.reduce((st, e) => postureReducer(st, { type: 'event', event: e }), s);

describe('posture classes', () => {
  it('reads numbers, numeric strings and the server class names; nothing else', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(postureIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The API's names: the seed's labels exactly (its API table).
    expect(['Downstair', 'Upstair', 'Running', 'Sitdown', 'StandUp', 'Walking', 'Lying', 'Fall'].map(postureIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The model's class names, which older servers sent.
    expect(['Downstairs', 'Upstairs', 'Running', 'Sitting', 'Standing', 'Walking', 'Lying', 'Fall'].map(postureIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(postureIndex('6')).toBe(6);
    expect(postureIndex(' fall ')).toBe(7);
    for (const bad of [8, -1, 2.5, 'Other', '', null, undefined, {}]) expect(postureIndex(bad), String(bad)).toBeNull();
    expect(rowIndex({ posture: 'weird', name: 'Sitting', updated_at: iso(0) })).toBe(3);
    expect(rowIndex({ posture: 'weird', name: 'StandUp', updated_at: iso(0) })).toBe(4);
  });

  it('names every class in both languages, with the Korean words of the contract', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => ko[`posture.${i}` as keyof typeof ko])).toEqual([
      '계단 내려가기', '계단 오르기', '달리기', '앉기', '서기', '걷기', '누움', '넘어짐',
    ]);
    for (let i = 0; i < 8; i++) expect(en[`posture.${i}` as keyof typeof en]).toMatch(/\w/);
    expect(en['incident.title.fall']).toBe('Did you fall?');
    expect(ko['incident.title.fall']).toBe('넘어지셨나요?');
  });
});

describe('posture reducer', () => {
  it('sorts a fetched history newest first and drops rows it cannot read', () => {
    const rows: PostureRow[] = [
      { posture: 4, updated_at: iso(0) },
      { posture: 5, updated_at: iso(10) },
      { posture: 'Other', updated_at: iso(20) },
      { posture: 3, updated_at: 'not a time' },
    ];
    const s = postureReducer(initialPosture, { type: 'loaded', rows });
    expect(s.rows.map((r) => r.posture)).toEqual([5, 4]);
    expect(currentPosture(s.rows)).toEqual({ index: 5, at: iso(10) });
    expect(s.unavailable).toBe(false);
  });

  it('puts a live event on top and keeps events that arrived while the history was loading', () => {
    let s = apply(initialPosture, event(5, 30));
    s = postureReducer(s, { type: 'loaded', rows: [{ posture: 4, updated_at: iso(20) }, { posture: 3, updated_at: iso(10) }] });
    expect(s.rows.map((r) => r.posture)).toEqual([5, 4, 3]);
    s = apply(s, event(6, 40));
    expect(currentPosture(s.rows)?.index).toBe(6);
  });

  it('does not count the same window twice (an event, then the same row in a refetch after a reconnect)', () => {
    let s = apply(initialPosture, event(5, 30));
    s = postureReducer(s, { type: 'loaded', rows: [{ posture: 5, name: 'Walking', updated_at: iso(30) }] });
    expect(s.rows).toHaveLength(1);
  });

  it('files a late window in its place without changing the current posture or the fall state', () => {
    let s = apply(initialPosture, event(7, 50, { fall: 'suspected' }));
    s = apply(s, event(4, 20, { fall: 'none' }));
    expect(currentPosture(s.rows)?.index).toBe(7);
    expect(s.rows.map((r) => r.posture)).toEqual([7, 4]);
    expect(s.fall).toBe('suspected');
  });

  it('follows the fall state: suspected, confirmed (keeping when it began), dismissed; an incident closing clears it', () => {
    let s = apply(initialPosture, event(7, 0, { fall: 'suspected' }));
    expect([s.fall, s.fallAt]).toEqual(['suspected', iso(0)]);
    s = apply(s, event(6, 3, { fall: 'confirmed' }));
    expect([s.fall, s.fallAt]).toEqual(['confirmed', iso(3)]);
    s = apply(s, event(6, 6, { fall: 'confirmed' }));
    expect(s.fallAt).toBe(iso(3));
    s = postureReducer(s, { type: 'fallClosed' });
    expect([s.fall, s.fallAt]).toEqual(['dismissed', null]);
    s = apply(s, event(4, 9, { fall: 'dismissed' }));
    expect(fallFlag(s.fall, null)).toBeNull();
  });

  it('keeps an older server (no fall, updated_at instead of at) working', () => {
    const s = apply(initialPosture, { type: 'posture', wearer: 'k', posture: 'Walking', updated_at: iso(5) });
    expect(currentPosture(s.rows)).toEqual({ index: 5, at: iso(5) });
    expect(s.fall).toBe('none');
  });

  it('says unavailable on 503 and forgets it when an event proves otherwise', () => {
    let s = postureReducer(initialPosture, { type: 'unavailable' });
    expect(s.unavailable).toBe(true);
    s = apply(s, event(4, 1));
    expect(s.unavailable).toBe(false);
  });

  it('keeps at most MAX_POSTURES rows', () => {
    const rows = Array.from({ length: MAX_POSTURES + 50 }, (_, i) => ({ posture: i % 8, updated_at: iso(i) }));
    const s = postureReducer(initialPosture, { type: 'loaded', rows });
    expect(s.rows).toHaveLength(MAX_POSTURES);
    expect(s.rows[0]!.updated_at).toBe(iso(MAX_POSTURES + 49));
  });

  it('knows since when the current posture has held', () => {
    const rows = [4, 4, 4, 5].map((p, i) => ({ posture: p, updated_at: iso(-i * 10) }));
    expect(postureSince(rows)).toBe(iso(-20));
    expect(postureSince([{ posture: 4, updated_at: iso(0) }, { posture: 5, updated_at: iso(-10) }])).toBeNull();
    expect(postureSince([])).toBeNull();
  });

  it('flags a fall from the posture events or from an open fall incident', () => {
    expect(fallFlag('none', { kind: 'fall' })).toBe('confirmed');
    expect(fallFlag('confirmed', { kind: 'fall', wearer_ok_at: iso(9) })).toBe('answered');
    expect(fallFlag('suspected', { kind: 'vitals' })).toBe('suspected');
    expect(fallFlag('dismissed', null)).toBeNull();
    expect(fallFlag('none', undefined)).toBeNull();
  });
});

describe('PostureCard', () => {
  const now = T0 + 60_000;
  const state = (rows: PostureRow[], extra: Partial<PostureState> = {}): PostureState => ({ ...initialPosture, rows, ...extra });

  it('shows the posture as a figure and a word, in Korean and English', () => {
    const { container, unmount } = wrap(<PostureCard posture={state([{ posture: 5, updated_at: iso(30) }])} now={now} />);
    expect(screen.getByTestId('posture-word').textContent).toBe('걷기');
    expect(screen.getByText('지금 자세')).toBeTruthy();
    expect(container.querySelector('svg[data-posture="5"]')).not.toBeNull();
    expect(screen.queryByTestId('posture-fall')).toBeNull();
    unmount();
    wrap(<PostureCard posture={state([{ posture: 3, updated_at: iso(30) }])} now={now} />, 'en');
    expect(screen.getByTestId('posture-word').textContent).toBe('Sitting');
    expect(screen.getByText('Posture now')).toBeTruthy();
  });

  it('says "last known" when the posture is old', () => {
    wrap(<PostureCard posture={state([{ posture: 4, updated_at: iso(0) }])} now={T0 + 10 * 60_000} />);
    expect(screen.getByText('마지막으로 확인된 자세')).toBeTruthy();
  });

  it('is calm when the server has no posture model, and when nothing arrived yet', () => {
    const { unmount } = wrap(<PostureCard posture={state([], { unavailable: true })} now={now} />);
    expect(screen.getByTestId('posture-card').dataset.state).toBe('unavailable');
    expect(screen.getByText('자세 인식을 쓸 수 없어요')).toBeTruthy();
    expect(screen.getByText('상태 확인과 알림은 그대로 작동해요.')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
    unmount();
    wrap(<PostureCard posture={state([])} now={now} />);
    expect(screen.getByTestId('posture-card').dataset.state).toBe('empty');
  });

  it('says a suspected fall and a confirmed one plainly', () => {
    const { unmount } = wrap(<PostureCard posture={state([{ posture: 7, updated_at: iso(30) }], { fall: 'suspected', fallAt: iso(30) })} now={now} />);
    expect(screen.getByTestId('posture-word').textContent).toBe('넘어짐');
    expect(screen.getByRole('alert').textContent).toContain('넘어짐이 의심돼요');
    expect(screen.getByTestId('posture-card').className).toContain('tone-danger');
    unmount();
    const fallIncident = { id: 1, wearer: 'kim01', kind: 'fall', phase: 'countdown', status: 2, level: 'danger', opened_at: iso(0) } as Incident;
    const { rerender } = wrap(<PostureCard posture={state([{ posture: 6, updated_at: iso(30) }])} incident={fallIncident} now={now} />, 'en');
    expect(screen.getByRole('alert').textContent).toContain('A fall was detected.');
    expect(screen.getByTestId('posture-card').dataset.fall).toBe('confirmed');
    // After "I'm OK" the incident stays open for a person to close; the card calms down.
    rerender(
      <I18nProvider lang="en">
        <PostureCard posture={state([{ posture: 6, updated_at: iso(30) }])} incident={{ ...fallIncident, phase: 'guardians', wearer_ok_at: iso(40) }} now={now} />
      </I18nProvider>,
    );
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByTestId('posture-fall').textContent).toContain('the answer was "I\'m OK"');
    expect(screen.getByTestId('posture-card').className).toContain('tone-caution');
  });
});

describe('IncidentAlert for a fall', () => {
  const fall = {
    id: 3, wearer: 'kim01', kind: 'fall', phase: 'countdown', status: 2, level: 'danger', opened_at: iso(0), seconds_left: 60,
    explanation: 'posture model: Fall (p=0.97)',
  } as Incident;
  const noop = async () => {};
  const props = { receivedAt: Date.now(), detail: null, onOk: noop, onCall: noop, onAck: noop, onMinimize: () => {} };

  it('asks the wearer whether they fell and says what to do, not a vitals cause', () => {
    wrap(<IncidentAlert incident={fall} role="wearer" {...props} />);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('넘어지셨나요?');
    // With a countdown the wearer reads what to do in its hint, so both buttons stay on the first screen.
    expect(screen.queryByTestId('fall-lead')).toBeNull();
    expect(screen.getByTestId('countdown').textContent).toContain('다치지 않았다면 "괜찮아요"를');
    expect(screen.getByText('넘어짐이 감지됐어요.')).toBeTruthy();
    expect(screen.getByText(/움직임 센서/)).toBeTruthy();
    expect(screen.getByText('서두르지 말고 숨을 고르세요. 바로 일어나지 마세요.')).toBeTruthy();
    expect(screen.getByRole('button', { name: '괜찮아요' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '신고하기 (119)' })).toBeTruthy();
    expect(screen.getByTestId('countdown')).toBeTruthy();
  });

  it('says what to do above the buttons when there is no countdown', () => {
    wrap(<IncidentAlert incident={{ ...fall, phase: 'guardians', seconds_left: undefined }} role="wearer" {...props} />);
    expect(screen.getByTestId('fall-lead').textContent).toContain('신고하기');
  });

  it("uses the server's guidance when it has some", () => {
    const guided = { ...fall, guidance: { language: 'ko' as const, state: '넘어진 뒤 움직임이 없어요.', cause: '넘어짐', actions: ['움직이지 마세요.'], warning: '119', call_119: true, sources: [], text: '' } };
    wrap(<IncidentAlert incident={guided} role="wearer" {...props} />);
    expect(screen.getByText('넘어진 뒤 움직임이 없어요.')).toBeTruthy();
    expect(screen.getByText('움직이지 마세요.')).toBeTruthy();
    expect(screen.queryByText('서두르지 말고 숨을 고르세요. 바로 일어나지 마세요.')).toBeNull();
  });

  it('tells a guardian who fell, to phone them, and offers 119', () => {
    wrap(<IncidentAlert incident={fall} role="guardian" wearerName="김영희" {...props} />, 'en');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('김영희 may have fallen');
    expect(screen.getByTestId('fall-lead').textContent).toContain('Phone 김영희 now');
    expect(screen.getByTestId('countdown').textContent).toContain('Unless 김영희 presses "I\'m OK"');
    expect(screen.getByRole('button', { name: 'I have seen this' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Phone 119' }).getAttribute('href')).toBe('tel:119');
  });

  it('leaves the vitals alert as it was', () => {
    wrap(<IncidentAlert incident={{ ...fall, kind: 'vitals' }} role="wearer" {...props} />);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('위험 상황이에요');
    expect(screen.queryByTestId('fall-lead')).toBeNull();
  });
});

describe('guardian overview with falls', () => {
  const now = T0 + 60_000;
  const w = (id: string, level: WearerSummary['level'], fall: PostureState['fall'] = 'none'): WearerSummary => ({
    id, name: id, level, lastReadingAt: iso(50), incident: null, posture: { ...initialPosture, fall },
  });
  it('puts a suspected fall above a danger status, below an open incident', () => {
    const inc = { id: 1, wearer: 'a', kind: 'vitals', phase: 'guardians', status: 1, level: 'caution', opened_at: iso(0) } as Incident;
    const sorted = sortBySeverity([w('b', 'danger'), w('c', 'normal', 'suspected'), { ...w('a', 'normal'), incident: inc }, w('d', 'normal')], now);
    expect(sorted.map((x) => x.id)).toEqual(['a', 'c', 'b', 'd']);
  });
});

// The dashboard end to end in jsdom: history from a fake API, live events from a fake WebSocket.
class FakeSocket {
  static last: FakeSocket | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.last = this;
    setTimeout(() => this.onopen?.(), 0);
  }
  send() {}
  close() {}
  emit(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

describe('Dashboard posture', () => {
  beforeEach(() => vi.stubGlobal('WebSocket', FakeSocket));
  afterEach(() => vi.unstubAllGlobals());

  function renderDashboard(getPostures: ApiClient['getPostures']) {
    const api = new ApiClient({ fetch: (() => Promise.reject(new Error('offline'))) as unknown as typeof fetch });
    Object.assign(api, {
      getStatuses: vi.fn().mockResolvedValue({ statuses: [] }),
      getVitals: vi.fn().mockResolvedValue({ vitals: [] }),
      listIncidents: vi.fn().mockResolvedValue({ incidents: [] }),
      getPostures: vi.fn(getPostures),
    });
    const session = { api, user: { id: 'kim01', name: '김영희' } as User, refreshMe: async () => {}, logout: async () => {} };
    wrap(
      <SessionContext.Provider value={session}>
        <Dashboard />
      </SessionContext.Provider>,
    );
    return api;
  }

  it('stays usable and calm when posture answers 503', async () => {
    renderDashboard(() => Promise.reject(new ApiError(503, 'unavailable', 'Posture is not available on this server.', [], null)));
    await waitFor(() => expect(screen.getByTestId('posture-card').dataset.state).toBe('unavailable'));
    expect(screen.getByTestId('posture-unavailable')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull(); // no error banner for a missing model
    expect(screen.getByTestId('status-level').textContent).toBe('확인 전');
    expect(screen.getByTestId('sos')).toBeTruthy();
  });

  it('shows the latest posture from the history, then follows live events', async () => {
    const at = new Date(Date.now() - 5000).toISOString();
    renderDashboard(() => Promise.resolve({ postures: [{ posture: 3, updated_at: at }] }));
    await waitFor(() => expect(screen.getByTestId('posture-word').textContent).toBe('앉기'));
    await waitFor(() => expect(FakeSocket.last).not.toBeNull());
    act(() => FakeSocket.last!.emit({ type: 'posture', wearer: 'kim01', posture: 5, name: 'Walking', previous_posture: 3, changed: true, fall: 'none', at: new Date().toISOString() }));
    expect(screen.getByTestId('posture-word').textContent).toBe('걷기');
    expect(screen.getByTestId('posture-chart').dataset.points).toBe('2');
    act(() => FakeSocket.last!.emit({ type: 'posture', wearer: 'kim01', posture: 7, name: 'Fall', previous_posture: 5, changed: true, fall: 'suspected', at: new Date().toISOString() }));
    expect(screen.getByTestId('posture-fall').textContent).toContain('넘어짐이 의심돼요');
  });
});
