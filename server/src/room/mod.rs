//! The pure room model: a room's state, its rules, and which frames each
//! command yields. No I/O, no clocks (time is passed in), no transport.
//!
//! The model is driven by [`Room::join`], [`Room::handle`], [`Room::disconnect`]
//! and [`Room::tick`]; each call appends [`Out`] frames (with their audience) to
//! an outbox that the caller drains with [`Room::take_output`]. Every room event
//! gets the next `seq` and is kept in a bounded history for resume.

pub mod library;
pub mod summary;

use crate::error::RoomError;
use huddle_protocol::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

pub type ConnId = String;

/// Limits the model enforces (configurable by the server).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    pub max_text: usize,
    pub max_name: usize,
    pub max_members: u32,
    /// How many recent messages a welcome carries.
    pub recent_messages: usize,
    /// How many events are kept for resume.
    pub history: usize,
    /// How long a disconnected member stays in the roster, awaiting resume.
    pub grace_ms: u64,
    /// How long without any facilitator before a group room pauses / a co-facilitator takes over.
    pub facilitator_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text: 2000,
            max_name: 40,
            max_members: 500,
            recent_messages: 200,
            history: 2000,
            grace_ms: 20_000,
            facilitator_grace_ms: 10_000,
        }
    }
}

/// Who receives a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every admitted member.
    All,
    /// Every admitted member except these (personal mutes).
    AllExcept(Vec<String>),
    /// These members only.
    Members(Vec<String>),
    /// One connection that may not be a member yet (replies to a join).
    Conn(ConnId),
}

impl Audience {
    pub fn includes(&self, member: &str) -> bool {
        match self {
            Audience::All => true,
            Audience::AllExcept(ex) => !ex.iter().any(|m| m == member),
            Audience::Members(ms) => ms.iter().any(|m| m == member),
            Audience::Conn(_) => false,
        }
    }
}

/// Transport instructions that travel with frames, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// From now on, this connection is this member (sent before its welcome).
    Bind { conn: ConnId, member: String },
    /// Close this connection after delivering what precedes this control.
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
}

/// One frame (or control) for an audience.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Frame { audience: Audience, msg: ServerMsg },
    Control(Control),
}

/// Something the room asks its host to do outside the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Create a one-on-one room for a support request, then call
    /// [`Room::one_on_one_opened`].
    OpenOneOnOne {
        request_id: String,
        facilitator: String,
        participant: String,
        title: String,
    },
}

/// What the host knows about the connection that sends a join.
#[derive(Debug, Clone, Default)]
pub struct JoinCtx {
    pub conn: ConnId,
    pub instance: String,
    /// Hash of the client address, for keep-out after removal (none for loopback).
    pub addr_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberRec {
    id: String,
    name: String,
    role: Role,
    creator: bool,
    conn: Option<ConnId>,
    instance: String,
    muted: bool,
    accepted_rules: u32,
    token_hash: String,
    addr_hash: Option<String>,
    joined_at: Millis,
    last_post: Option<Millis>,
    messages: u32,
    disconnected_at: Option<Millis>,
    personal_mutes: BTreeSet<String>,
}

impl MemberRec {
    fn online(&self) -> bool {
        self.conn.is_some()
    }
    fn view(&self) -> Member {
        Member {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            online: self.online(),
            muted: self.muted,
            accepted_rules: self.accepted_rules,
            creator: self.creator,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum PendingWhy {
    Lobby,
    WaitingRoom,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    member_id: String,
    name: String,
    conn: ConnId,
    instance: String,
    role: Role,
    addr_hash: Option<String>,
    why: PendingWhy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HistEntry {
    seq: u64,
    audience: Audience,
    msg: ServerMsg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EnergyRun {
    check: EnergyCheck,
    answered: BTreeSet<String>,
}

/// A room: its whole state. Serializable so another instance can take it over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Room {
    info: RoomInfo,
    facilitator_key_hash: String,
    limits: Limits,
    crisis: Vec<CrisisResource>,
    rules: GroundRules,
    members: Vec<MemberRec>,
    pending: Vec<Pending>,
    removed_tokens: BTreeSet<String>,
    removed_addrs: BTreeSet<String>,
    removed_members: BTreeSet<String>,
    /// Members who dropped out (grace over, or their instance died): they may
    /// still resume with their token and come back as themselves.
    #[serde(default)]
    departed: VecDeque<MemberRec>,
    messages: VecDeque<ChatMessage>,
    timers: Vec<Timer>,
    energizer: Option<EnergizerRun>,
    energizers_used: Vec<String>,
    highlights: Vec<Highlight>,
    energy: Option<EnergyRun>,
    energy_done: Vec<EnergyCheck>,
    hands: Vec<String>,
    parking: Vec<ParkedItem>,
    support: Vec<SupportRequest>,
    invites: Vec<(String, String)>,
    seq: u64,
    epoch: String,
    /// Kept apart from snapshots: the Redis broker stores it as a stream.
    #[serde(skip)]
    history: VecDeque<HistEntry>,
    created_at: Millis,
    opened_at: Option<Millis>,
    warned: Vec<u32>,
    /// Since when no facilitator has been online (None while one is).
    unmoderated_since: Option<Millis>,
    summary: Option<Summary>,
    #[serde(skip)]
    out: Vec<Out>,
    #[serde(skip)]
    effects: Vec<Effect>,
}

type R = Result<(), RoomError>;

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// A random 128-bit secret, hex encoded.
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Stored form of a secret.
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

/// Trim a display name and check it: 1..=max chars, no control characters.
pub fn clean_name(name: &str, max: usize) -> Result<String, RoomError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(RoomError::NameEmpty);
    }
    if n.chars().count() > max {
        return Err(RoomError::NameTooLong { max });
    }
    if n.chars().any(|c| c.is_control()) {
        return Err(RoomError::NameControlChars);
    }
    Ok(n.to_string())
}

fn clean_text(text: &str, max: usize, what: &'static str) -> Result<String, RoomError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(RoomError::Empty { what });
    }
    if t.chars().count() > max {
        return Err(RoomError::TooLong { what, max });
    }
    Ok(t.to_string())
}

/// An optional text: blank means none; otherwise checked like [`clean_text`].
fn clean_optional(
    text: Option<String>,
    max: usize,
    what: &'static str,
) -> Result<Option<String>, RoomError> {
    match text {
        Some(t) if !t.trim().is_empty() => clean_text(&t, max, what).map(Some),
        _ => Ok(None),
    }
}

impl Room {
    /// A new room. `facilitator_key` is hashed; only the hash is kept.
    pub fn new(
        id: String,
        spec: &CreateRoom,
        facilitator_key: &str,
        limits: Limits,
        crisis: Vec<CrisisResource>,
        now: Millis,
    ) -> Room {
        let scheduled = spec.starts_at.is_some_and(|s| s > now);
        Room {
            info: RoomInfo {
                id,
                title: spec.title.clone(),
                kind: spec.kind,
                status: if scheduled {
                    RoomStatus::Scheduled
                } else {
                    RoomStatus::Open
                },
                starts_at: spec.starts_at,
                ends_at: spec.ends_at,
                capacity: match spec.kind {
                    RoomKind::OneOnOne => Some(2),
                    _ => spec.capacity,
                },
                locked: false,
                waiting_room: spec.waiting_room,
                slow_mode_secs: 0,
                members_can_park: false,
                pinned: None,
                welcome_message: None,
            },
            facilitator_key_hash: hash_secret(facilitator_key),
            limits,
            crisis,
            rules: GroundRules {
                version: 1,
                rules: library::default_ground_rules(),
            },
            members: Vec::new(),
            pending: Vec::new(),
            removed_tokens: BTreeSet::new(),
            removed_addrs: BTreeSet::new(),
            removed_members: BTreeSet::new(),
            departed: VecDeque::new(),
            messages: VecDeque::new(),
            timers: Vec::new(),
            energizer: None,
            energizers_used: Vec::new(),
            highlights: Vec::new(),
            energy: None,
            energy_done: Vec::new(),
            hands: Vec::new(),
            parking: Vec::new(),
            support: Vec::new(),
            invites: Vec::new(),
            seq: 0,
            epoch: new_id(),
            history: VecDeque::new(),
            created_at: now,
            opened_at: if scheduled { None } else { Some(now) },
            warned: Vec::new(),
            unmoderated_since: Some(now),
            summary: None,
            out: Vec::new(),
            effects: Vec::new(),
        }
    }

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
    pub fn take_output(&mut self) -> Vec<Out> {
        std::mem::take(&mut self.out)
    }
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    // ----- output helpers -----

