//! The composition root. [`Services`] builds every service once (store, ticket actors, timers,
//! sessions, the account-config cache, live delivery, channels, sandboxes); [`routes`] registers
//! each one as its own `web::Data` and each module's routes. Nothing else in the crate imports
//! this module (see ARCHITECTURE.md's invariants), and nothing but this module imports a
//! transport. [`run`] serves until `shutdown` resolves, then drains in order: stop accepting →
//! finish in-flight HTTP → stop actors (every acknowledged write is already durable) → close the
//! store.

pub mod routes;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use anyhow::Context as _;
use jiff::SignedDuration;
use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_actors::agent::{AgentSessions, AgentSettings, PresenceRules, PresenceSink};
use switchboard_actors::bus::EventBus;
use switchboard_actors::clock::{Clock, SystemClock};
use switchboard_actors::retry::RetryPolicy;
use switchboard_actors::store::Store;
use switchboard_actors::ticket::{self, Tickets, TicketsConfig};
use switchboard_actors::timers::{TimerDispatch, TimerHandlers, TimerSettings, run_timers, timer_channel};
use tokio::task::JoinHandle;

use crate::accounts::AccountConfigs;
use crate::auth::{FeedbackLimits, LoginLimits, LoginPolicy, PasswordPool};
use crate::automation::Automations;
use crate::channels::Channels;
use crate::channels::bounded_log::Bounds;
use crate::channels::email::EmailChannel;
use crate::channels::email::sandbox::MailSandbox;
use crate::channels::email::transport::{MailTransport, SmtpRelay};
use crate::channels::secrets::ChannelSecrets;
use crate::channels::whatsapp::graph::GraphClient;
use crate::channels::whatsapp::sandbox::{Sandbox, SandboxSetup};
use crate::channels::whatsapp::{WebhookSecrets, WhatsAppChannel};
use crate::cluster::Cluster;
use crate::config::{Secret, Settings};
use crate::customer_accounts::{CustomerAccounts, CustomerAccountsSetup};
use crate::live::{Hub, HubPresence, HubSettings};
use crate::notifications::Notifier;
use crate::presence::PresenceBoard;
use crate::reports::ReportProjection;
use crate::routing::Router;
use crate::sessions::Sessions;
use crate::storage;
use crate::ws::SocketSettings;
use switchboard_actors::whatsapp::conversation::{ChannelSettings, Conversations};

/// Every service of a running hub, built once at start. Tests may start it without serving
/// ([`Services::start`]); [`Services::serving`] adds what depends on the address the server
/// listens on (the sandboxes post to it).
pub struct Services {
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub store: Arc<dyn Store>,
    pub tickets: Tickets,
    /// Session tokens to users, customers to the tickets they may see.
    pub sessions: Arc<Sessions>,
    /// The audit log's daily retention sweep per account.
    pub audit_retention: Arc<crate::audit::retention::AuditRetention>,
    /// Data protection: customers' export and erasure.
    pub data_protection: Arc<crate::gdpr::DataProtection>,
    /// The daily retention sweep of closed tickets per account.
    pub ticket_retention: Arc<crate::gdpr::retention::TicketRetention>,
    /// API keys to users and scopes, and each key's request budget.
    pub api_keys: Arc<crate::api_keys::ApiKeys>,
    /// Each account's configuration, cached briefly.
    pub accounts: Arc<AccountConfigs>,
    /// Live pushes: subscriptions, delivery, the cluster relay.
    pub live: Arc<Hub>,
    /// Notifications from the event log, their live pushes and email digests.
    pub notifier: Arc<Notifier>,
    /// The reports' projection of the event log.
    pub reports: Arc<ReportProjection>,
    /// Outbound webhooks: subscriptions, the dispatcher tailing the log, the signed sender.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// Single sign-on with each account's OpenID Connect provider.
    pub sso: Arc<crate::sso::Sso>,
    /// Scheduled reports: their timers' handler and what the schedules API asks of them.
    pub report_schedules: Arc<crate::reports::schedules::ReportSchedules>,
    /// The cluster's presence board: every agent's merged presence, viewers.
    pub presence: Arc<PresenceBoard>,
    /// Presence-aware routing: one router per account in the cluster.
    pub router: Arc<Router>,
    pub whatsapp: Arc<WhatsAppChannel>,
    pub email: Arc<EmailChannel>,
    /// Both channels, and what a reply can reach.
    pub channels: Arc<Channels>,
    /// Automation rules compiled for the ticket actors; the dry run and arming of rules.
    pub automations: Arc<Automations>,
    /// The Graph API simulator and customer phone, when `whatsapp.sandbox` is on (see `serving`).
    pub sandbox: Option<Arc<Sandbox>>,
    /// The sandbox mailbox outbound mail goes to when `email.sandbox` is on.
    pub mail_sandbox: Option<Arc<MailSandbox>>,
    /// The channels' secrets in effect: configured, or generated per install.
    pub secrets: Arc<ChannelSecrets>,
    /// Every password hash and check runs here (bounded threads and memory).
    pub passwords: Arc<PasswordPool>,
    /// Who may try a password now: per email and address, and per address.
    pub logins: Arc<LoginLimits>,
    /// How often one client may answer a help-center article's "Was this helpful?".
    pub feedback_limits: Arc<FeedbackLimits>,
    /// Customer registration, password recovery, login codes, WhatsApp verification.
    pub customer_accounts: Arc<CustomerAccounts>,
    /// Satisfaction surveys: asked on resolve, answered on every channel.
    pub csat: Arc<crate::csat::Csat>,
    pub sockets: Arc<SocketSettings>,
    /// The Prometheus exporter `/metrics` renders, when the process installed one.
    pub metrics: Option<PrometheusHandle>,
    tasks: Vec<JoinHandle<()>>,
}

