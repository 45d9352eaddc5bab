//! `huddle-load`: see `huddle-load --help` and `load-tests/README.md`.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use huddle_load::calls;
use huddle_load::client::Target;
use huddle_load::net::Endpoint;
use huddle_load::rejoin;
use huddle_load::run::{self, Config, Scenario, Senders};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "huddle-load",
    version,
    about = "Load generator for Huddle (and its Socket.IO and bare-WebSocket peers). Loopback targets only."
)]
struct Cli {
    #[command(subcommand)]
    scenario: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// R rooms × M members; senders chat at --rate in total; every member receives.
    Fanout {
        #[arg(long, default_value_t = 200)]
        rooms: u32,
        #[arg(long, default_value_t = 20)]
        members: u32,
        #[command(flatten)]
        common: Common,
    },
    /// One room of N members.
    BigRoom {
        #[arg(long, default_value_t = 2000)]
        members: u32,
        #[command(flatten)]
        common: Common,
    },
    /// N clients connect and join at once; reports connect+welcome time.
    JoinStorm {
        #[arg(long, default_value_t = 1000)]
        clients: u32,
        /// Members per room.
        #[arg(long, default_value_t = 50)]
        room_size: u32,
        #[command(flatten)]
        common: Common,
    },
    /// N idle joined connections held for --duration; reports server memory per connection.
    Idle {
        #[arg(long, default_value_t = 1000)]
        clients: u32,
        /// Members per room.
        #[arg(long, default_value_t = 50)]
        room_size: u32,
        #[command(flatten)]
        common: Common,
    },
    /// Calls' WebRTC signalling: R rooms × M members in a video call; every pair renegotiates
    /// (offer, answer, ICE candidate batches of browser-like sizes) through the server; reports
    /// relay latency, rate, loss and order.
    CallSignalling {
        #[arg(long, default_value_t = 50)]
        rooms: u32,
        /// Members per room, all in its call (the video mesh allows 6 cameras).
        #[arg(long, default_value_t = 6)]
        members: u32,
        /// Negotiations per second per pair (each: offer + answer + two candidate batches;
        /// a member sends 2 × (members − 1) × this frames/s: keep it under --rate-per-sec).
        #[arg(long, default_value_t = 1.0)]
        negotiations_per_sec: f64,
        /// Base URL(s), comma-separated; members are split round-robin across them. Loopback only.
        #[arg(long, env = "HUDDLE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Seconds of negotiating.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Seconds to wait for in-flight signals after the offers stop.
        #[arg(long, default_value_t = 5.0)]
        drain: f64,
        /// Seconds all members may take to join the room and the call.
        #[arg(long, default_value_t = 60.0)]
        setup_timeout: f64,
        /// Server process id(s) whose CPU to read from /proc.
        #[arg(long, value_delimiter = ',')]
        server_pid: Vec<u32>,
        #[arg(long)]
        json_out: Option<std::path::PathBuf>,
        #[arg(long)]
        quiet: bool,
        /// Exit with status 2 unless every member got into the call, signals were delivered,
        /// and none was lost, duplicated, out of order or refused.
        #[arg(long)]
        check: bool,
    },
    /// The leave/join memory attack: N connections loop `leave` + `join` on a room with a full
    /// history without reading; reports the server's RSS growth (needs --server-pid).
    Rejoin {
        #[arg(long, default_value_t = 50)]
        clients: u32,
        /// Messages put in the room's history first.
        #[arg(long, default_value_t = 200)]
        history: u32,
        /// Characters per history message (two bytes each).
        #[arg(long, default_value_t = 2000)]
        text_chars: usize,
        /// leave + join pairs per second per connection.
        #[arg(long, default_value_t = 8.0)]
        rejoins_per_sec: f64,
        /// Seconds of attack.
        #[arg(long, default_value_t = 60.0)]
        duration: f64,
        #[arg(long, env = "HUDDLE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The server's process id (its RSS is read from /proc).
        #[arg(long)]
        server_pid: u32,
        /// Exit with status 2 if the server grew by more than this many MiB.
        #[arg(long)]
        max_growth_mib: Option<f64>,
        #[arg(long)]
        json_out: Option<std::path::PathBuf>,
        #[arg(long)]
        quiet: bool,
    },
    /// Sign in N times (bounded concurrency; Argon2id dominates), then create
    /// rooms as that signed-in account; reports p50/p99 and rates.
    Accounts {
        #[arg(long, default_value_t = 200)]
        sign_ins: u32,
        #[arg(long, default_value_t = 500)]
        rooms: u32,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// The account's email (an admin or facilitator: it creates rooms).
        #[arg(long)]
        email: String,
        #[arg(long, env = "HUDDLE_LOAD_PASSWORD")]
        password: String,
        /// Redeem this setup token (`huddle admin create`) with the password first.
        #[arg(long)]
        setup_token: Option<String>,
        #[arg(long, env = "HUDDLE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        json_out: Option<std::path::PathBuf>,
    },
}

