//! The waiting room: the queue facilitators see, admit, decline, turning it on and off.

use crate::room::*;

impl Room {
    /// `set_waiting_room`: turning it off admits everyone waiting.
    pub(in crate::room) fn set_waiting_room(&mut self, enabled: bool, now: Millis) -> R {
        self.info.waiting_room = enabled;
        self.room_updated(now);
        if !enabled {
            for p in self.take_pending(PendingWhy::WaitingRoom) {
                self.admit_pending(p, now);
            }
            self.waiting_changed(now);
        }
        Ok(())
    }

    /// `admit`: someone from the waiting room.
    pub(in crate::room) fn admit(&mut self, member_id: String, now: Millis) -> R {
        let p = self.take_waiting(&member_id)?;
        self.admit_pending(p, now);
        self.waiting_changed(now);
        Ok(())
    }

    /// `decline`: someone from the waiting room (told, then closed).
    pub(in crate::room) fn decline(&mut self, member_id: String, now: Millis) -> R {
        let p = self.take_waiting(&member_id)?;
        self.tell_error(&p.conn, &RoomError::Declined, Some("join"));
        self.out.push(Out::Control(Control::Close {
            conn: p.conn,
            code: 4003,
            reason: "declined".into(),
        }));
        self.waiting_changed(now);
        Ok(())
    }

    // ----- helpers -----

    pub(in crate::room) fn waiting_view(&self) -> Vec<Waiting> {
        self.pending
            .iter()
            .filter(|p| p.why == PendingWhy::WaitingRoom)
            .map(|p| Waiting {
                member_id: p.member_id.clone(),
                name: p.name.clone(),
            })
            .collect()
    }

    pub(in crate::room) fn waiting_changed(&mut self, now: Millis) {
        let queue = self.waiting_view();
        self.emit_to_facilitators(Event::WaitingRoom { queue }, now);
    }

    /// Everyone pending for this reason, out of the pending list.
    pub(in crate::room) fn take_pending(&mut self, why: PendingWhy) -> Vec<Pending> {
        let (taken, kept) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.why == why);
        self.pending = kept;
        taken
    }

    /// One person from the waiting room, out of the pending list.
    fn take_waiting(&mut self, member_id: &str) -> Result<Pending, RoomError> {
        match self
            .pending
            .iter()
            .position(|p| p.member_id == member_id && p.why == PendingWhy::WaitingRoom)
        {
            Some(i) => Ok(self.pending.remove(i)),
            None => Err(RoomError::NobodyWaiting),
        }
    }
}
