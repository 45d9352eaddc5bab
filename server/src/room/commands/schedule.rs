//! Time and the session: deadlines and `tick` (timers, opening on schedule, warnings,
//! grace periods), extending and ending the session, and the rule that a room is never
//! unmoderated.
//!
//! # Who runs the room: one state machine
//!
//! ```text
//! scheduled ──start, a facilitator online──▶ open
//! scheduled ──start, none──▶ awaiting_facilitator ──a facilitator or co-facilitator joins──▶ open
//! open ──no facilitator for the grace──▶ a co-facilitator takes over (open), or paused
//! paused ──a facilitator is back──▶ open
//! ```
//!
//! In `awaiting_facilitator` and `paused` participants read but cannot post;
//! support requests go to the on-call desk (`commands/oncall.rs`). Once nobody
//! has run the room for `--facilitator-grace-secs` (past the start, or since
//! the drop), `info.unattended` is set and everyone is shown the crisis
//! resources and the on-call option, until a facilitator is there again.
//!
//! # The soft end
//!
//! At the scheduled end (`ends_at`) the room does not close: it wraps up for
//! `Limits::wrap_up_ms` (`info.wrap_up_until` set, a `wrap_up` event for all, a
//! `wrap_up_preview` with a check-out prompt and the summary so far for the
//! facilitators). It closes when that runs out or a facilitator ends it;
//! `extend_session` during wrap-up clears it (open again, with the new end).
//! A wrap-up of 0 closes at the end itself.

use crate::room::*;

/// The notice once nobody has come to run the room for the grace period.
const NO_FACILITATOR: &str = "Nobody is here to run this room yet. You can keep reading. If you need support now, press “I'm in distress” to reach a peer supporter on call, or use a crisis line below.";

impl Room {
    /// The next instant at which [`Room::tick`] has work to do.
    pub fn next_deadline(&self) -> Option<Millis> {
        let mut d: Vec<Millis> = Vec::new();
        d.extend(self.timers.iter().filter_map(|t| t.deadline));
        d.extend(self.presence_due());
        d.extend(self.energy_deadline());
        if self.info.status == RoomStatus::Scheduled {
            d.extend(self.info.starts_at);
        }
        if matches!(
            self.info.status,
            RoomStatus::Open | RoomStatus::Paused | RoomStatus::AwaitingFacilitator
        ) {
            if let Some(until) = self.info.wrap_up_until {
                d.push(until);
            } else if let Some(end) = self.info.ends_at {
                for w in [5u32, 1] {
                    if !self.warned.contains(&w) {
                        d.push(end.saturating_sub(w as u64 * 60_000));
                    }
                }
                d.push(end);
            }
        }
        d.extend(
            self.members
                .iter()
                .filter_map(|m| m.disconnected_at.map(|t| t + self.limits.grace_ms)),
        );
        if let Some(t) = self.unmoderated_since {
            // Once paused there is nothing left to do until a facilitator is back.
            let waiting =
                self.info.status == RoomStatus::AwaitingFacilitator && !self.info.unattended;
            if self.moderation_applies() && (self.info.status == RoomStatus::Open || waiting) {
                d.push(t + self.limits.facilitator_grace_ms);
            }
        }
        d.extend(self.next_alert_retry());
        d.into_iter().min()
    }

