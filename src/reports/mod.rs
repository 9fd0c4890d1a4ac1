//! The reports' projection: tails the installation-wide event log from a cursor kept in the
//! store, recomputes the measures of every ticket a page of the log touched from that ticket's
//! whole log (`switchboard_actors::reports::measures`, pure; the logs of recently touched
//! tickets kept in memory, so a pass reads only what is new) and stores what changed from the
//! measures kept before (`MeasureChanges`: usually a few rows per ticket), the per-day
//! aggregates' move and the cursor's in one transaction. Diffing against what is kept, rather
//! than adding, makes a page handled twice (after a crash, or by two nodes) count nothing
//! twice; the cursor moving with them makes a restart miss nothing. Woken by this node's
//! event bus as soon as a change commits, and polling every [`POLL`] for other nodes' commits.
//! `switchboard reports rebuild` empties it and replays the log from position 0.

pub mod board;
pub mod export;
pub mod schedules;
pub mod summary;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::tz::TimeZone;
use switchboard_actors::bus::TicketChange;
use switchboard_actors::domain::*;
use switchboard_actors::reports::MeasureChanges;
use switchboard_actors::reports::measures::{Measure, ReportClock, ticket_measures};
use switchboard_actors::store::{Store, StoreError};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::staff::StaffDirectories;

/// Events read from the log per pass.
const PAGE: i64 = 500;
/// A ticket's events read per query when its whole log is folded.
const TICKET_LOG_PAGE: i64 = 5_000;
/// The most events of recently touched tickets' logs the projection keeps in memory
/// ([`TicketLogs`]).
const KEPT_LOG_EVENTS: usize = 20_000;
/// How often the log is read without a wake-up: commits made on other nodes reach this one only
/// through the broker, which wakes nothing here.
const POLL: Duration = Duration::from_secs(1);
/// Least time from the start of one pass to the start of the next after a wake-up: under load a
/// pass takes every commit of that time (each touched ticket's measures computed once, one
/// write) instead of one pass per commit — at 500 WhatsApp messages a second, passes per commit
/// doubled the hub's CPU per message. Not longer: a pass's write takes its turn on SQLite's one
/// writer, and every webhook's durable append waits behind it (at 1 s a pass wrote ~4 times the
/// rows, ~20 ms; issue 16, T3's tail). A report waiting for the figures cuts the spacing short
/// ([`ReportProjection::fresh`]), and waits at most [`FRESHNESS_WAIT`].
const PASS_SPACING: Duration = Duration::from_millis(250);
/// Events projected between two refreshes of the planner's statistics (done once caught up).
const STATISTICS_EVERY: u64 = 100_000;
/// Wait after a failed pass (the store did not answer).
const RETRY: Duration = Duration::from_millis(500);
/// How long a report request waits for the projection to reach the log's end as the request
/// found it, so a report read right after a change includes it; past this the report answers
/// with what is projected and says how far that is.
pub const FRESHNESS_WAIT: Duration = Duration::from_secs(2);

/// What one pass knows of an account: who its staff are and how its days and hours run.
struct AccountView {
    staff: HashSet<UserId>,
    zone: TimeZone,
    hours: Option<BusinessHours>,
}

/// The logs of the tickets recent passes touched, each a prefix of the ticket's log (seq 1, 2,
/// 3 … with no gap): a pass appends the page's events to it and reads from the store only
/// what is missing, instead of every touched ticket's whole log. Under a stream of messages
/// each pass touches the same tickets again, and re-reading their growing logs cost more
/// with every message (issue 16). Kept events stay right: a log only grows, and what a
/// redaction rewrites in place (texts) no measure reads.
///
/// With each log, the measures the store keeps for the ticket as this node last wrote them, so
/// a pass diffs against them without reading them back ([`MeasureChanges::between`]). They are
/// dropped with a gap in the log (another node's pass may have written the ticket) and after a
/// write that failed.
#[derive(Default)]
struct TicketLogs {
    by_ticket: HashMap<TicketId, KeptTicket>,
    events: usize,
}

