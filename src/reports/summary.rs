//! A period's summary, computed one way for every reader: `GET /api/v1/reports/summary`, the
//! exports (`kind=summary` in CSV, XLSX and PDF) and the scheduled reports all call
//! [`summary`], so the screen, the files and the mails carry the same figures. An account's whole
//! figures are added up from the per-day cells around the partial days' measures (`day_cells`);
//! a query filter or a team's scope adds up the measures themselves.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use switchboard_actors::domain::User;
use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::reports::day_cells::{CellInputs, DayPlan, counted_metrics, dimension_of, summary_from_cells};
use switchboard_actors::reports::measures::Metric;
use switchboard_actors::reports::summary::{
    BacklogDay, Figures, GroupBy, Hours, SummaryRow, backlog_at, backlog_by_day, figures, summary_rows,
};
use switchboard_actors::reports::{DailyQuery, MeasureQuery, MeasureScope};
use switchboard_actors::store::{Store, StoreError};
use utoipa::ToSchema;

use super::ReportProjection;
use super::board::scope_of;

/// What a report covers: the period, its rows, its clock, its tickets.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    pub from: Timestamp,
    pub to: Timestamp,
    pub group_by: Option<GroupBy>,
    pub hours: Hours,
    /// The compiled `q` (tickets as they are now).
    pub filter: Option<TicketFilter>,
    /// The zone days and weeks are counted in.
    pub zone: TimeZone,
}

impl ReportRequest {
    /// The measures of the period that `user` may see.
    pub fn measure_query(&self, user: &User) -> MeasureQuery {
        MeasureQuery::new(user.account_id, self.from, self.to, self.filter.clone(), scope_of(user))
    }
}

/// Where a report's figures stand.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Basis {
    #[schema(value_type = String)]
    pub from: Timestamp,
    #[schema(value_type = String)]
    pub to: Timestamp,
    pub hours: Hours,
    /// The zone days and weeks are counted in (the business hours' zone, else UTC).
    pub time_zone: String,
    /// The event log position the figures include everything up to.
    pub as_of_position: i64,
    /// False when the projection had not reached the log's end in time: figures may miss the
    /// newest changes.
    pub complete: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Summary {
    #[serde(flatten)]
    pub basis: Basis,
    pub group_by: Option<GroupBy>,
    /// The whole period's figures (the backlog at the period's end).
    pub total: Figures,
    /// One row per key of `group_by` (none without it); figures belong to the row of their
    /// ending event (`docs/metrics.md` §9).
    pub rows: Vec<SummaryRow>,
    /// The backlog at the end of each day of the period (the last day's clipped to `to`).
    pub backlog_by_day: Vec<BacklogDay>,
}

pub fn zone_name(zone: &TimeZone) -> String {
    zone.iana_name().unwrap_or("UTC").to_owned()
}

/// The period's figures as `user` may see them, once the projection has caught up with the log
/// (at most `FRESHNESS_WAIT`).
pub async fn summary(
    store: &dyn Store,
    projection: &ReportProjection,
    user: &User,
    request: &ReportRequest,
) -> Result<Summary, StoreError> {
    let (as_of_position, complete) = projection.fresh().await?;
    let query = request.measure_query(user);
    let plan = DayPlan::new(request.from, request.to, &request.zone);
    let (total, rows, backlog_by_day) = match plan {
        // An account's whole figures over whole days: the per-day cells hold them.
        Some(plan) if query.filter.is_none() && query.scope == MeasureScope::Account && plan.has_whole_days() => {
            from_cells(store, request, &query, &plan).await?
        }
        _ => from_measures(store, request, &query).await?,
    };
    Ok(Summary {
        basis: Basis {
            from: request.from,
            to: request.to,
            hours: request.hours,
            time_zone: zone_name(&request.zone),
            as_of_position,
            complete,
        },
        group_by: request.group_by,
        total,
        rows,
        backlog_by_day,
    })
}

type Added = (Figures, Vec<SummaryRow>, Vec<BacklogDay>);

/// Every measure of the period (and every backlog measure before its end) added up: for a query
/// filter or a team's scope, which the per-day cells do not split by.
async fn from_measures(store: &dyn Store, request: &ReportRequest, query: &MeasureQuery) -> Result<Added, StoreError> {
    let measures = store.measures(query).await?;
    // The backlog at any instant is every entry minus every exit before it, from the start.
    let backlog_query = MeasureQuery {
        from: Timestamp::UNIX_EPOCH,
        metrics: vec![Metric::BacklogIn, Metric::BacklogOut],
        ..query.clone()
    };
    let backlog = store.measures(&backlog_query).await?;
    let rows = request
        .group_by
        .map(|group_by| summary_rows(&measures, &backlog, request.to, group_by, request.hours, &request.zone))
        .unwrap_or_default();
    let mut total = figures(&measures, request.hours);
    (total.backlog, total.unassigned_backlog) = backlog_at(&backlog, request.to, |_| true);
    Ok((total, rows, backlog_by_day(&backlog, request.from, request.to, &request.zone)))
}

/// The whole days' cells, the partial days' measures and the durations' values (`day_cells`).
async fn from_cells(
    store: &dyn Store,
    request: &ReportRequest,
    query: &MeasureQuery,
    plan: &DayPlan,
) -> Result<Added, StoreError> {
    let backlog_metrics = vec![Metric::BacklogIn, Metric::BacklogOut];
    let cells = |dimension: &'static str, from_day, to_day, metrics: &Vec<Metric>, by_day| DailyQuery {
        account: query.account,
        dimension,
        from_day,
        to_day,
        metrics: metrics.clone(),
        by_day,
    };
    let counted = counted_metrics();
    let (first, end) = plan.whole_days;
    let counts = store.daily_totals(&cells("all", Some(first), end, &counted, true)).await?;
    let dimension = request.group_by.and_then(dimension_of);
    let (group_counts, group_backlog) = match dimension {
        Some(dimension) => (
            store.daily_totals(&cells(dimension, Some(first), end, &counted, false)).await?,
            store.daily_totals(&cells(dimension, None, plan.to_date, &backlog_metrics, false)).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let mut partial = Vec::new();
    for (from, to) in &plan.partial {
        partial.extend(
            store.measures(&MeasureQuery { from: *from, to: *to, metrics: counted.clone(), ..query.clone() }).await?,
        );
    }
    let durations = store.duration_values(query, request.hours, request.group_by).await?;
    let backlog_opening = store.daily_totals(&cells("all", None, plan.from_date, &backlog_metrics, false)).await?;
    let backlog_days =
        store.daily_totals(&cells("all", Some(plan.from_date), plan.to_date, &backlog_metrics, true)).await?;
    let backlog_tail = store
        .measures(&MeasureQuery { from: plan.to_day_start, metrics: backlog_metrics.clone(), ..query.clone() })
        .await?;
    Ok(summary_from_cells(&CellInputs {
        from: request.from,
        to: request.to,
        group_by: request.group_by,
        zone: &request.zone,
        counts: &counts,
        group_counts: &group_counts,
        partial: &partial,
        durations: &durations,
        backlog_opening: &backlog_opening,
        backlog_days: &backlog_days,
        group_backlog: &group_backlog,
        backlog_tail: &backlog_tail,
    }))
}
