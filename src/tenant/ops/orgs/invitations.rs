//! Invitations: created by members who may manage members, emailed to the
//! invitee, accepted once (a second use is `410`) by the signed-in invitee or
//! by creating the invited user. Tokens are `<invitation id>.<256 random bits>`,
//! stored only as a hash and compared in constant time.

use crate::webhooks::EventType;
use serde_json::json;

use super::access::{self, authorize, Access};
use super::members::{join_writes, role_permissions};
use super::model::{from_record, Invitation, InvitationStatus};
use super::roles::{self, permission};
use super::{event, retrying, Race};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::ids::{self, new_id, prefix};
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::limits::Limit;
use crate::tenant::messages::orgs::{InvitationAccepted, OrgCaller, Shown};
use crate::tenant::messages::ClientInfo;
use crate::tenant::ops::{emails, onetime, sessions, users};
use crate::validate;
use crate::views::objects;

/// Default lifetime of an invitation (7 days) and the longest allowed (90 days).
const DEFAULT_TTL: u64 = 604_800;
const MAX_TTL: u64 = 90 * 86_400;

/// The fields of `POST /v1/organizations/{id}/invitations`.
pub struct NewInvitation {
    pub email: String,
    pub role: Option<String>,
    pub expires_in: Option<u64>,
    pub redirect_url: Option<String>,
}

/// Invites an email address to an organization and emails the invitation.
pub async fn create(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    input: NewInvitation,
) -> Result<Shown, ApiError> {
    let access = authorize(ctx, caller, reference, permission::MEMBERS_MANAGE).await?;
    let email = validate::email(&input.email)?;
    let role = input.role.unwrap_or_else(|| roles::MEMBER.to_owned());
    if !access.may_grant(&role, &role_permissions(&access.org, &role)?) {
        return Err(ApiError::InsufficientPermissions);
    }
    let ttl = input.expires_in.unwrap_or(DEFAULT_TTL);
    if !(60..=MAX_TTL).contains(&ttl) {
        return Err(ApiError::invalid(
            "expires_in",
            format!("expires_in must be between 60 and {MAX_TTL} seconds."),
        ));
    }
    let redirect_url = validate::url("redirect_url", input.redirect_url)?;
    let invited_by = match caller {
        OrgCaller::User { user_id } => {
            // Users share the per-address email budget of password resets and magic links.
            ctx.limit(Limit::EmailSend, &email).map_err(|(error, _)| error)?;
            Some(user_id.clone())
        }
        OrgCaller::Server => None,
    };
    if let Some(user) = ctx.store.find_user_by_email(&email).await? {
        if access::membership(ctx, &access.org.id, &user.id).await?.is_some() {
            return Err(ApiError::AlreadyMember);
        }
    }
    let now = ctx.deps.clock.now();
    let id = new_id(prefix::INVITATION);
    let token = format!("{id}.{}", secrets::generate(""));
    let invitation = Invitation {
        id,
        organization_id: access.org.id.clone(),
        email,
        role,
        status: InvitationStatus::Pending,
        token_hash: secrets::hash(&token),
        invited_by,
        expires_at: now + time::Duration::seconds(ttl as i64),
        created_at: now,
    };
    let batch = TenantBatch::default()
        .guard(Guard::RecordField {
            kind: RecordKind::Organization,
            id: access.org.id.clone(),
            field: "id".into(),
            value: json!(access.org.id),
        })
        .write(TenantWrite::PutRecord(invitation.record()?))
        .write(event(
            ctx,
            EventType::InvitationCreated,
            json!({ "invitation": invitation.view(now) }),
        ));
    ctx.store.apply(batch).await.map_err(|e| match e {
        StoreError::Conflict => ApiError::NotFound,
        other => other.into(),
    })?;
    let link = onetime::link(ctx, "accept-invitation", &token, redirect_url.as_deref());
    ctx.deps
        .mailer
        .send(emails::render(ctx, "invitation", &invitation.email, &link, &token));
    let shown = objects::Invitation {
        token: Some(token),
        ..invitation.view(now)
    };
    Ok(Shown::object(shown))
}

