// The lead facilitator's own tool: rotating the facilitator key (shown to the lead only; the
// confirmation names who stops being a facilitator), the new facilitator link shown once after a
// rotation, and what everyone is told when the key changed. Actions: controls/lead.js.

import { byTestId as T, show } from '../../dom.js';
import { amLead } from '../../state.js';
import { store } from '../../store.js';
import { setBanner, clearBanner, toast } from '../../ui.js';

export function renderLead(app) {
  const st = app.state;
  const lead = amLead(st) && app.phase === 'in' && st.info.status !== 'closed';
  T('key-tool').hidden = !lead;
  if (!lead) app.confirmRotate = false;
  const confirming = !!app.confirmRotate;
  show(T('rotate-key'), !confirming);
  show(T('rotate-key-confirm-box'), confirming);
  if (confirming) {
    const others = st.roster.filter((m) => m.role === 'facilitator' && m.id !== st.me.member_id).map((m) => m.name);
    const who = others.length
      ? ` Right now that is: ${others.join(', ')}.`
      : ' Right now no one else has the facilitator role.';
    T('rotate-key-warning').textContent = 'The old facilitator link stops working, and every other facilitator becomes a participant '
      + `(co-facilitators keep their role).${who} Only you get the new link.`;
  }
}

/** The `facilitator_key` reply (to the lead only, once): the new link, to copy now. */
export function showNewKey(app) {
  const link = `${location.origin}/?room=${encodeURIComponent(app.roomId)}#key=${encodeURIComponent(app.key)}`;
  const input = T('new-fac-link');
  input.value = link;
  T('new-key-box').hidden = false;
  T('key-tool').open = true;
  input.focus();
}

export function closeNewKey() {
  T('new-fac-link').value = '';
  T('new-key-box').hidden = true;
}

/**
 * `key_rotated`: everyone is told. The old key no longer joins, so anyone but the lead forgets
 * it (the facilitator link, the summary download and a later fresh join would fail with it);
 * a demoted facilitator is told they are a participant now.
 */
export function keyRotated(app, e) {
  const st = app.state;
  if (!amLead(st) && app.key) {
    app.key = null;
    store.setKey(app.roomId, null);
    app.redraw('info'); // the facilitator link in the settings
    app.redraw('me'); // .fac-key-only
  }
  if (e.me_demoted) {
    setBanner('key-rotated', 'The lead facilitator changed the facilitator key. You are a participant now, and your facilitator link no longer works.', 'warn', [
      { label: 'OK', testid: 'key-rotated-ok', onClick: () => clearBanner('key-rotated') },
    ]);
    return;
  }
  let text = amLead(st)
    ? 'You changed the facilitator key. The old facilitator link no longer works.'
    : 'The lead facilitator changed the facilitator key.';
  if (e.names.length) text += ` ${e.names.join(', ')} ${e.names.length === 1 ? 'is a participant' : 'are participants'} now.`;
  toast(text, { testid: 'toast-key-rotated' });
}
