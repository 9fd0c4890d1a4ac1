//! A [`TicketFilter`] as SQL over `tickets t`: a list of pieces — SQL text and values to bind —
//! that the backends' query builders replay, so the translation is written once, without a bound
//! per column type, and is readable as plain SQL. What differs between SQLite and PostgreSQL
//! (reading a JSON field, the full-text indexes: FTS5 on SQLite, `tsvector` on PostgreSQL) is a
//! [`Dialect`] switch here.

use std::borrow::Cow;

use switchboard_actors::domain::FieldType;
use switchboard_actors::query::filter::{Condition, Test, TicketFilter};
use switchboard_actors::query::{HasThing, InstantRange, SlaCondition, WaitingOn};
use switchboard_actors::store::{TicketQuery, TicketSort};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The dialect of each sqlx backend, for the shared SQL macros.
pub trait HasDialect: sqlx::Database {
    const DIALECT: Dialect;

    /// ` AND <column> IN <tickets>` with the list bound as one value however many tickets (a
    /// filter may match most of an account): a JSON array on SQLite, an array or a bitmap of
    /// the ids' span on PostgreSQL. A long list is a filter tested row by row along the
    /// period's or the metric's index: both planners would otherwise look each ticket up by its
    /// index, one random read per ticket, several times slower at 66,000 tickets (issue 15's
    /// measurements); a short one may drive the read. The statement must not be kept prepared
    /// (`persistent(false)`), so PostgreSQL plans it with the list's value.
    fn push_ticket_list(select: &mut sqlx::QueryBuilder<Self>, column: &str, tickets: &[i64]);

    /// An aggregate of `tickets t` that gives their ids as one value, in order (a filter may
    /// match most of an account: one row, not a row per ticket), read by [`ticket_ids_of`].
    ///
    /// [`ticket_ids_of`]: HasDialect::ticket_ids_of
    const TICKET_IDS: &'static str;

    /// The ids [`TICKET_IDS`](HasDialect::TICKET_IDS) selected, the row's first column.
    fn ticket_ids_of(row: &Self::Row) -> Result<Vec<i64>, sqlx::Error>;
}

/// The integers of a `string_agg(…, ',')` (none for an empty text).
pub fn comma_integers(text: &str) -> Result<Vec<i64>, std::num::ParseIntError> {
    text.split(',').filter(|item| !item.is_empty()).map(str::parse).collect()
}

/// Up to this many tickets, the planner may read a list's tickets by their index.
const LOOKED_UP: usize = 2_000;
/// The widest span of ticket ids a list is sent as a bitmap for on PostgreSQL (8 MiB).
const TICKET_BITMAP_BITS: u64 = 64 << 20;

impl HasDialect for sqlx::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    const TICKET_IDS: &'static str = "COALESCE(string_agg(CAST(t.id AS TEXT), ',' ORDER BY t.id), '')";

    fn ticket_ids_of(row: &Self::Row) -> Result<Vec<i64>, sqlx::Error> {
        use sqlx::Row;
        let ids: String = row.try_get(0)?;
        comma_integers(&ids).map_err(|error| sqlx::Error::Decode(Box::new(error)))
    }

    fn push_ticket_list(select: &mut sqlx::QueryBuilder<Self>, column: &str, tickets: &[i64]) {
        if tickets.is_empty() {
            select.push(" AND 1 = 0");
            return;
        }
        let ids = tickets.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        // A unary `+` keeps SQLite from using an index for the term.
        let column = if tickets.len() <= LOOKED_UP { column.to_owned() } else { format!("+{column}") };
        select.push(format!(" AND {column} IN (SELECT value FROM json_each(")).push_bind(format!("[{ids}]"));
        select.push("))");
    }
}