    fn emit(&mut self, audience: Audience, event: Event, now: Millis) {
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
    fn idx_by_conn(&self, conn: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.conn.as_deref() == Some(conn))
    }
    fn member_updated(&mut self, i: usize, now: Millis) {
        let member = self.members[i].view();
        self.emit(Audience::All, Event::MemberUpdated { member }, now);
    }
    fn room_updated(&mut self, now: Millis) {
        let info = self.info.clone();
        self.emit(Audience::All, Event::RoomUpdated { info }, now);
    }

    fn snapshot_for(&self, member: &str) -> RoomSnapshot {
        let me = self.members.iter().find(|m| m.id == member);
        let fac = me.is_some_and(|m| m.role.is_facilitator());
        let muted: Vec<String> = me
            .map(|m| m.personal_mutes.iter().cloned().collect())
            .unwrap_or_default();
        RoomSnapshot {
            info: self.info.clone(),
            rules: self.rules.clone(),
            roster: self.members.iter().map(MemberRec::view).collect(),
            messages: self
                .messages
                .iter()
                .filter(|m| !muted.contains(&m.from))
                .cloned()
                .collect(),
            timers: self.timers.clone(),
            energizer: self.energizer.clone(),
            highlights: self.highlights.clone(),
            energy_check: self.energy.as_ref().map(|e| e.check.clone()),
            hands: self.hands.clone(),
            parking_lot: self.parking.clone(),
            waiting: if fac { self.waiting_view() } else { vec![] },
            support_requests: if fac {
                self.support.clone()
            } else {
                self.support
                    .iter()
                    .filter(|s| s.member_id == member)
                    .cloned()
                    .collect()
            },
            crisis_resources: self.crisis.clone(),
            personally_muted: muted,
            seq: self.seq,
            epoch: self.epoch.clone(),
        }
    }

    fn waiting_view(&self) -> Vec<Waiting> {
        self.pending
            .iter()
            .filter(|p| p.why == PendingWhy::WaitingRoom)
            .map(|p| Waiting {
                member_id: p.member_id.clone(),
                name: p.name.clone(),
            })
            .collect()
    }

    fn welcome(&mut self, i: usize, token: String, history_reset: bool, now: Millis) {
        let m = &self.members[i];
        let conn = m.conn.clone().unwrap_or_default();
        let you = You {
            member_id: m.id.clone(),
            role: m.role,
            resume_token: token,
        };
        let room = Box::new(self.snapshot_for(&you.member_id));
        self.out.push(Out::Control(Control::Bind {
            conn: conn.clone(),
            member: you.member_id.clone(),
        }));
        self.reply(
            &conn,
            ServerMsg::Welcome {
                v: PROTOCOL_VERSION,
                you,
                room,
                server_time: now,
                history_reset,
            },
        );
    }

    // ----- join / leave -----