/// An organization's invitations, newest first, optionally of one status.
pub async fn list(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<Shown, ApiError> {
    if status.is_some_and(|s| !matches!(s, "pending" | "accepted" | "revoked" | "expired")) {
        return Err(ApiError::invalid(
            "status",
            "status must be pending, accepted, revoked or expired.",
        ));
    }
    let access = authorize(ctx, caller, reference, permission::MEMBERS_MANAGE).await?;
    let now = ctx.deps.clock.now();
    let mut invitations = ctx
        .store
        .list_records(RecordKind::Invitation, &access.org.id)
        .await?
        .into_iter()
        .map(from_record::<Invitation>)
        .collect::<Result<Vec<_>, _>>()?;
    invitations.retain(|i| status.is_none_or(|s| i.shown_status(now) == s));
    invitations.sort_by(|a, b| b.id.cmp(&a.id));
    let found = paginate(invitations.into_iter(), |i| &i.id, page);
    Ok(Shown::objects(Page {
        items: found.items.iter().map(|i| i.view(now)).collect(),
        has_more: found.has_more,
        resume_after: None,
    }))
}

/// Revokes a pending invitation (revoking twice is fine; an accepted one stays accepted).
pub async fn revoke(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    invitation_id: &str,
) -> Result<Shown, ApiError> {
    let access = authorize(ctx, caller, reference, permission::MEMBERS_MANAGE).await?;
    if !ids::is_valid(prefix::INVITATION, invitation_id) {
        return Err(ApiError::NotFound);
    }
    let record = ctx
        .store
        .get_record(RecordKind::Invitation, invitation_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut invitation: Invitation = from_record(record)?;
    if invitation.organization_id != access.org.id {
        return Err(ApiError::NotFound);
    }
    if !access.may_grant(
        &invitation.role,
        &roles::permissions(&access.org, &invitation.role).unwrap_or_default(),
    ) {
        return Err(ApiError::InsufficientPermissions);
    }
    match invitation.status {
        InvitationStatus::Revoked => return Ok(Shown::Done),
        InvitationStatus::Accepted => {
            return Err(ApiError::Conflict("The invitation has already been accepted.".into()))
        }
        InvitationStatus::Pending => {}
    }
    invitation.status = InvitationStatus::Revoked;
    let batch = TenantBatch::default()
        .guard(pending(&invitation.id))
        .write(TenantWrite::PutRecord(invitation.record()?));
    match ctx.store.apply(batch).await {
        Ok(()) => Ok(Shown::Done),
        Err(StoreError::Conflict) => Err(ApiError::Conflict("The invitation changed concurrently.".into())),
        Err(e) => Err(e.into()),
    }
}

/// The guard that an invitation is still pending: what makes acceptance single-use.
fn pending(invitation_id: &str) -> Guard {
    Guard::RecordField {
        kind: RecordKind::Invitation,
        id: invitation_id.to_owned(),
        field: "status".into(),
        value: json!("pending"),
    }
}

/// The pending invitation a token names, checked in constant time.
async fn redeemable(ctx: &TenantContext, token: &str) -> Result<Invitation, ApiError> {
    let id = token
        .split_once('.')
        .map(|(id, _)| id)
        .filter(|id| token.len() <= 128 && ids::is_valid(prefix::INVITATION, id))
        .ok_or(ApiError::InvalidToken)?;
    let record = ctx
        .store
        .get_record(RecordKind::Invitation, id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let invitation: Invitation = from_record(record)?;
    if !secrets::verify_hash(token, &invitation.token_hash) {
        return Err(ApiError::InvalidToken);
    }
    match invitation.status {
        InvitationStatus::Accepted => Err(ApiError::TokenAlreadyUsed),
        InvitationStatus::Revoked => Err(ApiError::InvalidToken),
        InvitationStatus::Pending if invitation.expires_at <= ctx.deps.clock.now() => Err(ApiError::InvalidToken),
        InvitationStatus::Pending => Ok(invitation),
    }
}

/// Who joins through an invitation, as the tenant verified them.
pub enum Joiner {
    /// The signed-in invitee.
    Existing { user_id: String },
    /// A newcomer, created by the acceptance.
    NewUser {
        password: String,
        name: Option<String>,
        client: ClientInfo,
    },
}

/// Accepts an invitation: joins the signed-in invitee, or creates the invited user and signs them in.
pub async fn accept(ctx: &TenantContext, token: &str, joiner: Joiner) -> Result<InvitationAccepted, ApiError> {
    // A new user's password is checked and hashed once, before any race is retried.
    let new_user = match &joiner {
        Joiner::NewUser { password, name, client } => {
            let ip = client.ip.as_deref().unwrap_or("unknown");
            ctx.limit(Limit::SignUpIp, ip).map_err(|(error, _)| error)?;
            let invitation = redeemable(ctx, token).await?;
            if ctx.store.find_user_by_email(&invitation.email).await?.is_some() {
                return Err(ApiError::EmailAlreadyExists);
            }
            validate::new_password(password, ctx.tenant.auth_config.password_min_length)?;
            let name = validate::text("name", name.clone(), 256)?;
            let hash = ctx.deps.hasher.hash(password).await.map_err(ApiError::from)?;
            Some((name, hash))
        }
        Joiner::Existing { .. } => None,
    };
    retrying(|| async {
        let invitation = redeemable(ctx, token).await?;
        let org = access::find(ctx, &invitation.organization_id)
            .await?
            .ok_or(ApiError::InvalidToken)?;
        // A custom role deleted since the invitation went out falls back to `member`.
        let role = if roles::permissions(&org, &invitation.role).is_some() {
            invitation.role.clone()
        } else {
            roles::MEMBER.to_owned()
        };
        // A member's invitation dies with their right to send it.
        if let Some(inviter) = &invitation.invited_by {
            let inviter = access::membership(ctx, &org.id, inviter).await?;
            let held = inviter
                .as_ref()
                .and_then(|m| roles::permissions(&org, &m.role))
                .unwrap_or_default();
            let sender = Access {
                owner: inviter.is_some_and(|m| m.role == roles::OWNER),
                org: org.clone(),
                permissions: Some(held),
            };
            let wanted = roles::permissions(&org, &role).unwrap_or_default();
            let may_invite = sender.covers(&[permission::MEMBERS_MANAGE.to_owned()]);
            if !may_invite || !sender.may_grant(&role, &wanted) {
                return Err(Race::Failed(ApiError::InvalidToken));
            }
        }
        let now = ctx.deps.clock.now();
        let (user, created) = match (&joiner, &new_user) {
            (Joiner::Existing { user_id }, _) => {
                let user = ctx.store.get_user(user_id).await?.ok_or(ApiError::InvalidToken)?;
                if user.email != invitation.email {
                    return Err(Race::Failed(ApiError::InsufficientPermissions));
                }
                if access::membership(ctx, &org.id, &user.id).await?.is_some() {
                    return Err(Race::Failed(ApiError::AlreadyMember));
                }
                (user, None)
            }
            (Joiner::NewUser { client, .. }, Some((name, hash))) => {
                let user = invited_user(&invitation, name.clone(), hash.clone(), now);
                // Pre-registration (API.md §3): an address nobody proved gets no session
                // where the tenant requires verification.
                let verify_first = ctx.tenant.auth_config.email_verification_required && !user.email_verified;
                let session = match verify_first {
                    true => None,
                    false => Some(sessions::start(ctx, &user, vec!["pwd".to_owned()], client.clone())?),
                };
                (user, Some(session))
            }
            (Joiner::NewUser { .. }, None) => return Err(Race::Failed(ApiError::Internal)),
        };
        let (join, _, shown) = join_writes(ctx, &org, &user, &role)?;
        let mut accepted = invitation.clone();
        accepted.status = InvitationStatus::Accepted;
        // The organization is locked first, as every membership change does.
        let mut batch = TenantBatch {
            guards: join.guards,
            writes: Vec::new(),
        }
        .guard(pending(&invitation.id));
        if let Some(session) = &created {
            batch.writes.extend(users::creation(ctx, &user));
            batch
                .writes
                .extend(session.iter().flat_map(|s| s.writes.iter().cloned()));
        } else {
            batch = batch.guard(Guard::UserExists {
                user_id: user.id.clone(),
            });
        }
        batch.writes.extend(join.writes);
        batch = batch.write(TenantWrite::PutRecord(accepted.record()?)).write(event(
            ctx,
            EventType::InvitationAccepted,
            json!({ "invitation": accepted.view(now) }),
        ));
        ctx.store.apply(batch).await?;
        if created.is_some() {
            ctx.auth_event("invitation_sign_up", true);
        }
        match &created {
            Some(Some(session)) => ctx.remember(&session.session),
            Some(None) => onetime::issue(ctx, onetime::Purpose::EmailVerification, &user, None).await?,
            None => {}
        }
        Ok(InvitationAccepted {
            membership: shown,
            created: created.map(|session| (Box::new(user), session.map(|s| s.tokens))),
        })
    })
    .await
}

/// The user an invitation creates, with the invited email. The email counts as verified
/// when the secret key sent the invitation: only the invitee then saw the token. A token
/// a member received in an API answer proves nothing about the mailbox.
fn invited_user(
    invitation: &Invitation,
    name: Option<String>,
    password_hash: String,
    now: time::OffsetDateTime,
) -> User {
    User {
        email_verified: invitation.invited_by.is_none(),
        name,
        last_sign_in_at: Some(now),
        ..User::new(invitation.email.clone(), Some(password_hash), now)
    }
}