impl Services {
    /// Opens (and migrates) the store, starts the ticket supervisor and the durable-timer task.
    pub async fn start(settings: &Settings) -> anyhow::Result<Services> {
        Services::start_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Services::start`] on a given clock, so tests can move time (SLA breaches, timers due
    /// while the node was down) instead of waiting for it.
    pub async fn start_with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
        let mut store_settings = settings.store_settings().context("loading the master key")?;
        store_settings.clock = clock.clone();
        let opened = storage::open(&store_settings).await.context("opening the database")?;
        let secrets = Arc::new(
            ChannelSecrets::resolve(settings, opened.store.as_ref(), clock.now())
                .await
                .context("reading the generated secrets")?,
        );
        let (timer_handle, timer_inbox) = timer_channel();
        let tickets_config = TicketsConfig {
            idle_timeout: Duration::from_secs(settings.tickets.idle_timeout_secs),
            call_timeout: Duration::from_secs(settings.tickets.call_timeout_secs),
        };
        let tickets = Tickets::start(
            opened.store.clone(),
            EventBus::default(),
            clock.clone(),
            timer_handle.clone(),
            tickets_config,
        )
        .await
        .context("starting the ticket supervisor")?;
        let whatsapp = start_whatsapp(settings, &opened.store, &tickets, &clock, &secrets).await?;
        let (email, mail_sandbox) = start_email(settings, &opened.store, &tickets, &secrets, &clock).await?;
        let broker = crate::broker::open(settings.redis.url.expose()).await.context("connecting to Redis")?;
        let node = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
        let hub_settings = HubSettings {
            node: node.clone(),
            prefix: settings.redis.prefix.clone(),
            presence_refresh: Duration::from_millis(settings.presence.refresh_ms),
            presence_expiry: Duration::from_millis(settings.presence.expiry_ms),
            max_sockets_per_user: settings.ws.max_sockets_per_user,
            max_replays_per_user: settings.ws.max_replays_per_user,
        };
        let accounts = AccountConfigs::new(opened.store.clone());
        let channels = Arc::new(Channels::new(whatsapp.clone(), email.clone(), opened.store.clone()));
        // Before the timer task starts: a time rule due while the node was down fires with its
        // rules at hand, not as a stale timer.
        crate::install_tls_provider();
        let outbound =
            Arc::new(crate::webhooks::outbound::Outbound::new().context("building the webhooks' HTTP client")?);
        let automations = Automations::new(
            opened.store.clone(),
            accounts.clone(),
            channels.clone(),
            tickets.clone(),
            clock.clone(),
            outbound.clone(),
        );
        tickets.set_automations(automations.clone());
        let presence_board = Arc::new(PresenceBoard::new(node.clone(), hub_settings.presence_expiry));
        let cluster = Arc::new(Cluster::new(node.clone(), settings.redis.prefix.clone(), broker));
        let live = Hub::new(
            hub_settings,
            opened.store.clone(),
            tickets.clone(),
            cluster,
            accounts.clone(),
            presence_board.clone(),
            clock.clone(),
        );
        live.set_view_filters(Arc::new(crate::search::SavedViewFilters {
            store: opened.store.clone(),
            accounts: accounts.clone(),
            clock: clock.clone(),
        }));
        let presence = &settings.presence;
        let agent_settings = AgentSettings {
            rules: PresenceRules {
                idle: SignedDuration::from_millis(presence.idle_ms as i64),
                offline_grace: SignedDuration::from_millis(presence.offline_grace_ms as i64),
            },
            node: node.clone(),
        };
        let sink: Arc<dyn PresenceSink> = Arc::new(HubPresence(live.clone()));
        let agents = AgentSessions::start(opened.store.clone(), clock.clone(), sink, agent_settings)
            .await
            .context("starting the agent sessions")?;
        live.set_agents(agents);
        let mut tasks = live.start();
        let notifier =
            Notifier::new(opened.store.clone(), live.clone(), email.clone(), clock.clone(), timer_handle.clone());
        tasks.extend(notifier.start(tickets.bus().subscribe()));
        let reports = ReportProjection::new(opened.store.clone());
        tasks.extend(reports.start(tickets.bus().subscribe()));
        let webhooks = crate::webhooks::Webhooks::new(opened.store.clone(), live.clone(), clock.clone(), outbound);
        tasks.extend(webhooks.start(tickets.bus().subscribe()));
        let report_schedules = crate::reports::schedules::ReportSchedules::new(
            opened.store.clone(),
            reports.clone(),
            email.clone(),
            clock.clone(),
            timer_handle.clone(),
        );
        live.set_dashboard_source(Arc::new(crate::reports::board::LiveBoards {
            store: opened.store.clone(),
            presence: presence_board.clone(),
            clock: clock.clone(),
        }));
        tasks.push(live.start_dashboard());
        let router = Router::new(
            opened.store.clone(),
            tickets.clone(),
            accounts.clone(),
            presence_board.clone(),
            clock.clone(),
            node,
        );
        tasks.extend(router.start(tickets.bus().subscribe()));
        let audit_retention =
            crate::audit::retention::AuditRetention::new(opened.store.clone(), clock.clone(), timer_handle.clone());
        let ticket_retention = crate::gdpr::retention::TicketRetention::new(
            opened.store.clone(),
            clock.clone(),
            timer_handle.clone(),
            whatsapp.media.clone(),
        );
        let data_protection = Arc::new(crate::gdpr::DataProtection::new(
            opened.store.clone(),
            tickets.clone(),
            whatsapp.conversations.clone(),
            whatsapp.media.clone(),
        ));
        // Built once every owner of timers exists; timers set meanwhile wait in the channel.
        let dispatch: Arc<dyn TimerDispatch> = Arc::new(
            TimerHandlers::default()
                .register(ticket::TIMER_KIND, Arc::new(tickets.clone()))
                .register(
                    switchboard_actors::whatsapp::conversation::TIMER_KIND,
                    Arc::new(whatsapp.conversations.clone()),
                )
                .register(crate::notifications::TIMER_KIND, notifier.clone())
                .register(crate::reports::schedules::TIMER_KIND, report_schedules.clone())
                .register(crate::audit::retention::TIMER_KIND, audit_retention.clone())
                .register(crate::gdpr::retention::TIMER_KIND, ticket_retention.clone()),
        );
        let timers = tokio::spawn(run_timers(
            timer_inbox,
            timer_handle,
            opened.store.clone(),
            clock.clone(),
            dispatch,
            TimerSettings::default(),
        ));
        let served = opened.store.account_ids().await.context("listing the accounts this node serves")?;
        live.join_all(&served).await;
        audit_retention.schedule_all().await.context("setting the audit retention sweeps")?;
        ticket_retention.schedule_all().await.context("setting the ticket retention sweeps")?;
        let csat = start_csat(settings, &opened.store, &tickets, &accounts, &clock).await?;
        whatsapp.set_answers(csat.clone());
        tasks.extend(csat.start(tickets.bus().subscribe()));
        tasks.extend(whatsapp.start(tickets.bus().subscribe()));
        tasks.extend(email.start(tickets.bus().subscribe()));
        tasks.push(timers);
        tasks.push(crate::search::start_indexer(opened.store.clone()));
        let passwords = Arc::new(PasswordPool::start(
            settings.auth.password_threads,
            Duration::from_millis(settings.auth.password_wait_ms),
        ));
        let logins = Arc::new(LoginLimits::new((&settings.auth).into(), &settings.server.trusted_proxies));
        let customer_accounts = start_customer_accounts(
            settings,
            &opened.store,
            &clock,
            &tickets,
            (&email, &whatsapp, &live),
            (&passwords, &logins),
        )
        .await?;
        Ok(Services {
            customer_accounts,
            csat,
            settings: Arc::new(settings.clone()),
            sessions: Arc::new(Sessions::new(opened.store.clone(), clock.clone(), live.clone())),
            api_keys: Arc::new(crate::api_keys::ApiKeys::new(opened.store.clone(), clock.clone())),
            sso: Arc::new(
                crate::sso::Sso::new(opened.store.clone(), clock.clone()).context("building the SSO HTTP client")?,
            ),
            channels,
            automations,
            sockets: Arc::new(SocketSettings::from_settings(settings)),
            store: opened.store,
            tickets,
            clock,
            accounts,
            live,
            notifier,
            reports,
            webhooks,
            report_schedules,
            audit_retention,
            data_protection,
            ticket_retention,
            presence: presence_board,
            router,
            whatsapp,
            email,
            sandbox: None,
            mail_sandbox,
            secrets,
            passwords,
            logins,
            feedback_limits: Arc::new(FeedbackLimits::new(&settings.server.trusted_proxies)),
            metrics: None,
            tasks,
        })
    }

    pub async fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
        self.router.release().await;
        self.tickets.shutdown().await;
    }
}

/// The WhatsApp channel: Graph API client (Meta, or the sandbox simulator), conversations, inbox.
async fn start_whatsapp(
    settings: &Settings,
    store: &Arc<dyn Store>,
    tickets: &Tickets,
    clock: &Arc<dyn Clock>,
    secrets: &ChannelSecrets,
) -> anyhow::Result<Arc<WhatsAppChannel>> {
    let whatsapp = &settings.whatsapp;
    let account = crate::cli::default_account(store.as_ref()).await.context("finding the account the numbers serve")?;
    let media = crate::channels::whatsapp::media::MediaStore::new(&whatsapp.media_dir);
    let graph = GraphClient::new(
        &whatsapp.graph_base_url,
        &whatsapp.api_version,
        &secrets.graph_access_token.value,
        &whatsapp.business_account_id,
        whatsapp.messages_per_second,
        media.clone(),
        &whatsapp.media_hosts,
    );
    let channel_settings = ChannelSettings {
        account_id: account.id,
        numbers: whatsapp.numbers.iter().map(|number| number.phone_number_id.clone()).collect(),
        reopen_within: SignedDuration::from_hours(whatsapp.reopen_within_hours as i64),
        closing_lead: SignedDuration::from_mins(whatsapp.window_closing_lead_minutes as i64),
        stop_keywords: whatsapp.stop_keywords.clone(),
        start_keywords: whatsapp.start_keywords.clone(),
        send_retry: RetryPolicy::whatsapp(whatsapp.max_send_attempts.max(1)),
        idle_timeout: std::time::Duration::from_secs(whatsapp.conversation_idle_secs.max(1)),
    };
    let conversations =
        Conversations::start(store.clone(), tickets.clone(), clock.clone(), Arc::new(graph), channel_settings)
            .await
            .context("starting the WhatsApp conversations")?;
    let webhook = WebhookSecrets {
        app_secret: secrets.whatsapp_app_secret.value.clone(),
        verify_token: secrets.whatsapp_verify_token.value.clone(),
    };
    Ok(WhatsAppChannel::new(store.clone(), tickets.clone(), media, conversations, webhook, clock.clone()))
}

/// CSAT, with the install's key for the email links' tokens (generated once, first writer wins).
async fn start_csat(
    settings: &Settings,
    store: &Arc<dyn Store>,
    tickets: &Tickets,
    accounts: &Arc<AccountConfigs>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Arc<crate::csat::Csat>> {
    let candidate = crate::channels::secrets::random_secret();
    let key = store
        .generated_secret(crate::csat::TOKEN_KEY_SECRET, &candidate, clock.now())
        .await
        .context("reading the CSAT link key")?;
    Ok(crate::csat::Csat::new(
        store.clone(),
        tickets.clone(),
        accounts.clone(),
        clock.clone(),
        &key,
        settings.server.public_origin(),
    ))
}

/// Customer accounts, with the install's code-hashing key (generated once, first writer wins).
async fn start_customer_accounts(
    settings: &Settings,
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    tickets: &Tickets,
    (email, whatsapp, live): (&Arc<EmailChannel>, &Arc<WhatsAppChannel>, &Arc<Hub>),
    (passwords, logins): (&Arc<PasswordPool>, &Arc<LoginLimits>),
) -> anyhow::Result<Arc<CustomerAccounts>> {
    let candidate = crate::channels::secrets::random_secret();
    let code_key = store
        .generated_secret(crate::customer_accounts::CODE_KEY_SECRET, &candidate, clock.now())
        .await
        .context("reading the code-hashing key")?;
    let account = crate::cli::default_account(store.as_ref()).await.context("finding the customers' account")?;
    Ok(Arc::new(CustomerAccounts::new(CustomerAccountsSetup {
        store: store.clone(),
        clock: clock.clone(),
        tickets: tickets.clone(),
        email: email.clone(),
        whatsapp: whatsapp.clone(),
        live: live.clone(),
        passwords: passwords.clone(),
        logins: logins.clone(),
        sends: LoginLimits::new(LoginPolicy::code_sends(&settings.auth), &settings.server.trusted_proxies),
        account: account.id,
        code_key,
        public_origin: settings.server.public_origin(),
    })))
}

/// The email channel: SMTP (or, in the sandbox, the in-memory mailbox), inbox and sender.
async fn start_email(
    settings: &Settings,
    store: &Arc<dyn Store>,
    tickets: &Tickets,
    secrets: &ChannelSecrets,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<(Arc<EmailChannel>, Option<Arc<MailSandbox>>)> {
    let mut email = settings.email.clone();
    email.inbound_secret = Secret(secrets.email_inbound_secret.value.clone());
    let email = &email;
    let account = crate::cli::default_account(store.as_ref()).await.context("finding the account email serves")?;
    let media = crate::channels::whatsapp::media::MediaStore::new(&settings.whatsapp.media_dir);
    let sandbox = email.sandbox_on().then(|| {
        MailSandbox::new(email.inbound_secret.expose(), &email.from_address, sandbox_bounds(settings), clock.clone())
    });
    let transport: Option<Arc<dyn MailTransport>> = match (&sandbox, email.smtp_host.is_empty()) {
        (Some(sandbox), _) => Some(sandbox.clone()),
        (None, false) => Some(Arc::new(SmtpRelay::new(email).context("configuring the SMTP client")?)),
        (None, true) => None,
    };
    let channel =
        EmailChannel::new(store.clone(), tickets.clone(), media, email.clone(), account.id, transport, clock.clone());
    Ok((channel, sandbox))
}

/// The sandboxes' memory bounds, from `[sandbox]`.
fn sandbox_bounds(settings: &Settings) -> Bounds {
    Bounds { max_items: settings.sandbox.max_items, max_bytes: settings.sandbox.max_bytes }
}

impl Services {
    /// Starts every service for a server listening on `address` (the sandbox's simulator and
    /// webhooks are reached through it). [`run`] serves them; tests can also drive them through
    /// `actix_web::test` with [`routes::configure`].
    pub async fn serving(
        settings: Settings,
        address: std::net::SocketAddr,
        metrics: Option<PrometheusHandle>,
    ) -> anyhow::Result<Services> {
        Services::serving_with_clock(settings, address, metrics, Arc::new(SystemClock)).await
    }

    /// [`Services::serving`] on a given clock (tests of quiet hours and timers move it).
    pub async fn serving_with_clock(
        settings: Settings,
        address: std::net::SocketAddr,
        metrics: Option<PrometheusHandle>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Services> {
        let mut settings = settings;
        // The sandbox's Graph API is this very server: on loopback when it listens everywhere.
        let own = match address.ip() {
            ip if ip.is_unspecified() && ip.is_ipv6() => {
                std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, address.port()))
            }
            ip if ip.is_unspecified() => std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, address.port())),
            _ => address,
        };
        let own_base = format!("http://{own}");
        if settings.whatsapp.sandbox_on() {
            settings.whatsapp.graph_base_url = format!("{own_base}/sandbox/graph");
            if settings.whatsapp.business_account_id.is_empty() {
                settings.whatsapp.business_account_id = crate::channels::whatsapp::sandbox::SANDBOX_WABA.to_owned();
            }
        }
        let mut services = Services::start_with_clock(&settings, clock).await?;
        services.sandbox = settings.whatsapp.sandbox_on().then(|| {
            let number = settings.whatsapp.numbers.first();
            Sandbox::new(SandboxSetup {
                app_secret: &services.whatsapp.secrets.app_secret,
                access_token: &services.secrets.graph_access_token.value,
                webhook_url: &format!("{own_base}/webhooks/whatsapp"),
                phone_number_id: number.map_or("100200300400500", |number| number.phone_number_id.as_str()),
                display_phone_number: number.map_or("15550100001", |number| number.display_phone_number.as_str()),
                bounds: sandbox_bounds(&settings),
                clock: services.clock.clone(),
            })
        });
        if let Some(mailbox) = &services.mail_sandbox {
            mailbox.set_webhook_url(&format!("{own_base}/webhooks/email"));
        }
        services.metrics = metrics;
        Ok(services)
    }
}

/// Says, at every start, that a sandbox is on: it is a staff tool for trying the product, not
/// a channel to customers.
fn warn_about_sandboxes(settings: &Settings, address: std::net::SocketAddr) {
    if settings.whatsapp.sandbox_on() {
        tracing::warn!(
            %address,
            "the WhatsApp sandbox is on: replies go to the built-in simulator, not to Meta, and staff can write as \
             any customer at /sandbox/phone; set whatsapp.sandbox = false for real customers"
        );
    }
    if settings.email.sandbox_on() {
        tracing::warn!(
            %address,
            "the email sandbox is on: replies stay in the hub's mailbox at /sandbox/mail instead of going to an \
             SMTP server; set email.sandbox = false for real customers"
        );
    }
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains. Refuses to start when a
/// sandbox left on by default would be served on an address other than loopback.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    metrics: Option<PrometheusHandle>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    run_with_clock(settings, listener, metrics, Arc::new(SystemClock), shutdown).await
}

/// [`run`] on a given clock: tests serve on a `ManualClock` to move time (quiet hours, digests).
pub async fn run_with_clock(
    settings: Settings,
    listener: TcpListener,
    metrics: Option<PrometheusHandle>,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    settings.check_exposure(address)?;
    warn_about_sandboxes(&settings, address);
    let services = Arc::new(Services::serving_with_clock(settings, address, metrics, clock).await?);
    let settings = services.settings.clone();
    let openapi = Arc::new(serde_json::to_string(&crate::http::openapi()).context("rendering the OpenAPI document")?);
    let app_services = services.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            // On every response (pages set their own CSP): no referrer to other sites, no type
            // sniffing, and none of the powerful browser features the console never uses.
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((actix_web::http::header::REFERRER_POLICY, "same-origin"))
                    .add((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((
                        actix_web::http::header::HeaderName::from_static("permissions-policy"),
                        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
                    )),
            )
            .wrap(tracing_actix_web::TracingLogger::<crate::telemetry::RedactedRootSpan>::new())
            .wrap(actix_web::middleware::from_fn(crate::telemetry::record_request))
            .configure(|config| routes::configure(config, &app_services, openapi.clone()))
    })
    // Pushes are small frames written as they happen: with Nagle's algorithm (the OS default
    // actix keeps) the second of two quick frames waited for the client's delayed ACK, 40 ms.
    .tcp_nodelay(true)
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_timeout_secs);
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let server = server.run();
    let handle = server.handle();
    tracing::info!(%address, database = crate::storage::backend_of(settings.database.url.expose()).map(|b| format!("{b:?}")).unwrap_or_default(), "switchboard is serving");
    let serving = tokio::spawn(server);
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    handle.stop(true).await;
    let _ = serving.await;
    services.stop().await;
    // The server is done with the database: a process that goes on (the tests' restarted hubs)
    // would otherwise keep the connections, since the services hold each other.
    services.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
