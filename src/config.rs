//! Configuration: one typed struct. Sources, later ones winning: compiled defaults →
//! `config/default.toml` (if present) → `--config FILE` → environment `SWITCHBOARD__SECTION__KEY`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::storage::{GroupCommitSettings, StoreSettings};

/// The committed defaults file; a test checks it matches [`Settings::default`].
pub const DEFAULT_FILE: &str = "config/default.toml";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub whatsapp: WhatsAppSettings,
    pub email: EmailSettings,
    pub tickets: TicketSettings,
    pub ws: WsSettings,
    pub presence: PresenceSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub sandbox: SandboxSettings,
    pub ops: OpsSettings,
    pub security: SecuritySettings,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the HTTP server (API, console, webhooks, metrics) listens on.
    pub listen: String,
    /// Largest accepted JSON request body, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client. Empty:
    /// the client is the TCP peer, and the header is ignored (anyone could write it).
    pub trusted_proxies: Vec<String>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// On SIGINT/SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_timeout_secs: u64,
    /// The URL browsers reach the hub at (`https://desk.example.com`); empty means
    /// `http://<listen>`. Cookie-authenticated WebSockets and state-changing requests are
    /// accepted only from this origin (or the request's own host), and an `https` URL makes
    /// the session cookie `Secure`.
    pub public_url: String,
}

