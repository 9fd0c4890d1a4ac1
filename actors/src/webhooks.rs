//! Outbound webhooks (issue 17 item 5) as pure rules: a subscription and its delivery log, which
//! event types exist, what a delivery's body carries, when a failed delivery is tried again and
//! when a failing subscription is disabled, and which addresses a delivery may never reach. The
//! server's dispatcher tails the event log and performs these (`src/webhooks/`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, LoggedEvent, TicketId, UserId};
use crate::notifications::{NewNotification, Notification};
use crate::store::StoreResult;

pub type WebhookId = i64;
pub type DeliveryId = i64;

/// Every event type a subscription may name (`EventKind::name`), in the order the console lists
/// them; `*` subscribes to all of them, including kinds added later.
pub const EVENT_TYPES: &[&str] = &[
    "created",
    "message_added",
    "status_changed",
    "priority_changed",
    "assigned",
    "tags_changed",
    "fields_changed",
    "snoozed",
    "snooze_ended",
    "requester_changed",
    "delivery_changed",
    "attachments_changed",
    "window_changed",
    "sla_changed",
    "sla_warning",
    "sla_breached",
    "merged_into",
    "merged_in",
    "unmerged",
    "merge_undone",
    "split_to",
    "split_from",
    "automation_ran",
    "csat_requested",
    "csat_received",
    "csat_commented",
];

/// Every event type.
pub const ALL_EVENTS: &str = "*";

/// Retries go on this long after the event was first queued; then the delivery is `failed`.
/// Receivers are down for a weekend at most, and three days covers one.
pub const RETRY_FOR: SignedDuration = SignedDuration::from_hours(72);
/// A subscription whose deliveries failed without a success for this long is disabled and its
/// account's admins are told: a receiver gone that long is not coming back by itself.
pub const DISABLE_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// Delivered and failed deliveries stay in the log this long, then go (with their bodies, which
/// carry customers' messages): long enough to look into a receiver's trouble after a holiday.
pub const KEEP_LOG: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The wait after the first failed attempt; each further failure doubles it…
pub const RETRY_BASE: SignedDuration = SignedDuration::from_secs(30);
/// …up to an hour, so a receiver that comes back is served within the hour.
pub const RETRY_CAP: SignedDuration = SignedDuration::from_hours(1);

/// An account's subscription. The secret is never serialised (it is shown once, on creation)
/// nor printed by `Debug`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    pub url: String,
    /// Event type names, or `["*"]`.
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret: String,
    pub active: bool,
    /// Deliveries may go to loopback, private and link-local addresses (an admin's choice).
    pub allow_private: bool,
    /// Why the hub disabled it (24 hours of failures); cleared when an admin enables it again.
    pub disabled_reason: Option<String>,
    /// The first failure since the last success, while deliveries fail.
    pub failing_since: Option<Timestamp>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Webhook")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"[redacted]")
            .field("active", &self.active)
            .field("allow_private", &self.allow_private)
            .field("disabled_reason", &self.disabled_reason)
            .field("failing_since", &self.failing_since)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Whether the subscription wants events of `kind` (an `EventKind::name`).
    pub fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|event| event == ALL_EVENTS || event == kind)
    }
}

/// A subscription as an admin creates it, already validated.
#[derive(Clone)]
pub struct NewWebhook {
    pub account_id: AccountId,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub active: bool,
    pub allow_private: bool,
    pub created_by: UserId,
}

/// What an admin changes; `None` leaves a field as it is. Setting `active` clears the reason
/// and the failing time.
#[derive(Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub active: Option<bool>,
    pub allow_private: Option<bool>,
}

crate::domain::string_enum!(
    /// Where a delivery stands: waiting for (another) attempt, accepted with a 2xx, or given up.
    DeliveryState { Pending => "pending", Delivered => "delivered", Failed => "failed" }
);

