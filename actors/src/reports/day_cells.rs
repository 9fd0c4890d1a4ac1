//! A summary added up from per-day cells instead of every measure of the period. For an
//! account's whole figures (no query filter, no team scope) the cells are the kept ones
//! (`report_daily`): the period's whole local days come from them, its partial first and last
//! days from the store's sums of their measures. With a filter or a scope the store adds the selected measures up into
//! cells of the same shape on the fly ([`super::aggregate`]), the whole period by day. The
//! durations' count, mean, median and p90 are added up by the store from the measures either
//! way ([`DurationStats`]). Pure: the store fetches what [`DayPlan`] names and
//! [`summary_from_cells`] adds it up to the same figures `summary::summary_rows` gives
//! from the measures (a test holds them equal).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::aggregate::DurationStats;
use super::measures::Metric;
use super::port::DailyCell;
#[cfg(doc)]
use super::port::DailyQuery;
use super::summary::{BacklogDay, DURATION_METRICS, Figures, GroupBy, SummaryRow, Tally, counted_in_rows, time_key};

/// The metrics a summary counts from cells: every one a row shows but
/// the durations' own (read with their values) and the backlog's (kept apart).
pub fn counted_metrics() -> Vec<Metric> {
    Metric::ALL
        .iter()
        .copied()
        .filter(|metric| {
            counted_in_rows(*metric) && (!DURATION_METRICS.contains(metric) || *metric == Metric::Resolved)
        })
        .collect()
}

/// The per-day dimension a grouping reads (`None` for days and weeks, which read `all` by day).
pub fn dimension_of(group_by: GroupBy) -> Option<&'static str> {
    match group_by {
        GroupBy::Agent => Some("agent"),
        GroupBy::Team => Some("team"),
        GroupBy::Channel => Some("channel"),
        GroupBy::Company => Some("company"),
        GroupBy::Category => Some("category"),
        GroupBy::Priority => Some("priority"),
        GroupBy::Day | GroupBy::Week => None,
    }
}

/// How a period `[from, to)` splits into local days in `zone`.
#[derive(Clone, Debug, PartialEq)]
pub struct DayPlan {
    /// The local date of `from`.
    pub from_date: Date,
    /// The local date of `to`: the days before it are whole in the cells.
    pub to_date: Date,
    /// The first and (excluded) last whole day inside the period (`first >= end`: none).
    pub whole_days: (Date, Date),
    /// Where the measures the cells do not cover are: before the first whole day and from the
    /// start of `to`'s day (or the whole period when it has no whole day).
    pub partial: Vec<(Timestamp, Timestamp)>,
    /// The start of `to`'s local day: backlog changes from here to `to` are read as measures.
    pub to_day_start: Timestamp,
}

fn day_start(date: Date, zone: &TimeZone) -> Option<Timestamp> {
    date.to_zoned(zone.clone()).ok().map(|zoned| zoned.timestamp())
}

impl DayPlan {
    pub fn new(from: Timestamp, to: Timestamp, zone: &TimeZone) -> Option<DayPlan> {
        let from_date = from.to_zoned(zone.clone()).date();
        let to_date = to.to_zoned(zone.clone()).date();
        let first = if day_start(from_date, zone)? == from { from_date } else { from_date.tomorrow().ok()? };
        let first_start = day_start(first, zone)?;
        let to_day_start = day_start(to_date, zone)?;
        let partial = if first < to_date {
            [(from, first_start), (to_day_start, to)].into_iter().filter(|(start, end)| start < end).collect()
        } else {
            vec![(from, to)]
        };
        Some(DayPlan { from_date, to_date, whole_days: (first, to_date), partial, to_day_start })
    }

    pub fn has_whole_days(&self) -> bool {
        self.whole_days.0 < self.whole_days.1
    }
}

/// What [`summary_from_cells`] adds up, fetched as [`DayPlan`] says: cells only, kept ones
/// (`report_daily`) for whole days, and the store's sums of measures for the rest.
pub struct CellInputs<'a> {
    pub from: Timestamp,
    pub to: Timestamp,
    pub group_by: Option<GroupBy>,
    pub zone: &'a TimeZone,
    /// The period's cells of [`counted_metrics`] by local day (dimension `all`).
    pub counts: &'a [DailyCell],
    /// The period's cells of the grouping's dimension, summed over the days (none for days
    /// and weeks, which read `counts`).
    pub group_counts: &'a [DailyCell],
    /// The whole period's durations ([`DURATION_METRICS`]) on the report's clock, per metric.
    pub durations: &'a [DurationStats],
    /// The same per metric and row of `group_by`.
    pub group_durations: &'a [DurationStats],
    /// Backlog cells before `from`'s local day, summed.
    pub backlog_opening: &'a [DailyCell],
    /// Backlog cells from `from`'s local day to `to`, by day.
    pub backlog_days: &'a [DailyCell],
    /// Backlog cells of the grouping's dimension before `to`, summed (none for days and weeks).
    pub group_backlog: &'a [DailyCell],
}