    /// A `join` frame from a connection.
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &mut self,
        ctx: &JoinCtx,
        v: u32,
        name: &str,
        facilitator_key: Option<&str>,
        resume: Option<&Resume>,
        now: Millis,
    ) -> R {
        if v != PROTOCOL_VERSION {
            return Err(RoomError::VersionMismatch);
        }
        if self.idx_by_conn(&ctx.conn).is_some() || self.pending.iter().any(|p| p.conn == ctx.conn)
        {
            return Err(RoomError::ConnectionAlreadyJoined);
        }
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        if let Some(r) = resume {
            if self.removed_tokens.contains(&hash_secret(&r.token)) {
                return Err(RoomError::Removed);
            }
            if let Some(i) = self.idx(&r.member_id) {
                if secret_matches(&r.token, &self.members[i].token_hash) {
                    self.resume(i, ctx, r, now);
                    return Ok(());
                }
                return Err(RoomError::BadResume);
            }
            if self.removed_members.contains(&r.member_id) {
                return Err(RoomError::Removed);
            }
            if let Some(d) = self.departed.iter().position(|m| m.id == r.member_id) {
                if !secret_matches(&r.token, &self.departed[d].token_hash) {
                    return Err(RoomError::BadResume);
                }
                // Back as themselves: into the roster again, then the missed events.
                let mut rec = self.departed.remove(d).unwrap_or_else(|| unreachable!());
                rec.conn = None;
                rec.disconnected_at = None;
                let member = rec.view();
                self.members.push(rec);
                self.emit(Audience::All, Event::MemberJoined { member }, now);
                let i = self.members.len() - 1;
                self.resume(i, ctx, r, now);
                return Ok(());
            }
            // Unknown member (left long ago, or history lost): join afresh below.
        }
        let name = clean_name(name, self.limits.max_name)?;
        let role = match facilitator_key {
            Some(k) if self.facilitator_key_matches(k) => Role::Facilitator,
            Some(_) => return Err(RoomError::BadFacilitatorKey),
            None => Role::Participant,
        };
        let fac = role.is_facilitator();
        if !fac {
            if ctx
                .addr_hash
                .as_ref()
                .is_some_and(|a| self.removed_addrs.contains(a))
            {
                return Err(RoomError::Removed);
            }
            if self.info.locked {
                return Err(RoomError::Locked);
            }
            let cap = self
                .info
                .capacity
                .unwrap_or(self.limits.max_members)
                .min(self.limits.max_members);
            if self.members.len() as u32 + self.pending.len() as u32 >= cap {
                return Err(RoomError::Full);
            }
        }
        let member_id = new_id();
        let why = if fac {
            None
        } else if self.info.status == RoomStatus::Scheduled {
            Some(PendingWhy::Lobby)
        } else if self.info.waiting_room {
            Some(PendingWhy::WaitingRoom)
        } else {
            None
        };
        let p = Pending {
            member_id,
            name,
            conn: ctx.conn.clone(),
            instance: ctx.instance.clone(),
            role,
            addr_hash: ctx.addr_hash.clone(),
            why: why.unwrap_or(PendingWhy::Lobby),
        };
        match why {
            None => self.admit_pending(p, now),
            Some(PendingWhy::Lobby) => {
                let starts_at = self.info.starts_at.unwrap_or(now);
                let conn = p.conn.clone();
                self.pending.push(p);
                self.reply(
                    &conn,
                    ServerMsg::Lobby {
                        room_id: self.info.id.clone(),
                        starts_at,
                    },
                );
            }
            Some(PendingWhy::WaitingRoom) => {
                let conn = p.conn.clone();
                self.pending.push(p);
                self.reply(
                    &conn,
                    ServerMsg::Waiting {
                        room_id: self.info.id.clone(),
                    },
                );
                self.waiting_changed(now);
            }
        }
        Ok(())
    }

    fn waiting_changed(&mut self, now: Millis) {
        let queue = self.waiting_view();
        self.emit_to_facilitators(Event::WaitingRoom { queue }, now);
    }

    fn admit_pending(&mut self, p: Pending, now: Millis) {
        let token = new_secret();
        let fac = p.role.is_facilitator();
        let rec = MemberRec {
            id: p.member_id,
            name: p.name,
            role: p.role,
            creator: p.role == Role::Facilitator,
            conn: Some(p.conn),
            instance: p.instance,
            muted: false,
            accepted_rules: if fac { self.rules.version } else { 0 },
            token_hash: hash_secret(&token),
            addr_hash: p.addr_hash,
            joined_at: now,
            last_post: None,
            messages: 0,
            disconnected_at: None,
            personal_mutes: BTreeSet::new(),
        };
        let member = rec.view();
        self.members.push(rec);
        self.emit(Audience::All, Event::MemberJoined { member }, now);
        let i = self.members.len() - 1;
        self.welcome(i, token, false, now);
        if fac {
            self.facilitator_present(now);
        }
    }

    fn resume(&mut self, i: usize, ctx: &JoinCtx, r: &Resume, now: Millis) {
        if let Some(old) = self.members[i].conn.take() {
            self.out.push(Out::Control(Control::Close {
                conn: old,
                code: 4000,
                reason: "resumed on another connection".into(),
            }));
        }
        let was_offline = self.members[i].disconnected_at.is_some();
        self.members[i].conn = Some(ctx.conn.clone());
        self.members[i].instance = ctx.instance.clone();
        self.members[i].disconnected_at = None;
        let member = self.members[i].id.clone();
        // Tokens rotate on every (re)connect; a resume token is good for one use.
        let token = new_secret();
        self.members[i].token_hash = hash_secret(&token);
        let first = self.history.front().map(|h| h.seq).unwrap_or(self.seq + 1);
        let covered = r.epoch == self.epoch
            && r.last_seq <= self.seq
            && (r.last_seq + 1 >= first || r.last_seq == self.seq);
        if covered {
            self.out.push(Out::Control(Control::Bind {
                conn: ctx.conn.clone(),
                member: member.clone(),
            }));
            let missed: Vec<ServerMsg> = self
                .history
                .iter()
                .filter(|h| h.seq > r.last_seq && h.audience.includes(&member))
                .map(|h| h.msg.clone())
                .collect();
            for msg in missed {
                self.reply(&ctx.conn, msg);
            }
            let you = You {
                member_id: member.clone(),
                role: self.members[i].role,
                resume_token: token,
            };
            self.reply(
                &ctx.conn,
                ServerMsg::Resumed {
                    you,
                    from_seq: r.last_seq,
                    to_seq: self.seq,
                    server_time: now,
                },
            );
        } else {
            self.welcome(i, token, true, now);
        }
        if was_offline {
            self.member_updated(i, now);
        }
        if self.members[i].role.is_facilitator() {
            self.facilitator_present(now);
        }
    }

