//! Several instances as one, through Redis.
//!
//! Each room is hosted by exactly one instance at a time (its *owner*, holding
//! a lease key); the owner runs the room's actor, so every command is applied
//! in one place, in order, and each timer fires once. Other instances forward
//! their sessions' commands to the owner over the room's `in` channel and
//! receive its output batches on the room's `out` channel.
//!
//! Keys (all under `huddle:`), each with a TTL so nothing outlives retention:
//! * `room:{id}:meta`   public info, facilitator key hash, summary (JSON)
//! * `room:{id}:state`  the room model's snapshot (JSON)
//! * `room:{id}:events` a capped stream of event batches (history for resume)
//! * `room:{id}:owner`  the owning instance id (lease, renewed every 2 s)
//! * `instance:{id}`    an instance heartbeat (renewed every 1.5 s)
//! * `rooms`            the set of room ids (for the drop-in list)
//!
//! When the owner dies its lease expires and an instance with members in the
//! room takes it over from `state` + `events`. When Redis goes away, owners
//! keep serving their local members and buffer what they could not publish;
//! when it returns, they re-store what a restart lost and publish the backlog.

use crate::broker::{Broker, BrokerResult};
use crate::hub::{Delivery, Hub, RoomCmd, RoomMeta};
use crate::metrics::Metrics;
use crate::room::{Audience, Control, Room};
use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use dashmap::{DashMap, DashSet};
use huddle_protocol::{ErrorCode, RoomStatus, ServerMsg};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Value};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const LEASE_MS: u64 = 6_000;
const HEARTBEAT_MS: u64 = 6_000;
const KEY_TTL_MS: u64 = 24 * 3600 * 1000;
const HISTORY_BATCHES: usize = 2_000;
/// How often a room's state is saved at most while only chat flows (chat is
/// in the history stream, and a takeover re-applies it from there).
const SAVE_EVERY: Duration = Duration::from_secs(10);
/// How long a room must look ownerless before another instance takes it over.
const ORPHAN_WAIT: Duration = Duration::from_millis(2_500);
/// Unpublished batches kept per room while Redis is away.
const BACKLOG: usize = 5_000;

fn k_meta(id: &str) -> String {
    format!("huddle:room:{id}:meta")
}
fn k_state(id: &str) -> String {
    format!("huddle:room:{id}:state")
}
fn k_events(id: &str) -> String {
    format!("huddle:room:{id}:events")
}
fn k_owner(id: &str) -> String {
    format!("huddle:room:{id}:owner")
}
fn k_instance(id: &str) -> String {
    format!("huddle:instance:{id}")
}
fn ch_out(id: &str) -> String {
    format!("huddle:room:{id}:out")
}
fn ch_in(id: &str) -> String {
    format!("huddle:room:{id}:in")
}
const K_ROOMS: &str = "huddle:rooms";

/// One delivery as it crosses Redis: audience and seq in a JSON header,
/// the frame's own JSON appended raw (never escaped into another string).
/// The publishing instance's id comes first, on a line of its own, so an
/// instance skips its own batches (delivered locally already) without decoding.
#[derive(Serialize, Deserialize)]
enum WireItem {
    F {
        a: Audience,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        s: Option<u64>,
        /// Length in bytes of the frame text in the body.
        n: usize,
    },
    C(Control),
}

/// (The first format had no origin line and a `from` field in the header,
/// which decoding ignores: history written before an upgrade still replays.)
#[derive(Serialize, Deserialize)]
struct WireHead {
    d: Vec<WireItem>,
}

/// `from \n header JSON \n frame frame frame...`; `events_only` keeps what goes
/// to history (room events), leaving out replies such as welcomes and errors.
fn encode(from: &str, batch: &[Delivery], events_only: bool) -> Option<Vec<u8>> {
    let mut head = WireHead {
        d: Vec::with_capacity(batch.len()),
    };
    let mut body: Vec<&[u8]> = Vec::with_capacity(batch.len());
    for d in batch {
        match d {
            Delivery::Frame {
                audience,
                seq,
                text,
                ..
            } => {
                if events_only && seq.is_none() {
                    continue;
                }
                head.d.push(WireItem::F {
                    a: audience.clone(),
                    s: *seq,
                    n: text.len(),
                });
                body.push(text.as_bytes());
            }
            Delivery::Control(c) if !events_only => head.d.push(WireItem::C(c.clone())),
            Delivery::Control(_) => {}
        }
    }
    if head.d.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(from.len() + 64 + body.iter().map(|t| t.len()).sum::<usize>());
    out.extend_from_slice(from.as_bytes());
    out.push(b'\n');
    serde_json::to_writer(&mut out, &head).ok()?;
    out.push(b'\n');
    for t in body {
        out.extend_from_slice(t);
    }
    Some(out)
}

