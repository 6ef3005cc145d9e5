//! The pages behind the links in emails (API.md §3): `/t/{tenant}/password-reset`,
//! `/verify-email` and `/magic-link`. Opening a link only shows a form; the token is spent
//! by the form's POST, so mail scanners that fetch links can't use it up.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use utoipa::ToSchema;

use super::authorize::{expired_form, failure, page_tenant, PageResult};
use super::page::redirect;
use super::{caller, cookie, csrf_ok, csrf_token, set_cookie, Page};
use crate::error::ApiError;
use crate::http::AppState;
use crate::oauth::browser::COOKIE as BROWSER_COOKIE;
use crate::store::Tenant;
use crate::tenant::messages::auth::MagicLinkSignIn;
use crate::tenant::messages::email::{ResetPassword, VerifyEmail};
use crate::tenant::messages::oauth::OpenBrowser;

/// The cookie holding where a magic-link sign-in continues (an authorization request).
pub const RETURN_COOKIE: &str = "hj_return";

/// The token a link carries, and the fields its form posts.
#[derive(Deserialize, Default, ToSchema)]
pub struct LinkForm {
    token: Option<String>,
    csrf: Option<String>,
    new_password: Option<String>,
}

fn query(parts: &Parts) -> LinkForm {
    parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

/// The three links' differences.
#[derive(Clone, Copy)]
enum Link {
    Reset,
    Verify,
    Magic,
}

impl Link {
    fn path(self) -> &'static str {
        match self {
            Link::Reset => "password-reset",
            Link::Verify => "verify-email",
            Link::Magic => "magic-link",
        }
    }
}

fn spent(tenant: &Tenant) -> Response {
    Page::message(
        tenant,
        "This link has expired or was already used",
        "Ask for a new one and use the newest email.",
    )
    .status(StatusCode::GONE)
    .into_response()
}

/// The form a link opens.
async fn show(state: AppState, tenant_id: String, parts: Parts, link: Link) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let Some(token) = query(&parts).token.filter(|t| !t.is_empty() && t.len() <= 256) else {
        return Err(spent(&tenant));
    };
    let (csrf, csrf_cookie) = csrf_token(&state, &tenant.id, &parts.headers);
    let action = format!("/t/{}/{}", tenant.id, link.path());
    let carried = vec![("token", token.clone())];
    let page = match link {
        Link::Reset => Page::new("new_password.html", &tenant, "Choose a new password")
            .with(context! { min_length => tenant.auth_config.password_min_length }),
        Link::Verify => Page::new("confirm.html", &tenant, "Verify your email address")
            .with(context! { button => "Verify my email" }),
        Link::Magic => Page::new("confirm.html", &tenant, "Sign in").with(context! { button => "Sign in" }),
    };
    Ok(page
        .with(context! { action, csrf, carried, token })
        .cookie(csrf_cookie)
        .into_response())
}

/// The form's post: spends the token.
async fn submit(state: AppState, tenant_id: String, parts: Parts, body: axum::body::Bytes, link: Link) -> PageResult {
    let tenant = page_tenant(&state, &tenant_id).await?;
    let form: LinkForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !csrf_ok(&parts.headers, form.csrf.as_deref()) {
        return Err(expired_form(&tenant));
    }
    let Some(token) = form.token.filter(|t| !t.is_empty() && t.len() <= 256) else {
        return Err(spent(&tenant));
    };
    let who = caller(&parts, &state);
    let result = match link {
        Link::Reset => {
            let op = ResetPassword {
                token: token.clone(),
                new_password: form.new_password.unwrap_or_default(),
            };
            state.tenants.run(&tenant.id, who, op).await.result.map(|()| {
                Page::message(&tenant, "Your password is set", "You can sign in with it now.").into_response()
            })
        }
        Link::Verify => state
            .tenants
            .run(&tenant.id, who, VerifyEmail { token })
            .await
            .result
            .map(|_| {
                Page::message(&tenant, "Your email address is verified", "You can close this window.").into_response()
            }),
        Link::Magic => magic(&state, &tenant, &parts, token).await,
    };
    Ok(match result {
        Ok(response) => response,
        Err(ApiError::TokenAlreadyUsed | ApiError::InvalidToken) => spent(&tenant),
        Err(e @ (ApiError::PasswordTooWeak(_) | ApiError::Unprocessable { .. } | ApiError::InvalidRequest { .. })) => {
            let (csrf, csrf_cookie) = csrf_token(&state, &tenant.id, &parts.headers);
            Page::new("new_password.html", &tenant, "Choose a new password")
                .with(context! {
                    min_length => tenant.auth_config.password_min_length,
                    action => format!("/t/{}/{}", tenant.id, link.path()),
                    csrf, carried => vec![("token", token_of(&body))], token => token_of(&body),
                    error => e.to_string(),
                })
                .cookie(csrf_cookie)
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response()
        }
        Err(e) => failure(e),
    })
}

