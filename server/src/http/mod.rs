//! HTTP: the router, and one file per resource — the WebSocket endpoint
//! (`ws.rs`), rooms (`rooms.rs`), the drop-in directory (`directory.rs`), the
//! session summary (`summary.rs`), crisis resources (`crisis.rs`), the
//! deployment's time zone for the client (`config.rs`), health and
//! metrics (`health.rs`), the embedded web client (`static_files.rs`); who is
//! asking (`client.rs`: the client address through trusted proxies, the origin
//! check). Handlers are thin: they check the request, ask the rooms layer or
//! the broker, and answer; every refusal is an [`HttpError`](crate::error::HttpError).
//!
//! Every response carries the security headers ([`security_headers`]).
//! `/metrics` is served on `--metrics-bind` only when that is given
//! ([`metrics_router`]); otherwise here, behind `--metrics-token` when given,
//! and openly only when `--bind` is a loopback address.

mod admin;
mod auth;
mod client;
mod config;
mod crisis;
mod directory;
mod health;
mod my_rooms;
mod rooms;
mod series;
mod static_files;
mod summary;
mod ws;

use crate::accounts::Accounts;
use crate::config::Config;
use crate::rooms::Rooms;
use axum::http::{header, HeaderName, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use dashmap::DashMap;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

pub(crate) use client::limit_key;
pub use rooms::RoomListing;

#[derive(Clone)]
pub struct AppState {
    pub rooms: Arc<Rooms>,
    /// Open WebSocket connections per client address.
    per_ip: Arc<DashMap<IpAddr, usize>>,
    /// Room creations per client address (`--create-rate-per-min`; none: no limit).
    create_limit: Option<Arc<CreateLimit>>,
    /// Accounts, sessions and the durable store.
    pub accounts: Arc<Accounts>,
}

/// Token buckets of room creation, per client address ([`client::limit_key`]).
pub struct CreateLimit {
    buckets: DefaultKeyedRateLimiter<IpAddr>,
    /// When buckets were last swept (ms since the Unix epoch).
    swept: AtomicU64,
}

impl CreateLimit {
    fn new(per_min: NonZeroU32) -> CreateLimit {
        CreateLimit {
            buckets: DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(per_min).allow_burst(per_min),
            ),
            swept: AtomicU64::new(crate::now_ms()),
        }
    }

    /// Forget the clients whose buckets are full again: once a minute, or
    /// once a second while many addresses are tracked.
    fn sweep(&self) {
        let now = crate::now_ms();
        let every = if self.buckets.len() > 10_000 {
            1_000
        } else {
            60_000
        };
        let last = self.swept.load(Relaxed);
        if now.saturating_sub(last) >= every
            && self
                .swept
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
    }
}

/// The Content-Security-Policy: everything from this origin only; the
/// WebSocket may connect to this deployment only ('self' covers ws:/wss: of
/// the page's own origin; with `--public-origin`, that origin's WebSocket
/// scheme is named too).
pub fn csp(cfg: &Config) -> String {
    let connect = match &cfg.public_origin {
        Some(o) => format!("'self' {}", o.websocket()),
        None => "'self'".to_string(),
    };
    format!(
        "default-src 'self'; connect-src {connect}; img-src 'self' data:; style-src 'self'; \
         script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Headers on every response: CSP, no sniffing, no framing, no referrer,
/// cross-origin opener isolation, camera and microphone for this origin only
/// (calls may come; nothing else), and HSTS when the public origin is https.
pub fn security_headers(cfg: &Config) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()",
            ),
        ),
    ];
    // An origin is plain ASCII (checked when parsed): the CSP is a valid header value.
    match HeaderValue::from_str(&csp(cfg)) {
        Ok(v) => h.push((header::CONTENT_SECURITY_POLICY, v)),
        Err(e) => tracing::error!(error = %e, "the CSP is not a valid header value"),
    }
    if cfg.public_origin.as_ref().is_some_and(|o| o.is_https()) {
        h.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    h
}

fn with_security_headers<S: Clone + Send + Sync + 'static>(
    mut router: Router<S>,
    cfg: &Config,
) -> Router<S> {
    for (name, value) in security_headers(cfg) {
        router = router.layer(SetResponseHeaderLayer::overriding(name, value));
    }
    router
}

/// Whether `/metrics` is served on the main listener.
fn metrics_on_main(cfg: &Config) -> bool {
    cfg.metrics_bind.is_none() && (cfg.metrics_token.is_some() || cfg.bind.ip().is_loopback())
}

pub fn router(rooms: Arc<Rooms>, accounts: Arc<Accounts>) -> Router {
    let cfg = rooms.cfg.clone();
    let create_limit =
        NonZeroU32::new(cfg.create_rate_per_min).map(|n| Arc::new(CreateLimit::new(n)));
    let state = AppState {
        rooms,
        per_ip: Arc::new(DashMap::new()),
        create_limit,
        accounts,
    };
    let mut r = Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/api/rooms", post(rooms::create).get(directory::list))
        .route("/api/rooms/{id}", get(rooms::info))
        .route("/api/rooms/{id}/summary.md", get(summary::markdown))
        .route("/api/crisis-resources", get(crisis::list))
        .route("/api/config", get(config::get))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(auth::routes())
        .merge(admin::routes())
        .merge(my_rooms::routes())
        .merge(series::routes());
    if metrics_on_main(&cfg) {
        r = r.route("/metrics", get(health::metrics));
    }
    let r = r
        .fallback(get(static_files::get))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024));
    with_security_headers(r, &cfg).with_state(state)
}

/// `/metrics` alone, for `--metrics-bind`.
pub fn metrics_router(rooms: Arc<Rooms>, accounts: Arc<Accounts>) -> Router {
    let cfg = rooms.cfg.clone();
    let state = AppState {
        rooms,
        per_ip: Arc::new(DashMap::new()),
        create_limit: None,
        accounts,
    };
    let r = Router::new().route("/metrics", get(health::metrics));
    with_security_headers(r, &cfg).with_state(state)
}
