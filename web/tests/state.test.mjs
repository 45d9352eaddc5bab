// Unit tests of the room model (js/state.js runs in Node as well: no DOM).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromSnapshot, applyEvent, applyHistory, applyRosterPage, rosterMissing, nextRosterPage, needsRules, isFac, amLead } from '../js/state.js';

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

test('wrap-up: until in the info, the preview kept for the facilitator, cleared by an extension', () => {
  const s = fromSnapshot(snapshot(), you);
  const summary = { room_id: 'r1', title: 'T', started_at: 1, ended_at: 2, highlights: [], energy_checks: [], energizers: [], parking_lot: [] };
  const suggestion = { id: 'check-out', title: 'Check-out round', prompt: 'P', suggested_secs: 120 };
  let r = applyEvent(s, 11, { kind: 'wrap_up', ends_at: 1000, until: 301000 });
  assert.equal(s.info.wrap_up_until, 301000);
  assert.ok(r.dirty.has('info') && r.dirty.has('wrapup'));
  applyEvent(s, 12, { kind: 'wrap_up_preview', suggestion, summary });
  assert.deepEqual(s.wrapUp, { suggestion, summary });
  r = applyEvent(s, 13, { kind: 'room_updated', info: { ...s.info, ends_at: 900000, wrap_up_until: undefined } });
  assert.equal(s.wrapUp, null);
  assert.ok(r.dirty.has('wrapup'));
  assert.equal(s.info.wrap_up_until, undefined);
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

// ------------------------------------------------------------------ earlier messages (history)

const msg = (id, seq, text = id) => ({ id, seq, from: 'f', name: 'Fac', text, ts: seq });

test('snapshot: next_before_seq and the lead, when the server sends them', () => {
  const s = fromSnapshot(snapshot(), you);
  assert.equal(s.nextBeforeSeq, null, 'an older server sends neither');
  assert.equal(s.leadId, null);
  const snap = { ...snapshot(), next_before_seq: 4, lead_id: 'f' };
  const s2 = fromSnapshot(snap, you);
  assert.equal(s2.nextBeforeSeq, 4);
  assert.equal(s2.leadId, 'f');
  assert.equal(amLead(s2), false);
  assert.equal(amLead(fromSnapshot(snap, { member_id: 'f', role: 'facilitator' })), true);
});

test('history: earlier messages go before the ones held, in seq order', () => {
  const s = fromSnapshot({ ...snapshot(), messages: [msg('m11', 11)] }, you);
  applyEvent(s, 12, chat('m12', 12));
  const r = applyHistory(s, { type: 'history', messages: [msg('m3', 3), msg('m7', 7)], next_before_seq: 3 });
  assert.deepEqual(s.messages.map((m) => m.id), ['m3', 'm7', 'm11', 'm12']);
  assert.equal(s.nextBeforeSeq, 3);
  assert.ok(r.dirty.has('messages'));
  assert.deepEqual(r.effects, [{ kind: 'history', added: ['m3', 'm7'] }]);
  assert.equal(s.seq, 10, 'a history frame is not an event: seq does not move');
});

test('history: no duplicates, and a message held keeps its newer reactions', () => {
  const s = fromSnapshot(snapshot(), you);
  applyEvent(s, 11, chat('m11', 11));
  applyEvent(s, 12, { kind: 'reaction', message_id: 'm11', emoji: '👍', member_id: 'p', on: true });
  const page = { type: 'history', messages: [msg('m5', 5), { ...msg('m11', 11), text: 'hi' }], next_before_seq: null };
  const r = applyHistory(s, page);
  assert.deepEqual(r.effects[0].added, ['m5']);
  // The same page again (a repeated request): nothing changes.
  const again = applyHistory(s, page);
  assert.deepEqual(again.effects[0].added, []);
  assert.equal(again.dirty.size, 0);
  assert.deepEqual(s.messages.map((m) => m.id), ['m5', 'm11']);
  assert.deepEqual([...s.messages[1].reactions['👍']], ['p']);
  assert.equal(s.nextBeforeSeq, null);
});

test('history: pages interleave with what is held, whatever order they come in', () => {
  const s = fromSnapshot({ ...snapshot(), messages: [msg('m20', 20), msg('m30', 30)], next_before_seq: 20 }, you);
  applyHistory(s, { type: 'history', messages: [msg('m15', 15), msg('m25', 25)], next_before_seq: 15 });
  applyHistory(s, { type: 'history', messages: [msg('m2', 2), msg('m9', 9), msg('m15', 15)], next_before_seq: null });
  assert.deepEqual(s.messages.map((m) => m.seq), [2, 9, 15, 20, 25, 30]);
  assert.equal(new Set(s.messages.map((m) => m.id)).size, s.messages.length);
  assert.equal(s.nextBeforeSeq, null);
  // Later events still work on messages from a page: a reaction, a deletion.
  applyEvent(s, 31, { kind: 'reaction', message_id: 'm9', emoji: '🙏', member_id: 'p', on: true });
  assert.deepEqual([...s.messages[1].reactions['🙏']], ['p']);
  applyEvent(s, 32, { kind: 'message_deleted', message_id: 'm2' });
  assert.deepEqual(s.messages.map((m) => m.seq), [9, 15, 20, 25, 30]);
});

test('history: an empty page only says there is nothing older; junk entries are skipped', () => {
  const s = fromSnapshot({ ...snapshot(), next_before_seq: 8 }, you);
  const r = applyHistory(s, { type: 'history', messages: [], next_before_seq: null });
  assert.equal(s.nextBeforeSeq, null);
  assert.ok(r.dirty.has('messages'), 'the button goes away');
  applyHistory(s, { type: 'history', messages: [null, { id: 'x' }, msg('m4', 4)], next_before_seq: null });
  assert.deepEqual(s.messages.map((m) => m.id), ['m4']);
  // The state survives the sessionStorage round trip (a reload resumes from it).
  assert.equal(JSON.parse(JSON.stringify(s)).nextBeforeSeq, null);
});

// ------------------------------------------------------------------------ the lead facilitator

test('the lead follows the roster: hand over, vacant seat, key rotation', () => {
  const snap = snapshot();
  snap.roster[0].lead = true;
  snap.lead_id = 'f';
  snap.roster.push({ id: 'g', name: 'Gil', role: 'facilitator', online: true, muted: false, accepted_rules: 1, creator: false });
  const s = fromSnapshot(snap, you);
  assert.equal(s.leadId, 'f');
  // Key rotation: Gil is demoted (member_updated first), then key_rotated for everyone.
  applyEvent(s, 11, { kind: 'member_updated', member: { ...snap.roster[2], role: 'participant' } });
  const r = applyEvent(s, 12, { kind: 'key_rotated', demoted: ['g'] });
  assert.deepEqual(r.effects, [{ kind: 'key_rotated', demoted: ['g'], me_demoted: false, names: ['Gil'] }]);
  assert.ok(r.dirty.has('lead'));
  assert.match(s.notes.at(-1).text, /lead facilitator changed the facilitator key/);
  // A demoted member is told it is about them.
  const mine = fromSnapshot(snap, { member_id: 'g', role: 'facilitator' });
  assert.equal(applyEvent(mine, 12, { kind: 'key_rotated', demoted: ['g'] }).effects[0].me_demoted, true);
  // Hand over by the lead passes the lead.
  applyEvent(s, 13, { kind: 'member_updated', member: { ...snap.roster[0], role: 'co_facilitator', lead: false } });
  applyEvent(s, 14, { kind: 'member_updated', member: { ...snap.roster[1], role: 'facilitator', lead: true } });
  assert.equal(s.leadId, 'p');
  assert.equal(amLead(s), true);
  // The lead leaves for good: the seat is vacant.
  applyEvent(s, 15, { kind: 'member_left', member_id: 'p', reason: 'left' });
  assert.equal(s.leadId, null);
});

test('lead_returned and facilitator_takeover notices leave a line in the transcript', () => {
  const s = fromSnapshot(snapshot(), you);
  const r = applyEvent(s, 11, { kind: 'room_notice', code: 'lead_returned', message: 'Fac is back and leading; Pat is co-facilitating again.' });
  assert.deepEqual(r.effects, [{ kind: 'room_notice', code: 'lead_returned', message: 'Fac is back and leading; Pat is co-facilitating again.' }]);
  assert.equal(s.notes.at(-1).text, 'Fac is back and leading; Pat is co-facilitating again.');
  applyEvent(s, 12, { kind: 'room_notice', code: 'paused', message: 'paused' });
  assert.equal(s.notes.length, 1, 'paused / resumed are shown from the room status');
});

test('small rooms: member_joined and member_left keep the count with the roster', () => {
  const s = fromSnapshot(snapshot(), you);
  assert.equal(s.memberCount, 2);
  assert.equal(s.rosterCursor, null);
  applyEvent(s, 11, { kind: 'member_joined', member: { id: 'q', name: 'Quinn', role: 'participant', online: true, muted: false, accepted_rules: 0, creator: false } });
  assert.equal(s.memberCount, 3);
  applyEvent(s, 12, { kind: 'member_left', member_id: 'f', reason: 'left' });
  assert.equal(s.memberCount, 2);
  assert.deepEqual(s.roster.map((m) => m.id), ['p', 'q']);
  assert.equal(rosterMissing(s), 0);
});

test('big rooms: members_changed applies left, joined and updated, and sets the count', () => {
  const snap = { ...snapshot(), roster_page: { after: 2, more: true, count: 250 } };
  const s = fromSnapshot(snap, you);
  assert.equal(s.memberCount, 250);
  assert.equal(rosterMissing(s), 248);
  assert.deepEqual(nextRosterPage(s, 200), { type: 'roster_page', after: 2, limit: 200 });
  const co = { id: 'c', name: 'Dr Co', role: 'co_facilitator', online: true, muted: false, accepted_rules: 1, creator: false };
  const r = applyEvent(s, 11, {
    kind: 'members_changed',
    joined: [co],
    updated: [{ ...s.roster[1], muted: true }],
    left: [{ member_id: 'f', reason: 'disconnected' }, { member_id: 'never-held', reason: 'left' }],
    count: 260,
  });
  assert.deepEqual(s.roster.map((m) => m.id).sort(), ['c', 'p']);
  assert.equal(s.memberCount, 260);
  assert.ok(r.dirty.has('roster'));
  assert.deepEqual(r.effects, [{ kind: 'muted', on: true }]);
  assert.deepEqual(s.notes.map((n) => n.text), ['Fac lost their connection', 'Dr Co joined']);
});

test('big rooms: roster pages merge by id and move the cursor', () => {
  const s = fromSnapshot({ ...snapshot(), roster_page: { after: 2, more: true, count: 4 } }, you);
  const m = (id) => ({ id, name: id, role: 'participant', online: true, muted: false, accepted_rules: 0, creator: false });
  applyRosterPage(s, { type: 'roster_page', members: [m('x'), m('p')], cursor: { after: 3, more: true, count: 4 } });
  assert.equal(s.roster.length, 3);
  assert.equal(rosterMissing(s), 1);
  applyRosterPage(s, { type: 'roster_page', members: [m('y')], cursor: { after: 4, more: false, count: 4 } });
  assert.equal(rosterMissing(s), 0);
  assert.deepEqual(nextRosterPage(s, 50), { type: 'roster_page', after: 4, limit: 50 });
  // A room that became big after a small welcome: page from the start.
  const t = fromSnapshot(snapshot(), you);
  applyEvent(t, 11, { kind: 'members_changed', joined: [], left: [], count: 300 });
  assert.equal(rosterMissing(t), 298);
  assert.deepEqual(nextRosterPage(t, 200), { type: 'roster_page', limit: 200 });
});
