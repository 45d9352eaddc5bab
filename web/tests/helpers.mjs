// Test helpers: start the Huddle server on a free port, launch Debian's
// Chromium through playwright-core, and a few page utilities. Everything is
// bounded by timeouts so a hung server fails a test instead of hanging it.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const webDir = path.resolve(here, '..');
export const repoDir = path.resolve(webDir, '..');
export const screenshotDir = path.join(repoDir, 'target', 'screenshots');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start the server binary; resolves once GET /healthz answers 200. */
export async function startServer({ env = {}, args = [], timeoutMs = 20000 } = {}) {
  const bin = process.env.HUDDLE_BIN
    ? path.resolve(webDir, process.env.HUDDLE_BIN)
    : path.resolve(webDir, '..', 'target', 'debug', 'huddle');
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: run \`cargo build -p huddle-server\` first or set HUDDLE_BIN`);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  mkdirSync(path.join(repoDir, 'target'), { recursive: true });
  const log = createWriteStream(path.join(repoDir, 'target', `web-test-server-${port}.log`));
  // Each server its own database (a fresh --data-dir), unless given one.
  const dataDir = env.HUDDLE_DATA_DIR || mkdtempSync(path.join(tmpdir(), 'huddle-web-'));
  const child = spawn(bin, ['--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, ...args], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const kill = () => { if (!exited) child.kill('SIGKILL'); };
  process.once('exit', kill);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}); see target/web-test-server-${port}.log`);
    try {
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      kill();
      throw new Error(`server did not become healthy within ${timeoutMs} ms`);
    }
    await sleep(100);
  }

  return {
    base,
    port,
    dataDir,
    async stop() {
      if (!env.HUDDLE_DATA_DIR) process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
      if (exited) return;
      child.kill('SIGTERM');
      const t = Date.now();
      while (!exited && Date.now() - t < 5000) await sleep(50);
      kill();
      process.removeListener('exit', kill);
    },
  };
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
    timeout: 30000,
  });
}

/**
 * A fresh context + page with bounded timeouts. Collects page errors,
 * console errors (CSP violations show up there) and dialogs.
 */
export async function newPage(browser, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.setDefaultNavigationTimeout(15000);
  const problems = [];
  const dialogs = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', async (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  return { context, page, problems, dialogs };
}

export const tid = (id) => `[data-testid="${id}"]`;

/** Create a room through the HTTP API (`headers`: e.g. the organizer key for a drop-in). */
export async function createRoom(base, body, headers = {}) {
  const r = await fetch(`${base}/api/rooms`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`create room: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

/** Join through the name form and accept the ground rules. */
export async function joinAsParticipant(page, base, joinLink, name, { acceptRules = true } = {}) {
  await page.goto(base + joinLink);
  await page.locator(tid('join-name')).fill(name);
  await page.locator(tid('join-submit')).click();
  if (acceptRules) await acceptGroundRules(page);
}

/** Join through the facilitator link (key in the fragment) and wait for the facilitator tools. */
export async function joinAsFacilitator(page, base, facilitatorLink, name = 'Fac') {
  await page.goto(base + facilitatorLink);
  await page.locator(tid('join-name')).fill(name);
  await page.locator(tid('join-submit')).click();
  await page.locator(tid('fac-panel')).waitFor();
}

export async function acceptGroundRules(page) {
  await page.locator(tid('rules-dialog')).waitFor({ state: 'visible' });
  await page.locator(tid('rules-accept')).click();
  await page.locator(tid('rules-dialog')).waitFor({ state: 'hidden' });
  await waitEnabled(page, tid('chat-input'));
}

export async function waitEnabled(page, selector, timeout = 10000) {
  await page.waitForFunction((sel) => {
    const el = document.querySelector(sel);
    return !!el && !el.disabled;
  }, selector, { timeout });
}

export async function sendChat(page, text) {
  await page.locator(tid('chat-input')).fill(text);
  await page.locator(tid('chat-send')).click();
}

/** The message element whose text is exactly `text`. */
export function messageWithText(page, text) {
  return page.locator(tid('message')).filter({ has: page.locator(tid('message-text'), { hasText: text }) });
}

/** Seconds shown by an m:ss / h:mm:ss display. */
export function parseClock(s) {
  const parts = String(s).trim().split(':').map(Number);
  if (parts.some((n) => Number.isNaN(n))) return NaN;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

/** A screenshot of the whole page, taken with a viewport as tall as the page (no sticky-header seams). */
export async function fullScreenshot(page, file) {
  const size = page.viewportSize();
  const height = await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight));
  await page.setViewportSize({ width: size.width, height: Math.min(Math.max(height, size.height), 8000) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file });
  await page.setViewportSize(size);
}

export function ensureScreenshotDir() {
  mkdirSync(screenshotDir, { recursive: true });
  return screenshotDir;
}

/** Run `fn`, failing if it takes longer than `ms`. */
export async function within(ms, what, fn) {
  let timer;
  const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  try {
    return await Promise.race([fn(), t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One server and one Chromium for a test file: registers the `before`/`after`
 * hooks and returns `{ base(), open(opts) }` (`base()`: the server's http URL); every
 * page opened is closed at the end.
 */
export function browserSuite(serverOpts = {}) {
  let server;
  let browser;
  const pages = [];
  before(async () => {
    server = await startServer(serverOpts);
    browser = await launchBrowser();
  }, { timeout: 60000 });
  after(async () => {
    for (const p of pages) await p.context.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  }, { timeout: 30000 });
  return {
    base: () => server.base,
    async open(opts) {
      const p = await newPage(browser, opts);
      pages.push(p);
      return p;
    },
  };
}

/** A member's row in the roster, with its actions menu open. */
export async function memberActions(page, name) {
  const m = page.locator(tid('member')).filter({ has: page.locator(tid('member-name'), { hasText: name }) });
  const det = m.locator(tid('member-actions'));
  if (!(await det.evaluate((d) => d.open))) await det.locator('summary').click();
  return m;
}
