//! The HTTP surface: REST API under `/api/v1`, the OpenAPI document, operations endpoints and
//! the embedded console. Handlers are thin: authenticate, validate, call a store or actor, map.

mod api_keys;
mod audit;
mod auth;
mod automations;
mod channel_secrets;
mod companies;
mod console;
mod csat;
mod csat_page;
mod customer_auth;
mod dashboard;
mod gdpr;
mod help;
mod json;
mod kb;
mod notifications;
mod ops;
mod people;
mod report_schedules;
mod reports;
mod routing;
mod security;
mod settings;
mod sso;
mod tickets;
mod views;
mod webhooks;
mod whatsapp;

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use jiff::Timestamp;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{AccountConfig, AccountId};
use switchboard_actors::store::Store;
use switchboard_actors::ticket::Tickets;
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt as _;

use crate::accounts::AccountConfigs;
use crate::auth::service;
pub use crate::auth::{Caller, SESSION_COOKIE};
use crate::channels::Channels;
use crate::config::Settings;
use crate::error;
pub use crate::error::ApiError;
use crate::live::Hub;
use crate::sessions::Sessions;

/// The query string of a list endpoint that takes no parameters: any parameter is refused with
/// 400 `invalid_query` naming it, never silently ignored (DESIGN §6).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// What the REST handlers share, taken per request from the services the app registered (each
/// its own `web::Data`): the extractor owns nothing, so no module depends on a central state.
pub struct Api {
    pub store: Arc<dyn Store>,
    pub tickets: Arc<Tickets>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub accounts: Arc<AccountConfigs>,
    /// Live pushes: subscriptions and delivery, viewers, the last seq a user saw.
    pub live: Arc<Hub>,
    /// The customer channels and what a reply can reach.
    pub channels: Arc<Channels>,
    /// Session tokens to users, customers to the tickets they may see.
    pub sessions: Arc<Sessions>,
    /// The audit log's retention sweeps, set with an account's first entry.
    pub audit_retention: Arc<crate::audit::retention::AuditRetention>,
}

impl Api {
    fn from_services(request: &HttpRequest) -> Result<Api, ApiError> {
        Ok(Api {
            store: service(request)?,
            tickets: service(request)?,
            settings: service(request)?,
            clock: service(request)?,
            accounts: service(request)?,
            live: service(request)?,
            channels: service(request)?,
            sessions: service(request)?,
            audit_retention: service(request)?,
        })
    }

    /// The account's statuses, matrix, fields and categories, cached briefly.
    pub async fn account_config(&self, account: AccountId) -> Result<Arc<AccountConfig>, ApiError> {
        Ok(self.accounts.get(account).await?)
    }

    pub fn forget_account_config(&self, account: AccountId) {
        self.accounts.forget(account);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Records `action` by the caller in the audit log, after the change succeeded
    /// ([`crate::audit::record`]; `before`/`after` are redacted there).
    pub async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target: crate::audit::Target,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) {
        crate::audit::record(&*self.store, self.now(), caller, action, Some(target), before, after).await;
        self.audit_retention.ensure(caller.account()).await;
    }
}

impl FromRequest for Api {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Api, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Api::from_services(request))
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

fn documented_routes(scope: &mut utoipa_actix_web::service_config::ServiceConfig) {
    auth::routes(scope);
    api_keys::routes(scope);
    audit::routes(scope);
    customer_auth::routes(scope);
    dashboard::routes(scope);
    automations::routes(scope);
    channel_secrets::routes(scope);
    companies::routes(scope);
    csat::routes(scope);
    gdpr::routes(scope);
    kb::routes(scope);
    tickets::routes(scope);
    notifications::routes(scope);
    people::routes(scope);
    report_schedules::routes(scope);
    reports::routes(scope);
    routing::routes(scope);
    security::routes(scope);
    settings::routes(scope);
    sso::routes(scope);
    views::routes(scope);
    webhooks::routes(scope);
    whatsapp::routes(scope);
}

/// The REST API, registered by the app inside `/api/v1`.
pub fn api_routes(scope: &mut web::ServiceConfig) {
    documented_routes(&mut utoipa_actix_web::service_config::ServiceConfig::new(scope));
}

/// The OpenAPI document of everything under `/api/v1`, collected from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, openapi) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(documented_routes))
        .split_for_parts();
    openapi
}

/// `GET /api/openapi.json`: the document, rendered once at start.
pub fn openapi_route(config: &mut web::ServiceConfig, openapi: Arc<String>) {
    config.route(
        "/api/openapi.json",
        web::get().to(move || {
            let openapi = openapi.clone();
            async move { actix_web::HttpResponse::Ok().content_type("application/json").body(openapi.as_bytes().to_vec()) }
        }),
    );
}

/// Health, readiness and metrics.
pub fn operations_routes(config: &mut web::ServiceConfig) {
    ops::routes(config);
}

/// The public site: the landing page at `/`, the knowledge base under `/help`, the sitemap.
pub fn help_site_routes(config: &mut web::ServiceConfig) {
    help::routes(config);
}

/// The interface catalogs' text for a key (`web/i18n/`), for pages the server renders.
pub use console::catalog_text;

/// The public rating page the CSAT emails link to (`/csat/{token}`).
pub fn csat_page_routes(config: &mut web::ServiceConfig) {
    csat_page::routes(config);
}

/// The embedded console: registered last, it answers every path nothing else did.
pub fn console_routes(config: &mut web::ServiceConfig) {
    console::routes(config);
}
