// How a membership goes wrong or ends, from the socket: error frames, join refusals (each with
// its status screen), removal, being declined, close codes and the connection indicator.

import { byTestId as T } from '../dom.js';
import { store } from '../store.js';
import { showView, setBanner, clearBanner, toast } from '../ui.js';
import { showStatus } from './render/status.js';
import { openRules } from './render/rules.js';
import { chatRefused, chatMaybeRefused } from './controls/chat.js';
import { earlierFailed } from './controls/history.js';

export function onError(app, m) {
  const code = m.code;
  if (m.refused === 'join') return onJoinRefused(app, m);
  if (code === 'removed') return onRemoved(app, m.message);
  if (m.refused === 'chat') {
    // Never silent: the reason next to the composer, the text kept (controls/chat.js).
    chatRefused(app, m);
    if (code === 'rules_not_accepted') openRules(app, 'join');
    return;
  }
  if (!m.refused && chatMaybeRefused(app, m)) return;
  if (m.refused === 'history_before') earlierFailed(app);
  if (m.refused === 'support_request') {
    // The line under the button said "Sending…": say it was not sent (the toast says why).
    const sent = T('support-sent');
    sent.textContent = 'Your request was not sent. Please try again, or use "Get help now".';
    sent.hidden = false;
  }
  switch (code) {
    case 'invalid_text':
      // A text field held control or bidi-override characters; the server's message names the
      // field ("timer name has control or bidi-override characters").
      toast(`Not saved: ${m.message || 'the text has characters that are not allowed'}. Please retype it without special control characters.`, { kind: 'error', testid: 'toast-invalid-text' });
      return;
    case 'room_closed':
      if (app.state && !app.state.summary) toast('This session has ended.', { kind: 'error' });
      return;
    case 'rules_not_accepted':
      openRules(app, 'join');
      return;
    default:
      toast(m.message || 'That did not work.', { kind: 'error' });
  }
}

function onJoinRefused(app, m) {
  const home = { home: true };
  const retry = (label) => ({ home: true, retry: { label, run: () => retryJoin(app) } });
  switch (m.code) {
    case 'bad_resume':
      // The old membership is gone: join afresh (a new connection is needed).
      store.forget(app.roomId);
      app.state = null;
      app.phase = 'connecting';
      app.conn.restart();
      return;
    case 'room_not_found':
      app.forgetRoom();
      app.stopFor('error');
      return showStatus('We could not find this session', 'The link may be mistyped, or the session is over.', home);
    case 'room_closed':
      app.stopFor('ended');
      app.forgetRoom();
      if (app.state && app.state.summary) {
        app.renderAll();
        showView('room');
        return;
      }
      return showStatus('This session has ended', 'Thank you for taking part. Take care of yourself.', home);
    case 'removed':
      app.stopFor('removed');
      app.forgetRoom();
      return showStatus('You cannot rejoin this session', m.message || 'A facilitator removed you from this session.', home);
    case 'forbidden':
      if (app.phase === 'waiting') return onDeclined(app, m.message);
      store.setKey(app.roomId, null);
      app.key = null;
      app.stopFor('error');
      return showStatus('This facilitator link is not valid', m.message || 'The key in the link does not match this session.', retry('Join as a participant instead'));
    case 'room_locked':
      app.stopFor('error');
      return showStatus('The room is locked right now', 'The facilitator has locked this session. You can try again in a little while.', retry('Try again'));
    case 'room_full':
      app.stopFor('error');
      return showStatus('The room is full', 'This session has reached its capacity. You can try again in a little while.', retry('Try again'));
    case 'invalid_name':
    case 'name_taken': {
      // Back to the name form (app.js), with the reason, to choose another name.
      app.stopFor('error');
      const why = m.code === 'name_taken'
        ? 'Someone in this session already uses that name (or one that looks the same). Please choose another.'
        : m.message;
      if (app.onBadName) return app.onBadName(why, m.code);
      return showStatus('Please choose another name', why, home);
    }
    case 'version_mismatch':
      app.stopFor('error');
      return showStatus('Please reload the page', 'This page is out of date with the server.', home);
    default:
      // Transient (rate limited, unavailable...): try again with backoff.
      toast(m.message || 'Could not join yet; trying again.', { kind: 'error' });
      app.conn.drop();
  }
}

export function retryJoin(app) {
  app.phase = 'connecting';
  app.conn.stopped = false;
  showStatus('Connecting…', 'Joining the session.');
  app.conn.restart();
}

function onDeclined(app, message) {
  app.stopFor('declined');
  app.forgetRoom();
  showStatus('You were not admitted', message || 'The facilitator could not admit you to this session.', { home: true });
}

export function onRemoved(app, message) {
  app.stopFor('removed');
  app.forgetRoom();
  setBanner('removed', message || 'A facilitator removed you from this session.', 'danger', [{ label: 'Back to start', href: '/', testid: 'removed-home' }]);
  app.renderAll();
}

/** The socket closed: 'stop' or 'retry' (conn.js reconnects with backoff). */
export function onClose(app, code) {
  if (['removed', 'declined', 'left', 'ended', 'error'].includes(app.phase)) return 'stop';
  if (code === 4001) {
    onRemoved(app);
    return 'stop';
  }
  if (code === 4003) {
    onDeclined(app);
    return 'stop';
  }
  if (code === 4000) {
    // Another tab resumed this membership.
    app.phase = 'elsewhere';
    setBanner('elsewhere', 'This session continued in another tab or window.', 'warn', [
      { label: 'Use it here', testid: 'elsewhere-here', onClick: () => { clearBanner('elsewhere'); app.phase = 'in'; app.conn.stopped = false; app.conn.restart(); } },
    ]);
    return 'stop';
  }
  return 'retry';
}

export function onConnStatus(app, s) {
  const el = T('conn-status');
  if (s === 'reconnecting' && (app.phase === 'in' || app.phase === 'connecting' || app.phase === 'waiting' || app.phase === 'lobby')) {
    el.hidden = false;
    el.textContent = 'Reconnecting…';
    if (app.phase === 'in') {
      setBanner('reconnecting', 'Connection lost — reconnecting… You will not miss anything.', 'warn');
    }
  } else if (s === 'open') {
    el.hidden = true;
    el.textContent = '';
  } else if (s === 'closed') {
    el.hidden = true;
    clearBanner('reconnecting');
  }
}
