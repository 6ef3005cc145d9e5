//! What email links do: password reset, magic links and address verification.

use super::areas::area;
use crate::store::User;

area! {
    /// Operations started or finished by an emailed link.
    Email: EmailOp / EmailReply {
        /// `password/forgot` (`magic_link: false`) or `magic-link` (`true`); always answers
        /// done, whether the address is known or not.
        RequestEmailLink { email: String, magic_link: bool, redirect_url: Option<String> } => ();
        ResetPassword { token: String, new_password: String } => ();
        /// Sends the caller a link proving their address.
        SendEmailVerification {} => ();
        VerifyEmail { token: String } => Box<User>;
    }
}
