// The parking lot: off-topic points saved for later, and who may park (controls/parking.js).

import { h, byTestId as T, replaceChildren, show } from '../../dom.js';
import { unpark } from '../controls/parking.js';

export function renderParking(app) {
  const st = app.state;
  const fac = app.amFac() && app.phase === 'in';
  replaceChildren(T('parking-list'), st.parking.length ? st.parking.map((p) => h('li', { testid: 'parking-item', dataset: { itemId: p.id } },
    h('span', { class: 'parking-text' }, p.text),
    fac ? h('button', { type: 'button', class: 'small', testid: 'parking-unpark', dataset: { focusKey: 'up:' + p.id }, onclick: () => unpark(app, p.id) }, 'Unpark') : null))
    : [h('li', { class: 'muted small' }, 'Off-topic points, saved for later.')]);
  renderParkingForm(app);
}

export function renderParkingForm(app) {
  const st = app.state;
  show(T('parking-form'), app.phase === 'in' && (app.amFac() || st.info.members_can_park));
}
