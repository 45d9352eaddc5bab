//! One simulated member: connect, join, (maybe) send chat at a fixed rate, and
//! account for everything received. One tokio task per client; all counters are
//! shared atomics, so a client holds only its socket and a few integers (plus one
//! counter per sender of its room for duplicate/gap detection).

use crate::eio::{self, Eio, Sio};
use crate::net::Endpoint;
use crate::payload::{self, Stamp};
use crate::stats::Histogram;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{ClientMsg, ErrorCode, Event, ServerMsg, PROTOCOL_VERSION};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Which server (and so which wire protocol) is being loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Huddle: JSON protocol v1 at /ws, rooms created with POST /api/rooms.
    Huddle,
    /// The Socket.IO peer (peers/socketio): Engine.IO v4 over WebSocket.
    Socketio,
    /// The bare broadcast server (`baseline` binary): Huddle's JSON subset at /ws.
    Baseline,
}

impl Target {
    pub fn ws_path(self) -> &'static str {
        match self {
            Target::Huddle | Target::Baseline => "/ws",
            Target::Socketio => "/socket.io/?EIO=4&transport=websocket",
        }
    }
}

/// The run's phase, broadcast to every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connect and join, then wait.
    Setup,
    /// Senders send from `start` until `send_until`.
    Run { start: Instant, send_until: Instant },
    /// Close the connection and end.
    Close,
}

/// A room as the clients see it.
#[derive(Debug, Clone)]
pub struct RoomPlan {
    /// Huddle room id, or the room name for the peers.
    pub id: String,
    /// Huddle only: the member with index 0 joins as facilitator with this key.
    pub facilitator_key: Option<String>,
    pub members: u32,
    pub senders: u32,
}

/// What one client sends, if it sends.
#[derive(Debug, Clone, Copy)]
pub struct SenderPlan {
    /// Index among the senders of its room (0..room.senders).
    pub index: u32,
    pub period: Duration,
    /// Delay of the first message after the run start (spreads senders out).
    pub offset: Duration,
    /// Upper bound on messages (keeps the loop bounded whatever the clock does).
    pub max: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct ClientPlan {
    pub index: u32,
    pub room: u32,
    /// Index of the member in its room.
    pub member: u32,
    pub endpoint: u32,
    pub sender: Option<SenderPlan>,
}

/// Counters shared by all clients.
pub struct Stats {
    pub connected: AtomicU64,
    pub connect_failed: AtomicU64,
    /// Connections lost before the close phase.
    pub dropped: AtomicU64,
    pub connect_us: Histogram,
    pub room_joined: Vec<AtomicU64>,
    pub room_sent: Vec<AtomicU64>,
    pub room_rejected: Vec<AtomicU64>,
    pub sent: AtomicU64,
    pub send_failed: AtomicU64,
    /// Chat deliveries of this run's messages.
    pub received: AtomicU64,
    /// Chat messages not from this run (other runs, other clients).
    pub foreign: AtomicU64,
    /// Same (sender, n) seen again or earlier than one already seen, by one receiver.
    pub duplicated: AtomicU64,
    /// Messages skipped in one sender's sequence, as seen by one receiver.
    pub sender_gaps: AtomicU64,
    /// Event seq not greater than the last one seen (same receiver).
    pub seq_regressions: AtomicU64,
    /// Holes in the event seq seen by one receiver.
    pub seq_gaps: AtomicU64,
    pub events: AtomicU64,
    pub error_frames: AtomicU64,
    pub bad_frames: AtomicU64,
    pub latency_us: Histogram,
    /// Reset once per second by the progress line.
    pub window_us: Histogram,
    /// Last delivery, µs since the Unix epoch.
    pub last_recv_us: AtomicU64,
    pub errors: Mutex<BTreeMap<String, u64>>,
    pub connect_errors: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    pub fn new(rooms: usize) -> Stats {
        let v = || (0..rooms).map(|_| AtomicU64::new(0)).collect();
        Stats {
            connected: AtomicU64::new(0),
            connect_failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            connect_us: Histogram::new(),
            room_joined: v(),
            room_sent: v(),
            room_rejected: v(),
            sent: AtomicU64::new(0),
            send_failed: AtomicU64::new(0),
            received: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            sender_gaps: AtomicU64::new(0),
            seq_regressions: AtomicU64::new(0),
            seq_gaps: AtomicU64::new(0),
            events: AtomicU64::new(0),
            error_frames: AtomicU64::new(0),
            bad_frames: AtomicU64::new(0),
            latency_us: Histogram::new(),
            window_us: Histogram::new(),
            last_recv_us: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            connect_errors: Mutex::new(BTreeMap::new()),
        }
    }

