//! A query made concrete for one account and one caller: names are ids, dates are instants,
//! `me` is a user, `hours:` is already true or false. This is what the store filters with (the
//! ticket list, saved views, their counts) and, with [`TicketFilter::matches`], what a view
//! decides about one ticket in memory. It is produced by the search service, which knows the
//! account's teams, people and settings; nothing here touches a store or a clock.

use jiff::Timestamp;

use super::{HasThing, HoursCondition, InstantRange, SlaCondition, WaitingOn};
use crate::domain::{
    CategoryId, Channel, CompanyId, FieldType, Level, Priority, StatusCategory, TeamId, Ticket, TicketId, UserId,
};

/// Conditions are ANDed; within one condition any value matches. `words` and `phrases` are
/// full-text: each must appear in the subject or a message (notes only for staff).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketFilter {
    pub conditions: Vec<Condition>,
    pub words: Vec<String>,
    pub phrases: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// `-field:` — true when the test is not (a ticket with no team matches `-team: Billing`).
    pub negated: bool,
    pub test: Test,
}

/// One field's test. `None` in a list means "the field is empty" (`team: none`).
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// Status keys or whole categories: a ticket matches either.
    Status {
        keys: Vec<String>,
        categories: Vec<StatusCategory>,
    },
    /// Category ids, each with its descendants already included.
    Category(Vec<Option<CategoryId>>),
    Priority(Vec<Priority>),
    Urgency(Vec<Level>),
    Importance(Vec<Level>),
    Assignee(Vec<Option<UserId>>),
    Team(Vec<Option<TeamId>>),
    Requester(Vec<UserId>),
    Company(Vec<Option<CompanyId>>),
    Channel(Vec<Channel>),
    /// Lower-case tags; `None`: no tag at all.
    Tag(Vec<Option<String>>),
    /// Lower-case ticket types.
    Type(Vec<Option<String>>),
    Created(Vec<InstantRange>),
    Updated(Vec<InstantRange>),
    /// `None`: not resolved.
    Resolved(Vec<Option<InstantRange>>),
    /// Judged at `now`: `breached` once the earliest running clock is due, `at_risk` between its
    /// warning and its due time.
    Sla {
        conditions: Vec<SlaCondition>,
        now: Timestamp,
    },
    Waiting(Vec<WaitingOn>),
    Has(Vec<HasThing>),
    /// A custom field by key; values compared as lower-case text (`true`/`false` for booleans).
    Custom {
        key: String,
        field_type: FieldType,
        values: Vec<Option<String>>,
    },
    /// These tickets only: a view asking about the tickets a change touched.
    Ids(Vec<TicketId>),
    /// `hours:` — whether now is inside the account's business hours (`inside`, decided when
    /// the query was compiled; automation re-judges it when it evaluates a rule).
    Hours {
        wanted: Vec<HoursCondition>,
        inside: bool,
    },
    /// Decided when the query was resolved (a name nothing has).
    Always(bool),
}

impl TicketFilter {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.words.is_empty() && self.phrases.is_empty()
    }

    pub fn and(&mut self, test: Test) -> &mut Self {
        self.conditions.push(Condition { negated: false, test });
        self
    }

    /// Whether the filter needs the ticket's messages to decide (full text, `has:`): those
    /// conditions are for the store, [`matches`](Self::matches) cannot judge them.
    pub fn needs_messages(&self) -> bool {
        !self.words.is_empty()
            || !self.phrases.is_empty()
            || self.conditions.iter().any(|condition| matches!(condition.test, Test::Has(_)))
    }

    /// Whether `ticket` passes every condition; `None` when that needs its messages
    /// ([`needs_messages`](Self::needs_messages)).
    pub fn matches(&self, ticket: &Ticket) -> Option<bool> {
        if self.needs_messages() {
            return None;
        }
        Some(self.conditions.iter().all(|condition| condition.test.matches(ticket) != condition.negated))
    }
}

