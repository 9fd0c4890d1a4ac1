//! The notifier: tails the installation-wide event log from a cursor kept in the store, decides
//! who each committed event notifies (`switchboard_actors::notifications`, pure), stores the
//! notifications together with the cursor's move (one transaction, so each is written exactly
//! once, and a restart resumes where the last commit left off) and pushes them to their users'
//! sockets through live delivery. It is woken by this node's event bus as soon as a change
//! commits, and looks on its own every [`POLL`] for commits of other nodes. `digest.rs` mails
//! each user's unread ones on a durable timer.

mod digest;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_actors::bus::TicketChange;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::*;
use switchboard_actors::notifications::{
    NewNotification, NotificationPush, Preferences, Staff, as_created, notifications_for,
};
use switchboard_actors::store::{Store, StoreError};
use switchboard_actors::timers::TimerHandle;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::channels::email::EmailChannel;
use crate::live::Hub;
use crate::staff::{StaffDirectories, StaffDirectory};

pub use digest::TIMER_KIND;

/// Events read from the log per pass.
const PAGE: i64 = 500;
/// How often the log is read without a wake-up: commits made on other nodes reach this one's
/// bus only through the broker, which wakes nothing here.
const POLL: Duration = Duration::from_secs(1);
/// Events after a ticket's creation read to know its assignee and levels at creation (the
/// first reassignment or priority change is all it takes; new tickets have few).
const CREATION_LOOKAHEAD: i64 = 200;
/// Least time from the start of one pass to the start of the next after a wake-up: under load
/// one pass takes every commit of that time (one read of the account's staff and teams, one
/// cursor write) instead of one pass per commit (at 500 WhatsApp messages a second the notifier
/// was a dozen reads and an fsync'd transaction per message); when idle a change is handled at
/// once.
const PASS_SPACING: Duration = Duration::from_millis(50);
/// Wait after a failed pass (the store did not answer).
const RETRY: Duration = Duration::from_millis(500);

pub struct Notifier {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    email: Arc<EmailChannel>,
    clock: Arc<dyn Clock>,
    timers: TimerHandle,
    /// The accounts' staff directories, kept across passes until they change.
    staff: StaffDirectories,
    wake: Notify,
}

/// Whether an event kind can notify anyone (the rest are skipped without reading their ticket).
fn may_notify(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Created { .. }
            | EventKind::Assigned { .. }
            | EventKind::MessageAdded { .. }
            | EventKind::PriorityChanged { .. }
            | EventKind::SlaWarning { .. }
            | EventKind::SlaBreached { .. }
            | EventKind::AutomationRan { .. }
    )
}

