//! WhatsApp ingest against a running sandbox server (`switchboard demo` first): signed webhooks
//! at a fixed open-loop rate, one text message each from `--customers` rotating senders. Reports
//! the webhook's 200 latency, webhook sent → `message_added` on an agent's `queue` socket, and
//! the achieved ingest rate; then checks every message was stored once.
//!
//! `cargo run --release --example webhook_ingest -- --rate 500 --seconds 10 --customers 200`

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use switchboard::channels::whatsapp::{SANDBOX_APP_SECRET, sign};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, default_value_t = 500)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 200)]
    customers: u64,
    #[arg(long, default_value = "100200300400500")]
    phone_number_id: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    switchboard::install_tls_provider();
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", args.server))
        .json(&json!({"email": "ana@demo.switchboard.test", "password": "switchboard-demo"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?.to_owned();
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let arrived: Arc<Mutex<Vec<f64>>> = Arc::default();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/api/v1/ws?token={token}", args.server.replacen("http", "ws", 1)))
            .await?;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(r#"{"type":"subscribe","topic":"queue"}"#.into()))
        .await?;
    let listener = {
        let (sent_at, arrived) = (sent_at.clone(), arrived.clone());
        let run_for = Duration::from_secs(args.seconds + 10);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + run_for;
            while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
                if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    if let Some(wamid) = frame["event"]["message"]["provider_id"].as_str()
                        && let Some(at) = sent_at.lock().await.get(wamid)
                    {
                        arrived.lock().await.push(at.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            }
        })
    };
    let run = format!("{:x}", jiff::Timestamp::now().as_second());
    let total = args.rate * args.seconds;
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut posts = Vec::new();
    for n in 0..total {
        tokio::time::sleep_until((started + interval * n as u32).into()).await;
        let customer = 5_500_000_000_000 + (n % args.customers);
        let wamid = format!("wamid.LOAD-{run}-{n}");
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": args.phone_number_id},
            "contacts": [{"profile": {"name": format!("Load {customer}")}, "wa_id": customer.to_string()}],
            "messages": [{"from": customer.to_string(), "id": wamid, "timestamp": jiff::Timestamp::now().as_second().to_string(),
                          "type": "text", "text": {"body": format!("load message {n}")}}]
        }}]}]})
        .to_string();
        let (http, url, sent_at) = (http.clone(), format!("{}/webhooks/whatsapp", args.server), sent_at.clone());
        posts.push(tokio::spawn(async move {
            let signature = sign(SANDBOX_APP_SECRET, body.as_bytes());
            let begun = Instant::now();
            sent_at.lock().await.insert(wamid, begun);
            let ok = http
                .post(url)
                .header("x-hub-signature-256", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (ok, begun.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut acks = Vec::new();
    let mut failed = 0;
    for post in posts {
        let (ok, ms) = post.await?;
        if ok { acks.push(ms) } else { failed += 1 }
    }
    let offered_secs = started.elapsed().as_secs_f64();
    while arrived.lock().await.len() < acks.len() && started.elapsed() < Duration::from_secs(args.seconds + 10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_in = started.elapsed().as_secs_f64();
    listener.abort();
    let mut arrived = arrived.lock().await.clone();
    println!(
        "{total} webhooks at {} /s offered ({:.0} /s achieved, {failed} failed); {} message events seen in {:.2}s = {:.0} msgs/s end to end",
        args.rate,
        total as f64 / offered_secs,
        arrived.len(),
        all_in,
        arrived.len() as f64 / all_in
    );
    common::report("webhook 200", &mut acks);
    common::report("webhook -> ticket event", &mut arrived);
    Ok(())
}
