//! Everything in this process: the default, needs nothing installed. Every
//! room is hosted here, so a command goes straight to the room's actor and a
//! batch has no other instance to reach.

use super::{Broker, BrokerEvents, Delivery, EventsSlot, RoomCmd, RoomMeta, Undelivered};
use crate::error::BrokerError;
use crate::room::Room;
use async_trait::async_trait;
use dashmap::DashMap;
use std::sync::{Arc, Weak};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct MemoryBroker {
    events: EventsSlot,
    metas: DashMap<String, RoomMeta>,
}

#[async_trait]
impl Broker for MemoryBroker {
    fn start(self: Arc<Self>, events: Weak<dyn BrokerEvents>, _shutdown: CancellationToken) {
        self.events.set(events);
    }

    async fn create(&self, room: Room) -> Result<(), BrokerError> {
        match self.events.get() {
            Some(events) => {
                events.host(room);
                Ok(())
            }
            // Shutting down (or never started): nobody can host it.
            None => Err(BrokerError::RoomUnavailable),
        }
    }

    async fn submit(&self, room_id: &str, cmd: RoomCmd) -> Result<(), BrokerError> {
        let Some(events) = self.events.get() else {
            return Err(BrokerError::RoomNotFound);
        };
        match events.command_arrived(room_id, cmd).await {
            Ok(()) => Ok(()),
            Err(Undelivered::NotHosted(_)) => Err(BrokerError::RoomNotFound),
            Err(Undelivered::Stopped) => Err(BrokerError::RoomGone),
        }
    }

    /// The batch went to this instance's sessions already: no one else to tell.
    async fn publish(&self, _room: &Room, _batch: Arc<Vec<Delivery>>) {}

    async fn store_meta(&self, room_id: &str, meta: &RoomMeta) {
        self.metas.insert(room_id.to_string(), meta.clone());
    }

    async fn meta(&self, room_id: &str) -> Result<Option<RoomMeta>, BrokerError> {
        Ok(self.metas.get(room_id).map(|m| m.clone()))
    }

    async fn list_meta(&self) -> Result<Vec<RoomMeta>, BrokerError> {
        Ok(self.metas.iter().map(|m| m.value().clone()).collect())
    }

    async fn watch(&self, _room_id: &str) {}
    async fn unwatch(&self, _room_id: &str) {}

    async fn lost_instances(&self, _room_id: &str, _members: &[(String, String)]) -> Vec<String> {
        Vec::new()
    }

    async fn maintain(&self, _room: &Room) -> bool {
        true
    }

    async fn persist(&self, _room: &Room) {}

    /// The model's history is the only one: nothing else to change.
    async fn history_rewritten(&self, _room: &Room) {}

    async fn released(&self, _room_id: &str) {}

    async fn dropped(&self, room_id: &str) {
        self.metas.remove(room_id);
    }

    fn ready(&self) -> bool {
        true
    }
}
