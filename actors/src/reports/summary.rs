//! Measures added up into the figures a report shows (`docs/metrics.md` §1 *Aggregates*, §8 and
//! §9): counts, rates with their numerator and denominator, and every duration as count, mean,
//! nearest-rank median and p90 in seconds. Pure, so the summary, the per-agent figures and later
//! the exports compute the same numbers from the same measures.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use serde::Serialize;

#[cfg(test)]
use jiff::Timestamp;

use super::aggregate::DurationStats;
use super::channels::{parse_failure, parse_run};
use super::measures::{Measure, Metric};
use super::port::{DailyCell, cell_detail};
use crate::domain::{SlaMetric, UserId};

crate::domain::string_enum!(
    /// What a summary's rows are.
    GroupBy {
        Agent => "agent",
        Team => "team",
        Channel => "channel",
        Company => "company",
        Category => "category",
        Priority => "priority",
        Day => "day",
        Week => "week",
    }
);

crate::domain::string_enum!(
    /// Which clock durations are counted on: around the clock, or the SLA policy's business hours.
    Hours { Calendar => "calendar", Business => "business" }
);

/// A duration metric over a set of values, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: i64,
    pub mean_secs: Option<f64>,
    /// Nearest rank: value `ceil(0.5 n)` of the sorted values.
    pub median_secs: Option<f64>,
    /// Nearest rank: value `ceil(0.9 n)` of the sorted values.
    pub p90_secs: Option<f64>,
}

impl Durations {
    pub fn of(mut millis: Vec<i64>) -> Durations {
        if millis.is_empty() {
            return Durations::default();
        }
        millis.sort_unstable();
        let n = millis.len();
        let rank = |share: f64| millis[((share * n as f64).ceil() as usize).clamp(1, n) - 1];
        let sum: i64 = millis.iter().sum();
        Durations {
            count: n as i64,
            mean_secs: Some(sum as f64 / n as f64 / 1000.0),
            median_secs: Some(rank(0.5) as f64 / 1000.0),
            p90_secs: Some(rank(0.9) as f64 / 1000.0),
        }
    }
}

/// A share, with the counts it is made of so tables and cards add up.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rate {
    pub numerator: i64,
    pub denominator: i64,
}

/// The figures of one row of a summary (or of the whole period).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub tickets_created: i64,
    /// Cycles ended (a ticket resolved twice counts twice).
    pub tickets_resolved: i64,
    pub tickets_reopened: i64,
    /// Persons' replies counted (reached the channel).
    pub replies: i64,
    pub first_response: Durations,
    pub next_reply: Durations,
    /// Elapsed, from the cycle's start to its end.
    pub resolution: Durations,
    /// Elapsed minus the time spent pending.
    pub working_resolution: Durations,
    /// Cycles ended with exactly one counted reply ÷ cycles ended with at least one.
    pub one_touch: Rate,
    /// Breaches as the SLA engine wrote them (`sla_breached`).
    pub sla_breaches: i64,
    /// From creation to the last cycle's end, once per ticket resolved (or closed) now.
    pub full_resolution: Durations,
    /// Per cycle ended: the time the ticket waited on the team (`new` or `open`). A cycle's time
    /// is either the team's or the customer's (`pending`), so it equals the working resolution.
    pub requester_wait: Durations,
    /// Tickets `new`, `open` or `pending` (not merged away) at the period's end — for a `day` or
    /// `week` row, at that day's or week's end.
    pub backlog: i64,
    /// The backlog with no assignee.
    pub unassigned_backlog: i64,
    /// Met on time ÷ (met on time + breached), per target, recomputed with counted replies.
    pub sla_compliance: SlaCompliance,
    /// WhatsApp windows that closed with the customer unanswered.
    pub window_expired_unanswered: i64,
    /// Customers' messages (any channel).
    pub inbound_messages: i64,
    pub whatsapp: WhatsappFigures,
    pub email: EmailFigures,
    pub automation: AutomationFigures,
    /// Ratings received (`csat_received`).
    pub csat_ratings: i64,
    /// Their mean score, 1–5 (thumbs count 1 down, 5 up); `null` without ratings.
    pub csat_average: Option<f64>,
}

/// SLA compliance per target (`docs/metrics.md` §4).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaCompliance {
    pub first_response: Rate,
    pub resolution: Rate,
    pub window: Rate,
}

