// The schedule, redrawn every 250 ms by app.js: every [data-deadline] countdown (timers, the
// lobby), the session clock, the 5- and 1-minute session warnings, and the wrap-up banner
// (from info.wrap_up_until, so a late joiner sees it too).

import { byTestId as T, formatDuration, formatClockZoned } from '../../dom.js';
import { setBanner, clearBanner } from '../../ui.js';

export function tick(app) {
  const now = app.serverNow();
  for (const el of document.querySelectorAll('[data-deadline]')) {
    let left = Number(el.dataset.deadline) - now;
    if (el.dataset.max) left = Math.min(left, Number(el.dataset.max)); // clock skew never shows more than the length
    const text = formatDuration(left);
    if (el.textContent !== text) el.textContent = text;
  }
  const clock = T('session-clock');
  const st = app.state;
  const until = st && st.info.status !== 'closed' && app.phase !== 'removed' ? st.info.wrap_up_until : null;
  if (until) {
    clearBanner('warning');
    setBanner('wrapup', `Wrapping up — the room closes at ${formatClockZoned(until)}`, 'warn');
    const text = `Wrapping up · ${formatDuration(Math.max(0, until - now))}`;
    if (clock.textContent !== text) clock.textContent = text;
    clock.hidden = false;
    clock.classList.add('soon');
    return;
  }
  clearBanner('wrapup');
  if (st && st.info.ends_at && st.info.status !== 'closed' && app.phase !== 'removed') {
    const left = st.info.ends_at - now;
    const text = left > 0 ? `Time left ${formatDuration(left)}` : 'Ending…';
    if (clock.textContent !== text) clock.textContent = text;
    clock.hidden = false;
    clock.classList.toggle('soon', left <= 5 * 60000);
    // The 5- and 1-minute warnings, from the clock too (a late joiner never saw the event).
    const level = left <= 0 ? app.warnLevel : left <= 60000 ? 1 : left <= 5 * 60000 ? 5 : 0;
    if (level !== app.warnLevel) {
      app.warnLevel = level;
      if (level) showWarning(level);
      else clearBanner('warning');
    }
  } else if (st && st.info.status === 'closed') {
    clock.textContent = 'Ended';
    clock.hidden = false;
  } else {
    clock.hidden = true;
  }
}

export function showWarning(minutes) {
  setBanner('warning', minutes === 1 ? 'About one minute left in this session.' : `About ${minutes} minutes left in this session.`, 'warn', [
    { label: 'OK', testid: 'warning-ok', onClick: () => clearBanner('warning') },
  ]);
}
