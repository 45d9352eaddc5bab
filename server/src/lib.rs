//! Huddle server: rooms for clinician peer support over WebSocket.
//!
//! * [`room`]: the pure room model (state, rules, events), unit-tested.
//! * [`hub`]: room actors and local fan-out to sessions.
//! * [`broker`]: how room traffic crosses instances (in-memory or Redis).
//! * [`session`]: one WebSocket connection (reader, writer, limits).
//! * [`http`]: routes, static web client, REST API.

pub mod broker;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod redis_broker;
pub mod room;
pub mod session;

use anyhow::Context;
use axum::serve::ListenerExt;
use config::Config;
use huddle_protocol::{CrisisResource, ServerMsg};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

fn load_crisis(cfg: &Config) -> anyhow::Result<Vec<CrisisResource>> {
    match &cfg.crisis_resources {
        None => Ok(room::library::default_crisis_resources()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading crisis resources from {}", p.display()))?;
            let list: Vec<CrisisResource> = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} must be a JSON list of {{\"label\": ..., \"contact\": ...}}",
                    p.display()
                )
            })?;
            anyhow::ensure!(!list.is_empty(), "the crisis resources list is empty");
            Ok(list)
        }
    }
}

/// Run the server until SIGTERM / ctrl-c.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    init_tracing(&cfg.log_format);
    let crisis = load_crisis(&cfg)?;
    let metrics = Arc::new(metrics::Metrics::default());
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let (hub, mode) = match &cfg.redis_url {
        None => {
            let broker = Arc::new(broker::MemoryBroker::default());
            let hub = hub::Hub::new(cfg.clone(), instance, crisis, broker, metrics);
            (hub, "in-memory")
        }
        Some(url) => {
            let (broker, pushes) =
                redis_broker::RedisBroker::connect(url, instance.clone(), metrics.clone())
                    .await
                    .context("--redis-url")?;
            let hub = hub::Hub::new(cfg.clone(), instance, crisis, broker.clone(), metrics);
            broker.start(&hub, pushes);
            (hub, "redis")
        }
    };
    let app = http::router(hub.clone());
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
    tracing::info!(%addr, mode, instance = %hub.instance, "listening");
    let shutdown = {
        let hub = hub.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down: telling members to reconnect elsewhere");
            hub.shutting_down.cancel();
            hub.broadcast_local(&ServerMsg::Notice {
                code: "shutting_down".into(),
                message: "This server is restarting; reconnecting you now.".into(),
            });
            hub.close_all_local(1012, "server restarting: reconnect and resume");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(hub.cfg.shutdown_secs);
            while hub.local_conn_count() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Hand the rooms hosted here to the other instances (state saved first).
            hub.release_all().await;
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
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
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
        let _ = ctrl_c.await;
    }
}