#[derive(Default)]
struct KeptTicket {
    log: Vec<TicketEvent>,
    /// `None`: not known here, read from the store.
    measures: Option<Vec<Measure>>,
}

impl TicketLogs {
    fn take(&mut self, ticket: TicketId) -> KeptTicket {
        let kept = self.by_ticket.remove(&ticket).unwrap_or_default();
        self.events -= kept.log.len();
        kept
    }

    fn keep(&mut self, ticket: TicketId, kept: KeptTicket) {
        self.events += kept.log.len();
        self.by_ticket.insert(ticket, kept);
    }

    /// The kept measures of `ticket`, if known.
    fn measures(&self, ticket: TicketId) -> Option<&[Measure]> {
        self.by_ticket.get(&ticket)?.measures.as_deref()
    }

    /// What the store now keeps for `ticket` (`None`: unknown).
    fn set_measures(&mut self, ticket: TicketId, measures: Option<Vec<Measure>>) {
        if let Some(kept) = self.by_ticket.get_mut(&ticket) {
            kept.measures = measures;
        }
    }

    /// Over [`KEPT_LOG_EVENTS`]: keeps only the tickets of the pass just made, or nothing when
    /// even they are too many.
    fn trim(&mut self, touched: &[TicketId]) {
        if self.events <= KEPT_LOG_EVENTS {
            return;
        }
        self.by_ticket.retain(|ticket, _| touched.contains(ticket));
        self.events = self.by_ticket.values().map(|kept| kept.log.len()).sum();
        if self.events > KEPT_LOG_EVENTS {
            self.by_ticket.clear();
            self.events = 0;
        }
    }
}

pub struct ReportProjection {
    store: Arc<dyn Store>,
    /// One pass runs at a time (the tailing task's, or a rebuild's): the lock is not contended.
    logs: std::sync::Mutex<TicketLogs>,
    wake: Notify,
    /// A report is waiting for the projection to reach the log's end ([`ReportProjection::fresh`]).
    asked: Notify,
    /// The log position the projection has handled, as this node last saw it.
    position: watch::Sender<i64>,
    /// Events projected since the planner's statistics were last refreshed.
    since_statistics: AtomicU64,
    /// Tickets whose log, and whose kept measures, a pass had to read from the store.
    logs_read: AtomicU64,
    measures_read: AtomicU64,
    /// Who counts as staff in each account, kept across passes until it changes.
    staff: StaffDirectories,
}

/// How many tickets' logs and kept measures the projection has read back from the store, not
/// found in what it keeps ([`ReportProjection::reads_back`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadsBack {
    pub logs: u64,
    pub measures: u64,
}

impl ReportProjection {
    pub fn new(store: Arc<dyn Store>) -> Arc<ReportProjection> {
        Arc::new(ReportProjection {
            staff: StaffDirectories::new(store.clone()),
            store,
            logs: std::sync::Mutex::new(TicketLogs::default()),
            wake: Notify::new(),
            asked: Notify::new(),
            position: watch::Sender::new(0),
            since_statistics: AtomicU64::new(0),
            logs_read: AtomicU64::new(0),
            measures_read: AtomicU64::new(0),
        })
    }

