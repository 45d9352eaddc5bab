// Issue 15, items 3 and 8, in Chromium: the crisis lines are links (tel:, sms:, chat) with their
// hours, the emergency line first, then the province or territory the person picked (kept across a
// reload), then the national ones; and every time is shown in the deployment's zone (here
// America/Halifax, while the browser runs in its own zone), labelled.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { browserSuite, tid, createRoom, within, repoDir } from './helpers.mjs';

const ORGANIZER_KEY = 'crisis-web-organizer-key';
// Not the browser's zone (UTC here); a zone whose rules the browser's and Node's tz data agree on.
const ZONE = 'America/Halifax';
const suite = browserSuite({
  env: {
    HUDDLE_ORGANIZER_KEY: ORGANIZER_KEY,
    HUDDLE_TIME_ZONE: ZONE,
    HUDDLE_CRISIS_RESOURCES: path.join(repoDir, 'deploy', 'crisis-resources.example.json'),
  },
});

/** The labels of the crisis list, in the order shown, and each item's region. */
async function crisisOrder(page) {
  return page.locator(tid('crisis-item')).evaluateAll((items) => items.map((li) => ({
    label: li.querySelector('[data-testid="crisis-label"]').textContent,
    region: li.dataset.region,
  })));
}

/** h:mm AM/PM of `ms` in the deployment's zone, as Node's own Intl says (the oracle). */
function zonedClock(ms) {
  return new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hour: 'numeric', minute: '2-digit' }).format(new Date(ms));
}

const spaces = (s) => s.replace(/\s+/g, ' ');

test('crisis lines: emergency first, then my province (kept across a reload), then national; tel:/sms:/chat links with hours', { timeout: 60000 }, async () => {
  await within(55000, 'crisis lines', async () => {
    const P = await open();
    const p = P.page;
    await p.goto(suite.base() + '/');
    await p.locator(tid('crisis-button')).click();
    await p.locator(tid('crisis-dialog')).waitFor({ state: 'visible' });
    await p.locator(tid('crisis-item')).nth(6).waitFor();

    // Before a choice: 911, then the national lines (988, Hope for Wellness), then the provinces'.
    let order = await crisisOrder(p);
    assert.equal(order.length, 7);
    assert.match(order[0].label, /911|Emergency/);
    assert.match(order[1].label, /988 Suicide Crisis Helpline/);
    assert.deepEqual(order.slice(1, 3).map((o) => o.region), ['CA', 'CA']);
    assert.deepEqual(order.slice(3).map((o) => o.region), ['ON', 'BC', 'AB', 'QC']);

    // The ways to reach each line are links; hours are shown.
    const first = p.locator(tid('crisis-item')).first();
    assert.equal(await first.locator(tid('crisis-call')).getAttribute('href'), 'tel:911');
    const line988 = p.locator(tid('crisis-item')).nth(1);
    assert.equal(await line988.locator(tid('crisis-call')).getAttribute('href'), 'tel:988');
    assert.equal(await line988.locator(tid('crisis-text')).getAttribute('href'), 'sms:988');
    assert.match(await line988.locator(tid('crisis-meta')).textContent(), /24\/7.*English, French/);
    const chat = p.locator(tid('crisis-chat')).first();
    assert.equal(await chat.getAttribute('href'), 'https://www.hopeforwellness.ca/');
    assert.equal(await chat.getAttribute('target'), '_blank');
    assert.equal(await p.locator(`${tid('crisis-item')}[data-region="ON"] ${tid('crisis-call')}`).getAttribute('href'), 'tel:18008516606');

    // Pick Quebec: 911, then Quebec's line, then the national ones, then the others.
    await p.locator(tid('crisis-region')).selectOption('QC');
    order = await crisisOrder(p);
    assert.match(order[0].label, /Emergency/);
    assert.deepEqual(order.map((o) => o.region), ['CA', 'QC', 'CA', 'CA', 'ON', 'BC', 'AB']);

    // A reload keeps the choice (this browser's localStorage), and the order with it.
    await p.reload();
    await p.locator(tid('crisis-button')).click();
    await p.locator(tid('crisis-item')).nth(6).waitFor();
    assert.equal(await p.locator(tid('crisis-region')).inputValue(), 'QC');
    assert.deepEqual((await crisisOrder(p)).map((o) => o.region), ['CA', 'QC', 'CA', 'CA', 'ON', 'BC', 'AB']);
    assert.equal(await p.evaluate(() => localStorage.getItem('huddle.region')), 'QC');

    // Another choice moves another province up; the emergency line stays first.
    await p.locator(tid('crisis-region')).selectOption('BC');
    assert.deepEqual((await crisisOrder(p)).map((o) => o.region), ['CA', 'BC', 'CA', 'CA', 'ON', 'AB', 'QC']);
    assert.deepEqual(P.problems, []);
  });
});

