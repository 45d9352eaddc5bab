//! `GET /healthz` (the process answers), `GET /readyz` (it can serve:
//! not shutting down, broker reachable, database answering), `GET /metrics` (Prometheus text;
//! with `--metrics-token`, for `Authorization: Bearer TOKEN` only).

use super::AppState;
use crate::error::HttpError;
use axum::extract::State;
use axum::http::{header, HeaderMap};
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
    // One round trip: a database that does not answer makes this instance
    // not ready (sign-in, bars and owned rooms need it).
    st.accounts.store.ping().await?;
    Ok("ready")
}

pub async fn metrics(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    if let Some(token) = &st.rooms.cfg.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| token.matches(p.trim())) {
            return Err(HttpError::MetricsTokenRequired);
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        st.rooms.metrics.render(),
    )
        .into_response())
}
