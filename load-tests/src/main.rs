//! `switchboard-load`: simulates thousands of agents and customers against running hubs and
//! reports what the hub achieved. See `load-tests/README.md` for the scenarios and commands.

mod agents;
mod automation;
mod fake_graph;
mod hub;
mod queries;
mod report;
mod reports;
mod routing;
mod scenarios;
mod search;
mod webhook;
mod worker;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "switchboard-load", version, about = "Load tests for the Switchboard hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N agents connect, subscribe to `queue`, heartbeat and stay: connections held, connect
    /// rate, server memory per connection and CPU while idle.
    Idle(scenarios::IdleArgs),
    /// N agents subscribed to `queue`; notes posted at a fixed rate fan out to all of them:
    /// frames/s achieved vs offered, latency from the schedule to each agent's socket.
    Fanout(scenarios::FanoutArgs),
    /// M customers post signed webhooks at a fixed rate while N agents listen: webhook →
    /// agent-socket latency, webhook response times, errors, lost and duplicated frames.
    Whatsapp(scenarios::WhatsappArgs),
    /// Maximum sustained durable ingest through the webhook or the REST API, then every
    /// message counted in the store (lost, duplicated).
    Ingest(scenarios::IngestArgs),
    /// Two (or more) nodes sharing PostgreSQL and Redis, agents split across them; optionally
    /// one node killed mid-run: reconnection, catch-up and presence clean-up times.
    Cluster(scenarios::ClusterArgs),
    /// Full-text search over a large account (seed it with `switchboard bench seed-search`):
    /// first-page latency of `GET /tickets?q=` for common and rare words, phrases and field
    /// conditions.
    Search(search::SearchArgs),
    /// The reports' summary over a large event log (seed with `switchboard bench seed-search`):
    /// latency of `GET /reports/summary` in total and per grouping.
    Reports(reports::ReportsArgs),
    /// N online agents in one routed team, tickets created for it at a fixed rate: the
    /// router's decision latency (created → assigned, from the hub's event times).
    Routing(routing::RoutingArgs),
    /// Time-rule timer lateness (due → fired) with many time rules pending (seed them with
    /// `switchboard bench seed-automation`): probe tickets on a short time rule.
    Automation(automation::AutomationArgs),
    /// A Graph API stand-in that answers sends at once (or with chosen error codes).
    FakeGraph(fake_graph::FakeGraphArgs),
    /// Internal: one process of agents, driven by the parent over stdin/stdout.
    #[command(hide = true)]
    Worker,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // reqwest may be built without a TLS provider of its own (features unify with the hub's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        // actix-web runs its own system; it must not be nested in the Tokio runtime.
        Command::FakeGraph(args) => actix_web::rt::System::new().block_on(fake_graph::run(args)),
        Command::Worker => runtime.block_on(worker::worker_main()),
        Command::Idle(args) => runtime.block_on(scenarios::idle(args)),
        Command::Fanout(args) => runtime.block_on(scenarios::fanout(args)),
        Command::Whatsapp(args) => runtime.block_on(scenarios::whatsapp(args)),
        Command::Ingest(args) => runtime.block_on(scenarios::ingest(args)),
        Command::Search(args) => runtime.block_on(search::search(args)),
        Command::Reports(args) => runtime.block_on(reports::reports(args)),
        Command::Routing(args) => runtime.block_on(routing::routing(args)),
        Command::Automation(args) => runtime.block_on(automation::automation(args)),
        Command::Cluster(args) => runtime.block_on(scenarios::cluster(args)),
    }
}