test('times are shown in the deployment\'s zone, labelled, not the browser\'s', { timeout: 60000 }, async () => {
  await within(55000, 'time zone', async () => {
    const P = await open();
    const p = P.page;
    await p.goto(suite.base() + '/');
    const browserZone = await p.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    assert.notEqual(browserZone, ZONE, 'the test needs a browser in another zone than the server');

    // A session three days ahead at 23:10 UTC: 7:10 PM (AST) or 8:10 PM (ADT) in Halifax.
    const day = 86_400_000;
    const startsAt = Math.floor(Date.now() / day) * day + 3 * day + 23 * 3_600_000 + 10 * 60_000;
    const expected = zonedClock(startsAt);
    const browserClock = new Intl.DateTimeFormat('en-US', { timeZone: browserZone, hour: 'numeric', minute: '2-digit' }).format(new Date(startsAt));
    assert.notEqual(spaces(expected), spaces(browserClock));
    const room = await createRoom(suite.base(), { title: 'Evening circle', kind: 'group', starts_at: startsAt, ends_at: startsAt + 3_600_000 });

    // The name form says when it starts and ends.
    await p.goto(suite.base() + room.join_link);
    const when = p.locator(tid('join-room-when'));
    await when.filter({ hasText: 'Starts' }).waitFor();
    const text = spaces(await when.textContent());
    assert.ok(text.includes(`Starts `) && text.includes(`${spaces(expected)} AT`), text);
    assert.ok(text.includes(`${spaces(zonedClock(startsAt + 3_600_000))} AT`), text);
    assert.ok(!text.includes(spaces(browserClock)), text);

    // The lobby's opening time too.
    await p.locator(tid('join-name')).fill('Early');
    await p.locator(tid('join-submit')).click();
    const msg = p.locator(tid('status-message')).filter({ hasText: 'It opens at' });
    await msg.waitFor();
    assert.ok(spaces(await msg.textContent()).includes(`${spaces(expected)} AT`), await msg.textContent());

    // The directory: an open drop-in says until when, in the deployment's zone.
    const endsAt = Date.now() + 2 * 3_600_000 + 7 * 60_000;
    await createRoom(suite.base(), { title: 'Zoned drop-in', kind: 'drop_in', ends_at: endsAt }, { 'X-Huddle-Organizer-Key': ORGANIZER_KEY });
    const D = await open();
    await D.page.goto(suite.base() + '/');
    const item = D.page.locator(tid('dropin')).filter({ hasText: 'Zoned drop-in' });
    await item.waitFor();
    const itemText = spaces(await item.textContent());
    assert.ok(itemText.includes(`${spaces(zonedClock(endsAt))} AT`), itemText);
    // The create form says in which zone its times are read.
    assert.equal(await D.page.locator(tid('create-starts-zone')).textContent(), '(AT)');
    assert.deepEqual(P.problems, []);
    assert.deepEqual(D.problems, []);
  });
});

const open = (opts) => suite.open(opts);
