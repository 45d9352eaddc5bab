// The parking lot: park a point (typed, or a message); a facilitator unparks.

import { byTestId as T } from '../../dom.js';
import { on } from './on.js';

export function wireParking(app) {
  on('parking-form', 'submit', (e) => {
    e.preventDefault();
    const text = T('parking-input').value.trim();
    if (text && app.send({ type: 'park', text })) T('parking-input').value = '';
  });
}

export const parkMessage = (app, messageId) => app.send({ type: 'park', message_id: messageId });
export const unpark = (app, itemId) => app.send({ type: 'unpark', item_id: itemId });
