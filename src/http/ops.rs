//! Operations: liveness, readiness (the store answers) and Prometheus metrics. The metrics say
//! how busy the hub is and what it holds, so they are served only to a loopback peer (a local
//! Prometheus or a reverse proxy on the same host) or with `ops.metrics_token`.

use std::net::SocketAddr;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use subtle::ConstantTimeEq as _;

use super::{Api, ApiError};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: Api) -> HttpResponse {
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

/// Who may read `/metrics`: a loopback peer (the TCP peer, never a forwarded header), or anyone
/// presenting `token` as a bearer when one is configured. Else 403 (no token configured: there
/// is no way in from there) or 401 (a token is configured: send it).
fn metrics_access(peer: Option<SocketAddr>, token: &str, presented: Option<&str>) -> Result<(), ApiError> {
    if peer.is_some_and(|peer| peer.ip().to_canonical().is_loopback()) {
        return Ok(());
    }
    if token.is_empty() {
        return Err(ApiError::forbidden(
            "metrics are served to loopback only; set ops.metrics_token to scrape them from another host",
        ));
    }
    match presented {
        Some(presented) if bool::from(presented.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
        _ => Err(ApiError::Unauthenticated),
    }
}

async fn metrics(
    state: Api,
    exporter: Option<web::Data<PrometheusHandle>>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    metrics_access(request.peer_addr(), state.settings.ops.metrics_token.expose(), presented)?;
    metrics::gauge!("switchboard_ticket_actors_live").set(state.tickets.active() as f64);
    if let Some((rss_bytes, cpu_seconds)) = own_process() {
        metrics::gauge!("process_resident_memory_bytes").set(rss_bytes);
        metrics::gauge!("process_cpu_seconds_total").set(cpu_seconds);
    }
    match exporter {
        Some(handle) => Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(handle.render())),
        None => Err(ApiError::NotFound("metrics")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_go_to_loopback_or_the_token_holder() {
        let peer = |text: &str| Some(text.parse::<SocketAddr>().expect("address"));
        for loopback in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
            assert!(metrics_access(peer(loopback), "", None).is_ok(), "{loopback}");
        }
        let remote = peer("192.0.2.7:5000");
        assert_eq!(metrics_access(remote, "", Some("anything")).map_err(|e| e.code().as_str()), Err("forbidden"));
        assert_eq!(metrics_access(None, "", None).map_err(|e| e.code().as_str()), Err("forbidden"));
        assert_eq!(metrics_access(remote, "scrape-me", None).map_err(|e| e.code().as_str()), Err("unauthenticated"));
        assert_eq!(
            metrics_access(remote, "scrape-me", Some("scrape-m")).map_err(|e| e.code().as_str()),
            Err("unauthenticated")
        );
        assert!(metrics_access(remote, "scrape-me", Some("scrape-me")).is_ok());
    }
}
