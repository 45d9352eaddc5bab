//! Moderation: mute, remove, slow mode, lock, promote, demote, hand over; personal mutes.

use crate::room::*;

/// At most one "a removed person tried to rejoin" notice per person this often.
pub(in crate::room) const REMOVED_NOTICE_EVERY_MS: Millis = 60_000;

impl Room {
    /// `mute` / `unmute`: whether someone member `i` may moderate may post.
    pub(in crate::room) fn set_muted(
        &mut self,
        i: usize,
        member: &str,
        muted: bool,
        now: Millis,
    ) -> R {
        let t = self.member_idx(member)?;
        self.may_moderate(i, t)?;
        if self.members[t].muted != muted {
            self.members[t].muted = muted;
            self.member_updated(t, now);
        }
        Ok(())
    }

    /// `remove`: out of the session, and kept out.
    pub(in crate::room) fn remove(&mut self, i: usize, member_id: String, now: Millis) -> R {
        let t = self.member_idx(&member_id)?;
        self.may_moderate(i, t)?;
        let removed_by = self.members[i].account_id.clone();
        let gone = &self.members[t];
        let effect = Effect::Removed {
            member_id: gone.id.clone(),
            name: gone.name.clone(),
            device_hash: gone.device_hash.clone(),
            account_id: gone.account_id.clone(),
            removed_by,
        };
        self.remove_member(t, LeaveReason::Removed, now);
        self.effects.push(effect);
        Ok(())
    }

    /// An admin lifted the bar of a removed member (the host's
    /// `RoomCmd::LiftBar`): their device, account, token and address no
    /// longer keep them out. Unknown members: nothing to do.
    pub fn lift_bar(&mut self, member_id: &str) {
        let (lifted, kept): (Vec<Removal>, Vec<Removal>) = std::mem::take(&mut self.removals)
            .into_iter()
            .partition(|r| r.member_id == member_id);
        self.removals = kept;
        self.removed_members.remove(member_id);
        for r in lifted {
            if let Some(t) = &r.token_hash {
                self.removed_tokens.remove(t);
            }
            if let Some(a) = &r.addr_hash {
                // Another removal from the same address keeps it out still.
                if !self
                    .removals
                    .iter()
                    .any(|o| o.addr_hash.as_ref() == Some(a))
                {
                    self.removed_addrs.remove(a);
                }
            }
        }
    }

    /// `slow_mode`: minimum seconds between a participant's messages (0: off).
    pub(in crate::room) fn slow_mode(&mut self, secs: u32, now: Millis) -> R {
        if secs > 3600 {
            return Err(RoomError::SlowModeRange);
        }
        self.info.slow_mode_secs = secs;
        self.room_updated(now);
        Ok(())
    }

    /// `lock`: no new participants while locked.
    pub(in crate::room) fn lock(&mut self, locked: bool, now: Millis) -> R {
        self.info.locked = locked;
        self.room_updated(now);
        Ok(())
    }

    /// `promote`: a participant becomes co-facilitator.
    pub(in crate::room) fn promote(&mut self, member_id: String, now: Millis) -> R {
        let t = self.member_idx(&member_id)?;
        if self.members[t].role != Role::Participant {
            return Err(RoomError::AlreadyFacilitating);
        }
        self.members[t].role = Role::CoFacilitator;
        let v = self.rules.version;
        self.members[t].accepted_rules = v;
        self.member_updated(t, now);
        // Co-facilitators see the facilitator-only queues from now on.
        self.waiting_changed(now);
        Ok(())
    }

    /// `demote`: a co-facilitator becomes a participant; so does another
    /// facilitator (a second key holder), by the lead only. Nobody demotes the lead.
    pub(in crate::room) fn demote(&mut self, i: usize, member_id: String, now: Millis) -> R {
        let t = self.member_idx(&member_id)?;
        if self.is_lead(&member_id) {
            return Err(RoomError::CannotDemoteFacilitator);
        }
        match self.members[t].role {
            Role::CoFacilitator => {}
            Role::Facilitator if self.is_lead(&self.members[i].id) => {}
            Role::Facilitator => return Err(RoomError::LeadOnly),
            Role::Participant => return Err(RoomError::NotCoFacilitator),
        }
        self.make_participant(t, now);
        Ok(())
    }

