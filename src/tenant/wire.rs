//! The wire form of tenant calls and replies between nodes: JSON in a versioned envelope.
//! A node answers a call it can't decode (a newer peer's operation, a damaged frame) with
//! a clear, retryable error instead of failing: during a rolling upgrade the caller retries
//! and lands on a node that speaks its version.

use serde::{Deserialize, Serialize};

use super::messages::{TenantCall, TenantReply};
use crate::error::ApiError;

/// The version of [`TenantCall`] and [`TenantReply`] this build speaks. Bump it when a
/// change would make an older node misread a call (a new operation, a changed field).
pub const PROTOCOL_VERSION: u16 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u16,
    body: T,
}

/// Only the version, read first so a newer peer's call is recognised as such.
#[derive(Deserialize)]
struct VersionOnly {
    v: u16,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("the peer speaks protocol {0}, this node {PROTOCOL_VERSION}")]
    Version(u16),
    #[error("undecodable frame: {0}")]
    Malformed(String),
}

impl From<WireError> for ApiError {
    /// Retryable: another node (or this one, upgraded) can serve the request.
    fn from(e: WireError) -> Self {
        tracing::warn!(error = %e, "a tenant call from a peer could not be decoded");
        ApiError::unavailable()
    }
}

fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    let envelope = Envelope {
        v: PROTOCOL_VERSION,
        body,
    };
    // Serializing these types can't fail: every map key is a string.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(frame: &[u8]) -> Result<T, WireError> {
    let version: VersionOnly = serde_json::from_slice(frame).map_err(|e| WireError::Malformed(e.to_string()))?;
    if version.v != PROTOCOL_VERSION {
        return Err(WireError::Version(version.v));
    }
    let envelope: Envelope<T> = serde_json::from_slice(frame).map_err(|e| WireError::Malformed(e.to_string()))?;
    Ok(envelope.body)
}

/// A call and the tenant it is for, as carried between nodes.
#[derive(Serialize, Deserialize)]
struct Forwarded<C> {
    tenant_id: String,
    call: C,
}

/// A call as sent to the node that owns its tenant.
pub fn encode_call(tenant_id: &str, call: &TenantCall) -> Vec<u8> {
    encode(&Forwarded {
        tenant_id: tenant_id.to_owned(),
        call,
    })
}

/// A call received from a peer, with its tenant.
pub fn decode_call(frame: &[u8]) -> Result<(String, TenantCall), WireError> {
    let forwarded: Forwarded<TenantCall> = decode(frame)?;
    Ok((forwarded.tenant_id, forwarded.call))
}

/// A reply as sent back to the calling node.
pub fn encode_reply(reply: &TenantReply) -> Vec<u8> {
    encode(reply)
}

/// A reply received from the owner.
pub fn decode_reply(frame: &[u8]) -> Result<TenantReply, WireError> {
    decode(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_peer_or_a_damaged_frame_is_a_retryable_error_not_a_panic() {
        let newer = br#"{"v":2,"body":{"tenant_id":"tnt_1","call":{"caller":{"credential":"Operator","client":{}},"request":"Teleport"}}}"#;
        assert_eq!(decode_call(newer), Err(WireError::Version(2)));
        let unknown_operation = br#"{"v":1,"body":{"tenant_id":"tnt_1","call":{"caller":{"credential":"Operator","client":{"ip":null,"user_agent":null}},"request":"Teleport"}}}"#;
        assert!(matches!(decode_call(unknown_operation), Err(WireError::Malformed(_))));
        assert!(matches!(decode_call(b"\x00\xff garbage"), Err(WireError::Malformed(_))));
        let answer: ApiError = WireError::Version(2).into();
        assert!(matches!(answer, ApiError::ServiceUnavailable { .. }));
    }
}
