//! Social sign-in (API.md §9): "Sign in with Google/GitHub/…" and any OpenID Connect issuer.
//! The operator sets a tenant's providers (`providers`); a sign-in goes app → provider →
//! `/v1/oauth/callback/{provider}` → app (with a one-time code) → `POST …/callback`
//! (`signin`); the provider side of the exchange is `upstream`. Identities are keyed by
//! (provider, provider user id) and are never merged by email unless the provider vouches
//! for the address and the tenant allows linking (`identities`).

pub mod identities;
pub mod providers;
pub mod signin;
pub mod upstream;
