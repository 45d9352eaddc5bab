// The anonymous energy check: my answer buttons (controls/energy.js) or my answer, and the
// aggregate (also used by the summary). Below k answers the server sends no levels
// (`distribution: null`): only "n answers so far — waiting for more answers".

import { h, byTestId as T, replaceChildren } from '../../dom.js';
import { answerEnergy } from '../controls/energy.js';

const ENERGY_LABEL = ['1 — running on empty', '2 — low', '3 — okay', '4 — good', '5 — full of energy'];

export function renderEnergy(app) {
  const st = app.state;
  const c = st.energyCheck;
  const body = [];
  if (!c) {
    body.push(h('p', { class: 'muted small' }, 'No energy check right now.'));
  } else {
    const answered = st.myEnergy && st.myEnergy.check_id === c.id;
    if (c.open && app.phase === 'in') {
      if (answered) {
        body.push(h('p', { testid: 'energy-mine' }, `You answered ${st.myEnergy.level}. Thank you.`));
      } else {
        body.push(h('p', null, 'How is your energy right now? (anonymous)'));
        body.push(h('div', { class: 'energy-buttons', role: 'group', 'aria-label': 'Energy level' },
          [1, 2, 3, 4, 5].map((n) => h('button', {
            type: 'button', testid: `energy-${n}`, 'aria-label': ENERGY_LABEL[n - 1], title: ENERGY_LABEL[n - 1], dataset: { focusKey: 'en:' + n },
            onclick: () => answerEnergy(app, c.id, n),
          }, String(n)))));
      }
    } else if (!c.open) {
      body.push(h('p', { class: 'muted small' }, 'This check is closed.'));
    }
    body.push(energyAggregate(c));
  }
  replaceChildren(T('energy-body'), body);
}

export function energyAggregate(c) {
  const total = c.count;
  const answers = `${total} ${total === 1 ? 'answer' : 'answers'}`;
  if (!c.distribution) {
    // Too few answers to show anything anonymously: the count alone.
    return h('div', { class: 'energy-aggregate', testid: 'energy-aggregate', dataset: { count: String(total), checkId: c.id, hidden: '1' } },
      h('p', { class: 'energy-count', testid: 'energy-count' },
        c.open ? `${answers} so far — waiting for more answers` : `${answers} — too few to show anonymously`));
  }
  // The levels may cover fewer answers than the count (they move in steps of k).
  const covered = c.distribution.reduce((acc, n) => acc + n, 0);
  const sum = c.distribution.reduce((acc, n, i) => acc + n * (i + 1), 0);
  const avg = covered ? (sum / covered).toFixed(1) : '–';
  const of = covered < total ? ` (levels of ${covered})` : '';
  return h('div', { class: 'energy-aggregate', testid: 'energy-aggregate', dataset: { count: String(total), checkId: c.id } },
    h('p', { class: 'energy-count', testid: 'energy-count' }, `${answers} · average ${avg}${of}`),
    h('ul', { class: 'energy-dist' }, c.distribution.map((n, i) => h('li', null,
      h('span', { class: 'lvl' }, String(i + 1)),
      h('meter', { min: '0', max: String(Math.max(covered, 1)), value: String(n), 'aria-label': `Level ${i + 1}: ${n}` }),
      h('span', { class: 'n' }, String(n))))));
}
