//! Measures added up by the store instead of read one by one. A summary with a query filter or a
//! team's scope asks `report_measures` for counts and sums per metric, detail and flag, per local
//! day or per row key; every summary asks for its durations as count, sum, nearest-rank median
//! and p90 per metric and row (a few rows each instead of every value). The store answers in SQL
//! ([`ReportsPort::measure_totals`], [`ReportsPort::duration_stats`]); [`totals_of`] and
//! [`stats_of`] are the same sums in memory, the reference the conformance suite holds the SQL to.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

#[cfg(doc)]
use super::ReportsPort;
use super::measures::{Measure, Metric};
use super::port::{DailyCell, cell_detail};
use super::summary::{DURATION_METRICS, Durations, GroupBy, Hours, duration, group_key, time_key};

/// Local days in `zone`, for measures in `[from, to)`: SQL counts a measure's day as
/// `(at + offset) / 86_400_000` (days since 1970-01-01), with the zone's offset at `at` taken
/// from [`LocalDays::offsets`], so a day boundary moves with daylight saving time as jiff's does.
#[derive(Clone, Debug)]
pub struct LocalDays {
    pub zone: TimeZone,
    pub from: Timestamp,
    pub to: Timestamp,
}

impl LocalDays {
    /// The zone's UTC offset in milliseconds from `from` on, then from each of its transitions
    /// before `to`: `(since, offset_ms)`, in time order, the first `since` being `from`.
    pub fn offsets(&self) -> Vec<(Timestamp, i64)> {
        let offset_ms = |at: Timestamp| i64::from(self.zone.to_offset(at).seconds()) * 1000;
        let mut offsets = vec![(self.from, offset_ms(self.from))];
        for transition in self.zone.following(self.from) {
            if transition.timestamp() >= self.to {
                break;
            }
            offsets.push((transition.timestamp(), i64::from(transition.offset().seconds()) * 1000));
        }
        offsets
    }

    /// The local date of day number `number` (days since 1970-01-01).
    pub fn date(number: i64) -> Option<Date> {
        Date::constant(1970, 1, 1).checked_add(jiff::Span::new().days(number)).ok()
    }

    /// Day number `number`'s week, as the number of its Monday (1970-01-01 was a Thursday).
    pub fn monday(number: i64) -> i64 {
        number - (number + 3).rem_euclid(7)
    }
}

/// What a store adds measures up by besides their metric.
#[derive(Clone, Debug)]
pub enum MeasureSplit {
    /// Nothing: one total per metric.
    Whole,
    /// Their local day.
    Days(LocalDays),
    /// Their local week (by its Monday).
    Weeks(LocalDays),
    /// A summary row's dimension (never `Day` or `Week`): the key [`group_key`] gives.
    Key(GroupBy),
}

impl MeasureSplit {
    /// The split of a summary's rows grouped by `group_by`, for measures in `[from, to)`.
    pub fn rows(group_by: GroupBy, zone: &TimeZone, from: Timestamp, to: Timestamp) -> MeasureSplit {
        let days = LocalDays { zone: zone.clone(), from, to };
        match group_by {
            GroupBy::Day => MeasureSplit::Days(days),
            GroupBy::Week => MeasureSplit::Weeks(days),
            _ => MeasureSplit::Key(group_by),
        }
    }

    /// Where `measure` falls: its local date (day or Monday) and its row key.
    fn place(&self, measure: &Measure) -> (Option<Date>, Option<String>) {
        match self {
            MeasureSplit::Whole => (None, None),
            MeasureSplit::Days(days) => (Some(measure.at.to_zoned(days.zone.clone()).date()), None),
            MeasureSplit::Weeks(days) => {
                let date = measure.at.to_zoned(days.zone.clone()).date();
                (time_key(date, GroupBy::Week).parse().ok(), None)
            }
            MeasureSplit::Key(GroupBy::Day | GroupBy::Week) => (None, None),
            MeasureSplit::Key(group_by) => (None, group_key(measure, *group_by, &TimeZone::UTC)),
        }
    }
}