    fn bump(map: &Mutex<BTreeMap<String, u64>>, key: String) {
        let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: error texts are classified, but never keep more than 64 kinds.
        if m.len() < 64 || m.contains_key(&key) {
            *m.entry(key).or_insert(0) += 1;
        } else {
            *m.entry("other".into()).or_insert(0) += 1;
        }
    }

    fn error(&self, room: u32, code: &str, chat_refused: bool) {
        self.error_frames.fetch_add(1, Relaxed);
        if chat_refused {
            self.room_rejected[room as usize].fetch_add(1, Relaxed);
        }
        Stats::bump(&self.errors, code.to_string());
    }

    fn connect_error(&self, e: &anyhow::Error) {
        self.connect_failed.fetch_add(1, Relaxed);
        let mut s = format!("{e:#}");
        // Keep the kind, drop per-connection details such as ports.
        s.truncate(120);
        Stats::bump(&self.connect_errors, s);
    }
}

/// Everything the clients of one run share.
pub struct Shared {
    pub target: Target,
    pub run_id: u32,
    pub endpoints: Vec<Endpoint>,
    pub rooms: Vec<RoomPlan>,
    pub stats: Stats,
    pub connect_sem: Option<Semaphore>,
    pub connect_timeout: Duration,
    pub pad: usize,
    pub ws_config: WebSocketConfig,
}

type Ws = WebSocketStream<TcpStream>;

/// Per-client receive state.
struct Recv {
    room: u32,
    last_seq: u64,
    /// Last counter seen from each sender of the room (0 = none yet).
    last_n: Box<[u64]>,
    rules_version: u32,
}

/// Socket.IO payloads of the peer's events (`welcome`, `chat`, `error_frame`).
#[derive(Deserialize)]
struct SioPayload {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    code: Option<String>,
}

/// Run one client to completion. Never panics on network input.
pub async fn run_client(
    shared: Arc<Shared>,
    plan: ClientPlan,
    mut phase_rx: watch::Receiver<Phase>,
) {
    let permit = match &shared.connect_sem {
        Some(s) => s.acquire().await.ok(),
        None => None,
    };
    let t0 = Instant::now();
    let joined =
        tokio::time::timeout(shared.connect_timeout, connect_and_join(&shared, &plan)).await;
    drop(permit);
    let (mut ws, mut recv) = match joined {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            shared.stats.connect_error(&e);
            return;
        }
        Err(_) => {
            shared
                .stats
                .connect_error(&anyhow!("connect+join timed out"));
            return;
        }
    };
    let st = &shared.stats;
    st.connect_us.record(t0.elapsed().as_micros() as u64);
    st.connected.fetch_add(1, Relaxed);
    st.room_joined[plan.room as usize].fetch_add(1, Relaxed);

