// Security issue 22, the web client's part: what other people send (reaction names, display
// names) cannot break or fake anything on the page, refused chat is never silent, and a tab
// that left a room keeps nothing of the conversation in its storage.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, memberActions, joinAsFacilitator, tid, createRoom, joinAsParticipant,
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

    // The server now takes only its five reactions (protocol "Additions within v1"): a
    // modified client's odd names are refused there...
    const raw = await rawMember(R.page, room.room_id, 'Mallory');
    await F.page.locator(tid('member')).filter({ hasText: 'Mallory' }).waitFor();
    for (const emoji of ['toString', 'valueOf']) await raw.send({ type: 'react', message_id: id, emoji });
    await R.page.waitForFunction(() => window.__raw.frames.filter((f) => f.type === 'error').length >= 2);
    assert.deepEqual((await raw.frames()).filter((f) => f.type === 'error').map((f) => [f.code, f.refused]), [['invalid', 'react'], ['invalid', 'react']]);

    // ...so the client's own defence is shown with what a stored state (an older server's
    // reactions, kept for a reload) can still hold: such names are reactions like any other.
    await P.page.evaluate(({ roomId, mid }) => {
      const st = window.__huddle.state();
      st.messages.find((m) => m.id === mid).reactions = JSON.parse('{"toString":["someone"],"valueOf":["someone"]}');
      sessionStorage.setItem('huddle.state.' + roomId, JSON.stringify(st));
    }, { roomId: room.room_id, mid: id });
    await P.page.reload();
    const pmsg = messageWithText(P.page, 'react to this one');
    for (const emoji of ['toString', 'valueOf']) {
      await pmsg.locator(`[data-testid="react"][data-emoji="${emoji}"] .react-count`).filter({ hasText: '1' }).waitFor();
    }
    // An ordinary reaction afterwards still counts, on both sides.
    for (const { page } of [F, P]) await messageWithText(page, 'react to this one').locator('[data-testid="react"][data-emoji="👍"]').click();
    for (const { page } of [F, P]) {
      await messageWithText(page, 'react to this one').locator('[data-testid="react"][data-emoji="👍"] .react-count').filter({ hasText: '2' }).waitFor();
    }
    // Later messages still arrive and render.
    await sendChat(F.page, 'still working');
    await messageWithText(P.page, 'still working').waitFor();
    assert.equal(await pmsg.locator('[data-testid="react"][data-emoji="toString"] .react-count').textContent(), '1');
    assertClean(F, P);
  });
});

// -------------------------------------------------------------------------------------- G

/** Everything in the page's sessionStorage and localStorage, as [storage, key, value]. */
const storageDump = (page) => page.evaluate(() => {
  const out = [];
  for (const [name, s] of [['session', sessionStorage], ['local', localStorage]]) {
    for (let i = 0; i < s.length; i++) out.push([name, s.key(i), s.getItem(s.key(i))]);
  }
  return out;
});

async function assertNothingKept(page, roomId, texts, who) {
  // A pending save (the reducer saves ~0.4 s after an event) must not write anything back.
  await page.waitForTimeout(800);
  const dump = await storageDump(page);
  for (const t of texts) {
    assert.deepEqual(dump.filter(([, k, v]) => k.includes(t) || v.includes(t)), [], `${who}: "${t}" is not kept in storage`);
  }
  assert.deepEqual(dump.filter(([, k, v]) => k.includes(roomId) || v.includes(roomId)), [], `${who}: nothing about the room is kept`);
}

