//! The work a tenant actor hands to spawned tasks. Each function gets the
//! tenant's context and a request, and answers with a contract result.

mod accounts;
pub use accounts::password_sign_in;
mod emails;
pub(crate) mod mfa;
mod onetime;
pub use onetime::allowed_redirect;
pub mod orgs;
mod principal;
pub(crate) mod sessions;
#[cfg(test)]
mod tests;
pub(crate) mod users;

use std::future::Future;
use std::sync::Arc;

use super::context::TenantContext;

use super::messages::auth::{
    AuthOp, CheckToken, MagicLinkSignIn, Refresh, SignIn, SignInCheck, SignInFinish, SignOut, SignUp, VerifyMfa,
    VerifyToken,
};
use super::messages::email::{EmailOp, RequestEmailLink, ResetPassword, SendEmailVerification, VerifyEmail};
use super::messages::mfa::{ConfirmTotp, ListFactors, MfaOp, RegenerateBackupCodes, RemoveFactor, StartTotp};
use super::messages::node::{Jwks, NodeOp, Stats};
use super::messages::oauth::{
    Authorize, Clients, EndSession, FinishProvider, Identities, Introspect, OAuthOp, OpenBrowser, Providers, Revoke,
    SocialSignIn, StartSocial, Token, UserInfo,
};
use super::messages::orgs::{AcceptInvitation, Acceptance, MyOrganizations, OrgOp, Organization};
use super::messages::sessions::{GetSession, ListSessions, RevokeSession, RevokeUserSessions, SessionOp};
use super::messages::users::{
    ChangePassword, CreateUser, DeleteUser, GetUser, ListUsers, SetUserDisabled, UpdateUser, UserOp,
};
use super::messages::webhooks::{Webhook, WebhookOp};
use super::messages::{
    ClientInfo, Limited, Operation, TenantCall, TenantReply, TenantRequest, TenantResponse, UserRef,
};
use crate::error::ApiError;
use orgs::Joiner;
use principal::Principal;

/// The `updated_at` of a user's next version: later than the current one even within a
/// second, so `Guard::UserVersion` always tells two versions apart.
fn next_version(ctx: &TenantContext, current: &crate::store::User) -> time::OffsetDateTime {
    ctx.deps
        .clock
        .now()
        .max(current.updated_at + time::Duration::seconds(1))
}

/// Runs one call against a tenant's context: checks who calls (verifying an access token
/// here, not in a separate trip), then runs the operation.
pub async fn execute(ctx: &Arc<TenantContext>, call: TenantCall) -> TenantReply {
    let TenantCall { caller, request } = call;
    let principal = match Principal::of(ctx, &caller.credential).await {
        Ok(principal) => principal,
        Err(e) => return Err(e).into(),
    };
    let (who, client) = (&principal, caller.client);
    match request {
        TenantRequest::Auth(op) => auth(ctx, who, client, op).await,
        TenantRequest::Users(op) => users_area(ctx, who, op).await.into(),
        TenantRequest::Sessions(op) => sessions_area(ctx, who, op).await.into(),
        TenantRequest::Mfa(op) => mfa_area(ctx, who, op).await.into(),
        TenantRequest::Email(op) => email(ctx, who, op).await,
        TenantRequest::Orgs(op) => orgs_area(ctx, who, client, op).await.into(),
        TenantRequest::Webhooks(WebhookOp::Webhook(op)) => {
            answer::<Webhook>(async { crate::webhooks::manage::execute(ctx, who.server().map(|()| op.action)?).await })
                .await
                .into()
        }
        TenantRequest::OAuth(op) => oauth_area(ctx, who, client, op).await.into(),
        // Reload and the fault hook are handled on the actor itself.
        TenantRequest::Node(NodeOp::Jwks(_)) => Ok(Jwks::respond(ctx.keys.jwks().clone())).into(),
        TenantRequest::Node(NodeOp::Reload(_) | NodeOp::InjectPanic(_)) => Err(ApiError::Internal).into(),
        TenantRequest::Node(NodeOp::Stats(_)) => answer::<Stats>(async {
            who.server_or_operator()?;
            ctx.activity.stats(ctx).await
        })
        .await
        .into(),
    }
}

