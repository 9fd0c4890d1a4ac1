//! The query language made concrete for one caller (DESIGN §6): `switchboard_actors::query`
//! parses and resolves dates; this service turns names into ids with the account's teams,
//! people, companies, statuses, categories and custom fields, and gives the store a
//! [`TicketFilter`]. The ticket list's `q`, saved views and their live counts all go through
//! [`compile`], so a query means the same thing everywhere.
//!
//! A name that matches nothing is an error naming it (a typo in `team: Bliling` should say so,
//! not list nothing). Customers may search their own tickets by what they can see: status,
//! priority levels, channel, type, category, dates, waiting, attachments, customer-visible
//! custom fields and text; the fields that would reveal staff, teams or other customers are
//! refused.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{AccountConfig, FieldType, StatusCategory, User};
use switchboard_actors::query::filter::{Test, TicketFilter, format_number};
use switchboard_actors::query::{self, Field, InstantRange, Term, Value};
use switchboard_actors::store::{Store, StoreError};

/// How often the background pass rebuilds the full-text bands new messages marked pending
/// (migration 0042). The longer, the more messages a band gets between two rebuilds (at 500
/// WhatsApp messages a second over 200 conversations, 250 ms meant a rebuild per 1.6 messages, a
/// second one per 2.5, five seconds one per 12.5); searches do not wait for it: each brings the
/// index up to date first, and what it may find pending is bounded by the bands written to
/// since the last pass (each pending once, however many messages it got), not by the messages.
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Bands one write of the pass rebuilds: each write shares a batch of ticket writes, whose
/// callers wait for it, so it is kept to about a millisecond of the writer's time (64 at once
/// put 5–10 ms on a batch every pass: p99 27 ms instead of 11 at 200 conversations).
const INDEX_BANDS_PER_WRITE: usize = 16;

/// Keeps the full-text index up to date in the background: every [`INDEX_EVERY`], the bands new
/// messages marked pending are rebuilt, each once however many messages it got since, in writes
/// that ride along with the next batch of ticket writes (no transaction of their own under load).
pub fn start_indexer(store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(INDEX_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            loop {
                match store.index_pending_search(Some(INDEX_BANDS_PER_WRITE), true).await {
                    Ok(rebuilt) if rebuilt >= INDEX_BANDS_PER_WRITE => {}
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "could not bring the search index up to date; the next pass retries");
                        break;
                    }
                }
            }
        }
    })
}

/// Saved views' queries compiled for the user following them (the live hub's `view:<id>`).
pub struct SavedViewFilters {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<crate::accounts::AccountConfigs>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl crate::live::ViewFilters for SavedViewFilters {
    async fn view_filter(
        &self,
        user: &User,
        view: switchboard_actors::views::ViewId,
    ) -> Result<TicketFilter, crate::live::ViewRefusal> {
        use crate::live::ViewRefusal;
        let view = match self.store.view(user.account_id, view).await {
            Ok(Some(view)) if view.visible_to(user) => view,
            Ok(_) => return Err(ViewRefusal::NotFound),
            Err(_) => return Err(ViewRefusal::Unavailable),
        };
        let config = self.accounts.get(user.account_id).await.map_err(|_| ViewRefusal::Unavailable)?;
        match compile(self.store.as_ref(), &config, user, &view.query, self.clock.now()).await {
            Ok(filter) => Ok(filter),
            Err(SearchError::Invalid(problem)) => Err(ViewRefusal::Invalid(problem.message)),
            Err(SearchError::Store(_)) => Err(ViewRefusal::Unavailable),
        }
    }
}

/// Why a query cannot run: where (for a parse error) and what.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Invalid(QueryProblem),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryProblem {
    pub message: String,
    /// The character offset a parse error points at, and what was expected there.
    pub position: Option<usize>,
    pub expected: Option<String>,
}

