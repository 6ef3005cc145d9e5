//! Control-plane handlers (`/cp/v1`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::body::{required, JsonBody, MAX_IMPORT_BYTES};
use super::error::ApiError;
use super::extract::{Admin, Client};
use super::pagination::{list, ListQuery};
use super::params::path_id;
use super::schema;
use super::AppState;
use crate::control::{backup_lines, CreateTenant, TenantPatch};
use crate::ids::prefix;
use crate::store::signing_keys;
use crate::views;

/// Responses that carry a token or secret must not be cached.
pub(super) fn no_store(status: StatusCode, body: Value) -> impl IntoResponse {
    (status, [("cache-control", "no-store")], Json(body))
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    email: Option<String>,
    password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/sign-in",
    tag = "control-plane",
    summary = "Sign a CP admin in",
    request_body = Credentials,
    responses((status = 200, description = "OK.", body = schema::AdminToken)),
    security(())
)]
pub async fn admin_sign_in(
    Client(client): Client,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let email = required("email", body.email)?;
    let password = required("password", body.password)?;
    let ip = client.ip.as_deref().unwrap_or("unknown");
    let (result, rate_limit) = state.control.admin_sign_in(&email, &password, ip).await;
    let mut response = match result {
        Ok(signed_in) => no_store(
            StatusCode::OK,
            json!({ "token": signed_in.token, "expires_at": views::timestamp(signed_in.expires_at) }),
        )
        .into_response(),
        Err(error) => error.into_response(),
    };
    super::auth::rate_limit_headers(&mut response, rate_limit);
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/admins",
    tag = "control-plane",
    summary = "List CP admins",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::Admin>)),
    security(("admin_token" = []))
)]
pub async fn list_admins(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = q.page()?;
    let admins = state.control.list_admins(&page).await?;
    Ok(list(
        admins,
        page.limit,
        |a| &a.id,
        |a| json!({ "id": a.id, "email": a.email, "created_at": views::timestamp(a.created_at) }),
    ))
}

#[utoipa::path(
    post,
    path = "/admins",
    tag = "control-plane",
    summary = "Create a CP admin",
    request_body = Credentials,
    responses((status = 201, description = "Created.", body = schema::Admin)),
    security(("admin_token" = []))
)]
pub async fn create_admin(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let email = required("email", body.email)?;
    let password = required("password", body.password)?;
    let admin = state.control.create_admin(&email, &password).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": admin.id, "email": admin.email, "created_at": views::timestamp(admin.created_at) })),
    ))
}

#[utoipa::path(
    delete,
    path = "/admins/{id}",
    tag = "control-plane",
    summary = "Delete a CP admin",
    responses((status = 204, description = "Done, no content.")),
    security(("admin_token" = []))
)]
pub async fn delete_admin(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::ADMIN, id)?;
    state.control.delete_admin(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/tenants",
    tag = "control-plane",
    summary = "List tenants",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::Tenant>)),
    security(("admin_token" = []))
)]
pub async fn list_tenants(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = q.page()?;
    let tenants = state.control.list_tenants(&page).await?;
    Ok(list(tenants, page.limit, |t| &t.id, views::tenant))
}

