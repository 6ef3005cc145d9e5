//! The OpenID provider's front channel: `/oauth2/authorize` (sign-in, second factor,
//! magic-link request and consent pages, then back to the client with a code) and
//! `/oauth2/end_session` (RP-initiated logout). The tenant decides every step
//! (`oauth::flow`); this file renders it.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use utoipa::ToSchema;

use super::page::{origin_of, redirect};
use super::{caller, cookie, csrf_ok, csrf_token, set_cookie, tenant, Page};
use crate::error::ApiError;
use crate::http::AppState;
use crate::oauth::browser::COOKIE as BROWSER_COOKIE;
use crate::oauth::OAuthError;
use crate::store::Tenant;
use crate::tenant::messages::auth::{SignIn, SignedIn, VerifyMfa};
use crate::tenant::messages::email::RequestEmailLink;
use crate::tenant::messages::oauth::{
    AuthorizationRequest, Authorize, AuthorizeStep, EndSession, EndSessionRequest, OpenBrowser,
};
use crate::tenant::messages::Operation;

/// How long the hosted-session cookie lives in the browser (the session's own expiry and
/// revocation still decide whether it counts).
const BROWSER_COOKIE_AGE: i64 = 30 * 24 * 3600;

/// Everything the authorize form posts: the request it carries plus the step's fields.
#[derive(Deserialize, Default, ToSchema)]
pub struct AuthorizeForm {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    max_age: Option<String>,
    csrf: Option<String>,
    /// `sign_in`, `mfa`, `consent` or `magic_link`.
    step: Option<String>,
    email: Option<String>,
    password: Option<String>,
    challenge_id: Option<String>,
    code: Option<String>,
    /// `allow` or `deny` (consent).
    decision: Option<String>,
}

impl AuthorizeForm {
    fn request(&self) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            response_type: self.response_type.clone(),
            scope: self.scope.clone(),
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            code_challenge_method: self.code_challenge_method.clone(),
            prompt: self.prompt.clone(),
            max_age: self.max_age.clone(),
        }
    }
}

/// The request's parameters, to carry through the pages' forms.
fn carried(request: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    let fields = [
        ("client_id", &request.client_id),
        ("redirect_uri", &request.redirect_uri),
        ("response_type", &request.response_type),
        ("scope", &request.scope),
        ("state", &request.state),
        ("nonce", &request.nonce),
        ("code_challenge", &request.code_challenge),
        ("code_challenge_method", &request.code_challenge_method),
        ("prompt", &request.prompt),
        ("max_age", &request.max_age),
    ];
    fields
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
}

/// What a page of the flow needs besides its own values.
struct Flow<'a> {
    state: &'a AppState,
    tenant: &'a Tenant,
    request: AuthorizationRequest,
    csrf: String,
    csrf_cookie: Option<String>,
}