impl std::fmt::Display for QueryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn invalid(message: impl Into<String>) -> SearchError {
    SearchError::Invalid(QueryProblem { message: message.into(), position: None, expected: None })
}

/// The account's time zone for dates in queries: its business hours' zone, else the caller's.
pub fn query_zone(config: &AccountConfig, caller: &User) -> TimeZone {
    let business = config.sla_policy.as_ref().and_then(|policy| policy.business_hours.as_ref());
    business
        .and_then(|hours| TimeZone::get(&hours.time_zone).ok())
        .or_else(|| TimeZone::get(&caller.time_zone).ok())
        .unwrap_or(TimeZone::UTC)
}

/// Parses `text` and resolves it for `caller` at `now`.
pub async fn compile(
    store: &dyn Store,
    config: &AccountConfig,
    caller: &User,
    text: &str,
    now: Timestamp,
) -> Result<TicketFilter, SearchError> {
    let parsed = query::parse(text).map_err(|error| {
        SearchError::Invalid(QueryProblem {
            message: format!("q: {error}"),
            position: Some(error.position),
            expected: Some(error.expected.clone()),
        })
    })?;
    let resolved =
        query::resolve(&parsed, now, &query_zone(config, caller)).map_err(|error| invalid(format!("q: {error}")))?;
    let mut names = Names { store, caller, people: None };
    let mut filter = TicketFilter::default();
    for term in resolved.terms {
        match term {
            Term::Word(word) => filter.words.push(word),
            Term::Phrase(phrase) => filter.phrases.push(phrase),
            Term::Field { negated, field, values } => {
                if !caller.role.is_staff() && !customer_may_use(&field, config) {
                    return Err(invalid(format!("q: `{field}:` is not available to customers")));
                }
                let test = field_test(&field, values, config, &mut names, now).await?;
                filter.conditions.push(switchboard_actors::query::filter::Condition { negated, test });
            }
        }
    }
    Ok(filter)
}

fn customer_may_use(field: &Field, config: &AccountConfig) -> bool {
    match field {
        Field::Assignee | Field::Team | Field::Requester | Field::Company | Field::Tag | Field::Sla | Field::Hours => {
            false
        }
        Field::Custom(key) => config.custom_field(key).is_some_and(|def| def.customer_visible),
        _ => true,
    }
}

/// The account's people, read once per query and only when a field names someone.
struct Names<'a> {
    store: &'a dyn Store,
    caller: &'a User,
    people: Option<Vec<User>>,
}

impl Names<'_> {
    async fn people(&mut self) -> Result<&[User], SearchError> {
        if self.people.is_none() {
            self.people = Some(self.store.list_users(self.caller.account_id, None).await?);
        }
        Ok(self.people.as_deref().unwrap_or_default())
    }

    /// Users of the wanted kind by email or name, ignoring case: an exact email or name wins,
    /// else every name containing the text.
    async fn users(&mut self, text: &str, staff: bool, field: &Field) -> Result<Vec<i64>, SearchError> {
        let wanted = text.to_lowercase();
        let people: Vec<&User> =
            self.people().await?.iter().filter(|user| user.role.is_staff() == staff && user.active).collect();
        let exact: Vec<i64> = people
            .iter()
            .filter(|user| user.email.to_lowercase() == wanted || user.name.to_lowercase() == wanted)
            .map(|user| user.id)
            .collect();
        let found = if exact.is_empty() {
            people.iter().filter(|user| user.name.to_lowercase().contains(&wanted)).map(|user| user.id).collect()
        } else {
            exact
        };
        if found.is_empty() {
            let who = if staff { "agent" } else { "customer" };
            return Err(invalid(format!("q: no {who} matches `{field}:{text}`")));
        }
        Ok(found)
    }
}

