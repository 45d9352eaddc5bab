//! What Redis keeps of a room: its state snapshot (saved with its output
//! batches, or held back while Redis is away), its public metadata, the
//! directory of room ids; creating and forgetting rooms.

use super::{
    ch_in, k_events, k_meta, k_owner, k_state, RedisBroker, Saved, KEY_TTL_MS, K_ROOMS, LEASE_MS,
};
use crate::broker::{Delivery, RoomMeta};
use crate::error::BrokerError;
use crate::metrics::{Metrics, RedisOp};
use crate::room::Room;
use huddle_protocol::RoomStatus;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a room's state is saved at most while only chat flows (chat is
/// in the history stream, and a takeover re-applies it from there).
const SAVE_EVERY: Duration = Duration::from_secs(10);
/// Unpublished batches kept per room while Redis is away.
const BACKLOG: usize = 5_000;

impl RedisBroker {
    /// Store a new room, owned here, and host it.
    pub(super) async fn create_room(&self, room: Room) -> Result<(), BrokerError> {
        let Some(events) = self.events.get() else {
            return Err(BrokerError::RoomUnavailable);
        };
        let id = room.info().id.clone();
        let meta = RoomMeta::of(&room);
        let mut p = redis::pipe();
        p.cmd("SET")
            .arg(k_owner(&id))
            .arg(&self.instance)
            .arg("PX")
            .arg(LEASE_MS)
            .ignore();
        self.state_pipe(&mut p, &room);
        let key = k_meta(&id);
        let meta_json = self
            .signer
            .seal(&key, serde_json::to_string(&meta).unwrap_or_default());
        p.cmd("SET")
            .arg(key)
            .arg(meta_json)
            .arg("PX")
            .arg(KEY_TTL_MS)
            .ignore();
        p.cmd("SADD").arg(K_ROOMS).arg(&id).ignore();
        if let Err(e) = self.query_pipe::<()>(RedisOp::Create, Some(&id), &p).await {
            self.local_meta.remove(&id);
            return Err(e);
        }
        // On failure (counted and logged): upkeep subscribes the `in` channels
        // of the rooms hosted here again.
        self.subscribe(Some(&id), ch_in(&id)).await;
        self.mark_saved(&id, room.seq());
        events.host(room);
        Ok(())
    }

    /// Publish a batch of a room hosted here (and whatever an outage held
    /// back), with the state when it is due.
    pub(super) async fn publish_batch(&self, room: &Room, batch: Arc<Vec<Delivery>>) {
        let id = &room.info().id;
        if self.rewrite_pending.contains(id) {
            // The stream is rebuilt from the model's history (which has this
            // batch's events); the batch itself still goes to the others.
            self.backlog.entry(id.clone()).or_default().push(batch);
            self.rewrite_history(room).await;
            return;
        }
        let mut pending = self.backlog.remove(id).map(|(_, v)| v).unwrap_or_default();
        pending.push(batch);
        let mut p = redis::pipe();
        self.batches_pipe(&mut p, id, &pending);
        // Save the state at once when it changed beyond chat (membership, tokens,
        // settings); while only chat flows, at most every SAVE_EVERY.
        let heavy = pending.iter().flat_map(|b| b.iter()).any(|d| match d {
            Delivery::Frame { light, .. } => !light,
            Delivery::Control(_) => true,
        });
        let generation = self.generation.load(Relaxed);
        let due = heavy
            || match self.saved.get(id) {
                Some(s) => {
                    s.generation != generation
                        || (s.seq != room.seq() && s.at.elapsed() >= SAVE_EVERY)
                        || room.info().status == RoomStatus::Closed
                }
                None => true,
            };
        if due {
            self.state_pipe(&mut p, room);
        }
        match self.query_pipe::<()>(RedisOp::Publish, Some(id), &p).await {
            Ok(()) => {
                Metrics::inc(&self.metrics.redis_publishes);
                if due {
                    self.saved.insert(
                        id.clone(),
                        Saved {
                            at: Instant::now(),
                            seq: room.seq(),
                            generation,
                        },
                    );
                }
            }
            // Counted and logged: keep the batches; the next publish or the
            // actor's next renewal sends them.
            Err(_) => self.keep_backlog(id, pending),
        }
    }

    /// Whether the saved state is behind the room (or from before an outage).
    pub(super) fn state_is_stale(&self, room: &Room) -> bool {
        let generation = self.generation.load(Relaxed);
        self.saved.get(&room.info().id).is_none_or(|s| {
            s.generation != generation || (s.seq != room.seq() && s.at.elapsed() >= SAVE_EVERY)
        })
    }

    /// Keep batches an outage held back (at most [`BACKLOG`], the newest).
    pub(super) fn keep_backlog(&self, id: &str, mut pending: Vec<Arc<Vec<Delivery>>>) {
        if pending.len() > BACKLOG {
            let drop = pending.len() - BACKLOG;
            pending.drain(..drop);
        }
        self.backlog.insert(id.to_string(), pending);
    }

    /// Save the room's whole state now, with what an outage held back.
    pub(super) async fn save_state(&self, room: &Room) {
        let id = &room.info().id;
        if self.rewrite_pending.contains(id) {
            // Saves the state too, and publishes the backlog.
            self.rewrite_history(room).await;
            return;
        }
        let backlog = self.backlog.remove(id).map(|(_, v)| v).unwrap_or_default();
        let mut p = redis::pipe();
        self.batches_pipe(&mut p, id, &backlog);
        self.state_pipe(&mut p, room);
        match self
            .query_pipe::<()>(RedisOp::SaveState, Some(id), &p)
            .await
        {
            Ok(()) => {
                self.mark_saved(id, room.seq());
            }
            // Counted and logged: keep the batches for the next try.
            Err(_) => {
                self.backlog.insert(id.clone(), backlog);
            }
        }
    }

