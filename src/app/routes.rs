//! Every service registered as its own `web::Data`, and every module's routes, in one place: a
//! handler names the services it uses, and no module reaches another through a shared state.

use std::sync::Arc;

use actix_web::web;
use switchboard_actors::clock::Clock;
use switchboard_actors::store::Store;

use super::Services;
use crate::error::ApiError;

/// Registers the services and the routes: the REST API and the WebSocket under `/api/v1`, the
/// channels' webhooks, the sandboxes, operations and the console (last: it answers the rest).
pub fn configure(config: &mut web::ServiceConfig, services: &Services, openapi: Arc<String>) {
    register_services(config, services);
    let query = web::QueryConfig::default().error_handler(|error, _| crate::error::query_error(error).into());
    let path = web::PathConfig::default().error_handler(|error, _| crate::error::path_error(error).into());
    let max_email_bytes = services.settings.email.max_message_bytes;
    config
        .app_data(query)
        .app_data(path)
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(crate::api_keys::rate_limit_headers))
                .configure(crate::ws::routes)
                .configure(crate::http::api_routes)
                .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::NotFound("route")) })),
        )
        .configure(|config| crate::http::openapi_route(config, openapi))
        .configure(crate::channels::whatsapp::routes)
        .configure(crate::channels::whatsapp::sandbox::routes)
        .configure(|config| crate::channels::email::routes(config, max_email_bytes))
        .configure(crate::channels::email::sandbox::routes)
        .configure(crate::http::operations_routes)
        .configure(crate::http::help_site_routes)
        .configure(crate::http::csat_page_routes)
        .configure(crate::http::console_routes);
}

fn register_services(config: &mut web::ServiceConfig, services: &Services) {
    let store: Arc<dyn Store> = services.store.clone();
    let clock: Arc<dyn Clock> = services.clock.clone();
    config
        .app_data(web::Data::from(services.settings.clone()))
        .app_data(web::Data::from(clock))
        .app_data(web::Data::from(store))
        .app_data(web::Data::new(services.tickets.clone()))
        .app_data(web::Data::from(services.sessions.clone()))
        .app_data(web::Data::from(services.api_keys.clone()))
        .app_data(web::Data::from(services.audit_retention.clone()))
        .app_data(web::Data::from(services.data_protection.clone()))
        .app_data(web::Data::from(services.ticket_retention.clone()))
        .app_data(web::Data::from(services.accounts.clone()))
        .app_data(web::Data::from(services.live.clone()))
        .app_data(web::Data::from(services.notifier.clone()))
        .app_data(web::Data::from(services.reports.clone()))
        .app_data(web::Data::from(services.webhooks.clone()))
        .app_data(web::Data::from(services.sso.clone()))
        .app_data(web::Data::from(services.report_schedules.clone()))
        .app_data(web::Data::from(services.automations.clone()))
        .app_data(web::Data::from(services.presence.clone()))
        .app_data(web::Data::from(services.router.clone()))
        .app_data(web::Data::from(services.whatsapp.clone()))
        .app_data(web::Data::from(services.email.clone()))
        .app_data(web::Data::from(services.channels.clone()))
        .app_data(web::Data::from(services.secrets.clone()))
        .app_data(web::Data::from(services.passwords.clone()))
        .app_data(web::Data::from(services.logins.clone()))
        .app_data(web::Data::from(services.feedback_limits.clone()))
        .app_data(web::Data::from(services.customer_accounts.clone()))
        .app_data(web::Data::from(services.csat.clone()))
        .app_data(web::Data::from(services.sockets.clone()));
    if let Some(sandbox) = &services.sandbox {
        config.app_data(web::Data::from(sandbox.clone()));
    }
    if let Some(mailbox) = &services.mail_sandbox {
        config.app_data(web::Data::from(mailbox.clone()));
    }
    if let Some(metrics) = &services.metrics {
        config.app_data(web::Data::new(metrics.clone()));
    }
}
