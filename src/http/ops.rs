//! Operations endpoints (API.md §10).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::schema;
use super::AppState;

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "OK.", body = schema::Health)),
    security(())
)]
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": crate::VERSION }))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness (storage answers, not draining)",
    responses((status = 200, description = "OK.", body = schema::Ready)),
    security(())
)]
/// Ready when storage answers and the node is not shutting down.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.ready.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable());
    }
    // A cluster node is ready once it is listed and a peer reaches it (or it is alone).
    if state.cluster.as_ref().is_some_and(|c| !c.is_ready()) {
        return Err(ApiError::moving());
    }
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.control.store().ping()).await;
    match ping {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ready" }))),
        _ => Err(ApiError::unavailable()),
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics (on the metrics listener instead when one is set)",
    responses((status = 200, description = "The text exposition format.", content_type = "text/plain", body = String)),
    security(())
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.control.record_metrics();
    crate::telemetry::collect_process_metrics();
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
