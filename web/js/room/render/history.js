// Earlier messages: the "Load earlier messages" button at the top of the message list (shown
// while state.nextBeforeSeq is set; controls/history.js sends `history_before`), and drawing a
// `history` frame once state.js has merged it: the view stays on what the reader was looking at,
// keyboard focus goes to the first new message when they asked for it, and a status line says
// how many arrived (the log itself does not read a whole page aloud).

import { h, byTestId as T } from '../../dom.js';
import { loadEarlier } from '../controls/history.js';
import { syncMessages } from './messages.js';

const LABEL = 'Load earlier messages';
const LOADING = 'Loading earlier messages…';

/** The list item holding the button (render/messages.js keeps it first in the list). */
export function earlierItem(app) {
  const button = h('button', {
    type: 'button', class: 'small load-earlier', testid: 'load-earlier',
    onclick: () => loadEarlier(app),
  }, LABEL);
  const li = h('li', { class: 'earlier', testid: 'earlier', dataset: { key: 'earlier' } }, button);
  updateButton(app, button);
  return li;
}

/** Reflect a request in flight on the button (never `disabled`: it would drop keyboard focus). */
export function renderEarlier(app) {
  const b = T('load-earlier');
  if (b) updateButton(app, b);
}

function updateButton(app, b) {
  const busy = !!app.historyPending;
  const text = busy ? LOADING : LABEL;
  if (b.textContent !== text) b.textContent = text;
  b.setAttribute('aria-disabled', String(busy));
  b.setAttribute('aria-busy', String(busy));
}

/**
 * Draw a merged `history` frame. added: the new message ids, oldest first. asked: the reader
 * pressed the button (else: the earlier messages shared with a newcomer after the ground rules).
 */
export function showHistory(app, added, asked) {
  const list = T('message-list');
  const focusWasHere = !document.activeElement || document.activeElement === document.body
    || document.activeElement === T('load-earlier') || list.contains(document.activeElement);
  // A page of earlier messages is not news: keep the log's live region from reading it all out.
  list.setAttribute('aria-live', 'off');
  syncMessages(app, false, { anchor: asked });
  setTimeout(() => list.setAttribute('aria-live', 'polite'), 400);
  renderEarlier(app);

  const n = added.length;
  const more = app.state.nextBeforeSeq != null;
  const status = T('earlier-status');
  if (asked) {
    status.textContent = n
      ? `Loaded ${n} earlier ${n === 1 ? 'message' : 'messages'}.${more ? '' : ' That is the beginning of what you can read.'}`
      : 'There are no earlier messages you can read.';
  } else if (n) {
    status.textContent = `${n} earlier ${n === 1 ? 'message is' : 'messages are'} shown above: this room shares what was said before you arrived.`;
  }
  if (!asked || !focusWasHere) return;
  // Keyboard users land on the first new message (its place in the list scrolls into view);
  // with nothing new, on the button, or the list once the button is gone.
  const first = added.map((id) => list.querySelector(`[data-key="m:${CSS.escape(id)}"]`)).find(Boolean) || null;
  const target = first || T('load-earlier') || list;
  if (first) first.setAttribute('tabindex', '-1');
  target.focus();
}
