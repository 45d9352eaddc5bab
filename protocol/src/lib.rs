//! # Huddle wire protocol, version 1
//!
//! The single source of truth for every message exchanged between a Huddle
//! client (the browser client, the load generator, tests) and a Huddle server,
//! over one WebSocket at `GET /ws`. Every frame is one UTF-8 JSON text message.
//!
//! * Client → server frames are [`ClientMsg`], tagged by `"type"`.
//! * Server → client frames are [`ServerMsg`], tagged by `"type"`.
//! * Room events ([`ServerMsg::Event`]) carry a per-room, strictly increasing
//!   `seq`. A client remembers the last `seq` it saw and sends it back when it
//!   reconnects ([`Resume`]) to receive exactly what it missed.
//! * Identities (member ids, message ids, timer ids...) are always assigned by
//!   the server; a client never names itself.
//!
//! `protocol/README.md` shows one JSON example of every message.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod call;
mod oncall;
pub use call::{
    check_signal, CallLeftReason, CallMode, CallPeer, IceServer, MediaState, SignalRefusal,
    MAX_SIGNAL_BYTES, MAX_SIGNAL_CANDIDATES,
};
mod roster;
pub use oncall::{AlertClosedReason, OnCallAlert, SupportState, ONCALL_DESK_ID};
pub use roster::{MemberGone, MembersChanged, RosterCursor, MAX_ROSTER_PAGE};

/// The protocol version a client must send in [`ClientMsg::Join`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = u64;

/// The reactions a member may put on a message ([`ClientMsg::React`]); the
/// server refuses any other `emoji` with `invalid`. (A bare U+2764 heart is
/// taken as the heart of this set.)
pub const REACTION_EMOJI: &[&str] = &["👍", "❤️", "🙏", "💡", "🤝"];

// ---------------------------------------------------------------------------
// Shared value types
// ---------------------------------------------------------------------------

/// What kind of room this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// A facilitated peer-support group.
    #[default]
    Group,
    /// A wellness-connection drop-in: listed publicly, open during a window, capacity-bound.
    DropIn,
    /// A private room of two (participant + peer supporter).
    OneOnOne,
    /// The deployment's on-call desk (one, id [`ONCALL_DESK_ID`]): peer
    /// supporters on call receive the alerts of rooms with no live facilitator.
    OnCall,
}

/// A member's role in a room. Permissions are always checked by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds the room's facilitator key (the room's creator role).
    Facilitator,
    /// A participant promoted by a facilitator: same powers, cannot demote a facilitator.
    CoFacilitator,
    Participant,
}

impl Role {
    /// Facilitators and co-facilitators may run the room.
    pub fn is_facilitator(self) -> bool {
        matches!(self, Role::Facilitator | Role::CoFacilitator)
    }
}

/// Where the room is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomStatus {
    /// Before the scheduled start: participants wait in the lobby.
    Scheduled,
    /// No facilitator or co-facilitator has joined yet: members may join, read,
    /// accept the ground rules and ask for support; posting is held until one
    /// arrives (`awaiting_facilitator`).
    AwaitingFacilitator,
    Open,
    /// The facilitator dropped and no co-facilitator took over: members can
    /// read, participants cannot post.
    Paused,
    /// Ended: no joins, no posts. The summary is available.
    Closed,
}

/// Public and in-room information about a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub id: String,
    pub title: String,
    pub kind: RoomKind,
    pub status: RoomStatus,
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
    pub capacity: Option<u32>,
    pub locked: bool,
    pub waiting_room: bool,
    /// Minimum seconds between two messages of a participant (0 = off).
    pub slow_mode_secs: u32,
    /// Whether participants (not only facilitators) may move items to the parking lot.
    pub members_can_park: bool,
    pub pinned: Option<String>,
    pub welcome_message: Option<String>,
    /// Whether newcomers may read the messages sent before they arrived (off by
    /// default): they get them after accepting the ground rules.
    #[serde(default)]
    pub share_history: bool,
    /// Set while the room is wrapping up after its scheduled end: it closes
    /// at this instant (unless a facilitator ends it or extends the session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_until: Option<Millis>,
    /// Nobody has run the room for `--facilitator-grace-secs` (never arrived
    /// past the start, or dropped with no co-facilitator): clients show the
    /// crisis resources and the on-call option to everyone. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unattended: bool,
    /// The room's call: off (the default; absent then), audio or video.
    #[serde(default, skip_serializing_if = "CallMode::is_off")]
    pub call: CallMode,
}

/// What the web client needs to know of the deployment, served by `GET /api/config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentConfig {
    /// The deployment's IANA time zone (e.g. "America/Toronto"): every time
    /// is shown in it, and the drop-in directory's "today" ends at its midnight.
    pub time_zone: String,
}

/// Public room information, as served by `GET /api/rooms` and `GET /api/rooms/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicRoom {
    #[serde(flatten)]
    pub info: RoomInfo,
    pub member_count: u32,
}

/// The ordered ground rules and their version (bumped on every change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundRules {
    pub version: u32,
    pub rules: Vec<String>,
}

/// A member of the room as seen in the roster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// False while the member's connection is gone but it may still resume.
    pub online: bool,
    pub muted: bool,
    /// The version of the ground rules this member accepted (0 = none).
    pub accepted_rules: u32,
    /// True for a member who joined with the facilitator key (cleared when the
    /// lead demotes them, or rotates the key).
    pub creator: bool,
    /// True for the lead facilitator (see [`RoomSnapshot::lead_id`]); left out when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lead: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A chat message. `text` is user input: clients must render it as text, never HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    pub seq: u64,
    pub from: String,
    pub name: String,
    pub text: String,
    pub ts: Millis,
    /// emoji → member ids who reacted with it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerState {
    Running,
    Paused,
    Expired,
    Cancelled,
}

/// A named countdown. The server keeps the deadline; clients render
/// `deadline - (server_time + (local_now - local_at_welcome))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub id: String,
    pub name: String,
    pub state: TimerState,
    /// Absolute deadline while running.
    pub deadline: Option<Millis>,
    /// Remaining milliseconds while paused.
    pub remaining_ms: Option<u64>,
    pub duration_ms: u64,
}

