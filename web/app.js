// Huddle web client: entry point. Landing page (create a session, drop-ins,
// join by link), the name form, then the room (js/room/app.js).

import { h, byTestId, replaceChildren, formatDateTime, show, parseZonedDateTime, zoneLabel } from './js/dom.js';
import { store } from './js/store.js';
import { showView, initChrome, toast, loadDeploymentConfig } from './js/ui.js';
import { RoomApp } from './js/room/app.js';

const T = (id) => byTestId(id);
const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

async function main() {
  initChrome();
  // Every time is shown in the deployment's zone: know it before showing any.
  await loadDeploymentConfig();
  const params = new URLSearchParams(location.search);
  const roomId = params.get('room');
  if (!roomId) return landing();
  if (!ROOM_ID_RE.test(roomId)) {
    showView('status');
    T('status-title').textContent = 'This link does not look right';
    T('status-message').textContent = 'Check the session link and try again.';
    show(T('status-home'), true);
    return undefined;
  }
  // The facilitator key travels in the fragment (never sent to the server in
  // a request line); keep it for this tab and take it out of the address bar.
  const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (frag.get('key')) store.setKey(roomId, frag.get('key'));
  if (frag.get('name') && !store.name(roomId)) store.setName(roomId, frag.get('name'));
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);

  const key = store.key(roomId);
  const name = store.name(roomId);
  if (store.resume(roomId) || name) return enterRoom(roomId, name || 'Guest', key);
  return joinForm(roomId, key);
}

function enterRoom(roomId, name, key) {
  const app = new RoomApp(roomId, { name, key });
  // A refused name (invalid, or too like one in the room): back to the form, and the same room
  // app joins again with the new name (one app per page: its controls are wired once).
  app.onBadName = (message) => {
    store.setName(roomId, null); // a reload shows the form, not the same refusal
    joinForm(roomId, key, message, { app, name: app.name });
  };
  app.start();
}

// ---------------------------------------------------------------- join form

/** again: after a refused name, { app, name }: the room app to join again, the refused name. */
async function joinForm(roomId, key, error, again = null) {
  showView('join');
  show(T('join-as-facilitator'), !!key);
  const err = T('join-error');
  const form = T('join-form');
  const input = T('join-name');
  const setError = (text) => {
    err.textContent = text || '';
    err.hidden = !text;
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'join-error');
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  };
  setError(error);
  input.value = again ? again.name || '' : store.name(roomId) || '';
  input.focus();
  if (again) input.select();
  form.onsubmit = (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name) {
      setError('Please choose a display name (a pseudonym is fine).');
      input.focus();
      return;
    }
    setError(null);
    store.setName(roomId, name);
    if (again) {
      again.app.name = name;
      again.app.rejoin();
    } else {
      enterRoom(roomId, name, key);
    }
  };
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, { headers: { Accept: 'application/json' } });
    if (r.ok) {
      const room = await r.json();
      T('join-room-title').textContent = `Join “${room.title}”`;
      const when = [];
      if (room.status === 'closed') when.push('This session has ended.');
      else if (room.starts_at && room.status === 'scheduled') when.push(`Starts ${formatDateTime(room.starts_at)}.`);
      if (room.ends_at && room.status !== 'closed') when.push(`Ends ${formatDateTime(room.ends_at)}.`);
      if (room.waiting_room && room.status !== 'closed') when.push('A facilitator admits each person from a waiting room.');
      T('join-room-when').textContent = when.join(' ');
    } else if (r.status === 404) {
      T('join-room-title').textContent = 'We could not find this session';
      T('join-room-when').textContent = 'The link may be mistyped, or the session is over.';
    }
  } catch {
    /* the join itself will tell */
  }
}

// ------------------------------------------------------------------ landing

