// A facilitator's rooms: create one (owned by the account, no organizer key
// needed), list them, and get back in as facilitator with a fresh key.
import { api, $, showError, requireMe } from './api.js';
import { h } from '../dom.js';

async function run(room) {
  showError('my-error', null);
  try {
    const r = await api('POST', `/api/rooms/${room.room_id}/facilitator-link`, {});
    location.assign(r.facilitator_link);
  } catch (e) {
    showError('my-error', e);
  }
}

async function load() {
  const rooms = await api('GET', '/api/my/rooms');
  $('my-empty').hidden = rooms.length > 0;
  $('my-rooms').replaceChildren(...rooms.map((r) => h('li', { testid: `my-room-${r.room_id}` },
    h('strong', { text: r.title }), ' ',
    h('span', { class: 'muted', text: r.status ? r.status.replace('_', ' ') : 'ended' }), ' ',
    r.status ? h('button', { type: 'button', class: 'small primary', testid: 'my-room-run', text: 'Run this room', onclick: () => run(r) }) : '')));
}

async function start() {
  const me = await requireMe();
  if (!me) return;
  if (!me.may_own_rooms) {
    showError('my-error', new Error('Your role does not run rooms.'));
    return;
  }
  $('my-create-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('my-error', null);
    try {
      const r = await api('POST', '/api/rooms', { title: $('my-title').value, kind: $('my-kind').value });
      location.assign(r.facilitator_link);
    } catch (e) {
      showError('my-error', e);
    }
  });
  try {
    await load();
  } catch (e) {
    showError('my-error', e);
  }
}

start();
