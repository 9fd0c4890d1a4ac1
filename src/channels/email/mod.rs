//! The email channel, the secondary one. Inbound: `POST /webhooks/email` takes a raw RFC 5322
//! message (authenticated by a shared secret), stores the bytes in `email_inbox` before answering,
//! and the inbox processor turns them into tickets: a reply (In-Reply-To / References naming a
//! message of a ticket, or `[#123]` in the subject) joins its ticket, anything else opens one.
//! Outbound: replies committed on the email channel are sent over SMTP (`transport`) with
//! Message-ID, In-Reply-To, References and a `[#number]` subject so answers thread back; delivery
//! (sent, or failed with the server's reason) is recorded on the message; temporary failures are
//! retried with back-off by a sweep, through `email_sends`, so retries survive restarts. The
//! sandbox (`sandbox`) keeps outbound mail in memory instead and lets you write as a customer.

pub mod error;
mod notice;
pub mod parse;
pub mod sandbox;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use dashmap::DashSet;
use jiff::SignedDuration;
use lettre::message::header::ContentType;
use lettre::message::{Attachment as MailAttachment, Mailbox, MultiPart, SinglePart};
use subtle::ConstantTimeEq as _;
use switchboard_actors::bus::TicketChange;
use switchboard_actors::customers::{SenderAddress, find_or_create_customer};
use switchboard_actors::domain::*;
use switchboard_actors::email::{EmailSend, address_of, clean_subject, outbound_message_id, reply_subject};
use switchboard_actors::retry::{RetryPolicy, SendAttempt as _};
use switchboard_actors::store::{MediaOwner, Store, StoreError};
use switchboard_actors::ticket::{CommandContext, NewMessage, TicketCommand, TicketDraft, TicketError, Tickets};
use tokio::sync::Notify;

pub use self::error::EmailError;
pub use self::notice::NoticeFile;
use self::parse::InboundEmail;
use self::transport::{MailTransport, SendFailure};
use crate::channels::whatsapp::media::{self, MediaStore};
use crate::config::EmailSettings;
use crate::error::ApiError;

/// The header that carries the inbound secret (basic auth's password works too).
pub const SECRET_HEADER: &str = "x-switchboard-secret";
/// Stored messages processed per pass.
const INBOX_BATCH: i64 = 100;
/// How often unsent and retry-due replies are looked for.
const SWEEP: Duration = Duration::from_secs(1);
/// Message-IDs named in `References` of an outbound reply (the newest ones).
const MAX_REFERENCES: usize = 20;

pub struct EmailChannel {
    store: Arc<dyn Store>,
    clock: Arc<dyn switchboard_actors::clock::Clock>,
    tickets: Tickets,
    media: MediaStore,
    settings: EmailSettings,
    /// When a temporarily refused reply is tried again ([`RetryPolicy::email`]).
    retry: RetryPolicy,
    account_id: AccountId,
    /// `None`: no SMTP server configured outside the sandbox; replies fail saying so.
    transport: Option<Arc<dyn MailTransport>>,
    /// The secret `POST /webhooks/email` checks (empty refuses everything).
    pub inbound_secret: String,
    /// Right-hand side of our Message-IDs: the from address's domain.
    domain: String,
    wake: Notify,
    /// Replies being sent by this node right now (the bus and the sweep both find new ones).
    sending: DashSet<String>,
}

impl EmailChannel {
    pub fn new(
        store: Arc<dyn Store>,
        tickets: Tickets,
        media: MediaStore,
        settings: EmailSettings,
        account_id: AccountId,
        transport: Option<Arc<dyn MailTransport>>,
        clock: Arc<dyn switchboard_actors::clock::Clock>,
    ) -> Arc<EmailChannel> {
        // The effective secret: configured, or generated per install (`channels::secrets`).
        let inbound_secret = settings.inbound_secret.expose().to_owned();
        let domain = settings.from_address.rsplit_once('@').map_or("switchboard.localhost", |(_, domain)| domain);
        let retry = RetryPolicy::email(settings.max_send_attempts, settings.retry_base_ms);
        Arc::new(EmailChannel {
            clock,
            retry,
            domain: domain.to_lowercase(),
            store,
            tickets,
            media,
            settings,
            account_id,
            transport,
            inbound_secret,
            wake: Notify::new(),
            sending: DashSet::new(),
        })
    }

