// docs/openapi.json against the real server (issue 16): starts the vitalguard binary (VG_BINARY), makes
// real requests for the routes it can reach here, and checks
//   (a) every answer against the document's schema for its route and status (an undocumented status is
//       a failure too), and Retry-After where the document promises it;
//   (b) every `example` in the document (request bodies and answers) against its own schema.
// JSON Schema 2020-12 (OpenAPI 3.1's dialect) by ajv. Exit code 1 if anything failed.
// Usage: VG_BINARY=build/bin/vitalguard node e2e/openapi.mjs
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { startServer } from './harness.mjs';

// VG_OPENAPI_DOC: another document (to see this check fail on a wrong one).
const DOC_PATH = process.env.VG_OPENAPI_DOC ?? new URL('../../docs/openapi.json', import.meta.url).pathname;
const MODELS = new URL('../../models', import.meta.url).pathname;
const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, 'openapi.json');
const validators = new Map();
/** A validator for a schema object of the document (its $refs point into the document). */
function validatorFor(schema) {
  const key = JSON.stringify(schema);
  if (!validators.has(key)) {
    const s = schema.$ref?.startsWith('#/') ? { $ref: `openapi.json${schema.$ref}` } : { $ref: 'openapi.json#/$defs/none', ...schema };
    if (!schema.$ref) delete s.$ref;
    validators.set(key, ajv.compile(rewriteRefs(s)));
  }
  return validators.get(key);
}
function rewriteRefs(v) {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/') ? `openapi.json${x}` : rewriteRefs(x);
    return out;
  }
  return v;
}
const deref = (v) => (v && v.$ref ? v.$ref.slice(2).split('/').reduce((o, k) => o[k], doc) : v);

const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`FAIL ${msg}`); };
const errorsOf = (validate) => ajv.errorsText(validate.errors, { separator: '; ' });

// ---- (b) every example against its own schema ----
let examples = 0;
for (const [path, item] of Object.entries(doc.paths)) {
  for (const method of METHODS) {
    const op = item[method];
    if (!op) continue;
    const where = `${method.toUpperCase()} ${path}`;
    const body = op.requestBody?.content?.['application/json'];
    if (body?.example !== undefined) {
      examples++;
      const v = validatorFor(body.schema);
      if (!v(body.example)) fail(`${where}: the request example does not fit its schema: ${errorsOf(v)}`);
    }
    for (const [status, r] of Object.entries(op.responses ?? {})) {
      const media = deref(r).content?.['application/json'];
      if (media?.example === undefined || !media.schema) continue;
      examples++;
      const v = validatorFor(media.schema);
      if (!v(media.example)) fail(`${where} ${status}: the example does not fit its schema: ${errorsOf(v)}`);
    }
  }
}
console.log(`checked ${examples} examples of the document`);

