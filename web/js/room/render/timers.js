// Running and paused timers; the remaining time counts down in render/clock.js (data-deadline).
// A facilitator's buttons are in controls/timers.js.

import { h, byTestId as T, replaceChildren, formatDuration, show } from '../../dom.js';
import { pauseTimer, resumeTimer, extendTimer, cancelTimer } from '../controls/timers.js';
import { tick } from './clock.js';

export function renderTimers(app) {
  const st = app.state;
  const fac = app.amFac();
  show(T('timers-panel'), st.timers.length > 0);
  replaceChildren(T('timers-list'), st.timers.map((t) => {
    const running = t.state === 'running';
    const rem = h('span', { class: 'timer-remaining', testid: 'timer-remaining', 'aria-live': 'off' });
    if (running && t.deadline) {
      rem.dataset.deadline = String(t.deadline);
      rem.dataset.max = String(t.duration_ms);
    } else {
      rem.textContent = formatDuration(t.remaining_ms || 0);
    }
    const li = h('li', { class: `timer ${t.state}`, testid: 'timer', dataset: { timerId: t.id } },
      h('span', { class: 'timer-name', testid: 'timer-name' }, t.name),
      rem,
      t.state === 'paused' ? h('span', { class: 'badge' }, 'paused') : null);
    if (fac) {
      const k = (a) => ({ focusKey: `${a}:${t.id}` });
      li.append(h('span', { class: 'timer-actions' },
        running
          ? h('button', { type: 'button', class: 'small', testid: 'timer-pause', dataset: k('pr'), onclick: () => pauseTimer(app, t.id) }, 'Pause')
          : h('button', { type: 'button', class: 'small', testid: 'timer-resume', dataset: k('pr'), onclick: () => resumeTimer(app, t.id) }, 'Resume'),
        h('button', { type: 'button', class: 'small', testid: 'timer-extend', dataset: k('ex'), onclick: () => extendTimer(app, t.id) }, '+1 min'),
        h('button', { type: 'button', class: 'small', testid: 'timer-cancel', dataset: k('ca'), onclick: () => cancelTimer(app, t.id) }, 'Cancel')));
    }
    return li;
  }));
  tick(app);
}