#[utoipa::path(
    post,
    path = "/tenants",
    tag = "control-plane",
    summary = "Create a tenant (its keys are shown once)",
    request_body = schema::NewTenant,
    responses((status = 201, description = "Created.", body = schema::CreatedTenant)),
    security(("admin_token" = []))
)]
pub async fn create_tenant(
    admin: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.control.create_tenant(body).await?;
    state.cors.add(&created.tenant);
    tracing::info!(admin = %admin.id(), tenant = %created.tenant.id, "tenant created");
    Ok(no_store(
        StatusCode::CREATED,
        json!({
            "tenant": views::tenant(&created.tenant),
            "publishable_key": created.publishable_key,
            "secret_key": created.secret_key,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/tenants/{id}",
    tag = "control-plane",
    summary = "A tenant",
    responses((status = 200, description = "OK.", body = schema::Tenant)),
    security(("admin_token" = []))
)]
pub async fn get_tenant(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    let tenant = state.control.store().get_tenant(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(views::tenant(&tenant)))
}

#[utoipa::path(
    patch,
    path = "/tenants/{id}",
    tag = "control-plane",
    summary = "Rename, suspend or resume a tenant, or change its settings",
    request_body = schema::TenantPatch,
    responses((status = 200, description = "OK.", body = schema::Tenant)),
    security(("admin_token" = []))
)]
pub async fn update_tenant(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TenantPatch>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    let tenant = state.control.update_tenant(&id, body).await?;
    state.cors.add(&tenant);
    Ok(Json(views::tenant(&tenant)))
}

#[utoipa::path(
    delete,
    path = "/tenants/{id}",
    tag = "control-plane",
    summary = "Delete a tenant and its data",
    responses((status = 204, description = "Done, no content.")),
    security(("admin_token" = []))
)]
pub async fn delete_tenant(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    state.control.delete_tenant(&id).await?;
    tracing::info!(admin = %admin.id(), tenant = %id, "tenant deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/tenants/{id}/signing-keys/rotate",
    tag = "control-plane",
    summary = "Rotate the tenant's signing key",
    responses((status = 200, description = "OK.", body = schema::RotatedKeys)),
    security(("admin_token" = []))
)]
pub async fn rotate_signing_key(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    Ok(Json(state.control.rotate_signing_key(&id).await?))
}

#[utoipa::path(
    get,
    path = "/tenants/{id}/export",
    tag = "control-plane",
    summary = "Export a backup (JSON lines, streamed)",
    responses((status = 200, description = "The backup, one JSON record a line, ending with a trailer line.", content_type = "application/x-ndjson", body = String)),
    security(("admin_token" = []))
)]
/// Streams a tenant's backup as JSON lines, as the store reads it.
pub async fn export_tenant(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    let mut export = state.control.export_tenant(&id).await?;
    tracing::info!(admin = %admin.id(), tenant = %id, records = export.records, "tenant export started");
    // An error ends the body before its trailer line, so the client sees a broken transfer.
    let stream = futures_util::stream::poll_fn(move |cx| export.lines.poll_recv(cx))
        .map(|line| line.map_err(std::io::Error::other));
    Ok((
        [("content-type", "application/x-ndjson"), ("cache-control", "no-store")],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct ImportQuery {
    isolation_mode: Option<String>,
}

#[utoipa::path(
    post,
    path = "/tenants/{id}/import",
    tag = "control-plane",
    summary = "Restore a backup (JSON lines, up to 16 GiB, streamed)",
    request_body(content = String, content_type = "application/x-ndjson", description = "A backup as `export` wrote it."),
    params(("isolation_mode" = Option<String>, Query, description = "Mode of a tenant the import creates")),
    responses((status = 200, description = "OK.", body = schema::Imported)),
    security(("admin_token" = []))
)]
/// Restores a JSON-lines backup (`application/x-ndjson`) as it arrives, up to
/// [`MAX_IMPORT_BYTES`].
pub async fn import_tenant(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    let ndjson = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| ["application/x-ndjson", "application/jsonl", "application/json"].contains(&m.trim()));
    if !ndjson {
        return Err(ApiError::UnsupportedMediaType);
    }
    let (lines_in, mut lines_out) = tokio::sync::mpsc::channel(64);
    let control = state.control.clone();
    let tenant = id.clone();
    // The restore runs on its own task: when the client goes away mid-upload this handler is
    // dropped, the line channel closes, and the restore, seeing a backup without its end
    // line, removes what it wrote.
    let restore = tokio::spawn(async move {
        let lines = futures_util::stream::poll_fn(move |cx| lines_out.poll_recv(cx));
        control
            .import_tenant(Some(&tenant), lines, q.isolation_mode.as_deref(), |_| {})
            .await
    });
    let mut received = 0u64;
    let bytes = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        received += chunk.len() as u64;
        if received > MAX_IMPORT_BYTES {
            return Err(std::io::Error::other(ApiError::BackupTooLarge));
        }
        Ok(chunk)
    });
    let mut lines = backup_lines(tokio_util::io::StreamReader::new(bytes));
    while let Some(line) = lines.next().await {
        let failed = line.is_err();
        // A closed channel: the restore refused the backup already and says why below.
        if lines_in.send(line).await.is_err() || failed {
            break;
        }
    }
    drop(lines_in);
    let report = restore.await.map_err(|_| ApiError::Internal)??;
    tracing::info!(admin = %admin.id(), tenant = %id, users = report.users, "tenant restored");
    Ok(Json(serde_json::to_value(&report).unwrap_or(Value::Null)))
}

