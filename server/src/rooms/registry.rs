//! Room id → the actor hosting it here; creating rooms, starting and
//! stopping their actors.

use super::actor::{run_actor, ActorEnd};
use super::Rooms;
use crate::broker::{RoomCmd, RoomMeta};
use crate::error::CreateRoomError;
use crate::room::{self, Room};
use dashmap::DashMap;
use huddle_protocol::CreateRoom;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The actors of the rooms this instance owns.
#[derive(Default)]
pub struct Registry {
    actors: DashMap<String, mpsc::Sender<RoomCmd>>,
}

impl Rooms {
    pub fn room_count(&self) -> usize {
        self.registry.actors.len()
    }

    /// Create a room; returns its id and facilitator key (shown once).
    pub async fn create_room(
        self: &Arc<Self>,
        spec: &CreateRoom,
    ) -> Result<(String, String), CreateRoomError> {
        self.create_room_carrying(spec, None).await
    }

    /// Create a room with settings carried from a series (its ground rules
    /// and welcome text); returns its id and facilitator key.
    pub async fn create_room_carrying(
        self: &Arc<Self>,
        spec: &CreateRoom,
        carry: Option<&room::Carry>,
    ) -> Result<(String, String), CreateRoomError> {
        let title = spec.title.trim();
        if title.is_empty() || title.chars().count() > 120 {
            return Err(CreateRoomError::Title);
        }
        room::text::check("title", title)?;
        if let (Some(s), Some(e)) = (spec.starts_at, spec.ends_at) {
            if e <= s {
                return Err(CreateRoomError::EndsBeforeStart);
            }
        }
        if spec.capacity == Some(0) {
            return Err(CreateRoomError::ZeroCapacity);
        }
        if spec.kind == huddle_protocol::RoomKind::OnCall {
            return Err(CreateRoomError::DeskKind);
        }
        if self.registry.actors.len() >= self.cfg.max_rooms {
            return Err(CreateRoomError::TooManyRooms);
        }
        let mut spec = spec.clone();
        spec.title = title.to_string();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let key = room::new_secret();
        let mut room = Room::new(
            id.clone(),
            &spec,
            &key,
            self.limits(),
            self.crisis.clone(),
            crate::now_ms(),
        );
        if let Some(carry) = carry {
            room.carry(carry)?;
        }
        // Visible (joinable, listed) as soon as the creator hears of it.
        self.broker.store_meta(&id, &RoomMeta::of(&room)).await;
        self.broker.create(room).await?;
        Ok((id, key))
    }

    /// Start the actor task for a room this instance now owns.
    pub fn spawn_actor(self: &Arc<Self>, room: Room) -> mpsc::Sender<RoomCmd> {
        let (tx, rx) = mpsc::channel(1024);
        let id = room.info().id.clone();
        self.registry.actors.insert(id.clone(), tx.clone());
        self.metrics.rooms.fetch_add(1, Relaxed);
        let rooms = self.clone();
        tokio::spawn(async move {
            let end = run_actor(rooms.clone(), room, rx).await;
            rooms.registry.actors.remove(&id);
            rooms.metrics.rooms.fetch_sub(1, Relaxed);
            match end {
                ActorEnd::Expired => rooms.broker.dropped(&id).await,
                ActorEnd::Released => rooms.broker.released(&id).await,
            }
        });
        tx
    }

    /// Hand every room hosted here to other instances (graceful shutdown).
    pub async fn release_all(&self) {
        let actors: Vec<(String, mpsc::Sender<RoomCmd>)> = self
            .registry
            .actors
            .iter()
            .map(|a| (a.key().clone(), a.value().clone()))
            .collect();
        for (id, a) in &actors {
            if a.send(RoomCmd::Release).await.is_err() {
                // Its actor ended meanwhile: nothing left to release.
                tracing::debug!(room = %id, "actor already stopped");
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !self.registry.actors.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn actor(&self, room_id: &str) -> Option<mpsc::Sender<RoomCmd>> {
        self.registry.actors.get(room_id).map(|a| a.clone())
    }

    /// Rooms whose actors run here.
    pub fn owned_rooms(&self) -> Vec<String> {
        self.registry
            .actors
            .iter()
            .map(|e| e.key().clone())
            .collect()
    }
}
