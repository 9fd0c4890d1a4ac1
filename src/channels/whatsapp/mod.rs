//! The WhatsApp Cloud API channel: the webhook endpoint (handshake; signed POSTs stored durably
//! before the 200), the inbox processor that turns stored payloads into conversation work, the
//! outbound sender, template sync, and the Graph API client. The sandbox (a built-in Graph API
//! simulator and a customer phone page) lives in `sandbox`.

pub mod error;
pub mod graph;
pub mod media;
pub mod payload;
pub mod reply;
pub mod sandbox;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use dashmap::DashMap;
use hmac::{KeyInit as _, Mac as _};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use switchboard_actors::bus::TicketChange;
use switchboard_actors::customers::find_customer;
use switchboard_actors::domain::*;
use switchboard_actors::store::{Store, StoreResult};
use switchboard_actors::whatsapp::conversation::Conversations;
use switchboard_actors::whatsapp::{InboundMessage, WebhookBatch};
use tokio::sync::oneshot;

pub use self::error::WhatsAppError;
use crate::error::ApiError;

/// Meta's largest webhook body.
pub const MAX_WEBHOOK_BYTES: usize = 3 * 1024 * 1024;
/// Stored payloads processed per pass.
const INBOX_BATCH: i64 = 500;
/// How often the inbox is checked for webhooks whose processing failed or was cut off.
const INBOX_RETRY: Duration = Duration::from_secs(1);
/// How long a pass holds the inbox entries it took before any node's pass may take them again
/// (so with several nodes one entry is processed by one node at a time).
pub const INBOX_CLAIM: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);
/// How long a webhook being processed on arrival is held by its node: processing takes
/// milliseconds, and after a crash (or a failure) the webhook is retried this soon.
const ARRIVAL_CLAIM: jiff::SignedDuration = jiff::SignedDuration::from_secs(5);
/// How long a webhook's answer waits for its processing once it is stored: the agents see the
/// message as the webhook is answered, and a processing stuck behind a slow store does not hold
/// Meta's delivery (it goes on in its task).
const PROCESSING_WAIT: Duration = Duration::from_secs(2);
/// How often queued replies that did not go out at once are retried.
const OUTBOUND_SWEEP: Duration = Duration::from_secs(2);
/// How often pending media downloads are retried.
const MEDIA_SWEEP: Duration = Duration::from_secs(5);
/// How often templates are re-read from the Graph API.
const TEMPLATE_SYNC: Duration = Duration::from_secs(15 * 60);

/// What the webhook endpoint needs to check requests: the effective secrets, configured or
/// generated per install (`channels::secrets`).
#[derive(Clone)]
pub struct WebhookSecrets {
    pub app_secret: String,
    pub verify_token: String,
}

pub struct WhatsAppChannel {
    store: Arc<dyn Store>,
    clock: Arc<dyn switchboard_actors::clock::Clock>,
    tickets: switchboard_actors::ticket::Tickets,
    pub media: media::MediaStore,
    pub conversations: Conversations,
    pub secrets: WebhookSecrets,
    /// Stored webhooks being processed as they arrived; the inbox pass leaves them alone.
    in_flight: DashMap<i64, ()>,
    /// The newest customer wamid marked read per ticket (so opening a ticket twice sends one receipt).
    read_up_to: DashMap<TicketId, String>,
    /// CSAT, asked first about each inbound message: a survey's answer is not a message.
    answers: std::sync::OnceLock<Arc<dyn switchboard_actors::csat::WhatsAppAnswers>>,
}

impl WhatsAppChannel {
    pub fn new(
        store: Arc<dyn Store>,
        tickets: switchboard_actors::ticket::Tickets,
        media: media::MediaStore,
        conversations: Conversations,
        secrets: WebhookSecrets,
        clock: Arc<dyn switchboard_actors::clock::Clock>,
    ) -> Arc<WhatsAppChannel> {
        Arc::new(WhatsAppChannel {
            store,
            clock,
            tickets,
            media,
            conversations,
            secrets,
            in_flight: DashMap::new(),
            read_up_to: DashMap::new(),
            answers: std::sync::OnceLock::new(),
        })
    }