    if shared.target == Target::Huddle {
        let accept = ClientMsg::AcceptRules {
            version: recv.rules_version,
        };
        if send_json(&mut ws, &accept).await.is_err() {
            st.dropped.fetch_add(1, Relaxed);
            return;
        }
    }

    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut phase = *phase_rx.borrow_and_update();
    let mut next_send: Option<Instant> = None;
    let mut n: u64 = 0;
    let mut text = String::with_capacity(shared.pad.max(64));
    if let (Phase::Run { start, .. }, Some(sp)) = (phase, plan.sender) {
        next_send = Some(start + sp.offset);
    }
    loop {
        let send_at = next_send;
        tokio::select! {
            biased;
            ch = phase_rx.changed() => {
                if ch.is_err() {
                    break;
                }
                phase = *phase_rx.borrow_and_update();
                match phase {
                    Phase::Run { start, .. } => {
                        if let Some(sp) = plan.sender {
                            next_send = Some(start + sp.offset);
                        }
                    }
                    Phase::Close => {
                        close(&mut ws).await;
                        return;
                    }
                    Phase::Setup => {}
                }
            }
            m = ws.next() => {
                let reply = match m {
                    Some(Ok(Message::Text(t))) => on_text(&shared, &mut recv, t.as_str()),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        st.dropped.fetch_add(1, Relaxed);
                        return;
                    }
                    Some(Ok(_)) => None,
                };
                if let Some(r) = reply {
                    if ws.send(Message::text(r)).await.is_err() {
                        st.dropped.fetch_add(1, Relaxed);
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(send_at.unwrap_or(far).into()), if send_at.is_some() => {
                let (Some(sp), Phase::Run { send_until, .. }) = (plan.sender, phase) else {
                    next_send = None;
                    continue;
                };
                let now = Instant::now();
                if now >= send_until || n >= sp.max {
                    next_send = None;
                    continue;
                }
                n += 1;
                payload::encode(&mut text, Stamp {
                    t_us: payload::now_micros(),
                    run: shared.run_id,
                    sender: sp.index,
                    n,
                }, shared.pad);
                let frame = match shared.target {
                    Target::Huddle | Target::Baseline => serde_json::to_string(&ClientMsg::Chat { text: text.clone() })
                        .expect("serializable"),
                    Target::Socketio => eio::event("chat", text.as_str()),
                };
                if ws.send(Message::text(frame)).await.is_err() {
                    st.send_failed.fetch_add(1, Relaxed);
                    st.dropped.fetch_add(1, Relaxed);
                    return;
                }
                st.sent.fetch_add(1, Relaxed);
                st.room_sent[plan.room as usize].fetch_add(1, Relaxed);
                // Keep the schedule (offered load stays constant), but never burst
                // more than one second's worth to catch up.
                let mut nx = send_at.unwrap_or(now) + sp.period;
                if nx + Duration::from_secs(1) < now {
                    nx = now;
                }
                next_send = Some(nx);
            }
        }
    }
}

async fn close(ws: &mut Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = ws.close(None).await;
        // Drain until the server's close (bounded by the timeout).
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn send_json(ws: &mut Ws, m: &ClientMsg) -> Result<()> {
    ws.send(Message::text(serde_json::to_string(m)?)).await?;
    Ok(())
}

async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(f))) => bail!("closed by server during join: {f:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e).context("websocket error during join"),
            None => bail!("connection ended during join"),
        }
    }
}

async fn connect_and_join(shared: &Shared, plan: &ClientPlan) -> Result<(Ws, Recv)> {
    let ep = &shared.endpoints[plan.endpoint as usize];
    let tcp = TcpStream::connect(ep.addr).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let url = ep.ws_url(shared.target.ws_path());
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(shared.ws_config))
        .await
        .context("websocket handshake")?;
    let room = &shared.rooms[plan.room as usize];
    let mut recv = Recv {
        room: plan.room,
        last_seq: 0,
        last_n: vec![0u64; room.senders as usize].into_boxed_slice(),
        rules_version: 0,
    };
    match shared.target {
        Target::Huddle | Target::Baseline => {
            let join = ClientMsg::Join {
                v: PROTOCOL_VERSION,
                room_id: room.id.clone(),
                name: format!("load-{}", plan.index),
                facilitator_key: if plan.member == 0 {
                    room.facilitator_key.clone()
                } else {
                    None
                },
                resume: None,
            };
            send_json(&mut ws, &join).await?;
            // Bounded by the caller's timeout.
            loop {
                let t = next_text(&mut ws).await?;
                match serde_json::from_str::<ServerMsg>(&t) {
                    Ok(ServerMsg::Welcome { room, .. }) => {
                        recv.last_seq = room.seq;
                        recv.rules_version = room.rules.version;
                        return Ok((ws, recv));
                    }
                    Ok(ServerMsg::Error { code, message, .. }) => {
                        bail!("join refused: {}: {message}", code.as_str())
                    }
                    Ok(ServerMsg::Waiting { .. }) => bail!("join put in the waiting room"),
                    Ok(ServerMsg::Lobby { .. }) => bail!("join put in the lobby (not started)"),
                    Ok(_) => continue,
                    Err(e) => bail!("undecodable frame during join: {e}"),
                }
            }
        }
        Target::Socketio => {
            loop {
                let t = next_text(&mut ws).await?;
                match eio::parse(&t) {
                    Eio::Open(_) => break,
                    Eio::Ping(p) => ws.send(Message::text(eio::pong(p))).await?,
                    _ => bail!("expected an Engine.IO open packet, got {t:.40}"),
                }
            }
            ws.send(Message::text(eio::CONNECT)).await?;
            loop {
                let t = next_text(&mut ws).await?;
                match eio::parse(&t) {
                    Eio::Message(Sio::Connect(_)) => break,
                    Eio::Message(Sio::ConnectError(e)) => bail!("socket.io connect error: {e:.80}"),
                    Eio::Ping(p) => ws.send(Message::text(eio::pong(p))).await?,
                    _ => continue,
                }
            }
            ws.send(Message::text(eio::event("join", room.id.as_str())))
                .await?;
            loop {
                let t = next_text(&mut ws).await?;
                match eio::parse(&t) {
                    Eio::Message(Sio::Event { json, .. }) => {
                        match eio::decode_event::<SioPayload>(json) {
                            Some((name, p)) if name == "welcome" => {
                                recv.last_seq = p.seq.unwrap_or(0);
                                return Ok((ws, recv));
                            }
                            Some((name, p)) if name == "error_frame" => {
                                bail!("join refused: {}", p.code.unwrap_or_default())
                            }
                            _ => continue,
                        }
                    }
                    Eio::Ping(p) => ws.send(Message::text(eio::pong(p))).await?,
                    Eio::Close | Eio::Message(Sio::Disconnect) => bail!("disconnected during join"),
                    _ => continue,
                }
            }
        }
    }
}

