//! The event catalogue of API.md §7 as a type, and the one way an outbox event is built.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{new_id, prefix};
use crate::store::OutboxEvent;

/// Every event type of API.md §7. The wire name is the dotted string (`user.created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "user.disabled")]
    UserDisabled,
    #[serde(rename = "user.enabled")]
    UserEnabled,
    #[serde(rename = "user.password_changed")]
    UserPasswordChanged,
    #[serde(rename = "session.created")]
    SessionCreated,
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    #[serde(rename = "mfa.enrolled")]
    MfaEnrolled,
    #[serde(rename = "mfa.removed")]
    MfaRemoved,
    #[serde(rename = "organization.created")]
    OrganizationCreated,
    #[serde(rename = "organization.updated")]
    OrganizationUpdated,
    #[serde(rename = "organization.deleted")]
    OrganizationDeleted,
    #[serde(rename = "organization.member.added")]
    MemberAdded,
    #[serde(rename = "organization.member.updated")]
    MemberUpdated,
    #[serde(rename = "organization.member.removed")]
    MemberRemoved,
    #[serde(rename = "organization.invitation.created")]
    InvitationCreated,
    #[serde(rename = "organization.invitation.accepted")]
    InvitationAccepted,
    #[serde(rename = "oauth.connected")]
    OauthConnected,
    #[serde(rename = "oauth.disconnected")]
    OauthDisconnected,
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// The whole catalogue, in API.md order.
    pub const ALL: [EventType; 21] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::UserDisabled,
        EventType::UserEnabled,
        EventType::UserPasswordChanged,
        EventType::SessionCreated,
        EventType::SessionRevoked,
        EventType::MfaEnrolled,
        EventType::MfaRemoved,
        EventType::OrganizationCreated,
        EventType::OrganizationUpdated,
        EventType::OrganizationDeleted,
        EventType::MemberAdded,
        EventType::MemberUpdated,
        EventType::MemberRemoved,
        EventType::InvitationCreated,
        EventType::InvitationAccepted,
        EventType::OauthConnected,
        EventType::OauthDisconnected,
        EventType::WebhookTest,
    ];

    /// The wire name, e.g. `user.created`.
    pub fn as_str(self) -> &'static str {
        use EventType::*;
        match self {
            UserCreated => "user.created",
            UserUpdated => "user.updated",
            UserDeleted => "user.deleted",
            UserDisabled => "user.disabled",
            UserEnabled => "user.enabled",
            UserPasswordChanged => "user.password_changed",
            SessionCreated => "session.created",
            SessionRevoked => "session.revoked",
            MfaEnrolled => "mfa.enrolled",
            MfaRemoved => "mfa.removed",
            OrganizationCreated => "organization.created",
            OrganizationUpdated => "organization.updated",
            OrganizationDeleted => "organization.deleted",
            MemberAdded => "organization.member.added",
            MemberUpdated => "organization.member.updated",
            MemberRemoved => "organization.member.removed",
            InvitationCreated => "organization.invitation.created",
            InvitationAccepted => "organization.invitation.accepted",
            OauthConnected => "oauth.connected",
            OauthDisconnected => "oauth.disconnected",
            WebhookTest => "webhook.test",
        }
    }

    /// The event type a wire name names, if it is in the catalogue.
    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outbox event of `event_type` carrying `data` (objects as the API shows them, never a
/// hash, token or secret), stamped `now`.
pub fn outbox_event(event_type: EventType, data: Value, now: time::OffsetDateTime) -> OutboxEvent {
    OutboxEvent {
        id: new_id(prefix::EVENT),
        event_type: event_type.as_str().to_owned(),
        data,
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_catalogue_and_round_trip() {
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), Value::String(t.as_str().into()));
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        let names: std::collections::HashSet<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::parse("user.exploded"), None);
    }
}
