//! `GET /api/rooms?kind=drop_in`: drop-ins open now or later today (UTC),
//! as a passer-by sees them ([`RoomListing`]: no live counts, only whether
//! they are full). Only drop-ins are listed, and creating one needs the
//! organizer key (see `rooms.rs`).

use super::rooms::RoomListing;
use super::AppState;
use crate::error::HttpError;
use axum::extract::{Query, State};
use axum::Json;
use huddle_protocol::{RoomKind, RoomStatus};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    kind: Option<RoomKind>,
}

pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<RoomListing>>, HttpError> {
    let kind = q.kind.unwrap_or(RoomKind::DropIn);
    if kind != RoomKind::DropIn {
        return Err(HttpError::OnlyDropInsListed);
    }
    let now = crate::now_ms();
    let end_of_day = (now / 86_400_000 + 1) * 86_400_000;
    let max_members = st.rooms.cfg.max_members;
    let mut rooms: Vec<RoomListing> = st
        .rooms
        .broker
        .list_meta()
        .await?
        .into_iter()
        .map(|m| m.public)
        .filter(|p| p.info.kind == RoomKind::DropIn)
        .filter(|p| match p.info.status {
            RoomStatus::Open | RoomStatus::Paused | RoomStatus::AwaitingFacilitator => true,
            RoomStatus::Scheduled => p.info.starts_at.is_some_and(|s| s < end_of_day),
            RoomStatus::Closed => false,
        })
        .map(|p| RoomListing::of(&p, max_members))
        .collect();
    rooms.sort_by(|a, b| {
        (a.starts_at.unwrap_or(0), &a.title).cmp(&(b.starts_at.unwrap_or(0), &b.title))
    });
    Ok(Json(rooms))
}
