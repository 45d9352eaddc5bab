//! `GET /api/crisis-resources`: who to call, shown in every room.

use super::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub async fn list(State(st): State<AppState>) -> Response {
    Json(st.rooms.crisis.clone()).into_response()
}
