// Support: the facilitators' inbox of private requests (urgent first), the one-on-one room
// offered to either side, and my own request's confirmation. Actions: controls/support.js.

import { h, byTestId as T, replaceChildren, formatClock } from '../../dom.js';
import { isFac } from '../../state.js';
import { setBanner, toast } from '../../ui.js';
import { openOneOnOne } from '../controls/support.js';

/** The facilitator's link into a one-on-one room (the key in the fragment, never sent). */
const facilitatorLink = (app, link, key) =>
  `${link}#key=${encodeURIComponent(key)}&name=${encodeURIComponent(app.name || 'Facilitator')}`;

export function renderSupport(app) {
  const st = app.state;
  if (!app.amFac()) {
    replaceChildren(T('support-inbox'), []);
    return;
  }
  const reqs = st.support.filter((r) => r.member_id !== st.me.member_id)
    .sort((a, b) => (Number(b.urgent) - Number(a.urgent)) || (a.ts - b.ts));
  T('support-count').textContent = reqs.length ? `(${reqs.length})` : '';
  replaceChildren(T('support-inbox'), reqs.length ? reqs.map((r) => {
    const mine = st.oneOnOne.find((o) => o.request_id === r.id && o.facilitator_key);
    return h('li', { class: `support-item${r.urgent ? ' urgent' : ''}`, testid: 'support-item', dataset: { urgent: String(r.urgent), requestId: r.id } },
      r.urgent ? h('span', { class: 'badge urgent', testid: 'support-urgent' }, 'URGENT — distress') : h('span', { class: 'badge' }, 'Support'),
      h('strong', { class: 'support-name' }, r.name),
      h('time', { class: 'muted small' }, ` ${formatClock(r.ts)}`),
      r.note ? h('p', { class: 'support-note', testid: 'support-item-note' }, r.note) : null,
      r.room_id
        ? (mine
          ? h('a', { class: 'button small', href: facilitatorLink(app, mine.link, mine.facilitator_key), target: '_blank', rel: 'noopener', testid: 'support-1on1-link' }, 'Open the one-on-one room')
          : h('span', { class: 'muted small' }, 'One-on-one room opened.'))
        : h('button', { type: 'button', class: 'small primary', testid: 'support-open-1on1', dataset: { focusKey: 's1:' + r.id }, onclick: () => openOneOnOne(app, r.id) }, 'Open one-on-one'));
  }) : [h('li', { class: 'muted small' }, 'No requests.')]);
}

/** A support request arrived: the facilitators are told; the sender sees it was sent. */
export function showSupportRequest(app, request) {
  const st = app.state;
  if (isFac(st.me.role) && request.member_id !== st.me.member_id) {
    toast(request.urgent ? `URGENT: ${request.name} signalled distress.` : `${request.name} asked for support.`, { kind: request.urgent ? 'error' : 'info', testid: 'toast-support' });
  } else if (request.member_id === st.me.member_id) {
    const el = T('support-sent');
    el.textContent = request.urgent
      ? 'The facilitators have been alerted privately.'
      : 'Your request was sent privately to the facilitators. Someone will reach out.';
    el.hidden = false;
  }
}

/** A one-on-one room opened: the facilitator who opened it gets it in a new tab, the member a banner. */
export function showOneOnOne(app, ev) {
  if (ev.facilitator_key) {
    const url = facilitatorLink(app, ev.link, ev.facilitator_key);
    const w = window.open(url, '_blank', 'noopener');
    void w;
    toast('A private one-on-one room is open.', { actions: [{ label: 'Open it', href: url, testid: 'one-on-one-open' }], timeout: 60000 });
  } else {
    setBanner('one-on-one', 'A facilitator opened a private one-on-one room for you.', 'calm', [
      { label: 'Join the private room', href: ev.link, target: '_blank', testid: 'one-on-one-join' },
    ]);
  }
}
