//! Reading tickets: the list (filters, sorts, keyset pages), SLA risk, one ticket with its thread, the event log.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// Comma-separated status keys, e.g. `open,pending`.
    pub(super) status: Option<String>,
    /// Comma-separated status categories (`new,open,pending,resolved,closed`).
    pub(super) category: Option<String>,
    /// Comma-separated priorities.
    pub(super) priority: Option<String>,
    /// A user id, `me`, or `none` for unassigned.
    pub(super) assignee: Option<String>,
    pub(super) team: Option<i64>,
    pub(super) tag: Option<String>,
    pub(super) requester: Option<i64>,
    pub(super) channel: Option<String>,
    /// A query in the query language (DESIGN §6), e.g. `status: open urgency: critical` or
    /// `assignee: me created: today "refund request"`; ANDed with the other parameters.
    pub(super) q: Option<String>,
    /// `-updated_at` (default), `updated_at`, `-created_at`, `created_at`, `-priority`,
    /// `sla_due` (soonest SLA due time first; tickets without a running SLA clock last), or
    /// `relevance` (default with full-text terms: subject matches first, then latest activity).
    pub(super) sort: Option<String>,
    /// Page size, 1–200 (default 50).
    pub(super) limit: Option<i64>,
    /// The `next` value of the previous page.
    pub(super) cursor: Option<String>,
}

/// List tickets the caller may see, filtered, sorted and paged.
#[utoipa::path(
    tag = "tickets",
    params(ListParams),
    responses((status = 200, body = Page<TicketView>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[get("/tickets")]
pub(super) async fn list_tickets(
    state: Api,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<TicketView>>, ApiError> {
    let params = params.into_inner();
    let mut query = TicketQuery::new(caller.account());
    query.scope = scope_of(&state, &caller).await?;
    query.filter = list_filter(&state, &caller, &params).await?;
    let has_text = !query.filter.words.is_empty() || !query.filter.phrases.is_empty();
    query.sort = match params.sort.as_deref() {
        // A full-text query lists the best matches first unless another order is asked for.
        None if has_text => TicketSort::Relevance,
        None => TicketSort::UpdatedDesc,
        Some(name) => crate::http::views::parse_sort(name)?,
    };
    query.after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    query.limit = page_limit(params.limit)? + 1;
    let mut items = state.store.list_tickets_keyed(&query).await?;
    let next = if items.len() as i64 >= query.limit {
        items.truncate((query.limit - 1) as usize);
        items.last().map(|(last, key)| encode_cursor(*key, last.id))
    } else {
        None
    };
    let audience = Audience::of(&state, &caller).await?;
    let items = items.into_iter().map(|(ticket, _)| audience.ticket(ticket)).collect();
    Ok(web::Json(Page { items, next }))
}

/// Per agent, how many of their open tickets have breached their SLA or passed its warning
/// threshold (staff): the presence board's "SLA risk".
#[utoipa::path(tag = "tickets", responses((status = 200, body = Page<SlaRisk>), (status = 403, body = ErrorBody)))]
#[get("/sla/risk")]
pub(super) async fn sla_risk(
    state: Api,
    caller: Caller,
    _: web::Query<super::super::NoParams>,
) -> Result<web::Json<Page<SlaRisk>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(Page { items: state.store.sla_risk(caller.account(), state.now()).await?, next: None }))
}

/// A ticket with its messages (customers do not see internal notes).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketWithMessages), (status = 404, body = ErrorBody))
)]
#[get("/tickets/{id}")]
pub(super) async fn get_ticket(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    _: web::Query<super::super::NoParams>,
) -> Result<web::Json<TicketWithMessages>, ApiError> {
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let audience = Audience::of(&state, &caller).await?;
    let messages = audience.messages(state.store.ticket_messages(ticket.id).await?);
    if caller.user.role.is_staff() && ticket.channel == Channel::Whatsapp {
        state.channels.whatsapp.agent_opened(&ticket, &messages);
    }
    let reply_channels =
        if caller.user.role.is_staff() { state.channels.reply_channels(&ticket).await? } else { Vec::new() };
    let window = if ticket.channel == Channel::Whatsapp || reply_channels.contains(&Channel::Whatsapp) {
        let expires = state
            .store
            .conversation_of_customer(ticket.account_id, ticket.requester_id)
            .await?
            .and_then(|c| c.window_expires_at);
        let closing_lead = state.channels.whatsapp.conversations.settings().closing_lead;
        Some(switchboard_actors::whatsapp::window::state(expires, state.now(), closing_lead))
    } else {
        None
    };
    let ticket = audience.ticket(ticket);
    Ok(web::Json(TicketWithMessages { ticket, messages, window, reply_channels }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Return events with a seq greater than this (default 0: from the start).
    after: Option<i64>,
    /// At most this many (1–1000, default 1000).
    limit: Option<i64>,
}

/// The ticket's event log after a seq, in order. Customers see internal notes as `private`
/// entries, so their seq stays gap-free.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id"), EventParams),
    responses((status = 200, body = Page<TicketEvent>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[get("/tickets/{id}/events")]
pub(super) async fn ticket_events(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    params: web::Query<EventParams>,
) -> Result<web::Json<Page<serde_json::Value>>, ApiError> {
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let after = params.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid("after", "must be 0 or more"));
    }
    let limit = match params.limit.unwrap_or(MAX_EVENT_PAGE) {
        limit @ 1..=MAX_EVENT_PAGE => limit,
        _ => return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_EVENT_PAGE}"))),
    };
    let events = state.store.ticket_events(ticket.id, after, limit).await?;
    let audience = Audience::of(&state, &caller).await?;
    let next = (events.len() as i64 == limit).then(|| events.last().map(|event| event.seq.to_string())).flatten();
    let items = events.iter().map(|event| audience.event(event)).collect();
    Ok(web::Json(Page { items, next }))
}
