import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, errorFromResponse } from '../src/api/client';

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function recorder(responses: Response[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const r = responses.shift();
    if (!r) throw new Error('unexpected request');
    return r;
  });
  return { calls, fetchImpl: fetchImpl as unknown as typeof fetch };
}

const header = (init: RequestInit, name: string) => (init.headers as Record<string, string>)[name];

describe('ApiClient CSRF handling', () => {
  it('keeps the token from login and sends it on POST, PUT and DELETE but not GET', async () => {
    const { calls, fetchImpl } = recorder([
      json(200, { user: { id: 'kim01', name: 'Kim' }, csrf_token: 'tok-1' }),
      json(200, { statuses: [] }),
      json(201, { device: {}, device_token: 'd' }),
      json(200, {}),
      json(200, {}),
    ]);
    const api = new ApiClient({ fetch: fetchImpl });
    expect(api.csrfToken).toBeNull();
    await api.login('kim01', 'secret-pass');
    expect(header(calls[0]!.init, 'X-CSRF-Token')).toBeUndefined();
    await api.getStatuses(10);
    await api.pairDevice('Watch');
    await api.setRuleProfile('glucose');
    await api.revokeDevice(7);
    expect(header(calls[1]!.init, 'X-CSRF-Token')).toBeUndefined();
    expect(header(calls[2]!.init, 'X-CSRF-Token')).toBe('tok-1');
    expect(calls[3]!.init.method).toBe('PUT');
    expect(header(calls[3]!.init, 'X-CSRF-Token')).toBe('tok-1');
    expect(calls[4]!.init.method).toBe('DELETE');
    expect(calls[4]!.url).toBe('/api/devices/7');
    expect(header(calls[4]!.init, 'X-CSRF-Token')).toBe('tok-1');
    expect(calls[1]!.url).toBe('/api/get_status/?limit=10');
  });

  it('takes the token again from GET /api/me after a reload', async () => {
    const { calls, fetchImpl } = recorder([json(200, { user: { id: 'a', name: 'A' }, csrf_token: 'tok-2' }), json(200, { incident: {} })]);
    const api = new ApiClient({ fetch: fetchImpl });
    await api.me();
    await api.imOk(12);
    expect(calls[1]!.url).toBe('/api/incidents/12/ok');
    expect(header(calls[1]!.init, 'X-CSRF-Token')).toBe('tok-2');
    expect(header(calls[1]!.init, 'Content-Type')).toBe('application/json');
  });

  it('forgets the token on logout', async () => {
    const { fetchImpl } = recorder([json(200, { user: { id: 'a', name: 'A' }, csrf_token: 't' }), json(200, {})]);
    const api = new ApiClient({ fetch: fetchImpl });
    await api.login('aaaa', 'bbbbbbbb');
    await api.logout();
    expect(api.csrfToken).toBeNull();
  });
});

describe('posture', () => {
  it('asks get_posture for a wearer and a limit, and turns 503 (no posture model) into an ApiError', async () => {
    const { calls, fetchImpl } = recorder([
      json(200, { postures: [{ posture: 4, name: 'Standing', updated_at: '2026-12-02T09:00:00Z' }] }),
      json(503, { error: { code: 'unavailable', message: 'Posture and fall detection is not available on this server.' } }),
    ]);
    const api = new ApiClient({ fetch: fetchImpl });
    expect((await api.getPostures('kim01', 500)).postures[0]!.name).toBe('Standing');
    expect(calls[0]!.url).toBe('/api/get_posture/?wearer=kim01&limit=500');
    await expect(api.getPostures()).rejects.toMatchObject({ status: 503, code: 'unavailable' });
    expect(calls[1]!.url).toBe('/api/get_posture/');
  });
});

describe('error bodies', () => {
  it('parses the documented error shape into code, message and per-field problems', async () => {
    const err = await errorFromResponse(
      json(400, {
        error: {
          code: 'validation_failed',
          message: 'Some fields need to be corrected.',
          fields: [
            { field: 'age', problem: 'must be between 1 and 130' },
            { field: 'phone_num', problem: 'bad' },
            { field: 'phone_num', problem: 'worse' },
          ],
        },
      }),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe('validation_failed');
    expect(err.message).toBe('Some fields need to be corrected.');
    expect(err.fieldMap()).toEqual({ age: 'must be between 1 and 130', phone_num: 'bad; worse' });
  });

  it('reads Retry-After on 429', async () => {
    const err = await errorFromResponse(json(429, { error: { code: 'rate_limited', message: 'Slow down' } }, { 'Retry-After': '42' }));
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterSeconds).toBe(42);
  });

  it('still gives an ApiError for a body that is not JSON', async () => {
    const err = await errorFromResponse(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(err.code).toBe('http_502');
    expect(err.fields).toEqual([]);
  });

  it('rejects with ApiError and field problems from signup', async () => {
    const { fetchImpl } = recorder([json(409, { error: { code: 'conflict', message: 'taken', fields: [{ field: 'id', problem: 'is taken' }] } })]);
    const api = new ApiClient({ fetch: fetchImpl });
    const p = api.signup({ id: 'kim01', password: 'xxxxxxxx', name: 'K', age: 70, address: 'A', phone_num: '010-1234-5678' });
    await expect(p).rejects.toBeInstanceOf(ApiError);
    await p.catch((e: ApiError) => expect(e.fieldMap()).toEqual({ id: 'is taken' }));
  });
});

describe('401 handling', () => {
  it('calls onUnauthorized and drops the token when a session request gets 401', async () => {
    const onUnauthorized = vi.fn();
    const { fetchImpl } = recorder([
      json(200, { user: { id: 'a', name: 'A' }, csrf_token: 't' }),
      json(401, { error: { code: 'session_expired', message: 'Please log in again.' } }),
    ]);
    const api = new ApiClient({ fetch: fetchImpl, onUnauthorized });
    await api.login('aaaa', 'bbbbbbbb');
    await expect(api.listIncidents()).rejects.toMatchObject({ status: 401, code: 'session_expired' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(api.csrfToken).toBeNull();
  });

  it('does not treat a wrong password (401 on login) as an expired session', async () => {
    const onUnauthorized = vi.fn();
    const { fetchImpl } = recorder([json(401, { error: { code: 'invalid_credentials', message: 'Wrong id or password.' } })]);
    const api = new ApiClient({ fetch: fetchImpl, onUnauthorized });
    await expect(api.login('aaaa', 'bbbbbbbb')).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(onUnauthorized).not.toHaveBeenCalled();
  });
});
