// Security issue 22, transport and HTTP items as the web client meets them: a drop-in is
// listed only with the organizer key (asked for on the landing page), the directory shows no
// live counts, and the facilitator key travels in headers, never in a URL.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, joinAsFacilitator, tid, createRoom, within } from './helpers.mjs';

const ORGANIZER_KEY = 'web-organizer-key-22';
const suite = browserSuite({ env: { HUDDLE_ORGANIZER_KEY: ORGANIZER_KEY } });
const open = (opts) => suite.open(opts);

function assertClean(...ps) {
  for (const p of ps) {
    assert.deepEqual(p.problems, [], 'page errors / console errors');
    assert.deepEqual(p.dialogs, [], 'unexpected dialogs');
  }
}

test('the landing page asks for the organizer key to list a drop-in', { timeout: 90000 }, async () => {
  await within(85000, 'organizer key', async () => {
    const O = await open();
    const o = O.page;
    await o.goto(suite.base() + '/');
    // A group needs no key: the field is not even shown.
    assert.equal(await o.locator(tid('create-organizer')).isVisible(), false);
    await o.locator(tid('create-kind')).selectOption('drop_in');
    await o.locator(tid('create-organizer')).waitFor();
    await o.locator(tid('create-title')).fill('Thursday wellness drop-in');

    // No key: the form says so and sends nothing.
    await o.locator(tid('create-submit')).click();
    await o.locator(tid('create-error')).filter({ hasText: 'organizer key' }).waitFor();

    // A wrong key: the server's refusal is shown.
    await o.locator(tid('create-organizer-key')).fill('not the key');
    const [refused] = await Promise.all([
      o.waitForResponse((r) => r.url().endsWith('/api/rooms') && r.request().method() === 'POST'),
      o.locator(tid('create-submit')).click(),
    ]);
    assert.equal(refused.status(), 403);
    await o.locator(tid('create-error')).filter({ hasText: 'organizer key' }).waitFor();

    // The right key, in a header (never in the URL): the organizer lands in the room.
    await o.locator(tid('create-organizer-key')).fill(ORGANIZER_KEY);
    const [created] = await Promise.all([
      o.waitForRequest((r) => r.url().endsWith('/api/rooms') && r.method() === 'POST'),
      o.locator(tid('create-submit')).click(),
    ]);
    assert.equal(created.headers()['x-huddle-organizer-key'], ORGANIZER_KEY);
    assert.ok(!created.url().includes(ORGANIZER_KEY));
    await o.locator(tid('view-room')).waitFor();
    await o.locator(tid('fac-panel')).waitFor();

    // A passer-by finds it in the directory: a seat left, no counts.
    const G = await open({ viewport: { width: 375, height: 700 } });
    await G.page.goto(suite.base() + '/');
    const item = G.page.locator(tid('dropin')).filter({ hasText: 'Thursday wellness drop-in' });
    await item.waitFor();
    assert.match(await item.textContent(), /open now/);
    assert.doesNotMatch(await item.textContent(), /\bhere\b/);
    assert.equal(await item.locator(tid('dropin-join')).textContent(), 'Join');
    // The refused attempt is the only thing the console noted.
    assert.deepEqual(O.problems.filter((m) => !m.includes('status of 403')), []);
    assert.deepEqual(O.dialogs, []);
    assertClean(G);
  });
});

test('a drop-in made without the organizer key is never listed', { timeout: 30000 }, async () => {
  await within(25000, 'unlisted', async () => {
    const r = await fetch(`${suite.base()}/api/rooms`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Sneaky listing', kind: 'drop_in' }),
    });
    assert.equal(r.status, 403);
    const list = await (await fetch(`${suite.base()}/api/rooms?kind=drop_in`)).json();
    assert.ok(!list.some((room) => room.title === 'Sneaky listing'));
  });
});

test('the facilitator key travels in headers, never in a URL (summary download)', { timeout: 90000 }, async () => {
  await within(85000, 'key in headers', async () => {
    const room = await createRoom(suite.base(), { title: 'Keyed summary', kind: 'group' });
    const F = await open();
    const urls = [];
    F.page.on('request', (r) => urls.push(r.url().split('#')[0]));
    await joinAsFacilitator(F.page, suite.base(), room.facilitator_link);
    await F.page.locator(tid('end-session')).click();
    await F.page.locator(tid('end-session-confirm')).click();
    await F.page.locator(tid('summary-panel')).waitFor();
    const [request, download] = await Promise.all([
      F.page.waitForRequest((r) => r.url().includes('/summary.md')),
      F.page.waitForEvent('download'),
      F.page.locator(tid('summary-download')).click(),
    ]);
    assert.ok(await download.path());
    assert.equal(request.headers()['x-facilitator-key'], room.facilitator_key);
    assert.deepEqual(urls.filter((u) => u.includes(room.facilitator_key)), [], 'no URL carries the key');
    // The server takes it from the header only.
    const viaUrl = await fetch(`${suite.base()}/api/rooms/${room.room_id}/summary.md?key=${room.facilitator_key}`);
    assert.equal(viaUrl.status, 403);
    assertClean(F);
  });
});
