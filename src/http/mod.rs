//! The HTTP edge: thin axum handlers. Each authenticates the caller, resolves
//! the tenant from the credential, and forwards a typed message to the
//! tenant's actor (or calls the control plane).

mod api_keys;
mod auth;
pub mod body;
mod clients;
mod console;
mod control;
mod cors;
mod edge;
pub mod error;
mod extract;
pub use openapi::is_provider_path;
mod hosted;
mod keys;
mod mfa;
mod oauth2;
mod openapi;
mod ops;
mod orgs;
mod pagination;
mod params;
mod recovery;
mod reference;
mod schema;
mod social;
mod stats;
mod users;
mod webhooks;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::tenant::messages::{Limited, Operation};
use crate::tenant::router::TenantRouter;
use extract::Credentialed;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub control: Arc<ControlPlane>,
    /// Where tenant calls go.
    pub tenants: Arc<dyn TenantRouter>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    /// False once shutdown has begun: `/readyz` then answers 503.
    pub ready: Arc<AtomicBool>,
    pub cors: Arc<cors::AllowedOrigins>,
    /// This node's part in a cluster, when it is in one.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// This node's recent request rate and latency (the console's node charts).
    pub traffic: Arc<crate::traffic::Traffic>,
}

impl AppState {
    /// Runs operation `op` on the caller's tenant, for the caller, and answers its reply.
    pub async fn run<O: Operation>(&self, who: &impl Credentialed, op: O) -> Result<O::Reply, ApiError> {
        self.run_limited(who, op).await.result
    }

    /// Like [`AppState::run`], keeping the rate-limit report for the response headers.
    pub async fn run_limited<O: Operation>(&self, who: &impl Credentialed, op: O) -> Limited<O::Reply> {
        self.tenants.run(&who.tenant().id, who.caller(), op).await
    }

    /// Builds the state; loads the CORS origin index from the control store and keeps it
    /// in step with tenants changed on other nodes. Tenant calls go through the cluster
    /// when there is one, else straight to this node's registry.
    pub async fn new(
        control: Arc<ControlPlane>,
        config: Arc<Config>,
        metrics: PrometheusHandle,
        cluster: Option<Arc<crate::cluster::Cluster>>,
        traffic: Arc<crate::traffic::Traffic>,
    ) -> Result<Self, crate::error::ApiError> {
        let cors = Arc::new(cors::AllowedOrigins::load(&control).await?);
        let mut changes = control.remote_changes();
        let (watched, origins) = (control.clone(), cors.clone());
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(id) => {
                        if let Ok(tenant) = watched.tenant(&id).await {
                            origins.add(&tenant);
                        }
                    }
                    // A burst outran this task: reload every tenant's origins.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok(all) = cors::AllowedOrigins::load(&watched).await {
                            origins.merge(all);
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        let tenants: Arc<dyn TenantRouter> = match &cluster {
            Some(cluster) => cluster.clone(),
            None => Arc::new(control.registry().clone()),
        };
        Ok(Self {
            tenants,
            control,
            config,
            metrics,
            ready: Arc::new(AtomicBool::new(true)),
            cors,
            cluster,
            traffic,
        })
    }
}

/// `/metrics` alone, for `HELLOJOHN_METRICS_LISTEN`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(ops::metrics)).with_state(state)
}

