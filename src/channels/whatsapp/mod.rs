//! The WhatsApp Cloud API channel: webhook endpoint, payload parsing, Graph API client, sandbox.

pub mod payload;
