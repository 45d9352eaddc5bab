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
//! * `room:{id}:events` a capped stream of event batches (history for resume);
//!   rebuilt from the model when a message is deleted, and deleted with the
//!   conversation when the last member leaves
//! * `room:{id}:owner`  the owning instance id (lease, renewed every 2 s)
//! * `instance:{id}`    an instance heartbeat (renewed every 1.5 s)
//! * `rooms`            the set of room ids (for the drop-in list)
//!
//! When the owner dies its lease expires and an instance with members in the
//! room takes it over from `state` + `events`. When Redis goes away, owners
//! keep serving their local members and buffer what they could not publish;
//! when it returns, they re-store what a restart lost and publish the backlog.
//!
//! Files: this one (connections, push messages, commands in, the [`Broker`]
//! impl), [`wire`] (the batch codec), [`lease`] (heartbeats, ownership,
//! takeover), [`history`] (the events stream, fan-out, gap fill), [`store`]
//! (state, metadata, the directory), [`sign`] (signatures, with
//! `--redis-signing-key`).
//!
//! Security: `rediss://` (rustls, `--redis-ca-file` for a private CA), the ACL
//! user of `deploy/redis-acl.conf` (exactly the commands used here: a new
//! command goes there too), no secret stored in plaintext (hashes only; the
//! history keeps no one-on-one key), and while Redis cannot tell (down, or
//! just back and not refilled: [`SETTLE`]) nothing is answered "not found".
//!
//! Every Redis call goes through [`RedisBroker::query`] (or `exec`,
//! `subscribe`, `unsubscribe`): a failure is counted in
//! `huddle_redis_errors_total{op}` and logged there, once, with the room and
//! the operation (never keys or bodies); each caller then decides what to do
//! (keep serving, buffer, retry, answer `unavailable`).

mod history;
mod lease;
mod sign;
mod store;
mod wire;

use crate::broker::{Broker, BrokerEvents, Delivery, EventsSlot, RoomCmd, RoomMeta, Undelivered};
use crate::config::Config;
use crate::error::BrokerError;
use crate::metrics::{Metrics, RedisOp};
use crate::room::Room;
use anyhow::Context;
use async_trait::async_trait;
use dashmap::{DashMap, DashSet};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Value};
use sign::Signer;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const LEASE_MS: u64 = 6_000;
const HEARTBEAT_MS: u64 = 6_000;
const KEY_TTL_MS: u64 = 24 * 3600 * 1000;
/// Just after Redis came back (possibly empty), how long a missing key
/// proves nothing: every owner stores its rooms and leases again within its
/// next renewal (2 s) and every instance writes its heartbeat.
const SETTLE: Duration = Duration::from_millis(HEARTBEAT_MS + 2_000);
/// While settling, how long a room must look ownerless before another
/// instance takes it over (its owner may only be re-storing it).
const ORPHAN_WAIT: Duration = Duration::from_millis(2_500);
/// How long a resume waits for a room that is between owners before it
/// answers `unavailable` (retry): a resume must not wait for the takeover,
/// or be applied after its client gave up (spending its single-use token).
const RESUME_WAIT: Duration = Duration::from_millis(800);
/// At most one warning per operation in this time (an outage fails every
/// call; /metrics counts them all).
const WARN_EVERY_MS: u64 = 1_000;

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

/// When a room's state was last saved, and how far.
struct Saved {
    at: Instant,
    seq: u64,
    generation: u64,
}

impl RedisBroker {
    /// The room's state is saved in Redis up to `seq`, now, in this
    /// connection generation.
    fn mark_saved(&self, id: &str, seq: u64) {
        self.saved.insert(
            id.to_string(),
            Saved {
                at: Instant::now(),
                seq,
                generation: self.generation.load(Relaxed),
            },
        );
    }
}

