//! The query grammar's parser: characters to [`Query`], with errors that say where (a char
//! offset), what would have been accepted and what was there.

use std::str::FromStr;

use jiff::civil::Date;

use super::{
    AgoUnit, DateBound, DateSpec, Field, HasThing, HoursCondition, Query, QueryError, SlaCondition, Term, Value,
    WaitingOn,
};
use crate::domain::{Channel, Level, Priority, StatusCategory};

/// Parses a query as typed in the search box. Field names and enumerated values are
/// case-insensitive; free values keep their case.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    Parser { chars: text.chars().collect(), at: 0 }.query()
}

/// A free value that prints without quotes and parses back as the same text.
pub(super) fn is_plain_text(text: &str) -> bool {
    !text.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || matches!(c, ',' | '"' | ':'))
        && !text.eq_ignore_ascii_case("me")
        && !text.eq_ignore_ascii_case("none")
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

/// A value as it appeared: its text, where it started, and whether it was quoted.
struct RawValue {
    text: String,
    position: usize,
    quoted: bool,
}

impl Parser {
    fn query(mut self) -> Result<Query, QueryError> {
        let mut terms = Vec::new();
        loop {
            self.skip_whitespace();
            let Some(c) = self.peek() else { break };
            if c == '"' {
                let phrase = self.quoted()?;
                terms.push(Term::Phrase(phrase));
                continue;
            }
            let start = self.at;
            let word = self.run(|c| !c.is_whitespace() && c != ':' && c != '"');
            match self.peek() {
                Some(':') => {
                    self.at += 1;
                    terms.push(self.field_term(start, &word)?);
                }
                Some('"') => return Err(self.error("whitespace before a quoted phrase")),
                _ => terms.push(Term::Word(word)),
            }
        }
        Ok(Query { terms })
    }

    fn field_term(&mut self, start: usize, name: &str) -> Result<Term, QueryError> {
        let (negated, name_at, name) = match name.strip_prefix('-') {
            Some(rest) => (true, start + 1, rest),
            None => (false, start, name),
        };
        let field = field_named(name).ok_or_else(|| QueryError {
            position: name_at,
            expected: expected_field(),
            found: format!("\"{name}\""),
        })?;
        let after = format!("a value after \"{}{field}:\"", if negated { "-" } else { "" });
        let mut values = vec![self.value(&field, &after)?];
        while self.peek() == Some(',') {
            self.at += 1;
            self.skip_whitespace();
            values.push(self.value(&field, "a value after \",\"")?);
        }
        Ok(Term::Field { negated, field, values })
    }

    fn value(&mut self, field: &Field, expected: &str) -> Result<Value, QueryError> {
        self.skip_whitespace();
        let raw = match self.peek() {
            None | Some(',') => return Err(self.error(expected)),
            Some('"') => {
                let position = self.at;
                RawValue { text: self.quoted()?, position, quoted: true }
            }
            Some(_) => {
                let position = self.at;
                let mut text = self.run(|c| !c.is_whitespace() && !matches!(c, ',' | '"' | ':'));
                if self.peek() == Some(':') {
                    return Err(QueryError { position, expected: expected.to_owned(), found: format!("\"{text}:\"") });
                }
                if field.is_date() && text.to_ascii_lowercase().ends_with("this") {
                    self.join_this_week(&mut text);
                }
                RawValue { text, position, quoted: false }
            }
        };
        match self.peek() {
            None | Some(',') => {}
            Some(c) if c.is_whitespace() => {}
            Some(_) => return Err(self.error("whitespace or \",\" after a value")),
        }
        typed_value(field, raw)
    }

    /// `this week` is the one date value with a space in it.
    fn join_this_week(&mut self, text: &mut String) {
        let rest: String = self.chars[self.at..].iter().collect();
        let trimmed = rest.trim_start();
        if trimmed.len() >= 4 && trimmed[..4].eq_ignore_ascii_case("week") {
            self.skip_whitespace();
            text.push(' ');
            text.push_str(&self.run(|c| !c.is_whitespace() && !matches!(c, ',' | '"' | ':')));
        }
    }

    /// A `"…"` string; the opening quote is at the cursor.
    fn quoted(&mut self) -> Result<String, QueryError> {
        let open = self.at;
        self.at += 1;
        let text = self.run(|c| c != '"');
        if self.peek().is_none() {
            return Err(QueryError {
                position: open,
                expected: "a closing '\"' for the quote opened here".to_owned(),
                found: "end of query".to_owned(),
            });
        }
        self.at += 1;
        Ok(text)
    }

