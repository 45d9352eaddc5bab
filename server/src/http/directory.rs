//! `GET /api/rooms?kind=drop_in`: drop-ins open now or later today (UTC),
//! with member count and capacity.

use super::AppState;
use crate::error::HttpError;
use axum::extract::{Query, State};
use axum::Json;
use huddle_protocol::{PublicRoom, RoomKind, RoomStatus};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    kind: Option<RoomKind>,
}

pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<PublicRoom>>, HttpError> {
    let kind = q.kind.unwrap_or(RoomKind::DropIn);
    if kind != RoomKind::DropIn {
        return Err(HttpError::OnlyDropInsListed);
    }
    let now = crate::now_ms();
    let end_of_day = (now / 86_400_000 + 1) * 86_400_000;
    let mut rooms: Vec<PublicRoom> = st
        .rooms
        .broker
        .list_meta()
        .await?
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
    Ok(Json(rooms))
}
