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

/// What a sign-in's password is checked against: the account's stored hash, `None` for
/// an unknown account (the check then spends the same time on a dummy hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPassword {
    pub hash: Option<String>,
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
        /// A sign-in split so that the node receiving it spends the argon2 time, not the
        /// tenant's owner: first the limits, the lockout and the stored hash…
        SignInCheck { email: String, too_long: bool } => StoredPassword;
        /// …then the verdict of the password check (`matched`, and a rehash with the
        /// current parameters when the stored one is weaker), which starts the session.
        SignInFinish {
            email: String,
            checked: Option<String>,
            matched: bool,
            upgraded: Option<String>,
        } => SignedIn;
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