/// The publishing instance of an encoded batch (its first line).
fn origin(payload: &[u8]) -> Option<&[u8]> {
    let nl = payload.iter().position(|b| *b == b'\n')?;
    Some(&payload[..nl])
}

/// The inverse of [`encode`] (the deliveries; [`origin`] reads the rest);
/// `None` for anything malformed.
fn decode(payload: &[u8]) -> Option<Vec<Delivery>> {
    let first = origin(payload)?;
    // The first format has no origin line: it starts with the header.
    let payload = if first.starts_with(b"{") {
        payload
    } else {
        &payload[first.len() + 1..]
    };
    let nl = payload.iter().position(|b| *b == b'\n')?;
    let head: WireHead = serde_json::from_slice(&payload[..nl]).ok()?;
    let body = bytes::Bytes::copy_from_slice(&payload[nl + 1..]);
    let mut off: usize = 0;
    let mut out = Vec::with_capacity(head.d.len());
    for item in head.d {
        match item {
            WireItem::F { a, s, n } => {
                let end = off.checked_add(n).filter(|e| *e <= body.len())?;
                let text = Utf8Bytes::try_from(body.slice(off..end)).ok()?;
                off = end;
                out.push(Delivery::Frame {
                    audience: a,
                    seq: s,
                    light: true,
                    text,
                });
            }
            WireItem::C(c) => out.push(Delivery::Control(c)),
        }
    }
    Some(out)
}

/// One XRANGE entry: (stream id, [(field, value)]).
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// One event from the history stream: (seq, audience, frame).
type HistoryEntry = (u64, Audience, ServerMsg);

struct Saved {
    at: Instant,
    seq: u64,
    generation: u64,
}

pub struct RedisBroker {
    instance: String,
    cmd: ConnectionManager,
    sub: ConnectionManager,
    metrics: Arc<Metrics>,
    hub: OnceLock<Weak<Hub>>,
    up: AtomicBool,
    /// Bumped each time Redis comes back: owners re-store everything.
    generation: AtomicU64,
    saved: DashMap<String, Saved>,
    backlog: DashMap<String, Vec<Arc<Vec<Delivery>>>>,
    watched: DashSet<String>,
    claiming: DashSet<String>,
    /// Last event seq delivered here, per watched room hosted elsewhere.
    delivered: DashMap<String, u64>,
    /// The generation for which gaps were last filled.
    caught_up: AtomicU64,
    /// Rooms seen without an owner, since when.
    orphans: DashMap<String, Instant>,
    /// When Redis last came back after an outage.
    recovered_at: std::sync::Mutex<Option<Instant>>,
    /// Rooms being released: their `in` channel stays unsubscribed.
    intake_closed: DashSet<String>,
    /// `in` channels being unsubscribed → who waits for the confirmation.
    intake_waiters: DashMap<String, tokio::sync::oneshot::Sender<()>>,
}

const RENEW: &str = r#"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

