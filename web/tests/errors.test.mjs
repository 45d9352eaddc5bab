// Refusals the room model added (protocol "Additions within v1"): a display name too like one
// already in the room (name_taken) keeps the person on the name form; text with control or
// bidi-override characters (invalid_text) is refused with the server's reason, naming the field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, joinAsFacilitator, joinAsParticipant, tid, createRoom, acceptGroundRules, sendChat, messageWithText, within,
} from './helpers.mjs';

const suite = browserSuite();
const open = (opts) => suite.open(opts);

test('a name already in use: back on the form, told why, focus on the name; another name gets in', { timeout: 90000 }, async () => {
  await within(85000, 'name taken', async () => {
    const room = await createRoom(suite.base(), { title: 'Names', kind: 'group' });
    const F = await open();
    const P = await open();
    const f = F.page;
    const p = P.page;
    await joinAsFacilitator(f, suite.base(), room.facilitator_link, 'Sam');
    await p.goto(suite.base() + room.join_link);
    for (const taken of ['SAM', 'Ｓａｍ']) { // case, full-width letters
      await p.locator(tid('join-name')).fill(taken);
      await p.locator(tid('join-submit')).click();
      const err = p.locator(tid('join-error'));
      await err.filter({ hasText: 'already uses that name' }).waitFor();
      assert.equal(await p.locator(tid('view-join')).isVisible(), true, 'still on the form');
      assert.equal(await p.evaluate(() => document.activeElement.dataset.testid), 'join-name');
      assert.equal(await p.locator(tid('join-name')).inputValue(), taken, 'the name is kept to edit');
      assert.equal(await p.locator(tid('join-name')).getAttribute('aria-invalid'), 'true');
    }
    // A reload shows the form again rather than the same refusal.
    await p.reload();
    await p.locator(tid('view-join')).waitFor();
    await p.locator(tid('join-name')).fill('Sammy');
    await p.locator(tid('join-submit')).click();
    await acceptGroundRules(p);
    assert.equal(await p.locator(tid('join-name')).getAttribute('aria-invalid'), null);
    // After a refusal without a reload, the page joins again with one set of controls.
    const Q = await open();
    const q = Q.page;
    await q.goto(suite.base() + room.join_link);
    await q.locator(tid('join-name')).fill('sammy');
    await q.locator(tid('join-submit')).click();
    await q.locator(tid('join-error')).filter({ hasText: 'already uses that name' }).waitFor();
    await q.locator(tid('join-name')).fill('Quinn');
    await q.locator(tid('join-submit')).click();
    await acceptGroundRules(q);
    await sendChat(q, 'hello from Quinn');
    await messageWithText(f, 'hello from Quinn').waitFor();
    await q.waitForTimeout(300);
    assert.equal(await messageWithText(f, 'hello from Quinn').count(), 1, 'sent once');
    assert.equal(await q.locator(tid('toast-error')).count(), 0);
    assert.equal(await q.locator(tid('chat-input')).inputValue(), '');
    for (const x of [F, P, Q]) assert.deepEqual(x.problems, []);
  });
});

test('text with control or bidi-override characters: the server\'s reason, naming the field', { timeout: 90000 }, async () => {
  await within(85000, 'invalid text', async () => {
    const room = await createRoom(suite.base(), { title: 'Text', kind: 'group' });
    const F = await open();
    const f = F.page;
    await joinAsFacilitator(f, suite.base(), room.facilitator_link, 'Fay');

    // A facilitator tool: the timer name.
    await f.locator(tid('timer-name')).fill('Round\u202Eevil');
    await f.locator(tid('timer-start')).click();
    const t = f.locator(tid('toast-invalid-text'));
    await t.waitFor();
    assert.match(await t.textContent(), /timer name has control or bidi-override characters/);
    assert.equal(await t.getAttribute('role'), 'alert');
    assert.equal(await f.locator(tid('timer')).count(), 0);

    // The composer: next to it, the text kept.
    await sendChat(f, 'look\u202Ehere');
    await f.locator(tid('composer-error')).filter({ hasText: /message has control or bidi-override characters/ }).waitFor();
    assert.equal(await f.locator(tid('chat-input')).inputValue(), 'look\u202Ehere');

    // A participant's private support note: the reason, and not "sending" any more.
    const P = await open();
    const p = P.page;
    await joinAsParticipant(p, suite.base(), room.join_link, 'Pat');
    await p.locator(tid('support-open')).click();
    await p.locator(tid('support-note')).fill('please\u202Ehelp');
    await p.locator(tid('support-send')).click();
    await p.locator(tid('toast-invalid-text')).filter({ hasText: /note has control or bidi-override characters/ }).waitFor();
    await p.locator(tid('support-sent')).filter({ hasText: 'was not sent' }).waitFor();
    assert.equal(await f.locator(tid('support-item')).count(), 0);

    // Creating a session: the title.
    const C = await open();
    await C.page.goto(suite.base() + '/');
    await C.page.locator(tid('create-title')).fill('Night\u202Eshift');
    await C.page.locator(tid('create-submit')).click();
    await C.page.locator(tid('create-error')).filter({ hasText: /title has control or bidi-override characters/ }).waitFor();
    assert.deepEqual(F.problems, []);
    assert.deepEqual(P.problems, []);
    // The refused POST is logged by the browser as a failed resource; nothing else.
    assert.deepEqual(C.problems.filter((m) => !/Failed to load resource/.test(m)), []);
  });
});
