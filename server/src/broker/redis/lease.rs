//! Who hosts what: this instance's heartbeat, the lease of each room hosted
//! here, taking over rooms whose owner is gone, giving leases back, and
//! judging which other instances are dead.

use super::{
    ch_in, ch_out, k_instance, k_owner, k_state, RedisBroker, HEARTBEAT_MS, LEASE_MS, ORPHAN_WAIT,
};
use crate::broker::{BrokerEvents, RoomMeta};
use crate::metrics::RedisOp;
use crate::room::Room;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Renew the lease if it is ours; take it if nobody holds it (Redis lost it):
/// 1 renewed, 2 re-created, 0 someone else's.
const RENEW: &str = r#"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"#;

/// Delete the lease only if it is ours.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

impl RedisBroker {
    /// Every 1.5 s: heartbeat, health, subscriptions, and taking over rooms
    /// whose owner is gone.
    pub(super) async fn upkeep(&self, events: &dyn BrokerEvents) {
        let hb = redis::cmd("SET")
            .arg(k_instance(&self.instance))
            .arg(1)
            .arg("PX")
            .arg(HEARTBEAT_MS)
            .clone();
        let ok = self.exec(RedisOp::Heartbeat, None, &hb).await;
        self.set_up(events, ok);
        if !ok {
            return;
        }
        // Resubscribe everything we need (a Redis restart drops subscriptions
        // that automatic resubscription may have missed); idempotent.
        let mut chans: Vec<String> = self.watched.iter().map(|r| ch_out(&r)).collect();
        chans.extend(
            events
                .owned_rooms()
                .iter()
                .filter(|r| !self.intake_closed.contains(*r))
                .map(|r| ch_in(r)),
        );
        if !chans.is_empty() {
            // On failure (counted and logged): the next upkeep tries again.
            self.subscribe(None, &chans).await;
        }
        let generation = self.generation.load(Relaxed);
        let recovered = self.caught_up.swap(generation, Relaxed) != generation;
        // Rooms with members here but no owner: take them over. Rooms hosted
        // elsewhere: deliver anything a dropped subscription missed.
        for room in self.watched.iter().map(|r| r.clone()).collect::<Vec<_>>() {
            if events.hosting(&room) {
                continue;
            }
            if recovered {
                self.catch_up(events, &room, None).await;
            }
            let owner = self
                .query::<Option<String>>(
                    RedisOp::Owner,
                    Some(&room),
                    redis::cmd("GET").arg(k_owner(&room)),
                )
                .await;
            if let Ok(None) = owner {
                if self.orphaned(&room) {
                    // Not taken (someone was faster, or Redis failed: counted
                    // and logged): the next upkeep looks again.
                    self.claim(events, &room).await;
                }
            } else {
                // Owned, or unknown (Redis failed): not an orphan as far as we know.
                self.orphans.remove(&room);
            }
        }
    }

    /// The room has no owner now: may it be taken over? At once, normally
    /// (its lease lapsed or was given back); while Redis is settling, only
    /// once it has looked ownerless for [`ORPHAN_WAIT`] (its owner may only be
    /// storing it again).
    pub(super) fn orphaned(&self, room_id: &str) -> bool {
        let since = *self
            .orphans
            .entry(room_id.to_string())
            .or_insert_with(Instant::now);
        !self.settling() || since.elapsed() >= ORPHAN_WAIT
    }

    /// Try to become the room's owner and host it here from what Redis keeps;
    /// returns whether it is hosted here now.
    pub(super) async fn claim(&self, events: &dyn BrokerEvents, room_id: &str) -> bool {
        if events.hosting(room_id) {
            return true;
        }
        if !self.claiming.insert(room_id.to_string()) {
            return false;
        }
        let r = self.claim_inner(events, room_id).await;
        if r {
            self.orphans.remove(room_id);
        }
        self.claiming.remove(room_id);
        r
    }

