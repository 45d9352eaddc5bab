//! This instance's sessions, per room and in all, and the fan-out of a
//! room's batches to them: each frame was serialized once, and every receiver
//! gets a clone of the same shared bytes (a reference count, no copy) in its
//! bounded queue ([`OutQueue`]). A full queue never slows the room: that
//! session is dropped.

use super::queue::{OutQueue, Refused};
use super::Rooms;
use crate::broker::{Delivery, FrameText};
use crate::room::{Audience, ConnId, Control};
use dashmap::DashMap;
use huddle_protocol::ServerMsg;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// What a session's writer sends (see `session/writer.rs`).
#[derive(Debug)]
pub enum Outgoing {
    Text(FrameText),
    Close(u16, String),
}

struct LocalSession {
    conn: ConnId,
    member: Option<String>,
    queue: Arc<OutQueue>,
    /// Shared with the session: set once the room admitted this connection.
    bound: Arc<AtomicBool>,
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

/// Every session on this instance.
#[derive(Default)]
pub struct LocalSessions {
    rooms: DashMap<String, Arc<LocalRoom>>,
    /// Every live connection on this instance (for shutdown notices).
    conns: DashMap<ConnId, Arc<OutQueue>>,
    watch_lock: tokio::sync::Mutex<()>,
}

impl Rooms {
    /// Rooms with sessions on this instance.
    pub fn local_rooms(&self) -> Vec<String> {
        self.local.rooms.iter().map(|e| e.key().clone()).collect()
    }

    pub fn register_conn(&self, conn: &ConnId, queue: Arc<OutQueue>) {
        self.local.conns.insert(conn.clone(), queue);
    }

    pub fn unregister_conn(&self, conn: &ConnId) {
        self.local.conns.remove(conn);
    }

    /// Send a frame to every connection on this instance (shutdown notice, degraded...).
    pub fn broadcast_local(&self, msg: &ServerMsg) {
        let text = match serde_json::to_string(msg) {
            Ok(t) => FrameText::from(t),
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a notice");
                return;
            }
        };
        for c in self.local.conns.iter() {
            // A full or closed queue: that session is too slow (and now
            // dropped) or gone; it misses a notice it could not act on anyway.
            if c.value().push(Outgoing::Text(text.clone())).is_err() {
                tracing::debug!("notice not queued to a connection (queue full or closed)");
            }
        }
    }

    /// Close every connection on this instance with a reason (graceful shutdown).
    pub fn close_all_local(&self, code: u16, reason: &str) {
        for c in self.local.conns.iter() {
            let close = Outgoing::Close(code, reason.to_string());
            if c.value().push(close).is_err() {
                // Dropped as a slow consumer, or ending already.
                tracing::debug!("close not queued to a connection (dropped or closed)");
            }
        }
    }

    pub fn local_conn_count(&self) -> usize {
        self.local.conns.len()
    }

    /// A session is about to join `room_id`: it will receive the room's frames
    /// addressed to its connection, and once bound, to its member.
    pub async fn attach(
        &self,
        room_id: &str,
        conn: &ConnId,
        queue: Arc<OutQueue>,
        bound: Arc<AtomicBool>,
    ) {
        let local = {
            let local = self.local.rooms.entry(room_id.to_string()).or_default();
            let mut s = local.sessions.lock().unwrap_or_else(|e| e.into_inner());
            s.push(LocalSession {
                conn: conn.clone(),
                member: None,
                queue,
                bound,
            });
            local.clone()
        };
        local
            .watching
            .get_or_init(|| async {
                let _guard = self.local.watch_lock.lock().await;
                self.broker.watch(room_id).await;
            })
            .await;
    }

    pub async fn detach(&self, room_id: &str, conn: &ConnId) {
        let empty = match self.local.rooms.get(room_id) {
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
            let _guard = self.local.watch_lock.lock().await;
            self.local.rooms.remove_if(room_id, |_, l| l.is_empty());
            if !self.local.rooms.contains_key(room_id) {
                self.broker.unwatch(room_id).await;
            }
        }
    }

    /// Deliver a batch from a room's actor to this instance's sessions in that room.
    pub fn deliver_local(&self, room_id: &str, batch: &[Delivery]) {
        let Some(local) = self.local.rooms.get(room_id).map(|l| l.clone()) else {
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
                        if s.queue
                            .push(Outgoing::Close(*code, reason.clone()))
                            .is_err()
                        {
                            // Dropped as a slow consumer, or already gone.
                            tracing::debug!(room = %room_id, "close not queued (dropped or closed)");
                        }
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
                        // A clone of the shared frame: a reference count, no copy.
                        // A slow consumer never slows the room: the queue drops
                        // it (and counts it); it can resume.
                        match s.queue.push(Outgoing::Text(text.clone())) {
                            Ok(()) => out += 1,
                            Err(Refused::SlowConsumer | Refused::Closed) => {}
                        }
                    }
                }
            }
        }
        self.metrics.frames_out.fetch_add(out, Relaxed);
    }
}
