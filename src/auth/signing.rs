//! Per-tenant signing keys: generation, sealing at rest, and the [`KeyRing`]
//! that holds parsed keys in memory so no token re-parses a key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::encryption::{EncryptionError, EncryptionKey};
use crate::store::{signing_keys, SigningAlg, SigningKeyRecord};

/// One published public key (RFC 7517), as the JWKS serves it: the fields of its `kty`
/// (`crv`/`x` for OKP, `crv`/`x`/`y` for EC, `n`/`e` for RSA) and no others.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// `Ed25519` (OKP) or `P-256` (EC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The `kid` of tokens this key verifies.
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// A tenant's published keys: the JWKS document (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Why a key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation or encoding failed: {0}")]
    Encoding(String),
    #[error(transparent)]
    Sealed(#[from] EncryptionError),
    #[error("tenant has no active signing key")]
    NoActiveKey,
}

type RsaSigner = rsa::pkcs1v15::SigningKey<sha2::Sha256>;
type RsaVerifier = rsa::pkcs1v15::VerifyingKey<sha2::Sha256>;

/// A parsed private key.
enum PrivateKey {
    Ed(Box<ed25519_dalek::SigningKey>),
    Es(Box<p256::ecdsa::SigningKey>),
    Rs(Box<RsaSigner>),
}

/// A parsed public key.
enum PublicKey {
    Ed(ed25519_dalek::VerifyingKey),
    Es(p256::ecdsa::VerifyingKey),
    Rs(Box<RsaVerifier>),
}

impl PrivateKey {
    fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        let mut rng = rand::rngs::OsRng;
        Ok(match alg {
            SigningAlg::EdDSA => Self::Ed(Box::new(ed25519_dalek::SigningKey::generate(&mut rng))),
            SigningAlg::ES256 => Self::Es(Box::new(p256::ecdsa::SigningKey::random(&mut rng))),
            SigningAlg::RS256 => {
                let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(enc)?;
                Self::Rs(Box::new(RsaSigner::new(key)))
            }
        })
    }

    fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, KeyError> {
        use rsa::pkcs8::DecodePrivateKey;
        Ok(match alg {
            SigningAlg::EdDSA => Self::Ed(Box::new(ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(enc)?)),
            SigningAlg::ES256 => Self::Es(Box::new(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(enc)?)),
            SigningAlg::RS256 => Self::Rs(Box::new(RsaSigner::new(
                rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(enc)?,
            ))),
        })
    }

    fn to_pkcs8(&self) -> Result<Vec<u8>, KeyError> {
        use rsa::pkcs8::EncodePrivateKey;
        let doc = match self {
            Self::Ed(k) => k.to_pkcs8_der().map_err(enc)?,
            Self::Es(k) => k.to_pkcs8_der().map_err(enc)?,
            Self::Rs(k) => k.as_ref().as_ref().to_pkcs8_der().map_err(enc)?,
        };
        Ok(doc.as_bytes().to_vec())
    }

    fn public(&self) -> PublicKey {
        match self {
            Self::Ed(k) => PublicKey::Ed(k.verifying_key()),
            Self::Es(k) => PublicKey::Es(*k.verifying_key()),
            Self::Rs(k) => {
                use rsa::signature::Keypair;
                PublicKey::Rs(Box::new(k.verifying_key()))
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Ed(k) => {
                use ed25519_dalek::Signer;
                k.sign(message).to_bytes().to_vec()
            }
            Self::Es(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            Self::Rs(k) => {
                use rsa::signature::{SignatureEncoding, Signer};
                k.sign(message).to_vec()
            }
        }
    }
}

impl PublicKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Ed(k) => {
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|sig| k.verify_strict(message, &sig).is_ok())
            }
            Self::Es(k) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(signature).is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
            Self::Rs(k) => {
                use rsa::signature::Verifier;
                rsa::pkcs1v15::Signature::try_from(signature).is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
        }
    }

    fn jwk(&self, kid: &str) -> Jwk {
        let b64 = |bytes: &[u8]| Some(URL_SAFE_NO_PAD.encode(bytes));
        let key = |kty: &str, alg: &str| Jwk {
            kty: kty.to_owned(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            kid: kid.to_owned(),
            alg: alg.to_owned(),
            use_: "sig".to_owned(),
        };
        match self {
            Self::Ed(k) => Jwk {
                crv: Some("Ed25519".to_owned()),
                x: b64(k.as_bytes()),
                ..key("OKP", "EdDSA")
            },
            Self::Es(k) => {
                let point = k.to_encoded_point(false);
                Jwk {
                    crv: Some("P-256".to_owned()),
                    x: b64(point.x().map(|x| x.as_slice()).unwrap_or_default()),
                    y: b64(point.y().map(|y| y.as_slice()).unwrap_or_default()),
                    ..key("EC", "ES256")
                }
            }
            Self::Rs(k) => {
                use rsa::traits::PublicKeyParts;
                let public: &rsa::RsaPublicKey = k.as_ref().as_ref();
                Jwk {
                    n: b64(&public.n().to_bytes_be()),
                    e: b64(&public.e().to_bytes_be()),
                    ..key("RSA", "RS256")
                }
            }
        }
    }
}

