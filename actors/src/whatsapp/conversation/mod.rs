//! ConversationActor: one per (business number, customer). It serialises that customer's
//! traffic: inbound messages (de-duplicated by wamid, joined to the right ticket), the 24-hour
//! window (renewed by each customer message at the message's own time, with durable timers for
//! "closing" and "closed"), and outbound sends through the Graph API (queued before any network
//! call, retried with back-off across restarts, failures explained).

/// The kind of the timers conversations own (the 24-hour window): the timer task hands them to
/// [`Conversations`].
pub const TIMER_KIND: &str = "conversation";

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{Conversation, InboundMessage, SendState, StatusUpdate, WhatsAppUser, explain, window};
use crate::clock::Clock;
use crate::customers::{Customer, Found, SenderAddress, find_or_create_customer};
use crate::domain::*;
use crate::registry::{Activation, ActorKind, Myself, Next, Registry, RegistrySettings};
use crate::retry::{RetryPolicy, SendAttempt};
use crate::store::{Store, StoreError, TimerChange, TimerOwner};
use crate::ticket::{CommandContext, NewMessage, TicketCommand, TicketDraft, TicketError, Tickets};
use crate::timers::TimerDispatch;

mod actor;
mod pacing;
pub mod rules;

pub use actor::*;
pub use pacing::*;
use rules::{ConversationFacts, CurrentTicket, TicketChoice};

/// Why the Graph API refused a request. Transport failures are retryable with code -1.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("Graph API error {code}: {title}")]
pub struct GraphError {
    pub code: i64,
    pub title: String,
    pub details: String,
}

impl GraphError {
    pub fn retryable(&self) -> bool {
        self.code < 0 || explain(self.code).1
    }
}

/// The Graph API as the channel uses it (Meta, the sandbox simulator, or a test fake).
#[async_trait]
pub trait GraphApi: Send + Sync + 'static {
    /// `POST /{phone_number_id}/messages`; the wamid Meta assigned.
    async fn send(&self, phone_number_id: &str, body: &Value) -> Result<String, GraphError>;
    /// Marks an inbound message (and those before it) read.
    async fn mark_read(&self, phone_number_id: &str, wamid: &str) -> Result<(), GraphError>;
    /// The business account's templates.
    async fn templates(&self) -> Result<Vec<super::Template>, GraphError>;
    /// Uploads a stored attachment (`POST /{phone_number_id}/media`); the media id to send by.
    async fn upload(&self, phone_number_id: &str, attachment: &Attachment) -> Result<String, GraphError>;
    /// Downloads inbound media: `GET /{media_id}` for a short-lived URL, then the bytes (both
    /// with the bearer token). Refuses files over `max_bytes`. Returns the bytes and MIME type.
    async fn media(&self, media_id: &str, max_bytes: u64) -> Result<(Vec<u8>, String), GraphError>;
    /// What Meta knows about a business number (verified name, quality); `None` when this API
    /// cannot tell (simulators and fakes).
    async fn number_profile(&self, _phone_number_id: &str) -> Result<Option<super::NumberProfile>, GraphError> {
        Ok(None)
    }
}

#[derive(Clone, Debug)]
pub struct ChannelSettings {
    /// The account the configured numbers serve.
    pub account_id: AccountId,
    /// The numbers this hub serves; webhooks for others are stored and logged only.
    pub numbers: Vec<String>,
    /// A resolved ticket this recent is reopened by a new message instead of starting another.
    pub reopen_within: SignedDuration,
    /// Announce `closing` this long before the window ends.
    pub closing_lead: SignedDuration,
    /// Messages (trimmed, case-insensitive) that opt the customer out of marketing templates…
    pub stop_keywords: Vec<String>,
    /// …and back in.
    pub start_keywords: Vec<String>,
    /// When a failed send is tried again, and how often at most before the message is marked
    /// failed ([`RetryPolicy::whatsapp`]).
    pub send_retry: RetryPolicy,
    /// A conversation actor idle this long stops and forgets its customer; the next message or
    /// timer starts it again from the store.
    pub idle_timeout: Duration,
}

const WINDOW_CLOSING: &str = "window_closing";
const WINDOW_CLOSED: &str = "window_closed";

