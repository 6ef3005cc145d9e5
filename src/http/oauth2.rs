//! The OpenID provider's back-channel endpoints under `/t/{tenant_id}/oauth2/` (API.md §9):
//! token, userinfo, revocation and introspection. Requests are form-encoded (RFC 6749
//! §3.2), errors answer in RFC 6749 form, and clients authenticate with HTTP Basic or
//! with `client_id`/`client_secret` in the body, never both.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::cors::ANY_ORIGIN;
use super::hosted::caller;
use super::AppState;
use crate::error::ApiError;
use crate::oauth::OAuthError;
use crate::tenant::messages::oauth::{ClientAuth, Introspect, Revoke, Token, TokenGrant, UserInfo};
use crate::tenant::messages::{Caller, Operation};

/// An OAuth error as its endpoint answers it (`WWW-Authenticate` on 401s).
pub struct OAuthFailure(pub OAuthError);

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = Json(serde_json::json!({
            "error": self.0.error,
            "error_description": self.0.description,
        }));
        let mut response = (status, [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if self.0.error == "invalid_token" {
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    self.0.description
                )
            } else {
                "Basic realm=\"hellojohn\"".to_owned()
            };
            if let Ok(value) = challenge.parse() {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<OAuthError> for OAuthFailure {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl From<ApiError> for OAuthFailure {
    fn from(e: ApiError) -> Self {
        Self(match e {
            ApiError::NotFound => OAuthError::invalid_request("No such tenant."),
            other => other.into(),
        })
    }
}

/// A form-encoded request body (`application/x-www-form-urlencoded`), bounded like every body.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = OAuthFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthFailure> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(OAuthError::invalid_request("The body must be application/x-www-form-urlencoded.").into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError::invalid_request("The request body is too large or unreadable."))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|_| OAuthError::invalid_request("The form is malformed or repeats a parameter.").into())
    }
}

/// Runs a provider operation for the tenant in the path. The tenant must exist and be
/// active; the credential is the client's own, checked by the tenant.
pub(super) async fn run<O: Operation>(
    state: &AppState,
    headers_caller: Caller,
    tenant_id: &str,
    op: O,
) -> Result<O::Reply, ApiError> {
    super::hosted::tenant(state, tenant_id).await?;
    state.tenants.run(tenant_id, headers_caller, op).await.result
}

/// The parameters of every client-authenticated endpoint.
#[derive(Deserialize, Default, ToSchema)]
pub struct ClientParams {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The client's credentials: HTTP Basic (RFC 6749 §2.3.1, form-encoded parts) or the body.
fn client_auth(headers: &HeaderMap, body: &ClientParams) -> Result<ClientAuth, OAuthError> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    match (basic, &body.client_id) {
        (Some(_), Some(_)) if body.client_secret.is_some() => Err(OAuthError::invalid_request(
            "Use one client authentication method, not two.",
        )),
        (Some((_, encoded)), _) => {
            let bad = || OAuthError::invalid_client("Malformed Basic credentials.");
            let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (id, secret) = text.split_once(':').ok_or_else(bad)?;
            let unescape = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| bad())
            };
            Ok(ClientAuth {
                client_id: unescape(id)?,
                client_secret: Some(unescape(secret)?),
            })
        }
        (None, Some(id)) => Ok(ClientAuth {
            client_id: id.clone(),
            client_secret: body.client_secret.clone(),
        }),
        (None, None) => Err(OAuthError::invalid_client("Client authentication is required.")),
    }
}

/// The token endpoint's parameters.
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    #[serde(flatten)]
    client: ClientParams,
}

fn required(name: &str, value: Option<String>) -> Result<String, OAuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required.")))
}