#[derive(Args)]
struct Common {
    /// Which server speaks on --url.
    #[arg(long, value_enum, default_value_t = Target::Huddle)]
    target: Target,
    /// Base URL(s), comma-separated; clients are split round-robin across them
    /// (e.g. two instances sharing one Redis). Loopback only.
    #[arg(long, env = "HUDDLE_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Total chat messages per second across all senders
    /// [default: fanout 200, big-room 20].
    #[arg(long)]
    rate: Option<f64>,
    /// Who sends: `auto`, a count (`40`), or a share of each room (`0.25`, `25%`).
    #[arg(long, default_value = "auto")]
    senders: Senders,
    /// Per-sender cap in msgs/s: above it more members send (servers rate-limit per connection).
    #[arg(long, default_value_t = 10.0)]
    max_sender_rate: f64,
    /// Seconds of sending (idle: seconds to hold the connections).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait for in-flight deliveries after sending stops.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Max clients connecting at once (0 = all at once) [default: 100, below the common
    /// accept backlog of 128; join-storm: 0].
    #[arg(long)]
    connect_concurrency: Option<usize>,
    /// Seconds one client may take to connect and join.
    #[arg(long, default_value_t = 30.0)]
    connect_timeout: f64,
    /// Seconds all clients may take to connect and join.
    #[arg(long, default_value_t = 180.0)]
    setup_timeout: f64,
    /// Pad chat texts to at least this many bytes.
    #[arg(long, default_value_t = 0)]
    pad: usize,
    /// Huddle: do not join the first member of each room as its facilitator.
    #[arg(long)]
    no_facilitator: bool,
    /// Server process id(s) whose RSS and CPU to read from /proc (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Write the full report as JSON here.
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
    /// Exit with status 2 unless delivered > 0, lost == 0, duplicated == 0 and every client joined
    /// (join-storm/idle: every client joined and none dropped).
    #[arg(long)]
    check: bool,
}

fn secs(v: f64, what: &str) -> Result<Duration> {
    if !(v.is_finite() && (0.0..=86_400.0).contains(&v)) {
        bail!("--{what} must be between 0 and 86400 seconds");
    }
    Ok(Duration::from_secs_f64(v))
}