    /// Starts the tailing task and the task that wakes it on every change this node commits.
    pub fn start(self: &Arc<Self>, mut changes: broadcast::Receiver<Arc<TicketChange>>) -> Vec<JoinHandle<()>> {
        let waker = {
            let projection = self.clone();
            tokio::spawn(async move {
                loop {
                    match changes.recv().await {
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => projection.wake.notify_one(),
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let tail = {
            let projection = self.clone();
            tokio::spawn(async move {
                loop {
                    let started = tokio::time::Instant::now();
                    match projection.pass().await {
                        Ok(true) => {}
                        Ok(false) => {
                            let asked = tokio::select! {
                                _ = projection.wake.notified() => false,
                                _ = projection.asked.notified() => true,
                                _ = tokio::time::sleep(POLL) => false,
                            };
                            // A report waiting for the figures cuts the spacing short: passes
                            // stay batched under load, but a report never waits out a second.
                            if !asked {
                                tokio::select! {
                                    _ = tokio::time::sleep_until(started + PASS_SPACING) => {}
                                    _ = projection.asked.notified() => {}
                                }
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the reports' projection could not read or write; retrying");
                            tokio::time::sleep(RETRY).await;
                        }
                    }
                }
            })
        };
        vec![waker, tail]
    }

    /// Waits (at most [`FRESHNESS_WAIT`]) until the projection has handled every event committed
    /// before this call; answers the position the figures are as of and whether that is all.
    pub async fn fresh(&self) -> Result<(i64, bool), StoreError> {
        let wanted = self.store.last_event_position().await?;
        let mut seen = self.position.subscribe();
        if *seen.borrow() < wanted {
            self.asked.notify_one();
            let _ = tokio::time::timeout(FRESHNESS_WAIT, seen.wait_for(|position| *position >= wanted)).await;
        }
        let position = self.store.report_position().await?;
        self.position.send_if_modified(|seen| std::mem::replace(seen, position) != position);
        Ok((position, position >= wanted))
    }

    /// Handles the next page of the log after the stored cursor. `Ok(true)` when there may be
    /// more to read at once.
    pub async fn pass(&self) -> Result<bool, StoreError> {
        let from = self.store.report_position().await?;
        let events = self.store.events_after(from, PAGE).await?;
        let Some(to) = events.last().map(|event| event.position) else {
            self.position.send_if_modified(|seen| std::mem::replace(seen, from) != from);
            return Ok(false);
        };
        // Each touched ticket's events of the page, in the page's (commit, so seq) order.
        let mut touched: Vec<TicketId> = Vec::new();
        let mut page_events: HashMap<TicketId, Vec<&TicketEvent>> = HashMap::new();
        for logged in &events {
            let ticket = logged.event.ticket_id;
            let of_ticket = page_events.entry(ticket).or_default();
            if of_ticket.is_empty() {
                touched.push(ticket);
            }
            of_ticket.push(&logged.event);
        }
        let mut accounts: HashMap<AccountId, AccountView> = HashMap::new();
        // The touched tickets in one read, not one round trip each.
        let mut current: HashMap<TicketId, Ticket> =
            self.store.tickets(&touched).await?.into_iter().map(|ticket| (ticket.id, ticket)).collect();
        let mut measured: Vec<(TicketId, Vec<Measure>)> = Vec::with_capacity(touched.len());
        for ticket_id in &touched {
            let new = page_events.get(ticket_id).map(Vec::as_slice).unwrap_or_default();
            let ticket = current.remove(ticket_id);
            measured.push((*ticket_id, self.measures_of(*ticket_id, ticket, new, &mut accounts).await?));
        }
        self.logs().trim(&touched);
        let (mut kept, unknown): (Vec<Measure>, Vec<TicketId>) = {
            let logs = self.logs();
            let mut kept = Vec::new();
            let mut unknown = Vec::new();
            for ticket in &touched {
                match logs.measures(*ticket) {
                    Some(measures) => kept.extend_from_slice(measures),
                    None => unknown.push(*ticket),
                }
            }
            (kept, unknown)
        };
        if !unknown.is_empty() {
            kept.extend(self.store.kept_measures(&unknown).await?);
            self.measures_read.fetch_add(unknown.len() as u64, Ordering::Relaxed);
            metrics::counter!("switchboard_report_measures_read_back_total").increment(unknown.len() as u64);
        }
        let changes = MeasureChanges::between(kept, &measured);
        let written = self.store.record_measures(from, to, changes).await;
        {
            let mut logs = self.logs();
            let ok = written.is_ok();
            for (ticket, measures) in measured {
                logs.set_measures(ticket, ok.then_some(measures));
            }
        }
        match written {
            Ok(()) => {}
            // Another node handled these events first: read on from where it left the cursor.
            Err(StoreError::Conflict(_)) => return Ok(true),
            Err(error) => return Err(error),
        }
        metrics::counter!("switchboard_report_events_projected_total").increment(events.len() as u64);
        self.position.send_if_modified(|seen| std::mem::replace(seen, to) != to);
        let more = events.len() as i64 >= PAGE;
        let projected = self.since_statistics.fetch_add(events.len() as u64, Ordering::Relaxed) + events.len() as u64;
        if !more && projected >= STATISTICS_EVERY {
            // Caught up after many events (a rebuild, a refill after an upgrade, growth): the
            // summaries' plans need statistics that know the tables' size.
            self.since_statistics.store(0, Ordering::Relaxed);
            if let Err(error) = self.store.refresh_report_statistics().await {
                tracing::warn!(%error, "the reports' planner statistics could not be refreshed");
            }
        }
        Ok(more)
    }

    /// What the projection has read back from the store so far (a pass over tickets it keeps
    /// reads neither their logs nor their measures).
    pub fn reads_back(&self) -> ReadsBack {
        ReadsBack { logs: self.logs_read.load(Ordering::Relaxed), measures: self.measures_read.load(Ordering::Relaxed) }
    }

    fn logs(&self) -> std::sync::MutexGuard<'_, TicketLogs> {
        self.logs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The measures of one ticket (as it is now: `ticket`, `None` when it is gone) from its
    /// whole log: the log kept from earlier passes, then `new` (the page's events of the ticket),
    /// read from the store only from where they do not follow on.
    async fn measures_of(
        &self,
        ticket_id: TicketId,
        ticket: Option<Ticket>,
        new: &[&TicketEvent],
        accounts: &mut HashMap<AccountId, AccountView>,
    ) -> Result<Vec<Measure>, StoreError> {
        let KeptTicket { mut log, mut measures } = self.logs().take(ticket_id);
        let Some(ticket) = ticket else { return Ok(Vec::new()) };
        let mut follows = true;
        for event in new {
            let last = log.last().map_or(0, |event| event.seq);
            if event.seq <= last {
                continue; // already kept (a page read again after a failed pass)
            }
            if event.seq != last + 1 {
                follows = false;
                break;
            }
            log.push((*event).clone());
        }
        if !follows {
            // Another node's pass may have written this ticket's measures too.
            measures = None;
            self.logs_read.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("switchboard_report_logs_read_back_total").increment(1);
            loop {
                let after = log.last().map_or(0, |event| event.seq);
                let page = self.store.ticket_events(ticket_id, after, TICKET_LOG_PAGE).await?;
                let full = page.len() as i64 >= TICKET_LOG_PAGE;
                log.extend(page);
                if !full {
                    break;
                }
            }
        }
        let account = match accounts.entry(ticket.account_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(unknown) => unknown.insert(self.account_view(ticket.account_id).await?),
        };
        let is_staff = |user: UserId| account.staff.contains(&user);
        let clock = ReportClock { zone: &account.zone, hours: account.hours.as_ref() };
        let now = ticket_measures(&ticket, &log, &is_staff, &clock);
        self.logs().keep(ticket_id, KeptTicket { log, measures });
        Ok(now)
    }

    async fn account_view(&self, account: AccountId) -> Result<AccountView, StoreError> {
        let staff = self.staff.get(account).await?.users.iter().map(|user| user.id).collect();
        let config = self.store.account_config(account).await?;
        let hours = config.sla_policy.and_then(|policy| policy.business_hours);
        Ok(AccountView { staff, zone: report_zone(hours.as_ref()), hours })
    }

    /// Forgets every measure and replays the log from position 0 up to its end, then refreshes
    /// the planner's statistics.
    pub async fn rebuild(&self) -> Result<i64, StoreError> {
        self.store.reset_reports().await?;
        while self.pass().await? {}
        // Unless the last pass just did (after a long replay).
        if self.since_statistics.swap(0, Ordering::Relaxed) > 0 {
            self.store.refresh_report_statistics().await?;
        }
        self.store.report_position().await
    }
}

/// The zone an account's days are counted in: its business hours' zone, else UTC.
pub fn report_zone(hours: Option<&BusinessHours>) -> TimeZone {
    hours.and_then(|hours| TimeZone::get(&hours.time_zone).ok()).unwrap_or(TimeZone::UTC)
}
