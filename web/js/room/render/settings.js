// Facilitator settings mirror the room (never overwriting the control the user is in), and the
// share links. The actions are in controls/settings.js.

import { h, byTestId as T } from '../../dom.js';

export function renderSettings(app) {
  const { info } = app.state;
  const setChecked = (id, v) => { const el = T(id); if (el && document.activeElement !== el) el.checked = !!v; };
  setChecked('waiting-toggle', info.waiting_room);
  setChecked('lock-toggle', info.locked);
  setChecked('parking-toggle', info.members_can_park);
  setChecked('share-history-toggle', info.share_history);
  const sm = T('slowmode-select');
  if (document.activeElement !== sm) {
    const v = String(info.slow_mode_secs);
    if (![...sm.options].some((o) => o.value === v)) sm.append(h('option', { value: v }, `${v} seconds`));
    sm.value = v;
  }
  if (document.activeElement !== T('welcome-input')) T('welcome-input').value = info.welcome_message || '';
  if (document.activeElement !== T('pin-input')) T('pin-input').value = info.pinned || '';
  T('share-link').value = `${location.origin}/?room=${encodeURIComponent(info.id)}`;
  T('fac-link').value = app.key ? `${location.origin}/?room=${encodeURIComponent(info.id)}#key=${encodeURIComponent(app.key)}` : '';
}