/// Rate limit of one operation's warnings.
#[derive(Default)]
struct WarnGate {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl WarnGate {
    /// Whether a line may be written now (at most one per `WARN_EVERY_MS`):
    /// `Some(lines left out since the last one)`, or `None` (this one is
    /// left out and counted).
    fn pass(&self) -> Option<u64> {
        let now = crate::now_ms();
        let last = self.last_ms.load(Relaxed);
        if now.saturating_sub(last) < WARN_EVERY_MS
            || self
                .last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_err()
        {
            self.suppressed.fetch_add(1, Relaxed);
            return None;
        }
        Some(self.suppressed.swap(0, Relaxed))
    }
}

pub struct RedisBroker {
    instance: String,
    cmd: ConnectionManager,
    sub: ConnectionManager,
    metrics: Arc<Metrics>,
    events: EventsSlot,
    /// Push messages (subscriptions), taken by `start`.
    pushes: Mutex<Option<mpsc::UnboundedReceiver<PushInfo>>>,
    /// TTL of a closed room's keys (its retention).
    closed_ttl_ms: u64,
    up: AtomicBool,
    /// Bumped each time Redis comes back: owners re-store everything.
    generation: AtomicU64,
    saved: DashMap<String, Saved>,
    backlog: DashMap<String, Vec<Arc<Vec<Delivery>>>>,
    /// Rooms whose history stream must be rebuilt from the model (a rewrite
    /// failed: Redis was away); the next save does it.
    rewrite_pending: DashSet<String>,
    watched: DashSet<String>,
    claiming: DashSet<String>,
    /// Last event seq delivered here, per watched room hosted elsewhere.
    delivered: DashMap<String, u64>,
    /// The generation for which gaps were last filled.
    caught_up: AtomicU64,
    /// Rooms seen without an owner, since when.
    orphans: DashMap<String, Instant>,
    /// When Redis last came back after an outage.
    recovered_at: Mutex<Option<Instant>>,
    /// Metadata of the rooms hosted here, as last stored by their actors:
    /// the owner answers for its own rooms even while Redis is away.
    local_meta: DashMap<String, RoomMeta>,
    /// Rooms being released: their `in` channel stays unsubscribed.
    intake_closed: DashSet<String>,
    /// `in` channels being unsubscribed → who waits for the confirmation.
    intake_waiters: DashMap<String, tokio::sync::oneshot::Sender<()>>,
    warn_gates: [WarnGate; RedisOp::ALL.len()],
    /// Signs what this instance writes for the others, checks what it reads.
    signer: Signer,
    /// Rate limit of the "forged message" warnings.
    forged_gate: WarnGate,
}

impl RedisBroker {
    /// Connect (fails fast with a clear error if Redis cannot be reached at
    /// start): `--redis-url` (redis:// or rediss:// for TLS, with rustls),
    /// `--redis-ca-file` (a private CA for rediss://), `--redis-signing-key`,
    /// and `--retention-mins` (how long a closed room's keys are kept).
    pub async fn connect(
        cfg: &Config,
        instance: String,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Arc<RedisBroker>> {
        let url = cfg.redis_url.as_deref().context("no Redis URL")?;
        let signer = Signer::new(cfg.redis_signing_key.as_ref().map(|k| k.expose()))?;
        let tls = url.starts_with("rediss://");
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
        // No CLIENT SETINFO on connect: one command less for the ACL user to
        // need (deploy/redis-acl.conf), and Redis < 7.2 does not know it.
        let settings = info.redis_settings().clone().set_skip_set_lib_name();
        let info = info.set_redis_settings(settings);
        if tls
            && rustls::crypto::ring::default_provider()
                .install_default()
                .is_err()
        {
            tracing::debug!("a rustls crypto provider was installed already");
        }
        let client = match &cfg.redis_ca_file {
            Some(path) => {
                anyhow::ensure!(tls, "--redis-ca-file needs a rediss:// URL");
                let ca = std::fs::read(path)
                    .with_context(|| format!("reading the Redis CA from {}", path.display()))?;
                redis::Client::build_with_tls(
                    info,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(ca),
                    },
                )
                .map_err(|e| anyhow::anyhow!("invalid Redis TLS settings: {e}"))?
            }
            None => {
                redis::Client::open(info).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?
            }
        };
        let retention_mins = cfg.retention_mins;
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
        Ok(Arc::new(RedisBroker {
            instance,
            cmd,
            sub,
            metrics,
            events: EventsSlot::default(),
            pushes: Mutex::new(Some(rx)),
            closed_ttl_ms: (retention_mins * 60_000).max(60_000),
            up: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            saved: DashMap::new(),
            backlog: DashMap::new(),
            rewrite_pending: DashSet::new(),
            watched: DashSet::new(),
            claiming: DashSet::new(),
            delivered: DashMap::new(),
            caught_up: AtomicU64::new(0),
            orphans: DashMap::new(),
            recovered_at: Mutex::new(None),
            local_meta: DashMap::new(),
            intake_closed: DashSet::new(),
            intake_waiters: DashMap::new(),
            warn_gates: Default::default(),
            signer,
            forged_gate: WarnGate::default(),
        }))
    }

    // ----- every Redis call goes through these -----

