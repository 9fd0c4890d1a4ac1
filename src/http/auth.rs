//! Login and logout. A login answers with an opaque token (also set as an HttpOnly cookie for
//! the console); only the token's SHA-256 is stored, so a leaked database holds no live tokens.

use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpResponse, get, post, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::{User, UserId};
use switchboard_actors::store::NewSession;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{ApiError, AppState, Caller, SESSION_COOKIE};

pub fn routes(config: &mut ServiceConfig) {
    config.service(login).service(logout).service(me);
}

/// The window failed logins are counted in.
const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Emails with failed-login counts kept before expired ones are swept out.
const MAX_TRACKED_LOGINS: usize = 10_000;

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
        (status = 401, description = "wrong email or password", body = super::error::ErrorBody),
        (status = 422, description = "invalid body", body = super::error::ErrorBody),
        (status = 429, description = "too many failed attempts", body = super::error::ErrorBody),
    ),
    security(())
)]
#[post("/auth/login")]
async fn login(state: web::Data<AppState>, body: ApiJson<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let email = body.email.trim().to_lowercase();
    let limit = state.settings.auth.login_attempts_per_minute;
    // Count the attempt before the slow password check, in one step with the limit check, so
    // parallel guesses cannot all pass the check before any of them is counted. Success clears it.
    {
        let mut entry = state.failed_logins.entry(email.clone()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= LOGIN_WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= limit {
            return Err(ApiError::RateLimited);
        }
        entry.1 += 1;
    }
    if state.failed_logins.len() > MAX_TRACKED_LOGINS {
        // Guesses at many addresses must not grow the map without bound: drop expired windows.
        state.failed_logins.retain(|_, (since, _)| since.elapsed() < LOGIN_WINDOW);
    }
    let credentials = state.store.user_credentials(&email).await?;
    let password = body.password;
    let verified = match credentials {
        Some(credentials) if credentials.user.active => {
            let hash = credentials.password_hash.clone().unwrap_or_default();
            let ok = web::block(move || crate::auth::verify_password(&password, &hash))
                .await
                .map_err(|error| ApiError::Internal(error.to_string()))?;
            ok.then_some(credentials.user)
        }
        _ => None,
    };
    let user = verified.ok_or(ApiError::InvalidCredentials)?;
    state.failed_logins.remove(&email);
    let ttl_hours = state.settings.auth.session_ttl_hours;
    let (token, _) = start_session(&state, user.id, jiff::SignedDuration::from_hours(ttl_hours as i64)).await?;
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.auth.secure_cookie || state.settings.server.https())
        .max_age(actix_web::cookie::time::Duration::hours(ttl_hours as i64))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse { token, user }))
}

/// Stores a new session for `user` lasting `ttl`; its token (shown once) and when it expires.
pub async fn start_session(
    state: &AppState,
    user: UserId,
    ttl: jiff::SignedDuration,
) -> Result<(String, jiff::Timestamp), ApiError> {
    let expires_at = state.now().saturating_add(ttl).map_err(|error| ApiError::Internal(error.to_string()))?;
    let (token, token_hash) = crate::auth::new_token();
    state.store.create_session(NewSession { token_hash, user_id: user, expires_at }).await?;
    Ok((token, expires_at))
}

/// End the current session; its token stops working at once.
#[utoipa::path(tag = "auth", responses((status = 204), (status = 401, body = super::error::ErrorBody)))]
#[post("/auth/logout")]
async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    state.store.delete_session(&caller.token_hash).await?;
    // Its sockets close too (on every node), or they would keep receiving internal notes.
    let end = crate::ws::hub::SessionEnd::Session { session: hex::encode(&caller.token_hash) };
    state.live.end_sessions(caller.account(), end);
    let mut expired = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}

/// The logged-in user.
#[utoipa::path(tag = "auth", responses((status = 200, body = User), (status = 401, body = super::error::ErrorBody)))]
#[get("/me")]
async fn me(caller: Caller) -> web::Json<User> {
    web::Json(caller.user)
}
