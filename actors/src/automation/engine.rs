//! The pure rules of running automations: which triggers committed events raise, whether a
//! rule's queries match a ticket now, how a ticket's time-rule waits follow its state, and what
//! ticket commands a rule's actions are. The TicketActor sequences them with its commits.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::domain::{EventKind, MessageKind, WindowState};
use crate::query::filter::Test;
use crate::store::{TimerChange, TimerOwner};
use crate::ticket::{Assignment, TicketCommand, TicketPatch};

/// Time-rule timers are named `automation:<rule id>`.
pub const TIMER_PREFIX: &str = "automation:";

pub fn timer_name(rule: RuleId) -> String {
    format!("{TIMER_PREFIX}{rule}")
}

/// The rule a time-rule timer belongs to.
pub fn rule_of_timer(name: &str) -> Option<RuleId> {
    name.strip_prefix(TIMER_PREFIX)?.parse().ok()
}

/// The triggers committed events raise.
pub fn triggers_of(events: &[TicketEvent]) -> BTreeSet<TriggerEvent> {
    let mut triggers = BTreeSet::new();
    for event in events {
        let trigger = match &event.kind {
            EventKind::Created { .. } => Some(TriggerEvent::TicketCreated),
            EventKind::MessageAdded { message, .. } => match message.kind {
                MessageKind::Customer => Some(TriggerEvent::CustomerReplied),
                // A satisfaction survey is the hub asking, not an agent answering.
                MessageKind::Reply if crate::csat::is_survey_message(message) => None,
                MessageKind::Reply => Some(TriggerEvent::AgentReplied),
                MessageKind::Note | MessageKind::System => None,
            },
            EventKind::StatusChanged { .. } => Some(TriggerEvent::StatusChanged),
            EventKind::PriorityChanged { .. } => Some(TriggerEvent::PriorityChanged),
            EventKind::Assigned { .. } => Some(TriggerEvent::Assigned),
            EventKind::TagsChanged { added, .. } if !added.is_empty() => Some(TriggerEvent::TagAdded),
            EventKind::SlaWarning { .. } => Some(TriggerEvent::SlaWarning),
            EventKind::SlaBreached { .. } => Some(TriggerEvent::SlaBreached),
            EventKind::WindowChanged { window: WindowState::Closing { .. } } => Some(TriggerEvent::WindowClosing),
            // Only a low rating is news a rule acts on (alert a supervisor, follow up).
            EventKind::CsatReceived(rating) if rating.score <= crate::csat::LOW_SCORE => {
                Some(TriggerEvent::CsatReceived)
            }
            _ => None,
        };
        triggers.extend(trigger);
    }
    // A ticket split off another is the same conversation's continuation, not a new contact:
    // `ticket_created` rules (acknowledgements) do not greet it again.
    if events.iter().any(|event| matches!(event.kind, EventKind::SplitFrom { .. })) {
        triggers.remove(&TriggerEvent::TicketCreated);
    }
    triggers
}

/// `filter` judged at `now`: the SLA and business-hours tests move with time, so a rule
/// compiled when it was saved is brought to the moment it is evaluated.
pub fn judged_at(filter: &TicketFilter, now: Timestamp, hours: Option<&BusinessHours>) -> TicketFilter {
    let mut judged = filter.clone();
    let inside = hours.is_none_or(|hours| hours.is_open(now));
    for condition in &mut judged.conditions {
        match &mut condition.test {
            Test::Sla { now: at, .. } => *at = now,
            Test::Hours { inside: at, .. } => *at = inside,
            _ => {}
        }
    }
    judged
}

/// Whether `filter` matches `ticket` at `now` (a filter needing messages never matches: such
/// queries are refused when a rule is saved).
pub fn matches_now(filter: &TicketFilter, ticket: &Ticket, now: Timestamp, hours: Option<&BusinessHours>) -> bool {
    judged_at(filter, now, hours).matches(ticket).unwrap_or(false)
}

impl CompiledRule {
    /// Whether the rule's `if` (if any) matches the ticket now.
    pub fn condition_matches(&self, ticket: &Ticket, now: Timestamp, hours: Option<&BusinessHours>) -> bool {
        self.condition.as_ref().is_none_or(|filter| matches_now(filter, ticket, now, hours))
    }

    /// For a time rule: whether the ticket matches its `while` now.
    pub fn while_matches(&self, ticket: &Ticket, now: Timestamp, hours: Option<&BusinessHours>) -> bool {
        match &self.trigger {
            CompiledTrigger::Time { while_filter, .. } => matches_now(while_filter, ticket, now, hours),
            CompiledTrigger::Event(_) => false,
        }
    }

    /// When a wait that started at `since` is due: `for` later, counted in business hours for
    /// `hours: business` (calendar time when the account has none).
    pub fn due_after(&self, since: Timestamp, hours: Option<&BusinessHours>) -> Option<Timestamp> {
        match &self.trigger {
            CompiledTrigger::Time { wait, hours: HoursMode::Business, .. } if hours.is_some() => {
                hours.map(|hours| hours.add(since, *wait))
            }
            CompiledTrigger::Time { wait, .. } => since.checked_add(*wait).ok(),
            CompiledTrigger::Event(_) => None,
        }
    }
}

