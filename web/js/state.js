// The room model: built from a welcome snapshot, advanced by events in seq
// order. `applyEvent` mutates the state and tells the view which parts to
// redraw and which one-off effects (toasts, dialogs) to show.

const MAX_MESSAGES = 500;
const MAX_NOTES = 60;

export function fromSnapshot(room, you) {
  return {
    me: { member_id: you.member_id, role: you.role },
    info: room.info,
    rules: room.rules,
    roster: room.roster,
    // Big rooms (protocol "Big rooms"): how many members the room has, and the cursor of the
    // roster pages I hold (null: the welcome carried the whole roster).
    memberCount: room.roster_page ? room.roster_page.count : room.roster.length,
    rosterCursor: room.roster_page || null,
    messages: room.messages,
    notes: [], // system lines (joined, left...) interleaved with messages by seq
    timers: room.timers.filter((t) => t.state === 'running' || t.state === 'paused'),
    energizer: room.energizer,
    highlights: room.highlights,
    energyCheck: room.energy_check,
    myEnergy: null,
    hands: room.hands,
    parking: room.parking_lot,
    waiting: room.waiting,
    support: room.support_requests,
    crisis: room.crisis_resources,
    personallyMuted: room.personally_muted,
    summary: null,
    // Facilitators, during wrap-up: { suggestion, summary } from wrap_up_preview.
    wrapUp: null,
    oneOnOne: [], // one_on_one events addressed to me
    seq: room.seq,
    epoch: room.epoch,
    // Earlier messages (protocol "Earlier messages"): the before_seq of the next older page I
    // may read, or null when there is none (then no "Load earlier messages" button).
    nextBeforeSeq: typeof room.next_before_seq === 'number' ? room.next_before_seq : null,
    // The lead facilitator's member id, or null while the seat is vacant.
    leadId: room.lead_id || (room.roster.find((m) => m.lead) || {}).id || null,
  };
}

export const isFac = (role) => role === 'facilitator' || role === 'co_facilitator';

export function member(state, id) {
  return state.roster.find((m) => m.id === id) || null;
}

export function myMember(state) {
  return member(state, state.me.member_id);
}

/** Whether I am the lead facilitator (only the lead may rotate the facilitator key). */
export function amLead(state) {
  return !!state.leadId && state.leadId === state.me.member_id;
}

export function nameOf(state, id) {
  const m = member(state, id);
  return m ? m.name : 'Someone';
}

/** Whether I must (re)accept the ground rules before posting. */
export function needsRules(state) {
  if (isFac(state.me.role)) return false;
  const m = myMember(state);
  return !m || m.accepted_rules !== state.rules.version;
}

/**
 * A message's reactions (emoji → member ids) as an object without a prototype, holding only
 * own entries whose value is a list: reaction names come from other people, and one named
 * "toString", "__proto__" or "constructor" must be a reaction like any other, never a
 * member of Object.prototype. Messages from a snapshot, an event or a saved state (JSON)
 * arrive as ordinary objects and are converted on first use; the result still serialises
 * to the same JSON.
 */
export function reactionsOf(msg) {
  const r = msg.reactions;
  if (r && typeof r === 'object' && Object.getPrototypeOf(r) === null) return r;
  const clean = Object.create(null);
  if (r && typeof r === 'object' && !Array.isArray(r)) {
    for (const [emoji, who] of Object.entries(r)) {
      if (Array.isArray(who)) clean[emoji] = who.filter((id) => typeof id === 'string');
    }
  }
  msg.reactions = clean;
  return clean;
}

/**
 * Merge a `history` frame (earlier messages I may read, oldest first; the reply to
 * `history_before`, or what a newcomer gets after accepting the ground rules when the room
 * shares earlier messages) into the transcript: in seq order, without duplicates (a message I
 * already hold keeps its entry: its reactions may be newer than the page's). These are not
 * events: state.seq does not move. `next_before_seq` from the page becomes where to page on.
 * Returns { dirty, effects }; the effect `history` lists the ids added, oldest first.
 */