/// Outbound WhatsApp messages by the furthest status they reached (`docs/metrics.md` §5).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhatsappFigures {
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    /// Failed before being delivered.
    pub failed: i64,
    /// Delivered ÷ (delivered + failed): of the messages that reached a final state.
    pub delivery_rate: Rate,
    /// Read ÷ delivered.
    pub read_rate: Rate,
    /// Failed messages by Meta's error code, most frequent first.
    pub failure_reasons: Vec<FailureReason>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureReason {
    pub code: i64,
    pub title: String,
    /// This code's failures ÷ all failures.
    pub share: Rate,
}

/// Outbound email replies by their final status.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailFigures {
    pub sent: i64,
    pub failed: i64,
}

/// Automation runs (`docs/metrics.md` §7).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutomationFigures {
    pub runs: i64,
    pub failed: i64,
    /// Time rules that ran later than due (the hub was down).
    pub late: i64,
    /// Per rule, by rule id.
    pub by_rule: Vec<RuleRuns>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleRuns {
    pub rule_id: i64,
    pub name: String,
    pub runs: i64,
    pub failed: i64,
    pub late: i64,
}

/// The mean score of `scores`; `None` when there are none.
fn mean_score(scores: &[i64]) -> Option<f64> {
    (!scores.is_empty()).then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64)
}

/// The duration of `measure` on the chosen clock (business time falls back to calendar time for
/// an account without business hours, which gives the same figure both ways).
pub(crate) fn duration(measure: &Measure, hours: Hours) -> Option<i64> {
    match hours {
        Hours::Business => measure.business_ms.or(measure.value_ms),
        Hours::Calendar => measure.value_ms,
    }
}

/// The metrics whose values are durations: their medians and p90s need every value, so a
/// summary reads them from the measures, never from the per-day cells.
pub const DURATION_METRICS: [Metric; 5] =
    [Metric::FirstResponse, Metric::NextReply, Metric::Resolved, Metric::WorkingResolution, Metric::FullResolution];

/// What one row of figures is added up from: counts per metric, split by what
/// [`cell_detail`] keeps (from measures or from per-day cells alike), and the durations, as
/// values on the chosen clock (from measures) or already added up by the store.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// `(metric, detail, flag)` → `(count, sum of values)`.
    counts: BTreeMap<(Metric, String, i64), (i64, i64)>,
    durations: BTreeMap<Metric, Vec<i64>>,
    added_durations: BTreeMap<Metric, Durations>,
}

impl Tally {
    /// Counts `measure` (not its duration).
    pub fn count(&mut self, measure: &Measure) {
        let (detail, flag) = cell_detail(measure);
        self.add(measure.metric, detail, flag, 1, measure.value_ms.unwrap_or(0));
    }

    /// Adds `count` measures of `metric` whose values sum to `sum` (a per-day cell).
    pub fn add(&mut self, metric: Metric, detail: String, flag: i64, count: i64, sum: i64) {
        let total = self.counts.entry((metric, detail, flag)).or_default();
        total.0 += count;
        total.1 += sum;
    }

    /// Adds a per-day cell (its measures' count and values' sum).
    pub fn add_cell(&mut self, cell: &DailyCell) {
        self.add(cell.metric, cell.detail.clone(), cell.flag, cell.count, cell.sum_ms);
    }

    /// Keeps `measure`'s duration on `hours`' clock, when it is a duration.
    pub fn time(&mut self, measure: &Measure, hours: Hours) {
        if DURATION_METRICS.contains(&measure.metric) {
            self.durations.entry(measure.metric).or_default().extend(duration(measure, hours));
        }
    }

    /// Takes a metric's durations as the store added them up (the row's only source for it).
    pub fn time_stats(&mut self, stats: &DurationStats) {
        self.added_durations.insert(stats.metric, stats.durations());
    }

    fn durations(&mut self, metric: Metric) -> Durations {
        match self.added_durations.remove(&metric) {
            Some(durations) => durations,
            None => Durations::of(self.durations.remove(&metric).unwrap_or_default()),
        }
    }

