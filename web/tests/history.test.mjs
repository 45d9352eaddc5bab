// Earlier messages (protocol "Earlier messages"): a newcomer reads nothing from before they
// arrived unless a facilitator shares it, and then only after the ground rules; "Load earlier
// messages" pages back with history_before, keeping the reader's place and keyboard focus.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, joinAsFacilitator, tid, createRoom, joinAsParticipant, acceptGroundRules,
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

async function openTool(page, tool) {
  const d = page.locator(`details[data-tool="${tool}"]`);
  if (!(await d.evaluate((el) => el.open))) await d.locator('> summary').click();
}

/** The texts of the messages in the list, top to bottom. */
const shownTexts = (page) => page.locator(tid('message-text')).allTextContents();

/** The state's messages: seqs ascending and ids unique. */
async function assertOrderedUnique(page, who) {
  const seqs = await page.evaluate(() => window.__huddle.state().messages.map((m) => m.seq));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${who}: messages in seq order`);
  const ids = await page.evaluate(() => window.__huddle.state().messages.map((m) => m.id));
  assert.equal(new Set(ids).size, ids.length, `${who}: no duplicates`);
}

/** A participant speaking the protocol directly (to post many long messages quickly). */
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
    /** Post texts one by one, paced under the rate limit; resolves when all came back. */
    postAll: (texts) => page.evaluate((ts) => new Promise((resolve, reject) => {
      const posted = () => window.__raw.frames.filter((f) => f.type === 'event' && f.event.kind === 'chat').length;
      const start = posted();
      let i = 0;
      const timer = setInterval(() => {
        const errors = window.__raw.frames.filter((f) => f.type === 'error');
        if (errors.length) { clearInterval(timer); reject(new Error(JSON.stringify(errors))); return; }
        if (i < ts.length) window.__raw.ws.send(JSON.stringify({ type: 'chat', text: ts[i++] }));
        else if (posted() - start >= ts.length) { clearInterval(timer); resolve(); }
      }, 80);
    }), texts),
  };
}

test('earlier messages: none by default; shared after the ground rules when a facilitator turns it on', { timeout: 120000 }, async () => {
  await within(115000, 'share history', async () => {
    const room = await createRoom(suite.base(), { title: 'Earlier', kind: 'group' });
    const F = await open();
    const A = await open();
    const B = await open();
    const C = await open();
    const D = await open();
    const f = F.page;
    await joinAsFacilitator(f, suite.base(), room.facilitator_link, 'Fay');
    await joinAsParticipant(A.page, suite.base(), room.join_link, 'Ana');
    await sendChat(f, 'before one');
    await sendChat(A.page, 'before two');
    await messageWithText(f, 'before two').waitFor();

    // Off by default: a newcomer sees nothing from before, and no button to page back.
    await openTool(f, 'settings');
    const toggle = f.locator(tid('share-history-toggle'));
    assert.equal(await toggle.isChecked(), false);
    assert.match(await f.locator('label').filter({ has: toggle }).textContent(), /Share earlier messages with newcomers/);
    await joinAsParticipant(B.page, suite.base(), room.join_link, 'Ben');
    await sendChat(A.page, 'Ben can read this');
    await messageWithText(B.page, 'Ben can read this').waitFor();
    await B.page.waitForTimeout(500); // a history frame would have come with the ground rules
    assert.deepEqual(await shownTexts(B.page), ['Ben can read this']);
    assert.equal(await B.page.locator(tid('load-earlier')).count(), 0);
    assert.equal(await B.page.evaluate(() => window.__huddle.state().nextBeforeSeq), null);
    assert.equal(await B.page.locator(tid('share-history-toggle')).isVisible(), false, 'a participant has no such setting');

    // The facilitator shares earlier messages (everyone's info follows: room_updated).
    await toggle.check();
    await f.waitForFunction(() => window.__huddle.state().info.share_history === true);
    await B.page.waitForFunction(() => window.__huddle.state().info.share_history === true);
    assert.equal(await toggle.isChecked(), true);
    // Nothing is pushed to those already in the room.
    await B.page.waitForTimeout(300);
    assert.deepEqual(await shownTexts(B.page), ['Ben can read this']);

    // A newcomer: nothing from before until they accept the ground rules...
    await joinAsParticipant(C.page, suite.base(), room.join_link, 'Cy', { acceptRules: false });
    await C.page.locator(tid('rules-dialog')).waitFor({ state: 'visible' });
    await sendChat(A.page, 'while Cy reads the rules');
    await messageWithText(C.page, 'while Cy reads the rules').waitFor();
    assert.deepEqual(await shownTexts(C.page), ['while Cy reads the rules']);
    // ...then the earlier ones, before what they already had, each once, in order.
    await acceptGroundRules(C.page);
    await messageWithText(C.page, 'before one').waitFor();
    assert.deepEqual(await shownTexts(C.page), ['before one', 'before two', 'Ben can read this', 'while Cy reads the rules']);
    await assertOrderedUnique(C.page, 'Cy');
    assert.match(await C.page.locator(tid('earlier-status')).textContent(), /3 earlier messages are shown above/);
    assert.equal(await C.page.locator(tid('load-earlier')).count(), 0, 'nothing older to page to');
    // System notes (who joined) stay in their place among the messages.
    const items = await C.page.locator(`${tid('message-list')} > li`).evaluateAll((els) => els.map((e) => e.dataset.key.slice(0, 1)));
    assert.ok(items.every((k) => k === 'm' || k === 'n'), `only messages and notes in the list (${items})`);
    // Reload: the merged transcript is kept, still without duplicates.
    await C.page.reload();
    await messageWithText(C.page, 'before one').waitFor();
    await sendChat(f, 'after the reload');
    await messageWithText(C.page, 'after the reload').waitFor();
    assert.deepEqual(await shownTexts(C.page), ['before one', 'before two', 'Ben can read this', 'while Cy reads the rules', 'after the reload']);

    // Switched off again: the next newcomer reads only what comes after them.
    await toggle.uncheck();
    await f.waitForFunction(() => window.__huddle.state().info.share_history === false);
    await joinAsParticipant(D.page, suite.base(), room.join_link, 'Dee');
    await sendChat(f, 'welcome Dee');
    await messageWithText(D.page, 'welcome Dee').waitFor();
    await D.page.waitForTimeout(500);
    assert.deepEqual(await shownTexts(D.page), ['welcome Dee']);
    assertClean(F, A, B, C, D);
  });
});

test('"Load earlier messages" pages back: in order, once each, the place kept, focus on the first new one', { timeout: 150000 }, async () => {
  await within(145000, 'load earlier', async () => {
    const room = await createRoom(suite.base(), { title: 'Long night', kind: 'group' });
    const F = await open();
    const R = await open();
    const P = await open();
    const G = await open();
    const f = F.page;
    await joinAsFacilitator(f, suite.base(), room.facilitator_link, 'Fay');
    await openTool(f, 'settings');
    await f.locator(tid('share-history-toggle')).check();
    await f.waitForFunction(() => window.__huddle.state().info.share_history === true);

    // 45 long messages (~1.9 KB each as JSON): more than one 64 KiB page.
    const pad = 'x'.repeat(1800);
    const texts = Array.from({ length: 45 }, (_, i) => `long ${String(i + 1).padStart(2, '0')} ${pad}`);
    const raw = await rawMember(R.page, room.room_id, 'Rae');
    await raw.postAll(texts);
    await messageWithText(f, texts[44]).waitFor();

    // A newcomer who accepts the rules gets the latest page, and the button for the rest.
    await joinAsParticipant(P.page, suite.base(), room.join_link, 'Pia');
    const p = P.page;
    await messageWithText(p, texts[44]).waitFor();
    const button = p.locator(tid('load-earlier'));
    await button.waitFor();
    assert.equal(await button.textContent(), 'Load earlier messages');
    const first = await shownTexts(p);
    assert.ok(first.length > 10 && first.length < 45, `one page, not all (${first.length})`);
    assert.deepEqual(first, texts.slice(45 - first.length), 'the newest ones, oldest first');
    // The button is the first thing in the message list.
    assert.equal(await p.locator(`${tid('message-list')} > li`).first().getAttribute('data-testid'), 'earlier');

    // Keyboard: focus the button, press Enter.
    await button.focus();
    await p.keyboard.press('Enter');
    await messageWithText(p, texts[0]).waitFor();
    await button.waitFor({ state: 'detached' }); // nothing older left
    assert.deepEqual(await shownTexts(p), texts, 'every message once, in order');
    await assertOrderedUnique(p, 'Pia');
    const focused = await p.evaluate(() => document.activeElement && document.activeElement.querySelector('[data-testid="message-text"]')?.textContent);
    assert.equal(focused, texts[0], 'focus on the first new message');
    assert.match(await p.locator(tid('earlier-status')).textContent(), new RegExp(`Loaded ${45 - first.length} earlier messages\\. That is the beginning`));

    // A facilitator arriving late: the welcome carries a bounded page and next_before_seq.
    await joinAsFacilitator(G.page, suite.base(), room.facilitator_link, 'Gus');
    const g = G.page;
    await messageWithText(g, texts[44]).waitFor();
    const gButton = g.locator(tid('load-earlier'));
    await gButton.waitFor();
    const gFirst = await shownTexts(g);
    assert.ok(gFirst.length < 45, 'the welcome holds one page');
    // Mouse-free and focus elsewhere (typing in the composer): the view stays on the message
    // the reader was looking at, and focus stays where it is.
    const oldest = messageWithText(g, gFirst[0]);
    await g.locator(tid('message-list')).evaluate((l) => { l.scrollTop = 0; });
    await g.locator(tid('chat-input')).focus();
    const topBefore = await oldest.evaluate((el) => el.getBoundingClientRect().top);
    await gButton.evaluate((b) => b.click());
    await messageWithText(g, texts[0]).waitFor();
    const topAfter = await oldest.evaluate((el) => el.getBoundingClientRect().top);
    assert.ok(Math.abs(topAfter - topBefore) < 4, `the reader's place is kept (${topBefore} → ${topAfter})`);
    assert.equal(await g.evaluate(() => document.activeElement.dataset.testid), 'chat-input');
    assert.deepEqual(await shownTexts(g), texts);
    await assertOrderedUnique(g, 'Gus');
    assertClean(F, P, G);
  });
});