    async fn claim_inner(&self, events: &dyn BrokerEvents, room_id: &str) -> bool {
        let got = self
            .query::<Option<String>>(
                RedisOp::Claim,
                Some(room_id),
                redis::cmd("SET")
                    .arg(k_owner(room_id))
                    .arg(&self.instance)
                    .arg("NX")
                    .arg("PX")
                    .arg(LEASE_MS),
            )
            .await;
        if !matches!(got, Ok(Some(_))) {
            return false;
        }
        let key = k_state(room_id);
        let state = self
            .query::<Option<Vec<u8>>>(RedisOp::Claim, Some(room_id), redis::cmd("GET").arg(&key))
            .await;
        let Ok(Some(state)) = state else {
            // No state (the room is gone) or unreadable right now: give the
            // lease back at once.
            self.release_lease(room_id).await;
            return false;
        };
        let Some(state) = self.signer.open(&key, &state) else {
            self.forged("state", room_id);
            self.release_lease(room_id).await;
            return false;
        };
        let Ok(mut room) = serde_json::from_slice::<Room>(state) else {
            tracing::error!(room = %crate::room::log_tag(room_id), "stored room state is unreadable");
            self.release_lease(room_id).await;
            return false;
        };
        let entries = self.load_history(room_id).await;
        room.restore(entries);
        if !self.subscribe(Some(room_id), ch_in(room_id)).await {
            return false;
        }
        tracing::info!(room = %crate::room::log_tag(room_id), "took over room");
        self.mark_saved(room_id, room.seq());
        events.host(room);
        true
    }

    /// Keep the lease of a room hosted here (every 2 s, from its actor); when
    /// Redis lost it or the state is behind, store everything again. Returns
    /// whether the room is still ours.
    pub(super) async fn renew(&self, room: &Room) -> bool {
        let id = &room.info().id;
        let r = self
            .query::<i64>(
                RedisOp::RenewLease,
                Some(id),
                redis::cmd("EVAL")
                    .arg(RENEW)
                    .arg(1)
                    .arg(k_owner(id))
                    .arg(&self.instance)
                    .arg(LEASE_MS),
            )
            .await;
        match r {
            Ok(0) => false,
            Ok(n) => {
                if n == 2
                    || self.state_is_stale(room)
                    || self.backlog.contains_key(id)
                    || self.rewrite_pending.contains(id)
                {
                    // Lease re-created (Redis restarted) or state behind: store it all again.
                    self.save_state(room).await;
                    self.write_meta(id, &RoomMeta::of(room)).await;
                    // On failure (counted and logged): the next renewal re-stores.
                    self.add_to_directory(id).await;
                    // On failure (counted and logged): upkeep subscribes again.
                    self.subscribe(Some(id), ch_in(id)).await;
                }
                true
            }
            // Redis unreachable (counted and logged): keep serving; ownership
            // is settled when it returns.
            Err(_) => true,
        }
    }

    /// Give the room's lease back (if still ours).
    pub(super) async fn release_lease(&self, room_id: &str) {
        let release = redis::cmd("EVAL")
            .arg(RELEASE)
            .arg(1)
            .arg(k_owner(room_id))
            .arg(&self.instance)
            .clone();
        // On failure (counted and logged): the lease lapses within LEASE_MS
        // and another instance takes the room over then.
        self.exec(RedisOp::Release, Some(room_id), &release).await;
    }

    /// Of the instances these members are on, which stopped heartbeating.
    pub(super) async fn dead_instances(
        &self,
        room_id: &str,
        members: &[(String, String)],
    ) -> Vec<String> {
        let mut insts: Vec<&String> = members
            .iter()
            .map(|(_, i)| i)
            .filter(|i| **i != self.instance)
            .collect();
        insts.sort();
        insts.dedup();
        // Just after Redis came back (possibly empty), heartbeats are missing
        // until every instance writes its next one: judge nobody meanwhile.
        let recent = self
            .recovered_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| t.elapsed() < Duration::from_millis(HEARTBEAT_MS + 2_000));
        if insts.is_empty() || recent || !self.up.load(Relaxed) {
            return Vec::new();
        }
        let mut p = redis::pipe();
        for i in &insts {
            p.cmd("EXISTS").arg(k_instance(i));
        }
        match self
            .query_pipe::<Vec<bool>>(RedisOp::Presence, Some(room_id), &p)
            .await
        {
            Ok(alive) => insts
                .into_iter()
                .zip(alive)
                .filter(|(_, a)| !a)
                .map(|(i, _)| i.clone())
                .collect(),
            // Unreachable Redis proves nothing about other instances: assume alive.
            Err(_) => Vec::new(),
        }
    }
}
