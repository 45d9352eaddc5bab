// Highlights: a facilitator adds a takeaway or highlights a message, edits or removes one;
// everyone can +1.

import { byTestId as T } from '../../dom.js';
import { on } from './on.js';

export function wireHighlights(app) {
  on('takeaway-form', 'submit', (e) => {
    e.preventDefault();
    const text = T('takeaway-text').value.trim();
    if (!text) return;
    if (app.send({ type: 'highlight', tag: T('takeaway-tag').value, text })) T('takeaway-text').value = '';
  });
}

export const highlightMessage = (app, tag, messageId) => app.send({ type: 'highlight', tag, message_id: messageId });
export const toggleAgree = (app, highlightId, agreed) => app.send({ type: agreed ? 'unagree' : 'agree', highlight_id: highlightId });
export const removeHighlight = (app, highlightId) => app.send({ type: 'remove_highlight', highlight_id: highlightId });

export function startEdit(app, highlightId) {
  app.editingHighlight = highlightId;
  app.redraw('highlights');
}

export function cancelEdit(app) {
  app.editingHighlight = null;
  app.redraw('highlights');
}

/** text: the trimmed textarea; empty keeps the old text. */
export function saveEdit(app, highlightId, tag, text) {
  app.editingHighlight = null;
  app.send({ type: 'edit_highlight', highlight_id: highlightId, tag, text: text || undefined });
  app.redraw('highlights');
}
