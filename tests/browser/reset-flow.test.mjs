// The whole reset as an end user walks it, in Debian's headless Chromium driven by
// playwright-core, against a freshly started `local-api --port 0`:
//   ask on /  ->  mailbox page  ->  follow the link  ->  code gone from the address bar  ->
//   mismatch and weak password refused in place (the link still works)  ->  good password  ->
//   the same link is now invalid  ->  /_dev/sign-in takes the new password, not the old one  ->
//   "I have a code": ask again, type the address and the mailed short code (a wrong one first)
//   and a new password  ->  sign-in takes it.
// A screenshot of each step lands in $CARGO_TARGET_DIR/browser-screenshots/ (default target/),
// with reset-page.png, the card docs/reset-page.png is copied from.
// Run: scripts/test.d/40-browser (or `npm test` here once scripts/setup has run).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
const BINARY = join(TARGET, 'debug', 'local-api');
const SHOTS = join(TARGET, 'browser-screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

const DEMO_EMAIL = 'demo@example.com';
const OLD_PASSWORD = 'demo-password-1';
const NEW_PASSWORD = 'correct horse battery staple 7';
const CODE_PASSWORD = 'a code typed on another device 9';

let server; // the local-api child process
let serverLog = '';
let base; // http://127.0.0.1:PORT
let userDataDir;
let context;
let page;
let link; // the reset link from the mailbox
let code; // its code, for API-level checks
let otp; // the short code of the second mail
let failed = false;
let shot = 0;
const consoleProblems = [];
const requests = [];

function startServer() {
  if (!existsSync(BINARY)) {
    const built = spawnSync('cargo', ['build', '--bin', 'local-api'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(built.status, 0, 'cargo build --bin local-api failed');
  }
  server = spawn(BINARY, ['--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr.on('data', (chunk) => {
    serverLog += chunk;
  });
  const lines = createInterface({ input: server.stdout });
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error('local-api did not print its address in 30 s')), 30_000);
    server.once('exit', (status) => reject(new Error(`local-api exited early (${status}): ${serverLog}`)));
    lines.on('line', (line) => {
      serverLog += line + '\n';
      // local-api's readiness line (local_api::READY_PREFIX), not the banner for people.
      const match = /^ready (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolvePort(match[1]);
      }
    });
  });
}

function stopServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
  }
}
process.on('exit', stopServer);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    stopServer();
    process.exit(130);
  });
}

