//! Customer channels: WhatsApp (Cloud API), the primary one, and email. Both keep the same two
//! background loops, which live here; `secrets` holds the secrets they check (configured, or
//! generated per install), `staff_only` the login gate in front of both sandboxes and
//! `bounded_log` the memory bound their stores share.

pub mod bounded_log;
pub mod email;
pub mod secrets;
pub mod staff_only;
pub mod whatsapp;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use switchboard_actors::bus::TicketChange;
use switchboard_actors::domain::{Channel, Ticket};
use switchboard_actors::store::{Store, StoreError};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

/// The customer channels, as the rest of the hub sees them: the channels themselves, and which of
/// them a reply can reach a ticket's customer on.
pub struct Channels {
    pub whatsapp: Arc<whatsapp::WhatsAppChannel>,
    pub email: Arc<email::EmailChannel>,
    store: Arc<dyn Store>,
}

/// Why a reply cannot go out on the channel asked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unreachable {
    #[error("this customer has no email address: reply on WhatsApp, or add their address first")]
    NoEmailAddress,
    #[error("this customer has never written on WhatsApp, so there is no conversation to reply in; reply by email")]
    NoWhatsAppContact,
    #[error("replies go out on `whatsapp` or `email`, not `{0}`")]
    NotAReplyChannel(Channel),
}

impl Channels {
    pub fn new(
        whatsapp: Arc<whatsapp::WhatsAppChannel>,
        email: Arc<email::EmailChannel>,
        store: Arc<dyn Store>,
    ) -> Channels {
        Channels { whatsapp, email, store }
    }

    /// The channels a reply can reach the ticket's customer on: WhatsApp when they have a
    /// conversation with one of our numbers, email when they have an address.
    pub async fn reply_channels(&self, ticket: &Ticket) -> Result<Vec<Channel>, StoreError> {
        let mut channels = Vec::new();
        if self.reaches_whatsapp(ticket).await? {
            channels.push(Channel::Whatsapp);
        }
        if self.reaches_email(ticket).await? {
            channels.push(Channel::Email);
        }
        Ok(channels)
    }

    /// Whether a reply on `channel` reaches the ticket's customer (only that channel is looked
    /// up); replies only go out on WhatsApp or email.
    pub async fn check_reply_channel(&self, ticket: &Ticket, channel: Channel) -> Result<(), ChannelError> {
        match channel {
            Channel::Email if !self.reaches_email(ticket).await? => Err(Unreachable::NoEmailAddress.into()),
            Channel::Whatsapp if !self.reaches_whatsapp(ticket).await? => Err(Unreachable::NoWhatsAppContact.into()),
            Channel::Email | Channel::Whatsapp => Ok(()),
            other => Err(Unreachable::NotAReplyChannel(other).into()),
        }
    }

    async fn reaches_whatsapp(&self, ticket: &Ticket) -> Result<bool, StoreError> {
        Ok(self.store.conversation_of_customer(ticket.account_id, ticket.requester_id).await?.is_some())
    }

    async fn reaches_email(&self, ticket: &Ticket) -> Result<bool, StoreError> {
        let Some(customer) = self.store.user(ticket.account_id, ticket.requester_id).await? else { return Ok(false) };
        Ok(email::email_mailbox(self.store.as_ref(), &customer).await?.is_some())
    }
}

/// What a channel operation can fail with: the request, or the store under it.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
    #[error(transparent)]
    Store(#[from] switchboard_actors::store::StoreError),
}

/// How long to wait after a failed inbox pass before trying again.
const INBOX_FAILURE_PAUSE: Duration = Duration::from_millis(500);

/// Runs inbox passes forever: straight on while a pass finds work, `idle` when it found none, a
/// short pause after a failure. `what` names the inbox in the log.
pub fn spawn_inbox_passes<Pass, PassFut, Failure, Idle, IdleFut>(
    what: &'static str,
    pass: Pass,
    idle: Idle,
) -> JoinHandle<()>
where
    Pass: Fn() -> PassFut + Send + 'static,
    PassFut: Future<Output = Result<usize, Failure>> + Send,
    Failure: std::fmt::Display + Send,
    Idle: Fn() -> IdleFut + Send + 'static,
    IdleFut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            match pass().await {
                Ok(0) => idle().await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, inbox = what, "inbox processing failed; retrying");
                    tokio::time::sleep(INBOX_FAILURE_PAUSE).await;
                }
            }
        }
    })
}

/// Sends replies as their commits come by on the bus (`on_change`), and runs `sweep` every
/// `every` and whenever the bus lagged, for leftovers and retries.
pub fn spawn_outbound<Sweep, SweepFut>(
    mut changes: broadcast::Receiver<Arc<TicketChange>>,
    every: Duration,
    on_change: impl Fn(&TicketChange) + Send + 'static,
    sweep: Sweep,
) -> JoinHandle<()>
where
    Sweep: Fn() -> SweepFut + Send + 'static,
    SweepFut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(change) => on_change(&change),
                    Err(RecvError::Lagged(_)) => sweep().await,
                    Err(RecvError::Closed) => return,
                },
                _ = tick.tick() => sweep().await,
            }
        }
    })
}
