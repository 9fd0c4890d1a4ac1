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
    if let Some((rss_bytes, cpu_seconds)) = own_process() {
        metrics::gauge!("process_resident_memory_bytes").set(rss_bytes);
        metrics::gauge!("process_cpu_seconds_total").set(cpu_seconds);
    }
    match &state.metrics {
        Some(handle) => HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(handle.render()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// This process's resident memory (bytes) and CPU time (user + system seconds), from /proc on
/// Linux (the conventional Prometheus process metrics; the load tool reads them too).
fn own_process() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let rss_kib: f64 =
        status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which may itself hold spaces: utime and stime are 12th/13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((rss_kib * 1024.0, ticks / 100.0))
}
