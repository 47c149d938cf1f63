// The shipped nginx site (deploy/nginx/vitalguard.conf) run by Debian's real nginx in front of a real
// VitalGuard server: plain HTTP is redirected to HTTPS; over TLS a person signs up, logs in (the cookie is
// Secure), the dashboard arrives compressed, the server sees the client's address through the proxy and
// not one a client forged, /metrics is closed to the outside, and the live stream's WebSocket upgrade
// goes through: a reading posted over HTTPS reaches the open stream.
//
// Usage: node tests/nginx/nginx_e2e_test.mjs   (VG_BINARY=path/to/vitalguard, default build/bin/vitalguard)
// Needs nginx and openssl (Debian packages nginx-light and openssl; scripts/install-deps). Only Node's own
// modules: it runs on any Node.js >= 18.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import http from 'node:http';
import crypto from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const BIN = process.env.VG_BINARY ?? join(root, 'build/bin/vitalguard');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = mkdtempSync(join(tmpdir(), 'vg-nginx-'));
const children = [];
let failures = 0;

function check(condition, what, detail = '') {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// One HTTPS (or HTTP) request; resolves to {status, headers, body (Buffer)}.
function request(url, { method = 'GET', headers = {}, body, localAddress } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((res, rej) => {
    const req = lib.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, localAddress, rejectUnauthorized: false },
      (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', rej);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// The live stream over TLS, by hand: Node 18/20 have no WebSocket client. Resolves with a reader of the
// server's text frames (unmasked, as a server sends them).
function openStream(port, cookie, origin) {
  return new Promise((res, rej) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
    const key = crypto.randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const messages = [];
    socket.on('secureConnect', () => {
      socket.write(
        `GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\nCookie: ${cookie}\r\n\r\n`,
      );
    });
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 4);
        const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) {
          rej(new Error(`no upgrade: ${head}`));
          socket.destroy();
          return;
        }
        upgraded = true;
        res({ messages, close: () => socket.destroy() });
      }
      // Frames: FIN+opcode, length (7 bits, or 16/64 bits), payload; text frames (opcode 1) only kept.
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = buffer[0] & 0x0f;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        if (opcode === 1) messages.push(JSON.parse(payload.toString()));
      }
    });
    socket.on('error', (e) => (upgraded ? undefined : rej(e)));
  });
}

