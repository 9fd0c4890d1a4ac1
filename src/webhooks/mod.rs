//! Outbound webhooks (issue 17 item 5), shaped like the notifier and the reports' projection.
//! The **dispatcher** tails the installation-wide event log from a cursor kept in the store and
//! queues one delivery per matching subscription in the transaction that moves the cursor (a
//! compare-and-set; `Conflict` means another node did it), so each event is queued exactly once
//! per subscription and a restart resumes where the last commit left off. The **sender** works
//! through that durable outbox (`webhook_deliveries`): it takes only the first pending delivery
//! of each subscription and ticket (a ticket's events leave in order; tickets in parallel),
//! holds it in the store for the length of an attempt (another node skips it), POSTs it signed
//! (`outbound.rs`), and records the answer with the next attempt's time (back-off for three
//! days), so retries survive restarts. A subscription failing for 24 hours is disabled and its
//! account's admins are notified in that same transaction. Both are woken by this node's event
//! bus and poll for other nodes' work.

pub mod outbound;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_actors::bus::TicketChange;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{AccountId, Role, UserId};
use switchboard_actors::notifications::{NewNotification, NotificationKind, NotificationPush};
use switchboard_actors::store::{Store, StoreError};
use switchboard_actors::webhooks::{
    ALL_EVENTS, AttemptNext, AttemptRecord, Delivery, DeliveryId, DueDelivery, EVENT_TYPES, KEEP_LOG, NewDelivery,
    NewWebhook, Webhook, WebhookId, WebhookPatch, after_failure, delivery_body, disables,
};
use tokio::sync::{Notify, Semaphore, broadcast};
use tokio::task::JoinHandle;

pub use outbound::{SIGNATURE_HEADER, signature};

use crate::live::Hub;

/// Events read from the log per dispatcher pass.
const PAGE: i64 = 500;
/// How often the log and the outbox are read without a wake-up: other nodes' commits wake
/// nothing here, and retries come due by time alone.
const POLL: Duration = Duration::from_secs(1);
/// Least time between two dispatcher passes after a wake-up: under load one pass (one cursor
/// write) takes every commit of that time instead of one per commit.
const PASS_SPACING: Duration = Duration::from_millis(100);
/// Wait after a failed pass (the store did not answer).
const RETRY: Duration = Duration::from_millis(500);
/// Due deliveries read per sender pass.
const DUE_BATCH: i64 = 64;
/// Deliveries in flight at once on one node: slow receivers take a slot each for up to the
/// request timeout, and the rest keep flowing.
const MAX_IN_FLIGHT: usize = 32;
/// How long an attempt holds its delivery in the store: the request's timeout and some slack,
/// after which another node (or this one after a crash) may try it again.
const LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);
/// How often a node prunes the delivery log of what is older than `KEEP_LOG`.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The longest secret an admin may set, and the shortest.
const SECRET_LENGTH: std::ops::RangeInclusive<usize> = 16..=200;

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("url: {0}")]
    InvalidUrl(String),
    #[error("events: {0}")]
    InvalidEvents(String),
    #[error("secret: {0}")]
    InvalidSecret(String),
    #[error("{0}")]
    PrivateAddress(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A subscription as an admin sends it (create) or changes it (update).
#[derive(Clone, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub active: Option<bool>,
    pub allow_private: Option<bool>,
}

pub struct Webhooks {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    outbound: Arc<outbound::Outbound>,
    dispatch_wake: Notify,
    send_wake: Notify,
    /// Deliveries this node is attempting: never taken twice here, even when a moved test clock
    /// lets a hold run out mid-attempt.
    in_flight: Mutex<HashSet<DeliveryId>>,
    slots: Arc<Semaphore>,
}

