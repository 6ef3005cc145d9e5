//! Operations endpoints (API.md §10).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::AppState;

pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": crate::VERSION }))
}

/// Ready when storage answers and the node is not shutting down.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.ready.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable());
    }
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.control.store().ping()).await;
    match ping {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ready" }))),
        _ => Err(ApiError::unavailable()),
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.control.record_metrics();
    crate::telemetry::collect_process_metrics();
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
