//! How a tenant's signing-key set changes (API.md §6): the JWKS always holds the
//! current key and a next key published ahead, so a verifier that fetched the
//! JWKS before a rotation already holds the key of every token signed after it.
//! Backends read the unretired keys under the tenant's lock, let [`plan`] decide,
//! and write what it returns in the same transaction.

use time::OffsetDateTime;

use super::SigningKeyRecord;

/// A change of one tenant's signing keys.
#[derive(Debug, Clone)]
pub enum KeyChange {
    /// Publish `next` ahead unless a next key is already published (tenants created before
    /// next keys existed get one this way, and two nodes doing it at once publish one).
    PublishNext(SigningKeyRecord),
    /// Promote the published next key to current, retire the current one, publish `next`.
    Rotate { next: SigningKeyRecord },
    /// Retire every key and sign with `current` at once (a change of algorithm, which
    /// no pre-published key of the old algorithm can serve), publishing `next` beside it.
    Replace {
        current: SigningKeyRecord,
        next: SigningKeyRecord,
    },
}

impl KeyChange {
    /// The tenant whose keys change.
    pub fn tenant_id(&self) -> &str {
        match self {
            KeyChange::PublishNext(next) | KeyChange::Rotate { next } | KeyChange::Replace { next, .. } => {
                &next.tenant_id
            }
        }
    }
}

/// The newest of `keys`, by creation and then id.
pub fn newest<'a>(keys: impl IntoIterator<Item = &'a SigningKeyRecord>) -> Option<&'a SigningKeyRecord> {
    keys.into_iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
}

/// How long a retired key stays published (seconds): tokens it signed verify until they
/// expire, the access-token TTL plus a minute.
pub fn retired_key_grace(auth: &crate::store::AuthConfig) -> i64 {
    auth.access_token_ttl.max(60) as i64 + 60
}

/// The key that signs new tokens: the newest unretired key that is not published ahead.
pub fn current(keys: &[SigningKeyRecord]) -> Option<&SigningKeyRecord> {
    newest(keys.iter().filter(|k| k.retired_at.is_none() && !k.next))
}

/// The key that actually signs: the current one, or (only a next key left, never written
/// so but harmless) the newest unretired key.
pub fn signer(keys: &[SigningKeyRecord]) -> Option<&SigningKeyRecord> {
    current(keys).or_else(|| newest(keys.iter().filter(|k| k.retired_at.is_none())))
}

/// Whether `key` is in the JWKS at `now`: unretired, or retired less than `grace` seconds ago.
pub fn published(key: &SigningKeyRecord, now: OffsetDateTime, grace: i64) -> bool {
    key.retired_at
        .is_none_or(|retired| retired + time::Duration::seconds(grace) > now)
}

/// Where `key` is in its life, among keys whose signer is `signer_id`: `retiring` (retired,
/// still published), `retired`, `current` (signing), `next` (published ahead) or
/// `retiring` (unretired but superseded). Retirement is looked at first: a next key retired
/// unpromoted (an algorithm change) keeps its `next` flag.
pub fn status(key: &SigningKeyRecord, signer_id: Option<&str>, now: OffsetDateTime, grace: i64) -> &'static str {
    match key.retired_at {
        Some(_) if published(key, now, grace) => "retiring",
        Some(_) => "retired",
        None if signer_id == Some(key.id.as_str()) => "current",
        None if key.next => "next",
        None => "retiring",
    }
}

