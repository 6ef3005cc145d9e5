//! The OpenAPI 3.1 document of the HTTP API, served at `/openapi.json`. The router is built
//! from the handlers' `#[utoipa::path]` annotations (`utoipa_axum::routes!`), so a route
//! can't be served without being documented; what every operation shares (credentials,
//! the error envelope, path parameters) is added here, in one place.

use axum::response::IntoResponse;
use axum::Extension;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use super::cors::ANY_ORIGIN;
use super::schema::ErrorEnvelope;

/// What the derive contributes: the title, tags and the error schema; paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hellojohn",
        description = "Multi-tenant authentication server: sign-up and sign-in, rotating refresh tokens, \
                       sessions, MFA, organizations, webhooks, and the control plane that manages tenants.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(ErrorEnvelope)),
    tags(
        (name = "auth", description = "Signing users up and in (publishable key)."),
        (name = "me", description = "The signed-in user's own account (access token)."),
        (name = "users", description = "Users, server side (secret key)."),
        (name = "sessions", description = "Sessions, server side (secret key)."),
        (name = "mfa", description = "TOTP factors and backup codes."),
        (name = "organizations", description = "Organizations, members, invitations and roles (secret key or access token)."),
        (name = "webhooks", description = "Webhook endpoints and their deliveries (secret key)."),
        (name = "api-keys", description = "The tenant's API keys."),
        (name = "keys", description = "Token verification keys and discovery (public)."),
        (name = "control-plane", description = "Tenants, their keys and backups, and CP admins (CP admin token)."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
    )
)]
pub struct ApiDoc;

/// Completes a document collected from the router with what every operation shares.
pub fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    let bearer = |format: &str, description: &str| {
        let mut scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format(format)
            .build();
        scheme.description = Some(description.to_owned());
        SecurityScheme::Http(scheme)
    };
    components.add_security_scheme(
        "publishable_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Client-Id",
            "The tenant's publishable key `pk_…` (also accepted as `Authorization: Bearer pk_…`).",
        ))),
    );
    components.add_security_scheme(
        "secret_key",
        bearer("sk_…", "The tenant's secret key, for its backend only."),
    );
    components.add_security_scheme("access_token", bearer("JWT", "A user's access token."));
    components.add_security_scheme(
        "admin_token",
        bearer(
            "opaque",
            "A control-plane admin's token from `POST /cp/v1/admin/sign-in`.",
        ),
    );
    components.responses.insert(
        "Error".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description("An error in the envelope of API.md §1.2; `Retry-After` on 429 and 503.")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(Ref::from_schema_name(ErrorEnvelope::name()))))
                        .build(),
                )
                .build(),
        ),
    );
    components.responses.insert(
        "OAuthError".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description(
                    "The OpenID provider's endpoints answer errors in RFC 6749 form \
                     (`{\"error\", \"error_description\"}`, API.md §9); its hosted pages answer an HTML page.",
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(Ref::from_schema_name(OAuthErrorBody::name()))))
                        .build(),
                )
                .content("text/html", ContentBuilder::new().build())
                .build(),
        ),
    );
    components
        .schemas
        .insert(OAuthErrorBody::name().into_owned(), OAuthErrorBody::schema());
    for (path, item) in api.paths.paths.iter_mut() {
        let error = if is_provider_path(path) { "OAuthError" } else { "Error" };
        for operation in operations(item) {
            add_path_parameters(path, operation);
            operation
                .responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(error)));
        }
    }
    api
}

/// The provider's endpoints and hosted pages (`/t/{tenant_id}/…` but the key documents),
/// whose errors are not the API's envelope.
pub fn is_provider_path(path: &str) -> bool {
    (path.starts_with("/t/") && !path.contains("/.well-known/")) || path.starts_with("/assets/")
}

/// An RFC 6749 error.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_token`, …
    error: String,
    error_description: String,
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Declares each `{name}` of the path template that the annotation did not.
fn add_path_parameters(path: &str, operation: &mut Operation) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
    {
        let declared = parameters
            .iter()
            .any(|p: &Parameter| p.name == name && p.parameter_in == ParameterIn::Path);
        if !declared {
            parameters.push(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(String::schema()))
                    .build(),
            );
        }
    }
}

/// The serialized document, handed to [`openapi`] as an extension: it is known only once
/// the router that it describes has been built.
#[derive(Clone)]
pub struct Document(pub std::sync::Arc<String>);

/// This document (API.md is the contract; this is its machine-readable form).
#[utoipa::path(get, path = "/openapi.json", tag = "operations", summary = "The OpenAPI 3.1 document",
    responses((status = 200, description = "This document.", content_type = "application/json")),
    security(()))]
pub async fn openapi(Extension(document): Extension<Document>) -> impl IntoResponse {
    (
        [("content-type", "application/json"), ANY_ORIGIN],
        document.0.as_ref().clone(),
    )
}
