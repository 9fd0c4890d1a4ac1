//! The reports' storage port: the projection's measures, its per-day aggregates and its cursor in
//! the event log, which move together in one transaction (exactly once, resumable).

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;

use super::aggregate::{DurationStats, DurationValues, MeasureSplit};
use super::measures::{Measure, Metric};
use super::schedule::{ReportSchedule, ScheduleSpec};
use super::summary::Hours;
use crate::domain::{AccountId, TeamId, TicketId, UserId};
use crate::query::filter::TicketFilter;
use crate::store::StoreResult;

/// The dimensions every measure is also added up by in the per-day aggregates; `all` is the
/// account's total.
pub const DAILY_DIMENSIONS: [&str; 7] = ["all", "agent", "team", "channel", "company", "category", "priority"];

/// One cell of the per-day aggregates: how many measures of `metric` (split by what
/// [`cell_detail`] keeps of them) fell on `day` for one key of one dimension, and their values'
/// sum (calendar milliseconds for durations, the score for `csat`; 0 for counts).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyKey {
    pub account_id: AccountId,
    pub day: jiff::civil::Date,
    pub metric: Metric,
    pub detail: String,
    pub flag: i64,
    pub dimension: &'static str,
    /// The dimension's value; empty for none (unassigned, no team…).
    pub key: String,
}

/// What of a measure besides its metric a report's figures are split by, so per-day cells can
/// stand in for the measures: `(detail, flag)`. The detail is the SLA target of `sla_met` /
/// `sla_missed`, the error of `whatsapp_failed` and the rule and result of `automation_run`
/// (empty otherwise); the flag is, on `resolved`, 0 without a counted reply, 1 with one and 2
/// with more (the one-touch rate), on `automation_run` 1 when it ran late, and on `backlog_in` /
/// `backlog_out` 1 when the ticket had no assignee (the unassigned backlog); 0 otherwise.
pub fn cell_detail(measure: &Measure) -> (String, i64) {
    match measure.metric {
        Metric::SlaMet | Metric::SlaMissed | Metric::WhatsappFailed => (measure.detail.clone().unwrap_or_default(), 0),
        Metric::AutomationRun => (measure.detail.clone().unwrap_or_default(), i64::from(measure.value_ms.is_some())),
        Metric::Resolved => (String::new(), measure.replies.unwrap_or(0).clamp(0, 2)),
        Metric::BacklogIn | Metric::BacklogOut => (String::new(), i64::from(measure.dimensions.assignee_id.is_none())),
        _ => (String::new(), 0),
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct DailyTotal {
    pub count: i64,
    pub sum_ms: i64,
}

/// What `measures` add to the per-day aggregates (with `sign` -1: what they take out of them).
pub fn daily_contributions(measures: &[Measure], sign: i64, into: &mut BTreeMap<DailyKey, DailyTotal>) {
    for measure in measures {
        let dims = &measure.dimensions;
        let id = |value: Option<i64>| value.map(|id| id.to_string()).unwrap_or_default();
        let agent = match measure.metric {
            Metric::Reply | Metric::FirstResponse | Metric::NextReply | Metric::Touched | Metric::CsatCredit => {
                measure.actor_id
            }
            _ => dims.assignee_id,
        };
        let keys = [
            String::new(),
            id(agent),
            id(dims.team_id),
            dims.channel.map(|channel| channel.as_str().to_owned()).unwrap_or_default(),
            id(dims.company_id),
            id(dims.category_id),
            dims.priority.map(|priority| priority.as_str().to_owned()).unwrap_or_default(),
        ];
        let (detail, flag) = cell_detail(measure);
        for (dimension, key) in DAILY_DIMENSIONS.into_iter().zip(keys) {
            let total = into
                .entry(DailyKey {
                    account_id: measure.account_id,
                    day: measure.day,
                    metric: measure.metric,
                    detail: detail.clone(),
                    flag,
                    dimension,
                    key,
                })
                .or_default();
            total.count += sign;
            total.sum_ms += sign * measure.value_ms.unwrap_or(0);
        }
    }
}

/// Where one ticket's measures fall in the per-day `all` aggregate: the cells kept per ticket
/// (`report_ticket_days`) that a filtered report adds up over the tickets its filter matches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketDayKey {
    pub account_id: AccountId,
    pub day: jiff::civil::Date,
    pub metric: Metric,
    pub detail: String,
    pub flag: i64,
    pub ticket_id: TicketId,
}

/// What `measures` add to the per-ticket cells (with `sign` -1: what they take out of them): per
/// ticket, what [`daily_contributions`] adds to `all`.
pub fn ticket_day_contributions(measures: &[Measure], sign: i64, into: &mut BTreeMap<TicketDayKey, DailyTotal>) {
    for measure in measures {
        let (detail, flag) = cell_detail(measure);
        let total = into
            .entry(TicketDayKey {
                account_id: measure.account_id,
                day: measure.day,
                metric: measure.metric,
                detail,
                flag,
                ticket_id: measure.ticket_id,
            })
            .or_default();
        total.count += sign;
        total.sum_ms += sign * measure.value_ms.unwrap_or(0);
    }
}

/// How a page of tickets' kept measures become the ones their logs give now. A pass changes
/// little of a ticket (a new message adds an `inbound` and moves the WhatsApp window's
/// `window_expired` and `sla_missed`, stamped where the window will close): only those rows are
/// deleted and written and the aggregates move by them, so the projection's transaction — which
/// holds SQLite's one write lock, every webhook's durable append waiting behind it — stays short
/// however long the tickets' logs grow. A gone measure that cannot be told from another kept row
/// by its ticket, metric and instant has its ticket replaced whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeasureChanges {
    /// Tickets whose rows are all deleted and written again.
    pub replaced: Vec<TicketId>,
    /// Single kept rows to delete, by ticket, metric and instant (no other kept row of the
    /// ticket has the same three).
    pub deleted: Vec<(TicketId, Metric, Timestamp)>,
    /// The rows to insert: every measure of a replaced ticket, only the new ones of the others.
    pub inserted: Vec<Measure>,
    /// Kept measures the logs no longer give (they leave the aggregates).
    pub removed: Vec<Measure>,
    /// Measures the logs give that were not kept (they enter the aggregates).
    pub added: Vec<Measure>,
}

