//! How room traffic crosses instances. [`MemoryBroker`] (the default) keeps
//! everything in this process; [`RedisBroker`] shares rooms between instances
//! through Redis.
//!
//! The broker sits beside the rooms layer and never holds it: whatever
//! happens elsewhere (another instance's batch, a command forwarded to a room
//! hosted here, a room to take over, Redis going away) comes back in through
//! the small [`BrokerEvents`] trait, registered once by [`Broker::start`].
//! This module also holds the types the broker carries ([`RoomCmd`],
//! [`Delivery`], [`FrameText`], [`RoomMeta`]): the rooms layer and the broker
//! both use them, and neither owns the other.

mod memory;
mod redis;

pub use self::memory::MemoryBroker;
pub use self::redis::RedisBroker;

use crate::error::BrokerError;
use crate::room::{Audience, ConnId, Control, DeskReply, Room};
use async_trait::async_trait;
use bytes::Bytes;
use huddle_protocol::{ClientMsg, Millis, OnCallAlert, PublicRoom, Resume, Summary};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock, Weak};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------
// The traits
// ---------------------------------------------------------------------------

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Called once, before serving: how the broker reports what happens
    /// elsewhere (and starts its background work, if any, which pauses once
    /// `shutdown` is cancelled: no takeovers while this instance hands over).
    fn start(self: Arc<Self>, events: Weak<dyn BrokerEvents>, shutdown: CancellationToken);
    /// Store a newly created room and start hosting it somewhere.
    async fn create(&self, room: Room) -> Result<(), BrokerError>;
    /// Deliver a command to the room's actor, wherever it runs.
    async fn submit(&self, room_id: &str, cmd: RoomCmd) -> Result<(), BrokerError>;
    /// The room's actor flushed a batch, already handed to this instance's
    /// sessions: hand it to the other instances and keep whatever must
    /// survive this instance.
    async fn publish(&self, room: &Room, batch: Arc<Vec<Delivery>>);
    /// Public metadata of a room (for HTTP), kept by its actor.
    async fn store_meta(&self, room_id: &str, meta: &RoomMeta);
    /// A room's metadata: `Ok(None)` only when the room surely does not
    /// exist; an error when that cannot be told now (storage unreachable, or
    /// just back and not yet refilled by the rooms' owners).
    async fn meta(&self, room_id: &str) -> Result<Option<RoomMeta>, BrokerError>;
    /// Every room's metadata; an error (never an empty list) when it cannot be told now.
    async fn list_meta(&self) -> Result<Vec<RoomMeta>, BrokerError>;
    /// This instance has sessions in the room (first one) / no longer has any.
    async fn watch(&self, room_id: &str);
    async fn unwatch(&self, room_id: &str);
    /// Of these (member, instance) pairs of the room, which instances are dead.
    async fn lost_instances(&self, room_id: &str, members: &[(String, String)]) -> Vec<String>;
    /// Periodic upkeep by the room's actor: keep ownership, re-store what an
    /// outage lost. Returns whether this instance still owns the room (false: stop).
    async fn maintain(&self, room: &Room) -> bool;
    /// Save the room's whole state now (before handing it over).
    async fn persist(&self, room: &Room);
    /// The room's history changed other than by growing (a message was
    /// deleted, or the last member left and the conversation was dropped):
    /// make whatever outlives this instance match the model's history and
    /// state now, so nothing removed here can come back after a takeover.
    async fn history_rewritten(&self, room: &Room);
    /// The room's actor ended (retention over): forget it everywhere.
    async fn dropped(&self, room_id: &str);
    /// The room's actor stopped here; another instance may host it now.
    async fn released(&self, room_id: &str);
    /// Before a release: stop taking the room's commands from other instances;
    /// returns once those already received are queued to its actor (so the
    /// actor applies them before handing over, and none is lost).
    async fn close_intake(&self, _room_id: &str) {}
    /// Whether the broker can serve (for /readyz).
    fn ready(&self) -> bool;
}

/// The only way back in from the broker: implemented by the rooms layer
/// ([`crate::rooms::Rooms`]), called by the broker when something happens
/// that this instance must act on.
#[async_trait]
pub trait BrokerEvents: Send + Sync + 'static {
    /// A batch published by the room's actor on another instance, for a room
    /// with sessions here: hand it to them.
    fn batch_arrived(&self, room_id: &str, batch: &[Delivery]);
    /// A command for a room (forwarded by another instance, or submitted
    /// here): queue it to the room's actor if that runs here.
    async fn command_arrived(&self, room_id: &str, cmd: RoomCmd) -> Result<(), Undelivered>;
    /// Whether the room's actor runs here.
    fn hosting(&self, room_id: &str) -> bool;
    /// This instance now owns the room: start its actor.
    fn host(&self, room: Room);
    /// The rooms whose actors run here.
    fn owned_rooms(&self) -> Vec<String>;
    /// Tell every session on this instance (the degraded / recovered notices).
    fn notice_all(&self, code: &str, message: &str);
}