fn token_of(body: &[u8]) -> String {
    serde_urlencoded::from_bytes::<LinkForm>(body)
        .ok()
        .and_then(|f| f.token)
        .unwrap_or_default()
}

/// The authorization request a sign-in started on the hosted page continues, if this
/// browser holds one (only ever this tenant's own authorize endpoint).
pub fn return_to(headers: &axum::http::HeaderMap, tenant_id: &str) -> Option<String> {
    let prefix = format!("/t/{tenant_id}/oauth2/authorize?");
    cookie(headers, RETURN_COOKIE)
        .and_then(|v| {
            let spaced = v.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .ok()
                .map(|s| s.into_owned())
        })
        .filter(|v| v.starts_with(&prefix))
}

/// Signs this browser in with a magic link, then continues an authorization request
/// started in it, if one is waiting.
async fn magic(state: &AppState, tenant: &Tenant, parts: &Parts, token: String) -> Result<Response, ApiError> {
    let signed = state
        .tenants
        .run(&tenant.id, caller(parts, state), MagicLinkSignIn { token })
        .await
        .result?;
    let op = OpenBrowser {
        session_id: signed.tokens.id,
    };
    let value = state.tenants.run(&tenant.id, caller(parts, state), op).await.result?;
    let signed_in = set_cookie(state, &tenant.id, BROWSER_COOKIE, &value, Some(30 * 24 * 3600));
    let back = return_to(&parts.headers, &tenant.id);
    match back {
        Some(location) => {
            let clear = set_cookie(state, &tenant.id, RETURN_COOKIE, "", Some(0));
            Ok(redirect(&location, vec![signed_in, clear]))
        }
        None => Ok(Page::message(tenant, "You are signed in", "You can close this window.")
            .cookie(Some(signed_in))
            .into_response()),
    }
}

macro_rules! link_routes {
    ($($link:ident: $get:ident, $post:ident, $path:literal, $what:literal;)*) => {$(
        #[utoipa::path(
            get,
            path = $path,
            tag = "hosted",
            summary = concat!("The page an emailed ", $what, " link opens"),
            responses((status = 200, description = "A form that spends the token when posted.")),
            security(())
        )]
        pub async fn $get(State(state): State<AppState>, Path(tenant_id): Path<String>, parts: Parts) -> PageResult {
            show(state, tenant_id, parts, Link::$link).await
        }

        #[utoipa::path(
            post,
            path = $path,
            tag = "hosted",
            summary = concat!("Spends an emailed ", $what, " token"),
            request_body(content = LinkForm, content_type = "application/x-www-form-urlencoded"),
            responses((status = 200, description = "Done."), (status = 410, description = "Expired or used.")),
            security(())
        )]
        pub async fn $post(
            State(state): State<AppState>,
            Path(tenant_id): Path<String>,
            parts: Parts,
            body: axum::body::Bytes,
        ) -> PageResult {
            submit(state, tenant_id, parts, body, Link::$link).await
        }
    )*};
}

link_routes! {
    Reset: reset_page, reset_submit, "/t/{tenant_id}/password-reset", "password-reset";
    Verify: verify_page, verify_submit, "/t/{tenant_id}/verify-email", "verification";
    Magic: magic_page, magic_submit, "/t/{tenant_id}/magic-link", "magic-link";
}