pub struct Shared {
    store: Arc<dyn Store>,
    tickets: Tickets,
    clock: Arc<dyn Clock>,
    graph: Arc<dyn GraphApi>,
    settings: ChannelSettings,
    /// Customers by WhatsApp address (BSUID or wa_id) once found or created: a known customer's
    /// message costs no lookup. Bypassed whenever the message says something new about them
    /// (another profile name, both identifiers).
    customers: DashMap<String, User>,
    /// The account's ticket configuration, re-read at most every [`CONFIG_TTL`].
    config: tokio::sync::Mutex<Option<(std::time::Instant, Arc<AccountConfig>)>>,
}

/// How long the account configuration is reused between reads.
const CONFIG_TTL: Duration = Duration::from_secs(10);

/// Meta's 131047: the customer's 24-hour window is closed.
fn closes_the_window(status: &StatusUpdate) -> bool {
    status.error.as_ref().is_some_and(|error| error.code == 131047)
}

impl Shared {
    /// The message `status` moves forward; `None` when it moves nothing: its wamid is not known
    /// yet (the status is kept until the send that produces it completes) or it is not newer.
    async fn message_advanced_by(&self, status: &StatusUpdate) -> Result<Option<Message>, TicketError> {
        let Some(message) = self.store.message_by_provider(self.settings.account_id, &status.wamid).await? else {
            let body = serde_json::to_string(status).map_err(unavailable)?;
            self.store.save_pending_status(&status.wamid, status.status.as_str(), &body).await?;
            return Ok(None);
        };
        let current = message.delivery_status.map_or(0, DeliveryStatus::rank);
        Ok((status.status.rank() > current).then_some(message))
    }

    async fn record_delivery(&self, message: &Message, status: &StatusUpdate) -> Result<(), TicketError> {
        let command = TicketCommand::RecordDelivery {
            message_id: message.id.clone(),
            status: status.status,
            provider_id: None,
            error: status.error.clone(),
        };
        let config = self.config().await?;
        self.tickets.execute(message.ticket_id, command, CommandContext::system(config)).await.map(|_| ())
    }

    async fn config(&self) -> Result<Arc<AccountConfig>, TicketError> {
        let mut cached = self.config.lock().await;
        if let Some((at, config)) = cached.as_ref()
            && at.elapsed() < CONFIG_TTL
        {
            return Ok(config.clone());
        }
        let config = Arc::new(self.store.account_config(self.settings.account_id).await?);
        *cached = Some((std::time::Instant::now(), config.clone()));
        Ok(config)
    }
}

pub enum ConversationMsg {
    Inbound(Box<InboundMessage>, oneshot::Sender<Result<Inbound, TicketError>>),
    Send(Box<Message>, oneshot::Sender<Result<(), TicketError>>),
    Timer(String, oneshot::Sender<Result<(), TicketError>>),
    /// Meta said the window is closed (131047).
    WindowClosedByMeta,
    /// The customer was erased (data protection): stop, so nothing in memory writes their
    /// conversation back.
    Forget,
}

/// Whom a conversation actor serves, as its caller found them.
#[derive(Clone)]
pub struct ConversationSeed {
    customer: User,
    /// Created by the message at hand: there is no stored conversation to read yet.
    created: bool,
}

/// What became of an inbound message.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    Stored { ticket_id: TicketId, new_ticket: bool },
    Duplicate { ticket_id: TicketId },
}

/// The channel: conversation actors by (number, customer), and status handling.
#[derive(Clone)]
pub struct Conversations {
    shared: Arc<Shared>,
    actors: Registry<ConversationActor>,
}

fn unavailable(error: impl std::fmt::Display) -> TicketError {
    TicketError::Store(StoreError::Unavailable(error.to_string()))
}