    pub fn settings(&self) -> &EmailSettings {
        &self.settings
    }

    /// The inbox processor and the outbound sender.
    pub fn start(
        self: &Arc<Self>,
        changes: tokio::sync::broadcast::Receiver<Arc<TicketChange>>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let inbox = {
            let (passes, idle) = (self.clone(), self.clone());
            super::spawn_inbox_passes(
                "email",
                move || {
                    let channel = passes.clone();
                    async move { channel.process_inbox().await }
                },
                move || {
                    let channel = idle.clone();
                    async move {
                        let _ = tokio::time::timeout(Duration::from_secs(1), channel.wake.notified()).await;
                    }
                },
            )
        };
        let outbound = {
            let (replies, sweeps) = (self.clone(), self.clone());
            super::spawn_outbound(
                changes,
                SWEEP,
                move |change| replies.send_new_replies(change),
                move || {
                    let channel = sweeps.clone();
                    async move { channel.sweep_unsent().await }
                },
            )
        };
        vec![inbox, outbound]
    }

    /// Whether `request` carries the inbound secret (header, or basic auth's password).
    fn authorised(&self, request: &HttpRequest) -> bool {
        if self.inbound_secret.is_empty() {
            return false;
        }
        let headers = request.headers();
        let presented =
            headers.get(SECRET_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned).or_else(|| {
                let basic =
                    headers.get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
                let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
                let text = String::from_utf8(decoded).ok()?;
                text.split_once(':').map(|(_, password)| password.to_owned())
            });
        presented.is_some_and(|presented| bool::from(presented.as_bytes().ct_eq(self.inbound_secret.as_bytes())))
    }

    /// Processes stored messages in arrival order and marks them done in one write, only after
    /// each was handled. Re-processing after a crash is harmless: messages are idempotent by
    /// Message-ID.
    pub async fn process_inbox(&self) -> Result<usize, EmailError> {
        // Claimed, so with several nodes each message is processed by one of them.
        let now = self.clock.now();
        let until = now.checked_add(crate::channels::whatsapp::INBOX_CLAIM)?;
        let pending = self.store.email_inbox_claim(INBOX_BATCH, now, until).await?;
        let count = pending.len();
        if count == 0 {
            return Ok(0);
        }
        let mut done = Vec::with_capacity(count);
        for (id, raw) in pending {
            let outcome = match parse::parse(&raw) {
                Ok(email) => match self.inbound(email).await {
                    Ok(_) => None,
                    // Refused by the ticket's rules (never acceptable): record why, move on.
                    Err(TicketError::Invalid { field, message }) => Some(format!("{field}: {message}")),
                    Err(source) => {
                        // Worth another pass (the store or an actor was unavailable): stop here
                        // and mark what was handled so far.
                        self.store.email_inbox_done(&done, self.clock.now()).await?;
                        return Err(EmailError::Inbound { id, source });
                    }
                },
                Err(error) => Some(error.to_string()),
            };
            if let Some(reason) = &outcome {
                tracing::warn!(inbox_id = id, %reason, "inbound email not processed");
                metrics::counter!("switchboard_email_inbound_refused_total").increment(1);
            }
            done.push((id, outcome));
        }
        self.store.email_inbox_done(&done, self.clock.now()).await?;
        Ok(count)
    }

