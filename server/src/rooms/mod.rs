//! The rooms of this instance: the registry of room actors
//! ([`registry`]), the actor loop that owns each room's model ([`actor`]), and
//! this instance's sessions per room with their fan-out ([`local`]) into
//! each session's bounded queue ([`queue`]).
//!
//! Commands flow session → [`Rooms::submit`] → [`Broker::submit`] → the room's
//! actor (here or on another instance). The actor applies them to the pure
//! [`Room`] model and flushes the resulting frames, serialized once, as one
//! batch: to this instance's sessions ([`Rooms::deliver_local`]) and through
//! [`Broker::publish`] to the others, whose broker hands it back to their
//! rooms layer through [`BrokerEvents::batch_arrived`].
//!
//! [`Rooms`] implements [`BrokerEvents`]: the only way the broker reaches in.

pub mod actor;
pub mod bars;
pub mod desk;
pub mod local;
pub mod queue;
pub mod registry;

pub use local::Outgoing;
pub use queue::{OutQueue, QueueLimits};

use crate::broker::{Broker, BrokerEvents, Delivery, RoomCmd, Undelivered};
use crate::config::Config;
use crate::error::BrokerError;
use crate::metrics::Metrics;
use crate::room::{Limits, Room};
use crate::store::Store;
use async_trait::async_trait;
use huddle_protocol::{CrisisResource, ServerMsg};
use local::LocalSessions;
use registry::Registry;
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub struct Rooms {
    pub cfg: Config,
    pub instance: String,
    pub metrics: Arc<Metrics>,
    pub crisis: Vec<CrisisResource>,
    pub broker: Arc<dyn Broker>,
    /// The durable store: bars (removals that outlive the room's memory).
    pub store: Arc<dyn Store>,
    pub shutting_down: CancellationToken,
    /// Actors of the rooms this instance owns.
    registry: Registry,
    /// This instance's sessions, per room and in all.
    local: LocalSessions,
    /// Ourselves, for the tasks we spawn (actors).
    me: Weak<Rooms>,
    /// Keys the hashes of client addresses (`--ip-hash-secret`, or drawn at start).
    addr_key: String,
    /// One creation of the on-call desk at a time on this instance (`desk.rs`).
    desk_init: tokio::sync::Mutex<()>,
}

impl Rooms {
    pub fn new(
        cfg: Config,
        instance: String,
        crisis: Vec<CrisisResource>,
        broker: Arc<dyn Broker>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        shutting_down: CancellationToken,
    ) -> Arc<Rooms> {
        let addr_key = match &cfg.ip_hash_secret {
            Some(secret) => secret.key().to_string(),
            None => crate::room::new_secret(),
        };
        Arc::new_cyclic(|me| Rooms {
            addr_key,
            cfg,
            instance,
            metrics,
            crisis,
            broker,
            store,
            shutting_down,
            registry: Registry::default(),
            local: LocalSessions::default(),
            me: me.clone(),
            desk_init: tokio::sync::Mutex::new(()),
        })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_text: self.cfg.max_text,
            max_name: self.cfg.max_name,
            max_members: self.cfg.max_members,
            big_room_threshold: self.cfg.big_room_threshold,
            grace_ms: self.cfg.grace_secs * 1000,
            facilitator_grace_ms: self.cfg.facilitator_grace_secs * 1000,
            energy_min_answers: self.cfg.energy_min_answers,
            wrap_up_ms: (self.cfg.wrap_up_mins * 60_000.0) as u64,
            max_call_peers: self.cfg.max_call_peers,
            max_video_peers: self.cfg.max_video_peers,
            ..Limits::default()
        }
    }

    /// The STUN and TURN servers calls use (`--stun-urls`, `--turn-urls`, `--turn-secret`).
    pub fn ice(&self) -> crate::media::IceConfig {
        crate::media::IceConfig {
            stun_urls: self.cfg.stun_urls.clone(),
            turn_urls: self.cfg.turn_urls.clone(),
            turn_secret: self.cfg.turn_secret.clone(),
            turn_ttl_secs: self.cfg.turn_ttl_secs,
        }
    }

    /// A client address as rooms keep it (for keep-out after removal): a
    /// hash keyed with this deployment's secret, so the stored value cannot be
    /// matched against the addresses of the Internet. None for loopback
    /// (local development and tests share one address).
    pub fn addr_hash(&self, ip: IpAddr) -> Option<String> {
        keyed_addr_hash(&self.addr_key, ip)
    }

    /// The largest frame the server sends, with room to spare: a welcome
    /// carries at worst the recent messages (each up to `--max-text`
    /// characters, 6 bytes each once JSON-escaped), the roster and the
    /// waiting list (`--max-members` names of `--max-name` characters), the
    /// pinned and welcome texts, and the room's tools. At least 16 MiB (the
    /// defaults need about 8 MiB). Each connection's writer accepts frames up
    /// to this size; a larger one closes that connection (1011), never the room.
    pub fn max_out_frame(&self) -> usize {
        let l = self.limits();
        let text = l.max_text.saturating_mul(6);
        let name = l.max_name.saturating_mul(6).saturating_add(512);
        let members = (l.max_members as usize).saturating_mul(name);
        l.recent_messages
            .saturating_mul(text.saturating_add(1024))
            .saturating_add(members.saturating_mul(2))
            .saturating_add(text.saturating_mul(2))
            .saturating_add(1 << 20)
            .max(16 << 20)
    }

    /// The bounds of each connection's outgoing queue.
    pub fn queue_limits(&self) -> QueueLimits {
        QueueLimits {
            frames: self.cfg.queue.max(8),
            bytes: self.cfg.queue_bytes,
        }
    }

    /// Deliver a command to the room's actor, wherever it runs.
    pub async fn submit(&self, room_id: &str, cmd: RoomCmd) -> Result<(), BrokerError> {
        self.broker.submit(room_id, cmd).await
    }
}

