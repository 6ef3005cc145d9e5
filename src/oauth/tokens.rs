//! What the provider signs and answers about tokens: ID tokens (OpenID Connect Core §2),
//! client-credentials access tokens, `/userinfo`, introspection (RFC 7662), revocation
//! (RFC 7009) and RP-initiated logout.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::clients::{self, Client};
use super::grants::{self, Grant};
use super::{flow, scopes, OAuthError};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::oauth::{ClientAuth, EndSessionRequest};
use crate::tenant::ops::sessions;

/// An access token of the `client_credentials` grant: a client acting for itself, no user
/// and no session, so hellojohn's user endpoints refuse it.
#[derive(Debug, Serialize, Deserialize)]
struct ClientClaims {
    iss: String,
    aud: String,
    sub: String,
    client_id: String,
    tenant_id: String,
    scope: String,
    iat: i64,
    exp: i64,
    jti: String,
}

fn signing_failed(ctx: &TenantContext, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(tenant = %ctx.tenant.id, error = %e, "signing failed");
    ApiError::Internal
}

/// The user claims a set of scopes releases (OpenID Connect Core §5.4).
fn user_claims(user: &User, granted: &[String], into: &mut Value) {
    if scopes::has(granted, "email") {
        into["email"] = json!(user.email);
        into["email_verified"] = json!(user.email_verified);
    }
    if scopes::has(granted, "profile") {
        into["name"] = json!(user.name);
        into["preferred_username"] = json!(user.username);
        into["picture"] = json!(user.avatar_url);
        into["updated_at"] = json!(user.updated_at.unix_timestamp());
    }
}

