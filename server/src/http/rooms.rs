//! `POST /api/rooms` (create a room: its links, the facilitator key shown
//! once) and `GET /api/rooms/{id}` (its public info).

use super::AppState;
use crate::error::HttpError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use huddle_protocol::{CreateRoom, PublicRoom, RoomCreated};

pub async fn create(
    State(st): State<AppState>,
    body: Result<Json<CreateRoom>, JsonRejection>,
) -> Result<Response, HttpError> {
    let Ok(Json(spec)) = body else {
        return Err(HttpError::BadBody);
    };
    let (room_id, key) = st.rooms.create_room(&spec).await?;
    tracing::info!(room = %room_id, kind = ?spec.kind, "room created");
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

pub async fn info(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PublicRoom>, HttpError> {
    let meta = st
        .rooms
        .broker
        .meta(&id)
        .await?
        .ok_or(HttpError::RoomNotFound)?;
    Ok(Json(meta.public))
}