/// One event for one subscription: the outbox row and its line in the delivery log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub account_id: AccountId,
    /// The event's log position (its `id` in the body is `evt_<position>`).
    pub position: i64,
    pub ticket_id: TicketId,
    pub seq: i64,
    pub event_type: String,
    pub status: DeliveryState,
    pub attempts: i64,
    /// The receiver's HTTP status of the last attempt (none when it did not answer).
    pub last_status_code: Option<i64>,
    /// How long the last attempt took, in milliseconds.
    pub last_response_ms: Option<i64>,
    /// Why the last attempt failed (a network error, a refused address, a non-2xx status).
    pub last_error: Option<String>,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Since when it is retried: queued, or last redelivered by hand.
    pub queued_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The JSON body, as built when the event was queued (redeliveries send it again).
    #[serde(skip)]
    pub body: String,
}

/// A delivery the dispatcher queues.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub webhook_id: WebhookId,
    pub account_id: AccountId,
    pub position: i64,
    pub ticket_id: TicketId,
    pub seq: i64,
    pub event_type: String,
    pub body: String,
}

/// A pending delivery due now, with what sending it needs from its subscription.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub webhook: Webhook,
}

/// What one attempt came to, as the store records it.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub delivery_id: DeliveryId,
    pub webhook_id: WebhookId,
    pub at: Timestamp,
    pub status_code: Option<i64>,
    pub response_ms: i64,
    pub error: Option<String>,
    /// Where the delivery goes next.
    pub next: AttemptNext,
    /// Disable the subscription with this reason (once: only if it is still active), and store
    /// these notifications for its admins in the same transaction.
    pub disable: Option<(String, Vec<NewNotification>)>,
}

/// A delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptNext {
    Delivered,
    RetryAt(Timestamp),
    Failed,
}

/// What the body says of one event: the event and its place, the account it belongs to.
#[derive(Debug, Serialize)]
pub struct DeliveryBody<'a> {
    /// `evt_<position>`: the same for every subscription, so a receiver can drop a redelivery.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account_id: AccountId,
    pub ticket_id: TicketId,
    pub seq: i64,
    pub position: i64,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    /// The event's own fields (what the ticket's event log shows, without `type`).
    pub data: &'a serde_json::Value,
}

