//! Timers: start, pause, resume, extend, cancel. Expiry happens in `tick` (schedule.rs).

use crate::room::*;

impl Room {
    /// `timer_start`: a named countdown for everyone.
    pub(in crate::room) fn timer_start(
        &mut self,
        name: String,
        duration_secs: u32,
        now: Millis,
    ) -> R {
        let name = clean_text(&name, 60, "timer name", Lines::One)?;
        if duration_secs == 0 || duration_secs > 24 * 3600 {
            return Err(RoomError::TimerDuration);
        }
        self.start_timer(name, duration_secs, now)?;
        Ok(())
    }

    /// `timer_pause`: keep the remaining time, stop counting.
    pub(in crate::room) fn timer_pause(&mut self, timer_id: String, now: Millis) -> R {
        self.timer_op(&timer_id, now, |t, now| {
            if t.state != TimerState::Running {
                return Err(RoomError::TimerNotRunning);
            }
            t.remaining_ms = Some(t.deadline.unwrap_or(now).saturating_sub(now));
            t.deadline = None;
            t.state = TimerState::Paused;
            Ok(())
        })
    }

    /// `timer_resume`: count down the remaining time again.
    pub(in crate::room) fn timer_resume(&mut self, timer_id: String, now: Millis) -> R {
        self.timer_op(&timer_id, now, |t, now| {
            if t.state != TimerState::Paused {
                return Err(RoomError::TimerNotPaused);
            }
            t.deadline = Some(now + t.remaining_ms.take().unwrap_or(0));
            t.state = TimerState::Running;
            Ok(())
        })
    }

    /// `timer_extend`: add time to a running or paused timer.
    pub(in crate::room) fn timer_extend(&mut self, timer_id: String, secs: u32, now: Millis) -> R {
        if secs == 0 || secs > 3600 {
            return Err(RoomError::TimerExtension);
        }
        self.timer_op(&timer_id, now, |t, _| {
            let add = secs as u64 * 1000;
            t.duration_ms += add;
            if let Some(d) = t.deadline.as_mut() {
                *d += add;
            }
            if let Some(r) = t.remaining_ms.as_mut() {
                *r += add;
            }
            Ok(())
        })
    }

    /// `timer_cancel`: stop a timer; it never expires.
    pub(in crate::room) fn timer_cancel(&mut self, timer_id: String, now: Millis) -> R {
        let Some(p) = self.timers.iter().position(|t| t.id == timer_id) else {
            return Err(RoomError::NoSuchTimer);
        };
        let mut t = self.timers.remove(p);
        t.state = TimerState::Cancelled;
        t.deadline = None;
        self.emit(Audience::All, Event::Timer { timer: t }, now);
        Ok(())
    }

    // ----- helpers -----

    pub(in crate::room) fn start_timer(
        &mut self,
        name: String,
        secs: u32,
        now: Millis,
    ) -> Result<String, RoomError> {
        if self.timers.len() >= 20 {
            return Err(RoomError::TooManyTimers);
        }
        let timer = Timer {
            id: new_id(),
            name,
            state: TimerState::Running,
            deadline: Some(now + secs as u64 * 1000),
            remaining_ms: None,
            duration_ms: secs as u64 * 1000,
        };
        let id = timer.id.clone();
        self.timers.push(timer.clone());
        self.emit(Audience::All, Event::Timer { timer }, now);
        Ok(id)
    }

    fn timer_op(&mut self, id: &str, now: Millis, f: impl FnOnce(&mut Timer, Millis) -> R) -> R {
        let Some(t) = self.timers.iter_mut().find(|t| t.id == id) else {
            return Err(RoomError::NoSuchTimer);
        };
        f(t, now)?;
        let timer = t.clone();
        self.emit(Audience::All, Event::Timer { timer }, now);
        Ok(())
    }
}
