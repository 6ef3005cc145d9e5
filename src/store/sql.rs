//! What the SQL backends share: how records become `doc` columns and back,
//! enum and timestamp spellings that must match those inside `doc`, LIKE
//! patterns, and the shape of an embedded migration.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::StoreError;

/// One embedded migration: version, name, SQL.
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A record as a JSON value (PostgreSQL `jsonb`).
pub fn doc_value<T: Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(corrupt)
}

/// A record as JSON text (MySQL `LONGTEXT`).
pub fn doc_text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

/// A record from a JSON value.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(corrupt)
}

/// A record from JSON text.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
}

/// An enum's serde spelling (`"active"`), as stored in status columns.
pub fn status_text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match doc_value(value)? {
        Value::String(s) => Ok(s),
        other => Err(StoreError::Corrupt(format!("status {other}"))),
    }
}

/// A timestamp exactly as records serialize it (RFC 3339), as a JSON value.
pub fn timestamp_value(t: time::OffsetDateTime) -> Result<Value, StoreError> {
    time::serde::rfc3339::serialize(&t, serde_json::value::Serializer).map_err(corrupt)
}

/// A timestamp exactly as records serialize it, as text.
pub fn timestamp_text(t: time::OffsetDateTime) -> Result<String, StoreError> {
    match timestamp_value(t)? {
        Value::String(s) => Ok(s),
        other => Err(StoreError::Corrupt(format!("timestamp {other}"))),
    }
}

/// A `LIKE` pattern matching `query` anywhere, with its wildcards escaped.
pub fn contains_pattern(query: &str) -> String {
    format!(
        "%{}%",
        query
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}
