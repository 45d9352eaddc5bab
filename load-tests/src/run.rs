//! One load run: plan rooms and clients, create rooms, connect everyone, run the
//! senders for a fixed time, drain, measure, report.

use crate::client::{self, ClientPlan, Phase, RoomPlan, SenderPlan, Shared, Stats, Target};
use crate::net::{self, Endpoint};
use crate::payload;
use crate::stats::HistSnapshot;
use crate::sys::{self, ProcSample};
use anyhow::{anyhow, bail, Context, Result};
use huddle_protocol::{CreateRoom, RoomCreated, RoomKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Fanout,
    BigRoom,
    JoinStorm,
    Idle,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Fanout => "fanout",
            Scenario::BigRoom => "big-room",
            Scenario::JoinStorm => "join-storm",
            Scenario::Idle => "idle",
        }
    }
}

/// How many members send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Senders {
    /// Pick enough senders to keep each under half the per-sender cap (at least one per room).
    Auto,
    /// A share of each room's members (0 < f ≤ 1), at least one per room.
    Share(f64),
    /// A total count, spread over the rooms round-robin.
    Count(u32),
}

impl std::str::FromStr for Senders {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "auto" {
            return Ok(Senders::Auto);
        }
        if let Some(p) = s.strip_suffix('%') {
            let f: f64 = p.parse().map_err(|_| format!("bad percentage {s:?}"))?;
            if !(f > 0.0 && f <= 100.0) {
                return Err(format!("{s}: must be in (0, 100]%"));
            }
            return Ok(Senders::Share(f / 100.0));
        }
        if s.contains('.') {
            let f: f64 = s.parse().map_err(|_| format!("bad share {s:?}"))?;
            if !(f > 0.0 && f <= 1.0) {
                return Err(format!("{s}: a share must be in (0, 1]"));
            }
            return Ok(Senders::Share(f));
        }
        let n: u32 = s
            .parse()
            .map_err(|_| format!("bad sender count {s:?} (use N, 0.25, 25% or auto)"))?;
        Ok(Senders::Count(n))
    }
}

/// Everything a run needs, already validated by the CLI.
#[derive(Debug, Clone)]
pub struct Config {
    pub scenario: Scenario,
    pub target: Target,
    pub endpoints: Vec<Endpoint>,
    pub rooms: u32,
    pub members: u32,
    /// Total chat messages per second across all senders (0 = no chat).
    pub rate: f64,
    pub senders: Senders,
    pub max_sender_rate: f64,
    pub duration: Duration,
    pub drain: Duration,
    /// Max clients connecting at once (None = all at once).
    pub connect_concurrency: Option<usize>,
    pub connect_timeout: Duration,
    pub setup_timeout: Duration,
    pub pad: usize,
    pub facilitator: bool,
    pub server_pids: Vec<u32>,
    pub quiet: bool,
}

#[derive(Debug, Serialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    pub samples: u64,
}

