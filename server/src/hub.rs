//! The hub: room actors (one task owns each room's model) and the local
//! fan-out of their output to this instance's WebSocket sessions.
//!
//! Commands flow session → [`Broker::submit`] → the room's actor (here or on
//! another instance). The actor applies them to the pure [`Room`] model and
//! flushes the resulting frames, serialized once, as one batch through
//! [`Broker::publish`], which hands them to every instance's [`LocalRoom`].

use crate::broker::Broker;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::room::{self, Audience, ConnId, Control, Effect, JoinCtx, Limits, Out, Room};
use axum::extract::ws::Utf8Bytes;
use dashmap::DashMap;
use huddle_protocol::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

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
        text: Utf8Bytes,
    },
    Control(Control),
}

/// What HTTP needs to know about a room without asking its actor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomMeta {
    pub public: PublicRoom,
    pub key_hash: String,
    pub summary: Option<Summary>,
    pub updated: Millis,
}

/// What a session's writer sends.
#[derive(Debug)]
pub enum Outgoing {
    Text(Utf8Bytes),
    Close(u16, String),
}

struct LocalSession {
    conn: ConnId,
    member: Option<String>,
    tx: mpsc::Sender<Outgoing>,
    kill: CancellationToken,
    /// Shared with the session: set once the room admitted this connection.
    bound: Arc<std::sync::atomic::AtomicBool>,
}

/// This instance's sessions in one room.
#[derive(Default)]
pub struct LocalRoom {
    sessions: Mutex<Vec<LocalSession>>,
    /// Set once the broker delivers this room's traffic here: every joiner
    /// waits for it, so no reply can be published before we listen.
    watching: tokio::sync::OnceCell<()>,
}

impl LocalRoom {
    pub fn is_empty(&self) -> bool {
        self.sessions.lock().map(|s| s.is_empty()).unwrap_or(true)
    }
}

pub struct Hub {
    pub cfg: Config,
    pub instance: String,
    pub metrics: Arc<Metrics>,
    pub crisis: Vec<CrisisResource>,
    pub broker: Arc<dyn Broker>,
    locals: DashMap<String, Arc<LocalRoom>>,
    /// Actors of the rooms this instance owns.
    actors: DashMap<String, mpsc::Sender<RoomCmd>>,
    /// Every live connection on this instance (for shutdown notices).
    conns: DashMap<ConnId, (mpsc::Sender<Outgoing>, CancellationToken)>,
    pub shutting_down: CancellationToken,
    watch_lock: tokio::sync::Mutex<()>,
}