    /// Fetches a message's pending attachments through the Graph API; a failure is recorded on
    /// the attachment and retried by the sweep until [`media::MAX_ATTEMPTS`].
    pub async fn fetch_media(&self, message: &Message) -> Result<(), WhatsAppError> {
        if !message.attachments.iter().any(|attachment| attachment.status == "pending") {
            return Ok(());
        }
        let mut attachments = message.attachments.clone();
        for attachment in attachments.iter_mut().filter(|attachment| attachment.status == "pending") {
            let Some(media_id) = attachment.media_id.clone() else { continue };
            attachment.attempts += 1;
            let limit = media::max_bytes(&attachment.content_type);
            match self.conversations.graph().media(&media_id, limit).await {
                Ok((bytes, mime)) => {
                    let (hash, mime) = self.media.put(&bytes, &mime).await?;
                    let owner = switchboard_actors::store::MediaOwner::Ticket(message.ticket_id);
                    self.store.add_media(message.account_id, &hash, owner, self.clock.now()).await?;
                    *attachment = media::stored(attachment.clone(), &hash, bytes.len(), mime);
                    metrics::counter!("switchboard_whatsapp_media_stored_total").increment(1);
                }
                Err(error) => {
                    let give_up = !error.retryable() || attachment.attempts >= media::MAX_ATTEMPTS;
                    attachment.error = Some(format!("{} ({})", error.title, error.details));
                    if give_up {
                        attachment.status = "failed".to_owned();
                        metrics::counter!("switchboard_whatsapp_media_failed_total").increment(1);
                    }
                    tracing::warn!(%media_id, code = error.code, give_up, "media download failed");
                }
            }
        }
        let command = switchboard_actors::ticket::TicketCommand::RecordAttachments {
            message_id: message.id.clone(),
            attachments,
        };
        let config = Arc::new(self.store.account_config(message.account_id).await?);
        let context = switchboard_actors::ticket::CommandContext::system(config);
        self.tickets.execute(message.ticket_id, command, context).await?;
        Ok(())
    }

    /// Retries pending media (after a restart, or after a failed attempt).
    async fn sweep_media(&self) {
        let Ok(pending) = self.store.pending_media(50).await else { return };
        for message in pending {
            if let Err(error) = self.fetch_media(&message).await {
                tracing::warn!(%error, "media fetch failed; will retry");
            }
        }
    }

