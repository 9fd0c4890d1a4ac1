//! A ticket's log turned into *measures*: one row per figure the reports count (a creation, a
//! counted reply, a first response and its duration, a resolved cycle, a reopen, a breach, an
//! agent touching the ticket), each stamped with when it happened and what the ticket was at that
//! moment (assignee, team, channel, company, category, priority), as `docs/metrics.md` §9 groups
//! them. Pure: the projection recomputes a ticket's measures from its whole log whenever the log
//! grows and replaces the old ones, so a measure is never counted twice.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::{Cycle, TicketFacts, ticket_facts};
use crate::domain::*;

crate::domain::string_enum!(
    /// What a measure counts. `csat` is a rating received (`value_ms` holds the score, 1–5;
    /// `detail` the scale); `csat_credit` is that rating credited to one person who replied in
    /// the rated cycle (`actor_id`, the score in `value_ms`), for per-agent CSAT.
    Metric {
        Created => "created",
        Resolved => "resolved",
        Reopened => "reopened",
        Reply => "reply",
        FirstResponse => "first_response",
        NextReply => "next_reply",
        WorkingResolution => "working_resolution",
        SlaBreach => "sla_breach",
        Touched => "touched",
        Csat => "csat",
        CsatCredit => "csat_credit",
    }
);

/// What a ticket was at one moment: the keys a figure is grouped by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub channel: Option<Channel>,
    pub company_id: Option<CompanyId>,
    pub category_id: Option<CategoryId>,
    pub priority: Option<Priority>,
}

/// One counted figure of one ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct Measure {
    pub account_id: AccountId,
    pub ticket_id: TicketId,
    pub metric: Metric,
    /// The ending event's time: the figure belongs to this instant's day and week.
    pub at: Timestamp,
    /// The local date of `at` in the account's report zone (kept so a measure is taken out of
    /// the same day's aggregate it was added to, whatever the zone is later).
    pub day: jiff::civil::Date,
    /// The duration measured, in calendar milliseconds (durations only); for `csat` and
    /// `csat_credit`, the score.
    pub value_ms: Option<i64>,
    /// The same duration counted in the SLA policy's business hours.
    pub business_ms: Option<i64>,
    /// Counted replies in the cycle (on `resolved`, for the one-touch rate).
    pub replies: Option<i64>,
    /// Who did it: the reply's author, the resolver, the agent who touched the ticket.
    pub actor_id: Option<UserId>,
    /// For `sla_breach`: which clock (`first_response`, `resolution`, `window`).
    pub detail: Option<String>,
    pub dimensions: Dimensions,
}

/// How a ticket's dimensions and category moved over its log, to read them at any instant.
struct Timeline {
    /// `(at, dimensions after every event at or before it, category)` in time order.
    points: Vec<(Timestamp, Dimensions)>,
    /// When the ticket entered and left `pending`, in order.
    pending: Vec<(Timestamp, Option<Timestamp>)>,
}

impl Timeline {
    fn at(&self, instant: Timestamp) -> Dimensions {
        let after = self.points.partition_point(|(at, _)| *at <= instant);
        after.checked_sub(1).and_then(|index| self.points.get(index)).map(|(_, dims)| dims.clone()).unwrap_or_default()
    }

    /// Time spent pending between `from` and `to`, in business time when `hours` are given.
    fn pending_between(&self, from: Timestamp, to: Timestamp, hours: Option<&BusinessHours>) -> i64 {
        self.pending
            .iter()
            .map(|(start, end)| ((*start).max(from), end.unwrap_or(to).min(to)))
            .filter(|(start, end)| start < end)
            .map(|(start, end)| duration_ms(start, end, hours))
            .sum()
    }
}

fn duration_ms(from: Timestamp, to: Timestamp, hours: Option<&BusinessHours>) -> i64 {
    match hours {
        Some(hours) => hours.between(from, to).as_millis() as i64,
        None => to.duration_since(from).as_millis() as i64,
    }
}

/// The ticket's dimensions as it was created: the current ticket with what later events changed
/// undone (a `created` event carries no assignee, team or category).
fn dimensions_at_creation(ticket: &Ticket, events: &[TicketEvent]) -> Dimensions {
    let mut dims = Dimensions {
        assignee_id: ticket.assignee_id,
        team_id: ticket.team_id,
        channel: Some(ticket.channel),
        company_id: ticket.company_id,
        category_id: ticket.category_id,
        priority: Some(ticket.priority),
    };
    if let Some((assignee, team)) = events.iter().find_map(|event| match &event.kind {
        EventKind::Assigned { from_assignee_id, from_team_id, .. } => Some((*from_assignee_id, *from_team_id)),
        _ => None,
    }) {
        dims.assignee_id = assignee;
        dims.team_id = team;
    }
    if let Some(category) = events.iter().find_map(|event| match &event.kind {
        EventKind::FieldsChanged { changes } => changes.get("category_id").map(|change| change.from.as_i64()),
        _ => None,
    }) {
        dims.category_id = category;
    }
    dims
}

