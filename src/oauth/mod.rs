//! The tenant's OpenID provider (API.md §9): its clients, the authorization codes and
//! grants of the code flow, the token endpoint's grants, ID tokens, and the cookie that
//! carries a browser's sign-in between the hosted pages. This runs inside the tenant
//! (store, keys, clock); `http::oauth2` and `http::hosted` only parse and render.

pub mod browser;
pub mod clients;
pub mod error;
pub mod flow;
pub mod grants;
pub mod pkce;
pub mod scopes;
pub mod social;
pub mod tokens;

pub use error::OAuthError;

/// `base` with `params` appended to its query, each value form-encoded: every redirect the
/// provider and social sign-in answer with is built here.
pub fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        url.push(separator);
        url.push_str(name);
        url.push('=');
        url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        separator = '&';
    }
    url
}
