// End-to-end tests of the web client against a real Huddle server, in
// Debian's Chromium (three browser contexts = three people).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  browserSuite, memberActions, joinAsFacilitator, tid, createRoom, joinAsParticipant, acceptGroundRules,
  sendChat, messageWithText, parseClock, ensureScreenshotDir, fullScreenshot, within, waitEnabled,
} from './helpers.mjs';

const suite = browserSuite();
const open = (opts) => suite.open(opts);

/** No page errors, no console errors (CSP violations land there), no dialogs. */
function assertClean(...ps) {
  for (const p of ps) {
    assert.deepEqual(p.problems, [], 'page errors / console errors');
    assert.deepEqual(p.dialogs, [], 'unexpected dialogs');
  }
}

test('a whole facilitated session across three browsers', { timeout: 180000 }, async () => {
  await within(170000, 'whole session', async () => {
    const F = await open();
    const A = await open();
    const B = await open({ viewport: { width: 375, height: 812 } }); // a phone
    const f = F.page;
    const a = A.page;
    const b = B.page;

    // --- The facilitator creates a session with a waiting room, from the landing page.
    await f.goto(suite.base() + '/');
    await f.locator(tid('create-title')).fill('Night shift debrief');
    await f.locator(tid('create-name')).fill('Dr Fac');
    await f.locator(tid('create-waiting')).check();
    await f.locator(tid('create-submit')).click();
    await f.locator(tid('view-room')).waitFor();
    await f.locator(tid('fac-panel')).waitFor();
    const link = await f.locator(tid('share-link')).inputValue();
    assert.match(link, /\/\?room=[A-Za-z0-9_-]+$/);
    assert.equal(await f.locator(tid('waiting-toggle')).isChecked(), true);

    // --- Two participants join by the link and wait to be admitted.
    for (const [p, name] of [[a, 'Alex'], [b, 'Blair']]) {
      await p.goto(link);
      await p.locator(tid('join-name')).fill(name);
      await p.locator(tid('join-submit')).click();
      await p.locator(tid('status-title')).filter({ hasText: 'waiting room' }).waitFor();
    }
    await f.locator(tid('waiting-item')).nth(1).waitFor();
    assert.equal(await f.locator(tid('waiting-item')).count(), 2);
    for (const name of ['Alex', 'Blair']) {
      await f.locator(tid('waiting-item')).filter({ hasText: name }).locator(tid('waiting-admit')).click();
    }
    await f.locator(tid('waiting-item')).waitFor({ state: 'detached' });

    // --- Participants accept the ground rules (required before posting).
    for (const p of [a, b]) {
      await p.locator(tid('view-room')).waitFor();
      await acceptGroundRules(p);
    }
    await f.locator(tid('member')).nth(2).waitFor();

    // --- Chat both ways.
    await sendChat(a, 'Hello from Alex');
    await sendChat(f, 'Welcome, everyone');
    for (const p of [f, a, b]) {
      await messageWithText(p, 'Hello from Alex').waitFor();
      await messageWithText(p, 'Welcome, everyone').waitFor();
    }
    await sendChat(b, 'Hi all, Blair here');
    await messageWithText(f, 'Blair here').waitFor();

    // --- A reaction.
    await messageWithText(b, 'Hello from Alex').locator('[data-testid="react"][data-emoji="👍"]').click();
    await messageWithText(a, 'Hello from Alex').locator('[data-testid="react"][data-emoji="👍"] .react-count').filter({ hasText: '1' }).waitFor();

    // --- A timer counts down for both participants.
    await f.locator(tid('timer-name')).fill('Round 1');
    await f.locator(tid('timer-minutes')).fill('1');
    await f.locator(tid('timer-start')).click();
    for (const p of [a, b]) {
      const rem = p.locator(tid('timer')).filter({ hasText: 'Round 1' }).locator(tid('timer-remaining'));
      await p.waitForFunction((el) => /^\d+:\d\d$/.test(el.textContent), await rem.elementHandle());
      const first = parseClock(await rem.textContent());
      assert.ok(first > 50 && first <= 60, `timer starts near 1:00 (saw ${first})`);
      await p.waitForTimeout(2200);
      const second = parseClock(await rem.textContent());
      assert.ok(second < first, `timer counts down (${first} → ${second})`);
    }

    // --- Energizer: picked from the library, answered by a participant.
    await f.locator('details[data-tool="energizers"] > summary').click();
    await f.locator(tid('energizer-load')).click();
    await f.waitForFunction(() => document.querySelector('[data-testid="energizer-select"]').options.length > 1);
    await f.locator(tid('energizer-select')).selectOption('one-word');
    await f.locator(tid('energizer-push')).click();
    await a.locator(tid('energizer-card')).waitFor();
    assert.equal(await a.locator(tid('energizer-title')).textContent(), 'One-word check-in');
    await a.locator(tid('energizer-answer-input')).fill('Tired-but-hopeful');
    await a.locator(tid('energizer-answer-submit')).click();
    await f.locator(tid('energizer-answer')).filter({ hasText: 'Tired-but-hopeful' }).waitFor();
    await b.locator(tid('energizer-answer')).filter({ hasText: 'Alex' }).waitFor();

    // --- The facilitator highlights Alex's message; Blair +1s it; everyone sees 1.
    const msg = messageWithText(f, 'Hello from Alex');
    await msg.locator(`${tid('message-more')} > summary`).click();
    await msg.locator(tid('msg-highlight-takeaway')).click();
    for (const p of [f, a, b]) await p.locator(tid('highlight')).filter({ hasText: 'Hello from Alex' }).waitFor();
    await b.locator(tid('highlight')).filter({ hasText: 'Hello from Alex' }).locator(tid('highlight-agree')).click();
    for (const p of [f, a, b]) {
      await p.locator(tid('highlight')).filter({ hasText: 'Hello from Alex' }).locator('[data-testid="highlight-count"][data-count="1"]').waitFor();
    }
    assert.equal(await b.locator(tid('highlight-agree')).getAttribute('aria-pressed'), 'true');

    // --- Energy check: both answer, the anonymous aggregate shows 2.
    await f.locator(tid('energy-open')).click();
    await a.locator(tid('energy-3')).click();
    await b.locator(tid('energy-4')).click();
    for (const p of [f, a, b]) await p.locator('[data-testid="energy-aggregate"][data-count="2"]').waitFor();
    assert.match(await f.locator(tid('energy-count')).textContent(), /^2 answers/);
    await a.locator(tid('energy-mine')).filter({ hasText: '3' }).waitFor();

    // Screenshots of a full room (facilitator on a laptop, participant on a phone).
    const dir = ensureScreenshotDir();
    await fullScreenshot(f, path.join(dir, 'facilitator.png'));
    await fullScreenshot(b, path.join(dir, 'participant.png'));

    // --- Mute Blair: Blair sees the banner and cannot post.
    await (await memberActions(f, 'Blair')).locator(tid('member-mute')).click();
    await b.locator(tid('banner-muted')).waitFor();
    assert.equal(await b.locator(tid('chat-input')).isDisabled(), true);
    assert.equal(await b.locator(tid('chat-send')).isDisabled(), true);
    await f.locator(tid('member')).filter({ hasText: 'Blair' }).locator(tid('member-muted')).waitFor();

    // --- Remove Blair: Blair sees that they were removed.
    const blair = await memberActions(f, 'Blair');
    await blair.locator(tid('member-remove')).click();
    await (await memberActions(f, 'Blair')).locator(tid('member-remove-confirm')).click();
    await b.locator(tid('banner-removed')).waitFor();
    await f.locator(tid('member')).filter({ hasText: 'Blair' }).waitFor({ state: 'detached' });
    await a.locator(tid('member')).filter({ hasText: 'Blair' }).waitFor({ state: 'detached' });
    assert.equal(await b.locator(tid('chat-input')).isDisabled(), true);

    // --- End the session: every remaining page shows the summary.
    await f.locator(tid('end-session')).click();
    await f.locator(tid('end-session-confirm')).click();
    for (const p of [f, a]) {
      await p.locator(tid('summary-panel')).waitFor();
      await p.locator(tid('summary-highlight')).filter({ hasText: 'Hello from Alex' }).filter({ hasText: '1 agree' }).waitFor();
      await p.locator(tid('summary-energy-item')).filter({ hasText: '2 answers' }).waitFor();
      await p.locator(tid('summary-energizer')).filter({ hasText: 'One-word check-in' }).waitFor();
      await p.locator(tid('banner-closed')).waitFor();
      assert.equal(await p.locator(tid('chat-input')).isDisabled(), true);
    }
    await f.locator(tid('summary-download')).waitFor();
    assert.equal(await a.locator(tid('summary-download')).isVisible(), false);

    // The facilitator downloads the Markdown summary.
    const [download] = await Promise.all([f.waitForEvent('download'), f.locator(tid('summary-download')).click()]);
    const file = await download.path();
    const { readFile } = await import('node:fs/promises');
    const md = await readFile(file, 'utf8');
    assert.match(md, /Hello from Alex/);

    assertClean(F, A, B);
  });
});

