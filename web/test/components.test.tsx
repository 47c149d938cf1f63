import { act, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReactNode } from 'react';
import { Countdown, countdownEnd } from '../src/components/Countdown';
import { StatusCard } from '../src/components/StatusCard';
import { DispatchState, NotificationList } from '../src/components/IncidentAlert';
import { I18nProvider } from '../src/i18n/i18n';
import type { Lang } from '../src/i18n/strings';
import type { Incident, IncidentDetail, Notification } from '../src/api/types';
import { sortBySeverity, isStale, type WearerSummary } from '../src/pages/Guardian';
import { postureIndex, postureTimeline } from '../src/components/Charts';

const wrap = (ui: ReactNode, lang: Lang = 'ko') => render(<I18nProvider lang={lang}>{ui}</I18nProvider>);

describe('StatusCard', () => {
  it.each([
    ['normal', '정상', '지금은 괜찮아요.'],
    ['caution', '주의', '몸 상태를 살펴볼 필요가 있어요.'],
    ['danger', '위험', '도움이 필요할 수 있어요.'],
  ] as const)('renders %s with words, not colour alone', (level, word, desc) => {
    const { container } = wrap(<StatusCard status={{ level, explanation: 'Heart rate 150 bpm is high.', causes: ['heart_rate'] }} />);
    expect(screen.getByTestId('status-level').textContent).toBe(word);
    expect(screen.getByText(desc)).toBeTruthy();
    expect(screen.getByText('Heart rate 150 bpm is high.')).toBeTruthy();
    expect(container.querySelector(`.level-${level}`)).not.toBeNull();
    expect(container.querySelector('svg')).not.toBeNull(); // a shape per level
  });

  it('says when nothing is known yet, and speaks English when asked', () => {
    wrap(<StatusCard status={{ level: null }} />, 'en');
    expect(screen.getByTestId('status-level').textContent).toBe('Not yet known');
    expect(screen.getByText('No readings from the watch yet.')).toBeTruthy();
  });

  it('says what was found in Korean words on a Korean screen, and the rules\' explanation in English', () => {
    const summary = { ko: '심박수가 너무 높습니다(분당 150회).', en: 'Heart rate is too high (150 bpm).' };
    const status = { level: 'danger' as const, explanation: 'Heart rate 150 bpm is at or above 131 bpm.', summary };
    const ko = wrap(<StatusCard status={status} />);
    expect(screen.getByText(summary.ko)).toBeTruthy();
    expect(screen.queryByText(status.explanation)).toBeNull();
    ko.unmount();
    wrap(<StatusCard status={status} />, 'en');
    expect(screen.getByText(status.explanation)).toBeTruthy();
  });

  it('names the causes in the chosen language', () => {
    wrap(<StatusCard status={{ level: 'danger', causes: ['spo2', 'heart_rate'] }} />);
    expect(screen.getByText('산소포화도, 심박수')).toBeTruthy();
  });
});

describe('Countdown', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('counts down to zero from seconds_left and does not go below', () => {
    const start = Date.now();
    const end = countdownEnd({ seconds_left: 5 }, start)!;
    wrap(<Countdown endsAt={end} />);
    const number = () => screen.getByTestId('countdown').querySelector('.countdown-number')!.textContent;
    expect(number()).toBe('5');
    act(() => vi.advanceTimersByTime(2000));
    expect(number()).toBe('3');
    act(() => vi.advanceTimersByTime(10_000));
    expect(number()).toBe('0');
  });

  it('prefers seconds_left (immune to a wrong local clock) and falls back to deadline', () => {
    expect(countdownEnd({ seconds_left: 42, deadline: '2000-01-01T00:00:00Z' }, 1000)).toBe(43_000);
    expect(countdownEnd({ deadline: '2026-11-23T16:30:00.000Z' }, 0)).toBe(Date.parse('2026-11-23T16:30:00.000Z'));
    expect(countdownEnd({}, 0)).toBeNull();
  });
});

describe('NotificationList', () => {
  it('shows each message with its channel and delivery state', () => {
    wrap(
      <NotificationList
        notifications={[
          { channel: 'sms', to: '010-****-5678', purpose: 'guardians_alert', state: 'delivered', attempts: 1, delivered_at: '2026-11-23T16:30:00Z' } as Notification,
          { channel: 'emergency', to: '119', purpose: 'emergency_dispatch', state: 'failed', attempts: 3, last_error: 'timeout' } as Notification,
        ]}
      />,
    );
    expect(screen.getByText(/문자 · 보호자 알림/)).toBeTruthy();
    expect(screen.getByText(/119 신고 · 구조 요청/)).toBeTruthy();
    expect(screen.getByText(/전달 실패 · 3번 시도/)).toBeTruthy();
  });
});

