//! The admin console at `/console`: a single-page app built from `console/` (Preact,
//! Vite) whose assets are embedded in the binary, so a plain `cargo run` serves it with
//! nothing else installed. It talks to the public API only; these handlers just hand
//! out files, under a CSP that allows no inline script or style.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::AppState;
use crate::error::ApiError;

/// `console/dist`, as `npm run build` left it (committed, so building needs no Node).
#[derive(RustEmbed)]
#[folder = "console/dist"]
struct Assets;

/// Scripts, styles and API calls from this origin only; nothing inline, no frames, no
/// plugins. Charts are inline SVG elements built by script, which `img-src` doesn't govern.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

#[utoipa::path(
    get,
    path = "/console",
    tag = "console",
    summary = "The admin console",
    description = "The console's page. It signs in with a control-plane admin or a tenant secret key and then uses this API like any client.",
    responses((status = 200, description = "HTML.", content_type = "text/html")),
    security(())
)]
pub async fn index(State(state): State<AppState>) -> Response {
    serve(&state, "index.html").await
}

#[utoipa::path(
    get,
    path = "/console/",
    tag = "console",
    summary = "The admin console (with a trailing slash)",
    responses((status = 308, description = "To `/console`.")),
    security(())
)]
pub async fn index_slash() -> Response {
    axum::response::Redirect::permanent("/console").into_response()
}

#[utoipa::path(
    get,
    path = "/console/assets/{file}",
    tag = "console",
    summary = "The admin console's scripts and styles",
    params(("file" = String, Path, description = "A built asset's name, e.g. `index-….js`.")),
    responses((status = 200, description = "The asset."), (status = 404, description = "No such asset.")),
    security(())
)]
pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    serve(&state, &format!("assets/{file}")).await
}

async fn serve(state: &AppState, path: &str) -> Response {
    let data = match &state.config.console_dir {
        Some(dir) => from_dir(dir, path).await,
        None => Assets::get(path).map(|file| file.data.into_owned()),
    };
    let Some(data) = data else {
        return ApiError::NotFound.into_response();
    };
    // Hashed file names never change content; the page itself is re-checked each load.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (CONTENT_TYPE, content_type(path)),
            (CACHE_CONTROL, cache),
            (CONTENT_SECURITY_POLICY, CONSOLE_CSP),
        ],
        data,
    )
        .into_response()
}

/// A file of `HELLOJOHN_CONSOLE_DIR` (console development); names with `..` or a leading
/// `/` never leave the directory.
async fn from_dir(dir: &std::path::Path, path: &str) -> Option<Vec<u8>> {
    if path.split('/').any(|part| part.is_empty() || part == "..") || path.contains('\\') {
        return None;
    }
    tokio::fs::read(dir.join(path)).await.ok()
}

/// The few file types a Vite build emits.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
