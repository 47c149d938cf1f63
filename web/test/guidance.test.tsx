// The LLM-rewritten guidance (issue 19): with an OpenAI-compatible endpoint the server adds
// guidance.rewrite; the wearer and the guardian read the rewrite once it is done, the knowledge base's
// four parts otherwise, and a pending rewrite is fetched again until it is there.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../src/api/client';
import type { Guidance, Incident, IncidentDetail, User } from '../src/api/types';
import { IncidentAlert } from '../src/components/IncidentAlert';
import { I18nProvider } from '../src/i18n/i18n';
import type { Lang } from '../src/i18n/strings';
import { guidanceWording, mergeGuidance, REWRITE_POLL_MS, REWRITE_POLL_TRIES, rewriteParts, rewritePending } from '../src/lib/guidance';
import { Dashboard } from '../src/pages/Dashboard';
import { SessionContext } from '../src/session';
import { FakeSocket } from './fake-socket';

vi.mock('../src/components/EChart', () => ({ EChart: ({ label }: { label: string }) => <div role="img" aria-label={label} /> }));

const REWRITE = '1. 현재 상태: 심박이 아주 빨라요.\n2. 원인: 몸이 힘들다는 신호예요.\n3. 대처 방법: 앉아서 쉬세요.\n4. 경고: 가슴이 아프면 바로 119에 신고하세요.';

const kb: Guidance = {
  language: 'ko',
  state: '심박수가 분당 175회로 위험 범위예요.',
  cause: '빠른 심박은 탈수나 부정맥 때문일 수 있어요.',
  actions: ['앉아서 쉬세요.', '물을 조금 드세요.'],
  warning: '지금 바로 119에 신고하세요.',
  call_119: true,
  sources: [{ publisher: '질병관리청', title: '국가건강정보포털', url: 'https://health.kdca.go.kr/' }],
  text: '1. …\n2. …\n3. …\n4. …',
};
const withRewrite = (rewrite: Guidance['rewrite']): Guidance => ({ ...kb, rewrite });

const incident = (guidance: Guidance | null): Incident =>
  ({
    id: 12, wearer: 'kim01', kind: 'vitals', phase: 'guidance', status: 2, level: 'danger', max_status: 2,
    causes: ['heart_rate'], rules: ['heart_rate.high.danger'], explanation: 'Heart rate 175 bpm is at or above 131 bpm.',
    opened_at: '2026-12-07T12:00:00.000Z', updated_at: '2026-12-07T12:00:00.000Z', reraise_count: 0, acknowledged_by: '',
    guidance,
  }) as Incident;

describe('which words of the guidance are shown', () => {
  it('done: the rewrite', () => {
    expect(guidanceWording(withRewrite({ state: 'done', text: REWRITE }))).toEqual({ source: 'rewrite', text: REWRITE });
  });

  it('pending: the knowledge base, and a rewrite may still come', () => {
    expect(guidanceWording(withRewrite({ state: 'pending' }))).toEqual({ source: 'knowledge', pending: true });
    expect(rewritePending(withRewrite({ state: 'pending' }))).toBe(true);
  });

  it('fallback: the knowledge base for good', () => {
    expect(guidanceWording(withRewrite({ state: 'fallback', reason: 'the endpoint answered HTTP 500' }))).toEqual({ source: 'knowledge', pending: false });
    expect(rewritePending(withRewrite({ state: 'fallback', reason: 'x' }))).toBe(false);
  });

  it('absent (no endpoint configured), no guidance at all, or an empty rewrite: the knowledge base', () => {
    expect(guidanceWording(kb)).toEqual({ source: 'knowledge', pending: false });
    expect(guidanceWording(null)).toEqual({ source: 'knowledge', pending: false });
    expect(guidanceWording(undefined)).toEqual({ source: 'knowledge', pending: false });
    expect(guidanceWording(withRewrite({ state: 'done', text: '  \n' }))).toEqual({ source: 'knowledge', pending: false });
    expect(rewritePending(kb)).toBe(false);
    expect(rewritePending(null)).toBe(false);
  });

  it('a rewrite already shown stays while the same words are rewritten again (a new phase), not when they change', () => {
    const done = withRewrite({ state: 'done', text: REWRITE });
    const pending = withRewrite({ state: 'pending' });
    expect(mergeGuidance(done, pending)?.rewrite).toEqual({ state: 'done', text: REWRITE });
    expect(mergeGuidance(done, { ...pending, text: 'other words' })?.rewrite).toEqual({ state: 'pending' });
    expect(mergeGuidance(done, { ...pending, language: 'en' })?.rewrite).toEqual({ state: 'pending' });
    const fallback = withRewrite({ state: 'fallback', reason: 'timeout' });
    expect(mergeGuidance(done, fallback)).toBe(fallback);
    expect(mergeGuidance(null, pending)).toBe(pending);
    expect(mergeGuidance(done, null)).toBeNull();
  });
});