    /// The inbox processor, the outbound sender and template sync.
    pub fn start(
        self: &Arc<Self>,
        changes: tokio::sync::broadcast::Receiver<Arc<TicketChange>>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        // Webhooks are processed as they arrive: the inbox pass only picks up leftovers.
        let inbox = {
            let channel = self.clone();
            super::spawn_inbox_passes(
                "whatsapp",
                move || {
                    let channel = channel.clone();
                    async move { channel.process_inbox().await }
                },
                || tokio::time::sleep(INBOX_RETRY),
            )
        };
        let outbound = {
            let (replies, sweeps) = (self.clone(), self.clone());
            super::spawn_outbound(
                changes,
                OUTBOUND_SWEEP,
                move |change| replies.send_new_replies(change),
                move || {
                    let channel = sweeps.clone();
                    async move { channel.sweep_unsent().await }
                },
            )
        };
        let media = {
            let channel = self.clone();
            tokio::spawn(async move {
                loop {
                    channel.sweep_media().await;
                    tokio::time::sleep(MEDIA_SWEEP).await;
                }
            })
        };
        let templates = {
            let channel = self.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(error) = channel.sync_templates().await {
                        tracing::warn!(%error, "template sync failed");
                    }
                    tokio::time::sleep(TEMPLATE_SYNC).await;
                }
            })
        };
        vec![inbox, outbound, media, templates]
    }

    /// Lets CSAT take survey answers out of the inbound messages (once, at start).
    pub fn set_answers(&self, answers: Arc<dyn switchboard_actors::csat::WhatsAppAnswers>) {
        let _ = self.answers.set(answers);
    }

    pub async fn sync_templates(&self) -> Result<usize, WhatsAppError> {
        let templates = self.conversations.graph().templates().await?;
        let (now, account) = (self.clock.now(), self.conversations.settings().account_id);
        for template in &templates {
            self.store.save_template(account, template, now).await?;
        }
        Ok(templates.len())
    }

    /// Replies just committed on WhatsApp tickets go out at once (the sweep catches the rest).
    fn send_new_replies(self: &Arc<Self>, change: &TicketChange) {
        for event in &change.events {
            if let EventKind::MessageAdded { message, .. } = &event.kind
                && message.channel == Channel::Whatsapp
                && message.kind == MessageKind::Reply
                && message.delivery_status == Some(DeliveryStatus::Queued)
            {
                let (channel, message) = (self.clone(), message.clone());
                tokio::spawn(async move {
                    if let Err(error) = channel.conversations.send(message).await {
                        tracing::warn!(%error, "send failed; the sweep will retry");
                    }
                });
            }
        }
    }

    /// Sends queued replies that are due: left over from before a restart, or deferred.
    async fn sweep_unsent(&self) {
        let due = match self.store.unsent_whatsapp(self.clock.now(), 100).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox");
                return;
            }
        };
        for message in due {
            if let Err(error) = self.conversations.send(message).await {
                tracing::warn!(%error, "send failed; will retry");
            }
        }
    }

    /// Stores a webhook and processes it side by side: `stored` answers once the raw body is
    /// durable (its inbox id), `processed` once its messages are in their tickets (or its
    /// processing failed). The raw body's write waits for the processing's writes and shares
    /// their transaction (one fsync per webhook instead of two, issue 16); either may commit
    /// first, and both are durable before the webhook is answered. The processing goes on if
    /// the caller stops waiting; if it fails, the entry stays pending and an inbox pass retries
    /// it once its claim ran out. Each customer's messages still go through that customer's
    /// conversation actor in order.
    pub fn store_and_process(
        self: &Arc<Self>,
        body: String,
        now: jiff::Timestamp,
    ) -> (oneshot::Receiver<StoreResult<i64>>, oneshot::Receiver<()>) {
        let (stored, stored_answer) = oneshot::channel();
        let (processed, processed_answer) = oneshot::channel();
        let channel = self.clone();
        tokio::spawn(async move {
            // Claimed for this node, which processes it at once: no other node's pass takes it
            // meanwhile.
            let store = async {
                let claim = now.checked_add(ARRIVAL_CLAIM).ok();
                let appended = channel.store.inbox_append(&body, now, claim, true).await;
                let id = appended.as_ref().ok().copied();
                if let Some(id) = id {
                    channel.in_flight.insert(id, ());
                }
                let _ = stored.send(appended);
                id
            };
            let (id, done) = tokio::join!(store, channel.process(&body));
            let _ = processed.send(());
            // Not stored: the webhook is answered with an error and Meta delivers it again
            // (its messages, if they were written, are recognised by their wamids).
            let Some(id) = id else { return };
            match done {
                Ok(error) => {
                    if let Err(failure) = channel.store.inbox_done(&[(id, error)], channel.clock.now()).await {
                        tracing::warn!(id, %failure, "could not mark a webhook processed; the inbox pass will redo it");
                    }
                }
                Err(error) => tracing::warn!(id, %error, "webhook processing failed; the inbox pass retries it"),
            }
            channel.in_flight.remove(&id);
        });
        (stored_answer, processed_answer)
    }

    /// Parses and applies one webhook body: `Ok(Some(why))` when (part of) it could never be
    /// processed, for its inbox row.
    async fn process(&self, body: &str) -> Result<Option<String>, WhatsAppError> {
        match payload::parse(body.as_bytes()) {
            Ok(batch) => {
                let refused = refusals(&batch);
                self.apply(batch).await.map(|()| refused)
            }
            Err(error) => Ok(Some(error.to_string())),
        }
    }

    /// Processes stored webhooks that no node holds (left over from before a restart, or whose
    /// processing failed): a pass claims up to [`INBOX_BATCH`] payloads for [`INBOX_CLAIM`], runs
    /// different customers side by side (each customer's messages in arrival order, so the
    /// group-commit writer can batch them) and marks them all done in one write, only after
    /// everything in them was handled. Re-processing after a crash is harmless: messages are
    /// idempotent by wamid.
    pub async fn process_inbox(&self) -> Result<usize, WhatsAppError> {
        let now = self.clock.now();
        let until = now.checked_add(INBOX_CLAIM)?;
        let mut pending = self.store.inbox_claim(INBOX_BATCH, now, until).await?;
        pending.retain(|(id, _)| !self.in_flight.contains_key(id));
        let count = pending.len();
        if count == 0 {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let mut merged = WebhookBatch::default();
        let mut done = Vec::with_capacity(count);
        for (id, body) in pending {
            match payload::parse(body.as_bytes()) {
                Ok(batch) => {
                    let refused = refusals(&batch);
                    merged.messages.extend(batch.messages);
                    merged.statuses.extend(batch.statuses);
                    merged.errors.extend(batch.errors);
                    merged.preferences.extend(batch.preferences);
                    merged.template_statuses.extend(batch.template_statuses);
                    done.push((id, refused));
                }
                // Not something we can ever process: record why and move on.
                Err(error) => done.push((id, Some(error.to_string()))),
            }
        }
        self.apply(merged).await?;
        self.store.inbox_done(&done, self.clock.now()).await?;
        metrics::histogram!("switchboard_whatsapp_inbox_pass_seconds").record(started.elapsed().as_secs_f64());
        Ok(count)
    }

    async fn apply(&self, batch: WebhookBatch) -> Result<(), WhatsAppError> {
        for reason in &batch.rejected {
            tracing::warn!(%reason, "inbound WhatsApp message refused");
            metrics::counter!("switchboard_whatsapp_messages_refused_total").increment(1);
        }
        // One customer's messages in order; different customers side by side.
        let mut by_customer: BTreeMap<(String, String), Vec<InboundMessage>> = BTreeMap::new();
        for message in batch.messages {
            if !self.conversations.serves(&message.phone_number_id) {
                tracing::warn!(phone_number_id = %message.phone_number_id, "webhook for a number this hub does not serve; stored, not processed");
                continue;
            }
            let key = (message.phone_number_id.clone(), message.from.key().unwrap_or_default().to_owned());
            by_customer.entry(key).or_default().push(message);
        }
        let work = by_customer.into_values().map(|messages| async move {
            for message in messages {
                let wamid = message.wamid.clone();
                let has_media = message.media.is_some();
                if let Some(answers) = self.answers.get() {
                    let account = self.conversations.settings().account_id;
                    match answers.take(account, &message).await {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(source) => return Err(WhatsAppError::Inbound { wamid, source }),
                    }
                }
                match self.conversations.inbound(message).await {
                    Ok(switchboard_actors::whatsapp::conversation::Inbound::Stored { .. }) if has_media => {
                        // Fetched now; the sweep retries what fails.
                        if let Ok(Some(stored)) =
                            self.store.message_by_provider(self.conversations.settings().account_id, &wamid).await
                            && let Err(error) = self.fetch_media(&stored).await
                        {
                            tracing::warn!(%wamid, %error, "media fetch failed; will retry");
                        }
                    }
                    Ok(_) => {}
                    Err(switchboard_actors::ticket::TicketError::Invalid { field, message }) => {
                        tracing::warn!(%wamid, field, %message, "inbound message refused");
                    }
                    Err(source) => return Err(WhatsAppError::Inbound { wamid, source }),
                }
            }
            Ok(())
        });
        for result in futures_util::future::join_all(work).await {
            result?;
        }
        for status in &batch.statuses {
            self.conversations.status(status).await?;
        }
        for error in &batch.errors {
            metrics::counter!("switchboard_whatsapp_channel_errors_total", "code" => error.error.code.to_string())
                .increment(1);
            tracing::error!(phone_number_id = %error.phone_number_id, code = error.error.code, title = %error.error.title, "WhatsApp reported a channel error");
        }
        for preference in &batch.preferences {
            self.apply_preference(preference).await?;
        }
        if !batch.template_statuses.is_empty() {
            let account = self.conversations.settings().account_id;
            let known = self.store.templates(account).await?;
            for (name, language, status) in &batch.template_statuses {
                if let Some(template) =
                    known.iter().find(|template| template.name == *name && template.language == *language)
                {
                    let updated = switchboard_actors::whatsapp::Template { status: status.clone(), ..template.clone() };
                    self.store.save_template(account, &updated, self.clock.now()).await?;
                }
            }
        }
        Ok(())
    }

    async fn apply_preference(
        &self,
        preference: &switchboard_actors::whatsapp::PreferenceChange,
    ) -> Result<(), WhatsAppError> {
        let account = self.conversations.settings().account_id;
        let lookup = preference.user.lookup();
        let Some((customer, _)) = find_customer(self.store.as_ref(), account, Channel::Whatsapp, &lookup).await? else {
            return Ok(());
        };
        if let Some(mut conversation) = self.store.conversation(&preference.phone_number_id, customer.id).await? {
            conversation.opted_out = preference.opted_out;
            self.store.save_conversation(&conversation).await?;
        }
        Ok(())
    }

    /// An agent opened a WhatsApp ticket: mark the customer's messages read on WhatsApp.
    pub fn agent_opened(self: &Arc<Self>, ticket: &Ticket, messages: &[Message]) {
        let Some(latest) = messages
            .iter()
            .rev()
            .find(|message| message.kind == MessageKind::Customer && message.provider_id.is_some())
        else {
            return;
        };
        let Some(wamid) = latest.provider_id.clone() else { return };
        if self.read_up_to.get(&ticket.id).is_some_and(|read| *read == wamid) {
            return;
        }
        self.read_up_to.insert(ticket.id, wamid.clone());
        let (channel, account, requester) = (self.clone(), ticket.account_id, ticket.requester_id);
        tokio::spawn(async move {
            let Ok(Some(conversation)) = channel.store.conversation_of_customer(account, requester).await else {
                return;
            };
            if let Err(error) = channel.conversations.graph().mark_read(&conversation.phone_number_id, &wamid).await {
                tracing::debug!(%error, "mark-as-read failed");
            }
        });
    }
}

