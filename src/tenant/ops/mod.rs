//! The work a tenant actor hands to spawned tasks. Each function gets the
//! tenant's context and a request, and answers with a contract result.

mod accounts;
mod emails;
mod mfa;
mod onetime;
pub mod orgs;
mod principal;
mod sessions;
#[cfg(test)]
mod tests;
mod users;

use std::sync::Arc;

use super::context::TenantContext;
use super::messages::{Acceptance, ClientInfo, TenantCall, TenantReply, TenantRequest, TenantResponse, UserRef};
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
    run(ctx, &principal, caller.client, request).await
}

async fn run(ctx: &Arc<TenantContext>, who: &Principal, client: ClientInfo, request: TenantRequest) -> TenantReply {
    use TenantRequest as R;
    // The rate-limited operations answer with their limit state.
    match request {
        R::SignUp {
            email,
            password,
            name,
            username,
            unsafe_metadata,
        } => {
            let input = accounts::SignUp {
                email,
                password,
                name,
                username,
                unsafe_metadata,
            };
            accounts::sign_up(ctx, input, client).await
        }
        R::SignIn { email, password } => accounts::sign_in(ctx, &email, &password, client).await,
        R::Refresh {
            refresh_token,
            organization,
        } => sessions::refresh(ctx, &refresh_token, organization, client).await,
        R::VerifyMfa { challenge_id, code } => mfa::verify(ctx, &challenge_id, &code, client).await,
        R::RequestEmailLink {
            email,
            magic_link,
            redirect_url,
        } => {
            let purpose = if magic_link {
                onetime::Purpose::MagicLink
            } else {
                onetime::Purpose::PasswordReset
            };
            onetime::request(ctx.clone(), purpose, email, redirect_url).await
        }
        other => plain(ctx, who, client, other).await.into(),
    }
}

async fn plain(
    ctx: &Arc<TenantContext>,
    who: &Principal,
    client: ClientInfo,
    request: TenantRequest,
) -> Result<TenantResponse, ApiError> {
    use TenantRequest as R;
    match request {
        R::Jwks => Ok(TenantResponse::Jwks(ctx.keys.jwks().clone())),
        R::CheckToken => who.claims().map(|_| TenantResponse::Done),
        R::VerifyToken { token } => {
            who.server()?;
            sessions::verify(ctx, &token).await
        }
        R::GetUser { user } => users::get(ctx, who.user(&user)?).await,
        R::SignOut { global } => {
            let claims = who.claims()?;
            sessions::sign_out(ctx, &claims.sub, &claims.sid, global).await
        }
        R::UpdateUser { user, patch } => {
            let by_server = matches!(who, Principal::Server);
            users::update(ctx, who.user(&user)?, &patch, by_server).await
        }
        R::ChangePassword {
            current_password,
            new_password,
            sign_out_other_sessions,
        } => {
            let claims = who.claims()?;
            accounts::change_password(
                ctx,
                &claims.sub,
                &claims.sid,
                &current_password,
                &new_password,
                sign_out_other_sessions,
            )
            .await
        }
        R::ListUsers { filter, page } => {
            who.server()?;
            users::list(ctx, &filter, &page).await
        }
        R::CreateUser(input) => {
            who.server()?;
            users::create(ctx, input).await
        }
        R::DeleteUser { user_id } => {
            who.server()?;
            users::delete(ctx, &user_id).await
        }
        R::SetUserDisabled { user_id, disabled } => {
            who.server()?;
            users::set_disabled(ctx, &user_id, disabled).await
        }
        R::ListSessions { mut filter, page } => {
            // A signed-in user lists only their own active sessions.
            if let Some(owner) = who.owner()? {
                filter.user_id = Some(owner.to_owned());
                filter.status = Some(crate::store::SessionStatus::Active);
            }
            sessions::list(ctx, &filter, &page).await
        }
        R::GetSession { session_id } => sessions::get(ctx, &session_id, who.owner()?).await,
        R::RevokeSession { session_id } => {
            let owner = who.owner()?;
            sessions::revoke_one(ctx, &session_id, owner).await
        }
        R::RevokeUserSessions { user_id } => {
            who.server()?;
            match ctx.store.get_user(&user_id).await {
                Ok(Some(_)) => sessions::revoke_all(ctx, &user_id, None)
                    .await
                    .map(|()| TenantResponse::Done),
                Ok(None) => Err(ApiError::NotFound),
                Err(e) => Err(e.into()),
            }
        }
        R::StartTotp => {
            let claims = who.claims()?;
            mfa::start_totp(ctx, &claims.sub).await
        }
        R::ConfirmTotp { factor_id, code } => {
            let claims = who.claims()?;
            mfa::confirm_totp(ctx, &claims.sub, &factor_id, &code).await
        }
        R::ListFactors { user } => {
            let user_id = who.user(&user)?;
            if matches!(user, UserRef::Id(_)) && ctx.store.get_user(user_id).await?.is_none() {
                return Err(ApiError::NotFound);
            }
            mfa::list(ctx, user_id).await
        }
        R::RemoveFactor { user, factor_id, code } => {
            let user_id = who.user(&user)?;
            mfa::remove(ctx, user_id, &factor_id, code.as_deref()).await
        }
        R::RegenerateBackupCodes { code } => {
            let claims = who.claims()?;
            mfa::regenerate_backup_codes(ctx, &claims.sub, &code).await
        }
        R::ResetPassword { token, new_password } => onetime::reset_password(ctx, &token, &new_password).await,
        R::SendEmailVerification => {
            let claims = who.claims()?;
            onetime::send_verification(ctx, &claims.sub).await
        }
        R::VerifyEmail { token } => onetime::verify_email(ctx, &token).await,
        R::MagicLinkSignIn { token } => onetime::magic_link_sign_in(ctx, &token, client).await,
        R::Organization(action) => {
            let caller = who.org_caller()?;
            orgs::execute(ctx, caller, action).await
        }
        R::MyOrganizations => {
            let claims = who.claims()?;
            orgs::claims::mine(ctx, &claims.sub).await
        }
        R::AcceptInvitation { token, acceptance } => {
            let joiner = match (acceptance, who) {
                (Acceptance::SignedIn, Principal::User(claims)) => Joiner::Existing {
                    user_id: claims.sub.clone(),
                },
                (Acceptance::NewUser { password, name }, Principal::Public) => {
                    Joiner::NewUser { password, name, client }
                }
                _ => return Err(ApiError::Internal),
            };
            orgs::accept(ctx, &token, joiner).await
        }
        R::Webhook(action) => {
            who.server()?;
            crate::webhooks::manage::execute(ctx, action).await
        }
        // Handled on the actor itself.
        R::Reload | R::InjectPanic => Ok(TenantResponse::Done),
        // Answered by `run`, with their limit state.
        R::SignUp { .. } | R::SignIn { .. } | R::Refresh { .. } | R::VerifyMfa { .. } | R::RequestEmailLink { .. } => {
            Err(ApiError::Internal)
        }
    }
}
