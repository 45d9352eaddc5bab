// What I can do right now: facilitator-only parts shown or hidden, my hand, the muted banner, the
// composer (or why I cannot post) and the tools that need the room.

import { h, byTestId as T, replaceChildren, show } from '../../dom.js';
import { myMember, needsRules } from '../../state.js';
import { setBanner, clearBanner } from '../../ui.js';
import { openRules } from './rules.js';

export function renderMe(app) {
  if (!app.state) return;
  const st = app.state;
  const me = myMember(st);
  const fac = app.amFac();
  const inRoom = app.phase === 'in' || app.phase === 'connecting' || app.phase === 'elsewhere';
  document.body.classList.toggle('is-fac', fac);
  show(T('fac-panel'), fac && app.phase !== 'ended');
  for (const el of document.querySelectorAll('.fac-only')) el.hidden = !fac || !inRoom;
  for (const el of document.querySelectorAll('.fac-key-only')) el.hidden = !app.key;

  const raised = st.hands.includes(st.me.member_id);
  const rh = T('raise-hand');
  rh.textContent = raised ? 'Lower hand' : 'Raise hand';
  rh.setAttribute('aria-pressed', String(raised));

  // Muted banner.
  if (me && me.muted && !fac && inRoom) {
    setBanner('muted', 'A facilitator has muted you for now. You can keep reading.', 'warn');
  } else {
    clearBanner('muted');
  }

  // Composer.
  let why = null;
  let rulesButton = false;
  if (app.phase === 'removed') why = 'You were removed from this session.';
  else if (app.phase === 'ended' || st.info.status === 'closed') why = 'This session has ended.';
  else if (app.phase === 'left') why = 'You left this session.';
  else if (st.info.status === 'paused' && !fac) why = 'A facilitator will be back shortly; you can read but not post.';
  else if (st.info.status === 'awaiting_facilitator' && !fac) why = 'The facilitator will open the room.';
  else if (me && me.muted && !fac) why = 'A facilitator has muted you for now.';
  else if (needsRules(st)) { why = 'Please read and accept the ground rules to post.'; rulesButton = true; }
  const input = T('chat-input');
  const canPost = !why;
  input.disabled = !canPost;
  T('chat-send').disabled = !canPost;
  const note = T('composer-note');
  const slow = st.info.slow_mode_secs > 0 && canPost && !fac ? `Slow mode is on: one message every ${st.info.slow_mode_secs} s.` : null;
  const text = why || slow;
  note.hidden = !text;
  replaceChildren(note, text ? [
    h('span', { testid: 'composer-why' }, text),
    rulesButton ? h('button', { type: 'button', class: 'link-button', testid: 'composer-rules', onclick: () => openRules(app, 'join') }, 'Read the ground rules') : null,
  ] : []);

  // Tools that need the room.
  const active = inRoom && st.info.status !== 'closed';
  for (const id of ['raise-hand', 'support-open', 'distress-button', 'leave-button']) T(id).disabled = !active;
  T('distress-button').disabled = false; // help is always one click away
  show(T('leave-button'), app.phase !== 'removed' && app.phase !== 'ended');
  T('energizer-answer-submit').disabled = !canPost;
  T('energizer-answer-input').disabled = !canPost;
}
