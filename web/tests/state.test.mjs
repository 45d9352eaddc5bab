// Unit tests of the room model (js/state.js runs in Node as well: no DOM).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromSnapshot, applyEvent, needsRules, isFac } from '../js/state.js';

function snapshot() {
  return {
    info: { id: 'r1', title: 'T', kind: 'group', status: 'open', starts_at: null, ends_at: null, capacity: null, locked: false, waiting_room: false, slow_mode_secs: 0, members_can_park: false, pinned: null, welcome_message: null },
    rules: { version: 1, rules: ['Be kind'] },
    roster: [
      { id: 'f', name: 'Fac', role: 'facilitator', online: true, muted: false, accepted_rules: 1, creator: true },
      { id: 'p', name: 'Pat', role: 'participant', online: true, muted: false, accepted_rules: 0, creator: false },
    ],
    messages: [],
    timers: [{ id: 't0', name: 'old', state: 'expired', deadline: null, remaining_ms: null, duration_ms: 1000 }],
    energizer: null,
    highlights: [],
    energy_check: null,
    hands: [],
    parking_lot: [],
    waiting: [],
    support_requests: [],
    crisis_resources: [{ label: 'Call', contact: '911' }],
    personally_muted: [],
    seq: 10,
    epoch: 'e1',
  };
}

const you = { member_id: 'p', role: 'participant', resume_token: 'tok' };
const chat = (id, seq, text = 'hi') => ({ kind: 'chat', message: { id, seq, from: 'f', name: 'Fac', text, ts: 1 } });

test('snapshot: only live timers, seq and epoch kept', () => {
  const s = fromSnapshot(snapshot(), you);
  assert.equal(s.timers.length, 0);
  assert.equal(s.seq, 10);
  assert.equal(s.epoch, 'e1');
  assert.equal(s.me.role, 'participant');
  assert.ok(isFac('co_facilitator') && !isFac('participant'));
});

test('ground rules: needed until accepted, needed again after an update', () => {
  const s = fromSnapshot(snapshot(), you);
  assert.equal(needsRules(s), true);
  applyEvent(s, 11, { kind: 'member_updated', member: { ...s.roster[1], accepted_rules: 1 } });
  assert.equal(needsRules(s), false);
  const r = applyEvent(s, 12, { kind: 'rules_updated', rules: { version: 2, rules: ['A', 'B'] } });
  assert.equal(needsRules(s), true);
  assert.deepEqual(r.effects, [{ kind: 'rules', updated: true }]);
});

test('a chat message is added once, even if applied twice', () => {
  const s = fromSnapshot(snapshot(), you);
  applyEvent(s, 11, chat('m1', 11));
  applyEvent(s, 11, chat('m1', 11));
  assert.equal(s.messages.length, 1);
});

test('reactions toggle per member', () => {
  const s = fromSnapshot(snapshot(), you);
  applyEvent(s, 11, chat('m1', 11));
  applyEvent(s, 12, { kind: 'reaction', message_id: 'm1', emoji: '👍', member_id: 'p', on: true });
  applyEvent(s, 13, { kind: 'reaction', message_id: 'm1', emoji: '👍', member_id: 'f', on: true });
  assert.deepEqual({ ...s.messages[0].reactions }, { '👍': ['p', 'f'] });
  applyEvent(s, 14, { kind: 'reaction', message_id: 'm1', emoji: '👍', member_id: 'p', on: false });
  applyEvent(s, 15, { kind: 'reaction', message_id: 'm1', emoji: '👍', member_id: 'f', on: false });
  assert.deepEqual({ ...s.messages[0].reactions }, {});
});

test('timers: cancelled and expired ones leave the list', () => {
  const s = fromSnapshot(snapshot(), you);
  const t = { id: 't1', name: 'Round', state: 'running', deadline: 5000, remaining_ms: null, duration_ms: 5000 };
  applyEvent(s, 11, { kind: 'timer', timer: t });
  applyEvent(s, 12, { kind: 'timer', timer: { ...t, state: 'paused', deadline: null, remaining_ms: 3000 } });
  assert.equal(s.timers.length, 1);
  assert.equal(s.timers[0].state, 'paused');
  applyEvent(s, 13, { kind: 'timer', timer: { ...t, state: 'cancelled' } });
  assert.equal(s.timers.length, 0);
  applyEvent(s, 14, { kind: 'timer', timer: { ...t, id: 't2' } });
  const r = applyEvent(s, 15, { kind: 'timer_expired', timer_id: 't2', name: 'Round' });
  assert.equal(s.timers.length, 0);
  assert.equal(r.effects[0].kind, 'toast');
});

test('member left: roster, hands and a note; removal of me is an effect', () => {
  const s = fromSnapshot(snapshot(), you);
  applyEvent(s, 11, { kind: 'hands', queue: ['p'] });
  const r = applyEvent(s, 12, { kind: 'member_left', member_id: 'p', reason: 'removed' });
  assert.deepEqual(s.hands, []);
  assert.equal(s.roster.length, 1);
  assert.deepEqual(r.effects, [{ kind: 'i_left', reason: 'removed' }]);
  const s2 = fromSnapshot(snapshot(), you);
  applyEvent(s2, 11, { kind: 'member_left', member_id: 'f', reason: 'left' });
  assert.equal(s2.notes.length, 1);
  assert.match(s2.notes[0].text, /Fac left/);
});