impl Flow<'_> {
    fn page(&self, template: &'static str, title: &str) -> Page {
        let action = format!("/t/{}/oauth2/authorize", self.tenant.id);
        Page::new(template, self.tenant, title)
            .with(context! { action, csrf => self.csrf, carried => carried(&self.request) })
            .cookie(self.csrf_cookie.clone())
            .form_target(self.request.redirect_uri.as_deref().and_then(origin_of))
    }

    fn sign_in(&self, client_name: &str, providers: &[String], email: &str, error: Option<String>) -> Page {
        let query = serde_urlencoded::to_string(carried(&self.request)).unwrap_or_default();
        let social: Vec<(String, String)> = providers
            .iter()
            .map(|p| {
                let href = format!("/t/{}/oauth2/social/{p}?{query}", self.tenant.id);
                (href, crate::oauth::social::providers::display_name(p))
            })
            .collect();
        let page = self
            .page("sign_in.html", "Sign in")
            .with(context! { client_name, email, error, social });
        match error {
            Some(_) => page.status(StatusCode::UNAUTHORIZED),
            None => page,
        }
    }

    /// Renders a step of the flow; `cookies` go out with it.
    fn render(&self, step: AuthorizeStep, cookies: Vec<String>) -> Response {
        match step {
            AuthorizeStep::SignIn { client_name, providers } => {
                self.sign_in(&client_name, &providers, "", None).into_response()
            }
            AuthorizeStep::Consent { client_name, scopes } => self
                .page("consent.html", "Allow access?")
                .with(context! { client_name, scopes })
                .into_response(),
            AuthorizeStep::Redirect { location } => {
                let cookies = cookies.into_iter().chain(self.csrf_cookie.clone()).collect();
                redirect(&location, cookies)
            }
            AuthorizeStep::Refuse(error) => refuse(self.tenant, &error),
        }
    }

    async fn step(
        &self,
        parts: &Parts,
        browser: Option<String>,
        fresh: bool,
        decision: Option<bool>,
    ) -> Result<AuthorizeStep, ApiError> {
        let op = Authorize {
            request: self.request.clone(),
            browser,
            fresh,
            decision,
        };
        self.run(parts, op).await
    }

    async fn run<O: Operation>(&self, parts: &Parts, op: O) -> Result<O::Reply, ApiError> {
        self.state
            .tenants
            .run(&self.tenant.id, caller(parts, self.state), op)
            .await
            .result
    }

    /// Signs the browser in with `signed` and continues the flow as a fresh sign-in.
    async fn signed_in(&self, parts: &Parts, signed: SignedIn) -> Result<Response, ApiError> {
        let value = self
            .run(
                parts,
                OpenBrowser {
                    session_id: signed.tokens.id,
                },
            )
            .await?;
        let set = set_cookie(
            self.state,
            &self.tenant.id,
            BROWSER_COOKIE,
            &value,
            Some(BROWSER_COOKIE_AGE),
        );
        let step = self.step(parts, Some(value), true, None).await?;
        let mut response = self.render(step, vec![set.clone()]);
        if let Ok(header) = set.parse() {
            if !response.headers().contains_key(axum::http::header::LOCATION) {
                response.headers_mut().append(axum::http::header::SET_COOKIE, header);
            }
        }
        Ok(response)
    }
}

/// An error page for a request that can't go back to its client.
fn refuse(tenant: &Tenant, error: &OAuthError) -> Response {
    Page::message(tenant, "This sign-in request is not valid", &error.description)
        .with(context! { error => error.error })
        .status(StatusCode::BAD_REQUEST)
        .into_response()
}

/// A page for a failure below OAuth (tenant gone, storage down).
pub fn failure(error: ApiError) -> Response {
    let (status, title) = match &error {
        ApiError::NotFound => (StatusCode::NOT_FOUND, "Not found"),
        ApiError::TenantSuspended => (StatusCode::FORBIDDEN, "This service is suspended"),
        ApiError::ServiceUnavailable { .. } | ApiError::RateLimitExceeded { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "Please try again in a moment")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
    };
    Page::message("hellojohn", title, "").status(status).into_response()
}

/// A hosted page's answer: the page, or the page that says why it can't be shown.
pub type PageResult = Result<Response, Response>;

/// The page's tenant (named by the path; it must be active), or the failure page.
pub async fn page_tenant(state: &AppState, tenant_id: &str) -> Result<Tenant, Response> {
    tenant(state, tenant_id).await.map_err(failure)
}

/// The page's query, or the error page for a malformed or repeated parameter.
// The error is the page to answer, as in axum's `Result<Response, Response>` handlers;
// it is returned once per request, so its size costs nothing.
#[allow(clippy::result_large_err)]
fn page_query<T: serde::de::DeserializeOwned + Default>(tenant: &Tenant, parts: &Parts) -> Result<T, Response> {
    parse_query(parts).ok_or_else(|| {
        refuse(
            tenant,
            &OAuthError::invalid_request("The request repeats a parameter or is malformed."),
        )
    })
}

/// The page for a posted form whose CSRF token is not its cookie's.
pub fn expired_form(tenant: &Tenant) -> Response {
    Page::message(
        tenant,
        "This form has expired",
        "Go back, reload the page and try again.",
    )
    .status(StatusCode::FORBIDDEN)
    .into_response()
}

