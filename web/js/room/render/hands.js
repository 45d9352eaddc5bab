// Raised hands, in order; a facilitator can call on or lower each (controls/hands.js).

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { nameOf } from '../../state.js';
import { callOn, lowerHand } from '../controls/hands.js';

export function renderHands(app) {
  const st = app.state;
  const fac = app.amFac();
  const items = st.hands.map((id, i) => h('li', { testid: 'hand', dataset: { memberId: id } },
    h('span', null, `${i + 1}. ${nameOf(st, id)}`),
    fac ? h('button', { type: 'button', class: 'small', testid: 'hand-callon', dataset: { focusKey: 'hc:' + id }, onclick: () => callOn(app, id) }, 'Call on') : null,
    fac ? h('button', { type: 'button', class: 'small', testid: 'hand-lower', dataset: { focusKey: 'hl:' + id }, onclick: () => lowerHand(app, id) }, 'Lower') : null,
  ));
  replaceChildren(T('hands-list'), items.length ? items : [h('li', { class: 'muted small' }, 'No hands raised.')]);
}
