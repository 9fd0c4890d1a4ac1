//! The caller of a request, for every transport: the session token or API key from
//! `Authorization: Bearer` or the console's cookie, the same-origin check a cookie needs, and the
//! [`Caller`] extractor (which, for an API key, also checks the route's scope and spends one
//! request of the key's budget).

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use switchboard_actors::domain::{AccountId, Role, User};

use crate::api_keys::scopes::{Need, route_needs};
use crate::api_keys::{ApiKeys, KeyGrant, RateLimitStatus};
use crate::config::Settings;
use crate::error::ApiError;
use crate::sessions::Sessions;

/// The session cookie the console uses; API clients send `Authorization: Bearer` instead.
pub const SESSION_COOKIE: &str = "switchboard_session";

/// The authenticated user of a request, from `Authorization: Bearer <token>` or the session cookie.
pub struct Caller {
    pub user: User,
    pub token_hash: Vec<u8>,
    /// The API key the request came with, and its scopes; `None` for a session, which holds
    /// every scope of its user (so do tokens issued by `POST /users/{id}/tokens`: they are sessions).
    pub key: Option<KeyGrant>,
    /// The client address (after trusted proxies, as the login limits see it): what the audit
    /// log records as the actor's IP.
    pub ip: Option<std::net::IpAddr>,
}

/// Where a request's session token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer` (or `?token=` on the WebSocket): sent deliberately by a client.
    Bearer,
    /// The session cookie: sent by the browser on its own, so the request's origin must be checked.
    Cookie,
}

/// Whether a browser request comes from the hub's own pages: its `Origin` is the configured
/// public origin or the origin of the host it was sent to. Without an `Origin` (not a browser, or
/// an old one), a custom `X-Requested-With` header proves the same: other sites cannot send one
/// without a CORS preflight, which this server never grants.
pub fn same_origin(request: &HttpRequest, settings: &Settings) -> Result<(), ApiError> {
    let headers = request.headers();
    let Some(origin) = headers.get(actix_web::http::header::ORIGIN) else {
        return if headers.contains_key("x-requested-with") {
            Ok(())
        } else {
            Err(ApiError::CrossOrigin("no Origin header".to_owned()))
        };
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/').to_ascii_lowercase();
    let info = request.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host()).to_ascii_lowercase();
    if origin == settings.server.public_origin().to_ascii_lowercase() || origin == own {
        Ok(())
    } else {
        Err(ApiError::CrossOrigin(format!("Origin `{origin}`")))
    }
}

impl Caller {
    pub fn account(&self) -> AccountId {
        self.user.account_id
    }

    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.user.role.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this needs an agent, supervisor or admin"))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.role == Role::Admin { Ok(()) } else { Err(ApiError::forbidden("this needs an admin")) }
    }
}

/// An API key's user and grant: its budget spent once per request (a handler extracting the
/// caller twice spends one), then the route's scope checked (`route_needs`).
async fn authenticate_key(request: &HttpRequest, key: &str) -> Result<(User, KeyGrant), ApiError> {
    let keys = service::<ApiKeys>(request)?;
    let (user, grant, budget) = keys.authenticate(key).await?;
    if request.extensions().get::<RateLimitStatus>().is_none() {
        match budget.spend() {
            Ok(status) => {
                request.extensions_mut().insert(status);
            }
            Err((status, wait)) => {
                request.extensions_mut().insert(status);
                return Err(ApiError::KeyRateLimited(wait));
            }
        }
    }
    if let Need::Scope(scope) = route_needs(request.method(), request.match_pattern().as_deref())
        && !switchboard_actors::api_keys::allows(&grant.scopes, scope)
    {
        return Err(ApiError::InsufficientScope(scope));
    }
    Ok((user, grant))
}

/// The client a request comes from: the peer, or what trusted proxies forwarded (the same rule
/// as the login limits, `LoginLimits::client`).
pub fn client_ip(request: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = request.peer_addr().map(|peer| peer.ip());
    let forwarded_for = request.headers().get("x-forwarded-for").and_then(|value| value.to_str().ok());
    match request.app_data::<web::Data<crate::auth::login_limits::LoginLimits>>() {
        Some(limits) => peer.map(|peer| limits.client(Some(peer), forwarded_for)),
        None => peer,
    }
}

pub fn request_token(request: &HttpRequest) -> Option<(String, TokenSource)> {
    let header = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| (token.trim().to_owned(), TokenSource::Bearer));
    header.or_else(|| request.cookie(SESSION_COOKIE).map(|cookie| (cookie.value().to_owned(), TokenSource::Cookie)))
}

/// A service the app registered, or a 500 naming it (a wiring mistake, not the caller's).
pub fn service<T: ?Sized + 'static>(request: &HttpRequest) -> Result<Arc<T>, ApiError> {
    request
        .app_data::<web::Data<T>>()
        .map(|data| data.clone().into_inner())
        .ok_or_else(|| ApiError::Internal(format!("{} is not registered", std::any::type_name::<T>())))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Caller, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let services = service::<Sessions>(request).and_then(|sessions| Ok((sessions, service::<Settings>(request)?)));
        let credentials = request_token(request);
        // The browser attaches the cookie to requests other sites make it send: anything that
        // changes state must come from our own pages.
        let forged = match (&credentials, &services) {
            (Some((_, TokenSource::Cookie)), Ok((_, settings))) if !request.method().is_safe() => {
                same_origin(request, settings).err()
            }
            _ => None,
        };
        let token = credentials.map(|(token, _)| token);
        let ip = client_ip(request);
        let request = request.clone();
        Box::pin(async move {
            if let Some(refusal) = forged {
                return Err(refusal);
            }
            let (sessions, _) = services?;
            let token_hash = crate::auth::token_hash(token.as_deref().unwrap_or_default());
            let (user, key, policy) = match token.as_deref().filter(|token| crate::api_keys::is_api_key(token)) {
                Some(key) => {
                    let (user, grant) = authenticate_key(&request, key).await?;
                    (user, Some(grant), None)
                }
                None => {
                    let (user, policy) = sessions.authenticate_with_policy(token).await?;
                    (user, None, Some(policy))
                }
            };
            // "Staff must use MFA": a staff member without it (by session or by one of their
            // API keys) reaches only who they are, enrolment and logout.
            let exempt =
                crate::sessions::mfa_enrolment_exempt(request.method().as_str(), request.match_pattern().as_deref());
            if !exempt && sessions.mfa_enrolment_pending(&user, policy).await? {
                return Err(ApiError::MfaEnrolmentRequired);
            }
            Ok(Caller { user, token_hash, key, ip })
        })
    }
}