    /// A failed Redis operation: counted, and logged with the room and the
    /// operation (at most one line per operation a second; the line says how
    /// many were left out). Never keys, bodies or tokens.
    fn failed(&self, op: RedisOp, room: Option<&str>, e: &redis::RedisError) {
        self.metrics.redis_error(op);
        let Some(suppressed) = self.warn_gates[op.index()].pass() else {
            return;
        };
        tracing::warn!(
            room = %room.map_or_else(|| "-".to_string(), crate::room::log_tag),
            op = %op,
            error = %e,
            suppressed,
            "redis operation failed"
        );
    }

    /// A value from Redis that is unsigned or whose signature does not
    /// verify (`--redis-signing-key`): dropped by the caller, counted here,
    /// and logged (at most one line a second) with the room and what it was.
    fn forged(&self, what: &'static str, room: &str) {
        Metrics::inc(&self.metrics.redis_forged);
        let Some(suppressed) = self.forged_gate.pass() else {
            return;
        };
        tracing::warn!(
            room = %crate::room::log_tag(room),
            what,
            suppressed,
            "unsigned or forged message from Redis dropped"
        );
    }

    fn timed<T>(
        &self,
        op: RedisOp,
        room: Option<&str>,
        started: Instant,
        r: redis::RedisResult<T>,
    ) -> Result<T, BrokerError> {
        match r {
            Ok(v) => {
                self.metrics
                    .redis_rtt_us_sum
                    .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
                Metrics::inc(&self.metrics.redis_rtt_count);
                Ok(v)
            }
            Err(source) => {
                self.failed(op, room, &source);
                Err(BrokerError::Redis { op, source })
            }
        }
    }

    /// One command (timed; a failure is counted and logged here).
    async fn query<T: redis::FromRedisValue>(
        &self,
        op: RedisOp,
        room: Option<&str>,
        c: &redis::Cmd,
    ) -> Result<T, BrokerError> {
        let mut con = self.cmd.clone();
        let t = Instant::now();
        let r = c.query_async(&mut con).await;
        self.timed(op, room, t, r)
    }

    /// One pipeline (timed; a failure is counted and logged here).
    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        op: RedisOp,
        room: Option<&str>,
        p: &redis::Pipeline,
    ) -> Result<T, BrokerError> {
        let mut con = self.cmd.clone();
        let t = Instant::now();
        let r = p.query_async(&mut con).await;
        self.timed(op, room, t, r)
    }

    /// A write whose failure leaves nothing for the caller to do but go on
    /// (counted and logged in `query`; what repairs it is said at the call).
    /// Returns whether it was done.
    async fn exec(&self, op: RedisOp, room: Option<&str>, c: &redis::Cmd) -> bool {
        self.query::<()>(op, room, c).await.is_ok()
    }

    /// Subscribe to channels; returns whether it was done (a failure is
    /// counted and logged here).
    async fn subscribe<C: redis::ToRedisArgs + Send + Sync>(
        &self,
        room: Option<&str>,
        chans: C,
    ) -> bool {
        let mut sub = self.sub.clone();
        match sub.subscribe(chans).await {
            Ok(()) => true,
            Err(e) => {
                self.failed(RedisOp::Subscribe, room, &e);
                false
            }
        }
    }

    /// Unsubscribe from a channel; returns whether it was done (a failure is
    /// counted and logged here).
    async fn unsubscribe(&self, room: &str, chan: &str) -> bool {
        let mut sub = self.sub.clone();
        match sub.unsubscribe(chan).await {
            Ok(()) => true,
            Err(e) => {
                self.failed(RedisOp::Unsubscribe, Some(room), &e);
                false
            }
        }
    }

    // ----- health -----

    /// Redis is away, or came back moments ago and the rooms' owners have
    /// not stored everything again yet: a missing key proves nothing.
    fn settling(&self) -> bool {
        !self.up.load(Relaxed)
            || self
                .recovered_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some_and(|t| t.elapsed() < SETTLE)
    }

    fn set_up(&self, events: &dyn BrokerEvents, up: bool) {
        let was = self.up.swap(up, Relaxed);
        if was && !up {
            tracing::warn!("Redis is unreachable: serving local members only, buffering");
            events.notice_all(
                "degraded",
                "Connection between servers is interrupted; messages to people on other servers are delayed.",
            );
        } else if !was && up {
            tracing::info!("Redis is back: re-storing rooms and resuming fan-out");
            self.generation.fetch_add(1, Relaxed);
            *self.recovered_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            events.notice_all("recovered", "Connection between servers restored.");
        }
    }

    // ----- what Redis pushes to us -----

