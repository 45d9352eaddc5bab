// The room's info: title, room-wide banners (paused, pinned, closed) and the welcome note; then
// the facilitator settings that mirror it and the parking form that depends on it.

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { isFac } from '../../state.js';
import { setBanner, clearBanner } from '../../ui.js';
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