impl ServerSettings {
    /// `scheme://host[:port]` of [`ServerSettings::public_url`] (or of the listen address), as
    /// browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        if self.public_url.is_empty() {
            return format!("http://{}", self.listen);
        }
        reqwest::Url::parse(&self.public_url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_else(|_| self.public_url.trim_end_matches('/').to_owned())
    }

    /// Whether browsers reach the hub over TLS (the session cookie is then `Secure`).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:8080".to_owned(),
            max_body_bytes: 1_048_576,
            trusted_proxies: Vec::new(),
            workers: 0,
            shutdown_timeout_secs: 30,
            public_url: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (created on first run) or `postgres://USER@HOST/DB`.
    pub url: Secret,
    /// Connections in the pool used for reads and non-ticket writes.
    pub max_connections: u32,
    /// How long SQLite waits for a lock before a statement fails, in milliseconds.
    pub busy_timeout_ms: u64,
    /// Most ticket writes group-committed in one transaction.
    pub batch_max: usize,
    /// Under load, how long the writer waits for more writes before committing, in microseconds
    /// (the fsync of the batch in progress already gathers most of the next one; 300 µs halved
    /// webhook → agent p50 against 2 ms at the same throughput).
    pub batch_linger_us: u64,
    /// Parallel ticket writers (each ticket always uses the same one); 0 picks the backend's
    /// default: 1 for SQLite (one writer at a time anyway), 4 for PostgreSQL.
    pub write_lanes: usize,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: Secret("sqlite://data/switchboard.db".to_owned()),
            max_connections: 8,
            busy_timeout_ms: 5_000,
            batch_max: 512,
            batch_linger_us: 300,
            write_lanes: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// Empty: single node with the in-process broker. `redis://HOST:PORT` links nodes.
    pub url: Secret,
    /// Channel name prefix, so several deployments can share one Redis.
    pub prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings { url: Secret::default(), prefix: "switchboard".to_owned() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WsSettings {
    /// How often the server pings a WebSocket it has not heard from (19,000 idle sockets at 25 s
    /// cost ~4 % of a core).
    pub ping_interval_secs: u64,
    /// A client silent for this long (no frame, no pong) is closed.
    pub client_timeout_secs: u64,
    /// Largest accepted client frame, in bytes.
    pub max_frame_bytes: usize,
    /// Frames queued for one client before it counts as too slow and is disconnected.
    pub outbox_frames: usize,
    /// Client frames per second allowed on average (bursts of 4× that are fine).
    pub max_frames_per_sec: u32,
    /// Open sockets one user may hold on a node; the next one is refused with 429.
    pub max_sockets_per_user: usize,
    /// Ticket replays (subscriptions catching up from an old seq) one user may run at once.
    pub max_replays_per_user: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            ping_interval_secs: 25,
            client_timeout_secs: 60,
            max_frame_bytes: 65_536,
            outbox_frames: 1024,
            max_frames_per_sec: 20,
            max_sockets_per_user: 20,
            max_replays_per_user: 8,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceSettings {
    /// An agent with no activity for this long shows as away, in milliseconds.
    pub idle_ms: u64,
    /// After an agent's last socket closes, how long until they show as offline (a reload
    /// within it does not flap), in milliseconds.
    pub offline_grace_ms: u64,
    /// How often each node tells the others it is alive, in milliseconds (agents' changes are
    /// announced as they happen; this only keeps them valid).
    pub refresh_ms: u64,
    /// Reports of a node not heard from for this long are dropped from boards (it died), in
    /// milliseconds.
    pub expiry_ms: u64,
}

impl Default for PresenceSettings {
    fn default() -> Self {
        PresenceSettings { idle_ms: 300_000, offline_grace_ms: 30_000, refresh_ms: 2_000, expiry_ms: 8_000 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsAppSettings {
    /// Send outbound messages to the built-in Graph API simulator instead of Meta, and serve the
    /// customer phone at `/sandbox/phone` (to logged-in staff). Unset means on (zero setup), but
    /// then `serve` refuses a listen address that is not loopback; set `true` to serve the
    /// sandbox on a network address on purpose, `false` for production.
    pub sandbox: Option<bool>,
    /// Base URL of the Graph API.
    pub graph_base_url: String,
    /// Graph API version used in request paths.
    pub api_version: String,
    /// App secret that signs webhooks (`X-Hub-Signature-256`). Empty: one is generated on first
    /// run and stored in the database (the sandbox signs with it; Meta's never matches it).
    pub app_secret: Secret,
    /// Token Meta echoes in the webhook verification handshake. Empty: generated and stored
    /// like the app secret.
    pub verify_token: Secret,
    /// Bearer token for Graph API calls. Empty with the sandbox on: generated and stored, and
    /// the simulator accepts only it.
    pub access_token: Secret,
    /// Business numbers this hub serves.
    pub numbers: Vec<WhatsAppNumber>,
    /// The WhatsApp Business Account id whose templates are synced (empty: no sync).
    pub business_account_id: String,
    /// A resolved ticket this recent (hours) is reopened by a new customer message instead of
    /// starting a new ticket.
    pub reopen_within_hours: u64,
    /// Announce "window closing" this many minutes before the 24-hour window ends.
    pub window_closing_lead_minutes: u64,
    /// A conversation's actor silent this many seconds stops (and forgets its customer); the
    /// next message or timer starts it again from the store.
    pub conversation_idle_secs: u64,
    /// A customer message equal to one of these opts them out of marketing templates.
    pub stop_keywords: Vec<String>,
    /// A customer message equal to one of these opts them back in.
    pub start_keywords: Vec<String>,
    /// Tries per outbound message before it is marked failed (retryable errors only).
    pub max_send_attempts: i64,
    /// Most sends per second per business number (Meta's default throughput is 80).
    pub messages_per_second: u32,
    /// Where inbound media files are kept (content-addressed).
    pub media_dir: String,
    /// Hosts inbound media may be downloaded from, besides the Graph API's own origin: exact
    /// names or `*.suffix`; https only, public addresses only.
    pub media_hosts: Vec<String>,
}

impl Default for WhatsAppSettings {
    fn default() -> Self {
        WhatsAppSettings {
            sandbox: None,
            graph_base_url: "https://graph.facebook.com".to_owned(),
            api_version: "v25.0".to_owned(),
            app_secret: Secret::default(),
            verify_token: Secret::default(),
            access_token: Secret::default(),
            numbers: vec![WhatsAppNumber {
                phone_number_id: "100200300400500".to_owned(),
                display_phone_number: "15550100001".to_owned(),
            }],
            business_account_id: String::new(),
            reopen_within_hours: 72,
            window_closing_lead_minutes: 60,
            conversation_idle_secs: 600,
            stop_keywords: vec!["STOP".to_owned(), "UNSUBSCRIBE".to_owned()],
            start_keywords: vec!["START".to_owned()],
            max_send_attempts: 8,
            messages_per_second: 80,
            media_dir: "data/media".to_owned(),
            media_hosts: vec![
                "lookaside.fbsbx.com".to_owned(),
                "*.fbsbx.com".to_owned(),
                "*.fbcdn.net".to_owned(),
                "*.whatsapp.net".to_owned(),
            ],
        }
    }
}

impl WhatsAppSettings {
    /// Whether the sandbox runs: set, or left unset (on by default).
    pub fn sandbox_on(&self) -> bool {
        self.sandbox.unwrap_or(true)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppNumber {
    /// Meta's id of the business phone number.
    pub phone_number_id: String,
    /// The number as customers dial it, digits only.
    pub display_phone_number: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// Keep outbound mail in the hub (shown to logged-in staff at `/sandbox/mail`, where they can
    /// also write as a customer) instead of handing it to the SMTP server. Unset means on, with
    /// the same loopback rule as `whatsapp.sandbox`.
    pub sandbox: Option<bool>,
    /// Shared secret of `POST /webhooks/email`: sent as the `X-Switchboard-Secret` header or as
    /// the basic-auth password. Empty: one is generated on first run and stored in the database
    /// (`switchboard config check` and the admin page show it).
    pub inbound_secret: Secret,
    /// Largest accepted raw message (headers, body and attachments), in bytes.
    pub max_message_bytes: usize,
    /// The address replies come from (and customers write to).
    pub from_address: String,
    /// The name shown with it.
    pub from_name: String,
    /// SMTP server for outbound mail; empty (outside the sandbox) fails email replies plainly.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (upgrade on 587), `tls` (implicit TLS on 465) or `none` (local relays only).
    pub smtp_tls: SmtpTls,
    /// Empty: no authentication.
    pub smtp_username: String,
    pub smtp_password: Secret,
    /// How long one SMTP conversation may take, in seconds.
    pub smtp_timeout_secs: u64,
    /// Tries per outbound email before it is marked failed (temporary failures only; a
    /// permanent 5xx refusal fails at once).
    pub max_send_attempts: i64,
    /// Wait after the first temporary failure, in milliseconds; doubles per attempt, at most an hour.
    pub retry_base_ms: u64,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            sandbox: None,
            inbound_secret: Secret::default(),
            max_message_bytes: 26_214_400,
            from_address: "support@switchboard.localhost".to_owned(),
            from_name: "Switchboard Support".to_owned(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            smtp_timeout_secs: 30,
            max_send_attempts: 6,
            retry_base_ms: 30_000,
        }
    }
}

impl EmailSettings {
    /// Whether the sandbox mailbox runs: set, or left unset (on by default).
    pub fn sandbox_on(&self) -> bool {
        self.sandbox.unwrap_or(true)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketSettings {
    /// A ticket actor idle this long is stopped; its next command reloads it from the store.
    pub idle_timeout_secs: u64,
    /// How long an API request waits for a ticket actor's answer.
    pub call_timeout_secs: u64,
}

impl Default for TicketSettings {
    fn default() -> Self {
        TicketSettings { idle_timeout_secs: 300, call_timeout_secs: 30 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// How long a login session lasts, in hours.
    pub session_ttl_hours: u64,
    /// Mark the session cookie `Secure` (serve the console over HTTPS when on).
    pub secure_cookie: bool,
    /// Failed logins of one email from one client address answered at once. After them each
    /// failure of that pair makes it wait `login_delay_base_secs`, doubling per further failure up
    /// to `login_delay_max_secs` (429 with Retry-After meanwhile, the password unchecked); a
    /// success clears it. Per address, so failures elsewhere never lock a user out (see
    /// `auth::login_limits`).
    pub login_free_failures: u32,
    /// The first delay, in seconds.
    pub login_delay_base_secs: u64,
    /// The longest delay, in seconds.
    pub login_delay_max_secs: u64,
    /// Login attempts one client address (IPv6: its /64) may make at once; a successful login gives
    /// its attempt back, so this bounds failures.
    pub address_login_burst: u32,
    /// Attempts an address gets back per minute.
    pub address_logins_per_minute: u32,
    /// Threads that hash and check passwords, each keeping one 19 MiB argon2 buffer: at most this
    /// many run at once, whatever the load. 0: one per core, at most 4.
    pub password_threads: usize,
    /// How long a login (or password change) waits for a free password thread before 429, in
    /// milliseconds.
    pub password_wait_ms: u64,
    /// Codes and links sent to one destination (from one client address, and from anywhere)
    /// at once; after them each send waits `code_send_delay_base_secs`, doubling up to
    /// `code_send_delay_max_secs` (see `customer_accounts`).
    pub code_sends_free: u32,
    /// The first wait between sends, in seconds.
    pub code_send_delay_base_secs: u64,
    /// The longest wait between sends, in seconds.
    pub code_send_delay_max_secs: u64,
    /// Codes and links one client address may have sent at once, whatever the destinations.
    pub address_code_burst: u32,
    /// Sends an address gets back per minute.
    pub address_codes_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_ttl_hours: 24 * 14,
            secure_cookie: false,
            login_free_failures: 3,
            login_delay_base_secs: 1,
            login_delay_max_secs: 300,
            address_login_burst: 20,
            address_logins_per_minute: 20,
            password_threads: 0,
            password_wait_ms: 1500,
            code_sends_free: 3,
            code_send_delay_base_secs: 30,
            code_send_delay_max_secs: 3600,
            address_code_burst: 10,
            address_codes_per_minute: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// tracing filter, e.g. `info` or `switchboard=debug,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { format: LogFormat::Text, filter: "info,sqlx=warn".to_owned() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Bounds of the sandboxes' in-memory stores. Each store (the phone's messages, which hold what
/// the Graph API simulator was sent, and the mailbox) keeps at most this much; the oldest entries
/// go first, so a flood can cost memory only up to the bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Most messages (or emails) one store keeps.
    pub max_items: usize,
    /// Most bytes of text one store keeps (bodies, addresses and ids, roughly).
    pub max_bytes: usize,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings { max_items: 10_000, max_bytes: 64 * 1024 * 1024 }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpsSettings {
    /// `GET /metrics` is served to loopback peers; with this set, also to anyone sending
    /// `Authorization: Bearer <metrics_token>` (a Prometheus scraping from another host).
    pub metrics_token: Secret,
}

/// The master key that seals the secrets stored in the database (see `crate::secrets`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// 32 random bytes as base64 or 64 hex digits (`openssl rand -base64 32`). Empty: the key
    /// file is used, and created with mode 0600 on first run. Every node of one database needs
    /// the same key; `switchboard keys rotate` replaces it.
    pub master_key: Secret,
    /// The key file used when `master_key` is empty. Empty: `master.key` beside the SQLite
    /// database, or `data/master.key` with PostgreSQL.
    pub key_file: String,
}

/// A value that must not appear in logs: `Debug` prints `[redacted]` unless it is empty.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("\"\"") } else { f.write_str("[redacted]") }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Rule(String),
}

impl Settings {
    /// Loads the layered configuration; `file` is the `--config` flag.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, config::Environment::with_prefix("SWITCHBOARD"))
    }

    fn load_with_env(file: Option<&Path>, env: config::Environment) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::Config::try_from(&Settings::default())?)
            .add_source(config::File::with_name(DEFAULT_FILE).required(false));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.display().to_string()));
            }
            builder = builder.add_source(config::File::from(file).required(true));
        }
        let builder = builder.add_source(env.prefix_separator("__").separator("__").try_parsing(true));
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    /// Rules the types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.server
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|error| ConfigError::Rule(format!("server.listen `{}`: {error}", self.server.listen)))?;
        if !self.server.public_url.is_empty() {
            let url = reqwest::Url::parse(&self.server.public_url).map_err(|error| {
                ConfigError::Rule(format!("server.public_url `{}`: {error}", self.server.public_url))
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError::Rule("server.public_url must be an http:// or https:// URL".to_owned()));
            }
        }
        if self.ws.max_sockets_per_user == 0 || self.ws.max_replays_per_user == 0 {
            return Err(ConfigError::Rule(
                "ws.max_sockets_per_user and ws.max_replays_per_user must be at least 1".to_owned(),
            ));
        }
        crate::storage::backend_of(self.database.url.expose())
            .map_err(|error| ConfigError::Rule(format!("database.url: {error}")))?;
        let redis = self.redis.url.expose();
        if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(ConfigError::Rule("redis.url must be empty or start with redis:// or rediss://".to_owned()));
        }
        if self.database.batch_max == 0 {
            return Err(ConfigError::Rule("database.batch_max must be at least 1".to_owned()));
        }
        if let Some(bad) =
            self.server.trusted_proxies.iter().find(|proxy| crate::auth::login_limits::Network::parse(proxy).is_none())
        {
            return Err(ConfigError::Rule(format!("server.trusted_proxies: `{bad}` is not an address or CIDR range")));
        }
        if self.auth.address_login_burst == 0 || self.auth.address_logins_per_minute == 0 {
            return Err(ConfigError::Rule(
                "auth.address_login_burst and auth.address_logins_per_minute must be at least 1".to_owned(),
            ));
        }
        if self.ws.ping_interval_secs == 0 || self.ws.client_timeout_secs <= self.ws.ping_interval_secs {
            return Err(ConfigError::Rule(
                "ws.client_timeout_secs must be longer than ws.ping_interval_secs (> 0)".to_owned(),
            ));
        }
        if self.ws.outbox_frames == 0 || self.ws.max_frame_bytes == 0 {
            return Err(ConfigError::Rule("ws.outbox_frames and ws.max_frame_bytes must be at least 1".to_owned()));
        }
        if self.presence.refresh_ms == 0 || self.presence.expiry_ms <= self.presence.refresh_ms {
            return Err(ConfigError::Rule(
                "presence.expiry_ms must be longer than presence.refresh_ms; refresh_ms > 0".to_owned(),
            ));
        }
        if switchboard_actors::email::normalise_address(&self.email.from_address).is_none() {
            return Err(ConfigError::Rule(format!(
                "email.from_address `{}` is not an address",
                self.email.from_address
            )));
        }
        if self.email.max_send_attempts < 1 || self.email.smtp_timeout_secs == 0 {
            return Err(ConfigError::Rule(
                "email.max_send_attempts and email.smtp_timeout_secs must be at least 1".to_owned(),
            ));
        }
        if self.tickets.idle_timeout_secs == 0 || self.tickets.call_timeout_secs == 0 {
            return Err(ConfigError::Rule("tickets timeouts must be at least 1 second".to_owned()));
        }
        if !self.security.master_key.is_empty() {
            crate::secrets::parse_key(self.security.master_key.expose())
                .map_err(|message| ConfigError::Rule(format!("security.master_key: {message}")))?;
        }
        if self.sandbox.max_items == 0 || self.sandbox.max_bytes == 0 {
            return Err(ConfigError::Rule("sandbox.max_items and sandbox.max_bytes must be at least 1".to_owned()));
        }
        Ok(())
    }

    /// `serve`'s rule: a sandbox left on by default is served on loopback only. The sandboxes
    /// are staff tools behind a login, but on a network address their defaults are a surprise
    /// nobody chose; setting `whatsapp.sandbox` / `email.sandbox` explicitly is that choice.
    pub fn check_exposure(&self, listen: std::net::SocketAddr) -> Result<(), ConfigError> {
        if listen.ip().to_canonical().is_loopback() {
            return Ok(());
        }
        let implicit: Vec<&str> =
            [("whatsapp.sandbox", self.whatsapp.sandbox.is_none()), ("email.sandbox", self.email.sandbox.is_none())]
                .into_iter()
                .filter_map(|(key, unset)| unset.then_some(key))
                .collect();
        if implicit.is_empty() {
            return Ok(());
        }
        let keys = implicit.join(" and ");
        let (them, are) = if implicit.len() == 1 { ("it", "is") } else { ("them", "are") };
        Err(ConfigError::Rule(format!(
            "refusing to serve the sandbox on {listen}, which is not a loopback address: {keys} {are} on by \
             default. Set {them} to false for production (the real channels), or to true to serve the sandbox \
             there on purpose (staff must log in to use it), or listen on 127.0.0.1."
        )))
    }

    /// How to open the store, with the master key loaded (the key file is created on first run).
    pub fn store_settings(&self) -> Result<StoreSettings, crate::secrets::key_file::KeyError> {
        let keys = crate::secrets::key_file::load_logged(self)?;
        Ok(self.store_settings_with(keys.keyring))
    }

    /// How to open the store with these keys.
    pub fn store_settings_with(&self, keys: crate::secrets::Keyring) -> StoreSettings {
        StoreSettings {
            secrets: std::sync::Arc::new(keys),
            clock: std::sync::Arc::new(switchboard_actors::clock::SystemClock),
            url: self.database.url.expose().to_owned(),
            max_connections: self.database.max_connections,
            busy_timeout: Duration::from_millis(self.database.busy_timeout_ms),
            group_commit: GroupCommitSettings {
                max_batch: self.database.batch_max,
                linger: Duration::from_micros(self.database.batch_linger_us),
                lanes: match (self.database.write_lanes, crate::storage::backend_of(self.database.url.expose())) {
                    (0, Ok(crate::storage::Backend::Postgres)) => 4,
                    (0, _) => 1,
                    (lanes, _) => lanes,
                },
                ..GroupCommitSettings::default()
            },
        }
    }

    /// The effective settings as TOML, with secrets replaced, for `switchboard config check`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        for secret in [
            &mut shown.whatsapp.app_secret,
            &mut shown.whatsapp.verify_token,
            &mut shown.whatsapp.access_token,
            &mut shown.email.inbound_secret,
            &mut shown.email.smtp_password,
            &mut shown.ops.metrics_token,
            &mut shown.security.master_key,
        ] {
            if !secret.is_empty() {
                *secret = Secret("[redacted]".to_owned());
            }
        }
        shown.database.url = Secret(redact_url_password(self.database.url.expose()));
        shown.redis.url = Secret(redact_url_password(self.redis.url.expose()));
        toml::to_string_pretty(&shown).unwrap_or_else(|error| format!("# cannot render settings: {error}"))
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:[redacted]@host/db`.
fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> config::Environment {
        config::Environment::with_prefix("SWITCHBOARD_TEST_NOTHING")
    }

    #[test]
    fn committed_default_file_matches_compiled_defaults() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
            .expect("config/default.toml is committed");
        let from_file: Settings = toml::from_str(&text).expect("config/default.toml parses");
        assert_eq!(from_file, Settings::default());
    }

    #[test]
    fn later_sources_win() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("custom.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n[database]\nbatch_max = 7\n").expect("write");
        let env = config::Environment::with_prefix("SWITCHBOARD")
            .source(Some([("SWITCHBOARD__DATABASE__BATCH_MAX".to_owned(), "9".to_owned())].into_iter().collect()));
        let settings = Settings::load_with_env(Some(&file), env).expect("loads");
        assert_eq!(settings.server.listen, "127.0.0.1:9999");
        assert_eq!(settings.database.batch_max, 9);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[server]\nlisten_typo = \"x\"\n").expect("write");
        assert!(Settings::load_with_env(Some(&file), no_env()).is_err());
        std::fs::write(&file, "[database]\nurl = \"mysql://nope\"\n").expect("write");
        let error = Settings::load_with_env(Some(&file), no_env()).expect_err("mysql is refused");
        assert!(error.to_string().contains("database.url"));
        assert!(Settings::load_with_env(Some(&dir.path().join("missing.toml")), no_env()).is_err());
    }

    #[test]
    fn a_sandbox_set_explicitly_is_told_apart_from_the_default() {
        let defaults = Settings::load_with_env(None, no_env()).expect("defaults");
        assert_eq!((defaults.whatsapp.sandbox, defaults.email.sandbox), (None, None));
        assert!(defaults.whatsapp.sandbox_on() && defaults.email.sandbox_on(), "on by default");
        let env = config::Environment::with_prefix("SWITCHBOARD").source(Some(
            [
                ("SWITCHBOARD__WHATSAPP__SANDBOX".to_owned(), "true".to_owned()),
                ("SWITCHBOARD__EMAIL__SANDBOX".to_owned(), "false".to_owned()),
            ]
            .into_iter()
            .collect(),
        ));
        let set = Settings::load_with_env(None, env).expect("loads");
        assert_eq!((set.whatsapp.sandbox, set.email.sandbox), (Some(true), Some(false)));
        assert!(!set.email.sandbox_on());
    }

    #[test]
    fn a_default_sandbox_is_served_on_loopback_only() {
        let address = |text: &str| text.parse::<std::net::SocketAddr>().expect("address");
        let mut settings = Settings::default();
        for loopback in ["127.0.0.1:8080", "[::1]:8080", "127.0.0.2:80", "[::ffff:127.0.0.1]:8080"] {
            assert!(settings.check_exposure(address(loopback)).is_ok(), "{loopback}");
        }
        let refused = settings.check_exposure(address("0.0.0.0:8080")).expect_err("refused");
        let message = refused.to_string();
        assert!(
            message.contains("whatsapp.sandbox and email.sandbox") && message.contains("0.0.0.0:8080"),
            "{message}"
        );
        settings.whatsapp.sandbox = Some(false);
        let message = settings.check_exposure(address("[::]:8080")).expect_err("email still implicit").to_string();
        assert!(message.contains("email.sandbox is on") && !message.contains("whatsapp"), "{message}");
        settings.email.sandbox = Some(true);
        assert!(settings.check_exposure(address("192.0.2.7:8080")).is_ok(), "both chosen explicitly");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut settings = Settings::default();
        settings.whatsapp.app_secret = Secret("hunter2".to_owned());
        settings.email.smtp_password = Secret("smtp-hunter3".to_owned());
        settings.email.inbound_secret = Secret("mail-hunter4".to_owned());
        settings.ops.metrics_token = Secret("metrics-hunter5".to_owned());
        settings.database.url = Secret("postgres://app:pw@db/switchboard".to_owned());
        assert!(!format!("{settings:?}").contains("hunter2"));
        let shown = settings.redacted_toml();
        assert!(!shown.contains("hunter") && !shown.contains(":pw@"));
        assert!(!format!("{settings:?}").contains("hunter"));
        assert!(shown.contains("postgres://app:[redacted]@db/switchboard"));
    }
}
