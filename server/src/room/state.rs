//! The room's state: what a room holds, and the types it hands to its host.
//!
//! Fields and internal types are `pub(super)`: every file of the room model
//! (`room/**`) works on them; nothing outside `room/` can.

use super::commands::calls::CallState;
use super::text::NameKey;
use super::{hash_secret, library, new_id};
use huddle_protocol::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub type ConnId = String;

/// Limits the model enforces (configurable by the server).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    pub max_text: usize,
    pub max_name: usize,
    pub max_members: u32,
    /// How many recent messages the room keeps (a welcome carries at most
    /// these, within [`super::HISTORY_BUDGET_BYTES`]; older ones page back).
    pub recent_messages: usize,
    /// How many events are kept for resume.
    pub history: usize,
    /// How long a disconnected member stays in the roster, awaiting resume.
    pub grace_ms: u64,
    /// How long without any facilitator before a group room pauses / a co-facilitator takes over.
    pub facilitator_grace_ms: u64,
    /// k: an energy check's levels are shown once this many answers are in,
    /// and then only in steps of this many (never below 3).
    #[serde(default = "default_energy_min_answers")]
    pub energy_min_answers: u32,
    /// How long a room wraps up after its scheduled end before it closes.
    #[serde(default = "default_wrap_up_ms")]
    pub wrap_up_ms: u64,
    /// People in a room's call at most (a full mesh: audio only past video's limit).
    #[serde(default = "default_max_call_peers")]
    pub max_call_peers: u32,
    /// Cameras on at once in a room's call at most.
    #[serde(default = "default_max_video_peers")]
    pub max_video_peers: u32,
    /// From this many members on, a room is big: presence in batches
    /// (`members_changed`), the roster in pages (see `room/presence.rs`).
    #[serde(default = "default_big_room_threshold")]
    pub big_room_threshold: u32,
}

/// The default of [`Limits::big_room_threshold`] (and of `--big-room-threshold`).
pub const DEFAULT_BIG_ROOM_THRESHOLD: u32 = 200;

fn default_big_room_threshold() -> u32 {
    DEFAULT_BIG_ROOM_THRESHOLD
}

/// The smallest k the room accepts for energy checks (and the default).
pub const MIN_ENERGY_ANSWERS: u32 = 3;

fn default_energy_min_answers() -> u32 {
    MIN_ENERGY_ANSWERS
}

fn default_wrap_up_ms() -> u64 {
    5 * 60_000
}

fn default_max_call_peers() -> u32 {
    12
}

fn default_max_video_peers() -> u32 {
    6
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
            energy_min_answers: default_energy_min_answers(),
            wrap_up_ms: default_wrap_up_ms(),
            max_call_peers: default_max_call_peers(),
            max_video_peers: default_max_video_peers(),
            big_room_threshold: DEFAULT_BIG_ROOM_THRESHOLD,
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
    /// Send this alert to the on-call desk (as [`crate::broker::RoomCmd::DeskAlert`]).
    RaiseAlert { alert: OnCallAlert },
    /// The person behind this alert left: the desk drops it.
    WithdrawAlert { alert_id: String },
    /// On the desk: tell the alert's room (as [`crate::broker::RoomCmd::DeskReply`]).
    DeskReply {
        origin_room: String,
        request_id: String,
        reply: DeskReply,
    },
    /// A facilitator removed a member: the host records a bar in the durable
    /// store (the room itself keeps them out only while it lasts).
    Removed {
        member_id: String,
        name: String,
        device_hash: Option<String>,
        account_id: Option<String>,
        /// The remover's account, if signed in.
        removed_by: Option<String>,
    },
}

/// What the on-call desk tells the room an alert came from (carried by the
/// host as [`crate::broker::RoomCmd::DeskReply`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskReply {
    /// The desk holds the alert; this many supporters were on call.
    Received { supporters: u32 },
    /// A supporter acknowledged it.
    Seen { by: String },
    /// A supporter opened a private room with the person.
    RoomOpened { room_id: String },
    /// The desk could not be reached.
    Unreachable,
}

/// A room's support request raised to the desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RaisedAlert {
    pub(super) member_id: String,
    /// When it was last sent to the desk.
    pub(super) sent_at: Millis,
    /// The desk confirmed it holds the alert.
    pub(super) received: bool,
}