/// Runs one operation's work and wraps its reply as that operation's response.
async fn answer<O: Operation>(
    work: impl Future<Output = Result<O::Reply, ApiError>>,
) -> Result<TenantResponse, ApiError> {
    work.await.map(O::respond)
}

/// Like [`answer`], for a rate-limited operation, keeping its limit state.
async fn answer_limited<O: Operation>(work: impl Future<Output = Limited<O::Reply>>) -> TenantReply {
    work.await.map(O::respond)
}

async fn auth(ctx: &Arc<TenantContext>, who: &Principal, client: ClientInfo, op: AuthOp) -> TenantReply {
    match op {
        AuthOp::SignUp(op) => answer_limited::<SignUp>(accounts::sign_up(ctx, op, client)).await,
        AuthOp::SignIn(op) => answer_limited::<SignIn>(accounts::sign_in(ctx, &op.email, &op.password, client)).await,
        // The halves of a sign-in whose password another node checks (`cluster`): a peer's
        // call for the same publishable-key caller as the sign-in itself.
        AuthOp::SignInCheck(op) => {
            answer_limited::<SignInCheck>(accounts::sign_in_check(ctx, &op.email, op.too_long, &client)).await
        }
        AuthOp::SignInFinish(op) => {
            let verdict = crate::auth::password::PasswordVerdict {
                matched: op.matched,
                upgraded: op.upgraded,
            };
            answer::<SignInFinish>(accounts::sign_in_finish(ctx, &op.email, op.checked, verdict, client))
                .await
                .into()
        }
        AuthOp::Refresh(op) => {
            answer_limited::<Refresh>(sessions::refresh(ctx, &op.refresh_token, op.organization, client)).await
        }
        AuthOp::VerifyMfa(op) => {
            answer_limited::<VerifyMfa>(mfa::verify(ctx, &op.challenge_id, &op.code, client)).await
        }
        AuthOp::MagicLinkSignIn(op) => answer::<MagicLinkSignIn>(onetime::magic_link_sign_in(ctx, &op.token, client))
            .await
            .into(),
        AuthOp::SignOut(op) => answer::<SignOut>(async {
            let claims = who.claims()?;
            sessions::sign_out(ctx, &claims.sub, &claims.sid, op.global).await
        })
        .await
        .into(),
        AuthOp::CheckToken(_) => answer::<CheckToken>(async { who.claims().map(|_| ()) }).await.into(),
        AuthOp::VerifyToken(op) => answer::<VerifyToken>(async {
            who.server()?;
            sessions::verify(ctx, &op.token).await
        })
        .await
        .into(),
    }
}

async fn users_area(ctx: &Arc<TenantContext>, who: &Principal, op: UserOp) -> Result<TenantResponse, ApiError> {
    match op {
        UserOp::GetUser(op) => answer::<GetUser>(async { users::get(ctx, who.user(&op.user)?).await }).await,
        UserOp::UpdateUser(op) => {
            answer::<UpdateUser>(async {
                let by_server = matches!(who, Principal::Server);
                users::update(ctx, who.user(&op.user)?, &op.patch, by_server).await
            })
            .await
        }
        UserOp::ChangePassword(op) => {
            answer::<ChangePassword>(async {
                let claims = who.claims()?;
                accounts::change_password(
                    ctx,
                    &claims.sub,
                    &claims.sid,
                    &op.current_password,
                    &op.new_password,
                    op.sign_out_other_sessions,
                )
                .await
            })
            .await
        }
        UserOp::ListUsers(op) => {
            answer::<ListUsers>(async {
                who.server()?;
                users::list(ctx, &op.filter, &op.page).await
            })
            .await
        }
        UserOp::CreateUser(op) => {
            answer::<CreateUser>(async {
                who.server()?;
                users::create(ctx, op.user).await
            })
            .await
        }
        UserOp::DeleteUser(op) => {
            answer::<DeleteUser>(async {
                who.server()?;
                users::delete(ctx, &op.user_id).await
            })
            .await
        }
        UserOp::SetUserDisabled(op) => {
            answer::<SetUserDisabled>(async {
                who.server()?;
                users::set_disabled(ctx, &op.user_id, op.disabled).await
            })
            .await
        }
    }
}

