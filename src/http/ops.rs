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
    let store = state.store.ping().await.map_or_else(|error| error.to_string(), |()| "ok".to_owned());
    let broker = state.live.broker().ping().await.map_or_else(|error| error.to_string(), |()| "ok".to_owned());
    let body = serde_json::json!({
        "status": if store == "ok" && broker == "ok" { "ready" } else { "unavailable" },
        "store": store,
        "broker": broker,
    });
    if store == "ok" && broker == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    metrics::gauge!("switchboard_ticket_actors_live").set(state.tickets.active() as f64);
    match &state.metrics {
        Some(handle) => HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(handle.render()),
        None => HttpResponse::NotFound().finish(),
    }
}
