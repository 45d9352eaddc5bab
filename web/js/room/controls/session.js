// The session itself: leave it (anyone, also from the lobby or waiting room); a facilitator
// extends it or ends it behind a confirmation.

import { byTestId as T, show } from '../../dom.js';
import { showStatus } from '../render/status.js';
import { on } from './on.js';

export function leave(app) {
  app.send({ type: 'leave' });
  app.stopFor('left');
  app.forgetRoom();
  showStatus('You left the session', 'Thank you for being here. Take care of yourself.', { home: true });
}

export function wireLeave(app) {
  on('leave-button', 'click', () => leave(app));
  on('status-leave', 'click', () => leave(app));
}

export function wireSessionEnd(app) {
  on('extend-5', 'click', () => app.send({ type: 'extend_session', minutes: 5 }));
  on('extend-15', 'click', () => app.send({ type: 'extend_session', minutes: 15 }));
  const confirmEnd = (on2) => {
    show(T('end-session'), !on2);
    show(T('end-session-confirm'), on2);
    show(T('end-session-cancel'), on2);
    (on2 ? T('end-session-confirm') : T('end-session')).focus();
  };
  on('end-session', 'click', () => confirmEnd(true));
  on('end-session-cancel', 'click', () => confirmEnd(false));
  on('end-session-confirm', 'click', () => {
    app.send({ type: 'end_session' });
    show(T('end-session'), true);
    show(T('end-session-confirm'), false);
    show(T('end-session-cancel'), false);
  });
}
