//! Push latency against running servers: N agents hold WebSockets subscribed to `queue` on the
//! read node; changes are made at a fixed open-loop rate through the REST API of the write node;
//! each agent records, per frame, `received − event time` (the event's commit-side timestamp, so
//! this includes the commit itself) and `received − sent_at`.
//!
//! One node:  `cargo run --release --example push_latency -- --write http://127.0.0.1:8080 --read http://127.0.0.1:8080`
//! Two nodes: `--write http://127.0.0.1:8080 --read http://127.0.0.1:8081` (same PostgreSQL and Redis)
//! The servers need the demo account (`switchboard demo`): it logs in as its agents.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    write: String,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    read: String,
    /// WebSocket clients listening.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Changes per second (open loop: sent on schedule whatever the answers take).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    switchboard::install_tls_provider();
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", args.write))
        .json(&json!({"email": "ana@demo.switchboard.test", "password": "switchboard-demo"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?.to_owned();
    let ticket: Value = http
        .post(format!("{}/api/v1/tickets", args.write))
        .bearer_auth(&token)
        .json(&json!({"subject": "Latency probe", "body": "probe", "requester_email": "probe@example.test"}))
        .send()
        .await?
        .json()
        .await?;
    let ticket_id = ticket["id"].as_i64().ok_or_else(|| anyhow::anyhow!("create failed: {ticket}"))?;

    let committed = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let ws_url = format!("{}/api/v1/ws?token={token}", args.read.replacen("http://", "ws://", 1));
    let mut listeners = Vec::new();
    for _ in 0..args.clients {
        let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        use futures_util::SinkExt as _;
        socket
            .send(tokio_tungstenite::tungstenite::Message::Text(r#"{"type":"subscribe","topic":"queue"}"#.into()))
            .await?;
        let (committed, sent) = (committed.clone(), sent.clone());
        let run_for = Duration::from_secs(args.seconds + 3);
        listeners.push(tokio::spawn(async move {
            let mut mine_committed = Vec::new();
            let mut mine_sent = Vec::new();
            let deadline = tokio::time::Instant::now() + run_for;
            while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
                let received = jiff::Timestamp::now().as_millisecond() as f64
                    + f64::from(jiff::Timestamp::now().subsec_microsecond() % 1000) / 1000.0;
                if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    if frame["type"] == "event" && frame["ticket_id"] == ticket_id {
                        if let Some(at) =
                            frame["event"]["at"].as_str().and_then(|at| at.parse::<jiff::Timestamp>().ok())
                        {
                            mine_committed.push(received - at.as_microsecond() as f64 / 1000.0);
                        }
                        if let Some(at) = frame["sent_at"].as_str().and_then(|at| at.parse::<jiff::Timestamp>().ok()) {
                            mine_sent.push(received - at.as_microsecond() as f64 / 1000.0);
                        }
                    }
                }
            }
            committed.lock().await.extend(mine_committed);
            sent.lock().await.extend(mine_sent);
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let total = args.rate * args.seconds;
    let mut writes = Vec::new();
    for n in 0..total {
        tokio::time::sleep_until((started + interval * n as u32).into()).await;
        let (http, url, token) =
            (http.clone(), format!("{}/api/v1/tickets/{ticket_id}/messages", args.write), token.clone());
        writes.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"body": format!("probe {n}"), "internal": true}))
                .send()
                .await
                .map(|r| r.status().is_success())
        }));
    }
    let mut failed = 0;
    for write in writes {
        if !matches!(write.await, Ok(Ok(true))) {
            failed += 1;
        }
    }
    let achieved = total as f64 / started.elapsed().as_secs_f64();
    for listener in listeners {
        listener.await?;
    }
    let mut committed = committed.lock().await.clone();
    let mut sent = sent.lock().await.clone();
    let expected = total as usize * args.clients;
    println!(
        "{} clients, {} changes at {:.0}/s offered ({:.0}/s achieved, {failed} failed): {} of {} frames received",
        args.clients,
        total,
        args.rate,
        achieved,
        committed.len(),
        expected
    );
    common::report("event time -> received", &mut committed);
    common::report("sent_at -> received", &mut sent);
    Ok(())
}
