//! The tenant's hosted pages (API.md §9): server-rendered HTML that works without
//! JavaScript, for the OpenID provider's sign-in and consent and for the links in
//! password-reset, verification and magic-link emails. Every page is `no-store`, sends a
//! strict Content-Security-Policy (no script at all, styles from our own stylesheet only,
//! forms only to ourselves and the client being returned to) and protects its forms with
//! a double-submit CSRF token.

pub mod authorize;
pub mod links;
mod page;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::auth::secrets;
use crate::error::ApiError;
use crate::ids;
use crate::store::Tenant;
use crate::tenant::messages::{Caller, Credential};
pub use page::Page;

/// The CSRF cookie's name.
const CSRF_COOKIE: &str = "hj_csrf";

#[utoipa::path(
    get,
    path = "/assets/hosted.css",
    tag = "hosted",
    summary = "The hosted pages' stylesheet",
    responses((status = 200, description = "CSS.")),
    security(())
)]
pub async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("templates/hosted.css"),
    )
        .into_response()
}

/// The tenant a hosted page belongs to: named by the path, and it must be active.
pub async fn tenant(state: &AppState, tenant_id: &str) -> Result<Tenant, ApiError> {
    if !ids::is_valid(ids::prefix::TENANT, tenant_id) {
        return Err(ApiError::NotFound);
    }
    state.control.active_tenant(tenant_id).await
}

/// The caller of a hosted page's tenant calls: the tenant's own public front end.
pub fn caller(parts: &axum::http::request::Parts, state: &AppState) -> Caller {
    Caller {
        credential: Credential::Publishable,
        client: super::extract::client_info(parts, state),
    }
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value scoped to one tenant's pages: HttpOnly, SameSite=Lax (a top-level
/// navigation from the client app still carries it), Secure behind https.
pub fn set_cookie(state: &AppState, tenant_id: &str, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    format!("{name}={value}; Path=/t/{tenant_id}; HttpOnly; SameSite=Lax{secure}{age}")
}

/// The request's CSRF token, or a new one with the cookie that sets it.
pub fn csrf_token(state: &AppState, tenant_id: &str, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 46 && v.starts_with("cs_")) {
        Some(token) => (token, None),
        None => {
            let token = secrets::generate("cs_");
            let set = set_cookie(state, tenant_id, CSRF_COOKIE, &token, None);
            (token, Some(set))
        }
    }
}

/// Whether a posted form carries the CSRF token of its cookie (constant time).
pub fn csrf_ok(headers: &HeaderMap, posted: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), posted) {
        (Some(cookie), Some(posted)) => secrets::constant_time_eq(&cookie, posted),
        _ => false,
    }
}