/// `(backlog, unassigned)` moved by one cell.
fn backlog_step(metric: Metric, unassigned: bool, count: i64) -> (i64, i64) {
    let sign = match metric {
        Metric::BacklogIn => 1,
        Metric::BacklogOut => -1,
        _ => 0,
    };
    (sign * count, if unassigned { sign * count } else { 0 })
}

fn add_step(into: &mut (i64, i64), step: (i64, i64)) {
    into.0 += step.0;
    into.1 += step.1;
}

fn key_of(cell: &DailyCell) -> Option<String> {
    (!cell.key.is_empty()).then(|| cell.key.clone())
}

/// The summary's total, rows and backlog per day from the cells and the measures around them.
pub fn summary_from_cells(input: &CellInputs) -> (Figures, Vec<SummaryRow>, Vec<BacklogDay>) {
    let mut total = Tally::default();
    for cell in input.counts {
        total.add_cell(cell);
    }
    for stats in input.durations {
        total.time_stats(stats);
    }
    let backlog_by_day = backlog_by_day(input);
    let mut total = total.figures();
    (total.backlog, total.unassigned_backlog) =
        backlog_by_day.last().map_or((0, 0), |day| (day.backlog, day.unassigned_backlog));
    let rows = match input.group_by {
        None => Vec::new(),
        Some(group_by) => rows(input, group_by, &backlog_by_day),
    };
    (total, rows, backlog_by_day)
}

/// The backlog at the end of each local day of the period (the last clipped to `to`).
fn backlog_by_day(input: &CellInputs) -> Vec<BacklogDay> {
    let mut balance = (0, 0);
    for cell in input.backlog_opening {
        add_step(&mut balance, backlog_step(cell.metric, cell.flag == 1, cell.count));
    }
    let mut per_day: BTreeMap<Date, (i64, i64)> = BTreeMap::new();
    for cell in input.backlog_days {
        if let Some(day) = cell.day {
            add_step(per_day.entry(day).or_default(), backlog_step(cell.metric, cell.flag == 1, cell.count));
        }
    }
    let mut days = Vec::new();
    let mut date = input.from.to_zoned(input.zone.clone()).date();
    loop {
        let end = date
            .tomorrow()
            .ok()
            .and_then(|tomorrow| day_start(tomorrow, input.zone))
            .map_or(input.to, |end| end.min(input.to));
        add_step(&mut balance, per_day.get(&date).copied().unwrap_or_default());
        days.push(BacklogDay { day: date.to_string(), backlog: balance.0, unassigned_backlog: balance.1 });
        if end >= input.to {
            return days;
        }
        date = date.tomorrow().unwrap_or(date);
    }
}