/// What one pass read about an account (its staff and teams) and its users' preferences.
#[derive(Default)]
struct PassCache {
    staff: HashMap<AccountId, Arc<StaffDirectory>>,
    tickets: HashMap<TicketId, Option<Ticket>>,
    preferences: HashMap<UserId, Preferences>,
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        email: Arc<EmailChannel>,
        clock: Arc<dyn Clock>,
        timers: TimerHandle,
    ) -> Arc<Notifier> {
        let staff = StaffDirectories::new(store.clone());
        Arc::new(Notifier { store, hub, email, clock, timers, staff, wake: Notify::new() })
    }

    /// Starts the tailing task and the task that wakes it on every change this node commits.
    pub fn start(self: &Arc<Self>, mut changes: broadcast::Receiver<Arc<TicketChange>>) -> Vec<JoinHandle<()>> {
        let waker = {
            let notifier = self.clone();
            tokio::spawn(async move {
                loop {
                    match changes.recv().await {
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => notifier.wake.notify_one(),
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let tail = {
            let notifier = self.clone();
            tokio::spawn(async move {
                loop {
                    let started = tokio::time::Instant::now();
                    match notifier.pass().await {
                        Ok(true) => {}
                        Ok(false) => {
                            tokio::select! {
                                _ = notifier.wake.notified() => {}
                                _ = tokio::time::sleep(POLL) => {}
                            }
                            tokio::time::sleep_until(started + PASS_SPACING).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the notifier could not read or write; retrying");
                            tokio::time::sleep(RETRY).await;
                        }
                    }
                }
            })
        };
        vec![waker, tail]
    }

    /// Handles the next page of the log after the stored cursor. `Ok(true)` when there may be
    /// more to read at once.
    pub async fn pass(&self) -> Result<bool, StoreError> {
        let from = self.store.notifier_position().await?;
        let events = self.store.events_after(from, PAGE).await?;
        let Some(to) = events.last().map(|event| event.position) else { return Ok(false) };
        let mut cache = PassCache::default();
        // The page's tickets in one read, not one round trip each.
        let mut wanted: Vec<TicketId> =
            events.iter().filter(|event| may_notify(&event.event.kind)).map(|event| event.event.ticket_id).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if !wanted.is_empty() {
            let found = self.store.tickets(&wanted).await?;
            for id in wanted {
                cache.tickets.insert(id, None);
            }
            for ticket in found {
                cache.tickets.insert(ticket.id, Some(ticket));
            }
        }
        let mut items: Vec<NewNotification> = Vec::new();
        for event in events.iter().filter(|event| may_notify(&event.event.kind)) {
            let Some(mut ticket) = self.ticket(&mut cache, event.event.ticket_id).await? else { continue };
            if matches!(event.event.kind, EventKind::Created { .. }) && ticket.seq > event.event.seq {
                // Usually the page read holds everything since (a new ticket's first commit
                // carries several events); otherwise the ticket's own log does.
                let in_page: Vec<TicketEvent> = events
                    .iter()
                    .map(|logged| &logged.event)
                    .filter(|later| later.ticket_id == ticket.id && later.seq > event.event.seq)
                    .cloned()
                    .collect();
                let later = if in_page.len() as i64 == ticket.seq - event.event.seq {
                    in_page
                } else {
                    self.store.ticket_events(ticket.id, event.event.seq, CREATION_LOOKAHEAD).await?
                };
                ticket = as_created(&ticket, &later);
            }
            let staff = self.staff(&mut cache, ticket.account_id).await?;
            let decided = notifications_for(
                event,
                &ticket,
                &Staff { users: &staff.users, teams: &staff.teams, routed_teams: &staff.routed_teams },
            );
            for item in decided {
                if self.preferences(&mut cache, item.account_id, item.user_id).await?.kinds.wants(item.kind) {
                    items.push(item);
                }
            }
        }
        let now = self.clock.now();
        let stored = match self.store.record_notifications(from, to, &items, now).await {
            Ok(stored) => stored,
            // Another node handled these events first: read on from where it left the cursor.
            Err(StoreError::Conflict(_)) => return Ok(true),
            Err(error) => return Err(error),
        };
        metrics::counter!("switchboard_notifications_total").increment(stored.len() as u64);
        let mut unread: HashMap<UserId, i64> = HashMap::new();
        let mut pushes = Vec::with_capacity(stored.len());
        for notification in stored {
            let user = notification.user_id;
            let count = match unread.get(&user) {
                Some(count) => *count,
                None => {
                    let count = self.store.unread_notifications(notification.account_id, user).await?;
                    unread.insert(user, count);
                    count
                }
            };
            let zone = cache
                .staff
                .get(&notification.account_id)
                .and_then(|staff| staff.users.iter().find(|candidate| candidate.id == user))
                .and_then(|user| jiff::tz::TimeZone::get(&user.time_zone).ok())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let alert =
                cache.preferences.get(&user).cloned().unwrap_or_default().alerts(notification.critical, now, &zone);
            pushes.push(NotificationPush {
                account_id: notification.account_id,
                user_id: user,
                notification,
                alert,
                unread: count,
            });
        }
        self.hub.push_notifications(pushes);
        Ok(events.len() as i64 >= PAGE)
    }

    async fn ticket(&self, cache: &mut PassCache, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        if let Some(ticket) = cache.tickets.get(&id) {
            return Ok(ticket.clone());
        }
        let ticket = self.store.ticket(id).await?;
        cache.tickets.insert(id, ticket.clone());
        Ok(ticket)
    }

    async fn staff(&self, cache: &mut PassCache, account: AccountId) -> Result<Arc<StaffDirectory>, StoreError> {
        if let Some(staff) = cache.staff.get(&account) {
            return Ok(staff.clone());
        }
        let staff = self.staff.get(account).await?;
        cache.staff.insert(account, staff.clone());
        Ok(staff)
    }

    async fn preferences(
        &self,
        cache: &mut PassCache,
        account: AccountId,
        user: UserId,
    ) -> Result<Preferences, StoreError> {
        if let Some(preferences) = cache.preferences.get(&user) {
            return Ok(preferences.clone());
        }
        let preferences = self
            .store
            .notification_preferences(account, user)
            .await?
            .map(|(preferences, _)| preferences)
            .unwrap_or_default();
        cache.preferences.insert(user, preferences.clone());
        Ok(preferences)
    }

    /// The user's unread count changed by their own reading: tell their sockets everywhere.
    pub async fn read(&self, account: AccountId, user: UserId) -> Result<i64, StoreError> {
        let unread = self.store.unread_notifications(account, user).await?;
        self.hub.notifications_read(account, user, unread);
        Ok(unread)
    }
}
