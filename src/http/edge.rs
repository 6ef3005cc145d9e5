//! The middleware every request passes: request id, tracing span, metrics,
//! contract headers, CORS, and rendering of every error envelope.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::cors::{self, CorsGrant};
use super::error::{error_for_status, render, ApiError};
use super::AppState;
use crate::ids;

/// Accepts an incoming `X-Request-Id` only when it is short and harmless.
fn incoming_request_id(req: &Request) -> Option<String> {
    let value = req.headers().get("x-request-id")?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| value.to_owned())
}

/// The middleware.
pub async fn edge(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| ids::new_id(ids::prefix::REQUEST));
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let origin = req.headers().get("origin").cloned();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);

    let mut response = if method == Method::OPTIONS && origin.is_some() {
        cors::preflight(&state, &req)
    } else {
        let grant = CorsGrant::default();
        req.extensions_mut().insert(grant.clone());
        let mut response = next.run(req).instrument(span.clone()).await;
        grant.apply(origin.as_ref(), &mut response);
        response
    };

    response = envelope(response, &request_id, &span);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    headers.insert("x-hellojohn-version", HeaderValue::from_static(crate::VERSION));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // Answers carry users, sessions, tokens, secrets or challenge ids unless they say
    // otherwise (the public JWKS and discovery documents do): never cache by default.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let status = response.status().as_u16().to_string();
    let took = started.elapsed();
    state.traffic.record(state.control.clock().unix(), took);
    let elapsed = took.as_secs_f64();
    metrics::counter!("hellojohn_http_requests_total", "route" => route.clone(), "method" => method.to_string(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("hellojohn_http_request_duration_seconds", "route" => route).record(elapsed);
    span.in_scope(|| tracing::info!(status = %status, elapsed_ms = (elapsed * 1000.0) as u64, "request"));
    response
}

/// Renders the contract's envelope for a handler's [`ApiError`] or a bare error status.
fn envelope(response: Response, request_id: &str, span: &tracing::Span) -> Response {
    let error = match response.extensions().get::<ApiError>() {
        Some(error) => error.clone(),
        None if response.status().is_client_error() || response.status().is_server_error() => {
            // A response from axum or tower without our body: replace it with the envelope.
            // Our own JSON (OAuth's RFC 6749 errors) and hosted HTML pages stay as they are.
            let has_json = response.headers().get("content-type").is_some_and(|v| {
                v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
            });
            match error_for_status(response.status()) {
                Some(error) if !has_json => error,
                _ => return response,
            }
        }
        None => return response,
    };
    if error == ApiError::Internal {
        span.in_scope(|| tracing::error!("request failed with an internal error"));
    }
    let mut rendered = render(&error, request_id);
    for (name, value) in response.headers() {
        let name_str = name.as_str();
        if name_str.starts_with("access-control-")
            || name_str.starts_with("x-ratelimit-")
            || ["vary", "allow"].contains(&name_str)
        {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered.into_response()
}
