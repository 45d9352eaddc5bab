//! One simulated member: connect, join, (maybe) send chat at a fixed rate, and
//! account for everything received. One tokio task per client; all counters are
//! shared atomics (the per-delivery ones sharded per thread, see [`crate::stats`]),
//! so a client holds only its socket and a few integers (plus one counter per
//! sender of its room for duplicate/gap detection).
//!
//! The receive path runs for every delivery (tens of thousands a second), so it
//! is kept cheap: chat events take a fast path ([`chat_event`]) instead of the
//! full [`ServerMsg`] decode, and the receive loop keeps its phase and send-timer
//! futures across frames instead of re-creating them per frame.

use crate::eio::{self, Eio, Sio};
use crate::net::Endpoint;
use crate::payload::{self, Stamp};
use crate::stats::{Counter, Histogram, Max};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{ClientMsg, ErrorCode, Event, ServerMsg, PROTOCOL_VERSION};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::future::Future;
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
    pub received: Counter,
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
    pub events: Counter,
    pub error_frames: AtomicU64,
    pub bad_frames: AtomicU64,
    pub latency_us: Histogram,
    /// Reset once per second by the progress line.
    pub window_us: Histogram,
    /// Last delivery, µs since the Unix epoch.
    pub last_recv_us: Max,
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
            received: Counter::new(),
            foreign: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            sender_gaps: AtomicU64::new(0),
            seq_regressions: AtomicU64::new(0),
            seq_gaps: AtomicU64::new(0),
            events: Counter::new(),
            error_frames: AtomicU64::new(0),
            bad_frames: AtomicU64::new(0),
            latency_us: Histogram::new(),
            window_us: Histogram::new(),
            last_recv_us: Max::new(),
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

/// The clients' WebSocket settings for chat texts padded to `pad` bytes.
///
/// The read buffer is kept small: before every read from the socket (one per
/// delivery, plus the reads that find nothing) tungstenite zero-fills the free
/// part of its read buffer, up to `read_buffer_size` bytes, and with thousands of
/// connections those buffers are cold in cache; at 4 KiB that fill was one of the
/// generator's largest user-space costs. Room for a few delivery frames (a chat
/// event is ~250 bytes plus the padding) still reads each frame in one go; the
/// rare big frames (a join's room snapshot) just take a few reads.
pub fn ws_config(pad: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size((pad + 768).next_power_of_two().max(1024))
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
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

    let mut phase = *phase_rx.borrow_and_update();
    let mut next_send: Option<Instant> = None;
    let mut n: u64 = 0;
    let mut text = String::with_capacity(shared.pad.max(64));
    // One timer for the whole connection, re-armed after each send: a fresh
    // `sleep_until` per received frame would cost a timer (de)registration each.
    let send_timer = tokio::time::sleep_until(Instant::now().into());
    tokio::pin!(send_timer);
    if let (Phase::Run { start, .. }, Some(sp)) = (phase, plan.sender) {
        next_send = Some(start + sp.offset);
        send_timer.as_mut().reset((start + sp.offset).into());
    }
    // One pass per phase change; the inner loop handles frames and sends.
    loop {
        let changed = {
            let phase_change = phase_changed(&mut phase_rx);
            tokio::pin!(phase_change);
            loop {
                tokio::select! {
                    biased;
                    ch = &mut phase_change => break ch,
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
                    () = &mut send_timer, if next_send.is_some() => {
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
                        let mut nx = next_send.unwrap_or(now) + sp.period;
                        if nx + Duration::from_secs(1) < now {
                            nx = now;
                        }
                        next_send = Some(nx);
                        send_timer.as_mut().reset(nx.into());
                    }
                }
            }
        };
        if changed.is_err() {
            break;
        }
        phase = *phase_rx.borrow_and_update();
        match phase {
            Phase::Run { start, .. } => {
                if let Some(sp) = plan.sender {
                    next_send = Some(start + sp.offset);
                    send_timer.as_mut().reset((start + sp.offset).into());
                }
            }
            Phase::Close => {
                close(&mut ws).await;
                return;
            }
            Phase::Setup => {}
        }
    }
}

