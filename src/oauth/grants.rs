//! The token endpoint (RFC 6749 §3.2): client authentication, then the `authorization_code`
//! grant (single use: a second presentation revokes what the first issued), the
//! `refresh_token` grant (the same rotation and reuse rules as `/v1/auth/token/refresh`,
//! bound to the client the session was issued to) and `client_credentials`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::clients::{self, Client, ClientKind};
use super::flow::AuthorizationCode;
use super::{pkce, scopes, tokens, OAuthError};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::auth::OrgSwitch;
use crate::tenant::messages::oauth::{ClientAuth, TokenGrant};
use crate::tenant::messages::{ClientInfo, TokenSet};
use crate::tenant::ops::sessions;

/// The client a session was issued to (`hj_oauth_grant`, id = session id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
}

impl Grant {
    /// The grant of a session, if the session was issued to a client.
    pub async fn of(ctx: &TenantContext, session_id: &str) -> Result<Option<Grant>, ApiError> {
        match ctx.store.get_record(RecordKind::OAuthGrant, session_id).await? {
            Some(record) => Ok(Some(record.parse()?)),
            None => Ok(None),
        }
    }
}

/// The calling client, authenticated: a confidential client by its secret
/// (`client_secret_basic` or `client_secret_post`), a public one by its id alone.
pub async fn authenticate(ctx: &TenantContext, auth: &ClientAuth) -> Result<Client, OAuthError> {
    let client = clients::find(ctx, &auth.client_id).await?;
    let refused = || OAuthError::invalid_client("Client authentication failed.");
    match client {
        Some(client) if client.kind == ClientKind::Public => Ok(client),
        Some(client) if auth.client_secret.as_deref().is_some_and(|s| client.secret_matches(s)) => Ok(client),
        Some(_) => Err(refused()),
        None => {
            // Same work as a real comparison, so an unknown client id isn't told apart by timing.
            let _ = secrets::verify_hash(auth.client_secret.as_deref().unwrap_or(""), &secrets::hash("-"));
            Err(refused())
        }
    }
}

/// Runs one grant for an authenticated client.
pub async fn exchange(
    ctx: &TenantContext,
    auth: ClientAuth,
    grant: TokenGrant,
    from: ClientInfo,
) -> Result<Result<Value, OAuthError>, ApiError> {
    let client = match authenticate(ctx, &auth).await {
        Ok(client) => client,
        Err(error) => return Ok(Err(error)),
    };
    let result = match grant {
        TokenGrant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => authorization_code(ctx, &client, &code, redirect_uri, code_verifier, from).await,
        TokenGrant::RefreshToken { refresh_token, scope } => refresh(ctx, &client, &refresh_token, scope, from).await,
        TokenGrant::ClientCredentials { scope } => client_credentials(ctx, &client, scope),
    };
    match result {
        Err(Refusal::Api(ApiError::ServiceUnavailable { retry_after })) => {
            Err(ApiError::ServiceUnavailable { retry_after })
        }
        Err(Refusal::Api(e)) => Ok(Err(e.into())),
        Err(Refusal::OAuth(e)) => Ok(Err(e)),
        Ok(body) => Ok(Ok(body)),
    }
}

