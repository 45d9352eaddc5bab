//! `huddle-load rejoin`: the leave/join memory attack (security issue A.1).
//!
//! One room's history is filled with long messages, then N attacker
//! connections each loop `leave` + `join` on their socket **without reading**
//! what the server sends back (every join asks for a welcome that carries the
//! room's snapshot). A server that queues frames without a byte bound grows by
//! hundreds of MiB; a sound one drops or refuses the attackers and stays flat.
//! The run samples the server's RSS from /proc and reports the growth.
//! Loopback targets only; every loop is bounded by `--duration`.

use crate::net::{self, Endpoint};
use crate::sys;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{ClientMsg, CreateRoom, RoomCreated, RoomKind, ServerMsg};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub endpoint: Endpoint,
    /// Attacker connections.
    pub clients: u32,
    /// Messages put in the room's history before the attack.
    pub history: u32,
    /// Characters per history message.
    pub text_chars: usize,
    /// `leave` + `join` pairs per second per connection (each pair is two frames).
    pub rejoins_per_sec: f64,
    pub duration: Duration,
    pub server_pid: u32,
    pub quiet: bool,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub clients: u32,
    pub duration_secs: f64,
    pub history_sent: u64,
    pub joins_sent: u64,
    pub connections_opened: u64,
    pub connections_lost: u64,
    pub rss_start_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_end_kib: u64,
    /// Peak RSS during the attack minus RSS before it, MiB.
    pub rss_growth_mib: f64,
}

#[derive(Default)]
struct Counters {
    joins: AtomicU64,
    opened: AtomicU64,
    lost: AtomicU64,
}

fn join_frame(room_id: &str, name: &str, key: Option<&str>) -> Result<String> {
    Ok(serde_json::to_string(&ClientMsg::Join {
        v: 1,
        room_id: room_id.to_string(),
        name: name.to_string(),
        facilitator_key: key.map(str::to_string),
        resume: None,
        device_id: None,
    })?)
}

async fn connect(ep: &Endpoint) -> Result<Ws> {
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(ep.ws_url("/ws")),
    )
    .await
    .map_err(|_| anyhow!("connect {}: timed out", ep.authority()))?
    .with_context(|| format!("connect {}", ep.authority()))?;
    Ok(ws)
}

/// Read until a frame matches `want`, bounded by 10 s.
async fn wait_for(ws: &mut Ws, what: &str, want: impl Fn(&ServerMsg) -> bool) -> Result<ServerMsg> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, ws.next())
            .await
            .map_err(|_| anyhow!("no {what} within 10 s"))?
            .ok_or_else(|| anyhow!("closed while waiting for {what}"))??;
        if let Message::Text(t) = frame {
            if let Ok(msg) = serde_json::from_str::<ServerMsg>(&t) {
                if let ServerMsg::Error { code, message, .. } = &msg {
                    bail!("server refused while waiting for {what}: {code:?} {message}");
                }
                if want(&msg) {
                    return Ok(msg);
                }
            }
        }
    }
}

/// Create the room and fill its history as its facilitator (paced under the
/// server's per-connection rate limit).
async fn prepare(cfg: &Config) -> Result<(String, u64)> {
    let body = serde_json::to_string(&CreateRoom {
        title: "rejoin attack".into(),
        kind: RoomKind::default(),
        starts_at: None,
        ends_at: None,
        capacity: None,
        waiting_room: false,
    })?;
    let resp = net::request(
        &cfg.endpoint,
        "POST",
        "/api/rooms",
        Some(&body),
        Duration::from_secs(10),
    )
    .await?;
    if resp.status != 200 && resp.status != 201 {
        bail!("POST /api/rooms: HTTP {} {:.200}", resp.status, resp.body);
    }
    let created: RoomCreated = serde_json::from_str(&resp.body).context("POST /api/rooms body")?;
    let mut ws = connect(&cfg.endpoint).await?;
    ws.send(Message::text(join_frame(
        &created.room_id,
        "Filler",
        Some(&created.facilitator_key),
    )?))
    .await?;
    let welcome = wait_for(&mut ws, "welcome", |m| {
        matches!(m, ServerMsg::Welcome { .. })
    })
    .await?;
    if let ServerMsg::Welcome { room, .. } = &welcome {
        let version = room.rules.version;
        ws.send(Message::text(serde_json::to_string(
            &ClientMsg::AcceptRules { version },
        )?))
        .await?;
    }
    // Two-byte characters: each message is about 2 × text_chars bytes on the wire.
    let text: String = "é".repeat(cfg.text_chars.max(1));
    let mut sent = 0u64;
    let pace = Duration::from_millis(60); // under the default 20 frames/s
    for _ in 0..cfg.history {
        ws.send(Message::text(serde_json::to_string(&ClientMsg::Chat {
            text: text.clone(),
        })?))
        .await?;
        sent += 1;
        tokio::time::sleep(pace).await;
    }
    // Let the room apply them; keep this member in the room (the history lives while someone is in).
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::spawn(async move {
        // Drain the filler's socket until the process ends, so it is never a slow consumer.
        while let Some(Ok(_)) = ws.next().await {}
    });
    Ok((created.room_id, sent))
}

