//! Energy checks: open, close, answer (the room sees only the aggregate).

use crate::room::*;
use std::collections::BTreeSet;

impl Room {
    /// `open_energy_check`: a new check; the open one (if any) closes.
    pub(in crate::room) fn open_energy_check(&mut self, now: Millis) -> R {
        if let Some(run) = self.energy.take() {
            let mut c = run.check;
            if c.open {
                c.open = false;
                self.emit(Audience::All, Event::EnergyCheck { check: c.clone() }, now);
            }
            self.energy_done.push(c);
        }
        let check = EnergyCheck {
            id: new_id(),
            open: true,
            count: 0,
            distribution: [0; 5],
        };
        self.energy = Some(EnergyRun {
            check: check.clone(),
            answered: BTreeSet::new(),
        });
        self.emit(Audience::All, Event::EnergyCheck { check }, now);
        Ok(())
    }

    /// `close_energy_check`: the aggregate is final.
    pub(in crate::room) fn close_energy_check(&mut self, check_id: String, now: Millis) -> R {
        let Some(run) = self
            .energy
            .take_if(|r| r.check.id == check_id && r.check.open)
        else {
            return Err(RoomError::EnergyCheckNotOpen);
        };
        let mut check = run.check;
        check.open = false;
        self.energy_done.push(check.clone());
        self.emit(Audience::All, Event::EnergyCheck { check }, now);
        Ok(())
    }

    /// `energy_answer`: once per check; only the aggregate is shown.
    pub(in crate::room) fn energy_answer(
        &mut self,
        i: usize,
        check_id: String,
        level: u8,
        now: Millis,
    ) -> R {
        let me = self.members[i].id.clone();
        if !(1..=5).contains(&level) {
            return Err(RoomError::BadEnergyLevel);
        }
        let Some(run) = self
            .energy
            .as_mut()
            .filter(|r| r.check.id == check_id && r.check.open)
        else {
            return Err(RoomError::EnergyCheckNotOpen);
        };
        if !run.answered.insert(me.clone()) {
            return Err(RoomError::AlreadyAnswered);
        }
        run.check.count += 1;
        run.check.distribution[(level - 1) as usize] += 1;
        let check = run.check.clone();
        // Only the member learns its own answer; the room sees the aggregate.
        self.emit(
            Audience::Members(vec![me]),
            Event::EnergyAnswered { check_id, level },
            now,
        );
        self.emit(Audience::All, Event::EnergyCheck { check }, now);
        Ok(())
    }
}
