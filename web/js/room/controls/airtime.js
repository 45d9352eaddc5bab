// Airtime (facilitators): ask for fresh figures (the reply is drawn by render/airtime.js).

import { on } from './on.js';

export function wireAirtime(app) {
  on('airtime-refresh', 'click', () => app.send({ type: 'airtime' }));
}