describe('guardian overview', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  const w = (id: string, level: WearerSummary['level'], minsAgo: number | null, incident: 'danger' | 'caution' | null = null): WearerSummary => ({
    id, name: id, level,
    lastReadingAt: minsAgo === null ? null : new Date(now - minsAgo * 60_000).toISOString(),
    incident: incident ? ({ id: 1, wearer: id, kind: 'vitals', phase: 'guardians', status: 2, level: incident, opened_at: '' } as Incident) : null,
  });

  it('sorts by severity: open danger incident first, then danger, caution, stale, normal', () => {
    const sorted = sortBySeverity([w('a', 'normal', 1), w('b', 'caution', 1), w('c', 'normal', 60), w('d', 'normal', 1, 'danger'), w('e', 'danger', 1)], now);
    expect(sorted.map((x) => x.id)).toEqual(['d', 'e', 'b', 'c', 'a']);
  });

  it('flags data older than 15 minutes as stale', () => {
    expect(isStale(new Date(now - 14 * 60_000).toISOString(), now)).toBe(false);
    expect(isStale(new Date(now - 16 * 60_000).toISOString(), now)).toBe(true);
    expect(isStale(null, now)).toBe(true);
  });
});

describe('posture chart data', () => {
  it('accepts indexes and names, and keeps the range on a timeline ordered from resting to moving', () => {
    expect(postureIndex(7)).toBe(7);
    expect(postureIndex('Walking')).toBe(5);
    expect(postureIndex('Sit down')).toBe(3);
    expect(postureIndex(9)).toBeNull();
    const now = Date.parse('2026-11-23T12:00:00Z');
    const { points, counts, min, max } = postureTimeline(
      [
        { posture: 5, updated_at: '2026-11-23T11:55:00Z' },
        { posture: 'Fall', updated_at: '2026-11-23T11:05:00Z' },
        { posture: 5, updated_at: '2026-11-23T10:00:00Z' }, // outside the hour
      ],
      'hour',
      now,
    );
    expect(points.map((p) => p.index)).toEqual([7, 5]); // oldest first
    expect(points.map((p) => p.row)).toEqual([7, 3]); // Fall on top; Walking above Lying, Sitting, Standing
    expect(counts[5]).toBe(1);
    expect(max).toBe(now);
    expect(min).toBeLessThan(Date.parse('2026-11-23T11:05:00Z'));
    expect(min).toBeGreaterThanOrEqual(now - 3600_000);
  });

  it('zooms the axis to a few seconds of windows instead of a whole empty hour', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    const rows = Array.from({ length: 10 }, (_, i) => ({ posture: 4, updated_at: new Date(now - i * 2560).toISOString() }));
    const { min, points } = postureTimeline(rows, 'hour', now);
    expect(points).toHaveLength(10);
    expect(now - min).toBeLessThanOrEqual(2 * 60_000);
  });
});

describe('DispatchState', () => {
  const detail = (state: Notification['state']) => ({
    incident: { id: 1, wearer: 'k', kind: 'vitals' as const, phase: 'dispatched' as const, status: 2 as const, level: 'danger' as const, opened_at: '' } as Incident,
    role: 'wearer' as const,
    events: [],
    notifications: [{ channel: 'emergency', to: '119', purpose: 'emergency_dispatch', state } as Notification],
  }) satisfies IncidentDetail;
  it('says help is coming only when the call was delivered, and offers to phone 119 otherwise', () => {
    const { rerender } = wrap(<DispatchState detail={detail('delivered')} />);
    expect(screen.getByTestId('dispatched').dataset.state).toBe('delivered');
    expect(screen.queryByRole('link')).toBeNull();
    rerender(<I18nProvider lang="ko"><DispatchState detail={detail('failed')} /></I18nProvider>);
    expect(screen.getByText(/자동 신고가 전달되지 않았어요/)).toBeTruthy();
    expect(screen.getByRole('link', { name: '119에 전화하기' }).getAttribute('href')).toBe('tel:119');
    rerender(<I18nProvider lang="ko"><DispatchState detail={detail('pending')} /></I18nProvider>);
    expect(screen.getByTestId('dispatched').dataset.state).toBe('sending');
  });
});