/// `X-Hub-Signature-256: sha256=<64 hex>` over the raw body, compared in constant time.
pub fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|header| header.strip_prefix("sha256=")) else { return false };
    if hex_digest.len() != 64 {
        return false;
    }
    let Ok(expected) = hex::decode(hex_digest) else { return false };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value for `body` signed with `secret` (the sandbox and tests sign this way).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never falls back.
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/webhooks/whatsapp")
            .app_data(web::PayloadConfig::new(MAX_WEBHOOK_BYTES))
            .route(web::get().to(verify))
            .route(web::post().to(receive)),
    );
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// The verification handshake: the raw challenge as text/plain when mode and token match.
async fn verify(channel: web::Data<WhatsAppChannel>, query: web::Query<Handshake>) -> HttpResponse {
    let expected = channel.secrets.verify_token.as_bytes();
    let token = query.verify_token.as_deref().unwrap_or_default().as_bytes();
    let token_ok = !expected.is_empty() && bool::from(token.ct_eq(expected));
    let ok = query.mode.as_deref() == Some("subscribe") && token_ok;
    tracing::info!(ok, "WhatsApp webhook verification attempt");
    match (&query.challenge, ok) {
        (Some(challenge), true) => HttpResponse::Ok().content_type("text/plain").body(challenge.clone()),
        _ => HttpResponse::Forbidden().finish(),
    }
}

