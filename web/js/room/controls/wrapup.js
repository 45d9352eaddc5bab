// Wrap-up (the soft end): a facilitator pushes the suggested check-out round.

import { on } from './on.js';

export function wireWrapUp(app) {
  on('wrapup-push', 'click', () => {
    const w = app.state && app.state.wrapUp;
    if (w) app.send({ type: 'push_energizer', energizer_id: w.suggestion.id });
  });
}
