//! MFA and sessions (issue 17 items 1–2): TOTP enrolment, confirmation with recovery codes and
//! turning it off (`/me/mfa…`, staff only: customers prove themselves with emailed codes), a
//! user's own sessions with revocation (`/me/sessions`), and the account's security policy
//! (`/account/security`, admins).

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::{User, UserId};
use switchboard_actors::security::{SecurityPolicy, SessionSummary};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::auth::LoginLimits;
use crate::auth::mfa;
use crate::error::{ErrorBody, ErrorCode};

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(start_totp)
        .service(confirm_totp)
        .service(disable_mfa)
        .service(disable_totp)
        .service(list_sessions)
        .service(revoke_session)
        .service(get_policy)
        .service(put_policy);
}

/// Whether the user has MFA on (an enrolment whose first code was confirmed).
pub(super) async fn mfa_enabled(state: &Api, user: UserId) -> Result<bool, ApiError> {
    Ok(state.store.totp_enrolment(user).await?.is_some_and(|enrolment| enrolment.enabled()))
}

/// Whether the account's policy sends `user` to MFA enrolment.
pub(super) async fn enrolment_required(state: &Api, user: &User) -> Result<bool, ApiError> {
    let policy = state.store.security_policy(user.account_id).await?;
    if !policy.enrolment_required(user.role, false) {
        return Ok(false);
    }
    // Staff kept to single sign-on prove their factors at the identity provider.
    let sso = state.store.sso_settings(user.account_id).await?;
    if sso.is_some_and(|sso| sso.provider_owns_factors(user.role)) {
        return Ok(false);
    }
    Ok(policy.enrolment_required(user.role, mfa_enabled(state, user.id).await?))
}

/// Checks `code` as `user`'s second factor, limited like passwords: per user and address (an
/// exponential delay after a few failures) and per address (the login bucket).
pub(super) async fn check_code(
    state: &Api,
    logins: &LoginLimits,
    request: &HttpRequest,
    user: &User,
    code: &str,
) -> Result<(), ApiError> {
    let client = super::auth::client_of(logins, request);
    let attempt =
        logins.admit(&format!("mfa:{}", user.id), client, Instant::now()).map_err(ApiError::RateLimitedFor)?;
    match mfa::verify(&*state.store, user.id, code, state.now()).await {
        Ok(Some(_)) => {
            logins.succeeded(attempt);
            Ok(())
        }
        // The attempt stays counted as a failure.
        Ok(None) => Err(ApiError::InvalidMfaCode),
        Err(error) => {
            logins.not_checked(attempt);
            Err(error.into())
        }
    }
}

fn conflict(code: ErrorCode, message: &str) -> ApiError {
    ApiError::Conflict { code, message: message.to_owned() }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolmentView {
    /// The shared secret in base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/Switchboard:<email>?secret=…&issuer=Switchboard`.
    pub otpauth_uri: String,
    /// The URI as a QR code (an SVG document).
    pub qr_svg: String,
}

/// Start MFA enrolment: a new TOTP secret, its `otpauth://` URI and QR code. MFA is not on until
/// a code from the app is confirmed; starting again replaces a secret not yet confirmed.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, body = TotpEnrolmentView),
        (status = 403, description = "customers have no MFA", body = ErrorBody),
        (status = 409, description = "`mfa_already_enabled`", body = ErrorBody)
    )
)]
#[post("/me/mfa/totp")]
async fn start_totp(state: Api, caller: Caller) -> Result<web::Json<TotpEnrolmentView>, ApiError> {
    caller.require_staff()?;
    let already = conflict(ErrorCode::MfaAlreadyEnabled, "MFA is already on; turn it off first to enrol again");
    if mfa_enabled(&state, caller.user.id).await? {
        return Err(already);
    }
    let secret = mfa::new_secret();
    let otpauth_uri = mfa::otpauth_uri(&secret, &caller.user.email)?;
    let qr_svg = mfa::qr_svg(&otpauth_uri)?;
    if !state.store.start_totp(caller.account(), caller.user.id, &secret).await? {
        return Err(already);
    }
    Ok(web::Json(TotpEnrolmentView { secret, otpauth_uri, qr_svg }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// Six digits from the authenticator app (turning MFA off also takes a recovery code).
    #[garde(length(min = 1, max = 64))]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes that stand in for the app's code; shown only now.
    pub recovery_codes: Vec<String>,
}

/// Confirm enrolment with the app's current code: MFA is on from now, and the answer holds ten
/// recovery codes, shown once (only their hashes are stored).
#[utoipa::path(
    tag = "auth",
    request_body = CodeBody,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 401, description = "`invalid_mfa_code`", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "`mfa_not_enrolled` (start first) or `mfa_already_enabled`", body = ErrorBody),
        (status = 429, body = ErrorBody)
    )
)]
#[post("/me/mfa/totp/confirm")]
async fn confirm_totp(
    state: Api,
    caller: Caller,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<CodeBody>,
) -> Result<web::Json<RecoveryCodes>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let Some(enrolment) = state.store.totp_enrolment(caller.user.id).await? else {
        return Err(conflict(ErrorCode::MfaNotEnrolled, "start enrolment first (POST /api/v1/me/mfa/totp)"));
    };
    if enrolment.enabled() {
        return Err(conflict(ErrorCode::MfaAlreadyEnabled, "MFA is already on"));
    }
    let client = super::auth::client_of(&logins, &request);
    let key = format!("mfa:{}", caller.user.id);
    let attempt = logins.admit(&key, client, Instant::now()).map_err(ApiError::RateLimitedFor)?;
    let Some(step) = mfa::check(&enrolment.secret, body.code.trim(), state.now())? else {
        return Err(ApiError::InvalidMfaCode);
    };
    logins.succeeded(attempt);
    let recovery_codes = mfa::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = recovery_codes.iter().map(|code| mfa::recovery_code_hash(code)).collect();
    if !state.store.enable_totp(caller.user.id, step, &hashes).await? {
        return Err(conflict(ErrorCode::MfaNotEnrolled, "the enrolment changed meanwhile; start again"));
    }
    Ok(web::Json(RecoveryCodes { recovery_codes }))
}

