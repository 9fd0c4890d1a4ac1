//! Customer accounts over HTTP: registration and its code, password recovery, passwordless
//! login by a code over email or WhatsApp, and WhatsApp number verification from the profile.
//! The rules (same answers for unknown addresses, hashed single-use codes, limits) live in
//! `customer_accounts`; these handlers validate, call it and answer.

use actix_web::{HttpRequest, HttpResponse, post, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::customer_auth::Destination;
use switchboard_actors::domain::User;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::{LoginResponse, client_of, logged_in, session_for};
use super::json::ApiJson;
use super::{Api, ApiError, Caller};
use crate::auth::LoginLimits;
use crate::customer_accounts::codes::{email_key, phone_digits};
use crate::customer_accounts::{CustomerAccounts, Sent};

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(register)
        .service(verify)
        .service(forgot)
        .service(reset)
        .service(request_code)
        .service(verify_code)
        .service(request_phone_code)
        .service(verify_phone);
}

/// The shortest password accepted (as for staff).
const MIN_PASSWORD: usize = 8;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[garde(email, length(max = 320))]
    pub email: String,
    #[garde(length(min = 1, max = 200))]
    pub name: String,
    #[garde(length(min = MIN_PASSWORD, max = 1024))]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailCodeRequest {
    #[garde(email, length(max = 320))]
    pub email: String,
    /// The six digits that were sent.
    #[garde(length(min = 1, max = 20))]
    pub code: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    #[garde(email, length(max = 320))]
    pub email: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The token of the emailed link.
    #[garde(length(min = 1, max = 200))]
    pub token: String,
    #[garde(length(min = MIN_PASSWORD, max = 1024))]
    pub password: String,
}

/// Where a login code goes: exactly one of `email` or `phone` (a WhatsApp number with country
/// code, e.g. `+55 11 98765-4321`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[garde(inner(email, length(max = 320)))]
    pub email: Option<String>,
    #[garde(inner(length(max = 40)))]
    pub phone: Option<String>,
}

/// A login code and where it went: exactly one of `email` or `phone`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeVerifyRequest {
    #[garde(inner(email, length(max = 320)))]
    pub email: Option<String>,
    #[garde(inner(length(max = 40)))]
    pub phone: Option<String>,
    #[garde(length(min = 1, max = 20))]
    pub code: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    /// The WhatsApp number, with country code.
    #[garde(length(min = 1, max = 40))]
    pub phone: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneVerifyRequest {
    #[garde(length(min = 1, max = 40))]
    pub phone: String,
    #[garde(length(min = 1, max = 20))]
    pub code: String,
}

/// The answer to a request for a code or link: the same whether or not the address has an
/// account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentResponse {
    /// Always `sent`.
    pub status: &'static str,
    /// Seconds the code or link works for, once it arrives.
    pub expires_in: i64,
}

impl From<Sent> for SentResponse {
    fn from(sent: Sent) -> SentResponse {
        SentResponse { status: "sent", expires_in: sent.expires_in }
    }
}

/// A verified WhatsApp number.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneVerifiedResponse {
    /// Who the caller is now.
    pub user: User,
    /// When the number belonged to an earlier customer profile, the caller became that profile
    /// (its conversations and tickets, with their own) and their old session ended: this is the
    /// new session's token (also set as the cookie). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn phone(text: &str) -> Result<String, ApiError> {
    phone_digits(text).ok_or_else(|| {
        ApiError::invalid("phone", "a phone number with its country code, 8 to 15 digits, e.g. +55 11 98765-4321")
    })
}

/// Exactly one of an email or a phone.
fn destination(email: Option<String>, phone_text: Option<String>) -> Result<Destination, ApiError> {
    match (email, phone_text) {
        (Some(email), None) => Ok(Destination::Email(email_key(&email))),
        (None, Some(text)) => Ok(Destination::Phone(phone(&text)?)),
        _ => Err(ApiError::invalid("email", "send either `email` or `phone`")),
    }
}

/// Create a customer account: a verification code goes to the address. The account can log
/// in once `POST /auth/verify` took the code. The answer is the same whether or not the address
/// already has an account (its owner is told by email instead).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, body = SentResponse),
        (status = 422, description = "invalid body", body = crate::error::ErrorBody),
        (status = 429, description = "too many codes asked for this address or from this client", body = crate::error::ErrorBody),
    ),
    security(())
)]
#[post("/auth/register")]
async fn register(
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    if body.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "write a name"));
    }
    let client = client_of(&logins, &request);
    let sent = accounts.register(&body.email, &body.name, body.password, client).await?;
    Ok(HttpResponse::Accepted().json(SentResponse::from(sent)))
}

/// Verify a registration with the emailed code; answers like a login.
#[utoipa::path(
    tag = "auth",
    request_body = EmailCodeRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 409, description = "`email_taken`: the address got an account meanwhile", body = crate::error::ErrorBody),
        (status = 422, description = "`invalid_code` (wrong, expired, used or out of tries) or an invalid body", body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody),
    ),
    security(())
)]
#[post("/auth/verify")]
async fn verify(
    state: Api,
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<EmailCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let user = accounts.verify_registration(&body.email, &body.code, client_of(&logins, &request)).await?;
    logged_in(&state, &request, user).await
}