impl Conversations {
    pub async fn start(
        store: Arc<dyn Store>,
        tickets: Tickets,
        clock: Arc<dyn Clock>,
        graph: Arc<dyn GraphApi>,
        settings: ChannelSettings,
    ) -> Result<Conversations, TicketError> {
        let registry_settings = RegistrySettings { idle_timeout: Some(settings.idle_timeout), call_timeout: None };
        let shared = Arc::new(Shared {
            store,
            tickets,
            clock,
            graph,
            settings,
            customers: DashMap::new(),
            config: tokio::sync::Mutex::new(None),
        });
        let actors = Registry::start(ConversationActor { shared: shared.clone() }, registry_settings).await?;
        Ok(Conversations { shared, actors })
    }

    pub fn settings(&self) -> &ChannelSettings {
        &self.shared.settings
    }

    pub fn graph(&self) -> &Arc<dyn GraphApi> {
        &self.shared.graph
    }

    /// Whether this hub serves `phone_number_id`.
    pub fn serves(&self, phone_number_id: &str) -> bool {
        self.shared.settings.numbers.iter().any(|number| number == phone_number_id)
    }

    /// Data protection: forgets `customer` on this node — their addresses leave the cache and
    /// their conversations' actors stop — before their stored conversations are deleted, so a
    /// later message from the same number starts a new profile.
    pub fn forget_customer(&self, customer: UserId) {
        self.shared.customers.retain(|_, user| user.id != customer);
        for number in &self.shared.settings.numbers {
            self.actors.tell_if_running(&(number.clone(), customer), ConversationMsg::Forget);
        }
    }

    /// The number of conversation actors running on this node.
    pub fn active(&self) -> usize {
        self.actors.active()
    }

    /// Sends `message` to the conversation's actor, starting it if needed (a customer `created`
    /// just now has no conversation to read yet).
    async fn deliver(
        &self,
        phone_number_id: &str,
        customer: &User,
        created: bool,
        message: ConversationMsg,
    ) -> Result<(), TicketError> {
        let key = (phone_number_id.to_owned(), customer.id);
        let seed = ConversationSeed { customer: customer.clone(), created };
        self.actors.tell(&key, &seed, message).await.map(|_| ())
    }