/// Test hook (only in builds with the `test-faults` feature, and with
/// `HELLOJOHN_TEST_FAULTS=true`): makes the tenant's actor panic.
#[cfg(feature = "test-faults")]
pub async fn inject_panic(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    if !state.config.test_faults {
        return Err(ApiError::NotFound);
    }
    state.control.tenant(&id).await?;
    state
        .tenants
        .run(
            &id,
            crate::tenant::messages::Caller::operator(),
            crate::tenant::messages::node::InjectPanic {},
        )
        .await
        .result?;
    Ok(StatusCode::NO_CONTENT)
}

/// One of a tenant's signing keys and where it is in its life.
#[derive(serde::Serialize, ToSchema)]
pub struct SigningKeyState {
    id: String,
    alg: String,
    /// `next` (published ahead, not signing yet), `current` (signing), `retiring` (still
    /// published so tokens it signed verify) or `retired` (no longer published).
    status: String,
    created_at: String,
    retired_at: Option<String>,
}

/// `GET /cp/v1/tenants/{id}/signing-keys`.
#[derive(serde::Serialize, ToSchema)]
pub struct SigningKeyList {
    data: Vec<SigningKeyState>,
}

#[utoipa::path(
    get,
    path = "/tenants/{id}/signing-keys",
    tag = "control-plane",
    summary = "A tenant's signing keys",
    description = "Every stored signing key of the tenant, newest first, with its status. Private keys never leave the server.",
    responses((status = 200, description = "OK.", body = SigningKeyList)),
    security(("admin_token" = []))
)]
pub async fn list_signing_keys(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SigningKeyList>, ApiError> {
    let id = path_id(prefix::TENANT, id)?;
    let tenant = state.control.tenant(&id).await?;
    let mut keys = state.control.store().list_signing_keys(&id).await?;
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let signer = signing_keys::signer(&keys).map(|k| k.id.as_str());
    let now = state.control.clock().now();
    let grace = signing_keys::retired_key_grace(&tenant.auth_config);
    let data = keys
        .iter()
        .map(|key| SigningKeyState {
            id: key.id.clone(),
            alg: crate::auth::signing::alg_name(key.alg).to_owned(),
            status: signing_keys::status(key, signer, now, grace).to_owned(),
            created_at: views::timestamp(key.created_at),
            retired_at: key.retired_at.map(views::timestamp),
        })
        .collect();
    Ok(Json(SigningKeyList { data }))
}

#[utoipa::path(
    get,
    path = "/cluster",
    tag = "control-plane",
    summary = "Cluster nodes and tenant placements",
    responses((status = 200, description = "OK.", body = schema::ClusterStatus)),
    security(("admin_token" = []))
)]
/// Every node with its state and tenant count, and the owner of every running tenant. A
/// node outside a cluster shows itself and the tenants it runs.
pub async fn cluster_status(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if let Some(cluster) = &state.cluster {
        return Ok(Json(cluster.snapshot().await?));
    }
    let now = state.control.clock().now();
    let name = &state.config.node_name;
    let running = state.control.registry().running_tenants();
    // Alone, a node owns what it runs for as long as it runs; the lease shown is the
    // default one, renewed for as long as the node lives.
    let lease_end = views::timestamp(now + std::time::Duration::from_secs(10));
    Ok(Json(json!({
        "nodes": [{
            "name": name,
            "cluster_address": null,
            "state": "up",
            "last_heartbeat_at": views::timestamp(now),
            "tenants": running.len(),
        }],
        "placements": running.iter().map(|id| json!({
            "tenant_id": id,
            "node": name,
            "epoch": 1,
            "lease_expires_at": lease_end,
        })).collect::<Vec<_>>(),
    })))
}
