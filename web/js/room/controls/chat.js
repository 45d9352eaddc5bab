// The composer (Enter sends, Shift+Enter is a new line) and the per-message actions drawn by
// render/messages.js.
//
// A message stays in the box until the server posts it (my own chat event comes back): if the
// server refuses it (an error frame with refused: "chat", whatever the code: too long, slow
// mode, muted, invalid text...), nothing is lost, and the server's reason is shown next to the
// composer (#chat-error, a polite live region) until the next message is posted (issue 22 B.4).
// app.pendingChats: the texts sent and not yet answered, oldest first (the server answers each
// chat frame, in order, with my chat event or an error).

import { byTestId as T } from '../../dom.js';
import { on } from './on.js';

export function wireChat(app) {
  on('chat-form', 'submit', (e) => {
    e.preventDefault();
    const input = T('chat-input');
    const text = input.value.trim();
    if (!text || input.disabled) return;
    // Still on its way (the box keeps it until posted): Enter twice sends it once.
    if (app.pendingChats[app.pendingChats.length - 1] === text) return;
    if (app.send({ type: 'chat', text })) app.pendingChats.push(text);
  });
  on('chat-input', 'keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      T('chat-form').requestSubmit();
    }
  });
}

/** Show (text) or clear (null) the reason my last message was not posted. */
export function setChatError(text) {
  const el = T('composer-error');
  if (el.textContent !== (text || '')) el.textContent = text || '';
}

/** My own message came back from the server: it is posted. Empty the box of it, clear the notice. */
export function chatPosted(app, message) {
  const sent = app.pendingChats.shift();
  const input = T('chat-input');
  const v = input.value.trim();
  if (v && (v === sent || v === message.text)) input.value = '';
  setChatError(null);
}

/** The server refused my oldest pending message: say why; make sure its text is in the box. */
export function chatRefused(app, m) {
  const text = app.pendingChats.shift();
  const input = T('chat-input');
  if (text && !input.value.includes(text)) {
    // Something else was typed meanwhile: keep both, the refused text first.
    input.value = input.value.trim() ? `${text}\n${input.value}` : text;
  }
  setChatError(`Your message was not sent: ${m.message || 'please try again.'}`);
}

/**
 * An error frame that names no command (the connection's own limits: too fast, frame too
 * large) while messages were on their way: they may have been dropped. Their text is still in
 * the box; say why next to it. True when handled here.
 */
export function chatMaybeRefused(app, m) {
  if (!app.pendingChats.length) return false;
  app.pendingChats = [];
  setChatError(`Your message may not have been sent: ${m.message || 'please try again.'}`);
  return true;
}

export const react = (app, messageId, emoji) => app.send({ type: 'react', message_id: messageId, emoji });
export const deleteMessage = (app, messageId) => app.send({ type: 'delete_message', message_id: messageId });
