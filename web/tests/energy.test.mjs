// Anonymous energy checks in Chromium: below k answers (3 by default) nobody — the facilitator
// included — is sent a level, only "n answers so far — waiting for more answers"; the k-th
// answer shows the aggregate to everyone. Every WebSocket frame each page receives is checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, joinAsFacilitator, joinAsParticipant, tid, createRoom, within } from './helpers.mjs';

const suite = browserSuite();
const open = (opts) => suite.open(opts);

/** Record every text frame the page's WebSocket receives. */
function recordFrames(page) {
  const frames = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    if (typeof f.payload === 'string') frames.push(f.payload);
  }));
  return frames;
}

/** The energy_check events (and welcome snapshots' checks) among recorded frames. */
function checksIn(frames) {
  const out = [];
  for (const text of frames) {
    const m = JSON.parse(text);
    if (m.type === 'event' && m.event.kind === 'energy_check') out.push(m.event.check);
    if (m.type === 'event' && m.event.kind === 'session_ended') out.push(...m.event.summary.energy_checks);
    if (m.type === 'welcome' && m.room.energy_check) out.push(m.room.energy_check);
  }
  return out;
}

test('an energy check in a 2-person room reveals nothing; the third answer shows the aggregate', { timeout: 90000 }, async () => {
  await within(85000, 'energy', async () => {
    const room = await createRoom(suite.base(), { title: 'Energy', kind: 'group' });
    const F = await open();
    const A = await open();
    const f = F.page;
    const a = A.page;
    const fFrames = recordFrames(f);
    const aFrames = recordFrames(a);
    await joinAsFacilitator(f, suite.base(), room.facilitator_link);
    await joinAsParticipant(a, suite.base(), room.join_link, 'Alex');
    await f.locator(tid('member')).nth(1).waitFor();

    await f.locator(tid('energy-open')).click();
    await a.locator(tid('energy-2')).click();
    await f.locator(tid('energy-5')).click();
    await a.locator(tid('energy-mine')).filter({ hasText: '2' }).waitFor();
    await f.locator(tid('energy-mine')).filter({ hasText: '5' }).waitFor();
    // The count arrives (batched, within seconds), alone.
    for (const p of [f, a]) {
      const agg = p.locator('[data-testid="energy-body"] [data-testid="energy-aggregate"][data-count="2"]');
      await agg.waitFor();
      assert.equal(await agg.locator(tid('energy-count')).textContent(), '2 answers so far — waiting for more answers');
      assert.equal(await p.locator('[data-testid="energy-body"] meter').count(), 0, 'no levels drawn');
      assert.doesNotMatch(await p.locator(tid('energy-body')).textContent(), /average/);
    }
    for (const [who, frames] of [['facilitator', fFrames], ['participant', aFrames]]) {
      const checks = checksIn(frames);
      assert.ok(checks.some((c) => c.count === 2), `${who} saw the count`);
      for (const c of checks) assert.equal(c.distribution, null, `${who} was sent levels: ${JSON.stringify(c)}`);
      for (const text of frames) assert.doesNotMatch(text, /"distribution":\[/);
    }

    // A third person answers: the k-th answer shows everyone the aggregate.
    const B = await open();
    const b = B.page;
    await joinAsParticipant(b, suite.base(), room.join_link, 'Blair');
    await b.locator(tid('energy-3')).click();
    for (const p of [f, a, b]) {
      const count = p.locator('[data-testid="energy-body"] [data-testid="energy-count"]');
      await count.filter({ hasText: '3 answers · average 3.3' }).waitFor();
      assert.equal(await p.locator('[data-testid="energy-body"] meter').count(), 5);
    }
    const revealed = checksIn(fFrames).filter((c) => c.distribution);
    assert.deepEqual(revealed.map((c) => [c.count, c.distribution]), [[3, [0, 1, 1, 0, 1]]]);
    for (const P of [F, A, B]) assert.deepEqual(P.problems, []);
  });
});

test('closing below k and the summary show only the count', { timeout: 60000 }, async () => {
  await within(55000, 'energy close', async () => {
    const room = await createRoom(suite.base(), { title: 'Energy close', kind: 'group' });
    const F = await open();
    const A = await open();
    const f = F.page;
    const a = A.page;
    const aFrames = recordFrames(a);
    await joinAsFacilitator(f, suite.base(), room.facilitator_link);
    await joinAsParticipant(a, suite.base(), room.join_link, 'Alex');
    await f.locator(tid('energy-open')).click();
    await a.locator(tid('energy-1')).click();
    await f.locator(tid('energy-4')).click();
    await f.locator(tid('energy-close')).click();
    await a.locator(tid('energy-count')).filter({ hasText: '2 answers — too few to show anonymously' }).waitFor();
    await f.locator(tid('end-session')).click();
    await f.locator(tid('end-session-confirm')).click();
    for (const p of [f, a]) {
      await p.locator(tid('summary-energy-item')).filter({ hasText: '2 answers — too few to show anonymously' }).waitFor();
      assert.equal(await p.locator('[data-testid="summary-energy"] meter').count(), 0);
    }
    for (const text of aFrames) assert.doesNotMatch(text, /"distribution":\[/);
    for (const P of [F, A]) assert.deepEqual(P.problems, []);
  });
});