impl Hub {
    pub fn new(
        cfg: Config,
        instance: String,
        crisis: Vec<CrisisResource>,
        broker: Arc<dyn Broker>,
        metrics: Arc<Metrics>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            cfg,
            instance,
            metrics,
            crisis,
            broker,
            locals: DashMap::new(),
            actors: DashMap::new(),
            conns: DashMap::new(),
            shutting_down: CancellationToken::new(),
            watch_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_text: self.cfg.max_text,
            max_name: self.cfg.max_name,
            max_members: self.cfg.max_members,
            grace_ms: self.cfg.grace_secs * 1000,
            facilitator_grace_ms: self.cfg.facilitator_grace_secs * 1000,
            ..Limits::default()
        }
    }

    pub fn room_count(&self) -> usize {
        self.actors.len()
    }

    /// Create a room; returns its id and facilitator key (shown once).
    pub async fn create_room(
        self: &Arc<Self>,
        spec: &CreateRoom,
    ) -> Result<(String, String), (ErrorCode, String)> {
        let title = spec.title.trim();
        if title.is_empty() || title.chars().count() > 120 || title.chars().any(char::is_control) {
            return Err((
                ErrorCode::Invalid,
                "title must be 1 to 120 characters".into(),
            ));
        }
        if let (Some(s), Some(e)) = (spec.starts_at, spec.ends_at) {
            if e <= s {
                return Err((ErrorCode::Invalid, "ends_at must be after starts_at".into()));
            }
        }
        if spec.capacity == Some(0) {
            return Err((ErrorCode::Invalid, "capacity must be at least 1".into()));
        }
        if self.actors.len() >= self.cfg.max_rooms {
            return Err((
                ErrorCode::Unavailable,
                "this server hosts its maximum number of rooms".into(),
            ));
        }
        let mut spec = spec.clone();
        spec.title = title.to_string();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let key = room::new_secret();
        let room = Room::new(
            id.clone(),
            &spec,
            &key,
            self.limits(),
            self.crisis.clone(),
            now_ms(),
        );
        // Visible (joinable, listed) as soon as the creator hears of it.
        self.broker.store_meta(&id, &meta_of(&room)).await;
        self.broker.create(self, room).await?;
        Ok((id, key))
    }

    /// Start the actor task for a room this instance now owns.
    pub fn spawn_actor(self: &Arc<Self>, room: Room) -> mpsc::Sender<RoomCmd> {
        let (tx, rx) = mpsc::channel(1024);
        let id = room.info().id.clone();
        self.actors.insert(id.clone(), tx.clone());
        self.metrics.rooms.fetch_add(1, Relaxed);
        let hub = self.clone();
        tokio::spawn(async move {
            let end = run_actor(hub.clone(), room, rx).await;
            hub.actors.remove(&id);
            hub.metrics.rooms.fetch_sub(1, Relaxed);
            match end {
                ActorEnd::Expired => hub.broker.dropped(&hub, &id).await,
                ActorEnd::Released => hub.broker.released(&hub, &id).await,
            }
        });
        tx
    }

    /// Hand every room hosted here to other instances (graceful shutdown).
    pub async fn release_all(&self) {
        let actors: Vec<_> = self.actors.iter().map(|a| a.value().clone()).collect();
        for a in &actors {
            let _ = a.send(RoomCmd::Release).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !self.actors.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn actor(&self, room_id: &str) -> Option<mpsc::Sender<RoomCmd>> {
        self.actors.get(room_id).map(|a| a.clone())
    }

    /// Rooms whose actors run here.
    pub fn owned_rooms(&self) -> Vec<String> {
        self.actors.iter().map(|e| e.key().clone()).collect()
    }

    /// Rooms with sessions on this instance.
    pub fn local_rooms(&self) -> Vec<String> {
        self.locals.iter().map(|e| e.key().clone()).collect()
    }

    // ----- local sessions -----

    pub fn register_conn(
        &self,
        conn: &ConnId,
        tx: mpsc::Sender<Outgoing>,
        kill: CancellationToken,
    ) {
        self.conns.insert(conn.clone(), (tx, kill));
    }

    pub fn unregister_conn(&self, conn: &ConnId) {
        self.conns.remove(conn);
    }

    /// Send a frame to every connection on this instance (shutdown notice, degraded...).
    pub fn broadcast_local(&self, msg: &ServerMsg) {
        let Ok(text) = serde_json::to_string(msg) else {
            return;
        };
        let text = Utf8Bytes::from(text);
        for c in self.conns.iter() {
            let _ = c.value().0.try_send(Outgoing::Text(text.clone()));
        }
    }

    /// Close every connection on this instance with a reason (graceful shutdown).
    pub fn close_all_local(&self, code: u16, reason: &str) {
        for c in self.conns.iter() {
            let _ = c
                .value()
                .0
                .try_send(Outgoing::Close(code, reason.to_string()));
        }
    }

    pub fn local_conn_count(&self) -> usize {
        self.conns.len()
    }

    /// A session is about to join `room_id`: it will receive the room's frames
    /// addressed to its connection, and once bound, to its member.
    pub async fn attach(
        &self,
        room_id: &str,
        conn: &ConnId,
        tx: mpsc::Sender<Outgoing>,
        kill: CancellationToken,
        bound: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let local = {
            let local = self.locals.entry(room_id.to_string()).or_default();
            let mut s = local.sessions.lock().unwrap_or_else(|e| e.into_inner());
            s.push(LocalSession {
                conn: conn.clone(),
                member: None,
                tx,
                kill,
                bound,
            });
            local.clone()
        };
        local
            .watching
            .get_or_init(|| async {
                let _guard = self.watch_lock.lock().await;
                self.broker.watch(room_id).await;
            })
            .await;
    }

    pub async fn detach(&self, room_id: &str, conn: &ConnId) {
        let empty = match self.locals.get(room_id) {
            Some(local) => {
                let mut s = local.sessions.lock().unwrap_or_else(|e| e.into_inner());
                s.retain(|x| &x.conn != conn);
                s.is_empty()
            }
            None => false,
        };
        if empty {
            // Serialized with watch(): a new joiner's subscribe can never be
            // undone by an older unsubscribe.
            let _guard = self.watch_lock.lock().await;
            self.locals.remove_if(room_id, |_, l| l.is_empty());
            if !self.locals.contains_key(room_id) {
                self.broker.unwatch(room_id).await;
            }
        }
    }

    /// Deliver a batch from a room's actor to this instance's sessions in that room.
    pub fn deliver_local(&self, room_id: &str, batch: &[Delivery]) {
        let Some(local) = self.locals.get(room_id).map(|l| l.clone()) else {
            return;
        };
        let mut sessions = local.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = 0u64;
        for d in batch {
            match d {
                Delivery::Control(Control::Bind { conn, member }) => {
                    if let Some(s) = sessions.iter_mut().find(|s| &s.conn == conn) {
                        s.member = Some(member.clone());
                        s.bound.store(true, Relaxed);
                    }
                }
                Delivery::Control(Control::Close { conn, code, reason }) => {
                    if let Some(s) = sessions.iter_mut().find(|s| &s.conn == conn) {
                        s.member = None;
                        let _ = s.tx.try_send(Outgoing::Close(*code, reason.clone()));
                    }
                }
                Delivery::Frame { audience, text, .. } => {
                    for s in sessions.iter() {
                        let to_me = match audience {
                            Audience::Conn(c) => &s.conn == c,
                            a => s.member.as_deref().is_some_and(|m| a.includes(m)),
                        };
                        if !to_me {
                            continue;
                        }
                        match s.tx.try_send(Outgoing::Text(text.clone())) {
                            Ok(()) => out += 1,
                            Err(mpsc::error::TrySendError::Full(_)) => {
                                // A slow consumer never slows the room: drop it; it can resume.
                                if !s.kill.is_cancelled() {
                                    Metrics::inc(&self.metrics.slow_consumers_dropped);
                                    s.kill.cancel();
                                }
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => {}
                        }
                    }
                }
            }
        }
        self.metrics.frames_out.fetch_add(out, Relaxed);
    }

    /// Serialize a model's output once per frame.
    pub fn serialize(out: Vec<Out>) -> Vec<Delivery> {
        out.into_iter()
            .filter_map(|o| match o {
                Out::Frame { audience, msg } => match serde_json::to_string(&msg) {
                    Ok(t) => Some(Delivery::Frame {
                        // Events replayed to one connection (resume) are replies:
                        // not history again, and never deduplicated away by seq.
                        seq: match msg {
                            ServerMsg::Event { seq, .. }
                                if !matches!(audience, Audience::Conn(_)) =>
                            {
                                Some(seq)
                            }
                            _ => None,
                        },
                        audience,
                        light: !matches!(
                            msg,
                            ServerMsg::Event { ref event, .. }
                                if !matches!(event, Event::Chat { .. } | Event::Reaction { .. })
                        ),
                        text: Utf8Bytes::from(t),
                    }),
                    Err(e) => {
                        tracing::error!(error = %e, "could not serialize a frame");
                        None
                    }
                },
                Out::Control(c) => Some(Delivery::Control(c)),
            })
            .collect()
    }
}

fn meta_of(room: &Room) -> RoomMeta {
    RoomMeta {
        public: room.public(),
        key_hash: room.key_hash().to_string(),
        summary: room.summary().cloned(),
        updated: now_ms(),
    }
}

/// Apply one command to the model; true when it was refused (an error frame went back).
fn apply(room: &mut Room, cmd: RoomCmd, now: Millis) -> bool {
    match cmd {
        RoomCmd::Join {
            conn,
            instance,
            addr_hash,
            v,
            name,
            facilitator_key,
            resume,
        } => {
            let ctx = JoinCtx {
                conn: conn.clone(),
                instance,
                addr_hash,
            };
            if let Err(e) = room.join(
                &ctx,
                v,
                &name,
                facilitator_key.as_deref(),
                resume.as_ref(),
                now,
            ) {
                room.refuse(&conn, &e, "join");
                return true;
            }
        }
        RoomCmd::Client { conn, msg } => {
            let t = msg.type_name();
            if let Err(e) = room.handle(&conn, msg, now) {
                room.refuse(&conn, &e, t);
                return true;
            }
        }
        RoomCmd::Disconnect { conn } => room.disconnect(&conn, now),
        RoomCmd::InstancesLost { instances } => {
            for i in instances {
                room.instance_lost(&i, now);
            }
        }
        RoomCmd::Release => {}
    }
    false
}

/// Why a room's actor stopped.
enum ActorEnd {
    /// Retention is over: the room is gone for good.
    Expired,
    /// Ownership moved to another instance (or this one is shutting down).
    Released,
}

/// The life of a room on its owning instance.
async fn run_actor(hub: Arc<Hub>, mut room: Room, mut rx: mpsc::Receiver<RoomCmd>) -> ActorEnd {
    let id = room.info().id.clone();
    let retention = Duration::from_secs(hub.cfg.retention_mins * 60);
    let mut last_meta = meta_of(&room);
    hub.broker.store_meta(&id, &last_meta).await;
    let mut idle_since = tokio::time::Instant::now();
    let mut presence = tokio::time::interval(Duration::from_secs(2));
    presence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = room.next_deadline().map(|d| {
            let wait = d.saturating_sub(now_ms());
            tokio::time::Instant::now() + Duration::from_millis(wait)
        });
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { return ActorEnd::Released };
                let now = now_ms();
                let mut release = matches!(cmd, RoomCmd::Release);
                let mut refused = apply(&mut room, cmd, now) as u64;
                // Drain what is already queued: one flush (one publish) per burst.
                let mut n = 0;
                while n < 256 && !release {
                    match rx.try_recv() {
                        Ok(cmd) => {
                            release = matches!(cmd, RoomCmd::Release);
                            refused += apply(&mut room, cmd, now) as u64;
                        }
                        Err(_) => break,
                    }
                    n += 1;
                }
                hub.metrics.errors_sent.fetch_add(refused, Relaxed);
                if release {
                    // Stop taking commands from other instances, then apply those
                    // already here: nothing sent to the room is lost in the handover.
                    hub.broker.close_intake(&id).await;
                    while let Ok(cmd) = rx.try_recv() {
                        let _ = apply(&mut room, cmd, now_ms());
                    }
                    let out = room.take_output();
                    if !out.is_empty() {
                        hub.broker.publish(&hub, &room, Arc::new(Hub::serialize(out))).await;
                    }
                    hub.broker.persist(&room).await;
                    return ActorEnd::Released;
                }
            }
            _ = tokio::time::sleep_until(next.unwrap_or(far)), if next.is_some() => {
                room.tick(now_ms());
            }
            _ = presence.tick() => {
                let lost = hub.broker.lost_instances(&room.member_instances()).await;
                if !lost.is_empty() {
                    let _ = apply(&mut room, RoomCmd::InstancesLost { instances: lost }, now_ms());
                }
                if !hub.broker.maintain(&room).await {
                    tracing::warn!(room = %id, "lost room ownership; stopping actor");
                    return ActorEnd::Released;
                }
                let closed = room.info().status == RoomStatus::Closed;
                if room.member_count() > 0 && !closed {
                    idle_since = tokio::time::Instant::now();
                }
                let limit = if closed { retention } else { Duration::from_secs(24 * 3600).max(retention) };
                if idle_since.elapsed() > limit {
                    tracing::info!(room = %id, "room retention over; dropping it");
                    return ActorEnd::Expired;
                }
            }
        }
        // Effects first: they may add output.
        for e in room.take_effects() {
            match e {
                Effect::OpenOneOnOne {
                    request_id,
                    facilitator,
                    participant: _,
                    title,
                } => {
                    let spec = CreateRoom {
                        title,
                        kind: RoomKind::OneOnOne,
                        ..Default::default()
                    };
                    match hub.create_room(&spec).await {
                        Ok((rid, key)) => {
                            room.one_on_one_opened(&request_id, &facilitator, &rid, &key, now_ms())
                        }
                        Err((code, message)) => {
                            tracing::warn!(?code, "could not open a one-on-one room: {message}")
                        }
                    }
                }
            }
        }
        let out = room.take_output();
        if !out.is_empty() {
            let batch = Arc::new(Hub::serialize(out));
            hub.broker.publish(&hub, &room, batch).await;
        }
        let meta = meta_of(&room);
        if meta.public != last_meta.public || meta.summary != last_meta.summary {
            hub.broker.store_meta(&id, &meta).await;
            last_meta = meta;
        }
    }
}