    async fn on_push(&self, events: &dyn BrokerEvents, p: PushInfo) {
        match p.kind {
            PushKind::Message => {
                let (Some(Value::BulkString(ch)), Some(Value::BulkString(payload))) =
                    (p.data.first(), p.data.get(1))
                else {
                    return;
                };
                let Some(rest) = std::str::from_utf8(ch)
                    .ok()
                    .and_then(|ch| ch.strip_prefix("huddle:room:"))
                else {
                    return;
                };
                let Some(payload) = self.signer.open(&String::from_utf8_lossy(ch), payload) else {
                    let room = rest.rsplit_once(':').map_or(rest, |(r, _)| r);
                    self.forged("message", room);
                    return;
                };
                if let Some(room) = rest.strip_suffix(":out") {
                    // Our own batches (we own the room): delivered locally already.
                    if wire::origin(payload) == Some(self.instance.as_bytes())
                        || events.hosting(room)
                    {
                        return;
                    }
                    let Some(batch) = wire::decode(payload) else {
                        tracing::warn!(room = %crate::room::log_tag(room), "undecodable batch from another instance; dropped");
                        return;
                    };
                    self.deliver_remote(events, room, batch).await;
                } else if let Some(room) = rest.strip_suffix(":in") {
                    let Ok(cmd) = serde_json::from_slice::<RoomCmd>(payload) else {
                        tracing::warn!(room = %crate::room::log_tag(room), "undecodable command from another instance; dropped");
                        return;
                    };
                    if let Err(e) = events.command_arrived(room, cmd).await {
                        // The room stopped here since the sender published
                        // (handover): its next command finds the new owner.
                        tracing::debug!(room = %room, ?e, "forwarded command not queued");
                    }
                }
            }
            PushKind::Unsubscribe => {
                // Every message before this confirmation went to its actor already.
                if let Some(Value::BulkString(ch)) = p.data.first() {
                    if let Ok(ch) = std::str::from_utf8(ch) {
                        if let Some((_, waiter)) = self.intake_waiters.remove(ch) {
                            // The waiter may have given up (timeout): nobody to tell then.
                            let _ = waiter.send(());
                        }
                    }
                }
            }
            PushKind::Disconnection => self.set_up(events, false),
            _ => {}
        }
    }

    /// Forget a room that stopped here (its `in` channel, what was pending).
    async fn released_local(&self, room_id: &str) {
        self.saved.remove(room_id);
        self.backlog.remove(room_id);
        self.rewrite_pending.remove(room_id);
        self.local_meta.remove(room_id);
        // On failure (counted and logged): commands still arriving for the room
        // find no actor here and are dropped (logged at debug).
        self.unsubscribe(room_id, &ch_in(room_id)).await;
        self.intake_closed.remove(room_id);
    }
}

