//! `switchboard-actors`: the domain, the actors that own it, and the ports they use (store,
//! clock, timers, event bus). Depends on neither actix-web, sqlx nor redis.

pub mod agent;
pub mod api_keys;
pub mod audit;
pub mod automation;
pub mod broker;
pub mod bus;
pub mod clock;
pub mod companies;
pub mod csat;
pub mod customer_auth;
pub mod customers;
pub mod domain;
pub mod email;
pub mod gdpr;
pub mod knowledge_base;
pub mod markdown;
pub mod notifications;
pub mod query;
pub mod registry;
pub mod reports;
pub mod retry;
pub mod routing;
pub mod rows;
pub mod security;
pub mod sla;
pub mod sso;
pub mod store;
pub mod ticket;
pub mod timers;
pub mod views;
pub mod visibility;
pub mod webhooks;
pub mod whatsapp;