test('energizer answers replace the same member\'s earlier answer', () => {
  const s = fromSnapshot(snapshot(), you);
  const run = { id: 'run1', energizer_id: null, title: 'E', prompt: 'P', timer_id: null, open: true, answers: [] };
  applyEvent(s, 11, { kind: 'energizer_started', run });
  applyEvent(s, 12, { kind: 'energizer_answer', run_id: 'run1', answer: { member_id: 'p', name: 'Pat', text: 'one' } });
  applyEvent(s, 13, { kind: 'energizer_answer', run_id: 'run1', answer: { member_id: 'p', name: 'Pat', text: 'two' } });
  assert.deepEqual(s.energizer.answers.map((a) => a.text), ['two']);
  applyEvent(s, 14, { kind: 'energizer_answer', run_id: 'other', answer: { member_id: 'f', name: 'Fac', text: 'x' } });
  assert.equal(s.energizer.answers.length, 1);
  applyEvent(s, 15, { kind: 'energizer_closed', run_id: 'run1' });
  assert.equal(s.energizer.open, false);
});

test('session end keeps the summary and closes the room', () => {
  const s = fromSnapshot(snapshot(), you);
  const summary = { room_id: 'r1', title: 'T', started_at: 1, ended_at: 2, highlights: [], energy_checks: [], energizers: [], parking_lot: [] };
  applyEvent(s, 11, { kind: 'session_ended', summary });
  assert.equal(s.info.status, 'closed');
  assert.deepEqual(s.summary, summary);
});

test('unknown event kinds are ignored', () => {
  const s = fromSnapshot(snapshot(), you);
  const r = applyEvent(s, 11, { kind: 'from_the_future', x: 1 });
  assert.equal(r.dirty.size, 0);
  assert.equal(r.effects.length, 0);
});

// Issue 22 F.4: reaction names come from other people (through the server). Names that are
// also Object.prototype members must neither throw nor reach the prototype, and reactions
// that arrive later still count normally.
test('reactions named like Object.prototype members are plain reactions', () => {
  const names = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'];
  const s = fromSnapshot(snapshot(), you);
  applyEvent(s, 11, chat('m1', 11));
  let seq = 12;
  for (const e of names) {
    const r = applyEvent(s, seq++, { kind: 'reaction', message_id: 'm1', emoji: e, member_id: 'p', on: true });
    assert.deepEqual(r.effects, [{ kind: 'reaction', message_id: 'm1' }], e);
  }
  const reactions = s.messages[0].reactions;
  for (const e of names) {
    assert.ok(Object.prototype.hasOwnProperty.call(reactions, e), `${e} is an own entry`);
    assert.deepEqual([...reactions[e]], ['p'], e);
  }
  // Nothing leaked onto the prototype of ordinary objects.
  assert.equal({}.p, undefined);
  assert.equal(typeof {}.toString, 'function');
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  // A normal reaction afterwards, and taking the odd ones back.
  applyEvent(s, seq++, { kind: 'reaction', message_id: 'm1', emoji: '👍', member_id: 'f', on: true });
  assert.deepEqual([...reactions['👍']], ['f']);
  for (const e of names) applyEvent(s, seq++, { kind: 'reaction', message_id: 'm1', emoji: e, member_id: 'p', on: false });
  assert.deepEqual(Object.keys(s.messages[0].reactions), ['👍']);
  // The state still survives the sessionStorage round trip.
  const again = JSON.parse(JSON.stringify(s));
  assert.deepEqual(again.messages[0].reactions, { '👍': ['f'] });
});

test('reactions from a snapshot or a saved state are own entries only', () => {
  const snap = snapshot();
  // JSON.parse makes "__proto__" an own property; "toString" is absent (inherited only).
  snap.messages = [JSON.parse('{"id":"m1","seq":5,"from":"f","name":"Fac","text":"hi","ts":1,"reactions":{"__proto__":["f"],"👍":["f"]}}')];
  const s = fromSnapshot(snap, you);
  applyEvent(s, 11, { kind: 'reaction', message_id: 'm1', emoji: 'toString', member_id: 'p', on: true });
  applyEvent(s, 12, { kind: 'reaction', message_id: 'm1', emoji: '__proto__', member_id: 'p', on: true });
  applyEvent(s, 13, { kind: 'reaction', message_id: 'm1', emoji: '👍', member_id: 'p', on: true });
  const r = s.messages[0].reactions;
  assert.deepEqual([...r.__proto__], ['f', 'p']);
  assert.deepEqual([...r.toString], ['p']);
  assert.deepEqual([...r['👍']], ['f', 'p']);
  // A reaction list that is not a list (a confused server) is replaced, not trusted.
  s.messages[0].reactions = JSON.parse('{"💡":"nope","🙏":{"length":3}}');
  applyEvent(s, 14, { kind: 'reaction', message_id: 'm1', emoji: '💡', member_id: 'p', on: true });
  assert.deepEqual([...s.messages[0].reactions['💡']], ['p']);
});
