//! Input rules shared by the control plane and the tenant operations.

use crate::error::ApiError;

/// Longest accepted email (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;
/// Longest accepted password, checked before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Invisible and bidirectional-control characters (API.md §3): an address holding one
/// looks like another address, so it is refused rather than stored.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// The key rate limits and lockouts count an email under: the normalised address, or the
/// trimmed, lower-cased text when it is no valid address, so an unknown or malformed
/// email is limited like a known one (no enumeration through the limits).
pub fn account_key(raw: &str) -> String {
    email(raw).unwrap_or_else(|_| raw.trim().to_lowercase())
}

/// NFC-normalises, lower-cases and checks an email address, so two spellings of one
/// visible address are one account.
pub fn email(raw: &str) -> Result<String, ApiError> {
    use unicode_normalization::UnicodeNormalization;
    if raw.chars().any(is_deceptive) {
        return Err(ApiError::InvalidEmail);
    }
    let email: String = raw.trim().to_lowercase().nfc().collect();
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(ApiError::InvalidEmail)
    }
}

/// The address as versions before NFC normalisation stored it (trimmed, lower-cased),
/// when that differs from the [`email`] form: accounts stored so still sign in.
pub fn pre_nfc_email(raw: &str) -> Option<String> {
    let legacy = raw.trim().to_lowercase();
    let current = email(raw).ok()?;
    (legacy != current).then_some(legacy)
}

/// Checks a new password against the tenant's minimum and the 256-byte maximum.
pub fn new_password(password: &str, min_length: u32) -> Result<(), ApiError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::PasswordTooWeak(format!(
            "Passwords are at most {MAX_PASSWORD_BYTES} bytes."
        )));
    }
    if password.chars().count() < min_length as usize {
        return Err(ApiError::PasswordTooWeak(format!(
            "Passwords need at least {min_length} characters."
        )));
    }
    Ok(())
}

/// An optional profile text field: bounded and free of control characters.
pub fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.len() > max || v.chars().any(char::is_control) => Err(ApiError::invalid(
            field,
            format!("{field} must be at most {max} bytes without control characters."),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(super::email(" Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in ["", "a", "a@b", "@b.c", "a@.c", "a b@c.d", "a\0@b.c", "a@b@c.d"] {
            assert!(super::email(bad).is_err(), "{bad:?}");
        }
        assert!(super::email(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn emails_are_nfc_and_refuse_invisible_characters() {
        let composed = super::email("Am\u{e9}lie@example.com").unwrap();
        assert_eq!(super::email("Ame\u{301}lie@example.com").unwrap(), composed);
        assert_eq!(composed, "am\u{e9}lie@example.com");
        for bad in [
            "a\u{200b}b@x.io",
            "ab\u{202e}@x.io",
            "\u{feff}ab@x.io",
            "a\u{2060}b@x.io",
            "a\u{200f}@x.io",
        ] {
            assert!(super::email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(super::new_password("short", 8).is_err());
        assert!(super::new_password(&"x".repeat(257), 8).is_err());
        assert!(super::new_password("long enough", 8).is_ok());
    }
}

/// Largest serialized size of one metadata object.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

/// A metadata value: an object of bounded size.
pub fn metadata(field: &str, value: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid(field, format!("{field} must be an object.")));
    }
    if value.to_string().len() > MAX_METADATA_BYTES {
        return Err(ApiError::invalid(
            field,
            format!("{field} is larger than {MAX_METADATA_BYTES} bytes."),
        ));
    }
    Ok(value)
}

/// JSON merge patch (RFC 7386): objects merge recursively and `null` deletes a key.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(serde_json::Value::Null), value);
            }
        }
    }
}

/// An optional URL field (`avatar_url`): http(s), bounded.
pub fn url(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v)
            if !(v.starts_with("https://") || v.starts_with("http://"))
                || v.len() > 2048
                || v.contains(char::is_whitespace) =>
        {
            Err(ApiError::invalid(
                field,
                format!("{field} must be an http(s) URL of at most 2048 bytes."),
            ))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod merge_tests {
    use serde_json::json;

    #[test]
    fn merge_patch_merges_and_null_deletes() {
        let mut target = json!({"a": 1, "b": {"c": 2, "d": 3}});
        super::merge_patch(&mut target, &json!({"a": null, "b": {"c": null, "e": 4}, "f": 5}));
        assert_eq!(target, json!({"b": {"d": 3, "e": 4}, "f": 5}));
        assert!(super::metadata("m", json!([1])).is_err());
        assert!(super::metadata("m", json!({"big": "x".repeat(9000)})).is_err());
    }
}