/// Account for one text frame; returns a frame to send back, if any.
fn on_text(shared: &Shared, recv: &mut Recv, t: &str) -> Option<String> {
    let st = &shared.stats;
    match shared.target {
        Target::Huddle | Target::Baseline => match serde_json::from_str::<ServerMsg>(t) {
            Ok(ServerMsg::Event { seq, event, .. }) => {
                on_seq(st, recv, seq);
                match event {
                    Event::Chat { message } => on_chat(shared, recv, &message.text),
                    Event::RulesUpdated { rules } if shared.target == Target::Huddle => {
                        recv.rules_version = rules.version;
                        return Some(
                            serde_json::to_string(&ClientMsg::AcceptRules {
                                version: rules.version,
                            })
                            .expect("serializable"),
                        );
                    }
                    _ => {}
                }
            }
            Ok(ServerMsg::Error { code, refused, .. }) => {
                let chat = match refused.as_deref() {
                    Some(r) => r == "chat",
                    None => matches!(
                        code,
                        ErrorCode::RateLimited
                            | ErrorCode::RulesNotAccepted
                            | ErrorCode::Muted
                            | ErrorCode::SlowMode
                            | ErrorCode::Paused
                    ),
                };
                st.error(recv.room, code.as_str(), chat);
            }
            Ok(_) => {}
            Err(_) => {
                st.bad_frames.fetch_add(1, Relaxed);
            }
        },
        Target::Socketio => match eio::parse(t) {
            Eio::Ping(p) => return Some(eio::pong(p)),
            Eio::Message(Sio::Event { json, .. }) => match eio::decode_event::<SioPayload>(json) {
                Some((name, p)) if name == "chat" => {
                    // The peer's seq is per instance: meaningless across several.
                    if let (Some(seq), 1) = (p.seq, shared.endpoints.len()) {
                        on_seq(st, recv, seq);
                    }
                    if let Some(text) = p.text {
                        on_chat(shared, recv, &text);
                    }
                }
                Some((name, p)) if name == "error_frame" => {
                    st.error(recv.room, &p.code.unwrap_or_default(), true);
                }
                Some(_) => {}
                None => {
                    st.bad_frames.fetch_add(1, Relaxed);
                }
            },
            _ => {}
        },
    }
    None
}

fn on_seq(st: &Stats, recv: &mut Recv, seq: u64) {
    st.events.fetch_add(1, Relaxed);
    if seq <= recv.last_seq {
        st.seq_regressions.fetch_add(1, Relaxed);
    } else {
        if seq > recv.last_seq + 1 {
            st.seq_gaps.fetch_add(seq - recv.last_seq - 1, Relaxed);
        }
        recv.last_seq = seq;
    }
}

fn on_chat(shared: &Shared, recv: &mut Recv, text: &str) {
    let st = &shared.stats;
    let Some(stamp) = payload::decode(text) else {
        st.foreign.fetch_add(1, Relaxed);
        return;
    };
    if stamp.run != shared.run_id {
        st.foreign.fetch_add(1, Relaxed);
        return;
    }
    let now = payload::now_micros();
    let lat = now.saturating_sub(stamp.t_us);
    st.received.fetch_add(1, Relaxed);
    st.latency_us.record(lat);
    st.window_us.record(lat);
    st.last_recv_us.fetch_max(now, Relaxed);
    if let Some(last) = recv.last_n.get_mut(stamp.sender as usize) {
        if stamp.n <= *last {
            st.duplicated.fetch_add(1, Relaxed);
        } else {
            if stamp.n > *last + 1 {
                st.sender_gaps.fetch_add(stamp.n - *last - 1, Relaxed);
            }
            *last = stamp.n;
        }
    }
}