test('chat text is rendered as text, never as HTML', { timeout: 60000 }, async () => {
  await within(55000, 'xss', async () => {
    const room = await createRoom(suite.base(), { title: 'Text only', kind: 'group' });
    const F = await open();
    const P = await open();
    // The facilitator link carries the key in the fragment.
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    assert.equal(new URL(F.page.url()).hash, '', 'the key is taken out of the address bar');

    const evilName = '<b onmouseover=alert(2)>Bold</b>';
    await joinAsParticipant(P.page, suite.base(), room.join_link, evilName);
    const payload = '<img src=x onerror=alert(1)>';
    await sendChat(P.page, payload);
    for (const { page } of [F, P]) {
      const m = page.locator(tid('message')).filter({ has: page.locator(tid('message-text')) }).last();
      await m.waitFor();
      assert.equal(await m.locator(tid('message-text')).textContent(), payload);
      assert.equal(await m.locator(tid('message-name')).textContent(), evilName);
      assert.equal(await page.locator(`${tid('message-list')} img`).count(), 0);
      assert.equal(await page.locator(`${tid('message-list')} b`).count(), 0);
      assert.equal(await page.locator(`${tid('roster-list')} b`).count(), 0);
    }
    // Give an onerror a moment to fire, if it ever could.
    await P.page.waitForTimeout(500);
    assert.deepEqual(F.dialogs, []);
    assert.deepEqual(P.dialogs, []);
    assertClean(F, P);
  });
});

