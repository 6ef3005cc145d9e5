//! Password hashing with argon2id. Hashing runs on the blocking pool, at most
//! one hash per core at a time, so a burst of sign-ins can't starve the
//! runtime or balloon memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Argon2Params;

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Hash(String),
    #[error("hashing task failed")]
    Task,
}

/// Hashes and verifies passwords with the configured parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Argon2Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the user is unknown, so timing matches.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    /// Builds the hasher; computes the dummy hash once.
    pub fn new(params: Argon2Params) -> Result<Self, PasswordError> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let dummy = hash_blocking(params, &crate::auth::secrets::generate(""))?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: Arc::new(dummy),
        })
    }

    /// A PHC string of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Task)?;
        let params = self.params;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(params, &password))
            .await
            .map_err(|_| PasswordError::Task)?
    }

    /// Whether `password` matches `phc`; with `None` it spends the same time on the dummy hash and answers false.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Task)?;
        let known = phc.is_some();
        let phc = phc
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let password = password.to_owned();
        let matched = tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
            .await
            .map_err(|_| PasswordError::Task)?;
        Ok(known && matched)
    }
}

fn argon2(params: Argon2Params) -> Result<Argon2<'static>, PasswordError> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

fn hash_blocking(params: Argon2Params, password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2(params)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let hasher = PasswordHasher::new(Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let phc = hasher.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse", Some(&phc)).await.unwrap());
        assert!(!hasher.verify("wrong horse", Some(&phc)).await.unwrap());
        assert!(!hasher.verify("correct horse", None).await.unwrap());
    }
}