async function screenshot(name) {
  shot += 1;
  const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function postJson(path, body) {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A step of the walk: skipped once an earlier one failed. Screenshot after it (if `slug`). */
function step(name, slug, fn) {
  it(name, async (t) => {
    if (failed) {
      t.skip('an earlier step failed');
      return;
    }
    try {
      await fn();
      if (slug) await screenshot(slug);
    } catch (error) {
      failed = true;
      if (page) await screenshot(`FAILED-${slug || 'step'}`).catch(() => {});
      throw error;
    }
  });
}

const visible = (selector) => page.locator(selector).waitFor({ state: 'visible' });

describe('password reset in a browser', { timeout: 120_000 }, () => {
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup`);
    mkdirSync(SHOTS, { recursive: true });
    for (const f of readdirSync(SHOTS)) if (f.endsWith('.png')) rmSync(join(SHOTS, f));
    base = await startServer();
    userDataDir = mkdtempSync(join(tmpdir(), 'reset-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 760, height: 600 },
    });
    context.setDefaultTimeout(15_000);
    page = context.pages()[0] || (await context.newPage());
    page.on('console', (message) => {
      // A 4xx from the API is an expected answer; Chromium still logs it as a failed load.
      if (message.type() === 'error' && !/Failed to load resource: .* status of 4\d\d/.test(message.text())) {
        consoleProblems.push(message.text());
      }
    });
    page.on('pageerror', (error) => consoleProblems.push(String(error)));
    page.on('request', (request) => requests.push(request));
  });

  after(async () => {
    if (context) await context.close().catch(() => {});
    stopServer();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (failed) console.error(`--- local-api output ---\n${serverLog.slice(-4000)}`);
    console.log(`screenshots: ${SHOTS}`);
  });

  step('asks for a reset for the demo user on /', 'request', async () => {
    const response = await page.goto(base + '/');
    assert.match(response.headers()['content-security-policy'], /default-src 'none'/);
    await page.getByLabel('Email address').fill(DEMO_EMAIL);
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    await page.locator('#status', { hasText: 'If an account exists' }).waitFor();
  });

  step('the mailbox page lists the mail with its link', 'mailbox', async () => {
    const response = await page.goto(base + '/_dev/mailbox');
    assert.match(response.headers()['content-type'], /^text\/html/);
    const newest = page.locator('li.mail').first();
    assert.equal(await newest.locator('.to').textContent(), DEMO_EMAIL);
    link = await newest.locator('a.reset-link').getAttribute('href');
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/reset\?code=[A-Za-z0-9_-]{43}$/);
    code = new URL(link).searchParams.get('code');
  });

  step('following the link opens the form and drops the code from the address bar', 'reset-form', async () => {
    await page.locator('li.mail').first().locator('a.reset-link').click();
    await visible('#choose');
    assert.equal(page.url(), base + '/reset');
    assert.equal(await page.evaluate(() => window.location.search), '');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await page.getByText('8 to 128 characters').waitFor();
  });

  step('a confirmation that does not match is caught in the page', 'mismatch', async () => {
    const consumes = requests.filter((r) => r.url().endsWith('/password-reset/consume')).length;
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD + 'x');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.locator('#confirm-error', { hasText: 'do not match' }).waitFor();
    assert.equal(await page.getAttribute('#confirm', 'aria-invalid'), 'true');
    assert.equal(requests.filter((r) => r.url().endsWith('/password-reset/consume')).length, consumes);
  });

  step('a weak password is refused next to the field and the link still works', 'weak-password', async () => {
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('Confirm new password').fill('short');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await visible('#password-error');
    assert.match(await page.textContent('#password-error'), /\S/);
    assert.equal(await page.getAttribute('#password', 'aria-invalid'), 'true');
    assert.equal(await page.isVisible('#confirm-error'), false);
    assert.match(await page.textContent('#status'), /password/i);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    const check = await postJson('/password-reset/check', { code });
    assert.deepEqual([check.status, check.body.is_valid], [200, true]);
    // The card alone, for docs/reset-page.png (copy it from here when the page changes).
    await page.locator('main').screenshot({ path: join(SHOTS, 'reset-page.png') });
  });

  step('the same code in the link\'s fragment (LINK_CODE_IN=fragment) opens the form too', null, async () => {
    // From another page, so this is a real load and not a same-document hash change.
    await page.goto(base + '/');
    await page.goto(base + '/reset#code=' + code);
    await visible('#choose');
    assert.equal(page.url(), base + '/reset');
    assert.equal(await page.evaluate(() => window.location.hash), '');
  });

  step('a good password succeeds', 'success', async () => {
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await visible('#done');
    assert.equal(await page.isVisible('#choose'), false);
    await page.getByRole('heading', { name: 'Your password has been changed' }).waitFor();
  });

  step('the same link afterwards shows the invalid state', 'invalid-link', async () => {
    await page.goto(link);
    await visible('#invalid');
    assert.equal(page.url(), base + '/reset');
    assert.equal(await page.isVisible('#choose'), false);
    const again = page.getByRole('link', { name: 'Ask for a new link' });
    assert.equal(await again.getAttribute('href'), '/');
  });

  step('sign-in takes the new password and refuses the old one', null, async () => {
    const fresh = await postJson('/_dev/sign-in', { email: DEMO_EMAIL, password: NEW_PASSWORD });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    const stale = await postJson('/_dev/sign-in', { email: DEMO_EMAIL, password: OLD_PASSWORD });
    assert.equal(stale.status, 401, JSON.stringify(stale.body));
  });

  step('"I have a code" asks for the address, the code from the mail and a new password', 'code-form', async () => {
    await page.goto(base + '/');
    await page.getByLabel('Email address').fill(DEMO_EMAIL);
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    await page.locator('#status', { hasText: 'If an account exists' }).waitFor();
    const mailbox = await (await fetch(base + '/_dev/mailbox', { headers: { accept: 'application/json' } })).json();
    otp = mailbox[mailbox.length - 1].otp;
    assert.match(otp, /^[0-9]{8}$/);
    await page.getByRole('link', { name: 'I have a code' }).click();
    await visible('#choose');
    await page.getByRole('heading', { name: 'Enter your code and a new password' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'email');
  });

  step('a wrong code is refused next to its field, without a check call', 'code-wrong', async () => {
    const checks = requests.filter((r) => r.url().endsWith('/password-reset/check')).length;
    const wrong = otp.replace(/[0-9]/g, (d) => String((Number(d) + 1) % 10));
    await page.getByLabel('Email address').fill(DEMO_EMAIL);
    await page.getByLabel('Code from the mail').fill(wrong);
    await page.getByLabel('New password', { exact: true }).fill(CODE_PASSWORD);
    await page.getByLabel('Confirm new password').fill(CODE_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.locator('#otp-error', { hasText: 'wrong' }).waitFor();
    assert.equal(await page.getAttribute('#otp', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'otp');
    assert.equal(requests.filter((r) => r.url().endsWith('/password-reset/check')).length, checks);
  });

  step('the right code sets the password, and sign-in takes it', 'code-success', async () => {
    await page.getByLabel('Code from the mail').fill(otp);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await visible('#done');
    const fresh = await postJson('/_dev/sign-in', { email: DEMO_EMAIL, password: CODE_PASSWORD });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    const spent = await postJson('/password-reset/check', { email: DEMO_EMAIL, otp });
    assert.deepEqual([spent.status, spent.body.is_valid], [200, false]);
  });

  step('no console errors, CSP violations or Referer headers along the way', null, async () => {
    assert.deepEqual(consoleProblems, []);
    const referers = [];
    for (const request of requests) {
      const referer = (await request.allHeaders()).referer;
      if (referer) referers.push(`${request.url()} <- ${referer}`);
    }
    assert.deepEqual(referers, []);
  });
});