    /// Stores one email on the right ticket, exactly once per Message-ID.
    pub async fn inbound(&self, email: InboundEmail) -> Result<Inbound, TicketError> {
        if self.store.message_by_provider(self.account_id, &email.message_id).await?.is_some() {
            metrics::counter!("switchboard_email_duplicates_total").increment(1);
            return Ok(Inbound::Duplicate);
        }
        if email.automatic || email.from_address == self.settings.from_address.to_lowercase() {
            return Ok(Inbound::Ignored);
        }
        let customer = self.customer(&email).await?;
        let config = Arc::new(self.store.account_config(self.account_id).await?);
        let attachments = self.store_files(&email, customer.id).await?;
        let body = if email.text.trim().is_empty() && attachments.is_empty() {
            "(empty email)".to_owned()
        } else {
            email.text.clone()
        };
        let payload = serde_json::json!({"email": {"subject": email.subject, "from": email.from_address}});
        if let Some(ticket) = self.thread_of(&email, &customer).await? {
            let message = NewMessage {
                kind: MessageKind::Customer,
                body: body.clone(),
                channel: Some(Channel::Email),
                attachments: attachments.clone(),
                then_status: None,
                payload: Some(payload.clone()),
                provider_id: Some(email.message_id.clone()),
                window_until: None,
            };
            let context = CommandContext {
                actor_id: Some(customer.id),
                config: config.clone(),
                expected_seq: None,
                seen_seq: None,
            };
            match self.tickets.execute(ticket.id, TicketCommand::AddMessage(message), context).await {
                Ok(_) => {
                    metrics::counter!("switchboard_email_inbound_total", "thread" => "reply").increment(1);
                    return Ok(Inbound::Appended(ticket.id));
                }
                // Closed meanwhile: the email opens a new ticket instead.
                Err(TicketError::Closed) => {}
                Err(error) => return Err(error),
            }
        }
        let subject = clean_subject(&email.subject);
        let draft = TicketDraft {
            account_id: self.account_id,
            subject: if subject.is_empty() { format!("Email from {}", customer.name) } else { subject },
            body: Some(body),
            body_kind: MessageKind::Customer,
            status: None,
            urgency: Level::Medium,
            importance: Level::Medium,
            ticket_type: None,
            category_id: None,
            tags: vec!["email".to_owned()],
            custom_fields: CustomFields::new(),
            channel: Channel::Email,
            requester_id: customer.id,
            company_id: customer.company_id,
            minimum_priority: switchboard_actors::companies::sla_tier(
                &*self.store,
                self.account_id,
                customer.company_id,
            )
            .await?,
            assignee_id: None,
            team_id: None,
            created_by: Some(customer.id),
            first_payload: Some(payload),
            first_provider_id: Some(email.message_id.clone()),
            first_attachments: attachments,
            window: None,
        };
        let created = self.tickets.create(draft, &config).await?;
        metrics::counter!("switchboard_email_inbound_total", "thread" => "new").increment(1);
        Ok(Inbound::Created(created.ticket.id))
    }

    /// The customer an email comes from. Mail from a staff member's address is refused (with the
    /// reason on its inbox row): `From` is trivially forged, and a ticket with staff as requester
    /// would give the forger a customer's view of a staff identity.
    async fn customer(&self, email: &InboundEmail) -> Result<User, TicketError> {
        let user = self.sender(email).await?;
        if user.role.is_staff() {
            return Err(TicketError::invalid(
                "from",
                format!("`{}` is a staff address: staff answer in the console, not by email", email.from_address),
            ));
        }
        Ok(user)
    }

    /// The customer an address belongs to: its email contact, the user with that address, or a
    /// new customer.
    async fn sender(&self, email: &InboundEmail) -> Result<User, TicketError> {
        let address = email.from_address.as_str();
        let name = email.from_name.clone().unwrap_or_else(|| address.split('@').next().unwrap_or(address).to_owned());
        let sender = SenderAddress {
            account: self.account_id,
            channel: Channel::Email,
            lookup: &[address],
            record: &[address],
            email: address,
            adopt_by_email: true,
            name,
            phone: None,
        };
        Ok(find_or_create_customer(self.store.as_ref(), &sender).await?.user)
    }

