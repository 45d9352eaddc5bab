//! The pure room model: a room's state, its rules, and which frames each
//! command yields. No I/O, no clocks (time is passed in), no transport.
//!
//! The model is driven by [`Room::join`], [`Room::handle`], [`Room::disconnect`]
//! and [`Room::tick`]; each call appends [`Out`] frames (with their audience) to
//! an outbox that the caller drains with [`Room::take_output`]. Every room event
//! gets the next `seq` and is kept in a bounded history for resume.
//!
//! # Layout
//!
//! * `state.rs`: the [`Room`] struct and the types it hands to its host.
//! * this file: read access, the output helpers every command uses (`emit`,
//!   `reply`, …), and [`Room::handle`], a short dispatch.
//! * `commands/<topic>.rs`: one `impl Room` block per topic (chat, moderation,
//!   timers, …) with that topic's commands and the helpers only it uses.
//! * `text.rs`: the one check of free text (control and bidi-override
//!   characters) every text field goes through, and display-name keys.
//! * `tests/<topic>.rs`: the unit tests, by the same topics; the shared harness
//!   is in `tests/mod.rs`.
//!
//! # How a command is dispatched
//!
//! [`Room::handle`] finds the sender's member index from its connection (a
//! pending connection may only leave), refuses facilitator-only commands from
//! participants, then makes one call per [`ClientMsg`] variant into the topic's
//! method. A method either changes the room and emits events, or returns a
//! [`RoomError`] having changed nothing; the host answers a refusal with
//! [`Room::refuse`], whose error frame takes its code from [`RoomError::code`].
//!
//! # To add a command
//!
//! Protocol type + README example (in `protocol/`) → a method in
//! `room/commands/<topic>.rs` and its arm in [`Room::handle`] (a new refusal is
//! a new [`RoomError`] variant, mapped in `RoomError::code`) → its tests in
//! `room/tests/<topic>.rs`.

mod commands;
pub mod library;
mod state;
pub mod summary;
pub mod text;

pub use commands::rules::Carry;
pub use state::{
    Audience, ConnId, Control, DeskReply, Effect, JoinCtx, Limits, Out, Room,
    DEFAULT_BIG_ROOM_THRESHOLD, MIN_ENERGY_ANSWERS,
};

use crate::error::RoomError;
use huddle_protocol::*;
use state::{
    DeskAlert, EnergyRun, HistEntry, MemberRec, Pending, PendingWhy, RaisedAlert, Removal,
};

type R = Result<(), RoomError>;

/// The largest frame the room produces because of messages, in bytes of JSON:
/// a `welcome`'s messages shrink to fit it, and a `history` page never exceeds
/// it. (Chat events carry one message of at most `max_text` characters.)
pub const MAX_ROOM_FRAME_BYTES: usize = 256 * 1024;

/// How many bytes of JSON messages a `welcome` or a `history` page carries at
/// most (a single larger message is sent alone, up to [`MAX_ROOM_FRAME_BYTES`]).
pub const HISTORY_BUDGET_BYTES: usize = 64 * 1024;

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// A random 128-bit secret, hex encoded.
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Stored form of a secret.
/// How a room appears in logs at info level and above: room ids are
/// capabilities (whoever knows one can join), so logs show a short tag of it
/// instead (the same for every line about that room, on every instance; not
/// reversible). Full ids appear at debug only.
pub fn log_tag(room_id: &str) -> String {
    let h = hash_secret(&format!("room-log-tag:{room_id}"));
    h[..12.min(h.len())].to_string()
}

pub fn hash_secret(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn secret_matches(secret: &str, hash: &str) -> bool {
    use subtle::ConstantTimeEq;
    let h = hash_secret(secret);
    h.len() == hash.len() && bool::from(h.as_bytes().ct_eq(hash.as_bytes()))
}

/// Trim a display name and check it: 1..=max chars, no control or
/// bidi-override characters ([`text::check`]; refused as `invalid_name`).
pub fn clean_name(name: &str, max: usize) -> Result<String, RoomError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(RoomError::NameEmpty);
    }
    if n.chars().count() > max {
        return Err(RoomError::NameTooLong { max });
    }
    if text::check("display name", n).is_err() {
        return Err(RoomError::NameControlChars);
    }
    Ok(n.to_string())
}

/// Whether a free-text field may hold line breaks (and tabs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Trim a free-text field and check it: not empty, at most `max` chars, and
/// no control or bidi-override characters ([`text::check`] / [`text::check_lines`]).
fn clean_text(
    text: &str,
    max: usize,
    what: &'static str,
    lines: Lines,
) -> Result<String, RoomError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(RoomError::Empty { what });
    }
    if t.chars().count() > max {
        return Err(RoomError::TooLong { what, max });
    }
    match lines {
        Lines::One => text::check(what, t)?,
        Lines::Many => text::check_lines(what, t)?,
    }
    Ok(t.to_string())
}

