// A WebSocket that never connects, for tests that render a live page with a fake API
// (vi.stubGlobal('WebSocket', FakeSocket)).
export class FakeSocket {
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(public url: string) {}
  send() {}
  close() {}
}
