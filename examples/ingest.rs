//! First reading of durable ingest: concurrent customer messages through the real path (ticket
//! actors → group-commit writer → store), counted in the store afterwards.
//!
//! `cargo run --release --example ingest -- --url sqlite:///tmp/ingest.db --tickets 2000 --messages 25`
//! `cargo run --release --example ingest -- --url postgres://postgres@127.0.0.1/test --tickets 2000 --messages 25`

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, ensure};
use clap::Parser;
use switchboard::app::Services;
use switchboard::config::{Secret, Settings};
use switchboard_actors::domain::*;
use switchboard_actors::store::NewUser;
use switchboard_actors::ticket::{CommandContext, NewMessage, TicketCommand, TicketDraft};

#[derive(Parser)]
struct Args {
    /// Database URL (use a fresh one: the run adds an account).
    #[arg(long)]
    url: String,
    /// Tickets written to concurrently (one writer each).
    #[arg(long, default_value_t = 1000)]
    tickets: usize,
    /// Messages appended to each ticket, one after another.
    #[arg(long, default_value_t = 20)]
    messages: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    switchboard::install_tls_provider();
    let mut settings = Settings::default();
    settings.database.url = Secret(args.url.clone());
    let core = Services::start(&settings).await?;
    let account = core.store.create_account("Ingest benchmark").await?;
    let customer = core
        .store
        .create_user(NewUser {
            account_id: account.id,
            email: format!("ingest-{}@bench.example", uuid::Uuid::now_v7().simple()),
            name: "Bench".into(),
            role: Role::Customer,
            password_hash: None,
            company_id: None,
            team_ids: vec![],
            capacity: 0,
            time_zone: "UTC".into(),
            phone: None,
        })
        .await?;
    let config = Arc::new(core.store.account_config(account.id).await?);

    let started = Instant::now();
    let creates = (0..args.tickets).map(|n| {
        let draft = TicketDraft {
            account_id: account.id,
            subject: format!("Bench {n}"),
            body: Some("first".into()),
            body_kind: MessageKind::Customer,
            status: None,
            urgency: Level::Medium,
            importance: Level::Medium,
            ticket_type: None,
            category_id: None,
            tags: vec![],
            custom_fields: CustomFields::new(),
            channel: Channel::Whatsapp,
            requester_id: customer.id,
            company_id: None,
            minimum_priority: None,
            assignee_id: None,
            team_id: None,
            created_by: Some(customer.id),
            first_payload: None,
            first_provider_id: None,
            first_attachments: Vec::new(),
            window: None,
        };
        let (tickets, config) = (core.tickets.clone(), config.clone());
        tokio::spawn(async move { tickets.create(draft, &config).await })
    });
    let mut ids = Vec::with_capacity(args.tickets);
    for created in futures_util::future::join_all(creates).await {
        ids.push(created??.ticket.id);
    }
    let create_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let writers = ids.iter().map(|&id| {
        let (tickets, config, messages) = (core.tickets.clone(), config.clone(), args.messages);
        tokio::spawn(async move {
            for n in 0..messages {
                let command = TicketCommand::AddMessage(NewMessage {
                    kind: MessageKind::Customer,
                    body: format!("message {n}"),
                    channel: None,
                    attachments: vec![],
                    then_status: None,
                    payload: None,
                    provider_id: None,
                    window_until: None,
                });
                let context =
                    CommandContext { actor_id: None, config: config.clone(), expected_seq: None, seen_seq: None };
                tickets.execute(id, command, context).await?;
            }
            anyhow::Ok(())
        })
    });
    for writer in futures_util::future::join_all(writers).await {
        writer.context("writer task")??;
    }
    let secs = started.elapsed().as_secs_f64();
    let total = args.tickets * args.messages;

    let mut stored = 0;
    for id in &ids {
        stored += core.store.ticket_messages(*id).await?.len();
    }
    ensure!(
        stored == args.tickets * (args.messages + 1),
        "stored {stored} messages, expected {}",
        args.tickets * (args.messages + 1)
    );
    println!(
        "{}: {} tickets created in {:.2}s ({:.0}/s); {} messages in {:.2}s = {:.0} durable msgs/s; verified {} stored, none lost or doubled",
        args.url.split(':').next().unwrap_or("?"),
        args.tickets,
        create_secs,
        args.tickets as f64 / create_secs,
        total,
        secs,
        total as f64 / secs,
        stored
    );
    core.stop().await;
    Ok(())
}