/// Why [`BrokerEvents::command_arrived`] did not queue a command.
// Returned by value, once per command, and the command moves back to the
// caller: boxing it would cost an allocation per forwarded command.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Undelivered {
    /// The room's actor does not run here: the command comes back.
    NotHosted(RoomCmd),
    /// The room's actor here is stopping (its queue is closed).
    Stopped,
}

/// Where a broker keeps its [`BrokerEvents`]: set once by [`Broker::start`].
/// Weak, so the broker never keeps the rooms layer alive.
#[derive(Default)]
pub struct EventsSlot(OnceLock<Weak<dyn BrokerEvents>>);

impl EventsSlot {
    /// Register the events; a second registration is refused (and says so).
    pub fn set(&self, events: Weak<dyn BrokerEvents>) {
        if self.0.set(events).is_err() {
            tracing::error!("broker started twice; keeping the first events handler");
        }
    }

    /// The events, while the rooms layer lives (none before start or after shutdown).
    pub fn get(&self) -> Option<Arc<dyn BrokerEvents>> {
        self.0.get().and_then(Weak::upgrade)
    }
}

// ---------------------------------------------------------------------------
// What the broker carries
// ---------------------------------------------------------------------------

/// A command for a room's actor. Serializable: it may cross instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RoomCmd {
    Join {
        conn: ConnId,
        instance: String,
        addr_hash: Option<String>,
        v: u32,
        name: String,
        facilitator_key: Option<String>,
        resume: Option<Resume>,
        /// The hash of the join's `device_id` (removal keep-out); absent from
        /// instances that predate it.
        #[serde(default)]
        device_hash: Option<String>,
        /// The session verified the on-call credential: a join of the desk.
        #[serde(default)]
        oncall: bool,
        /// The signed-in account behind the connection, if any (bars by account).
        #[serde(default)]
        account_id: Option<String>,
    },
    Client {
        conn: ConnId,
        msg: ClientMsg,
    },
    Disconnect {
        conn: ConnId,
    },
    /// These instances stopped heartbeating: their members are gone.
    InstancesLost {
        instances: Vec<String>,
    },
    /// Save everything and stop hosting the room here (shutdown: another instance takes over).
    Release,
    /// To the on-call desk: an alert raised in `origin_room` (kept once per id).
    DeskAlert {
        origin_room: String,
        alert: OnCallAlert,
    },
    /// To the on-call desk: the person behind this alert left.
    DeskWithdraw {
        alert_id: String,
    },
    /// From the on-call desk to the room an alert came from.
    DeskReply {
        request_id: String,
        reply: DeskReply,
    },
    /// The room's owner (a signed-in account) set a new facilitator key; only its hash travels.
    OwnerKey {
        key_hash: String,
    },
    /// An admin lifted the bar of this removed member: they may come back at once.
    LiftBar {
        member_id: String,
    },
    /// A join refused by a stored bar (before it reached the room): the room
    /// tells its facilitators, as when it refuses a removed member itself.
    BarredTried {
        device_hash: Option<String>,
        account_id: Option<String>,
    },
}

/// One frame (serialized once) or control, for an audience.
#[derive(Debug, Clone)]
pub enum Delivery {
    Frame {
        audience: Audience,
        /// The room seq, for events (kept in history); none for replies.
        seq: Option<u64>,
        /// True when the frame changes no lasting room state worth saving at
        /// once (chat, reactions, replies): snapshots of those can wait a moment.
        light: bool,
        text: FrameText,
    },
    Control(Control),
}

/// One server frame's JSON text, serialized once and shared by every
/// receiver: valid UTF-8 in reference-counted [`Bytes`]. A clone bumps a
/// count; nothing is copied. The session's writer turns it into the
/// WebSocket library's text type without copying (see `session/writer.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameText(Bytes);

impl FrameText {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text. (Checks the UTF-8 again: for tests and history, not the fan-out path.)
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The shared bytes (valid UTF-8).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for FrameText {
    /// Takes the string's buffer as is: no copy.
    fn from(s: String) -> Self {
        FrameText(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for FrameText {
    type Error = std::str::Utf8Error;

    /// Checks the bytes are UTF-8 (a slice of a received buffer: no copy).
    fn try_from(b: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&b)?;
        Ok(FrameText(b))
    }
}

/// What HTTP needs to know about a room without asking its actor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomMeta {
    pub public: PublicRoom,
    pub key_hash: String,
    pub summary: Option<Summary>,
    pub updated: Millis,
}

impl RoomMeta {
    /// The room's metadata as of now.
    pub fn of(room: &Room) -> RoomMeta {
        RoomMeta {
            public: room.public(),
            key_hash: room.key_hash().to_string(),
            summary: room.summary().cloned(),
            updated: crate::now_ms(),
        }
    }
}