    /// The figures of what was added.
    pub fn figures(mut self) -> Figures {
        let mut figures = Figures::default();
        let mut reasons: BTreeMap<i64, (String, i64)> = BTreeMap::new();
        let mut rules: BTreeMap<i64, RuleRuns> = BTreeMap::new();
        let (mut ratings, mut score_sum) = (0, 0);
        for ((metric, detail, flag), (count, sum)) in &self.counts {
            let (count, flag) = (*count, *flag);
            match metric {
                Metric::Created => figures.tickets_created += count,
                Metric::Reopened => figures.tickets_reopened += count,
                Metric::Reply => figures.replies += count,
                Metric::SlaBreach => figures.sla_breaches += count,
                Metric::Resolved => {
                    figures.tickets_resolved += count;
                    if flag > 0 {
                        figures.one_touch.denominator += count;
                        figures.one_touch.numerator += if flag == 1 { count } else { 0 };
                    }
                }
                Metric::SlaMet | Metric::SlaMissed => {
                    let compliance = &mut figures.sla_compliance;
                    let rate = match detail.parse::<SlaMetric>() {
                        Ok(SlaMetric::FirstResponse) => &mut compliance.first_response,
                        Ok(SlaMetric::Resolution) => &mut compliance.resolution,
                        Ok(SlaMetric::Window) => &mut compliance.window,
                        Err(_) => continue,
                    };
                    rate.denominator += count;
                    rate.numerator += if *metric == Metric::SlaMet { count } else { 0 };
                }
                Metric::WindowExpired => figures.window_expired_unanswered += count,
                Metric::Inbound => figures.inbound_messages += count,
                Metric::WhatsappSent => figures.whatsapp.sent += count,
                Metric::WhatsappDelivered => figures.whatsapp.delivered += count,
                Metric::WhatsappRead => figures.whatsapp.read += count,
                Metric::WhatsappFailed => {
                    figures.whatsapp.failed += count;
                    let (code, title) = parse_failure(detail);
                    reasons.entry(code).or_insert((title, 0)).1 += count;
                }
                Metric::EmailSent => figures.email.sent += count,
                Metric::EmailFailed => figures.email.failed += count,
                Metric::AutomationRun => {
                    let (result, rule_id, name) = parse_run(detail);
                    let failed = if result == "failed" { count } else { 0 };
                    let late = if flag == 1 { count } else { 0 };
                    figures.automation.runs += count;
                    figures.automation.failed += failed;
                    figures.automation.late += late;
                    let rule =
                        rules.entry(rule_id).or_insert_with(|| RuleRuns { rule_id, name, ..RuleRuns::default() });
                    rule.runs += count;
                    rule.failed += failed;
                    rule.late += late;
                }
                Metric::Csat => {
                    ratings += count;
                    score_sum += sum;
                }
                Metric::FirstResponse
                | Metric::NextReply
                | Metric::WorkingResolution
                | Metric::FullResolution
                | Metric::Touched
                | Metric::CsatCredit
                | Metric::BacklogIn
                | Metric::BacklogOut => {}
            }
        }
        let whatsapp = &mut figures.whatsapp;
        whatsapp.delivery_rate =
            Rate { numerator: whatsapp.delivered, denominator: whatsapp.delivered + whatsapp.failed };
        whatsapp.read_rate = Rate { numerator: whatsapp.read, denominator: whatsapp.delivered };
        let failed = whatsapp.failed;
        whatsapp.failure_reasons = reasons
            .into_iter()
            .map(|(code, (title, count))| FailureReason {
                code,
                title,
                share: Rate { numerator: count, denominator: failed },
            })
            .collect();
        whatsapp.failure_reasons.sort_by_key(|reason| (-reason.share.numerator, reason.code));
        figures.automation.by_rule = rules.into_values().collect();
        figures.csat_ratings = ratings;
        figures.csat_average = (ratings > 0).then(|| score_sum as f64 / ratings as f64);
        figures.full_resolution = self.durations(Metric::FullResolution);
        figures.first_response = self.durations(Metric::FirstResponse);
        figures.next_reply = self.durations(Metric::NextReply);
        figures.resolution = self.durations(Metric::Resolved);
        figures.working_resolution = self.durations(Metric::WorkingResolution);
        figures.requester_wait = figures.working_resolution.clone();
        figures
    }
}

/// The row key of local date `day` for a grouping by day, or by week (its Monday).
pub fn time_key(day: jiff::civil::Date, group_by: GroupBy) -> String {
    if group_by == GroupBy::Week {
        let offset = i64::from(day.weekday().to_monday_zero_offset());
        day.checked_sub(jiff::Span::new().days(offset)).unwrap_or(day).to_string()
    } else {
        day.to_string()
    }
}