async fn field_test(
    field: &Field,
    values: Vec<Value<InstantRange>>,
    config: &AccountConfig,
    names: &mut Names<'_>,
    now: Timestamp,
) -> Result<Test, SearchError> {
    let wrong = |value: &Value<InstantRange>| invalid(format!("q: `{field}:` does not take `{value}`"));
    macro_rules! each {
        ($pattern:pat => $out:expr) => {{
            let mut out = Vec::new();
            for value in &values {
                match value {
                    $pattern => out.push($out),
                    other => return Err(wrong(other)),
                }
            }
            out
        }};
    }
    Ok(match field {
        Field::Status => {
            let (mut keys, mut categories) = (Vec::new(), Vec::<StatusCategory>::new());
            for value in &values {
                match value {
                    Value::StatusCategory(category) => categories.push(*category),
                    Value::Text(name) => keys.push(status_key(config, name)?),
                    other => return Err(wrong(other)),
                }
            }
            Test::Status { keys, categories }
        }
        Field::Category => {
            let mut ids = Vec::new();
            for value in &values {
                match value {
                    Value::None => ids.push(None),
                    Value::Text(name) => ids.extend(category_ids(config, name)?.into_iter().map(Some)),
                    other => return Err(wrong(other)),
                }
            }
            Test::Category(ids)
        }
        Field::Priority => Test::Priority(each!(Value::Priority(priority) => *priority)),
        Field::Urgency => Test::Urgency(each!(Value::Level(level) => *level)),
        Field::Importance => Test::Importance(each!(Value::Level(level) => *level)),
        Field::Channel => Test::Channel(each!(Value::Channel(channel) => *channel)),
        Field::Sla => Test::Sla { conditions: each!(Value::Sla(sla) => *sla), now },
        Field::Waiting => Test::Waiting(each!(Value::Waiting(side) => *side)),
        Field::Has => Test::Has(each!(Value::Has(thing) => *thing)),
        Field::Created => Test::Created(each!(Value::Date(range) => *range)),
        Field::Updated => Test::Updated(each!(Value::Date(range) => *range)),
        Field::Resolved => {
            let mut ranges = Vec::new();
            for value in &values {
                match value {
                    Value::Date(range) => ranges.push(Some(*range)),
                    Value::None => ranges.push(None),
                    other => return Err(wrong(other)),
                }
            }
            Test::Resolved(ranges)
        }
        Field::Hours => {
            let hours = config.sla_policy.as_ref().and_then(|policy| policy.business_hours.as_ref());
            let inside = hours.is_none_or(|hours| hours.is_open(now));
            Test::Hours { wanted: each!(Value::Hours(condition) => *condition), inside }
        }
        Field::Tag => {
            let mut tags = Vec::new();
            for value in &values {
                match value {
                    Value::None => tags.push(None),
                    Value::Text(tag) => tags.push(Some(tag.trim().to_lowercase())),
                    other => return Err(wrong(other)),
                }
            }
            Test::Tag(tags)
        }
        Field::Type => {
            let mut types = Vec::new();
            for value in &values {
                match value {
                    Value::None => types.push(None),
                    Value::Text(name) => {
                        let known = config.ticket_types.iter().find(|known| known.eq_ignore_ascii_case(name));
                        let known = known.ok_or_else(|| {
                            invalid(format!(
                                "q: no ticket type is named `{name}`; types: {}",
                                config.ticket_types.join(", ")
                            ))
                        })?;
                        types.push(Some(known.to_lowercase()));
                    }
                    other => return Err(wrong(other)),
                }
            }
            Test::Type(types)
        }
        Field::Assignee | Field::Requester => {
            let staff = *field == Field::Assignee;
            let mut ids = Vec::new();
            for value in &values {
                match value {
                    Value::Me => ids.push(Some(names.caller.id)),
                    Value::None if staff => ids.push(None),
                    Value::Text(text) => ids.extend(names.users(text, staff, field).await?.into_iter().map(Some)),
                    other => return Err(wrong(other)),
                }
            }
            if staff { Test::Assignee(ids) } else { Test::Requester(ids.into_iter().flatten().collect()) }
        }
        Field::Team => {
            let teams = names.store.list_teams(names.caller.account_id).await?;
            let mut ids = Vec::new();
            for value in &values {
                match value {
                    Value::None => ids.push(None),
                    Value::Text(name) => {
                        let team = teams.iter().find(|team| team.name.eq_ignore_ascii_case(name));
                        ids.push(Some(team.ok_or_else(|| invalid(format!("q: no team is named `{name}`")))?.id));
                    }
                    other => return Err(wrong(other)),
                }
            }
            Test::Team(ids)
        }
        Field::Company => {
            let companies = names.store.list_companies(names.caller.account_id).await?;
            let mut ids = Vec::new();
            for value in &values {
                match value {
                    Value::None => ids.push(None),
                    Value::Text(name) => {
                        let company = companies.iter().find(|company| company.name.eq_ignore_ascii_case(name));
                        ids.push(Some(company.ok_or_else(|| invalid(format!("q: no company is named `{name}`")))?.id));
                    }
                    other => return Err(wrong(other)),
                }
            }
            Test::Company(ids)
        }
        Field::Custom(key) => {
            let def = config.custom_field(key).ok_or_else(|| {
                let keys: Vec<&str> = config.custom_fields.iter().map(|field| field.key.as_str()).collect();
                invalid(format!("q: no custom field has the key `{key}`; keys: {}", keys.join(", ")))
            })?;
            let mut wanted = Vec::new();
            for value in &values {
                match value {
                    Value::None => wanted.push(None),
                    Value::Text(text) => wanted.push(Some(custom_value(def.field_type, text, field)?)),
                    other => return Err(wrong(other)),
                }
            }
            Test::Custom { key: key.clone(), field_type: def.field_type, values: wanted }
        }
    })
}