/// One attacker: join, then leave + join at the given pace, never reading.
/// A lost connection is reopened until the deadline.
async fn attacker(
    ep: Endpoint,
    room_id: String,
    n: u32,
    every: Duration,
    until: Instant,
    c: Arc<Counters>,
) {
    let leave = match serde_json::to_string(&ClientMsg::Leave) {
        Ok(s) => s,
        Err(_) => return,
    };
    while Instant::now() < until {
        let Ok(mut ws) = connect(&ep).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        c.opened.fetch_add(1, Relaxed);
        let Ok(join) = join_frame(&room_id, &format!("Rejoin {n}"), None) else {
            return;
        };
        let mut ok = ws.send(Message::text(join.clone())).await.is_ok();
        while ok && Instant::now() < until {
            c.joins.fetch_add(1, Relaxed);
            tokio::time::sleep(every).await;
            ok = tokio::time::timeout(Duration::from_secs(2), async {
                ws.send(Message::text(leave.clone())).await?;
                ws.send(Message::text(join.clone())).await
            })
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
        }
        if Instant::now() < until {
            c.lost.fetch_add(1, Relaxed);
        }
        // Dropping the socket without reading what is queued.
    }
}

pub async fn run(cfg: Config) -> Result<Report> {
    let (room_id, history_sent) = prepare(&cfg).await?;
    let start = sys::sample(cfg.server_pid)
        .with_context(|| format!("reading /proc/{} (--server-pid)", cfg.server_pid))?;
    if !cfg.quiet {
        eprintln!(
            "rejoin: room ready ({history_sent} messages of {} chars); server RSS {:.1} MiB; {} attackers for {:.0} s",
            cfg.text_chars,
            start.rss_kb as f64 / 1024.0,
            cfg.clients,
            cfg.duration.as_secs_f64()
        );
    }
    let counters = Arc::new(Counters::default());
    let t0 = Instant::now();
    let until = t0 + cfg.duration;
    let every = Duration::from_secs_f64(1.0 / cfg.rejoins_per_sec.clamp(0.1, 100.0));
    let mut tasks = Vec::new();
    for n in 0..cfg.clients {
        tasks.push(tokio::spawn(attacker(
            cfg.endpoint.clone(),
            room_id.clone(),
            n,
            every,
            until,
            counters.clone(),
        )));
    }
    let mut peak = start.rss_kb;
    let mut last_print = Instant::now();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(s) = sys::sample(cfg.server_pid) {
            peak = peak.max(s.rss_kb);
            if !cfg.quiet && last_print.elapsed() >= Duration::from_secs(5) {
                last_print = Instant::now();
                eprintln!(
                    "rejoin: {:>3.0} s  RSS {:.1} MiB (peak {:.1})  joins {}  connections {} (lost {})",
                    t0.elapsed().as_secs_f64(),
                    s.rss_kb as f64 / 1024.0,
                    peak as f64 / 1024.0,
                    counters.joins.load(Relaxed),
                    counters.opened.load(Relaxed),
                    counters.lost.load(Relaxed),
                );
            }
        }
    }
    for t in tasks {
        t.abort();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let end = sys::sample(cfg.server_pid)?;
    peak = peak.max(end.rss_kb);
    Ok(Report {
        clients: cfg.clients,
        duration_secs: t0.elapsed().as_secs_f64(),
        history_sent,
        joins_sent: counters.joins.load(Relaxed),
        connections_opened: counters.opened.load(Relaxed),
        connections_lost: counters.lost.load(Relaxed),
        rss_start_kib: start.rss_kb,
        rss_peak_kib: peak,
        rss_end_kib: end.rss_kb,
        rss_growth_mib: (peak.saturating_sub(start.rss_kb)) as f64 / 1024.0,
    })
}

pub fn table(r: &Report) -> String {
    format!(
        "rejoin: {} attackers for {:.0} s on a room with {} history messages\n\
         joins sent {}  connections opened {} (lost {})\n\
         server RSS: start {:.1} MiB, peak {:.1} MiB, end {:.1} MiB → growth {:.1} MiB\n",
        r.clients,
        r.duration_secs,
        r.history_sent,
        r.joins_sent,
        r.connections_opened,
        r.connections_lost,
        r.rss_start_kib as f64 / 1024.0,
        r.rss_peak_kib as f64 / 1024.0,
        r.rss_end_kib as f64 / 1024.0,
        r.rss_growth_mib,
    )
}