    /// The connection is gone (closed, dropped, instance died). The member
    /// stays in the roster as offline for the grace period, awaiting resume.
    pub fn disconnect(&mut self, conn: &str, now: Millis) {
        if let Some(pi) = self.pending.iter().position(|p| p.conn == conn) {
            let p = self.pending.remove(pi);
            if p.why == PendingWhy::WaitingRoom {
                self.waiting_changed(now);
            }
            return;
        }
        if let Some(i) = self.idx_by_conn(conn) {
            self.members[i].conn = None;
            self.members[i].disconnected_at = Some(now);
            self.member_updated(i, now);
            self.check_moderation(now);
        }
    }

    /// Every member connected through `instance` is gone (the instance died):
    /// they leave the roster at once (no ghosts) and may still resume.
    pub fn instance_lost(&mut self, instance: &str, now: Millis) {
        self.pending.retain(|p| p.instance != instance);
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.instance == instance && m.online())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            if let Some(i) = self.idx(&id) {
                self.members[i].conn = None;
                self.remove_member(i, LeaveReason::Disconnected, now);
            }
        }
        self.waiting_changed(now);
    }

    fn remove_member(&mut self, i: usize, reason: LeaveReason, now: Millis) {
        let m = self.members.remove(i);
        self.hands.retain(|h| h != &m.id);
        if let Some(conn) = m.conn.clone() {
            if reason == LeaveReason::Removed {
                // Tell them, then close.
                self.tell_error(&conn, &RoomError::RemovedByFacilitator, None);
                self.out.push(Out::Control(Control::Close {
                    conn,
                    code: 4001,
                    reason: "removed".into(),
                }));
            }
        }
        self.emit(
            Audience::All,
            Event::MemberLeft {
                member_id: m.id.clone(),
                reason,
            },
            now,
        );
        if reason == LeaveReason::Removed {
            self.removed_tokens.insert(m.token_hash.clone());
            self.removed_members.insert(m.id.clone());
            if let Some(a) = m.addr_hash {
                self.removed_addrs.insert(a);
            }
        } else if reason == LeaveReason::Disconnected {
            self.departed.push_back(m);
            while self.departed.len() > 500 {
                self.departed.pop_front();
            }
        }
        self.check_moderation(now);
    }

    // ----- time -----

    /// The next instant at which [`Room::tick`] has work to do.
    pub fn next_deadline(&self) -> Option<Millis> {
        let mut d: Vec<Millis> = Vec::new();
        d.extend(self.timers.iter().filter_map(|t| t.deadline));
        if self.info.status == RoomStatus::Scheduled {
            d.extend(self.info.starts_at);
        }
        if matches!(self.info.status, RoomStatus::Open | RoomStatus::Paused) {
            if let Some(end) = self.info.ends_at {
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
            if self.moderation_applies() && self.info.status == RoomStatus::Open {
                d.push(t + self.limits.facilitator_grace_ms);
            }
        }
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
        }
        if self.info.status == RoomStatus::Scheduled && self.info.starts_at.is_none_or(|s| s <= now)
        {
            self.info.status = RoomStatus::Open;
            self.opened_at = Some(now);
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
            if let Some(end) = self.info.ends_at {
                if now >= end {
                    self.end(now);
                    return;
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
                self.remove_member(i, LeaveReason::Disconnected, now);
            }
        }
        self.check_moderation(now);
    }

    fn moderation_applies(&self) -> bool {
        self.info.kind == RoomKind::Group
            && matches!(self.info.status, RoomStatus::Open | RoomStatus::Paused)
    }

    /// A room is never unmoderated: when no facilitator has been online for the
    /// grace period, a present co-facilitator takes over; with none, the room pauses.
    fn check_moderation(&mut self, now: Millis) {
        if !self.moderation_applies() {
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
            self.room_updated(now);
            self.emit(
                Audience::All,
                Event::RoomNotice {
                    code: "paused".into(),
                    message: "The room is paused until a facilitator is back. You can keep reading; posting resumes shortly.".into(),
                },
                now,
            );
        }
    }

    fn facilitator_present(&mut self, now: Millis) {
        self.unmoderated_since = None;
        if self.info.status == RoomStatus::Paused {
            self.info.status = RoomStatus::Open;
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

    fn end(&mut self, now: Millis) {
        self.info.status = RoomStatus::Closed;
        if let Some(run) = self.energy.take() {
            let mut c = run.check;
            c.open = false;
            self.energy_done.push(c);
        }
        let summary = Summary {
            room_id: self.info.id.clone(),
            title: self.info.title.clone(),
            started_at: self.opened_at.unwrap_or(self.created_at),
            ended_at: now,
            highlights: self.highlights.clone(),
            energy_checks: self.energy_done.clone(),
            energizers: self.energizers_used.clone(),
            parking_lot: self.parking.clone(),
        };
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

    // ----- commands -----

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
        let role = self.members[i].role;
        if cmd.facilitator_only() && !role.is_facilitator() {
            return Err(RoomError::FacilitatorsOnly);
        }
        let me = self.members[i].id.clone();
        match cmd {
            ClientMsg::Join { .. } => Err(RoomError::AlreadyJoined),
            ClientMsg::Ping { t } => {
                self.reply(
                    conn,
                    ServerMsg::Pong {
                        t,
                        server_time: now,
                    },
                );
                Ok(())
            }
            ClientMsg::Leave => {
                self.remove_member(i, LeaveReason::Left, now);
                Ok(())
            }
            ClientMsg::Chat { text } => self.chat(i, &text, now),
            ClientMsg::React { message_id, emoji } => {
                self.can_post(i, now, false)?;
                let e = emoji.trim().to_string();
                if e.is_empty() || e.chars().count() > 8 || e.chars().any(|c| c.is_control()) {
                    return Err(RoomError::BadReaction);
                }
                let Some(m) = self.messages.iter_mut().find(|m| m.id == message_id) else {
                    return Err(RoomError::NoSuchMessage);
                };
                let who = m.reactions.entry(e.clone()).or_default();
                let on = if let Some(p) = who.iter().position(|x| x == &me) {
                    who.remove(p);
                    false
                } else {
                    if m.reactions.len() > 16 {
                        // Drop the empty entry just made: a refusal changes nothing.
                        m.reactions.retain(|_, v| !v.is_empty());
                        return Err(RoomError::TooManyReactions);
                    }
                    m.reactions.entry(e.clone()).or_default().push(me.clone());
                    true
                };
                m.reactions.retain(|_, v| !v.is_empty());
                self.emit(
                    Audience::All,
                    Event::Reaction {
                        message_id,
                        emoji: e,
                        member_id: me,
                        on,
                    },
                    now,
                );
                Ok(())
            }
            ClientMsg::AcceptRules { version } => {
                if version != self.rules.version {
                    return Err(RoomError::StaleRules);
                }
                self.members[i].accepted_rules = version;
                self.member_updated(i, now);
                Ok(())
            }
            ClientMsg::RaiseHand => {
                if !self.hands.contains(&me) {
                    self.hands.push(me);
                    self.hands_changed(now);
                }
                Ok(())
            }
            ClientMsg::LowerHand { member_id } => {
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
            ClientMsg::CallOn { member_id } => {
                self.member_idx(&member_id)?;
                self.hands.retain(|h| h != &member_id);
                self.emit(Audience::All, Event::CalledOn { member_id }, now);
                self.hands_changed(now);
                Ok(())
            }
            ClientMsg::AnswerEnergizer { run_id, text } => {
                self.can_post(i, now, false)?;
                let text = clean_text(&text, 280, "answer")?;
                let name = self.members[i].name.clone();
                let Some(run) = self.energizer.as_mut().filter(|r| r.id == run_id && r.open) else {
                    return Err(RoomError::EnergizerNotOpen);
                };
                let answer = EnergizerAnswer {
                    member_id: me.clone(),
                    name,
                    text,
                };
                run.answers.retain(|a| a.member_id != me);
                run.answers.push(answer.clone());
                self.emit(
                    Audience::All,
                    Event::EnergizerAnswer { run_id, answer },
                    now,
                );
                Ok(())
            }
            ClientMsg::Agree { highlight_id } => self.agree(&me, &highlight_id, true, now),
            ClientMsg::Unagree { highlight_id } => self.agree(&me, &highlight_id, false, now),
            ClientMsg::EnergyAnswer { check_id, level } => {
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
            ClientMsg::SupportRequest { note } => {
                let note = clean_optional(note, 500, "note")?;
                self.support_request(i, note, false, now);
                Ok(())
            }
            ClientMsg::Distress => {
                self.support_request(i, None, true, now);
                Ok(())
            }
            ClientMsg::DeclineShare { invite_id } => {
                let Some(p) = self
                    .invites
                    .iter()
                    .position(|(id, m)| id == &invite_id && m == &me)
                else {
                    return Err(RoomError::NoSuchInvitation);
                };
                self.invites.remove(p);
                self.emit_to_facilitators(
                    Event::ShareDeclined {
                        invite_id,
                        member_id: me,
                    },
                    now,
                );
                Ok(())
            }
            ClientMsg::PersonalMute { member_id } | ClientMsg::PersonalUnmute { member_id }
                if member_id == me =>
            {
                Err(RoomError::MuteSelf)
            }
            ClientMsg::PersonalMute { member_id } => {
                self.member_idx(&member_id)?;
                self.members[i].personal_mutes.insert(member_id);
                self.personal_mutes_changed(i, now);
                Ok(())
            }
            ClientMsg::PersonalUnmute { member_id } => {
                self.members[i].personal_mutes.remove(&member_id);
                self.personal_mutes_changed(i, now);
                Ok(())
            }
            ClientMsg::Park { message_id, text } => {
                if !role.is_facilitator() {
                    if !self.info.members_can_park {
                        return Err(RoomError::ParkingFacilitatorsOnly);
                    }
                    self.can_post(i, now, false)?;
                }
                let text = match (&message_id, text) {
                    (Some(mid), _) => {
                        let Some(m) = self.messages.iter().find(|m| &m.id == mid) else {
                            return Err(RoomError::NoSuchMessage);
                        };
                        m.text.chars().take(500).collect()
                    }
                    (None, Some(t)) => clean_text(&t, 500, "parking-lot item")?,
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
            ClientMsg::Unpark { item_id } => {
                let before = self.parking.len();
                self.parking.retain(|p| p.id != item_id);
                if self.parking.len() == before {
                    return Err(RoomError::NoSuchItem);
                }
                self.parking_changed(now);
                Ok(())
            }
            ClientMsg::AllowParking { enabled } => {
                self.info.members_can_park = enabled;
                self.room_updated(now);
                Ok(())
            }
            ClientMsg::ListEnergizers => {
                self.reply(
                    conn,
                    ServerMsg::Energizers {
                        energizers: library::energizers(),
                    },
                );
                Ok(())
            }
            ClientMsg::SetGroundRules { rules } => {
                if rules.is_empty() || rules.len() > 20 {
                    return Err(RoomError::RuleCount);
                }
                let rules = rules
                    .iter()
                    .map(|r| clean_text(r, 300, "ground rule"))
                    .collect::<Result<Vec<_>, _>>()?;
                self.rules = GroundRules {
                    version: self.rules.version + 1,
                    rules,
                };
                // Facilitators accept their own rules; participants are asked again.
                let v = self.rules.version;
                for m in self.members.iter_mut().filter(|m| m.role.is_facilitator()) {
                    m.accepted_rules = v;
                }
                let rules = self.rules.clone();
                self.emit(Audience::All, Event::RulesUpdated { rules }, now);
                Ok(())
            }
            ClientMsg::ShowGroundRules => {
                let rules = self.rules.clone();
                self.emit(Audience::All, Event::RulesShown { rules }, now);
                Ok(())
            }
            ClientMsg::SetWelcome { text } => {
                self.info.welcome_message = clean_optional(text, 1000, "welcome")?;
                self.room_updated(now);
                Ok(())
            }
            ClientMsg::TimerStart {
                name,
                duration_secs,
            } => {
                let name = clean_text(&name, 60, "timer name")?;
                if duration_secs == 0 || duration_secs > 24 * 3600 {
                    return Err(RoomError::TimerDuration);
                }
                self.start_timer(name, duration_secs, now)?;
                Ok(())
            }
            ClientMsg::TimerPause { timer_id } => self.timer_op(&timer_id, now, |t, now| {
                if t.state != TimerState::Running {
                    return Err(RoomError::TimerNotRunning);
                }
                t.remaining_ms = Some(t.deadline.unwrap_or(now).saturating_sub(now));
                t.deadline = None;
                t.state = TimerState::Paused;
                Ok(())
            }),
            ClientMsg::TimerResume { timer_id } => self.timer_op(&timer_id, now, |t, now| {
                if t.state != TimerState::Paused {
                    return Err(RoomError::TimerNotPaused);
                }
                t.deadline = Some(now + t.remaining_ms.take().unwrap_or(0));
                t.state = TimerState::Running;
                Ok(())
            }),
            ClientMsg::TimerExtend { timer_id, secs } => {
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
            ClientMsg::TimerCancel { timer_id } => {
                let Some(p) = self.timers.iter().position(|t| t.id == timer_id) else {
                    return Err(RoomError::NoSuchTimer);
                };
                let mut t = self.timers.remove(p);
                t.state = TimerState::Cancelled;
                t.deadline = None;
                self.emit(Audience::All, Event::Timer { timer: t }, now);
                Ok(())
            }
            ClientMsg::PushEnergizer {
                energizer_id,
                prompt,
                duration_secs,
            } => {
                let (eid, title, prompt) = match (energizer_id, prompt) {
                    (Some(id), _) => {
                        let Some(e) = library::energizer(&id) else {
                            return Err(RoomError::NoSuchEnergizer);
                        };
                        (Some(e.id), e.title, e.prompt)
                    }
                    (None, Some(p)) => (
                        None,
                        "Energizer".to_string(),
                        clean_text(&p, 500, "prompt")?,
                    ),
                    (None, None) => return Err(RoomError::EnergizerOrPrompt),
                };
                if let Some(d) = duration_secs {
                    if d == 0 || d > 3600 {
                        return Err(RoomError::EnergizerDuration);
                    }
                }
                // Start the timer first: if it is refused, the open energizer stays as it was.
                let timer_id = match duration_secs {
                    Some(d) => Some(self.start_timer(title.clone(), d, now)?),
                    None => None,
                };
                if let Some(old) = self.energizer.take().filter(|r| r.open) {
                    self.emit(
                        Audience::All,
                        Event::EnergizerClosed { run_id: old.id },
                        now,
                    );
                }
                let run = EnergizerRun {
                    id: new_id(),
                    energizer_id: eid,
                    title: title.clone(),
                    prompt,
                    timer_id,
                    open: true,
                    answers: vec![],
                };
                self.energizers_used.push(title);
                self.energizer = Some(run.clone());
                self.emit(Audience::All, Event::EnergizerStarted { run }, now);
                Ok(())
            }
            ClientMsg::CloseEnergizer { run_id } => {
                match self.energizer.as_mut().filter(|r| r.id == run_id && r.open) {
                    Some(r) => r.open = false,
                    None => return Err(RoomError::EnergizerNotOpen),
                }
                self.emit(Audience::All, Event::EnergizerClosed { run_id }, now);
                Ok(())
            }
            ClientMsg::Highlight {
                tag,
                message_id,
                text,
            } => {
                let text = match (&message_id, text) {
                    (Some(mid), t) => {
                        let Some(m) = self.messages.iter().find(|m| &m.id == mid) else {
                            return Err(RoomError::NoSuchMessage);
                        };
                        match t {
                            Some(t) if !t.trim().is_empty() => clean_text(&t, 500, "highlight")?,
                            _ => m.text.chars().take(500).collect(),
                        }
                    }
                    (None, Some(t)) => clean_text(&t, 500, "highlight")?,
                    (None, None) => return Err(RoomError::MessageOrText),
                };
                if self.highlights.len() >= 100 {
                    return Err(RoomError::TooManyHighlights);
                }
                let highlight = Highlight {
                    id: new_id(),
                    tag,
                    text,
                    message_id,
                    agreed: vec![],
                };
                self.highlights.push(highlight.clone());
                self.emit(Audience::All, Event::Highlight { highlight }, now);
                Ok(())
            }
            ClientMsg::EditHighlight {
                highlight_id,
                tag,
                text,
            } => {
                let text = match text {
                    Some(t) => Some(clean_text(&t, 500, "highlight")?),
                    None => None,
                };
                let Some(h) = self.highlights.iter_mut().find(|h| h.id == highlight_id) else {
                    return Err(RoomError::NoSuchHighlight);
                };
                if let Some(t) = tag {
                    h.tag = t;
                }
                if let Some(t) = text {
                    h.text = t;
                }
                let highlight = h.clone();
                self.emit(Audience::All, Event::Highlight { highlight }, now);
                Ok(())
            }
            ClientMsg::RemoveHighlight { highlight_id } => {
                let before = self.highlights.len();
                self.highlights.retain(|h| h.id != highlight_id);
                if before == self.highlights.len() {
                    return Err(RoomError::NoSuchHighlight);
                }
                self.emit(Audience::All, Event::HighlightRemoved { highlight_id }, now);
                Ok(())
            }
            ClientMsg::OpenEnergyCheck => {
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
            ClientMsg::CloseEnergyCheck { check_id } => {
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
            ClientMsg::Mute { member_id } => self.set_muted(role, &member_id, true, now),
            ClientMsg::Unmute { member_id } => self.set_muted(role, &member_id, false, now),
            ClientMsg::Remove { member_id } => {
                let t = self.member_idx(&member_id)?;
                self.may_moderate(role, t)?;
                self.remove_member(t, LeaveReason::Removed, now);
                Ok(())
            }
            ClientMsg::SlowMode { secs } => {
                if secs > 3600 {
                    return Err(RoomError::SlowModeRange);
                }
                self.info.slow_mode_secs = secs;
                self.room_updated(now);
                Ok(())
            }
            ClientMsg::Lock { locked } => {
                self.info.locked = locked;
                self.room_updated(now);
                Ok(())
            }
            ClientMsg::DeleteMessage { message_id } => {
                let before = self.messages.len();
                self.messages.retain(|m| m.id != message_id);
                if before == self.messages.len() {
                    return Err(RoomError::NoSuchMessage);
                }
                // Scrub it from history too: a resume must not bring it back.
                self.history.retain(|h| {
                    !matches!(&h.msg, ServerMsg::Event { event: Event::Chat { message }, .. } if message.id == message_id)
                });
                self.emit(Audience::All, Event::MessageDeleted { message_id }, now);
                Ok(())
            }
            ClientMsg::Pin { text } => {
                self.info.pinned = clean_optional(text, 500, "pinned text")?;
                self.room_updated(now);
                Ok(())
            }
            ClientMsg::Promote { member_id } => {
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
            ClientMsg::Demote { member_id } => {
                let t = self.member_idx(&member_id)?;
                match self.members[t].role {
                    Role::CoFacilitator => {}
                    Role::Facilitator => return Err(RoomError::CannotDemoteFacilitator),
                    Role::Participant => return Err(RoomError::NotCoFacilitator),
                }
                self.members[t].role = Role::Participant;
                self.member_updated(t, now);
                Ok(())
            }
            ClientMsg::HandOver { member_id } => {
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
                self.member_updated(t, now);
                self.member_updated(i, now);
                self.check_moderation(now);
                Ok(())
            }
            ClientMsg::SetWaitingRoom { enabled } => {
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
            ClientMsg::Admit { member_id } => {
                let p = self.take_waiting(&member_id)?;
                self.admit_pending(p, now);
                self.waiting_changed(now);
                Ok(())
            }
            ClientMsg::Decline { member_id } => {
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
            ClientMsg::OpenOneOnOne { request_id } => {
                let Some(req) = self.support.iter().find(|s| s.id == request_id) else {
                    return Err(RoomError::NoSuchSupportRequest);
                };
                if req.room_id.is_some() {
                    return Err(RoomError::OneOnOneAlreadyOpen);
                }
                self.effects.push(Effect::OpenOneOnOne {
                    request_id,
                    facilitator: me,
                    participant: req.member_id.clone(),
                    title: format!("One-on-one support: {}", req.name),
                });
                Ok(())
            }
            ClientMsg::InviteToShare { member_id } => {
                let t = self.member_idx(&member_id)?;
                let invite_id = new_id();
                self.invites.push((invite_id.clone(), member_id.clone()));
                if self.invites.len() > 100 {
                    self.invites.remove(0);
                }
                let from_name = self.members[i].name.clone();
                let target = self.members[t].id.clone();
                self.emit(
                    Audience::Members(vec![target]),
                    Event::ShareInvite {
                        invite_id,
                        from_name,
                    },
                    now,
                );
                Ok(())
            }
            ClientMsg::Airtime => {
                let members = self
                    .members
                    .iter()
                    .map(|m| Airtime {
                        member_id: m.id.clone(),
                        name: m.name.clone(),
                        messages: m.messages,
                        quiet_ms: now.saturating_sub(m.last_post.unwrap_or(m.joined_at)),
                    })
                    .collect();
                self.reply(conn, ServerMsg::Airtime { members });
                Ok(())
            }
            ClientMsg::ExtendSession { minutes } => {
                if minutes == 0 || minutes > 240 {
                    return Err(RoomError::SessionExtension);
                }
                if self.info.status == RoomStatus::Closed {
                    return Err(RoomError::SessionEnded);
                }
                let base = self.info.ends_at.unwrap_or(now).max(now);
                let end = base + minutes as u64 * 60_000;
                self.info.ends_at = Some(end);
                self.warned.retain(|w| now + (*w as u64) * 60_000 >= end);
                self.room_updated(now);
                Ok(())
            }
            ClientMsg::EndSession => {
                if self.info.status == RoomStatus::Closed {
                    return Err(RoomError::SessionEnded);
                }
                self.end(now);
                Ok(())
            }
        }
    }

    /// The host created the one-on-one room asked for by [`Effect::OpenOneOnOne`].
    pub fn one_on_one_opened(
        &mut self,
        request_id: &str,
        facilitator: &str,
        room_id: &str,
        facilitator_key: &str,
        now: Millis,
    ) {
        let Some(req) = self.support.iter_mut().find(|s| s.id == request_id) else {
            return;
        };
        req.room_id = Some(room_id.to_string());
        let participant = req.member_id.clone();
        let link = format!("/?room={room_id}");
        self.emit(
            Audience::Members(vec![participant]),
            Event::OneOnOne {
                request_id: request_id.to_string(),
                room_id: room_id.to_string(),
                link: link.clone(),
                facilitator_key: None,
            },
            now,
        );
        self.emit(
            Audience::Members(vec![facilitator.to_string()]),
            Event::OneOnOne {
                request_id: request_id.to_string(),
                room_id: room_id.to_string(),
                link,
                facilitator_key: Some(facilitator_key.to_string()),
            },
            now,
        );
    }

    // ----- command helpers -----

    /// Everyone pending for this reason, out of the pending list.
    fn take_pending(&mut self, why: PendingWhy) -> Vec<Pending> {
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

    fn member_idx(&self, id: &str) -> Result<usize, RoomError> {
        self.idx(id).ok_or(RoomError::NoSuchMember)
    }

    /// Whether member `i` may post now (chat: also slow mode).
    fn can_post(&self, i: usize, now: Millis, chat: bool) -> R {
        let m = &self.members[i];
        match self.info.status {
            RoomStatus::Closed => return Err(RoomError::SessionEnded),
            RoomStatus::Paused if !m.role.is_facilitator() => return Err(RoomError::Paused),
            _ => {}
        }
        if m.role.is_facilitator() {
            return Ok(());
        }
        if m.accepted_rules != self.rules.version {
            return Err(RoomError::RulesNotAccepted);
        }
        if m.muted {
            return Err(RoomError::Muted);
        }
        if chat && self.info.slow_mode_secs > 0 {
            if let Some(last) = m.last_post {
                let wait = self.info.slow_mode_secs as u64 * 1000;
                if now < last + wait {
                    return Err(RoomError::SlowMode {
                        wait_secs: (last + wait - now).div_ceil(1000),
                    });
                }
            }
        }
        Ok(())
    }

    fn chat(&mut self, i: usize, text: &str, now: Millis) -> R {
        self.can_post(i, now, true)?;
        let text = clean_text(text, self.limits.max_text, "message")?;
        let m = &mut self.members[i];
        m.last_post = Some(now);
        m.messages += 1;
        let message = ChatMessage {
            id: new_id(),
            seq: self.seq + 1,
            from: m.id.clone(),
            name: m.name.clone(),
            text,
            ts: now,
            reactions: Default::default(),
        };
        let from = m.id.clone();
        self.messages.push_back(message.clone());
        while self.messages.len() > self.limits.recent_messages {
            self.messages.pop_front();
        }
        let muters: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.personal_mutes.contains(&from))
            .map(|m| m.id.clone())
            .collect();
        let audience = if muters.is_empty() {
            Audience::All
        } else {
            Audience::AllExcept(muters)
        };
        self.emit(audience, Event::Chat { message }, now);
        Ok(())
    }

    fn hands_changed(&mut self, now: Millis) {
        let queue = self.hands.clone();
        self.emit(Audience::All, Event::Hands { queue }, now);
    }

    fn parking_changed(&mut self, now: Millis) {
        let items = self.parking.clone();
        self.emit(Audience::All, Event::ParkingLot { items }, now);
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

    fn agree(&mut self, me: &str, highlight_id: &str, on: bool, now: Millis) -> R {
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        let Some(h) = self.highlights.iter_mut().find(|h| h.id == highlight_id) else {
            return Err(RoomError::NoSuchHighlight);
        };
        let had = h.agreed.iter().any(|a| a == me);
        if on == had {
            return Ok(()); // idempotent: once each
        }
        if on {
            h.agreed.push(me.to_string());
        } else {
            h.agreed.retain(|a| a != me);
        }
        let highlight = h.clone();
        self.emit(Audience::All, Event::Highlight { highlight }, now);
        Ok(())
    }

    fn support_request(&mut self, i: usize, note: Option<String>, urgent: bool, now: Millis) {
        let m = &self.members[i];
        let request = SupportRequest {
            id: new_id(),
            member_id: m.id.clone(),
            name: m.name.clone(),
            note,
            urgent,
            ts: now,
            room_id: None,
        };
        let conn = m.conn.clone().unwrap_or_default();
        let me = m.id.clone();
        // Help first: the resources go back in the reply, before anything else.
        self.reply(
            &conn,
            ServerMsg::Crisis {
                resources: self.crisis.clone(),
            },
        );
        if self.support.len() >= 200 {
            self.support.remove(0);
        }
        self.support.push(request.clone());
        let mut to = self.facilitator_ids();
        if !to.contains(&me) {
            to.push(me);
        }
        self.emit(
            Audience::Members(to),
            Event::SupportRequested { request },
            now,
        );
    }

    fn start_timer(&mut self, name: String, secs: u32, now: Millis) -> Result<String, RoomError> {
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

    fn may_moderate(&self, role: Role, target: usize) -> R {
        let t = self.members[target].role;
        if t == Role::Facilitator || (t == Role::CoFacilitator && role != Role::Facilitator) {
            return Err(RoomError::CannotModerate);
        }
        Ok(())
    }

    fn set_muted(&mut self, role: Role, member: &str, muted: bool, now: Millis) -> R {
        let t = self.member_idx(member)?;
        self.may_moderate(role, t)?;
        if self.members[t].muted != muted {
            self.members[t].muted = muted;
            self.member_updated(t, now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
