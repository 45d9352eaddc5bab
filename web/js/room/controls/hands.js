// Hands: raise or lower my own; a facilitator calls on someone or lowers their hand.

import { on } from './on.js';

export function wireHands(app) {
  on('raise-hand', 'click', () => {
    const raised = app.state.hands.includes(app.state.me.member_id);
    app.send(raised ? { type: 'lower_hand' } : { type: 'raise_hand' });
  });
}

export const callOn = (app, memberId) => app.send({ type: 'call_on', member_id: memberId });
export const lowerHand = (app, memberId) => app.send({ type: 'lower_hand', member_id: memberId });