fn config(
    scenario: Scenario,
    rooms: u32,
    members: u32,
    default_rate: f64,
    c: &Common,
) -> Result<Config> {
    let rate = c.rate.unwrap_or(default_rate);
    if !(rate.is_finite() && rate >= 0.0) {
        bail!("--rate must be ≥ 0");
    }
    if !(c.max_sender_rate.is_finite() && c.max_sender_rate > 0.0) {
        bail!("--max-sender-rate must be > 0");
    }
    if rooms == 0 || members == 0 {
        bail!("rooms and members must be ≥ 1");
    }
    let default_cc = if scenario == Scenario::JoinStorm {
        0
    } else {
        100
    };
    let cc = c.connect_concurrency.unwrap_or(default_cc);
    Ok(Config {
        scenario,
        target: c.target,
        endpoints: Endpoint::parse_list(&c.url)?,
        rooms,
        members,
        rate,
        senders: c.senders,
        max_sender_rate: c.max_sender_rate,
        duration: secs(c.duration, "duration")?,
        drain: secs(c.drain, "drain")?,
        connect_concurrency: (cc > 0).then_some(cc),
        connect_timeout: secs(c.connect_timeout, "connect-timeout")?,
        setup_timeout: secs(c.setup_timeout, "setup-timeout")?,
        pad: c.pad.min(64 * 1024),
        facilitator: !c.no_facilitator,
        server_pids: c.server_pid.clone(),
        quiet: c.quiet,
    })
}

/// Rooms and members for N clients in rooms of about `size`.
fn split(clients: u32, size: u32) -> (u32, u32) {
    let size = size.clamp(1, clients.max(1));
    let rooms = clients.div_ceil(size).max(1);
    (rooms, clients.div_ceil(rooms))
}

