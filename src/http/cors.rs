//! Per-tenant CORS from `auth_config.allowed_origins`. A preflight carries no
//! credential, so it is answered for any origin some tenant allows; the actual
//! request only gets `Access-Control-Allow-Origin` when *its* tenant (from the
//! credential) allows the origin.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dashmap::DashSet;
use parking_lot::Mutex;

use super::AppState;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::store::{PageRequest, Tenant};

/// Every origin allowed by at least one tenant.
#[derive(Default)]
pub struct AllowedOrigins {
    origins: DashSet<String>,
}

impl AllowedOrigins {
    /// Builds the index from every tenant.
    pub async fn load(control: &ControlPlane) -> Result<Self, ApiError> {
        let index = Self::default();
        let mut page = PageRequest {
            limit: 100,
            after: None,
        };
        loop {
            let batch = control.list_tenants(&page).await?;
            for tenant in &batch.items {
                index.add(tenant);
            }
            match (batch.has_more, batch.items.last()) {
                (true, Some(last)) => page.after = Some(last.id.clone()),
                _ => break,
            }
        }
        Ok(index)
    }

    /// Adds a tenant's origins (after create or update; removal waits for a restart, which is safe
    /// because actual requests are checked against their own tenant).
    pub fn add(&self, tenant: &Tenant) {
        for origin in &tenant.auth_config.allowed_origins {
            self.origins.insert(origin.trim_end_matches('/').to_owned());
        }
    }

    /// Adds every origin of `other` (a fresh load after missed changes). Origins are only
    /// ever added here, as with [`AllowedOrigins::add`]: the per-tenant check decides.
    pub fn merge(&self, other: AllowedOrigins) {
        for origin in other.origins {
            self.origins.insert(origin);
        }
    }

    fn contains(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }
}

/// Filled by a credential extractor when the request's tenant allows its origin.
#[derive(Clone, Default)]
pub struct CorsGrant(Arc<Mutex<Option<HeaderValue>>>);

impl CorsGrant {
    /// Allows `origin` if the tenant lists it.
    pub fn allow_if_listed(&self, tenant: &Tenant, origin: Option<&HeaderValue>) {
        let Some(origin) = origin else { return };
        let listed = origin.to_str().is_ok_and(|o| {
            tenant
                .auth_config
                .allowed_origins
                .iter()
                .any(|a| a.trim_end_matches('/') == o)
        });
        if listed {
            *self.0.lock() = Some(origin.clone());
        }
    }

    /// Adds the CORS headers to the response when granted.
    pub fn apply(&self, origin: Option<&HeaderValue>, response: &mut Response) {
        if origin.is_none() {
            return;
        }
        let headers = response.headers_mut();
        headers.insert("vary", HeaderValue::from_static("Origin"));
        if let Some(origin) = self.0.lock().clone() {
            headers.insert("access-control-allow-origin", origin);
            headers.insert(
                "access-control-expose-headers",
                HeaderValue::from_static(
                    "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after",
                ),
            );
        }
    }
}

/// Whether `path` is a public key-discovery document (JWKS, OpenID configuration): they
/// carry nothing private, so any origin may read them (browsers verifying tokens, SPAs).
pub fn is_public_document(path: &str) -> bool {
    let well_known = path.starts_with("/t/")
        && (path.ends_with("/.well-known/jwks.json") || path.ends_with("/.well-known/openid-configuration"));
    well_known || path.starts_with("/v1/jwks/")
}

/// `Access-Control-Allow-Origin: *`, for the public documents.
pub const ANY_ORIGIN: (&str, &str) = ("access-control-allow-origin", "*");

/// Answers a CORS preflight.
pub fn preflight(state: &AppState, req: &Request) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert("vary", HeaderValue::from_static("Origin"));
    let Some(origin) = req.headers().get("origin") else {
        return response;
    };
    if is_public_document(req.uri().path()) {
        headers.insert(ANY_ORIGIN.0, HeaderValue::from_static(ANY_ORIGIN.1));
        headers.insert("access-control-allow-methods", HeaderValue::from_static("GET, OPTIONS"));
        headers.insert("access-control-max-age", HeaderValue::from_static("600"));
        return response;
    }
    if origin.to_str().is_ok_and(|o| state.cors.contains(o)) {
        headers.insert("access-control-allow-origin", origin.clone());
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, PATCH, DELETE, OPTIONS"),
        );
        headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("authorization, content-type, x-client-id, x-tenant-id, x-request-id"),
        );
        headers.insert("access-control-max-age", HeaderValue::from_static("600"));
    }
    response
}