/// The first 500 characters of a message's text, for a highlight or a
/// parking-lot item, without the characters text fields refuse (a message kept
/// since before those checks may hold them).
fn quote(text: &str, what: &'static str) -> Result<String, RoomError> {
    let t: String = text::strip_refused(text).trim().chars().take(500).collect();
    if t.trim().is_empty() {
        return Err(RoomError::Empty { what });
    }
    Ok(t)
}

/// An optional text: blank means none; otherwise checked like [`clean_text`].
fn clean_optional(
    text: Option<String>,
    max: usize,
    what: &'static str,
    lines: Lines,
) -> Result<Option<String>, RoomError> {
    match text {
        Some(t) if !t.trim().is_empty() => clean_text(&t, max, what, lines).map(Some),
        _ => Ok(None),
    }
}

impl Room {
    // ----- read access -----

    pub fn info(&self) -> &RoomInfo {
        &self.info
    }
    pub fn seq(&self) -> u64 {
        self.seq
    }
    pub fn epoch(&self) -> &str {
        &self.epoch
    }
    /// Start a new history epoch (history was lost: e.g. taken over without it).
    pub fn new_epoch(&mut self) {
        self.epoch = new_id();
        self.history.clear();
    }

    /// After loading a snapshot on another instance: put back the event history
    /// kept beside it (`(seq, audience, frame)`, oldest first). Events newer than
    /// the snapshot are re-applied to what they change (seq, recent messages).
    /// If the history does not reach the snapshot, it was lost: new epoch, so
    /// resuming clients get a fresh snapshot and an explicit `history_reset`.
    pub fn restore(&mut self, entries: Vec<(u64, Audience, ServerMsg)>) {
        let snap = self.seq;
        let first = entries.first().map(|e| e.0).unwrap_or(0);
        let last = entries.last().map(|e| e.0).unwrap_or(0);
        // The history must reach back to the snapshot: otherwise what came
        // between was lost (e.g. Redis was flushed) and resumes cannot be exact.
        if entries.is_empty() || last < snap || (snap > 0 && first > snap) {
            if snap > 0 {
                self.new_epoch();
            }
            return;
        }
        for (seq, _, msg) in &entries {
            if *seq <= snap {
                continue;
            }
            if let ServerMsg::Event { event, .. } = msg {
                match event {
                    Event::Chat { message } => {
                        self.messages.push_back(message.clone());
                        while self.messages.len() > self.limits.recent_messages {
                            self.messages.pop_front();
                        }
                    }
                    Event::MessageDeleted { message_id } => {
                        self.messages.retain(|m| &m.id != message_id)
                    }
                    _ => {}
                }
            }
        }
        self.seq = last;
        self.history = entries
            .into_iter()
            .map(|(seq, audience, msg)| HistEntry { seq, audience, msg })
            .collect();
        while self.history.len() > self.limits.history {
            self.history.pop_front();
        }
    }
    pub fn member_count(&self) -> u32 {
        self.members.len() as u32
    }
    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }
    pub fn key_hash(&self) -> &str {
        &self.facilitator_key_hash
    }
    /// Answer a refused command with an error frame to its connection.
    pub fn refuse(&mut self, conn: &str, err: &RoomError, refused: &str) {
        self.tell_error(conn, err, Some(refused));
    }
    pub fn facilitator_key_matches(&self, key: &str) -> bool {
        secret_matches(key, &self.facilitator_key_hash)
    }
    pub fn public(&self) -> PublicRoom {
        PublicRoom {
            info: self.info.clone(),
            member_count: self.member_count(),
        }
    }
    /// Member ids and the instance each is connected through (for presence checks).
    pub fn member_instances(&self) -> Vec<(String, String)> {
        self.members
            .iter()
            .filter(|m| m.online())
            .map(|m| (m.id.clone(), m.instance.clone()))
            .collect()
    }
    /// Connections currently bound or pending in this room.
    pub fn conns(&self) -> Vec<ConnId> {
        self.members
            .iter()
            .filter_map(|m| m.conn.clone())
            .chain(self.pending.iter().map(|p| p.conn.clone()))
            .collect()
    }
    /// The frames so far, a big room's waiting presence changes told first
    /// (see also [`Room::take_output_due`]).
    pub fn take_output(&mut self) -> Vec<Out> {
        self.flush_presence();
        std::mem::take(&mut self.out)
    }
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    // ----- output helpers -----

    fn emit(&mut self, audience: Audience, event: Event, now: Millis) {
        // A big room's presence changes are told before anything after them.
        if !matches!(event, Event::MembersChanged(_)) {
            self.flush_presence();
        }
        self.seq += 1;
        let msg = ServerMsg::Event {
            seq: self.seq,
            ts: now,
            event,
        };
        self.history.push_back(HistEntry {
            seq: self.seq,
            audience: audience.clone(),
            msg: msg.clone(),
        });
        while self.history.len() > self.limits.history {
            self.history.pop_front();
        }
        self.out.push(Out::Frame { audience, msg });
    }
    fn reply(&mut self, conn: &str, msg: ServerMsg) {
        self.out.push(Out::Frame {
            audience: Audience::Conn(conn.to_string()),
            msg,
        });
    }
    /// An error frame to one connection: code and message both come from `err`.
    fn tell_error(&mut self, conn: &str, err: &RoomError, refused: Option<&str>) {
        self.reply(
            conn,
            ServerMsg::Error {
                code: err.code(),
                message: err.to_string(),
                refused: refused.map(str::to_string),
            },
        );
    }
    fn facilitator_ids(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.role.is_facilitator())
            .map(|m| m.id.clone())
            .collect()
    }
    fn emit_to_facilitators(&mut self, event: Event, now: Millis) {
        let f = self.facilitator_ids();
        self.emit(Audience::Members(f), event, now);
    }
    fn idx(&self, member: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id == member)
    }
    fn member_idx(&self, id: &str) -> Result<usize, RoomError> {
        self.idx(id).ok_or(RoomError::NoSuchMember)
    }
    fn idx_by_conn(&self, conn: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.conn.as_deref() == Some(conn))
    }
    fn member_updated(&mut self, i: usize, now: Millis) {
        self.presence_updated(i, now);
    }
    fn room_updated(&mut self, now: Millis) {
        let info = self.info.clone();
        self.emit(Audience::All, Event::RoomUpdated { info }, now);
    }

    // ----- dispatch -----

    /// A command from an admitted (or pending) connection.
    pub fn handle(&mut self, conn: &str, cmd: ClientMsg, now: Millis) -> R {
        let Some(i) = self.idx_by_conn(conn) else {
            if self.pending.iter().any(|p| p.conn == conn) {
                return match cmd {
                    ClientMsg::Leave => {
                        self.disconnect(conn, now);
                        Ok(())
                    }
                    _ => Err(RoomError::NotAdmitted),
                };
            }
            return Err(RoomError::NotJoined);
        };
        if self.info.kind == RoomKind::OnCall {
            return self.handle_desk(i, conn, cmd, now);
        }
        let role = self.members[i].role;
        if cmd.facilitator_only() && !role.is_facilitator() {
            return Err(RoomError::FacilitatorsOnly);
        }
        match cmd {
            // commands/membership.rs
            ClientMsg::Join { .. } => Err(RoomError::AlreadyJoined),
            ClientMsg::Ping { t } => self.ping(conn, t, now),
            ClientMsg::Leave => self.leave(i, now),
            // commands/chat.rs
            ClientMsg::Chat { text } => self.chat(i, &text, now),
            ClientMsg::React { message_id, emoji } => self.react(i, message_id, emoji, now),
            ClientMsg::DeleteMessage { message_id } => self.delete_message(message_id, now),
            ClientMsg::Pin { text } => self.pin(text, now),
            // commands/rules.rs
            ClientMsg::AcceptRules { version } => self.accept_rules(i, version, now),
            ClientMsg::SetGroundRules { rules } => self.set_ground_rules(rules, now),
            ClientMsg::ShowGroundRules => self.show_ground_rules(now),
            ClientMsg::SetWelcome { text } => self.set_welcome(text, now),
            // commands/hands.rs
            ClientMsg::RaiseHand => self.raise_hand(i, now),
            ClientMsg::LowerHand { member_id } => self.lower_hand(i, member_id, now),
            ClientMsg::CallOn { member_id } => self.call_on(member_id, now),
            // commands/timers.rs
            ClientMsg::TimerStart {
                name,
                duration_secs,
            } => self.timer_start(name, duration_secs, now),
            ClientMsg::TimerPause { timer_id } => self.timer_pause(timer_id, now),
            ClientMsg::TimerResume { timer_id } => self.timer_resume(timer_id, now),
            ClientMsg::TimerExtend { timer_id, secs } => self.timer_extend(timer_id, secs, now),
            ClientMsg::TimerCancel { timer_id } => self.timer_cancel(timer_id, now),
            // commands/energizers.rs
            ClientMsg::ListEnergizers => self.list_energizers(conn),
            ClientMsg::PushEnergizer {
                energizer_id,
                prompt,
                duration_secs,
            } => self.push_energizer(energizer_id, prompt, duration_secs, now),
            ClientMsg::CloseEnergizer { run_id } => self.close_energizer(run_id, now),
            ClientMsg::AnswerEnergizer { run_id, text } => {
                self.answer_energizer(i, run_id, text, now)
            }
            // commands/highlights.rs
            ClientMsg::Highlight {
                tag,
                message_id,
                text,
            } => self.highlight(tag, message_id, text, now),
            ClientMsg::EditHighlight {
                highlight_id,
                tag,
                text,
            } => self.edit_highlight(highlight_id, tag, text, now),
            ClientMsg::RemoveHighlight { highlight_id } => self.remove_highlight(highlight_id, now),
            ClientMsg::Agree { highlight_id } => self.agree(i, &highlight_id, true, now),
            ClientMsg::Unagree { highlight_id } => self.agree(i, &highlight_id, false, now),
            // commands/energy.rs
            ClientMsg::OpenEnergyCheck => self.open_energy_check(now),
            ClientMsg::CloseEnergyCheck { check_id } => self.close_energy_check(check_id, now),
            ClientMsg::EnergyAnswer { check_id, level } => {
                self.energy_answer(i, check_id, level, now)
            }
            // commands/support.rs
            ClientMsg::SupportRequest { note } => self.request_support(i, note, now),
            ClientMsg::Distress => self.distress(i, now),
            ClientMsg::OpenOneOnOne { request_id } => self.open_one_on_one(i, request_id),
            ClientMsg::InviteToShare { member_id } => self.invite_to_share(i, member_id, now),
            ClientMsg::DeclineShare { invite_id } => self.decline_share(i, invite_id, now),
            // commands/moderation.rs
            ClientMsg::Mute { member_id } => self.set_muted(i, &member_id, true, now),
            ClientMsg::Unmute { member_id } => self.set_muted(i, &member_id, false, now),
            ClientMsg::Remove { member_id } => self.remove(i, member_id, now),
            ClientMsg::SlowMode { secs } => self.slow_mode(secs, now),
            ClientMsg::Lock { locked } => self.lock(locked, now),
            ClientMsg::Promote { member_id } => self.promote(member_id, now),
            ClientMsg::Demote { member_id } => self.demote(i, member_id, now),
            ClientMsg::HandOver { member_id } => self.hand_over(i, member_id, now),
            ClientMsg::PersonalMute { member_id } => self.personal_mute(i, member_id, now),
            ClientMsg::PersonalUnmute { member_id } => self.personal_unmute(i, member_id, now),
            // commands/parking.rs
            ClientMsg::Park { message_id, text } => self.park(i, message_id, text, now),
            ClientMsg::Unpark { item_id } => self.unpark(item_id, now),
            ClientMsg::AllowParking { enabled } => self.allow_parking(enabled, now),
            // commands/waiting.rs
            ClientMsg::SetWaitingRoom { enabled } => self.set_waiting_room(enabled, now),
            ClientMsg::Admit { member_id } => self.admit(member_id, now),
            ClientMsg::Decline { member_id } => self.decline(member_id, now),
            // commands/schedule.rs
            ClientMsg::ExtendSession { minutes } => self.extend_session(minutes, now),
            ClientMsg::EndSession => self.end_session(now),
            // commands/lead.rs
            ClientMsg::RotateKey => self.rotate_key(i, conn, now),
            // commands/history.rs
            ClientMsg::HistoryBefore { before_seq, limit } => {
                self.history_before(i, conn, before_seq, limit)
            }
            ClientMsg::SetShareHistory { enabled } => self.set_share_history(enabled, now),
            // commands/presence.rs
            ClientMsg::RosterPage { after, limit } => self.roster_page(conn, after, limit),
            // commands/airtime.rs
            ClientMsg::Airtime => self.airtime(conn, now),
            // commands/calls.rs
            ClientMsg::SetCall { mode } => self.set_call(mode, now),
            ClientMsg::JoinCall { mic, camera } => self.join_call(i, mic, camera, now),
            ClientMsg::LeaveCall => self.leave_call(i, now),
            ClientMsg::MediaState {
                mic,
                camera,
                speaking,
            } => self.media_state(
                i,
                MediaState {
                    mic,
                    camera,
                    speaking,
                },
                now,
            ),
            ClientMsg::Signal { to, data } => self.signal(i, to, data, now),
            ClientMsg::MuteMedia { member_id } => self.force_media(i, member_id, false, now),
            ClientMsg::StopVideo { member_id } => self.force_media(i, member_id, true, now),
            ClientMsg::MuteAll => self.mute_all(i, now),
            ClientMsg::GiveFloor { member_id } => self.give_floor(member_id, now),
            // commands/oncall.rs: the desk's commands (dispatched above, at the desk)
            ClientMsg::AckAlert { .. } | ClientMsg::OpenAlertRoom { .. } => {
                Err(RoomError::OnCallOnly)
            }
        }
    }
}

#[cfg(test)]
mod tests;