fn parse_query<T: serde::de::DeserializeOwned + Default>(parts: &Parts) -> Option<T> {
    match parts.uri.query() {
        None => Some(T::default()),
        Some(query) => serde_urlencoded::from_str(query).ok(),
    }
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/oauth2/authorize",
    tag = "oauth",
    summary = "Authorization endpoint (code flow, PKCE S256): the hosted sign-in and consent pages",
    responses((status = 200, description = "A sign-in or consent page."), (status = 302, description = "Back to the client with a code or an error.")),
    security(())
)]
pub async fn authorize_get(State(state): State<AppState>, Path(tenant_id): Path<String>, parts: Parts) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let form: AuthorizeForm = page_query(&tenant, &parts)?;
    let (csrf, csrf_cookie) = csrf_token(&state, &tenant.id, &parts.headers);
    let flow = Flow {
        state: &state,
        tenant: &tenant,
        request: form.request(),
        csrf,
        csrf_cookie,
    };
    let browser = cookie(&parts.headers, BROWSER_COOKIE);
    Ok(match flow.step(&parts, browser, false, None).await.map_err(failure)? {
        AuthorizeStep::Redirect { location } => {
            let mut response = redirect(&location, flow.csrf_cookie.clone().into_iter().collect());
            *response.status_mut() = StatusCode::FOUND;
            response
        }
        step => flow.render(step, Vec::new()),
    })
}

#[utoipa::path(
    post,
    path = "/t/{tenant_id}/oauth2/authorize",
    tag = "oauth",
    summary = "The hosted pages' form posts (sign-in, second factor, magic-link request, consent)",
    request_body(content = AuthorizeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The next page."), (status = 303, description = "Back to the client.")),
    security(())
)]
pub async fn authorize_post(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    parts: Parts,
    body: axum::body::Bytes,
) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let Ok(form) = serde_urlencoded::from_bytes::<AuthorizeForm>(&body) else {
        return Err(refuse(&tenant, &OAuthError::invalid_request("The form is malformed.")));
    };
    if !csrf_ok(&parts.headers, form.csrf.as_deref()) {
        return Err(expired_form(&tenant));
    }
    let (csrf, csrf_cookie) = csrf_token(&state, &tenant.id, &parts.headers);
    let flow = Flow {
        state: &state,
        tenant: &tenant,
        request: form.request(),
        csrf,
        csrf_cookie,
    };
    post_step(&flow, &parts, form).await.map_err(failure)
}

