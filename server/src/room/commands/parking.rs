//! The parking lot: park, unpark, whether participants may park.

use crate::room::*;

impl Room {
    /// `park`: put a message or a text in the parking lot.
    pub(in crate::room) fn park(
        &mut self,
        i: usize,
        message_id: Option<String>,
        text: Option<String>,
        now: Millis,
    ) -> R {
        let role = self.members[i].role;
        if !role.is_facilitator() {
            if !self.info.members_can_park {
                return Err(RoomError::ParkingFacilitatorsOnly);
            }
            self.can_post(i, now, false)?;
        }
        let text = match (&message_id, text) {
            (Some(mid), _) => {
                let Some(m) = self
                    .messages
                    .iter()
                    .find(|m| &m.id == mid && self.may_read(i, m.seq))
                else {
                    return Err(RoomError::NoSuchMessage);
                };
                quote(&m.text, "parking-lot item")?
            }
            (None, Some(t)) => clean_text(&t, 500, "parking-lot item", Lines::One)?,
            (None, None) => return Err(RoomError::MessageOrText),
        };
        if self.parking.len() >= 100 {
            return Err(RoomError::ParkingFull);
        }
        self.parking.push(ParkedItem {
            id: new_id(),
            text,
            message_id,
        });
        self.parking_changed(now);
        Ok(())
    }

    /// `unpark`.
    pub(in crate::room) fn unpark(&mut self, item_id: String, now: Millis) -> R {
        let before = self.parking.len();
        self.parking.retain(|p| p.id != item_id);
        if self.parking.len() == before {
            return Err(RoomError::NoSuchItem);
        }
        self.parking_changed(now);
        Ok(())
    }

    /// `allow_parking`: whether participants may park items.
    pub(in crate::room) fn allow_parking(&mut self, enabled: bool, now: Millis) -> R {
        self.info.members_can_park = enabled;
        self.room_updated(now);
        Ok(())
    }

    // ----- helpers -----

    fn parking_changed(&mut self, now: Millis) {
        let items = self.parking.clone();
        self.emit(Audience::All, Event::ParkingLot { items }, now);
    }
}