/// A delivery from Meta: verified over the raw bytes, then stored and processed side by side,
/// and answered once it is stored and processed (or after [`PROCESSING_WAIT`], stored: the
/// processing goes on, and the inbox pass retries what fails).
async fn receive(
    channel: web::Data<WhatsAppChannel>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = request.headers().get("x-hub-signature-256").and_then(|value| value.to_str().ok());
    if channel.secrets.app_secret.is_empty() || !signature_valid(&channel.secrets.app_secret, &body, header) {
        metrics::counter!("switchboard_whatsapp_webhooks_rejected_total").increment(1);
        return Err(ApiError::BadSignature);
    }
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::MalformedJson("the webhook body is not UTF-8".to_owned()))?;
    let (stored, processed) = channel.store_and_process(text, channel.clock.now());
    stored.await.map_err(|_| ApiError::Internal("the webhook's processing stopped".to_owned()))??;
    metrics::counter!("switchboard_whatsapp_webhooks_total").increment(1);
    let _ = tokio::time::timeout(PROCESSING_WAIT, processed).await;
    Ok(HttpResponse::Ok().finish())
}

/// Why messages of a webhook were refused, for its inbox row (`None`: none were).
fn refusals(batch: &WebhookBatch) -> Option<String> {
    (!batch.rejected.is_empty()).then(|| batch.rejected.join("; "))
}
