//! The HTTP edge: thin axum handlers. Each authenticates the caller, resolves
//! the tenant from the credential, and forwards a typed message to the
//! tenant's actor (or calls the control plane).

mod api_keys;
mod auth;
pub mod body;
mod control;
mod cors;
mod edge;
pub mod error;
mod extract;
mod keys;
mod mfa;
mod ops;
mod orgs;
mod pagination;
mod params;
mod recovery;
mod users;
mod webhooks;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::tenant::messages::{TenantCall, TenantReply, TenantRequest, TenantResponse};
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
}

impl AppState {
    /// The one tenant call of a request, made with the caller's credential.
    pub async fn call(&self, who: &impl Credentialed, request: TenantRequest) -> Result<TenantResponse, ApiError> {
        self.call_with_limits(who, request).await.result
    }

    /// Like [`AppState::call`], keeping the rate-limit report for the response headers.
    pub async fn call_with_limits(&self, who: &impl Credentialed, request: TenantRequest) -> TenantReply {
        let call = TenantCall {
            caller: who.caller(),
            request,
        };
        self.tenants.call(&who.tenant().id, call).await
    }

    /// Builds the state; loads the CORS origin index from the control store.
    pub async fn new(
        control: Arc<ControlPlane>,
        config: Arc<Config>,
        metrics: PrometheusHandle,
    ) -> Result<Self, crate::error::ApiError> {
        let cors = Arc::new(cors::AllowedOrigins::load(&control).await?);
        Ok(Self {
            tenants: Arc::new(control.registry().clone()),
            control,
            config,
            metrics,
            ready: Arc::new(AtomicBool::new(true)),
            cors,
        })
    }
}

/// `/metrics` alone, for `HELLOJOHN_METRICS_LISTEN`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(ops::metrics)).with_state(state)
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let cp = Router::new()
        .route("/admin/sign-in", post(control::admin_sign_in))
        .route("/admins", get(control::list_admins).post(control::create_admin))
        .route("/admins/{id}", delete(control::delete_admin))
        .route("/tenants", get(control::list_tenants).post(control::create_tenant))
        .route(
            "/tenants/{id}",
            get(control::get_tenant)
                .patch(control::update_tenant)
                .delete(control::delete_tenant),
        )
        .route("/tenants/{id}/signing-keys/rotate", post(control::rotate_signing_key))
        .route(
            "/tenants/{id}/api-keys",
            get(api_keys::cp_list).post(api_keys::cp_create),
        )
        .route("/tenants/{id}/api-keys/{key_id}", delete(api_keys::cp_delete))
        .route("/tenants/{id}/export", get(control::export_tenant))
        .route(
            "/tenants/{id}/import",
            // Streamed: the handler counts the body against `body::MAX_IMPORT_BYTES` itself.
            post(control::import_tenant),
        )
        .route("/tenants/{id}/faults/panic", post(control::inject_panic));
    let v1 = Router::new()
        .route("/auth/sign-up", post(auth::sign_up))
        .route("/auth/sign-in", post(auth::sign_in))
        .route("/auth/token/refresh", post(auth::refresh))
        .route("/auth/me", get(auth::me).patch(auth::update_me))
        .route("/auth/sign-out", post(auth::sign_out))
        .route("/auth/password/change", post(auth::change_password))
        .route("/me/sessions", get(users::my_sessions))
        .route("/me/mfa/totp", post(mfa::start_totp))
        .route("/me/mfa/totp/confirm", post(mfa::confirm_totp))
        .route("/me/mfa/factors", get(mfa::my_factors))
        .route("/me/mfa/factors/{id}", delete(mfa::remove_my_factor))
        .route("/me/mfa/backup-codes", post(mfa::regenerate_backup_codes))
        .route("/auth/mfa/verify", post(mfa::verify))
        .route("/auth/password/forgot", post(recovery::forgot_password))
        .route("/auth/password/reset", post(recovery::reset_password))
        .route("/auth/email/verify/send", post(recovery::send_verification))
        .route("/auth/email/verify", post(recovery::verify_email))
        .route("/auth/magic-link", post(recovery::magic_link))
        .route("/auth/magic-link/verify", post(recovery::magic_link_verify))
        .route("/users/{id}/mfa/factors", get(mfa::user_factors))
        .route("/users/{id}/mfa/factors/{fid}", delete(mfa::reset_user_factor))
        .route("/me/sessions/{id}", delete(users::revoke_my_session))
        .route("/users", get(users::list_users).post(users::create_user))
        .route(
            "/users/{id}",
            get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route("/users/{id}/disable", post(users::disable_user))
        .route("/users/{id}/enable", post(users::enable_user))
        .route("/users/{id}/sessions", delete(users::revoke_user_sessions))
        .route("/sessions", get(users::list_sessions))
        .route("/sessions/{id}", get(users::get_session).delete(users::revoke_session))
        .route("/sessions/verify", post(auth::verify_session))
        .route("/webhooks", get(webhooks::list_webhooks).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::get).patch(webhooks::update).delete(webhooks::delete),
        )
        .route("/webhooks/{id}/rotate-secret", post(webhooks::rotate_secret))
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/deliveries/{del}/retry", post(webhooks::retry))
        .route("/organizations", get(orgs::list_orgs).post(orgs::create_org))
        .route(
            "/organizations/{id}",
            get(orgs::get_org).patch(orgs::update_org).delete(orgs::delete_org),
        )
        .route(
            "/organizations/{id}/members",
            get(orgs::list_members).post(orgs::add_member),
        )
        .route(
            "/organizations/{id}/members/{user_id}",
            patch(orgs::update_member).delete(orgs::remove_member),
        )
        .route(
            "/organizations/{id}/invitations",
            get(orgs::list_invitations).post(orgs::invite),
        )
        .route("/organizations/{id}/invitations/{inv}", delete(orgs::revoke_invitation))
        .route(
            "/organizations/{id}/roles",
            get(orgs::list_roles).post(orgs::create_role),
        )
        .route(
            "/organizations/{id}/roles/{key}",
            patch(orgs::update_role).delete(orgs::delete_role),
        )
        .route("/invitations/{token}/accept", post(orgs::accept_invitation))
        .route("/me/organizations", get(orgs::my_organizations))
        .route("/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api-keys/{id}", delete(api_keys::delete))
        .route("/jwks/{tenant_id}", get(keys::jwks));
    let mut public = Router::new()
        .route("/health", get(ops::health))
        .route("/readyz", get(ops::readyz));
    // With a metrics listener, the public port does not expose `/metrics` (API.md §10).
    if state.config.metrics_listen.is_none() {
        public = public.route("/metrics", get(ops::metrics));
    }
    public
        .route("/t/{tenant_id}/.well-known/jwks.json", get(keys::jwks))
        .route("/t/{tenant_id}/.well-known/openid-configuration", get(keys::discovery))
        .nest("/cp/v1", cp)
        .nest("/v1", v1)
        .fallback(|| async { error::ApiError::NotFound })
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge::edge))
        .with_state(state)
}
