// The soft end in Chromium: at the scheduled end everyone sees "Wrapping up — the room closes
// at HH:MM", the facilitator gets the check-out prompt and a summary preview; the room closes
// after the wrap-up (--wrap-up-mins, short here) or when the facilitator ends it, and
// extending during wrap-up opens it again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, joinAsFacilitator, joinAsParticipant, tid, createRoom, sendChat, messageWithText, within, waitEnabled } from './helpers.mjs';

// 0.2 min = 12 s of wrap-up (fractions of a minute are allowed for tests like this).
const suite = browserSuite({ env: { HUDDLE_WRAP_UP_MINS: '0.2' } });
const open = (opts) => suite.open(opts);

// The deployment's zone (the server's default --time-zone), not the browser's: labelled.
const hhmm = (ms) => new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', timeZone: 'America/Toronto' }).format(new Date(ms));

/** When the page was told the wrap-up ends (seen.until): a wrap_up event, or the room's info. */
function watchWrapUp(page) {
  const seen = { until: null };
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    if (typeof f.payload !== 'string' || !f.payload.includes('wrap_up')) return;
    const m = JSON.parse(f.payload);
    if (m.type === 'event' && m.event.kind === 'wrap_up') seen.until = m.event.until;
    if (m.type === 'event' && m.event.kind === 'room_updated') seen.until = m.event.info.wrap_up_until || null;
    if (m.type === 'welcome') seen.until = m.room.info.wrap_up_until || null;
  }));
  return seen;
}

async function roomEndingSoon(title, inMs) {
  const room = await createRoom(suite.base(), { title, kind: 'group', ends_at: Date.now() + inMs });
  const F = await open();
  const A = await open();
  const seen = watchWrapUp(A.page);
  await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
  await joinAsParticipant(A.page, suite.base(), room.join_link, 'Alex');
  return { room, F, A, f: F.page, a: A.page, seen };
}

test('at the scheduled end the room wraps up, then closes by itself', { timeout: 60000 }, async () => {
  await within(55000, 'wrap-up', async () => {
    const { F, A, f, a, seen } = await roomEndingSoon('Wrap me up', 8000);
    const banner = a.locator(tid('banner-wrapup'));
    await banner.waitFor({ timeout: 15000 });
    const text = await banner.textContent();
    assert.ok(seen.until, 'a wrap_up event arrived');
    assert.equal(text, `Wrapping up — the room closes at ${hhmm(seen.until)} ET`);
    await f.locator(tid('banner-wrapup')).waitFor();
    // The facilitator's check-out prompt and summary preview; not shown to participants.
    await f.locator(tid('wrapup-panel')).waitFor();
    assert.equal(await f.locator(tid('wrapup-suggestion-title')).textContent(), 'Check-out round');
    assert.equal(await a.locator(tid('wrapup-panel')).isVisible(), false);
    // The room is still open: people may post; the facilitator pushes the check-out round.
    await sendChat(a, 'Thank you all');
    await messageWithText(f, 'Thank you all').waitFor();
    await f.locator(tid('wrapup-push')).click();
    await a.locator(tid('energizer-title')).filter({ hasText: 'Check-out round' }).waitFor();
    // Then it closes by itself after the (12 s) wrap-up.
    for (const p of [f, a]) {
      await p.locator(tid('summary-panel')).waitFor({ timeout: 20000 });
      await p.locator(tid('banner-wrapup')).waitFor({ state: 'detached' });
    }
    assert.equal(await f.locator(tid('wrapup-panel')).isVisible(), false);
    assert.equal(await a.locator(tid('chat-input')).isDisabled(), true);
    for (const P of [F, A]) assert.deepEqual(P.problems, []);
  });
});

test('extending during wrap-up opens the room again; ending it closes at once', { timeout: 60000 }, async () => {
  await within(55000, 'wrap-up extend', async () => {
    const { F, A, f, a } = await roomEndingSoon('Extend me', 3000);
    await a.locator(tid('banner-wrapup')).waitFor({ timeout: 15000 });
    await f.locator(tid('extend-5')).click();
    await a.locator(tid('banner-wrapup')).waitFor({ state: 'detached' });
    await f.locator(tid('wrapup-panel')).waitFor({ state: 'hidden' });
    await a.locator(tid('session-clock')).filter({ hasText: 'Time left' }).waitFor();
    // Past the old wrap-up's end: still open.
    await a.waitForTimeout(13000);
    assert.equal(await a.locator(tid('summary-panel')).isVisible(), false);
    await waitEnabled(a, tid('chat-input'));
    await f.locator(tid('end-session')).click();
    await f.locator(tid('end-session-confirm')).click();
    await a.locator(tid('summary-panel')).waitFor();
    for (const P of [F, A]) assert.deepEqual(P.problems, []);
  });
});