/// An energizer from the built-in library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Energizer {
    pub id: String,
    pub title: String,
    pub prompt: String,
    /// Suggested length in seconds.
    pub suggested_secs: u32,
}

/// An energizer pushed to the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergizerRun {
    pub id: String,
    /// Library id, or `None` for a custom prompt.
    pub energizer_id: Option<String>,
    pub title: String,
    pub prompt: String,
    /// The timer started with it, if any.
    pub timer_id: Option<String>,
    pub open: bool,
    pub answers: Vec<EnergizerAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergizerAnswer {
    pub member_id: String,
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HighlightTag {
    Consensus,
    Takeaway,
    Action,
}

/// A consensus point, key takeaway or action, highlighted by a facilitator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Highlight {
    pub id: String,
    pub tag: HighlightTag,
    pub text: String,
    /// The message it was made from, if any.
    pub message_id: Option<String>,
    /// Members who agreed (+1), once each.
    pub agreed: Vec<String>,
}

/// An energy check: only the anonymous aggregate is ever sent, and only once
/// at least k answers are in (k: the server's `--energy-min-answers`, never
/// below 3). Below k, `distribution` is null and `count` is all anyone sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyCheck {
    pub id: String,
    pub open: bool,
    /// How many answers are in (the only number shown below k).
    pub count: u32,
    /// Number of answers for levels 1..=5 (index 0 is level 1); null until k
    /// answers are in. It moves only in steps of at least k answers, so it may
    /// cover fewer answers than `count` (its sum says how many).
    pub distribution: Option<[u32; 5]>,
}

/// Someone waiting to be admitted (shown to facilitators only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub member_id: String,
    pub name: String,
}

/// A private "I could use support" request (shown to facilitators only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportRequest {
    pub id: String,
    pub member_id: String,
    pub name: String,
    pub note: Option<String>,
    /// True for a distress signal: handle first.
    pub urgent: bool,
    pub ts: Millis,
    /// Set once a facilitator opened a one-on-one room for it.
    pub room_id: Option<String>,
}

/// An item moved to the parking lot (off-topic, for later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParkedItem {
    pub id: String,
    pub text: String,
    pub message_id: Option<String>,
}

/// A crisis resource: the built-in ones (911, 988) plus those a deployment
/// adds. `label` and `contact` are always there (older clients show only
/// them); the other fields are optional and left out of the JSON when unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CrisisResource {
    pub label: String,
    /// How to reach it, as human text (e.g. "Call or text 9-8-8").
    pub contact: String,
    /// A phone number to call (a `tel:` link), e.g. "988" or "1-800-555-0199".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// A number to text (an `sms:` link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An `https://` (or `http://`) address of an online chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_url: Option<String>,
    /// When it answers, as human text (e.g. "24/7", "Mon–Fri 8:30–16:30").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// Where it serves: "CA" (all of Canada) or a province/territory code
    /// (AB BC MB NB NL NS NT NU ON PE QC SK YT). Unset: everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Languages it answers in (ISO 639-1: "en", "fr", ...). Empty: not said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Emergency services (911): always shown first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub emergency: bool,
}

/// Per-member airtime (facilitators only; computed live, never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Airtime {
    pub member_id: String,
    pub name: String,
    pub messages: u32,
    /// Milliseconds since this member last posted (or joined, if never).
    pub quiet_ms: u64,
}

/// The end-of-session summary: highlights and aggregates, never message bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub room_id: String,
    pub title: String,
    pub started_at: Millis,
    pub ended_at: Millis,
    pub highlights: Vec<Highlight>,
    pub energy_checks: Vec<EnergyCheck>,
    /// Titles of the energizers used, in order.
    pub energizers: Vec<String>,
    pub parking_lot: Vec<ParkedItem>,
}

/// Everything a member needs to render the room; sent in [`ServerMsg::Welcome`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    pub info: RoomInfo,
    pub rules: GroundRules,
    pub roster: Vec<Member>,
    /// The latest messages you may read, oldest first: at most the last 200,
    /// within a byte budget (the transcript lives only for the session). A
    /// newcomer gets none from before they arrived unless the room shares
    /// earlier messages, and then only after accepting the ground rules.
    pub messages: Vec<ChatMessage>,
    pub timers: Vec<Timer>,
    pub energizer: Option<EnergizerRun>,
    pub highlights: Vec<Highlight>,
    pub energy_check: Option<EnergyCheck>,
    /// Raised hands, in order of raising (member ids).
    pub hands: Vec<String>,
    pub parking_lot: Vec<ParkedItem>,
    /// Facilitators only (empty for participants).
    pub waiting: Vec<Waiting>,
    /// Facilitators only (empty for participants).
    pub support_requests: Vec<SupportRequest>,
    pub crisis_resources: Vec<CrisisResource>,
    /// Members this member has personally muted (hidden for them only).
    pub personally_muted: Vec<String>,
    /// The seq of the last event included in this snapshot.
    pub seq: u64,
    /// The history epoch: changes when history was lost (see [`Resume`]).
    pub epoch: String,
    /// The lead facilitator: the first member who joined with the facilitator
    /// key (or was handed the lead). Only the lead may demote or remove another
    /// facilitator and rotate the key; nobody can demote or remove the lead.
    /// `None` while the seat is vacant (the lead left for good): the next member
    /// to join with the key takes it.
    #[serde(default)]
    pub lead_id: Option<String>,
    /// There are older messages you may read, not carried here: ask for them
    /// with `history_before` and this `before_seq`. `None`: nothing older.
    #[serde(default)]
    pub next_before_seq: Option<u64>,
    /// On the on-call desk only: the open alerts, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<OnCallAlert>,
    /// The members in the room's call, in order of joining it (absent: nobody).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call: Vec<CallPeer>,
    /// The member a facilitator gave the floor to in the call (spotlight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
    /// Big rooms only (see [`RosterCursor`]): `roster` is then a first page
    /// plus the facilitators, raised hands and you; ask for the rest with
    /// `roster_page`. Absent: `roster` is the whole roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster_page: Option<RosterCursor>,
}

/// Who you are in the room (sent in [`ServerMsg::Welcome`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct You {
    pub member_id: String,
    pub role: Role,
    /// Secret; present it in [`Resume`] to come back as the same member.
    pub resume_token: String,
}