impl HasDialect for sqlx::Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    // An array, sent binary: half the time of the text aggregate at 66,000 tickets.
    const TICKET_IDS: &'static str = "array_agg(t.id ORDER BY t.id)";

    fn ticket_ids_of(row: &Self::Row) -> Result<Vec<i64>, sqlx::Error> {
        use sqlx::Row;
        // No ticket: NULL.
        Ok(row.try_get::<Option<Vec<i64>>, _>(0)?.unwrap_or_default())
    }

    fn push_ticket_list(select: &mut sqlx::QueryBuilder<Self>, column: &str, tickets: &[i64]) {
        if tickets.is_empty() {
            select.push(" AND 1 = 0");
            return;
        }
        if tickets.len() <= LOOKED_UP {
            select.push(format!(" AND {column} = ANY(")).push_bind(tickets.to_vec());
            select.push(")");
            return;
        }
        let (low, high) = (tickets.iter().copied().min().unwrap_or(0), tickets.iter().copied().max().unwrap_or(0));
        let span = u64::try_from(high - low).unwrap_or(u64::MAX);
        if span >= TICKET_BITMAP_BITS {
            // `= ANY` of a constant array is hashed once per statement, but planning it costs
            // ~25 ms at 66,000 ids (PostgreSQL estimates each element's selectivity);
            // `+ 0` keeps the index out.
            select.push(format!(" AND ({column} + 0) = ANY(")).push_bind(tickets.to_vec());
            select.push(")");
            return;
        }
        // A bitmap of the ids from the lowest: one bit tested per row, nothing to plan per id
        // and no hash table to build (issue 15: a filtered summary's reads at 66,000 tickets
        // 1.5–2× faster than with `= ANY`). The `CASE` keeps `get_bit` within the map and, as
        // an expression without statistics compared with `<>`, tells the planner most rows
        // pass (it then aggregates by hashing, not by sorting 400,000 rows).
        let mut bits = vec![0u8; (span / 8 + 1) as usize];
        for ticket in tickets {
            let bit = (ticket - low) as usize;
            bits[bit / 8] |= 1 << (bit % 8);
        }
        select.push(format!(" AND CASE WHEN {column} BETWEEN ")).push_bind(low);
        select.push(" AND ").push_bind(high);
        select.push(" THEN get_bit(").push_bind(bits);
        select.push(format!(", {column} - ")).push_bind(low);
        select.push(") ELSE 0 END <> 0");
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Sql(Cow<'static, str>),
    Int(i64),
    Float(f64),
    Text(String),
}

/// Pieces of SQL, each condition starting with ` AND `.
#[derive(Clone, Debug, Default)]
pub struct Fragment {
    pieces: Vec<Piece>,
}

impl Fragment {
    pub fn pieces(self) -> Vec<Piece> {
        self.pieces
    }

    fn sql(&mut self, text: impl Into<Cow<'static, str>>) -> &mut Self {
        self.pieces.push(Piece::Sql(text.into()));
        self
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.pieces.push(Piece::Int(value));
        self
    }

    fn text(&mut self, value: impl Into<String>) -> &mut Self {
        self.pieces.push(Piece::Text(value.into()));
        self
    }

    /// `column IN (v1, v2)`, or false for an empty list.
    fn any_of<T>(&mut self, column: &'static str, values: &[T], bind: impl Fn(&mut Self, &T)) -> &mut Self {
        if values.is_empty() {
            return self.sql("1 = 0");
        }
        self.sql(column).sql(" IN (");
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                self.sql(", ");
            }
            bind(self, value);
        }
        self.sql(")")
    }

    /// `(column IN (…) OR column IS NULL)` for a list where `None` means "empty".
    fn any_of_optional(&mut self, column: &'static str, values: &[Option<i64>]) -> &mut Self {
        let present: Vec<i64> = values.iter().flatten().copied().collect();
        self.sql("(");
        self.any_of(column, &present, |f, value| {
            f.int(*value);
        });
        if values.contains(&None) {
            self.sql(" OR ").sql(column).sql(" IS NULL");
        }
        self.sql(")")
    }

    fn any_range(&mut self, column: &'static str, ranges: &[Option<InstantRange>]) -> &mut Self {
        self.sql("(1 = 0");
        for range in ranges {
            self.sql(" OR (");
            match range {
                None => {
                    self.sql(column).sql(" IS NULL");
                }
                Some(range) => {
                    self.sql(column).sql(" IS NOT NULL");
                    if let Some(start) = range.start {
                        self.sql(" AND ").sql(column).sql(" >= ").int(start.as_millisecond());
                    }
                    if let Some(end) = range.end {
                        self.sql(" AND ").sql(column).sql(" < ").int(end.as_millisecond());
                    }
                }
            }
            self.sql(")");
        }
        self.sql(")")
    }
}

/// The filter's conditions over `tickets t`. `customer_view`: full text and `has:` never look at
/// internal notes.
pub fn filter_sql(filter: &TicketFilter, dialect: Dialect, customer_view: bool) -> Fragment {
    let mut out = Fragment::default();
    for Condition { negated, test } in &filter.conditions {
        out.sql(" AND (");
        test_sql(&mut out, test, dialect, customer_view);
        // A negated test is true where the test is false *or unknown* (a NULL column), so
        // `-team: Billing` keeps the tickets with no team.
        out.sql(if *negated { ") IS NOT TRUE" } else { ")" });
    }
    for word in &filter.words {
        text_sql(&mut out, word, false, dialect, customer_view);
    }
    for phrase in &filter.phrases {
        text_sql(&mut out, phrase, true, dialect, customer_view);
    }
    out
}