function landing() {
  showView('landing');
  const form = T('create-form');
  // A drop-in is listed publicly: creating one needs the organizer key.
  for (const id of ['create-starts-zone', 'create-ends-zone']) T(id).textContent = zoneLabel() ? `(${zoneLabel()})` : '';
  const kindChanged = () => show(T('create-organizer'), T('create-kind').value === 'drop_in');
  T('create-kind').addEventListener('change', kindChanged);
  kindChanged();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = T('create-error');
    err.hidden = true;
    const title = T('create-title').value.trim();
    if (!title) {
      err.textContent = 'Please give the session a title.';
      err.hidden = false;
      T('create-title').focus();
      return;
    }
    const body = { title, kind: T('create-kind').value, waiting_room: T('create-waiting').checked };
    const starts = T('create-starts').value;
    const ends = T('create-ends').value;
    // The inputs are wall-clock times in the deployment's zone (labelled so).
    if (starts) body.starts_at = parseZonedDateTime(starts);
    if (ends) body.ends_at = parseZonedDateTime(ends);
    const cap = Number(T('create-capacity').value);
    if (cap > 0) body.capacity = Math.floor(cap);
    if (body.starts_at && body.ends_at && body.ends_at <= body.starts_at) {
      err.textContent = 'The end must be after the start.';
      err.hidden = false;
      return;
    }
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (body.kind === 'drop_in') {
      const organizerKey = T('create-organizer-key').value.trim();
      if (!organizerKey) {
        err.textContent = 'Listing a drop-in publicly needs the organizer key.';
        err.hidden = false;
        T('create-organizer-key').focus();
        return;
      }
      // In a header, never in the URL.
      headers['X-Huddle-Organizer-Key'] = organizerKey;
    }
    const submit = T('create-submit');
    submit.disabled = true;
    try {
      const r = await fetch('/api/rooms', {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        err.textContent = data.message || 'The session could not be created. Please try again.';
        err.hidden = false;
        return;
      }
      T('create-organizer-key').value = '';
      const name = T('create-name').value.trim() || 'Facilitator';
      store.setKey(data.room_id, data.facilitator_key);
      store.setName(data.room_id, name);
      // Open the facilitator view (the key stays in this tab's storage).
      location.assign(`/?room=${encodeURIComponent(data.room_id)}`);
    } catch {
      err.textContent = 'Could not reach the server. Please try again.';
      err.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  T('joinlink-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = T('joinlink-input').value.trim();
    if (!v) return;
    let id = v;
    try {
      const u = new URL(v, location.origin);
      if (u.searchParams.get('room')) {
        id = u.searchParams.get('room');
        const frag = new URLSearchParams(u.hash.replace(/^#/, ''));
        if (frag.get('key') && ROOM_ID_RE.test(id)) store.setKey(id, frag.get('key'));
      }
    } catch {
      /* a bare code */
    }
    if (!ROOM_ID_RE.test(id)) {
      toast('That does not look like a session link or code.', { kind: 'error' });
      return;
    }
    location.assign(`/?room=${encodeURIComponent(id)}`);
  });

  T('dropins-refresh').addEventListener('click', loadDropIns);
  loadDropIns();
}

async function loadDropIns() {
  const ul = T('dropins-list');
  try {
    const r = await fetch('/api/rooms?kind=drop_in', { headers: { Accept: 'application/json' } });
    const rooms = r.ok ? await r.json() : [];
    if (!rooms.length) {
      replaceChildren(ul, [h('li', { class: 'muted small' }, 'No drop-ins are open right now.')]);
      return;
    }
    replaceChildren(ul, rooms.map((room) => {
      const bits = [];
      if (room.status === 'scheduled' && room.starts_at) bits.push(`opens ${formatDateTime(room.starts_at)}`);
      else bits.push('open now');
      if (room.ends_at) bits.push(`until ${formatDateTime(room.ends_at)}`);
      // Who and how many are inside is for members; passers-by see whether a seat is left.
      const full = room.full === true;
      if (full) bits.push('full right now');
      if (room.waiting_room) bits.push('a facilitator admits each person');
      return h('li', { class: 'dropin', testid: 'dropin', dataset: { roomId: room.id } },
        h('div', null, h('strong', { class: 'dropin-title' }, room.title), h('div', { class: 'muted small' }, bits.join(' · '))),
        h('a', { class: `button${full ? ' disabled' : ''}`, href: `/?room=${encodeURIComponent(room.id)}`, testid: 'dropin-join', 'aria-label': `Join ${room.title}`, 'aria-disabled': full ? 'true' : null }, full ? 'Full' : 'Join'));
    }));
  } catch {
    replaceChildren(ul, [h('li', { class: 'muted small' }, 'Could not load the drop-ins.')]);
  }
}

main();