async function main() {
  if (!NGINX) throw new Error('nginx is not installed (Debian package nginx-light; scripts/install-deps installs it)');
  if (!existsSync(BIN)) throw new Error(`${BIN} is not built`);

  // A certificate for the test only.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem')], { stdio: 'ignore' });

  // The server on loopback, believing X-Forwarded-For from loopback (the proxy) only.
  const help = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
  const proxyTrust = help.includes('--trusted-proxy') ? ['--trusted-proxy', '127.0.0.1/32'] : ['--trust-proxy'];
  const readyFile = join(work, 'port');
  const server = spawn(BIN, ['serve', '--port', '0', '--ready-file', readyFile, '--data-dir', join(work, 'data'),
    '--secure-cookies', ...proxyTrust], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(server);
  let serverLog = '';
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  const apiPort = Number(await waitFor(() => existsSync(readyFile) && readFileSync(readyFile, 'utf8').trim(), 20000, 'the server'));

  // The shipped site, with this run's ports, certificate and upstream.
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  let site = readFileSync(join(root, 'deploy/nginx/vitalguard.conf'), 'utf8');
  const replace = (from, to) => {
    if (!site.includes(from)) throw new Error(`deploy/nginx/vitalguard.conf no longer contains "${from}"`);
    site = site.split(from).join(to);
  };
  replace('server 127.0.0.1:8080;', `server 127.0.0.1:${apiPort};`);
  replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`);
  replace('listen [::]:443 ssl http2;', '');
  replace('listen 80;', `listen 127.0.0.1:${httpPort};`);
  replace('listen [::]:80;', '');
  replace('/etc/letsencrypt/live/vitalguard.example.org/fullchain.pem', join(work, 'cert.pem'));
  replace('/etc/letsencrypt/live/vitalguard.example.org/privkey.pem', join(work, 'key.pem'));
  // An unprivileged nginx of our own: every path in the work folder.
  const conf = `daemon off;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log ${work}/nginx-access.log;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
${site}
}
`;
  writeFileSync(join(work, 'nginx.conf'), conf);
  execFileSync(NGINX, ['-t', '-q', '-p', work, '-c', join(work, 'nginx.conf')], { stdio: 'inherit' });
  const nginx = spawn(NGINX, ['-p', work, '-c', join(work, 'nginx.conf')], { stdio: 'inherit' });
  children.push(nginx);
  const base = `https://127.0.0.1:${httpsPort}`;
  await waitFor(async () => (await request(`${base}/healthz`).catch(() => null))?.status === 200, 10000, 'nginx');

  const redirect = await request(`http://127.0.0.1:${httpPort}/dashboard?x=1`);
  check(redirect.status === 301 && redirect.headers.location === `https://127.0.0.1/dashboard?x=1`,
    'plain HTTP is redirected to HTTPS', `${redirect.status} ${redirect.headers.location}`);

  const json = { 'Content-Type': 'application/json', Origin: base };
  const signup = await request(`${base}/api/signup`, { method: 'POST', headers: json, body: JSON.stringify({
    id: 'nginxuser', password: 'correct horse', name: '김영희', age: 78, address: '서울특별시 종로구 세종대로 1',
    detailed_address: '101동 1203호', phone_num: '010-1234-5678', guard_name: '김철수', guard_phone_num: '010-9876-5432',
  }) });
  check(signup.status === 201, 'sign-up through nginx over TLS', signup.body.toString());
  // A forged X-Forwarded-For from the client: nginx appends the real address, the server must use that.
  // The person connects from 127.0.0.2 (all of 127/8 is loopback), so the proxy's own address (127.0.0.1,
  // trusted) and the person's differ.
  const login = await request(`${base}/api/login`, { method: 'POST', localAddress: '127.0.0.2',
    headers: { ...json, 'X-Forwarded-For': '203.0.113.7' },
    body: JSON.stringify({ id: 'nginxuser', password: 'correct horse' }) });
  check(login.status === 200, 'login through nginx', login.body.toString());
  const setCookie = (login.headers['set-cookie'] ?? []).find((c) => c.startsWith('vg_session=')) ?? '';
  check(/;\s*Secure/i.test(setCookie) && /HttpOnly/i.test(setCookie), 'the session cookie is Secure and HttpOnly', setCookie);
  const cookie = setCookie.split(';')[0];
  const csrf = JSON.parse(login.body.toString()).csrf_token;
  const me = await request(`${base}/api/me`, { headers: { Cookie: cookie } });
  check(me.status === 200, 'the session works through nginx', me.body.toString());
  // The session row records the client's address as the server saw it (the database is read with
  // Debian's sqlite3 program; WAL readers do not disturb the running server).
  const addresses = execFileSync('sqlite3', [join(work, 'data', 'vitalguard.db'), 'SELECT client_address FROM sessions'],
    { encoding: 'utf8' }).trim();
  check(addresses === '127.0.0.2', 'the server takes the address nginx saw, not the one the client forged', addresses);

  const page = await request(`${base}/`, { headers: { 'Accept-Encoding': 'br, gzip' } });
  check(page.status === 200 && page.body.toString().includes('id="root"'), 'the dashboard through nginx', String(page.status));
  const script = /assets\/[^"]+\.js/.exec(page.body.toString())?.[0];
  if (script) {
    const asset = await request(`${base}/${script}`, { headers: { 'Accept-Encoding': 'br, gzip' } });
    check(asset.status === 200 && asset.headers['content-encoding'] === 'br', 'its script arrives brotli-compressed',
      `${asset.status} ${asset.headers['content-encoding']}`);
  } else {
    check(false, 'the dashboard page names its script (is web/dist built?)');
  }
  const outside = await request(`${base}/metrics`, { localAddress: '127.0.0.2' });
  const inside = await request(`${base}/metrics`);
  check(outside.status === 403 && inside.status === 200, '/metrics answers the host itself only',
    `from 127.0.0.2: ${outside.status}, from 127.0.0.1: ${inside.status}`);

  const stream = await openStream(httpsPort, cookie, base);
  await waitFor(() => stream.messages.some((m) => m.type === 'hello'), 5000, 'the stream hello');
  check(true, 'the live stream upgrades to a WebSocket through nginx');
  const reading = await request(`${base}/api/update_status`, { method: 'POST',
    headers: { ...json, Cookie: cookie, 'X-CSRF-Token': csrf },
    body: JSON.stringify({ heart_rate: 72, respiration_rate: 15, spo2: 97, skin_temp: 33.5, steps: 0, calories: 1.2 }) });
  check(reading.status === 200, 'a reading posted over HTTPS', reading.body.toString());
  const detection = await waitFor(() => stream.messages.find((m) => m.type === 'detection'), 5000, 'the detection event')
    .catch(() => null);
  check(detection !== null, 'its verdict arrives on the stream through nginx', JSON.stringify(stream.messages));
  stream.close();
}

try {
  await main();
} catch (e) {
  failures += 1;
  console.log(`FAIL ${e.message}`);
  for (const f of ['nginx-error.log']) {
    if (existsSync(join(work, f))) console.log(readFileSync(join(work, f), 'utf8'));
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(200);
  rmSync(work, { recursive: true, force: true });
}
console.log(failures === 0 ? 'PASS: nginx in front of VitalGuard' : `${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
