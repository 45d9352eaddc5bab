//! How room traffic crosses instances. [`MemoryBroker`] (the default) keeps
//! everything in this process; [`crate::redis_broker::RedisBroker`] shares rooms
//! between instances through Redis.

use crate::hub::{Delivery, Hub, RoomCmd, RoomMeta};
use crate::room::Room;
use async_trait::async_trait;
use dashmap::DashMap;
use huddle_protocol::ErrorCode;
use std::sync::Arc;

pub type BrokerResult<T> = Result<T, (ErrorCode, String)>;

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Store a newly created room and start hosting it somewhere.
    async fn create(&self, hub: &Arc<Hub>, room: Room) -> BrokerResult<()>;
    /// Deliver a command to the room's actor, wherever it runs.
    async fn submit(&self, hub: &Arc<Hub>, room_id: &str, cmd: RoomCmd) -> BrokerResult<()>;
    /// The room's actor flushed a batch: hand it to every instance's sessions
    /// (this one included) and keep whatever must survive this instance.
    async fn publish(&self, hub: &Hub, room: &Room, batch: Arc<Vec<Delivery>>);
    /// Public metadata of a room (for HTTP), kept by its actor.
    async fn store_meta(&self, room_id: &str, meta: &RoomMeta);
    async fn meta(&self, room_id: &str) -> Option<RoomMeta>;
    async fn list_meta(&self) -> Vec<RoomMeta>;
    /// This instance has sessions in the room (first one) / no longer has any.
    async fn watch(&self, room_id: &str);
    async fn unwatch(&self, room_id: &str);
    /// Of these (member, instance) pairs, which instances are dead.
    async fn lost_instances(&self, members: &[(String, String)]) -> Vec<String>;
    /// Periodic upkeep by the room's actor: keep ownership, re-store what an
    /// outage lost. Returns whether this instance still owns the room (false: stop).
    async fn maintain(&self, room: &Room) -> bool;
    /// Save the room's whole state now (before handing it over).
    async fn persist(&self, room: &Room);
    /// The room's actor ended (retention over): forget it everywhere.
    async fn dropped(&self, hub: &Arc<Hub>, room_id: &str);
    /// The room's actor stopped here; another instance may host it now.
    async fn released(&self, hub: &Arc<Hub>, room_id: &str);
    /// Before a release: stop taking the room's commands from other instances;
    /// returns once those already received are queued to its actor (so the
    /// actor applies them before handing over, and none is lost).
    async fn close_intake(&self, _room_id: &str) {}
    /// Whether the broker can serve (for /readyz).
    fn ready(&self) -> bool;
}

/// Everything in this process: the default, needs nothing installed.
#[derive(Default)]
pub struct MemoryBroker {
    metas: DashMap<String, RoomMeta>,
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn create(&self, hub: &Arc<Hub>, room: Room) -> BrokerResult<()> {
        hub.spawn_actor(room);
        Ok(())
    }

    async fn submit(&self, hub: &Arc<Hub>, room_id: &str, cmd: RoomCmd) -> BrokerResult<()> {
        let Some(actor) = hub.actor(room_id) else {
            return Err((ErrorCode::RoomNotFound, "no such room".into()));
        };
        actor
            .send(cmd)
            .await
            .map_err(|_| (ErrorCode::RoomNotFound, "the room is gone".into()))
    }

    async fn publish(&self, hub: &Hub, room: &Room, batch: Arc<Vec<Delivery>>) {
        hub.deliver_local(&room.info().id, &batch);
    }

    async fn store_meta(&self, room_id: &str, meta: &RoomMeta) {
        self.metas.insert(room_id.to_string(), meta.clone());
    }

    async fn meta(&self, room_id: &str) -> Option<RoomMeta> {
        self.metas.get(room_id).map(|m| m.clone())
    }

    async fn list_meta(&self) -> Vec<RoomMeta> {
        self.metas.iter().map(|m| m.value().clone()).collect()
    }

    async fn watch(&self, _room_id: &str) {}
    async fn unwatch(&self, _room_id: &str) {}

    async fn lost_instances(&self, _members: &[(String, String)]) -> Vec<String> {
        Vec::new()
    }

    async fn maintain(&self, _room: &Room) -> bool {
        true
    }

    async fn persist(&self, _room: &Room) {}

    async fn released(&self, _hub: &Arc<Hub>, _room_id: &str) {}

    async fn dropped(&self, _hub: &Arc<Hub>, room_id: &str) {
        self.metas.remove(room_id);
    }

    fn ready(&self) -> bool {
        true
    }
}
