// The lead facilitator (protocol "The lead facilitator"): the roster's Lead badge, the lead's
// key rotation behind a confirmation, the new link shown once and kept in place of the old key,
// what everyone (and each demoted facilitator) is told, and the lead taking authority back
// after a co-facilitator's takeover.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, memberActions, joinAsFacilitator, tid, createRoom, joinAsParticipant, within,
} from './helpers.mjs';

// A short facilitator grace, so that a co-facilitator takes over quickly.
const suite = browserSuite({ env: { HUDDLE_FACILITATOR_GRACE_SECS: '1' } });
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

const row = (page, name) => page.locator(tid('member')).filter({ has: page.locator(tid('member-name'), { hasText: name, exact: true }) });
const storedKey = (page, roomId) => page.evaluate((r) => JSON.parse(sessionStorage.getItem('huddle.key.' + r)), roomId);
const keyOf = (link) => new URL(link, 'http://x').hash.replace(/^#key=/, '');

test('the lead: a badge, a key rotation behind a confirmation, the new link once, everyone told', { timeout: 150000 }, async () => {
  await within(145000, 'lead and key rotation', async () => {
    const room = await createRoom(suite.base(), { title: 'Key night', kind: 'group' });
    const oldKey = keyOf(room.facilitator_link);
    const L = await open();
    const G = await open();
    const P = await open();
    const l = L.page;
    const g = G.page;
    const p = P.page;
    await joinAsFacilitator(l, suite.base(), room.facilitator_link, 'Lee'); // first with the key: the lead
    await joinAsFacilitator(g, suite.base(), room.facilitator_link, 'Gil'); // a second key holder
    await joinAsParticipant(p, suite.base(), room.join_link, 'Pat');

    // The Lead badge: on Lee only, an element of its own outside the name, marked and announced.
    for (const page of [l, g, p]) {
      await row(page, 'Pat').waitFor();
      const lee = row(page, 'Lee');
      const badge = lee.locator(tid('member-lead'));
      assert.equal(await badge.count(), 1);
      assert.equal(await badge.getAttribute('data-role'), 'lead');
      assert.equal(await badge.textContent(), 'Lead');
      assert.equal(await lee.locator(tid('member-name')).textContent(), 'Lee');
      assert.equal(await lee.locator(`${tid('member-name')} [data-role]`).count(), 0);
      assert.match(await lee.ariaSnapshot(), /Lee.*role: Facilitator.*Lead facilitator/);
      assert.equal(await row(page, 'Gil').locator(tid('member-role')).getAttribute('data-role'), 'facilitator');
      assert.equal(await row(page, 'Gil').locator(tid('member-lead')).count(), 0);
      assert.equal(await row(page, 'Pat').locator('[data-role]:not(li)').count(), 0);
    }
    // Only the lead has the key tool.
    assert.equal(await l.locator(tid('key-tool')).isVisible(), true);
    assert.equal(await g.locator(tid('key-tool')).isVisible(), false);
    assert.equal(await p.locator(tid('key-tool')).isVisible(), false);
    // The lead may act on another facilitator.
    const gilMenu = await memberActions(l, 'Gil');
    assert.equal(await gilMenu.locator(tid('member-demote')).count(), 1);
    await gilMenu.locator(tid('member-actions')).locator('summary').click();

    // Rotate: a confirmation that says who becomes a participant; cancel first.
    await openTool(l, 'key');
    await l.locator(tid('rotate-key')).click();
    const warning = l.locator(tid('rotate-key-warning'));
    await warning.waitFor();
    assert.match(await warning.textContent(), /every other facilitator becomes a participant/);
    assert.match(await warning.textContent(), /Gil/);
    await l.locator(tid('rotate-key-cancel')).click();
    await l.locator(tid('rotate-key-confirm-box')).waitFor({ state: 'hidden' });
    assert.equal(await l.evaluate(() => document.activeElement.dataset.testid), 'rotate-key');
    assert.equal(await storedKey(l, room.room_id), oldKey, 'nothing changed yet');
    await l.locator(tid('rotate-key')).click();
    await l.locator(tid('rotate-key-confirm')).click();

    // The lead gets the new link, once, to copy; it replaces the key this tab keeps.
    const box = l.locator(tid('new-key-box'));
    await box.waitFor();
    const link = await l.locator(tid('new-fac-link')).inputValue();
    assert.match(link, new RegExp(`/\\?room=${room.room_id}#key=[0-9a-f]+$`));
    const newKey = keyOf(link);
    assert.notEqual(newKey, oldKey);
    assert.equal(await l.evaluate(() => document.activeElement.dataset.testid), 'new-fac-link');
    assert.equal(await storedKey(l, room.room_id), newKey, 'sessionStorage holds the new key');
    assert.equal(await l.locator(tid('fac-link')).inputValue(), link, 'the facilitator link in the settings too');
    await L.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.base() });
    await l.locator(tid('new-fac-link-copy')).click();
    await l.locator(tid('toast')).filter({ hasText: /copied|copy it/ }).first().waitFor();
    await l.locator(tid('toast-key-rotated')).filter({ hasText: 'You changed the facilitator key' }).waitFor();
    assert.match(await l.locator(tid('toast-key-rotated')).textContent(), /Gil is a participant now/);
    await l.locator(tid('new-key-done')).click();
    await box.waitFor({ state: 'hidden' });
    assert.equal(await l.locator(tid('new-fac-link')).inputValue(), '', 'shown once: gone after Done');

    // Everyone is told; the transcript keeps a line of it.
    await p.locator(tid('toast-key-rotated')).filter({ hasText: 'The lead facilitator changed the facilitator key' }).waitFor();
    assert.match(await p.locator(tid('toast-key-rotated')).textContent(), /Gil is a participant now/);
    await p.locator(tid('system-note')).filter({ hasText: 'The lead facilitator changed the facilitator key' }).waitFor();
    // The demoted facilitator: a participant now, told so, and the dead key forgotten.
    await g.locator(tid('banner-key-rotated')).filter({ hasText: 'You are a participant now' }).waitFor();
    await g.locator(tid('fac-panel')).waitFor({ state: 'hidden' });
    assert.equal(await storedKey(g, room.room_id), null);
    assert.equal(await row(p, 'Gil').locator(tid('member-role')).count(), 0);
    assert.equal(await row(p, 'Lee').locator(tid('member-lead')).count(), 1, 'the lead stays the lead');

    // The old link no longer joins; the new one does (as a facilitator, not the lead).
    const X = await open();
    await X.page.goto(suite.base() + room.facilitator_link);
    await X.page.locator(tid('join-name')).fill('Old link');
    await X.page.locator(tid('join-submit')).click();
    await X.page.locator(tid('status-title')).filter({ hasText: 'This facilitator link is not valid' }).waitFor();
    const Y = await open();
    await joinAsFacilitator(Y.page, suite.base(), new URL(link).pathname + new URL(link).search + new URL(link).hash, 'Yan');
    assert.equal(await Y.page.locator(tid('key-tool')).isVisible(), false);
    await row(Y.page, 'Lee').locator(tid('member-lead')).waitFor();
    assertClean(L, G, P, Y);
  });
});

