// Starts the real VitalGuard binary for the end-to-end run, serving web/dist on the same origin
// as /api (the session cookie is SameSite=Strict and the server checks Origin). When the binary
// has no --web-dir yet, a tiny static server with an /api proxy (HTTP and WebSocket) stands in.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, createReadStream, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, resolve, normalize } from 'node:path';
import http from 'node:http';
import net from 'node:net';

export const BIN = process.env.VG_BINARY ?? resolve(new URL('../../build/bin/vitalguard', import.meta.url).pathname);
export const DIST = resolve(new URL('../dist', import.meta.url).pathname);

let helpText = null;
export function serverHelp() {
  if (helpText === null) {
    try {
      helpText = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
    } catch (e) {
      helpText = String(e.stdout ?? '');
    }
  }
  return helpText;
}
export const hasFlag = (flag) => serverHelp().includes(flag);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForFile(path, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) {
      const s = readFileSync(path, 'utf8').trim();
      if (s) return s;
    }
    await sleep(50);
  }
  throw new Error(`server did not write ${path} within ${ms} ms`);
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };

function startStaticProxy(apiPort) {
  const target = `127.0.0.1:${apiPort}`;
  const origin = `http://${target}`;
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/api/') || req.url === '/api' || req.url.startsWith('/healthz')) {
      const headers = { ...req.headers, host: target };
      if (headers.origin) headers.origin = origin;
      const up = http.request({ host: '127.0.0.1', port: apiPort, method: req.method, path: req.url, headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => { res.writeHead(502); res.end(); });
      req.pipe(up);
      return;
    }
    const url = new URL(req.url, 'http://x');
    let file = normalize(join(DIST, decodeURIComponent(url.pathname)));
    if (!file.startsWith(DIST)) { res.writeHead(403); res.end(); return; }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(DIST, 'index.html');
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  // WebSocket upgrade: replay the request head to the API with its own Host and Origin, then splice.
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(apiPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i];
        let v = req.rawHeaders[i + 1];
        if (k.toLowerCase() === 'host') v = target;
        if (k.toLowerCase() === 'origin') v = origin;
        lines.push(`${k}: ${v}`);
      }
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

/** Starts vitalguard (and the stand-in static server when needed). Returns { base, stop, log }. */
export async function startServer({ countdown, modelsDir, extraArgs = [] } = {}) {
  if (!existsSync(join(DIST, 'index.html'))) throw new Error(`${DIST}/index.html is missing: run "npm run build" first`);
  const dir = mkdtempSync(join(tmpdir(), 'vg-e2e-'));
  const readyFile = join(dir, 'port');
  const args = ['serve', '--port', '0', '--data-dir', join(dir, 'data'), '--ready-file', readyFile, '--log-format', 'text', '--log-level', 'warn'];
  // The scenarios sign several people up from this one address (the default allows 5 an hour).
  if (hasFlag('--signups-per-address-per-hour')) args.push('--signups-per-address-per-hour', '0');
  const webDir = hasFlag('--web-dir');
  if (webDir) args.push('--web-dir', DIST);
  if (countdown) {
    if (!hasFlag('--countdown')) {
      throw new Error(`SERVER FEATURE MISSING: "vitalguard serve" has no --countdown flag (needed to shorten the emergency countdown to ${countdown})`);
    }
    args.push('--countdown', countdown);
  }
  if (modelsDir) {
    if (!hasFlag('--models-dir')) throw new Error('SERVER FEATURE MISSING: "vitalguard serve" has no --models-dir flag');
    args.push('--models-dir', modelsDir);
  }
  args.push(...extraArgs);
  const log = [];
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  let port;
  try {
    port = Number(await waitForFile(readyFile, 15000));
  } catch (e) {
    child.kill('SIGTERM');
    throw new Error(`${e.message} (exit ${exited}); log:\n${log.join('')}`);
  }
  let proxy = null;
  let base = `http://127.0.0.1:${port}`;
  if (!webDir) {
    proxy = await startStaticProxy(port);
    base = `http://127.0.0.1:${proxy.address().port}`;
  }
  return {
    base,
    apiBase: `http://127.0.0.1:${port}`,
    webDirNative: webDir,
    log,
    async stop() {
      proxy?.close();
      proxy?.closeAllConnections?.();
      child.kill('SIGTERM');
      await new Promise((r) => (exited !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