fn enc(e: impl std::fmt::Display) -> KeyError {
    KeyError::Encoding(e.to_string())
}

/// The JWS `alg` name of an algorithm.
pub fn alg_name(alg: SigningAlg) -> &'static str {
    match alg {
        SigningAlg::EdDSA => "EdDSA",
        SigningAlg::ES256 => "ES256",
        SigningAlg::RS256 => "RS256",
    }
}

/// Generates a new key for a tenant, sealed with the instance key.
pub fn generate_key(
    alg: SigningAlg,
    tenant_id: &str,
    master: &EncryptionKey,
    now: OffsetDateTime,
) -> Result<SigningKeyRecord, KeyError> {
    let id = crate::ids::new_id(crate::ids::prefix::KEY);
    let private = PrivateKey::generate(alg)?;
    let sealed = master.seal(&private.to_pkcs8()?, &id)?;
    Ok(SigningKeyRecord {
        public_jwk: serde_json::to_value(private.public().jwk(&id)).map_err(enc)?,
        id,
        tenant_id: tenant_id.to_owned(),
        alg,
        private_key_enc: sealed,
        created_at: now,
        retired_at: None,
        next: false,
    })
}

/// [`generate_key`] for `tenant`'s algorithm on the blocking pool: RSA generation takes long
/// enough to keep it off the async workers.
pub async fn generate_tenant_key(
    tenant: &crate::store::Tenant,
    master: &EncryptionKey,
    now: OffsetDateTime,
) -> Result<SigningKeyRecord, KeyError> {
    let (alg, id, master) = (tenant.auth_config.signing_alg, tenant.id.clone(), master.clone());
    tokio::task::spawn_blocking(move || generate_key(alg, &id, &master, now))
        .await
        .map_err(|e| KeyError::Encoding(format!("key generation task: {e}")))?
}

/// One tenant's keys, parsed once: the active signer plus every published verifier.
pub struct KeyRing {
    signer_kid: String,
    signer_alg: SigningAlg,
    signer: PrivateKey,
    /// By `kid`; a ring holds two or three keys, so a vector beats a map in memory and time.
    verifiers: Vec<(String, SigningAlg, PublicKey)>,
    jwks: Jwks,
    has_next: bool,
}

impl KeyRing {
    /// Loads a tenant's keys: the newest current key signs; the next key (published ahead)
    /// and retired keys verify and are published, retired ones until `publish_retired_for`
    /// seconds after retirement.
    pub fn load(
        records: &[SigningKeyRecord],
        master: &EncryptionKey,
        now: OffsetDateTime,
        publish_retired_for: i64,
    ) -> Result<Self, KeyError> {
        // Only a next key left (never written so, but harmless): it has to sign.
        let active = signing_keys::signer(records).ok_or(KeyError::NoActiveKey)?;
        let signer = PrivateKey::from_pkcs8(active.alg, &master.open(&active.private_key_enc, &active.id)?)?;
        let mut verifiers = Vec::with_capacity(records.len());
        let mut published = Vec::new();
        for record in records {
            if !signing_keys::published(record, now, publish_retired_for) {
                continue;
            }
            let public = if record.id == active.id {
                signer.public()
            } else {
                PrivateKey::from_pkcs8(record.alg, &master.open(&record.private_key_enc, &record.id)?)?.public()
            };
            published.push(public.jwk(&record.id));
            verifiers.push((record.id.clone(), record.alg, public));
        }
        Ok(Self {
            signer_kid: active.id.clone(),
            signer_alg: active.alg,
            signer,
            verifiers,
            jwks: Jwks { keys: published },
            has_next: records
                .iter()
                .any(|r| r.next && r.retired_at.is_none() && r.id != active.id),
        })
    }

    /// Signs a compact JWS with the active key (`typ: at+jwt`, an access token, RFC 9068).
    pub fn sign(&self, claims: &impl serde::Serialize) -> Result<String, KeyError> {
        self.sign_typed(claims, "at+jwt")
    }

