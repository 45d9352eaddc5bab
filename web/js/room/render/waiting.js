// The waiting room, for facilitators: who waits, with Admit / Decline (controls/waiting.js).

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { admit, decline } from '../controls/waiting.js';

export function renderWaiting(app) {
  const st = app.state;
  T('waiting-count').textContent = st.waiting.length ? `(${st.waiting.length})` : '';
  replaceChildren(T('waiting-list'), st.waiting.length
    ? st.waiting.map((w) => h('li', { testid: 'waiting-item', dataset: { memberId: w.member_id } },
      h('span', { class: 'waiting-name', testid: 'waiting-name' }, w.name),
      h('button', { type: 'button', class: 'small primary', testid: 'waiting-admit', dataset: { focusKey: 'wa:' + w.member_id }, onclick: () => admit(app, w.member_id) }, 'Admit'),
      h('button', { type: 'button', class: 'small', testid: 'waiting-decline', dataset: { focusKey: 'wd:' + w.member_id }, onclick: () => decline(app, w.member_id) }, 'Decline')))
    : [h('li', { class: 'muted small' }, 'Nobody is waiting.')]);
}
