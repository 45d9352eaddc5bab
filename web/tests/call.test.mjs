// Face-to-face calls (issue 16) in Chromium with fake camera and microphone, against real
// servers: three pages in one room see and hear each other (getStats: video frames decoded,
// audio packets received from both others), a facilitator's "mute for everyone" stops that
// member's audio at the others, removal takes the tiles away everywhere; then the same call
// with two instances sharing a real Redis (two pages on A, one on B).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, launchBrowser, newPage, tid, createRoom, joinAsParticipant, joinAsFacilitator,
  memberActions, within,
} from './helpers.mjs';

const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let browser;
const pages = [];
const stops = [];
before(async () => { browser = await launchBrowser(MEDIA_FLAGS); }, { timeout: 60000 });
after(async () => {
  for (const p of pages) await p.context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  for (const s of stops.reverse()) await s();
}, { timeout: 30000 });

async function open(opts) {
  const p = await newPage(browser, opts);
  pages.push(p);
  return p;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  stops.push(async () => { child.kill('SIGKILL'); });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((res) => {
      const c = connect(port, '127.0.0.1', () => { c.end(); res(true); });
      c.on('error', () => res(false));
    });
    if (ok) return `redis://127.0.0.1:${port}`;
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}


/** Join the call, turn mic and camera on. */
async function joinWithMedia(page) {
  await page.locator(tid('call-join')).click();
  await page.locator(tid('call-mic')).click();
  await page.locator(tid('call-mic')).filter({ hasText: 'Mute mic' }).waitFor();
  await page.locator(tid('call-camera')).click();
  await page.locator(tid('call-camera')).filter({ hasText: 'Stop camera' }).waitFor();
}

/** Every page sees two remote tiles that decode video and receive audio, within 20 s. */
async function everyoneSeesAndHears(ps) {
  const t0 = Date.now();
  for (const p of ps) {
    await p.page.locator(tid('call-tile')).nth(1).waitFor({ timeout: 20000 });
  }
  for (const p of ps) {
    let last = null;
    for (;;) {
      last = await p.page.evaluate(() => window.__huddle.callStats());
      const peers = Object.values(last);
      if (peers.length === 2 && peers.every((s) => s.framesDecoded > 0 && s.audioPacketsReceived > 0)) break;
      if (Date.now() - t0 > 20000) assert.fail(`no media both ways within 20 s: ${JSON.stringify(last)}`);
      await sleep(250);
    }
  }
}

async function setup(baseF, baseA, baseB) {
  const room = await createRoom(baseF, { title: 'Face to face', kind: 'group' });
  const F = await open();
  const A = await open();
  const B = await open({ viewport: { width: 360, height: 800 } });
  await joinAsFacilitator(F.page, baseF, room.facilitator_link);
  await joinAsParticipant(A.page, baseA, room.join_link, 'Ana');
  await joinAsParticipant(B.page, baseB, room.join_link, 'Ben');
  // Off until a facilitator turns it on: participants see no call panel.
  assert.equal(await A.page.locator(tid('call-panel')).isVisible(), false);
  await F.page.locator(tid('call-mode')).selectOption('video');
  for (const p of [F, A, B]) await p.page.locator(tid('call-join')).waitFor();
  return { room, F, A, B };
}

test('three pages in one room see and hear each other; mute for everyone; removal', { timeout: 120000 }, async () => {
  const server = await startServer();
  stops.push(() => server.stop());
  await within(110000, 'a three-way call', async () => {
    const { F, A, B } = await setup(server.base, server.base, server.base);
    // The privacy sentence and the crisis link are there in the call (also at 360 px).
    assert.match(await B.page.locator(tid('call-privacy')).textContent(), /directly between browsers, encrypted; nothing is recorded/);
    for (const p of [F, A, B]) await joinWithMedia(p.page);
    await everyoneSeesAndHears([F, A, B]);
    assert.equal(await B.page.locator(tid('crisis-button')).isVisible(), true);
    const overflow = await B.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 360, `no sideways scrolling at 360 px (${overflow})`);

    // Mute Ana for everyone: her tile shows her muted at Ben's, and Ben's browser stops playing
    // her audio (track disabled, element muted); her own mic is off.
    const anaId = await A.page.evaluate(() => window.__huddle.state().me.member_id);
    const anaAtF = F.page.locator(`${tid('call-tile')}[data-member="${anaId}"]`);
    await anaAtF.locator(tid('call-mute-media')).click();
    const anaAtB = B.page.locator(`${tid('call-tile')}[data-member="${anaId}"]`);
    await B.page.waitForFunction((id) => {
      const t = document.querySelector(`[data-testid="call-tile"][data-member="${id}"]`);
      const v = t && t.querySelector('video');
      return t && t.dataset.mic === 'off' && t.dataset.heard === 'no' && v.muted
        && v.srcObject && v.srcObject.getAudioTracks().length > 0
        && v.srcObject.getAudioTracks().every((tr) => !tr.enabled);
    }, anaId);
    assert.match(await anaAtB.locator(tid('call-mic-state')).textContent(), /muted/);
    await A.page.locator(tid('call-mic')).filter({ hasText: 'Unmute mic' }).waitFor();

    // Give Ana the floor: her tile is spotlit at Ben's, and a speaker timer runs for everyone.
    await anaAtF.locator(tid('call-floor')).click();
    await anaAtB.filter({ hasText: 'has the floor' }).waitFor();
    await B.page.locator(tid('timer-name')).filter({ hasText: 'Ana has the floor' }).waitFor();

    // Remove Ben: his tile disappears at every page.
    const benId = await B.page.evaluate(() => window.__huddle.state().me.member_id);
    await (await memberActions(F.page, 'Ben')).locator(tid('member-remove')).click();
    await (await memberActions(F.page, 'Ben')).locator(tid('member-remove-confirm')).click();
    for (const p of [F, A]) {
      await p.page.locator(`${tid('call-tile')}[data-member="${benId}"]`).waitFor({ state: 'detached' });
      assert.equal(await p.page.locator(tid('call-tile')).count(), 1);
    }
    for (const p of [F, A]) assert.deepEqual(p.problems, [], 'no page or console errors');
  });
});

test('the same call with two instances and Redis: two pages on A, one on B', { timeout: 120000 }, async () => {
  const redis = await startRedis();
  // Several instances need one database: a SQLite file both use (one host).
  const dir = mkdtempSync(path.join(tmpdir(), 'huddle-call-redis-'));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const env = { HUDDLE_REDIS_URL: redis, HUDDLE_DATABASE_URL: `sqlite://${path.join(dir, 'huddle.db')}` };
  const a = await startServer({ env });
  stops.push(() => a.stop());
  const b = await startServer({ env });
  stops.push(() => b.stop());
  await within(110000, 'a three-way call across instances', async () => {
    const { F, A, B } = await setup(a.base, a.base, b.base);
    for (const p of [F, A, B]) await joinWithMedia(p.page);
    await everyoneSeesAndHears([F, A, B]);
    // Leaving the call takes the tile away at the other instance too.
    const anaId = await A.page.evaluate(() => window.__huddle.state().me.member_id);
    await A.page.locator(tid('call-leave')).click();
    await B.page.locator(`${tid('call-tile')}[data-member="${anaId}"]`).waitFor({ state: 'detached' });
  });
});