/// One metric's durations in one row of a split: what [`Durations`] is made of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationStats {
    pub metric: Metric,
    /// The local date of a day or week split.
    pub day: Option<Date>,
    /// The row key of a [`MeasureSplit::Key`] split (`None`: none, e.g. unassigned).
    pub key: Option<String>,
    pub count: i64,
    pub sum_ms: i64,
    /// The value of rank `ceil(0.5 n)` of the sorted values.
    pub median_ms: i64,
    /// The value of rank `ceil(0.9 n)`.
    pub p90_ms: i64,
}

impl DurationStats {
    /// The summary row these belong to: the date for days and weeks, else the key.
    pub fn row_key(&self) -> Option<String> {
        self.day.map(|day| day.to_string()).or_else(|| self.key.clone())
    }

    pub fn durations(&self) -> Durations {
        if self.count == 0 {
            return Durations::default();
        }
        Durations {
            count: self.count,
            mean_secs: Some(self.sum_ms as f64 / self.count as f64 / 1000.0),
            median_secs: Some(self.median_ms as f64 / 1000.0),
            p90_secs: Some(self.p90_ms as f64 / 1000.0),
        }
    }
}

/// The 1-based nearest ranks of the median and the p90 of `n` values, in integers (as SQL
/// computes them): `ceil(n / 2)` and `ceil(9 n / 10)`.
pub fn ranks(n: i64) -> (i64, i64) {
    ((n + 1) / 2, (9 * n + 9) / 10)
}

/// A cell's place: day, metric, detail, flag and key (as [`DailyCell`] orders them).
pub type CellPlace = (Option<Date>, Metric, String, i64, String);

/// What [`ReportsPort::measure_totals`] answers for `measures` (already the query's).
pub fn totals_of(measures: &[Measure], split: &MeasureSplit) -> Vec<DailyCell> {
    let mut added: BTreeMap<CellPlace, (i64, i64)> = BTreeMap::new();
    for measure in measures {
        let (day, key) = split.place(measure);
        let (detail, flag) = cell_detail(measure);
        let total = added.entry((day, measure.metric, detail, flag, key.unwrap_or_default())).or_default();
        total.0 += 1;
        total.1 += measure.value_ms.unwrap_or(0);
    }
    cells_of(added)
}

/// Cells from counts and sums by place, in their order.
pub fn cells_of(added: BTreeMap<CellPlace, (i64, i64)>) -> Vec<DailyCell> {
    added
        .into_iter()
        .map(|((day, metric, detail, flag, key), (count, sum_ms))| DailyCell {
            day,
            metric,
            detail,
            flag,
            key,
            count,
            sum_ms,
        })
        .collect()
}

/// `[from, to)` as two halves that meet in the middle (to the millisecond).
pub fn halves(from: Timestamp, to: Timestamp) -> [(Timestamp, Timestamp); 2] {
    let middle_ms = from.as_millisecond() + (to.as_millisecond() - from.as_millisecond()) / 2;
    let middle = Timestamp::from_millisecond(middle_ms).unwrap_or(from);
    [(from, middle), (middle, to)]
}

/// Cells of disjoint parts of one selection (e.g. two halves of its period) as the whole
/// selection's: cells at the same place add up, in [`DailyCell`] order.
pub fn add_cells(parts: impl IntoIterator<Item = Vec<DailyCell>>) -> Vec<DailyCell> {
    let mut added: BTreeMap<CellPlace, (i64, i64)> = BTreeMap::new();
    for cell in parts.into_iter().flatten() {
        let total = added.entry((cell.day, cell.metric, cell.detail, cell.flag, cell.key)).or_default();
        total.0 += cell.count;
        total.1 += cell.sum_ms;
    }
    cells_of(added)
}

/// One partition's durations (a metric, and a split's day or key), in any order: what
/// [`ReportsPort::duration_values`] answers, ranked here.
#[derive(Clone, Debug, PartialEq)]
pub struct DurationValues {
    pub metric: Metric,
    pub day: Option<Date>,
    pub key: Option<String>,
    pub values: Vec<i64>,
}

