// The live stream (/api/stream): one WebSocket per dashboard, reconnected with exponential
// backoff and jitter when it drops (server restart, close 1008 for falling behind, network); not
// after close 4401, which means the session ended.
// There is no polling: after each (re)connect the caller refetches once, then follows events.
import type { StreamMessage } from './types';

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StreamOptions {
  wearer?: string;
  onMessage: (msg: StreamMessage) => void;
  /** Each time the socket opens (first time and after every reconnect). */
  onOpen?: () => void;
  onState?: (s: StreamState) => void;
  /** Closed for good because the session is gone (401 on the upgrade shows up as close 1008/4401 or an error before open). */
  onUnauthorized?: () => void;
  makeSocket?: (url: string) => WebSocket;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export function streamUrl(loc: { protocol: string; host: string }, wearer?: string): string {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = wearer ? `?wearer=${encodeURIComponent(wearer)}` : '';
  return `${proto}//${loc.host}/api/stream${q}`;
}

export function backoffDelay(attempt: number, base = 1000, max = 30000, rand: () => number = Math.random): number {
  const exp = Math.min(max, base * 2 ** Math.min(attempt, 10));
  return Math.round(exp / 2 + (rand() * exp) / 2);
}

export function openStream(opts: StreamOptions): () => void {
  const make = opts.makeSocket ?? ((u: string) => new WebSocket(u));
  const url = streamUrl(window.location, opts.wearer);
  let ws: WebSocket | null = null;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let failuresBeforeOpen = 0;

  const connect = () => {
    if (stopped) return;
    opts.onState?.(attempt === 0 ? 'connecting' : 'reconnecting');
    let opened = false;
    const sock = make(url);
    ws = sock;
    sock.onopen = () => {
      opened = true;
      attempt = 0;
      failuresBeforeOpen = 0;
      opts.onState?.('open');
      opts.onOpen?.();
    };
    sock.onmessage = (ev: MessageEvent) => {
      try {
        const msg = JSON.parse(String(ev.data)) as StreamMessage;
        if (msg && typeof msg === 'object' && 'type' in msg) opts.onMessage(msg);
      } catch {
        // A malformed frame is ignored; the next one may be fine.
      }
    };
    sock.onclose = (ev?: CloseEvent) => {
      if (ws === sock) ws = null;
      if (stopped) return;
      // 4401: the server ended the stream because its session ended (logout, expiry). Reconnecting
      // cannot help; the app asks the person to log in again.
      if (ev?.code === 4401) {
        stopped = true;
        opts.onState?.('closed');
        opts.onUnauthorized?.();
        return;
      }
      if (!opened) failuresBeforeOpen += 1;
      // Several upgrades refused in a row: let the app check whether the session still exists.
      if (failuresBeforeOpen === 3) opts.onUnauthorized?.();
      opts.onState?.('reconnecting');
      const delay = backoffDelay(attempt, opts.baseDelayMs, opts.maxDelayMs);
      attempt += 1;
      timer = setTimeout(connect, delay);
    };
  };
  connect();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    opts.onState?.('closed');
    ws?.close();
    ws = null;
  };
}
