//! `switchboard`: parses the command line and runs the chosen command.

use std::net::{TcpListener, ToSocketAddrs as _};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use switchboard::app::{self, Services};
use switchboard::cli::{BenchCommand, Cli, Command, ConfigCommand, KeysCommand, ReportsCommand, UserCommand};
use switchboard::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("switchboard: {error}");
            return ExitCode::from(2);
        }
    };
    switchboard::telemetry::init_logs(&settings.log);
    switchboard::install_tls_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchboard: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            // A refused configuration is refused before the port is taken (and whatever holds
            // the port cannot hide why).
            if let Some(address) = settings.server.listen.to_socket_addrs().ok().and_then(|mut found| found.next()) {
                settings.check_exposure(address)?;
            }
            let listener = listen(&settings.server.listen)
                .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
            let metrics = switchboard::telemetry::init_metrics();
            app::run(settings, listener, metrics, app::shutdown_signal()).await
        }
        Command::Migrate => {
            switchboard::storage::open(&settings.store_settings()?).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::User { command: UserCommand::Add { email, password, role, name, account } } => {
            let store = switchboard::storage::open(&settings.store_settings()?).await?.store;
            switchboard::cli::user_add(store.as_ref(), &email, &password, role, name, account).await
        }
        Command::Demo => {
            let services = Services::start(&settings).await?;
            let result = switchboard::demo::seed(&services.store, &services.tickets).await;
            services.stop().await;
            result
        }
        Command::Config { command: ConfigCommand::Check } => {
            let keys = switchboard::secrets::key_file::load_logged(&settings)?;
            let store = switchboard::storage::open(&settings.store_settings_with(keys.keyring.clone())).await?.store;
            let secrets = switchboard::channels::secrets::ChannelSecrets::resolve(
                &settings,
                store.as_ref(),
                switchboard_actors::clock::Clock::now(&switchboard_actors::clock::SystemClock),
            )
            .await?;
            switchboard::cli::config_check(&settings, &secrets, &keys);
            Ok(())
        }
        Command::Keys { command: KeysCommand::Rotate } => switchboard::secrets::rotate::run(&settings).await,
        Command::Reports { command: ReportsCommand::Rebuild } => {
            let store = switchboard::storage::open(&settings.store_settings()?).await?.store;
            switchboard::cli::reports_rebuild(store).await
        }
        Command::Bench { command: BenchCommand::SeedSearch { tickets, messages_per_ticket, spread_days } } => {
            let opened = switchboard::storage::open(&settings.store_settings()?).await?;
            switchboard::bench::seed_search(&opened.store, tickets, messages_per_ticket, spread_days).await
        }
        Command::Bench { command: BenchCommand::SeedAutomation { pending, due_in_secs } } => {
            let opened = switchboard::storage::open(&settings.store_settings()?).await?;
            switchboard::bench::seed_automation(&opened.store, pending, due_in_secs).await
        }
    }
}

/// Connections the kernel may queue before they are accepted. The standard library's 128 drops
/// SYNs when thousands of agents reconnect at once (a node restart); the kernel caps this at
/// `net.core.somaxconn` anyway.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(address: &str) -> anyhow::Result<TcpListener> {
    let address = address.to_socket_addrs()?.next().context("the address resolves to nothing")?;
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    Ok(socket.listen(LISTEN_BACKLOG)?.into_std()?)
}
