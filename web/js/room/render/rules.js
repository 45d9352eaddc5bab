// The ground rules: the list (and the facilitator's editor, unless it is being typed in), and the
// rules dialog with its focus. The buttons are in controls/rules.js.

import { h, byTestId as T, replaceChildren, show } from '../../dom.js';
import { needsRules } from '../../state.js';

export function renderRulesList(app) {
  const st = app.state;
  replaceChildren(T('rules-list'), st.rules.rules.map((r) => h('li', { testid: 'rule' }, r)));
  const ed = T('rules-editor');
  if (document.activeElement !== ed) ed.value = st.rules.rules.join('\n');
}

/** why: 'join' (before posting, or on request) | 'updated' | 'shown' (by a facilitator). */
export function openRules(app, why) {
  const st = app.state;
  if (!st || app.phase !== 'in') return;
  renderRulesList(app);
  const must = needsRules(st);
  T('rules-intro').textContent = why === 'updated'
    ? 'The ground rules changed. Please read them and accept them again to keep posting.'
    : why === 'shown'
      ? 'The facilitator asks everyone to look at the ground rules again.'
      : must ? 'Please read these and accept them before you post.' : 'These are the ground rules for this session.';
  show(T('rules-accept'), must);
  T('rules-close').textContent = must ? 'Read later' : 'Close';
  const d = T('rules-dialog');
  if (!d.open) d.showModal();
  (must ? T('rules-accept') : T('rules-close')).focus();
}
