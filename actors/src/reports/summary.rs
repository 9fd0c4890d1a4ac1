//! Measures added up into the figures a report shows (`docs/metrics.md` §1 *Aggregates*, §8 and
//! §9): counts, rates with their numerator and denominator, and every duration as count, mean,
//! nearest-rank median and p90 in seconds. Pure, so the summary, the per-agent figures and later
//! the exports compute the same numbers from the same measures.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use serde::Serialize;

use super::measures::{Measure, Metric};
use crate::domain::UserId;

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
    pub sla_breaches: i64,
    /// Ratings received (`csat_received`).
    pub csat_ratings: i64,
    /// Their mean score, 1–5 (thumbs count 1 down, 5 up); `null` without ratings.
    pub csat_average: Option<f64>,
}

/// The mean score of `scores`; `None` when there are none.
fn mean_score(scores: &[i64]) -> Option<f64> {
    (!scores.is_empty()).then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64)
}

/// The duration of `measure` on the chosen clock (business time falls back to calendar time for
/// an account without business hours, which gives the same figure both ways).
fn duration(measure: &Measure, hours: Hours) -> Option<i64> {
    match hours {
        Hours::Business => measure.business_ms.or(measure.value_ms),
        Hours::Calendar => measure.value_ms,
    }
}

/// Adds up `measures` (already limited to the period) into one row of figures.
pub fn figures<'a>(measures: impl IntoIterator<Item = &'a Measure>, hours: Hours) -> Figures {
    let mut figures = Figures::default();
    let mut first_response = Vec::new();
    let mut next_reply = Vec::new();
    let mut resolution = Vec::new();
    let mut working = Vec::new();
    let mut scores = Vec::new();
    for measure in measures {
        match measure.metric {
            Metric::Created => figures.tickets_created += 1,
            Metric::Reopened => figures.tickets_reopened += 1,
            Metric::Reply => figures.replies += 1,
            Metric::SlaBreach => figures.sla_breaches += 1,
            Metric::FirstResponse => first_response.extend(duration(measure, hours)),
            Metric::NextReply => next_reply.extend(duration(measure, hours)),
            Metric::Resolved => {
                figures.tickets_resolved += 1;
                resolution.extend(duration(measure, hours));
                if let Some(replies) = measure.replies.filter(|replies| *replies > 0) {
                    figures.one_touch.denominator += 1;
                    figures.one_touch.numerator += i64::from(replies == 1);
                }
            }
            Metric::WorkingResolution => working.extend(duration(measure, hours)),
            Metric::Csat => scores.extend(measure.value_ms),
            Metric::Touched | Metric::CsatCredit => {}
        }
    }
    figures.csat_ratings = scores.len() as i64;
    figures.csat_average = mean_score(&scores);
    figures.first_response = Durations::of(first_response);
    figures.next_reply = Durations::of(next_reply);
    figures.resolution = Durations::of(resolution);
    figures.working_resolution = Durations::of(working);
    figures
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
        GroupBy::Day => Some(measure.at.to_zoned(zone.clone()).date().to_string()),
        GroupBy::Week => {
            let date = measure.at.to_zoned(zone.clone()).date();
            let monday = date
                .checked_sub(jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())))
                .unwrap_or(date);
            Some(monday.to_string())
        }
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

/// The rows of `measures` grouped by `group_by`, ordered by key (none first).
pub fn summary_rows(measures: &[Measure], group_by: GroupBy, hours: Hours, zone: &TimeZone) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<Option<String>, Vec<&Measure>> = BTreeMap::new();
    for measure in measures.iter().filter(|measure| !matches!(measure.metric, Metric::Touched | Metric::CsatCredit)) {
        groups.entry(group_key(measure, group_by, zone)).or_default().push(measure);
    }
    groups.into_iter().map(|(key, rows)| SummaryRow { key, figures: figures(rows, hours) }).collect()
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
