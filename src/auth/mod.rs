//! Credentials and cryptography: password hashing, opaque secrets, sealing
//! of private material at rest, and access-token signing/verification.

pub mod encryption;
pub mod password;
pub mod secrets;
pub mod signing;
pub mod tokens;
pub mod totp;
