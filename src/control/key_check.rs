//! Proof that `HELLOJOHN_ENCRYPTION_KEY` is the key this store was written with: a canary
//! sealed with it in the control store. A node holding another key refuses to start
//! instead of reporting ready and answering 503 for every tenant, and a backup whose
//! sealed material the key can't open is refused before anything is written.

use serde_json::Value;

use crate::auth::encryption::EncryptionKey;
use crate::error::ApiError;
use crate::store::{ControlStore, PageRequest, Record, RecordKind, SigningKeyRecord, StoreError};

/// The control-plane setting holding the sealed canary.
const SETTING: &str = "encryption_key_check";
/// What the canary seals (its value is irrelevant: only whether it opens).
const CANARY: &[u8] = b"hellojohn encryption key check v1";

/// Why the instance key can't be used with this store.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(
        "HELLOJOHN_ENCRYPTION_KEY (on the file store without it: <data dir>/encryption.key) is not the key \
         this store was written with (it can't open {0}). Start with the instance's original key; a new key \
         can't read the signing keys and secrets already stored"
    )]
    WrongKey(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the instance key against the store, writing the canary on first use. A store
/// from before the canary existed is checked against one of its signing keys first.
pub async fn verify_instance_key(store: &dyn ControlStore, key: &EncryptionKey) -> Result<(), KeyCheckError> {
    if let Some(sealed) = store.get_setting(SETTING).await? {
        return opens(key, &sealed, SETTING).ok_or(KeyCheckError::WrongKey("the stored key check"));
    }
    // A store from before the canary: the key must open signing keys of its tenants. One
    // tenant restored with another key is that tenant's trouble, not proof of a wrong key,
    // so a sample is taken and one key that opens is enough.
    let sample = store.list_tenants(&PageRequest { limit: 10, after: None }).await?;
    let (mut tried, mut opened) = (0, 0);
    for tenant in &sample.items {
        for k in store.list_signing_keys(&tenant.id).await?.iter().take(1) {
            tried += 1;
            match opens(key, &k.private_key_enc, &k.id) {
                Some(()) => opened += 1,
                None => {
                    tracing::warn!(tenant = %tenant.id, "a signing key of this tenant does not open with the instance key")
                }
            }
        }
    }
    if tried > 0 && opened == 0 {
        return Err(KeyCheckError::WrongKey("the stored signing keys"));
    }
    let sealed = key
        .seal(CANARY, SETTING)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // Nodes starting at once agree on one canary; one started with another key loses here.
    let standing = store.init_setting(SETTING, &sealed).await?;
    opens(key, &standing, SETTING).ok_or(KeyCheckError::WrongKey("the stored key check"))
}

/// Whether the store holds a key check, i.e. was written with some key already.
pub async fn holds_key_check(store: &dyn ControlStore) -> Result<bool, StoreError> {
    Ok(store.get_setting(SETTING).await?.is_some())
}

fn opens(key: &EncryptionKey, sealed: &str, context: &str) -> Option<()> {
    key.open(sealed, context).ok().map(|_| ())
}

/// Refuses a backup whose sealed material (signing keys, TOTP and webhook secrets) this instance's key
/// can't open: restored, it would leave a tenant that only answers 503.
pub fn check_backup_opens(
    key: &EncryptionKey,
    signing_keys: &[SigningKeyRecord],
    records: &[Record],
) -> Result<(), ApiError> {
    let sealed_keys = signing_keys.iter().map(|k| (k.private_key_enc.as_str(), k.id.as_str()));
    let sealed_secrets = records
        .iter()
        .filter(|r| r.kind == RecordKind::MfaFactor)
        .filter_map(|r| {
            r.doc
                .get("secret_enc")
                .and_then(Value::as_str)
                .map(|s| (s, r.id.as_str()))
        });
    let webhook_secrets = records
        .iter()
        .filter(|r| r.kind == RecordKind::Webhook)
        .flat_map(|r| r.doc.get("secrets").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|s| Some((s.get("sealed")?.as_str()?, s.get("id")?.as_str()?)));
    for (sealed, context) in sealed_keys.chain(sealed_secrets).chain(webhook_secrets) {
        if opens(key, sealed, context).is_none() {
            return Err(ApiError::Unprocessable {
                field: "encryption_key".into(),
                message: "The backup's keys and secrets are sealed with another HELLOJOHN_ENCRYPTION_KEY; \
                          restore it on an instance that uses the key of the instance it came from."
                    .into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IsolationMode;
    use crate::store::{Backend, SigningAlg, Tenant, TenantStatus};

    fn key(byte: u8) -> EncryptionKey {
        use base64::Engine;
        EncryptionKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([byte; 32])).unwrap()
    }

    /// A file store as a version before the key check wrote it: one tenant, keys sealed with `sealed_by`.
    async fn store_from_before_the_check(
        sealed_by: &EncryptionKey,
    ) -> (tempfile::TempDir, std::sync::Arc<dyn ControlStore>) {
        let dir = tempfile::tempdir().unwrap();
        let control = crate::store::fs::FsBackend::open(dir.path()).unwrap().control();
        let now = time::OffsetDateTime::now_utc();
        let tenant = Tenant {
            id: crate::ids::new_id(crate::ids::prefix::TENANT),
            name: "Before".into(),
            slug: "before".into(),
            status: TenantStatus::Active,
            isolation_mode: IsolationMode::SeparateSchema,
            region: None,
            database_url: None,
            auth_config: Default::default(),
            created_at: now,
            updated_at: now,
        };
        let signing = crate::auth::signing::generate_key(SigningAlg::EdDSA, &tenant.id, sealed_by, now).unwrap();
        control.insert_tenant(&tenant, &[], &[signing]).await.unwrap();
        (dir, control)
    }

    #[tokio::test]
    async fn a_store_from_before_the_check_accepts_only_its_own_key() {
        let (own, other) = (key(1), key(2));
        let (_dir, control) = store_from_before_the_check(&own).await;
        let refused = verify_instance_key(control.as_ref(), &other).await;
        assert!(matches!(refused, Err(KeyCheckError::WrongKey(_))), "{refused:?}");
        assert!(
            !holds_key_check(control.as_ref()).await.unwrap(),
            "a refused key writes no check"
        );
        verify_instance_key(control.as_ref(), &own).await.unwrap();
        assert!(holds_key_check(control.as_ref()).await.unwrap());
        let again = verify_instance_key(control.as_ref(), &other).await;
        assert!(matches!(again, Err(KeyCheckError::WrongKey(_))), "{again:?}");
        verify_instance_key(control.as_ref(), &own).await.unwrap();
    }
}