/// Ask for a password-reset link (single use, 30 minutes) by email. The same answer whether or
/// not the address has an account.
#[utoipa::path(
    tag = "auth",
    request_body = ForgotRequest,
    responses((status = 202, body = SentResponse), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)),
    security(())
)]
#[post("/auth/forgot")]
async fn forgot(
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<ForgotRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let sent = accounts.forgot(&body.email, client_of(&logins, &request)).await?;
    Ok(HttpResponse::Accepted().json(SentResponse::from(sent)))
}

/// Set a new password with the emailed link's token. Every session of the user ends (their
/// open sockets close); the answer is a new session, like a login.
#[utoipa::path(
    tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 403, description = "`sso_required`: the link is an agent's or supervisor's whose account signs staff in with its identity provider", body = crate::error::ErrorBody),
        (status = 422, description = "`invalid_token` (unknown, expired or used) or an invalid body", body = crate::error::ErrorBody),
    ),
    security(())
)]
#[post("/auth/reset")]
async fn reset(
    state: Api,
    accounts: web::Data<CustomerAccounts>,
    request: HttpRequest,
    body: ApiJson<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    // A staff member kept to single sign-on gets no password from a link sent before that.
    let token_hash = crate::auth::token_hash(body.token.trim());
    if let Some(user) = state.store.reset_token_user(&token_hash, state.now()).await? {
        super::auth::password_way_open(&state, &user).await?;
    }
    let user = accounts.reset(&body.token, body.password).await?;
    logged_in(&state, &request, user).await
}

/// Ask for a one-time login code (6 digits, 10 minutes, 5 tries) by email or on WhatsApp. The
/// same answer whether or not the address belongs to a customer.
#[utoipa::path(
    tag = "auth",
    request_body = CodeRequest,
    responses((status = 202, body = SentResponse), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)),
    security(())
)]
#[post("/auth/code")]
async fn request_code(
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let destination = destination(body.email, body.phone)?;
    let sent = accounts.send_login_code(&destination, client_of(&logins, &request)).await?;
    Ok(HttpResponse::Accepted().json(SentResponse::from(sent)))
}

/// Log in with a one-time code; answers like a password login.
#[utoipa::path(
    tag = "auth",
    request_body = CodeVerifyRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 422, description = "`invalid_code` (wrong, expired, used or out of tries) or an invalid body", body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody),
    ),
    security(())
)]
#[post("/auth/code/verify")]
async fn verify_code(
    state: Api,
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<CodeVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let destination = destination(body.email, body.phone)?;
    let user = accounts.verify_login_code(&destination, &body.code, client_of(&logins, &request)).await?;
    logged_in(&state, &request, user).await
}

/// Send a code to a WhatsApp number, to verify it as the logged-in customer's (text inside the
/// number's 24-hour window, the approved `verification_code` template outside it).
#[utoipa::path(
    tag = "people",
    request_body = PhoneRequest,
    responses(
        (status = 202, body = SentResponse),
        (status = 403, description = "not a customer", body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody),
        (status = 503, description = "`graph_unavailable`: the code could not be sent", body = crate::error::ErrorBody),
    )
)]
#[post("/me/whatsapp")]
async fn request_phone_code(
    caller: Caller,
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<PhoneRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let wa_id = phone(&body.phone)?;
    let sent = accounts.send_phone_code(&caller.user, &wa_id, client_of(&logins, &request)).await?;
    Ok(HttpResponse::Accepted().json(SentResponse::from(sent)))
}

/// Confirm a WhatsApp number with the code sent to it. The number's conversations and tickets
/// become the customer's; when an earlier profile had them, the customer becomes that profile
/// (with a new session, whose token is in the answer).
#[utoipa::path(
    tag = "people",
    request_body = PhoneVerifyRequest,
    responses(
        (status = 200, body = PhoneVerifiedResponse),
        (status = 403, description = "not a customer", body = crate::error::ErrorBody),
        (status = 409, description = "`phone_in_use` or `phone_already_verified`", body = crate::error::ErrorBody),
        (status = 422, description = "`invalid_code` or an invalid body", body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody),
    )
)]
#[post("/me/whatsapp/verify")]
async fn verify_phone(
    state: Api,
    caller: Caller,
    accounts: web::Data<CustomerAccounts>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<PhoneVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let wa_id = phone(&body.phone)?;
    let verified = accounts.verify_phone(&caller.user, &wa_id, &body.code, client_of(&logins, &request)).await?;
    if !verified.merged {
        return Ok(HttpResponse::Ok().json(PhoneVerifiedResponse { user: verified.user, token: None }));
    }
    let (token, cookie) = session_for(&state, &request, &verified.user).await?;
    Ok(HttpResponse::Ok().cookie(cookie).json(PhoneVerifiedResponse { user: verified.user, token: Some(token) }))
}
