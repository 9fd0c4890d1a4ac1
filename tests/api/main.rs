//! The REST API end to end: a real server in this process on a fresh SQLite database per test,
//! driven over HTTP like any client. Grouped by topic: authentication, error bodies, the ticket
//! flow of an agent, role rules, and the operations endpoints.

#[path = "../common/mod.rs"]
mod common;

mod api_keys;
mod audit;
mod auth;
mod automations;
mod client;
mod companies;
mod csat;
mod customer_accounts;
mod customers;
mod drafts;
mod gdpr;
mod kb;
mod kb_site;
mod merge;
mod notifications;
mod people;
mod portal;
mod report_exports;
mod reports;
mod routing;
mod search;
mod security;
mod sla;
mod sso;
mod tickets;
mod validation;
mod views;
mod webhooks;

use std::sync::Arc;

use client::*;
use common::*;
use serde_json::{Value, json};
use switchboard::config::Settings;
