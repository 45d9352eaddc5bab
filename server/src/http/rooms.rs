//! `POST /api/rooms` (create a room: its links, the facilitator key shown
//! once) and `GET /api/rooms/{id}` (what a passer-by sees of it).
//!
//! Creating is rate-limited per client address (`--create-rate-per-min`,
//! 429 with `Retry-After`). A drop-in is listed in the public directory, so
//! creating one needs the deployment's organizer key (`--organizer-key`, sent
//! in `X-Huddle-Organizer-Key`) or a signed-in facilitator or admin: without
//! either the request is refused (403), and anyone may still create group
//! rooms, which are never listed. A signed-in facilitator's room is owned by
//! the account (`room_owners`), who can always get back in (`my_rooms.rs`).

use super::client::{client_ip, limit_key};
use super::AppState;
use crate::error::HttpError;
use crate::metrics::Metrics;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::clock::{Clock, DefaultClock};
use huddle_protocol::{CreateRoom, Millis, PublicRoom, RoomCreated, RoomKind, RoomStatus};
use serde::Serialize;
use std::net::SocketAddr;

/// The header that carries the organizer key.
pub const ORGANIZER_KEY_HEADER: &str = "x-huddle-organizer-key";

/// What a passer-by sees of a room (`GET /api/rooms/{id}`, the directory):
/// enough to decide whether and when to join. Pinned and welcome texts, live
/// counts and the room's settings are for its members (in the welcome).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomListing {
    pub id: String,
    pub title: String,
    pub kind: RoomKind,
    pub status: RoomStatus,
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
    /// Whether a facilitator admits each person (they wait first).
    pub waiting_room: bool,
    /// No seat left now.
    pub full: bool,
}

impl RoomListing {
    pub fn of(p: &PublicRoom, max_members: u32) -> RoomListing {
        let seats = p.info.capacity.unwrap_or(max_members).min(max_members);
        RoomListing {
            id: p.info.id.clone(),
            title: p.info.title.clone(),
            kind: p.info.kind,
            status: p.info.status,
            starts_at: p.info.starts_at,
            ends_at: p.info.ends_at,
            waiting_room: p.info.waiting_room,
            full: p.member_count >= seats,
        }
    }
}

pub async fn create(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<CreateRoom>, JsonRejection>,
) -> Result<Response, HttpError> {
    if let Some(limit) = &st.create_limit {
        let key = limit_key(client_ip(&st.rooms.cfg, peer.ip(), &headers));
        limit.sweep();
        if let Err(not_until) = limit.buckets.check_key(&key) {
            Metrics::inc(&st.rooms.metrics.rooms_create_limited);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(HttpError::CreateRateLimited {
                retry_after_secs: retry_after_secs.max(1),
            });
        }
    }
    let spec = match body {
        Ok(Json(spec)) => spec,
        Err(rejection) => return Err(body_refused(&rejection)),
    };
    // Signed in (a session cookie): the CSRF check, then a facilitator or an
    // admin owns the room (recorded in the store) and may list a drop-in
    // without the organizer key. Anyone else creates an ad-hoc room as before.
    let owner = if crate::accounts::session_cookie(&headers).is_some() {
        super::auth::csrf(&st, peer, &headers)?;
        st.accounts
            .account_from_headers(&headers)
            .await?
            .filter(crate::accounts::may_own_rooms)
    } else {
        None
    };
    if spec.kind == RoomKind::DropIn && owner.is_none() {
        let presented = headers
            .get(ORGANIZER_KEY_HEADER)
            .and_then(|k| k.to_str().ok());
        let ok = match (&st.rooms.cfg.organizer_key, presented) {
            (Some(key), Some(p)) => key.matches(p),
            _ => false,
        };
        if !ok {
            return Err(HttpError::OrganizerKeyRequired);
        }
    }
    let (room_id, key) = st.rooms.create_room(&spec).await?;
    tracing::debug!(room = %room_id, kind = ?spec.kind, "room created");
    if let Some(owner) = owner {
        // Acknowledged only once the owner is stored (else 503; the room,
        // never joined, expires by itself).
        st.accounts
            .store
            .add_room(&crate::store::OwnedRoom {
                room_id: room_id.clone(),
                account_id: owner.id,
                title: spec.title.trim().to_string(),
                kind: serde_json::to_value(spec.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                created_at: crate::now_ms() as i64,
            })
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(RoomCreated {
            join_link: format!("/?room={room_id}"),
            facilitator_link: format!("/?room={room_id}#key={key}"),
            room_id,
            facilitator_key: key,
        }),
    )
        .into_response())
}

/// Why a JSON body was refused: a field it does not have is named
/// (`unknown_field`), anything else is a bad body.
pub fn body_refused(rejection: &JsonRejection) -> HttpError {
    match huddle_protocol::unknown_field(&rejection.body_text()) {
        Some(f) => HttpError::UnknownField {
            field: huddle_protocol::shown_field(&f),
        },
        None => HttpError::BadBody,
    }
}

pub async fn info(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RoomListing>, HttpError> {
    let meta = st
        .rooms
        .broker
        .meta(&id)
        .await?
        // The on-call desk is no room a passer-by may look at.
        .filter(|m| m.public.info.kind != huddle_protocol::RoomKind::OnCall)
        .ok_or(HttpError::RoomNotFound)?;
    Ok(Json(RoomListing::of(
        &meta.public,
        st.rooms.cfg.max_members,
    )))
}