/// An alert held by the on-call desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct DeskAlert {
    pub(super) alert: OnCallAlert,
    /// The room the request came from (never shown to supporters).
    pub(super) origin_room: String,
    /// The supporter (desk member id) who acknowledged it.
    pub(super) acked_member: Option<String>,
}

/// What the host knows about the connection that sends a join.
#[derive(Debug, Clone, Default)]
pub struct JoinCtx {
    pub conn: ConnId,
    pub instance: String,
    /// Hash of the client address, for keep-out after removal (none for loopback).
    pub addr_hash: Option<String>,
    /// Hash of the join's `device_id` (one per browser), for keep-out after removal.
    pub device_hash: Option<String>,
    /// The signed-in account behind the connection, if any (bars by account).
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MemberRec {
    pub(super) id: String,
    pub(super) name: String,
    /// What the name is compared by (unset in state stored before: computed then).
    #[serde(default)]
    pub(super) name_key: NameKey,
    pub(super) role: Role,
    pub(super) creator: bool,
    pub(super) conn: Option<ConnId>,
    pub(super) instance: String,
    pub(super) muted: bool,
    pub(super) accepted_rules: u32,
    pub(super) token_hash: String,
    pub(super) addr_hash: Option<String>,
    pub(super) joined_at: Millis,
    /// The room's seq just before this member arrived: messages after it are
    /// theirs to read (0 in state stored before: everything).
    #[serde(default)]
    pub(super) sees_from: u64,
    pub(super) last_post: Option<Millis>,
    pub(super) messages: u32,
    pub(super) disconnected_at: Option<Millis>,
    pub(super) personal_mutes: BTreeSet<String>,
    /// In `departed` only: dropped because the grace period ran out (its token
    /// then brings the person back as a new member, not as this one).
    #[serde(default)]
    pub(super) grace_expired: bool,
    /// The hash of the device id it last joined or resumed with, if any.
    #[serde(default)]
    pub(super) device_hash: Option<String>,
    /// The signed-in account it joined with, if any.
    #[serde(default)]
    pub(super) account_id: Option<String>,
    /// Where the member stands in the roster's join order: the cursor of
    /// `roster_page` (members are kept in this order).
    #[serde(default)]
    pub(super) order: u64,
}

impl MemberRec {
    pub(super) fn online(&self) -> bool {
        self.conn.is_some()
    }
    /// How the roster shows this member (`lead`: the room's lead facilitator).
    pub(super) fn view(&self, lead: Option<&str>) -> Member {
        Member {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            online: self.online(),
            muted: self.muted,
            accepted_rules: self.accepted_rules,
            creator: self.creator,
            lead: lead == Some(self.id.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum PendingWhy {
    Lobby,
    WaitingRoom,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Pending {
    pub(super) member_id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) name_key: NameKey,
    pub(super) conn: ConnId,
    pub(super) instance: String,
    pub(super) role: Role,
    pub(super) addr_hash: Option<String>,
    pub(super) why: PendingWhy,
    #[serde(default)]
    pub(super) device_hash: Option<String>,
    #[serde(default)]
    pub(super) account_id: Option<String>,
}

/// A member removed from the room, remembered for the room's life (beside
/// the token, id and address sets): the device they used, kept out like the
/// rest, and their name for the facilitators' notice when they try again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Removal {
    pub(super) member_id: String,
    pub(super) name: String,
    pub(super) device_hash: Option<String>,
    /// When the facilitators were last told this person tried to rejoin.
    pub(super) noticed_at: Option<Millis>,
    /// Their account, if they were signed in.
    #[serde(default)]
    pub(super) account_id: Option<String>,
    /// Their resume token's and address's hashes (so a lifted bar lets them in).
    #[serde(default)]
    pub(super) token_hash: Option<String>,
    #[serde(default)]
    pub(super) addr_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct HistEntry {
    pub(super) seq: u64,
    pub(super) audience: Audience,
    pub(super) msg: ServerMsg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct EnergyRun {
    /// What the room was last shown (see `commands/energy.rs`).
    pub(super) check: EnergyCheck,
    pub(super) answered: BTreeSet<String>,
    /// The true answers per level: never sent as is.
    #[serde(default)]
    pub(super) tally: [u32; 5],
    /// When the room is next told the count of answers (votes are batched).
    #[serde(default)]
    pub(super) count_due: Option<Millis>,
}

/// A room: its whole state. Serializable so another instance can take it over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Room {
    pub(super) info: RoomInfo,
    pub(super) facilitator_key_hash: String,
    pub(super) limits: Limits,
    pub(super) crisis: Vec<CrisisResource>,
    pub(super) rules: GroundRules,
    pub(super) members: Vec<MemberRec>,
    pub(super) pending: Vec<Pending>,
    pub(super) removed_tokens: BTreeSet<String>,
    pub(super) removed_addrs: BTreeSet<String>,
    pub(super) removed_members: BTreeSet<String>,
    /// Removed members' devices and names (see [`Removal`]).
    #[serde(default)]
    pub(super) removals: Vec<Removal>,
    /// Members who dropped out: those whose instance died may resume with their
    /// token and come back as themselves; those whose grace period ran out
    /// (`grace_expired`) come back as a new member (new id, no ghost).
    #[serde(default)]
    pub(super) departed: VecDeque<MemberRec>,
    pub(super) messages: VecDeque<ChatMessage>,
    pub(super) timers: Vec<Timer>,
    pub(super) energizer: Option<EnergizerRun>,
    pub(super) energizers_used: Vec<String>,
    pub(super) highlights: Vec<Highlight>,
    pub(super) energy: Option<EnergyRun>,
    pub(super) energy_done: Vec<EnergyCheck>,
    pub(super) hands: Vec<String>,
    pub(super) parking: Vec<ParkedItem>,
    pub(super) support: Vec<SupportRequest>,
    pub(super) invites: Vec<(String, String)>,
    pub(super) seq: u64,
    pub(super) epoch: String,
    /// Kept apart from snapshots: the Redis broker stores it as a stream.
    #[serde(skip)]
    pub(super) history: VecDeque<HistEntry>,
    pub(super) created_at: Millis,
    pub(super) opened_at: Option<Millis>,
    pub(super) warned: Vec<u32>,
    /// Since when no facilitator has been online (None while one is).
    pub(super) unmoderated_since: Option<Millis>,
    pub(super) summary: Option<Summary>,
    /// The lead facilitator's member id (see `commands/lead.rs`).
    #[serde(default)]
    pub(super) lead: Option<String>,
    /// The co-facilitator who took over while no facilitator was online: made a
    /// co-facilitator again when the lead is back.
    #[serde(default)]
    pub(super) takeover: Option<String>,
    /// Support requests raised to the on-call desk (no live facilitator), by
    /// request id: retried until the desk confirms (see `commands/oncall.rs`).
    #[serde(default)]
    pub(super) raised: BTreeMap<String, RaisedAlert>,
    /// On the on-call desk only: the open alerts, oldest first.
    #[serde(default)]
    pub(super) alerts: Vec<DeskAlert>,
    /// Who is in the room's call (see `commands/calls.rs`).
    #[serde(default)]
    pub(super) call: CallState,
    /// Set by [`Room::join_desk`] for the one join it lets through.
    #[serde(skip)]
    pub(super) desk_pass: bool,
    /// The last [`MemberRec::order`] handed out.
    #[serde(default)]
    pub(super) last_order: u64,
    /// Presence changes of a big room not yet told (one `members_changed`).
    #[serde(skip)]
    pub(super) presence: super::commands::presence::PresenceBuf,
    #[serde(skip)]
    pub(super) out: Vec<Out>,
    #[serde(skip)]
    pub(super) effects: Vec<Effect>,
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
        // Posting waits for a facilitator; the desk has none to wait for.
        let desk = spec.kind == RoomKind::OnCall;
        Room {
            info: RoomInfo {
                id,
                title: spec.title.clone(),
                kind: spec.kind,
                status: if scheduled {
                    RoomStatus::Scheduled
                } else if desk {
                    RoomStatus::Open
                } else {
                    RoomStatus::AwaitingFacilitator
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
                share_history: false,
                wrap_up_until: None,
                unattended: false,
                call: CallMode::Off,
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
            removals: Vec::new(),
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
            opened_at: if desk { Some(now) } else { None },
            warned: Vec::new(),
            unmoderated_since: Some(now),
            summary: None,
            lead: None,
            takeover: None,
            raised: BTreeMap::new(),
            alerts: Vec::new(),
            call: CallState::default(),
            desk_pass: false,
            last_order: 0,
            presence: Default::default(),
            out: Vec::new(),
            effects: Vec::new(),
        }
    }
}