/// Adds up `measures` (already limited to the period) into one row of figures.
pub fn figures<'a>(measures: impl IntoIterator<Item = &'a Measure>, hours: Hours) -> Figures {
    let mut tally = Tally::default();
    for measure in measures {
        tally.count(measure);
        tally.time(measure, hours);
    }
    tally.figures()
}

// The measures' own way to a summary's backlog and rows: no summary reads measures one by one
// any more (`day_cells`), so these stay as the reference its tests hold the sums to.
#[cfg(test)]
/// The backlog at `until` (excluded) from the `backlog_in` / `backlog_out` measures before it,
/// of the measures `selected` keeps: `(backlog, unassigned)`.
pub fn backlog_at<'a>(
    measures: impl IntoIterator<Item = &'a Measure>,
    until: Timestamp,
    selected: impl Fn(&Measure) -> bool,
) -> (i64, i64) {
    let mut open = 0;
    let mut unassigned = 0;
    for measure in measures.into_iter().filter(|measure| measure.at < until && selected(measure)) {
        let sign = match measure.metric {
            Metric::BacklogIn => 1,
            Metric::BacklogOut => -1,
            _ => continue,
        };
        open += sign;
        if measure.dimensions.assignee_id.is_none() {
            unassigned += sign;
        }
    }
    (open, unassigned)
}

#[cfg(test)]
/// The backlog at the end of each local day of `[from, to)` in `zone` (the last day's end
/// clipped to `to`), from the backlog measures up to `to`.
pub fn backlog_by_day(measures: &[Measure], from: Timestamp, to: Timestamp, zone: &TimeZone) -> Vec<BacklogDay> {
    let mut sorted: Vec<&Measure> = measures
        .iter()
        .filter(|measure| matches!(measure.metric, Metric::BacklogIn | Metric::BacklogOut) && measure.at < to)
        .collect();
    sorted.sort_by_key(|measure| measure.at);
    let mut days = Vec::new();
    let mut date = from.to_zoned(zone.clone()).date();
    let (mut open, mut unassigned, mut next) = (0, 0, 0);
    loop {
        let end = date
            .tomorrow()
            .ok()
            .and_then(|tomorrow| tomorrow.to_zoned(zone.clone()).ok())
            .map_or(to, |zoned| zoned.timestamp())
            .min(to);
        while let Some(measure) = sorted.get(next).filter(|measure| measure.at < end) {
            let sign = if measure.metric == Metric::BacklogIn { 1 } else { -1 };
            open += sign;
            if measure.dimensions.assignee_id.is_none() {
                unassigned += sign;
            }
            next += 1;
        }
        days.push(BacklogDay { day: date.to_string(), backlog: open, unassigned_backlog: unassigned });
        if end >= to {
            return days;
        }
        date = date.tomorrow().unwrap_or(date);
    }
}

/// The backlog at one day's end.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacklogDay {
    /// The local date (`2026-12-01`).
    pub day: String,
    pub backlog: i64,
    pub unassigned_backlog: i64,
}

/// The row `measure` belongs to. Agent: the reply's author for reply metrics, the assignee at the
/// ending event otherwise; day and week: the local date (a week by its Monday) in `zone`.
pub fn group_key(measure: &Measure, group_by: GroupBy, zone: &TimeZone) -> Option<String> {
    let dims = &measure.dimensions;
    match group_by {
        GroupBy::Agent => match measure.metric {
            Metric::Reply | Metric::FirstResponse | Metric::NextReply => measure.actor_id,
            _ => dims.assignee_id,
        }
        .map(|id| id.to_string()),
        GroupBy::Team => dims.team_id.map(|id| id.to_string()),
        GroupBy::Channel => dims.channel.map(|channel| channel.as_str().to_owned()),
        GroupBy::Company => dims.company_id.map(|id| id.to_string()),
        GroupBy::Category => dims.category_id.map(|id| id.to_string()),
        GroupBy::Priority => dims.priority.map(|priority| priority.as_str().to_owned()),
        GroupBy::Day | GroupBy::Week => Some(time_key(measure.at.to_zoned(zone.clone()).date(), group_by)),
    }
}

/// One row of a summary: its key (`null`: none, e.g. unassigned) and its figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryRow {
    pub key: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

pub(crate) fn counted_in_rows(metric: Metric) -> bool {
    !matches!(metric, Metric::Touched | Metric::CsatCredit | Metric::BacklogIn | Metric::BacklogOut)
}