async fn sessions_area(ctx: &Arc<TenantContext>, who: &Principal, op: SessionOp) -> Result<TenantResponse, ApiError> {
    match op {
        SessionOp::ListSessions(mut op) => {
            answer::<ListSessions>(async {
                // A signed-in user lists only their own active sessions.
                if let Some(owner) = who.owner()? {
                    op.filter.user_id = Some(owner.to_owned());
                    op.filter.status = Some(crate::store::SessionStatus::Active);
                }
                sessions::list(ctx, &op.filter, &op.page).await
            })
            .await
        }
        SessionOp::GetSession(op) => {
            answer::<GetSession>(async { sessions::get(ctx, &op.session_id, who.owner()?).await }).await
        }
        SessionOp::RevokeSession(op) => {
            answer::<RevokeSession>(async { sessions::revoke_one(ctx, &op.session_id, who.owner()?).await }).await
        }
        SessionOp::RevokeUserSessions(op) => {
            answer::<RevokeUserSessions>(async {
                who.server()?;
                match ctx.store.get_user(&op.user_id).await? {
                    Some(_) => sessions::revoke_all(ctx, &op.user_id, None).await,
                    None => Err(ApiError::NotFound),
                }
            })
            .await
        }
    }
}

async fn mfa_area(ctx: &Arc<TenantContext>, who: &Principal, op: MfaOp) -> Result<TenantResponse, ApiError> {
    match op {
        MfaOp::StartTotp(_) => answer::<StartTotp>(async { mfa::start_totp(ctx, &who.claims()?.sub).await }).await,
        MfaOp::ConfirmTotp(op) => {
            answer::<ConfirmTotp>(async { mfa::confirm_totp(ctx, &who.claims()?.sub, &op.factor_id, &op.code).await })
                .await
        }
        MfaOp::ListFactors(op) => {
            answer::<ListFactors>(async {
                let user_id = who.user(&op.user)?;
                if matches!(op.user, UserRef::Id(_)) && ctx.store.get_user(user_id).await?.is_none() {
                    return Err(ApiError::NotFound);
                }
                mfa::list(ctx, user_id).await
            })
            .await
        }
        MfaOp::RemoveFactor(op) => {
            answer::<RemoveFactor>(async {
                mfa::remove(ctx, who.user(&op.user)?, &op.factor_id, op.code.as_deref()).await
            })
            .await
        }
        MfaOp::RegenerateBackupCodes(op) => {
            answer::<RegenerateBackupCodes>(async {
                mfa::regenerate_backup_codes(ctx, &who.claims()?.sub, &op.code).await
            })
            .await
        }
    }
}

async fn email(ctx: &Arc<TenantContext>, who: &Principal, op: EmailOp) -> TenantReply {
    match op {
        EmailOp::RequestEmailLink(op) => {
            let purpose = if op.magic_link {
                onetime::Purpose::MagicLink
            } else {
                onetime::Purpose::PasswordReset
            };
            answer_limited::<RequestEmailLink>(onetime::request(ctx.clone(), purpose, op.email, op.redirect_url)).await
        }
        EmailOp::ResetPassword(op) => {
            answer::<ResetPassword>(onetime::reset_password(ctx, &op.token, &op.new_password))
                .await
                .into()
        }
        EmailOp::SendEmailVerification(_) => {
            answer::<SendEmailVerification>(async { onetime::send_verification(ctx, &who.claims()?.sub).await })
                .await
                .into()
        }
        EmailOp::VerifyEmail(op) => answer::<VerifyEmail>(onetime::verify_email(ctx, &op.token))
            .await
            .into(),
    }
}