impl DurationValues {
    /// Each partition's count, sum, median and p90, ordered by metric, day and key.
    pub fn stats(partitions: Vec<DurationValues>) -> Vec<DurationStats> {
        let mut stats: Vec<DurationStats> = partitions
            .into_iter()
            .filter_map(|partition| {
                DurationStats::of_values(partition.metric, partition.day, partition.key, partition.values)
            })
            .collect();
        stats.sort_by(|a, b| (a.metric, a.day, &a.key).cmp(&(b.metric, b.day, &b.key)));
        stats
    }

    /// The partitions of a split put back together, per metric: what the [`MeasureSplit::Whole`]
    /// split gives, without reading the measures a second time.
    pub fn whole(partitions: &[DurationValues]) -> Vec<DurationStats> {
        let mut values: BTreeMap<Metric, Vec<i64>> = BTreeMap::new();
        for partition in partitions {
            values.entry(partition.metric).or_default().extend_from_slice(&partition.values);
        }
        values.into_iter().filter_map(|(metric, values)| DurationStats::of_values(metric, None, None, values)).collect()
    }
}

/// What [`ReportsPort::duration_stats`] answers for `measures` (already the query's).
pub fn stats_of(measures: &[Measure], hours: Hours, split: &MeasureSplit) -> Vec<DurationStats> {
    let mut values: BTreeMap<(Metric, Option<Date>, Option<String>), Vec<i64>> = BTreeMap::new();
    for measure in measures.iter().filter(|measure| DURATION_METRICS.contains(&measure.metric)) {
        if let Some(value) = duration(measure, hours) {
            let (day, key) = split.place(measure);
            values.entry((measure.metric, day, key)).or_default().push(value);
        }
    }
    DurationValues::stats(
        values.into_iter().map(|((metric, day, key), values)| DurationValues { metric, day, key, values }).collect(),
    )
}

impl DurationStats {
    /// The count, sum, median and p90 (nearest rank, [`ranks`]) of one partition's values, in
    /// any order; `None` for no values.
    pub fn of_values(
        metric: Metric,
        day: Option<Date>,
        key: Option<String>,
        mut values: Vec<i64>,
    ) -> Option<DurationStats> {
        values.sort_unstable();
        let count = values.len() as i64;
        let (median, p90) = ranks(count);
        Some(DurationStats {
            metric,
            day,
            key,
            count,
            sum_ms: values.iter().sum(),
            median_ms: *values.get(median as usize - 1)?,
            p90_ms: *values.get(p90 as usize - 1)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn the_integer_ranks_are_the_nearest_ranks() {
        for n in 1..100_000_i64 {
            let nearest = |share: f64| ((share * n as f64).ceil() as i64).clamp(1, n);
            assert_eq!(ranks(n), (nearest(0.5), nearest(0.9)), "n = {n}");
        }
    }

    #[test]
    fn a_day_number_is_the_local_date_across_daylight_saving_changes() {
        let zone = TimeZone::get("America/New_York").expect("a zone");
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
        let to: Timestamp = "2027-01-01T00:00:00Z".parse().expect("a time");
        let days = LocalDays { zone: zone.clone(), from, to };
        let offsets = days.offsets();
        assert_eq!(offsets.len(), 3, "{offsets:?}");
        let mut at = from;
        while at < to {
            let ms = at.as_millisecond();
            let offset = offsets.iter().rev().find(|(since, _)| *since <= at).expect("an offset").1;
            let number = (ms + offset).div_euclid(DAY_MS);
            let date = at.to_zoned(zone.clone()).date();
            assert_eq!(LocalDays::date(number), Some(date), "{at}");
            let monday = time_key(date, GroupBy::Week);
            assert_eq!(LocalDays::date(LocalDays::monday(number)).map(|day| day.to_string()), Some(monday));
            at += jiff::SignedDuration::from_mins(37);
        }
    }
}
