//! The scenarios. Each prepares what it needs through the REST API, starts its agents in worker
//! processes, drives load on an open-loop schedule (requests leave when they are due, whatever
//! earlier ones take, and latency counts from when they were due: no coordinated omission),
//! stops by itself at the end of `--duration`, and reports.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::agents::Plan;
use crate::hub::Hub;
use crate::report::{Latency, Progress, Report, now_us};
use crate::webhook::{Inbound, payload, sign};
use crate::worker::{Fleet, Layout, WorkerResult};

/// What every scenario takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// A hub's base URL; give it twice (or more) for several nodes.
    #[arg(long = "server", default_value = "http://127.0.0.1:8080")]
    servers: Vec<String>,
    /// Seconds of load (the run stops by itself after it).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value = "admin@demo.switchboard.test", env = "SWITCHBOARD_LOAD_ADMIN_EMAIL")]
    admin_email: String,
    #[arg(long, default_value = "switchboard-demo", env = "SWITCHBOARD_LOAD_ADMIN_PASSWORD")]
    admin_password: String,
    /// Append this run's result to a JSON array in FILE.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The server's pid, to read its memory and CPU from /proc (else from /metrics).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Worker processes for the agents (at least one per 9,500 sockets).
    #[arg(long)]
    processes: Option<usize>,
    /// Source addresses for agent sockets, comma-separated (default 127.0.0.1…, one per 10,000).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<Ipv4Addr>,
}

impl Common {
    fn hub(&self) -> anyhow::Result<Hub> {
        Hub::new(self.servers.first().ok_or_else(|| anyhow!("no --server"))?)
    }

    /// The first hub and the admin's token there: where every scenario starts.
    async fn admin(&self) -> anyhow::Result<(Hub, String)> {
        let hub = self.hub()?;
        let token = hub.login(&self.admin_email, &self.admin_password).await?;
        Ok((hub, token))
    }

    fn layout(&self, agents: usize) -> Layout {
        Layout::for_agents(agents, self.processes, Some(self.sources.clone()))
    }

    fn ws_urls(&self) -> anyhow::Result<Vec<String>> {
        self.servers.iter().map(|server| Ok(Hub::new(server)?.ws_url())).collect()
    }

    /// Prints and records the run; an error (non-zero exit) when anything was lost or doubled.
    fn finish(&self, report: &Report, histograms: &[(&str, &Latency)]) -> anyhow::Result<()> {
        report.print(histograms);
        if let Some(path) = &self.json {
            report.append_json(path)?;
        }
        let (lost, duplicated) = (report.lost.unwrap_or(0), report.duplicated.unwrap_or(0));
        if lost > 0 || duplicated > 0 {
            bail!("{}: {lost} lost, {duplicated} duplicated", report.scenario);
        }
        Ok(())
    }
}

/// A run's marker: message bodies `<marker><n>:<µs when due>` are what agents time.
fn marker() -> String {
    format!("load:{:x}:", now_us())
}

/// The run's id inside a marker (`load:<id>:` → `<id>`), a bare word the ticket search finds.
fn run_id(marker: &str) -> &str {
    marker.trim_start_matches("load:").trim_end_matches(':')
}

/// The workers' results folded together.
#[derive(Default)]
struct Merged {
    end_to_end: Latency,
    first_contact: Latency,
    server_hop: Latency,
    handshake: Latency,
    recovery: Latency,
    unique: u64,
    unique_bytes: u64,
    duplicated: u64,
    seq_gaps: u64,
    seq_duplicates: u64,
    tail_missing: u64,
    errors: u64,
    reconnects: u64,
    all_connected_ms: Option<f64>,
}

impl Merged {
    /// The delivery histograms, and the requests that caused them, into the report's details.
    fn delivery_details(&self, report: &mut Report, (name, requests): (&str, &Latency)) {
        report.detail("end_to_end", self.end_to_end.json());
        report.detail("server_sent_to_received", self.server_hop.json());
        // The frames that carried the marked messages, as they arrived (a queue row's or a
        // ticket topic's event): the typical frame of the run.
        if let Some(mean) = self.unique_bytes.checked_div(self.unique) {
            report.detail("frame_bytes_mean", mean);
        }
        report.detail(name, requests.json());
    }
}