/// Every documented route. Routes are registered only through `routes!`, which takes each
/// handler's path and method from its `#[utoipa::path]`: a route can't exist undocumented.
/// `public_metrics` adds `/metrics` (absent when a metrics listener is configured).
fn documented_routes(public_metrics: bool) -> OpenApiRouter<AppState> {
    let cp = OpenApiRouter::new()
        .routes(routes!(control::admin_sign_in))
        .routes(routes!(control::list_admins, control::create_admin))
        .routes(routes!(control::delete_admin))
        .routes(routes!(control::list_tenants, control::create_tenant))
        .routes(routes!(
            control::get_tenant,
            control::update_tenant,
            control::delete_tenant
        ))
        .routes(routes!(control::rotate_signing_key))
        .routes(routes!(api_keys::cp_list, api_keys::cp_create))
        .routes(routes!(api_keys::cp_delete))
        .routes(routes!(control::cluster_status))
        .routes(routes!(stats::node_stats))
        .routes(routes!(stats::tenant_stats_cp))
        .routes(routes!(control::list_signing_keys))
        .routes(routes!(social::list_providers))
        .routes(routes!(social::put_provider, social::delete_provider))
        .routes(routes!(control::export_tenant))
        // Streamed: the handler counts the body against `body::MAX_IMPORT_BYTES` itself.
        .routes(routes!(control::import_tenant));
    let v1 = OpenApiRouter::new()
        .routes(routes!(auth::sign_up))
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::me, auth::update_me))
        .routes(routes!(auth::sign_out))
        .routes(routes!(auth::change_password))
        .routes(routes!(users::my_sessions))
        .routes(routes!(mfa::start_totp))
        .routes(routes!(mfa::confirm_totp))
        .routes(routes!(mfa::my_factors))
        .routes(routes!(mfa::remove_my_factor))
        .routes(routes!(mfa::regenerate_backup_codes))
        .routes(routes!(mfa::verify))
        .routes(routes!(recovery::forgot_password))
        .routes(routes!(recovery::reset_password))
        .routes(routes!(recovery::send_verification))
        .routes(routes!(recovery::verify_email))
        .routes(routes!(recovery::magic_link))
        .routes(routes!(recovery::magic_link_verify))
        .routes(routes!(mfa::user_factors))
        .routes(routes!(mfa::reset_user_factor))
        .routes(routes!(users::revoke_my_session))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user, users::delete_user))
        .routes(routes!(users::disable_user))
        .routes(routes!(users::enable_user))
        .routes(routes!(users::revoke_user_sessions))
        .routes(routes!(users::list_sessions))
        .routes(routes!(users::get_session, users::revoke_session))
        .routes(routes!(auth::verify_session))
        .routes(routes!(webhooks::list_webhooks, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::retry))
        .routes(routes!(orgs::list_orgs, orgs::create_org))
        .routes(routes!(orgs::get_org, orgs::update_org, orgs::delete_org))
        .routes(routes!(orgs::list_members, orgs::add_member))
        .routes(routes!(orgs::update_member, orgs::remove_member))
        .routes(routes!(orgs::list_invitations, orgs::invite))
        .routes(routes!(orgs::revoke_invitation))
        .routes(routes!(orgs::list_roles, orgs::create_role))
        .routes(routes!(orgs::update_role, orgs::delete_role))
        .routes(routes!(orgs::accept_invitation))
        .routes(routes!(orgs::my_organizations))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::delete))
        .routes(routes!(social::start))
        .routes(routes!(social::provider_return))
        .routes(routes!(social::callback))
        .routes(routes!(social::my_identities))
        .routes(routes!(social::remove_identity))
        .routes(routes!(clients::list_clients, clients::create))
        .routes(routes!(clients::get, clients::update, clients::delete))
        .routes(routes!(clients::rotate_secret))
        .routes(routes!(keys::jwks_v1))
        .routes(routes!(stats::tenant_stats));
    let mut public = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(ops::health))
        .routes(routes!(ops::readyz))
        .routes(routes!(openapi::openapi));
    if public_metrics {
        public = public.routes(routes!(ops::metrics));
    }
    public
        .routes(routes!(keys::jwks))
        .routes(routes!(keys::discovery))
        .routes(routes!(
            hosted::authorize::authorize_get,
            hosted::authorize::authorize_post
        ))
        .routes(routes!(hosted::authorize::end_session))
        .routes(routes!(hosted::authorize::social_start))
        .routes(routes!(hosted::authorize::social_return))
        .routes(routes!(oauth2::token))
        .routes(routes!(oauth2::userinfo_get, oauth2::userinfo_post))
        .routes(routes!(oauth2::revoke))
        .routes(routes!(oauth2::introspect))
        .routes(routes!(hosted::links::reset_page, hosted::links::reset_submit))
        .routes(routes!(hosted::links::verify_page, hosted::links::verify_submit))
        .routes(routes!(hosted::links::magic_page, hosted::links::magic_submit))
        .routes(routes!(hosted::stylesheet))
        .routes(routes!(console::index))
        .routes(routes!(console::index_slash))
        .routes(routes!(console::asset))
        .nest("/cp/v1", cp)
        .nest("/v1", v1)
}

/// The OpenAPI document of every route this build serves (`hellojohn openapi`, the docs).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(documented_routes(true).split_for_parts().1)
}

/// The Markdown reference rendered from the document (`docs/api-reference.md`).
pub fn reference_markdown(document: &serde_json::Value) -> String {
    reference::markdown(document)
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    // With a metrics listener, the public port does not expose `/metrics` (API.md §10).
    let (router, api) = documented_routes(state.config.metrics_listen.is_none()).split_for_parts();
    let document = openapi::finish(api).to_json().unwrap_or_default();
    #[cfg(feature = "test-faults")]
    let router = router.route(
        "/cp/v1/tenants/{id}/faults/panic",
        axum::routing::post(control::inject_panic),
    );
    router
        .fallback(|| async { error::ApiError::NoRoute })
        .layer(axum::Extension(openapi::Document(Arc::new(document))))
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge::edge))
        .with_state(state)
}
