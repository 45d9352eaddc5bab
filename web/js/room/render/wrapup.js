// Wrap-up (the soft end), for facilitators: the suggested check-out prompt (pushed by
// controls/wrapup.js) and a preview of the summary, from wrap_up_preview. Everyone's banner
// ("Wrapping up — the room closes at HH:MM") is drawn by render/clock.js.

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { isFac } from '../../state.js';
import { TAG_LABEL } from '../labels.js';
import { energyAggregate } from './energy.js';

export function renderWrapUp(app) {
  const st = app.state;
  const w = st.wrapUp;
  const panel = T('wrapup-panel');
  panel.hidden = !(w && st.info.wrap_up_until && st.info.status !== 'closed' && isFac(st.me.role));
  if (panel.hidden) return;
  T('wrapup-suggestion-title').textContent = w.suggestion.title;
  T('wrapup-suggestion-prompt').textContent = w.suggestion.prompt;
  const s = w.summary;
  const none = (text) => [h('li', { class: 'muted small' }, text)];
  replaceChildren(T('wrapup-highlights'), s.highlights.length
    ? s.highlights.map((hl) => h('li', { testid: 'wrapup-highlight' },
      h('span', { class: 'badge tag' }, TAG_LABEL[hl.tag] || hl.tag), ' ', hl.text))
    : none('None yet.'));
  replaceChildren(T('wrapup-energy'), s.energy_checks.length
    ? s.energy_checks.map((c) => h('li', null, energyAggregate(c)))
    : none('None.'));
  replaceChildren(T('wrapup-parking'), s.parking_lot.length
    ? s.parking_lot.map((p) => h('li', null, p.text))
    : none('Empty.'));
}