describe('the rewrite laid out in parts', () => {
  it('one part per numbered line, the lines after it kept with it', () => {
    expect(rewriteParts('1. 현재 상태: 빨라요.\n2. 원인: 힘들어요.\n\n3. 대처 방법:\n- 앉으세요.\n- 물을 드세요.\n4. 경고: 119에 신고하세요.')).toEqual([
      { n: 1, lines: ['1. 현재 상태: 빨라요.'] },
      { n: 2, lines: ['2. 원인: 힘들어요.'] },
      { n: 3, lines: ['3. 대처 방법:', '• 앉으세요.', '• 물을 드세요.'] },
      { n: 4, lines: ['4. 경고: 119에 신고하세요.'] },
    ]);
  });

  it('takes out Markdown marks, keeps a list numbered inside a part in it, and a line before part 1 on its own', () => {
    const parts = rewriteParts('안내\r\n## **1. 현재 상태**\n위험해요.\n**2. 원인**: 열\n3. 대처 방법\n1. 앉기\n2. 쉬기\n> 4. 경고: 119');
    expect(parts).toEqual([
      { n: null, lines: ['안내'] },
      { n: 1, lines: ['1. 현재 상태', '위험해요.'] },
      { n: 2, lines: ['2. 원인: 열'] },
      { n: 3, lines: ['3. 대처 방법', '1. 앉기', '2. 쉬기'] },
      { n: 4, lines: ['4. 경고: 119'] },
    ]);
  });
});

function renderAlert(i: Incident, lang: Lang = 'ko', role: 'wearer' | 'guardian' = 'wearer') {
  const noop = async () => {};
  return render(
    <I18nProvider lang={lang}>
      <IncidentAlert incident={i} receivedAt={Date.now()} detail={null} role={role} wearerName="김영희" onOk={noop} onCall={noop} onAck={noop} onMinimize={() => {}} />
    </I18nProvider>,
  );
}

describe('IncidentAlert with a rewrite', () => {
  it('done: shows the rewrite with its line breaks and the AI note, after the two answers', () => {
    const { container } = renderAlert(incident(withRewrite({ state: 'done', text: REWRITE })));
    const g = screen.getByTestId('guidance');
    expect(g.dataset.source).toBe('rewrite');
    expect([...g.querySelectorAll(':scope > li')].map((li) => li.textContent)).toEqual(REWRITE.split('\n'));
    expect(g.querySelector('.call-119')?.textContent).toContain('119에 신고하세요');
    expect(screen.getByTestId('guidance-ai-note').textContent).toBe('AI가 다듬은 안내예요. 건강 정보 출처의 안내를 쉬운 말로 옮겼어요.');
    expect(screen.queryByText('빠른 심박은 탈수나 부정맥 때문일 수 있어요.')).toBeNull();
    // The alert is described by the first part, and the answers still come first.
    expect(document.getElementById('incident-state')?.textContent).toBe('1. 현재 상태: 심박이 아주 빨라요.');
    const ok = screen.getByRole('button', { name: '괜찮아요' });
    expect(ok.compareDocumentPosition(g) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.getByRole('button', { name: '신고하기 (119)' })).toBeTruthy();
    // The sources of the words stay.
    expect(container.querySelector('details.sources')?.textContent).toContain('질병관리청');
  });

  it('shows the rewrite as text, never as HTML', () => {
    const { container } = renderAlert(incident(withRewrite({ state: 'done', text: '1. <img src=x onerror="alert(1)"> 상태\n2. <b>원인</b>\n3. 대처\n4. 119' })));
    expect(container.querySelector('[data-testid="guidance"] img, [data-testid="guidance"] b')).toBeNull();
    expect(screen.getByTestId('guidance').textContent).toContain('<img src=x onerror="alert(1)"> 상태');
  });

  it('pending: the knowledge base\'s four parts, marked pending, no AI note', () => {
    renderAlert(incident(withRewrite({ state: 'pending' })));
    const g = screen.getByTestId('guidance');
    expect(g.dataset.source).toBe('knowledge');
    expect(g.dataset.pending).toBe('yes');
    expect(g.querySelectorAll(':scope > li')).toHaveLength(4);
    expect(screen.getByText('빠른 심박은 탈수나 부정맥 때문일 수 있어요.')).toBeTruthy();
    expect(screen.queryByTestId('guidance-ai-note')).toBeNull();
  });

  it('fallback and absent: the knowledge base, in English too', () => {
    renderAlert(incident(withRewrite({ state: 'fallback', reason: 'timeout' })), 'en');
    expect(screen.getByTestId('guidance').dataset.source).toBe('knowledge');
    expect(screen.getByTestId('guidance').dataset.pending).toBeUndefined();
    expect(screen.getByRole('heading', { name: 'What to do now' })).toBeTruthy();
    expect(screen.queryByTestId('guidance-ai-note')).toBeNull();
  });

  it('the guardian reads the rewrite too, with the note in English', () => {
    renderAlert(incident(withRewrite({ state: 'done', text: REWRITE })), 'en', 'guardian');
    expect(screen.getByTestId('guidance').dataset.source).toBe('rewrite');
    expect(screen.getByTestId('guidance-ai-note').textContent).toBe('AI-assisted wording of the guidance from the health sources.');
    expect(screen.getByRole('button', { name: 'I have seen this' })).toBeTruthy();
  });
});


