//! `GET /api/rooms/{id}/summary.md`: the session summary as Markdown, for
//! the facilitator (key in `x-facilitator-key` or `?key=`), once it ended.

use super::AppState;
use crate::error::HttpError;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
}

pub async fn markdown(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let key = headers
        .get("x-facilitator-key")
        .and_then(|k| k.to_str().ok())
        .map(str::to_string)
        .or(q.key);
    let meta = st
        .rooms
        .broker
        .meta(&id)
        .await?
        .ok_or(HttpError::RoomNotFound)?;
    if !key.is_some_and(|k| crate::room::secret_matches(&k, &meta.key_hash)) {
        return Err(HttpError::KeyRequired);
    }
    let summary = meta.summary.ok_or(HttpError::NotEnded)?;
    Ok((
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
        .into_response())
}