async fn orgs_area(
    ctx: &Arc<TenantContext>,
    who: &Principal,
    client: ClientInfo,
    op: OrgOp,
) -> Result<TenantResponse, ApiError> {
    match op {
        OrgOp::Organization(op) => {
            answer::<Organization>(async { orgs::execute(ctx, who.org_caller()?, op.action).await }).await
        }
        OrgOp::MyOrganizations(_) => {
            answer::<MyOrganizations>(async { orgs::claims::mine(ctx, &who.claims()?.sub).await }).await
        }
        OrgOp::AcceptInvitation(op) => {
            answer::<AcceptInvitation>(async {
                let joiner = match (op.acceptance, who) {
                    (Acceptance::SignedIn, Principal::User(claims)) => Joiner::Existing {
                        user_id: claims.sub.clone(),
                    },
                    (Acceptance::NewUser { password, name }, Principal::Public) => {
                        Joiner::NewUser { password, name, client }
                    }
                    _ => return Err(ApiError::Internal),
                };
                orgs::accept(ctx, &op.token, joiner).await
            })
            .await
        }
    }
}

/// The OpenID provider: `/v1/clients` with the secret key; the provider's own endpoints
/// authenticate their clients themselves.
async fn oauth_area(
    ctx: &Arc<TenantContext>,
    who: &Principal,
    client: ClientInfo,
    op: OAuthOp,
) -> Result<TenantResponse, ApiError> {
    use crate::oauth::{clients, flow, grants, social, tokens};
    match op {
        OAuthOp::Clients(op) => {
            answer::<Clients>(async { clients::execute(ctx, who.server().map(|()| op.action)?).await }).await
        }
        OAuthOp::Authorize(op) => {
            answer::<Authorize>(flow::authorize(ctx, op.request, op.browser, op.fresh, op.decision)).await
        }
        OAuthOp::OpenBrowser(op) => {
            answer::<OpenBrowser>(async {
                let session = ctx
                    .store
                    .get_session(&op.session_id)
                    .await?
                    .ok_or(ApiError::SessionRevoked)?;
                Ok(crate::oauth::browser::cookie_value(
                    &ctx.deps.master_key,
                    &ctx.tenant.id,
                    &session.id,
                ))
            })
            .await
        }
        OAuthOp::Token(op) => answer::<Token>(grants::exchange(ctx, op.client, op.grant, client)).await,
        OAuthOp::UserInfo(op) => answer::<UserInfo>(tokens::userinfo(ctx, &op.access_token)).await,
        OAuthOp::Revoke(op) => answer::<Revoke>(tokens::revoke(ctx, &op.client, &op.token)).await,
        OAuthOp::Introspect(op) => answer::<Introspect>(tokens::introspect(ctx, &op.client, &op.token)).await,
        OAuthOp::EndSession(op) => answer::<EndSession>(tokens::end_session(ctx, op.request, op.browser)).await,
        OAuthOp::Providers(op) => {
            answer::<Providers>(async {
                match who {
                    Principal::Operator => social::providers::execute(ctx, op.action).await,
                    _ => Err(ApiError::Internal),
                }
            })
            .await
        }
        OAuthOp::StartSocial(op) => answer::<StartSocial>(social::signin::start(ctx, &op.provider, op.start)).await,
        OAuthOp::FinishProvider(op) => {
            answer::<FinishProvider>(social::signin::provider_return(ctx, &op.provider, op.answer)).await
        }
        OAuthOp::SocialSignIn(op) => {
            answer::<SocialSignIn>(social::signin::sign_in(
                ctx,
                &op.provider,
                &op.code,
                &op.code_verifier,
                &op.redirect_uri,
                client,
            ))
            .await
        }
        OAuthOp::Identities(op) => {
            answer::<Identities>(async {
                let user = who.claims()?.sub.clone();
                social::identities::execute(ctx, &user, op.remove).await
            })
            .await
        }
    }
}
