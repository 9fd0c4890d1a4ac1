//! The Switchboard server: HTTP API, storage backends, configuration and the CLI's commands.
//! The domain and its actors live in the `switchboard-actors` crate.

pub mod accounts;
pub mod api_keys;
pub mod app;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod bench;
pub mod broker;
pub mod channels;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod csat;
pub mod customer_accounts;
pub mod daily_sweep;
pub mod demo;
pub mod error;
pub mod gdpr;
pub mod http;
pub mod live;
pub mod notifications;
pub mod presence;
pub mod reports;
pub mod routing;
pub mod search;
pub mod secrets;
pub mod sessions;
pub mod sso;
pub mod staff;
pub mod storage;
pub mod telemetry;
pub mod webhooks;
pub mod ws;

/// Agents' default capacity: open conversations held at once.
pub const DEFAULT_CAPACITY: i64 = 5;

/// Installs the one TLS crypto provider of the binary (ring) for rustls users (reqwest, sqlx,
/// redis). Idempotent; called before any TLS client is built.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
