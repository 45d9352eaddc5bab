// Chat messages and system notes, keyed and incremental (the live region only announces new
// ones), with reactions and each message's menu (highlight, park, delete). While older messages
// can be read, the list starts with the "Load earlier messages" button (render/history.js).

import { h, byTestId as T, replaceChildren, formatClock } from '../../dom.js';
import { member, reactionsOf, isFac } from '../../state.js';
import { TAG_LABEL } from '../labels.js';
import { roleBadge } from './role.js';
import { react, deleteMessage } from '../controls/chat.js';
import { highlightMessage } from '../controls/highlights.js';
import { parkMessage } from '../controls/parking.js';
import { earlierItem, renderEarlier } from './history.js';

const REACTIONS = [
  ['👍', 'thumbs up'],
  ['❤️', 'heart'],
  ['🙏', 'thank you'],
  ['💡', 'insight'],
  ['🤝', 'solidarity'],
];

export function rebuildMessages(app) {
  T('message-list').replaceChildren();
  syncMessages(app, true);
}

/**
 * Bring the list in step with the state. forceScroll: go to the newest message. opts.anchor:
 * messages were added above (a page of earlier ones): keep what the reader sees where it is.
 */
export function syncMessages(app, forceScroll, opts = {}) {
  const st = app.state;
  if (!st) return;
  const list = T('message-list');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const heightBefore = list.scrollHeight;
  const topBefore = list.scrollTop;
  const items = [];
  for (const m of st.messages) {
    if (st.personallyMuted.includes(m.from)) continue;
    items.push({ key: 'm:' + m.id, seq: m.seq, m });
  }
  for (const n of st.notes) items.push({ key: 'n:' + n.seq, seq: n.seq, n });
  items.sort((a, b) => a.seq - b.seq);
  const empty = !items.length;
  if (st.nextBeforeSeq != null) items.unshift({ key: 'earlier', earlier: true });
  const existing = new Map();
  for (const el of list.children) existing.set(el.dataset.key, el);
  let prev = null;
  for (const it of items) {
    let el = existing.get(it.key);
    if (el) existing.delete(it.key);
    else if (it.earlier) el = earlierItem(app);
    else el = it.m ? messageItem(app, it.m) : h('li', { class: 'system-note', testid: 'system-note', dataset: { key: it.key } }, it.n.text);
    const want = prev ? prev.nextSibling : list.firstChild;
    if (el !== want) list.insertBefore(el, want);
    prev = el;
  }
  for (const el of existing.values()) el.remove();
  if (empty) {
    list.append(h('li', { class: 'system-note empty', dataset: { key: 'empty' } }, 'No messages yet. Say hello when you are ready.'));
  }
  renderEarlier(app);
  if (opts.anchor && !forceScroll) list.scrollTop = topBefore + (list.scrollHeight - heightBefore);
  else if (forceScroll || nearBottom) list.scrollTop = list.scrollHeight;
}

function messageItem(app, m) {
  const st = app.state;
  const author = member(st, m.from);
  const role = author ? author.role : null;
  const mine = m.from === st.me.member_id;
  const li = h('li', { class: `msg${mine ? ' mine' : ''}${isFac(role) ? ' by-fac' : ''}`, testid: 'message', dataset: { key: 'm:' + m.id, id: m.id, from: m.from } },
    h('div', { class: 'msg-head' },
      h('span', { class: 'msg-name', testid: 'message-name', dir: 'auto' }, m.name),
      roleBadge(role, 'message-role'),
      h('time', { class: 'msg-time', datetime: new Date(m.ts).toISOString() }, formatClock(m.ts))),
    h('p', { class: 'msg-text', testid: 'message-text' }, m.text),
    h('div', { class: 'msg-reactions', testid: 'message-reactions' }),
  );
  fillReactions(app, li.querySelector('.msg-reactions'), m);
  const fac = app.amFac();
  const canPark = fac || st.info.members_can_park;
  if (fac || canPark) {
    const btns = [];
    if (fac) {
      for (const tag of ['consensus', 'takeaway', 'action']) {
        btns.push(h('button', { type: 'button', class: 'small', testid: `msg-highlight-${tag}`, onclick: () => highlightMessage(app, tag, m.id) }, `Highlight as ${TAG_LABEL[tag].toLowerCase()}`));
      }
    }
    if (canPark) btns.push(h('button', { type: 'button', class: 'small', testid: 'msg-park', onclick: () => parkMessage(app, m.id) }, 'Move to parking lot'));
    if (fac) btns.push(h('button', { type: 'button', class: 'small danger', testid: 'msg-delete', onclick: () => deleteMessage(app, m.id) }, 'Delete message'));
    li.append(h('details', { class: 'msg-more', testid: 'message-more' },
      h('summary', { 'aria-label': `More actions for the message from ${m.name}` }, '⋯'),
      h('div', { class: 'action-list' }, btns)));
  }
  return li;
}

function fillReactions(app, host, m) {
  const st = app.state;
  const reactions = reactionsOf(m); // no prototype: "toString" is a reaction, not a method
  const emojis = REACTIONS.map(([e]) => e);
  for (const e of Object.keys(reactions)) if (!emojis.includes(e)) emojis.push(e);
  const nodes = emojis.map((e) => {
    const who = reactions[e] || [];
    const on = who.includes(st.me.member_id);
    const label = (REACTIONS.find(([x]) => x === e) || [e, e])[1];
    return h('button', {
      type: 'button', class: `react${on ? ' on' : ''}${who.length ? ' used' : ''}`, testid: 'react',
      dataset: { emoji: e, focusKey: `r:${m.id}:${e}` }, 'aria-pressed': String(on),
      'aria-label': `React ${label}${who.length ? ` (${who.length})` : ''}`,
      onclick: () => react(app, m.id, e),
    }, e, who.length ? h('span', { class: 'react-count' }, String(who.length)) : null);
  });
  replaceChildren(host, nodes);
}

/** Redraw one message's reactions in place (keeps focus on the reaction button). */
export function updateReactions(app, id) {
  const m = app.state.messages.find((x) => x.id === id);
  const li = T('message-list').querySelector(`[data-key="m:${CSS.escape(id)}"]`);
  if (m && li) fillReactions(app, li.querySelector('.msg-reactions'), m);
}