/// Resolves like `rx.changed()`, but is cheap to poll again and again: the
/// client's `select!` polls it on every wake-up, i.e. for every received frame.
///
/// A waiting `watch::Receiver::changed()` takes the channel's notify-list mutex
/// (shared by every client) on each poll. This polls it once, which registers
/// the task's waker in that list, then only compares versions (an atomic load)
/// until the value changed; the change wakes the task through the registration,
/// and only then is `changed()` polled again (it is then ready).
async fn phase_changed(rx: &mut watch::Receiver<Phase>) -> Result<(), watch::error::RecvError> {
    // A second receiver at the same version, to look at without `&mut rx`.
    let probe = rx.clone();
    let changed = rx.changed();
    tokio::pin!(changed);
    let mut registered = false;
    std::future::poll_fn(|cx| {
        if registered && matches!(probe.has_changed(), Ok(false)) {
            return std::task::Poll::Pending;
        }
        registered = true;
        changed.as_mut().poll(cx)
    })
    .await
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
                device_id: None,
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

/// The fast path for the hot frame, a chat event: its event `seq` and chat text.
///
/// Decoding every delivery into [`ServerMsg`] is costly because serde decodes
/// internally tagged enums (`ServerMsg`, `Event`) by first buffering the whole
/// object, copying every string. This instead matches the frame against the exact
/// text the servers produce for a chat event (serde_json's compact output of
/// `ServerMsg::Event` with `Event::Chat`, fields in declaration order, no
/// reactions):
///
/// `{"type":"event","seq":N,"ts":N,"event":{"kind":"chat","message":{"id":S,"seq":N,"from":S,"name":S,"text":S,"ts":N}}}`
///
/// where `N` is an integer that fits a `u64` and `S` a string without escapes.
/// Anything else (other frames, other layouts, whitespace, escapes, malformed
/// input) gives `None`, and the caller then decodes the full [`ServerMsg`]: a frame
/// this accepts is valid JSON that the full decode reads as the same chat event,
/// so the fast path never changes what is counted, only how fast. A test checks
/// that the protocol's own serialization of a chat event takes the fast path.
fn chat_event(t: &str) -> Option<(u64, &str)> {
    let mut c = Template { t, at: 0 };
    c.lit(r#"{"type":"event","seq":"#)?;
    let seq = c.uint()?;
    c.lit(r#","ts":"#)?;
    c.uint()?;
    c.lit(r#","event":{"kind":"chat","message":{"id":"#)?;
    c.str()?;
    c.lit(r#","seq":"#)?;
    c.uint()?;
    c.lit(r#","from":"#)?;
    c.str()?;
    c.lit(r#","name":"#)?;
    c.str()?;
    c.lit(r#","text":"#)?;
    let text = c.str()?;
    c.lit(r#","ts":"#)?;
    c.uint()?;
    c.lit("}}}")?;
    (c.at == t.len()).then_some((seq, text))
}

/// A cursor for [`chat_event`]: each step consumes one expected piece or fails.
struct Template<'a> {
    t: &'a str,
    at: usize,
}

impl<'a> Template<'a> {
    /// Exactly `s`.
    fn lit(&mut self, s: &str) -> Option<()> {
        self.t[self.at..].starts_with(s).then(|| self.at += s.len())
    }

    /// A JSON integer in `u64` range: `0` or digits without a leading zero (a
    /// fraction or exponent then fails the next literal).
    fn uint(&mut self) -> Option<u64> {
        let b = &self.t.as_bytes()[self.at..];
        let n = match b.first()? {
            b'0' => 1,
            b'1'..=b'9' => b.iter().take_while(|b| b.is_ascii_digit()).count(),
            _ => return None,
        };
        let v = self.t[self.at..self.at + n].parse().ok()?;
        self.at += n;
        Some(v)
    }

    /// A JSON string without escapes (or control characters, which JSON forbids
    /// unescaped); its content.
    fn str(&mut self) -> Option<&'a str> {
        self.lit("\"")?;
        let start = self.at;
        let len = self.t.as_bytes()[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.at = start + len;
        self.lit("\"")?;
        // Both ends are at ASCII bytes, so this slices at char boundaries.
        Some(&self.t[start..start + len])
    }
}

/// Account for one text frame; returns a frame to send back, if any.
fn on_text(shared: &Shared, recv: &mut Recv, t: &str) -> Option<String> {
    let st = &shared.stats;
    if shared.target != Target::Socketio {
        if let Some((seq, text)) = chat_event(t) {
            on_seq(st, recv, seq);
            on_chat(shared, recv, text);
            return None;
        }
    }
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
    st.events.add(1);
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
    st.received.add(1);
    st.latency_us.record(lat);
    st.window_us.record(lat);
    st.last_recv_us.record(now);
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

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_protocol::ChatMessage;

    fn chat_frame(seq: u64, text: &str, reactions: BTreeMap<String, Vec<String>>) -> String {
        serde_json::to_string(&ServerMsg::Event {
            seq,
            ts: 1_700_000_000_000,
            event: Event::Chat {
                message: ChatMessage {
                    id: format!("msg-{seq}"),
                    seq,
                    from: "m1".into(),
                    name: "load-1".into(),
                    text: text.into(),
                    ts: 1_700_000_000_001,
                    reactions,
                },
            },
        })
        .unwrap()
    }

    /// What the full decode makes of a frame, if it is a chat event.
    fn full(t: &str) -> Option<(u64, String)> {
        match serde_json::from_str::<ServerMsg>(t) {
            Ok(ServerMsg::Event {
                seq,
                event: Event::Chat { message },
                ..
            }) => Some((seq, message.text)),
            _ => None,
        }
    }

    fn fast(t: &str) -> Option<(u64, String)> {
        chat_event(t).map(|(seq, text)| (seq, text.to_string()))
    }

    fn stamp_text() -> String {
        let mut t = String::new();
        let stamp = Stamp {
            t_us: 1_700_000_000_123_456,
            run: 7,
            sender: 3,
            n: 9,
        };
        payload::encode(&mut t, stamp, 200);
        t
    }

    #[test]
    fn fast_path_takes_the_protocols_chat_events() {
        // If this fails, the protocol's chat event layout changed: update `chat_event`
        // (everything still works meanwhile, just through the full decode).
        let stamp = stamp_text();
        for (seq, text) in [
            (1, stamp.as_str()),
            (0, ""),
            (u64::MAX, "ünïcödé 😀 \u{2028} and ' quotes"),
        ] {
            let f = chat_frame(seq, text, BTreeMap::new());
            assert_eq!(fast(&f), Some((seq, text.to_string())), "{f}");
            assert_eq!(fast(&f), full(&f), "{f}");
        }
    }

    #[test]
    fn fast_path_leaves_everything_else_to_the_full_decode() {
        let reactions = BTreeMap::from([("👍".to_string(), vec!["m2".to_string()])]);
        let others = [
            // Chat events the full decode reads, in layouts the fast path does not take.
            chat_frame(3, "quotes \" and \\ backslash", BTreeMap::new()),
            chat_frame(4, "newline\ntab\t\u{1}", BTreeMap::new()),
            chat_frame(5, &stamp_text(), reactions),
            r#"{"ts":2,"event":{"message":{"ts":3,"text":"t=1;","seq":5,"from":"a","name":"b","id":"c"},"kind":"chat"},"seq":5,"type":"event"}"#.into(),
            r#"{"type":"event","seq":5,"ts":1,"event":{"kind":"chat","message":{"id":"c","seq":5,"from":"a","name":"b","text":"t=1\u003b","ts":3}}}"#.into(),
            format!("{} ", chat_frame(6, "hi", BTreeMap::new())),
            // Other frames.
            r#"{"type":"event","seq":5,"ts":1,"event":{"kind":"message_deleted","message_id":"x"}}"#.into(),
            r#"{"type":"event","seq":6,"ts":1,"event":{"kind":"rules_updated","rules":{"version":2,"rules":["be kind"]}}}"#.into(),
            r#"{"type":"error","code":"rate_limited","message":"slow down","refused":"chat"}"#.into(),
            r#"{"type":"pong","t":1,"server_time":2}"#.into(),
        ];
        for f in &others {
            assert!(serde_json::from_str::<ServerMsg>(f).is_ok(), "{f}");
            assert_eq!(fast(f), None, "{f}");
        }
    }

    #[test]
    fn fast_path_never_accepts_what_the_full_decode_rejects() {
        let f = chat_frame(42, "t=1;r=2;s=3;n=4;", BTreeMap::new());
        let mut frames: Vec<String> = vec![
            String::new(),
            "null".into(),
            "{}".into(),
            "\u{0}\u{ffff}".into(),
            // Numbers that JSON or u64 do not allow.
            f.replace(r#""seq":42,"ts""#, r#""seq":042,"ts""#),
            f.replace(r#""seq":42,"ts""#, r#""seq":4.5,"ts""#),
            f.replace(r#""seq":42,"ts""#, r#""seq":4e1,"ts""#),
            f.replace(r#""seq":42,"ts""#, r#""seq":-42,"ts""#),
            f.replace(r#""seq":42,"ts""#, r#""seq":18446744073709551616,"ts""#),
            // Ill-typed or missing fields, an unescaped control character, trailing data.
            f.replace(r#""ts":1700000000000"#, r#""ts":"x""#),
            f.replace(r#""id":"msg-42","#, ""),
            f.replace(r#""text":"t=1;r=2;s=3;n=4;""#, r#""text":null"#),
            f.replace("t=1;", "t=1;\n"),
            format!("{f}}}"),
        ];
        let invalid = frames.len();
        // Every prefix and many single-byte changes of a real frame.
        for i in 0..f.len() {
            frames.push(f[..i].to_string());
            for b in [b'"', b'{', b'}', b'\\', b'0', b'9', b'.', b',', b' ', 0x01] {
                let mut v = f.clone().into_bytes();
                v[i] = b;
                if let Ok(s) = String::from_utf8(v) {
                    frames.push(s);
                }
            }
        }
        let mut taken = 0;
        for g in &frames {
            // Never panics; whatever it takes, the full decode reads the same way.
            if let Some(x) = fast(g) {
                assert_eq!(Some(x), full(g), "{g}");
                taken += 1;
            }
        }
        // Some changes (a digit, a text byte) keep a valid chat event.
        assert!(taken > 0);
        for g in &frames[..invalid] {
            assert_eq!(fast(g), None, "{g}");
            assert_eq!(full(g), None, "{g}");
        }
        assert_eq!(fast(&f), Some((42, "t=1;r=2;s=3;n=4;".into())));
    }

    fn shared(target: Target) -> Shared {
        Shared {
            target,
            run_id: 7,
            endpoints: vec![Endpoint::parse("127.0.0.1:1").unwrap()],
            rooms: vec![RoomPlan {
                id: "r".into(),
                facilitator_key: None,
                members: 2,
                senders: 2,
            }],
            stats: Stats::new(1),
            connect_sem: None,
            connect_timeout: Duration::from_secs(1),
            pad: 0,
            ws_config: WebSocketConfig::default(),
        }
    }

    #[test]
    fn on_text_accounts_for_chat_and_other_frames() {
        for target in [Target::Huddle, Target::Baseline] {
            let sh = shared(target);
            let mut recv = Recv {
                room: 0,
                last_seq: 10,
                last_n: vec![0; 2].into_boxed_slice(),
                rules_version: 1,
            };
            let stamp = |run, sender, n| {
                let mut t = String::new();
                let t_us = payload::now_micros() - 1000;
                payload::encode(
                    &mut t,
                    Stamp {
                        t_us,
                        run,
                        sender,
                        n,
                    },
                    0,
                );
                t
            };
            let frames = [
                chat_frame(11, &stamp(7, 0, 1), BTreeMap::new()),
                chat_frame(12, &stamp(7, 1, 1), BTreeMap::new()),
                chat_frame(12, &stamp(7, 0, 1), BTreeMap::new()), // seq regression, duplicate
                chat_frame(15, &stamp(7, 0, 4), BTreeMap::new()), // 2 seq gaps, 2 sender gaps
                chat_frame(16, &stamp(8, 0, 5), BTreeMap::new()), // another run
                chat_frame(17, "hello", BTreeMap::new()),         // not a load message
                r#"{"type":"event","seq":18,"ts":1,"event":{"kind":"message_deleted","message_id":"x"}}"#.into(),
                r#"{"type":"error","code":"rate_limited","message":"slow down"}"#.into(),
                "not json".into(),
            ];
            for f in &frames {
                assert_eq!(on_text(&sh, &mut recv, f), None);
            }
            let rules = r#"{"type":"event","seq":19,"ts":1,"event":{"kind":"rules_updated","rules":{"version":2,"rules":[]}}}"#;
            let reply = on_text(&sh, &mut recv, rules);
            assert_eq!(reply.is_some(), target == Target::Huddle);
            let st = &sh.stats;
            assert_eq!(st.events.get(), 8);
            assert_eq!(st.received.get(), 4);
            assert_eq!(st.foreign.load(Relaxed), 2);
            assert_eq!(st.duplicated.load(Relaxed), 1);
            assert_eq!(st.sender_gaps.load(Relaxed), 2);
            assert_eq!(st.seq_regressions.load(Relaxed), 1);
            assert_eq!(st.seq_gaps.load(Relaxed), 2);
            assert_eq!(st.error_frames.load(Relaxed), 1);
            assert_eq!(st.room_rejected[0].load(Relaxed), 1);
            assert_eq!(st.bad_frames.load(Relaxed), 1);
            assert_eq!(st.latency_us.snapshot().count(), 4);
            assert_eq!(st.window_us.take().count(), 4);
            assert!(st.last_recv_us.get() > 0);
            assert_eq!(recv.last_seq, 19);
        }
    }
}
