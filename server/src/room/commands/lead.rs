//! The lead facilitator: who holds the seat, rotating the facilitator key, and
//! taking authority back when the lead returns after a co-facilitator's takeover.
//!
//! The lead is the first member to join with the facilitator key (the room's
//! creator, in practice). Only the lead may demote or remove another facilitator
//! (`moderation.rs`) and rotate the key; nobody can demote, mute or remove the
//! lead. The seat survives the lead's own disconnects and resumes (also through
//! a lost instance, whose members resume as themselves). It is vacated when the
//! lead leaves for good (`leave`, or not back within the grace period); the
//! other facilitators keep their role, and the next member to join with the
//! current key takes the seat. Why not hand it to another present key holder:
//! a second key holder is exactly whom the lead may need to take authority
//! back from (a leaked key), so the seat goes only to someone who proves the key
//! at that moment, and a lead who dropped out comes back to it with the key.
//! `hand_over` by the lead hands the seat over too.

use crate::room::*;

impl Room {
    /// `rotate_key`: a new facilitator key, to the lead only (a reply: never in
    /// an event, only its hash is kept). The old key no longer joins; every
    /// other member with the facilitator role becomes a participant.
    pub(in crate::room) fn rotate_key(&mut self, i: usize, conn: &str, now: Millis) -> R {
        if !self.is_lead(&self.members[i].id) {
            return Err(RoomError::LeadOnly);
        }
        let key = new_secret();
        self.facilitator_key_hash = hash_secret(&key);
        self.reply(
            conn,
            ServerMsg::FacilitatorKey {
                facilitator_key: key,
            },
        );
        let others: Vec<usize> = (0..self.members.len())
            .filter(|&t| t != i && self.members[t].role == Role::Facilitator)
            .collect();
        let demoted = others.iter().map(|&t| self.members[t].id.clone()).collect();
        for t in others {
            self.make_participant(t, now);
        }
        self.emit(Audience::All, Event::KeyRotated { demoted }, now);
        Ok(())
    }

    // ----- helpers -----

    pub(in crate::room) fn is_lead(&self, member: &str) -> bool {
        self.lead.as_deref() == Some(member)
    }

    /// Whether the next member to join with the key becomes the lead: there is
    /// none, or the lead is gone for good (neither in the roster nor able to
    /// resume as themselves).
    pub(in crate::room) fn lead_seat_vacant(&self) -> bool {
        match &self.lead {
            None => true,
            Some(l) => {
                self.idx(l).is_none()
                    && !self.departed.iter().any(|d| &d.id == l && !d.grace_expired)
            }
        }
    }

    /// The lead is back (resumed, or joined into the vacant seat): a
    /// co-facilitator's takeover is undone.
    pub(in crate::room) fn lead_is_back(&mut self, now: Millis) {
        let Some(co) = self.takeover.take() else {
            return;
        };
        let Some(t) = self.idx(&co) else {
            return;
        };
        if self.members[t].role != Role::Facilitator || self.is_lead(&co) {
            return;
        }
        self.members[t].role = Role::CoFacilitator;
        self.member_updated(t, now);
        let lead = self
            .lead
            .as_deref()
            .and_then(|l| self.idx(l))
            .map(|l| self.members[l].name.clone())
            .unwrap_or_default();
        let co_name = self.members[t].name.clone();
        self.emit(
            Audience::All,
            Event::RoomNotice {
                code: "lead_returned".into(),
                message: format!("{lead} is back and leading; {co_name} is co-facilitating again."),
            },
            now,
        );
    }

    /// Member `t` (a co-facilitator, or a facilitator the lead demotes) becomes
    /// a participant; no longer a key holder, nor a takeover to undo.
    pub(in crate::room) fn make_participant(&mut self, t: usize, now: Millis) {
        self.members[t].role = Role::Participant;
        self.members[t].creator = false;
        if self.takeover.as_deref() == Some(self.members[t].id.as_str()) {
            self.takeover = None;
        }
        self.member_updated(t, now);
    }
}

impl Room {
    /// The room's owner (a signed-in account, checked by the HTTP layer) set a
    /// new facilitator key: as when the lead rotates it, the old key no
    /// longer joins and every facilitator but the lead becomes a participant.
    /// Only the hash arrives here; the key went back to the owner alone.
    pub fn owner_set_key(&mut self, key_hash: String, now: Millis) {
        self.facilitator_key_hash = key_hash;
        let lead = self.lead.clone();
        let others: Vec<usize> = (0..self.members.len())
            .filter(|&t| {
                self.members[t].role == Role::Facilitator
                    && lead.as_deref() != Some(self.members[t].id.as_str())
            })
            .collect();
        let demoted = others.iter().map(|&t| self.members[t].id.clone()).collect();
        for t in others {
            self.make_participant(t, now);
        }
        self.emit(Audience::All, Event::KeyRotated { demoted }, now);
    }
}
