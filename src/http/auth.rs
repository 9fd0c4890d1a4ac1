//! Login and logout. A login answers with an opaque token (also set as an HttpOnly cookie for
//! the console); only the token's SHA-256 is stored, so a leaked database holds no live tokens.

use std::time::Instant;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::customer_auth::{CodePurpose, Destination};
use switchboard_actors::domain::{User, UserId};
use switchboard_actors::store::NewSession;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, SESSION_COOKIE};
use crate::auth::{LoginLimits, PasswordPool};

pub fn routes(config: &mut ServiceConfig) {
    config.service(login).service(logout).service(me);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[garde(length(min = 3, max = 320))]
    pub email: String,
    #[garde(length(min = 1, max = 1024))]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; the console gets it as a cookie too.
    pub token: String,
    pub user: User,
}

/// Log in with email and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong email or password", body = crate::error::ErrorBody),
        (status = 403, description = "`email_unverified`: the right password of a registration whose emailed code was never entered", body = crate::error::ErrorBody),
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
    logged_in(&state, user).await
}

/// The answer to every way of logging in (password, a verified registration, a login code, a
/// password reset): a new session, its token in the body and as the console's cookie.
pub(super) async fn logged_in(state: &Api, user: User) -> Result<HttpResponse, ApiError> {
    let (token, cookie) = session_for(state, &user).await?;
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse { token, user }))
}

/// A new session for `user`: its token and the console's cookie carrying it.
pub(super) async fn session_for(state: &Api, user: &User) -> Result<(String, Cookie<'static>), ApiError> {
    let ttl_hours = state.settings.auth.session_ttl_hours;
    let (token, _) = start_session(state, user.id, jiff::SignedDuration::from_hours(ttl_hours as i64)).await?;
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
    let attempt = logins.admit(email, client, Instant::now()).map_err(ApiError::RateLimitedFor)?;
    let user = state.store.user_credentials(email).await?.and_then(|credentials| {
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
        Ok(false) => Err(ApiError::InvalidCredentials),
        Err(error) => {
            logins.not_checked(attempt);
            Err(error.into())
        }
    }
}

/// Stores a new session for `user` lasting `ttl`; its token (shown once) and when it expires.
pub async fn start_session(
    state: &Api,
    user: UserId,
    ttl: jiff::SignedDuration,
) -> Result<(String, jiff::Timestamp), ApiError> {
    let expires_at = state.now().saturating_add(ttl).map_err(|error| ApiError::Internal(error.to_string()))?;
    let (token, token_hash) = crate::auth::new_token();
    state.store.create_session(NewSession { token_hash, user_id: user, expires_at }).await?;
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

/// The logged-in user.
#[utoipa::path(tag = "auth", responses((status = 200, body = User), (status = 401, body = crate::error::ErrorBody)))]
#[get("/me")]
async fn me(caller: Caller, _: web::Query<super::NoParams>) -> web::Json<User> {
    web::Json(caller.user)
}
