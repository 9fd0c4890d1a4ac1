//! The reports' storage port: the projection's measures, its per-day aggregates and its cursor in
//! the event log, which move together in one transaction (exactly once, resumable).

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;

use super::measures::{Measure, Metric};
use crate::domain::{AccountId, TeamId, TicketId, UserId};
use crate::query::filter::TicketFilter;
use crate::store::StoreResult;

/// The dimensions every measure is also added up by in the per-day aggregates; `all` is the
/// account's total.
pub const DAILY_DIMENSIONS: [&str; 7] = ["all", "agent", "team", "channel", "company", "category", "priority"];

/// One cell of the per-day aggregates: how many measures of `metric` fell on `day` for one key
/// of one dimension, and their durations' sum (calendar milliseconds; 0 for counts).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyKey {
    pub account_id: AccountId,
    pub day: jiff::civil::Date,
    pub metric: Metric,
    pub dimension: &'static str,
    /// The dimension's value; empty for none (unassigned, no team…).
    pub key: String,
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
        for (dimension, key) in DAILY_DIMENSIONS.into_iter().zip(keys) {
            let total = into
                .entry(DailyKey {
                    account_id: measure.account_id,
                    day: measure.day,
                    metric: measure.metric,
                    dimension,
                    key,
                })
                .or_default();
            total.count += sign;
            total.sum_ms += sign * measure.value_ms.unwrap_or(0);
        }
    }
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
    /// Replaces the measures of each ticket of `tickets` with the ones given, changes the
    /// per-day aggregates by the difference and moves the cursor from `from` to `to`, in one
    /// transaction; `Conflict` (and nothing written) when the cursor is no longer at `from`.
    async fn record_measures(&self, from: i64, to: i64, tickets: &[(TicketId, Vec<Measure>)]) -> StoreResult<()>;
    /// The measures `query` selects, in time order.
    async fn measures(&self, query: &MeasureQuery) -> StoreResult<Vec<Measure>>;
    /// An account's per-day aggregates, ordered by their key.
    async fn daily_aggregates(&self, account: AccountId) -> StoreResult<Vec<(DailyKey, DailyTotal)>>;
    /// Forgets every measure and aggregate and puts the cursor back to 0 (a rebuild from zero).
    async fn reset_reports(&self) -> StoreResult<()>;
}