/// The words of a full-text term as the indexes cut them: runs of letters and digits, lower case.
/// Everything else (punctuation, operators of either index's query syntax) is a separator, so a
/// term is always safe to hand to `MATCH` or `to_tsquery`.
pub fn search_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|token| !token.is_empty()).map(str::to_lowercase).collect()
}

/// A bare word (each of its tokens as a prefix: `print` finds "printer") or a phrase (its tokens
/// adjacent and in order) in the subject or a message — notes only for staff. A term with no
/// letters or digits (`%`) is looked for as it is, by `LIKE`. The index (`ticket_search`, migration
/// 0020) holds rows per ticket, so the match is a set of ticket ids, never a join to `messages`.
fn text_sql(out: &mut Fragment, text: &str, phrase: bool, dialect: Dialect, customer_view: bool) {
    let tokens = search_tokens(text);
    if tokens.is_empty() {
        let pattern = super::like_pattern(text);
        out.sql(" AND (LOWER(t.subject) LIKE ").text(pattern.clone()).sql(" ESCAPE '\\'");
        out.sql(" OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id");
        if customer_view {
            out.sql(" AND m.kind <> 'note'");
        }
        out.sql(" AND LOWER(m.body) LIKE ").text(pattern).sql(" ESCAPE '\\'))");
        return;
    }
    let columns = if customer_view { SearchColumns::Visible } else { SearchColumns::All };
    out.sql(" AND ");
    search_match_sql(out, &[(tokens, phrase)], columns, dialect);
}

/// Which of a ticket's indexed text a match looks at.
#[derive(Clone, Copy)]
enum SearchColumns {
    /// The subject, messages, replies and internal notes (staff).
    All,
    /// What a customer may read: the subject, messages and replies.
    Visible,
    /// The subject alone (relevance).
    Subject,
}

/// `t.id IN (the tickets whose columns hold every term)`.
fn search_match_sql(out: &mut Fragment, terms: &[(Vec<String>, bool)], columns: SearchColumns, dialect: Dialect) {
    match dialect {
        Dialect::Sqlite => {
            let expression =
                terms.iter().map(|(tokens, phrase)| fts5_expression(tokens, *phrase)).collect::<Vec<_>>().join(" ");
            let expression = match columns {
                SearchColumns::All => expression,
                SearchColumns::Visible => format!("{{subject public}} : ({expression})"),
                SearchColumns::Subject => format!("subject : ({expression})"),
            };
            // SEARCH_ROWS_PER_TICKET: the index's rowids are `ticket id × 65536 + slot`.
            out.sql("t.id IN (SELECT rowid / 65536 FROM ticket_search WHERE ticket_search MATCH ")
                .text(expression)
                .sql(")");
        }
        Dialect::Postgres => {
            let weights = match columns {
                SearchColumns::All => "",
                SearchColumns::Visible => "AB",
                SearchColumns::Subject => "A",
            };
            let expression = terms
                .iter()
                .map(|(tokens, phrase)| format!("({})", tsquery_expression(tokens, *phrase, weights)))
                .collect::<Vec<_>>()
                .join(" & ");
            out.sql("t.id IN (SELECT ticket_id FROM ticket_search WHERE doc @@ to_tsquery('simple', ")
                .text(expression)
                .sql("))");
        }
    }
}

/// The full-text terms of `q` (words, then phrases) as index tokens; none when it has none.
fn search_terms(q: &TicketQuery) -> Vec<(Vec<String>, bool)> {
    q.filter
        .words
        .iter()
        .map(|word| (search_tokens(word), false))
        .chain(q.filter.phrases.iter().map(|phrase| (search_tokens(phrase), true)))
        .filter(|(tokens, _)| !tokens.is_empty())
        .collect()
}

/// [`TicketSort::Relevance`]'s first rank: the tickets whose subject holds every full-text term of
/// `q` (`t.id IN (…)`), or `None` when `q` has no such term (relevance is then recency).
pub fn subject_match_sql(q: &TicketQuery, dialect: Dialect) -> Option<Fragment> {
    let terms = search_terms(q);
    if terms.is_empty() {
        return None;
    }
    let mut out = Fragment::default();
    search_match_sql(&mut out, &terms, SearchColumns::Subject, dialect);
    Some(out)
}

/// The bonus [`TicketSort::Relevance`] adds to a subject match's change time (milliseconds): the
/// priority sort's scale, above any instant, so every subject match sorts before the rest.
pub const RELEVANCE_BONUS: i64 = 10_000_000_000_000;

