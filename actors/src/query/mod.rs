//! The query language (DESIGN §6): one grammar for the ticket search box, saved views, automation
//! conditions and reports. This module owns the typed AST, its canonical printing, and the pure
//! step that turns date values into instant ranges in the account's time zone.
//!
//! The two steps are separate on purpose: [`parse`] knows no clock, so a saved view keeps meaning
//! "created today" rather than a frozen day, and [`resolve`] takes `now` and the zone so `today`
//! across a daylight-saving change is 23 or 25 hours long and is tested without a clock.
//!
//! Conventions the grammar leaves open, decided here:
//! - custom fields are written `field.<key>:` (DESIGN §6); the key is kept as written and checked
//!   against the account's custom fields by the caller, which knows them;
//! - enumerated values (status categories, priority and urgency/importance levels, channels, `sla`,
//!   `waiting`, `has`, `hours`) are validated and stored typed; free values (status names, tags,
//!   team, company, requester, type, category names) stay strings for the store to match without
//!   regard to case;
//! - a quoted value is always literal text: `tag:"none"` is the tag named none, `tag:none` is
//!   "has no tag";
//! - a single date is its whole period (`today` is the local day, `2026-11-01` that day, `this
//!   week` Monday to Monday); a relative date alone (`-7d`) means from then until now; a range
//!   `a..b` runs from the start of `a` to the end of `b`, and either side may be open.

pub mod filter;
mod parser;
#[cfg(test)]
mod tests;

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

use crate::domain::{Channel, Level, Priority, StatusCategory};

pub use parser::parse;

/// Terms are ANDed. Generic over the date value so a parsed query (`DateSpec`, relative to a
/// clock) and a resolved one (`InstantRange`) share one shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query<D = DateSpec> {
    pub terms: Vec<Term<D>>,
}

/// A query whose dates are instants: what the store filters with.
pub type ResolvedQuery = Query<InstantRange>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term<D = DateSpec> {
    /// `[-]field: v1,v2`: any of the values matches; `negated` inverts the whole condition.
    Field { negated: bool, field: Field, values: Vec<Value<D>> },
    /// A bare word: full-text.
    Word(String),
    /// A `"quoted phrase"`: full-text, words adjacent and in order.
    Phrase(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Status,
    Category,
    Priority,
    Urgency,
    Importance,
    Assignee,
    Team,
    Requester,
    Company,
    Channel,
    Tag,
    Type,
    Created,
    Updated,
    Resolved,
    Sla,
    Waiting,
    Has,
    Hours,
    /// `field.<key>`: a custom field, by its key.
    Custom(String),
}

impl Field {
    /// Every fixed field, in the order error messages list them.
    pub const FIXED: &'static [Field] = &[
        Field::Status,
        Field::Category,
        Field::Priority,
        Field::Urgency,
        Field::Importance,
        Field::Assignee,
        Field::Team,
        Field::Requester,
        Field::Company,
        Field::Channel,
        Field::Tag,
        Field::Type,
        Field::Created,
        Field::Updated,
        Field::Resolved,
        Field::Sla,
        Field::Waiting,
        Field::Has,
        Field::Hours,
    ];

    /// The prefix of a custom field's name: `field.order_number`.
    pub const CUSTOM_PREFIX: &'static str = "field.";

    pub fn name(&self) -> &str {
        match self {
            Field::Status => "status",
            Field::Category => "category",
            Field::Priority => "priority",
            Field::Urgency => "urgency",
            Field::Importance => "importance",
            Field::Assignee => "assignee",
            Field::Team => "team",
            Field::Requester => "requester",
            Field::Company => "company",
            Field::Channel => "channel",
            Field::Tag => "tag",
            Field::Type => "type",
            Field::Created => "created",
            Field::Updated => "updated",
            Field::Resolved => "resolved",
            Field::Sla => "sla",
            Field::Waiting => "waiting",
            Field::Has => "has",
            Field::Hours => "hours",
            Field::Custom(key) => key,
        }
    }

    /// `created`, `updated` and `resolved` take dates.
    pub fn is_date(&self) -> bool {
        matches!(self, Field::Created | Field::Updated | Field::Resolved)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Custom(key) => write!(f, "{}{key}", Field::CUSTOM_PREFIX),
            other => f.write_str(other.name()),
        }
    }
}

crate::domain::string_enum!(
    /// `sla:` — a ticket whose SLA clock has run out, or is about to.
    SlaCondition { Breached => "breached", AtRisk => "at_risk" }
);