impl MeasureChanges {
    /// The changes from `kept` (every kept measure of the page's tickets, in any order) to
    /// `tickets`' measures now. Equal measures are matched one to one, so a measure given twice
    /// and kept once is added once.
    pub fn between(kept: Vec<Measure>, tickets: &[(TicketId, Vec<Measure>)]) -> MeasureChanges {
        let mut kept_by_ticket: BTreeMap<TicketId, Vec<Measure>> = BTreeMap::new();
        for measure in kept {
            kept_by_ticket.entry(measure.ticket_id).or_default().push(measure);
        }
        let mut changes = MeasureChanges::default();
        for (ticket, now) in tickets {
            let mut kept = kept_by_ticket.remove(ticket).unwrap_or_default();
            let order = |measure: &Measure| (measure.at, measure.metric);
            kept.sort_by_key(order);
            let mut matched = vec![false; kept.len()];
            let first_added = changes.added.len();
            for measure in now {
                let start = kept.partition_point(|old| order(old) < order(measure));
                let same = (start..kept.len())
                    .take_while(|&index| order(&kept[index]) == order(measure))
                    .find(|&index| !matched[index] && kept[index] == *measure);
                match same {
                    Some(index) => matched[index] = true,
                    None => changes.added.push(measure.clone()),
                }
            }
            let alone = |index: usize| {
                let key = order(&kept[index]);
                (index == 0 || order(&kept[index - 1]) != key)
                    && kept.get(index + 1).is_none_or(|next| order(next) != key)
            };
            let gone: Vec<usize> = (0..kept.len()).filter(|&index| !matched[index]).collect();
            if gone.iter().all(|&index| alone(index)) {
                let deleted = gone.iter().map(|&index| (*ticket, kept[index].metric, kept[index].at));
                changes.deleted.extend(deleted);
                changes.inserted.extend(changes.added[first_added..].iter().cloned());
            } else {
                changes.replaced.push(*ticket);
                changes.inserted.extend(now.iter().cloned());
            }
            changes.removed.extend(kept.into_iter().zip(matched).filter(|(_, matched)| !matched).map(|(old, _)| old));
        }
        // Kept measures of tickets not in the page are not the page's to change.
        changes
    }

    /// The changes with what they move in the per-ticket cells and the per-day aggregates worked
    /// out here, in the projection's task: the writer (on SQLite, holding the one write lock
    /// every webhook waits for) then only runs statements.
    pub fn into_write(self) -> MeasureWrite {
        MeasureWrite {
            daily_deltas: self.daily_deltas(),
            emptied_daily_keys: self.emptied_daily_keys(),
            ticket_day_deltas: self.ticket_day_deltas(),
            emptied_tickets: self.emptied_tickets(),
            replaced: self.replaced,
            deleted: self.deleted,
            inserted: self.inserted,
        }
    }

    /// What the changes add to (or take out of) the per-day aggregates.
    pub fn daily_deltas(&self) -> BTreeMap<DailyKey, DailyTotal> {
        let mut deltas = BTreeMap::new();
        daily_contributions(&self.removed, -1, &mut deltas);
        daily_contributions(&self.added, 1, &mut deltas);
        deltas.retain(|_, total| total.count != 0 || total.sum_ms != 0);
        deltas
    }

