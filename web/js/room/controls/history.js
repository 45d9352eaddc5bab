// Earlier messages: page back through what I may read (`history_before`, answered by a
// `history` frame that app.js merges with state.js applyHistory and render/history.js draws),
// and, for facilitators, sharing the messages sent before a newcomer arrived
// (`set_share_history`; render/settings.js mirrors info.share_history).

import { on } from './on.js';
import { renderEarlier } from '../render/history.js';

/** How many messages to ask for per page (the server also caps a page at 64 KiB). */
export const HISTORY_PAGE = 50;

/** Ask for the page before the oldest message I hold (one request at a time). */
export function loadEarlier(app) {
  const st = app.state;
  if (!st || st.nextBeforeSeq == null || app.historyPending) return;
  if (app.send({ type: 'history_before', before_seq: st.nextBeforeSeq, limit: HISTORY_PAGE })) {
    app.historyPending = true;
    renderEarlier(app);
  }
}

/** The request was refused or lost (an error frame, a new connection): the button works again. */
export function earlierFailed(app) {
  app.historyPending = false;
  renderEarlier(app);
}

export function wireShareHistory(app) {
  on('share-history-toggle', 'change', (e) => {
    const enabled = e.target.checked;
    // Offline: put the box back as the room has it (render/settings.js mirrors room_updated).
    if (!app.send({ type: 'set_share_history', enabled })) e.target.checked = !enabled;
  });
}
