// Call controls for oneself (issue 16), in Chromium with fake camera and microphone against a
// real server: a camera preview before joining (only here; joining keeps the camera on), the
// microphone picker (enumerateDevices; the new track replaces the old one on the sender, the
// other member keeps hearing), and audio only (my camera off, my video receivers go quiet, audio
// goes on; off again: video comes back), all by keyboard.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, tid, createRoom, joinAsParticipant, joinAsFacilitator, within,
} from './helpers.mjs';

const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let browser;
let server;
const pages = [];
before(async () => {
  server = await startServer();
  browser = await launchBrowser(MEDIA_FLAGS);
}, { timeout: 60000 });
after(async () => {
  for (const p of pages) await p.context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
}, { timeout: 30000 });

async function open(opts) {
  const p = await newPage(browser, opts);
  pages.push(p);
  return p;
}

/** The one peer's stats on this page. */
async function peerStats(page) {
  const all = Object.values(await page.evaluate(() => window.__huddle.callStats()));
  assert.equal(all.length, 1, 'one peer');
  return all[0];
}

/** Wait until `pred(stats)` holds on `page` (bounded). */
async function until(page, what, pred, ms = 15000) {
  const t0 = Date.now();
  let last;
  for (;;) {
    last = await peerStats(page);
    if (pred(last)) return last;
    if (Date.now() - t0 > ms) assert.fail(`${what} within ${ms} ms: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

/** Focus a control and press a key on it (the keyboard path, not a click). */
async function press(page, testid, key = 'Enter') {
  await page.locator(tid(testid)).focus();
  await page.keyboard.press(key);
}

test('preview, microphone picker and audio only, by keyboard', { timeout: 90000 }, async () => {
  await within(80000, 'call controls for oneself', async () => {
    const room = await createRoom(server.base, { title: 'Devices', kind: 'group' });
    const F = await open();
    const A = await open({ viewport: { width: 360, height: 800 } });
    await joinAsFacilitator(F.page, server.base, room.facilitator_link);
    await joinAsParticipant(A.page, server.base, room.join_link, 'Ana');
    await F.page.locator(tid('call-mode')).selectOption('video');

    // Preview before joining: a local video, nothing in the call yet.
    await press(A.page, 'call-preview-toggle');
    await A.page.locator(tid('call-preview')).waitFor();
    await A.page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="call-preview"] video');
      return v && v.srcObject && v.srcObject.getVideoTracks()[0].readyState === 'live' && v.videoWidth > 0;
    });
    assert.equal(await A.page.locator(tid('call-preview-toggle')).getAttribute('aria-pressed'), 'true');
    assert.match(await A.page.locator(tid('call-join')).textContent(), /camera on/);
    assert.equal(await F.page.locator(tid('call-tile')).count(), 0, 'a preview is not in the call');
    // Once allowed, the cameras and microphones are listed.
    await A.page.locator(tid('call-camera-device')).waitFor();

    // Join: the camera stays on (the others see it), then both turn the mic on.
    await press(A.page, 'call-join');
    await A.page.locator(tid('call-camera')).filter({ hasText: 'Stop camera' }).waitFor();
    await F.page.locator(tid('call-join')).click();
    await F.page.locator(tid('call-camera')).click();
    await F.page.locator(tid('call-mic')).click();
    await press(A.page, 'call-mic');
    const anaId = await A.page.evaluate(() => window.__huddle.state().me.member_id);
    await F.page.locator(`${tid('call-tile')}[data-member="${anaId}"][data-camera="on"][data-mic="on"]`).waitFor();
    await until(F.page, 'F decodes Ana’s video and hears her', (s) => s.framesDecoded > 0 && s.audioPacketsReceived > 0);
    await until(A.page, 'Ana decodes F’s video and hears F', (s) => s.framesDecoded > 0 && s.audioPacketsReceived > 0);

    // Another microphone: a new track on the sender, and F keeps receiving Ana's audio.
    const mics = await A.page.locator(`${tid('call-mic-device')} option`).evaluateAll(
      (os) => os.map((o) => o.value).filter((v) => v));
    assert.ok(mics.length >= 1, 'the fake microphone is listed');
    const before = (await peerStats(A.page)).sending.audio;
    assert.ok(before, 'Ana sends a mic track');
    await A.page.locator(tid('call-mic-device')).selectOption(mics[mics.length - 1]);
    await until(A.page, 'the sender carries the new mic track', (s) => s.sending.audio && s.sending.audio !== before);
    assert.equal(await A.page.locator(tid('call-mic-device')).inputValue(), mics[mics.length - 1]);
    const heard = (await peerStats(F.page)).audioPacketsReceived;
    await until(F.page, 'F still hears Ana', (s) => s.audioPacketsReceived > heard + 20);

    // Audio only (Alt+A): Ana's camera goes off for everyone, her video receiver goes quiet,
    // audio goes on both ways.
    await A.page.keyboard.press('Alt+A');
    assert.equal(await A.page.locator(tid('call-audio-only')).getAttribute('aria-pressed'), 'true');
    await F.page.locator(`${tid('call-tile')}[data-member="${anaId}"][data-camera="off"]`).waitFor();
    assert.equal(await A.page.locator(tid('call-camera')).isDisabled(), true);
    await sleep(1500); // the renegotiation settles
    const q1 = await peerStats(A.page);
    await sleep(2000);
    const q2 = await peerStats(A.page);
    assert.equal(q2.framesDecoded, q1.framesDecoded, 'no video decoded while audio only');
    assert.ok(q2.audioPacketsReceived > q1.audioPacketsReceived + 20, 'audio goes on');
    assert.equal(q2.sending.video, null, 'no camera sent');

    // Off again (by keyboard on the button): F's video comes back to Ana.
    await press(A.page, 'call-audio-only', 'Space');
    assert.equal(await A.page.locator(tid('call-audio-only')).getAttribute('aria-pressed'), 'false');
    await until(A.page, 'video again after audio only', (s) => s.framesDecoded > q2.framesDecoded + 5);
    const overflow = await A.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 360, `no sideways scrolling at 360 px (${overflow})`);
    for (const p of [F, A]) assert.deepEqual(p.problems, [], 'no page or console errors');
  });
});