crate::domain::string_enum!(
    /// `waiting:` — `agent`: the last public message is the customer's; `customer`: the agent's.
    WaitingOn { Agent => "agent", Customer => "customer" }
);

crate::domain::string_enum!(
    /// `has:` — the ticket carries at least one of these.
    HasThing { Attachment => "attachment", Note => "note" }
);

crate::domain::string_enum!(
    /// `hours:` — now is inside or outside the account's business hours.
    HoursCondition { Inside => "inside", Outside => "outside" }
);

/// One value of a field condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<D = DateSpec> {
    /// A free value (status name, tag, team, company, requester, type, category, custom field).
    Text(String),
    /// `status:` naming one of the five categories rather than a status.
    StatusCategory(StatusCategory),
    Priority(Priority),
    /// `urgency:` and `importance:`.
    Level(Level),
    Channel(Channel),
    Sla(SlaCondition),
    Waiting(WaitingOn),
    Has(HasThing),
    Hours(HoursCondition),
    /// `assignee: me`, `requester: me`: the user running the query.
    Me,
    /// `assignee: none`, `team: none`, …: the field is empty.
    None,
    /// `created:`, `updated:`, `resolved:`.
    Date(D),
}

/// A date value as written: one period, or a range whose sides may be open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateSpec {
    Single(DateBound),
    Range { from: Option<DateBound>, to: Option<DateBound> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateBound {
    Today,
    Yesterday,
    ThisWeek,
    /// `-7d`, `-12h`, `-2w`: that long before now (days and weeks on the local calendar).
    Ago {
        amount: i64,
        unit: AgoUnit,
    },
    Day(Date),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgoUnit {
    Hours,
    Days,
    Weeks,
}

/// Half-open `[start, end)`; `None` is unbounded on that side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstantRange {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl InstantRange {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start.is_none_or(|start| at >= start) && self.end.is_none_or(|end| at < end)
    }
}

/// Where a query stopped making sense: a char offset, what would have been accepted there and
/// what was there instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at {position}: expected {expected}, found {found}")]
pub struct QueryError {
    /// Offset in characters (not bytes) from the start of the query.
    pub position: usize,
    pub expected: String,
    pub found: String,
}

/// A date that cannot be placed on the time line (out of range for the zone).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the date {0} is out of range")]
pub struct ResolveError(pub String);

/// Turns every date value into instants, in `zone`, as seen at `now`. Everything else is copied.
pub fn resolve(query: &Query, now: Timestamp, zone: &TimeZone) -> Result<ResolvedQuery, ResolveError> {
    let now = now.to_zoned(zone.clone());
    let terms = query
        .terms
        .iter()
        .map(|term| {
            Ok(match term {
                Term::Word(word) => Term::Word(word.clone()),
                Term::Phrase(phrase) => Term::Phrase(phrase.clone()),
                Term::Field { negated, field, values } => Term::Field {
                    negated: *negated,
                    field: field.clone(),
                    values: values.iter().map(|value| resolve_value(value, &now)).collect::<Result<_, _>>()?,
                },
            })
        })
        .collect::<Result<_, ResolveError>>()?;
    Ok(Query { terms })
}

fn resolve_value(value: &Value, now: &Zoned) -> Result<Value<InstantRange>, ResolveError> {
    Ok(match value {
        Value::Text(text) => Value::Text(text.clone()),
        Value::StatusCategory(category) => Value::StatusCategory(*category),
        Value::Priority(priority) => Value::Priority(*priority),
        Value::Level(level) => Value::Level(*level),
        Value::Channel(channel) => Value::Channel(*channel),
        Value::Sla(sla) => Value::Sla(*sla),
        Value::Waiting(waiting) => Value::Waiting(*waiting),
        Value::Has(has) => Value::Has(*has),
        Value::Hours(hours) => Value::Hours(*hours),
        Value::Me => Value::Me,
        Value::None => Value::None,
        Value::Date(spec) => Value::Date(resolve_date(spec, now)?),
    })
}

fn resolve_date(spec: &DateSpec, now: &Zoned) -> Result<InstantRange, ResolveError> {
    match spec {
        DateSpec::Single(bound @ DateBound::Ago { .. }) => {
            Ok(InstantRange { start: Some(period(bound, now)?.0), end: Some(now.timestamp()) })
        }
        DateSpec::Single(bound) => {
            let (start, end) = period(bound, now)?;
            Ok(InstantRange { start: Some(start), end: Some(end) })
        }
        DateSpec::Range { from, to } => Ok(InstantRange {
            start: from.as_ref().map(|bound| period(bound, now).map(|(start, _)| start)).transpose()?,
            end: to.as_ref().map(|bound| period(bound, now).map(|(_, end)| end)).transpose()?,
        }),
    }
}

