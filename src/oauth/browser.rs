//! The hosted-session cookie: which session a browser signed in with on the tenant's hosted
//! pages. Its value is `<session id>.<MAC>`, the MAC keyed by the instance key and bound to
//! the tenant, so it can't be forged or moved between tenants; whether it still counts is
//! the session's own status, so revoking the session (sign-out, end_session, admin) ends it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::auth::encryption::EncryptionKey;
use crate::auth::secrets::constant_time_eq;
use crate::ids::{is_valid, prefix};

/// The cookie's name.
pub const COOKIE: &str = "hj_session";

fn mac(key: &EncryptionKey, tenant_id: &str, session_id: &str) -> String {
    let input = format!("{tenant_id}:{session_id}");
    URL_SAFE_NO_PAD.encode(key.derive("hosted-browser-session", input.as_bytes()))
}

/// The cookie value for a session of a tenant.
pub fn cookie_value(key: &EncryptionKey, tenant_id: &str, session_id: &str) -> String {
    format!("{session_id}.{}", mac(key, tenant_id, session_id))
}

/// The session a cookie value names, if its MAC is this tenant's.
pub fn session_of(key: &EncryptionKey, tenant_id: &str, value: &str) -> Option<String> {
    let (session_id, tag) = value.split_once('.')?;
    if !is_valid(prefix::SESSION, session_id) {
        return None;
    }
    constant_time_eq(&mac(key, tenant_id, session_id), tag).then(|| session_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_its_session_for_its_tenant_only() {
        let key = EncryptionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let session = crate::ids::new_id(prefix::SESSION);
        let value = cookie_value(&key, "tnt_a", &session);
        assert_eq!(session_of(&key, "tnt_a", &value), Some(session.clone()));
        assert_eq!(session_of(&key, "tnt_b", &value), None);
        assert_eq!(session_of(&key, "tnt_a", &format!("{session}.AAAA")), None);
    }
}