    /// The ticket an email answers: one whose message it names in In-Reply-To / References, or
    /// whose `[#number]` its subject carries — followed to the ticket it was merged into, if it
    /// was; only the ticket's own requester can add to it (a guessed number or a forwarded
    /// thread from someone else opens a new ticket), and a closed ticket is never reopened.
    async fn thread_of(&self, email: &InboundEmail, customer: &User) -> Result<Option<Ticket>, TicketError> {
        let usable = |ticket: &Ticket| {
            ticket.account_id == self.account_id
                && ticket.requester_id == customer.id
                && ticket.status_category != StatusCategory::Closed
        };
        for id in &email.thread_ids {
            if let Some(message) = self.store.message_by_provider(self.account_id, id).await?
                && let Some(ticket) = self.merged_onto(self.store.ticket(message.ticket_id).await?).await?
                && usable(&ticket)
            {
                return Ok(Some(ticket));
            }
        }
        if let Some(number) = switchboard_actors::email::ticket_number_in_subject(&email.subject)
            && let Some(ticket) = self.merged_onto(self.store.ticket_by_number(self.account_id, number).await?).await?
            && usable(&ticket)
        {
            return Ok(Some(ticket));
        }
        Ok(None)
    }

    /// The ticket `ticket` was merged into (and on, if that one was merged too), else itself.
    async fn merged_onto(&self, ticket: Option<Ticket>) -> Result<Option<Ticket>, TicketError> {
        let mut ticket = ticket;
        // Merged tickets cannot be merge targets: one hop is all a consistent store needs.
        for _ in 0..4 {
            match ticket.as_ref().and_then(|merged| merged.links.merged_into.as_ref()) {
                Some(link) => ticket = self.store.ticket(link.ticket_id).await?,
                None => break,
            }
        }
        Ok(ticket)
    }

    /// Attachments go to the content-addressed media store, like WhatsApp media.
    /// Each file is recorded as the customer's, so their account holds it and only they (or
    /// the ticket it lands on) can attach it again.
    async fn store_files(&self, email: &InboundEmail, customer: UserId) -> Result<Vec<Attachment>, TicketError> {
        let mut files = Vec::with_capacity(email.attachments.len());
        for file in &email.attachments {
            let (hash, content_type) = self
                .media
                .put(&file.bytes, &file.content_type)
                .await
                .map_err(|error| TicketError::Store(StoreError::Unavailable(format!("media store: {error}"))))?;
            self.store.add_media(self.account_id, &hash, MediaOwner::Uploader(customer), self.clock.now()).await?;
            files.push(media::attachment(file.name.clone(), content_type, file.bytes.len(), &hash));
        }
        Ok(files)
    }

    /// Replies just committed on the email channel go out at once (the sweep catches the rest).
    fn send_new_replies(self: &Arc<Self>, change: &TicketChange) {
        for event in &change.events {
            if let EventKind::MessageAdded { message, .. } = &event.kind
                && message.channel == Channel::Email
                && message.kind == MessageKind::Reply
                && message.delivery_status == Some(DeliveryStatus::Queued)
            {
                let (channel, message) = (self.clone(), message.clone());
                tokio::spawn(async move {
                    if let Err(error) = channel.send(message).await {
                        tracing::warn!(%error, "email send failed; the sweep will retry");
                    }
                });
            }
        }
    }

