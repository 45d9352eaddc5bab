//! Huddle server: rooms for clinician peer support over WebSocket.
//!
//! # Layout
//!
//! Every road goes downward — transport → rooms → room model — with the
//! broker beside the rooms, calling back only through one trait.
//!
//! ```text
//! lib.rs              this map; `run`: wiring, listening, graceful shutdown
//! main.rs             flags → Config → run
//! commands.rs         `huddle migrate`, `huddle admin create`; startup checks
//! config.rs           flags and HUDDLE_* environment variables
//! crisis.rs           crisis resources: built-in + --crisis-resources FILE, checked at startup
//! metrics.rs          counters and gauges for GET /metrics (RedisOp: the op labels)
//! error.rs            every error type, and the one place each maps to an ErrorCode
//! http/mod.rs         the router; one file per resource:
//!   ws.rs               GET /ws: origin, per-address limit, transport limits, upgrade
//!   rooms.rs            POST /api/rooms, GET /api/rooms/{id}
//!   directory.rs        GET /api/rooms?kind=drop_in
//!   summary.rs          GET /api/rooms/{id}/summary.md
//!   crisis.rs           GET /api/crisis-resources
//!   config.rs           GET /api/config (the deployment's time zone)
//!   auth.rs             sign-in/out, /api/me, one-time links; the CSRF (Origin) check
//!   admin.rs            /api/admin/*: invite, list, role, (de)activate, reset link; bars
//!   my_rooms.rs         /api/my/rooms, POST /api/rooms/{id}/facilitator-link
//!   series.rs           /api/series*, /api/registrations/*: series, sessions, .ics, registration
//!   health.rs           /healthz, /readyz, /metrics (here, or on --metrics-bind)
//!   static_files.rs     the embedded web client
//!   client.rs           the client's address (through --trusted-proxy), the origin check
//! session/mod.rs      one connection's reader: frame → command, rate and size limits
//! session/writer.rs   its writer: queue → socket, coalesced writes, pings
//! rooms/mod.rs        Rooms: this instance's rooms; implements BrokerEvents
//!   registry.rs         room id → actor handle; create rooms, start/stop actors
//!   actor.rs            one task per hosted room: commands, timers, batches
//!   local.rs            this instance's sessions per room; local fan-out
//!   queue.rs            a session's outgoing queue, bounded in frames and bytes
//!   desk.rs             the on-call desk room; alerts between rooms and the desk
//!   bars.rs             removals kept in the store (bars): record, check at join
//! oncall.rs           who may take the on-call desk (one function)
//! program/            recurring series: mod.rs (checks), schedule.rs (RRULE in
//!                     the series' zone), open.rs (a session's room, once; the
//!                     opener task), calendar.rs (.ics)
//! media/mod.rs        calls outside the model: ICE servers, TURN REST credentials
//! room/               the pure room model: state, rules, events (no I/O)
//!   mod.rs              Room::handle, a short dispatch; state.rs: Room and its types
//!   commands/<topic>.rs one `impl Room` block per topic (chat, moderation, timers, …)
//!   tests/<topic>.rs    the model's unit tests, by the same topics
//!   summary.rs, library.rs  the Markdown summary; energizers, rules, crisis lines
//! broker/mod.rs       traits Broker and BrokerEvents; what crosses: RoomCmd, Delivery, FrameText, RoomMeta
//!   memory.rs           everything in this process (the default)
//!   redis/mod.rs        several instances through Redis: connections, pushes, submit
//!   redis/wire.rs       the batch codec
//!   redis/lease.rs      heartbeats, room ownership, takeover, presence
//!   redis/history.rs    the events stream, fan-out publish, gap fill
//!   redis/store.rs      state snapshots, metadata, the room directory
//!   redis/sign.rs       HMAC signatures of what instances exchange (--redis-signing-key)
//! accounts/mod.rs     Accounts: sign-in, sessions, links, roles (may_take_oncall_desk)
//!   credentials.rs      Argon2id passwords, tokens, email/name/password checks
//!   limit.rs            the sign-in failure limits
//! store/mod.rs        trait Store (the durable store), StoreError, StoreOp
//!   queries.rs          the SQL, written once for both backends
//!   sqlite.rs           embedded, the default (--data-dir)
//!   postgres.rs         shared by several instances (--database-url)
//!   series.rs           trait SeriesStore (series, sessions' rooms, registrations); series_sql.rs its SQL
//! ```
//!
//! # The road of one chat message
//!
//! 1. **Session reader** — `session::run` reads a text frame, rate- and
//!    size-checks it, decodes it (`huddle_protocol::decode_client`) and hands
//!    `RoomCmd::Client { msg: Chat }` to [`Rooms::submit`](rooms::Rooms::submit),
//!    which asks the broker: [`Broker::submit`](broker::Broker::submit).
//! 2. **To the room's actor** — in memory, `MemoryBroker::submit` calls back
//!    [`BrokerEvents::command_arrived`](broker::BrokerEvents::command_arrived)
//!    and `Rooms` queues the command to the actor found in the registry
//!    (`Rooms::actor`). With Redis, the same when the room is hosted here;
//!    otherwise `RedisBroker::submit` publishes it on the room's `in` channel,
//!    and the owning instance's `RedisBroker::on_push` calls *its*
//!    `BrokerEvents::command_arrived`.
//! 3. **Actor → room model** — `rooms::actor::run_actor` drains its queue and
//!    `apply`s each command: `Room::handle` checks the chat and records a
//!    `chat` event (the room's next `seq`) in the model's output.
//! 4. **One batch** — after the burst, `Room::take_output`, then the actor's
//!    `flush`: `rooms::actor::serialize` turns each frame into JSON once
//!    ([`FrameText`](broker::FrameText), shared bytes), making one batch.
//! 5. **Local fan-out** — `Rooms::deliver_local` (rooms/local.rs) puts a clone
//!    of the frame (a reference count, no copy) in the queue of each session
//!    here whose member is in the audience.
//! 6. **Through the broker** — [`Broker::publish`](broker::Broker::publish):
//!    in memory nothing more; with Redis `RedisBroker::publish_batch` appends
//!    the events to the room's history stream and publishes the batch
//!    (`wire::encode`) on the room's `out` channel, in one pipeline.
//! 7. **Another instance** — its `RedisBroker::on_push` decodes the batch
//!    (`wire::decode`: the frames are slices of one buffer), `deliver_remote`
//!    fills any gap from history (`catch_up`), and
//!    [`BrokerEvents::batch_arrived`](broker::BrokerEvents::batch_arrived)
//!    hands it to *its* `Rooms::deliver_local`: the same local fan-out.
//! 8. **Writers** — each session's `session::writer` takes what is queued,
//!    turns each frame into axum's `Utf8Bytes` (the same bytes) and writes
//!    them to the socket with one flush.
//!
//! # Adding a client command
//!
//! Protocol type and its README example (`protocol/`) → a method in
//! `room/commands/<topic>.rs`, one dispatch line in `Room::handle`, its tests
//! in `room/tests/<topic>.rs` → a control in `web/js/room/controls/` and a
//! view in `web/js/room/render/`, with a Chromium test. The session forwards every message but
//! `ping` and `join` to the room as is; nothing here needs to change.