    /// Signs a compact JWS with the active key and the given `typ` (`JWT` for ID tokens,
    /// which must not pass for access tokens).
    pub fn sign_typed(&self, claims: &impl serde::Serialize, typ: &str) -> Result<String, KeyError> {
        let header = json!({"alg": alg_name(self.signer_alg), "typ": typ, "kid": self.signer_kid});
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(enc)?);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(enc)?);
        let message = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.signer.sign(message.as_bytes()));
        Ok(format!("{message}.{signature}"))
    }

    /// Checks the header and signature of a compact JWS and returns its payload bytes.
    /// Refuses `alg: none`, HMAC, unknown `kid`, an `alg` other than the key's, and `jku`/`jwk`/`x5u`/`x5c`.
    pub fn verify_signature(&self, token: &str) -> Option<Vec<u8>> {
        let mut parts = token.split('.');
        let (header_b64, payload_b64, sig_b64) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
        let header = header.as_object()?;
        if ["jku", "jwk", "x5u", "x5c", "crit"]
            .iter()
            .any(|k| header.contains_key(*k))
        {
            return None;
        }
        let kid = header.get("kid")?.as_str()?;
        let (_, alg, key) = self.verifiers.iter().find(|(id, _, _)| id == kid)?;
        if header.get("alg")?.as_str()? != alg_name(*alg) {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(sig_b64).ok()?;
        let message_len = header_b64.len() + 1 + payload_b64.len();
        if !key.verify(&token.as_bytes()[..message_len], &signature) {
            return None;
        }
        URL_SAFE_NO_PAD.decode(payload_b64).ok()
    }

    /// The public JWKS document.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// The id of the key that signs new tokens.
    pub fn active_kid(&self) -> &str {
        &self.signer_kid
    }

    /// Whether a key published ahead (the next rotation's signer) is in the ring.
    pub fn has_next(&self) -> bool {
        self.has_next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> EncryptionKey {
        EncryptionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap()
    }

    #[test]
    fn every_algorithm_signs_and_verifies_and_jsonwebtoken_agrees() {
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
            let now = OffsetDateTime::now_utc();
            let record = generate_key(alg, "tnt_x", &master(), now).unwrap();
            let ring = KeyRing::load(std::slice::from_ref(&record), &master(), now, 900).unwrap();
            let token = ring
                .sign(&json!({"sub": "usr_1", "exp": now.unix_timestamp() + 60}))
                .unwrap();
            assert!(ring.verify_signature(&token).is_some(), "{alg:?}");
            let mut tampered = token.clone();
            tampered.push('A');
            assert!(ring.verify_signature(&tampered).is_none());
            // An independent implementation verifies with the published JWK.
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(record.public_jwk.clone()).unwrap();
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation =
                jsonwebtoken::Validation::new(alg_name(alg).parse::<jsonwebtoken::Algorithm>().unwrap());
            validation.required_spec_claims.clear();
            jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
            assert!(!record.public_jwk.as_object().unwrap().contains_key("d"));
        }
    }

    #[test]
    fn the_next_key_is_published_and_verifies_but_does_not_sign() {
        let now = OffsetDateTime::now_utc();
        let current = generate_key(SigningAlg::EdDSA, "t", &master(), now).unwrap();
        let next = SigningKeyRecord {
            next: true,
            ..generate_key(SigningAlg::EdDSA, "t", &master(), now + time::Duration::seconds(1)).unwrap()
        };
        let ring = KeyRing::load(&[current.clone(), next.clone()], &master(), now, 900).unwrap();
        assert_eq!(ring.active_kid(), current.id, "the newer next key does not sign");
        assert!(ring.has_next());
        assert_eq!(ring.jwks().keys.len(), 2);
        // A token the next key signs (after a rotation) verifies with this ring.
        let promoted = SigningKeyRecord { next: false, ..next };
        let later = KeyRing::load(&[promoted], &master(), now, 900).unwrap();
        let token = later.sign(&json!({"sub": "u"})).unwrap();
        assert!(ring.verify_signature(&token).is_some());
        assert!(!KeyRing::load(&[current], &master(), now, 900).unwrap().has_next());
    }

    #[test]
    fn retired_keys_stay_published_for_the_grace_period_only() {
        let now = OffsetDateTime::now_utc();
        let mut old = generate_key(SigningAlg::EdDSA, "t", &master(), now).unwrap();
        let new = generate_key(SigningAlg::ES256, "t", &master(), now).unwrap();
        let old_ring = KeyRing::load(&[old.clone()], &master(), now, 900).unwrap();
        let token = old_ring.sign(&json!({"sub": "u"})).unwrap();
        old.retired_at = Some(now);
        let ring = KeyRing::load(&[old.clone(), new.clone()], &master(), now, 900).unwrap();
        assert_eq!(ring.active_kid(), new.id);
        assert!(ring.verify_signature(&token).is_some());
        let later = now + time::Duration::seconds(901);
        let ring = KeyRing::load(&[old, new], &master(), later, 900).unwrap();
        assert!(ring.verify_signature(&token).is_none());
        assert_eq!(ring.jwks().keys.len(), 1);
    }
}
