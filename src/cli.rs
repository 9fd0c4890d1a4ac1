//! The command line: `serve` (default), `migrate`, `user add`, `demo`, `config check`,
//! `keys rotate`, `reports rebuild`, and the hidden `bench seed-search` fixture.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use switchboard_actors::domain::{Account, Role};
use switchboard_actors::store::{NewUser, Store, StoreError};

use crate::channels::secrets::ChannelSecrets;
use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "A customer-support hub: WhatsApp and email tickets, live console.")]
pub struct Cli {
    /// Configuration file (TOML), layered over config/default.toml; env SWITCHBOARD__SECTION__KEY wins.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, console and webhooks (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Seed a demo account (agents, a supervisor, customers, tickets) and print the logins.
    Demo,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage the master key that seals the secrets stored in the database.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the reports' projection of the event log.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// Benchmark fixtures (for `switchboard-load`).
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fill the database with a searchable account: N tickets of K messages each.
    SeedSearch {
        #[arg(long, default_value_t = 100_000)]
        tickets: u64,
        #[arg(long, default_value_t = 10)]
        messages_per_ticket: u64,
        /// Spread the tickets evenly over this many days before now (0: all written now), so a
        /// report's period holds history as an account's would.
        #[arg(long, default_value_t = 0)]
        spread_days: u64,
    },
    /// Fill the database with N tickets each waiting on a time rule due in `due_in_secs`: the
    /// pending timers behind `switchboard-load automation`.
    SeedAutomation {
        #[arg(long, default_value_t = 100_000)]
        pending: u64,
        #[arg(long, default_value_t = 3_600)]
        due_in_secs: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; on an empty database this also creates the default account.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// admin, supervisor, agent or customer.
        #[arg(long)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        /// Account id; defaults to the first account.
        #[arg(long)]
        account: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-seal every stored secret under a new master key (run it with the hub stopped on every
    /// node; safe to run again after an interruption: it resumes with the same new key).
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Forget every projected figure and project the whole event log again from its start (a
    /// running server's projection takes turns with it: each page is written once).
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration, then print it with secrets redacted, and the
    /// channels' secrets generated on first run (this opens, and migrates, the database).
    Check,
}

/// The shortest password the CLI accepts (the API enforces the same).
const MIN_PASSWORD: usize = 8;

pub async fn user_add(
    store: &dyn Store,
    email: &str,
    password: &str,
    role: Role,
    name: Option<String>,
    account: Option<i64>,
) -> anyhow::Result<()> {
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must be at least {MIN_PASSWORD} characters");
    }
    if !email.contains('@') {
        bail!("`{email}` is not an email address");
    }
    let account = match account {
        Some(id) => store.account(id).await?.with_context(|| format!("no account {id}"))?,
        None => default_account(store).await?,
    };
    let hash = crate::auth::hash_password(password)?;
    let user = store
        .create_user(NewUser {
            account_id: account.id,
            email: email.to_owned(),
            name: name.unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned()),
            role,
            password_hash: Some(hash),
            company_id: None,
            team_ids: Vec::new(),
            capacity: if role.is_staff() { crate::DEFAULT_CAPACITY } else { 0 },
            time_zone: "UTC".to_owned(),
            phone: None,
        })
        .await
        .map_err(|error| match error {
            StoreError::Conflict(_) => anyhow::anyhow!("a user with email {email} already exists"),
            other => other.into(),
        })?;
    println!("created {} user #{} <{}> in account #{} ({})", user.role, user.id, user.email, account.id, account.name);
    Ok(())
}

/// Replays the event log into the reports' projection from position 0.
/// Replays the whole event log into the reports and says how fast: positions are consecutive
/// from 1, so the last one is the number of events folded (the projection's catch-up rate).
pub async fn reports_rebuild(store: std::sync::Arc<dyn Store>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let position = crate::reports::ReportProjection::new(store).rebuild().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "reports rebuilt from the event log up to position {position}: {position} events in {seconds:.1} s ({:.0} events/s)",
        position as f64 / seconds.max(0.001)
    );
    Ok(())
}

/// The first account, created when the database has none.
pub async fn default_account(store: &dyn Store) -> anyhow::Result<Account> {
    match store.first_account().await? {
        Some(account) => Ok(account),
        None => Ok(store.create_account("Default").await?),
    }
}

/// Prints the effective configuration, secrets redacted, then the channels' secrets: the
/// generated ones in full (they exist nowhere else the operator can read), the configured ones
/// only named (they are in the operator's own configuration).
pub fn config_check(settings: &Settings, secrets: &ChannelSecrets, keys: &crate::secrets::key_file::LoadedKeys) {
    println!("# configuration is valid\n{}", settings.redacted_toml());
    let origin = match &keys.origin {
        crate::secrets::key_file::KeyOrigin::Configured => "security.master_key".to_owned(),
        crate::secrets::key_file::KeyOrigin::File(path) | crate::secrets::key_file::KeyOrigin::Created(path) => {
            format!("the key file {}", path.display())
        }
    };
    println!("# Stored secrets are sealed under master key {} from {origin}.", keys.keyring.primary().id());
    if let Some(pending) = keys.pending.as_ref().filter(|pending| pending.id() != keys.keyring.primary().id()) {
        println!("# A rotation to key {} is unfinished: run `switchboard keys rotate` again.", pending.id());
    }
    let exposure = settings.server.listen.parse().map(|listen| settings.check_exposure(listen));
    if let Ok(Err(refusal)) = exposure {
        println!("# warning: `serve` would not start with this: {refusal}\n");
    }
    println!("# Channel secrets in effect. Generated ones were made on first run and are kept in the");
    println!("# database (every node of this database uses the same); set the key to replace one.");
    for (key, secret) in secrets.listing() {
        let shown = match (secret.generated, secret.value.is_empty()) {
            (true, _) => format!("{}  (generated)", secret.value),
            (false, true) => "(not set)".to_owned(),
            (false, false) => "(configured)".to_owned(),
        };
        println!("# {key:<22} {shown}");
    }
}