/// The SQL of `q`'s sort key (what the list orders by and a cursor records), and whether it
/// descends. [`TicketSort::Relevance`] puts the tickets whose subject holds every full-text term
/// first ([`RELEVANCE_BONUS`] over the change time); the list reads it as two index-ordered halves
/// (see `list_tickets_keyed`), and this key is what their rows carry.
pub fn sort_key_sql(q: &TicketQuery, dialect: Dialect) -> (Vec<Piece>, bool) {
    let plain = |sql: &'static str, descending: bool| (vec![Piece::Sql(Cow::Borrowed(sql))], descending);
    match q.sort {
        TicketSort::UpdatedDesc => plain("t.updated_at", true),
        TicketSort::UpdatedAsc => plain("t.updated_at", false),
        TicketSort::CreatedDesc => plain("t.created_at", true),
        TicketSort::CreatedAsc => plain("t.created_at", false),
        TicketSort::PriorityDesc => plain("(t.priority_rank * 10000000000000 + t.updated_at)", true),
        // NO_SLA_SORT_KEY: tickets without a running clock come last.
        TicketSort::SlaDueAsc => plain("COALESCE(t.sla_due_at, 9223372036854775807)", false),
        TicketSort::Relevance => match subject_match_sql(q, dialect) {
            None => plain("t.updated_at", true),
            Some(subject) => {
                let mut key = Fragment::default();
                key.sql("(CASE WHEN ");
                key.pieces.extend(subject.pieces);
                key.sql(" THEN ").int(RELEVANCE_BONUS).sql(" ELSE 0 END + t.updated_at)");
                (key.pieces, true)
            }
        },
    }
}

fn fts5_expression(tokens: &[String], phrase: bool) -> String {
    if phrase {
        format!("\"{}\"", tokens.join(" "))
    } else {
        tokens.iter().map(|token| format!("\"{token}\"*")).collect::<Vec<_>>().join(" ")
    }
}

/// A `to_tsquery` term; `weights` (`AB`, `A`, or empty for any) restricts where its words were.
fn tsquery_expression(tokens: &[String], phrase: bool, weights: &str) -> String {
    if phrase {
        tokens
            .iter()
            .map(|token| if weights.is_empty() { token.clone() } else { format!("{token}:{weights}") })
            .collect::<Vec<_>>()
            .join(" <-> ")
    } else {
        tokens.iter().map(|token| format!("{token}:*{weights}")).collect::<Vec<_>>().join(" & ")
    }
}

