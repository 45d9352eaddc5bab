// Energizers: answer the running one; a facilitator loads the library, previews, pushes a
// library or custom prompt, and closes it.

import { byTestId as T } from '../../dom.js';
import { toast } from '../../ui.js';
import { previewEnergizer } from '../render/energizer.js';
import { on } from './on.js';

export const listEnergizers = (app) => app.send({ type: 'list_energizers' });

export function wireEnergizerAnswer(app) {
  on('energizer-answer-form', 'submit', (e) => {
    e.preventDefault();
    const run = app.state.energizer;
    const text = T('energizer-answer-input').value.trim();
    if (!run || !text) return;
    app.send({ type: 'answer_energizer', run_id: run.id, text });
  });
  on('energizer-close', 'click', () => {
    const run = app.state.energizer;
    if (run) app.send({ type: 'close_energizer', run_id: run.id });
  });
}

export function wireEnergizerLibrary(app) {
  on('energizer-load', 'click', () => listEnergizers(app));
  on('energizer-select', 'change', () => previewEnergizer(app));
  on('energizer-push', 'click', () => {
    const id = T('energizer-select').value;
    const custom = T('energizer-custom').value.trim();
    const mins = Number(T('energizer-duration').value);
    const msg = { type: 'push_energizer' };
    if (id) msg.energizer_id = id;
    else if (custom) msg.prompt = custom;
    else return toast('Pick an energizer or write a prompt.', { kind: 'error' });
    if (mins > 0) msg.duration_secs = Math.max(1, Math.round(mins * 60));
    if (app.send(msg) && !id) T('energizer-custom').value = '';
  });
}
