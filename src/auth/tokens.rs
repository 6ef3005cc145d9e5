//! Access-token claims (API.md §6) and their validation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::signing::KeyRing;

/// Why an access token was refused; maps to `invalid_token` / `token_expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TokenError {
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
}

/// The claims of an access token, exactly the contract's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    pub tenant_id: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    pub mfa_verified: bool,
    pub amr: Vec<String>,
    pub org_id: Option<String>,
    pub org_role: Option<String>,
    pub org_permissions: Option<Vec<String>>,
    pub public_metadata: Value,
}

/// Clock skew tolerated for `nbf`/`iat`.
const LEEWAY_SECS: i64 = 30;

/// Reads the tenant a token claims to belong to, before any verification:
/// only used to pick the keys that must then verify it.
pub fn unverified_tenant(token: &str) -> Option<String> {
    let tenant = unverified_claim(token, "tenant_id")?;
    crate::ids::is_valid(crate::ids::prefix::TENANT, &tenant).then_some(tenant)
}

/// A string claim of a token, read without verifying anything: only for what a verification
/// elsewhere vouches for, or to pick where to verify.
pub fn unverified_claim(token: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    Some(value.get(name)?.as_str()?.to_owned())
}

/// Verifies signature, issuer, audience and lifetime.
pub fn verify(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    tenant_id: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let payload = ring.verify_signature(token).ok_or(TokenError::Invalid)?;
    let claims: AccessClaims = serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)?;
    if claims.iss != issuer || claims.aud != tenant_id || claims.tenant_id != tenant_id {
        return Err(TokenError::Invalid);
    }
    if claims.nbf > now + LEEWAY_SECS {
        return Err(TokenError::Invalid);
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}
