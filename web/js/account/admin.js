// The admin page: invite with a role (a link to copy), list accounts,
// change a role, deactivate or reactivate, issue a password-reset link;
// list the bars (people removed and kept out) and lift one.
import { api, $, showError, requireMe } from './api.js';
import { h } from '../dom.js';

const ROLES = [['facilitator', 'Facilitator'], ['peer_supporter', 'Peer supporter'], ['admin', 'Admin']];

function showLink(label, link) {
  $('link-label').textContent = label;
  $('link-out').value = link;
  $('link-box').hidden = false;
  $('link-out').select();
}

async function act(fn) {
  showError('admin-error', null);
  try {
    await fn();
  } catch (e) {
    showError('admin-error', e);
  }
}

async function load(me) {
  const accounts = await api('GET', '/api/admin/accounts');
  const rows = accounts.map((a) => {
    const self = a.id === me.id;
    const role = h('select', {
      'aria-label': `Role of ${a.name}`, testid: `role-${a.email}`, disabled: self,
      onchange: (ev) => act(async () => {
        await api('POST', `/api/admin/accounts/${a.id}/role`, { role: ev.target.value });
        await load(me);
      }),
    }, ...ROLES.map(([v, t]) => h('option', { value: v, selected: v === a.role, text: t })));
    const toggle = h('button', {
      type: 'button', class: a.active ? 'small danger' : 'small', testid: `active-${a.email}`, disabled: self,
      text: a.active ? 'Deactivate' : 'Reactivate',
      onclick: () => act(async () => {
        await api('POST', `/api/admin/accounts/${a.id}/active`, { active: !a.active });
        await load(me);
      }),
    });
    const reset = h('button', {
      type: 'button', class: 'small', testid: `reset-${a.email}`, text: 'Reset link',
      onclick: () => act(async () => {
        const r = await api('POST', `/api/admin/accounts/${a.id}/reset-link`, {});
        showLink(`Password-reset link for ${a.name} (works once; send it privately)`, r.link);
      }),
    });
    return h('tr', { testid: `account-${a.email}` },
      h('td', { text: a.name }), h('td', { text: a.email }), h('td', null, role),
      h('td', { text: a.active ? 'active' : 'deactivated' }), h('td', null, toggle, ' ', reset));
  });
  $('accounts-body').replaceChildren(...rows);
}

async function loadBars() {
  const bars = await api('GET', '/api/admin/bars');
  const rows = bars.map((b) => {
    const lift = h('button', {
      type: 'button', class: 'small', testid: `lift-${b.id}`, text: 'Lift',
      'aria-label': `Lift the bar on ${b.name} in ${b.room_title}`,
      onclick: () => act(async () => {
        await api('POST', `/api/admin/bars/${encodeURIComponent(b.id)}/lift`, {});
        await loadBars();
      }),
    });
    return h('tr', { testid: `bar-${b.id}` },
      h('td', { text: b.room_title }), h('td', { text: b.name }),
      h('td', { text: new Date(b.created_at).toLocaleString() }),
      h('td', { text: b.removed_by_name || 'facilitator link (no account)' }),
      h('td', null, lift));
  });
  $('bars-body').replaceChildren(...rows);
  $('bars-empty').hidden = rows.length > 0;
}

async function start() {
  const me = await requireMe();
  if (!me) return;
  if (me.role !== 'admin') {
    showError('admin-error', new Error('Only admins can use this page.'));
    return;
  }
  $('invite-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(async () => {
      const r = await api('POST', '/api/admin/invites', { role: $('invite-role').value });
      showLink('Invite link (works once; send it privately)', new URL(r.link, location.origin).href);
    });
  });
  $('link-copy').addEventListener('click', () => {
    navigator.clipboard?.writeText($('link-out').value).catch(() => $('link-out').select());
  });
  await act(() => load(me));
  await act(loadBars);
}

start();