describe('a pending rewrite is fetched again', () => {
  beforeEach(() => {
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.useFakeTimers({ shouldAdvanceTime: true });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  function renderDashboard(details: Guidance[]) {
    const api = new ApiClient({ fetch: (() => Promise.reject(new Error('offline'))) as unknown as typeof fetch });
    let n = 0;
    const getIncident = vi.fn(async () => {
      const g = details[Math.min(n, details.length - 1)]!;
      n += 1;
      return { incident: incident(g), role: 'wearer', events: [], notifications: [] } as unknown as IncidentDetail;
    });
    Object.assign(api, {
      getStatuses: vi.fn().mockResolvedValue({ statuses: [] }),
      getVitals: vi.fn().mockResolvedValue({ vitals: [] }),
      listIncidents: vi.fn().mockResolvedValue({ incidents: [incident(withRewrite({ state: 'pending' }))] }),
      getPostures: vi.fn().mockResolvedValue({ postures: [] }),
      getIncident,
    });
    const session = { api, user: { id: 'kim01', name: '김영희', time_zone: 'Asia/Seoul' } as User, refreshMe: async () => {}, logout: async () => {} };
    render(
      <I18nProvider lang="ko">
        <SessionContext.Provider value={session}>
          <Dashboard />
        </SessionContext.Provider>
      </I18nProvider>,
    );
    return getIncident;
  }

  it(`every ${REWRITE_POLL_MS} ms until it is done, then shows it and stops`, async () => {
    const pending = withRewrite({ state: 'pending' });
    const getIncident = renderDashboard([pending, pending, withRewrite({ state: 'done', text: REWRITE })]);
    await waitFor(() => expect(screen.getByTestId('guidance').dataset.source).toBe('knowledge'));
    expect(getIncident).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(REWRITE_POLL_MS - 100));
    expect(getIncident).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(getIncident).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId('guidance').dataset.source).toBe('knowledge');
    await act(() => vi.advanceTimersByTimeAsync(REWRITE_POLL_MS));
    expect(getIncident).toHaveBeenCalledTimes(3);
    await waitFor(() => expect(screen.getByTestId('guidance').dataset.source).toBe('rewrite'));
    expect(screen.getByText('4. 경고: 가슴이 아프면 바로 119에 신고하세요.')).toBeTruthy();
    await act(() => vi.advanceTimersByTimeAsync(REWRITE_POLL_MS * 5));
    expect(getIncident).toHaveBeenCalledTimes(3);
  });

  it(`a few times at most (${REWRITE_POLL_TRIES}), then the knowledge base stays`, async () => {
    const getIncident = renderDashboard([withRewrite({ state: 'pending' })]);
    await waitFor(() => expect(getIncident).toHaveBeenCalledTimes(1));
    await act(() => vi.advanceTimersByTimeAsync(REWRITE_POLL_MS * (REWRITE_POLL_TRIES + 5)));
    expect(getIncident).toHaveBeenCalledTimes(1 + REWRITE_POLL_TRIES);
    expect(screen.getByTestId('guidance').dataset.source).toBe('knowledge');
  });

  it('a fallback is not asked again', async () => {
    const getIncident = renderDashboard([withRewrite({ state: 'fallback', reason: 'timeout' })]);
    await waitFor(() => expect(getIncident).toHaveBeenCalledTimes(1));
    await act(() => vi.advanceTimersByTimeAsync(REWRITE_POLL_MS * 3));
    expect(getIncident).toHaveBeenCalledTimes(1);
    // "I'm OK" and "Call 119" are there as always.
    expect(screen.getByRole('button', { name: '괜찮아요' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: '대시보드 보기' }));
    expect(screen.queryByTestId('incident-alert')).toBeNull();
  });
});
