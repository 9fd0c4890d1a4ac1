//! Single sign-on for staff (issue 17 item 3): the account's OpenID Connect provider
//! (`/account/sso`, admins; the client secret is write-only), whether the login page offers it
//! (`GET /auth/sso`), and the browser's round trip (`/auth/sso/start` → the provider →
//! `/auth/sso/callback`). The round trip is for browsers: it answers with redirects, a session
//! cookie on success and `/agent?sso_error=<code>` on failure, never a JSON body.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::AccountId;
use switchboard_actors::sso::{LOGIN_TTL, SsoSettings};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Actor, Target};
use crate::auth::LoginLimits;
use crate::error::ErrorBody;
use crate::sso::{Sso, SsoError, SsoFailure};

/// The cookie binding a sign-in to the browser that started it (only its SHA-256 is stored).
const BROWSER_COOKIE: &str = "switchboard_sso";
/// Where that cookie is sent: the start and the callback, nothing else.
const BROWSER_COOKIE_PATH: &str = "/api/v1/auth/sso";
const CALLBACK_PATH: &str = "/api/v1/auth/sso/callback";
/// Where a browser lands after the round trip: the console (the site's root is the help center).
const CONSOLE_PATH: &str = "/agent";

pub fn routes(config: &mut ServiceConfig) {
    config.service(get_settings).service(put_settings).service(status).service(start).service(callback);
}

/// The account's identity provider as admins see it: the client secret only as set or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoSettingsView {
    /// Nothing was saved yet (the other fields are empty).
    pub configured: bool,
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is stored; the secret itself is never shown again.
    pub client_secret_set: bool,
    pub enabled: bool,
    /// Agents and supervisors sign in only with the provider (admins keep their password).
    pub sso_only_for_staff: bool,
    /// The redirect URI to register with the provider.
    pub redirect_uri: String,
    #[schema(value_type = Option<String>)]
    pub updated_at: Option<jiff::Timestamp>,
}

fn view(settings: Option<&SsoSettings>, redirect_uri: String) -> SsoSettingsView {
    SsoSettingsView {
        configured: settings.is_some(),
        issuer: settings.map(|settings| settings.issuer.clone()).unwrap_or_default(),
        client_id: settings.map(|settings| settings.client_id.clone()).unwrap_or_default(),
        client_secret_set: settings.is_some_and(|settings| settings.client_secret.is_some()),
        enabled: settings.is_some_and(|settings| settings.enabled),
        sso_only_for_staff: settings.is_some_and(|settings| settings.sso_only_for_staff),
        redirect_uri,
        updated_at: settings.map(|settings| settings.updated_at),
    }
}

/// What the audit log keeps of the settings (the secret as set or not: `redact` hides its value).
fn audited(settings: &SsoSettings) -> Option<serde_json::Value> {
    Some(serde_json::json!({
        "issuer": settings.issuer,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "enabled": settings.enabled,
        "sso_only_for_staff": settings.sso_only_for_staff,
    }))
}

/// The URI the provider sends browsers back to: on the configured public URL, else on the host
/// this request was sent to (the provider only accepts the one registered with it).
fn redirect_uri(state: &Api, request: &HttpRequest) -> String {
    let origin = if state.settings.server.public_url.is_empty() {
        let info = request.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    } else {
        state.settings.server.public_origin()
    };
    format!("{origin}{CALLBACK_PATH}")
}

