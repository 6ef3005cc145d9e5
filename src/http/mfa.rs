//! MFA endpoints: the user's own factors (`/v1/me/mfa/*`), finishing a
//! challenged sign-in (`/v1/auth/mfa/verify`), and the admin reset (secret key).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::auth::{limited, signed_in};
use super::body::{required, JsonBody};
use super::control::no_store;
use super::error::ApiError;
use super::extract::{Publishable, Secret, SignedIn};
use super::params::path_id;
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::tenant::messages::auth::VerifyMfa;
use crate::tenant::messages::mfa::{
    ConfirmTotp, FactorConfirmed, ListFactors, RegenerateBackupCodes, RemoveFactor, StartTotp, TotpEnrollment,
};
use crate::tenant::messages::UserRef;

fn factor_list(factors: Vec<crate::views::objects::Factor>) -> Json<Value> {
    Json(json!({
        "data": factors,
        "pagination": { "limit": 100, "has_more": false, "next_cursor": null },
    }))
}

#[utoipa::path(
    post,
    path = "/me/mfa/totp",
    tag = "mfa",
    summary = "Start TOTP enrollment",
    responses((status = 201, description = "Created.", body = schema::TotpEnrollment)),
    security(("access_token" = []))
)]
pub async fn start_totp(user: SignedIn, State(state): State<AppState>) -> Result<Response, ApiError> {
    let TotpEnrollment {
        factor_id,
        secret,
        otpauth_uri,
        qr_code_svg,
    } = state.run(&user, StartTotp {}).await?;
    Ok(no_store(
        StatusCode::CREATED,
        json!({ "factor_id": factor_id, "secret": secret, "otpauth_uri": otpauth_uri, "qr_code_svg": qr_code_svg }),
    )
    .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmBody {
    factor_id: Option<String>,
    code: Option<String>,
}

#[utoipa::path(
    post,
    path = "/me/mfa/totp/confirm",
    tag = "mfa",
    summary = "Confirm TOTP enrollment with a first code",
    request_body = ConfirmBody,
    responses((status = 200, description = "OK.", body = schema::FactorConfirmed)),
    security(("access_token" = []))
)]
pub async fn confirm_totp(
    user: SignedIn,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<Response, ApiError> {
    let op = ConfirmTotp {
        factor_id: required("factor_id", body.factor_id)?,
        code: required("code", body.code)?,
    };
    let FactorConfirmed { factor, backup_codes } = state.run(&user, op).await?;
    Ok(no_store(
        StatusCode::OK,
        json!({ "factor": factor, "backup_codes": backup_codes }),
    )
    .into_response())
}

#[utoipa::path(
    get,
    path = "/me/mfa/factors",
    tag = "mfa",
    summary = "My MFA factors",
    responses((status = 200, description = "OK.", body = schema::List<schema::Factor>)),
    security(("access_token" = []))
)]
pub async fn my_factors(user: SignedIn, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(factor_list(state.run(&user, ListFactors { user: UserRef::Me }).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    code: Option<String>,
}

#[utoipa::path(
    delete,
    path = "/me/mfa/factors/{id}",
    tag = "mfa",
    summary = "Remove one of my factors (needs a current code)",
    request_body = CodeBody,
    responses((status = 204, description = "Done, no content.")),
    security(("access_token" = []))
)]
pub async fn remove_my_factor(
    user: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<StatusCode, ApiError> {
    let op = RemoveFactor {
        user: UserRef::Me,
        factor_id: path_id(prefix::FACTOR, id)?,
        code: Some(required("code", body.code)?),
    };
    state.run(&user, op).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/me/mfa/backup-codes",
    tag = "mfa",
    summary = "Replace my backup codes",
    request_body = CodeBody,
    responses((status = 200, description = "OK.", body = schema::BackupCodes)),
    security(("access_token" = []))
)]
pub async fn regenerate_backup_codes(
    user: SignedIn,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Response, ApiError> {
    let op = RegenerateBackupCodes {
        code: required("code", body.code)?,
    };
    let codes = state.run(&user, op).await?;
    Ok(no_store(StatusCode::OK, json!({ "backup_codes": codes })).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct MfaVerifyBody {
    challenge_id: Option<String>,
    code: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/mfa/verify",
    tag = "auth",
    summary = "Finish a sign-in that answered `mfa_required`",
    request_body = MfaVerifyBody,
    responses((status = 200, description = "OK.", body = schema::SignedIn)),
    security(("publishable_key" = []))
)]
pub async fn verify(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<MfaVerifyBody>,
) -> Result<Response, ApiError> {
    let challenge_id = required("challenge_id", body.challenge_id)?;
    let code = required("code", body.code)?;
    if !crate::ids::is_valid(prefix::CHALLENGE, &challenge_id) || code.len() > 32 {
        return Err(ApiError::InvalidMfaCode);
    }
    let reply = state.run_limited(&key, VerifyMfa { challenge_id, code }).await;
    Ok(limited(reply, |signed| signed_in(StatusCode::OK, signed)))
}

#[utoipa::path(
    get,
    path = "/users/{id}/mfa/factors",
    tag = "mfa",
    summary = "A user's MFA factors",
    responses((status = 200, description = "OK.", body = schema::List<schema::Factor>)),
    security(("secret_key" = []))
)]
pub async fn user_factors(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::USER, id)?;
    // One call: listing the factors of an unknown user answers 404.
    Ok(factor_list(
        state.run(&key, ListFactors { user: UserRef::Id(id) }).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/users/{id}/mfa/factors/{fid}",
    tag = "mfa",
    summary = "Remove a user's factor",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn reset_user_factor(
    key: Secret,
    State(state): State<AppState>,
    Path((id, factor)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let op = RemoveFactor {
        user: UserRef::Id(path_id(prefix::USER, id)?),
        factor_id: path_id(prefix::FACTOR, factor)?,
        code: None,
    };
    state.run(&key, op).await?;
    Ok(StatusCode::NO_CONTENT)
}