// ---- (a) real answers ----
// Literal paths first: /api/devices/readings is not /api/devices/{device_id}.
const placeholders = (p) => (p.match(/\{/g) ?? []).length;
const patterns = Object.keys(doc.paths)
  .sort((a, b) => placeholders(a) - placeholders(b))
  .map((p) => ({ p, re: new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}/?$`) }));
function operationOf(method, url) {
  const path = new URL(url, 'http://x').pathname;
  const hit = patterns.find(({ re }) => re.test(path));
  return hit ? { path: hit.p, op: doc.paths[hit.p][method.toLowerCase()] } : { path, op: undefined };
}
const exercised = new Set();
let answers = 0;

function checkAnswer(method, url, status, headers, text) {
  const { path, op } = operationOf(method, url);
  const where = `${method} ${path} → ${status}`;
  if (!op) return fail(`${method} ${url}: no such operation in the document`);
  exercised.add(`${method} ${path}`);
  const documented = op.responses[String(status)] ?? op.responses.default;
  if (!documented) return fail(`${where}: status not documented (documented: ${Object.keys(op.responses).join(', ')}); body ${text.slice(0, 300)}`);
  const r = deref(documented);
  for (const name of Object.keys(r.headers ?? {})) {
    if (name.toLowerCase() === 'retry-after' && !headers.get('retry-after')) fail(`${where}: no Retry-After header`);
  }
  const media = r.content?.['application/json'];
  if (!media?.schema) return;
  answers++;
  let body;
  try { body = JSON.parse(text); } catch { return fail(`${where}: not JSON: ${text.slice(0, 200)}`); }
  const v = validatorFor(media.schema);
  if (!v(body)) fail(`${where}: the answer does not fit the documented schema: ${errorsOf(v)}\n    ${text.slice(0, 600)}`);
}

class Client {
  constructor(base) { this.base = base; this.cookie = ''; this.csrf = ''; this.bearer = ''; }
  async call(method, path, body, { device = false, noCsrf = false } = {}) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (device) headers.Authorization = `Bearer ${this.bearer}`;
    else {
      if (this.cookie) headers.Cookie = this.cookie;
      if (this.csrf && !noCsrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    }
    let r;
    try {
      r = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      fail(`${method} ${path}: no answer (${e.cause?.code ?? e.message}): did the server crash?`);
      return { status: 0, body: null };
    }
    const text = await r.text();
    const setCookie = r.headers.get('set-cookie');
    if (setCookie?.startsWith('vg_session=')) this.cookie = setCookie.split(';')[0];
    checkAnswer(method, path, r.status, r.headers, text);
    let json = null;
    try { json = JSON.parse(text); } catch { /* metrics */ }
    return { status: r.status, body: json };
  }
  async login(id, password) {
    const r = await this.call('POST', '/api/login', { id, password });
    this.csrf = r.body?.csrf_token ?? '';
    return r;
  }
}

/** Opens /api/stream with the client's cookie and returns the first message (the hello). */
function firstStreamMessage(base, cookie) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET /api/stream HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n\r\n`);
    });
    let buf = Buffer.alloc(0);
    let headDone = false;
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no stream message in 5 s')); }, 5000);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!headDone) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) { clearTimeout(timer); socket.destroy(); return reject(new Error(head.split('\r\n')[0])); }
        headDone = true;
        buf = buf.subarray(end + 4);
      }
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(buf.subarray(off, off + len).toString());
    });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** 2.56 s at 50 Hz of a wrist at rest: gravity on z (g), a little noise (°/s on the gyroscope). */
function restingWindow() {
  let seed = 7;
  const noise = (scale) => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed / 2147483648 - 0.5) * scale; };
  return Array.from({ length: 128 }, () => [noise(0.02), noise(0.02), 1 + noise(0.02), noise(2), noise(2), noise(2)]);
}

