//! `reports`: the reports' summary over a large event log (seed it with `switchboard bench
//! seed-search`, then let the projection catch up: `switchboard reports rebuild` prints its
//! rate): `GET /reports/summary` in total and grouped every way the dashboards ask, for the last
//! `--days`, in a closed loop, with each kind's latency. Every answer must say `complete: true`
//! (the projection had caught up), or the run stops.

use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use crate::hub::Hub;
use crate::queries::closed_loop;
use crate::report::Latency;
use crate::search::encoded;

#[derive(Debug, Clone, clap::Args)]
pub struct ReportsArgs {
    #[arg(long = "server", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, default_value = "search-admin@bench.switchboard.test")]
    email: String,
    #[arg(long, default_value = "search-benchmark")]
    password: String,
    /// Seconds of requests.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Requests in flight (people looking at dashboards at once).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// The period each summary covers: the last this many days.
    #[arg(long, default_value_t = 30)]
    days: u64,
}

/// The summary's tickets created: how many tickets a request added up.
fn created(summary: &Value) -> u64 {
    summary["total"]["tickets_created"].as_u64().unwrap_or(0)
}

pub async fn reports(args: ReportsArgs) -> anyhow::Result<()> {
    let hub = Hub::new(&args.server)?;
    let token = hub.login(&args.email, &args.password).await?;
    let to = jiff::Timestamp::now();
    let from = to.checked_sub(jiff::SignedDuration::from_hours(24 * args.days as i64))?;
    let period = format!("from={}&to={}", encoded(&from.to_string()), encoded(&to.to_string()));
    let (status, first) =
        hub.call(reqwest::Method::GET, &format!("/api/v1/reports/summary?{period}"), &token, None).await?;
    if status != 200 || first["complete"] != Value::Bool(true) {
        bail!("the summary is not ready ({status}): let the projection catch up first: {first}");
    }
    let kinds: [(&'static str, &str); 7] = [
        ("total", ""),
        ("by day", "&group_by=day"),
        ("by week", "&group_by=week"),
        ("by agent", "&group_by=agent"),
        ("by channel", "&group_by=channel"),
        ("by priority", "&group_by=priority"),
        ("query filter", "&group_by=day&q=channel%3A%20whatsapp"),
    ];
    let paths = kinds.iter().map(|(kind, extra)| (*kind, format!("/api/v1/reports/summary?{period}{extra}"))).collect();
    let results =
        closed_loop(&hub, &token, paths, Duration::from_secs(args.duration), args.concurrency, created).await?;
    println!(
        "reports: {} summaries in {} s, {} in flight, the last {} days ({} tickets created in them)",
        results.values().map(|(latency, _)| latency.count()).sum::<u64>(),
        args.duration,
        args.concurrency,
        args.days,
        created(&first)
    );
    let mut all = Latency::default();
    for (kind, (latency, _)) in &results {
        println!("  {kind:<14} {}", latency.summary());
        all.merge(latency);
    }
    println!("  {:<14} {}  p95 {:.2} ms", "all", all.summary(), all.ms(0.95).unwrap_or(f64::NAN));
    Ok(())
}