impl RedisBroker {
    /// Connect (fails fast with a clear error if Redis cannot be reached at start).
    pub async fn connect(
        url: &str,
        instance: String,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<(Arc<RedisBroker>, mpsc::UnboundedReceiver<PushInfo>)> {
        let url = if url.contains("protocol=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&protocol=resp3")
        } else {
            format!("{url}?protocol=resp3")
        };
        // No Nagle on the Redis connections either: a publish must not wait
        // for the ACK of the one before it.
        let info = redis::IntoConnectionInfo::into_connection_info(url.as_str())
            .map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client =
            redis::Client::open(info).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?;
        let base = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_max_delay(Duration::from_millis(1000))
            .set_number_of_retries(2);
        let cmd = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_connection_manager_with_config(base.clone()),
        )
        .await
        .map_err(|_| anyhow::anyhow!("timed out connecting to Redis"))?
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let sub = client
            .get_connection_manager_with_config(
                base.set_push_sender(tx).set_automatic_resubscription(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))?;
        let b = Arc::new(RedisBroker {
            instance,
            cmd,
            sub,
            metrics,
            hub: OnceLock::new(),
            up: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            saved: DashMap::new(),
            backlog: DashMap::new(),
            watched: DashSet::new(),
            claiming: DashSet::new(),
            delivered: DashMap::new(),
            caught_up: AtomicU64::new(0),
            orphans: DashMap::new(),
            recovered_at: std::sync::Mutex::new(None),
            intake_closed: DashSet::new(),
            intake_waiters: DashMap::new(),
        });
        Ok((b, rx))
    }

    /// Start the background work: push messages, heartbeats, health, takeovers.
    pub fn start(self: &Arc<Self>, hub: &Arc<Hub>, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
        let _ = self.hub.set(Arc::downgrade(hub));
        let me = self.clone();
        let h = Arc::downgrade(hub);
        tokio::spawn(async move {
            while let Some(p) = pushes.recv().await {
                let Some(hub) = h.upgrade() else { break };
                me.on_push(&hub, p).await;
            }
        });
        let me = self.clone();
        let h = Arc::downgrade(hub);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1500));
            loop {
                tick.tick().await;
                let Some(hub) = h.upgrade() else { break };
                if hub.shutting_down.is_cancelled() {
                    continue;
                }
                me.upkeep(&hub).await;
            }
        });
    }

    fn timed<T>(&self, started: Instant, r: redis::RedisResult<T>) -> redis::RedisResult<T> {
        match &r {
            Ok(_) => {
                self.metrics
                    .redis_rtt_us_sum
                    .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
                Metrics::inc(&self.metrics.redis_rtt_count);
            }
            Err(e) => {
                Metrics::inc(&self.metrics.redis_errors);
                tracing::debug!(error = %e, "redis operation failed");
            }
        }
        r
    }

    async fn query<T: redis::FromRedisValue>(&self, c: &redis::Cmd) -> redis::RedisResult<T> {
        let mut con = self.cmd.clone();
        let t = Instant::now();
        let r = c.query_async(&mut con).await;
        self.timed(t, r)
    }

    async fn query_pipe(&self, p: &redis::Pipeline) -> redis::RedisResult<()> {
        let mut con = self.cmd.clone();
        let t = Instant::now();
        let r = p.query_async::<()>(&mut con).await;
        self.timed(t, r)
    }

    fn set_up(&self, hub: &Hub, up: bool) {
        let was = self.up.swap(up, Relaxed);
        if was && !up {
            tracing::warn!("Redis is unreachable: serving local members only, buffering");
            hub.broadcast_local(&ServerMsg::Notice {
                code: "degraded".into(),
                message: "Connection between servers is interrupted; messages to people on other servers are delayed.".into(),
            });
        } else if !was && up {
            tracing::info!("Redis is back: re-storing rooms and resuming fan-out");
            self.generation.fetch_add(1, Relaxed);
            if let Ok(mut r) = self.recovered_at.lock() {
                *r = Some(Instant::now());
            }
            hub.broadcast_local(&ServerMsg::Notice {
                code: "recovered".into(),
                message: "Connection between servers restored.".into(),
            });
        }
    }

    /// Heartbeat, health, and taking over rooms whose owner is gone.
    async fn upkeep(&self, hub: &Arc<Hub>) {
        let hb = redis::cmd("SET")
            .arg(k_instance(&self.instance))
            .arg(1)
            .arg("PX")
            .arg(HEARTBEAT_MS)
            .clone();
        let ok = self.query::<()>(&hb).await.is_ok();
        self.set_up(hub, ok);
        if !ok {
            return;
        }
        // Resubscribe everything we need (a Redis restart drops subscriptions
        // that automatic resubscription may have missed); idempotent.
        let mut chans: Vec<String> = self.watched.iter().map(|r| ch_out(&r)).collect();
        chans.extend(
            hub.owned_rooms()
                .iter()
                .filter(|r| !self.intake_closed.contains(*r))
                .map(|r| ch_in(r)),
        );
        if !chans.is_empty() {
            let mut sub = self.sub.clone();
            let _ = sub.subscribe(&chans).await;
        }
        let generation = self.generation.load(Relaxed);
        let recovered = self.caught_up.swap(generation, Relaxed) != generation;
        // Rooms with members here but no owner: take them over. Rooms hosted
        // elsewhere: deliver anything a dropped subscription missed.
        for room in self.watched.iter().map(|r| r.clone()).collect::<Vec<_>>() {
            if hub.actor(&room).is_some() {
                continue;
            }
            if recovered {
                self.catch_up(hub, &room, None).await;
            }
            let owner: redis::RedisResult<Option<String>> =
                self.query(redis::cmd("GET").arg(k_owner(&room))).await;
            if let Ok(None) = owner {
                let since = *self
                    .orphans
                    .entry(room.clone())
                    .or_insert_with(Instant::now);
                if since.elapsed() >= ORPHAN_WAIT {
                    self.orphans.remove(&room);
                    self.claim(hub, &room).await;
                }
            } else {
                self.orphans.remove(&room);
            }
        }
    }

    async fn on_push(&self, hub: &Arc<Hub>, p: PushInfo) {
        match p.kind {
            PushKind::Message => {
                let (Some(Value::BulkString(ch)), Some(Value::BulkString(payload))) =
                    (p.data.first(), p.data.get(1))
                else {
                    return;
                };
                let Ok(ch) = std::str::from_utf8(ch) else {
                    return;
                };
                let Some(rest) = ch.strip_prefix("huddle:room:") else {
                    return;
                };
                if let Some(room) = rest.strip_suffix(":out") {
                    // Our own batches (we own the room): delivered locally already.
                    if origin(payload) == Some(self.instance.as_bytes())
                        || hub.actor(room).is_some()
                    {
                        return;
                    }
                    let Some(batch) = decode(payload) else {
                        return;
                    };
                    self.deliver_remote(hub, room, batch).await;
                } else if let Some(room) = rest.strip_suffix(":in") {
                    let Ok(cmd) = serde_json::from_slice::<RoomCmd>(payload) else {
                        return;
                    };
                    if let Some(actor) = hub.actor(room) {
                        let _ = actor.send(cmd).await;
                    }
                }
            }
            PushKind::Unsubscribe => {
                // Every message before this confirmation went to its actor already.
                if let Some(Value::BulkString(ch)) = p.data.first() {
                    if let Ok(ch) = std::str::from_utf8(ch) {
                        if let Some((_, waiter)) = self.intake_waiters.remove(ch) {
                            let _ = waiter.send(());
                        }
                    }
                }
            }
            PushKind::Disconnection => self.set_up(hub, false),
            _ => {}
        }
    }

    /// Try to become the room's owner and host it here from what Redis keeps.
    async fn claim(&self, hub: &Arc<Hub>, room_id: &str) -> bool {
        if hub.actor(room_id).is_some() {
            return true;
        }
        if !self.claiming.insert(room_id.to_string()) {
            return false;
        }
        let r = self.claim_inner(hub, room_id).await;
        self.claiming.remove(room_id);
        r
    }

    async fn claim_inner(&self, hub: &Arc<Hub>, room_id: &str) -> bool {
        let got: redis::RedisResult<Option<String>> = self
            .query(
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
        let state: redis::RedisResult<Option<String>> =
            self.query(redis::cmd("GET").arg(k_state(room_id))).await;
        let Ok(Some(state)) = state else {
            let _ = self
                .query::<()>(
                    redis::cmd("EVAL")
                        .arg(RELEASE)
                        .arg(1)
                        .arg(k_owner(room_id))
                        .arg(&self.instance),
                )
                .await;
            return false;
        };
        let Ok(mut room) = serde_json::from_str::<Room>(&state) else {
            tracing::error!(room = %room_id, "stored room state is unreadable");
            return false;
        };
        let entries = self.load_history(room_id).await;
        room.restore(entries);
        let mut sub = self.sub.clone();
        if sub.subscribe(ch_in(room_id)).await.is_err() {
            return false;
        }
        tracing::info!(room = %room_id, "took over room");
        self.saved.insert(
            room_id.to_string(),
            Saved {
                at: Instant::now(),
                seq: room.seq(),
                generation: self.generation.load(Relaxed),
            },
        );
        hub.spawn_actor(room);
        true
    }

    async fn load_history(&self, room_id: &str) -> Vec<HistoryEntry> {
        let reply: redis::RedisResult<Vec<StreamEntry>> = self
            .query(
                redis::cmd("XRANGE")
                    .arg(k_events(room_id))
                    .arg("-")
                    .arg("+"),
            )
            .await;
        let mut out = Vec::new();
        for (_id, fields) in reply.unwrap_or_default() {
            for (f, v) in fields {
                if f != "b" {
                    continue;
                }
                let Some(batch) = decode(&v) else {
                    continue;
                };
                for d in batch {
                    if let Delivery::Frame {
                        audience,
                        seq: Some(s),
                        text,
                        ..
                    } = d
                    {
                        if let Ok(msg) = serde_json::from_str::<ServerMsg>(text.as_str()) {
                            out.push((s, audience, msg));
                        }
                    }
                }
            }
        }
        out
    }

    /// History first, then fan-out: when another instance receives a batch,
    /// the stream already holds it (so it can fill any gap before it).
    fn batches_pipe(&self, p: &mut redis::Pipeline, id: &str, batches: &[Arc<Vec<Delivery>>]) {
        for b in batches {
            if let Some(events) = encode(&self.instance, b, true) {
                p.cmd("XADD")
                    .arg(k_events(id))
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(HISTORY_BATCHES)
                    .arg("*")
                    .arg("b")
                    .arg(events)
                    .ignore();
            }
            if let Some(all) = encode(&self.instance, b, false) {
                p.cmd("PUBLISH").arg(ch_out(id)).arg(all).ignore();
            }
        }
    }

    /// Deliver a batch from another instance to local sessions, first filling
    /// any gap in the room's seq from the history stream (e.g. after an outage)
    /// and skipping events already delivered.
    async fn deliver_remote(&self, hub: &Arc<Hub>, room: &str, batch: Vec<Delivery>) {
        let first = batch.iter().find_map(|d| match d {
            Delivery::Frame { seq: Some(s), .. } => Some(*s),
            _ => None,
        });
        let last = self.delivered.get(room).map(|v| *v).unwrap_or(0);
        if let Some(first) = first {
            if last > 0 && first > last + 1 {
                self.catch_up(hub, room, Some(first)).await;
            }
        }
        let last = self.delivered.get(room).map(|v| *v).unwrap_or(0);
        let mut max = last;
        let batch: Vec<Delivery> = batch
            .into_iter()
            .filter(|d| match d {
                Delivery::Frame { seq: Some(s), .. } => {
                    max = max.max(*s);
                    last == 0 || *s > last
                }
                _ => true,
            })
            .collect();
        if max > last {
            self.delivered.insert(room.to_string(), max);
        }
        hub.deliver_local(room, &batch);
    }

    /// Deliver from the history stream what this instance's sessions missed
    /// (events after the last delivered seq, before `until`).
    async fn catch_up(&self, hub: &Arc<Hub>, room: &str, until: Option<u64>) {
        let last = self.delivered.get(room).map(|v| *v).unwrap_or(0);
        if last == 0 {
            return;
        }
        let missed: Vec<Delivery> = self
            .load_history(room)
            .await
            .into_iter()
            .filter(|(s, _, _)| *s > last && until.is_none_or(|u| *s < u))
            .filter_map(|(s, a, m)| {
                serde_json::to_string(&m).ok().map(|t| Delivery::Frame {
                    audience: a,
                    seq: Some(s),
                    light: true,
                    text: Utf8Bytes::from(t),
                })
            })
            .collect();
        if let Some(Delivery::Frame { seq: Some(s), .. }) = missed.last() {
            tracing::info!(room = %room, missed = missed.len(), "filled a gap from history");
            self.delivered.insert(room.to_string(), *s);
            hub.deliver_local(room, &missed);
        }
    }

    fn state_pipe(&self, p: &mut redis::Pipeline, room: &Room) {
        let id = &room.info().id;
        let ttl = self.ttl_for(room);
        if let Ok(json) = serde_json::to_string(room) {
            p.cmd("SET")
                .arg(k_state(id))
                .arg(json)
                .arg("PX")
                .arg(ttl)
                .ignore();
        }
        if room.info().status == RoomStatus::Closed {
            // The transcript lives only for the session.
            p.cmd("DEL").arg(k_events(id)).ignore();
        } else {
            p.cmd("PEXPIRE").arg(k_events(id)).arg(ttl).ignore();
        }
    }

    fn ttl_for(&self, room: &Room) -> u64 {
        match self.hub.get().and_then(|h| h.upgrade()) {
            Some(h) if room.info().status == RoomStatus::Closed => {
                (h.cfg.retention_mins * 60_000).max(60_000)
            }
            _ => KEY_TTL_MS,
        }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn create(&self, hub: &Arc<Hub>, room: Room) -> BrokerResult<()> {
        let id = room.info().id.clone();
        let meta = RoomMeta {
            public: room.public(),
            key_hash: room.key_hash().to_string(),
            summary: None,
            updated: crate::hub::now_ms(),
        };
        let mut p = redis::pipe();
        p.cmd("SET")
            .arg(k_owner(&id))
            .arg(&self.instance)
            .arg("PX")
            .arg(LEASE_MS)
            .ignore();
        self.state_pipe(&mut p, &room);
        p.cmd("SET")
            .arg(k_meta(&id))
            .arg(serde_json::to_string(&meta).unwrap_or_default())
            .arg("PX")
            .arg(KEY_TTL_MS)
            .ignore();
        p.cmd("SADD").arg(K_ROOMS).arg(&id).ignore();
        if self.query_pipe(&p).await.is_err() {
            return Err((
                ErrorCode::Unavailable,
                "storage is unavailable right now; try again shortly".into(),
            ));
        }
        let mut sub = self.sub.clone();
        let _ = sub.subscribe(ch_in(&id)).await;
        self.saved.insert(
            id,
            Saved {
                at: Instant::now(),
                seq: room.seq(),
                generation: self.generation.load(Relaxed),
            },
        );
        hub.spawn_actor(room);
        Ok(())
    }

    async fn submit(&self, hub: &Arc<Hub>, room_id: &str, cmd: RoomCmd) -> BrokerResult<()> {
        let deadline = Instant::now() + Duration::from_millis(LEASE_MS + 2_000);
        let payload = serde_json::to_string(&cmd)
            .map_err(|_| (ErrorCode::Internal, "could not encode command".to_string()))?;
        // Nobody listening may only mean the owner is resubscribing (Redis just
        // came back): wait a moment before taking the room over.
        let mut unheard_since: Option<Instant> = None;
        loop {
            if let Some(actor) = hub.actor(room_id) {
                return actor
                    .send(cmd)
                    .await
                    .map_err(|_| (ErrorCode::Unavailable, "the room is moving; retry".into()));
            }
            let n: redis::RedisResult<usize> = self
                .query(redis::cmd("PUBLISH").arg(ch_in(room_id)).arg(&payload))
                .await;
            match n {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) => {
                    // Nobody hosts it: take it over (or wait for the old lease to lapse).
                    let since = *unheard_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= ORPHAN_WAIT && self.claim(hub, room_id).await {
                        continue;
                    }
                    let exists: redis::RedisResult<bool> =
                        self.query(redis::cmd("EXISTS").arg(k_state(room_id))).await;
                    if let Ok(false) = exists {
                        return Err((ErrorCode::RoomNotFound, "no such room".into()));
                    }
                }
                Err(_) => {}
            }
            if Instant::now() > deadline {
                return Err((
                    ErrorCode::Unavailable,
                    "the room is unavailable right now; try again shortly".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn publish(&self, hub: &Hub, room: &Room, batch: Arc<Vec<Delivery>>) {
        let id = &room.info().id;
        hub.deliver_local(id, &batch);
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
        match self.query_pipe(&p).await {
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
            Err(_) => {
                if pending.len() > BACKLOG {
                    let drop = pending.len() - BACKLOG;
                    pending.drain(..drop);
                }
                self.backlog.insert(id.clone(), pending);
            }
        }
    }

    async fn store_meta(&self, room_id: &str, meta: &RoomMeta) {
        let ttl = if meta.public.info.status == RoomStatus::Closed {
            self.hub
                .get()
                .and_then(|h| h.upgrade())
                .map(|h| (h.cfg.retention_mins * 60_000).max(60_000))
                .unwrap_or(KEY_TTL_MS)
        } else {
            KEY_TTL_MS
        };
        if let Ok(json) = serde_json::to_string(meta) {
            let _ = self
                .query::<()>(
                    redis::cmd("SET")
                        .arg(k_meta(room_id))
                        .arg(json)
                        .arg("PX")
                        .arg(ttl),
                )
                .await;
        }
    }

    async fn meta(&self, room_id: &str) -> Option<RoomMeta> {
        let v: Option<String> = self
            .query(redis::cmd("GET").arg(k_meta(room_id)))
            .await
            .ok()?;
        serde_json::from_str(&v?).ok()
    }

    async fn list_meta(&self) -> Vec<RoomMeta> {
        let ids: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(K_ROOMS))
            .await
            .unwrap_or_default();
        if ids.is_empty() {
            return Vec::new();
        }
        let keys: Vec<String> = ids.iter().map(|i| k_meta(i)).collect();
        let vals: Vec<Option<String>> = self
            .query(redis::cmd("MGET").arg(&keys))
            .await
            .unwrap_or_default();
        let mut gone = Vec::new();
        let mut out = Vec::new();
        for (id, v) in ids.iter().zip(vals) {
            match v.and_then(|v| serde_json::from_str(&v).ok()) {
                Some(m) => out.push(m),
                None => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            let _ = self
                .query::<()>(redis::cmd("SREM").arg(K_ROOMS).arg(&gone))
                .await;
        }
        out
    }

    async fn watch(&self, room_id: &str) {
        self.watched.insert(room_id.to_string());
        let mut sub = self.sub.clone();
        let _ = sub.subscribe(ch_out(room_id)).await;
    }

    async fn unwatch(&self, room_id: &str) {
        self.watched.remove(room_id);
        self.delivered.remove(room_id);
        let mut sub = self.sub.clone();
        let _ = sub.unsubscribe(ch_out(room_id)).await;
    }

    async fn lost_instances(&self, members: &[(String, String)]) -> Vec<String> {
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
            .ok()
            .and_then(|r| *r)
            .is_some_and(|t| t.elapsed() < Duration::from_millis(HEARTBEAT_MS + 2_000));
        if insts.is_empty() || recent || !self.up.load(Relaxed) {
            return Vec::new();
        }
        let mut p = redis::pipe();
        for i in &insts {
            p.cmd("EXISTS").arg(k_instance(i));
        }
        let mut con = self.cmd.clone();
        let t = Instant::now();
        let r: redis::RedisResult<Vec<bool>> = p.query_async(&mut con).await;
        // Unreachable Redis proves nothing about other instances: assume alive.
        match self.timed(t, r) {
            Ok(alive) => insts
                .into_iter()
                .zip(alive)
                .filter(|(_, a)| !a)
                .map(|(i, _)| i.clone())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    async fn maintain(&self, room: &Room) -> bool {
        let id = &room.info().id;
        let r: redis::RedisResult<i64> = self
            .query(
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
                let generation = self.generation.load(Relaxed);
                let stale = self.saved.get(id).is_none_or(|s| {
                    s.generation != generation
                        || (s.seq != room.seq() && s.at.elapsed() >= SAVE_EVERY)
                });
                if n == 2 || stale || self.backlog.contains_key(id) {
                    // Lease re-created (Redis restarted) or state behind: store it all again.
                    self.persist(room).await;
                    let meta = RoomMeta {
                        public: room.public(),
                        key_hash: room.key_hash().to_string(),
                        summary: room.summary().cloned(),
                        updated: crate::hub::now_ms(),
                    };
                    self.store_meta(id, &meta).await;
                    let _ = self
                        .query::<()>(redis::cmd("SADD").arg(K_ROOMS).arg(id))
                        .await;
                    let mut sub = self.sub.clone();
                    let _ = sub.subscribe(ch_in(id)).await;
                }
                true
            }
            // Redis unreachable: keep serving; ownership is settled when it returns.
            Err(_) => true,
        }
    }

    async fn persist(&self, room: &Room) {
        let id = &room.info().id;
        let backlog = self.backlog.remove(id).map(|(_, v)| v).unwrap_or_default();
        let mut p = redis::pipe();
        self.batches_pipe(&mut p, id, &backlog);
        self.state_pipe(&mut p, room);
        match self.query_pipe(&p).await {
            Ok(()) => {
                self.saved.insert(
                    id.clone(),
                    Saved {
                        at: Instant::now(),
                        seq: room.seq(),
                        generation: self.generation.load(Relaxed),
                    },
                );
            }
            Err(_) => {
                self.backlog.insert(id.clone(), backlog);
            }
        }
    }

    async fn dropped(&self, _hub: &Arc<Hub>, room_id: &str) {
        let mut p = redis::pipe();
        p.cmd("DEL")
            .arg(k_meta(room_id))
            .arg(k_state(room_id))
            .arg(k_events(room_id))
            .arg(k_owner(room_id))
            .ignore();
        p.cmd("SREM").arg(K_ROOMS).arg(room_id).ignore();
        let _ = self.query_pipe(&p).await;
        self.released_local(room_id).await;
    }

    async fn released(&self, _hub: &Arc<Hub>, room_id: &str) {
        let _ = self
            .query::<()>(
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(k_owner(room_id))
                    .arg(&self.instance),
            )
            .await;
        self.released_local(room_id).await;
    }

    async fn close_intake(&self, room_id: &str) {
        self.intake_closed.insert(room_id.to_string());
        let ch = ch_in(room_id);
        let (waiter, confirmed) = tokio::sync::oneshot::channel();
        self.intake_waiters.insert(ch.clone(), waiter);
        let mut sub = self.sub.clone();
        if sub.unsubscribe(&ch).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_millis(500), confirmed).await;
        }
        self.intake_waiters.remove(&ch);
    }

    fn ready(&self) -> bool {
        self.up.load(Relaxed)
    }
}

impl RedisBroker {
    async fn released_local(&self, room_id: &str) {
        self.saved.remove(room_id);
        self.backlog.remove(room_id);
        let mut sub = self.sub.clone();
        let _ = sub.unsubscribe(ch_in(room_id)).await;
        self.intake_closed.remove(room_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(a: Audience, s: Option<u64>, t: &str) -> Delivery {
        Delivery::Frame {
            audience: a,
            seq: s,
            light: false,
            text: Utf8Bytes::from(t.to_string()),
        }
    }

    #[test]
    fn wire_framing_round_trips_and_filters_history() {
        let batch = vec![
            frame(
                Audience::All,
                Some(7),
                r#"{"type":"event","seq":7,"x":"a\nb \"q\""}"#,
            ),
            Delivery::Control(Control::Bind {
                conn: "c".into(),
                member: "m".into(),
            }),
            frame(
                Audience::Conn("c".into()),
                None,
                r#"{"type":"welcome","é":"ü"}"#,
            ),
            frame(Audience::Members(vec!["m".into()]), Some(8), "{}"),
        ];
        let bytes = encode("inst", &batch, false).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(origin(&bytes), Some(&b"inst"[..]));
        assert_eq!(back.len(), 4);
        let texts: Vec<String> = back
            .iter()
            .filter_map(|d| match d {
                Delivery::Frame { text, .. } => Some(text.as_str().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                r#"{"type":"event","seq":7,"x":"a\nb \"q\""}"#,
                r#"{"type":"welcome","é":"ü"}"#,
                "{}"
            ]
        );
        // History keeps only events (no welcome, no controls).
        let hist = decode(&encode("inst", &batch, true).unwrap()).unwrap();
        let seqs: Vec<Option<u64>> = hist
            .iter()
            .map(|d| match d {
                Delivery::Frame { seq, .. } => *seq,
                Delivery::Control(_) => Some(0),
            })
            .collect();
        assert_eq!(seqs, vec![Some(7), Some(8)]);
        // The first format (no origin line, `from` in the header) still decodes.
        let legacy = br#"{"from":"old","d":[{"F":{"a":"all","s":3,"n":2}}]}
{}"#;
        let old = decode(legacy).unwrap();
        assert!(
            matches!(&old[..], [Delivery::Frame { seq: Some(3), text, .. }] if text.as_str() == "{}")
        );
        // Nothing to keep → nothing written.
        assert!(encode("i", &batch[1..3], true).is_none());
    }

    #[test]
    fn malformed_wire_payloads_are_rejected_without_panic() {
        assert!(decode(b"").is_none());
        assert!(decode(b"not json\n").is_none());
        let bytes = encode("i", &[frame(Audience::All, Some(1), "hello")], false).unwrap();
        // Truncated body: the declared length runs past the end.
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        // Invalid UTF-8 in a frame.
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 1] = 0xff;
        assert!(decode(&bad).is_none());
    }
}