fn merge(results: &[WorkerResult]) -> Merged {
    let mut merged = Merged::default();
    for result in results {
        merged.end_to_end.merge(&Latency::from_wire(&result.end_to_end));
        merged.first_contact.merge(&Latency::from_wire(&result.first_contact));
        merged.server_hop.merge(&Latency::from_wire(&result.server_hop));
        merged.handshake.merge(&Latency::from_wire(&result.handshake));
        merged.recovery.merge(&Latency::from_wire(&result.recovery));
        merged.unique += result.unique;
        merged.unique_bytes += result.unique_bytes;
        merged.duplicated += result.duplicated;
        merged.seq_gaps += result.seq_gaps;
        merged.seq_duplicates += result.seq_duplicates;
        merged.tail_missing += result.tail_missing;
        merged.errors += result.counters.errors;
        merged.reconnects += result.counters.reconnects;
    }
    // Every worker's agents all connected: the slowest worker's time; otherwise not measured.
    merged.all_connected_ms = results
        .iter()
        .map(|result| result.all_connected_ms)
        .try_fold(0.0_f64, |slowest, at| at.map(|at| slowest.max(at)));
    merged
}

/// Agents logged in through admin-issued tokens, sockets up and subscribed.
async fn start_agents(
    common: &Common,
    hub: &Hub,
    admin: &str,
    count: usize,
    plan: &Plan,
) -> anyhow::Result<(Fleet, Duration)> {
    let tokens: Vec<String> = hub.prepare_agents(admin, count).await?.into_iter().map(|(_, token)| token).collect();
    let fleet = Fleet::start(plan, &tokens, &common.ws_urls()?, &common.layout(count), |_| true).await?;
    let mut progress = Progress::new(Duration::from_secs(1));
    let took = fleet
        .wait_connected(count as u64, Duration::from_secs(180), |c| {
            progress.tick(|| format!("connected {}/{count}, errors {}", c.connected, c.errors))
        })
        .await;
    progress.done();
    let connected = fleet.counters().connected;
    if connected < count as u64 {
        eprintln!("only {connected} of {count} agents connected after {took:?}");
    }
    // Let subscriptions settle before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok((fleet, took))
}

/// Sends `total` requests on an open-loop schedule at `rate`/s; `send(n, due_us)` makes one.
/// Returns (acknowledged, errors, latency from when each was due to its answer).
async fn open_loop<F, Fut>(rate: f64, total: u64, send: F, progress_label: &str) -> (u64, u64, Latency)
where
    F: Fn(u64, i64) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Latency::default()));
    let started = Instant::now();
    let started_us = now_us();
    let interval_us = 1_000_000.0 / rate;
    let mut tasks = Vec::with_capacity(total as usize);
    let mut progress = Progress::new(Duration::from_secs(1));
    for n in 0..total {
        let offset = Duration::from_micros((n as f64 * interval_us) as u64);
        tokio::time::sleep_until((started + offset).into()).await;
        let due = started + offset;
        let request = send(n, started_us + offset.as_micros() as i64);
        let (acked_, errors_, latency_) = (acked.clone(), errors.clone(), latency.clone());
        tasks.push(tokio::spawn(async move {
            let ok = request.await;
            let took = due.elapsed();
            if ok {
                acked_.fetch_add(1, Ordering::Relaxed)
            } else {
                errors_.fetch_add(1, Ordering::Relaxed)
            };
            latency_.lock().await.record(took);
        }));
        progress.tick(|| {
            format!(
                "{progress_label}: sent {n}/{total}, acked {}, errors {}",
                acked.load(Ordering::Relaxed),
                errors.load(Ordering::Relaxed)
            )
        });
    }
    for task in tasks {
        let _ = task.await;
    }
    progress.done();
    let latency = latency.lock().await.clone();
    (acked.load(Ordering::Relaxed), errors.load(Ordering::Relaxed), latency)
}

