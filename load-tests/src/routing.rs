//! `routing`: the router's decision latency. N agents connect (online on the presence board) in
//! one routed team; tickets for that team are created at R per second (open loop) for
//! `--duration`; afterwards every ticket's log is read and *created → assigned* is taken from
//! the hub's own event times (the `created` event's `at` to the router's `assigned` event's
//! `at`, millisecond resolution), so it measures the router alone, not the REST round trip.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::hub::Hub;
use crate::report::{Latency, Progress, Report};

/// The team the scenario routes (created on the first run, its members replaced on each).
const TEAM: &str = "Load routing";
/// Requests in flight while preparing and reading back.
const CONCURRENCY: usize = 32;

#[derive(Debug, Clone, clap::Args)]
pub struct RoutingArgs {
    #[arg(long = "server", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, default_value = "admin@demo.switchboard.test", env = "SWITCHBOARD_LOAD_ADMIN_EMAIL")]
    admin_email: String,
    #[arg(long, default_value = "switchboard-demo", env = "SWITCHBOARD_LOAD_ADMIN_PASSWORD")]
    admin_password: String,
    /// Online agents in the routed team.
    #[arg(long, default_value_t = 500)]
    agents: usize,
    /// New tickets per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds of ticket creation.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// `least_loaded` or `round_robin`.
    #[arg(long, default_value = "least_loaded")]
    mode: String,
    /// Appends the run to this JSON array.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub async fn routing(args: RoutingArgs) -> anyhow::Result<()> {
    let hub = Hub::new(&args.server)?;
    let admin = hub.login(&args.admin_email, &args.admin_password).await?;
    let agents = hub.prepare_agents(&admin, args.agents).await?;
    // Room for every ticket of the run, so capacity never holds one back.
    let capacity = (args.rate * args.duration).div_ceil(args.agents as u64).max(1) + 10;
    stream::iter(agents.iter())
        .map(|(id, _)| {
            let hub = hub.clone();
            let admin = admin.clone();
            async move {
                let path = format!("/api/v1/users/{id}");
                hub.expect(reqwest::Method::PATCH, &path, &admin, Some(json!({"capacity": capacity.min(1000)})), 200)
                    .await
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let team = routed_team(&hub, &admin, &agents, &args.mode).await?;
    let mut sockets = JoinSet::new();
    for (_, token) in &agents {
        let url = format!("{}?token={token}", hub.ws_url());
        let (mut socket, _) =
            tokio_tungstenite::connect_async(url).await.context("an agent's WebSocket did not connect")?;
        // Reading answers the hub's pings; the frames themselves are not needed.
        sockets.spawn(async move { while let Some(Ok(_)) = socket.next().await {} });
    }
    wait_online(&hub, &admin, &agents).await?;

    let total = args.rate * args.duration;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let started = Instant::now();
    let mut creating = JoinSet::new();
    let mut progress = Progress::new(Duration::from_secs(2));
    for n in 0..total {
        let due = started + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let (hub, admin) = (hub.clone(), admin.clone());
        creating.spawn(async move {
            let body = json!({"subject": format!("routing load {n}"), "body": "load test ticket",
                              "requester_email": "load-customer@load.switchboard.test", "team_id": team});
            hub.expect(reqwest::Method::POST, "/api/v1/tickets", &admin, Some(body), 201)
                .await
                .and_then(|ticket| ticket["id"].as_i64().ok_or_else(|| anyhow!("no ticket id: {ticket}")))
        });
        progress.tick(|| format!("created {n}/{total}"));
    }
    let mut tickets = Vec::new();
    let mut errors = 0;
    while let Some(created) = creating.join_next().await {
        match created? {
            Ok(id) => tickets.push(id),
            Err(_) => errors += 1,
        }
    }
    let achieved = tickets.len() as f64 / started.elapsed().as_secs_f64();
    progress.done();

    // Read back: wait (up to 30 s) for every ticket's assignment, then take both times.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latency = Latency::default();
    let mut pending = tickets.clone();
    while !pending.is_empty() && Instant::now() < deadline {
        let read: Vec<(i64, Option<i64>)> = stream::iter(pending.iter().copied())
            .map(|ticket| {
                let (hub, admin) = (hub.clone(), admin.clone());
                async move { Ok::<_, anyhow::Error>((ticket, decision_ms(&hub.ticket_events(&admin, ticket).await?))) }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        pending.clear();
        for (ticket, ms) in read {
            match ms {
                Some(ms) => latency.record_us(ms * 1_000),
                None => pending.push(ticket),
            }
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    sockets.abort_all();

    let mut report = Report::new("routing", std::slice::from_ref(&args.server));
    report.agents = Some(args.agents as u64);
    report.offered_rate = Some(args.rate as f64);
    report.achieved_rate = Some(achieved);
    report.errors = errors;
    report.lost = Some(pending.len() as u64);
    report.headline(&latency);
    report.detail("tickets", tickets.len());
    report.detail("mode", &args.mode);
    report.detail("never assigned within 30 s", pending.len());
    report.print(&[("created → assigned", &latency)]);
    if let Some(path) = &args.json {
        report.append_json(path)?;
    }
    if !pending.is_empty() {
        bail!("{} tickets were never assigned", pending.len());
    }
    Ok(())
}

/// Milliseconds from the `created` event to the first `assigned` event, when there is one.
fn decision_ms(events: &[Value]) -> Option<i64> {
    let at = |kind: &str| {
        events
            .iter()
            .find(|event| event["type"] == kind)
            .and_then(|event| event["at"].as_str())
            .and_then(|at| at.parse::<jiff::Timestamp>().ok())
    };
    let (created, assigned) = (at("created")?, at("assigned")?);
    Some(assigned.duration_since(created).as_millis() as i64)
}

/// The scenario's team with exactly these agents, routed in `mode`.
async fn routed_team(hub: &Hub, admin: &str, agents: &[(i64, String)], mode: &str) -> anyhow::Result<i64> {
    let members: Vec<i64> = agents.iter().map(|(id, _)| *id).collect();
    let teams = hub.expect(reqwest::Method::GET, "/api/v1/teams", admin, None, 200).await?;
    let existing = teams["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|team| team["name"] == TEAM)
        .and_then(|team| team["id"].as_i64());
    let team = match existing {
        Some(id) => {
            let body = json!({"member_ids": members});
            hub.expect(reqwest::Method::PATCH, &format!("/api/v1/teams/{id}"), admin, Some(body), 200).await?;
            id
        }
        None => {
            let body = json!({"name": TEAM, "member_ids": members});
            let team = hub.expect(reqwest::Method::POST, "/api/v1/teams", admin, Some(body), 201).await?;
            team["id"].as_i64().ok_or_else(|| anyhow!("no team id: {team}"))?
        }
    };
    let path = format!("/api/v1/teams/{team}/routing");
    hub.expect(reqwest::Method::PUT, &path, admin, Some(json!({"mode": mode})), 200).await?;
    Ok(team)
}

/// Waits until the board shows every agent online.
async fn wait_online(hub: &Hub, admin: &str, agents: &[(i64, String)]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = hub.expect(reqwest::Method::GET, "/api/v1/agents/availability", admin, None, 200).await?;
        let online = rows["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|row| row["status"] == "online" && agents.iter().any(|(id, _)| row["user_id"] == *id))
            .count();
        if online == agents.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {online} of {} agents came online", agents.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
