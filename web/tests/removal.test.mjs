// Removal sticks for the session (issue 15, item 7), in Chromium against a real server: the
// facilitator removes a participant; a plain rejoin from that browser (a fresh tab, the link
// opened again, another name) is refused with the message, and the facilitator is told that a
// removed person tried to rejoin. Another browser is another person (the documented limit).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, memberActions, joinAsFacilitator, tid, createRoom, joinAsParticipant, within,
} from './helpers.mjs';

const suite = browserSuite();
const open = (opts) => suite.open(opts);

function assertClean(...ps) {
  for (const p of ps) {
    assert.deepEqual(p.problems, [], 'page errors / console errors');
    assert.deepEqual(p.dialogs, [], 'unexpected dialogs');
  }
}

const localDump = (page) => page.evaluate(() => {
  const out = [];
  for (let i = 0; i < localStorage.length; i++) out.push([localStorage.key(i), localStorage.getItem(localStorage.key(i))]);
  return out;
});

test('a removed participant cannot come back by a plain rejoin from the same browser', { timeout: 90000 }, async () => {
  await within(85000, 'removal sticks', async () => {
    const room = await createRoom(suite.base(), { title: 'Keep out', kind: 'group' });
    const F = await open();
    const X = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await joinAsParticipant(X.page, suite.base(), room.join_link, 'Xan');

    // The browser keeps one device id, and nothing else, in localStorage.
    const local = await localDump(X.page);
    assert.equal(local.length, 1, JSON.stringify(local));
    assert.equal(local[0][0], 'huddle.device');
    assert.match(local[0][1], /^[0-9a-f]{32}$/);

    await (await memberActions(F.page, 'Xan')).locator(tid('member-remove')).click();
    await (await memberActions(F.page, 'Xan')).locator(tid('member-remove-confirm')).click();
    await X.page.locator(tid('banner-removed')).waitFor();

    // A plain rejoin: a fresh tab of the same browser (no resume token, no saved state), the
    // join link again, another name.
    const again = await X.context.newPage();
    again.setDefaultTimeout(10000);
    const problems = [];
    again.on('pageerror', (e) => problems.push(e.message));
    await again.goto(suite.base() + room.join_link);
    await again.locator(tid('join-name')).fill('Xander');
    await again.locator(tid('join-submit')).click();
    await again.locator(tid('status-title')).filter({ hasText: 'You cannot rejoin this session' }).waitFor();
    assert.match(await again.locator(tid('status-message')).textContent(), /removed from this session/);
    assert.equal(await again.locator(tid('chat-input')).isVisible(), false);

    // The facilitator hears of it (the name they had, nothing more), and the roster is unchanged.
    await F.page.locator(tid('toast-room-notice'))
      .filter({ hasText: 'Xan, who was removed, tried to rejoin and was kept out.' }).waitFor();
    const names = await F.page.locator(tid('member-name')).allTextContents();
    assert.ok(!names.some((n) => n.includes('Xander') || n.includes('Xan')), names.join(', '));

    // Another browser is another person: let in (the waiting room is the remedy).
    const Y = await open();
    await joinAsParticipant(Y.page, suite.base(), room.join_link, 'Yan');
    assert.deepEqual(problems, []);
    assertClean(F, X, Y);
  });
});