impl Webhooks {
    /// `outbound` is the node's webhook client pair, shared with automation rules' webhooks.
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        clock: Arc<dyn Clock>,
        outbound: Arc<outbound::Outbound>,
    ) -> Arc<Webhooks> {
        Arc::new(Webhooks {
            store,
            hub,
            clock,
            outbound,
            dispatch_wake: Notify::new(),
            send_wake: Notify::new(),
            in_flight: Mutex::new(HashSet::new()),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// Starts the dispatcher, the sender and the task that wakes the dispatcher on every change
    /// this node commits.
    pub fn start(self: &Arc<Self>, mut changes: broadcast::Receiver<Arc<TicketChange>>) -> Vec<JoinHandle<()>> {
        let waker = {
            let webhooks = self.clone();
            tokio::spawn(async move {
                loop {
                    match changes.recv().await {
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => webhooks.dispatch_wake.notify_one(),
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let dispatcher = {
            let webhooks = self.clone();
            tokio::spawn(async move {
                loop {
                    let started = tokio::time::Instant::now();
                    match webhooks.dispatch_pass().await {
                        Ok(true) => {}
                        Ok(false) => {
                            tokio::select! {
                                _ = webhooks.dispatch_wake.notified() => {}
                                _ = tokio::time::sleep(POLL) => {}
                            }
                            tokio::time::sleep_until(started + PASS_SPACING).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the webhook dispatcher could not read or write; retrying");
                            tokio::time::sleep(RETRY).await;
                        }
                    }
                }
            })
        };
        let sender = {
            let webhooks = self.clone();
            tokio::spawn(async move {
                loop {
                    match webhooks.send_pass().await {
                        Ok(true) => {}
                        Ok(false) => {
                            tokio::select! {
                                _ = webhooks.send_wake.notified() => {}
                                _ = tokio::time::sleep(POLL) => {}
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the webhook sender could not read or write; retrying");
                            tokio::time::sleep(RETRY).await;
                        }
                    }
                }
            })
        };
        let pruner = {
            let webhooks = self.clone();
            tokio::spawn(async move {
                loop {
                    let before = webhooks.clock.now() - KEEP_LOG;
                    match webhooks.store.prune_webhook_deliveries(before).await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::info!(pruned, "old webhook deliveries removed from the log"),
                        Err(error) => tracing::warn!(%error, "could not prune the webhook delivery log"),
                    }
                    tokio::time::sleep(PRUNE_EVERY).await;
                }
            })
        };
        vec![waker, dispatcher, sender, pruner]
    }

    /// Queues the next page of the log after the stored cursor for the subscriptions that want
    /// it. `Ok(true)` when there may be more to read at once.
    pub async fn dispatch_pass(&self) -> Result<bool, StoreError> {
        let from = self.store.webhook_position().await?;
        let events = self.store.events_after(from, PAGE).await?;
        let Some(to) = events.last().map(|event| event.position) else { return Ok(false) };
        let subscriptions = self.store.active_webhooks().await?;
        let mut deliveries = Vec::new();
        for logged in &events {
            let kind = logged.event.kind.name();
            let mut body: Option<String> = None;
            for webhook in subscriptions
                .iter()
                .filter(|webhook| webhook.account_id == logged.event.account_id && webhook.wants(kind))
            {
                let body = body.get_or_insert_with(|| delivery_body(logged)).clone();
                deliveries.push(NewDelivery {
                    webhook_id: webhook.id,
                    account_id: webhook.account_id,
                    position: logged.position,
                    ticket_id: logged.event.ticket_id,
                    seq: logged.event.seq,
                    event_type: kind.to_owned(),
                    body,
                });
            }
        }
        match self.store.enqueue_webhook_deliveries(from, to, &deliveries, self.clock.now()).await {
            Ok(()) => {}
            // Another node queued these events first: read on from where it left the cursor.
            Err(StoreError::Conflict(_)) => return Ok(true),
            Err(error) => return Err(error),
        }
        if !deliveries.is_empty() {
            metrics::counter!("switchboard_webhook_deliveries_queued_total").increment(deliveries.len() as u64);
            self.send_wake.notify_one();
        }
        Ok(events.len() as i64 >= PAGE)
    }

    /// Starts an attempt for each due delivery this node can hold. `Ok(true)` when it started any.
    pub async fn send_pass(self: &Arc<Self>) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let due = self.store.due_webhook_deliveries(now, DUE_BATCH).await?;
        let mut started = false;
        for item in due {
            let id = item.delivery.id;
            let Some(due_at) = item.delivery.next_attempt_at else { continue };
            if self.in_flight.lock().map(|held| held.contains(&id)).unwrap_or(true) {
                continue;
            }
            let Ok(slot) = self.slots.clone().acquire_owned().await else { return Ok(started) };
            if !self.store.claim_webhook_delivery(id, due_at, now + LEASE).await? {
                continue;
            }
            if let Ok(mut held) = self.in_flight.lock() {
                held.insert(id);
            }
            started = true;
            let webhooks = self.clone();
            tokio::spawn(async move {
                webhooks.attempt(item).await;
                if let Ok(mut held) = webhooks.in_flight.lock() {
                    held.remove(&id);
                }
                drop(slot);
                // The ticket's next delivery may go now.
                webhooks.send_wake.notify_one();
            });
        }
        Ok(started)
    }

    /// One attempt: POST, then record the answer, the next attempt or the end, and — after 24
    /// hours of failures — the subscription's disabling with its admins' notifications.
    async fn attempt(&self, due: DueDelivery) {
        let DueDelivery { delivery, webhook } = due;
        let sent_at = self.clock.now();
        let answer = self
            .outbound
            .post(&webhook.url, &webhook.secret, sent_at.as_second(), &delivery.body, webhook.allow_private)
            .await;
        let at = self.clock.now();
        let accepted = answer.accepted();
        let next = if accepted {
            AttemptNext::Delivered
        } else {
            after_failure(delivery.attempts + 1, delivery.queued_at, at)
        };
        let disable = if !accepted && disables(webhook.failing_since, at) {
            let reason = format!(
                "deliveries failed for 24 hours (last: {})",
                answer.error.clone().unwrap_or_else(|| "no answer".to_owned())
            );
            match self.admin_notices(&webhook, &delivery, &reason).await {
                Ok(notices) => Some((reason, notices)),
                Err(error) => {
                    tracing::warn!(%error, webhook = webhook.id, "could not read whom to tell of a failing webhook");
                    None
                }
            }
        } else {
            None
        };
        metrics::counter!("switchboard_webhook_attempts_total", "result" => if accepted { "ok" } else { "failed" })
            .increment(1);
        if !accepted {
            tracing::info!(webhook = webhook.id, delivery = delivery.id, error = ?answer.error, "webhook delivery failed");
        }
        let record = AttemptRecord {
            delivery_id: delivery.id,
            webhook_id: webhook.id,
            at,
            status_code: answer.status.map(i64::from),
            response_ms: answer.elapsed_ms,
            error: answer.error,
            next,
            disable,
        };
        match self.store.record_webhook_attempt(&record).await {
            Ok(Some(notices)) => {
                tracing::warn!(webhook = webhook.id, url = %webhook.url, "webhook disabled after 24 hours of failures");
                self.push(webhook.account_id, notices).await;
            }
            Ok(None) => {}
            // The hold runs out and the attempt is made again: at least once, like every channel.
            Err(error) => tracing::warn!(%error, delivery = delivery.id, "could not record a webhook attempt"),
        }
    }

    /// A notification for each active admin of the subscription's account, on the delivery's ticket.
    async fn admin_notices(
        &self,
        webhook: &Webhook,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<Vec<NewNotification>, StoreError> {
        let Some(ticket) = self.store.ticket(delivery.ticket_id).await? else { return Ok(Vec::new()) };
        let admins = self.store.list_users(webhook.account_id, Some(Role::Admin)).await?;
        Ok(admins
            .into_iter()
            .filter(|admin| admin.active)
            .map(|admin| NewNotification {
                account_id: webhook.account_id,
                user_id: admin.id,
                kind: NotificationKind::WebhookDisabled,
                ticket_id: ticket.id,
                ticket_number: ticket.number,
                subject: ticket.subject.clone(),
                actor_id: None,
                text: format!("Webhook {} was disabled: {reason}", webhook.url),
                critical: false,
                position: delivery.position,
            })
            .collect())
    }

    async fn push(&self, account: AccountId, notices: Vec<switchboard_actors::notifications::Notification>) {
        let mut pushes = Vec::with_capacity(notices.len());
        for notification in notices {
            let unread = self.store.unread_notifications(account, notification.user_id).await.unwrap_or(1);
            pushes.push(NotificationPush {
                account_id: account,
                user_id: notification.user_id,
                notification,
                alert: true,
                unread,
            });
        }
        self.hub.push_notifications(pushes);
    }

    /// Creates a subscription; answers it with its secret (generated when none was given),
    /// which is shown this once.
    pub async fn create(
        &self,
        account: AccountId,
        by: UserId,
        input: WebhookInput,
    ) -> Result<(Webhook, String), WebhookError> {
        let allow_private = input.allow_private.unwrap_or(false);
        let events = check_events(input.events.unwrap_or_default())?;
        let secret = match input.secret {
            Some(secret) => check_secret(secret)?,
            None => generate_secret(),
        };
        // Last: it may ask DNS.
        let url = outbound::check_url(input.url.as_deref().unwrap_or_default(), allow_private).await?;
        let new = NewWebhook {
            account_id: account,
            url,
            events,
            secret: secret.clone(),
            active: input.active.unwrap_or(true),
            allow_private,
            created_by: by,
        };
        if allow_private {
            tracing::info!(account, by, url = %new.url, "webhook created with allow_private");
        }
        Ok((self.store.create_webhook(&new, self.clock.now()).await?, secret))
    }

    /// Changes a subscription; `None` when the account has no such subscription.
    pub async fn update(
        &self,
        account: AccountId,
        by: UserId,
        id: WebhookId,
        input: WebhookInput,
    ) -> Result<Option<Webhook>, WebhookError> {
        let Some(current) = self.store.webhook(account, id).await? else { return Ok(None) };
        let allow_private = input.allow_private.unwrap_or(current.allow_private);
        let events = input.events.map(check_events).transpose()?;
        let secret = input.secret.map(check_secret).transpose()?;
        // Last: it may ask DNS.
        let url = match (&input.url, input.allow_private) {
            (Some(url), _) => Some(outbound::check_url(url, allow_private).await?),
            (None, Some(false)) => Some(outbound::check_url(&current.url, false).await?),
            (None, _) => None,
        };
        let patch = WebhookPatch { url, events, secret, active: input.active, allow_private: input.allow_private };
        if input.allow_private.is_some_and(|allow| allow != current.allow_private) {
            tracing::info!(account, by, webhook = id, allow_private, "webhook allow_private changed");
        }
        let updated = self.store.update_webhook(account, id, &patch, self.clock.now()).await?;
        if input.active == Some(true) {
            self.send_wake.notify_one();
        }
        Ok(updated)
    }

    /// Queues a delivery again, due now.
    pub async fn redeliver(
        &self,
        account: AccountId,
        webhook: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        let queued = self.store.redeliver_webhook(account, webhook, delivery, self.clock.now()).await?;
        if queued.is_some() {
            self.send_wake.notify_one();
        }
        Ok(queued)
    }
}

/// Event type names, known ones only, `*` alone when present, without repeats.
fn check_events(events: Vec<String>) -> Result<Vec<String>, WebhookError> {
    if events.is_empty() {
        return Err(WebhookError::InvalidEvents("name at least one event type, or \"*\" for all".into()));
    }
    let mut kept: Vec<String> = Vec::new();
    for event in events {
        let event = event.trim().to_owned();
        if event != ALL_EVENTS && !EVENT_TYPES.contains(&event.as_str()) {
            return Err(WebhookError::InvalidEvents(format!("unknown event type {event:?}")));
        }
        if !kept.contains(&event) {
            kept.push(event);
        }
    }
    if kept.iter().any(|event| event == ALL_EVENTS) {
        kept = vec![ALL_EVENTS.to_owned()];
    }
    Ok(kept)
}

fn check_secret(secret: String) -> Result<String, WebhookError> {
    let length = secret.chars().count();
    if !SECRET_LENGTH.contains(&length) || secret.chars().any(char::is_control) {
        return Err(WebhookError::InvalidSecret(format!(
            "{} to {} printable characters",
            SECRET_LENGTH.start(),
            SECRET_LENGTH.end()
        )));
    }
    Ok(secret)
}

/// 32 bytes from the CSPRNG, as `whsec_` and hex.
fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_known_names_or_all() {
        assert!(matches!(check_events(vec![]), Err(WebhookError::InvalidEvents(_))));
        assert!(matches!(check_events(vec!["ticket_exploded".into()]), Err(WebhookError::InvalidEvents(_))));
        assert_eq!(check_events(vec!["created".into(), "created".into()]).ok(), Some(vec!["created".to_owned()]));
        assert_eq!(check_events(vec!["created".into(), "*".into()]).ok(), Some(vec!["*".to_owned()]));
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(generate_secret(), generate_secret());
        assert!(check_secret("short".into()).is_err());
    }
}
