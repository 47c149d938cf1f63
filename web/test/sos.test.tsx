// The SOS with a location (issue 19): the browser's position goes with POST /api/emergency_call/ when
// the wearer allows it; denied, unavailable or slow, the call goes without it, never later than the timeout.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from '../src/api/client';
import type { Incident, User } from '../src/api/types';
import { I18nProvider } from '../src/i18n/i18n';
import type { Lang } from '../src/i18n/strings';
import { callForHelp, currentLocation, LOCATION_MAX_AGE_MS, LOCATION_TIMEOUT_MS } from '../src/lib/location';
import { Dashboard } from '../src/pages/Dashboard';
import { SessionContext } from '../src/session';
import { FakeSocket } from './fake-socket';

vi.mock('../src/components/EChart', () => ({ EChart: ({ label }: { label: string }) => <div role="img" aria-label={label} /> }));

const SEOUL = { latitude: 37.5665, longitude: 126.978, accuracy: 25 };
const sosIncident = { id: 9, wearer: 'kim01', kind: 'sos', phase: 'dispatched', status: 2, level: 'danger', opened_at: new Date().toISOString() } as Incident;

type Mode = 'granted' | 'denied' | 'never' | 'throws';

/** A navigator.geolocation that answers as `mode` says, recording the options it was asked with. */
function fakeGeolocation(mode: Mode, coords: Partial<GeolocationCoordinates> = SEOUL) {
  const getCurrentPosition = vi.fn((ok: PositionCallback, fail?: PositionErrorCallback | null, _options?: PositionOptions) => {
    if (mode === 'throws') throw new Error('geolocation is broken');
    if (mode === 'granted') setTimeout(() => ok({ coords: coords as GeolocationCoordinates, timestamp: Date.now() } as GeolocationPosition), 10);
    if (mode === 'denied') setTimeout(() => fail?.({ code: 1, message: 'User denied Geolocation' } as GeolocationPositionError), 10);
    // 'never': the permission prompt stays open, nothing is called.
  });
  return { getCurrentPosition, watchPosition: vi.fn(), clearWatch: vi.fn() } as unknown as Geolocation & { getCurrentPosition: typeof getCurrentPosition };
}

/** An ApiClient whose fetch records every request and answers the SOS with 201. */
function recordingApi(answers: Response[] = []) {
  const bodies: unknown[] = [];
  const fetchImpl = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
    bodies.push(init?.body ? JSON.parse(String(init.body)) : undefined);
    return answers.shift() ?? new Response(JSON.stringify({ incident: sosIncident }), { status: 201, headers: { 'Content-Type': 'application/json' } });
  });
  return { api: new ApiClient({ fetch: fetchImpl as unknown as typeof fetch }), bodies, fetchImpl };
}

describe('currentLocation', () => {
  it('asks for a quick, coarse position: 3 s, a minute old at most, no high accuracy', async () => {
    const geo = fakeGeolocation('granted');
    expect(await currentLocation(geo)).toEqual({ latitude: 37.5665, longitude: 126.978, accuracy_m: 25 });
    expect(geo.getCurrentPosition.mock.calls[0]![2]).toEqual({ enableHighAccuracy: false, maximumAge: LOCATION_MAX_AGE_MS, timeout: LOCATION_TIMEOUT_MS });
    expect(LOCATION_TIMEOUT_MS).toBe(3000);
    expect(LOCATION_MAX_AGE_MS).toBe(60_000);
  });

  it('gives null without geolocation, when it throws, and for a position the server would refuse', async () => {
    expect(await currentLocation(undefined)).toBeNull();
    expect(await currentLocation(fakeGeolocation('throws'))).toBeNull();
    expect(await currentLocation(fakeGeolocation('granted', { latitude: Number.NaN, longitude: 1 }))).toBeNull();
    // A coarse fix is sent without its accuracy (the server takes at most 100 km).
    expect(await currentLocation(fakeGeolocation('granted', { latitude: 1, longitude: 2, accuracy: 250_000 }))).toEqual({ latitude: 1, longitude: 2 });
  });
});

