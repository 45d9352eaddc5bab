// Timers (facilitators): start one from the form; pause, resume, +1 min, cancel each.

import { byTestId as T } from '../../dom.js';
import { toast } from '../../ui.js';
import { on } from './on.js';

export function wireTimers(app) {
  on('timer-form', 'submit', (e) => {
    e.preventDefault();
    // The form's own fields: a running timer's name also carries the test id
    // `timer-name`, and comes first in the page.
    const form = e.currentTarget;
    const name = form.elements['timer-name'].value.trim() || 'Timer';
    const mins = Number(form.elements['timer-minutes'].value);
    if (!(mins > 0)) return toast('Give the timer a length in minutes.', { kind: 'error' });
    app.send({ type: 'timer_start', name, duration_secs: Math.max(1, Math.round(mins * 60)) });
  });
}

export const pauseTimer = (app, timerId) => app.send({ type: 'timer_pause', timer_id: timerId });
export const resumeTimer = (app, timerId) => app.send({ type: 'timer_resume', timer_id: timerId });
export const extendTimer = (app, timerId) => app.send({ type: 'timer_extend', timer_id: timerId, secs: 60 });
export const cancelTimer = (app, timerId) => app.send({ type: 'timer_cancel', timer_id: timerId });
