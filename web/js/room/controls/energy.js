// The energy check: my anonymous answer; a facilitator opens and closes checks.

import { toast } from '../../ui.js';
import { on } from './on.js';

export function wireEnergy(app) {
  on('energy-open', 'click', () => app.send({ type: 'open_energy_check' }));
  on('energy-close', 'click', () => {
    const c = app.state.energyCheck;
    if (c && c.open) app.send({ type: 'close_energy_check', check_id: c.id });
    else toast('There is no open energy check.');
  });
}

export const answerEnergy = (app, checkId, level) => app.send({ type: 'energy_answer', check_id: checkId, level });
