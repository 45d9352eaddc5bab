// The status view (connecting, lobby, waiting room, refusals, goodbyes): a title, a message, an
// optional countdown (drawn by render/clock.js), and Leave / Home / Retry buttons.

import { h, byTestId as T, show } from '../../dom.js';
import { showView } from '../../ui.js';

/** opts: { countdownTo, leave, home, retry: { label, run } } */
export function showStatus(title, message, opts = {}) {
  T('status-title').textContent = title;
  T('status-message').textContent = message || '';
  const cd = T('status-countdown');
  if (opts.countdownTo) {
    cd.dataset.deadline = String(opts.countdownTo);
    cd.hidden = false;
  } else {
    delete cd.dataset.deadline;
    cd.hidden = true;
  }
  show(T('status-leave'), !!opts.leave);
  show(T('status-home'), !!opts.home);
  const actions = T('status-leave').parentElement;
  for (const b of actions.querySelectorAll('[data-retry]')) b.remove();
  if (opts.retry) {
    actions.append(h('button', { type: 'button', class: 'primary', dataset: { retry: '1' }, testid: 'status-retry', onclick: opts.retry.run }, opts.retry.label));
  }
  showView('status');
}
