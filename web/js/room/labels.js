// Labels that more than one panel shows (people and the tests read these texts).

export const TAG_LABEL = { consensus: 'Consensus', takeaway: 'Key takeaway', action: 'Action' };
export const ROLE_LABEL = { facilitator: 'Facilitator', co_facilitator: 'Co-facilitator', participant: 'Participant' };
