//! What the email channel's own work fails with (inbox passes, composing a reply, the sandbox
//! writing as a customer). Each keeps the words it used before (they reach logs, a failed
//! reply's explanation and the sandbox's answers); `crate::error` maps them to HTTP once.

use switchboard_actors::store::StoreError;
use switchboard_actors::ticket::TicketError;

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored email could not be handled (worth another pass).
    #[error("email {id}: {source}")]
    Inbound { id: i64, source: TicketError },
    /// A time out of range (a claim's end).
    #[error(transparent)]
    Time(#[from] jiff::Error),
    /// `email.from_address` is not an address.
    #[error("email.from_address: {0}")]
    FromAddress(lettre::address::AddressError),
    /// A reply's attachment is no longer in the media store.
    #[error("attachment `{0}` is missing")]
    MissingAttachment(String),
    /// lettre refused to build the message.
    #[error(transparent)]
    Build(#[from] lettre::error::Error),
    /// Sandbox: the customer's `from` is not an address.
    #[error("`from` is not an email address")]
    NotAnAddress,
    /// Sandbox: the support address it writes to is not one.
    #[error("support address: {0}")]
    SupportAddress(lettre::address::AddressError),
    /// Sandbox: the hub's webhook did not answer.
    #[error("the hub's webhook is unreachable: {0}")]
    WebhookUnreachable(reqwest::Error),
    /// Sandbox: the hub's webhook refused the message.
    #[error("the hub's webhook answered {0}")]
    WebhookRefused(reqwest::StatusCode),
}