/// The records to write (updated or new) for `change`, given the tenant's unretired keys.
/// Only a next key of the algorithm the change brings counts as published ahead: one left
/// from before a change of `signing_alg` is retired, never promoted.
pub fn plan(unretired: &[SigningKeyRecord], change: &KeyChange, at: OffsetDateTime) -> Vec<SigningKeyRecord> {
    let retire = |key: &SigningKeyRecord| SigningKeyRecord {
        retired_at: Some(at),
        ..key.clone()
    };
    let alg = match change {
        KeyChange::PublishNext(next) | KeyChange::Rotate { next } | KeyChange::Replace { next, .. } => next.alg,
    };
    let ahead = newest(unretired.iter().filter(|k| k.next && k.alg == alg));
    let stale_next = unretired.iter().filter(|k| k.next && k.alg != alg).map(retire);
    match change {
        KeyChange::PublishNext(next) => match ahead {
            Some(_) => Vec::new(),
            None => stale_next.chain([as_next(next)]).collect(),
        },
        KeyChange::Rotate { next } => match ahead {
            Some(promoted) => unretired
                .iter()
                .filter(|k| k.id != promoted.id)
                .map(retire)
                .chain([as_current(promoted), as_next(next)])
                .collect(),
            // Nothing published ahead (a tenant not loaded since next keys exist): the new
            // key has to sign at once; the next load publishes a next key beside it.
            None => unretired.iter().map(retire).chain([as_current(next)]).collect(),
        },
        KeyChange::Replace { current, next } => unretired
            .iter()
            .map(retire)
            .chain([as_current(current), as_next(next)])
            .collect(),
    }
}

fn as_next(key: &SigningKeyRecord) -> SigningKeyRecord {
    SigningKeyRecord {
        next: true,
        retired_at: None,
        ..key.clone()
    }
}

fn as_current(key: &SigningKeyRecord) -> SigningKeyRecord {
    SigningKeyRecord {
        next: false,
        retired_at: None,
        ..key.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SigningAlg;

    fn key(id: &str, next: bool, secs: i64) -> SigningKeyRecord {
        SigningKeyRecord {
            id: id.into(),
            tenant_id: "tnt_x".into(),
            alg: SigningAlg::EdDSA,
            private_key_enc: String::new(),
            public_jwk: serde_json::Value::Null,
            created_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs),
            retired_at: None,
            next,
        }
    }

    fn state(writes: &[SigningKeyRecord]) -> Vec<(String, bool, bool)> {
        let mut out: Vec<_> = writes
            .iter()
            .map(|k| (k.id.clone(), k.next, k.retired_at.is_some()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn rotation_promotes_the_published_key_and_publishes_another() {
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(100);
        let keys = [key("a", false, 1), key("b", true, 2)];
        let writes = plan(
            &keys,
            &KeyChange::Rotate {
                next: key("c", false, 3),
            },
            at,
        );
        assert_eq!(
            state(&writes),
            vec![
                ("a".into(), false, true),
                ("b".into(), false, false),
                ("c".into(), true, false)
            ]
        );
    }

    #[test]
    fn a_next_key_is_published_once() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let legacy = [key("a", false, 1)];
        let writes = plan(&legacy, &KeyChange::PublishNext(key("b", false, 2)), at);
        assert_eq!(state(&writes), vec![("b".into(), true, false)]);
        let done = [key("a", false, 1), key("b", true, 2)];
        assert!(plan(&done, &KeyChange::PublishNext(key("c", false, 3)), at).is_empty());
    }

    #[test]
    fn a_next_key_of_another_algorithm_is_never_promoted() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let rs = |id: &str, next: bool, secs: i64| SigningKeyRecord {
            alg: SigningAlg::RS256,
            ..key(id, next, secs)
        };
        // Configured for RS256, with an EdDSA next key left from before the change.
        let keys = [rs("a", false, 1), key("b", true, 2)];
        let rotated = plan(
            &keys,
            &KeyChange::Rotate {
                next: rs("c", false, 3),
            },
            at,
        );
        assert_eq!(
            state(&rotated),
            vec![
                ("a".into(), false, true),
                ("b".into(), true, true),
                ("c".into(), false, false)
            ]
        );
        let published = plan(&keys, &KeyChange::PublishNext(rs("d", false, 4)), at);
        assert_eq!(
            state(&published),
            vec![("b".into(), true, true), ("d".into(), true, false)]
        );
    }

    #[test]
    fn a_replacement_retires_everything_including_the_next_key() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let keys = [key("a", false, 1), key("b", true, 2)];
        let change = KeyChange::Replace {
            current: key("c", false, 3),
            next: key("d", false, 4),
        };
        assert_eq!(
            state(&plan(&keys, &change, at)),
            vec![
                ("a".into(), false, true),
                ("b".into(), true, true),
                ("c".into(), false, false),
                ("d".into(), true, false)
            ]
        );
    }
}