/// The account's identity provider (admins).
#[utoipa::path(
    tag = "settings",
    responses((status = 200, body = SsoSettingsView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/account/sso")]
async fn get_settings(
    state: Api,
    caller: Caller,
    request: HttpRequest,
    _: web::Query<NoParams>,
) -> Result<web::Json<SsoSettingsView>, ApiError> {
    caller.require_admin()?;
    let settings = state.store.sso_settings(caller.account()).await?;
    Ok(web::Json(view(settings.as_ref(), redirect_uri(&state, &request))))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSsoSettings {
    /// The provider's issuer URL: https (http only for a provider on this machine).
    #[garde(length(min = 1, max = crate::sso::MAX_ISSUER))]
    pub issuer: String,
    #[garde(length(min = 1, max = 500))]
    pub client_id: String,
    /// Write-only. Absent or `null` keeps the stored secret; `""` removes it (a public client,
    /// PKCE alone).
    #[garde(inner(length(max = 2000)))]
    pub client_secret: Option<String>,
    #[garde(skip)]
    pub enabled: bool,
    /// Agents and supervisors may then sign in only with the provider; needs `enabled`.
    #[garde(skip)]
    pub sso_only_for_staff: bool,
}

/// Replace the account's identity provider (admins). With `enabled`, the issuer's discovery
/// document and key set are fetched and checked first (`sso_discovery_failed` saves nothing);
/// a disabled provider is only checked for shape, so SSO can be turned off while the provider
/// is down. Audited as `settings.sso_updated` (the secret redacted).
#[utoipa::path(
    tag = "settings",
    request_body = PutSsoSettings,
    responses(
        (status = 200, body = SsoSettingsView),
        (status = 403, body = ErrorBody),
        (status = 422, description = "`validation_failed` (issuer, client_id, sso_only_for_staff) or `sso_discovery_failed`", body = ErrorBody)
    )
)]
#[put("/account/sso")]
async fn put_settings(
    state: Api,
    caller: Caller,
    sso: web::Data<Sso>,
    request: HttpRequest,
    body: ApiJson<PutSsoSettings>,
) -> Result<web::Json<SsoSettingsView>, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let issuer = crate::sso::issuer_url(&body.issuer)?.as_str().to_owned();
    let client_id = body.client_id.trim().to_owned();
    if client_id.is_empty() {
        return Err(ApiError::invalid("client_id", "the client id the provider gave this hub"));
    }
    if body.sso_only_for_staff && !body.enabled {
        return Err(ApiError::invalid("sso_only_for_staff", "requiring SSO of staff needs SSO enabled"));
    }
    let before = state.store.sso_settings(caller.account()).await?;
    let client_secret = match body.client_secret {
        None => before.as_ref().and_then(|before| before.client_secret.clone()),
        Some(secret) if secret.trim().is_empty() => None,
        Some(secret) => Some(secret.trim().to_owned()),
    };
    if body.enabled {
        sso.discover(&issuer).await?;
    }
    let settings = SsoSettings {
        issuer,
        client_id,
        client_secret,
        enabled: body.enabled,
        sso_only_for_staff: body.sso_only_for_staff,
        updated_at: state.now(),
    };
    state.store.set_sso_settings(caller.account(), &settings).await?;
    let target = Target::new("account", caller.account());
    state.audit(&caller, "settings.sso_updated", target, before.as_ref().and_then(audited), audited(&settings)).await;
    Ok(web::Json(view(Some(&settings), redirect_uri(&state, &request))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccountParam {
    /// The account whose staff sign in (default: the installation's first account).
    pub account: Option<AccountId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SsoStatus {
    pub account: AccountId,
    /// The account offers "Sign in with SSO".
    pub enabled: bool,
    /// Where the login page's button goes (only when enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_url: Option<String>,
}

/// The account meant: the one named, else the installation's first (the one the login page
/// serves by default).
async fn account_of(state: &Api, param: &AccountParam) -> Result<Option<AccountId>, ApiError> {
    match param.account {
        Some(account) => Ok(Some(account)),
        None => Ok(state.store.first_account().await?.map(|account| account.id)),
    }
}

/// Whether the login page offers single sign-on for an account (no session needed).
#[utoipa::path(tag = "auth", params(AccountParam), responses((status = 200, body = SsoStatus)), security(()))]
#[get("/auth/sso")]
async fn status(state: Api, param: web::Query<AccountParam>) -> Result<web::Json<SsoStatus>, ApiError> {
    let Some(account) = account_of(&state, &param).await? else {
        return Ok(web::Json(SsoStatus { account: 0, enabled: false, start_url: None }));
    };
    let enabled = state.store.sso_settings(account).await?.is_some_and(|settings| settings.enabled);
    let start_url = enabled.then(|| format!("/api/v1/auth/sso/start?account={account}"));
    Ok(web::Json(SsoStatus { account, enabled, start_url }))
}

/// A browser's way back to the console after a failure: the login page shows the code's message.
fn back_to_login(code: crate::error::ErrorCode, forget: Option<Cookie<'static>>) -> HttpResponse {
    let mut answer = HttpResponse::SeeOther();
    answer.insert_header((header::LOCATION, format!("{CONSOLE_PATH}?sso_error={code}")));
    if let Some(cookie) = forget {
        answer.cookie(cookie);
    }
    answer.finish()
}

fn browser_cookie(state: &Api, value: String, max_age: actix_web::cookie::time::Duration) -> Cookie<'static> {
    Cookie::build(BROWSER_COOKIE, value)
        .path(BROWSER_COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.auth.secure_cookie || state.settings.server.https())
        .max_age(max_age)
        .finish()
}

/// Send the browser to the account's identity provider (authorization code flow with PKCE,
/// `state` and `nonce`; the sign-in waits 10 minutes, once, for this browser). A redirect to
/// the provider (303), or back to the login page with `?sso_error=sso_not_configured` or
/// `sso_discovery_failed`; 429 after 20 starts from one address within a minute.
#[utoipa::path(
    tag = "auth",
    params(AccountParam),
    responses(
        (status = 303, description = "to the provider, or back to `/agent?sso_error=<code>`"),
        (status = 429, description = "too many sign-ins started from this address (see Retry-After)", body = ErrorBody)
    ),
    security(())
)]
#[get("/auth/sso/start")]
async fn start(
    state: Api,
    sso: web::Data<Sso>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    param: web::Query<AccountParam>,
) -> Result<HttpResponse, ApiError> {
    sso.admit_start(super::auth::client_of(&logins, &request)).map_err(ApiError::RateLimitedFor)?;
    let Some(account) = account_of(&state, &param).await? else {
        return Ok(back_to_login(crate::error::ErrorCode::SsoNotConfigured, None));
    };
    match sso.start(account, redirect_uri(&state, &request)).await {
        Ok(started) => {
            let max_age = actix_web::cookie::time::Duration::seconds(LOGIN_TTL.as_secs());
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, started.authorize_url))
                .cookie(browser_cookie(&state, started.browser_token, max_age))
                .finish())
        }
        Err(SsoError::Store(error)) => Err(error.into()),
        Err(error) => {
            tracing::info!(%error, account, "a single sign-on could not start");
            Ok(back_to_login(ApiError::from(error).code(), None))
        }
    }
}