impl Test {
    /// The in-memory twin of the store's SQL for the same test (the store conformance suite
    /// checks both agree). `Has` needs messages and is false here.
    pub fn matches(&self, ticket: &Ticket) -> bool {
        let lower = |text: &str| text.to_lowercase();
        match self {
            Test::Status { keys, categories } => {
                keys.contains(&ticket.status) || categories.contains(&ticket.status_category)
            }
            Test::Category(ids) => ids.contains(&ticket.category_id),
            Test::Priority(priorities) => priorities.contains(&ticket.priority),
            Test::Urgency(levels) => levels.contains(&ticket.urgency),
            Test::Importance(levels) => levels.contains(&ticket.importance),
            Test::Assignee(users) => users.contains(&ticket.assignee_id),
            Test::Team(teams) => teams.contains(&ticket.team_id),
            Test::Requester(users) => users.contains(&ticket.requester_id),
            Test::Company(companies) => companies.contains(&ticket.company_id),
            Test::Channel(channels) => channels.contains(&ticket.channel),
            Test::Tag(tags) => tags.iter().any(|tag| match tag {
                Some(tag) => ticket.tags.iter().any(|have| lower(have) == *tag),
                None => ticket.tags.is_empty(),
            }),
            Test::Type(types) => types.contains(&ticket.ticket_type.as_deref().map(lower)),
            Test::Created(ranges) => ranges.iter().any(|range| range.contains(ticket.created_at)),
            Test::Updated(ranges) => ranges.iter().any(|range| range.contains(ticket.updated_at)),
            Test::Resolved(ranges) => ranges.iter().any(|range| match (range, ticket.resolved_at) {
                (Some(range), Some(at)) => range.contains(at),
                (None, None) => true,
                _ => false,
            }),
            Test::Sla { conditions, now } => {
                let (due, warn) = (ticket.sla_due_at(), ticket.sla.as_ref().and_then(|sla| sla.warn_at()));
                conditions.iter().any(|condition| match condition {
                    SlaCondition::Breached => due.is_some_and(|due| due <= *now),
                    SlaCondition::AtRisk => due.is_some_and(|due| due > *now) && warn.is_some_and(|warn| warn <= *now),
                })
            }
            Test::Waiting(sides) => sides.iter().any(|side| waiting_on(ticket) == Some(*side)),
            Test::Has(_) => false,
            Test::Custom { key, field_type, values } => {
                let have = ticket.custom_fields.get(key).and_then(|value| custom_text(value, *field_type));
                values.contains(&have)
            }
            Test::Ids(ids) => ids.contains(&ticket.id),
            Test::Hours { wanted, inside } => hours_match(wanted, *inside),
            Test::Always(answer) => *answer,
        }
    }
}

/// Whether `hours:` with these values holds when now is (or is not) inside business hours.
pub fn hours_match(wanted: &[HoursCondition], inside: bool) -> bool {
    wanted.iter().any(|condition| match condition {
        HoursCondition::Inside => inside,
        HoursCondition::Outside => !inside,
    })
}

/// Who the ticket waits on: the side that did not write the last public message.
pub fn waiting_on(ticket: &Ticket) -> Option<WaitingOn> {
    match (ticket.last_customer_message_at, ticket.last_agent_message_at) {
        (Some(customer), Some(agent)) if customer > agent => Some(WaitingOn::Agent),
        (Some(_), None) => Some(WaitingOn::Agent),
        (_, Some(_)) => Some(WaitingOn::Customer),
        (None, None) => None,
    }
}

/// A custom field's value as the text a query compares it with; `None` for null.
pub fn custom_text(value: &serde_json::Value, field_type: FieldType) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.to_lowercase()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        serde_json::Value::Number(number) if field_type == FieldType::Number => {
            Some(number.as_f64().map_or_else(|| number.to_string(), format_number))
        }
        other => Some(other.to_string().to_lowercase()),
    }
}

/// `3`, `3.5`: a number as the query writes it (no trailing `.0`).
pub fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 { format!("{}", number as i64) } else { number.to_string() }
}
