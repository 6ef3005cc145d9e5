//! Credential extractors. Each resolves the tenant from the credential
//! itself; `X-Tenant-ID`, when sent, must agree (`403 tenant_mismatch`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::cors::CorsGrant;
use super::error::ApiError;
use super::AppState;
use crate::auth::tokens::{self, AccessClaims};
use crate::store::{ApiKeyKind, CpAdmin, Tenant, TenantStatus};
use crate::tenant::messages::{ClientInfo, OrgCaller, TenantRequest, TenantResponse};

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Checks `X-Tenant-ID` against the credential's tenant and grants CORS for it.
fn bind_tenant(parts: &Parts, tenant: &Tenant) -> Result<(), ApiError> {
    if let Some(header) = parts.headers.get("x-tenant-id") {
        if header.as_bytes() != tenant.id.as_bytes() {
            return Err(ApiError::TenantMismatch);
        }
    }
    if let Some(grant) = parts.extensions.get::<CorsGrant>() {
        grant.allow_if_listed(tenant, parts.headers.get("origin"));
    }
    Ok(())
}

/// A caller holding the tenant's publishable key (`X-Client-Id` or bearer `pk_…`).
pub struct Publishable {
    pub tenant: Tenant,
}

impl FromRequestParts<AppState> for Publishable {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let raw = parts
            .headers
            .get("x-client-id")
            .and_then(|v| v.to_str().ok())
            .or_else(|| bearer(parts))
            .ok_or(ApiError::MissingToken)?;
        if !raw.starts_with("pk_") {
            return Err(ApiError::InvalidPublishableKey);
        }
        let resolved = state.control.resolve_api_key(raw).await?;
        if resolved.key.kind != ApiKeyKind::Publishable {
            return Err(ApiError::InvalidPublishableKey);
        }
        bind_tenant(parts, &resolved.tenant)?;
        Ok(Self {
            tenant: resolved.tenant,
        })
    }
}

/// A caller holding the tenant's secret key (bearer `sk_…`).
pub struct Secret {
    pub tenant: Tenant,
}

impl FromRequestParts<AppState> for Secret {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let raw = bearer(parts).ok_or(ApiError::MissingToken)?;
        if !raw.starts_with("sk_") {
            return Err(ApiError::InvalidApiKey);
        }
        let resolved = state.control.resolve_api_key(raw).await?;
        if resolved.key.kind != ApiKeyKind::Secret {
            return Err(ApiError::InvalidApiKey);
        }
        bind_tenant(parts, &resolved.tenant)?;
        Ok(Self {
            tenant: resolved.tenant,
        })
    }
}

/// A signed-in user: a verified access token whose session is still active.
pub struct SignedIn {
    pub tenant: Tenant,
    pub claims: AccessClaims,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::MissingToken)?;
        if token.len() > 16 * 1024 {
            return Err(ApiError::InvalidToken);
        }
        // The claimed tenant only selects which keys must verify the token.
        let tenant_id = tokens::unverified_tenant(token).ok_or(ApiError::InvalidToken)?;
        let tenant = state.control.tenant(&tenant_id).await.map_err(|e| match e {
            ApiError::NotFound => ApiError::InvalidToken,
            other => other,
        })?;
        if tenant.status == TenantStatus::Suspended {
            // The signature first: a forged token learns nothing about the tenant (API.md §6).
            return Err(match state.control.signature_holds(&tenant, token).await? {
                true => ApiError::TenantSuspended,
                false => ApiError::InvalidToken,
            });
        }
        bind_tenant(parts, &tenant)?;
        let reply = state
            .control
            .registry()
            .call(
                &tenant.id,
                TenantRequest::Authenticate {
                    token: token.to_owned(),
                },
            )
            .await?;
        match reply {
            TenantResponse::Authenticated { claims } => Ok(Self {
                tenant,
                claims: *claims,
            }),
            _ => Err(ApiError::Internal),
        }
    }
}

/// A caller of the organization endpoints: the secret key, or a signed-in user whose
/// membership the tenant then checks (API.md §5).
pub struct OrgActor {
    pub tenant: Tenant,
    pub caller: OrgCaller,
}

impl FromRequestParts<AppState> for OrgActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if bearer(parts).is_some_and(|t| t.starts_with("sk_")) {
            let key = Secret::from_request_parts(parts, state).await?;
            return Ok(Self {
                tenant: key.tenant,
                caller: OrgCaller::Server,
            });
        }
        let user = SignedIn::from_request_parts(parts, state).await?;
        Ok(Self {
            tenant: user.tenant,
            caller: OrgCaller::User {
                user_id: user.claims.sub,
            },
        })
    }
}

/// Whoever accepts an invitation: a signed-in user (`user_id`), or a newcomer holding
/// the publishable key (no `user_id`).
pub struct Invitee {
    pub tenant: Tenant,
    pub user_id: Option<String>,
}

impl FromRequestParts<AppState> for Invitee {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let has_jwt = bearer(parts).is_some_and(|t| !t.starts_with("pk_") && !t.starts_with("sk_"));
        if has_jwt {
            let user = SignedIn::from_request_parts(parts, state).await?;
            Ok(Self {
                tenant: user.tenant,
                user_id: Some(user.claims.sub),
            })
        } else {
            let key = Publishable::from_request_parts(parts, state).await?;
            Ok(Self {
                tenant: key.tenant,
                user_id: None,
            })
        }
    }
}

/// A control-plane admin; its id goes into the audit log lines of CP changes.
pub struct Admin(pub CpAdmin);

impl Admin {
    /// The admin's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    /// A CP admin token signs in; any other credential is `403 cp_admin_required` when it
    /// is valid and its own 401 when it is not (API.md §6).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::MissingToken)?;
        if crate::control::is_admin_token(token) {
            return state.control.authenticate_admin(token).await.map(Admin);
        }
        if token.starts_with("pk_") || token.starts_with("sk_") {
            state.control.resolve_api_key(token).await?;
        } else {
            SignedIn::from_request_parts(parts, state).await?;
        }
        Err(ApiError::CpAdminRequired)
    }
}

/// The caller's IP (the socket peer, or `X-Forwarded-For` from a trusted proxy) and user agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip = match peer {
            Some(peer) if state.config.trusted_proxies.iter().any(|net| net.contains(&peer)) => parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|list| list.split(',').next_back())
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
                .or(Some(peer)),
            other => other,
        };
        let user_agent = parts
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self(ClientInfo {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
        }))
    }
}