/// What a provider sends back. Not `deny_unknown_fields`: providers add parameters of their own
/// (`iss`, `session_state`, `scope`, `authuser`…), and refusing them would refuse every sign-in.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    /// The provider's refusal (`access_denied`…), instead of a code.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The provider's answer: the sign-in taken (once), the code exchanged, the ID token verified
/// and the account's active staff member with that verified email signed in like a password
/// login (the same session cookie), which satisfies the account's MFA policy: the provider owns
/// the factors. Audited as `auth.login` (method `sso`) or `auth.login_failed` with the reason.
#[utoipa::path(
    tag = "auth",
    params(CallbackParams),
    responses((status = 303, description = "to the console with the session cookie, or to `/agent?sso_error=<code>`: `sso_invalid_state`, `sso_refused`, `sso_invalid_token`, `sso_email_unverified`, `sso_unknown_user`, `sso_not_configured`, `sso_discovery_failed`")),
    security(())
)]
#[get("/auth/sso/callback")]
async fn callback(
    state: Api,
    sso: web::Data<Sso>,
    logins: web::Data<LoginLimits>,
    request: HttpRequest,
    params: web::Query<CallbackParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let client = super::auth::client_of(&logins, &request);
    let browser = request.cookie(BROWSER_COOKIE).map(|cookie| cookie.value().to_owned());
    let finished = match (params.state.as_deref(), params.code.as_deref(), params.error.as_deref()) {
        (Some(login_state), Some(code), None) => sso.finish(login_state, browser.as_deref(), code).await,
        (Some(login_state), _, refusal) => {
            // Used up either way: a refused sign-in cannot be finished later.
            let account =
                state.store.take_sso_login(&crate::auth::token_hash(login_state)).await?.map(|l| l.account_id);
            let said = params.error_description.or(refusal.map(str::to_owned)).unwrap_or_else(|| "no code".to_owned());
            Err(SsoFailure { account, email: None, error: SsoError::Provider(said.chars().take(200).collect()) })
        }
        (None, _, _) => Err(SsoFailure { account: None, email: None, error: SsoError::InvalidState }),
    };
    let mut forget = Cookie::build(BROWSER_COOKIE, "").path(BROWSER_COOKIE_PATH).finish();
    forget.make_removal();
    let user = match finished {
        Ok(user) => user,
        Err(SsoFailure { error: SsoError::Store(error), .. }) => return Err(error.into()),
        Err(failure) => {
            tracing::info!(error = %failure.error, account = ?failure.account, "a single sign-on failed");
            if let Some(account) = failure.account {
                let actor = Actor { account, user: None, ip: Some(client) };
                let after =
                    serde_json::json!({"method": "sso", "reason": failure.error.reason(), "email": failure.email});
                crate::audit::record(&*state.store, state.now(), actor, "auth.login_failed", None, None, Some(after))
                    .await;
                state.audit_retention.ensure(account).await;
            }
            return Ok(back_to_login(ApiError::from(failure.error).code(), Some(forget)));
        }
    };
    let actor = Actor { account: user.account_id, user: Some(user.id), ip: Some(client) };
    let target = Some(Target::new("user", user.id));
    let after = Some(serde_json::json!({"method": "sso"}));
    crate::audit::record(&*state.store, state.now(), actor, "auth.login", target, None, after).await;
    state.audit_retention.ensure(user.account_id).await;
    let (_, session) = super::auth::session_for(&state, &request, &user).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, CONSOLE_PATH)).cookie(session).cookie(forget).finish())
}
