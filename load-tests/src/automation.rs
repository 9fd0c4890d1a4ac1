//! `automation`: time-rule timer lateness (due → fired) while many time rules are pending (seed
//! them with `switchboard bench seed-automation`). A probe rule (`tag: probe-<run>` for `wait`
//! seconds) is created, probe tickets are opened at a steady rate, and each probe's lateness is
//! its `automation_ran` time minus (the ticket's creation + `wait`), read back from the API.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::hub::Hub;
use crate::report::Latency;

#[derive(Debug, Clone, clap::Args)]
pub struct AutomationArgs {
    #[arg(long = "server", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, default_value = "search-admin@bench.switchboard.test")]
    email: String,
    #[arg(long, default_value = "search-benchmark")]
    password: String,
    /// Probe tickets opened.
    #[arg(long, default_value_t = 300)]
    probes: usize,
    /// Probes opened per second.
    #[arg(long, default_value_t = 20)]
    rate: u64,
    /// The probe rule's `for`, in seconds.
    #[arg(long, default_value_t = 10)]
    wait: i64,
}

pub async fn automation(args: AutomationArgs) -> anyhow::Result<()> {
    let hub = Hub::new(&args.server)?;
    let token = hub.login(&args.email, &args.password).await?;
    let run = std::process::id();
    let tag = format!("probe-{run}");
    let rule = json!({"name": format!("Probe {run}"), "when": {"for": format!("PT{}S", args.wait), "while": format!("tag: {tag}")},
                      "then": [{"add_tags": ["probed"]}]});
    let (status, created) = hub.call(reqwest::Method::POST, "/api/v1/automations", &token, Some(rule)).await?;
    if status != 201 {
        bail!("creating the probe rule: {status} {created}");
    }
    let rule_id = created["id"].as_i64().context("rule id")?;
    let (_, listed) = hub.call(reqwest::Method::GET, "/api/v1/automations", &token, None).await?;
    println!(
        "automation: {} rules; probe rule {rule_id} waits {} s",
        listed["items"].as_array().map_or(0, Vec::len),
        args.wait
    );

    let mut created_at = std::collections::HashMap::new();
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
    let started = Instant::now();
    for n in 0..args.probes {
        let due = started + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let body = json!({"subject": format!("Probe {n}"), "body": "probe", "requester_email": "load-customer@load.switchboard.test", "tags": [tag]});
        let (status, ticket) = hub.call(reqwest::Method::POST, "/api/v1/tickets", &token, Some(body)).await?;
        if status != 201 {
            bail!("opening a probe: {status} {ticket}");
        }
        let at: jiff::Timestamp = ticket["created_at"].as_str().context("created_at")?.parse()?;
        created_at.insert(ticket["id"].as_i64().context("ticket id")?, at);
    }

    let runs_path = format!("/api/v1/automations/{rule_id}/runs?limit=200");
    let deadline = Instant::now() + Duration::from_secs(args.wait as u64 + 120);
    let mut lateness = Latency::default();
    let mut seen = std::collections::HashSet::new();
    while seen.len() < args.probes && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("{runs_path}&cursor={cursor}"),
                None => runs_path.clone(),
            };
            let (_, page) = hub.call(reqwest::Method::GET, &path, &token, None).await?;
            for run in page["items"].as_array().into_iter().flatten() {
                let (Some(id), Some(ran)) = (run["ticket_id"].as_i64(), run["ran_at"].as_str()) else { continue };
                if !seen.insert(run["id"].as_i64().unwrap_or_default()) {
                    continue;
                }
                let ran: jiff::Timestamp = ran.parse()?;
                if let Some(created) = created_at.get(&id) {
                    let due = *created + jiff::SignedDuration::from_secs(args.wait);
                    lateness.record_us(ran.duration_since(due).as_micros().max(0) as i64);
                }
            }
            cursor = page["next"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
    }
    let fired = seen.len();
    println!("  probes {} fired {fired} (each once: {})", args.probes, fired == args.probes);
    println!(
        "  lateness (due → fired) {}  p99 {:.1} ms  max {:.1} ms",
        lateness.summary(),
        lateness.ms(0.99).unwrap_or(f64::NAN),
        lateness.ms(1.0).unwrap_or(f64::NAN)
    );
    if let Some(pending) = hub.metric("switchboard_timers_fired_total").await {
        println!("  timers fired on the node so far: {pending}");
    }
    Ok(())
}