    /// The per-day aggregate cells measures were taken out of: those left at zero are removed,
    /// so an aggregate rebuilt from zero has the same rows.
    pub fn emptied_daily_keys(&self) -> std::collections::BTreeSet<DailyKey> {
        let mut taken = BTreeMap::new();
        daily_contributions(&self.removed, -1, &mut taken);
        taken.into_keys().collect()
    }

    /// The tickets measures were taken from: their per-ticket cells left at zero are removed.
    pub fn emptied_tickets(&self) -> Vec<TicketId> {
        let tickets: std::collections::BTreeSet<TicketId> =
            self.removed.iter().map(|measure| measure.ticket_id).collect();
        tickets.into_iter().collect()
    }

    /// What the changes add to (or take out of) the per-ticket cells.
    pub fn ticket_day_deltas(&self) -> BTreeMap<TicketDayKey, DailyTotal> {
        let mut deltas = BTreeMap::new();
        ticket_day_contributions(&self.removed, -1, &mut deltas);
        ticket_day_contributions(&self.added, 1, &mut deltas);
        deltas.retain(|_, total| total.count != 0 || total.sum_ms != 0);
        deltas
    }
}

/// A pass's write, as [`MeasureChanges::into_write`] prepares it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeasureWrite {
    /// Tickets whose rows are all deleted (then written again from `inserted`).
    pub replaced: Vec<TicketId>,
    /// Single rows to delete, by ticket, metric and instant.
    pub deleted: Vec<(TicketId, Metric, Timestamp)>,
    pub inserted: Vec<Measure>,
    pub ticket_day_deltas: BTreeMap<TicketDayKey, DailyTotal>,
    /// Tickets whose per-ticket cells left at zero are removed.
    pub emptied_tickets: Vec<TicketId>,
    pub daily_deltas: BTreeMap<DailyKey, DailyTotal>,
    /// Per-day aggregate cells that are removed if left at zero.
    pub emptied_daily_keys: std::collections::BTreeSet<DailyKey>,
}

/// Which measures a report reads: one account's, in `[from, to)`, of the tickets `filter`
/// matches (what they are now), within `scope`.
#[derive(Clone, Debug)]
pub struct MeasureQuery {
    pub account: AccountId,
    pub from: Timestamp,
    pub to: Timestamp,
    pub filter: Option<TicketFilter>,
    pub scope: MeasureScope,
    /// Only these metrics (empty: every metric).
    pub metrics: Vec<Metric>,
    /// Only these tickets (`None`: every ticket).
    pub tickets: Option<Vec<TicketId>>,
}

impl MeasureQuery {
    /// Every measure of `account` in `[from, to)` that `filter` and `scope` let through.
    pub fn new(
        account: AccountId,
        from: Timestamp,
        to: Timestamp,
        filter: Option<TicketFilter>,
        scope: MeasureScope,
    ) -> MeasureQuery {
        MeasureQuery { account, from, to, filter, scope, metrics: Vec::new(), tickets: None }
    }
}

/// Which per-day cells a summary reads: one account's, of one dimension, on the local days
/// `[from_day, to_day)` (`None`: from the first), added up per day or over the whole range.
#[derive(Clone, Debug)]
pub struct DailyQuery {
    pub account: AccountId,
    pub dimension: &'static str,
    pub from_day: Option<jiff::civil::Date>,
    pub to_day: jiff::civil::Date,
    /// Only these metrics (empty: every metric).
    pub metrics: Vec<Metric>,
    /// One cell per day (true) or the range's sum (false, `day` is `None`).
    pub by_day: bool,
    /// Only these tickets' cells (`None`: the account's): the same cells kept per ticket, read
    /// for a query filter's tickets. Only the `all` dimension is kept per ticket.
    pub tickets: Option<Vec<TicketId>>,
}

impl DailyQuery {
    /// The account's cells of `dimension` (every ticket).
    pub fn new(
        account: AccountId,
        dimension: &'static str,
        (from_day, to_day): (Option<jiff::civil::Date>, jiff::civil::Date),
        metrics: &[Metric],
        by_day: bool,
    ) -> DailyQuery {
        DailyQuery { account, dimension, from_day, to_day, metrics: metrics.to_vec(), by_day, tickets: None }
    }
}

/// The per-day cells [`DailyQuery`] selects, added up over its key (and day, when by day).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DailyCell {
    pub day: Option<jiff::civil::Date>,
    pub metric: Metric,
    pub detail: String,
    pub flag: i64,
    /// The dimension's value; empty for none.
    pub key: String,
    pub count: i64,
    pub sum_ms: i64,
}

/// A schedule to store: its account, creator, specification and first run.
#[derive(Clone, Debug)]
pub struct NewReportSchedule {
    pub account_id: AccountId,
    pub created_by: UserId,
    pub spec: ScheduleSpec,
    pub next_run_at: Timestamp,
    pub created_at: Timestamp,
}

