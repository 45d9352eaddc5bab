// Nobody is alone: a drop-in whose facilitator never came holds posting ("The facilitator will
// open the room") and, past the grace, shows everyone where help is; distress there shows the
// crisis lines and the on-call answer — "nobody is on call" at first, then "a peer supporter has
// seen your request" once someone on call at /oncall takes it, and a private room they share.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, tid, createRoom, joinAsParticipant, within } from './helpers.mjs';

const ORG = 'org-key-for-tests';
const ONCALL = 'on-call-key-for-tests';
const suite = browserSuite({
  env: { HUDDLE_ORGANIZER_KEY: ORG, HUDDLE_ONCALL_KEY: ONCALL, HUDDLE_FACILITATOR_GRACE_SECS: '1' },
});
const open = (opts) => suite.open(opts);

test('a drop-in with no facilitator: held, then help shown; distress reaches the on-call desk', { timeout: 120000 }, async () => {
  await within(115000, 'on-call desk', async () => {
    const room = await createRoom(suite.base(), { title: 'Wellness drop-in', kind: 'drop_in' }, { 'X-Huddle-Organizer-Key': ORG });
    const P = await open();
    const p = P.page;
    await joinAsParticipant(p, suite.base(), room.join_link, 'Riley', { acceptRules: false });
    await p.locator(tid('rules-dialog')).waitFor({ state: 'visible' });
    await p.locator(tid('rules-accept')).click();
    await p.locator(tid('rules-dialog')).waitFor({ state: 'hidden' });
    // Held: the composer says why, and a banner tells everyone.
    await p.locator(tid('composer-why')).filter({ hasText: 'The facilitator will open the room' }).waitFor();
    assert.equal(await p.locator(tid('chat-input')).isDisabled(), true);
    await p.locator(tid('banner-awaiting')).waitFor();
    // Past the grace: where help is, for everyone.
    await p.locator(tid('banner-unattended')).waitFor();
    await p.locator(tid('unattended-crisis')).click();
    const dialog = p.locator(tid('crisis-dialog'));
    await dialog.waitFor();
    assert.ok(await p.locator(tid('crisis-item')).count() >= 2, 'the crisis lines are listed');
    await p.locator(tid('crisis-close')).click();

    // Distress with nobody on call: the crisis lines and a plain answer.
    await p.locator(tid('distress-button')).click();
    await dialog.waitFor();
    await p.locator(tid('crisis-alerted')).filter({ hasText: 'peer supporters on call' }).waitFor();
    await p.locator(tid('oncall-status')).filter({ hasText: 'No peer supporter is on call right now' }).waitFor();
    await p.locator(tid('crisis-close')).click();

    // A supporter goes on call: a wrong key is refused, the right one shows the open request.
    const S = await open();
    const s = S.page;
    await s.goto(suite.base() + '/oncall');
    await s.locator(tid('desk-name')).fill('Sam');
    await s.locator(tid('desk-key')).fill('not the key');
    await s.locator(tid('desk-go')).click();
    await s.locator(tid('desk-error')).filter({ hasText: 'not right' }).waitFor();
    await s.locator(tid('desk-key')).fill(ONCALL);
    await s.locator(tid('desk-go')).click();
    const alert = s.locator(tid('desk-alert')).filter({ hasText: 'Riley' });
    await alert.waitFor();
    assert.match(await alert.textContent(), /In distress/);
    assert.match(await alert.textContent(), /Wellness drop-in/);
    await alert.locator(tid('desk-ack')).click();
    await alert.locator(tid('desk-acked')).filter({ hasText: 'Taken by Sam' }).waitFor();
    // The person hears it.
    await p.locator(tid('toast-support-update')).filter({ hasText: 'A peer supporter (Sam) has seen your request' }).waitFor();

    // A private room: the person is offered the link.
    await alert.locator(tid('desk-open-room')).click();
    await alert.locator(tid('desk-room-opened')).waitFor();
    await p.locator(tid('one-on-one-join')).waitFor();
    assert.deepEqual(P.problems, []);
    // The desk page asks /api/me whether a peer supporter is signed in: signed out, that is a
    // 401, which Chromium reports as a failed resource. Nothing else may go wrong.
    assert.deepEqual(S.problems.filter((m) => !/status of 401/.test(m)), []);
  });
});
