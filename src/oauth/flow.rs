//! The authorization endpoint's decisions (code flow, OpenID Connect Core §3.1.2): check
//! the request against the client, find who the browser is signed in as, ask consent where
//! a third-party client needs it, and issue a single-use code bound to the client, the
//! redirect URI and the PKCE challenge.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::browser;
use super::clients::{self, Client, ClientKind};
use super::scopes;
use super::{pkce, OAuthError};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::oauth::{AuthorizationRequest, AuthorizeStep};

/// How long an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes).
const CODE_TTL: time::Duration = time::Duration::seconds(60);
/// Prefix of authorization codes.
const CODE_PREFIX: &str = "ac_";
/// Longest `state` or `nonce` kept.
const MAX_OPAQUE: usize = 1024;

/// An issued authorization code, stored by hash (`hj_oauth_code`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// When the user signed in (Unix seconds), for the ID token's `auth_time`.
    pub auth_time: i64,
    pub amr: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub used: bool,
    /// The session the code was exchanged for: revoked if the code is presented again.
    pub issued_session: Option<String>,
}

/// A user's remembered consent to a client (`hj_oauth_consent`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Consent {
    client_id: String,
    scopes: Vec<String>,
}

/// A request whose client and redirect URI checked out: errors from here on go back to it.
struct Checked {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    issuer: String,
}

impl Checked {
    fn back(&self, params: &[(&str, &str)]) -> AuthorizeStep {
        let state = self.state.as_deref().map(|s| ("state", s));
        let issuer = ("iss", self.issuer.as_str());
        let all: Vec<(&str, &str)> = params.iter().copied().chain(state).chain([issuer]).collect();
        AuthorizeStep::Redirect {
            location: super::with_params(&self.redirect_uri, &all),
        }
    }

    fn error(&self, error: OAuthError) -> AuthorizeStep {
        self.back(&[("error", &error.error), ("error_description", &error.description)])
    }
}

/// The browser's live session, if its cookie is this tenant's and the session still counts.
pub async fn browser_session(ctx: &TenantContext, cookie: Option<&str>) -> Result<Option<Session>, ApiError> {
    let Some(session_id) = cookie.and_then(|c| browser::session_of(&ctx.deps.master_key, &ctx.tenant.id, c)) else {
        return Ok(None);
    };
    let session = ctx.store.get_session(&session_id).await?;
    Ok(session.filter(|s| ctx.effective_status(s.status, s.expires_at, s.last_active_at) == SessionStatus::Active))
}

/// One step of the code flow (see [`AuthorizeStep`]).
pub async fn authorize(
    ctx: &TenantContext,
    request: AuthorizationRequest,
    cookie: Option<String>,
    fresh: bool,
    decision: Option<bool>,
) -> Result<AuthorizeStep, ApiError> {
    let checked = match check_client(ctx, &request).await? {
        Ok(checked) => checked,
        Err(error) => return Ok(AuthorizeStep::Refuse(error)),
    };
    let asked = match check_request(&checked.client, &request) {
        Ok(asked) => asked,
        Err(error) => return Ok(checked.error(error)),
    };
    let session = browser_session(ctx, cookie.as_deref()).await?;
    let user = match &session {
        Some(s) => ctx
            .store
            .get_user(&s.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active),
        None => None,
    };
    let now = ctx.deps.clock.now();
    // `max_age=0` always asks again (OpenID Connect Core §3.1.2.1: like `prompt=login`).
    let too_old = |s: &Session| {
        asked
            .max_age
            .is_some_and(|age| s.created_at + time::Duration::seconds(age) <= now)
    };
    let (session, user) = match (session, user) {
        (Some(s), Some(u)) if fresh || (!asked.prompt_login && !too_old(&s)) => (s, u),
        _ if asked.prompt_none => return Ok(checked.error(OAuthError::login_required("Nobody is signed in."))),
        _ => {
            return Ok(AuthorizeStep::SignIn {
                client_name: checked.client.name.clone(),
                providers: super::social::providers::enabled_names(ctx).await?,
            })
        }
    };
    if decision == Some(false) {
        return Ok(checked.error(OAuthError::access_denied("The user declined.")));
    }
    if !checked.client.first_party && decision.is_none() {
        let remembered = remembered(ctx, &user.id, &checked.client.id).await?;
        let covered = remembered.is_some_and(|c| asked.scopes.iter().all(|s| scopes::has(&c.scopes, s)));
        if asked.prompt_none && !covered {
            return Ok(checked.error(OAuthError::consent_required("The user has not allowed this client.")));
        }
        if asked.prompt_consent || !covered {
            return Ok(AuthorizeStep::Consent {
                client_name: checked.client.name.clone(),
                scopes: asked.scopes,
            });
        }
    }
    let mut batch = TenantBatch::default();
    if decision == Some(true) {
        let consent = Consent {
            client_id: checked.client.id.clone(),
            scopes: asked.scopes.clone(),
        };
        let id = format!("{}:{}", user.id, checked.client.id);
        batch = batch.write(TenantWrite::PutRecord(Record::new(
            RecordKind::OAuthConsent,
            &id,
            &user.id,
            &consent,
        )?));
    }
    let code = secrets::generate(CODE_PREFIX);
    let stored = AuthorizationCode {
        client_id: checked.client.id.clone(),
        redirect_uri: checked.redirect_uri.clone(),
        user_id: user.id.clone(),
        scopes: asked.scopes,
        nonce: request.nonce,
        code_challenge: request.code_challenge,
        auth_time: session.created_at.unix_timestamp(),
        amr: session.amr.clone(),
        expires_at: now + CODE_TTL,
        used: false,
        issued_session: None,
    };
    let record = Record::new(RecordKind::OAuthCode, &secrets::hash(&code), &user.id, &stored)?;
    ctx.store.apply(batch.write(TenantWrite::PutRecord(record))).await?;
    Ok(checked.back(&[("code", &code)]))
}

