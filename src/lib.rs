//! The Switchboard server: HTTP API, storage backends, configuration and the CLI's commands.
//! The domain and its actors live in the `switchboard-actors` crate.

pub mod app;
pub mod auth;
pub mod broker;
pub mod channels;
pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod storage;
pub mod telemetry;
pub mod ws;

/// Agents' default capacity: open conversations held at once.
pub const DEFAULT_CAPACITY: i64 = 5;
