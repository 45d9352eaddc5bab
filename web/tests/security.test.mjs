// Security issue 22, the web client's part: what other people send (reaction names, display
// names) cannot break or fake anything on the page, refused chat is never silent, and a tab
// that left a room keeps nothing of the conversation in its storage.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, joinAsFacilitator, tid, createRoom, joinAsParticipant,
  sendChat, messageWithText, within,
} from './helpers.mjs';

const suite = browserSuite();
const open = (opts) => suite.open(opts);

function assertClean(...ps) {
  for (const p of ps) {
    assert.deepEqual(p.problems, [], 'page errors / console errors');
    assert.deepEqual(p.dialogs, [], 'unexpected dialogs');
  }
}

/**
 * A member speaking the protocol directly (as a modified client could): joins over a raw
 * WebSocket from a page of the same origin and accepts the ground rules. Returns send(frame)
 * and the frames received so far.
 */
async function rawMember(page, roomId, name) {
  await page.goto(suite.base() + '/');
  await page.evaluate(({ roomId, name }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    window.__raw = { ws, frames: [] };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      window.__raw.frames.push(m);
      if (m.type === 'welcome') {
        ws.send(JSON.stringify({ type: 'accept_rules', version: m.room.rules.version }));
        resolve();
      } else if (m.type === 'error' && m.refused === 'join') {
        reject(new Error(JSON.stringify(m)));
      }
    };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', v: 1, room_id: roomId, name }));
    ws.onerror = () => reject(new Error('websocket error'));
  }), { roomId, name });
  return {
    send: (frame) => page.evaluate((f) => window.__raw.ws.send(JSON.stringify(f)), frame),
    frames: () => page.evaluate(() => window.__raw.frames),
  };
}

const messageId = (page, text) => page.evaluate((t) => window.__huddle.state().messages.find((m) => m.text === t).id, text);

// ------------------------------------------------------------------------------------ F.4

test('a reaction named "toString" or "valueOf" is shown as a reaction and breaks nothing', { timeout: 90000 }, async () => {
  await within(85000, 'odd reactions', async () => {
    const room = await createRoom(suite.base(), { title: 'Odd reactions', kind: 'group' });
    const F = await open();
    const P = await open();
    const R = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await joinAsParticipant(P.page, suite.base(), room.join_link, 'Pat');
    await sendChat(P.page, 'react to this one');
    await messageWithText(F.page, 'react to this one').waitFor();
    const id = await messageId(F.page, 'react to this one');

    const raw = await rawMember(R.page, room.room_id, 'Mallory');
    await F.page.locator(tid('member')).filter({ hasText: 'Mallory' }).waitFor();
    for (const emoji of ['toString', 'valueOf']) await raw.send({ type: 'react', message_id: id, emoji });
    // Today's server accepts any 1-8 character reaction; if a later one refuses these names,
    // this test has nothing left to show.
    await R.page.waitForFunction(() => window.__raw.frames.filter((f) => f.type === 'event' && f.event.kind === 'reaction').length >= 2);
    assert.deepEqual((await raw.frames()).filter((f) => f.type === 'error'), []);

    for (const { page } of [F, P]) {
      const msg = messageWithText(page, 'react to this one');
      for (const emoji of ['toString', 'valueOf']) {
        await msg.locator(`[data-testid="react"][data-emoji="${emoji}"] .react-count`).filter({ hasText: '1' }).waitFor();
      }
      // An ordinary reaction afterwards still counts.
      await msg.locator('[data-testid="react"][data-emoji="👍"]').click();
    }
    for (const { page } of [F, P]) {
      await messageWithText(page, 'react to this one').locator('[data-testid="react"][data-emoji="👍"] .react-count').filter({ hasText: '2' }).waitFor();
    }
    // Later messages still arrive and render.
    await sendChat(F.page, 'still working');
    await messageWithText(P.page, 'still working').waitFor();
    // And the saved state survives a reload.
    await P.page.reload();
    await messageWithText(P.page, 'react to this one').locator('[data-testid="react"][data-emoji="toString"] .react-count').filter({ hasText: '1' }).waitFor();
    assertClean(F, P);
  });
});
