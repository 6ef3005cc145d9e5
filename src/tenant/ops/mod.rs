//! The work a tenant actor hands to spawned tasks. Each function gets the
//! tenant's context and a request, and answers with a contract result.

mod accounts;
mod sessions;

use super::context::TenantContext;
use super::messages::{TenantReply, TenantRequest, TenantResponse};
use crate::error::ApiError;

/// Runs one request against a tenant's context.
pub async fn execute(ctx: &TenantContext, request: TenantRequest) -> TenantReply {
    match request {
        TenantRequest::Jwks => Ok(TenantResponse::Jwks(ctx.keys.jwks().clone())),
        TenantRequest::SignUp {
            email,
            password,
            name,
            username,
            unsafe_metadata,
            client,
        } => {
            accounts::sign_up(
                ctx,
                accounts::SignUp {
                    email,
                    password,
                    name,
                    username,
                    unsafe_metadata,
                },
                client,
            )
            .await
        }
        TenantRequest::SignIn {
            email,
            password,
            client,
        } => accounts::sign_in(ctx, &email, &password, client).await,
        TenantRequest::Refresh { refresh_token, client } => sessions::refresh(ctx, &refresh_token, client).await,
        TenantRequest::Authenticate { token } => {
            let claims = sessions::authenticate(ctx, &token).await?;
            Ok(TenantResponse::Authenticated {
                claims: Box::new(claims),
            })
        }
        TenantRequest::VerifyToken { token } => sessions::verify(ctx, &token).await,
        TenantRequest::GetUser { user_id } => {
            let user = ctx.store.get_user(&user_id).await?.ok_or(ApiError::NotFound)?;
            Ok(TenantResponse::User(Box::new(user)))
        }
        // Handled on the actor itself.
        TenantRequest::Reload | TenantRequest::InjectPanic => Ok(TenantResponse::Done),
    }
}