    pub(super) fn state_pipe(&self, p: &mut redis::Pipeline, room: &Room) {
        let id = &room.info().id;
        let ttl = self.ttl_for(room.info().status);
        match serde_json::to_string(room) {
            Ok(json) => {
                let key = k_state(id);
                let json = self.signer.seal(&key, json);
                p.cmd("SET").arg(key).arg(json).arg("PX").arg(ttl).ignore();
            }
            Err(e) => {
                tracing::error!(room = %crate::room::log_tag(id), error = %e, "could not encode the room's state")
            }
        }
        if room.info().status == RoomStatus::Closed {
            // The transcript lives only for the session.
            p.cmd("DEL").arg(k_events(id)).ignore();
        } else {
            p.cmd("PEXPIRE").arg(k_events(id)).arg(ttl).ignore();
        }
    }

    fn ttl_for(&self, status: RoomStatus) -> u64 {
        if status == RoomStatus::Closed {
            self.closed_ttl_ms
        } else {
            KEY_TTL_MS
        }
    }

    pub(super) async fn write_meta(&self, room_id: &str, meta: &RoomMeta) {
        self.local_meta.insert(room_id.to_string(), meta.clone());
        let ttl = self.ttl_for(meta.public.info.status);
        let json = match serde_json::to_string(meta) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(room = %crate::room::log_tag(room_id), error = %e, "could not encode the room's metadata");
                return;
            }
        };
        let key = k_meta(room_id);
        let json = self.signer.seal(&key, json);
        let set = redis::cmd("SET")
            .arg(key)
            .arg(json)
            .arg("PX")
            .arg(ttl)
            .clone();
        // On failure (counted and logged): the actor's next change, or its
        // renewal after an outage, writes it again.
        self.exec(RedisOp::Meta, Some(room_id), &set).await;
    }

    /// A room's metadata. The owner answers for the rooms it hosts from what
    /// their actors stored last (even while Redis is away). Otherwise from
    /// Redis: `Ok(None)` only when Redis says there is none and is not
    /// settling (just back, owners storing their rooms again); a failed read
    /// (counted and logged) is an error, never "no such room".
    pub(super) async fn read_meta(&self, room_id: &str) -> Result<Option<RoomMeta>, BrokerError> {
        if let Some(m) = self.local_meta.get(room_id) {
            return Ok(Some(m.clone()));
        }
        let key = k_meta(room_id);
        let v = self
            .query::<Option<Vec<u8>>>(RedisOp::Meta, Some(room_id), redis::cmd("GET").arg(&key))
            .await?;
        match v {
            Some(v) => {
                let Some(v) = self.signer.open(&key, &v) else {
                    self.forged("metadata", room_id);
                    return Ok(None);
                };
                match serde_json::from_slice(v) {
                    Ok(m) => Ok(Some(m)),
                    Err(_) => {
                        tracing::warn!(room = %crate::room::log_tag(room_id), "stored room metadata is unreadable");
                        Ok(None)
                    }
                }
            }
            None if self.settling() => Err(BrokerError::RoomUnavailable),
            None => Ok(None),
        }
    }

    /// Every room's metadata. Ids whose metadata expired leave the
    /// directory. A failed read (counted and logged), or Redis settling after
    /// an outage, is an error: never an empty or partial list.
    pub(super) async fn read_directory(&self) -> Result<Vec<RoomMeta>, BrokerError> {
        if self.settling() {
            return Err(BrokerError::RoomUnavailable);
        }
        let ids = self
            .query::<Vec<String>>(
                RedisOp::Directory,
                None,
                redis::cmd("SMEMBERS").arg(K_ROOMS),
            )
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|i| k_meta(i)).collect();
        let vals = self
            .query::<Vec<Option<Vec<u8>>>>(RedisOp::Directory, None, redis::cmd("MGET").arg(&keys))
            .await?;
        let mut gone = Vec::new();
        let mut out = Vec::new();
        for ((id, key), v) in ids.iter().zip(&keys).zip(vals) {
            let Some(v) = v else {
                gone.push(id.clone());
                continue;
            };
            let Some(v) = self.signer.open(key, &v) else {
                // Not ours to list (nor to remove: it may be re-signed yet).
                self.forged("metadata", id);
                continue;
            };
            match serde_json::from_slice(v) {
                Ok(m) => out.push(m),
                Err(_) => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            let srem = redis::cmd("SREM").arg(K_ROOMS).arg(&gone).clone();
            // On failure (counted and logged): the next listing removes them.
            self.exec(RedisOp::Directory, None, &srem).await;
        }
        Ok(out)
    }

    /// Put a room (back) in the directory; returns whether it was done.
    pub(super) async fn add_to_directory(&self, room_id: &str) -> bool {
        let sadd = redis::cmd("SADD").arg(K_ROOMS).arg(room_id).clone();
        self.exec(RedisOp::Directory, Some(room_id), &sadd).await
    }

    /// Forget a room whose retention is over.
    pub(super) async fn forget(&self, room_id: &str) {
        let mut p = redis::pipe();
        p.cmd("DEL")
            .arg(k_meta(room_id))
            .arg(k_state(room_id))
            .arg(k_events(room_id))
            .arg(k_owner(room_id))
            .ignore();
        p.cmd("SREM").arg(K_ROOMS).arg(room_id).ignore();
        // On failure (counted and logged): every key expires with its TTL, and
        // the directory drops ids whose metadata is gone.
        if self
            .query_pipe::<()>(RedisOp::Drop, Some(room_id), &p)
            .await
            .is_err()
        {
            tracing::debug!(room = %room_id, "room keys left to expire");
        }
    }
}
