// The on-call desk (/oncall): a peer supporter goes on call with the on-call
// key and sees every open alert (support requests from rooms with no live
// facilitator), takes one, and may open a private room with the person.

import { h, byTestId as T, replaceChildren, show, formatClock } from './dom.js';
import { Connection } from './conn.js';

const DESK = 'oncall';
const KEY_STORE = 'huddle.oncall'; // sessionStorage: this tab only

const desk = { alerts: new Map(), me: null, resume: null, seq: 0, epoch: null, conn: null, name: '', key: '' };

function saved() {
  try { return JSON.parse(sessionStorage.getItem(KEY_STORE) || 'null'); } catch { return null; }
}
function save() {
  sessionStorage.setItem(KEY_STORE, JSON.stringify({
    name: desk.name, key: desk.key, resume: desk.resume, seq: desk.seq, epoch: desk.epoch,
    alerts: [...desk.alerts.values()],
  }));
}

function render() {
  const list = [...desk.alerts.values()].sort((a, b) => (b.urgent - a.urgent) || (a.ts - b.ts));
  show(T('desk-empty'), list.length === 0);
  replaceChildren(T('desk-alerts'), list.map((a) => {
    const mine = a.acked_by && a.acked_by === desk.name;
    const taken = a.acked_by && !mine;
    return h('li', { class: `desk-alert${a.urgent ? ' urgent' : ''}`, testid: 'desk-alert', dataset: { alert: a.id } },
      h('strong', null, a.urgent ? 'In distress: ' : 'Asks for support: '), a.name,
      h('span', { class: 'muted small' }, ` in “${a.room_title}”, ${formatClock(a.ts)}`),
      a.note ? h('p', { class: 'desk-note' }, a.note) : null,
      a.acked_by ? h('p', { class: 'small', testid: 'desk-acked' }, `Taken by ${a.acked_by}`) : null,
      a.room_opened ? h('p', { class: 'small', testid: 'desk-room-opened' }, 'A private room is open.') : null,
      h('div', { class: 'desk-actions' },
        !a.acked_by ? h('button', { type: 'button', class: 'primary', testid: 'desk-ack', onclick: () => send({ type: 'ack_alert', alert_id: a.id }) }, 'I’ll take it') : null,
        !taken && !a.room_opened ? h('button', { type: 'button', testid: 'desk-open-room', onclick: () => send({ type: 'open_alert_room', alert_id: a.id }) }, 'Open a private room') : null));
  }));
}

function send(msg) {
  if (desk.conn) desk.conn.send(msg);
}

function status(text) {
  T('desk-status').textContent = text;
}

function onFrame(m) {
  switch (m.type) {
    case 'welcome':
    case 'resumed': {
      if (m.type === 'welcome') {
        desk.me = m.you.member_id;
        desk.alerts = new Map((m.room.alerts || []).map((a) => [a.id, a]));
        desk.seq = m.room.seq;
        desk.epoch = m.room.epoch;
      }
      desk.resume = { member_id: m.you.member_id, token: m.you.resume_token };
      save();
      show(T('desk-signin'), false);
      show(T('desk'), true);
      status('On call');
      render();
      break;
    }
    case 'event': {
      desk.seq = Math.max(desk.seq, m.seq || 0);
      const ev = m.event;
      if (ev.kind === 'alert') desk.alerts.set(ev.alert.id, ev.alert);
      else if (ev.kind === 'alert_closed') desk.alerts.delete(ev.alert_id);
      else if (ev.kind === 'one_on_one' && ev.facilitator_key) {
        const url = `${ev.link}#key=${encodeURIComponent(ev.facilitator_key)}&name=${encodeURIComponent(desk.name)}`;
        const a = desk.alerts.get(ev.request_id);
        const li = T('desk-alerts').querySelector(`[data-alert="${ev.request_id}"]`);
        window.open(url, '_blank', 'noopener');
        if (li) li.append(h('a', { class: 'button', href: url, target: '_blank', rel: 'noopener', testid: 'desk-room-link' }, 'Go to the private room'));
        void a;
        return;
      }
      save();
      render();
      break;
    }
    case 'error': {
      if (m.refused === 'join') {
        desk.conn.stop();
        desk.conn = null;
        desk.resume = null;
        sessionStorage.removeItem(KEY_STORE);
        show(T('desk-signin'), true);
        show(T('desk'), false);
        const e = T('desk-error');
        e.textContent = m.code === 'on_call_only' ? 'That on-call key is not right.' : (m.message || 'Could not go on call.');
        e.hidden = false;
        status('');
      } else {
        status(m.message || 'Something went wrong.');
      }
      break;
    }
    default:
      break;
  }
}

function goOnCall() {
  T('desk-error').hidden = true;
  desk.conn = new Connection({
    joinFrame: () => {
      const f = { type: 'join', v: 1, room_id: DESK, name: desk.name };
      if (desk.key) f.facilitator_key = desk.key;
      if (desk.resume && desk.epoch) {
        f.resume = { ...desk.resume, last_seq: desk.seq, epoch: desk.epoch || '' };
      }
      return f;
    },
    onFrame,
    onStatus: (s) => status(s === 'open' ? 'On call' : s === 'reconnecting' ? 'Reconnecting…' : s === 'connecting' ? 'Connecting…' : ''),
  });
  desk.conn.connect();
}

/** Signed in as a peer supporter (or admin): the account opens the desk, no key needed. */
async function signedIn() {
  try {
    const r = await fetch('/api/me', { headers: { Accept: 'application/json' } });
    if (!r.ok) return;
    const me = await r.json();
    if (!me.may_take_oncall_desk) return;
    desk.account = true;
    T('desk-key').required = false;
    show(T('desk-key'), false);
    show(T('desk-key-label'), false);
    const note = T('desk-signed-in');
    note.textContent = `Signed in as ${me.name}: no on-call key needed.`;
    show(note, true);
    if (!T('desk-name').value) T('desk-name').value = me.name || '';
  } catch {
    /* signed out: the key it is */
  }
}

function main() {
  signedIn();
  const s = saved();
  if (s && (s.key || s.resume)) {
    desk.name = s.name;
    desk.key = s.key;
    desk.resume = s.resume || null;
    desk.seq = s.seq || 0;
    desk.epoch = s.epoch || null;
    desk.alerts = new Map((s.alerts || []).map((a) => [a.id, a]));
    T('desk-name').value = s.name;
    goOnCall();
  }
  T('desk-form').addEventListener('submit', (e) => {
    e.preventDefault();
    desk.name = T('desk-name').value.trim();
    desk.key = T('desk-key').value;
    T('desk-key').value = '';
    if (!desk.name || (!desk.key && !desk.account)) return;
    desk.resume = null;
    desk.epoch = null;
    save();
    goOnCall();
  });
  T('desk-leave').addEventListener('click', () => {
    send({ type: 'leave' });
    if (desk.conn) desk.conn.stop();
    desk.conn = null;
    sessionStorage.removeItem(KEY_STORE);
    desk.alerts.clear();
    show(T('desk'), false);
    show(T('desk-signin'), true);
    status('Off call');
  });
}

main();