/// Sent in a join to come back as the same member after a disconnect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    pub member_id: String,
    pub token: String,
    /// The last `seq` this client saw.
    pub last_seq: u64,
    /// The epoch of the snapshot that `last_seq` belongs to.
    pub epoch: String,
}

/// Whether `id` is a well-formed device id ([`ClientMsg::Join`]'s
/// `device_id`): 16 to 64 ASCII letters, digits, `-` or `_` (a random id the
/// browser keeps, e.g. a UUID). Anything else is refused with `invalid`.
pub fn valid_device_id(id: &str) -> bool {
    (16..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ---------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------

/// Every frame a client may send. Unknown `type`s are refused with
/// `unknown_type`, fields a message does not have (also in field-less
/// messages and nested objects) with `unknown_field` ([`decode_client`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    // -- session --
    /// Join a room (first frame). `v` must be [`PROTOCOL_VERSION`].
    Join {
        v: u32,
        room_id: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facilitator_key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
        /// This browser's device id (see [`valid_device_id`]): a member removed
        /// from the room is kept out when they join again with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_id: Option<String>,
    },
    /// Leave the room for good (no resume).
    Leave,
    /// Keep-alive / clock check; answered by `pong` with the same `t`.
    Ping {
        t: u64,
    },

    // -- everyone --
    Chat {
        text: String,
    },
    /// Toggle a reaction on a message.
    React {
        message_id: String,
        emoji: String,
    },
    /// Accept the ground rules of this version (required before posting).
    AcceptRules {
        version: u32,
    },
    RaiseHand,
    /// Lower a hand: your own, or (facilitators) anyone's.
    LowerHand {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<String>,
    },
    AnswerEnergizer {
        run_id: String,
        text: String,
    },
    Agree {
        highlight_id: String,
    },
    Unagree {
        highlight_id: String,
    },
    EnergyAnswer {
        check_id: String,
        level: u8,
    },
    /// Private "I could use support" request to the facilitators.
    SupportRequest {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// "I'm in distress": crisis resources come back at once; facilitators get an urgent alert.
    Distress,
    /// Decline a facilitator's invitation to share.
    DeclineShare {
        invite_id: String,
    },
    /// Hide one member's messages for yourself only.
    PersonalMute {
        member_id: String,
    },
    PersonalUnmute {
        member_id: String,
    },
    /// Move a message or a point to the parking lot (members only when allowed).
    Park {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Ask for the built-in energizer library (answered by `energizers`).
    ListEnergizers,
    /// Ask for the messages before `before_seq` that you may read, newest
    /// first up to `limit` (1 to 200) within the byte budget; answered by `history`.
    HistoryBefore {
        before_seq: u64,
        limit: u32,
    },
    /// Ask for up to `limit` (1 to [`MAX_ROSTER_PAGE`]) members who joined
    /// after cursor `after` (none: from the first); answered by `roster_page`.
    RosterPage {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
        limit: u32,
    },

    // -- calls (see `call`) --
    /// Join the room's call with your mic and camera as chosen (both off
    /// unless said). Answered by `call_config` (your ICE servers); the room
    /// gets `call_joined`. Joining again while in the call starts afresh: the
    /// others renegotiate with you.
    JoinCall {
        #[serde(default)]
        mic: bool,
        #[serde(default)]
        camera: bool,
    },
    LeaveCall,
    /// Relay a WebRTC description and/or ICE candidates to one member of the
    /// call (see [`check_signal`]). Never kept, never replayed.
    Signal {
        to: String,
        data: serde_json::Value,
    },
    /// Your mic, camera and voice activity, told to the room.
    MediaState {
        mic: bool,
        camera: bool,
        #[serde(default)]
        speaking: bool,
    },

    // -- on-call desk --
    /// Acknowledge an alert: the person is told a peer supporter has seen it.
    AckAlert {
        alert_id: String,
    },
    /// Open a private one-on-one room with the person (acknowledges the alert
    /// if nobody has yet; refused once another supporter acknowledged it).
    OpenAlertRoom {
        alert_id: String,
    },

    // -- facilitators only --
    SetGroundRules {
        rules: Vec<String>,
    },
    ShowGroundRules,
    SetWelcome {
        text: Option<String>,
    },
    CallOn {
        member_id: String,
    },
    TimerStart {
        name: String,
        duration_secs: u32,
    },
    TimerPause {
        timer_id: String,
    },
    TimerResume {
        timer_id: String,
    },
    TimerExtend {
        timer_id: String,
        secs: u32,
    },
    TimerCancel {
        timer_id: String,
    },
    /// Push a library energizer (`energizer_id`) or a custom `prompt`, optionally timed.
    PushEnergizer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        energizer_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u32>,
    },
    CloseEnergizer {
        run_id: String,
    },
    /// Highlight an existing message (`message_id`) or write a point (`text`).
    Highlight {
        tag: HighlightTag,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    EditHighlight {
        highlight_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<HighlightTag>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    RemoveHighlight {
        highlight_id: String,
    },
    OpenEnergyCheck,
    CloseEnergyCheck {
        check_id: String,
    },
    Mute {
        member_id: String,
    },
    Unmute {
        member_id: String,
    },
    /// Remove a member and keep them out for the rest of the session.
    Remove {
        member_id: String,
    },
    SlowMode {
        secs: u32,
    },
    Lock {
        locked: bool,
    },
    DeleteMessage {
        message_id: String,
    },
    /// Pin an announcement (`None` unpins).
    Pin {
        text: Option<String>,
    },
    Promote {
        member_id: String,
    },
    Demote {
        member_id: String,
    },
    /// The creator hands the facilitator role to another member.
    HandOver {
        member_id: String,
    },
    SetWaitingRoom {
        enabled: bool,
    },
    Admit {
        member_id: String,
    },
    Decline {
        member_id: String,
    },
    /// Open a private one-on-one room for a support request.
    OpenOneOnOne {
        request_id: String,
    },
    InviteToShare {
        member_id: String,
    },
    AllowParking {
        enabled: bool,
    },
    Unpark {
        item_id: String,
    },
    /// Ask for the live airtime view (answered by `airtime`).
    Airtime,
    ExtendSession {
        minutes: u32,
    },
    EndSession,
    /// The lead facilitator only: replace the facilitator key. The new key comes
    /// back in a `facilitator_key` reply; the old one no longer joins; every other
    /// member holding the facilitator role becomes a participant.
    RotateKey,
    /// Share (or stop sharing) the messages sent before a newcomer arrived with
    /// them, once they accept the ground rules (off by default).
    SetShareHistory {
        enabled: bool,
    },
    /// Turn the room's call off, or on with audio or video. Off ends the
    /// call for everyone; audio turns every camera off.
    SetCall {
        mode: CallMode,
    },
    /// Mute one member's microphone for everyone (they may unmute again).
    MuteMedia {
        member_id: String,
    },
    /// Stop one member's camera for everyone.
    StopVideo {
        member_id: String,
    },
    /// Mute every microphone in the call but your own.
    MuteAll,
    /// Give the floor (spotlight) to a member of the call; `None` takes it back.
    GiveFloor {
        member_id: Option<String>,
    },
}

impl ClientMsg {
    /// The wire name of this message's type.
    pub fn type_name(&self) -> &'static str {
        // Serialize-free: derived from the variant.
        match self {
            ClientMsg::Join { .. } => "join",
            ClientMsg::Leave => "leave",
            ClientMsg::Ping { .. } => "ping",
            ClientMsg::Chat { .. } => "chat",
            ClientMsg::React { .. } => "react",
            ClientMsg::AcceptRules { .. } => "accept_rules",
            ClientMsg::RaiseHand => "raise_hand",
            ClientMsg::LowerHand { .. } => "lower_hand",
            ClientMsg::AnswerEnergizer { .. } => "answer_energizer",
            ClientMsg::Agree { .. } => "agree",
            ClientMsg::Unagree { .. } => "unagree",
            ClientMsg::EnergyAnswer { .. } => "energy_answer",
            ClientMsg::SupportRequest { .. } => "support_request",
            ClientMsg::Distress => "distress",
            ClientMsg::DeclineShare { .. } => "decline_share",
            ClientMsg::PersonalMute { .. } => "personal_mute",
            ClientMsg::PersonalUnmute { .. } => "personal_unmute",
            ClientMsg::Park { .. } => "park",
            ClientMsg::ListEnergizers => "list_energizers",
            ClientMsg::HistoryBefore { .. } => "history_before",
            ClientMsg::RosterPage { .. } => "roster_page",
            ClientMsg::SetGroundRules { .. } => "set_ground_rules",
            ClientMsg::ShowGroundRules => "show_ground_rules",
            ClientMsg::SetWelcome { .. } => "set_welcome",
            ClientMsg::CallOn { .. } => "call_on",
            ClientMsg::TimerStart { .. } => "timer_start",
            ClientMsg::TimerPause { .. } => "timer_pause",
            ClientMsg::TimerResume { .. } => "timer_resume",
            ClientMsg::TimerExtend { .. } => "timer_extend",
            ClientMsg::TimerCancel { .. } => "timer_cancel",
            ClientMsg::PushEnergizer { .. } => "push_energizer",
            ClientMsg::CloseEnergizer { .. } => "close_energizer",
            ClientMsg::Highlight { .. } => "highlight",
            ClientMsg::EditHighlight { .. } => "edit_highlight",
            ClientMsg::RemoveHighlight { .. } => "remove_highlight",
            ClientMsg::OpenEnergyCheck => "open_energy_check",
            ClientMsg::CloseEnergyCheck { .. } => "close_energy_check",
            ClientMsg::Mute { .. } => "mute",
            ClientMsg::Unmute { .. } => "unmute",
            ClientMsg::Remove { .. } => "remove",
            ClientMsg::SlowMode { .. } => "slow_mode",
            ClientMsg::Lock { .. } => "lock",
            ClientMsg::DeleteMessage { .. } => "delete_message",
            ClientMsg::Pin { .. } => "pin",
            ClientMsg::Promote { .. } => "promote",
            ClientMsg::Demote { .. } => "demote",
            ClientMsg::HandOver { .. } => "hand_over",
            ClientMsg::SetWaitingRoom { .. } => "set_waiting_room",
            ClientMsg::Admit { .. } => "admit",
            ClientMsg::Decline { .. } => "decline",
            ClientMsg::OpenOneOnOne { .. } => "open_one_on_one",
            ClientMsg::InviteToShare { .. } => "invite_to_share",
            ClientMsg::AllowParking { .. } => "allow_parking",
            ClientMsg::Unpark { .. } => "unpark",
            ClientMsg::Airtime => "airtime",
            ClientMsg::ExtendSession { .. } => "extend_session",
            ClientMsg::EndSession => "end_session",
            ClientMsg::RotateKey => "rotate_key",
            ClientMsg::AckAlert { .. } => "ack_alert",
            ClientMsg::OpenAlertRoom { .. } => "open_alert_room",
            ClientMsg::SetShareHistory { .. } => "set_share_history",
            ClientMsg::JoinCall { .. } => "join_call",
            ClientMsg::LeaveCall => "leave_call",
            ClientMsg::Signal { .. } => "signal",
            ClientMsg::MediaState { .. } => "media_state",
            ClientMsg::SetCall { .. } => "set_call",
            ClientMsg::MuteMedia { .. } => "mute_media",
            ClientMsg::StopVideo { .. } => "stop_video",
            ClientMsg::MuteAll => "mute_all",
            ClientMsg::GiveFloor { .. } => "give_floor",
        }
    }

    /// True for the messages with no field but `type`. Serde lets an
    /// internally tagged unit variant through with any extra fields, so
    /// [`decode_client`] checks these itself (a test sends an unknown field
    /// with every known type: a new field-less message missing here fails it).
    pub fn is_field_less(&self) -> bool {
        matches!(
            self,
            ClientMsg::Leave
                | ClientMsg::RaiseHand
                | ClientMsg::Distress
                | ClientMsg::ListEnergizers
                | ClientMsg::ShowGroundRules
                | ClientMsg::OpenEnergyCheck
                | ClientMsg::Airtime
                | ClientMsg::EndSession
                | ClientMsg::RotateKey
                | ClientMsg::LeaveCall
                | ClientMsg::MuteAll
        )
    }

    /// True for commands only facilitators and co-facilitators may send.
    pub fn facilitator_only(&self) -> bool {
        matches!(
            self,
            ClientMsg::SetGroundRules { .. }
                | ClientMsg::ShowGroundRules
                | ClientMsg::SetWelcome { .. }
                | ClientMsg::CallOn { .. }
                | ClientMsg::TimerStart { .. }
                | ClientMsg::TimerPause { .. }
                | ClientMsg::TimerResume { .. }
                | ClientMsg::TimerExtend { .. }
                | ClientMsg::TimerCancel { .. }
                | ClientMsg::PushEnergizer { .. }
                | ClientMsg::CloseEnergizer { .. }
                | ClientMsg::Highlight { .. }
                | ClientMsg::EditHighlight { .. }
                | ClientMsg::RemoveHighlight { .. }
                | ClientMsg::OpenEnergyCheck
                | ClientMsg::CloseEnergyCheck { .. }
                | ClientMsg::Mute { .. }
                | ClientMsg::Unmute { .. }
                | ClientMsg::Remove { .. }
                | ClientMsg::SlowMode { .. }
                | ClientMsg::Lock { .. }
                | ClientMsg::DeleteMessage { .. }
                | ClientMsg::Pin { .. }
                | ClientMsg::Promote { .. }
                | ClientMsg::Demote { .. }
                | ClientMsg::HandOver { .. }
                | ClientMsg::SetWaitingRoom { .. }
                | ClientMsg::Admit { .. }
                | ClientMsg::Decline { .. }
                | ClientMsg::OpenOneOnOne { .. }
                | ClientMsg::InviteToShare { .. }
                | ClientMsg::AllowParking { .. }
                | ClientMsg::Unpark { .. }
                | ClientMsg::Airtime
                | ClientMsg::ExtendSession { .. }
                | ClientMsg::EndSession
                | ClientMsg::RotateKey
                | ClientMsg::SetShareHistory { .. }
                | ClientMsg::SetCall { .. }
                | ClientMsg::MuteMedia { .. }
                | ClientMsg::StopVideo { .. }
                | ClientMsg::MuteAll
                | ClientMsg::GiveFloor { .. }
        )
    }
}

// ---------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------

/// Every frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// You are in: the full room snapshot. `history_reset` is true when a resume
    /// could not be honoured (too old, or history lost: another epoch).
    Welcome {
        v: u32,
        you: You,
        room: Box<RoomSnapshot>,
        server_time: Millis,
        #[serde(default)]
        history_reset: bool,
    },
    /// A resume succeeded: the missed events were sent just before this frame.
    Resumed {
        you: You,
        from_seq: u64,
        to_seq: u64,
        server_time: Millis,
    },
    /// Before the scheduled start: wait, you will be let in at `starts_at`.
    Lobby {
        room_id: String,
        starts_at: Millis,
    },
    /// The waiting room is on: wait until a facilitator admits you.
    Waiting {
        room_id: String,
    },
    /// A room event, in `seq` order.
    Event {
        seq: u64,
        ts: Millis,
        event: Event,
    },
    /// Reply to `list_energizers`.
    Energizers {
        energizers: Vec<Energizer>,
    },
    /// Reply to `airtime` (facilitators only).
    Airtime {
        members: Vec<Airtime>,
    },
    /// Reply to `distress` and `support_request`: help right now.
    Crisis {
        resources: Vec<CrisisResource>,
    },
    Pong {
        t: u64,
        server_time: Millis,
    },
    /// A notice about the service (e.g. `degraded`, `recovered`, `shutting_down`).
    Notice {
        code: String,
        message: String,
    },
    /// Earlier messages you may read, oldest first: the reply to
    /// `history_before`, and what a newcomer gets on accepting the ground rules
    /// when the room shares earlier messages. `next_before_seq` as in
    /// [`RoomSnapshot::next_before_seq`].
    History {
        messages: Vec<ChatMessage>,
        next_before_seq: Option<u64>,
    },
    /// The reply to `roster_page`: members in the order they joined, and
    /// where the roster stands now.
    RosterPage {
        members: Vec<Member>,
        cursor: RosterCursor,
    },
    /// Reply to `rotate_key`, to the lead only: the new facilitator key (the
    /// server keeps only its hash; it is never in a room event).
    FacilitatorKey {
        facilitator_key: String,
    },
    /// Reply to `join_call`: the ICE servers (STUN, and TURN with short-lived
    /// credentials) to give `RTCPeerConnection`. Join the call again for new
    /// credentials before `expires_at` (unset: no TURN credentials).
    CallConfig {
        ice_servers: Vec<IceServer>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<Millis>,
    },
    /// A signal from another member of the call, to you only: not a room
    /// event (no `seq`), never replayed on resume.
    Signal {
        from: String,
        data: serde_json::Value,
    },
    /// A command was refused. The connection stays usable.
    Error {
        code: ErrorCode,
        message: String,
        /// The `type` of the frame that was refused, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<String>,
    },
}

/// Why a member left the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    /// Connection lost and not resumed within the grace period.
    Disconnected,
    Removed,
    Declined,
    SessionEnded,
}

/// A room event. Each is wrapped in [`ServerMsg::Event`] with its `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    MemberJoined {
        member: Member,
    },
    /// Role, muted, online or accepted-rules changed.
    MemberUpdated {
        member: Member,
    },
    MemberLeft {
        member_id: String,
        reason: LeaveReason,
    },
    /// A batch's presence changes, in rooms of at least the big-room
    /// threshold of members (instead of `member_joined`, `member_updated` and
    /// `member_left`; see [`MembersChanged`]).
    MembersChanged(MembersChanged),
    Chat {
        message: ChatMessage,
    },
    Reaction {
        message_id: String,
        emoji: String,
        member_id: String,
        on: bool,
    },
    MessageDeleted {
        message_id: String,
    },
    /// New ground rules: everyone must accept this version before posting.
    RulesUpdated {
        rules: GroundRules,
    },
    /// The facilitator asks everyone to look at the rules again.
    RulesShown {
        rules: GroundRules,
    },
    /// Room settings changed (status, lock, slow mode, pin, waiting room, schedule, welcome).
    RoomUpdated {
        info: RoomInfo,
    },
    Timer {
        timer: Timer,
    },
    /// Exactly one per timer run.
    TimerExpired {
        timer_id: String,
        name: String,
    },
    EnergizerStarted {
        run: EnergizerRun,
    },
    EnergizerAnswer {
        run_id: String,
        answer: EnergizerAnswer,
    },
    EnergizerClosed {
        run_id: String,
    },
    Highlight {
        highlight: Highlight,
    },
    HighlightRemoved {
        highlight_id: String,
    },
    EnergyCheck {
        check: EnergyCheck,
    },
    /// Your own energy answer was recorded (to you only; the room sees the aggregate).
    EnergyAnswered {
        check_id: String,
        level: u8,
    },
    Hands {
        queue: Vec<String>,
    },
    CalledOn {
        member_id: String,
    },
    /// 5 and 1 minutes before the scheduled end.
    SessionWarning {
        minutes_left: u32,
        ends_at: Millis,
    },
    SessionEnded {
        summary: Summary,
    },
    /// The scheduled end is reached: the room wraps up and closes at `until`
    /// (a facilitator may end it sooner, or extend the session).
    WrapUp {
        ends_at: Millis,
        until: Millis,
    },
    /// Facilitators only, with `wrap_up`: a suggested check-out prompt and a
    /// preview of the summary as it stands.
    WrapUpPreview {
        suggestion: Energizer,
        summary: Box<Summary>,
    },
    /// Facilitators only: the waiting-room queue.
    WaitingRoom {
        queue: Vec<Waiting>,
    },
    /// Facilitators only (and the requester gets its own copy).
    SupportRequested {
        request: SupportRequest,
    },
    /// Only to the two members: a private room was opened for them.
    OneOnOne {
        request_id: String,
        room_id: String,
        /// Join link, relative to the server (e.g. `/?room=...`).
        link: String,
        /// The facilitator key (sent to the facilitator only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facilitator_key: Option<String>,
    },
    /// To one member: a facilitator gently invites you to share (you may decline).
    ShareInvite {
        invite_id: String,
        from_name: String,
    },
    /// To facilitators: an invite was declined (no pressure, just so you know).
    ShareDeclined {
        invite_id: String,
        member_id: String,
    },
    /// To you: your personal mutes changed.
    PersonalMutes {
        member_ids: Vec<String>,
    },
    ParkingLot {
        items: Vec<ParkedItem>,
    },
    /// A calm, room-wide notice (e.g. paused: a facilitator will be back).
    RoomNotice {
        code: String,
        message: String,
    },
    /// The lead rotated the facilitator key (the key is not in this event): the
    /// old key no longer joins, and these members no longer facilitate.
    KeyRotated {
        demoted: Vec<String>,
    },
    /// On the on-call desk: an alert arrived or changed (acknowledged, room opened).
    Alert {
        alert: OnCallAlert,
    },
    /// On the on-call desk: an alert is no longer open.
    AlertClosed {
        alert_id: String,
        reason: AlertClosedReason,
    },
    /// To the person who asked for support in a room with no live facilitator.
    SupportUpdate {
        request_id: String,
        state: SupportState,
        /// Plain words to show.
        message: String,
        /// Peer supporters on call when the request arrived (`on_call_notified`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supporters: Option<u32>,
        /// The supporter who saw it (`seen`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// A member joined the room's call (or joined it again: renegotiate with them).
    CallJoined {
        member_id: String,
        media: MediaState,
    },
    /// A member's media ended: close the connection with them.
    CallLeft {
        member_id: String,
        reason: CallLeftReason,
    },
    /// A member's mic, camera or voice activity changed; `by` names the
    /// facilitator who muted them or stopped their video.
    MediaState {
        member_id: String,
        media: MediaState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The floor (spotlight) in the call: this member, or nobody.
    Floor {
        member_id: Option<String>,
    },
}

/// Stable, machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not an object.
    BadJson,
    /// JSON whose `type` is not a known message.
    UnknownType,
    /// A known type with missing or ill-typed fields.
    BadMessage,
    /// A field the message (or request body) does not have; `message` names it.
    UnknownField,
    /// Frame or field over its size limit.
    TooLarge,
    /// Binary frames are not part of the protocol.
    BinaryNotSupported,
    VersionMismatch,
    NotJoined,
    AlreadyJoined,
    RoomNotFound,
    NotFound,
    Forbidden,
    InvalidName,
    /// A display name too like one already in the room (case, spacing, look-alike letters).
    NameTaken,
    /// A text field holds control or bidi-override characters (`message` names the field).
    InvalidText,
    Invalid,
    RulesNotAccepted,
    Muted,
    SlowMode,
    Paused,
    /// The room waits for its facilitator: posting is held until one joins.
    AwaitingFacilitator,
    /// The on-call desk: a wrong or missing on-call key, or a desk-only command elsewhere.
    OnCallOnly,
    /// Another supporter already acknowledged this alert.
    AlertTaken,
    /// A call command from (or a signal to) a member who is not in the call.
    NotInCall,
    /// The room's call is off (or audio only, for a camera).
    CallOff,
    /// The call (or its video) is at its size limit.
    CallFull,
    RoomLocked,
    RoomClosed,
    RoomFull,
    Removed,
    RateLimited,
    BadResume,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        // Kept in sync with the serde names by the test below.
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::BinaryNotSupported => "binary_not_supported",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::Invalid => "invalid",
            ErrorCode::RulesNotAccepted => "rules_not_accepted",
            ErrorCode::Muted => "muted",
            ErrorCode::SlowMode => "slow_mode",
            ErrorCode::Paused => "paused",
            ErrorCode::AwaitingFacilitator => "awaiting_facilitator",
            ErrorCode::OnCallOnly => "on_call_only",
            ErrorCode::AlertTaken => "alert_taken",
            ErrorCode::NotInCall => "not_in_call",
            ErrorCode::CallOff => "call_off",
            ErrorCode::CallFull => "call_full",
            ErrorCode::RoomLocked => "room_locked",
            ErrorCode::RoomClosed => "room_closed",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::Removed => "removed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BadResume => "bad_resume",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Decode a client frame, classifying failures into stable error codes.
/// Never panics, whatever the input. Nothing is silently dropped: a field the
/// message does not have, at the top or in a nested object (`resume`), is
/// refused with [`ErrorCode::UnknownField`] and a message naming it
/// ("unknown field `x` in `leave`", "unknown field `x` in `join.resume`").
pub fn decode_client(text: &str) -> Result<ClientMsg, (ErrorCode, String)> {
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(m) if m.is_field_less() => {
            // Serde ignores whatever else a field-less message carries.
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|_| (ErrorCode::BadJson, "frame is not valid JSON".to_string()))?;
            let extra = value
                .as_object()
                .and_then(|o| o.keys().find(|k| k.as_str() != "type"));
            match extra {
                Some(k) => Err((
                    ErrorCode::UnknownField,
                    format!("unknown field `{}` in `{}`", shown_field(k), m.type_name()),
                )),
                None => Ok(m),
            }
        }
        Ok(m) => Ok(m),
        Err(e) => {
            // Classify: not JSON at all, unknown type, or bad fields of a known type.
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(_) => return Err((ErrorCode::BadJson, "frame is not valid JSON".into())),
            };
            let Some(obj) = value.as_object() else {
                return Err((ErrorCode::BadJson, "frame must be a JSON object".into()));
            };
            match obj.get("type").and_then(|t| t.as_str()) {
                None => Err((ErrorCode::BadMessage, "missing string field `type`".into())),
                Some(t) if !KNOWN_CLIENT_TYPES.contains(&t) => {
                    Err((ErrorCode::UnknownType, "unknown message type".into()))
                }
                Some(t) => {
                    let msg = e.to_string();
                    match unknown_field(&msg) {
                        Some(field) => {
                            // Where: the frame itself, or one of its objects.
                            let at = if obj.contains_key(&field) {
                                t.to_string()
                            } else {
                                obj.iter()
                                    .find(|(_, v)| {
                                        v.as_object().is_some_and(|o| o.contains_key(&field))
                                    })
                                    .map(|(k, _)| format!("{t}.{}", shown_field(k)))
                                    .unwrap_or_else(|| t.to_string())
                            };
                            Err((
                                ErrorCode::UnknownField,
                                format!("unknown field `{}` in `{at}`", shown_field(&field)),
                            ))
                        }
                        None => Err((ErrorCode::BadMessage, sanitize_serde_error(&msg))),
                    }
                }
            }
        }
    }
}

