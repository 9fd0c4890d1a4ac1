//! `GET /api/v1/tickets?q=`: the query language (DESIGN §6, parsed by `switchboard_actors::query`)
//! translated to the filters [`TicketQuery`] has today. A term the store cannot filter yet is
//! refused with 400 `invalid_query` naming it — never dropped, so a search never silently returns
//! more than was asked for.

use std::collections::HashSet;

use switchboard_actors::query::{self, Field, Term, Value};

use super::*;
use crate::error::ErrorCode;

fn invalid_query(message: String) -> ApiError {
    ApiError::BadRequest { code: ErrorCode::InvalidQuery, message }
}

fn not_searchable(what: &str) -> ApiError {
    invalid_query(format!("q: {what} is not searchable yet"))
}

/// Applies `q` to `query`, which already holds the other parameters' filters; the same filter
/// given both ways is refused rather than one silently winning.
pub(super) async fn apply_search(
    state: &Api,
    caller: &Caller,
    text: &str,
    query: &mut TicketQuery,
) -> Result<(), ApiError> {
    let parsed = query::parse(text).map_err(|error| invalid_query(format!("q: {error}")))?;
    let mut fields = HashSet::new();
    let mut words = Vec::new();
    for term in parsed.terms {
        let (field, values) = match term {
            Term::Word(word) => {
                words.push(word);
                continue;
            }
            Term::Phrase(_) => return Err(not_searchable("a quoted phrase (search its words without quotes)")),
            Term::Field { negated: true, field, .. } => return Err(not_searchable(&format!("negation (`-{field}:`)"))),
            Term::Field { field, values, .. } => (field, values),
        };
        if !fields.insert(field.clone()) {
            return Err(invalid_query(format!("q: `{field}:` is given twice; give its values once, separated by `,`")));
        }
        let twice = || invalid_query(format!("q: `{field}:` repeats the `{}` parameter; give it once", field.name()));
        let one = |values: &[Value]| -> Result<Value, ApiError> {
            match values {
                [value] => Ok(value.clone()),
                _ => Err(not_searchable(&format!("more than one value for `{field}:`"))),
            }
        };
        match &field {
            Field::Status => {
                if !query.statuses.is_empty() || !query.categories.is_empty() {
                    return Err(twice());
                }
                let mut names = Vec::new();
                for value in &values {
                    match value {
                        Value::StatusCategory(category) => query.categories.push(*category),
                        Value::Text(name) => names.push(name.to_lowercase()),
                        _ => return Err(not_searchable(&format!("`{field}:{value}`"))),
                    }
                }
                if !names.is_empty() && !query.categories.is_empty() {
                    return Err(not_searchable("mixing status categories and status names in one `status:`"));
                }
                query.statuses = names;
            }
            Field::Priority => {
                if !query.priorities.is_empty() {
                    return Err(twice());
                }
                for value in &values {
                    let Value::Priority(priority) = value else {
                        return Err(not_searchable(&format!("`{field}:{value}`")));
                    };
                    query.priorities.push(*priority);
                }
            }
            Field::Assignee => {
                if query.assignee.is_some() {
                    return Err(twice());
                }
                query.assignee = Some(match one(&values)? {
                    Value::Me => AssigneeFilter::User(caller.user.id),
                    Value::None => AssigneeFilter::Unassigned,
                    _ => return Err(not_searchable("an assignee by name or email (use `me` or `none`)")),
                });
            }
            Field::Team => {
                if query.team_id.is_some() {
                    return Err(twice());
                }
                let Value::Text(name) = one(&values)? else { return Err(not_searchable("`team:none`")) };
                let teams = state.store.list_teams(caller.account()).await?;
                let team = teams.iter().find(|team| team.name.eq_ignore_ascii_case(&name));
                let team = team.ok_or_else(|| invalid_query(format!("q: no team is named `{name}`")))?;
                query.team_id = Some(team.id);
            }
            Field::Tag => {
                if query.tag.is_some() {
                    return Err(twice());
                }
                let Value::Text(tag) = one(&values)? else { return Err(not_searchable("`tag:none`")) };
                query.tag = Some(tag);
            }
            Field::Channel => {
                if query.channel.is_some() {
                    return Err(twice());
                }
                let Value::Channel(channel) = one(&values)? else { return Err(not_searchable("this channel")) };
                query.channel = Some(channel);
            }
            other => return Err(not_searchable(&format!("`{other}:`"))),
        }
    }
    if !words.is_empty() {
        query.text = Some(words.join(" "));
    }
    Ok(())
}
