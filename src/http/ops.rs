//! Operations: liveness, readiness (the store answers) and Prometheus metrics.

use actix_web::{HttpResponse, web};

use super::AppState;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "store": "ok" })),
        Err(error) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "store": error.to_string() })),
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    metrics::gauge!("switchboard_ticket_actors_live").set(state.tickets.active() as f64);
    match &state.metrics {
        Some(handle) => HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(handle.render()),
        None => HttpResponse::NotFound().finish(),
    }
}
