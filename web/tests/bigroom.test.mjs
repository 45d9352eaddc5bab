// Big rooms (protocol "Big rooms"): above the threshold the roster comes in pages. The count is
// the room's; "Show N more" fetches the rest with roster_page; leaving members disappear from
// the list and the count, for a newcomer (first page in the welcome) and for the facilitator
// (who joined while the room was small).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, joinAsFacilitator, joinAsParticipant, tid, createRoom, within } from './helpers.mjs';

// Big from 3 members on: the welcome's first page is 100 members, so 105 more make it partial.
const suite = browserSuite({ env: { HUDDLE_BIG_ROOM_THRESHOLD: '3' } });

/** N members speaking the protocol from one page; resolves when all are welcomed. */
async function rawMembers(page, roomId, n) {
  await page.goto(suite.base() + '/');
  await page.evaluate(({ roomId, n }) => Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    (window.__raw ||= []).push(ws);
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'welcome') resolve();
      else if (m.type === 'error' && m.refused === 'join') reject(new Error(JSON.stringify(m)));
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', v: 1, room_id: roomId, name: `Member ${i}` }));
    ws.onerror = () => reject(new Error('websocket error'));
  }))), { roomId, n });
}

const rows = (page) => page.locator(tid('member')).count();
const count = (page) => page.locator(tid('roster-count')).textContent();

async function showAll(page) {
  for (let i = 0; i < 5 && (await page.locator(tid('roster-more')).count()) > 0; i++) {
    await page.locator(tid('roster-more')).click();
    await page.waitForTimeout(300);
  }
}

test('a big room: the roster in pages, exact after members leave', { timeout: 120000 }, async () => {
  await within(115000, 'big room', async () => {
    const room = await createRoom(suite.base(), { title: 'Town hall', kind: 'group' });
    const F = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    const R = await open();
    await rawMembers(R.page, room.room_id, 105);
    const P = await open();
    await joinAsParticipant(P.page, suite.base(), room.join_link, 'Newcomer');

    // The newcomer's welcome: 100 members, the facilitator, and themselves; 107 in the room.
    await P.page.waitForFunction(() => document.querySelector('[data-testid="roster-count"]')?.textContent === '(107)');
    assert.equal(await rows(P.page), 101);
    assert.match(await P.page.locator(tid('roster-more')).textContent(), /Show 6 more/);
    await showAll(P.page);
    assert.equal(await rows(P.page), 107);
    assert.equal(await P.page.locator(tid('roster-more')).count(), 0);

    // The facilitator joined while the room was small: counted, then paged from the start.
    await F.page.waitForFunction(() => document.querySelector('[data-testid="roster-count"]')?.textContent === '(107)');
    await showAll(F.page);
    assert.equal(await rows(F.page), 107);

    // Five leave: gone from every list and count.
    await R.page.evaluate(() => window.__raw.slice(0, 5).forEach((ws) => ws.send(JSON.stringify({ type: 'leave' }))));
    for (const X of [P, F]) {
      await X.page.waitForFunction(() => document.querySelector('[data-testid="roster-count"]')?.textContent === '(102)');
      await X.page.waitForFunction(() => document.querySelectorAll('[data-testid="member"]').length === 102);
    }
    const names = await P.page.locator(tid('member-name')).allTextContents();
    for (let i = 0; i < 5; i++) assert.ok(!names.includes(`Member ${i}`), `Member ${i} left`);
    assert.ok(names.includes('Member 5'));
    const ids = await P.page.evaluate(() => window.__huddle.state().roster.map((m) => m.id));
    assert.equal(new Set(ids).size, 102, 'no member twice');
    for (const X of [F, P]) {
      assert.deepEqual(X.problems, [], 'page errors / console errors');
    }
  });
});

const open = (opts) => suite.open(opts);