/// Turn MFA off, proving a current code (or a recovery code). The recovery codes go with it.
#[utoipa::path(
    tag = "auth",
    request_body = CodeBody,
    responses(
        (status = 204),
        (status = 401, description = "`invalid_mfa_code`", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "`mfa_not_enrolled`: MFA is not on", body = ErrorBody),
        (status = 429, body = ErrorBody)
    )
)]
#[delete("/me/mfa")]
async fn disable_mfa(
    state: Api,
    caller: Caller,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    turn_off(state, caller, logins, request, body).await
}

async fn turn_off(
    state: Api,
    caller: Caller,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    if !mfa_enabled(&state, caller.user.id).await? {
        return Err(conflict(ErrorCode::MfaNotEnrolled, "MFA is not on"));
    }
    check_code(&state, &logins, &request, &caller.user, &body.code).await?;
    state.store.disable_totp(caller.user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The same as `DELETE /me/mfa`, at the path DESIGN §6 pinned.
#[utoipa::path(
    tag = "auth",
    request_body = CodeBody,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[delete("/me/mfa/totp")]
async fn disable_totp(
    state: Api,
    caller: Caller,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    turn_off(state, caller, logins, request, body).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionSummary>,
}

/// Your sessions that have not expired, most recently used first (device, address, times, and
/// which one this request came with).
#[utoipa::path(tag = "auth", responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
#[get("/me/sessions")]
async fn list_sessions(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<SessionList>, ApiError> {
    let items = state.store.user_sessions(caller.user.id, &caller.token_hash, state.now()).await?;
    Ok(web::Json(SessionList { items }))
}

/// End one of your sessions (the current one too): its token stops working and its sockets
/// close (4001) on every node.
#[utoipa::path(
    tag = "auth",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, description = "no such session of yours", body = ErrorBody))
)]
#[delete("/me/sessions/{id}")]
async fn revoke_session(state: Api, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let token_hash =
        state.store.delete_session_by_id(caller.user.id, &id).await?.ok_or(ApiError::NotFound("session"))?;
    let end = crate::live::SessionEnd::Session { session: hex::encode(&token_hash) };
    state.live.end_sessions(caller.account(), end);
    Ok(HttpResponse::NoContent().finish())
}

/// The account's security policy (admins).
#[utoipa::path(tag = "settings", responses((status = 200, body = SecurityPolicy), (status = 403, body = ErrorBody)))]
#[get("/account/security")]
async fn get_policy(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<SecurityPolicy>, ApiError> {
    caller.require_admin()?;
    Ok(web::Json(state.store.security_policy(caller.account()).await?))
}

/// Replace the account's security policy (admins): whether staff must use MFA, and login
/// sessions' idle timeout (minutes) and absolute lifetime (hours). It applies to every session
/// at its next request, those already open included.
#[utoipa::path(
    tag = "settings",
    request_body = SecurityPolicy,
    responses((status = 200, body = SecurityPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/account/security")]
async fn put_policy(
    state: Api,
    caller: Caller,
    body: ApiJson<SecurityPolicy>,
) -> Result<web::Json<SecurityPolicy>, ApiError> {
    caller.require_admin()?;
    let policy = body.into_inner();
    policy.validate().map_err(|(field, message)| ApiError::invalid(field, message))?;
    state.store.set_security_policy(caller.account(), &policy).await?;
    Ok(web::Json(policy))
}