/// Why a grant was refused: in OAuth's terms, or a failure below it.
enum Refusal {
    OAuth(OAuthError),
    Api(ApiError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

fn bad_code() -> OAuthError {
    OAuthError::invalid_grant("The authorization code is invalid, expired or already used.")
}

async fn authorization_code(
    ctx: &TenantContext,
    client: &Client,
    code: &str,
    redirect_uri: Option<String>,
    verifier: Option<String>,
    from: ClientInfo,
) -> Result<Value, Refusal> {
    let id = secrets::hash(code);
    let record = ctx
        .store
        .get_record(RecordKind::OAuthCode, &id)
        .await?
        .ok_or_else(bad_code)?;
    let owner = record.owner_id.clone();
    let mut stored: AuthorizationCode = record.parse()?;
    // Another client's code stays usable by its own client (RFC 6749 §4.1.3).
    if stored.client_id != client.id {
        return Err(bad_code().into());
    }
    if stored.used {
        // A replay: what the first exchange issued can't be trusted any more (RFC 6749 §4.1.2).
        if let Some(session_id) = &stored.issued_session {
            if let Some(mut session) = ctx.store.get_session(session_id).await? {
                sessions::revoke(ctx, &mut session).await?;
            }
        }
        return Err(bad_code().into());
    }
    if stored.expires_at <= ctx.deps.clock.now() {
        return Err(bad_code().into());
    }
    if redirect_uri.as_deref() != Some(stored.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request's.").into());
    }
    match (&stored.code_challenge, verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce::verifies(challenge, verifier) => {}
        (None, None) => {}
        _ => return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge.").into()),
    }
    let user = ctx
        .store
        .get_user(&stored.user_id)
        .await?
        .filter(|u| u.status == UserStatus::Active)
        .ok_or_else(bad_code)?;
    let started = sessions::start(ctx, &user, stored.amr.clone(), from)?;
    let grant = Grant {
        client_id: client.id.clone(),
        scopes: stored.scopes.clone(),
        auth_time: stored.auth_time,
    };
    stored.used = true;
    stored.issued_session = Some(started.session.id.clone());
    let batch = TenantBatch::default()
        .guard(Guard::unused(RecordKind::OAuthCode, &id))
        .write(TenantWrite::PutRecord(Record::new(
            RecordKind::OAuthCode,
            &id,
            &owner,
            &stored,
        )?))
        .write(TenantWrite::PutRecord(Record::new(
            RecordKind::OAuthGrant,
            &started.session.id,
            &user.id,
            &grant,
        )?));
    let batch = started.writes.into_iter().fold(batch, TenantBatch::write);
    match ctx.store.apply(batch).await {
        Ok(()) => {}
        // A concurrent exchange of the same code won.
        Err(StoreError::Conflict) => return Err(bad_code().into()),
        Err(e) => return Err(e.into()),
    }
    ctx.remember(&started.session);
    Ok(token_response(
        ctx,
        client,
        &user,
        &started.tokens,
        &grant,
        stored.nonce.as_deref(),
    )?)
}

async fn refresh(
    ctx: &TenantContext,
    client: &Client,
    refresh_token: &str,
    scope: Option<String>,
    from: ClientInfo,
) -> Result<Value, Refusal> {
    let invalid = || OAuthError::invalid_grant("The refresh token is invalid, expired or revoked.");
    let token = match refresh_token.len() {
        0..=128 => ctx.store.find_refresh_token(&secrets::hash(refresh_token)).await?,
        _ => None,
    };
    let token = token.ok_or_else(invalid)?;
    let grant = Grant::of(ctx, &token.session_id)
        .await?
        .filter(|g| g.client_id == client.id)
        .ok_or_else(invalid)?;
    if let Some(asked) = scope {
        let asked = scopes::parse(&asked).map_err(|_| OAuthError::invalid_scope("Unknown scope."))?;
        if asked.iter().any(|s| !scopes::has(&grant.scopes, s)) {
            return Err(OAuthError::invalid_scope("A refresh can't widen the granted scopes.").into());
        }
    }
    let tokens = match sessions::refresh(ctx, refresh_token, OrgSwitch::Keep, from)
        .await
        .result
    {
        Ok(tokens) => tokens,
        Err(ApiError::RefreshTokenInvalid | ApiError::RefreshTokenExpired | ApiError::SessionRevoked) => {
            return Err(invalid().into())
        }
        Err(e) => return Err(e.into()),
    };
    let session = ctx.store.get_session(&tokens.id).await?.ok_or_else(invalid)?;
    let user = ctx.store.get_user(&session.user_id).await?.ok_or_else(invalid)?;
    Ok(token_response(ctx, client, &user, &tokens, &grant, None)?)
}

fn client_credentials(ctx: &TenantContext, client: &Client, scope: Option<String>) -> Result<Value, Refusal> {
    if client.kind == ClientKind::Public {
        return Err(OAuthError::unauthorized_client("client_credentials needs a confidential client.").into());
    }
    let asked = scopes::parse(scope.as_deref().unwrap_or(""))
        .map_err(|unknown| OAuthError::invalid_scope(format!("{unknown} is not a scope of this provider.")))?;
    // No user signs in here: scopes that stand for a user are not granted.
    if let Some(user_scope) = asked
        .iter()
        .find(|s| ["openid", "offline_access"].contains(&s.as_str()))
    {
        return Err(OAuthError::invalid_scope(format!("{user_scope} needs a user; use the code flow.")).into());
    }
    if let Some(extra) = asked.iter().find(|s| !scopes::has(&client.scopes, s)) {
        return Err(OAuthError::invalid_scope(format!("This client may not ask for {extra}.")).into());
    }
    let (token, ttl) = tokens::client_token(ctx, client, &asked)?;
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scopes::join(&asked),
    }))
}

/// A token response for a user's session: the access token, the refresh token when
/// `offline_access` was granted, and an ID token when `openid` was.
fn token_response(
    ctx: &TenantContext,
    client: &Client,
    user: &User,
    tokens: &TokenSet,
    grant: &Grant,
    nonce: Option<&str>,
) -> Result<Value, ApiError> {
    let mut body = json!({
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "scope": scopes::join(&grant.scopes),
    });
    if scopes::has(&grant.scopes, "offline_access") {
        body["refresh_token"] = json!(tokens.refresh_token);
    }
    if scopes::has(&grant.scopes, "openid") {
        body["id_token"] = json!(tokens::id_token(ctx, client, user, &tokens.id, grant, nonce)?);
    }
    Ok(body)
}