/// Brings the ticket's time-rule waits in line with its state at `now`: a wait starts when the
/// ticket starts matching a rule's `while` and ends when it stops (the wait restarts); a wait of
/// a rule that is gone or disabled ends. Answers the timer changes to commit with the state.
pub fn follow_waits(ticket: &mut Ticket, rules: &AccountRules, now: Timestamp) -> Vec<TimerChange> {
    let hours = rules.business_hours.as_ref();
    let owner = TimerOwner::new(crate::ticket::TIMER_KIND, ticket.id);
    let timer =
        |rule: RuleId, due_at: Option<Timestamp>| TimerChange { owner: owner.clone(), name: timer_name(rule), due_at };
    let mut changes = Vec::new();
    let waits = &mut ticket.automations.waits;
    waits.retain(|rule_id, wait| {
        let keep = rules.rule(*rule_id).is_some_and(|rule| matches!(rule.trigger, CompiledTrigger::Time { .. }));
        if !keep && !wait.fired {
            changes.push(timer(*rule_id, None));
        }
        keep
    });
    let view = ticket.clone();
    for rule in &rules.rules {
        if !matches!(rule.trigger, CompiledTrigger::Time { .. }) {
            continue;
        }
        let id = rule.rule.id;
        let matching = rule.while_matches(&view, now, hours);
        match (matching, ticket.automations.waits.get(&id).copied()) {
            (true, None) => {
                let Some(due_at) = rule.due_after(now, hours) else { continue };
                ticket.automations.waits.insert(id, AutomationWait { since: now, due_at, fired: false });
                changes.push(timer(id, Some(due_at)));
            }
            (true, Some(wait)) if !wait.fired => {
                // The rule's `for` may have been edited since the wait started.
                if let Some(due_at) = rule.due_after(wait.since, hours).filter(|due| *due != wait.due_at) {
                    ticket.automations.waits.insert(id, AutomationWait { due_at, ..wait });
                    changes.push(timer(id, Some(due_at)));
                }
            }
            (true, Some(_)) => {}
            (false, Some(wait)) => {
                ticket.automations.waits.remove(&id);
                if !wait.fired {
                    changes.push(timer(id, None));
                }
            }
            (false, None) => {}
        }
    }
    changes
}

/// A rule's action as the TicketActor performs it.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A command to decide on the ticket as the previous steps left it.
    Command(TicketCommand),
    /// A notification, recorded in the run (the notifier sends it).
    Notify(AutomationNotice),
    /// A reply the server composes (channel rules, the WhatsApp window).
    Reply { reply: ReplyContent, template: Option<serde_json::Value> },
    /// Performed by the server once the run committed.
    Webhook,
}

/// What `action` does on `ticket` (as the earlier actions of the run left it).
pub fn step_of(action: &Action, ticket: &Ticket) -> Step {
    let reason = Some("automation".to_owned());
    match action {
        Action::Assign { assign } => {
            let (assignee_id, team_id) = match assign {
                AssignTarget::Auto(_) => (None, ticket.team_id),
                AssignTarget::Agent { agent_id } => (Some(*agent_id), ticket.team_id),
                AssignTarget::Team { team_id } => (None, Some(*team_id)),
            };
            Step::Command(TicketCommand::Assign(Assignment { assignee_id, team_id, reason, explanation: None }))
        }
        Action::Set { set } => match set.team_id {
            // A team change is an assignment (it keeps the assignee), the rest a patch.
            Some(team_id) if set.status.is_none() && set.urgency.is_none() && set.importance.is_none() => {
                Step::Command(TicketCommand::Assign(Assignment {
                    assignee_id: ticket.assignee_id,
                    team_id: Some(team_id),
                    reason,
                    explanation: None,
                }))
            }
            _ => Step::Command(TicketCommand::Update(TicketPatch {
                status: set.status.clone(),
                urgency: set.urgency,
                importance: set.importance,
                ticket_type: set.ticket_type.clone().map(Some),
                ..TicketPatch::default()
            })),
        },
        Action::AddTags { add_tags } => {
            Step::Command(TicketCommand::Update(TicketPatch { add_tags: add_tags.clone(), ..TicketPatch::default() }))
        }
        Action::RemoveTags { remove_tags } => Step::Command(TicketCommand::Update(TicketPatch {
            remove_tags: remove_tags.clone(),
            ..TicketPatch::default()
        })),
        Action::Notify { notify, message } => {
            Step::Notify(AutomationNotice { target: notify.clone(), message: message.clone() })
        }
        Action::Reply { reply, template } => Step::Reply { reply: reply.clone(), template: template.clone() },
        Action::Note { note } => {
            Step::Command(TicketCommand::AddMessage(NewMessage::text(MessageKind::Note, note.clone())))
        }
        Action::Webhook { .. } => Step::Webhook,
    }
}

/// A `set` with a team and other fields is two commands: the patch, then the team.
pub fn team_after_patch(action: &Action, ticket: &Ticket) -> Option<TicketCommand> {
    match action {
        Action::Set { set }
            if set.team_id.is_some() && (set.status.is_some() || set.urgency.is_some() || set.importance.is_some()) =>
        {
            Some(TicketCommand::Assign(Assignment {
                assignee_id: ticket.assignee_id,
                team_id: set.team_id,
                reason: Some("automation".to_owned()),
                explanation: None,
            }))
        }
        _ => None,
    }
}

/// How late a run at `now` is for its due time: `None` when within [`LATE_AFTER`].
pub fn late_by(due_at: Timestamp, now: Timestamp) -> Option<SignedDuration> {
    let late = now.duration_since(due_at);
    (late > LATE_AFTER).then_some(late)
}