test('a tab that left the room keeps nothing of the conversation (leave, removed, ended)', { timeout: 150000 }, async () => {
  await within(145000, 'transcript storage', async () => {
    const room = await createRoom(suite.base(), { title: 'Confidential', kind: 'group' });
    const roomId = room.room_id;
    const F = await open();
    const L = await open(); // leaves with the button
    const X = await open(); // is removed
    const E = await open(); // stays until the end
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await joinAsParticipant(L.page, suite.base(), room.join_link, 'Lee');
    await joinAsParticipant(X.page, suite.base(), room.join_link, 'Xan');
    await joinAsParticipant(E.page, suite.base(), room.join_link, 'Eve');
    const texts = ['my patient died tonight', 'I keep replaying the code', 'the charge nurse said'];
    await sendChat(L.page, texts[0]);
    await sendChat(X.page, texts[1]);
    await sendChat(F.page, texts[2]);
    for (const { page } of [F, L, X, E]) await messageWithText(page, texts[2]).waitFor();
    // While in the room the tab may keep what a reload needs (that is how it resumes).
    await F.page.waitForTimeout(800);
    assert.ok((await storageDump(E.page)).some(([, , v]) => v.includes(texts[0])), 'precondition: the room state is saved while in the room');

    // 1. The Leave button.
    await L.page.locator(tid('leave-button')).click();
    await L.page.locator(tid('status-title')).filter({ hasText: 'You left' }).waitFor();
    await assertNothingKept(L.page, roomId, texts, 'after Leave');

    // 2. Removed by the facilitator.
    await (await memberActions(F.page, 'Xan')).locator(tid('member-remove')).click();
    await (await memberActions(F.page, 'Xan')).locator(tid('member-remove-confirm')).click();
    await X.page.locator(tid('banner-removed')).waitFor();
    await assertNothingKept(X.page, roomId, texts, 'after removal');

    // 3. The session ends: the summary stays on screen, nothing of the chat in storage,
    // for the participant and for the facilitator.
    await F.page.locator(tid('end-session')).click();
    await F.page.locator(tid('end-session-confirm')).click();
    for (const [p, who] of [[E, 'participant after the end'], [F, 'facilitator after the end']]) {
      await p.page.locator(tid('summary-panel')).waitFor();
      await assertNothingKept(p.page, roomId, texts, who);
    }
    // The facilitator can still download the summary from the tab that shows it.
    const [download] = await Promise.all([F.page.waitForEvent('download'), F.page.locator(tid('summary-download')).click()]);
    assert.ok(await download.path());
    await assertNothingKept(F.page, roomId, texts, 'facilitator after the download');
    assertClean(F, L, X, E);
  });
});

test('a facilitator who leaves keeps neither the key nor the conversation', { timeout: 60000 }, async () => {
  await within(55000, 'facilitator leave', async () => {
    const room = await createRoom(suite.base(), { title: 'Key hygiene', kind: 'group' });
    const F = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await sendChat(F.page, 'notes for the debrief');
    await messageWithText(F.page, 'notes for the debrief').waitFor();
    const key = new URL(room.facilitator_link, suite.base()).hash.replace(/^#key=/, '').split('&')[0];
    assert.ok(key.length > 8, 'the facilitator link carries a key');
    assert.ok((await storageDump(F.page)).some(([, , v]) => v.includes(key)), 'precondition: the key is kept while in the room');
    await F.page.locator(tid('leave-button')).click();
    await F.page.locator(tid('status-title')).filter({ hasText: 'You left' }).waitFor();
    await assertNothingKept(F.page, room.room_id, ['notes for the debrief', key], 'facilitator after Leave');
    assertClean(F);
  });
});

// ------------------------------------------------------------------------------------ C.2

test('role badges come from the role, never from a name', { timeout: 90000 }, async () => {
  await within(85000, 'role badges', async () => {
    const room = await createRoom(suite.base(), { title: 'Who is who', kind: 'group' });
    const F = await open();
    const S = await open();
    const T2 = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link, 'Dr Fac');
    const fakes = [[S, 'Facilitator Sam'], [T2, '★ Facilitator']];
    // Everyone joins first: a newcomer reads nothing sent before they arrived (protocol
    // "Earlier messages").
    for (const [p, name] of fakes) await joinAsParticipant(p.page, suite.base(), room.join_link, name);
    for (const [p, name] of fakes) await sendChat(p.page, `hello from ${name}`);
    await sendChat(F.page, 'hello from the real one');
    for (const { page } of [F, S, T2]) {
      await messageWithText(page, 'hello from the real one').waitFor();
      for (const [, name] of fakes) await messageWithText(page, `hello from ${name}`).waitFor();
      const row = (name) => page.locator(tid('member')).filter({ has: page.locator(tid('member-name'), { hasText: name, exact: true }) });

      // The real facilitator: a badge element of its own, marked with the role, with an
      // accessible label, outside the name.
      const real = row('Dr Fac');
      const badge = real.locator(tid('member-role'));
      assert.equal(await badge.count(), 1);
      assert.equal(await badge.getAttribute('data-role'), 'facilitator');
      assert.equal(await badge.textContent(), 'Facilitator');
      assert.equal(await real.locator(tid('member-name')).textContent(), 'Dr Fac');
      assert.equal(await real.locator(`${tid('member-name')} [data-role]`).count(), 0);
      assert.match(await real.ariaSnapshot(), /Dr Fac.*role: Facilitator/);
      const realMsg = messageWithText(page, 'hello from the real one');
      const msgBadge = realMsg.locator(tid('message-role'));
      assert.equal(await msgBadge.count(), 1);
      assert.equal(await msgBadge.getAttribute('data-role'), 'facilitator');
      assert.equal(await msgBadge.textContent(), 'Facilitator');
      assert.match(await realMsg.locator('.msg-head').ariaSnapshot(), /Dr Fac.*role: Facilitator/);

      // Participants whose names say "Facilitator": no badge, no role mark, the name as text.
      for (const [, name] of fakes) {
        const r = row(name);
        assert.equal(await r.count(), 1, name);
        assert.equal(await r.locator('[data-role]:not(li)').count(), 0, `${name}: no role badge in the roster`);
        assert.equal(await r.locator(tid('member-role')).count(), 0, name);
        assert.equal(await r.getAttribute('data-role'), 'participant', name);
        assert.doesNotMatch(await r.ariaSnapshot(), /role:/, `${name}: no role in the accessible text`);
        const m = messageWithText(page, `hello from ${name}`);
        assert.equal(await m.locator('[data-role]').count(), 0, `${name}: no role badge on the message`);
        assert.equal(await m.locator(tid('message-role')).count(), 0, name);
        assert.equal(await m.locator(tid('message-name')).textContent(), name);
        assert.doesNotMatch(await m.locator('.msg-head').ariaSnapshot(), /role:/, name);
      }
    }
    assertClean(F, S, T2);
  });
});

