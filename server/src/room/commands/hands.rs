//! Raised hands: the queue, lowering, calling on someone.

use crate::room::*;

impl Room {
    /// `raise_hand`: join the end of the queue (once).
    pub(in crate::room) fn raise_hand(&mut self, i: usize, now: Millis) -> R {
        let me = self.members[i].id.clone();
        if !self.hands.contains(&me) {
            self.hands.push(me);
            if self.is_big() {
                // Not every client holds every member: tell them who it is.
                self.presence_updated(i, now);
            }
            self.hands_changed(now);
        }
        Ok(())
    }

    /// `lower_hand`: one's own hand, or (facilitators) anyone's.
    pub(in crate::room) fn lower_hand(
        &mut self,
        i: usize,
        member_id: Option<String>,
        now: Millis,
    ) -> R {
        let role = self.members[i].role;
        let me = self.members[i].id.clone();
        let target = member_id.unwrap_or(me.clone());
        if target != me && !role.is_facilitator() {
            return Err(RoomError::OwnHandOnly);
        }
        if self.hands.contains(&target) {
            self.hands.retain(|h| h != &target);
            self.hands_changed(now);
        }
        Ok(())
    }

    /// `call_on`: give someone the floor; their hand goes down.
    pub(in crate::room) fn call_on(&mut self, member_id: String, now: Millis) -> R {
        self.member_idx(&member_id)?;
        self.hands.retain(|h| h != &member_id);
        // The raise-hand queue feeds the call's floor: called on while in
        // the call, they have the floor (spotlight) too.
        let in_call = self.peer(&member_id).is_some();
        self.emit(
            Audience::All,
            Event::CalledOn {
                member_id: member_id.clone(),
            },
            now,
        );
        self.hands_changed(now);
        if in_call {
            self.give_floor(Some(member_id), now)?;
        }
        Ok(())
    }

    // ----- helpers -----

    fn hands_changed(&mut self, now: Millis) {
        let queue = self.hands.clone();
        self.emit(Audience::All, Event::Hands { queue }, now);
    }
}
