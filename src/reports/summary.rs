//! A period's summary, computed one way for every reader: `GET /api/v1/reports/summary`, the
//! exports (`kind=summary` in CSV, XLSX and PDF) and the scheduled reports all call
//! [`summary`], so the screen, the files and the mails carry the same figures.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use switchboard_actors::domain::User;
use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::reports::MeasureQuery;
use switchboard_actors::reports::measures::Metric;
use switchboard_actors::reports::summary::{
    BacklogDay, Figures, GroupBy, Hours, SummaryRow, backlog_at, backlog_by_day, figures, summary_rows,
};
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
    let measures = store.measures(&query).await?;
    // The backlog at any instant is every entry minus every exit before it, from the start.
    let backlog_query =
        MeasureQuery { from: Timestamp::UNIX_EPOCH, metrics: vec![Metric::BacklogIn, Metric::BacklogOut], ..query };
    let backlog = store.measures(&backlog_query).await?;
    let rows = request
        .group_by
        .map(|group_by| summary_rows(&measures, &backlog, request.to, group_by, request.hours, &request.zone))
        .unwrap_or_default();
    let mut total = figures(&measures, request.hours);
    (total.backlog, total.unassigned_backlog) = backlog_at(&backlog, request.to, |_| true);
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
        backlog_by_day: backlog_by_day(&backlog, request.from, request.to, &request.zone),
    })
}
