//! `GET /healthz` (the process answers), `GET /readyz` (it can serve:
//! not shutting down, broker reachable), `GET /metrics` (Prometheus text).

use super::AppState;
use crate::error::HttpError;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(st): State<AppState>) -> Result<&'static str, HttpError> {
    if st.rooms.shutting_down.is_cancelled() {
        return Err(HttpError::ShuttingDown);
    }
    if !st.rooms.broker.ready() {
        return Err(HttpError::BrokerUnavailable);
    }
    Ok("ready")
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.rooms.metrics.render(),
    )
        .into_response()
}