export function applyHistory(state, frame) {
  const dirty = new Set();
  const have = new Set(state.messages.map((m) => m.id));
  const added = [];
  for (const m of Array.isArray(frame.messages) ? frame.messages : []) {
    if (!m || typeof m.id !== 'string' || typeof m.seq !== 'number' || have.has(m.id)) continue;
    have.add(m.id);
    added.push(m);
  }
  if (added.length) {
    state.messages = state.messages.concat(added);
    // Stable: equal seqs (none expected) keep their order.
    state.messages.sort((a, b) => a.seq - b.seq);
    dirty.add('messages');
  }
  const next = typeof frame.next_before_seq === 'number' ? frame.next_before_seq : null;
  if (next !== (state.nextBeforeSeq ?? null)) dirty.add('messages');
  state.nextBeforeSeq = next;
  added.sort((a, b) => a.seq - b.seq);
  return { dirty, effects: [{ kind: 'history', added: added.map((m) => m.id) }] };
}

/**
 * A page of the roster (the reply to roster_page): members in join order, merged by id, and the
 * cursor to page on from. Never an event.
 */
export function applyRosterPage(state, frame) {
  for (const m of Array.isArray(frame.members) ? frame.members : []) {
    if (m && typeof m.id === 'string') {
      upsert(state.roster, m);
      trackLead(state, m);
    }
  }
  if (frame.cursor && typeof frame.cursor.count === 'number') {
    state.rosterCursor = frame.cursor;
    state.memberCount = frame.cursor.count;
  }
  return { dirty: new Set(['roster', 'lead']), effects: [] };
}

/** Members in the room I do not hold (a big room's roster comes in pages). */
export function rosterMissing(state) {
  return Math.max(0, state.memberCount - state.roster.length);
}

/** The roster_page request for the next page (after my cursor, or from the start). */
export function nextRosterPage(state, limit) {
  const c = state.rosterCursor;
  return c ? { type: 'roster_page', after: c.after, limit } : { type: 'roster_page', limit };
}

