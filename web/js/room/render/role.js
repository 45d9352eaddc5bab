// A member's role badge (issue 22 C.2). The role comes from the server's `role` field only,
// never from a name: a participant called "Facilitator Sam" or "★ Facilitator" gets no badge.
// The badge is its own element, outside the name, marked with data-role, styled as a badge
// (no text in a name can draw it), and announced as "role: …" to screen readers.

import { h } from '../../dom.js';
import { ROLE_LABEL } from '../labels.js';

/** The badge for facilitators and co-facilitators, or null (participants, unknown roles). */
export function roleBadge(role, testid) {
  if (role !== 'facilitator' && role !== 'co_facilitator') return null;
  const label = ROLE_LABEL[role];
  return h('span', { class: 'role-tag' },
    h('span', { class: 'sr-only' }, ', role: '),
    h('span', { class: 'badge role', testid, dataset: { role } }, label));
}

/**
 * The lead facilitator's badge (issue 22, the room model): from the member's `lead` flag only,
 * an element of its own next to the role badge, marked data-role="lead", announced as
 * "lead facilitator". Null for everyone else.
 */
export function leadBadge(lead, testid) {
  if (lead !== true) return null;
  return h('span', { class: 'role-tag' },
    h('span', { class: 'sr-only' }, ', '),
    h('span', { class: 'badge role lead', testid, dataset: { role: 'lead' }, title: 'Lead facilitator' }, 'Lead'),
    h('span', { class: 'sr-only' }, ' facilitator'));
}
