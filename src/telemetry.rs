//! Logs and metrics: tracing (text or JSON, with request ids from tracing-actix-web) and the
//! Prometheus recorder behind `/metrics`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global log subscriber; later calls (tests) are ignored.
pub fn init_logs(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Installs the Prometheus recorder; `None` if one is already installed (tests run several servers).
pub fn init_metrics() -> Option<PrometheusHandle> {
    let latency_buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
    let batch_buckets = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &latency_buckets)
        .ok()?
        .set_buckets_for_metric(Matcher::Full("switchboard_store_batch_size".to_owned()), &batch_buckets)
        .ok()?
        .install_recorder()
        .ok()
}

/// The request span of every HTTP request, as tracing-actix-web's default but with secrets in the
/// query string (`?token=` on the WebSocket, `hub.verify_token` on Meta's handshake) redacted, so
/// logs never hold a live credential.
pub struct RedactedRootSpan;

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let target = redact_query(request.uri().path_and_query().map(|path| path.as_str()).unwrap_or_default());
        let route = request.match_pattern().unwrap_or_else(|| request.path().to_owned());
        let request_id =
            actix_web::HttpMessage::extensions(request).get::<tracing_actix_web::RequestId>().map(|id| id.to_string());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %target,
            http.client_ip = %request.connection_info().realip_remote_addr().unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id.unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Query parameters whose values are credentials.
const SECRET_PARAMETERS: &[&str] = &["token", "access_token", "hub.verify_token", "secret", "password", "code"];

/// `path?query` with the values of credential parameters replaced by `[redacted]`.
pub fn redact_query(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else { return target.to_owned() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMETERS.contains(&name.to_ascii_lowercase().as_str()) => {
                format!("{name}=[redacted]")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// Counts requests and records their latency by method, matched route and status.
pub async fn record_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().to_string();
    let response = next.call(request).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::counter!("switchboard_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("switchboard_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::redact_query;

    #[test]
    fn credentials_in_query_strings_are_redacted() {
        assert_eq!(redact_query("/api/v1/ws?token=abc123"), "/api/v1/ws?token=[redacted]");
        assert_eq!(
            redact_query("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=42"),
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=42"
        );
        assert_eq!(redact_query("/api/v1/tickets?status=open"), "/api/v1/tickets?status=open");
        assert_eq!(redact_query("/plain"), "/plain");
    }
}
