//! `fake-graph`: a Graph API stand-in for load runs, so they need neither Meta nor the sandbox.
//! It answers sends at once with fresh wamids (or, on request, a share of them with Graph error
//! codes such as 130429 "rate limit hit" or 131047 "re-engagement message"), read receipts,
//! media uploads and an empty template list, and prints what it answered every few seconds.
//!
//! Point a hub at it with `SWITCHBOARD__WHATSAPP__SANDBOX=false
//! SWITCHBOARD__WHATSAPP__GRAPH_BASE_URL=http://127.0.0.1:9090`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct FakeGraphArgs {
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: String,
    /// Share of sends (0–1) answered with `--error-code` instead of a wamid.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// The Graph error code of those answers (130429 rate limit, 131047 window closed, …).
    #[arg(long, default_value_t = 130429)]
    error_code: i64,
}

#[derive(Default)]
struct Counts {
    sends: AtomicU64,
    errors: AtomicU64,
    reads: AtomicU64,
    uploads: AtomicU64,
}

struct Graph {
    counts: Counts,
    error_every: Option<u64>,
    error_code: i64,
}

/// What Meta says for the codes load runs ask for (reference: whatsapp-cloud-api.md §3).
fn error_title(code: i64) -> &'static str {
    match code {
        130429 => "Rate limit hit",
        131047 => "Re-engagement message",
        131026 => "Message undeliverable",
        131056 => "(Business Account, Consumer Account) pair rate limit hit",
        _ => "Graph API error",
    }
}

async fn messages(graph: web::Data<Graph>, body: web::Json<Value>) -> HttpResponse {
    if body["status"] == "read" {
        graph.counts.reads.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Ok().json(json!({"success": true}));
    }
    let n = graph.counts.sends.fetch_add(1, Ordering::Relaxed);
    if graph.error_every.is_some_and(|every| n % every == every - 1) {
        graph.counts.errors.fetch_add(1, Ordering::Relaxed);
        let status = if graph.error_code == 130429 { 429 } else { 400 };
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default()).json(json!({
            "error": {"message": error_title(graph.error_code), "type": "OAuthException", "code": graph.error_code,
                      "error_data": {"messaging_product": "whatsapp", "details": "answered by switchboard-load fake-graph"},
                      "fbtrace_id": format!("FAKE{n}")}
        }));
    }
    let to = body["to"].as_str().unwrap_or_default();
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": format!("wamid.FAKE{n:012}")}]
    }))
}

async fn media(graph: web::Data<Graph>) -> HttpResponse {
    let n = graph.counts.uploads.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok().json(json!({"id": format!("media-{n}")}))
}

async fn templates() -> HttpResponse {
    HttpResponse::Ok().json(json!({"data": [], "paging": {}}))
}

pub async fn run(args: FakeGraphArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        anyhow::bail!("--error-rate must be between 0 and 1");
    }
    let graph = web::Data::new(Graph {
        counts: Counts::default(),
        error_every: (args.error_rate > 0.0).then(|| (1.0 / args.error_rate).round().max(1.0) as u64),
        error_code: args.error_code,
    });
    let shown = graph.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(graph.clone())
            .app_data(web::JsonConfig::default().limit(1 << 20))
            .route("/{version}/{phone}/messages", web::post().to(messages))
            .route("/{version}/{phone}/media", web::post().to(media))
            .route("/{version}/{waba}/message_templates", web::get().to(templates))
    })
    .workers(1)
    .bind(&args.listen)?
    .run();
    eprintln!("fake Graph API on http://{} (errors: {} × code {})", args.listen, args.error_rate, args.error_code);
    let reporter = tokio::spawn(report(shown));
    server.await?;
    reporter.abort();
    Ok(())
}

async fn report(graph: Arc<Graph>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut last = 0;
    loop {
        tick.tick().await;
        let sends = graph.counts.sends.load(Ordering::Relaxed);
        if sends != last {
            eprintln!(
                "sends {sends} ({}/s), errors {}, reads {}, uploads {}",
                (sends - last) / 5,
                graph.counts.errors.load(Ordering::Relaxed),
                graph.counts.reads.load(Ordering::Relaxed),
                graph.counts.uploads.load(Ordering::Relaxed)
            );
            last = sends;
        }
    }
}