    fn run(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn skip_whitespace(&mut self) {
        self.run(char::is_whitespace);
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn error(&self, expected: &str) -> QueryError {
        let found = match self.peek() {
            None => "end of query".to_owned(),
            Some(c) => format!("\"{c}\""),
        };
        QueryError { position: self.at, expected: expected.to_owned(), found }
    }
}

fn field_named(name: &str) -> Option<Field> {
    let lower = name.to_ascii_lowercase();
    if let Some(key) = lower.strip_prefix(Field::CUSTOM_PREFIX) {
        let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        return valid.then(|| Field::Custom(key.to_owned()));
    }
    Field::FIXED.iter().find(|field| field.name() == lower).cloned()
}

fn expected_field() -> String {
    let names: Vec<&str> = Field::FIXED.iter().map(Field::name).collect();
    format!("a field ({}, or field.<key>)", names.join(", "))
}

/// Checks a value against its field: enumerated fields take only their variants, dates must be
/// dates, `me` and `none` only where they mean something.
fn typed_value(field: &Field, raw: RawValue) -> Result<Value, QueryError> {
    let lower = raw.text.to_lowercase();
    let keyword = |word: &str| !raw.quoted && lower == word;
    let takes_none = matches!(
        field,
        Field::Assignee | Field::Team | Field::Company | Field::Category | Field::Tag | Field::Type | Field::Custom(_)
    );
    if keyword("me") && matches!(field, Field::Assignee | Field::Requester) {
        return Ok(Value::Me);
    }
    if keyword("none") && takes_none {
        return Ok(Value::None);
    }
    let one_of = |names: Vec<&str>| QueryError {
        position: raw.position,
        expected: format!("one of {} after \"{field}:\"", names.join(", ")),
        found: format!("\"{}\"", raw.text),
    };
    let names = |all: &[&'static str]| all.to_vec();
    Ok(match field {
        Field::Status => match StatusCategory::from_str(&lower) {
            Ok(category) => Value::StatusCategory(category),
            Err(_) => Value::Text(raw.text),
        },
        Field::Priority => Value::Priority(
            Priority::from_str(&lower).map_err(|_| one_of(Priority::ALL.iter().map(|p| p.as_str()).collect()))?,
        ),
        Field::Urgency | Field::Importance => {
            Value::Level(Level::from_str(&lower).map_err(|_| one_of(Level::ALL.iter().map(|l| l.as_str()).collect()))?)
        }
        Field::Channel => Value::Channel(
            Channel::from_str(&lower).map_err(|_| one_of(Channel::ALL.iter().map(|c| c.as_str()).collect()))?,
        ),
        Field::Sla => Value::Sla(SlaCondition::from_str(&lower).map_err(|_| one_of(names(&["breached", "at_risk"])))?),
        Field::Waiting => {
            Value::Waiting(WaitingOn::from_str(&lower).map_err(|_| one_of(names(&["agent", "customer"])))?)
        }
        Field::Has => Value::Has(HasThing::from_str(&lower).map_err(|_| one_of(names(&["attachment", "note"])))?),
        Field::Hours => {
            Value::Hours(HoursCondition::from_str(&lower).map_err(|_| one_of(names(&["inside", "outside"])))?)
        }
        Field::Created | Field::Updated | Field::Resolved => Value::Date(date_spec(field, &raw)?),
        Field::Category
        | Field::Assignee
        | Field::Team
        | Field::Requester
        | Field::Company
        | Field::Tag
        | Field::Type
        | Field::Custom(_) => Value::Text(raw.text),
    })
}

fn date_spec(field: &Field, raw: &RawValue) -> Result<DateSpec, QueryError> {
    let text = raw.text.to_lowercase();
    let Some((from, to)) = text.split_once("..") else {
        return Ok(DateSpec::Single(date_bound(field, &text, raw.position)?));
    };
    if from.is_empty() && to.is_empty() {
        return Err(bad_date(field, "..", raw.position));
    }
    let to_at = raw.position + from.chars().count() + 2;
    let from = (!from.is_empty()).then(|| date_bound(field, from, raw.position)).transpose()?;
    let to = (!to.is_empty()).then(|| date_bound(field, to, to_at)).transpose()?;
    Ok(DateSpec::Range { from, to })
}

fn date_bound(field: &Field, text: &str, position: usize) -> Result<DateBound, QueryError> {
    match text {
        "today" => return Ok(DateBound::Today),
        "yesterday" => return Ok(DateBound::Yesterday),
        "this week" => return Ok(DateBound::ThisWeek),
        _ => {}
    }
    if let Some(ago) = text.strip_prefix('-') {
        let unit = match ago.chars().last() {
            Some('h') => Some(AgoUnit::Hours),
            Some('d') => Some(AgoUnit::Days),
            Some('w') => Some(AgoUnit::Weeks),
            _ => None,
        };
        let amount = ago.get(..ago.len().saturating_sub(1)).and_then(|digits| digits.parse::<i64>().ok());
        if let (Some(unit), Some(amount)) = (unit, amount)
            && (0..=100_000).contains(&amount)
        {
            return Ok(DateBound::Ago { amount, unit });
        }
        return Err(bad_date(field, text, position));
    }
    let is_iso_shape = text.len() == 10
        && text.chars().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
    match Date::from_str(text) {
        Ok(date) if is_iso_shape => Ok(DateBound::Day(date)),
        _ => Err(bad_date(field, text, position)),
    }
}

fn bad_date(field: &Field, text: &str, position: usize) -> QueryError {
    QueryError {
        position,
        expected: format!(
            "a date after \"{field}:\" (today, yesterday, this week, -7d, -12h, -2w, 2026-11-01, or a range a..b)"
        ),
        found: format!("\"{text}\""),
    }
}