    /// Sends queued replies that are due: left over from before a restart, or retries.
    pub async fn sweep_unsent(self: &Arc<Self>) {
        let due = match self.store.unsent_email(self.clock.now(), 100).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot read the email outbox");
                return;
            }
        };
        for message in due {
            if let Err(error) = self.send(message).await {
                tracing::warn!(%error, "email send failed; will retry");
            }
        }
    }

    /// One attempt at sending `message`; records the outcome durably and on the ticket.
    pub async fn send(&self, message: Message) -> Result<(), TicketError> {
        if !self.sending.insert(message.id.clone()) {
            return Ok(());
        }
        let result = self.send_once(&message).await;
        self.sending.remove(&message.id);
        result
    }

    async fn send_once(&self, message: &Message) -> Result<(), TicketError> {
        let store = &self.store;
        let now = self.clock.now();
        let mut attempt = store.email_send(&message.id).await?.unwrap_or_else(|| EmailSend::fresh(message));
        if !attempt.due(now) {
            return Ok(());
        }
        let ticket = store.ticket(message.ticket_id).await?.ok_or(TicketError::NotFound)?;
        let Some(transport) = self.transport.clone() else {
            let failure = SendFailure {
                code: 0,
                permanent: true,
                reason: "no SMTP server is configured (email.smtp_host)".to_owned(),
            };
            return self.finish(message, attempt, Err(failure)).await;
        };
        let Some(to) = self.recipient(&ticket).await? else {
            let failure =
                SendFailure { code: 0, permanent: true, reason: "the customer has no email address".to_owned() };
            return self.finish(message, attempt, Err(failure)).await;
        };
        let mail = match self.compose(message, &ticket, &to).await {
            Ok(mail) => mail,
            Err(error) => {
                let reason = error.to_string();
                return self.finish(message, attempt, Err(SendFailure { code: 0, permanent: true, reason })).await;
            }
        };
        // A lease: another sweep (on this node or another) leaves it alone while this one runs.
        let timeout = SignedDuration::from_secs(self.settings.smtp_timeout_secs as i64 + 5);
        attempt.start(now.checked_add(timeout).ok());
        store.save_email_send(&attempt).await?;
        let sent = transport.send(mail).await;
        self.finish(message, attempt, sent).await
    }

    /// Records an attempt: sent, deferred with back-off, or failed for good.
    async fn finish(
        &self,
        message: &Message,
        mut attempt: EmailSend,
        sent: Result<(), SendFailure>,
    ) -> Result<(), TicketError> {
        let store = &self.store;
        let (status, provider_id, error) = match sent {
            Ok(()) => {
                attempt.settle();
                attempt.last_error = None;
                store.save_email_send(&attempt).await?;
                metrics::counter!("switchboard_email_sent_total").increment(1);
                (DeliveryStatus::Sent, Some(outbound_message_id(&message.id, &self.domain)), None)
            }
            Err(failure) => {
                attempt.last_error = Some(failure.reason.clone());
                if attempt.failed(&self.retry, !failure.permanent, self.clock.now()).is_some() {
                    store.save_email_send(&attempt).await?;
                    metrics::counter!("switchboard_email_send_retries_total").increment(1);
                    let wait = self.retry.delay(attempt.attempts);
                    tracing::info!(message_id = %message.id, reason = %failure.reason, ?wait, "email deferred");
                    return Ok(());
                }
                store.save_email_send(&attempt).await?;
                metrics::counter!("switchboard_email_send_failures_total").increment(1);
                let explanation = if failure.permanent {
                    format!("The mail server refused it: {}", failure.reason)
                } else {
                    format!("Gave up after {} attempts; the last one failed with: {}", attempt.attempts, failure.reason)
                };
                let title = if failure.code > 0 { format!("SMTP {}", failure.code) } else { "not sent".to_owned() };
                (DeliveryStatus::Failed, None, Some(DeliveryError { code: failure.code, title, explanation }))
            }
        };
        let command = TicketCommand::RecordDelivery { message_id: message.id.clone(), status, provider_id, error };
        let config = Arc::new(self.store.account_config(message.account_id).await?);
        self.tickets.execute(message.ticket_id, command, CommandContext::system(config)).await.map(|_| ())
    }

    /// Where the requester's email goes: their email contact, else their own address.
    pub async fn recipient(&self, ticket: &Ticket) -> Result<Option<Mailbox>, TicketError> {
        let Some(customer) = self.store.user(ticket.account_id, ticket.requester_id).await? else { return Ok(None) };
        email_mailbox(self.store.as_ref(), &customer).await.map_err(TicketError::from)
    }

    /// The outbound message: threading headers from the ticket's earlier emails, the body as
    /// plain text (with an HTML alternative when it uses markdown), stored files attached.
    async fn compose(&self, message: &Message, ticket: &Ticket, to: &Mailbox) -> Result<lettre::Message, EmailError> {
        let from_address = self.settings.from_address.parse().map_err(EmailError::FromAddress)?;
        let from = Mailbox::new(Some(self.settings.from_name.clone()), from_address);
        let thread: Vec<String> = self
            .store
            .ticket_messages(ticket.id)
            .await?
            .into_iter()
            .filter(|earlier| earlier.channel == Channel::Email && earlier.id != message.id && !earlier.is_internal())
            .filter_map(|earlier| earlier.provider_id)
            .collect();
        let mut builder = lettre::Message::builder()
            .from(from)
            .to(to.clone())
            .subject(reply_subject(&ticket.subject, ticket.number))
            .message_id(Some(outbound_message_id(&message.id, &self.domain)))
            .date(std::time::SystemTime::from(message.created_at));
        if let Some(last) = thread.last() {
            builder = builder.in_reply_to(last.clone());
            let start = thread.len().saturating_sub(MAX_REFERENCES);
            builder = builder.references(thread[start..].join(" "));
        }
        // The agent's markdown: an HTML part with its plain-text alternative; a reply without
        // any stays one plain part, as written.
        let rendered = switchboard_actors::markdown::render(&message.body);
        let alternative = rendered.formatted.then(|| MultiPart::alternative_plain_html(rendered.plain, rendered.html));
        let text = SinglePart::plain(message.body.clone());
        let mut files = Vec::new();
        for attachment in &message.attachments {
            let hash = attachment.url.rsplit('/').next().unwrap_or_default();
            let (bytes, content_type) = self
                .media
                .get(hash)
                .await
                .ok_or_else(|| EmailError::MissingAttachment(attachment.file_name.clone()))?;
            let content_type = ContentType::parse(&content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN));
            files.push(MailAttachment::new(attachment.file_name.clone()).body(bytes, content_type));
        }
        let built = match (alternative, files.is_empty()) {
            (None, true) => builder.singlepart(text),
            (Some(alternative), true) => builder.multipart(alternative),
            (alternative, false) => {
                let mut parts = match alternative {
                    Some(alternative) => MultiPart::mixed().multipart(alternative),
                    None => MultiPart::mixed().singlepart(text),
                };
                for file in files {
                    parts = parts.singlepart(file);
                }
                builder.multipart(parts)
            }
        };
        Ok(built?)
    }

    fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Where a customer's email goes, if anywhere: their email contact, else their own address