describe('callForHelp', () => {
  afterEach(() => vi.useRealTimers());

  it('granted: the call carries the coordinates', async () => {
    const { api, bodies } = recordingApi();
    const r = await callForHelp(api, fakeGeolocation('granted'));
    expect(r).toEqual({ incident: sosIncident, located: true });
    expect(bodies).toEqual([{ latitude: 37.5665, longitude: 126.978, accuracy_m: 25 }]);
  });

  it('denied: the call still goes, without coordinates', async () => {
    const { api, bodies } = recordingApi();
    const r = await callForHelp(api, fakeGeolocation('denied'));
    expect(r.located).toBe(false);
    expect(bodies).toEqual([{}]);
  });

  it('no geolocation at all (plain http, an old browser): the call goes at once', async () => {
    const { api, bodies } = recordingApi();
    expect((await callForHelp(api, undefined)).located).toBe(false);
    expect(bodies).toEqual([{}]);
  });

  it('never answered (the prompt stays open): the call goes after the timeout, not before, not later', async () => {
    vi.useFakeTimers();
    const { api, bodies, fetchImpl } = recordingApi();
    const done = callForHelp(api, fakeGeolocation('never'));
    await vi.advanceTimersByTimeAsync(LOCATION_TIMEOUT_MS - 1);
    expect(fetchImpl).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect((await done).located).toBe(false);
    expect(bodies).toEqual([{}]);
  });

  it('a position the server refuses (400) is dropped and the call sent again without it', async () => {
    const refused = new Response(JSON.stringify({ error: { code: 'validation_failed', message: 'The location needs to be corrected.', fields: [{ field: 'latitude', problem: 'must be between -90 and 90' }] } }), {
      status: 400,
      headers: { 'Content-Type': 'application/json' },
    });
    const { api, bodies } = recordingApi([refused]);
    const r = await callForHelp(api, fakeGeolocation('granted'));
    expect(r.located).toBe(false);
    expect(bodies).toEqual([{ latitude: 37.5665, longitude: 126.978, accuracy_m: 25 }, {}]);
  });

  it('other failures (a refused limit) reach the caller as they are', async () => {
    const api = { emergencyCall: vi.fn().mockRejectedValue(new ApiError(429, 'rate_limited', 'Too many SOS calls.', [], 60)) };
    await expect(callForHelp(api, fakeGeolocation('denied'))).rejects.toMatchObject({ status: 429 });
    expect(api.emergencyCall).toHaveBeenCalledTimes(1);
  });
});

// The dashboard's SOS button with a fake API and stream.

describe('Dashboard SOS', () => {
  beforeEach(() => vi.stubGlobal('WebSocket', FakeSocket));
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  function renderDashboard(geo: Geolocation | undefined, lang: Lang = 'ko') {
    vi.stubGlobal('navigator', { ...navigator, geolocation: geo });
    const api = new ApiClient({ fetch: (() => Promise.reject(new Error('offline'))) as unknown as typeof fetch });
    const emergencyCall = vi.fn().mockResolvedValue({ incident: sosIncident });
    Object.assign(api, {
      getStatuses: vi.fn().mockResolvedValue({ statuses: [] }),
      getVitals: vi.fn().mockResolvedValue({ vitals: [] }),
      listIncidents: vi.fn().mockResolvedValue({ incidents: [] }),
      getPostures: vi.fn().mockResolvedValue({ postures: [] }),
      getIncident: vi.fn().mockResolvedValue({ incident: sosIncident, notifications: [] }),
      emergencyCall,
    });
    const session = { api, user: { id: 'kim01', name: '김영희' } as User, refreshMe: async () => {}, logout: async () => {} };
    render(
      <I18nProvider lang={lang}>
        <SessionContext.Provider value={session}>
          <Dashboard />
        </SessionContext.Provider>
      </I18nProvider>,
    );
    return emergencyCall;
  }

  it('granted: sends the position and says so calmly', async () => {
    const call = renderDashboard(fakeGeolocation('granted'));
    fireEvent.click(screen.getByTestId('sos'));
    await waitFor(() => expect(screen.getByTestId('sos-location').textContent).toBe('위치를 함께 보냈어요.'));
    expect(call).toHaveBeenCalledWith({ latitude: 37.5665, longitude: 126.978, accuracy_m: 25 });
    expect(screen.getByTestId('sos-location').dataset.located).toBe('yes');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('신고 요청을 보냈어요');
  });

  it('denied: calls without it and says the call went without the location (English)', async () => {
    const call = renderDashboard(fakeGeolocation('denied'), 'en');
    fireEvent.click(screen.getByTestId('sos'));
    await waitFor(() => expect(screen.getByTestId('sos-location').textContent).toBe('The call was sent without your location.'));
    expect(call.mock.calls[0]?.[0]).toBeUndefined(); // no body: POST {}
  });

  it('a prompt nobody answers: the button says it is calling, and the call goes after 3 s', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const call = renderDashboard(fakeGeolocation('never'));
    fireEvent.click(screen.getByTestId('sos'));
    expect(screen.getByTestId('sos').textContent).toBe('신고하는 중…');
    await act(() => vi.advanceTimersByTimeAsync(LOCATION_TIMEOUT_MS - 100));
    expect(call).not.toHaveBeenCalled();
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(call.mock.calls[0]?.[0]).toBeUndefined(); // no body: POST {}
    await waitFor(() => expect(screen.getByTestId('sos-location').textContent).toBe('위치 없이 신고했어요.'));
  });
});