    /// `hand_over`: the facilitator makes someone else facilitator and becomes co-facilitator.
    pub(in crate::room) fn hand_over(&mut self, i: usize, member_id: String, now: Millis) -> R {
        let role = self.members[i].role;
        if role != Role::Facilitator {
            return Err(RoomError::HandOverFacilitatorOnly);
        }
        let t = self.member_idx(&member_id)?;
        if t == i {
            return Err(RoomError::AlreadyFacilitator);
        }
        self.members[t].role = Role::Facilitator;
        let v = self.rules.version;
        self.members[t].accepted_rules = v;
        self.members[i].role = Role::CoFacilitator;
        // The lead handing over hands the lead over too; a hand-over is no takeover.
        if self.is_lead(&self.members[i].id) {
            self.lead = Some(member_id.clone());
        }
        self.takeover = None;
        self.member_updated(t, now);
        self.member_updated(i, now);
        self.check_moderation(now);
        Ok(())
    }

    /// `personal_mute`: hide someone's messages from oneself only.
    pub(in crate::room) fn personal_mute(&mut self, i: usize, member_id: String, now: Millis) -> R {
        let me = self.members[i].id.clone();
        if member_id == me {
            return Err(RoomError::MuteSelf);
        }
        self.member_idx(&member_id)?;
        self.members[i].personal_mutes.insert(member_id);
        self.personal_mutes_changed(i, now);
        Ok(())
    }

    /// `personal_unmute`.
    pub(in crate::room) fn personal_unmute(
        &mut self,
        i: usize,
        member_id: String,
        now: Millis,
    ) -> R {
        let me = self.members[i].id.clone();
        if member_id == me {
            return Err(RoomError::MuteSelf);
        }
        self.members[i].personal_mutes.remove(&member_id);
        self.personal_mutes_changed(i, now);
        Ok(())
    }

    // ----- helpers -----

    /// A join from a removed member (found by `is_them` among the removals):
    /// the facilitators hear of it, at most once a minute per person, with
    /// nothing but the name they had. False when no removal matches.
    /// A join the host refused by a stored bar: the facilitators hear of it
    /// like of any removed person trying again (once a minute at most).
    pub fn barred_tried(
        &mut self,
        device_hash: Option<&str>,
        account_id: Option<&str>,
        now: Millis,
    ) {
        self.removed_tried_again(
            |r| {
                (device_hash.is_some() && r.device_hash.as_deref() == device_hash)
                    || (account_id.is_some() && r.account_id.as_deref() == account_id)
            },
            now,
        );
    }

    pub(in crate::room) fn removed_tried_again(
        &mut self,
        is_them: impl Fn(&Removal) -> bool,
        now: Millis,
    ) -> bool {
        let Some(r) = self.removals.iter_mut().find(|r| is_them(r)) else {
            return false;
        };
        if r.noticed_at
            .is_some_and(|t| now < t + REMOVED_NOTICE_EVERY_MS)
        {
            return true;
        }
        r.noticed_at = Some(now);
        let message = format!(
            "{}, who was removed, tried to rejoin and was kept out.",
            r.name
        );
        self.emit_to_facilitators(
            Event::RoomNotice {
                code: "removed_rejoin".into(),
                message,
            },
            now,
        );
        true
    }

    /// Whether member `i` may mute or remove member `target`: nobody the lead;
    /// the lead any other facilitator; facilitators co-facilitators; everyone
    /// facilitating participants.
    fn may_moderate(&self, i: usize, target: usize) -> R {
        let t = &self.members[target];
        let lead = self.is_lead(&self.members[i].id);
        let ok = match t.role {
            _ if self.is_lead(&t.id) => false,
            Role::Facilitator => lead,
            Role::CoFacilitator => self.members[i].role == Role::Facilitator,
            Role::Participant => true,
        };
        if !ok {
            return Err(RoomError::CannotModerate);
        }
        Ok(())
    }

    fn personal_mutes_changed(&mut self, i: usize, now: Millis) {
        let member_ids = self.members[i].personal_mutes.iter().cloned().collect();
        let me = self.members[i].id.clone();
        self.emit(
            Audience::Members(vec![me]),
            Event::PersonalMutes { member_ids },
            now,
        );
    }
}