/// The instants a bound covers: a local day or week, or for `-7d` the single instant `now - 7d`.
fn period(bound: &DateBound, now: &Zoned) -> Result<(Timestamp, Timestamp), ResolveError> {
    let out_of_range = |_| ResolveError(bound.to_string());
    let zone = now.time_zone();
    let days = |first: Date, count: i64| -> Result<(Timestamp, Timestamp), ResolveError> {
        let start = first.to_zoned(zone.clone()).map_err(out_of_range)?;
        let end = first.checked_add(count.days()).and_then(|next| next.to_zoned(zone.clone())).map_err(out_of_range)?;
        Ok((start.timestamp(), end.timestamp()))
    };
    let today = now.date();
    match bound {
        DateBound::Today => days(today, 1),
        DateBound::Yesterday => days(today.yesterday().map_err(out_of_range)?, 1),
        DateBound::ThisWeek => {
            let monday =
                today.checked_sub(i64::from(today.weekday().to_monday_zero_offset()).days()).map_err(out_of_range)?;
            days(monday, 7)
        }
        DateBound::Day(date) => days(*date, 1),
        DateBound::Ago { amount, unit } => {
            let span = match unit {
                AgoUnit::Hours => amount.hours(),
                AgoUnit::Days => amount.days(),
                AgoUnit::Weeks => amount.weeks(),
            };
            let at = now.checked_sub(span).map_err(out_of_range)?.timestamp();
            Ok((at, at))
        }
    }
}

impl<D: fmt::Display> fmt::Display for Query<D> {
    /// The canonical form: lower-case field names, `field:v1,v2`, one space between terms. It
    /// parses back to an equal query.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, term) in self.terms.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{term}")?;
        }
        Ok(())
    }
}

impl<D: fmt::Display> fmt::Display for Term<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Word(word) => f.write_str(word),
            Term::Phrase(phrase) => write!(f, "\"{phrase}\""),
            Term::Field { negated, field, values } => {
                if *negated {
                    f.write_str("-")?;
                }
                write!(f, "{field}:")?;
                for (index, value) in values.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{value}")?;
                }
                Ok(())
            }
        }
    }
}

impl<D: fmt::Display> fmt::Display for Value<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) if parser::is_plain_text(text) => f.write_str(text),
            Value::Text(text) => write!(f, "\"{text}\""),
            Value::StatusCategory(category) => write!(f, "{category}"),
            Value::Priority(priority) => write!(f, "{priority}"),
            Value::Level(level) => write!(f, "{level}"),
            Value::Channel(channel) => write!(f, "{channel}"),
            Value::Sla(sla) => write!(f, "{sla}"),
            Value::Waiting(waiting) => write!(f, "{waiting}"),
            Value::Has(has) => write!(f, "{has}"),
            Value::Hours(hours) => write!(f, "{hours}"),
            Value::Me => f.write_str("me"),
            Value::None => f.write_str("none"),
            Value::Date(date) => write!(f, "{date}"),
        }
    }
}

impl fmt::Display for DateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateSpec::Single(bound) => write!(f, "{bound}"),
            DateSpec::Range { from, to } => {
                if let Some(from) = from {
                    write!(f, "{from}")?;
                }
                f.write_str("..")?;
                if let Some(to) = to {
                    write!(f, "{to}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for DateBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateBound::Today => f.write_str("today"),
            DateBound::Yesterday => f.write_str("yesterday"),
            DateBound::ThisWeek => f.write_str("this week"),
            DateBound::Ago { amount, unit } => {
                let unit = match unit {
                    AgoUnit::Hours => 'h',
                    AgoUnit::Days => 'd',
                    AgoUnit::Weeks => 'w',
                };
                write!(f, "-{amount}{unit}")
            }
            DateBound::Day(date) => write!(f, "{date}"),
        }
    }
}

impl fmt::Display for InstantRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(start) = self.start {
            write!(f, "{start}")?;
        }
        f.write_str("..")?;
        if let Some(end) = self.end {
            write!(f, "{end}")?;
        }
        Ok(())
    }
}
