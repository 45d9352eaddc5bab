// The room's info: title, room-wide banners (paused, pinned, closed) and the welcome note; then
// the facilitator settings that mirror it and the parking form that depends on it.

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { isFac } from '../../state.js';
import { setBanner, clearBanner, openCrisis } from '../../ui.js';
import { renderSettings } from './settings.js';
import { renderParkingForm } from './parking.js';

export function renderInfo(app) {
  const { info } = app.state;
  const title = T('room-title');
  title.textContent = info.title;
  title.hidden = false;
  document.title = `${info.title} — Huddle`;
  // Room-wide banners from the room's settings.
  if (info.status === 'paused' && !isFac(app.state.me.role)) {
    setBanner('paused', 'A facilitator will be back shortly; you can read but not post.', 'calm');
  } else {
    clearBanner('paused');
  }
  if (info.status === 'awaiting_facilitator') {
    setBanner('awaiting', 'The facilitator will open the room. Meanwhile you can read and accept the ground rules.', 'calm');
  } else {
    clearBanner('awaiting');
  }
  // Nobody has come to run the room: where help is, for everyone, all the time.
  if (info.unattended && info.status !== 'closed') {
    setBanner('unattended', 'Nobody is here to run this room right now. If you need support, a peer supporter on call can help, and the crisis lines are open.', 'warn', [
      { label: 'Ask a peer supporter', testid: 'unattended-ask', onClick: () => askOnCall(app) },
      { label: 'Crisis lines', testid: 'unattended-crisis', onClick: () => openCrisis(false) },
    ]);
  } else {
    clearBanner('unattended');
  }
  if (info.pinned) setBanner('pinned', `📌 ${info.pinned}`, 'info');
  else clearBanner('pinned');
  const notices = T('room-notices');
  replaceChildren(notices, info.welcome_message
    ? [h('div', { class: 'welcome-note', testid: 'welcome-message' }, h('strong', null, 'Welcome. '), info.welcome_message)]
    : []);
  if (info.status === 'closed') {
    setBanner('closed', 'This session has ended. Thank you for taking part — the summary is below.', 'calm');
  }
  renderSettings(app);
  renderParkingForm(app);
}

/** Ask for support where no facilitator is: the request goes to the on-call desk. */
function askOnCall(app) {
  openCrisis(false);
  if (app.phase === 'in' && app.send({ type: 'support_request' })) {
    const el = T('oncall-status');
    el.textContent = 'Sending your request to the peer supporters on call…';
    el.hidden = false;
  }
}
