//! The HTTP surface: REST API under `/api/v1`, the OpenAPI document, operations endpoints and
//! the embedded console. Handlers are thin: authenticate, validate, call a store or actor, map.

mod auth;
mod channel_secrets;
mod console;
pub mod error;
mod json;
mod ops;
mod people;
mod settings;
mod tickets;
mod whatsapp;

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use jiff::Timestamp;
use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{AccountConfig, AccountId, Role, User};
use switchboard_actors::store::{Store, TicketScope};
use switchboard_actors::ticket::Tickets;
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt as _;

use crate::config::Settings;
pub use error::ApiError;

/// The session cookie the console uses; API clients send `Authorization: Bearer` instead.
pub const SESSION_COOKIE: &str = "switchboard_session";

/// Shared by every request handler.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tickets: Tickets,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Option<PrometheusHandle>,
    /// Live pushes: sockets, subscriptions, presence.
    pub live: Arc<crate::ws::Hub>,
    pub sockets: crate::ws::SocketSettings,
    /// The WhatsApp channel.
    pub whatsapp: Option<Arc<crate::channels::whatsapp::WhatsAppChannel>>,
    /// The Graph API simulator and customer phone, when `whatsapp.sandbox` is on.
    pub sandbox: Option<Arc<crate::channels::whatsapp::sandbox::Sandbox>>,
    /// The email channel.
    pub email: Option<Arc<crate::channels::email::EmailChannel>>,
    /// The sandbox mailbox, when `email.sandbox` is on.
    pub mail_sandbox: Option<Arc<crate::channels::email::sandbox::MailSandbox>>,
    /// Every password hash and check runs here (bounded threads and memory).
    passwords: crate::auth::PasswordPool,
    /// Who may try a password now: per email and address, and per address.
    logins: crate::auth::LoginLimits,
    /// The channels' secrets in effect (configured, or generated per install), for admins.
    pub secrets: Option<Arc<crate::channels::secrets::ChannelSecrets>>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        tickets: Tickets,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
        metrics: Option<PrometheusHandle>,
        live: Arc<crate::ws::Hub>,
        whatsapp: Option<Arc<crate::channels::whatsapp::WhatsAppChannel>>,
    ) -> AppState {
        let sockets = crate::ws::SocketSettings {
            ping_interval: Duration::from_secs(settings.ws.ping_interval_secs),
            client_timeout: Duration::from_secs(settings.ws.client_timeout_secs),
            max_frame_bytes: settings.ws.max_frame_bytes,
            outbox_frames: settings.ws.outbox_frames,
            max_frames_per_sec: settings.ws.max_frames_per_sec,
            max_sockets_per_user: settings.ws.max_sockets_per_user,
        };
        let passwords = crate::auth::PasswordPool::start(
            settings.auth.password_threads,
            Duration::from_millis(settings.auth.password_wait_ms),
        );
        let logins = crate::auth::LoginLimits::new((&settings.auth).into(), &settings.server.trusted_proxies);
        AppState {
            store,
            tickets,
            settings,
            clock,
            metrics,
            live,
            sockets,
            whatsapp,
            sandbox: None,
            email: None,
            mail_sandbox: None,
            passwords,
            logins,
            secrets: None,
        }
    }

    /// The account's statuses, matrix, fields and categories, cached briefly.
    pub async fn account_config(&self, account: AccountId) -> Result<Arc<AccountConfig>, ApiError> {
        Ok(self.live.accounts().get(account).await?)
    }

    pub fn forget_account_config(&self, account: AccountId) {
        self.live.accounts().forget(account);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The authenticated user of a request, from `Authorization: Bearer <token>` or the session cookie.
pub struct Caller {
    pub user: User,
    pub token_hash: Vec<u8>,
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

pub fn request_token(request: &HttpRequest) -> Option<(String, TokenSource)> {
    let header = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| (token.trim().to_owned(), TokenSource::Bearer));
    header.or_else(|| request.cookie(SESSION_COOKIE).map(|cookie| (cookie.value().to_owned(), TokenSource::Cookie)))
}

/// The user of a live session token.
pub async fn authenticate(state: &AppState, token: Option<String>) -> Result<User, ApiError> {
    let token = token.filter(|token| !token.is_empty()).ok_or(ApiError::Unauthenticated)?;
    let token_hash = crate::auth::token_hash(&token);
    state.store.session_user(&token_hash, state.now()).await?.ok_or(ApiError::Unauthenticated)
}

/// Which tickets a customer may see: their own, or their company's when it shares.
pub async fn customer_scope(state: &AppState, user: &User) -> Result<TicketScope, ApiError> {
    if let Some(company_id) = user.company_id
        && let Some(company) = state.store.company(user.account_id, company_id).await?
        && company.members_see_company_tickets
    {
        return Ok(TicketScope::RequesterOrCompany(user.id, company_id));
    }
    Ok(TicketScope::Requester(user.id))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Caller, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let credentials = request_token(request);
        // The browser attaches the cookie to requests other sites make it send: anything that
        // changes state must come from our own pages.
        let forged = match (&credentials, &state) {
            (Some((_, TokenSource::Cookie)), Some(state)) if !request.method().is_safe() => {
                same_origin(request, &state.settings).err()
            }
            _ => None,
        };
        let token = credentials.map(|(token, _)| token);
        Box::pin(async move {
            if let Some(refusal) = forged {
                return Err(refusal);
            }
            let state = state.ok_or_else(|| ApiError::Internal("app state missing".to_owned()))?;
            let token_hash = crate::auth::token_hash(token.as_deref().unwrap_or_default());
            let user = authenticate(&state, token).await?;
            Ok(Caller { user, token_hash })
        })
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Customer-support hub: tickets, messages, people, live events."),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

fn api_routes(scope: &mut utoipa_actix_web::service_config::ServiceConfig) {
    auth::routes(scope);
    channel_secrets::routes(scope);
    tickets::routes(scope);
    people::routes(scope);
    settings::routes(scope);
    whatsapp::routes(scope);
}

/// The OpenAPI document of everything under `/api/v1`, collected from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, openapi) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(api_routes))
        .split_for_parts();
    openapi
}

/// Registers every route, with the extractor error handlers that keep refusals uniform.
pub fn configure(config: &mut web::ServiceConfig, state: web::Data<AppState>, openapi: Arc<String>) {
    let query = web::QueryConfig::default().error_handler(|error, _| error::query_error(error).into());
    let path = web::PathConfig::default().error_handler(|error, _| error::path_error(error).into());
    let max_email_bytes = state.settings.email.max_message_bytes;
    config
        .app_data(state)
        .app_data(query)
        .app_data(path)
        .service(
            web::scope("/api/v1")
                .route("/ws", web::get().to(crate::ws::connect))
                .configure(|scope| api_routes(&mut utoipa_actix_web::service_config::ServiceConfig::new(scope)))
                .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::NotFound("route")) })),
        )
        .route(
            "/api/openapi.json",
            web::get().to(move || {
                let openapi = openapi.clone();
                async move {
                    actix_web::HttpResponse::Ok().content_type("application/json").body(openapi.as_bytes().to_vec())
                }
            }),
        )
        .configure(crate::channels::whatsapp::routes)
        .configure(crate::channels::whatsapp::sandbox::routes)
        .configure(|config| crate::channels::email::routes(config, max_email_bytes))
        .configure(crate::channels::email::sandbox::routes)
        .configure(ops::routes)
        .configure(console::routes);
}
