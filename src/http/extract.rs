//! Credential extractors. Each resolves the tenant from the credential
//! itself; `X-Tenant-ID`, when sent, must agree (`403 tenant_mismatch`). Each
//! yields the [`Caller`] its handler's one tenant call carries: API keys are
//! resolved here, an access token is verified by the tenant in that call.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::cors::CorsGrant;
use super::error::ApiError;
use super::AppState;
use crate::auth::tokens;
use crate::store::{ApiKeyKind, CpAdmin, Tenant, TenantStatus};
use crate::tenant::messages::auth::CheckToken;
use crate::tenant::messages::{Caller, ClientInfo, Credential};

/// A credential that names its tenant and the caller of a tenant call.
pub trait Credentialed {
    /// The tenant the credential belongs to.
    fn tenant(&self) -> &Tenant;
    /// Who the tenant call is from.
    fn caller(&self) -> Caller;
}

macro_rules! credentialed {
    ($($kind:ty),*) => {$(
        impl Credentialed for $kind {
            fn tenant(&self) -> &Tenant {
                &self.tenant
            }
            fn caller(&self) -> Caller {
                self.caller.clone()
            }
        }
    )*};
}

credentialed!(Publishable, Secret, SignedIn, OrgActor, Invitee);

/// The bearer credential of a request, if it sends one.
pub(super) fn bearer(parts: &Parts) -> Option<&str> {
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
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Publishable {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let raw = parts
            .headers
            .get("x-client-id")
            .and_then(|v| v.to_str().ok())
            .or_else(|| bearer(parts));
        let tenant = publishable_tenant(state, raw).await?;
        bind_tenant(parts, &tenant)?;
        Ok(Self {
            tenant,
            caller: caller(parts, state, Credential::Publishable),
        })
    }
}

/// The tenant of a publishable key, wherever the request carries it (a header, or the
/// `client_id` query parameter of a social sign-in's start).
pub(super) async fn publishable_tenant(state: &AppState, raw: Option<&str>) -> Result<Tenant, ApiError> {
    let raw = raw.ok_or(ApiError::MissingToken)?;
    if !raw.starts_with("pk_") {
        return Err(ApiError::InvalidPublishableKey);
    }
    let resolved = state.control.resolve_api_key(raw).await?;
    if resolved.key.kind != ApiKeyKind::Publishable {
        return Err(ApiError::InvalidPublishableKey);
    }
    Ok(resolved.tenant)
}

/// A caller holding the tenant's secret key (bearer `sk_…`).
pub struct Secret {
    pub tenant: Tenant,
    pub caller: Caller,
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
            caller: caller(parts, state, Credential::Secret),
        })
    }
}

/// A caller presenting an access token. The token's unverified tenant only picks the
/// tenant; that tenant verifies the token, and that its session is live, in the same call
/// as the operation.
pub struct SignedIn {
    pub tenant: Tenant,
    pub caller: Caller,
}

impl SignedIn {
    /// The session id the token names. Trust it only once the tenant has accepted a call
    /// made with this token (which verified it).
    pub fn session_id(&self) -> Option<String> {
        match &self.caller.credential {
            Credential::AccessToken(token) => tokens::unverified_claim(token, "sid"),
            _ => None,
        }
    }
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
        let credential = Credential::AccessToken(token.to_owned());
        Ok(Self {
            caller: caller(parts, state, credential),
            tenant,
        })
    }
}

/// A caller of the organization endpoints: the secret key, or a signed-in user whose
/// membership the tenant then checks (API.md §5).
pub struct OrgActor {
    pub tenant: Tenant,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for OrgActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if bearer(parts).is_some_and(|t| t.starts_with("sk_")) {
            let key = Secret::from_request_parts(parts, state).await?;
            return Ok(Self {
                tenant: key.tenant,
                caller: key.caller,
            });
        }
        let user = SignedIn::from_request_parts(parts, state).await?;
        Ok(Self {
            tenant: user.tenant,
            caller: user.caller,
        })
    }
}

/// Whoever accepts an invitation: a signed-in user, or a newcomer holding the publishable key.
pub struct Invitee {
    pub tenant: Tenant,
    pub caller: Caller,
}

impl Invitee {
    /// Whether the invitee is signed in (else they are a newcomer).
    pub fn signed_in(&self) -> bool {
        matches!(self.caller.credential, Credential::AccessToken(_))
    }
}

impl FromRequestParts<AppState> for Invitee {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let has_jwt = bearer(parts).is_some_and(|t| !t.starts_with("pk_") && !t.starts_with("sk_"));
        if has_jwt {
            let user = SignedIn::from_request_parts(parts, state).await?;
            Ok(Self {
                tenant: user.tenant,
                caller: user.caller,
            })
        } else {
            let key = Publishable::from_request_parts(parts, state).await?;
            Ok(Self {
                tenant: key.tenant,
                caller: key.caller,
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
            let user = SignedIn::from_request_parts(parts, state).await?;
            state.run(&user, CheckToken {}).await?;
        }
        Err(ApiError::CpAdminRequired)
    }
}

/// The caller's IP (the socket peer, or `X-Forwarded-For` from a trusted proxy) and user agent.
pub fn client_info(parts: &Parts, state: &AppState) -> ClientInfo {
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
    ClientInfo {
        ip: ip.map(|ip| ip.to_string()),
        user_agent,
    }
}

/// The caller's address and user agent, for handlers that make no tenant call.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(client_info(parts, state)))
    }
}

fn caller(parts: &Parts, state: &AppState, credential: Credential) -> Caller {
    Caller {
        credential,
        client: client_info(parts, state),
    }
}
