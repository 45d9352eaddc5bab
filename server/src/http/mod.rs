//! HTTP: the router, and one file per resource — the WebSocket endpoint
//! (`ws.rs`), rooms (`rooms.rs`), the drop-in directory (`directory.rs`), the
//! session summary (`summary.rs`), crisis resources (`crisis.rs`), health and
//! metrics (`health.rs`), the embedded web client (`static_files.rs`).
//! Handlers are thin: they check the request, ask the rooms layer or the
//! broker, and answer; every refusal is an [`HttpError`](crate::error::HttpError).

mod crisis;
mod directory;
mod health;
mod rooms;
mod static_files;
mod summary;
mod ws;

use crate::rooms::Rooms;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use dashmap::DashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone)]
pub struct AppState {
    pub rooms: Arc<Rooms>,
    /// Open WebSocket connections per client address.
    per_ip: Arc<DashMap<IpAddr, usize>>,
}

const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(rooms: Arc<Rooms>) -> Router {
    let state = AppState {
        rooms,
        per_ip: Arc::new(DashMap::new()),
    };
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/api/rooms", post(rooms::create).get(directory::list))
        .route("/api/rooms/{id}", get(rooms::info))
        .route("/api/rooms/{id}/summary.md", get(summary::markdown))
        .route("/api/crisis-resources", get(crisis::list))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(get(static_files::get))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}