pub mod accounts;
pub mod broker;
pub mod commands;
pub mod config;
pub mod crisis;
pub mod error;
pub mod http;
pub mod media;
pub mod metrics;
pub mod oncall;
pub mod program;
pub mod room;
pub mod rooms;
pub mod session;
pub mod store;

use anyhow::Context;
use axum::serve::ListenerExt;
use config::Config;
use huddle_protocol::{Millis, ServerMsg};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

fn init_tracing(format: &str) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Whatever RUST_LOG says: the WebSocket library's traces print whole
    // frames (chat text, keys, tokens), so it never logs below debug.
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("tungstenite", LevelFilter::DEBUG)
        .with_target("tokio_tungstenite", LevelFilter::DEBUG);
    let registry = tracing_subscriber::registry().with(filter).with(caps);
    let set = if format == "json" {
        registry
            .with(tracing_subscriber::fmt::layer().json())
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    };
    if set.is_err() {
        // A subscriber is set already (the server embedded in another
        // program, or run twice in one test): its logging stays as it is.
        tracing::debug!("tracing subscriber already set");
    }
}

/// Milliseconds since the Unix epoch (the protocol's clock).
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Run the server until SIGTERM / ctrl-c.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    init_tracing(&cfg.log_format);
    commands::check(&cfg)?;
    if let Some(cmd) = cfg.command.clone() {
        return commands::run(cmd, &cfg).await;
    }
    let crisis = crisis::load(cfg.crisis_resources.as_deref())?;
    if cfg.crisis_resources.is_none() {
        tracing::warn!(
            "only the built-in crisis resources (911, 988) are configured: add your \
             organization's physician-health line with --crisis-resources"
        );
    }
    let metrics = Arc::new(metrics::Metrics::default());
    // Migrations first: a failure stops startup, naming the migration.
    let store = store::open(&cfg, metrics.clone()).await?;
    let accounts = Arc::new(accounts::Accounts::new(&cfg, store, metrics.clone()));
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let shutting_down = CancellationToken::new();
    let (broker, mode): (Arc<dyn broker::Broker>, _) = match &cfg.redis_url {
        None => (Arc::new(broker::MemoryBroker::default()), "in-memory"),
        Some(_) => {
            let broker = broker::RedisBroker::connect(&cfg, instance.clone(), metrics.clone())
                .await
                .context("--redis-url")?;
            (broker, "redis")
        }
    };
    let rooms = rooms::Rooms::new(
        cfg.clone(),
        instance,
        crisis,
        broker.clone(),
        accounts.store.clone(),
        metrics,
        shutting_down.clone(),
    );
    // The rooms layer is how the broker reports back (held weakly).
    let events: Arc<dyn broker::BrokerEvents> = rooms.clone();
    broker.start(Arc::downgrade(&events), shutting_down);
    drop(events);
    if cfg.redis_url.is_some() && cfg.ip_hash_secret.is_none() {
        tracing::warn!(
            "no --ip-hash-secret: each instance keys address hashes its own way, so a \
             keep-out by address holds only on the instance that removed the member"
        );
    }
    if cfg.oncall_key.is_none() {
        tracing::warn!(
            "no --oncall-key: nobody can take the on-call desk, so people who ask for \
             support in a room with no facilitator are told nobody is on call (with the crisis lines)"
        );
    }
    if cfg.metrics_bind.is_none() && cfg.metrics_token.is_none() && !cfg.bind.ip().is_loopback() {
        tracing::warn!("/metrics is not served: give --metrics-bind or --metrics-token");
    }
    {
        let accounts = accounts.clone();
        let stop = rooms.shutting_down.clone();
        tokio::spawn(async move {
            let mut hourly = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = hourly.tick() => accounts.purge_old().await,
                }
            }
        });
    }
    // Series sessions open themselves at their lobby time (once across instances).
    program::open::spawn_opener(
        rooms.clone(),
        accounts.store.clone(),
        Duration::from_secs(cfg.series_open_every_secs.max(1)),
    );
    let app = http::router(rooms.clone(), accounts.clone());
    let listener = listen(cfg.bind).with_context(|| format!("cannot listen on {}", cfg.bind))?;
    let addr = listener.local_addr()?;
    // No Nagle: a frame is written when it is ready. With Nagle on, a small
    // frame that follows another waits for the client's (delayed) ACK, which
    // put tens of milliseconds on the tail latency of busy rooms.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // Tests and scripts read this line to learn the port.
    println!("Huddle listening on http://{addr} ({mode}) — open it in a browser");
    tracing::info!(%addr, mode, instance = %rooms.instance, "listening");
    if let Some(maddr) = cfg.metrics_bind {
        let ml =
            listen(maddr).with_context(|| format!("cannot listen on {maddr} (--metrics-bind)"))?;
        let maddr = ml.local_addr()?;
        println!("Huddle metrics on http://{maddr}/metrics");
        let app = http::metrics_router(rooms.clone(), accounts.clone());
        let stop = rooms.shutting_down.clone();
        tokio::spawn(async move {
            let served = axum::serve(ml, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let shutdown = {
        let rooms = rooms.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down: telling members to reconnect elsewhere");
            rooms.shutting_down.cancel();
            rooms.broadcast_local(&ServerMsg::Notice {
                code: "shutting_down".into(),
                message: "This server is restarting; reconnecting you now.".into(),
            });
            rooms.close_all_local(1012, "server restarting: reconnect and resume");
            let deadline =
                tokio::time::Instant::now() + Duration::from_secs(rooms.cfg.shutdown_secs);
            while rooms.local_conn_count() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Hand the rooms hosted here to the other instances (state saved first).
            rooms.release_all().await;
        }
    };
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Bind with a deep accept backlog: a join storm must not overflow it
/// (the default 128 makes clients wait seconds to retry their SYN).
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        // As ever, a failure to listen ends the wait (and starts the shutdown).
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
        }
    };
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; ctrl-c only");
                    ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    /// The example a deployer copies is what `--crisis-resources` reads.
    #[test]
    fn the_deploy_crisis_resources_example_loads() {
        let text = include_str!("../../deploy/crisis-resources.example.json");
        let list = crate::crisis::parse("crisis-resources.example.json", text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(list.len() >= 5);
        assert!(list.iter().all(|r| r.label.contains("EXAMPLE")));
        assert!(list.iter().any(|r| r.region.as_deref() == Some("QC")));
        assert!(list.iter().any(|r| r.chat_url.is_some()));
    }
}