const withModels = existsSync(`${MODELS}/posture.manifest.json`);
const server = await startServer(withModels ? { modelsDir: MODELS } : {});
try {
  const base = server.apiBase;
  const wearer = new Client(base);
  const guardian = new Client(base);
  const stranger = new Client(base);
  const suffix = Date.now().toString(36).slice(-6);
  const wid = `kim_${suffix}`;
  const gid = `minji_${suffix}`;

  await wearer.call('GET', `/api/check_id?id=${wid}`);
  await wearer.call('GET', '/api/check_id?id=x');
  await wearer.call('POST', '/api/signup', { id: wid, password: 'correct horse', name: 'Kim Soon-ja', age: 78, address: 'Seoul', detailed_address: '101-1203', phone_num: '010-1234-5678', guard_name: 'Kim Min-ji', guard_phone_num: '010-9876-5432' });
  await wearer.call('POST', '/api/signup', { id: wid, password: 'correct horse', name: 'Kim Soon-ja', age: 78, address: 'Seoul', phone_num: '010-1234-5678' });
  await wearer.call('POST', '/api/signup', { id: 'x', password: 'short', name: '', age: 200, address: 'Seoul', phone_num: '12', danger_degree: 1 });
  await guardian.call('POST', '/api/signup', { id: gid, password: 'another secret', name: 'Kim Min-ji', age: 45, address: 'Busan', phone_num: '010-9876-5432' });
  await stranger.call('GET', '/api/me');
  await stranger.call('POST', '/api/login', { id: wid, password: 'wrong password' });
  await wearer.login(wid, 'correct horse');
  await guardian.login(gid, 'another secret');
  await wearer.call('GET', '/api/me');
  await wearer.call('POST', '/api/devices', { name: 'x' }, { noCsrf: true });
  const paired = await wearer.call('POST', '/api/devices', { name: 'Galaxy Watch 6' });
  wearer.bearer = paired.body?.device_token ?? '';
  await wearer.call('GET', '/api/devices');
  await wearer.call('POST', '/api/update_status', { heart_rate: 72, spo2: 98, skin_temp: 33.5, respiration_rate: 16 });
  await wearer.call('POST', '/api/update_status', { heart_rate: 98.6, bogus: 1 });
  const now = Date.now();
  await wearer.call('POST', '/api/devices/readings', { readings: [{ seq: 1, timestamp: now - 60000, heart_rate: 75, spo2: 97 }, { seq: 2, timestamp: now - 30000, heart_rate: 76 }] }, { device: true });
  await stranger.call('POST', '/api/devices/readings', { readings: [{ timestamp: now, heart_rate: 70 }] }, { device: true });
  await wearer.call('GET', '/api/get_status');
  await wearer.call('GET', '/api/get_status?limit=0');
  await wearer.call('GET', '/api/vitals');
  await wearer.call('GET', '/api/rule_profiles');
  await wearer.call('PUT', '/api/me/rule_profile', { rule_profile: 'adult-default' });
  await wearer.call('PUT', '/api/me/rule_profile', { rule_profile: 'no-such-profile' });
  await wearer.call('POST', '/api/predict_model2', { heart_rate: 150, spo2: 90, skin_temp: 34, respiration_rate: 28 });
  await wearer.call('POST', '/api/predict_model2', { heart_rate: 72, spo2: 98 });
  const samples = restingWindow();
  await wearer.call('POST', '/api/update_posture', { sample_rate_hz: 50, samples });
  await wearer.call('POST', '/api/update_posture', { sample_rate_hz: 50, samples: samples.slice(0, 100) });
  await wearer.call('POST', '/api/devices/posture', { windows: [{ sample_rate_hz: 50, samples, measured_at: Date.now() + 3000 }, { sample_rate_hz: 50, samples, measured_at: Date.now() + 5560 }] }, { device: true });
  await wearer.call('GET', '/api/get_posture');
  // Danger twice (the rules confirm on the second reading): an incident in countdown.
  await wearer.call('POST', '/api/update_status', { heart_rate: 170, spo2: 85 });
  await wearer.call('POST', '/api/update_status', { heart_rate: 171, spo2: 84 });
  const list = await wearer.call('GET', '/api/incidents');
  const incident = list.body?.incidents?.[0]?.id;
  if (incident === undefined) fail('no incident after two danger readings');
  await wearer.call('GET', `/api/incidents/${incident}`);
  await wearer.call('GET', `/api/incidents/${incident}?lang=en`);
  await wearer.call('GET', '/api/incidents/999999');
  await stranger.call('GET', `/api/incidents/${incident}`);
  // Guardians: the wearer invites, the guardian accepts and follows the incident.
  await wearer.call('POST', '/api/guardians', { guardian_id: gid });
  await wearer.call('POST', '/api/guardians', { guardian_id: gid, wearer_id: wid });
  const links = await guardian.call('GET', '/api/guardians');
  const link = links.body?.wearers?.[0]?.id;
  await wearer.call('POST', `/api/guardians/${link}/accept`, {});
  await guardian.call('POST', `/api/guardians/${link}/accept`, {});
  await wearer.call('GET', '/api/guardians');
  await guardian.call('GET', `/api/incidents?wearer=${wid}`);
  await guardian.call('GET', `/api/get_status?wearer=${wid}`);
  await guardian.call('GET', `/api/vitals?wearer=${wid}`);
  await guardian.call('GET', `/api/get_status?wearer=nobody_${suffix}`);
  await guardian.call('POST', `/api/incidents/${incident}/snooze`, { minutes: 10 });
  await guardian.call('POST', `/api/incidents/${incident}/snooze`, { minutes: 500 });
  await guardian.call('POST', `/api/incidents/${incident}/ack`, {});
  await guardian.call('POST', `/api/incidents/${incident}/ok`, {});
  await wearer.call('POST', `/api/incidents/${incident}/ok`, {});
  await wearer.call('POST', `/api/incidents/${incident}/resolve`, {});
  await wearer.call('POST', `/api/incidents/${incident}/ok`, {});
  try {
    const hello = JSON.parse(await firstStreamMessage(base, wearer.cookie));
    const v = validatorFor({ $ref: '#/components/schemas/StreamMessage' });
    if (!v(hello)) fail(`/api/stream: the hello does not fit StreamMessage: ${errorsOf(v)}`);
    exercised.add('GET /api/stream');
  } catch (e) {
    fail(`/api/stream: ${e.message}`);
  }
  await wearer.call('POST', '/api/emergency_call', { latitude: 37.56, longitude: 126.97, accuracy_m: 20 });
  await wearer.call('POST', '/api/emergency_call', { latitude: 137 });
  await wearer.call('POST', '/api/phone/verification', {});
  await wearer.call('POST', '/api/phone/verification/confirm', { code: '000000' });
  await wearer.call('POST', '/api/phone/verification/confirm', {});
  // Account self-service (issue 15): details, the address check, the guardian's e-mail, sessions, password.
  await wearer.call('PATCH', '/api/me', { current_password: 'correct horse', detailed_address: '101-1204' });
  await wearer.call('PATCH', '/api/me', { current_password: 'correct horse', age: 300, nickname: 'x' });
  await wearer.call('PATCH', '/api/me', { current_password: 'wrong password', name: 'Kim' });
  await wearer.call('POST', '/api/me/address/confirm', {});
  await wearer.call('PUT', '/api/me/guard_email', { guard_email: 'minji@example.com', current_password: 'correct horse' });
  await wearer.call('PUT', '/api/me/guard_email', { guard_email: 'not an address', current_password: 'correct horse' });
  const second = new Client(base);
  await second.login(wid, 'correct horse');
  const sessions = await wearer.call('GET', '/api/me/sessions');
  const other = sessions.body?.sessions?.find((x) => !x.current)?.id;
  await wearer.call('DELETE', `/api/me/sessions/${other}`);
  await wearer.call('DELETE', '/api/me/sessions/0000000000000000');
  await second.login(wid, 'correct horse');
  await wearer.call('DELETE', '/api/me/sessions');
  await wearer.call('POST', '/api/me/password', { current_password: 'correct horse', new_password: 'short' });
  await wearer.call('POST', '/api/me/password', { current_password: 'correct horse', new_password: 'a new correct horse' });
  await guardian.call('DELETE', `/api/guardians/${link}`);
  await guardian.call('DELETE', `/api/guardians/${link}`);
  await wearer.call('DELETE', `/api/devices/${paired.body?.device?.device_id}`);
  await wearer.call('DELETE', `/api/devices/${paired.body?.device?.device_id}`);
  await wearer.call('GET', '/healthz');
  await wearer.call('GET', '/readyz');
  await wearer.call('GET', '/metrics');
  await wearer.call('GET', '/api/openapi.json');
  await wearer.call('POST', '/api/logout', {});
  await wearer.call('GET', '/api/me');
} finally {
  await server.stop();
}

const all = Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${p}`));
const untested = all.filter((k) => !exercised.has(k));
console.log(`checked ${answers} real answers; ${exercised.size} of ${all.length} operations exercised` + (untested.length ? ` (not here: ${untested.join(', ')})` : ''));
if (failures.length) {
  console.log(`openapi: ${failures.length} FAILED`);
  process.exit(1);
}
console.log('openapi: PASS');