impl LatencyMs {
    pub fn from_us(h: &HistSnapshot) -> LatencyMs {
        let ms = |v: u64| (v as f64 / 1000.0 * 1000.0).round() / 1000.0;
        LatencyMs {
            p50: ms(h.quantile(0.50)),
            p95: ms(h.quantile(0.95)),
            p99: ms(h.quantile(0.99)),
            max: ms(h.max()),
            mean: (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
            samples: h.count(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ServerReport {
    pub pids: Vec<u32>,
    /// Sum over the pids, KiB: before any client connected.
    pub rss_before_kb: u64,
    /// After all clients joined (before chat).
    pub rss_joined_kb: u64,
    /// At the end of the run (idle: after the hold).
    pub rss_after_kb: u64,
    pub hwm_after_kb: u64,
    /// (rss_after - rss_before) / connections.
    pub rss_per_conn_bytes: Option<f64>,
    /// Server CPU over the measured window, percent of one core.
    pub cpu_pct: Option<f64>,
    pub threads: u64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub target: Target,
    pub urls: Vec<String>,
    pub run_id: u32,
    pub rooms: u32,
    pub members_per_room: u32,
    pub clients: u64,
    pub senders: u32,
    pub rate_msgs_per_sec: f64,
    pub per_sender_rate: f64,
    pub duration_secs: f64,
    pub connected: u64,
    pub connect_failed: u64,
    pub connect_errors: BTreeMap<String, u64>,
    pub dropped: u64,
    /// Connect + WebSocket handshake + join until welcome, per client.
    pub connect_ms: LatencyMs,
    /// Wall time from the first connect until every client joined (or failed).
    pub setup_secs: f64,
    pub sent: u64,
    pub rejected: u64,
    pub expected_deliveries: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub sender_gaps: u64,
    pub seq_regressions: u64,
    pub seq_gaps: u64,
    pub foreign: u64,
    pub errors: u64,
    pub error_codes: BTreeMap<String, u64>,
    pub bad_frames: u64,
    pub offered_deliveries_per_sec: f64,
    pub delivered_per_sec: f64,
    pub latency_ms: LatencyMs,
    pub server: Option<ServerReport>,
    pub client_rss_kb: u64,
    /// This load generator's own CPU over the measured window, percent of one core
    /// (it shares the machine with the server).
    pub client_cpu_pct: Option<f64>,
    /// CPU used by everything else on the machine over the window (other processes,
    /// kernel work not charged to them), percent of one core: high values mean the
    /// figures were disturbed.
    pub other_cpu_pct: Option<f64>,
}

fn sample_all(pids: &[u32]) -> Option<Vec<ProcSample>> {
    if pids.is_empty() {
        return None;
    }
    let v: Vec<ProcSample> = pids.iter().filter_map(|&p| sys::sample(p).ok()).collect();
    if v.len() != pids.len() {
        eprintln!("warning: could not read /proc for every --server-pid {pids:?}");
    }
    Some(v)
}

fn sum_rss(v: &Option<Vec<ProcSample>>) -> u64 {
    v.as_ref().map_or(0, |v| v.iter().map(|s| s.rss_kb).sum())
}

fn sum_cpu(v: &Option<Vec<ProcSample>>) -> u64 {
    v.as_ref()
        .map_or(0, |v| v.iter().map(|s| s.cpu_ticks).sum())
}

/// Split `total` over `parts` as evenly as possible (first ones get the remainder).
fn spread(total: u64, parts: u32, i: u32) -> u64 {
    let p = parts as u64;
    total / p + u64::from((i as u64) < total % p)
}

/// Decide how many senders each room gets; returns per-room sender counts.
pub fn plan_senders(cfg: &Config) -> Result<Vec<u32>> {
    let rooms = cfg.rooms;
    let total_members = rooms as u64 * cfg.members as u64;
    if cfg.rate <= 0.0 || matches!(cfg.scenario, Scenario::JoinStorm | Scenario::Idle) {
        return Ok(vec![0; rooms as usize]);
    }
    let half_cap = (cfg.max_sender_rate / 2.0).max(0.1);
    let mut per_room: Vec<u32> = match cfg.senders {
        Senders::Auto => {
            let want = ((cfg.rate / half_cap).ceil() as u64).max(rooms as u64);
            (0..rooms)
                .map(|r| spread(want.min(total_members), rooms, r) as u32)
                .collect()
        }
        Senders::Share(f) => (0..rooms)
            .map(|_| ((cfg.members as f64 * f).round() as u32).max(1))
            .collect(),
        Senders::Count(n) => {
            if n == 0 {
                bail!("--senders 0: nobody would send (use --rate 0 for no chat)");
            }
            (0..rooms)
                .map(|r| spread(n as u64, rooms, r) as u32)
                .collect()
        }
    };
    for s in &mut per_room {
        *s = (*s).min(cfg.members);
    }
    let mut total: u64 = per_room.iter().map(|&s| s as u64).sum();
    if total == 0 {
        bail!("no senders: raise --senders");
    }
    // More senders rather than faster senders: grow the sender set while over the cap.
    if cfg.rate / total as f64 > cfg.max_sender_rate {
        let need = (cfg.rate / cfg.max_sender_rate).ceil() as u64;
        if need > total_members {
            bail!(
                "--rate {} needs {need} senders at ≤ {} msgs/s each, but there are only {total_members} members; \
                 add members or raise --max-sender-rate",
                cfg.rate,
                cfg.max_sender_rate
            );
        }
        eprintln!(
            "note: {total} senders would each send {:.1} msgs/s (> --max-sender-rate {}); using {need} senders",
            cfg.rate / total as f64,
            cfg.max_sender_rate
        );
        per_room = (0..rooms)
            .map(|r| (spread(need, rooms, r) as u32).min(cfg.members))
            .collect();
        total = per_room.iter().map(|&s| s as u64).sum();
        // Rooms capped at `members` leave a remainder: give it to rooms with room to spare.
        let mut r = 0usize;
        while total < need {
            if per_room[r] < cfg.members {
                per_room[r] += 1;
                total += 1;
            }
            r = (r + 1) % per_room.len();
        }
    }
    Ok(per_room)
}

async fn create_rooms(cfg: &Config, run_id: u32, senders: &[u32]) -> Result<Vec<RoomPlan>> {
    let mut rooms = Vec::with_capacity(cfg.rooms as usize);
    if cfg.target != Target::Huddle {
        for r in 0..cfg.rooms {
            rooms.push(RoomPlan {
                id: format!("load-{run_id}-{r}"),
                facilitator_key: None,
                members: cfg.members,
                senders: senders[r as usize],
            });
        }
        return Ok(rooms);
    }
    // POST /api/rooms, a few at a time, on the endpoints round-robin.
    let mut set = JoinSet::new();
    let sem = Arc::new(Semaphore::new(8));
    for r in 0..cfg.rooms {
        let ep = cfg.endpoints[r as usize % cfg.endpoints.len()].clone();
        let sem = sem.clone();
        let body = serde_json::to_string(&CreateRoom {
            title: format!("load {run_id} #{r}"),
            kind: RoomKind::Group,
            ..Default::default()
        })?;
        set.spawn(async move {
            let _p = sem.acquire().await;
            let mut last_err = anyhow!("not tried");
            // Bounded retries (e.g. if room creation is rate-limited).
            for attempt in 0..8u32 {
                match net::request(
                    &ep,
                    "POST",
                    "/api/rooms",
                    Some(&body),
                    Duration::from_secs(10),
                )
                .await
                {
                    Ok(resp) if (200..300).contains(&resp.status) => {
                        let c: RoomCreated =
                            serde_json::from_str(&resp.body).with_context(|| {
                                format!("POST /api/rooms: unexpected body {:.200}", resp.body)
                            })?;
                        return Ok((r, c));
                    }
                    Ok(resp) if resp.status == 429 || resp.status >= 500 => {
                        last_err =
                            anyhow!("POST /api/rooms: HTTP {} {:.200}", resp.status, resp.body);
                    }
                    Ok(resp) => {
                        bail!("POST /api/rooms: HTTP {} {:.200}", resp.status, resp.body)
                    }
                    Err(e) => last_err = e,
                }
                tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
            }
            Err(last_err)
        });
    }
    let mut created: Vec<Option<RoomCreated>> = vec![None; cfg.rooms as usize];
    while let Some(res) = set.join_next().await {
        let (r, c) = res.context("room creation task")??;
        created[r as usize] = Some(c);
    }
    for (r, c) in created.into_iter().enumerate() {
        let c = c.ok_or_else(|| anyhow!("room {r} not created"))?;
        rooms.push(RoomPlan {
            id: c.room_id,
            facilitator_key: cfg.facilitator.then_some(c.facilitator_key),
            members: cfg.members,
            senders: senders[r],
        });
    }
    Ok(rooms)
}

fn progress(label: &str, t0: Instant, st: &Stats, total: u64, prev: &mut (u64, u64)) {
    let sent = st.sent.load(Relaxed);
    let recv = st.received.get();
    let w = st.window_us.take();
    eprintln!(
        "[{:>5.1}s] {label:<7} conn {}/{} fail {} drop {} | sent {} (+{}/s) deliv {} (+{}/s) p50 {:.1}ms p99 {:.1}ms | err {}",
        t0.elapsed().as_secs_f64(),
        st.connected.load(Relaxed),
        total,
        st.connect_failed.load(Relaxed),
        st.dropped.load(Relaxed),
        sent,
        sent - prev.0,
        recv,
        recv - prev.1,
        w.quantile(0.5) as f64 / 1000.0,
        w.quantile(0.99) as f64 / 1000.0,
        st.error_frames.load(Relaxed),
    );
    *prev = (sent, recv);
}

fn expected(st: &Stats, joined_at_start: &[u64]) -> u64 {
    joined_at_start
        .iter()
        .enumerate()
        .map(|(r, &m)| {
            let sent = st.room_sent[r].load(Relaxed);
            let rej = st.room_rejected[r].load(Relaxed);
            sent.saturating_sub(rej) * m
        })
        .sum()
}

/// Run one scenario end to end.
pub async fn run(cfg: Config) -> Result<Report> {
    let (old, new) = sys::raise_nofile_limit().context("raise RLIMIT_NOFILE")?;
    let clients = cfg.rooms as u64 * cfg.members as u64;
    if clients == 0 {
        bail!("nothing to do: 0 clients");
    }
    if clients + 64 > new {
        bail!(
            "{clients} clients need more file descriptors than RLIMIT_NOFILE allows ({new}, was {old}); \
             raise the hard limit (ulimit -Hn) or use fewer clients"
        );
    }
    let run_id = (payload::now_micros() % 1_000_000_000) as u32;
    let senders = plan_senders(&cfg)?;
    let total_senders: u32 = senders.iter().sum();
    let per_sender = if total_senders > 0 {
        cfg.rate / total_senders as f64
    } else {
        0.0
    };
    if !cfg.quiet {
        eprintln!(
            "huddle-load {} → {:?} at {}: {} rooms × {} members = {clients} clients, {total_senders} senders × {per_sender:.2} msgs/s = {} msgs/s for {:?} (run {run_id}, fd limit {new})",
            cfg.scenario.name(),
            cfg.target,
            cfg.endpoints.iter().map(|e| e.http_url()).collect::<Vec<_>>().join(","),
            cfg.rooms,
            cfg.members,
            cfg.rate,
            cfg.duration,
        );
    }
    let before = sample_all(&cfg.server_pids);
    let rooms = create_rooms(&cfg, run_id, &senders).await?;

    // Plan clients: member m of room r is client r*M+m; endpoints round-robin on the client index.
    let mut plans = Vec::with_capacity(clients as usize);
    let mut sender_seq: u64 = 0;
    for (r, room) in rooms.iter().enumerate() {
        for m in 0..cfg.members {
            let index = r as u32 * cfg.members + m;
            let sender = (m < room.senders).then(|| {
                let period = Duration::from_secs_f64(1.0 / per_sender);
                // Golden-ratio phases spread the senders evenly over one period.
                let frac = (sender_seq as f64 * 0.618_033_988_749_895).fract();
                sender_seq += 1;
                SenderPlan {
                    index: m,
                    period,
                    offset: period.mul_f64(frac),
                    max: (cfg.duration.as_secs_f64() * per_sender).ceil() as u64 + 1,
                }
            });
            plans.push(ClientPlan {
                index,
                room: r as u32,
                member: m,
                endpoint: index % cfg.endpoints.len() as u32,
                sender,
            });
        }
    }

    let shared = Arc::new(Shared {
        target: cfg.target,
        run_id,
        endpoints: cfg.endpoints.clone(),
        rooms,
        stats: Stats::new(cfg.rooms as usize),
        connect_sem: cfg.connect_concurrency.map(Semaphore::new),
        connect_timeout: cfg.connect_timeout,
        pad: cfg.pad,
        ws_config: client::ws_config(cfg.pad),
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let mut tasks = JoinSet::new();
    let t_setup = Instant::now();
    for p in plans {
        tasks.spawn(client::run_client(shared.clone(), p, phase_rx.clone()));
    }
    drop(phase_rx);

    // Setup: wait until every client joined or failed (bounded).
    let st = &shared.stats;
    let mut prev = (0u64, 0u64);
    let setup_deadline = t_setup + cfg.setup_timeout;
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    loop {
        let done = st.connected.load(Relaxed) + st.connect_failed.load(Relaxed);
        if done >= clients || Instant::now() >= setup_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if Instant::now() >= next_tick {
            next_tick += Duration::from_secs(1);
            if !cfg.quiet {
                progress("setup", t_setup, st, clients, &mut prev);
            }
        }
    }
    let setup_secs = t_setup.elapsed().as_secs_f64();
    let connected = st.connected.load(Relaxed);
    if connected < clients && !cfg.quiet {
        eprintln!(
            "warning: only {connected}/{clients} clients joined within {:?}",
            cfg.setup_timeout
        );
    }
    // Let the join traffic (member_joined, accept_rules...) settle before measuring.
    if cfg.scenario != Scenario::JoinStorm {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let joined = sample_all(&cfg.server_pids);
    let joined_at_start: Vec<u64> = st.room_joined.iter().map(|a| a.load(Relaxed)).collect();
    // Forget join-phase progress windows.
    let _ = st.window_us.take();

    let t_run = Instant::now();
    let cpu_run_start = sum_cpu(&joined);
    let self_cpu_start = sys::sample_self().map(|s| s.cpu_ticks).ok();
    let machine_start = sys::machine_cpu_ticks();
    let mut window_secs = 0.0;
    let mut run_start_wall_us = None;
    match cfg.scenario {
        Scenario::JoinStorm => {}
        Scenario::Idle => {
            // Hold the idle connections, then measure.
            let end = t_run + cfg.duration;
            let mut next = t_run + Duration::from_secs(1);
            while Instant::now() < end {
                tokio::time::sleep_until(next.min(end).into()).await;
                next += Duration::from_secs(1);
                if !cfg.quiet {
                    progress("idle", t_run, st, clients, &mut prev);
                }
            }
            window_secs = t_run.elapsed().as_secs_f64();
        }
        Scenario::Fanout | Scenario::BigRoom => {
            let start = Instant::now() + Duration::from_millis(100);
            run_start_wall_us = Some(payload::now_micros() + 100_000);
            let send_until = start + cfg.duration;
            let _ = phase_tx.send(Phase::Run { start, send_until });
            let mut next = Instant::now() + Duration::from_secs(1);
            while Instant::now() < send_until {
                tokio::time::sleep_until(next.min(send_until).into()).await;
                if Instant::now() >= next {
                    next += Duration::from_secs(1);
                    if !cfg.quiet {
                        progress("run", t_run, st, clients, &mut prev);
                    }
                }
            }
            // Drain: until everything expected arrived, or the drain time is up.
            let drain_end = Instant::now() + cfg.drain;
            while Instant::now() < drain_end {
                let exp = expected(st, &joined_at_start);
                if st.received.get() >= exp {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                if Instant::now() >= next {
                    next += Duration::from_secs(1);
                    if !cfg.quiet {
                        progress("drain", t_run, st, clients, &mut prev);
                    }
                }
            }
            window_secs = start.elapsed().as_secs_f64();
        }
    }
    let after = sample_all(&cfg.server_pids);
    let self_cpu_end = sys::sample_self().map(|s| s.cpu_ticks).ok();
    let machine_end = sys::machine_cpu_ticks();
    let client_cpu_pct = match (self_cpu_start, self_cpu_end) {
        (Some(a), Some(b)) if window_secs > 0.0 => Some(
            ((b.saturating_sub(a)) as f64 / sys::clock_ticks_per_sec() as f64 / window_secs
                * 1000.0)
                .round()
                / 10.0,
        ),
        _ => None,
    };

    // Close everyone (bounded), then abort stragglers.
    let _ = phase_tx.send(Phase::Close);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let client_rss_kb = sys::sample_self().map(|s| s.rss_kb).unwrap_or(0);
    // Everything else = machine busy − server(s) − this generator (only with --server-pid).
    let other_cpu_pct = match (
        machine_start,
        machine_end,
        self_cpu_start,
        self_cpu_end,
        &after,
    ) {
        (Some((b0, _)), Some((b1, _)), Some(c0), Some(c1), Some(_)) if window_secs > 0.0 => {
            let ours = sum_cpu(&after).saturating_sub(cpu_run_start) + c1.saturating_sub(c0);
            let other = b1.saturating_sub(b0).saturating_sub(ours);
            Some(
                (other as f64 / sys::clock_ticks_per_sec() as f64 / window_secs * 1000.0).round()
                    / 10.0,
            )
        }
        _ => None,
    };

    let exp = expected(st, &joined_at_start);
    let delivered = st.received.get();
    let lat = st.latency_us.snapshot();
    let connect = st.connect_us.snapshot();
    let sent = st.sent.load(Relaxed);
    let rejected: u64 = st.room_rejected.iter().map(|a| a.load(Relaxed)).sum();
    // Delivery rate over the time deliveries actually took (start → last delivery).
    let deliv_window = match run_start_wall_us {
        Some(t) if delivered > 0 => {
            (st.last_recv_us.get().saturating_sub(t) as f64 / 1e6).max(cfg.duration.as_secs_f64())
        }
        _ => cfg.duration.as_secs_f64(),
    };
    let server = before.as_ref().map(|b| {
        let rss_before = b.iter().map(|s| s.rss_kb).sum::<u64>();
        let rss_after = sum_rss(&after);
        let cpu = if window_secs > 0.0 {
            Some(
                (sum_cpu(&after).saturating_sub(cpu_run_start)) as f64
                    / sys::clock_ticks_per_sec() as f64
                    / window_secs
                    * 100.0,
            )
        } else {
            None
        };
        ServerReport {
            pids: cfg.server_pids.clone(),
            rss_before_kb: rss_before,
            rss_joined_kb: sum_rss(&joined),
            rss_after_kb: rss_after,
            hwm_after_kb: after
                .as_ref()
                .map_or(0, |v| v.iter().map(|s| s.hwm_kb).sum()),
            rss_per_conn_bytes: (connected > 0)
                .then(|| (rss_after as f64 - rss_before as f64) * 1024.0 / connected as f64),
            cpu_pct: cpu.map(|c| (c * 10.0).round() / 10.0),
            threads: after
                .as_ref()
                .map_or(0, |v| v.iter().map(|s| s.threads).sum()),
        }
    });
    let lock = |m: &std::sync::Mutex<BTreeMap<String, u64>>| {
        m.lock().unwrap_or_else(|e| e.into_inner()).clone()
    };
    Ok(Report {
        scenario: cfg.scenario,
        target: cfg.target,
        urls: cfg.endpoints.iter().map(|e| e.http_url()).collect(),
        run_id,
        rooms: cfg.rooms,
        members_per_room: cfg.members,
        clients,
        senders: total_senders,
        rate_msgs_per_sec: cfg.rate,
        per_sender_rate: per_sender,
        duration_secs: cfg.duration.as_secs_f64(),
        connected,
        connect_failed: st.connect_failed.load(Relaxed),
        connect_errors: lock(&st.connect_errors),
        dropped: st.dropped.load(Relaxed),
        connect_ms: LatencyMs::from_us(&connect),
        setup_secs,
        sent,
        rejected,
        expected_deliveries: exp,
        delivered,
        lost: exp.saturating_sub(delivered),
        duplicated: st.duplicated.load(Relaxed),
        sender_gaps: st.sender_gaps.load(Relaxed),
        seq_regressions: st.seq_regressions.load(Relaxed),
        seq_gaps: st.seq_gaps.load(Relaxed),
        foreign: st.foreign.load(Relaxed),
        errors: st.error_frames.load(Relaxed),
        error_codes: lock(&st.errors),
        bad_frames: st.bad_frames.load(Relaxed),
        offered_deliveries_per_sec: if cfg.duration.as_secs_f64() > 0.0 {
            exp as f64 / cfg.duration.as_secs_f64()
        } else {
            0.0
        },
        delivered_per_sec: if matches!(cfg.scenario, Scenario::Fanout | Scenario::BigRoom) {
            delivered as f64 / deliv_window
        } else {
            0.0
        },
        latency_ms: LatencyMs::from_us(&lat),
        server,
        client_rss_kb,
        client_cpu_pct,
        other_cpu_pct,
    })
}

/// The human-readable table (stdout).
pub fn table(r: &Report) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
    row(
        "scenario",
        format!("{} ({:?})", r.scenario.name(), r.target),
    );
    row("urls", r.urls.join(", "));
    row(
        "clients",
        format!(
            "{} = {} rooms × {} members; joined {}, failed {}, dropped {}",
            r.clients, r.rooms, r.members_per_room, r.connected, r.connect_failed, r.dropped
        ),
    );
    row(
        "connect+join ms",
        format!(
            "p50 {:.2}  p99 {:.2}  max {:.2}  (all joined in {:.2}s)",
            r.connect_ms.p50, r.connect_ms.p99, r.connect_ms.max, r.setup_secs
        ),
    );
    for (k, v) in &r.connect_errors {
        row("  connect error", format!("{v} × {k}"));
    }
    if matches!(r.scenario, Scenario::Fanout | Scenario::BigRoom) {
        row(
            "offered",
            format!(
                "{} msgs/s by {} senders ({:.2}/s each) for {}s → {:.0} deliveries/s",
                r.rate_msgs_per_sec,
                r.senders,
                r.per_sender_rate,
                r.duration_secs,
                r.offered_deliveries_per_sec
            ),
        );
        row("sent", format!("{} (rejected {})", r.sent, r.rejected));
        row(
            "delivered",
            format!(
                "{} of {} expected ({:.0}/s)",
                r.delivered, r.expected_deliveries, r.delivered_per_sec
            ),
        );
        row(
            "lost / duplicated",
            format!(
                "{} / {}  (sender gaps {}, seq regressions {}, seq gaps {})",
                r.lost, r.duplicated, r.sender_gaps, r.seq_regressions, r.seq_gaps
            ),
        );
        row(
            "latency ms",
            format!(
                "p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
                r.latency_ms.p50,
                r.latency_ms.p95,
                r.latency_ms.p99,
                r.latency_ms.max,
                r.latency_ms.mean
            ),
        );
    }
    row(
        "errors",
        format!(
            "{}{}{}",
            r.errors,
            if r.error_codes.is_empty() {
                String::new()
            } else {
                format!(" {:?}", r.error_codes)
            },
            if r.bad_frames > 0 {
                format!(" (undecodable frames {})", r.bad_frames)
            } else {
                String::new()
            }
        ),
    );
    if let Some(s) = &r.server {
        row(
            "server RSS",
            format!(
                "before {:.1} MiB, joined {:.1} MiB, after {:.1} MiB (peak {:.1} MiB), {} threads",
                s.rss_before_kb as f64 / 1024.0,
                s.rss_joined_kb as f64 / 1024.0,
                s.rss_after_kb as f64 / 1024.0,
                s.hwm_after_kb as f64 / 1024.0,
                s.threads
            ),
        );
        if let Some(b) = s.rss_per_conn_bytes {
            row("server RSS / conn", format!("{:.1} KiB", b / 1024.0));
        }
        if let Some(c) = s.cpu_pct {
            row("server CPU", format!("{c:.1} % of one core"));
        }
    }
    row(
        "client RSS / CPU",
        format!(
            "{:.1} MiB / {}",
            r.client_rss_kb as f64 / 1024.0,
            r.client_cpu_pct
                .map_or("-".to_string(), |c| format!("{c:.1} % of one core"))
        ),
    );
    if let Some(o) = r.other_cpu_pct {
        row(
            "other CPU",
            format!(
                "{o:.1} % of one core used by other processes during the run{}",
                if o > 20.0 { " (figures disturbed)" } else { "" }
            ),
        );
    }
    let w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{k:<w$}  {v}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rooms: u32, members: u32, rate: f64, senders: Senders) -> Config {
        Config {
            scenario: Scenario::Fanout,
            target: Target::Baseline,
            endpoints: vec![Endpoint::parse("127.0.0.1:1").unwrap()],
            rooms,
            members,
            rate,
            senders,
            max_sender_rate: 10.0,
            duration: Duration::from_secs(1),
            drain: Duration::from_secs(1),
            connect_concurrency: None,
            connect_timeout: Duration::from_secs(1),
            setup_timeout: Duration::from_secs(1),
            pad: 0,
            facilitator: false,
            server_pids: vec![],
            quiet: true,
        }
    }

    #[test]
    fn senders_parse() {
        assert_eq!("auto".parse::<Senders>(), Ok(Senders::Auto));
        assert_eq!("0.25".parse::<Senders>(), Ok(Senders::Share(0.25)));
        assert_eq!("50%".parse::<Senders>(), Ok(Senders::Share(0.5)));
        assert_eq!("7".parse::<Senders>(), Ok(Senders::Count(7)));
        assert!("1.5".parse::<Senders>().is_err());
        assert!("x".parse::<Senders>().is_err());
    }

    #[test]
    fn sender_planning_respects_the_per_sender_cap() {
        // Auto: 200 msgs/s, cap 10 → ≥ 40 senders, ≥ 1 per room.
        let p = plan_senders(&cfg(200, 20, 200.0, Senders::Auto)).unwrap();
        assert_eq!(p.len(), 200);
        assert!(p.iter().all(|&s| s >= 1));
        // Count: 3 over 2 rooms.
        assert_eq!(
            plan_senders(&cfg(2, 5, 1.0, Senders::Count(3))).unwrap(),
            vec![2, 1]
        );
        // Too few senders for the rate: grown to rate / cap.
        let p = plan_senders(&cfg(2, 50, 400.0, Senders::Count(2))).unwrap();
        assert!(p.iter().sum::<u32>() >= 40);
        assert!(p.iter().all(|&s| s <= 50));
        // Impossible: 2 rooms × 2 members cannot carry 100 msgs/s at ≤ 10 each.
        assert!(plan_senders(&cfg(2, 2, 100.0, Senders::Auto)).is_err());
        // Share.
        assert_eq!(
            plan_senders(&cfg(3, 10, 3.0, Senders::Share(0.2))).unwrap(),
            vec![2, 2, 2]
        );
    }

    #[test]
    fn spread_sums_to_total() {
        let s: u64 = (0..7).map(|i| spread(100, 7, i)).sum();
        assert_eq!(s, 100);
    }
}
