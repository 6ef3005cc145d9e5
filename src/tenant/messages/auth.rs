//! Signing up and in, refreshing, signing out, and checking tokens.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::areas::area;
use super::TokenSet;
use crate::auth::tokens::AccessClaims;
use crate::store::{Session, User};

/// What a refresh does to the session's active organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum OrgSwitch {
    #[default]
    Keep,
    Clear,
    To(String),
}

/// A user signed in, with their new session's tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user: Box<User>,
    pub tokens: TokenSet,
}

/// A new user; no session yet when the tenant requires a verified address first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedUp {
    pub user: Box<User>,
    pub tokens: Option<TokenSet>,
}

/// `/v1/sessions/verify`: never an error for a bad token, just `valid: false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub valid: bool,
    pub session: Option<Box<Session>>,
    pub claims: Option<Box<AccessClaims>>,
}

area! {
    /// Operations of `/v1/auth` that start, renew, end or check sessions.
    Auth: AuthOp / AuthReply {
        SignUp {
            email: String,
            password: String,
            name: Option<String>,
            username: Option<String>,
            unsafe_metadata: Option<Value>,
        } => SignedUp;
        SignIn { email: String, password: String } => SignedIn;
        /// Finishes a sign-in that answered `mfa_required`.
        VerifyMfa { challenge_id: String, code: String } => SignedIn;
        MagicLinkSignIn { token: String } => SignedIn;
        Refresh {
            refresh_token: String,
            #[serde(default)]
            organization: OrgSwitch,
        } => TokenSet;
        /// Revokes the caller's session, or all of the caller's sessions when `global`.
        SignOut { global: bool } => ();
        /// Nothing but the check of the call's access token (an admin-only endpoint tells a
        /// valid user token, `403`, from an invalid one, `401`).
        CheckToken {} => ();
        VerifyToken { token: String } => Verification;
    }
}