async fn remembered(ctx: &TenantContext, user_id: &str, client_id: &str) -> Result<Option<Consent>, ApiError> {
    let id = format!("{user_id}:{client_id}");
    match ctx.store.get_record(RecordKind::OAuthConsent, &id).await? {
        Some(record) => Ok(Some(record.parse()?)),
        None => Ok(None),
    }
}

/// The client and its redirect URI; errors here are shown, never redirected.
async fn check_client(
    ctx: &TenantContext,
    request: &AuthorizationRequest,
) -> Result<Result<Checked, OAuthError>, ApiError> {
    let Some(client_id) = request.client_id.as_deref() else {
        return Ok(Err(OAuthError::invalid_request("client_id is required.")));
    };
    let Some(client) = clients::find(ctx, client_id).await? else {
        return Ok(Err(OAuthError::invalid_request(
            "client_id names no client of this tenant.",
        )));
    };
    let Some(redirect_uri) = request.redirect_uri.clone() else {
        return Ok(Err(OAuthError::invalid_request("redirect_uri is required.")));
    };
    if !client.redirects_to(&redirect_uri) {
        return Ok(Err(OAuthError::invalid_request(
            "redirect_uri is not registered for this client (URIs must match exactly).",
        )));
    }
    Ok(Ok(Checked {
        client,
        redirect_uri,
        state: request.state.clone().map(|s| s.chars().take(MAX_OPAQUE).collect()),
        issuer: ctx.issuer.clone(),
    }))
}

/// What a checked request asks for.
struct Asked {
    scopes: Vec<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
}

/// The rest of the request; errors here go back to the client's redirect URI.
fn check_request(client: &Client, request: &AuthorizationRequest) -> Result<Asked, OAuthError> {
    if request.response_type.as_deref() != Some("code") {
        return Err(OAuthError::unsupported_response_type(
            "Only response_type=code is supported.",
        ));
    }
    let scopes = scopes::parse(request.scope.as_deref().unwrap_or(""))
        .map_err(|unknown| OAuthError::invalid_scope(format!("{unknown} is not a scope of this provider.")))?;
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("scope is required."));
    }
    if let Some(extra) = scopes.iter().find(|s| !scopes::has(&client.scopes, s)) {
        return Err(OAuthError::invalid_scope(format!(
            "This client may not ask for {extra}."
        )));
    }
    match (&request.code_challenge, request.code_challenge_method.as_deref()) {
        (Some(challenge), Some("S256")) if pkce::well_formed(challenge) => {}
        (Some(_), Some("S256")) => return Err(OAuthError::invalid_request("code_challenge is malformed.")),
        (Some(_), _) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256 (plain is not supported).",
            ))
        }
        (None, Some(_)) => return Err(OAuthError::invalid_request("code_challenge is missing.")),
        (None, None) if client.kind == ClientKind::Public => {
            return Err(OAuthError::invalid_request(
                "PKCE with S256 is required for public clients.",
            ))
        }
        (None, None) => {}
    }
    if request.nonce.as_ref().is_some_and(|n| n.len() > MAX_OPAQUE) {
        return Err(OAuthError::invalid_request("nonce is too long."));
    }
    let prompts: Vec<&str> = request
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(unknown) = prompts
        .iter()
        .find(|p| !["none", "login", "consent", "select_account"].contains(p))
    {
        return Err(OAuthError::invalid_request(format!(
            "prompt={unknown} is not supported."
        )));
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none can't be combined with other values.",
        ));
    }
    let max_age = match request.max_age.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| OAuthError::invalid_request("max_age must be a number of seconds."))?,
        ),
    };
    Ok(Asked {
        scopes,
        prompt_none,
        prompt_login: prompts.contains(&"login") || prompts.contains(&"select_account"),
        prompt_consent: prompts.contains(&"consent"),
        max_age,
    })
}
