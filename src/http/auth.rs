//! Login and logout. A login answers with an opaque token (also set as an HttpOnly cookie for
//! the console); only the token's SHA-256 is stored, so a leaked database holds no live tokens.

use std::time::Instant;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::customer_auth::{CodePurpose, Destination};
use switchboard_actors::domain::{AccountId, User, UserId};
use switchboard_actors::security::SessionKind;
use switchboard_actors::store::{NewSession, UserPatch};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, SESSION_COOKIE};
use crate::auth::{LoginLimits, PasswordPool};

pub fn routes(config: &mut ServiceConfig) {
    config.service(login).service(logout).service(me).service(update_me).service(change_password);
}

/// The interface languages the catalogs (`web/i18n/`) are written in, with the ISO 639-3 code a
/// profile stores (`User::languages`, whose first entry is the person's language).
pub const INTERFACE_LANGUAGES: [(&str, &str); 3] = [("en", "eng"), ("es", "spa"), ("pt", "por")];

/// What people change of themselves: their name and the language they read and write.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[garde(inner(length(min = 1, max = 200)))]
    pub name: Option<String>,
    /// `en`, `es` or `pt`: the language of the portal and the console, and the first language of
    /// the profile (a customer's tickets are routed by it).
    #[garde(skip)]
    pub language: Option<String>,
}

/// Change your own name or language.
#[utoipa::path(
    tag = "auth",
    request_body = UpdateMe,
    responses((status = 200, body = User), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody))
)]
#[patch("/me")]
async fn update_me(state: Api, caller: Caller, body: ApiJson<UpdateMe>) -> Result<web::Json<User>, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let name = body.name.map(|name| name.trim().to_owned());
    if name.as_deref() == Some("") {
        return Err(ApiError::invalid("name", "a name cannot be blank"));
    }
    let languages = match body.language.as_deref() {
        None => None,
        Some(given) => {
            let code = INTERFACE_LANGUAGES
                .iter()
                .find(|(short, _)| *short == given.trim().to_lowercase())
                .map(|(_, code)| (*code).to_owned())
                .ok_or_else(|| ApiError::invalid("language", "one of `en`, `es`, `pt`"))?;
            let mut languages = vec![code.clone()];
            languages.extend(caller.user.languages.iter().filter(|kept| **kept != code).cloned());
            Some(languages)
        }
    };
    let patch = UserPatch { name, languages, ..UserPatch::default() };
    Ok(web::Json(state.store.update_user(caller.account(), caller.user.id, patch).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[garde(length(min = 1, max = 1024))]
    pub current_password: String,
    /// At least 8 characters.
    #[garde(length(min = 8, max = 1024))]
    pub new_password: String,
}

/// Change your own password, proving the current one (limited like logins). Every other session
/// of yours ends, and its sockets close; this one carries on.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePassword,
    responses(
        (status = 204),
        (status = 401, description = "`invalid_credentials`: the current password is wrong", body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)
    )
)]
#[post("/me/password")]
async fn change_password(
    state: Api,
    passwords: web::Data<PasswordPool>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    caller: Caller,
    body: ApiJson<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let user =
        check_password(&state, (&passwords, &logins), &request, &caller.user.email, body.current_password).await?;
    if user.id != caller.user.id {
        return Err(ApiError::InvalidCredentials);
    }
    let password_hash = Some(passwords.hash(body.new_password).await?);
    state.store.update_user(caller.account(), user.id, UserPatch { password_hash, ..UserPatch::default() }).await?;
    state.store.delete_user_sessions(user.id, Some(&caller.token_hash)).await?;
    let except = Some(hex::encode(&caller.token_hash));
    state.live.end_sessions(caller.account(), crate::live::SessionEnd::User { user_id: user.id, except });
    state.audit(&caller, "auth.password_changed", crate::audit::Target::new("user", user.id), None, None).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[garde(length(min = 3, max = 320))]
    pub email: String,
    #[garde(length(min = 1, max = 1024))]
    pub password: String,
    /// With MFA on: the authenticator app's six digits, or one of the recovery codes.
    #[garde(inner(length(min = 1, max = 64)))]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; the console gets it as a cookie too.
    pub token: String,
    pub user: User,
    /// The account requires MFA of staff and this staff member has none yet: the console sends
    /// them to enrol (Preferences → Security).
    pub mfa_enrolment_required: bool,
}

