// End-to-end: headless Debian Chromium (playwright-core, no downloaded browsers) against the
// real vitalguard binary. Builds nothing: run "npm run build" first. Each scenario reports
// PASS/FAIL; a missing server feature is a FAIL that says so. Exit code 1 if anything failed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { startServer } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const only = process.argv.slice(2);

const results = [];
class Missing extends Error {}
const missing = (what) => new Missing(`SERVER FEATURE MISSING: ${what}`);
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uid = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function probe(base, path) {
  const r = await fetch(base + path);
  return r.status;
}

/** API calls in a browser context (shares its session cookie), with the CSRF token. */
async function apiAs(context, base) {
  const me = await context.request.get(`${base}/api/me`);
  check(me.ok(), `GET /api/me failed: ${me.status()}`);
  const csrf = (await me.json()).csrf_token;
  const call = async (method, path, data) => {
    const r = await context.request.fetch(`${base}${path}`, { method, data, headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' } });
    let body = null;
    try { body = await r.json(); } catch { /* empty */ }
    return { status: r.status(), body };
  };
  return call;
}

async function postAsDevice(base, token, reading) {
  const r = await fetch(`${base}/api/update_status`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(reading),
  });
  const body = await r.json().catch(() => null);
  check(r.ok, `device POST /api/update_status → ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const DANGER = { heart_rate: 175, spo2: 86, respiration_rate: 30, skin_temp: 36.4, steps: 0 };
const NORMAL = { heart_rate: 72, spo2: 98, respiration_rate: 15, skin_temp: 33.5, steps: 10 };

async function registerInUi(page, base, id, extra = {}) {
  await page.goto(`${base}/#/register`);
  const fill = (name, v) => page.fill(`input[name="${name}"]`, v);
  await fill('id', id);
  await fill('password', 'correct horse 1');
  await fill('name', extra.name ?? '김영희');
  await fill('age', '78');
  await fill('address', '서울특별시 종로구 세종대로 175');
  await fill('detailed_address', '101동 1203호');
  await fill('phone_num', '010-1234-5678');
  await fill('guard_name', '김민수');
  await fill('guard_phone_num', '010-9876-5432');
  await page.getByText(/사용할 수 있는 아이디예요|This ID is free/).waitFor({ timeout: 5000 });
  if (extra.shot) await page.screenshot({ path: `${SHOTS}${extra.shot}`, fullPage: true });
  await page.click('button[type="submit"]');
  await page.getByText(/가입이 완료되었어요|Your account is ready/).waitFor({ timeout: 5000 });
}

async function loginInUi(page, base, id) {
  await page.goto(`${base}/#/login`);
  await page.fill('input[name="id"]', id);
  await page.fill('input[name="password"]', 'correct horse 1');
  await page.click('button[type="submit"]');
  await page.locator('[data-testid="status-level"]').waitFor({ timeout: 5000 });
  await page.getByText(/실시간 연결됨|Live/).first().waitFor({ timeout: 5000 });
}

async function pairDevice(context, base) {
  const call = await apiAs(context, base);
  const r = await call('POST', '/api/devices', { name: 'Galaxy Watch 6' });
  check(r.status === 201, `POST /api/devices → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.device_token;
}

async function scenario(name, fn) {
  if (only.length && !only.some((o) => name.includes(o))) return;
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`PASS  ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: e.message, missing: e instanceof Missing || /SERVER FEATURE MISSING/.test(e.message) });
    console.log(`FAIL  ${name}\n      ${e.message.split('\n').join('\n      ')}`);
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--lang=ko-KR'] });
const phone = { viewport: { width: 360, height: 780 }, deviceScaleFactor: 1, locale: 'ko-KR', timezoneId: 'Asia/Seoul' };
const desktop = { viewport: { width: 1280, height: 900 }, locale: 'ko-KR', timezoneId: 'Asia/Seoul' };

try {
  // 1. Wearer: register → login → pair → danger twice → alert with guidance → I'm OK cancels.
  //    A guardian (second browser context) watches the same wearer live.
  {
    let srv;
    try {
      srv = await startServer();
    } catch (e) {
      await scenario('server starts', async () => { throw e; });
    }
    if (srv) {
      const base = srv.base;
      console.log(`server at ${base}${srv.webDirNative ? ' (--web-dir)' : ' (stand-in static server + /api proxy: the binary has no --web-dir yet)'}`);
      const wearerCtx = await browser.newContext(phone);
      const page = await wearerCtx.newPage();
      const wearerId = uid('kim');
      let token = null;
      let incidentId = null;

      await scenario('wearer registers, logs in and sees the live dashboard', async () => {
        await page.goto(`${base}/#/register`);
        await page.fill('input[name="id"]', 'AB');
        await page.fill('input[name="phone_num"]', '010-12345678');
        await page.click('button[type="submit"]');
        await page.locator('[data-testid="error-id"]').waitFor({ timeout: 2000 });
        await page.screenshot({ path: `${SHOTS}01-register-errors-360.png`, fullPage: true });
        await registerInUi(page, base, wearerId, { shot: '02-register-filled-360.png' });
        await loginInUi(page, base, wearerId);
        await page.screenshot({ path: `${SHOTS}03-dashboard-empty-360.png`, fullPage: true });
      });

      await scenario('watch paired via the API posts readings; status card and tiles follow the stream', async () => {
        token = await pairDevice(wearerCtx, base);
        await postAsDevice(base, token, NORMAL);
        await page.locator('[data-testid="status-level"]', { hasText: /정상/ }).waitFor({ timeout: 3000 });
        await page.locator('[data-testid="tile-heart_rate"]', { hasText: '72' }).waitFor({ timeout: 3000 });
        await page.screenshot({ path: `${SHOTS}04-dashboard-normal-360.png`, fullPage: true });
      });

      await scenario('two danger readings: the full-screen alert with four-part guidance appears within 1 s', async () => {
        check(token, 'no device token (previous step failed)');
        await postAsDevice(base, token, DANGER);
        const second = await postAsDevice(base, token, DANGER);
        const t0 = Date.now();
        await page.locator('[data-testid="status-level"]', { hasText: /위험/ }).waitFor({ timeout: 3000 }).catch(() => {
          throw new Error(`status card did not turn to 위험 (danger); verdict was ${JSON.stringify(second)}`);
        });
        try {
          await page.locator('[data-testid="incident-alert"]').waitFor({ timeout: 1000 - Math.min(900, Date.now() - t0) + 300 });
        } catch {
          const s = await probe(base, '/api/incidents');
          if (s === 404) throw missing(`no incident alert: GET /api/incidents answers 404 and the stream sent no {"type":"incident"} message`);
          throw new Error(`no incident alert within 1 s of the second danger reading (GET /api/incidents → ${s})`);
        }
        const alert = page.locator('[data-testid="incident-alert"]');
        incidentId = Number(await alert.getAttribute('data-incident-id'));
        const items = await page.locator('[data-testid="guidance"] > li').count();
        check(items >= 3, `guidance shows ${items} parts, expected the four parts (state, cause, actions, warning)`);
        const text = await page.locator('[data-testid="guidance"]').innerText();
        check(text.replace(/\s/g, '').length > 40, `guidance is nearly empty: ${JSON.stringify(text)}`);
        await page.screenshot({ path: `${SHOTS}05-alert-360.png`, fullPage: false });
      });

      await scenario("guardian (second browser context) links and sees the wearer live", async () => {
        const gctx = await browser.newContext(desktop);
        const gpage = await gctx.newPage();
        const gid = uid('daughter');
        const signup = await fetch(`${base}/api/signup`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ id: gid, password: 'correct horse 1', name: '김지은', age: 45, address: '서울특별시 마포구', phone_num: '010-5555-6666' }),
        });
        check(signup.status === 201, `guardian signup → ${signup.status}`);
        await loginInUi(gpage, base, gid);
        const gcall = await apiAs(gctx, base);
        const ask = await gcall('POST', '/api/guardians', { wearer_id: wearerId });
        if (ask.status === 404 || ask.status === 405) throw missing(`POST /api/guardians → ${ask.status}`);
        check(ask.status === 201, `POST /api/guardians → ${ask.status} ${JSON.stringify(ask.body)}`);
        const wcall = await apiAs(wearerCtx, base);
        const acc = await wcall('POST', `/api/guardians/${ask.body.link.id}/accept`, {});
        check(acc.status === 200, `accept → ${acc.status} ${JSON.stringify(acc.body)}`);
        await gpage.goto(`${base}/#/guardian`);
        const card = gpage.locator(`[data-testid="wearer-${wearerId}"]`);
        await card.waitFor({ timeout: 5000 });
        await gpage.screenshot({ path: `${SHOTS}06-guardian-list-desktop.png`, fullPage: true });
        await card.getByRole('link').click();
        await gpage.locator('[data-testid="stream-state"]', { hasText: /실시간 연결됨/ }).waitFor({ timeout: 5000 });
        // Close the guardian's copy of the alert (if any) to see the dashboard, then watch a live change.
        const galert = gpage.locator('[data-testid="incident-alert"]');
        if (await galert.count()) {
          await gpage.screenshot({ path: `${SHOTS}07-guardian-alert-desktop.png` });
          await galert.getByRole('button', { name: /대시보드 보기/ }).click();
        }
        await postAsDevice(base, token, { ...DANGER, heart_rate: 181 });
        await gpage.locator('[data-testid="status-level"]', { hasText: /위험/ }).waitFor({ timeout: 3000 });
        await gpage.screenshot({ path: `${SHOTS}08-guardian-dashboard-desktop.png`, fullPage: true });
        await gctx.close();
      });

      await scenario("\"I'm OK\" cancels the alert", async () => {
        check(incidentId, 'no incident alert (previous step failed)');
        const alert = page.locator('[data-testid="incident-alert"]');
        await alert.waitFor({ timeout: 2000 });
        await alert.getByRole('button', { name: '괜찮아요' }).click();
        await alert.waitFor({ state: 'detached', timeout: 3000 });
        const call = await apiAs(wearerCtx, base);
        const d = await call('GET', `/api/incidents/${incidentId}`);
        check(d.status === 200, `GET /api/incidents/${incidentId} → ${d.status}`);
        check(d.body.incident.wearer_ok_at, `incident has no wearer_ok_at after I'm OK: ${JSON.stringify(d.body.incident)}`);
        check(d.body.incident.phase !== 'dispatched', 'the emergency call went out despite "I\'m OK"');
        await page.screenshot({ path: `${SHOTS}09-after-ok-360.png`, fullPage: true });
      });

      await scenario('settings: pair a watch in the UI shows the token once; English switch', async () => {
        await page.goto(`${base}/#/settings`);
        await page.fill('input[maxlength="64"]', '거실 시계');
        await page.getByRole('button', { name: '시계 연결하기' }).click();
        await page.locator('[data-testid="device-token"]').waitFor({ timeout: 3000 });
        await page.screenshot({ path: `${SHOTS}10-settings-360.png`, fullPage: true });
        await page.getByRole('button', { name: 'English' }).first().click();
        await page.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: 2000 });
        await page.goto(`${base}/#/dashboard`);
        await page.locator('[data-testid="status-level"]', { hasText: /Danger|Caution|Normal/ }).waitFor({ timeout: 3000 });
        await page.screenshot({ path: `${SHOTS}11-dashboard-en-360.png`, fullPage: true });
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.screenshot({ path: `${SHOTS}12-dashboard-en-desktop.png`, fullPage: true });
      });

      await wearerCtx.close();
      await srv.stop();
    }
  }

  // 2. Nobody answers: the countdown runs out and the dispatch is shown.
  await scenario('nobody answers: the countdown ends and the emergency dispatch is shown', async () => {
    const srv = await startServer({ countdown: '5s' });
    try {
      const base = srv.base;
      const ctx = await browser.newContext(phone);
      const page = await ctx.newPage();
      const id = uid('lee');
      await registerInUi(page, base, id);
      await loginInUi(page, base, id);
      const token = await pairDevice(ctx, base);
      await postAsDevice(base, token, DANGER);
      await postAsDevice(base, token, DANGER);
      const alert = page.locator('[data-testid="incident-alert"]');
      await alert.waitFor({ timeout: 1500 }).catch(async () => {
        throw missing(`no incident alert (GET /api/incidents → ${await probe(base, '/api/incidents')})`);
      });
      await page.locator('[data-testid="countdown"]').waitFor({ timeout: 3000 });
      await page.screenshot({ path: `${SHOTS}13-countdown-360.png` });
      await page.locator('[data-testid="dispatched"]').waitFor({ timeout: 12000 });
      await page.locator('[data-testid="notifications"] [data-channel="emergency"]').waitFor({ timeout: 5000 });
      console.log(`      dispatch shown as: ${await page.locator('[data-testid="dispatched"]').getAttribute('data-state')} (no SMS/119 gateway is configured in this run)`);
      await page.screenshot({ path: `${SHOTS}14-dispatched-360.png` });
      await page.locator('[data-testid="notifications"]').scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}15-dispatched-notifications-360.png` });
      await ctx.close();
    } finally {
      await srv.stop();
    }
  });
} finally {
  await browser.close();
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
for (const f of failed) console.log(`  ${f.missing ? '[server feature missing] ' : ''}${f.name}`);
process.exit(failed.length ? 1 : 0);