/// A status by key or label, ignoring case.
fn status_key(config: &AccountConfig, name: &str) -> Result<String, SearchError> {
    let status = config
        .statuses
        .iter()
        .find(|status| status.key.eq_ignore_ascii_case(name) || status.label.eq_ignore_ascii_case(name));
    match status {
        Some(status) => Ok(status.key.clone()),
        None => {
            let keys: Vec<&str> = config.statuses.iter().map(|status| status.key.as_str()).collect();
            Err(invalid(format!("q: no status is named `{name}`; statuses: {}", keys.join(", "))))
        }
    }
}

/// A category by name or path (`Billing / Refunds`), with every category beneath it.
fn category_ids(config: &AccountConfig, name: &str) -> Result<Vec<i64>, SearchError> {
    let wanted = name.trim().to_lowercase();
    let roots: Vec<&str> = config
        .categories
        .iter()
        .filter(|category| category.name.to_lowercase() == wanted || category.path.to_lowercase() == wanted)
        .map(|category| category.path.as_str())
        .collect();
    if roots.is_empty() {
        return Err(invalid(format!("q: no category is named `{name}`")));
    }
    Ok(config
        .categories
        .iter()
        .filter(|category| {
            roots.iter().any(|root| category.path == *root || category.path.starts_with(&format!("{root} / ")))
        })
        .map(|category| category.id)
        .collect())
}

/// A custom field's value as the store compares it: lower-case text, `true`/`false`, a number.
fn custom_value(field_type: FieldType, text: &str, field: &Field) -> Result<String, SearchError> {
    match field_type {
        FieldType::Boolean => match text.to_lowercase().as_str() {
            "true" | "yes" => Ok("true".to_owned()),
            "false" | "no" => Ok("false".to_owned()),
            _ => Err(invalid(format!("q: `{field}:` is yes or no, not `{text}`"))),
        },
        FieldType::Number => text
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(format_number)
            .ok_or_else(|| invalid(format!("q: `{field}:` takes a number, not `{text}`"))),
        _ => Ok(text.to_lowercase()),
    }
}