fn rows(input: &CellInputs, group_by: GroupBy, backlog_by_day: &[BacklogDay]) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<Option<String>, Tally> = BTreeMap::new();
    let by_time = dimension_of(group_by).is_none();
    if by_time {
        for cell in input.counts {
            let Some(day) = cell.day else { continue };
            groups.entry(Some(time_key(day, group_by))).or_default().add_cell(cell);
        }
    } else {
        for cell in input.group_counts {
            groups.entry(key_of(cell)).or_default().add_cell(cell);
        }
    }
    for stats in input.group_durations {
        groups.entry(stats.row_key()).or_default().time_stats(stats);
    }
    let mut backlog: HashMap<Option<String>, (i64, i64)> = HashMap::new();
    if !by_time {
        for cell in input.group_backlog {
            let key = key_of(cell);
            groups.entry(key.clone()).or_default();
            add_step(backlog.entry(key).or_default(), backlog_step(cell.metric, cell.flag == 1, cell.count));
        }
    }
    let day_balance: HashMap<&str, (i64, i64)> =
        backlog_by_day.iter().map(|day| (day.day.as_str(), (day.backlog, day.unassigned_backlog))).collect();
    let last_day = backlog_by_day.last().map(|day| day.day.clone()).unwrap_or_default();
    groups
        .into_iter()
        .map(|(key, tally)| {
            let mut figures = tally.figures();
            (figures.backlog, figures.unassigned_backlog) = if by_time {
                // The bucket's last day within the period: a week's Sunday, or the period's last day.
                let last = key.as_deref().and_then(|start| start.parse::<Date>().ok()).map(|start| {
                    let days = if group_by == GroupBy::Week { 6 } else { 0 };
                    start.checked_add(jiff::Span::new().days(days)).unwrap_or(start).to_string()
                });
                let last = last.map(|day| if day > last_day { last_day.clone() } else { day });
                last.and_then(|day| day_balance.get(day.as_str()).copied()).unwrap_or_default()
            } else {
                backlog.get(&key).copied().unwrap_or_default()
            };
            SummaryRow { key, figures }
        })
        .filter(|row| row.figures != Figures::default())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::{Channel, Priority};
    use crate::reports::aggregate::{
        CellPlace, LocalDays, MeasureSplit, add_cells, cells_of, halves, stats_of, totals_of,
    };
    use crate::reports::measures::{Dimensions, Measure};
    use crate::reports::port::{DailyKey, DailyQuery, DailyTotal, daily_contributions};
    use crate::reports::summary::{Hours, backlog_at, backlog_by_day, figures, summary_rows};

    /// A small deterministic generator (xorshift): the same measures on every run.
    struct Dice(u64);

    impl Dice {
        fn roll(&mut self, sides: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % sides
        }

        /// Two times in three `base` plus a roll of `sides`, else nothing.
        fn maybe(&mut self, base: i64, sides: u64) -> Option<i64> {
            let value = base + self.roll(sides) as i64;
            (self.roll(3) > 0).then_some(value)
        }
    }

    /// Measures of every metric over five days in `zone`, with every kind of detail and flag.
    fn measures(zone: &TimeZone) -> Vec<Measure> {
        let mut dice = Dice(0x5EED_1234_ABCD_0001);
        let start = Timestamp::from_second(1_800_000_000).expect("a time");
        let details = [
            "first_response",
            "resolution",
            "window",
            "131047:Re-engagement message",
            "ok:3:Tag VIP",
            "failed:4:Escalate",
        ];
        (0..3_000)
            .map(|n| {
                let metric = Metric::ALL[dice.roll(Metric::ALL.len() as u64) as usize];
                let at = start + jiff::SignedDuration::from_secs(dice.roll(5 * 86_400) as i64);
                let value = (dice.roll(100_000) + 1) as i64;
                Measure {
                    account_id: 1,
                    ticket_id: n % 400,
                    metric,
                    at,
                    day: at.to_zoned(zone.clone()).date(),
                    value_ms: dice.maybe(value, 1),
                    business_ms: dice.maybe(value / 2, 1),
                    replies: dice.maybe(0, 4),
                    actor_id: dice.maybe(10, 3),
                    detail: Some(details[dice.roll(details.len() as u64) as usize].to_owned()),
                    dimensions: Dimensions {
                        assignee_id: dice.maybe(10, 3),
                        team_id: dice.maybe(1, 2),
                        channel: Some(if dice.roll(2) == 0 { Channel::Whatsapp } else { Channel::Email }),
                        company_id: dice.maybe(7, 1),
                        category_id: None,
                        priority: Some(if dice.roll(2) == 0 { Priority::High } else { Priority::Low }),
                    },
                }
            })
            .collect()
    }

    /// What the store's `daily_totals` answers, from the cells in memory.
    fn select(cells: &BTreeMap<DailyKey, DailyTotal>, query: &DailyQuery) -> Vec<DailyCell> {
        let mut added: BTreeMap<CellPlace, (i64, i64)> = BTreeMap::new();
        for (key, total) in cells {
            let wanted = key.dimension == query.dimension
                && query.from_day.is_none_or(|from| key.day >= from)
                && key.day < query.to_day
                && (query.metrics.is_empty() || query.metrics.contains(&key.metric));
            if wanted {
                let day = query.by_day.then_some(key.day);
                let sum = added.entry((day, key.metric, key.detail.clone(), key.flag, key.key.clone())).or_default();
                sum.0 += total.count;
                sum.1 += total.sum_ms;
            }
        }
        cells_of(added)
    }

    fn within(measures: &[Measure], from: Timestamp, to: Timestamp, metrics: &[Metric]) -> Vec<Measure> {
        measures.iter().filter(|m| m.at >= from && m.at < to && metrics.contains(&m.metric)).cloned().collect()
    }

    /// The periods the tests add up: aligned to days or not, and wider than the data.
    fn periods(zone: &TimeZone) -> Vec<(Timestamp, Timestamp)> {
        let start = Timestamp::from_second(1_800_000_000).expect("a time");
        let hour = |hours: i64| start + jiff::SignedDuration::from_hours(hours);
        let midnight = |date: Date| date.to_zoned(zone.clone()).expect("a day").timestamp();
        let first_day = start.to_zoned(zone.clone()).date();
        vec![
            (hour(5), hour(100)),
            (midnight(first_day.tomorrow().expect("a day")), hour(90)),
            (hour(7), midnight(first_day.checked_add(jiff::Span::new().days(3)).expect("a day"))),
            (hour(-30), hour(200)),
        ]
    }

    fn zones() -> [TimeZone; 2] {
        [TimeZone::UTC, TimeZone::get("America/Sao_Paulo").expect("a zone")]
    }

    fn groupings() -> impl Iterator<Item = Option<GroupBy>> {
        GroupBy::ALL.iter().map(|group_by| Some(*group_by)).chain([None])
    }

    /// The durations of `[from, to)` as the store adds them up: per metric, and per row.
    fn durations(
        measures: &[Measure],
        (from, to): (Timestamp, Timestamp),
        group_by: Option<GroupBy>,
        hours: Hours,
        zone: &TimeZone,
    ) -> (Vec<DurationStats>, Vec<DurationStats>) {
        let period = within(measures, from, to, &DURATION_METRICS);
        let grouped = group_by
            .map(|group_by| stats_of(&period, hours, &MeasureSplit::rows(group_by, zone, from, to)))
            .unwrap_or_default();
        (stats_of(&period, hours, &MeasureSplit::Whole), grouped)
    }

    /// Asserts that `input` adds up to what the measures themselves give.
    fn assert_same_as_measures(measures: &[Measure], input: &CellInputs, hours: Hours) {
        let (from, to, zone) = (input.from, input.to, input.zone);
        let period: Vec<Measure> = measures.iter().filter(|m| m.at >= from && m.at < to).cloned().collect();
        let backlog = within(measures, Timestamp::UNIX_EPOCH, to, &[Metric::BacklogIn, Metric::BacklogOut]);
        let (total, rows, days) = summary_from_cells(input);
        let mut expected = figures(&period, hours);
        (expected.backlog, expected.unassigned_backlog) = backlog_at(&backlog, to, |_| true);
        let case = format!("{zone:?} {from}..{to} {:?} {hours:?}", input.group_by);
        assert_eq!(total, expected, "{case}");
        assert_eq!(days, backlog_by_day(&backlog, from, to, zone), "{case}");
        let expected_rows = input
            .group_by
            .map(|group_by| summary_rows(&period, &backlog, to, group_by, hours, zone))
            .unwrap_or_default();
        assert_eq!(rows, expected_rows, "{case}");
    }

    #[test]
    fn the_cells_give_the_figures_the_measures_give_for_every_grouping_and_period() {
        for zone in zones() {
            let measures = measures(&zone);
            let mut cells = BTreeMap::new();
            daily_contributions(&measures, 1, &mut cells);
            for (from, to) in periods(&zone) {
                let plan = DayPlan::new(from, to, &zone).expect("a plan");
                assert!(plan.has_whole_days(), "{from}..{to}");
                for group_by in groupings() {
                    for hours in [Hours::Calendar, Hours::Business] {
                        let counted = counted_metrics();
                        let backlog_metrics = [Metric::BacklogIn, Metric::BacklogOut].to_vec();
                        let query = |dimension, from_day, to_day, metrics: &Vec<Metric>, by_day| {
                            DailyQuery::new(1, dimension, (from_day, to_day), metrics, by_day)
                        };
                        let (first, end) = plan.whole_days;
                        let partial: Vec<Measure> = plan
                            .partial
                            .iter()
                            .flat_map(|(from, to)| within(&measures, *from, *to, &counted))
                            .collect();
                        let tail = within(&measures, plan.to_day_start, to, &backlog_metrics);
                        let by_day = MeasureSplit::Days(LocalDays { zone: zone.clone(), from, to });
                        let keyed = |measures: &[Measure]| match group_by {
                            Some(group_by) if dimension_of(group_by).is_some() => {
                                totals_of(measures, &MeasureSplit::Key(group_by))
                            }
                            _ => Vec::new(),
                        };
                        let (durations, group_durations) = durations(&measures, (from, to), group_by, hours, &zone);
                        let counts = [
                            select(&cells, &query("all", Some(first), end, &counted, true)),
                            totals_of(&partial, &by_day),
                        ]
                        .concat();
                        let group_counts = match group_by.and_then(dimension_of) {
                            Some(dimension) => {
                                [select(&cells, &query(dimension, Some(first), end, &counted, false)), keyed(&partial)]
                                    .concat()
                            }
                            None => Vec::new(),
                        };
                        let backlog_days = [
                            select(&cells, &query("all", Some(plan.from_date), plan.to_date, &backlog_metrics, true)),
                            totals_of(&tail, &by_day),
                        ]
                        .concat();
                        let group_backlog = match group_by.and_then(dimension_of) {
                            Some(dimension) => [
                                select(&cells, &query(dimension, None, plan.to_date, &backlog_metrics, false)),
                                keyed(&tail),
                            ]
                            .concat(),
                            None => Vec::new(),
                        };
                        assert_same_as_measures(
                            &measures,
                            &CellInputs {
                                from,
                                to,
                                group_by,
                                zone: &zone,
                                counts: &counts,
                                group_counts: &group_counts,
                                durations: &durations,
                                group_durations: &group_durations,
                                backlog_opening: &select(
                                    &cells,
                                    &query("all", None, plan.from_date, &backlog_metrics, false),
                                ),
                                backlog_days: &backlog_days,
                                group_backlog: &group_backlog,
                            },
                            hours,
                        );
                    }
                }
            }
        }
    }

    /// The filtered way: the store adds the selected measures up by day and by key itself.
    /// A long period's sums are taken as two halves at once (`summary::from_sums`): added back
    /// together they are the whole period's, for every split.
    #[test]
    fn two_halves_of_a_period_add_up_to_the_whole() {
        for zone in zones() {
            let measures = measures(&zone);
            for (from, to) in periods(&zone) {
                let mut splits = vec![
                    MeasureSplit::Whole,
                    MeasureSplit::Days(LocalDays { zone: zone.clone(), from, to }),
                    MeasureSplit::Weeks(LocalDays { zone: zone.clone(), from, to }),
                ];
                splits.extend(groupings().flatten().map(|group_by| MeasureSplit::rows(group_by, &zone, from, to)));
                let [(a, middle), (b, end)] = halves(from, to);
                assert_eq!((a, b, end), (from, middle, to), "the halves meet and cover the period");
                for split in &splits {
                    let parts =
                        [within(&measures, from, middle, Metric::ALL), within(&measures, middle, to, Metric::ALL)];
                    let added = add_cells(parts.iter().map(|part| totals_of(part, split)));
                    assert_eq!(added, totals_of(&within(&measures, from, to, Metric::ALL), split), "{split:?}");
                }
            }
        }
    }

    #[test]
    fn the_stores_sums_give_the_figures_the_measures_give_for_every_grouping_and_period() {
        for zone in zones() {
            let measures = measures(&zone);
            for (from, to) in periods(&zone) {
                let plan = DayPlan::new(from, to, &zone).expect("a plan");
                let counted = counted_metrics();
                let backlog_metrics = [Metric::BacklogIn, Metric::BacklogOut];
                let by_day = |from, to| MeasureSplit::Days(LocalDays { zone: zone.clone(), from, to });
                let from_day_start = plan.from_date.to_zoned(zone.clone()).expect("a day").timestamp();
                for group_by in groupings() {
                    let key_split = group_by.map(|group_by| MeasureSplit::rows(group_by, &zone, from, to));
                    let keyed = |measures: &[Measure]| match &key_split {
                        Some(split @ MeasureSplit::Key(_)) => totals_of(measures, split),
                        _ => Vec::new(),
                    };
                    for hours in [Hours::Calendar, Hours::Business] {
                        let (durations, group_durations) = durations(&measures, (from, to), group_by, hours, &zone);
                        assert_same_as_measures(
                            &measures,
                            &CellInputs {
                                from,
                                to,
                                group_by,
                                zone: &zone,
                                counts: &totals_of(&within(&measures, from, to, &counted), &by_day(from, to)),
                                group_counts: &keyed(&within(&measures, from, to, &counted)),
                                durations: &durations,
                                group_durations: &group_durations,
                                backlog_opening: &totals_of(
                                    &within(&measures, Timestamp::UNIX_EPOCH, from_day_start, &backlog_metrics),
                                    &MeasureSplit::Whole,
                                ),
                                backlog_days: &totals_of(
                                    &within(&measures, from_day_start, to, &backlog_metrics),
                                    &by_day(from_day_start, to),
                                ),
                                group_backlog: &keyed(&within(&measures, Timestamp::UNIX_EPOCH, to, &backlog_metrics)),
                            },
                            hours,
                        );
                    }
                }
            }
        }
    }
}
