//! The tenant's OpenID provider (API.md §9): its clients (secret key) and the steps of the
//! code flow and token endpoint. Replies of the provider's endpoints carry an
//! [`OAuthError`] (RFC 6749 form) inside `Ok`; `Err` is left to failures below OAuth.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::areas::area;
use super::orgs::Shown;
use crate::oauth::OAuthError;
use crate::store::PageRequest;

/// The fields of a client a registration or change may set; absent ones stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientFields {
    pub name: Option<String>,
    pub client_type: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
}

/// What the tenant's backend does to its OAuth clients (`/v1/clients`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientAction {
    Create(ClientFields),
    List { page: PageRequest },
    Get { id: String },
    Update { id: String, fields: ClientFields },
    Delete { id: String },
    RotateSecret { id: String },
}

/// An authorization request's parameters as the client sent them (`/oauth2/authorize`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
}

/// What the browser sees next in the code flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AuthorizeStep {
    /// Nobody is signed in (or the client asked for a fresh sign-in): the sign-in page.
    SignIn {
        client_name: String,
        /// The tenant's enabled social providers, for the page's buttons.
        providers: Vec<String>,
    },
    /// A third-party client the user has not yet allowed: the consent page.
    Consent { client_name: String, scopes: Vec<String> },
    /// Back to the client, with a code or an error, and its `state`.
    Redirect { location: String },
    /// The request can't go back to the client (unknown client, unregistered redirect URI):
    /// shown to the user, never redirected (RFC 6749 §4.1.2.1).
    Refuse(OAuthError),
}

/// How the client authenticated at the token, revocation or introspection endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientAuth {
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// A grant presented at `/oauth2/token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TokenGrant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

/// An RP-initiated logout (`/oauth2/end_session`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// A social provider's settings as the operator sends them (`PUT …/oauth-providers/{provider}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderFields {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub issuer: Option<String>,
    pub allow_linking: Option<bool>,
    pub enabled: Option<bool>,
}

/// What the operator does to a tenant's social providers (`/cp/v1/tenants/{id}/oauth-providers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProviderAction {
    List,
    Put { provider: String, fields: ProviderFields },
    Delete { provider: String },
}

/// A social sign-in's start as the app sends it (`/v1/auth/oauth/{provider}/authorize`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SocialStart {
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// What the provider sent back to `/v1/oauth/callback/{provider}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderReturn {
    pub code: Option<String>,
    /// The part of `state` after the tenant id.
    pub state: String,
    pub error: Option<String>,
}

area! {
    /// `/v1/clients…` and `/t/{tenant_id}/oauth2/…`.
    OAuth: OAuthOp / OAuthReply {
        /// `/v1/clients…` (secret key).
        Clients { action: ClientAction } => Shown;
        /// One step of the code flow: `browser` is the hosted-session cookie, `fresh` says the
        /// user has just signed in on this request, `decision` is a consent answer.
        Authorize {
            request: AuthorizationRequest,
            browser: Option<String>,
            fresh: bool,
            decision: Option<bool>,
        } => AuthorizeStep;
        /// The hosted-session cookie for a session the hosted pages have just started.
        OpenBrowser { session_id: String } => String;
        /// `/oauth2/token`: the token response's JSON.
        Token { client: ClientAuth, grant: TokenGrant } => Result<Value, OAuthError>;
        /// `/oauth2/userinfo`.
        UserInfo { access_token: String } => Result<Value, OAuthError>;
        /// `/oauth2/revoke` (RFC 7009).
        Revoke { client: ClientAuth, token: String } => Result<(), OAuthError>;
        /// `/oauth2/introspect` (RFC 7662).
        Introspect { client: ClientAuth, token: String } => Result<Value, OAuthError>;
        /// `/oauth2/end_session`: where to send the browser afterwards, if anywhere.
        EndSession { request: EndSessionRequest, browser: Option<String> } => Result<Option<String>, OAuthError>;
        /// `/cp/v1/tenants/{id}/oauth-providers…` (operator): the settings, never a secret.
        Providers { action: ProviderAction } => Value;
        /// Starts a social sign-in: where to send the browser (the provider).
        StartSocial { provider: String, start: SocialStart } => String;
        /// The provider's answer: where to send the browser (the app, with a code or an error).
        FinishProvider { provider: String, answer: ProviderReturn } => String;
        /// The app trades the code for a session (`POST /v1/auth/oauth/{provider}/callback`).
        SocialSignIn {
            provider: String,
            code: String,
            code_verifier: String,
            redirect_uri: String,
        } => super::auth::SignedIn;
        /// `/v1/me/identities` (`remove: None` lists them).
        Identities { remove: Option<String> } => Value;
    }
}