/// (never a placeholder: every user has an email contact, customers met on WhatsApp a
/// `….invalid` one).
pub async fn email_mailbox(store: &dyn Store, customer: &User) -> Result<Option<Mailbox>, StoreError> {
    let contact = store
        .contacts(customer.account_id, customer.id)
        .await?
        .into_iter()
        .find(|contact| {
            contact.channel == Channel::Email && !contact.opted_out && !contact.address.ends_with(".invalid")
        })
        .map(|contact| contact.address);
    let address = contact.or_else(|| address_of(customer));
    Ok(address
        .and_then(|address| address.parse().ok())
        .map(|address| Mailbox::new(Some(customer.name.clone()), address)))
}

/// What happened to an inbound email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    Created(TicketId),
    Appended(TicketId),
    /// Its Message-ID was already stored.
    Duplicate,
    /// Automatic mail (auto-replies, bounces) or our own: not a customer writing.
    Ignored,
}

pub fn routes(config: &mut web::ServiceConfig, max_bytes: usize) {
    config.service(
        web::resource("/webhooks/email").app_data(web::PayloadConfig::new(max_bytes)).route(web::post().to(receive)),
    );
}

/// A raw RFC 5322 message from the mail provider (or a local MTA pipe): authenticated, stored,
/// acknowledged, processed later.
async fn receive(
    channel: web::Data<EmailChannel>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !channel.authorised(&request) {
        metrics::counter!("switchboard_email_webhooks_rejected_total").increment(1);
        return Err(ApiError::Unauthenticated);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "expected a raw RFC 5322 message"));
    }
    let id = channel.store.email_inbox_append(&body, channel.clock.now()).await?;
    metrics::counter!("switchboard_email_webhooks_total").increment(1);
    channel.wake();
    Ok(HttpResponse::Accepted().json(serde_json::json!({"stored": id})))
}
