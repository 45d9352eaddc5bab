//! Energy checks: open, close, answer. The room sees only an anonymous
//! aggregate, and only once it hides each person among at least k answers
//! (k = `Limits::energy_min_answers`, never below 3).
//!
//! # What is shown, and when
//!
//! * Levels (the `distribution`) are null until k answers are in. From then on
//!   they move only in steps of at least k answers: any two distributions
//!   anyone ever sees differ by k answers or more, so no difference between
//!   them describes fewer than k people. The levels of the last (fewer than k)
//!   answers are never shown, not even when the check closes or in the summary.
//! * The count of answers is shown to everyone, but a vote is never followed
//!   by its own room-wide frame: the count is sent at most once per
//!   [`COUNT_EVERY_MS`] (by [`Room::tick`]), batching the votes in between, so
//!   a frame does not pin an answer on whoever just clicked. Only the voter
//!   hears about the vote at once (`energy_answered`, to them only).

use crate::room::*;
use std::collections::BTreeSet;

/// How often, at most, the room is told the count of answers.
pub const COUNT_EVERY_MS: u64 = 5_000;

impl Room {
    /// `open_energy_check`: a new check; the open one (if any) closes.
    pub(in crate::room) fn open_energy_check(&mut self, now: Millis) -> R {
        if let Some(run) = self.energy.take() {
            let c = self.final_view(run);
            self.emit(Audience::All, Event::EnergyCheck { check: c.clone() }, now);
            self.energy_done.push(c);
        }
        let check = EnergyCheck {
            id: new_id(),
            open: true,
            count: 0,
            distribution: None,
        };
        self.energy = Some(EnergyRun {
            check: check.clone(),
            answered: BTreeSet::new(),
            tally: [0; 5],
            count_due: None,
        });
        self.emit(Audience::All, Event::EnergyCheck { check }, now);
        Ok(())
    }

    /// `close_energy_check`: the aggregate is final (levels only if k answers
    /// or more are in; see the module doc).
    pub(in crate::room) fn close_energy_check(&mut self, check_id: String, now: Millis) -> R {
        let Some(run) = self
            .energy
            .take_if(|r| r.check.id == check_id && r.check.open)
        else {
            return Err(RoomError::EnergyCheckNotOpen);
        };
        let check = self.final_view(run);
        self.energy_done.push(check.clone());
        self.emit(Audience::All, Event::EnergyCheck { check }, now);
        Ok(())
    }

    /// `energy_answer`: once per check. The voter is told at once; the room
    /// sees the levels at the k-th answer (and each k more), the count batched.
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
        let k = self.limits.energy_min_answers.max(MIN_ENERGY_ANSWERS);
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
        run.tally[(level - 1) as usize] += 1;
        let reveal = revealable(run, k);
        if reveal {
            run.check.distribution = Some(run.tally);
            run.check.count = run.answered.len() as u32;
            run.count_due = None;
        } else if run.count_due.is_none() {
            run.count_due = Some(now + COUNT_EVERY_MS);
        }
        let check = run.check.clone();
        // Only the member learns its own answer.
        self.emit(
            Audience::Members(vec![me]),
            Event::EnergyAnswered { check_id, level },
            now,
        );
        if reveal {
            self.emit(Audience::All, Event::EnergyCheck { check }, now);
        }
        Ok(())
    }

    /// When the room is next due a batched count of answers.
    pub(in crate::room) fn energy_deadline(&self) -> Option<Millis> {
        self.energy.as_ref().and_then(|r| r.count_due)
    }

    /// From [`Room::tick`]: send the batched count, once it is due.
    pub(in crate::room) fn energy_tick(&mut self, now: Millis) {
        let Some(run) = self
            .energy
            .as_mut()
            .filter(|r| r.count_due.is_some_and(|d| d <= now))
        else {
            return;
        };
        run.count_due = None;
        let count = run.answered.len() as u32;
        if run.check.count == count {
            return;
        }
        run.check.count = count;
        let check = run.check.clone();
        self.emit(Audience::All, Event::EnergyCheck { check }, now);
    }

    /// The check as it is shown once closed: every answer counted, the levels
    /// as last shown unless k more answers came in since.
    pub(in crate::room) fn final_view(&self, mut run: EnergyRun) -> EnergyCheck {
        let k = self.limits.energy_min_answers.max(MIN_ENERGY_ANSWERS);
        if revealable(&run, k) {
            run.check.distribution = Some(run.tally);
        }
        run.check.count = run.answered.len() as u32;
        run.check.open = false;
        run.check
    }
}

/// Whether the levels may be shown now: at least k answers are in that the
/// distribution shown last does not cover.
fn revealable(run: &EnergyRun, k: u32) -> bool {
    let shown: u32 = run.check.distribution.map_or(0, |d| d.iter().sum());
    run.answered.len() as u32 >= shown + k
}