function upsert(list, item, key = 'id') {
  const i = list.findIndex((x) => x[key] === item[key]);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

function note(state, seq, text) {
  state.notes.push({ seq, text });
  if (state.notes.length > MAX_NOTES) state.notes.splice(0, state.notes.length - MAX_NOTES);
}

function memberUpdated(state, m, dirty, effects) {
  const before = member(state, m.id);
  upsert(state.roster, m);
  trackLead(state, m);
  dirty.add('roster').add('lead');
  if (m.id === state.me.member_id) {
    if (state.me.role !== m.role) {
      state.me.role = m.role;
      effects.push({ kind: 'role_changed', role: m.role });
    }
    if (before && before.muted !== m.muted) effects.push({ kind: 'muted', on: m.muted });
    dirty.add('me').add('messages');
  }
}

function memberLeft(state, seq, id, reason, dirty, effects) {
  const m = member(state, id);
  state.roster = state.roster.filter((x) => x.id !== id);
  state.hands = state.hands.filter((x) => x !== id);
  if (state.leadId === id) {
    // Left for good: the lead's seat is vacant until someone joins with the current key.
    state.leadId = null;
    dirty.add('lead');
  }
  if (id === state.me.member_id) {
    effects.push({ kind: 'i_left', reason });
  } else if (m) {
    note(state, seq, `${m.name} ${LEAVE_TEXT[reason] || 'left'}`);
  }
  dirty.add('roster').add('hands').add('messages');
}

/** Keep state.leadId in step with the roster's `lead` flags. */
function trackLead(state, m) {
  if (m.lead) state.leadId = m.id;
  else if (state.leadId === m.id) state.leadId = null;
}

const LEAVE_TEXT = {
  left: 'left the session',
  disconnected: 'lost their connection',
  removed: 'was removed by a facilitator',
  declined: 'was not admitted',
  session_ended: 'left (session ended)',
};

/**
 * Apply one event. Returns { dirty: Set<string>, effects: Array<object> }.
 * Panels: roster, messages, rules, info, timers, energizer, highlights,
 * energy, hands, waiting, support, parking, summary, wrapup, lead, me.
 */
export function applyEvent(state, seq, ev) {
  const dirty = new Set();
  const effects = [];
  const me = state.me.member_id;
  switch (ev.kind) {
    case 'member_joined': {
      state.memberCount = (state.memberCount ?? state.roster.length) + 1;
      upsert(state.roster, ev.member);
      trackLead(state, ev.member);
      if (ev.member.id !== me) note(state, seq, `${ev.member.name} joined`);
      dirty.add('roster').add('messages').add('lead');
      break;
    }
    case 'member_updated': {
      memberUpdated(state, ev.member, dirty, effects);
      break;
    }
    case 'member_left': {
      state.memberCount = Math.max(0, (state.memberCount ?? state.roster.length) - 1);
      memberLeft(state, seq, ev.member_id, ev.reason, dirty, effects);
      break;
    }
    case 'members_changed': {
      // A big room's batch: remove who left, then insert or replace who joined or changed.
      for (const g of Array.isArray(ev.left) ? ev.left : []) {
        memberLeft(state, seq, g.member_id, g.reason, dirty, effects);
      }
      for (const m of Array.isArray(ev.joined) ? ev.joined : []) {
        upsert(state.roster, m);
        trackLead(state, m);
        if (m.id !== me) note(state, seq, `${m.name} joined`);
      }
      for (const m of Array.isArray(ev.updated) ? ev.updated : []) memberUpdated(state, m, dirty, effects);
      if (typeof ev.count === 'number') state.memberCount = ev.count;
      dirty.add('roster').add('messages').add('lead');
      break;
    }
    case 'chat': {
      if (!state.messages.some((m) => m.id === ev.message.id)) {
        state.messages.push(ev.message);
        if (state.messages.length > MAX_MESSAGES) state.messages.splice(0, state.messages.length - MAX_MESSAGES);
        effects.push({ kind: 'chat', message: ev.message });
      }
      break;
    }
    case 'reaction': {
      const msg = state.messages.find((m) => m.id === ev.message_id);
      if (msg && typeof ev.emoji === 'string') {
        const r = reactionsOf(msg);
        const who = r[ev.emoji] || (r[ev.emoji] = []);
        const i = who.indexOf(ev.member_id);
        if (ev.on && i < 0) who.push(ev.member_id);
        if (!ev.on && i >= 0) who.splice(i, 1);
        if (!who.length) delete r[ev.emoji];
        effects.push({ kind: 'reaction', message_id: ev.message_id });
      }
      break;
    }
    case 'message_deleted': {
      state.messages = state.messages.filter((m) => m.id !== ev.message_id);
      effects.push({ kind: 'message_deleted', message_id: ev.message_id });
      break;
    }
    case 'rules_updated': {
      state.rules = ev.rules;
      dirty.add('rules').add('me');
      effects.push({ kind: 'rules', updated: true });
      break;
    }
    case 'rules_shown': {
      state.rules = ev.rules;
      dirty.add('rules');
      effects.push({ kind: 'rules', updated: false });
      break;
    }
    case 'room_updated': {
      const old = state.info;
      state.info = ev.info;
      dirty.add('info').add('me');
      if (!ev.info.wrap_up_until && state.wrapUp) {
        state.wrapUp = null; // extended (or ended): no more wrap-up
        dirty.add('wrapup');
      }
      if (old.status !== ev.info.status) effects.push({ kind: 'status', from: old.status, to: ev.info.status });
      if (old.ends_at !== ev.info.ends_at && ev.info.ends_at && old.ends_at) {
        effects.push({ kind: 'extended', ends_at: ev.info.ends_at });
      }
      break;
    }
    case 'timer': {
      const t = ev.timer;
      if (t.state === 'running' || t.state === 'paused') upsert(state.timers, t);
      else state.timers = state.timers.filter((x) => x.id !== t.id);
      dirty.add('timers');
      break;
    }
    case 'timer_expired': {
      state.timers = state.timers.filter((x) => x.id !== ev.timer_id);
      dirty.add('timers');
      effects.push({ kind: 'toast', text: `Time is up: ${ev.name}` });
      break;
    }
    case 'energizer_started': {
      state.energizer = ev.run;
      dirty.add('energizer');
      effects.push({ kind: 'energizer' });
      break;
    }
    case 'energizer_answer': {
      if (state.energizer && state.energizer.id === ev.run_id) {
        upsert(state.energizer.answers, ev.answer, 'member_id');
        dirty.add('energizer');
      }
      break;
    }
    case 'energizer_closed': {
      if (state.energizer && state.energizer.id === ev.run_id) {
        state.energizer.open = false;
        dirty.add('energizer');
      }
      break;
    }
    case 'highlight': {
      upsert(state.highlights, ev.highlight);
      dirty.add('highlights');
      break;
    }
    case 'highlight_removed': {
      state.highlights = state.highlights.filter((x) => x.id !== ev.highlight_id);
      dirty.add('highlights');
      break;
    }
    case 'energy_check': {
      state.energyCheck = ev.check;
      dirty.add('energy');
      break;
    }
    case 'energy_answered': {
      state.myEnergy = { check_id: ev.check_id, level: ev.level };
      dirty.add('energy');
      break;
    }
    case 'hands': {
      state.hands = ev.queue;
      dirty.add('hands').add('roster').add('me');
      break;
    }
    case 'called_on': {
      const who = nameOf(state, ev.member_id);
      note(state, seq, `A facilitator invited ${who} to speak`);
      dirty.add('messages');
      effects.push({ kind: 'called_on', member_id: ev.member_id, name: who });
      break;
    }
    case 'session_warning': {
      state.info = { ...state.info, ends_at: ev.ends_at };
      dirty.add('info');
      effects.push({ kind: 'warning', minutes: ev.minutes_left });
      break;
    }
    case 'wrap_up': {
      state.info = { ...state.info, wrap_up_until: ev.until };
      dirty.add('info').add('wrapup');
      break;
    }
    case 'wrap_up_preview': {
      state.wrapUp = { suggestion: ev.suggestion, summary: ev.summary };
      dirty.add('wrapup');
      break;
    }
    case 'session_ended': {
      state.wrapUp = null;
      dirty.add('wrapup');
      state.summary = ev.summary;
      state.info = { ...state.info, status: 'closed' };
      state.timers = [];
      dirty.add('summary').add('info').add('me').add('timers');
      effects.push({ kind: 'ended' });
      break;
    }
    case 'waiting_room': {
      const before = state.waiting.length;
      state.waiting = ev.queue;
      dirty.add('waiting');
      if (!ev.queue.length) effects.push({ kind: 'dismiss_toast', key: 'waiting' });
      else if (ev.queue.length > before) effects.push({ kind: 'toast', text: `${ev.queue.length === 1 ? 'Someone is' : `${ev.queue.length} people are`} waiting to be admitted.`, key: 'waiting' });
      break;
    }
    case 'support_requested': {
      upsert(state.support, ev.request);
      dirty.add('support');
      effects.push({ kind: 'support', request: ev.request });
      break;
    }
    case 'support_update': {
      state.supportUpdate = ev;
      effects.push({ kind: 'support_update', ev });
      break;
    }
    case 'one_on_one': {
      const req = state.support.find((s) => s.id === ev.request_id);
      if (req) req.room_id = ev.room_id;
      state.oneOnOne.push({ request_id: ev.request_id, room_id: ev.room_id, link: ev.link, facilitator_key: ev.facilitator_key || null });
      dirty.add('support').add('me');
      effects.push({ kind: 'one_on_one', ev });
      break;
    }
    case 'share_invite': {
      effects.push({ kind: 'share_invite', invite_id: ev.invite_id, from_name: ev.from_name });
      break;
    }
    case 'share_declined': {
      effects.push({ kind: 'toast', text: `${nameOf(state, ev.member_id)} would rather not share right now. No pressure.` });
      break;
    }
    case 'personal_mutes': {
      state.personallyMuted = ev.member_ids;
      dirty.add('roster').add('messages');
      effects.push({ kind: 'rerender_messages' });
      break;
    }
    case 'parking_lot': {
      state.parking = ev.items;
      dirty.add('parking');
      break;
    }
    case 'room_notice': {
      // Who facilitates changed: worth a line in the transcript too.
      if ((ev.code === 'lead_returned' || ev.code === 'facilitator_takeover') && ev.message) {
        note(state, seq, ev.message);
        dirty.add('messages');
      }
      effects.push({ kind: 'room_notice', code: ev.code, message: ev.message });
      break;
    }
    case 'key_rotated': {
      const demoted = Array.isArray(ev.demoted) ? ev.demoted : [];
      note(state, seq, 'The lead facilitator changed the facilitator key');
      dirty.add('messages').add('lead').add('roster');
      effects.push({
        kind: 'key_rotated',
        demoted,
        me_demoted: demoted.includes(me),
        names: demoted.filter((id) => id !== me).map((id) => nameOf(state, id)),
      });
      break;
    }
    default:
      // A newer server may send kinds this client does not know: ignore them.
      break;
  }
  return { dirty, effects };
}