#[async_trait]
impl Broker for RedisBroker {
    /// Start the background work: push messages, heartbeats, health, takeovers.
    fn start(self: Arc<Self>, events: Weak<dyn BrokerEvents>, shutdown: CancellationToken) {
        self.events.set(events);
        let pushes = self.pushes.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut pushes) = pushes {
            let me = self.clone();
            tokio::spawn(async move {
                while let Some(p) = pushes.recv().await {
                    let Some(events) = me.events.get() else { break };
                    me.on_push(&*events, p).await;
                }
            });
        }
        let me = self;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1500));
            loop {
                tick.tick().await;
                let Some(events) = me.events.get() else { break };
                if shutdown.is_cancelled() {
                    continue;
                }
                me.upkeep(&*events).await;
            }
        });
    }

    async fn create(&self, room: Room) -> Result<(), BrokerError> {
        self.create_room(room).await
    }

    async fn submit(&self, room_id: &str, cmd: RoomCmd) -> Result<(), BrokerError> {
        // A resume spends its token when applied: it never waits for a
        // takeover (its client may give up and retry meanwhile) but answers
        // `unavailable` at once, unheard, so the retry finds the token intact.
        let resume = matches!(
            &cmd,
            RoomCmd::Join {
                resume: Some(_),
                ..
            }
        );
        let wait = if resume {
            RESUME_WAIT
        } else {
            Duration::from_millis(LEASE_MS + 2_000)
        };
        let deadline = Instant::now() + wait;
        let payload = serde_json::to_string(&cmd).map_err(BrokerError::Encode)?;
        let payload = self.signer.seal(&ch_in(room_id), payload);
        let Some(events) = self.events.get() else {
            return Err(BrokerError::RoomUnavailable);
        };
        let mut cmd = cmd;
        loop {
            cmd = match events.command_arrived(room_id, cmd).await {
                Ok(()) => return Ok(()),
                Err(Undelivered::Stopped) => return Err(BrokerError::RoomMoving),
                Err(Undelivered::NotHosted(cmd)) => cmd,
            };
            let n = self
                .query::<usize>(
                    RedisOp::Forward,
                    Some(room_id),
                    redis::cmd("PUBLISH").arg(ch_in(room_id)).arg(&payload),
                )
                .await;
            match n {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) => {
                    // Nobody heard it (so nothing was applied). Whose is the room?
                    let owner = self
                        .query::<Option<String>>(
                            RedisOp::Owner,
                            Some(room_id),
                            redis::cmd("GET").arg(k_owner(room_id)),
                        )
                        .await;
                    match owner {
                        // Nobody's: take it over (while settling, only once it
                        // has looked ownerless for a while: its owner may be
                        // storing it again).
                        Ok(None) => {
                            if self.orphaned(room_id) && self.claim(&*events, room_id).await {
                                continue;
                            }
                        }
                        // Its lease lives on: the owner just died or is handing
                        // it over. A resume answers now (retry); others wait.
                        Ok(Some(_)) if resume => return Err(BrokerError::RoomMoving),
                        Ok(Some(_)) => {}
                        // Counted and logged: Redis may be back in a moment.
                        Err(_) if !self.up.load(Relaxed) => {
                            return Err(BrokerError::RoomUnavailable)
                        }
                        Err(_) => {}
                    }
                    let exists = self
                        .query::<bool>(
                            RedisOp::RoomExists,
                            Some(room_id),
                            redis::cmd("EXISTS").arg(k_state(room_id)),
                        )
                        .await;
                    // No state: no such room — unless Redis just came back
                    // and the owner has not stored it again yet.
                    if let Ok(false) = exists {
                        if !self.settling() {
                            return Err(BrokerError::RoomNotFound);
                        }
                    }
                    // It exists, or Redis could not say (counted and logged): retry.
                }
                // Counted and logged. A known outage answers at once (the
                // client retries; nothing was sent); otherwise Redis may be
                // back in a moment: retry until the deadline.
                Err(_) if !self.up.load(Relaxed) => return Err(BrokerError::RoomUnavailable),
                Err(_) => {}
            }
            if Instant::now() > deadline {
                return Err(if resume {
                    BrokerError::RoomMoving
                } else {
                    BrokerError::RoomUnavailable
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn publish(&self, room: &Room, batch: Arc<Vec<Delivery>>) {
        self.publish_batch(room, batch).await
    }

    async fn store_meta(&self, room_id: &str, meta: &RoomMeta) {
        self.write_meta(room_id, meta).await
    }

    async fn meta(&self, room_id: &str) -> Result<Option<RoomMeta>, BrokerError> {
        self.read_meta(room_id).await
    }

    async fn list_meta(&self) -> Result<Vec<RoomMeta>, BrokerError> {
        self.read_directory().await
    }

    async fn watch(&self, room_id: &str) {
        self.watched.insert(room_id.to_string());
        // On failure (counted and logged): upkeep subscribes watched rooms again.
        self.subscribe(Some(room_id), ch_out(room_id)).await;
    }

    async fn unwatch(&self, room_id: &str) {
        self.watched.remove(room_id);
        self.delivered.remove(room_id);
        // On failure (counted and logged): the room's batches keep coming and
        // find no session here (nothing is delivered).
        self.unsubscribe(room_id, &ch_out(room_id)).await;
    }

    async fn lost_instances(&self, room_id: &str, members: &[(String, String)]) -> Vec<String> {
        self.dead_instances(room_id, members).await
    }

    async fn maintain(&self, room: &Room) -> bool {
        self.renew(room).await
    }

    async fn persist(&self, room: &Room) {
        self.save_state(room).await
    }

    async fn history_rewritten(&self, room: &Room) {
        self.rewrite_history(room).await
    }

    async fn dropped(&self, room_id: &str) {
        self.forget(room_id).await;
        self.released_local(room_id).await;
    }

    async fn released(&self, room_id: &str) {
        self.release_lease(room_id).await;
        self.released_local(room_id).await;
    }

    async fn close_intake(&self, room_id: &str) {
        self.intake_closed.insert(room_id.to_string());
        let ch = ch_in(room_id);
        let (waiter, confirmed) = tokio::sync::oneshot::channel();
        self.intake_waiters.insert(ch.clone(), waiter);
        if self.unsubscribe(room_id, &ch).await
            && tokio::time::timeout(Duration::from_millis(500), confirmed)
                .await
                .is_err()
        {
            tracing::debug!(room = %room_id, "no unsubscribe confirmation within 500 ms; handing over anyway");
        }
        self.intake_waiters.remove(&ch);
    }

    fn ready(&self) -> bool {
        self.up.load(Relaxed)
    }
}