test('a co-facilitator takes over while the lead is away; the lead comes back and leads again', { timeout: 90000 }, async () => {
  await within(85000, 'lead returned', async () => {
    const room = await createRoom(suite.base(), { title: 'Takeover', kind: 'group' });
    const L = await open();
    const C = await open();
    const l = L.page;
    const c = C.page;
    await joinAsFacilitator(l, suite.base(), room.facilitator_link, 'Lee');
    await joinAsParticipant(c, suite.base(), room.join_link, 'Cam');
    await (await memberActions(l, 'Cam')).locator(tid('member-promote')).click();
    await c.locator(tid('fac-panel')).waitFor();

    // The lead drops out for a few seconds: Cam takes over (facilitator_takeover).
    await l.evaluate(() => window.__huddle.dropSocket(5000));
    await c.locator(tid('toast-room-notice')).filter({ hasText: 'Cam is now facilitating' }).waitFor({ timeout: 15000 });
    await c.waitForFunction(() => window.__huddle.state().me.role === 'facilitator');
    // Back: the lead is the lead again, and says so (lead_returned).
    const back = /Lee is back and leading; Cam is co-facilitating again/;
    await c.locator(tid('toast-room-notice')).filter({ hasText: back }).waitFor({ timeout: 20000 });
    await c.locator(tid('system-note')).filter({ hasText: back }).waitFor();
    await c.waitForFunction(() => window.__huddle.state().me.role === 'co_facilitator');
    await l.locator(tid('system-note')).filter({ hasText: back }).waitFor();
    await row(c, 'Lee').locator(tid('member-lead')).waitFor();
    assert.equal(await l.locator(tid('key-tool')).isVisible(), true);
    assertClean(L, C);
  });
});
