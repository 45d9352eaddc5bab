//! HTTP: the web client (embedded), the WebSocket endpoint and the REST API.

use crate::hub::{now_ms, Hub};
use crate::metrics::Metrics;
use axum::extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dashmap::DashMap;
use huddle_protocol::*;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(rust_embed::RustEmbed)]
#[folder = "../web"]
#[exclude = "node_modules/*"]
#[exclude = "tests/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
#[exclude = "*.md"]
struct WebAssets;

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    per_ip: Arc<DashMap<IpAddr, usize>>,
}

const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(hub: Arc<Hub>) -> Router {
    let state = AppState {
        hub,
        per_ip: Arc::new(DashMap::new()),
    };
    Router::new()
        .route("/ws", get(ws))
        .route("/api/rooms", post(create_room).get(list_rooms))
        .route("/api/rooms/{id}", get(room_info))
        .route("/api/rooms/{id}/summary.md", get(summary_md))
        .route("/api/crisis-resources", get(crisis))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(get(static_file))
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

fn api_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"code": code, "message": message})),
    )
        .into_response()
}

async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match WebAssets::get(path) {
        Some(f) => {
            let mime = match path.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js" | "mjs") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("json") => "application/json",
                Some("ico") => "image/x-icon",
                _ => "application/octet-stream",
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                f.data.into_owned(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Same-origin by default: the Origin's host must be the Host header, or in the allow-list.
fn origin_allowed(hub: &Hub, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true; // not a browser: nothing to protect against here
    };
    if hub
        .cfg
        .allowed_origins
        .iter()
        .any(|a| a == origin || a == "*")
    {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

struct IpSlot {
    per_ip: Arc<DashMap<IpAddr, usize>>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        self.per_ip.remove_if_mut(&self.ip, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

async fn ws(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let hub = st.hub.clone();
    if hub.shutting_down.is_cancelled() {
        Metrics::inc(&hub.metrics.connections_refused);
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if !origin_allowed(&hub, &headers) {
        Metrics::inc(&hub.metrics.connections_refused);
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let ip = addr.ip();
    let limit = hub.cfg.max_conns_per_ip;
    {
        let mut n = st.per_ip.entry(ip).or_insert(0);
        if limit > 0 && *n >= limit {
            Metrics::inc(&hub.metrics.connections_refused);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "too many connections from this address",
            )
                .into_response();
        }
        *n += 1;
    }
    let slot = IpSlot {
        per_ip: st.per_ip.clone(),
        ip,
    };
    let max = hub.cfg.max_frame_bytes;
    upgrade
        // Small read buffer: idle connections must stay cheap (tungstenite's
        // default is 128 KiB).
        .read_buffer_size(1024)
        // Frames queued together are written in one go (one syscall per
        // flush, not per frame); the buffer only grows under load.
        .write_buffer_size(2 * 1024)
        .max_write_buffer_size(1024 * 1024)
        // Transport ceiling: messages over 4× the protocol limit close the connection (1009);
        // smaller oversize frames get a `too_large` error and the connection goes on.
        // A single frame may be read whole up to 8× so the 1009 close reaches the
        // client cleanly (closing with unread input would reset the connection).
        .max_message_size(max * 4)
        .max_frame_size(max * 8)
        .on_upgrade(move |socket| async move {
            crate::session::run(hub, socket, ip).await;
            drop(slot);
        })
}

async fn create_room(
    State(st): State<AppState>,
    body: Result<Json<CreateRoom>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(spec)) = body else {
        return api_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadMessage,
            "body must be JSON: {\"title\": \"...\", \"kind\": \"group|drop_in|one_on_one\"}",
        );
    };
    match st.hub.create_room(&spec).await {
        Ok((room_id, key)) => {
            tracing::info!(room = %room_id, kind = ?spec.kind, "room created");
            (
                StatusCode::CREATED,
                Json(RoomCreated {
                    join_link: format!("/?room={room_id}"),
                    facilitator_link: format!("/?room={room_id}#key={key}"),
                    room_id,
                    facilitator_key: key,
                }),
            )
                .into_response()
        }
        Err((code, message)) => {
            let status = if code == ErrorCode::Unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            api_error(status, code, &message)
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    kind: Option<RoomKind>,
}

/// Drop-ins open now or later today (UTC), with member count and capacity.
async fn list_rooms(State(st): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let kind = q.kind.unwrap_or(RoomKind::DropIn);
    if kind != RoomKind::DropIn {
        return api_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::Invalid,
            "only drop-in rooms are listed publicly (kind=drop_in)",
        );
    }
    let now = now_ms();
    let end_of_day = (now / 86_400_000 + 1) * 86_400_000;
    let mut rooms: Vec<PublicRoom> = st
        .hub
        .broker
        .list_meta()
        .await
        .into_iter()
        .map(|m| m.public)
        .filter(|p| p.info.kind == RoomKind::DropIn)
        .filter(|p| match p.info.status {
            RoomStatus::Open | RoomStatus::Paused => true,
            RoomStatus::Scheduled => p.info.starts_at.is_some_and(|s| s < end_of_day),
            RoomStatus::Closed => false,
        })
        .collect();
    rooms.sort_by_key(|p| (p.info.starts_at.unwrap_or(0), p.info.title.clone()));
    Json(rooms).into_response()
}

async fn room_info(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    match st.hub.broker.meta(&id).await {
        Some(m) => Json(m.public).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            ErrorCode::RoomNotFound,
            "no such room",
        ),
    }
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

async fn summary_md(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    let key = headers
        .get("x-facilitator-key")
        .and_then(|k| k.to_str().ok())
        .map(str::to_string)
        .or(q.key);
    let Some(meta) = st.hub.broker.meta(&id).await else {
        return api_error(
            StatusCode::NOT_FOUND,
            ErrorCode::RoomNotFound,
            "no such room",
        );
    };
    if !key.is_some_and(|k| crate::room::secret_matches(&k, &meta.key_hash)) {
        return api_error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "the facilitator key is required",
        );
    }
    let Some(summary) = meta.summary else {
        return api_error(
            StatusCode::CONFLICT,
            ErrorCode::Invalid,
            "the session has not ended yet",
        );
    };
    (
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"huddle-summary.md\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::room::summary::markdown(&summary),
    )
        .into_response()
}

async fn crisis(State(st): State<AppState>) -> Response {
    Json(st.hub.crisis.clone()).into_response()
}

async fn readyz(State(st): State<AppState>) -> Response {
    if st.hub.shutting_down.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if !st.hub.broker.ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "broker unavailable").into_response();
    }
    "ready".into_response()
}

async fn metrics(State(st): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.hub.metrics.render(),
    )
        .into_response()
}