/// The field serde's `deny_unknown_fields` refused, from its error message
/// ("unknown field `x`, expected …"), wherever it sits in the text (axum
/// prefixes its own words). `None` for any other error.
pub fn unknown_field(serde_message: &str) -> Option<String> {
    const AT: &str = "unknown field `";
    let rest = &serde_message[serde_message.find(AT)? + AT.len()..];
    // serde writes the name as is: it ends at the last "`," or "`" before " at line".
    let end = rest
        .find("`, expected")
        .or_else(|| rest.find("`, there are no fields"))
        .or_else(|| rest.rfind('`'))?;
    Some(rest[..end].to_string())
}

/// A client-chosen field name as we show it back: at most 40 characters,
/// no control characters.
pub fn shown_field(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
    if name.chars().filter(|c| !c.is_control()).nth(40).is_some() {
        format!("{clean}…")
    } else {
        clean
    }
}

/// Keep serde's description of what is wrong but never echo client data back at length.
fn sanitize_serde_error(s: &str) -> String {
    let s = s.split(" at line").next().unwrap_or(s);
    s.chars().take(160).collect()
}

/// Every client `type` name.
pub const KNOWN_CLIENT_TYPES: &[&str] = &[
    "join",
    "leave",
    "ping",
    "chat",
    "react",
    "accept_rules",
    "raise_hand",
    "lower_hand",
    "answer_energizer",
    "agree",
    "unagree",
    "energy_answer",
    "support_request",
    "distress",
    "decline_share",
    "personal_mute",
    "personal_unmute",
    "park",
    "list_energizers",
    "history_before",
    "roster_page",
    "join_call",
    "leave_call",
    "signal",
    "media_state",
    "ack_alert",
    "open_alert_room",
    "set_ground_rules",
    "show_ground_rules",
    "set_welcome",
    "call_on",
    "timer_start",
    "timer_pause",
    "timer_resume",
    "timer_extend",
    "timer_cancel",
    "push_energizer",
    "close_energizer",
    "highlight",
    "edit_highlight",
    "remove_highlight",
    "open_energy_check",
    "close_energy_check",
    "mute",
    "unmute",
    "remove",
    "slow_mode",
    "lock",
    "delete_message",
    "pin",
    "promote",
    "demote",
    "hand_over",
    "set_waiting_room",
    "admit",
    "decline",
    "open_one_on_one",
    "invite_to_share",
    "allow_parking",
    "unpark",
    "airtime",
    "extend_session",
    "end_session",
    "rotate_key",
    "set_share_history",
    "set_call",
    "mute_media",
    "stop_video",
    "mute_all",
    "give_floor",
];

