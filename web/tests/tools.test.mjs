// The facilitator's tools, one by one, as people in the room see them; and
// the lobby (scheduled start) and paused (no facilitator) states.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, memberActions, joinAsFacilitator, tid, createRoom, joinAsParticipant, acceptGroundRules,
  sendChat, messageWithText, parseClock, within, waitEnabled,
} from './helpers.mjs';

// A short facilitator grace so the "paused" state shows up quickly.
const ORGANIZER_KEY = 'tools-organizer-key';
const suite = browserSuite({ env: { HUDDLE_FACILITATOR_GRACE_SECS: '1', HUDDLE_ORGANIZER_KEY: ORGANIZER_KEY } });
const open = (opts) => suite.open(opts);

async function openTool(page, tool) {
  const d = page.locator(`details[data-tool="${tool}"]`);
  if (!(await d.evaluate((el) => el.open))) await d.locator('> summary').click();
}

const clockSecs = async (page) => parseClock((await page.locator(tid('session-clock')).textContent()).replace(/^\D+/, ''));

test('facilitator tools, each seen from the room', { timeout: 240000 }, async () => {
  await within(230000, 'tools', async () => {
    const room = await createRoom(suite.base(), { title: 'Tools tour', kind: 'group', ends_at: Date.now() + 10 * 60000 });
    const F = await open();
    const A = await open();
    const B = await open();
    const f = F.page;
    const a = A.page;
    const b = B.page;
    await joinAsFacilitator(f, suite.base(), room.facilitator_link);
    await joinAsParticipant(a, suite.base(), room.join_link, 'Alex');
    await joinAsParticipant(b, suite.base(), room.join_link, 'Blair');
    await f.locator(tid('member')).nth(2).waitFor();

    // Session clock from the scheduled end.
    await a.locator(tid('session-clock')).filter({ hasText: 'Time left' }).waitFor();
    const left = await clockSecs(a);
    assert.ok(left > 9 * 60 && left <= 10 * 60, `about 10 minutes left (${left})`);

    // Welcome message and pinned announcement.
    await openTool(f, 'welcome');
    await f.locator(tid('welcome-input')).fill('Glad you are here tonight.');
    await f.locator(tid('welcome-save')).click();
    await a.locator(tid('welcome-message')).filter({ hasText: 'Glad you are here tonight.' }).waitFor();
    await f.locator(tid('pin-input')).fill('Break at half past');
    await f.locator(tid('pin-save')).click();
    await a.locator(tid('banner-pinned')).filter({ hasText: 'Break at half past' }).waitFor();
    await f.locator(tid('pin-clear')).click();
    await a.locator(tid('banner-pinned')).waitFor({ state: 'detached' });

    // New ground rules must be accepted again; "show rules" only shows them.
    await openTool(f, 'rules');
    await f.locator(tid('rules-editor')).fill('Be kind\nStay curious\n');
    await f.locator(tid('rules-save')).click();
    await a.locator(tid('rules-dialog')).waitFor();
    assert.deepEqual(await a.locator(tid('rule')).allTextContents(), ['Be kind', 'Stay curious']);
    assert.equal(await a.locator(tid('rules-accept')).isVisible(), true);
    await acceptGroundRules(a);
    await acceptGroundRules(b);
    await f.locator(tid('rules-show')).click();
    await a.locator(tid('rules-dialog')).waitFor();
    assert.equal(await a.locator(tid('rules-accept')).isVisible(), false);
    await a.locator(tid('rules-close')).click();
    await b.locator(tid('rules-dialog')).waitFor();
    await b.locator(tid('rules-close')).click();
    await waitEnabled(a, tid('chat-input'));

    // Raise hand, call on.
    await a.locator(tid('raise-hand')).click();
    await f.locator(tid('hand')).filter({ hasText: 'Alex' }).waitFor();
    await a.locator(`${tid('raise-hand')}[aria-pressed="true"]`).waitFor();
    await f.locator(tid('hand')).filter({ hasText: 'Alex' }).locator(tid('hand-callon')).click();
    await a.locator(tid('toast-called-on')).waitFor();
    await f.locator(tid('hand')).waitFor({ state: 'detached' });
    await b.locator(tid('raise-hand')).click();
    await f.locator(tid('hand')).filter({ hasText: 'Blair' }).locator(tid('hand-lower')).click();
    await b.locator(`${tid('raise-hand')}[aria-pressed="false"]`).waitFor();

    // Invite to share; the participant declines.
    await (await memberActions(f, 'Alex')).locator(tid('member-invite')).click();
    await a.locator(tid('share-invite-toast')).waitFor();
    await a.locator(tid('share-decline')).click();
    await f.locator(tid('toast')).filter({ hasText: 'would rather not share' }).waitFor();

    // A support request and a distress signal; urgent first in the inbox.
    await a.locator(tid('support-open')).click();
    await a.locator(tid('support-note')).fill('Rough night, could use a word');
    await a.locator(tid('support-send')).click();
    await a.locator(tid('support-sent')).filter({ hasText: 'privately' }).waitFor();
    await f.locator(tid('support-item')).filter({ hasText: 'Rough night' }).waitFor();
    await b.locator(tid('distress-button')).click();
    await b.locator(tid('crisis-dialog')).waitFor();
    assert.ok(await b.locator(tid('crisis-item')).count() >= 1);
    await b.locator(tid('crisis-alerted')).waitFor();
    await f.locator('[data-testid="support-item"][data-urgent="true"]').filter({ hasText: 'Blair' }).waitFor();
    assert.equal(await f.locator(tid('support-item')).first().getAttribute('data-urgent'), 'true');
    await b.locator(tid('crisis-close')).click();
    await b.locator(tid('crisis-dialog')).waitFor({ state: 'hidden' });
    // The header button always shows the resources too.
    await a.locator(tid('crisis-button')).click();
    await a.locator(tid('crisis-dialog')).waitFor();
    await a.locator(tid('crisis-close')).click();

    // Open a one-on-one from Alex's request.
    const popup = f.context().waitForEvent('page', { timeout: 5000 }).catch(() => null);
    await f.locator(tid('support-item')).filter({ hasText: 'Rough night' }).locator(tid('support-open-1on1')).click();
    await a.locator(tid('banner-one-on-one')).waitFor();
    const href = await a.locator(tid('one-on-one-join')).getAttribute('href');
    assert.match(href, /^\/\?room=[A-Za-z0-9_-]+$/);
    await f.locator(tid('support-1on1-link')).waitFor();
    const fhref = await f.locator(tid('support-1on1-link')).getAttribute('href');
    assert.match(fhref, /^\/\?room=[A-Za-z0-9_-]+#key=/);
    const tab = await popup;
    if (tab) {
      tab.setDefaultTimeout(10000);
      await tab.locator(tid('fac-panel')).waitFor();
      await tab.close();
    }

    // Personal mute: Alex hides Blair's messages (for Alex only).
    await (await memberActions(a, 'Blair')).locator(tid('member-personal-mute')).click();
    await a.locator(tid('member')).filter({ hasText: 'Blair' }).locator(tid('member-hidden')).waitFor();
    await sendChat(b, 'Blair speaking');
    await messageWithText(f, 'Blair speaking').waitFor();
    await sendChat(f, 'Fac after Blair');
    await messageWithText(a, 'Fac after Blair').waitFor();
    assert.equal(await messageWithText(a, 'Blair speaking').count(), 0);
    await (await memberActions(a, 'Blair')).locator(tid('member-personal-mute')).click();
    await a.locator(tid('member')).filter({ hasText: 'Blair' }).locator(tid('member-hidden')).waitFor({ state: 'detached' });

    // Parking lot: the facilitator parks a point; participants may park once allowed.
    await f.locator(tid('parking-input')).fill('Staffing ratios');
    await f.locator(tid('parking-add')).click();
    await a.locator(tid('parking-item')).filter({ hasText: 'Staffing ratios' }).waitFor();
    assert.equal(await a.locator(tid('parking-form')).isVisible(), false);
    await openTool(f, 'settings');
    await f.locator(tid('parking-toggle')).check();
    await a.locator(tid('parking-form')).waitFor();
    await sendChat(a, 'Off topic: the cafeteria');
    const offTopic = messageWithText(a, 'Off topic: the cafeteria');
    await offTopic.locator(`${tid('message-more')} > summary`).click();
    await offTopic.locator(tid('msg-park')).click();
    await f.locator(tid('parking-item')).filter({ hasText: 'the cafeteria' }).waitFor();
    await f.locator(tid('parking-item')).filter({ hasText: 'Staffing ratios' }).locator(tid('parking-unpark')).click();
    await a.locator(tid('parking-item')).filter({ hasText: 'Staffing ratios' }).waitFor({ state: 'detached' });

    // Slow mode.
    await f.locator(tid('slowmode-select')).selectOption('30');
    await f.locator(tid('slowmode-apply')).click();
    await a.locator(tid('composer-why')).filter({ hasText: 'Slow mode' }).waitFor();
    // Alex posted less than 30 s ago: the next message is refused, and kept.
    await sendChat(a, 'too soon in slow mode');
    await a.locator(tid('composer-error')).filter({ hasText: /slow mode/i }).waitFor();
    assert.equal(await a.locator(tid('chat-input')).inputValue(), 'too soon in slow mode', 'refused text is given back');
    assert.equal(await messageWithText(f, 'too soon in slow mode').count(), 0);
    await a.locator(tid('chat-input')).fill('');
    await f.locator(tid('slowmode-select')).selectOption('0');
    await f.locator(tid('slowmode-apply')).click();
    await a.locator(tid('composer-why')).waitFor({ state: 'detached' });

    // Lock: nobody new gets in.
    await f.locator(tid('lock-toggle')).check();
    await a.waitForFunction(() => window.__huddle.state().info.locked === true);
    const C = await open();
    await C.page.goto(suite.base() + room.join_link);
    await C.page.locator(tid('join-name')).fill('Casey');
    await C.page.locator(tid('join-submit')).click();
    await C.page.locator(tid('status-title')).filter({ hasText: 'locked' }).waitFor();
    await f.locator(tid('lock-toggle')).uncheck();
    await a.waitForFunction(() => window.__huddle.state().info.locked === false);
    await C.page.locator(tid('status-retry')).click();
    await acceptGroundRules(C.page);
    await f.locator(tid('member')).filter({ hasText: 'Casey' }).waitFor();
    C.problems.length = 0; // the refused join logged nothing bad, but keep C out of the final check

    // Promote, demote.
    await (await memberActions(f, 'Alex')).locator(tid('member-promote')).click();
    await a.locator(tid('fac-panel')).waitFor();
    await f.locator(tid('member')).filter({ hasText: 'Alex' }).locator(tid('member-role')).filter({ hasText: 'Co-facilitator' }).waitFor();
    await (await memberActions(f, 'Alex')).locator(tid('member-demote')).click();
    await a.locator(tid('fac-panel')).waitFor({ state: 'hidden' });

    // Airtime.
    await openTool(f, 'airtime');
    await f.locator(tid('airtime-refresh')).click();
    await f.locator(tid('airtime-table')).waitFor();
    assert.ok(await f.locator(tid('airtime-row')).count() >= 4);

    // Extend the session.
    const before = await clockSecs(a);
    await f.locator(tid('extend-5')).click();
    await a.waitForFunction(([b4]) => {
      const t = document.querySelector('[data-testid="session-clock"]').textContent.replace(/^\D+/, '');
      const [m, s] = t.split(':').map(Number);
      return m * 60 + s > b4 + 240;
    }, [before]);

    // Timers: pause, resume, +1 min, cancel.
    await f.locator(tid('timer-name')).fill('Speaker');
    await f.locator(tid('timer-minutes')).fill('2');
    await f.locator(tid('timer-start')).click();
    const ftimer = f.locator(tid('timer')).filter({ hasText: 'Speaker' });
    const atimer = a.locator(tid('timer')).filter({ hasText: 'Speaker' });
    await atimer.waitFor();
    await ftimer.locator(tid('timer-pause')).click();
    await atimer.filter({ hasText: 'paused' }).waitFor();
    const paused1 = parseClock(await atimer.locator(tid('timer-remaining')).textContent());
    await a.waitForTimeout(1200);
    assert.equal(parseClock(await atimer.locator(tid('timer-remaining')).textContent()), paused1, 'a paused timer stands still');
    await ftimer.locator(tid('timer-resume')).click();
    await atimer.filter({ hasNotText: 'paused' }).waitFor();
    await ftimer.locator(tid('timer-extend')).click();
    await a.waitForFunction(() => {
      const el = [...document.querySelectorAll('[data-testid="timer"]')].find((t) => t.textContent.includes('Speaker'));
      const [m, s] = el.querySelector('[data-testid="timer-remaining"]').textContent.split(':').map(Number);
      return m * 60 + s > 150;
    });
    // A second timer while the first runs (the form once read the running timer's name).
    await f.locator(`${tid('timer-form')} ${tid('timer-name')}`).fill('Round two');
    await f.locator(tid('timer-start')).click();
    await a.locator(tid('timer')).filter({ hasText: 'Round two' }).waitFor();
    assert.equal(await f.locator(tid('toast-error')).count(), 0);
    await f.locator(tid('timer')).filter({ hasText: 'Round two' }).locator(tid('timer-cancel')).click();
    await ftimer.locator(tid('timer-cancel')).click();
    await atimer.waitFor({ state: 'detached' });

    // A custom energizer with its own timer; then closed.
    await openTool(f, 'energizers');
    await f.locator(tid('energizer-select')).selectOption('');
    await f.locator(tid('energizer-custom')).fill('Name one thing that made you smile this week.');
    await f.locator(tid('energizer-duration')).fill('1');
    await f.locator(tid('energizer-push')).click();
    await a.locator(tid('energizer-prompt')).filter({ hasText: 'made you smile' }).waitFor();
    await a.locator(tid('timer')).first().waitFor();
    await f.locator(tid('energizer-close')).click();
    await a.locator(tid('energizer-state')).filter({ hasText: 'closed' }).waitFor();
    assert.equal(await a.locator(tid('energizer-answer-form')).isVisible(), false);

    // A written takeaway: edit, then remove.
    await openTool(f, 'takeaway');
    await f.locator(tid('takeaway-tag')).selectOption('action');
    await f.locator(tid('takeaway-text')).fill('Check in with the night team');
    await f.locator(tid('takeaway-submit')).click();
    const ahl = a.locator(tid('highlight')).filter({ hasText: 'night team' });
    await ahl.locator(tid('highlight-tag')).filter({ hasText: 'Action' }).waitFor();
    const fhl = f.locator(tid('highlight')).filter({ hasText: 'night team' });
    await fhl.locator(tid('highlight-edit')).click();
    await f.locator(tid('highlight-edit-text')).fill('Check in with the whole night team');
    await f.locator(tid('highlight-edit-tag')).selectOption('consensus');
    await f.locator(tid('highlight-edit-save')).click();
    await a.locator(tid('highlight')).filter({ hasText: 'whole night team' }).locator(tid('highlight-tag')).filter({ hasText: 'Consensus' }).waitFor();
    await f.locator(tid('highlight')).filter({ hasText: 'whole night team' }).locator(tid('highlight-remove')).click();
    await a.locator(tid('highlight')).filter({ hasText: 'night team' }).waitFor({ state: 'detached' });

    // Delete a message.
    await sendChat(b, 'Please delete me');
    await messageWithText(a, 'Please delete me').waitFor();
    const del = messageWithText(f, 'Please delete me');
    await del.locator(`${tid('message-more')} > summary`).click();
    await del.locator(tid('msg-delete')).click();
    await messageWithText(a, 'Please delete me').waitFor({ state: 'detached' });

    // Energy check opened then closed.
    await f.locator(tid('energy-open')).click();
    await a.locator(tid('energy-5')).waitFor();
    await f.locator(tid('energy-close')).click();
    await a.locator(tid('energy-body')).filter({ hasText: 'closed' }).waitFor();

    // Waiting room toggle.
    await openTool(f, 'waiting');
    await f.locator(tid('waiting-toggle')).check();
    await a.waitForFunction(() => window.__huddle.state().info.waiting_room === true);
    await f.locator(tid('waiting-toggle')).uncheck();

    // Hand over: Alex becomes the facilitator, the creator a co-facilitator.
    await (await memberActions(f, 'Alex')).locator(tid('member-handover')).click();
    await a.locator(tid('fac-panel')).waitFor();
    await a.locator(tid('member')).filter({ hasText: 'Alex' }).locator(tid('member-role')).filter({ hasText: /^Facilitator$/ }).waitFor();
    await f.locator(tid('member')).filter({ hasText: 'Fac' }).locator(tid('member-role')).filter({ hasText: 'Co-facilitator' }).waitFor();

    for (const p of [F, A, B]) {
      assert.deepEqual(p.problems, []);
      assert.deepEqual(p.dialogs, []);
    }
  });
});

test('lobby before a scheduled start, and paused without a facilitator', { timeout: 90000 }, async () => {
  await within(85000, 'lobby/paused', async () => {
    // Far enough ahead that two page loads on a busy machine still land before the start.
    const room = await createRoom(suite.base(), { title: 'Later', kind: 'group', starts_at: Date.now() + 10000 });
    const F = await open();
    const P = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await P.page.goto(suite.base() + room.join_link);
    await P.page.locator(tid('join-name')).fill('Early bird');
    await P.page.locator(tid('join-submit')).click();
    await P.page.locator(tid('status-title')).filter({ hasText: 'not started' }).waitFor();
    await P.page.locator(tid('status-countdown')).waitFor();
    const secs = parseClock(await P.page.locator(tid('status-countdown')).textContent());
    assert.ok(secs >= 0 && secs <= 11, `lobby countdown (${secs})`);
    // Let in automatically at the start.
    await P.page.locator(tid('view-room')).waitFor({ timeout: 20000 });
    await acceptGroundRules(P.page);

    // The facilitator goes away: after the grace period the room pauses.
    await F.context.close();
    await P.page.locator(tid('banner-paused')).waitFor({ timeout: 15000 });
    assert.match(await P.page.locator(tid('banner-paused')).textContent(), /A facilitator will be back shortly; you can read but not post/);
    assert.equal(await P.page.locator(tid('chat-input')).isDisabled(), true);

    // The facilitator comes back: the room opens again.
    const F2 = await open();
    await joinAsFacilitator(F2.page, suite.base(), room.facilitator_link, 'Fac again');
    await P.page.locator(tid('banner-paused')).waitFor({ state: 'detached' });
    await waitEnabled(P.page, tid('chat-input'));
    assert.deepEqual(P.problems, []);
  });
});

test('session warnings near the scheduled end; extending clears them', { timeout: 60000 }, async () => {
  await within(55000, 'warnings', async () => {
    const room = await createRoom(suite.base(), { title: 'Nearly done', kind: 'group', ends_at: Date.now() + 4.5 * 60000 });
    const F = await open();
    const P = await open();
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await joinAsParticipant(P.page, suite.base(), room.join_link, 'Sam');
    await P.page.locator(tid('banner-warning')).filter({ hasText: '5 minutes left' }).waitFor();
    await F.page.locator(tid('banner-warning')).waitFor();
    await F.page.locator(tid('extend-15')).click();
    await P.page.locator(tid('banner-warning')).waitFor({ state: 'detached' });
    const left = parseClock((await P.page.locator(tid('session-clock')).textContent()).replace(/^\D+/, ''));
    assert.ok(left > 19 * 60, `extended by 15 minutes (${left} s left)`);
    assert.deepEqual(P.problems, []);
  });
});

test('drop-ins are listed on the landing page; a declined guest is told kindly', { timeout: 60000 }, async () => {
  await within(55000, 'drop-in', async () => {
    const room = await createRoom(suite.base(), { title: 'Wellness drop-in 7pm', kind: 'drop_in', capacity: 8, waiting_room: true },
      { 'X-Huddle-Organizer-Key': ORGANIZER_KEY });
    const F = await open();
    const G = await open({ viewport: { width: 375, height: 700 } });
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link, 'Host');
    await G.page.goto(suite.base() + '/');
    const item = G.page.locator(tid('dropin')).filter({ hasText: 'Wellness drop-in 7pm' });
    await item.waitFor();
    // Passers-by see whether there is room, not who or how many are in (issue 22 B.3).
    assert.match(await item.textContent(), /open now/);
    assert.match(await item.textContent(), /a facilitator admits each person/);
    assert.doesNotMatch(await item.textContent(), /\bhere\b|\bof 8\b/);
    await item.locator(tid('dropin-join')).click();
    await G.page.locator(tid('join-room-title')).filter({ hasText: 'Wellness drop-in 7pm' }).waitFor();
    await G.page.locator(tid('join-name')).fill('Guest');
    await G.page.locator(tid('join-submit')).click();
    await G.page.locator(tid('status-title')).filter({ hasText: 'waiting room' }).waitFor();
    await F.page.locator(tid('waiting-item')).filter({ hasText: 'Guest' }).locator(tid('waiting-decline')).click();
    await G.page.locator(tid('status-title')).filter({ hasText: 'not admitted' }).waitFor();
    await G.page.waitForTimeout(1500); // no reconnect loop afterwards
    assert.equal(await G.page.evaluate(() => window.__huddle.phase()), 'declined');
    assert.equal(await F.page.locator(tid('waiting-item')).count(), 0);
    assert.deepEqual(G.problems, []);
  });
});
