//! The ticket list's filters as one [`TicketFilter`]: each classic parameter (`status`,
//! `priority`, `assignee`, …) becomes a condition, and `q` (the query language, compiled by
//! [`crate::search`]) adds its own; all of them are ANDed, so a filter given both ways narrows
//! twice rather than one silently winning.

use switchboard_actors::query::filter::{Test, TicketFilter};

use super::*;

/// The conditions the list's parameters ask for (`q`, `sort` and paging aside).
pub(super) async fn list_filter(state: &Api, caller: &Caller, params: &ListParams) -> Result<TicketFilter, ApiError> {
    let mut filter = match params.q.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => {
            let config = state.accounts.get(caller.account()).await?;
            crate::search::compile(state.store.as_ref(), &config, &caller.user, text, state.now()).await?
        }
        None => TicketFilter::default(),
    };
    let statuses: Vec<String> = split_list("status", &params.status)?;
    let categories: Vec<StatusCategory> = split_list("category", &params.category)?;
    if !statuses.is_empty() {
        filter.and(Test::Status { keys: statuses.iter().map(|key| key.to_lowercase()).collect(), categories: vec![] });
    }
    if !categories.is_empty() {
        filter.and(Test::Status { keys: vec![], categories });
    }
    let priorities: Vec<Priority> = split_list("priority", &params.priority)?;
    if !priorities.is_empty() {
        filter.and(Test::Priority(priorities));
    }
    match params.assignee.as_deref() {
        None | Some("") => {}
        Some("me") => {
            filter.and(Test::Assignee(vec![Some(caller.user.id)]));
        }
        Some("none") => {
            filter.and(Test::Assignee(vec![None]));
        }
        Some(id) => {
            let id = id.parse().map_err(|_| ApiError::invalid("assignee", "must be a user id, `me` or `none`"))?;
            filter.and(Test::Assignee(vec![Some(id)]));
        }
    }
    if let Some(team) = params.team {
        filter.and(Test::Team(vec![Some(team)]));
    }
    if let Some(tag) = params.tag.as_deref().map(str::trim).filter(|tag| !tag.is_empty()) {
        filter.and(Test::Tag(vec![Some(tag.to_lowercase())]));
    }
    if let Some(requester) = params.requester {
        filter.and(Test::Requester(vec![requester]));
    }
    let channels: Vec<Channel> = split_list("channel", &params.channel)?;
    if !channels.is_empty() {
        filter.and(Test::Channel(channels));
    }
    Ok(filter)
}