async fn post_step(flow: &Flow<'_>, parts: &Parts, form: AuthorizeForm) -> Result<Response, ApiError> {
    let browser = cookie(&parts.headers, BROWSER_COOKIE);
    // The client's name for the pages; checks the request before any credential is used.
    let (client_name, providers) = match flow.step(parts, None, false, None).await? {
        AuthorizeStep::SignIn { client_name, providers } => (client_name, providers),
        AuthorizeStep::Consent { client_name, .. } => (client_name, Vec::new()),
        other => return Ok(flow.render(other, Vec::new())),
    };
    match form.step.as_deref() {
        Some("sign_in") => {
            let email = form.email.unwrap_or_default();
            let op = SignIn {
                email: email.clone(),
                password: form.password.unwrap_or_default(),
            };
            match flow.run(parts, op).await {
                Ok(signed) => flow.signed_in(parts, signed).await,
                Err(ApiError::MfaRequired { challenge_id, .. }) => Ok(flow
                    .page("mfa.html", "Two-step verification")
                    .with(context! { challenge_id })
                    .into_response()),
                Err(e @ (ApiError::ServiceUnavailable { .. } | ApiError::Internal)) => Err(e),
                Err(e) => Ok(flow
                    .sign_in(&client_name, &providers, &email, Some(e.to_string()))
                    .into_response()),
            }
        }
        Some("mfa") => {
            let challenge_id = form.challenge_id.unwrap_or_default();
            let op = VerifyMfa {
                challenge_id: challenge_id.clone(),
                code: form.code.unwrap_or_default(),
            };
            match flow.run(parts, op).await {
                Ok(signed) => flow.signed_in(parts, signed).await,
                Err(e @ (ApiError::ServiceUnavailable { .. } | ApiError::Internal)) => Err(e),
                Err(ApiError::InvalidMfaCode) => Ok(flow
                    .page("mfa.html", "Two-step verification")
                    .with(context! { challenge_id, error => ApiError::InvalidMfaCode.to_string() })
                    .status(StatusCode::UNAUTHORIZED)
                    .into_response()),
                Err(e) => Ok(flow
                    .sign_in(&client_name, &providers, "", Some(e.to_string()))
                    .into_response()),
            }
        }
        Some("consent") => {
            let decision = match form.decision.as_deref() {
                Some("allow") => true,
                Some("deny") => false,
                _ => {
                    return Ok(refuse(
                        flow.tenant,
                        &OAuthError::invalid_request("decision must be allow or deny."),
                    ))
                }
            };
            let step = flow.step(parts, browser, false, Some(decision)).await?;
            Ok(flow.render(step, Vec::new()))
        }
        Some("magic_link") => {
            // The link lands on `/t/{tenant}/magic-link`, which signs this browser in and
            // comes back here: the request rides along in a short-lived cookie.
            let op = RequestEmailLink {
                email: form.email.unwrap_or_default(),
                magic_link: true,
                redirect_url: None,
            };
            match flow.run(parts, op).await {
                Ok(()) | Err(ApiError::InvalidEmail | ApiError::InvalidRequest { .. }) => {}
                Err(e) => return Err(e),
            }
            let query = serde_urlencoded::to_string(carried(&flow.request)).unwrap_or_default();
            let back = format!("/t/{}/oauth2/authorize?{query}", flow.tenant.id);
            let set = set_cookie(
                flow.state,
                &flow.tenant.id,
                super::links::RETURN_COOKIE,
                &percent_encode(&back),
                Some(15 * 60),
            );
            Ok(Page::message(
                flow.tenant,
                "Check your email",
                "If an account uses that address, we sent it a sign-in link. Open it in this browser.",
            )
            .cookie(Some(set))
            .cookie(flow.csrf_cookie.clone())
            .into_response())
        }
        _ => Ok(refuse(flow.tenant, &OAuthError::invalid_request("Unknown form step."))),
    }
}

fn percent_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/oauth2/end_session",
    tag = "oauth",
    summary = "RP-initiated logout: signs the browser out, then back to a registered post_logout_redirect_uri",
    responses((status = 200, description = "The signed-out page."), (status = 302, description = "To the post_logout_redirect_uri.")),
    security(())
)]
pub async fn end_session(State(state): State<AppState>, Path(tenant_id): Path<String>, parts: Parts) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let request: EndSessionRequest = page_query(&tenant, &parts)?;
    let browser = cookie(&parts.headers, BROWSER_COOKIE);
    let op = EndSession { request, browser };
    let answer = state.tenants.run(&tenant.id, caller(&parts, &state), op).await.result;
    let clear = set_cookie(&state, &tenant.id, BROWSER_COOKIE, "", Some(0));
    Ok(match answer.map_err(failure)? {
        Ok(Some(location)) => {
            let mut response = redirect(&location, vec![clear]);
            *response.status_mut() = StatusCode::FOUND;
            response
        }
        Ok(None) => Page::message(&tenant, "You are signed out", "You can close this window.")
            .cookie(Some(clear))
            .into_response(),
        Err(error) => refuse(&tenant, &error),
    })
}

/// The cookie holding the PKCE verifier of a social sign-in started from the sign-in page.
const SOCIAL_COOKIE: &str = "hj_social";