test('reconnect: missed messages arrive exactly once, also after a reload', { timeout: 90000 }, async () => {
  await within(85000, 'reconnect', async () => {
    const room = await createRoom(suite.base(), { title: 'Flaky wifi', kind: 'group' });
    const F = await open();
    const P = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await joinAsParticipant(P.page, suite.base(), room.join_link, 'Pat');
    await sendChat(F.page, 'before the drop');
    await messageWithText(P.page, 'before the drop').waitFor();
    const memberBefore = await P.page.evaluate(() => window.__huddle.state().me.member_id);

    // Drop the participant's socket and keep it offline ~2.5 s.
    await P.page.evaluate(() => window.__huddle.dropSocket(2500));
    await P.page.locator(tid('banner-reconnecting')).waitFor();
    await F.page.locator(tid('member')).filter({ hasText: 'Pat' }).locator(tid('member-presence')).filter({ hasText: 'away' }).waitFor();
    for (const t of ['missed one', 'missed two', 'missed three']) {
      await sendChat(F.page, t);
      await messageWithText(F.page, t).waitFor();
    }
    assert.equal(await P.page.evaluate(() => window.__huddle.isOpen()), false, 'still offline while the messages were sent');

    // Auto-reconnect resumes: each message exactly once, in order.
    await P.page.locator(tid('banner-reconnecting')).waitFor({ state: 'detached', timeout: 15000 });
    await messageWithText(P.page, 'missed three').waitFor();
    const texts = async () => P.page.locator(tid('message-text')).allTextContents();
    assert.deepEqual(await texts(), ['before the drop', 'missed one', 'missed two', 'missed three']);
    assert.equal(await P.page.evaluate(() => window.__huddle.state().me.member_id), memberBefore, 'same member after resume');
    assert.equal(await P.page.locator(tid('banner-history-reset')).count(), 0);
    await F.page.locator(tid('member')).filter({ hasText: 'Pat' }).locator(tid('member-presence')).filter({ hasText: 'online' }).waitFor();

    // Posting still works after the resume.
    await sendChat(P.page, 'back again');
    await messageWithText(F.page, 'back again').waitFor();

    // A page reload resumes too (state and resume token live in sessionStorage).
    await sendChat(F.page, 'right before reload');
    await messageWithText(P.page, 'right before reload').waitFor();
    await P.page.reload();
    await P.page.locator(tid('view-room')).waitFor();
    await sendChat(F.page, 'after reload');
    await messageWithText(P.page, 'after reload').waitFor();
    assert.deepEqual(await texts(), ['before the drop', 'missed one', 'missed two', 'missed three', 'back again', 'right before reload', 'after reload']);
    assert.equal(await P.page.evaluate(() => window.__huddle.state().me.member_id), memberBefore, 'same member after reload');
    await waitEnabled(P.page, tid('chat-input'));

    // History the server cannot replay (another epoch): a fresh snapshot, a
    // small notice, and still no duplicates.
    await P.page.evaluate(() => { window.__huddle.state().epoch = 'an-epoch-long-gone'; window.__huddle.dropSocket(300); });
    await P.page.locator(tid('banner-history-reset')).waitFor();
    assert.match(await P.page.locator(tid('banner-history-reset')).textContent(), /some history could not be recovered/);
    assert.deepEqual(await texts(), ['before the drop', 'missed one', 'missed two', 'missed three', 'back again', 'right before reload', 'after reload']);
    assert.equal(await P.page.evaluate(() => window.__huddle.state().me.member_id), memberBefore);
    assertClean(F, P);
  });
});