pub use crate::room::log_tag;

/// See [`Rooms::addr_hash`].
fn keyed_addr_hash(key: &str, ip: IpAddr) -> Option<String> {
    let ip = ip.to_canonical();
    if ip.is_loopback() {
        None
    } else {
        Some(crate::room::hash_secret(&format!("addr:{key}:{ip}")))
    }
}

#[async_trait]
impl BrokerEvents for Rooms {
    fn batch_arrived(&self, room_id: &str, batch: &[Delivery]) {
        self.deliver_local(room_id, batch);
    }

    async fn command_arrived(&self, room_id: &str, cmd: RoomCmd) -> Result<(), Undelivered> {
        let Some(actor) = self.actor(room_id) else {
            return Err(Undelivered::NotHosted(cmd));
        };
        actor
            .send(cmd)
            .await
            .map_err(|_: mpsc::error::SendError<RoomCmd>| Undelivered::Stopped)
    }

    fn hosting(&self, room_id: &str) -> bool {
        self.actor(room_id).is_some()
    }

    fn host(&self, room: Room) {
        match self.me.upgrade() {
            Some(me) => {
                me.spawn_actor(room);
            }
            // Only while the whole server is being dropped: nothing to host for.
            None => {
                tracing::warn!(room = %log_tag(&room.info().id), "rooms layer gone; room not hosted")
            }
        }
    }

    fn owned_rooms(&self) -> Vec<String> {
        Rooms::owned_rooms(self)
    }

    fn notice_all(&self, code: &str, message: &str) {
        self.broadcast_local(&ServerMsg::Notice {
            code: code.into(),
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_hashes_are_keyed_per_deployment() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = keyed_addr_hash("key-a", ip).unwrap();
        assert_eq!(keyed_addr_hash("key-a", ip).as_ref(), Some(&a));
        assert_ne!(keyed_addr_hash("key-b", ip).unwrap(), a);
        // Not the plain hash anyone can compute for every IPv4 address.
        assert_ne!(a, crate::room::hash_secret("addr:203.0.113.7"));
        assert_eq!(
            keyed_addr_hash("key-a", "::ffff:203.0.113.7".parse().unwrap()).unwrap(),
            a
        );
        assert_eq!(keyed_addr_hash("key-a", "127.0.0.1".parse().unwrap()), None);
        assert_eq!(keyed_addr_hash("key-a", "::1".parse().unwrap()), None);
    }
}