/// Where a provider's sign-in comes back to the hosted page.
fn social_return_url(state: &AppState, tenant_id: &str, provider: &str) -> String {
    format!(
        "{}/t/{tenant_id}/oauth2/social/{provider}/return",
        state.config.public_url
    )
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/oauth2/social/{provider}",
    tag = "oauth",
    summary = "A social button of the hosted sign-in page: to the provider, then back to the authorization request",
    responses((status = 302, description = "To the provider.")),
    security(())
)]
pub async fn social_start(
    State(state): State<AppState>,
    Path((tenant_id, provider)): Path<(String, String)>,
    parts: Parts,
) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let form: AuthorizeForm = page_query(&tenant, &parts)?;
    // This browser proves it started the sign-in: the verifier stays in its cookie.
    let verifier = crate::auth::secrets::generate("");
    let start = crate::tenant::messages::oauth::SocialStart {
        redirect_uri: Some(social_return_url(&state, &tenant.id, &provider)),
        state: None,
        code_challenge: Some(crate::oauth::pkce::challenge_of(&verifier)),
        code_challenge_method: Some("S256".into()),
    };
    let op = crate::tenant::messages::oauth::StartSocial { provider, start };
    Ok(
        match state.tenants.run(&tenant.id, caller(&parts, &state), op).await.result {
            Ok(location) => {
                let query = serde_urlencoded::to_string(carried(&form.request())).unwrap_or_default();
                let back = format!("/t/{}/oauth2/authorize?{query}", tenant.id);
                let cookies = vec![
                    set_cookie(&state, &tenant.id, SOCIAL_COOKIE, &verifier, Some(600)),
                    set_cookie(
                        &state,
                        &tenant.id,
                        super::links::RETURN_COOKIE,
                        &percent_encode(&back),
                        Some(600),
                    ),
                ];
                let mut response = redirect(&location, cookies);
                *response.status_mut() = StatusCode::FOUND;
                response
            }
            Err(e @ (ApiError::InvalidRequest { .. } | ApiError::NotFound)) => {
                Page::message(&tenant, "This sign-in option is not available", &e.to_string())
                    .status(StatusCode::BAD_REQUEST)
                    .into_response()
            }
            Err(e) => failure(e),
        },
    )
}

/// The provider's answer as it reaches the hosted page.
#[derive(Deserialize, Default)]
struct SocialReturn {
    code: Option<String>,
    error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/oauth2/social/{provider}/return",
    tag = "oauth",
    summary = "Back from a social button: signs the browser in and continues the authorization request",
    responses((status = 303, description = "To the authorization request.")),
    security(())
)]
pub async fn social_return(
    State(state): State<AppState>,
    Path((tenant_id, provider)): Path<(String, String)>,
    parts: Parts,
) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let answer = parse_query::<SocialReturn>(&parts).unwrap_or_default();
    let verifier = cookie(&parts.headers, SOCIAL_COOKIE);
    let back = super::links::return_to(&parts.headers, &tenant.id);
    let (Some(code), Some(verifier), Some(back), None) = (answer.code, verifier, back, answer.error) else {
        return Err(Page::message(
            &tenant,
            "The sign-in did not complete",
            "Go back to the app and try again.",
        )
        .status(StatusCode::BAD_REQUEST)
        .into_response());
    };
    let op = crate::tenant::messages::oauth::SocialSignIn {
        redirect_uri: social_return_url(&state, &tenant.id, &provider),
        provider,
        code,
        code_verifier: verifier,
    };
    let request = url::Url::parse(&format!("http://x{back}"))
        .ok()
        .and_then(|u| serde_urlencoded::from_str::<AuthorizeForm>(u.query().unwrap_or("")).ok())
        .unwrap_or_default()
        .request();
    let (csrf, csrf_cookie) = csrf_token(&state, &tenant.id, &parts.headers);
    let flow = Flow {
        state: &state,
        tenant: &tenant,
        request,
        csrf,
        csrf_cookie,
    };
    let clear = [
        set_cookie(&state, &tenant.id, SOCIAL_COOKIE, "", Some(0)),
        set_cookie(&state, &tenant.id, super::links::RETURN_COOKIE, "", Some(0)),
    ];
    let mut response = match flow.run(&parts, op).await {
        Ok(signed) => match flow.signed_in(&parts, signed).await {
            Ok(response) => response,
            Err(e) => failure(e),
        },
        Err(ApiError::MfaRequired { challenge_id, .. }) => flow
            .page("mfa.html", "Two-step verification")
            .with(context! { challenge_id })
            .into_response(),
        Err(e @ (ApiError::ServiceUnavailable { .. } | ApiError::Internal)) => failure(e),
        Err(e) => Page::message(&tenant, "The sign-in did not complete", &e.to_string())
            .status(StatusCode::BAD_REQUEST)
            .into_response(),
    };
    for value in clear.iter().filter_map(|c| c.parse().ok()) {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    Ok(response)
}