    /// Advance time: expire timers, open/close by schedule, drop members whose
    /// grace ran out, apply the facilitator fallback.
    pub fn tick(&mut self, now: Millis) {
        // Timers: exactly one expiry per run (the state transition happens once).
        let due: Vec<usize> = (0..self.timers.len())
            .filter(|&i| {
                self.timers[i].state == TimerState::Running
                    && self.timers[i].deadline.is_some_and(|d| d <= now)
            })
            .collect();
        for i in due.into_iter().rev() {
            let t = self.timers.remove(i);
            self.emit(
                Audience::All,
                Event::TimerExpired {
                    timer_id: t.id.clone(),
                    name: t.name.clone(),
                },
                now,
            );
            self.energizer_timer_expired(&t.id, now);
        }
        self.energy_tick(now);
        if self.info.status == RoomStatus::Scheduled && self.info.starts_at.is_none_or(|s| s <= now)
        {
            if self.staffed() {
                self.info.status = RoomStatus::Open;
                self.opened_at = Some(now);
            } else {
                self.info.status = RoomStatus::AwaitingFacilitator;
                self.unmoderated_since = Some(now);
            }
            self.room_updated(now);
            for mut p in self.take_pending(PendingWhy::Lobby) {
                if self.info.waiting_room {
                    p.why = PendingWhy::WaitingRoom;
                    let conn = p.conn.clone();
                    self.pending.push(p);
                    self.reply(
                        &conn,
                        ServerMsg::Waiting {
                            room_id: self.info.id.clone(),
                        },
                    );
                } else {
                    self.admit_pending(p, now);
                }
            }
            if self.info.waiting_room {
                self.waiting_changed(now);
            }
        }
        if self.info.status != RoomStatus::Closed && self.info.status != RoomStatus::Scheduled {
            if let Some(until) = self.info.wrap_up_until {
                if now >= until {
                    self.end(now);
                    return;
                }
            } else if let Some(end) = self.info.ends_at {
                if now >= end {
                    if self.limits.wrap_up_ms == 0 {
                        self.end(now);
                        return;
                    }
                    self.start_wrap_up(end, now);
                }
                for w in [5u32, 1] {
                    if !self.warned.contains(&w) && now + w as u64 * 60_000 >= end {
                        self.warned.push(w);
                        // Only warn if we are not already past the next lower mark.
                        if now + (w as u64 * 60_000) < end + 60_000 {
                            self.emit(
                                Audience::All,
                                Event::SessionWarning {
                                    minutes_left: w,
                                    ends_at: end,
                                },
                                now,
                            );
                        }
                    }
                }
            }
        }
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|m| {
                m.disconnected_at
                    .is_some_and(|t| t + self.limits.grace_ms <= now)
            })
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            if let Some(i) = self.idx(&id) {
                // Their token will bring them back as a new member.
                self.members[i].grace_expired = true;
                self.remove_member(i, LeaveReason::Disconnected, now);
            }
        }
        self.check_moderation(now);
        self.retry_alerts(now);
    }

    /// `extend_session`: move the end later; warnings re-arm. During wrap-up:
    /// the room is open again, ending `minutes` from now.
    pub(in crate::room) fn extend_session(&mut self, minutes: u32, now: Millis) -> R {
        if minutes == 0 || minutes > 240 {
            return Err(RoomError::SessionExtension);
        }
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        let base = self.info.ends_at.unwrap_or(now).max(now);
        let end = base + minutes as u64 * 60_000;
        self.info.ends_at = Some(end);
        self.info.wrap_up_until = None;
        self.warned.retain(|w| now + (*w as u64) * 60_000 >= end);
        self.room_updated(now);
        Ok(())
    }

    /// `end_session`: end it now, with the summary (during wrap-up too).
    pub(in crate::room) fn end_session(&mut self, now: Millis) -> R {
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        self.end(now);
        Ok(())
    }

    // ----- helpers -----

    /// The scheduled end is reached: wrap up (see the module doc).
    fn start_wrap_up(&mut self, end: Millis, now: Millis) {
        let until = now.saturating_add(self.limits.wrap_up_ms);
        self.info.wrap_up_until = Some(until);
        self.room_updated(now);
        self.emit(
            Audience::All,
            Event::WrapUp {
                ends_at: end,
                until,
            },
            now,
        );
        let summary = Box::new(self.summary_as_of(now));
        self.emit_to_facilitators(
            Event::WrapUpPreview {
                suggestion: library::checkout(),
                summary,
            },
            now,
        );
    }

    /// The summary if the session ended now (the open energy check counted
    /// as it would be shown closed). Changes nothing.
    fn summary_as_of(&self, now: Millis) -> Summary {
        let mut energy_checks = self.energy_done.clone();
        if let Some(run) = &self.energy {
            energy_checks.push(self.final_view(run.clone()));
        }
        Summary {
            room_id: self.info.id.clone(),
            title: self.info.title.clone(),
            started_at: self.opened_at.unwrap_or(self.created_at),
            ended_at: now,
            highlights: self.highlights.clone(),
            energy_checks,
            energizers: self.energizers_used.clone(),
            parking_lot: self.parking.clone(),
        }
    }

    fn end(&mut self, now: Millis) {
        self.info.status = RoomStatus::Closed;
        self.info.wrap_up_until = None;
        self.info.unattended = false;
        self.withdraw_all_alerts();
        let summary = self.summary_as_of(now);
        if let Some(run) = self.energy.take() {
            let c = self.final_view(run);
            self.energy_done.push(c);
        }
        self.summary = Some(summary.clone());
        self.timers.clear();
        self.room_updated(now);
        self.emit(Audience::All, Event::SessionEnded { summary }, now);
        // The transcript lives only for the session.
        self.messages.clear();
        self.history.retain(|h| {
            !matches!(
                h.msg,
                ServerMsg::Event {
                    event: Event::Chat { .. },
                    ..
                }
            )
        });
        for p in std::mem::take(&mut self.pending) {
            self.tell_error(&p.conn, &RoomError::SessionEnded, None);
        }
    }

    fn moderation_applies(&self) -> bool {
        self.info.kind != RoomKind::OnCall
            && matches!(
                self.info.status,
                RoomStatus::Open | RoomStatus::Paused | RoomStatus::AwaitingFacilitator
            )
    }

    /// A room is never unmoderated: until a facilitator first arrives it waits
    /// (and, past the grace, shows everyone where help is); when no facilitator
    /// has been online for the grace period, a present co-facilitator takes
    /// over; with none, the room pauses.
    pub(in crate::room) fn check_moderation(&mut self, now: Millis) {
        if !self.moderation_applies() {
            return;
        }
        if self.info.status == RoomStatus::AwaitingFacilitator {
            if self.staffed() {
                self.facilitator_present(now);
                return;
            }
            let since = *self.unmoderated_since.get_or_insert(now);
            if now >= since + self.limits.facilitator_grace_ms && !self.info.unattended {
                self.info.unattended = true;
                self.room_updated(now);
                self.emit(
                    Audience::All,
                    Event::RoomNotice {
                        code: "no_facilitator".into(),
                        message: NO_FACILITATOR.into(),
                    },
                    now,
                );
            }
            return;
        }
        let online_lead = self
            .members
            .iter()
            .any(|m| m.online() && m.role == Role::Facilitator);
        let online_co = self
            .members
            .iter()
            .position(|m| m.online() && m.role == Role::CoFacilitator);
        if online_lead {
            self.facilitator_present(now);
            return;
        }
        let since = *self.unmoderated_since.get_or_insert(now);
        if now < since + self.limits.facilitator_grace_ms {
            return;
        }
        if let Some(i) = online_co {
            self.members[i].role = Role::Facilitator;
            self.takeover = Some(self.members[i].id.clone());
            self.member_updated(i, now);
            let name = self.members[i].name.clone();
            self.emit(
                Audience::All,
                Event::RoomNotice {
                    code: "facilitator_takeover".into(),
                    message: format!("{name} is now facilitating."),
                },
                now,
            );
            self.facilitator_present(now);
        } else if self.info.status == RoomStatus::Open {
            self.info.status = RoomStatus::Paused;
            self.info.unattended = true;
            self.room_updated(now);
            self.emit(
                Audience::All,
                Event::RoomNotice {
                    code: "paused".into(),
                    message: "The room is paused until a facilitator is back. You can keep reading. If you need support now, press “I'm in distress” to reach a peer supporter on call, or use a crisis line below.".into(),
                },
                now,
            );
        }
    }

    /// The first facilitator arrives in an empty room awaiting them: it opens
    /// without an event (nobody is there to hear one; the welcome shows it).
    pub(in crate::room) fn open_quietly(&mut self, now: Millis) {
        if self.info.status == RoomStatus::AwaitingFacilitator {
            self.info.status = RoomStatus::Open;
            self.info.unattended = false;
            self.unmoderated_since = None;
            self.opened_at.get_or_insert(now);
        }
    }

    pub(in crate::room) fn facilitator_present(&mut self, now: Millis) {
        self.unmoderated_since = None;
        if self.info.status == RoomStatus::AwaitingFacilitator {
            self.info.status = RoomStatus::Open;
            self.info.unattended = false;
            self.opened_at.get_or_insert(now);
            self.room_updated(now);
            self.emit(
                Audience::All,
                Event::RoomNotice {
                    code: "opened".into(),
                    message: "The facilitator has opened the room.".into(),
                },
                now,
            );
        }
        if self.info.status == RoomStatus::Paused {
            self.info.status = RoomStatus::Open;
            self.info.unattended = false;
            self.room_updated(now);
            self.emit(
                Audience::All,
                Event::RoomNotice {
                    code: "resumed".into(),
                    message: "A facilitator is back. The room is open again.".into(),
                },
                now,
            );
        }
    }
}
