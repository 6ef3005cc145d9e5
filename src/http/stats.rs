//! The figures the admin console draws: a tenant's sign-in activity (kept by the tenant
//! itself, see `tenant::activity`) and each node's recent traffic.

use axum::extract::{Path, State};
use axum::Json;

use super::error::ApiError;
use super::extract::{Admin, Secret};
use super::params::path_id;
use super::AppState;
use crate::ids::prefix;
use crate::tenant::activity::TenantStats;
use crate::tenant::messages::node::Stats;
use crate::tenant::messages::Caller;
use crate::traffic::NodePoint;

/// One node's recent traffic.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NodeSeries {
    pub name: String,
    /// 10-second points over the last 30 minutes, oldest first.
    pub points: Vec<NodePoint>,
}

/// `GET /cp/v1/nodes/stats`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NodeStats {
    pub nodes: Vec<NodeSeries>,
}

#[utoipa::path(
    get,
    path = "/tenants/{id}/stats",
    tag = "control-plane",
    summary = "A tenant's sign-in figures",
    description = "Sign-ins, sign-ups and failed sign-ins per hour over the last 7 days, and the active sessions. The tenant keeps these counts as it works; this reads them (the session count is at most a minute old).",
    responses((status = 200, description = "OK.", body = TenantStats)),
    security(("admin_token" = []))
)]
pub async fn tenant_stats_cp(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TenantStats>, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    state.control.tenant(&id).await?;
    Ok(Json(state.tenants.run(&id, Caller::operator(), Stats {}).await.result?))
}

#[utoipa::path(
    get,
    path = "/stats",
    tag = "users",
    summary = "This tenant's sign-in figures",
    description = "The same figures as `GET /cp/v1/tenants/{id}/stats`, for the tenant's own admins (secret key).",
    responses((status = 200, description = "OK.", body = TenantStats)),
    security(("secret_key" = []))
)]
pub async fn tenant_stats(key: Secret, State(state): State<AppState>) -> Result<Json<TenantStats>, ApiError> {
    Ok(Json(state.run(&key, Stats {}).await?))
}

#[utoipa::path(
    get,
    path = "/nodes/stats",
    tag = "control-plane",
    summary = "Request rate and p95 latency of the nodes",
    description = "Each node's requests per second and p95 latency in 10-second points over the last 30 minutes, as the node measured them. In a cluster, every node that is up reports its own.",
    responses((status = 200, description = "OK.", body = NodeStats)),
    security(("admin_token" = []))
)]
pub async fn node_stats(_: Admin, State(state): State<AppState>) -> Result<Json<NodeStats>, ApiError> {
    let now = state.control.clock().unix();
    let nodes = match &state.cluster {
        Some(cluster) => cluster
            .traffic(now)
            .into_iter()
            .map(|(name, points)| NodeSeries { name, points })
            .collect(),
        None => vec![NodeSeries {
            name: state.config.node_name.clone(),
            points: state.traffic.series(now),
        }],
    };
    Ok(Json(NodeStats { nodes }))
}
