//! Identifiers and texts from paths and query strings, checked at the edge: a
//! malformed id can't name anything (404, or 400 for a filter), and nothing a
//! client typed reaches a database in a form it would reject (API.md §1).

use super::error::ApiError;
use crate::ids;

/// A path id of the given type (`usr`, `ses`, …); anything else names nothing: 404.
pub(super) fn path_id(prefix: &str, raw: String) -> Result<String, ApiError> {
    if ids::is_valid(prefix, &raw) {
        Ok(raw)
    } else {
        Err(ApiError::NotFound)
    }
}

/// An id given as a filter or body field; a malformed one is a 400 naming the field.
pub(super) fn field_id(field: &str, prefix: &str, raw: String) -> Result<String, ApiError> {
    if ids::is_valid(prefix, &raw) {
        Ok(raw)
    } else {
        Err(ApiError::invalid(field, format!("{field} is not a valid id.")))
    }
}

/// A free-text filter: at most `max` bytes, no control characters.
pub(super) fn search_text(field: &str, raw: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match raw {
        Some(text) if text.len() > max || text.chars().any(char::is_control) => Err(ApiError::invalid(
            field,
            format!("{field} is at most {max} bytes without control characters."),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_name_nothing() {
        let good = ids::new_id(ids::prefix::USER);
        assert_eq!(path_id(ids::prefix::USER, good.clone()), Ok(good));
        for bad in [
            "\0",
            "usr_\u{1F600}",
            "usr_01ARZ3NDEKTSV4RRFFQ69G5FA\0",
            "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ] {
            assert_eq!(
                path_id(ids::prefix::USER, bad.to_owned()),
                Err(ApiError::NotFound),
                "{bad:?}"
            );
        }
        assert!(field_id("user_id", ids::prefix::USER, "\0".into()).is_err());
        assert!(search_text("q", Some("a\0".into()), 256).is_err());
        assert_eq!(search_text("q", Some("Ada".into()), 256), Ok(Some("Ada".into())));
    }
}