    /// [`deliver`](Self::deliver) a request and wait for its answer.
    async fn ask<T: Send + 'static>(
        &self,
        phone_number_id: &str,
        customer: &User,
        created: bool,
        request: impl Fn(oneshot::Sender<Result<T, TicketError>>) -> ConversationMsg,
    ) -> Result<T, TicketError> {
        let key = (phone_number_id.to_owned(), customer.id);
        let seed = ConversationSeed { customer: customer.clone(), created };
        self.actors.ask(&key, &seed, request).await?
    }

    /// Stores an inbound message on the right ticket, exactly once per wamid.
    pub async fn inbound(&self, message: InboundMessage) -> Result<Inbound, TicketError> {
        let (customer, created) = self.customer(&message.from).await?;
        let phone_number_id = message.phone_number_id.clone();
        self.ask(&phone_number_id, &customer, created, |reply| {
            ConversationMsg::Inbound(Box::new(message.clone()), reply)
        })
        .await
    }

    /// Hands a queued outbound message to its conversation for sending.
    pub async fn send(&self, message: Message) -> Result<(), TicketError> {
        let ticket = self.shared.store.ticket(message.ticket_id).await?.ok_or(TicketError::NotFound)?;
        let Some(conversation) =
            self.shared.store.conversation_of_customer(ticket.account_id, ticket.requester_id).await?
        else {
            // Nothing to reply in (e.g. a ticket opened by an agent for a customer who never
            // wrote on WhatsApp): fail the message once, clearly, instead of retrying forever.
            let mut attempt = SendState::fresh(&message);
            attempt.settle();
            self.shared.store.save_send_state(&attempt).await?;
            let error = DeliveryError {
                code: 0,
                title: "no WhatsApp conversation".to_owned(),
                explanation: "This customer has never written on WhatsApp, so there is no conversation to reply in; \
                              send a template once they have opted in, or use another channel."
                    .to_owned(),
            };
            let command = TicketCommand::RecordDelivery {
                message_id: message.id,
                status: DeliveryStatus::Failed,
                provider_id: None,
                error: Some(error),
            };
            let config = self.shared.config().await?;
            return self
                .shared
                .tickets
                .execute(message.ticket_id, command, CommandContext::system(config))
                .await
                .map(|_| ());
        };
        let customer =
            self.shared.store.user(ticket.account_id, ticket.requester_id).await?.ok_or(TicketError::NotFound)?;
        self.ask(&conversation.phone_number_id, &customer, false, |reply| {
            ConversationMsg::Send(Box::new(message.clone()), reply)
        })
        .await
    }

    /// Applies a status to the message it belongs to, never moving it backwards; a status for a
    /// wamid not known yet waits until the send that produces it completes.
    pub async fn status(&self, status: &StatusUpdate) -> Result<(), TicketError> {
        let Some(message) = self.shared.message_advanced_by(status).await? else { return Ok(()) };
        if closes_the_window(status) {
            self.window_closed_by_meta(message.ticket_id).await?;
        }
        self.shared.record_delivery(&message, status).await
    }

    async fn window_closed_by_meta(&self, ticket_id: TicketId) -> Result<(), TicketError> {
        let store = &self.shared.store;
        let ticket = store.ticket(ticket_id).await?.ok_or(TicketError::NotFound)?;
        if let Some(conversation) = store.conversation_of_customer(ticket.account_id, ticket.requester_id).await?
            && let Some(customer) = store.user(ticket.account_id, ticket.requester_id).await?
        {
            self.deliver(&conversation.phone_number_id, &customer, false, ConversationMsg::WindowClosedByMeta).await?;
        }
        Ok(())
    }

    /// Finds the customer by BSUID or wa_id, creating them on first contact (then `true`); keeps
    /// the profile name and both identifiers up to date.
    async fn customer(&self, from: &WhatsAppUser) -> Result<(User, bool), TicketError> {
        let store = &self.shared.store;
        let account = self.shared.settings.account_id;
        let key = from.key().ok_or_else(|| TicketError::invalid("from", "the message names no sender"))?;
        if let Some(known) = self.shared.customers.get(key).map(|user| user.clone())
            && from.name.as_ref().is_none_or(|name| name.trim().is_empty() || *name == known.name)
            && (from.user_id.is_none() || from.wa_id.is_none())
        {
            return Ok((known, false));
        }
        let name = from.name.clone().filter(|name| !name.trim().is_empty()).unwrap_or_else(|| {
            from.wa_id.as_ref().map_or_else(|| "WhatsApp customer".to_owned(), |wa_id| format!("+{wa_id}"))
        });
        // Users need a unique email; WhatsApp customers have none, so they get an address in the
        // reserved `.invalid` domain that no mail can reach.
        let email = whatsapp_email(key);
        let sender = SenderAddress {
            account,
            channel: Channel::Whatsapp,
            lookup: &from.lookup(),
            record: &from.addresses(),
            email: &email,
            adopt_by_email: false,
            name,
            phone: from.wa_id.as_ref().map(|wa_id| format!("+{wa_id}")),
        };
        let Customer { user, found } = find_or_create_customer(store.as_ref(), &sender).await?;
        // A known customer keeps the profile name they use now.
        let renamed = from.name.as_ref().filter(|name| **name != user.name && !name.trim().is_empty());
        let user = match renamed {
            Some(name) if found == Found::Known => {
                let patch = crate::store::UserPatch { name: Some(name.clone()), ..Default::default() };
                store.update_user(account, user.id, patch).await?
            }
            _ => user,
        };
        let created = found == Found::Created;
        self.shared.customers.insert(key.to_owned(), user.clone());
        Ok((user, created))
    }
}

#[async_trait]
impl TimerDispatch for Conversations {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        if !owner.is(TIMER_KIND) {
            return Err("not a conversation timer".to_owned());
        }
        let id = &owner.id;
        let store = &self.shared.store;
        let Some(conversation) = store.conversation_by_id(*id).await.map_err(|error| error.to_string())? else {
            return Ok(());
        };
        let customer = store
            .user(conversation.account_id, conversation.customer_id)
            .await
            .map_err(|error| error.to_string())?
            .ok_or("customer gone")?;
        self.ask(&conversation.phone_number_id, &customer, false, |reply| {
            ConversationMsg::Timer(name.to_owned(), reply)
        })
        .await
        .map_err(|error| error.to_string())
    }
}