#[cfg(test)]
/// The rows of `measures` (the period's) grouped by `group_by`, ordered by key (none first),
/// with each row's backlog from `backlog` (the backlog measures up to `to`): at `to`, or for a
/// day or week row at that bucket's end. A key with a backlog but nothing else in the period
/// gets a row too (not for days and weeks: `backlog_by_day` has every day).
pub fn summary_rows(
    measures: &[Measure],
    backlog: &[Measure],
    to: Timestamp,
    group_by: GroupBy,
    hours: Hours,
    zone: &TimeZone,
) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<Option<String>, Vec<&Measure>> = BTreeMap::new();
    for measure in measures.iter().filter(|measure| counted_in_rows(measure.metric)) {
        groups.entry(group_key(measure, group_by, zone)).or_default().push(measure);
    }
    let by_time = matches!(group_by, GroupBy::Day | GroupBy::Week);
    if !by_time {
        for measure in backlog {
            groups.entry(group_key(measure, group_by, zone)).or_default();
        }
    }
    groups
        .into_iter()
        .map(|(key, rows)| {
            let mut figures = figures(rows, hours);
            let (open, unassigned) = if by_time {
                let end =
                    key.as_deref().and_then(|start| bucket_end(start, group_by, zone)).map_or(to, |end| end.min(to));
                backlog_at(backlog, end, |_| true)
            } else {
                backlog_at(backlog, to, |measure| group_key(measure, group_by, zone) == key)
            };
            (figures.backlog, figures.unassigned_backlog) = (open, unassigned);
            SummaryRow { key, figures }
        })
        .filter(|row| !(row.figures == Figures::default()))
        .collect()
}

#[cfg(test)]
/// The end of the day or week (by its Monday) that starts on local date `start`.
fn bucket_end(start: &str, group_by: GroupBy, zone: &TimeZone) -> Option<Timestamp> {
    let date: jiff::civil::Date = start.parse().ok()?;
    let days = if group_by == GroupBy::Week { 7 } else { 1 };
    let end = date.checked_add(jiff::Span::new().days(days)).ok()?;
    end.to_zoned(zone.clone()).ok().map(|zoned| zoned.timestamp())
}

/// One person's figures for a period (`docs/metrics.md` §8).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentFigures {
    /// Tickets with any event by them.
    pub tickets_touched: i64,
    /// Their replies counted (reached the channel).
    pub replies: i64,
    /// Cycles they ended (theirs was the change to resolved).
    pub resolutions: i64,
    /// Cycles whose first counted reply was theirs.
    pub first_response: Durations,
    /// Cycles they ended, elapsed.
    pub resolution: Durations,
    /// SLA clocks breached on tickets assigned to them at the breach.
    pub sla_breaches: i64,
    /// Average rating credited to them (every rating of a cycle they replied in), 1–5;
    /// `null` without ratings.
    pub csat_average: Option<f64>,
    /// How many ratings that average is of.
    pub csat_ratings: i64,
}

/// `agent`'s figures from the measures of the period that name them.
pub fn agent_figures(measures: &[Measure], agent: UserId, hours: Hours) -> AgentFigures {
    let theirs = |measure: &&Measure| measure.actor_id == Some(agent);
    let touched: BTreeSet<_> = measures
        .iter()
        .filter(theirs)
        .filter(|measure| measure.metric == Metric::Touched)
        .map(|measure| measure.ticket_id)
        .collect();
    let values = |metric: Metric| -> Vec<i64> {
        measures
            .iter()
            .filter(theirs)
            .filter(|measure| measure.metric == metric)
            .filter_map(|measure| duration(measure, hours))
            .collect()
    };
    let count = |metric: Metric| measures.iter().filter(theirs).filter(|measure| measure.metric == metric).count();
    let credited: Vec<i64> = measures
        .iter()
        .filter(theirs)
        .filter(|measure| measure.metric == Metric::CsatCredit)
        .filter_map(|measure| measure.value_ms)
        .collect();
    AgentFigures {
        tickets_touched: touched.len() as i64,
        replies: count(Metric::Reply) as i64,
        resolutions: count(Metric::Resolved) as i64,
        first_response: Durations::of(values(Metric::FirstResponse)),
        resolution: Durations::of(values(Metric::Resolved)),
        sla_breaches: measures
            .iter()
            .filter(|measure| measure.metric == Metric::SlaBreach && measure.dimensions.assignee_id == Some(agent))
            .count() as i64,
        csat_average: mean_score(&credited),
        csat_ratings: credited.len() as i64,
    }
}