// ------------------------------------------------------------------------------------ B.4

test('a refused chat message is explained next to the composer and kept in the box', { timeout: 90000 }, async () => {
  await within(85000, 'refused chat', async () => {
    const room = await createRoom(suite.base(), { title: 'Slow down', kind: 'group' });
    const F = await open();
    const P = await open();
    const f = F.page;
    const p = P.page;
    await joinAsFacilitator(f, suite.base(), room.facilitator_link);
    await joinAsParticipant(p, suite.base(), room.join_link, 'Pat');
    const notice = p.locator(tid('composer-error'));
    assert.equal(await notice.getAttribute('aria-live'), 'polite');
    assert.equal((await notice.textContent()).trim(), '');

    // Slow mode: the second message within 30 s is refused (rate limit).
    const settings = f.locator('details[data-tool="settings"]');
    if (!(await settings.evaluate((d) => d.open))) await settings.locator('> summary').click();
    await f.locator(tid('slowmode-select')).selectOption('30');
    await f.locator(tid('slowmode-apply')).click();
    await p.locator(tid('composer-why')).filter({ hasText: 'Slow mode' }).waitFor();
    await sendChat(p, 'first one');
    await messageWithText(p, 'first one').waitFor();
    await sendChat(p, 'a second one too soon');
    await notice.filter({ hasText: /slow mode: wait \d+ more seconds/ }).waitFor();
    assert.equal(await notice.isVisible(), true);
    assert.equal(await p.locator(tid('chat-input')).inputValue(), 'a second one too soon', 'the refused text is back in the box');
    // The notice sits with the composer, inside the conversation panel.
    assert.equal(await p.locator(`section.chat ${tid('composer-error')}`).count(), 1);
    assert.equal(await messageWithText(f, 'a second one too soon').count(), 0);

    // Too long: the server's message, the text kept in full.
    await f.locator(tid('slowmode-select')).selectOption('0');
    await f.locator(tid('slowmode-apply')).click();
    await p.locator(tid('composer-why')).waitFor({ state: 'detached' });
    const long = 'x'.repeat(5000);
    await p.evaluate((t) => {
      const el = document.querySelector('[data-testid="chat-input"]');
      el.removeAttribute('maxlength'); // as a paste into an older page could
      el.value = t;
    }, long);
    await p.locator(tid('chat-send')).click();
    await notice.filter({ hasText: /too long|at most|characters/i }).waitFor();
    assert.equal(await p.locator(tid('chat-input')).inputValue(), long, 'the long text is back in the box');

    // The next successful message clears the notice.
    await sendChat(p, 'shorter now');
    await messageWithText(f, 'shorter now').waitFor();
    await p.waitForFunction(() => document.querySelector('[data-testid="composer-error"]').textContent.trim() === '');
    assert.equal(await p.locator(tid('chat-input')).inputValue(), '');
    assertClean(F, P);
  });
});
