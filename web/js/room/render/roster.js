// The roster: members by role then name, their badges, and each member's action menu (which
// menus are open and which removal awaits confirmation is kept on the app across re-renders).

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { roleBadge, leadBadge } from './role.js';
import { amLead, rosterMissing } from '../../state.js';
import { callOn, lowerHand } from '../controls/hands.js';
import {
  togglePersonalMute, inviteToShare, mute, unmute, promote, demote, handOver, askRemove, cancelRemove, removeMember,
  loadMoreMembers,
} from '../controls/roster.js';

export function renderRoster(app) {
  const st = app.state;
  const fac = app.amFac();
  const order = { facilitator: 0, co_facilitator: 1, participant: 2 };
  const list = [...st.roster].sort((a, b) => (order[a.role] - order[b.role]) || a.name.localeCompare(b.name));
  // A big room's roster comes in pages: the count is the room's, the list what I hold.
  T('roster-count').textContent = `(${Math.max(st.memberCount ?? list.length, list.length)})`;
  const missing = rosterMissing(st);
  const more = missing > 0
    ? h('li', { class: 'roster-more' }, h('button', {
      type: 'button', testid: 'roster-more', onclick: () => loadMoreMembers(app),
    }, `Show ${missing} more`))
    : null;
  replaceChildren(T('roster-list'), [...list.map((m) => memberItem(app, m, fac)), more].filter(Boolean));
}

function memberItem(app, m, fac) {
  const st = app.state;
  const me = m.id === st.me.member_id;
  const hand = st.hands.includes(m.id);
  const pmuted = st.personallyMuted.includes(m.id);
  const li = h('li', { class: `member ${m.online ? 'online' : 'away'}`, testid: 'member', dataset: { memberId: m.id, role: m.role } },
    h('span', { class: 'presence-dot', 'aria-hidden': 'true' }),
    // dir=auto isolates the name: bidi control characters in it cannot reorder the badges.
    h('span', { class: 'member-name', testid: 'member-name', dir: 'auto' }, m.name),
    me ? h('span', { class: 'badge you' }, 'you') : null,
    roleBadge(m.role, 'member-role'),
    leadBadge(m.lead, 'member-lead'),
    h('span', { class: 'presence', testid: 'member-presence' }, m.online ? 'online' : 'away'),
    hand ? h('span', { class: 'badge hand', testid: 'member-hand', title: 'Hand raised' }, '✋ hand up') : null,
    m.muted ? h('span', { class: 'badge muted', testid: 'member-muted' }, 'muted') : null,
    pmuted ? h('span', { class: 'badge hidden-for-me', testid: 'member-hidden' }, 'hidden for you') : null,
  );
  if (me || ['removed', 'left', 'ended'].includes(app.phase)) return li;
  const actions = [];
  const key = (a) => `${a}:${m.id}`;
  actions.push(h('button', {
    type: 'button', testid: 'member-personal-mute', dataset: { focusKey: key('pm') },
    onclick: () => togglePersonalMute(app, m.id, pmuted),
  }, pmuted ? 'Show their messages' : 'Hide their messages (just for me)'));
  if (fac) {
    const myRole = st.me.role;
    // Facilitators moderate co-facilitators and participants, co-facilitators participants;
    // only the lead moderates another facilitator, and nobody the lead.
    const canModerate = !m.lead && (m.role === 'participant'
      || (m.role === 'co_facilitator' && myRole === 'facilitator')
      || (m.role === 'facilitator' && amLead(st)));
    actions.push(h('button', { type: 'button', testid: 'member-callon', dataset: { focusKey: key('call') }, onclick: () => callOn(app, m.id) }, 'Invite to speak (call on)'));
    actions.push(h('button', { type: 'button', testid: 'member-invite', dataset: { focusKey: key('inv') }, onclick: () => inviteToShare(app, m) }, 'Gently invite to share'));
    if (hand) actions.push(h('button', { type: 'button', testid: 'member-lowerhand', dataset: { focusKey: key('lh') }, onclick: () => lowerHand(app, m.id) }, 'Lower their hand'));
    if (canModerate) {
      actions.push(m.muted
        ? h('button', { type: 'button', testid: 'member-unmute', dataset: { focusKey: key('mute') }, onclick: () => unmute(app, m.id) }, 'Unmute')
        : h('button', { type: 'button', testid: 'member-mute', dataset: { focusKey: key('mute') }, onclick: () => mute(app, m.id) }, 'Mute'));
    }
    if (m.role === 'participant') actions.push(h('button', { type: 'button', testid: 'member-promote', dataset: { focusKey: key('pro') }, onclick: () => promote(app, m.id) }, 'Make co-facilitator'));
    if (m.role === 'co_facilitator' || (m.role === 'facilitator' && canModerate)) actions.push(h('button', { type: 'button', testid: 'member-demote', dataset: { focusKey: key('pro') }, onclick: () => demote(app, m.id) }, 'Make participant'));
    if (myRole === 'facilitator' && m.role !== 'facilitator') {
      actions.push(h('button', { type: 'button', testid: 'member-handover', dataset: { focusKey: key('ho') }, onclick: () => handOver(app, m.id) }, 'Hand over facilitation'));
    }
    if (canModerate) {
      if (app.confirmRemove === m.id) {
        actions.push(h('button', { type: 'button', class: 'danger', testid: 'member-remove-confirm', dataset: { focusKey: key('rm') }, onclick: () => removeMember(app, m.id) }, `Yes, remove ${m.name}`));
        actions.push(h('button', { type: 'button', testid: 'member-remove-cancel', onclick: () => cancelRemove(app) }, 'Cancel'));
      } else {
        actions.push(h('button', { type: 'button', class: 'danger', testid: 'member-remove', dataset: { focusKey: key('rm') }, onclick: () => askRemove(app, m.id) }, 'Remove…'));
      }
    }
  }
  const det = h('details', { class: 'member-actions', testid: 'member-actions', open: app.openDetails.has(m.id) },
    h('summary', { 'aria-label': `Actions for ${m.name}`, dataset: { focusKey: key('sum') } }, 'Actions'),
    h('div', { class: 'action-list' }, actions));
  det.addEventListener('toggle', () => {
    if (det.open) app.openDetails.add(m.id);
    else app.openDetails.delete(m.id);
  });
  li.append(det);
  return li;
}
