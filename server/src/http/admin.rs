//! The admin's API: list accounts, invite with a role (a one-time link to
//! copy), change a role, deactivate (every session of the account ends at
//! once) or reactivate, and issue a password-reset link; list the bars
//! (removals kept in the store) and lift one. Admins only; every POST passes
//! the CSRF check.

use super::auth::{csrf, signed_in};
use super::AppState;
use crate::accounts::{AuthError, Role};
use crate::broker::RoomCmd;
use crate::error::HttpError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/accounts", get(list))
        .route("/api/admin/invites", post(invite))
        .route("/api/admin/accounts/{id}/role", post(set_role))
        .route("/api/admin/accounts/{id}/active", post(set_active))
        .route("/api/admin/accounts/{id}/reset-link", post(reset_link))
        .route("/api/admin/bars", get(bars))
        .route("/api/admin/bars/{id}/lift", post(lift_bar))
}

/// The bars not lifted: room, name, when, who removed (never a device hash).
async fn bars(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let admin = signed_in(&st, &headers).await?;
    Ok(Json(st.accounts.bars(&admin).await?).into_response())
}

/// Lift a bar: the store first (it no longer keeps anyone out), then the
/// live room, if it still runs, forgets the removal at once.
async fn lift_bar(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let admin = signed_in(&st, &headers).await?;
    let bar = st.accounts.lift_bar(&admin, &id).await?;
    tracing::info!(by = %admin.id, bar = %id, "bar lifted");
    let room = crate::room::log_tag(&bar.room_id);
    match st.rooms.broker.meta(&bar.room_id).await {
        Ok(Some(_)) => {
            let cmd = RoomCmd::LiftBar {
                member_id: bar.member_id.clone(),
            };
            if let Err(e) = st.rooms.submit(&bar.room_id, cmd).await {
                // The store's bar is lifted; the room's own memory may still
                // keep them out until it ends. Said in the answer.
                tracing::warn!(%room, error = %e, "bar lifted, but the room did not hear of it");
                return Ok((
                    StatusCode::ACCEPTED,
                    Json(serde_json::json!({"lifted": true, "room_told": false})),
                )
                    .into_response());
            }
        }
        Ok(None) => tracing::debug!(%room, "bar lifted; its room has ended"),
        Err(e) => {
            tracing::warn!(%room, error = %e, "bar lifted, but the room could not be reached");
            return Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"lifted": true, "room_told": false})),
            )
                .into_response());
        }
    }
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({"lifted": true, "room_told": true})),
    )
        .into_response())
}

async fn list(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let admin = signed_in(&st, &headers).await?;
    Ok(Json(st.accounts.list(&admin).await?).into_response())
}

#[derive(Deserialize)]
pub struct RoleBody {
    role: String,
}

fn role_of(body: Result<Json<RoleBody>, JsonRejection>) -> Result<Role, HttpError> {
    let Ok(Json(b)) = body else {
        return Err(AuthError::BadBody(r#"{"role": "facilitator|peer_supporter|admin"}"#).into());
    };
    Ok(Role::parse(&b.role).ok_or(AuthError::BadRole)?)
}

async fn invite(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let admin = signed_in(&st, &headers).await?;
    let role = role_of(body)?;
    let link = st.accounts.invite(&admin, role).await?;
    tracing::info!(by = %admin.id, role = role.as_str(), "invite issued");
    Ok((StatusCode::CREATED, Json(link)).into_response())
}

async fn set_role(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let admin = signed_in(&st, &headers).await?;
    let role = role_of(body)?;
    st.accounts.set_role(&admin, &id, role).await?;
    tracing::info!(by = %admin.id, account = %id, role = role.as_str(), "role changed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct ActiveBody {
    active: bool,
}

async fn set_active(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ActiveBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let admin = signed_in(&st, &headers).await?;
    let Ok(Json(b)) = body else {
        return Err(AuthError::BadBody(r#"{"active": true|false}"#).into());
    };
    st.accounts.set_active(&admin, &id, b.active).await?;
    tracing::info!(by = %admin.id, account = %id, active = b.active, "account (de)activated");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reset_link(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let admin = signed_in(&st, &headers).await?;
    let link = st.accounts.reset_link(&admin, &id).await?;
    tracing::info!(by = %admin.id, account = %id, "reset link issued");
    Ok((StatusCode::CREATED, Json(link)).into_response())
}
