//! `GET /api/config`: what the web client needs of the deployment (its time
//! zone, to show every time the way the people it serves read a clock).

use super::AppState;
use axum::extract::State;
use axum::Json;
use huddle_protocol::DeploymentConfig;

pub async fn get(State(st): State<AppState>) -> Json<DeploymentConfig> {
    Json(DeploymentConfig {
        time_zone: st.rooms.cfg.time_zone.name().to_string(),
    })
}