/// Log in with email and password (and, with MFA on, `totp`).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`invalid_credentials` (wrong email or password), `mfa_required` (the password is right; send `totp`) or `invalid_mfa_code`", body = crate::error::ErrorBody),
        (status = 403, description = "`email_unverified`: the right password of a registration whose emailed code was never entered; `sso_required`: the right password of an agent or supervisor whose account signs staff in with its identity provider", body = crate::error::ErrorBody),
        (status = 422, description = "invalid body", body = crate::error::ErrorBody),
        (status = 429, description = "too many failed attempts, or every password thread busy (see Retry-After)", body = crate::error::ErrorBody),
    ),
    security(())
)]
#[post("/auth/login")]
async fn login(
    state: Api,
    passwords: web::Data<PasswordPool>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let email = body.email.trim().to_lowercase();
    let user = check_password(&state, (&passwords, &logins), &request, &email, body.password).await?;
    if let Err(refusal) = password_way_open(&state, &user).await {
        let actor = crate::audit::Actor {
            account: user.account_id,
            user: Some(user.id),
            ip: Some(client_of(&logins, &request)),
        };
        let after = Some(serde_json::json!({"method": "password", "reason": "sso_required"}));
        let target = Some(crate::audit::Target::new("user", user.id));
        crate::audit::record(&*state.store, state.now(), actor, "auth.login_failed", target, None, after).await;
        return Err(refusal);
    }
    second_factor(&state, &logins, &request, &user, body.totp.as_deref()).await?;
    let actor =
        crate::audit::Actor { account: user.account_id, user: Some(user.id), ip: Some(client_of(&logins, &request)) };
    let after = Some(serde_json::json!({"method": "password"}));
    let target = Some(crate::audit::Target::new("user", user.id));
    crate::audit::record(&*state.store, state.now(), actor, "auth.login", target, None, after).await;
    state.audit_retention.ensure(user.account_id).await;
    session_answer(&state, &request, user).await
}

/// `sso_required` for an agent or supervisor whose account signs staff in only with its
/// identity provider (checked after the password, like `mfa_required`, so it tells only someone
/// who knows the password). Admins keep the password as the way back in.
pub(super) async fn password_way_open(state: &Api, user: &User) -> Result<(), ApiError> {
    let settings = state.store.sso_settings(user.account_id).await?;
    if settings.is_some_and(|settings| settings.password_refused(user.role)) {
        return Err(ApiError::SsoRequired);
    }
    Ok(())
}

/// With MFA on, `code` must prove the second factor (limited like passwords, per user and
/// address, and per address); without it, nothing is asked.
async fn second_factor(
    state: &Api,
    logins: &LoginLimits,
    request: &HttpRequest,
    user: &User,
    code: Option<&str>,
) -> Result<(), ApiError> {
    if !super::security::mfa_enabled(state, user.id).await? {
        return Ok(());
    }
    let code = code.map(str::trim).filter(|code| !code.is_empty()).ok_or(ApiError::MfaRequired)?;
    super::security::check_code(state, logins, request, user, code).await
}

/// The answer to the ways of logging in that prove no second factor (a verified registration, a
/// login code, a password reset): a new session, unless the user has MFA on — then
/// `mfa_required`, and they log in with their password and code.
pub(super) async fn logged_in(state: &Api, request: &HttpRequest, user: User) -> Result<HttpResponse, ApiError> {
    password_way_open(state, &user).await?;
    if super::security::mfa_enabled(state, user.id).await? {
        return Err(ApiError::MfaRequired);
    }
    session_answer(state, request, user).await
}

/// A new session for `user`, whose credentials were all proved: its token in the body and as
/// the console's cookie, with whether the account's policy sends them to MFA enrolment.
async fn session_answer(state: &Api, request: &HttpRequest, user: User) -> Result<HttpResponse, ApiError> {
    let mfa_enrolment_required = super::security::enrolment_required(state, &user).await?;
    let (token, cookie) = session_for(state, request, &user).await?;
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse { token, user, mfa_enrolment_required }))
}

/// A new login session for `user`: its token and the console's cookie carrying it.
pub(super) async fn session_for(
    state: &Api,
    request: &HttpRequest,
    user: &User,
) -> Result<(String, Cookie<'static>), ApiError> {
    let ttl_hours = state.settings.auth.session_ttl_hours;
    let ttl = jiff::SignedDuration::from_hours(ttl_hours as i64);
    let device = Device::of(request)?;
    let (token, _) = start_session(state, user.id, ttl, SessionKind::Login, device).await?;
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.auth.secure_cookie || state.settings.server.https())
        .max_age(actix_web::cookie::time::Duration::hours(ttl_hours as i64))
        .finish();
    Ok((token, cookie))
}

/// The client address a request counts against in the limits (the peer, or what trusted
/// proxies forwarded).
pub(super) fn client_of(logins: &LoginLimits, request: &HttpRequest) -> std::net::IpAddr {
    let forwarded_for = request.headers().get("x-forwarded-for").and_then(|value| value.to_str().ok());
    logins.client(request.peer_addr().map(|peer| peer.ip()), forwarded_for)
}