fn main() {
    // Plain error text (no backtrace even with RUST_BACKTRACE set).
    if let Err(e) = real_main() {
        eprintln!("huddle-load: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    if let Cmd::Accounts {
        sign_ins,
        rooms,
        concurrency,
        email,
        password,
        setup_token,
        url,
        json_out,
    } = &cli.scenario
    {
        let cfg = huddle_load::accounts::Config {
            endpoint: Endpoint::parse(url)?,
            email: email.clone(),
            password: password.clone(),
            setup_token: setup_token.clone(),
            sign_ins: (*sign_ins).max(1),
            rooms: *rooms,
            concurrency: (*concurrency).max(1),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        let report = rt.block_on(huddle_load::accounts::run(cfg))?;
        rt.shutdown_timeout(Duration::from_secs(2));
        let json = serde_json::to_string_pretty(&report)?;
        println!("{json}");
        if let Some(path) = json_out {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("write {}", path.display()))?;
        }
        return Ok(());
    }
    if let Cmd::Rejoin {
        clients,
        history,
        text_chars,
        rejoins_per_sec,
        duration,
        url,
        server_pid,
        max_growth_mib,
        json_out,
        quiet,
    } = &cli.scenario
    {
        let cfg = rejoin::Config {
            endpoint: Endpoint::parse(url)?,
            clients: (*clients).max(1),
            history: *history,
            text_chars: (*text_chars).clamp(1, 64 * 1024),
            rejoins_per_sec: *rejoins_per_sec,
            duration: secs(*duration, "duration")?,
            server_pid: *server_pid,
            quiet: *quiet,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        let report = rt.block_on(rejoin::run(cfg))?;
        rt.shutdown_timeout(Duration::from_secs(2));
        print!("{}", rejoin::table(&report));
        if let Some(path) = json_out {
            let json = serde_json::to_string_pretty(&report)?;
            std::fs::write(path, json + "\n")
                .with_context(|| format!("write {}", path.display()))?;
        }
        if let Some(max) = max_growth_mib {
            if report.rss_growth_mib > *max {
                eprintln!(
                    "check FAILED: server RSS grew {:.1} MiB (limit {max} MiB)",
                    report.rss_growth_mib
                );
                std::process::exit(2);
            }
            eprintln!("check ok: server RSS grew {:.1} MiB", report.rss_growth_mib);
        }
        return Ok(());
    }
    if let Cmd::CallSignalling {
        rooms,
        members,
        negotiations_per_sec,
        url,
        duration,
        drain,
        setup_timeout,
        server_pid,
        json_out,
        quiet,
        check,
    } = &cli.scenario
    {
        if !(negotiations_per_sec.is_finite() && *negotiations_per_sec > 0.0) {
            bail!("--negotiations-per-sec must be > 0");
        }
        if *rooms == 0 || *members < 2 {
            bail!("--rooms must be ≥ 1 and --members ≥ 2");
        }
        let cfg = calls::Config {
            endpoints: Endpoint::parse_list(url)?,
            rooms: *rooms,
            members: *members,
            negotiations_per_pair_sec: *negotiations_per_sec,
            duration: secs(*duration, "duration")?,
            drain: secs(*drain, "drain")?,
            setup_timeout: secs(*setup_timeout, "setup-timeout")?,
            server_pids: server_pid.clone(),
            quiet: *quiet,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        let report = rt.block_on(calls::run(cfg))?;
        rt.shutdown_timeout(Duration::from_secs(2));
        print!("{}", calls::table(&report));
        if let Some(path) = json_out {
            let json = serde_json::to_string_pretty(&report)?;
            std::fs::write(path, json + "\n")
                .with_context(|| format!("write {}", path.display()))?;
        }
        if *check {
            let ok = report.in_call == report.clients
                && report.delivered > 0
                && report.lost == 0
                && report.duplicated == 0
                && report.out_of_order == 0
                && report.refused == 0
                && report.dropped == 0;
            if !ok {
                eprintln!(
                    "check FAILED: in call {}/{}, delivered {}, lost {}, duplicated {}, out of order {}, refused {}, dropped {}",
                    report.in_call, report.clients, report.delivered, report.lost,
                    report.duplicated, report.out_of_order, report.refused, report.dropped
                );
                std::process::exit(2);
            }
            eprintln!("check ok");
        }
        return Ok(());
    }
    let (cfg, common) = match &cli.scenario {
        Cmd::Fanout {
            rooms,
            members,
            common,
        } => (
            config(Scenario::Fanout, *rooms, *members, 200.0, common)?,
            common,
        ),
        Cmd::BigRoom { members, common } => (
            config(Scenario::BigRoom, 1, *members, 20.0, common)?,
            common,
        ),
        Cmd::JoinStorm {
            clients,
            room_size,
            common,
        } => {
            let (r, m) = split(*clients, *room_size);
            (config(Scenario::JoinStorm, r, m, 0.0, common)?, common)
        }
        Cmd::Idle {
            clients,
            room_size,
            common,
        } => {
            let (r, m) = split(*clients, *room_size);
            (config(Scenario::Idle, r, m, 0.0, common)?, common)
        }
        Cmd::Rejoin { .. } | Cmd::Accounts { .. } | Cmd::CallSignalling { .. } => {
            unreachable!("handled above")
        }
    };
    let scenario = cfg.scenario;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let report = rt.block_on(run::run(cfg))?;
    // Do not wait for stragglers (all client tasks were closed or aborted).
    rt.shutdown_timeout(Duration::from_secs(2));
    print!("{}", run::table(&report));
    if let Some(path) = &common.json_out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("write {}", path.display()))?;
    }
    if common.check {
        let all_joined = report.connected == report.clients && report.connect_failed == 0;
        let ok = match scenario {
            Scenario::Fanout | Scenario::BigRoom => {
                all_joined && report.delivered > 0 && report.lost == 0 && report.duplicated == 0
            }
            Scenario::JoinStorm | Scenario::Idle => all_joined && report.dropped == 0,
        };
        if !ok {
            eprintln!(
                "check FAILED: joined {}/{}, delivered {}, lost {}, duplicated {}, dropped {}",
                report.connected,
                report.clients,
                report.delivered,
                report.lost,
                report.duplicated,
                report.dropped
            );
            std::process::exit(2);
        }
        eprintln!("check ok");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn split_clients_into_rooms() {
        assert_eq!(split(1000, 50), (20, 50));
        assert_eq!(split(10, 3), (4, 3));
        assert_eq!(split(5, 100), (1, 5));
    }
}
