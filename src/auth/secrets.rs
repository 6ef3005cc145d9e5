//! Opaque random secrets (API keys, refresh tokens, CP admin tokens): generated
//! from the OS RNG, stored only as SHA-256, compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new secret: `prefix` followed by 256 random bits, base64url.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256 of a secret; SHA-256 suffices because the secrets carry 256 random bits.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality, so comparing secrets leaks no prefix length.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Looks up by hash, then re-compares in constant time: the lookup itself only sees a hash.
pub fn verify_hash(secret: &str, stored_hash: &str) -> bool {
    constant_time_eq(&hash(secret), stored_hash)
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = super::generate("sk_live_");
        let b = super::generate("sk_live_");
        assert_ne!(a, b);
        assert!(a.starts_with("sk_live_") && a.len() == 8 + 43);
        assert!(super::verify_hash(&a, &super::hash(&a)));
        assert!(!super::verify_hash(&b, &super::hash(&a)));
    }
}
