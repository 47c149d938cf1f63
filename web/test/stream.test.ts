// The live stream's reconnect rules: close 4401 (session ended) stops and asks for a login.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStream } from '../src/api/stream';

function first(sockets: Sock[]): Sock {
  const s = sockets[0];
  if (!s) throw new Error('no socket was made');
  return s;
}

class Sock {
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e?: { code: number }) => void) | null = null;
  close() {}
}

describe('openStream', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('stops and reports unauthorized when the server closes with 4401', () => {
    const sockets: Sock[] = [];
    const onUnauthorized = vi.fn();
    const states: string[] = [];
    openStream({
      onMessage: () => {},
      onUnauthorized,
      onState: (s) => states.push(s),
      makeSocket: () => {
        const s = new Sock();
        sockets.push(s);
        return s as unknown as WebSocket;
      },
    });
    first(sockets).onopen?.();
    first(sockets).onclose?.({ code: 4401 });
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(states.at(-1)).toBe('closed');
  });

  it('reconnects after other closes', () => {
    const sockets: Sock[] = [];
    openStream({
      onMessage: () => {},
      makeSocket: () => {
        const s = new Sock();
        sockets.push(s);
        return s as unknown as WebSocket;
      },
    });
    first(sockets).onopen?.();
    first(sockets).onclose?.({ code: 1008 });
    vi.advanceTimersByTime(60_000);
    expect(sockets.length).toBeGreaterThan(1);
  });
});
