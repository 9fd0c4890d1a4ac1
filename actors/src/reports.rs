//! The facts reports are made of, read from one ticket's event log exactly as
//! [`docs/metrics.md`](../../docs/metrics.md) defines them: resolution cycles, when replies
//! counted (a WhatsApp or email reply once it reached the channel), the waits they answered,
//! time spent pending, and merges. Pure: the projection folds a ticket's events through
//! [`ticket_facts`] into [`measures`], which [`summary`] adds up; the projection's storage is
//! [`ReportsPort`].

pub mod aggregate;
mod channels;
pub mod day_cells;
pub mod measures;
mod port;
pub mod schedule;
mod service_levels;
pub mod summary;

use std::collections::HashMap;

use jiff::Timestamp;

pub use self::channels::{parse_failure, parse_run};
pub use self::port::{
    DAILY_DIMENSIONS, DailyCell, DailyKey, DailyQuery, DailyTotal, MeasureChanges, MeasureQuery, MeasureScope,
    MeasureWrite, NewReportSchedule, ReportsPort, TicketDayKey, cell_detail, daily_contributions,
    ticket_day_contributions,
};
use crate::domain::*;

/// One resolution cycle: from creation or a reopen to the resolve (or close) that ends it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cycle {
    /// 1 for the first cycle, 2 after the first reopen, …
    pub index: u32,
    pub started_at: Timestamp,
    /// The resolve (or the close of an unresolved ticket); `None` while the cycle runs.
    pub ended_at: Option<Timestamp>,
    /// Who ended it (`None`: the system, e.g. an automation rule).
    pub ended_by: Option<UserId>,
    /// The customer's waits for the team, in order: the first is the first response, the
    /// others are next replies.
    pub waits: Vec<Wait>,
    /// Persons' replies written in the cycle that counted (reached the channel), in the order
    /// they counted.
    pub replies: Vec<CountedReply>,
    /// Replies written in the cycle that never reached the channel (failed before any send).
    pub failed_replies: u32,
    /// Milliseconds the ticket spent in `pending` during the cycle (up to its end, or up to the
    /// last event read while it runs).
    pub pending_ms: i64,
}

/// The customer waiting on the team: from their first unanswered message to the counted reply
/// that answered it.
#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    pub from: Timestamp,
    /// When the answering reply counted; `None` while unanswered.
    pub to: Option<Timestamp>,
    /// Whose reply answered it.
    pub answered_by: Option<UserId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CountedReply {
    pub message_id: String,
    pub author: UserId,
    pub channel: Channel,
    pub written_at: Timestamp,
    pub counted_at: Timestamp,
}

/// Everything the reports need of one ticket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketFacts {
    pub created_at: Option<Timestamp>,
    pub cycles: Vec<Cycle>,
    /// Merged into another ticket (and not undone): the ticket counts for nothing from then on.
    pub merged_at: Option<Timestamp>,
    /// The category the log leaves the ticket in.
    pub category: Option<StatusCategory>,
}

impl Cycle {
    fn new(index: u32, started_at: Timestamp) -> Cycle {
        Cycle {
            index,
            started_at,
            ended_at: None,
            ended_by: None,
            waits: Vec::new(),
            replies: Vec::new(),
            failed_replies: 0,
            pending_ms: 0,
        }
    }

    /// First response time in milliseconds, when the cycle has one.
    pub fn first_response_ms(&self) -> Option<i64> {
        let first = self.waits.first()?;
        Some(first.to?.duration_since(first.from).as_millis() as i64)
    }

    /// Next reply times in milliseconds (every answered wait after the first).
    pub fn next_reply_ms(&self) -> Vec<i64> {
        self.waits
            .iter()
            .skip(1)
            .filter_map(|wait| Some(wait.to?.duration_since(wait.from).as_millis() as i64))
            .collect()
    }

    /// Elapsed resolution time in milliseconds, once the cycle ended.
    pub fn resolution_ms(&self) -> Option<i64> {
        Some(self.ended_at?.duration_since(self.started_at).as_millis() as i64)
    }

    /// Resolution time without the time spent pending.
    pub fn working_resolution_ms(&self) -> Option<i64> {
        Some(self.resolution_ms()? - self.pending_ms)
    }

    /// Ended with exactly one counted reply (one-touch), when it ended with any.
    pub fn one_touch(&self) -> Option<bool> {
        (self.ended_at.is_some() && !self.replies.is_empty()).then_some(self.replies.len() == 1)
    }
}

/// A reply written but not counted yet (waiting for its channel's send).
struct Outstanding {
    cycle: usize,
    author: UserId,
    channel: Channel,
    written_at: Timestamp,
}

