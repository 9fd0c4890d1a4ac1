//! `search`: the query language's full-text search over a large account (seed it with
//! `switchboard bench seed-search`): first pages of `GET /tickets?q=` for a mix of queries taken
//! from the data itself — a common word, a rare one, a two-word phrase, two words, and a word with
//! field conditions — in a closed loop, with each kind's latency.

use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::hub::Hub;
use crate::queries::closed_loop;
use crate::report::Latency;

#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    #[arg(long = "server", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, default_value = "search-admin@bench.switchboard.test")]
    email: String,
    #[arg(long, default_value = "search-benchmark")]
    password: String,
    /// Seconds of queries.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Queries in flight (agents searching at once).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

/// Percent-encodes a query for the URL.
pub fn encoded(query: &str) -> String {
    query
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let hub = Hub::new(&args.server)?;
    let token = hub.login(&args.email, &args.password).await?;
    let (status, sample) = hub.call(reqwest::Method::GET, "/api/v1/tickets?limit=100", &token, None).await?;
    if status != 200 {
        bail!("listing tickets: {status} {sample}");
    }
    let subjects: Vec<Vec<String>> = sample["items"]
        .as_array()
        .context("no tickets: seed with `switchboard bench seed-search` first")?
        .iter()
        .filter_map(|ticket| ticket["subject"].as_str())
        .map(|subject| subject.split_whitespace().map(str::to_owned).collect())
        .filter(|words: &Vec<String>| words.len() >= 3)
        .collect();
    if subjects.len() < 10 {
        bail!("too few tickets to take queries from ({}); seed first", subjects.len());
    }
    let mut queries: Vec<(&'static str, String)> = Vec::new();
    for (index, words) in subjects.iter().enumerate() {
        let rare = words.iter().find(|word| word.starts_with("ref")).cloned().unwrap_or_else(|| words[0].clone());
        let plain: Vec<&String> = words.iter().filter(|word| !word.starts_with("ref")).collect();
        queries.push(("common word", "order".to_owned()));
        queries.push(("rare word", rare));
        if plain.len() >= 2 {
            queries.push(("phrase", format!("\"{} {}\"", plain[0], plain[1])));
            queries.push(("two words", format!("{} {}", plain[0], plain[plain.len() - 1])));
        }
        let status = if index % 2 == 0 { "open" } else { "new" };
        queries.push((
            "fields + word",
            format!("status: {status} channel: whatsapp {}", plain.first().map_or("order", |w| w)),
        ));
    }
    let paths = queries
        .into_iter()
        .map(|(kind, query)| (kind, format!("/api/v1/tickets?limit=50&q={}", encoded(&query))))
        .collect();
    let found_on_page = |page: &serde_json::Value| page["items"].as_array().map_or(0, Vec::len) as u64;
    let results =
        closed_loop(&hub, &token, paths, Duration::from_secs(args.duration), args.concurrency, found_on_page).await?;
    let mut all = Latency::default();
    println!(
        "search: {} queries in {} s, {} in flight",
        results.values().map(|(l, _)| l.count()).sum::<u64>(),
        args.duration,
        args.concurrency
    );
    for (kind, (latency, found)) in results.iter() {
        println!(
            "  {kind:<14} {}  ({:.1} tickets per first page)",
            latency.summary(),
            *found as f64 / latency.count().max(1) as f64
        );
        all.merge(latency);
    }
    println!("  {:<14} {}  p95 {:.2} ms", "all", all.summary(), all.ms(0.95).unwrap_or(f64::NAN));
    Ok(())
}
