//! Users: the caller's own account (`/v1/auth/me`) and the server-side API (secret key).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::areas::area;
use super::UserRef;
use crate::store::{Page, PageRequest, User, UserFilter};

/// The fields of `POST /v1/users` (secret key); anything else is ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_hash: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
    pub email_verified: Option<bool>,
    pub role: Option<String>,
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
}

area! {
    /// Reading and changing users.
    Users: UserOp / UserReply {
        GetUser { user: UserRef } => Box<User>;
        /// A profile PATCH (JSON merge semantics: `null` clears); the secret key may also set
        /// the server-only fields. Fields are validated one by one, naming the bad one.
        UpdateUser { user: UserRef, patch: Value } => Box<User>;
        /// The caller's own password.
        ChangePassword {
            current_password: String,
            new_password: String,
            sign_out_other_sessions: bool,
        } => ();
        ListUsers { filter: UserFilter, page: PageRequest } => Page<User>;
        CreateUser { user: NewUser } => Box<User>;
        DeleteUser { user_id: String } => ();
        SetUserDisabled { user_id: String, disabled: bool } => Box<User>;
    }
}