/// Whose figures a caller may see: an admin the account's, a supervisor their teams', an agent
/// their teams' and their own.
#[derive(Clone, Debug, PartialEq)]
pub enum MeasureScope {
    Account,
    /// Measures of these teams (as the ticket was at the time), or naming this person as the
    /// one who acted or the assignee.
    Teams {
        teams: Vec<TeamId>,
        person: Option<UserId>,
    },
}

#[async_trait]
pub trait ReportsPort: Send + Sync + 'static {
    /// The event log position the projection has handled.
    async fn report_position(&self) -> StoreResult<i64>;
    /// Every measure kept for `tickets`, in no particular order.
    async fn kept_measures(&self, tickets: &[TicketId]) -> StoreResult<Vec<Measure>>;
    /// Writes `changes` (from the kept measures to the ones the tickets' logs give now, see
    /// [`MeasureChanges::between`]) with the per-day aggregates' and cells' move by them, and
    /// moves the cursor from `from` to `to`, in one transaction; `Conflict` (and nothing
    /// written) when the cursor is no longer at `from` — another pass wrote, so the kept
    /// measures the changes were made from may be stale.
    async fn record_measures(&self, from: i64, to: i64, changes: MeasureChanges) -> StoreResult<()>;
    /// The measures `query` selects, in time order.
    async fn measures(&self, query: &MeasureQuery) -> StoreResult<Vec<Measure>>;
    /// The measures `query` selects counted, and their values summed, per metric, detail and
    /// flag ([`cell_detail`]) and per `split`'s day or key: [`super::aggregate::totals_of`] in
    /// SQL, ordered the same.
    async fn measure_totals(&self, query: &MeasureQuery, split: &MeasureSplit) -> StoreResult<Vec<DailyCell>>;
    /// The durations `query` selects (its metrics are ignored: every duration metric) on
    /// `hours`' clock, per metric and `split`'s day or key, as values to rank.
    async fn duration_values(
        &self,
        query: &MeasureQuery,
        hours: Hours,
        split: &MeasureSplit,
    ) -> StoreResult<Vec<DurationValues>>;
    /// The same as count, sum, median and p90: [`super::aggregate::stats_of`] in the store,
    /// ordered the same.
    async fn duration_stats(
        &self,
        query: &MeasureQuery,
        hours: Hours,
        split: &MeasureSplit,
    ) -> StoreResult<Vec<DurationStats>> {
        Ok(DurationValues::stats(self.duration_values(query, hours, split).await?))
    }
    /// An account's per-day aggregates, ordered by their key.
    async fn daily_aggregates(&self, account: AccountId) -> StoreResult<Vec<(DailyKey, DailyTotal)>>;
    /// The per-day cells `query` selects, added up (one account, one dimension, a range of days;
    /// with `tickets`, the `all` cells of those tickets only).
    async fn daily_totals(&self, query: &DailyQuery) -> StoreResult<Vec<DailyCell>>;
    /// Forgets every measure and aggregate and puts the cursor back to 0 (a rebuild from zero).
    async fn reset_reports(&self) -> StoreResult<()>;
    /// Refreshes the query planner's statistics of the reports' tables and the tickets a filter
    /// joins them to, so a summary's plan fits the data after a rebuild or a long catch-up
    /// (SQLite never gathers them itself, nor PostgreSQL with autovacuum off).
    async fn refresh_report_statistics(&self) -> StoreResult<()>;
    /// The tickets of `account` that `filter` matches now, in id order: a summary resolves its
    /// query filter once and hands the ids to each of its sums (as `MeasureQuery::tickets`).
    async fn filter_tickets(&self, account: AccountId, filter: &TicketFilter) -> StoreResult<Vec<TicketId>>;
    /// The ids of the tickets with measures `query` selects, in id order, after `after`, at
    /// most `limit` (a tickets export reads them page by page).
    async fn report_ticket_ids(&self, query: &MeasureQuery, after: TicketId, limit: i64) -> StoreResult<Vec<TicketId>>;
    async fn create_report_schedule(&self, schedule: &NewReportSchedule) -> StoreResult<ReportSchedule>;
    /// An account's schedules, oldest first.
    async fn report_schedules(&self, account: AccountId) -> StoreResult<Vec<ReportSchedule>>;
    /// One schedule by id, whatever its account (the timer's owner id).
    async fn report_schedule(&self, id: i64) -> StoreResult<Option<ReportSchedule>>;
    /// Deletes an account's schedule; false when it has none with that id.
    async fn delete_report_schedule(&self, account: AccountId, id: i64) -> StoreResult<bool>;
    /// A run happened (`sent_at`, when a report was mailed): the next is at `next_run_at`.
    async fn report_schedule_ran(&self, id: i64, next_run_at: Timestamp, sent_at: Option<Timestamp>)
    -> StoreResult<()>;
}
