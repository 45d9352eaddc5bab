//! `GET /api/rooms/{id}/summary.md`: the session summary as Markdown, for
//! the facilitator, once it ended. The key travels in the `X-Facilitator-Key`
//! header only: never in the URL (`?key=` is ignored), which ends up in
//! proxy logs and browser history. (The web client keeps it from the link's
//! `#key=` fragment, which browsers never send.)

use super::AppState;
use crate::error::HttpError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

pub async fn markdown(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let key = headers
        .get("x-facilitator-key")
        .and_then(|k| k.to_str().ok());
    let meta = st
        .rooms
        .broker
        .meta(&id)
        .await?
        .ok_or(HttpError::RoomNotFound)?;
    if !key.is_some_and(|k| crate::room::secret_matches(k, &meta.key_hash)) {
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