/// Waits until the agents have matched `wanted` marked frames (or `limit` passes).
async fn drain(fleet: &Fleet, wanted: u64, limit: Duration) -> Duration {
    let begun = Instant::now();
    let mut progress = Progress::new(Duration::from_secs(1));
    while begun.elapsed() < limit && fleet.counters().matched < wanted {
        progress.tick(|| format!("delivering: {}/{wanted} frames", fleet.counters().matched));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    progress.done();
    begun.elapsed()
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct IdleArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Seconds between each agent's `ping` frame; 0 (the default, as the console in a browser)
    /// sends none and only answers the hub's WebSocket pings.
    #[arg(long, default_value_t = 0)]
    heartbeat: u64,
}

pub async fn idle(args: IdleArgs) -> anyhow::Result<()> {
    let common = &args.common;
    let (hub, admin) = common.admin().await?;
    let plan = Plan {
        subscribe_queue: true,
        tickets: Vec::new(),
        heartbeat_secs: args.heartbeat,
        marker: marker(),
        first_contacts: 0,
    };
    // Agents are prepared before the baseline so their rows and tokens are not counted.
    let tokens: Vec<String> =
        hub.prepare_agents(&admin, args.agents).await?.into_iter().map(|(_, token)| token).collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = hub.process(common.server_pid).await;
    let fleet = Fleet::start(&plan, &tokens, &common.ws_urls()?, &common.layout(args.agents), |_| true).await?;
    let mut progress = Progress::new(Duration::from_secs(1));
    let connect_time = fleet
        .wait_connected(args.agents as u64, Duration::from_secs(300), |c| {
            progress.tick(|| format!("connected {}/{}, errors {}", c.connected, args.agents, c.errors))
        })
        .await;
    progress.done();
    let connected = fleet.counters().connected;
    // Let allocations settle, then read memory and watch CPU over the hold.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = hub.process(common.server_pid).await;
    let hold = Duration::from_secs(common.duration);
    let held_from = Instant::now();
    let mut lowest = connected;
    let mut progress = Progress::new(Duration::from_secs(2));
    while held_from.elapsed() < hold {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = fleet.counters();
        lowest = lowest.min(now.connected);
        progress
            .tick(|| format!("holding {} connections, frames {}, errors {}", now.connected, now.frames, now.errors));
    }
    progress.done();
    let after = hub.process(common.server_pid).await;
    let held = fleet.counters().connected;
    let merged = merge(&fleet.stop(None).await?);

    let mut report = Report::new("idle", &common.servers);
    report.agents = Some(args.agents as u64);
    report.offered_rate = None;
    report.achieved_rate = Some(connected as f64 / connect_time.as_secs_f64());
    report.headline(&merged.handshake);
    report.errors = merged.errors;
    if let (Some(before), Some(loaded)) = (before, loaded)
        && connected > 0
    {
        report.rss_bytes_per_connection = Some((loaded.rss_bytes as f64 - before.rss_bytes as f64) / connected as f64);
        report.detail("server_rss_before_bytes", before.rss_bytes);
        report.detail("server_rss_loaded_bytes", loaded.rss_bytes);
    }
    if let (Some(loaded), Some(after)) = (loaded, after) {
        let cpu = (after.cpu_seconds - loaded.cpu_seconds) / held_from.elapsed().as_secs_f64() * 100.0;
        report.detail("server_cpu_percent_of_one_core_while_idle", (cpu * 100.0).round() / 100.0);
    }
    report.detail("connected", connected);
    report.detail("held_at_end", held);
    report.detail("fewest_held_during_hold", lowest);
    report.detail("connect_seconds", connect_time.as_secs_f64());
    report.detail("slowest_worker_all_connected_ms", merged.all_connected_ms);
    report.detail("hold_seconds", common.duration);
    report.detail("handshake", merged.handshake.json());
    common.finish(&report, &[("handshake", &merged.handshake)])?;
    if held < args.agents as u64 {
        bail!("held {held} of {} connections", args.agents);
    }
    if report.rss_bytes_per_connection.is_none() {
        bail!("could not read the hub's memory: pass --server-pid, or serve /metrics");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Events per second (each goes to every agent: frames/s = rate × agents).
    #[arg(long, default_value_t = 25.0)]
    rate: f64,
    /// Tickets the notes are spread over (each ticket's writes are serial in its actor).
    #[arg(long, default_value_t = 1)]
    tickets: usize,
}

pub async fn fanout(args: FanoutArgs) -> anyhow::Result<()> {
    let common = &args.common;
    let (hub, admin) = common.admin().await?;
    let marker = marker();
    let mut tickets = Vec::new();
    for n in 0..args.tickets.max(1) {
        tickets.push(hub.create_ticket(&admin, &format!("Fan-out {marker} {n}")).await?);
    }
    // The notes' own topics: a queue frame carries the ticket's row, not a note's text.
    let plan = Plan {
        subscribe_queue: false,
        tickets: tickets.clone(),
        heartbeat_secs: 25,
        marker: marker.clone(),
        first_contacts: 0,
    };
    let (fleet, _) = start_agents(common, &hub, &admin, args.agents, &plan).await?;
    let connected = fleet.counters().connected;
    let total = (args.rate * common.duration as f64).round() as u64;
    let started = Instant::now();
    let (acked, errors, posts) = open_loop(
        args.rate,
        total,
        |n, due| {
            let (hub, admin, body) = (hub.clone(), admin.clone(), format!("{marker}{n}:{due}"));
            let ticket = tickets[n as usize % tickets.len()];
            async move { hub.post_note(&admin, ticket, &body).await }
        },
        "fan-out",
    )
    .await;
    let wanted = acked * connected;
    drain(&fleet, wanted, Duration::from_secs(15)).await;
    let elapsed = started.elapsed();
    let merged = merge(&fleet.stop(None).await?);

    let mut report = Report::new("fanout", &common.servers);
    report.agents = Some(connected);
    report.offered_rate = Some(args.rate * connected as f64);
    report.achieved_rate = Some(merged.unique as f64 / elapsed.as_secs_f64());
    report.headline(&merged.end_to_end);
    report.errors = errors + merged.errors;
    report.lost = Some(wanted.saturating_sub(merged.unique));
    report.duplicated = Some(merged.duplicated);
    report.detail("events_offered_per_second", args.rate);
    report.detail("tickets", tickets.len());
    report.detail("events_acknowledged", acked);
    report.detail("frames_expected", wanted);
    report.detail("frames_received", merged.unique);
    merged.delivery_details(&mut report, ("post_response", &posts));
    common.finish(
        &report,
        &[
            ("due -> agent socket", &merged.end_to_end),
            ("server sent_at -> socket", &merged.server_hop),
            ("note POST response", &posts),
        ],
    )
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct WhatsappArgs {
    #[command(flatten)]
    common: Common,
    /// Agents listening on `queue`.
    #[arg(long, default_value_t = 100)]
    agents: usize,
    /// Customers writing (distinct WhatsApp numbers, new on every run).
    #[arg(long, default_value_t = 200)]
    customers: u64,
    /// Inbound messages per second (one per webhook).
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// The hub's WhatsApp app secret; by default read from the hub as its admin (it is
    /// generated per install unless configured).
    #[arg(long, env = "SWITCHBOARD_LOAD_APP_SECRET")]
    app_secret: Option<String>,
    /// The business number's id (the sandbox default serves `100200300400500`).
    #[arg(long, default_value = "100200300400500")]
    phone_number_id: String,
}

/// Customer numbers for a run: fresh every run so each customer starts a new ticket.
fn customer_base() -> u64 {
    5_500_000_000_000 + (now_us().unsigned_abs() / 1000 % 100_000_000) * 10_000
}

pub async fn whatsapp(args: WhatsappArgs) -> anyhow::Result<()> {
    let common = &args.common;
    let (hub, admin) = common.admin().await?;
    let secret = match &args.app_secret {
        Some(secret) => secret.clone(),
        None => hub.app_secret(&admin).await?,
    };
    let marker = marker();
    let plan = Plan {
        subscribe_queue: true,
        tickets: Vec::new(),
        heartbeat_secs: 25,
        marker: marker.clone(),
        first_contacts: args.customers,
    };
    let (fleet, _) = start_agents(common, &hub, &admin, args.agents, &plan).await?;
    let connected = fleet.counters().connected;
    let frames_before = fleet.counters().frames;
    let total = (args.rate * common.duration as f64).round() as u64;
    let base = customer_base();
    let started = Instant::now();
    let url = hub.url("/webhooks/whatsapp");
    let (acked, errors, responses) = open_loop(
        args.rate,
        total,
        |n, due| {
            let message = Inbound {
                from: base + n % args.customers,
                wamid: format!("wamid.{marker}{n}"),
                text: format!("{marker}{n}:{due}"),
            };
            let body = payload(&args.phone_number_id, &[message]);
            let signature = sign(&secret, body.as_bytes());
            let request = hub
                .http
                .post(&url)
                .header("x-hub-signature-256", signature)
                .header("content-type", "application/json")
                .body(body);
            async move { request.send().await.is_ok_and(|response| response.status().is_success()) }
        },
        "webhooks",
    )
    .await;
    let wanted = acked * connected;
    drain(&fleet, wanted, Duration::from_secs(30)).await;
    let elapsed = started.elapsed();
    // Every frame of every type the agents got (the workers report their counts every 250 ms).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let frames = fleet.counters().frames.saturating_sub(frames_before);
    let merged = merge(&fleet.stop(None).await?);

    let mut report = Report::new("whatsapp", &common.servers);
    report.detail(
        "frames_per_agent_per_message",
        format!("{:.2}", frames as f64 / connected.max(1) as f64 / acked.max(1) as f64),
    );
    report.agents = Some(connected);
    report.offered_rate = Some(args.rate);
    report.achieved_rate = Some(merged.unique as f64 / connected.max(1) as f64 / elapsed.as_secs_f64());
    report.headline(&merged.end_to_end);
    report.errors = errors + merged.errors;
    report.lost = Some(wanted.saturating_sub(merged.unique));
    report.duplicated = Some(merged.duplicated);
    report.detail("customers", args.customers);
    report.detail("first_contact", merged.first_contact.json());
    report.detail("webhooks_acknowledged", acked);
    report.detail("frames_expected", wanted);
    report.detail("frames_received", merged.unique);
    merged.delivery_details(&mut report, ("webhook_response", &responses));
    common.finish(
        &report,
        &[
            ("webhook due -> agent socket", &merged.end_to_end),
            ("  of which first contacts", &merged.first_contact),
            ("server sent_at -> socket", &merged.server_hop),
            ("webhook response", &responses),
        ],
    )
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// Signed WhatsApp webhooks (durable in the inbox at the 200, then turned into tickets).
    Webhook,
    /// Notes through `POST /api/v1/tickets/{id}/messages` (durable at the 201).
    Rest,
}

#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum, default_value_t = Via::Webhook)]
    via: Via,
    /// Requests in flight (closed loop: each sender sends its next as soon as one is answered).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Webhook: distinct customers; REST: tickets written to.
    #[arg(long, default_value_t = 500)]
    customers: u64,
    /// Webhook: messages per webhook (Meta batches several in one delivery at times).
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// The hub's WhatsApp app secret; by default read from the hub as its admin (it is
    /// generated per install unless configured).
    #[arg(long, env = "SWITCHBOARD_LOAD_APP_SECRET")]
    app_secret: Option<String>,
    #[arg(long, default_value = "100200300400500")]
    phone_number_id: String,
}

pub async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let common = &args.common;
    let (hub, admin) = common.admin().await?;
    let secret: Arc<str> = match (&args.app_secret, args.via) {
        (Some(secret), _) => secret.as_str().into(),
        (None, Via::Webhook) => hub.app_secret(&admin).await?.into(),
        (None, Via::Rest) => "".into(),
    };
    let marker = marker();
    let tickets: Vec<i64> = match args.via {
        Via::Rest => {
            let mut tickets = Vec::new();
            for n in 0..args.customers {
                tickets.push(hub.create_ticket(&admin, &format!("Ingest {marker} {n}")).await?);
            }
            tickets
        }
        Via::Webhook => Vec::new(),
    };
    let created_before = hub.metric("switchboard_whatsapp_inbound_total").await.unwrap_or(0.0);
    let base = customer_base();
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Latency::default()));
    let deadline = Instant::now() + Duration::from_secs(common.duration);
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..args.concurrency {
        let (hub, admin, marker, tickets) = (hub.clone(), admin.clone(), marker.clone(), tickets.clone());
        let (next, acked, errors, latency, args) =
            (next.clone(), acked.clone(), errors.clone(), latency.clone(), args.clone());
        let secret = secret.clone();
        senders.push(tokio::spawn(async move {
            let mut mine = Latency::default();
            let url = hub.url("/webhooks/whatsapp");
            while Instant::now() < deadline {
                let begun = Instant::now();
                let (ok, count) = match args.via {
                    Via::Webhook => {
                        let first = next.fetch_add(args.batch, Ordering::Relaxed);
                        let messages: Vec<Inbound> = (first..first + args.batch)
                            .map(|n| Inbound {
                                from: base + n % args.customers,
                                wamid: format!("wamid.{marker}{n}"),
                                text: format!("{marker}{n}:{}", now_us()),
                            })
                            .collect();
                        let body = payload(&args.phone_number_id, &messages);
                        let signature = sign(&secret, body.as_bytes());
                        let sent = hub
                            .http
                            .post(&url)
                            .header("x-hub-signature-256", signature)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        (sent.is_ok_and(|response| response.status().is_success()), args.batch)
                    }
                    Via::Rest => {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let ticket = tickets[(n % tickets.len() as u64) as usize];
                        (hub.post_note(&admin, ticket, &format!("{marker}{n}:{}", now_us())).await, 1)
                    }
                };
                mine.record(begun.elapsed());
                if ok {
                    acked.fetch_add(count, Ordering::Relaxed)
                } else {
                    errors.fetch_add(1, Ordering::Relaxed)
                };
            }
            latency.lock().await.merge(&mine);
        }));
    }
    let mut progress = Progress::new(Duration::from_secs(1));
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let done = acked.load(Ordering::Relaxed);
        progress.tick(|| {
            format!(
                "acknowledged {done} ({:.0}/s), errors {}",
                done as f64 / started.elapsed().as_secs_f64(),
                errors.load(Ordering::Relaxed)
            )
        });
    }
    for sender in senders {
        let _ = sender.await;
    }
    progress.done();
    let send_time = started.elapsed();
    let acked = acked.load(Ordering::Relaxed);
    let errors = errors.load(Ordering::Relaxed);

    // Webhook messages become ticket messages after the 200: wait for the hub to catch up.
    let mut processed_at = send_time;
    if args.via == Via::Webhook {
        let mut progress = Progress::new(Duration::from_secs(1));
        let limit = Instant::now() + Duration::from_secs(120);
        while Instant::now() < limit {
            let created = hub.metric("switchboard_whatsapp_inbound_total").await.unwrap_or(0.0) - created_before;
            progress.tick(|| format!("processing: {created:.0}/{acked} in tickets"));
            if created as u64 >= acked {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        progress.done();
        processed_at = started.elapsed();
    }

    // Count every message in the store through the API: each marked number exactly once.
    let ids = match args.via {
        Via::Rest => tickets.clone(),
        // The run's id alone: `load:` would read as a field in the query language, and every
        // marked subject and message contains the id.
        Via::Webhook => hub.search_tickets(&admin, run_id(&marker)).await?,
    };
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for ticket in &ids {
        for event in hub.ticket_events(&admin, *ticket).await? {
            if let Some(n) = event["message"]["body"].as_str().and_then(|body| marked_number(body, &marker)) {
                *counts.entry(n).or_default() += 1;
            }
        }
    }
    let stored = counts.len() as u64;
    let duplicated: u64 = counts.values().map(|count| count - 1).sum();
    let latency = latency.lock().await.clone();

    let mut report = Report::new(
        match args.via {
            Via::Webhook => "ingest-webhook",
            Via::Rest => "ingest-rest",
        },
        &common.servers,
    );
    report.offered_rate = None;
    report.achieved_rate = Some(acked as f64 / send_time.as_secs_f64());
    report.headline(&latency);
    report.errors = errors;
    report.lost = Some(acked.saturating_sub(stored));
    report.duplicated = Some(duplicated);
    report.detail("concurrency", args.concurrency);
    report.detail("acknowledged", acked);
    report.detail("stored", stored);
    report.detail("tickets", ids.len());
    if args.via == Via::Webhook {
        report.detail("batch", args.batch);
        report.detail("end_to_end_msgs_per_second", acked as f64 / processed_at.as_secs_f64());
        report.detail("seconds_until_all_in_tickets", processed_at.as_secs_f64());
    }
    report.detail("response", latency.json());
    common.finish(&report, &[("response", &latency)])
}

/// The number in a marked body `<marker><n>:<µs>`.
fn marked_number(body: &str, marker: &str) -> Option<u64> {
    body.strip_prefix(marker)?.split(':').next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Notes per second, written through the first node; every agent follows the ticket.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Kill this process (`kill -9`; the pid of a node other than the first) mid-run.
    #[arg(long)]
    kill_pid: Option<u32>,
    /// Seconds into the load when the kill happens.
    #[arg(long, default_value_t = 5)]
    kill_at: u64,
    /// Share (0–1) of the killed node's agents that do not come back (their presence must clear).
    #[arg(long, default_value_t = 0.1)]
    gone: f64,
}

pub async fn cluster(args: ClusterArgs) -> anyhow::Result<()> {
    let common = &args.common;
    if common.servers.len() < 2 {
        bail!("cluster needs two nodes: --server http://127.0.0.1:8080 --server http://127.0.0.1:8081");
    }
    let (hub, admin) = common.admin().await?;
    let marker = marker();
    let ticket = hub.create_ticket(&admin, &format!("Cluster {marker}")).await?;
    let plan = Plan {
        subscribe_queue: false,
        tickets: vec![ticket],
        heartbeat_secs: 25,
        marker: marker.clone(),
        first_contacts: 0,
    };
    let agents = hub.prepare_agents(&admin, args.agents).await?;
    let nodes = common.servers.len();
    // Agents `n % nodes == 1` live on the second node; every `1/gone`-th of them does not rejoin.
    let gone_every = (args.gone > 0.0).then(|| (1.0 / args.gone).round().max(1.0) as usize);
    let is_gone = |n: usize| {
        args.kill_pid.is_some() && n % nodes == 1 && gone_every.is_some_and(|every| (n / nodes).is_multiple_of(every))
    };
    let gone_ids: HashSet<i64> =
        agents.iter().enumerate().filter(|(n, _)| is_gone(*n)).map(|(_, (id, _))| *id).collect();
    let tokens: Vec<String> = agents.iter().map(|(_, token)| token.clone()).collect();
    let fleet = Fleet::start(&plan, &tokens, &common.ws_urls()?, &common.layout(args.agents), |n| !is_gone(n)).await?;
    let mut progress = Progress::new(Duration::from_secs(1));
    fleet
        .wait_connected(args.agents as u64, Duration::from_secs(120), |c| {
            progress.tick(|| format!("connected {}/{}, errors {}", c.connected, args.agents, c.errors))
        })
        .await;
    progress.done();
    let connected = fleet.counters().connected;
    // A supervisor on the first node watches the presence board.
    let board = watch_presence(&hub, &admin, gone_ids.clone()).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let total = (args.rate * common.duration as f64).round() as u64;
    let killed_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let killer = args.kill_pid.map(|pid| {
        let (killed_at, at) = (killed_at.clone(), Duration::from_secs(args.kill_at));
        tokio::spawn(async move {
            tokio::time::sleep(at).await;
            let status = tokio::process::Command::new("kill").args(["-9", &pid.to_string()]).status().await;
            if let Ok(mut killed) = killed_at.lock() {
                *killed = Some(Instant::now());
            }
            eprintln!("killed node pid {pid}: {status:?}");
        })
    });
    let started = Instant::now();
    let (acked, errors, posts) = open_loop(
        args.rate,
        total,
        |n, due| {
            let (hub, admin, body) = (hub.clone(), admin.clone(), format!("{marker}{n}:{due}"));
            async move { hub.post_note(&admin, ticket, &body).await }
        },
        "cluster",
    )
    .await;
    if let Some(killer) = killer {
        let _ = killer.await;
    }
    let staying = (connected as usize - gone_ids.len()) as u64;
    drain(&fleet, acked * staying, Duration::from_secs(20)).await;
    let elapsed = started.elapsed();
    let final_seq = hub.ticket_events(&admin, ticket).await?.last().and_then(|event| event["seq"].as_i64());
    let merged = merge(&fleet.stop(final_seq).await?);
    let killed_at = *killed_at.lock().map_err(|_| anyhow!("lock"))?;
    let presence_cleared = board.finish(killed_at).await;

    let mut report = Report::new("cluster", &common.servers);
    report.agents = Some(connected);
    report.offered_rate = Some(args.rate * connected as f64);
    report.achieved_rate = Some(merged.unique as f64 / elapsed.as_secs_f64());
    report.headline(&merged.end_to_end);
    report.errors = errors + merged.errors;
    report.lost = Some(merged.seq_gaps + merged.tail_missing);
    report.duplicated = Some(merged.seq_duplicates + merged.duplicated);
    report.detail("events_acknowledged", acked);
    merged.delivery_details(&mut report, ("post_response", &posts));
    if args.kill_pid.is_some() {
        report.detail("killed_after_seconds", args.kill_at);
        report.detail("reconnects", merged.reconnects);
        report.detail("agents_not_returning", gone_ids.len());
        report.detail("drop_to_caught_up", merged.recovery.json());
        report.detail("all_caught_up_within_seconds", merged.recovery.max_ms().map(|ms| ms / 1000.0));
        report.detail("presence_of_gone_agents_cleared_within_seconds", presence_cleared.map(|d| d.as_secs_f64()));
    }
    common.finish(
        &report,
        &[
            ("due -> agent socket", &merged.end_to_end),
            ("server sent_at -> socket", &merged.server_hop),
            ("drop -> caught up", &merged.recovery),
        ],
    )
}

/// A supervisor's presence socket on the first node, noting when each agent in `gone` turned
/// offline (or left the board).
struct Board {
    task: tokio::task::JoinHandle<()>,
    gone: HashSet<i64>,
    cleared_at: Arc<std::sync::Mutex<HashMap<i64, Instant>>>,
}

async fn watch_presence(hub: &Hub, admin: &str, gone: HashSet<i64>) -> anyhow::Result<Board> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{}?token={admin}", hub.ws_url())).await?;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(r#"{"type":"subscribe","topic":"presence"}"#.into()))
        .await?;
    let cleared_at: Arc<std::sync::Mutex<HashMap<i64, Instant>>> = Arc::default();
    let task = {
        let (cleared_at, gone) = (cleared_at.clone(), gone.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                if frame["type"] != "presence" {
                    continue;
                }
                let Ok(mut cleared) = cleared_at.lock() else { break };
                let now = Instant::now();
                let mut on_board = HashSet::new();
                let whole_board = frame["board"].is_array();
                let entries = match (&frame["board"], &frame["agent"]) {
                    (Value::Array(board), _) => board.clone(),
                    (_, agent @ Value::Object(_)) => vec![agent.clone()],
                    _ => continue,
                };
                for entry in entries {
                    let (Some(id), Some(state)) = (entry["user_id"].as_i64(), entry["status"].as_str()) else {
                        continue;
                    };
                    on_board.insert(id);
                    if !gone.contains(&id) {
                        continue;
                    }
                    if state == "offline" {
                        cleared.entry(id).or_insert(now);
                    } else {
                        cleared.remove(&id);
                    }
                }
                if whole_board {
                    for id in gone.iter().filter(|id| !on_board.contains(id)) {
                        cleared.entry(*id).or_insert(now);
                    }
                }
            }
        })
    };
    Ok(Board { task, gone, cleared_at })
}

impl Board {
    /// Waits (up to 30 s after the kill) until every gone agent is off the board; the time from
    /// the kill until the last of them cleared. None without a kill or when some never cleared.
    async fn finish(self, killed_at: Option<Instant>) -> Option<Duration> {
        let killed_at = killed_at?;
        let limit = killed_at + Duration::from_secs(30);
        let cleared = || self.cleared_at.lock().map(|cleared| cleared.clone()).unwrap_or_default();
        while Instant::now() < limit && !self.gone.iter().all(|id| cleared().contains_key(id)) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.task.abort();
        let cleared = cleared();
        if !self.gone.iter().all(|id| cleared.contains_key(id)) {
            return None;
        }
        let last = self.gone.iter().filter_map(|id| cleared.get(id)).max().copied()?;
        Some(last.saturating_duration_since(killed_at))
    }
}

#[cfg(test)]
mod marker_tests {
    use super::*;

    #[test]
    fn a_markers_run_id_is_a_bare_word() {
        let marker = marker();
        let id = run_id(&marker);
        assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()), "{marker} → {id}");
        assert_eq!(run_id("load:661bae88f8273:"), "661bae88f8273");
    }
}
