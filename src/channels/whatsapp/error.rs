//! What the WhatsApp channel's own work fails with (inbox passes, media, template sync, the
//! sandbox's webhook calls). Each keeps the words it logged before; `crate::error` maps them to
//! HTTP once.

use switchboard_actors::store::StoreError;
use switchboard_actors::ticket::TicketError;
use switchboard_actors::whatsapp::conversation::GraphError;

#[derive(Debug, thiserror::Error)]
pub enum WhatsAppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The Graph API refused or did not answer.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A ticket or conversation command failed.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// One inbound message could not be handled (worth another pass).
    #[error("{wamid}: {source}")]
    Inbound { wamid: String, source: TicketError },
    /// The media directory refused a file.
    #[error(transparent)]
    Media(#[from] std::io::Error),
    /// A time out of range (a claim's end).
    #[error(transparent)]
    Time(#[from] jiff::Error),
    /// The sandbox could not reach the hub's webhook.
    #[error(transparent)]
    WebhookUnreachable(#[from] reqwest::Error),
    /// The hub's webhook refused the sandbox's delivery.
    #[error("webhook answered {0}")]
    WebhookRefused(reqwest::StatusCode),
}
