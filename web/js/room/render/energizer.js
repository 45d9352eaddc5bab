// The energizer: the running card (prompt, answers, answer form) for everyone, and for a
// facilitator the library picker with its preview. The actions are in controls/energizer.js.

import { h, byTestId as T, replaceChildren, formatDuration, show } from '../../dom.js';

export function renderEnergizer(app) {
  const st = app.state;
  const run = st.energizer;
  const card = T('energizer-card');
  card.hidden = !run;
  if (!run) return;
  if (card.dataset.runId !== run.id) {
    card.dataset.runId = run.id;
    T('energizer-answer-input').value = '';
  }
  T('energizer-title').textContent = run.title;
  T('energizer-prompt').textContent = run.prompt;
  T('energizer-state').textContent = run.open ? '' : '(closed)';
  const mine = run.answers.find((a) => a.member_id === st.me.member_id);
  T('energizer-answer-submit').textContent = mine ? 'Change answer' : 'Answer';
  show(T('energizer-answer-form'), run.open && app.phase === 'in');
  show(T('energizer-close'), run.open && app.amFac() && app.phase === 'in');
  replaceChildren(T('energizer-answers'), run.answers.map((a) => h('li', { testid: 'energizer-answer', dataset: { memberId: a.member_id } },
    h('span', { class: 'answer-name' }, a.name), ': ', h('span', { class: 'answer-text', testid: 'energizer-answer-text' }, a.text))));
}

/** The library (app.energizerLib, from an `energizers` frame) into the picker. */
export function renderEnergizerLibrary(app) {
  const list = app.energizerLib || [];
  const sel = T('energizer-select');
  const cur = sel.value;
  replaceChildren(sel, [
    h('option', { value: '' }, '— custom prompt below —'),
    ...list.map((e) => h('option', { value: e.id }, `${e.title} (${formatDuration(e.suggested_secs * 1000)})`)),
  ]);
  sel.value = list.some((e) => e.id === cur) ? cur : '';
  previewEnergizer(app);
}

export function previewEnergizer(app) {
  const e = (app.energizerLib || []).find((x) => x.id === T('energizer-select').value);
  T('energizer-preview').textContent = e ? e.prompt : '';
  if (e && !T('energizer-duration').value) T('energizer-duration').placeholder = String(e.suggested_secs / 60);
}