// ---------------------------------------------------------------------------
// HTTP API bodies
// ---------------------------------------------------------------------------

/// `POST /api/rooms` body. A field it does not have is refused (400, `unknown_field`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    pub title: String,
    #[serde(default)]
    pub kind: RoomKind,
    #[serde(default)]
    pub starts_at: Option<Millis>,
    #[serde(default)]
    pub ends_at: Option<Millis>,
    #[serde(default)]
    pub capacity: Option<u32>,
    #[serde(default)]
    pub waiting_room: bool,
}

/// `POST /api/rooms` reply. The facilitator key is shown once and stored only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomCreated {
    pub room_id: String,
    /// Participant join link, relative to the server.
    pub join_link: String,
    pub facilitator_key: String,
    /// Facilitator link (contains the key), relative to the server.
    pub facilitator_link: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips_with_documented_shape() {
        let j = r#"{"type":"join","v":1,"room_id":"r1","name":"Sam"}"#;
        let m = decode_client(j).unwrap();
        assert_eq!(
            m,
            ClientMsg::Join {
                v: 1,
                room_id: "r1".into(),
                name: "Sam".into(),
                facilitator_key: None,
                resume: None,
                device_id: None,
            }
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), j);
    }

    #[test]
    fn join_carries_an_optional_device_id() {
        let j =
            r#"{"type":"join","v":1,"room_id":"r1","name":"Sam","device_id":"0123456789abcdef"}"#;
        let m = decode_client(j).unwrap();
        assert!(
            matches!(&m, ClientMsg::Join { device_id: Some(d), .. } if d == "0123456789abcdef")
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), j);
        assert!(valid_device_id("0123456789abcdef"));
        assert!(valid_device_id(&"a-_Z".repeat(16)));
        assert!(!valid_device_id("short"));
        assert!(!valid_device_id(&"a".repeat(65)));
        assert!(!valid_device_id("0123456789abcdef ghi"));
        assert!(!valid_device_id("0123456789abcdéf"));
    }

    fn refused_field(frame: &str) -> String {
        match decode_client(frame) {
            Err((ErrorCode::UnknownField, m)) => m,
            other => panic!("{frame}: expected unknown_field, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_refused_in_field_less_messages() {
        assert_eq!(
            refused_field(r#"{"type":"leave","x":1}"#),
            "unknown field `x` in `leave`"
        );
        assert_eq!(
            refused_field(r#"{"type":"distress","note":"x"}"#),
            "unknown field `note` in `distress`"
        );
        assert_eq!(
            refused_field(r#"{"x":null,"type":"rotate_key"}"#),
            "unknown field `x` in `rotate_key`"
        );
        // The bare form still decodes, and serializes as before.
        for (frame, msg) in [
            (r#"{"type":"leave"}"#, ClientMsg::Leave),
            (r#"{"type":"distress"}"#, ClientMsg::Distress),
            (r#"{"type":"raise_hand"}"#, ClientMsg::RaiseHand),
            (r#"{"type":"list_energizers"}"#, ClientMsg::ListEnergizers),
            (r#"{"type":"airtime"}"#, ClientMsg::Airtime),
            (r#"{"type":"rotate_key"}"#, ClientMsg::RotateKey),
        ] {
            assert_eq!(decode_client(frame).unwrap(), msg);
            assert_eq!(serde_json::to_string(&msg).unwrap(), frame);
        }
    }

    #[test]
    fn unknown_fields_are_refused_in_messages_with_fields_and_nested_objects() {
        assert_eq!(
            refused_field(r#"{"type":"chat","text":"hi","colour":"red"}"#),
            "unknown field `colour` in `chat`"
        );
        assert_eq!(
            refused_field(r#"{"type":"ping","t":1,"x":2}"#),
            "unknown field `x` in `ping`"
        );
        let nested = r#"{"type":"join","v":1,"room_id":"r","name":"Sam","resume":{"member_id":"m","token":"t","last_seq":0,"epoch":"e","admin":true}}"#;
        assert_eq!(
            refused_field(nested),
            "unknown field `admin` in `join.resume`"
        );
        // A client-chosen name is shown short and without control characters.
        let long = format!(r#"{{"type":"leave","{}\n":1}}"#, "y".repeat(100));
        let m = refused_field(&long);
        assert_eq!(m, format!("unknown field `{}…` in `leave`", "y".repeat(40)));
    }

    #[test]
    fn every_known_type_refuses_an_unknown_field() {
        for t in KNOWN_CLIENT_TYPES {
            let m = refused_field(&format!(r#"{{"type":"{t}","zz_unknown":1}}"#));
            assert_eq!(m, format!("unknown field `zz_unknown` in `{t}`"), "{t}");
        }
    }

    #[test]
    fn create_room_refuses_unknown_fields() {
        let e = serde_json::from_str::<CreateRoom>(r#"{"title":"t","colour":"red"}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(unknown_field(&e).as_deref(), Some("colour"));
        assert!(serde_json::from_str::<CreateRoom>(r#"{"title":"t"}"#).is_ok());
        assert_eq!(unknown_field("missing field `title`"), None);
        assert_eq!(
            unknown_field("Failed to deserialize: unknown field `a`b`, expected `c` at line 1")
                .as_deref(),
            Some("a`b")
        );
    }

    #[test]
    fn decode_classifies_errors() {
        assert_eq!(decode_client("nope").unwrap_err().0, ErrorCode::BadJson);
        assert_eq!(decode_client("[1]").unwrap_err().0, ErrorCode::BadJson);
        assert_eq!(
            decode_client(r#"{"x":1}"#).unwrap_err().0,
            ErrorCode::BadMessage
        );
        assert_eq!(
            decode_client(r#"{"type":"fly"}"#).unwrap_err().0,
            ErrorCode::UnknownType
        );
        assert_eq!(
            decode_client(r#"{"type":"chat"}"#).unwrap_err().0,
            ErrorCode::BadMessage
        );
        assert_eq!(
            decode_client(r#"{"type":"chat","text":5}"#).unwrap_err().0,
            ErrorCode::BadMessage
        );
    }

    #[test]
    fn every_known_type_decodes_or_reports_bad_message_not_unknown() {
        for t in KNOWN_CLIENT_TYPES {
            let r = decode_client(&format!(r#"{{"type":"{t}"}}"#));
            if let Err((code, _)) = r {
                assert_eq!(code, ErrorCode::BadMessage, "{t}");
            }
        }
    }

    #[test]
    fn type_names_match_serde() {
        let samples = vec![
            ClientMsg::Leave,
            ClientMsg::Chat { text: "x".into() },
            ClientMsg::EndSession,
            ClientMsg::Airtime,
            ClientMsg::RaiseHand,
        ];
        for m in samples {
            let v = serde_json::to_value(&m).unwrap();
            assert_eq!(v["type"], m.type_name());
            assert!(KNOWN_CLIENT_TYPES.contains(&m.type_name()));
        }
    }

    #[test]
    fn error_code_names_match_serde() {
        for c in [
            ErrorCode::BadJson,
            ErrorCode::RulesNotAccepted,
            ErrorCode::BinaryNotSupported,
            ErrorCode::Internal,
            ErrorCode::BadResume,
            ErrorCode::NameTaken,
            ErrorCode::InvalidText,
            ErrorCode::UnknownField,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_without_panic() {
        let deep = "[".repeat(100_000);
        assert_eq!(decode_client(&deep).unwrap_err().0, ErrorCode::BadJson);
        let deep_obj = format!(r#"{{"type":"chat","text":{}}}"#, "[".repeat(50_000));
        assert!(decode_client(&deep_obj).is_err());
    }
}
