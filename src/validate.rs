//! Input rules shared by the control plane and the tenant operations.

use crate::error::ApiError;

/// Longest accepted email (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;
/// Longest accepted password, checked before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Lower-cases and checks an email address.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
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
    fn passwords_have_bounds() {
        assert!(super::new_password("short", 8).is_err());
        assert!(super::new_password(&"x".repeat(257), 8).is_err());
        assert!(super::new_password("long enough", 8).is_ok());
    }
}
