// The composer (Enter sends, Shift+Enter is a new line; a refused message comes back into the
// box) and the per-message actions drawn by render/messages.js.

import { byTestId as T } from '../../dom.js';
import { on } from './on.js';

export function wireChat(app) {
  on('chat-form', 'submit', (e) => {
    e.preventDefault();
    const input = T('chat-input');
    const text = input.value.trim();
    if (!text || input.disabled) return;
    if (app.send({ type: 'chat', text })) {
      app.lastChat = text;
      input.value = '';
    }
  });
  on('chat-input', 'keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      T('chat-form').requestSubmit();
    }
  });
}

/** The server refused my last chat message: give its text back (unless I typed something new). */
export function restoreChat(app, m) {
  if (m.refused === 'chat' && app.lastChat) {
    const input = T('chat-input');
    if (!input.value) input.value = app.lastChat;
    app.lastChat = null;
  }
}

export const react = (app, messageId, emoji) => app.send({ type: 'react', message_id: messageId, emoji });
export const deleteMessage = (app, messageId) => app.send({ type: 'delete_message', message_id: messageId });