/// Reads one ticket's events (in seq order) into its facts. `is_staff` says whether a user is
/// one of the account's staff: a customer message written by staff on a customer's behalf is not
/// the customer writing.
pub fn ticket_facts(events: &[TicketEvent], is_staff: &dyn Fn(UserId) -> bool) -> TicketFacts {
    let mut facts = TicketFacts::default();
    let mut category = StatusCategory::New;
    let mut pending_since: Option<Timestamp> = None;
    let mut outstanding: HashMap<String, Outstanding> = HashMap::new();
    for event in events {
        let at = event.at;
        match &event.kind {
            EventKind::Created { .. } => {
                facts.created_at = Some(at);
                facts.cycles.push(Cycle::new(1, at));
            }
            EventKind::MessageAdded { message, .. } => {
                let Some(mut cycle) = facts.cycles.len().checked_sub(1) else { continue };
                match (message.kind, event.actor_id) {
                    (MessageKind::Customer, actor) if !actor.is_some_and(is_staff) => {
                        // Writing on a resolved ticket reopens it (the `status_changed` follows in
                        // the same commit): the message is the next cycle's first.
                        if facts.cycles[cycle].ended_at.is_some() {
                            let index = facts.cycles[cycle].index + 1;
                            facts.cycles.push(Cycle::new(index, at));
                            cycle += 1;
                        }
                        let waits = &mut facts.cycles[cycle].waits;
                        if waits.last().is_none_or(|wait| wait.to.is_some()) {
                            waits.push(Wait { from: at, to: None, answered_by: None });
                        }
                    }
                    // A person's reply; a rule's or the system's answers nobody.
                    (MessageKind::Reply, Some(author)) => {
                        let reply = Outstanding { cycle, author, channel: message.channel, written_at: at };
                        if reaches_the_channel_later(message.channel) {
                            outstanding.insert(message.id.clone(), reply);
                        } else {
                            count(&mut facts.cycles, &message.id, reply, at);
                        }
                    }
                    _ => {}
                }
            }
            EventKind::DeliveryChanged { message_id, status, .. } => match status {
                DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Read | DeliveryStatus::Played => {
                    if let Some(reply) = outstanding.remove(message_id) {
                        count(&mut facts.cycles, message_id, reply, at);
                    }
                }
                DeliveryStatus::Failed => {
                    if let Some(reply) = outstanding.remove(message_id) {
                        facts.cycles[reply.cycle].failed_replies += 1;
                    }
                }
                DeliveryStatus::Queued => {}
            },
            EventKind::StatusChanged { category: to, .. } => {
                let from = category;
                category = *to;
                if from == StatusCategory::Pending && *to != StatusCategory::Pending {
                    add_pending(&mut facts.cycles, pending_since.take(), at);
                }
                if *to == StatusCategory::Pending && from != StatusCategory::Pending {
                    pending_since = Some(at);
                }
                let was_done = from.is_done();
                let cycle = facts.cycles.last_mut();
                match cycle {
                    Some(cycle) if !was_done && to.is_done() => {
                        cycle.ended_at = Some(at);
                        cycle.ended_by = event.actor_id;
                    }
                    // A reopen, unless the customer's message already began the new cycle.
                    Some(cycle) if was_done && !to.is_done() && cycle.ended_at.is_some() => {
                        let index = cycle.index + 1;
                        facts.cycles.push(Cycle::new(index, at));
                    }
                    _ => {}
                }
            }
            EventKind::MergedInto { .. } => facts.merged_at = Some(at),
            EventKind::Unmerged { .. } => facts.merged_at = None,
            _ => {}
        }
    }
    // A cycle still pending counts its pending time up to the last event read.
    if let Some(last) = events.last() {
        add_pending(&mut facts.cycles, pending_since, last.at);
    }
    facts.category = Some(category);
    facts
}

/// WhatsApp and email replies count once the channel took them (`delivery_changed`); replies on
/// the portal or through the API are there when written.
pub(crate) fn reaches_the_channel_later(channel: Channel) -> bool {
    matches!(channel, Channel::Whatsapp | Channel::Email)
}

fn count(cycles: &mut [Cycle], message_id: &str, reply: Outstanding, at: Timestamp) {
    let Some(cycle) = cycles.get_mut(reply.cycle) else { return };
    // It answers every wait that began before it was written and is still open.
    for wait in cycle.waits.iter_mut().filter(|wait| wait.to.is_none() && wait.from <= reply.written_at) {
        wait.to = Some(at);
        wait.answered_by = Some(reply.author);
    }
    cycle.replies.push(CountedReply {
        message_id: message_id.to_owned(),
        author: reply.author,
        channel: reply.channel,
        written_at: reply.written_at,
        counted_at: at,
    });
}

fn add_pending(cycles: &mut [Cycle], since: Option<Timestamp>, until: Timestamp) {
    if let (Some(since), Some(cycle)) = (since, cycles.last_mut()) {
        cycle.pending_ms += until.duration_since(since).as_millis() as i64;
    }
}

#[cfg(test)]
#[path = "reports/tests.rs"]
mod tests;