fn no_store(body: Value) -> Response {
    ([(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")], Json(body)).into_response()
}

#[utoipa::path(
    post,
    path = "/t/{tenant_id}/oauth2/token",
    tag = "oauth",
    summary = "Token endpoint (authorization_code, refresh_token, client_credentials)",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A token response (RFC 6749 §5.1)."), (status = 400, description = "An RFC 6749 error.")),
    security(())
)]
pub async fn token(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    parts: axum::http::request::Parts,
    Form(form): Form<TokenForm>,
) -> Result<Response, OAuthFailure> {
    let client = client_auth(&parts.headers, &form.client)?;
    let grant = match form.grant_type.as_deref() {
        Some("authorization_code") => TokenGrant::AuthorizationCode {
            code: required("code", form.code)?,
            redirect_uri: form.redirect_uri,
            code_verifier: form.code_verifier,
        },
        Some("refresh_token") => TokenGrant::RefreshToken {
            refresh_token: required("refresh_token", form.refresh_token)?,
            scope: form.scope,
        },
        Some("client_credentials") => TokenGrant::ClientCredentials { scope: form.scope },
        Some(_) => return Err(OAuthError::unsupported_grant_type("This grant type is not supported.").into()),
        None => return Err(OAuthError::invalid_request("grant_type is required.").into()),
    };
    let answer = run(&state, caller(&parts, &state), &tenant_id, Token { client, grant }).await?;
    Ok(no_store(answer?))
}

/// The userinfo request's optional form body (RFC 6750 §2.2).
#[derive(Deserialize, Default, ToSchema)]
pub struct UserInfoForm {
    access_token: Option<String>,
}

async fn userinfo(
    state: AppState,
    parts: axum::http::request::Parts,
    tenant_id: String,
    body: Option<String>,
) -> Result<Response, OAuthFailure> {
    let header = super::extract::bearer(&parts).map(str::to_owned);
    let access_token = match (header, body) {
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("Send the token once.").into()),
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => return Err(OAuthError::invalid_token("An access token is required.").into()),
    };
    let answer = run(&state, caller(&parts, &state), &tenant_id, UserInfo { access_token }).await?;
    Ok(([ANY_ORIGIN, ("cache-control", "no-store")], Json(answer?)).into_response())
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/oauth2/userinfo",
    tag = "oauth",
    summary = "The signed-in user's claims (bearer access token)",
    responses((status = 200, description = "Claims the granted scopes release."), (status = 401, description = "invalid_token")),
    security(("access_token" = []))
)]
pub async fn userinfo_get(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    parts: axum::http::request::Parts,
) -> Result<Response, OAuthFailure> {
    userinfo(state, parts, tenant_id, None).await
}

#[utoipa::path(
    post,
    path = "/t/{tenant_id}/oauth2/userinfo",
    tag = "oauth",
    summary = "The signed-in user's claims (bearer header or form `access_token`)",
    responses((status = 200, description = "Claims the granted scopes release."), (status = 401, description = "invalid_token")),
    security(("access_token" = []))
)]
pub async fn userinfo_post(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, OAuthFailure> {
    let form: UserInfoForm = match body.is_empty() {
        true => UserInfoForm::default(),
        false => serde_urlencoded::from_bytes(&body).map_err(|_| OAuthError::invalid_request("Malformed form."))?,
    };
    userinfo(state, parts, tenant_id, form.access_token).await
}

/// The revocation and introspection parameters (`token_type_hint` is accepted and, as
/// RFC 7009 allows, not needed: the token's form tells).
#[derive(Deserialize, ToSchema)]
pub struct TokenParam {
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    #[serde(flatten)]
    client: ClientParams,
}

impl TokenParam {
    /// The authenticated client and the token it asks about.
    fn read(self, headers: &HeaderMap) -> Result<(ClientAuth, String), OAuthError> {
        Ok((client_auth(headers, &self.client)?, required("token", self.token)?))
    }
}

#[utoipa::path(
    post,
    path = "/t/{tenant_id}/oauth2/revoke",
    tag = "oauth",
    summary = "Revoke a refresh or access token (RFC 7009): ends its session",
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked, or nothing to revoke.")),
    security(())
)]
pub async fn revoke(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    parts: axum::http::request::Parts,
    Form(form): Form<TokenParam>,
) -> Result<Response, OAuthFailure> {
    let (client, token) = form.read(&parts.headers)?;
    run(&state, caller(&parts, &state), &tenant_id, Revoke { client, token }).await??;
    Ok(no_store(serde_json::json!({})))
}

#[utoipa::path(
    post,
    path = "/t/{tenant_id}/oauth2/introspect",
    tag = "oauth",
    summary = "Introspect a token issued to the calling client (RFC 7662)",
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "`{active, …}`.")),
    security(())
)]
pub async fn introspect(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    parts: axum::http::request::Parts,
    Form(form): Form<TokenParam>,
) -> Result<Response, OAuthFailure> {
    let (client, token) = form.read(&parts.headers)?;
    let answer = run(&state, caller(&parts, &state), &tenant_id, Introspect { client, token }).await?;
    Ok(no_store(answer?))
}
