//! TOTP factors and backup codes.

use crate::views::objects::Factor;
use serde::{Deserialize, Serialize};

use super::areas::area;
use super::UserRef;

/// A TOTP enrollment waiting for its first code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    pub factor_id: String,
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_code_svg: String,
}

/// A confirmed factor (in its API shape) and the backup codes, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorConfirmed {
    pub factor: Factor,
    pub backup_codes: Vec<String>,
}

area! {
    /// MFA factors of the caller, or of a user named by the tenant's backend.
    Mfa: MfaOp / MfaReply {
        /// Starts TOTP enrollment of the caller (a pending factor).
        StartTotp {} => TotpEnrollment;
        ConfirmTotp { factor_id: String, code: String } => FactorConfirmed;
        /// The factors in their API shape.
        ListFactors { user: UserRef } => Vec<Factor>;
        /// Removes a factor; `code` is required from the user, absent for the secret key.
        RemoveFactor { user: UserRef, factor_id: String, code: Option<String> } => ();
        RegenerateBackupCodes { code: String } => Vec<String>;
    }
}
