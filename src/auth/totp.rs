//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) on `totp-rs`, the
//! `otpauth://` URI any authenticator app reads, its QR code as SVG, and
//! single-use backup codes.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret};

/// Seconds per TOTP step.
pub const STEP: u64 = 30;
/// Backup codes handed out at once.
pub const BACKUP_CODE_COUNT: usize = 10;
/// Alphabet of backup codes: no 0/O, 1/I.
const BACKUP_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The base32 form apps accept.
pub fn to_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The raw secret from its base32 form.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text).ok().map(|s| s.as_ref().to_vec())
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits=6&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The URI as an SVG QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build(),
    )
}

/// The time step a code matches (within ±1 step of `now`), if any. Only exactly
/// six ASCII digits are considered.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP)
        .with_secret(secret.to_vec())
        .build()
        .ok()?;
    totp.check(code, now)
}

/// Ten new backup codes `XXXX-XXXX` (40 bits each).
pub fn new_backup_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..BACKUP_CODE_COUNT)
        .map(|_| {
            let mut bytes = [0u8; 8];
            rng.fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| BACKUP_ALPHABET[(*b as usize) % BACKUP_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..4], &chars[4..])
        })
        .collect()
}

/// A backup code in its stored (hashed) form; input is normalised (case, dash, spaces).
pub fn backup_code_hash(code: &str) -> Option<String> {
    let normal: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    (normal.len() == 8 && normal.bytes().all(|b| BACKUP_ALPHABET.contains(&b))).then(|| super::secrets::hash(&normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors_match() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits there; we compare the last 6.
        let secret = b"12345678901234567890";
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(matching_step(secret, "081804", 1_111_111_109), Some(1_111_111_109 / 30));
        assert_eq!(matching_step(secret, "287082", 59 + 30), Some(1), "one step of drift");
        assert_eq!(matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "28708a", 59), None);
        assert_eq!(from_base32(&to_base32(secret)).unwrap(), secret);
        let uri = otpauth_uri("Acme Inc", "a@b.io", "JBSWY3DPEHPK3PXP");
        assert!(uri.starts_with(
            "otpauth://totp/Acme%20Inc:a%40b%2Eio?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Inc&algorithm=SHA1"
        ));
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }

    #[test]
    fn backup_codes_have_the_contract_shape_and_normalise() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert_eq!(
                backup_code_hash(code),
                backup_code_hash(&code.to_lowercase().replace('-', " "))
            );
        }
        assert_eq!(backup_code_hash("ABCD-EFG"), None);
    }
}