fn timeline(ticket: &Ticket, events: &[TicketEvent]) -> Timeline {
    let mut dims = dimensions_at_creation(ticket, events);
    let mut points = Vec::with_capacity(events.len());
    let mut pending: Vec<(Timestamp, Option<Timestamp>)> = Vec::new();
    for event in events {
        match &event.kind {
            EventKind::Created { priority, channel, .. } => {
                dims.priority = Some(*priority);
                dims.channel = Some(*channel);
            }
            EventKind::Assigned { assignee_id, team_id, .. } => {
                dims.assignee_id = *assignee_id;
                dims.team_id = *team_id;
            }
            EventKind::PriorityChanged { to, .. } => dims.priority = Some(*to),
            EventKind::FieldsChanged { changes } => {
                if let Some(change) = changes.get("category_id") {
                    dims.category_id = change.to.as_i64();
                }
            }
            EventKind::StatusChanged { category, .. } => {
                let open = pending.last().is_some_and(|(_, end)| end.is_none());
                if *category == StatusCategory::Pending && !open {
                    pending.push((event.at, None));
                } else if *category != StatusCategory::Pending
                    && open
                    && let Some(last) = pending.last_mut()
                {
                    last.1 = Some(event.at);
                }
            }
            _ => {}
        }
        match points.last_mut() {
            Some((at, last)) if *at == event.at => *last = dims.clone(),
            _ => points.push((event.at, dims.clone())),
        }
    }
    Timeline { points, pending }
}

/// Where the measures of one account are placed in time: days in `zone`, durations also in
/// `hours` (the SLA policy's business hours, when it has them).
pub struct ReportClock<'a> {
    pub zone: &'a TimeZone,
    pub hours: Option<&'a BusinessHours>,
}

/// The measures of one ticket as they are read.
struct Measures<'a> {
    ticket: &'a Ticket,
    zone: &'a TimeZone,
    out: Vec<Measure>,
}

impl Measures<'_> {
    fn push(
        &mut self,
        metric: Metric,
        at: Timestamp,
        actor_id: Option<UserId>,
        dimensions: Dimensions,
    ) -> &mut Measure {
        self.out.push(Measure {
            account_id: self.ticket.account_id,
            ticket_id: self.ticket.id,
            metric,
            at,
            day: at.to_zoned(self.zone.clone()).date(),
            value_ms: None,
            business_ms: None,
            replies: None,
            actor_id,
            detail: None,
            dimensions,
        });
        let last = self.out.len() - 1;
        &mut self.out[last]
    }
}

/// Every measure of `ticket`, read from its whole log (`events`, in seq order). `is_staff` tells
/// the account's staff from its customers (see [`ticket_facts`]).
pub fn ticket_measures(
    ticket: &Ticket,
    events: &[TicketEvent],
    is_staff: &dyn Fn(UserId) -> bool,
    clock: &ReportClock<'_>,
) -> Vec<Measure> {
    let facts = ticket_facts(events, is_staff);
    let line = timeline(ticket, events);
    let mut measures = Measures { ticket, zone: clock.zone, out: Vec::new() };
    if let Some(created) = facts.created_at {
        measures.push(Metric::Created, created, None, line.at(created));
    }
    for (index, cycle) in facts.cycles.iter().enumerate() {
        if index > 0 {
            measures.push(Metric::Reopened, cycle.started_at, None, line.at(cycle.started_at));
        }
        cycle_measures(cycle, &facts, &line, clock, &mut measures);
    }
    for event in events {
        if let EventKind::SlaBreached { metric, .. } = &event.kind {
            measures.push(Metric::SlaBreach, event.at, None, line.at(event.at)).detail =
                Some(metric.as_str().to_owned());
        }
    }
    for event in events {
        if let EventKind::CsatReceived(rating) = &event.kind {
            let dims = line.at(event.at);
            let measure = measures.push(Metric::Csat, event.at, None, dims.clone());
            measure.value_ms = Some(rating.score);
            measure.detail = Some(rating.scale.as_str().to_owned());
            for agent in &rating.agent_ids {
                measures.push(Metric::CsatCredit, event.at, Some(*agent), dims.clone()).value_ms = Some(rating.score);
            }
        }
    }
    // Touching: one measure per person and commit (a commit's events share their instant).
    let touched: BTreeSet<(UserId, Timestamp)> =
        events.iter().filter_map(|event| Some((event.actor_id.filter(|actor| is_staff(*actor))?, event.at))).collect();
    for (actor, at) in touched {
        measures.push(Metric::Touched, at, Some(actor), line.at(at));
    }
    let mut out = measures.out;
    out.sort_by_key(|measure| (measure.at, measure.metric));
    out
}

fn cycle_measures(
    cycle: &Cycle,
    facts: &TicketFacts,
    line: &Timeline,
    clock: &ReportClock<'_>,
    measures: &mut Measures<'_>,
) {
    for reply in &cycle.replies {
        measures.push(Metric::Reply, reply.counted_at, Some(reply.author), line.at(reply.counted_at));
    }
    for (index, wait) in cycle.waits.iter().enumerate() {
        let Some(to) = wait.to else { continue };
        let metric = if index == 0 { Metric::FirstResponse } else { Metric::NextReply };
        let measure = measures.push(metric, to, wait.answered_by, line.at(to));
        measure.value_ms = Some(to.duration_since(wait.from).as_millis() as i64);
        measure.business_ms = clock.hours.map(|hours| duration_ms(wait.from, to, Some(hours)));
    }
    let Some(ended) = cycle.ended_at else { return };
    // A ticket merged into another counts for nothing from the merge on: its close is no
    // resolution.
    if facts.merged_at.is_some_and(|merged| merged <= ended) {
        return;
    }
    let dims = line.at(ended);
    let elapsed_business = clock.hours.map(|hours| duration_ms(cycle.started_at, ended, Some(hours)));
    let resolved = measures.push(Metric::Resolved, ended, cycle.ended_by, dims.clone());
    resolved.value_ms = cycle.resolution_ms();
    resolved.business_ms = elapsed_business;
    resolved.replies = Some(cycle.replies.len() as i64);
    let working = measures.push(Metric::WorkingResolution, ended, cycle.ended_by, dims);
    working.value_ms = cycle.working_resolution_ms();
    working.business_ms = clock
        .hours
        .zip(elapsed_business)
        .map(|(hours, elapsed)| elapsed - line.pending_between(cycle.started_at, ended, Some(hours)));
}