fn test_sql(out: &mut Fragment, test: &Test, dialect: Dialect, customer_view: bool) {
    let names = |out: &mut Fragment, column: &'static str, values: &[String]| {
        out.any_of(column, values, |f, value| {
            f.text(value.clone());
        });
    };
    match test {
        Test::Status { keys, categories } => {
            out.sql("(");
            names(out, "t.status", keys);
            out.sql(" OR ");
            let categories: Vec<String> = categories.iter().map(|category| category.as_str().to_owned()).collect();
            names(out, "t.status_category", &categories);
            out.sql(")");
        }
        Test::Category(ids) => {
            out.any_of_optional("t.category_id", ids);
        }
        Test::Priority(values) => names(out, "t.priority", &strings(values)),
        Test::Urgency(values) => names(out, "t.urgency", &strings(values)),
        Test::Importance(values) => names(out, "t.importance", &strings(values)),
        Test::Assignee(ids) => {
            out.any_of_optional("t.assignee_id", ids);
        }
        Test::Team(ids) => {
            out.any_of_optional("t.team_id", ids);
        }
        Test::Requester(ids) => {
            out.any_of("t.requester_id", ids, |f, id| {
                f.int(*id);
            });
        }
        Test::Company(ids) => {
            out.any_of_optional("t.company_id", ids);
        }
        Test::Channel(values) => names(out, "t.channel", &strings(values)),
        Test::Tag(tags) => {
            out.sql("(1 = 0");
            for tag in tags {
                match tag {
                    Some(tag) => {
                        out.sql(" OR EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ")
                            .text(tag.clone())
                            .sql(")");
                    }
                    None => {
                        out.sql(" OR NOT EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id)");
                    }
                }
            }
            out.sql(")");
        }
        Test::Type(types) => {
            let present: Vec<String> = types.iter().flatten().cloned().collect();
            out.sql("(");
            names(out, "LOWER(t.ticket_type)", &present);
            if types.contains(&None) {
                out.sql(" OR t.ticket_type IS NULL");
            }
            out.sql(")");
        }
        Test::Created(ranges) => {
            out.any_range("t.created_at", &ranges.iter().copied().map(Some).collect::<Vec<_>>());
        }
        Test::Updated(ranges) => {
            out.any_range("t.updated_at", &ranges.iter().copied().map(Some).collect::<Vec<_>>());
        }
        Test::Resolved(ranges) => {
            out.any_range("t.resolved_at", ranges);
        }
        Test::Sla { conditions, now } => {
            let now = now.as_millisecond();
            out.sql("(1 = 0");
            for condition in conditions {
                match condition {
                    SlaCondition::Breached => out.sql(" OR t.sla_due_at <= ").int(now),
                    SlaCondition::AtRisk => {
                        out.sql(" OR (t.sla_due_at > ").int(now).sql(" AND t.sla_warn_at <= ").int(now).sql(")")
                    }
                };
            }
            out.sql(")");
        }
        Test::Waiting(sides) => {
            out.sql("(1 = 0");
            for side in sides {
                out.sql(match side {
                    WaitingOn::Agent => {
                        " OR (t.last_customer_message_at IS NOT NULL AND (t.last_agent_message_at IS NULL \
                         OR t.last_customer_message_at > t.last_agent_message_at))"
                    }
                    WaitingOn::Customer => {
                        " OR (t.last_agent_message_at IS NOT NULL AND (t.last_customer_message_at IS NULL \
                         OR t.last_customer_message_at <= t.last_agent_message_at))"
                    }
                });
            }
            out.sql(")");
        }
        Test::Has(things) => {
            out.sql("(1 = 0");
            for thing in things {
                match thing {
                    HasThing::Attachment => {
                        out.sql(
                            " OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.attachments <> '[]'",
                        );
                        if customer_view {
                            out.sql(" AND m.kind <> 'note'");
                        }
                        out.sql(")");
                    }
                    // A customer never learns whether staff wrote notes.
                    HasThing::Note if customer_view => {}
                    HasThing::Note => {
                        out.sql(" OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.kind = 'note')");
                    }
                }
            }
            out.sql(")");
        }
        Test::Custom { key, field_type, values } => custom_sql(out, key, *field_type, values, dialect),
        Test::Ids(ids) => {
            out.any_of("t.id", ids, |f, id| {
                f.int(*id);
            });
        }
        Test::Always(answer) => {
            out.sql(if *answer { "1 = 1" } else { "1 = 0" });
        }
        Test::Hours { wanted, inside } => {
            let answer = switchboard_actors::query::filter::hours_match(wanted, *inside);
            out.sql(if answer { "1 = 1" } else { "1 = 0" });
        }
    }
}

/// A custom field's value read from the `custom_fields` JSON text, as the comparable text
/// [`custom_text`](switchboard_actors::query::filter::custom_text) gives in memory.
fn custom_sql(out: &mut Fragment, key: &str, field_type: FieldType, values: &[Option<String>], dialect: Dialect) {
    let read = |out: &mut Fragment| {
        match dialect {
            Dialect::Sqlite => {
                let path = format!("$.\"{}\"", key.replace('"', ""));
                match field_type {
                FieldType::Number => out.sql("CAST(json_extract(t.custom_fields, ").text(path).sql(") AS REAL)"),
                FieldType::Boolean => out
                    .sql("(CASE json_type(t.custom_fields, ")
                    .text(path.clone())
                    .sql(") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE LOWER(CAST(json_extract(t.custom_fields, ")
                    .text(path)
                    .sql(") AS TEXT)) END)"),
                _ => out.sql("LOWER(CAST(json_extract(t.custom_fields, ").text(path).sql(") AS TEXT))"),
            }
            }
            Dialect::Postgres => match field_type {
                FieldType::Number => {
                    out.sql("CAST(CAST(t.custom_fields AS jsonb) ->> ").text(key).sql(" AS DOUBLE PRECISION)")
                }
                _ => out.sql("LOWER(CAST(t.custom_fields AS jsonb) ->> ").text(key).sql(")"),
            },
        };
    };
    out.sql("(1 = 0");
    for value in values {
        out.sql(" OR ");
        read(out);
        match value {
            None => {
                out.sql(" IS NULL");
            }
            Some(value) if field_type == FieldType::Number => match value.parse::<f64>() {
                Ok(number) => out.sql(" = ").pieces.push(Piece::Float(number)),
                // Not a number: no ticket's number equals it.
                Err(_) => {
                    out.sql(" IS NULL AND 1 = 0");
                }
            },
            Some(value) => {
                out.sql(" = ").text(value.clone());
            }
        }
    }
    out.sql(")");
}

fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}
