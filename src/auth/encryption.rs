//! Sealing of private material at rest (signing keys now; TOTP and webhook
//! secrets later) with XChaCha20-Poly1305 under `HELLOJOHN_ENCRYPTION_KEY`.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum EncryptionError {
    #[error("encryption key must be 32 bytes of base64")]
    BadKey,
    #[error("sealed value is malformed or was encrypted with another key")]
    Open,
    #[error("cannot read or write the key file: {0}")]
    Io(#[from] std::io::Error),
    #[error("set it to the key of the instance the backup came from (a new key can't open the backup's sealed keys)")]
    Missing,
    #[error(
        "the key file {0} is missing, but this store was written with a key: restore the file or set the variable"
    )]
    KeyFileMissing(std::path::PathBuf),
}

/// The instance's master key.
#[derive(Clone)]
pub struct EncryptionKey {
    cipher: XChaCha20Poly1305,
    /// HMAC key from which purpose-bound keys are derived (never used to encrypt).
    derivation: [u8; 32],
}

/// Decodes the base64 key and checks its length.
pub fn decode_key(b64: &str) -> Result<[u8; 32], EncryptionError> {
    let bytes = STANDARD.decode(b64.trim()).map_err(|_| EncryptionError::BadKey)?;
    bytes.try_into().map_err(|_| EncryptionError::BadKey)
}

impl EncryptionKey {
    /// Builds the key from its base64 form.
    pub fn from_base64(b64: &str) -> Result<Self, EncryptionError> {
        let key = decode_key(b64)?;
        Ok(Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
            derivation: hmac_sha256(&key, b"hellojohn/derivation/v1"),
        })
    }

    /// Development default: a key generated once into the data directory (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, EncryptionError> {
        match std::fs::read_to_string(path) {
            Ok(existing) => return Self::from_base64(&existing),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Never replace a key we merely failed to read: every sealed key depends on it.
            Err(e) => return Err(e.into()),
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let b64 = STANDARD.encode(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(b64.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Self::from_base64(&b64)
    }

    /// Encrypts `plain`, binding it to `context` (e.g. the record id) so sealed values can't be swapped.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, EncryptionError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| EncryptionError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// A keyed pseudo-random function of `input` under a key derived for `purpose`:
    /// values only this instance key can compute, such as a refresh token's successor.
    pub fn derive(&self, purpose: &str, input: &[u8]) -> [u8; 32] {
        let key = hmac_sha256(&self.derivation, purpose.as_bytes());
        hmac_sha256(&key, input)
    }

    /// Decrypts a value made by [`EncryptionKey::seal`] with the same context.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, EncryptionError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| EncryptionError::Open)?;
        if bytes.len() < 24 {
            return Err(EncryptionError::Open);
        }
        let (nonce, body) = bytes.split_at(24);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| EncryptionError::Open)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    // HMAC takes keys of any length, so this constructor cannot fail.
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_depend_on_key_purpose_and_input() {
        let a = EncryptionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let b = EncryptionKey::from_base64("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        assert_eq!(a.derive("p", b"x"), a.derive("p", b"x"));
        assert_ne!(a.derive("p", b"x"), b.derive("p", b"x"));
        assert_ne!(a.derive("p", b"x"), a.derive("q", b"x"));
        assert_ne!(a.derive("p", b"x"), a.derive("p", b"y"));
    }

    #[test]
    fn sealed_values_open_only_with_key_and_context() {
        let dir = tempfile::tempdir().unwrap();
        let key = EncryptionKey::load_or_create(&dir.path().join("k")).unwrap();
        let again = EncryptionKey::load_or_create(&dir.path().join("k")).unwrap();
        let sealed = key.seal(b"private", "key_1").unwrap();
        assert_eq!(again.open(&sealed, "key_1").unwrap(), b"private");
        assert!(key.open(&sealed, "key_2").is_err());
        let other = EncryptionKey::load_or_create(&dir.path().join("other")).unwrap();
        assert!(other.open(&sealed, "key_1").is_err());
    }
}
