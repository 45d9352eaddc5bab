// Asking for support privately, the distress button (help first, then the alert), and a
// facilitator opening a one-on-one room for a request.

import { byTestId as T, show } from '../../dom.js';
import { openCrisis } from '../../ui.js';
import { on } from './on.js';

export function wireSupport(app) {
  on('support-open', 'click', () => {
    const f = T('support-form');
    f.hidden = !f.hidden;
    T('support-open').setAttribute('aria-expanded', String(!f.hidden));
    if (!f.hidden) T('support-note').focus();
  });
  on('support-cancel', 'click', () => {
    T('support-form').hidden = true;
    T('support-open').setAttribute('aria-expanded', 'false');
  });
  on('support-form', 'submit', (e) => {
    e.preventDefault();
    const note = T('support-note').value.trim();
    if (app.send(note ? { type: 'support_request', note } : { type: 'support_request' })) {
      T('support-note').value = '';
      T('support-form').hidden = true;
      T('support-open').setAttribute('aria-expanded', 'false');
      const el = T('support-sent');
      el.textContent = 'Sending your request privately…';
      el.hidden = false;
    }
  });
  on('distress-button', 'click', () => {
    // Help first, from what we already have; the server's reply refreshes it.
    openCrisis(false);
    if (app.phase === 'in' && app.send({ type: 'distress' })) {
      app.distressPending = true;
      // With no facilitator online the request goes to the on-call desk instead.
      const staffed = (app.state?.roster || []).some((m) => m.online && (m.role === 'facilitator' || m.role === 'co_facilitator'));
      T('crisis-alerted').textContent = staffed
        ? 'The facilitators have been alerted privately and will reach out.'
        : 'No facilitator is here right now: your request is going to the peer supporters on call.';
      show(T('crisis-alerted'), true);
    }
  });
}

export const openOneOnOne = (app, requestId) => app.send({ type: 'open_one_on_one', request_id: requestId });
