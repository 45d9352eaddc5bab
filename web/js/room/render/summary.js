// The end-of-session summary: highlights, energy checks, energizers and the parking lot. The
// download (facilitator key) is in controls/summary.js.

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { TAG_LABEL } from '../labels.js';
import { energyAggregate } from './energy.js';

export function renderSummary(app) {
  const s = app.state.summary;
  const panel = T('summary-panel');
  panel.hidden = !s;
  if (!s) return;
  const hls = s.highlights.map((hl) => h('li', { testid: 'summary-highlight' },
    h('span', { class: 'badge tag' }, TAG_LABEL[hl.tag] || hl.tag), ' ', h('span', { testid: 'summary-highlight-text' }, hl.text),
    h('span', { class: 'muted small', testid: 'summary-highlight-count' }, ` — ${hl.agreed.length} agree`)));
  replaceChildren(T('summary-highlights'), hls.length ? hls : [h('li', { class: 'muted small' }, 'None.')]);
  replaceChildren(T('summary-energy'), s.energy_checks.length ? s.energy_checks.map((c) => h('li', { testid: 'summary-energy-item' }, energyAggregate(c))) : [h('li', { class: 'muted small' }, 'None.')]);
  replaceChildren(T('summary-energizers'), s.energizers.length ? s.energizers.map((e) => h('li', { testid: 'summary-energizer' }, e)) : [h('li', { class: 'muted small' }, 'None.')]);
  replaceChildren(T('summary-parking'), s.parking_lot.length ? s.parking_lot.map((p) => h('li', { testid: 'summary-parking-item' }, p.text)) : [h('li', { class: 'muted small' }, 'Empty.')]);
  for (const el of document.querySelectorAll('.fac-key-only')) el.hidden = !app.key;
}
