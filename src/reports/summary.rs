//! A period's summary, computed one way for every reader: `GET /api/v1/reports/summary`, the
//! exports (`kind=summary` in CSV, XLSX and PDF) and the scheduled reports all call
//! [`summary`], so the screen, the files and the mails carry the same figures. An account's whole
//! figures are added up from the per-day cells around the partial days' measures (`day_cells`);
//! a query filter or a team's scope adds up the measures themselves.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use switchboard_actors::domain::User;
use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::reports::aggregate::{
    DurationStats, DurationValues, LocalDays, MeasureSplit, add_cells, halves,
};
use switchboard_actors::reports::day_cells::{CellInputs, DayPlan, counted_metrics, dimension_of, summary_from_cells};
use switchboard_actors::reports::measures::Metric;
use switchboard_actors::reports::summary::{BacklogDay, Figures, GroupBy, Hours, SummaryRow};
use switchboard_actors::reports::{DailyCell, DailyQuery, MeasureQuery, MeasureScope};
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
    // The filter's tickets once for all the sums below (each would match them again).
    let query = match &query.filter {
        Some(filter) => {
            let tickets = store.filter_tickets(query.account, filter).await?;
            MeasureQuery { filter: None, tickets: Some(tickets), ..query }
        }
        None => query,
    };
    let plan = DayPlan::new(request.from, request.to, &request.zone);
    let (total, rows, backlog_by_day) = match plan {
        // An account's figures (or its filtered tickets') over whole days: the per-day cells
        // hold them (kept per ticket too).
        Some(plan) if query.scope == MeasureScope::Account && plan.has_whole_days() => {
            from_cells(store, request, &query, &plan).await?
        }
        _ => from_sums(store, request, &query).await?,
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

/// What a summary's figures are added up from (`day_cells::CellInputs`), fetched one way or
/// the other.
struct Fetched {
    counts: Vec<DailyCell>,
    group_counts: Vec<DailyCell>,
    durations: Vec<DurationStats>,
    group_durations: Vec<DurationStats>,
    backlog_opening: Vec<DailyCell>,
    backlog_days: Vec<DailyCell>,
    group_backlog: Vec<DailyCell>,
}

impl Fetched {
    fn add_up(&self, request: &ReportRequest) -> Added {
        summary_from_cells(&CellInputs {
            from: request.from,
            to: request.to,
            group_by: request.group_by,
            zone: &request.zone,
            counts: &self.counts,
            group_counts: &self.group_counts,
            durations: &self.durations,
            group_durations: &self.group_durations,
            backlog_opening: &self.backlog_opening,
            backlog_days: &self.backlog_days,
            group_backlog: &self.group_backlog,
        })
    }
}

const BACKLOG_METRICS: [Metric; 2] = [Metric::BacklogIn, Metric::BacklogOut];

/// The selected measures added up by the store (for a team's scope, which the per-day cells do
/// not split by, or a period without a whole day): the period's counts by local day and by row,
/// the backlog's changes before `from`'s day, by day since, and by row before `to`. Each sum
/// reads the measures again, so they run at once (the store's pool has a connection for each).
async fn from_sums(store: &dyn Store, request: &ReportRequest, query: &MeasureQuery) -> Result<Added, StoreError> {
    let (from, to, zone) = (request.from, request.to, &request.zone);
    let counted = counted_metrics();
    let select = |from, to, metrics: &[Metric]| MeasureQuery { from, to, metrics: metrics.to_vec(), ..query.clone() };
    let by_day = |from, to| MeasureSplit::Days(LocalDays { zone: zone.clone(), from, to });
    let from_day_start = from.to_zoned(zone.clone()).date().to_zoned(zone.clone()).map_or(from, |day| day.timestamp());
    let row_split = request.group_by.map(|group_by| MeasureSplit::rows(group_by, zone, from, to));
    let (counts_query, counts_split) = (select(from, to, &counted), by_day(from, to));
    let (opening_query, days_query) =
        (select(Timestamp::UNIX_EPOCH, from_day_start, &BACKLOG_METRICS), select(from_day_start, to, &BACKLOG_METRICS));
    let days_split = by_day(from_day_start, to);
    let backlog_query = select(Timestamp::UNIX_EPOCH, to, &BACKLOG_METRICS);
    let group_sums = async {
        match &row_split {
            Some(split @ MeasureSplit::Key(_)) => tokio::try_join!(
                store.measure_totals(&counts_query, split),
                store.measure_totals(&backlog_query, split),
            ),
            _ => Ok((Vec::new(), Vec::new())),
        }
    };
    let (counts, (group_counts, group_backlog), (durations, group_durations), backlog_opening, backlog_days) = tokio::try_join!(
        totals_in_halves(store, &counts_query, &counts_split),
        group_sums,
        durations(store, request, query, row_split.as_ref()),
        store.measure_totals(&opening_query, &MeasureSplit::Whole),
        store.measure_totals(&days_query, &days_split),
    )?;
    Ok(Fetched { counts, group_counts, durations, group_durations, backlog_opening, backlog_days, group_backlog }
        .add_up(request))
}

/// The period's counts, the biggest of the sums (every measure of the period), as two halves
/// of the period at once (each on its own connection, so on its own core), added back up.
async fn totals_in_halves(
    store: &dyn Store,
    query: &MeasureQuery,
    split: &MeasureSplit,
) -> Result<Vec<DailyCell>, StoreError> {
    let [(_, middle), _] = halves(query.from, query.to);
    let (early, late) = (MeasureQuery { to: middle, ..query.clone() }, MeasureQuery { from: middle, ..query.clone() });
    let (first, second) = tokio::try_join!(store.measure_totals(&early, split), store.measure_totals(&late, split))?;
    Ok(add_cells([first, second]))
}

/// The local days `[first, end)` as two halves that meet in the middle (the first one empty for
/// a single day).
fn day_halves(first: Date, end: Date) -> [(Date, Date); 2] {
    let days = first.until(end).map_or(0, |span| span.get_days());
    let middle = first.checked_add(jiff::Span::new().days(days / 2)).unwrap_or(first);
    [(first, middle), (middle, end)]
}

/// The period's durations as the store adds them up: per metric, and per row of `row_split`
/// (the whole from the rows' values put back together: one read of the measures).
async fn durations(
    store: &dyn Store,
    request: &ReportRequest,
    query: &MeasureQuery,
    row_split: Option<&MeasureSplit>,
) -> Result<(Vec<DurationStats>, Vec<DurationStats>), StoreError> {
    match row_split {
        Some(split) => {
            let partitions = store.duration_values(query, request.hours, split).await?;
            Ok((DurationValues::whole(&partitions), DurationValues::stats(partitions)))
        }
        None => Ok((store.duration_stats(query, request.hours, &MeasureSplit::Whole).await?, Vec::new())),
    }
}

/// The whole days' kept cells (of the account, or of the query filter's tickets), and the
/// store's sums for the partial first and last days, the backlog's changes on `to`'s day and the
/// durations (`day_cells`). Cells per ticket are kept without dimensions, so a filtered summary's
/// rows by agent, team… are summed from the measures.
async fn from_cells(
    store: &dyn Store,
    request: &ReportRequest,
    query: &MeasureQuery,
    plan: &DayPlan,
) -> Result<Added, StoreError> {
    let (from, to, zone) = (request.from, request.to, &request.zone);
    let cells = |dimension: &'static str, from_day, to_day, metrics: &[Metric], by_day| DailyQuery {
        tickets: query.tickets.clone(),
        ..DailyQuery::new(query.account, dimension, (from_day, to_day), metrics, by_day)
    };
    let select = |from, to, metrics: &[Metric]| MeasureQuery { from, to, metrics: metrics.to_vec(), ..query.clone() };
    let by_day = MeasureSplit::Days(LocalDays { zone: zone.clone(), from, to });
    let counted = counted_metrics();
    let (first, end) = plan.whole_days;
    let row_split = request.group_by.map(|group_by| MeasureSplit::rows(group_by, zone, from, to));
    // The durations rank measures (the slow part); the cells are read meanwhile.
    let counts = async {
        let mut counts = match &query.tickets {
            // A ticket list's cells are tested row by row (PostgreSQL scans them all): the
            // whole days as two halves at once, each on its own connection and core.
            Some(_) => {
                let [(first, middle), (_, end)] = day_halves(first, end);
                let (early, late) = (
                    cells("all", Some(first), middle, &counted, true),
                    cells("all", Some(middle), end, &counted, true),
                );
                let (early, late) = tokio::try_join!(store.daily_totals(&early), store.daily_totals(&late))?;
                add_cells([early, late])
            }
            None => store.daily_totals(&cells("all", Some(first), end, &counted, true)).await?,
        };
        for (from, to) in &plan.partial {
            counts.extend(store.measure_totals(&select(*from, *to, &counted), &by_day).await?);
        }
        Ok::<_, StoreError>(counts)
    };
    let groups = async {
        match (request.group_by.and_then(dimension_of), &row_split) {
            (Some(_), Some(split)) if query.tickets.is_some() => {
                let (counts, backlog) =
                    (select(from, to, &counted), select(Timestamp::UNIX_EPOCH, to, &BACKLOG_METRICS));
                tokio::try_join!(store.measure_totals(&counts, split), store.measure_totals(&backlog, split))
            }
            (Some(dimension), Some(split)) => {
                let mut counts = store.daily_totals(&cells(dimension, Some(first), end, &counted, false)).await?;
                for (from, to) in &plan.partial {
                    counts.extend(store.measure_totals(&select(*from, *to, &counted), split).await?);
                }
                let mut backlog =
                    store.daily_totals(&cells(dimension, None, plan.to_date, &BACKLOG_METRICS, false)).await?;
                backlog.extend(store.measure_totals(&select(plan.to_day_start, to, &BACKLOG_METRICS), split).await?);
                Ok((counts, backlog))
            }
            _ => Ok((Vec::new(), Vec::new())),
        }
    };
    let backlog = async {
        let backlog_opening = store.daily_totals(&cells("all", None, plan.from_date, &BACKLOG_METRICS, false)).await?;
        let mut backlog_days =
            store.daily_totals(&cells("all", Some(plan.from_date), plan.to_date, &BACKLOG_METRICS, true)).await?;
        backlog_days.extend(store.measure_totals(&select(plan.to_day_start, to, &BACKLOG_METRICS), &by_day).await?);
        Ok::<_, StoreError>((backlog_opening, backlog_days))
    };
    // Each on its own connection: the durations rank measures (the slow part) meanwhile.
    let (counts, (group_counts, group_backlog), (backlog_opening, backlog_days), (durations, group_durations)) =
        tokio::try_join!(counts, groups, backlog, durations(store, request, query, row_split.as_ref()))?;
    Ok(Fetched { counts, group_counts, durations, group_durations, backlog_opening, backlog_days, group_backlog }
        .add_up(request))
}
