// A member's action menu (render/roster.js): hide them for me, invite to share (and declining an
// invitation), mute, roles, hand over, and removal behind a confirmation; in a big room, the next
// page of the roster.

import { toast } from '../../ui.js';
import { nextRosterPage } from '../../state.js';

/** Members per roster page asked for (the server caps a page at 200). */
export const ROSTER_PAGE = 200;

/** A big room: fetch the next page of the roster (one request at a time). */
export function loadMoreMembers(app) {
  if (!app.state || app.rosterPending) return;
  if (app.send(nextRosterPage(app.state, ROSTER_PAGE))) app.rosterPending = true;
}

export const togglePersonalMute = (app, memberId, hidden) =>
  app.send({ type: hidden ? 'personal_unmute' : 'personal_mute', member_id: memberId });

export function inviteToShare(app, m) {
  app.send({ type: 'invite_to_share', member_id: m.id });
  toast(`Invitation sent to ${m.name}.`);
}

export const declineShare = (app, inviteId) => app.send({ type: 'decline_share', invite_id: inviteId });

export const mute = (app, memberId) => app.send({ type: 'mute', member_id: memberId });
export const unmute = (app, memberId) => app.send({ type: 'unmute', member_id: memberId });
export const promote = (app, memberId) => app.send({ type: 'promote', member_id: memberId });
export const demote = (app, memberId) => app.send({ type: 'demote', member_id: memberId });
export const handOver = (app, memberId) => app.send({ type: 'hand_over', member_id: memberId });

export function askRemove(app, memberId) {
  app.confirmRemove = memberId;
  app.redraw('roster');
}

export function cancelRemove(app) {
  app.confirmRemove = null;
  app.redraw('roster');
}

export function removeMember(app, memberId) {
  app.confirmRemove = null;
  app.send({ type: 'remove', member_id: memberId });
}
