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