/// The user whose `email` and `password` these are. The limits of `auth::login_limits` come
/// first (429 without hashing); then every answer costs the same argon2 run on the password pool,
/// known email or not, so neither the body nor the timing tells which emails exist.
async fn check_password(
    state: &Api,
    (passwords, logins): (&PasswordPool, &LoginLimits),
    request: &HttpRequest,
    email: &str,
    password: String,
) -> Result<User, ApiError> {
    let client = client_of(logins, request);
    let _checking = logins.start_check(client).map_err(ApiError::RateLimitedFor)?;
    let attempt = logins.admit(email, client, Instant::now()).map_err(ApiError::RateLimitedFor)?;
    let credentials = state.store.user_credentials(email).await?;
    let known = credentials.as_ref().map(|credentials| (credentials.user.account_id, credentials.user.id));
    let user = credentials.and_then(|credentials| {
        let hash = credentials.password_hash.filter(|hash| credentials.user.active && !hash.is_empty())?;
        Some((credentials.user, hash))
    });
    let (user, mut stored) = user.unzip();
    // No password of an account: maybe one waiting for its registration's code. Checked the
    // same way, so only someone who knows that password learns the account is unverified.
    let mut unverified = false;
    if stored.is_none() {
        let destination = Destination::Email(email.to_owned()).key();
        let pending = state.store.code(CodePurpose::Register, &destination).await?;
        stored = pending.filter(|code| code.expires_at > state.now()).and_then(|code| code.password_hash);
        unverified = stored.is_some();
    }
    match passwords.verify(password, stored).await {
        Ok(true) if unverified => {
            logins.succeeded(attempt);
            Err(ApiError::EmailUnverified)
        }
        Ok(true) => {
            logins.succeeded(attempt);
            user.ok_or_else(|| ApiError::Internal("a password matched no user".to_owned()))
        }
        Ok(false) => {
            login_failed(state, known, client, email);
            Err(ApiError::InvalidCredentials)
        }
        Err(error) => {
            logins.not_checked(attempt);
            Err(error.into())
        }
    }
}

/// Where a session was started from: the request's User-Agent and client address.
pub struct Device {
    pub user_agent: String,
    pub ip: String,
}

impl Device {
    pub fn of(request: &HttpRequest) -> Result<Device, ApiError> {
        let logins = crate::auth::service::<LoginLimits>(request)?;
        let user_agent = request.headers().get(actix_web::http::header::USER_AGENT);
        Ok(Device {
            user_agent: user_agent.and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned(),
            ip: client_of(&logins, request).to_string(),
        })
    }
}

/// Records a failed password login in the audit log, off the request's path so the answer's
/// timing does not depend on it: in the account of the user the email belongs to, or (an email
/// of no user) in the installation's first account, the one the operator administers. The
/// actor is unknown either way; the email typed is kept, the password never.
fn login_failed(state: &Api, known: Option<(AccountId, UserId)>, client: std::net::IpAddr, email: &str) {
    let store = state.store.clone();
    let sweeps = state.audit_retention.clone();
    let at = state.now();
    let email = email.to_owned();
    tokio::spawn(async move {
        let account = match known {
            Some((account, _)) => Some(account),
            None => store.first_account().await.ok().flatten().map(|account| account.id),
        };
        let Some(account) = account else { return };
        let actor = crate::audit::Actor { account, user: None, ip: Some(client) };
        let target = known.map(|(_, user)| crate::audit::Target::new("user", user));
        let reason = if known.is_some() { "wrong_password" } else { "unknown_email" };
        let after = Some(serde_json::json!({"email": email, "reason": reason}));
        crate::audit::record(&*store, at, actor, "auth.login_failed", target, None, after).await;
        sweeps.ensure(account).await;
    });
}

/// Stores a new session for `user` lasting `ttl`; its token (shown once) and when it expires.
pub async fn start_session(
    state: &Api,
    user: UserId,
    ttl: jiff::SignedDuration,
    kind: SessionKind,
    device: Device,
) -> Result<(String, jiff::Timestamp), ApiError> {
    let expires_at = state.now().saturating_add(ttl).map_err(|error| ApiError::Internal(error.to_string()))?;
    let (token, token_hash) = crate::auth::new_token();
    let Device { user_agent, ip } = device;
    state.store.create_session(NewSession { token_hash, user_id: user, expires_at, kind, user_agent, ip }).await?;
    Ok((token, expires_at))
}

/// End the current session; its token stops working at once.
#[utoipa::path(tag = "auth", responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
#[post("/auth/logout")]
async fn logout(state: Api, caller: Caller) -> Result<HttpResponse, ApiError> {
    state.store.delete_session(&caller.token_hash).await?;
    // Its sockets close too (on every node), or they would keep receiving internal notes.
    let end = crate::live::SessionEnd::Session { session: hex::encode(&caller.token_hash) };
    state.live.end_sessions(caller.account(), end);
    let mut expired = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}

/// The logged-in user, with their MFA state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// A second factor (TOTP) is on.
    pub mfa_enabled: bool,
    /// The account requires MFA of staff and this staff member has none yet.
    pub mfa_enrolment_required: bool,
    /// With MFA on: how many of the recovery codes are still unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes_left: Option<i64>,
}

/// The logged-in user.
#[utoipa::path(tag = "auth", responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
#[get("/me")]
async fn me(state: Api, caller: Caller, _: web::Query<super::NoParams>) -> Result<web::Json<Me>, ApiError> {
    let mfa_enabled = super::security::mfa_enabled(&state, caller.user.id).await?;
    let mfa_enrolment_required = super::security::enrolment_required(&state, &caller.user).await?;
    let recovery_codes_left =
        if mfa_enabled { Some(state.store.recovery_codes_left(caller.user.id).await?) } else { None };
    Ok(web::Json(Me { user: caller.user, mfa_enabled, mfa_enrolment_required, recovery_codes_left }))
}