/// The JSON body of `event`.
pub fn delivery_body(event: &LoggedEvent) -> String {
    let mut data = serde_json::to_value(&event.event.kind).unwrap_or(serde_json::Value::Null);
    if let Some(fields) = data.as_object_mut() {
        fields.remove("type");
    }
    let body = DeliveryBody {
        id: format!("evt_{}", event.position),
        kind: event.event.kind.name(),
        account_id: event.event.account_id,
        ticket_id: event.event.ticket_id,
        seq: event.event.seq,
        position: event.position,
        at: event.event.at,
        actor_id: event.event.actor_id,
        data: &data,
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// Where a delivery goes after a failed attempt: again after `RETRY_BASE × 2^(attempts−1)` (at
/// most [`RETRY_CAP`]) while that is within [`RETRY_FOR`] of its queueing, else failed.
pub fn after_failure(attempts: i64, queued_at: Timestamp, now: Timestamp) -> AttemptNext {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let wait = RETRY_BASE.as_millis().saturating_mul(1i128 << exponent).min(RETRY_CAP.as_millis());
    let wait = SignedDuration::from_millis(i64::try_from(wait).unwrap_or(i64::MAX));
    let Ok(next) = now.checked_add(wait) else { return AttemptNext::Failed };
    let until = queued_at.checked_add(RETRY_FOR).unwrap_or(Timestamp::MAX);
    if next > until { AttemptNext::Failed } else { AttemptNext::RetryAt(next) }
}

/// Whether a failure at `now` disables a subscription failing since `failing_since`.
pub fn disables(failing_since: Option<Timestamp>, now: Timestamp) -> bool {
    failing_since.is_some_and(|since| now.duration_since(since) >= DISABLE_AFTER)
}

/// Whether a delivery may reach `address` without `allow_private`: not loopback, private,
/// link-local, shared (CGNAT), multicast, broadcast, documentation, benchmarking or reserved,
/// in IPv4 or IPv6, nor an IPv4 address of those kinds inside an IPv6 one.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_documentation()
        || address.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = address.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address a gateway will reach.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if segments[0] == 0x2002 {
        let [a, b] = segments[1].to_be_bytes();
        let [c, d] = segments[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || segments[..6] == [0, 0, 0, 0, 0, 0])
}

/// The storage port of webhooks: subscriptions, the dispatcher's cursor (moved with the
/// deliveries it queued, so each event is queued once per subscription), the outbox the sender
/// works through, and the delivery log.
#[async_trait]
pub trait WebhooksPort: Send + Sync + 'static {
    async fn create_webhook(&self, webhook: &NewWebhook, at: Timestamp) -> StoreResult<Webhook>;
    async fn webhooks(&self, account: AccountId) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<Option<Webhook>>;
    async fn update_webhook(
        &self,
        account: AccountId,
        id: WebhookId,
        patch: &WebhookPatch,
        at: Timestamp,
    ) -> StoreResult<Option<Webhook>>;
    /// Deletes the subscription and its deliveries; `false` when there was none.
    async fn delete_webhook(&self, account: AccountId, id: WebhookId) -> StoreResult<bool>;
    /// Every account's active subscriptions (what a dispatcher pass matches events against).
    async fn active_webhooks(&self) -> StoreResult<Vec<Webhook>>;
    /// The event log position the dispatcher has handled up to.
    async fn webhook_position(&self) -> StoreResult<i64>;
    /// Queues `deliveries` and moves the dispatcher's cursor from `from` to `to`, in one
    /// transaction; `Conflict` (nothing written) when the cursor is no longer at `from`.
    async fn enqueue_webhook_deliveries(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Pending deliveries of active subscriptions due by `now`, each the first pending one of
    /// its subscription and ticket (so a ticket's events leave in order), oldest first.
    async fn due_webhook_deliveries(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<DueDelivery>>;
    /// Holds a due delivery until `until` if it is still due at `due` (another node did not take
    /// it); `true` when this caller holds it.
    async fn claim_webhook_delivery(&self, id: DeliveryId, due: Timestamp, until: Timestamp) -> StoreResult<bool>;
    /// Records an attempt (and the subscription's failing time, or its disabling with the
    /// notifications); answers the stored notifications when this call disabled the
    /// subscription (`None` when it did not: not asked, or another attempt got there first).
    async fn record_webhook_attempt(&self, attempt: &AttemptRecord) -> StoreResult<Option<Vec<Notification>>>;
    /// A subscription's deliveries, newest first, before the id `before`.
    async fn webhook_deliveries(
        &self,
        account: AccountId,
        webhook: WebhookId,
        before: Option<DeliveryId>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// Deletes the delivered and failed deliveries queued before `before`; answers how many.
    async fn prune_webhook_deliveries(&self, before: Timestamp) -> StoreResult<u64>;
    /// Puts a delivery back in the queue, due at `at`, with a fresh three days of retries.
    async fn redeliver_webhook(
        &self,
        account: AccountId,
        webhook: WebhookId,
        delivery: DeliveryId,
        at: Timestamp,
    ) -> StoreResult<Option<Delivery>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(!is_public(private.parse().expect("address")), "{private} must be refused");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().expect("address")), "{public} is public");
        }
    }

    #[test]
    fn retries_back_off_for_three_days_then_fail() {
        let queued = Timestamp::UNIX_EPOCH;
        assert_eq!(after_failure(1, queued, queued), AttemptNext::RetryAt(queued + SignedDuration::from_secs(30)));
        assert_eq!(after_failure(2, queued, queued), AttemptNext::RetryAt(queued + SignedDuration::from_secs(60)));
        assert_eq!(after_failure(20, queued, queued), AttemptNext::RetryAt(queued + RETRY_CAP));
        let late = queued + SignedDuration::from_hours(71) + SignedDuration::from_mins(30);
        assert_eq!(after_failure(80, queued, late), AttemptNext::Failed);
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let webhook = Webhook {
            id: 1,
            account_id: 1,
            url: "https://example.com/hook".into(),
            events: vec!["*".into()],
            secret: "whsec_do_not_print".into(),
            active: true,
            allow_private: false,
            disabled_reason: None,
            failing_since: None,
            created_by: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        assert!(!format!("{webhook:?}").contains("do_not_print"));
    }

    #[test]
    fn a_day_of_failures_disables() {
        let since = Timestamp::UNIX_EPOCH;
        assert!(!disables(None, since));
        assert!(!disables(Some(since), since + SignedDuration::from_hours(23)));
        assert!(disables(Some(since), since + DISABLE_AFTER));
    }
}