/// The ID token of a session issued to `client`.
pub fn id_token(
    ctx: &TenantContext,
    client: &Client,
    user: &User,
    session_id: &str,
    grant: &Grant,
    nonce: Option<&str>,
) -> Result<String, ApiError> {
    let now = ctx.deps.clock.now().unix_timestamp();
    let mut claims = json!({
        "iss": ctx.issuer,
        "sub": user.id,
        "aud": client.id,
        "azp": client.id,
        "iat": now,
        "exp": now + ctx.tenant.auth_config.access_token_ttl as i64,
        "auth_time": grant.auth_time,
        "sid": session_id,
        "tenant_id": ctx.tenant.id,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    user_claims(user, &grant.scopes, &mut claims);
    ctx.keys.sign_typed(&claims, "JWT").map_err(|e| signing_failed(ctx, e))
}

/// A client-credentials access token and its lifetime in seconds.
pub fn client_token(ctx: &TenantContext, client: &Client, granted: &[String]) -> Result<(String, u64), ApiError> {
    let now = ctx.deps.clock.now().unix_timestamp();
    let ttl = ctx.tenant.auth_config.access_token_ttl;
    let claims = ClientClaims {
        iss: ctx.issuer.clone(),
        aud: ctx.tenant.id.clone(),
        sub: client.id.clone(),
        client_id: client.id.clone(),
        tenant_id: ctx.tenant.id.clone(),
        scope: scopes::join(granted),
        iat: now,
        exp: now + ttl as i64,
        jti: ulid::Ulid::new().to_string(),
    };
    let token = ctx.keys.sign(&claims).map_err(|e| signing_failed(ctx, e))?;
    Ok((token, ttl))
}

/// `/userinfo`: the claims the access token's grant releases (a token from the API's own
/// sign-in, with no grant, releases `email` and `profile`).
pub async fn userinfo(ctx: &TenantContext, access_token: &str) -> Result<Result<Value, OAuthError>, ApiError> {
    let claims = match sessions::authenticate(ctx, access_token).await {
        Ok(claims) => claims,
        Err(ApiError::ServiceUnavailable { retry_after }) => return Err(ApiError::ServiceUnavailable { retry_after }),
        Err(_) => {
            return Ok(Err(OAuthError::invalid_token(
                "The access token is invalid, expired or revoked.",
            )))
        }
    };
    let Some(user) = ctx.store.get_user(&claims.sub).await? else {
        return Ok(Err(OAuthError::invalid_token("The access token's user is gone.")));
    };
    let granted = match Grant::of(ctx, &claims.sid).await? {
        Some(grant) => grant.scopes,
        None => scopes::default_scopes(),
    };
    let mut body = json!({ "sub": user.id });
    user_claims(&user, &granted, &mut body);
    Ok(Ok(body))
}

/// What a token presented to revocation or introspection turns out to be.
enum Presented {
    /// A refresh or access token of a session issued to a client.
    Session {
        session: Box<Session>,
        grant: Grant,
        exp: i64,
        iat: i64,
        refresh: bool,
    },
    /// A client-credentials access token.
    Client(ClientClaims),
}

async fn identify(ctx: &TenantContext, token: &str) -> Result<Option<Presented>, ApiError> {
    if token.starts_with("rt_") && token.len() <= 128 {
        let Some(record) = ctx.store.find_refresh_token(&secrets::hash(token)).await? else {
            return Ok(None);
        };
        if record.status != RefreshTokenStatus::Current {
            return Ok(None);
        }
        return with_session(
            ctx,
            &record.session_id,
            record.expires_at.unix_timestamp(),
            record.created_at.unix_timestamp(),
            true,
        )
        .await;
    }
    let Some(payload) = ctx.keys.verify_signature(token) else {
        return Ok(None);
    };
    let now = ctx.deps.clock.unix();
    if let Ok(claims) = serde_json::from_slice::<crate::auth::tokens::AccessClaims>(&payload) {
        if claims.iss != ctx.issuer || claims.aud != ctx.tenant.id || claims.exp <= now {
            return Ok(None);
        }
        return with_session(ctx, &claims.sid, claims.exp, claims.iat, false).await;
    }
    match serde_json::from_slice::<ClientClaims>(&payload) {
        Ok(claims) if claims.iss == ctx.issuer && claims.aud == ctx.tenant.id && claims.exp > now => {
            Ok(Some(Presented::Client(claims)))
        }
        _ => Ok(None),
    }
}

async fn with_session(
    ctx: &TenantContext,
    session_id: &str,
    exp: i64,
    iat: i64,
    refresh: bool,
) -> Result<Option<Presented>, ApiError> {
    let Some(session) = ctx.store.get_session(session_id).await? else {
        return Ok(None);
    };
    if ctx.effective_status(session.status, session.expires_at, session.last_active_at) != SessionStatus::Active {
        return Ok(None);
    }
    let Some(grant) = Grant::of(ctx, session_id).await? else {
        return Ok(None);
    };
    Ok(Some(Presented::Session {
        session: Box::new(session),
        grant,
        exp,
        iat,
        refresh,
    }))
}

/// `/introspect`: `active` only for a live token issued to the calling client; any other
/// token, whatever it is, answers `{"active": false}` (RFC 7662 §2.2).
pub async fn introspect(
    ctx: &TenantContext,
    auth: &ClientAuth,
    token: &str,
) -> Result<Result<Value, OAuthError>, ApiError> {
    let client = match grants::authenticate(ctx, auth).await {
        Ok(client) => client,
        Err(error) => return Ok(Err(error)),
    };
    let inactive = Ok(Ok(json!({ "active": false })));
    match identify(ctx, token).await? {
        Some(Presented::Session {
            session,
            grant,
            exp,
            iat,
            refresh,
        }) if grant.client_id == client.id => {
            let user = ctx.store.get_user(&session.user_id).await?;
            Ok(Ok(json!({
                "active": true,
                "scope": scopes::join(&grant.scopes),
                "client_id": client.id,
                "username": user.map(|u| u.email),
                "token_type": if refresh { "refresh_token" } else { "Bearer" },
                "exp": exp,
                "iat": iat,
                "sub": session.user_id,
                "aud": if refresh { client.id.clone() } else { ctx.tenant.id.clone() },
                "iss": ctx.issuer,
                "sid": session.id,
            })))
        }
        Some(Presented::Client(claims)) if claims.client_id == client.id => Ok(Ok(json!({
            "active": true,
            "scope": claims.scope,
            "client_id": claims.client_id,
            "token_type": "Bearer",
            "exp": claims.exp,
            "iat": claims.iat,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "jti": claims.jti,
        }))),
        _ => inactive,
    }
}

/// `/revoke`: ends the session behind a refresh or access token issued to the calling
/// client. Unknown tokens, and tokens of other clients, are left alone and still answer
/// success (RFC 7009 §2.2), so the endpoint tells nothing about them.
pub async fn revoke(ctx: &TenantContext, auth: &ClientAuth, token: &str) -> Result<Result<(), OAuthError>, ApiError> {
    let client = match grants::authenticate(ctx, auth).await {
        Ok(client) => client,
        Err(error) => return Ok(Err(error)),
    };
    if let Some(Presented::Session { mut session, grant, .. }) = identify(ctx, token).await? {
        if grant.client_id == client.id {
            sessions::revoke(ctx, &mut session).await?;
        }
    }
    Ok(Ok(()))
}

/// `/end_session`: signs the browser out (its hosted session, and the client session the
/// ID token names) and returns the registered `post_logout_redirect_uri` to go to, if asked.
pub async fn end_session(
    ctx: &TenantContext,
    request: EndSessionRequest,
    cookie: Option<String>,
) -> Result<Result<Option<String>, OAuthError>, ApiError> {
    let hint = request.id_token_hint.as_deref().and_then(|t| id_token_hint(ctx, t));
    if request.id_token_hint.is_some() && hint.is_none() {
        return Ok(Err(OAuthError::invalid_request(
            "id_token_hint is not an ID token of this provider.",
        )));
    }
    let client_id = match (&hint, &request.client_id) {
        (Some(h), Some(id)) if &h.aud != id => {
            return Ok(Err(OAuthError::invalid_request(
                "client_id differs from the ID token's audience.",
            )))
        }
        (Some(h), _) => Some(h.aud.clone()),
        (None, id) => id.clone(),
    };
    let client = match &client_id {
        Some(id) => match clients::find(ctx, id).await? {
            Some(client) => Some(client),
            None => {
                return Ok(Err(OAuthError::invalid_request(
                    "client_id names no client of this tenant.",
                )))
            }
        },
        None => None,
    };
    let location = match (&request.post_logout_redirect_uri, &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Ok(Err(OAuthError::invalid_request(
                "post_logout_redirect_uri needs id_token_hint or client_id.",
            )))
        }
        (Some(uri), Some(client)) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            let state = request.state.as_deref().map(|s| ("state", s));
            Some(super::with_params(uri, &state.into_iter().collect::<Vec<_>>()))
        }
        (Some(_), Some(_)) => {
            return Ok(Err(OAuthError::invalid_request(
                "post_logout_redirect_uri is not registered for this client.",
            )))
        }
    };
    if let Some(mut browser) = flow::browser_session(ctx, cookie.as_deref()).await? {
        sessions::revoke(ctx, &mut browser).await?;
    }
    if let (Some(hint), Some(client)) = (hint, &client) {
        let issued = Grant::of(ctx, &hint.sid)
            .await?
            .is_some_and(|g| g.client_id == client.id);
        if let (true, Some(mut session)) = (issued, ctx.store.get_session(&hint.sid).await?) {
            if session.user_id == hint.sub {
                sessions::revoke(ctx, &mut session).await?;
            }
        }
    }
    Ok(Ok(location))
}

/// What end_session reads from an ID token (expired ones included: logging out late is fine).
#[derive(Deserialize)]
struct IdTokenHint {
    iss: String,
    aud: String,
    sub: String,
    sid: String,
}

fn id_token_hint(ctx: &TenantContext, token: &str) -> Option<IdTokenHint> {
    let payload = ctx.keys.verify_signature(token)?;
    let hint: IdTokenHint = serde_json::from_slice(&payload).ok()?;
    (hint.iss == ctx.issuer).then_some(hint)
}
