//! A signed-in facilitator's rooms: `GET /api/my/rooms` (the rooms the
//! account created, with their live status when they still exist) and
//! `POST /api/rooms/{id}/facilitator-link` (the owner gets back in).
//!
//! Getting back in rotates the facilitator key through the room: the server
//! draws a new key, sends only its hash to the room's actor (a
//! [`RoomCmd::OwnerKey`], through the broker like any command, so it reaches
//! the room on whichever instance hosts it), waits until the room's metadata
//! shows the new hash, and gives the key to the owner alone. The room model
//! and the join stay as they are: the owner joins with a key like anyone
//! holding the one-time link, and no key is ever stored. As with the lead's
//! own rotation, the old key stops working and other facilitators (not the
//! lead) become participants.

use super::auth::{csrf, signed_in};
use super::AppState;
use crate::accounts::{self, AuthError};
use crate::broker::RoomCmd;
use crate::error::HttpError;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use huddle_protocol::RoomStatus;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/my/rooms", get(list))
        .route("/api/rooms/{id}/facilitator-link", post(facilitator_link))
}

/// One of my rooms.
#[derive(Debug, Serialize)]
pub struct MyRoom {
    pub room_id: String,
    pub title: String,
    pub kind: String,
    pub created_at: i64,
    /// None: the room is gone (its retention ended).
    pub status: Option<RoomStatus>,
    pub join_link: String,
}

async fn list(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let me = signed_in(&st, &headers).await?;
    if !accounts::may_own_rooms(&me) {
        return Err(AuthError::NotAllowed.into());
    }
    let owned = st.accounts.store.rooms_of(&me.id).await?;
    let mut out = Vec::with_capacity(owned.len());
    for r in owned {
        // A room whose metadata cannot be read now shows as gone.
        let status = match st.rooms.broker.meta(&r.room_id).await {
            Ok(m) => m.map(|m| m.public.info.status),
            Err(e) => {
                tracing::debug!(error = %e, "room status unavailable");
                None
            }
        };
        out.push(MyRoom {
            join_link: format!("/?room={}", r.room_id),
            room_id: r.room_id,
            title: r.title,
            kind: r.kind,
            created_at: r.created_at,
            status,
        });
    }
    Ok(Json(out).into_response())
}

#[derive(Debug, Serialize)]
pub struct FacilitatorLink {
    pub room_id: String,
    pub facilitator_key: String,
    pub facilitator_link: String,
}

async fn facilitator_link(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let me = signed_in(&st, &headers).await?;
    let owner = st.accounts.store.room_owner(&id).await?;
    if owner.as_deref() != Some(me.id.as_str()) || !accounts::may_own_rooms(&me) {
        return Err(HttpError::NotOwner);
    }
    if st.rooms.broker.meta(&id).await?.is_none() {
        return Err(HttpError::RoomNotFound);
    }
    let key = rotate_owner_key(&st, &id).await?;
    tracing::info!(account = %me.id, room = %crate::room::log_tag(&id), "owner took a new facilitator key");
    Ok(Json(FacilitatorLink {
        facilitator_link: format!("/?room={id}#key={key}"),
        room_id: id,
        facilitator_key: key,
    })
    .into_response())
}

/// Rotate a room's facilitator key through the room (its actor, wherever it
/// is hosted) and return the new key once the room holds it. The caller has
/// checked that the asker owns the room.
pub(super) async fn rotate_owner_key(st: &AppState, id: &str) -> Result<String, HttpError> {
    let key = crate::room::new_secret();
    let key_hash = crate::room::hash_secret(&key);
    st.rooms
        .submit(
            id,
            RoomCmd::OwnerKey {
                key_hash: key_hash.clone(),
            },
        )
        .await?;
    // Acknowledged only once the room holds the new key (its metadata says so).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match st.rooms.broker.meta(id).await? {
            Some(m) if m.key_hash == key_hash => break,
            None => return Err(HttpError::RoomNotFound),
            Some(_) if tokio::time::Instant::now() >= deadline => {
                return Err(HttpError::KeyNotTaken)
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    Ok(key)
}
