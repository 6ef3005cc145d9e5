//! The work a tenant actor hands to spawned tasks. Each function gets the
//! tenant's context and a request, and answers with a contract result.

mod accounts;
mod emails;
mod mfa;
mod onetime;
pub mod orgs;
mod sessions;
mod users;

use std::sync::Arc;

use super::context::TenantContext;
use super::messages::{TenantReply, TenantRequest, TenantResponse};
use crate::error::ApiError;

/// The `updated_at` of a user's next version: later than the current one even within a
/// second, so `Guard::UserVersion` always tells two versions apart.
fn next_version(ctx: &TenantContext, current: &crate::store::User) -> time::OffsetDateTime {
    ctx.deps
        .clock
        .now()
        .max(current.updated_at + time::Duration::seconds(1))
}

/// Runs one request against a tenant's context.
pub async fn execute(ctx: &Arc<TenantContext>, request: TenantRequest) -> TenantReply {
    use TenantRequest as R;
    let result = match request {
        R::SignUp {
            email,
            password,
            name,
            username,
            unsafe_metadata,
            client,
        } => {
            let input = accounts::SignUp {
                email,
                password,
                name,
                username,
                unsafe_metadata,
            };
            return accounts::sign_up(ctx, input, client).await;
        }
        R::SignIn {
            email,
            password,
            client,
        } => return accounts::sign_in(ctx, &email, &password, client).await,
        R::Refresh {
            refresh_token,
            organization,
            client,
        } => return sessions::refresh(ctx, &refresh_token, organization, client).await,
        R::Jwks => Ok(TenantResponse::Jwks(ctx.keys.jwks().clone())),
        R::Authenticate { token } => {
            sessions::authenticate(ctx, &token)
                .await
                .map(|claims| TenantResponse::Authenticated {
                    claims: Box::new(claims),
                })
        }
        R::VerifyToken { token } => sessions::verify(ctx, &token).await,
        R::GetUser { user_id } => match ctx.store.get_user(&user_id).await {
            Ok(Some(user)) => Ok(TenantResponse::User(Box::new(user))),
            Ok(None) => Err(ApiError::NotFound),
            Err(e) => Err(e.into()),
        },
        R::SignOut {
            user_id,
            session_id,
            global,
        } => sessions::sign_out(ctx, &user_id, &session_id, global).await,
        R::UpdateUser {
            user_id,
            patch,
            by_server,
        } => users::update(ctx, &user_id, &patch, by_server).await,
        R::ChangePassword {
            user_id,
            session_id,
            current_password,
            new_password,
            sign_out_other_sessions,
        } => {
            accounts::change_password(
                ctx,
                &user_id,
                &session_id,
                &current_password,
                &new_password,
                sign_out_other_sessions,
            )
            .await
        }
        R::ListUsers { filter, page } => users::list(ctx, &filter, &page).await,
        R::CreateUser(input) => users::create(ctx, input).await,
        R::DeleteUser { user_id } => users::delete(ctx, &user_id).await,
        R::SetUserDisabled { user_id, disabled } => users::set_disabled(ctx, &user_id, disabled).await,
        R::ListSessions { filter, page } => sessions::list(ctx, &filter, &page).await,
        R::GetSession { session_id, owner } => sessions::get(ctx, &session_id, owner.as_deref()).await,
        R::RevokeSession { session_id, owner } => sessions::revoke_one(ctx, &session_id, owner.as_deref()).await,
        R::RevokeUserSessions { user_id } => match ctx.store.get_user(&user_id).await {
            Ok(Some(_)) => sessions::revoke_all(ctx, &user_id, None)
                .await
                .map(|()| TenantResponse::Done),
            Ok(None) => Err(ApiError::NotFound),
            Err(e) => Err(e.into()),
        },
        R::StartTotp { user_id } => mfa::start_totp(ctx, &user_id).await,
        R::ConfirmTotp {
            user_id,
            factor_id,
            code,
        } => mfa::confirm_totp(ctx, &user_id, &factor_id, &code).await,
        R::ListFactors { user_id } => mfa::list(ctx, &user_id).await,
        R::RemoveFactor {
            user_id,
            factor_id,
            code,
        } => mfa::remove(ctx, &user_id, &factor_id, code.as_deref()).await,
        R::RegenerateBackupCodes { user_id, code } => mfa::regenerate_backup_codes(ctx, &user_id, &code).await,
        R::VerifyMfa {
            challenge_id,
            code,
            client,
        } => return mfa::verify(ctx, &challenge_id, &code, client).await,
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
            return onetime::request(ctx.clone(), purpose, email, redirect_url).await;
        }
        R::ResetPassword { token, new_password } => onetime::reset_password(ctx, &token, &new_password).await,
        R::SendEmailVerification { user_id } => onetime::send_verification(ctx, &user_id).await,
        R::VerifyEmail { token } => onetime::verify_email(ctx, &token).await,
        R::MagicLinkSignIn { token, client } => onetime::magic_link_sign_in(ctx, &token, client).await,
        R::Organization { caller, action } => orgs::execute(ctx, caller, action).await,
        R::MyOrganizations { user_id } => orgs::claims::mine(ctx, &user_id).await,
        R::AcceptInvitation { token, acceptance } => orgs::accept(ctx, &token, acceptance).await,
        R::Webhook(action) => crate::webhooks::manage::execute(ctx, action).await,
        // Handled on the actor itself.
        R::Reload | R::InjectPanic => Ok(TenantResponse::Done),
    };
    result.into()
}
