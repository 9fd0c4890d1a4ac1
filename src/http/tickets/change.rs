//! Changing tickets: properties, assignment, and bulk changes.

use super::*;

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTicket {
    #[garde(inner(length(min = 1, max = 500)))]
    pub subject: Option<String>,
    #[garde(skip)]
    pub status: Option<String>,
    #[garde(skip)]
    pub urgency: Option<Level>,
    #[garde(skip)]
    pub importance: Option<Level>,
    /// `null` clears it.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ticket_type: Option<Option<String>>,
    /// `null` clears it.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<CategoryId>>,
    /// Replaces the whole tag set.
    #[garde(inner(length(max = 50)))]
    pub tags: Option<Vec<String>>,
    #[garde(length(max = 50))]
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[garde(length(max = 50))]
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Merged into the current values; `null` removes a field.
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<CustomFields>,
    /// Snooze until then (the ticket reopens when it passes); `null` ends a snooze.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snooze_until: Option<Option<Timestamp>>,
    /// Refuse with 409 `stale_seq` unless the ticket's seq is still this.
    #[garde(skip)]
    pub expected_seq: Option<i64>,
    /// The newest seq the sender has seen. A reply or status change is refused with 409
    /// `stale_view` when a customer message newer than this arrived (default: what this node
    /// pushed to the sender's sockets).
    #[garde(skip)]
    pub seen_seq: Option<i64>,
    /// Send even if a newer customer message arrived.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

impl PatchTicket {
    fn into_patch(self) -> (TicketPatch, Option<i64>) {
        (
            TicketPatch {
                subject: self.subject,
                status: self.status,
                urgency: self.urgency,
                importance: self.importance,
                ticket_type: self.ticket_type,
                category_id: self.category_id,
                tags: self.tags,
                add_tags: self.add_tags,
                remove_tags: self.remove_tags,
                custom_fields: self.custom_fields,
                snooze_until: self.snooze_until,
            },
            self.expected_seq,
        )
    }
}

/// Change a ticket's properties (staff only).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = PatchTicket,
    responses(
        (status = 200, body = ChangeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "stale_seq or ticket_closed", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[patch("/tickets/{id}")]
pub(super) async fn update_ticket(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<PatchTicket>,
) -> Result<web::Json<ChangeOutcome>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let seen = Seen { seen_seq: body.seen_seq, force: body.force }.resolve(&state, &caller, ticket.id);
    let (patch, expected_seq) = body.into_patch();
    let context = context(&state, &caller, expected_seq, seen).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::Update(patch), context).await?;
    Ok(web::Json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// An active agent, supervisor or admin; `null` unassigns; absent keeps the current one.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
    /// `null` removes the team; absent keeps the current one.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<TeamId>>,
    #[garde(inner(length(max = 500)))]
    pub reason: Option<String>,
}

pub(super) async fn assignment(
    state: &Api,
    caller: &Caller,
    ticket: &Ticket,
    body: &AssignRequest,
) -> Result<Assignment, ApiError> {
    let assignee_id = body.assignee_id.unwrap_or(ticket.assignee_id);
    let team_id = body.team_id.unwrap_or(ticket.team_id);
    if body.assignee_id.is_none() && body.team_id.is_none() {
        return Err(ApiError::invalid("assignee_id", "give assignee_id, team_id or both"));
    }
    if let Some(Some(assignee)) = body.assignee_id {
        staff_member(state, caller.account(), assignee).await?;
    }
    if let Some(Some(team)) = body.team_id {
        state.store.team(caller.account(), team).await?.ok_or_else(|| ApiError::invalid("team_id", "no such team"))?;
    }
    Ok(Assignment { assignee_id, team_id, reason: body.reason.clone(), explanation: None })
}

/// Assign a ticket to an agent and/or a team, with a reason.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = AssignRequest,
    responses((status = 200, body = ChangeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/tickets/{id}/assign")]
pub(super) async fn assign_ticket(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<AssignRequest>,
) -> Result<web::Json<ChangeOutcome>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let assignment = assignment(&state, &caller, &ticket, &body).await?;
    let context = context(&state, &caller, None, None).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::Assign(assignment), context).await?;
    Ok(web::Json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    #[garde(length(min = 1, max = 100))]
    pub ids: Vec<TicketId>,
    #[garde(dive)]
    pub patch: Option<PatchTicket>,
    #[garde(dive)]
    pub assign: Option<AssignRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub id: TicketId,
    /// The new seq when the change applied.
    pub seq: Option<i64>,
    /// Why this ticket was not changed.
    pub error: Option<ErrorBody>,
}

/// Apply one change to up to 100 tickets. Everything is checked before anything is written;
/// each ticket is then changed on its own and reported on its own.
#[utoipa::path(
    tag = "tickets",
    request_body = BulkRequest,
    responses((status = 200, body = Page<BulkItem>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/tickets/bulk")]
pub(super) async fn bulk_update(
    state: Api,
    caller: Caller,
    body: ApiJson<BulkRequest>,
) -> Result<web::Json<Page<BulkItem>>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    if body.patch.is_none() && body.assign.is_none() {
        return Err(ApiError::invalid("patch", "give a patch, an assign, or both"));
    }
    let mut ids = body.ids.clone();
    ids.sort_unstable();
    ids.dedup();
    debug_assert!(ids.len() <= MAX_BULK);
    let mut tickets = Vec::with_capacity(ids.len());
    for id in &ids {
        tickets.push(visible_ticket(&state, &caller, *id).await?);
    }
    let mut assignments = Vec::new();
    if let Some(assign) = &body.assign {
        for ticket in &tickets {
            assignments.push(assignment(&state, &caller, ticket, assign).await?);
        }
    }
    let context = context(&state, &caller, None, None).await?;
    let patch = body.patch.map(|patch| patch.into_patch().0);
    if let Some(patch) = &patch {
        // Validate against the first ticket without writing, so a bad value fails the whole request.
        if let Some(first) = tickets.first() {
            first.decide(&TicketCommand::Update(patch.clone()), &context, state.now())?;
        }
    }
    let mut items = Vec::with_capacity(tickets.len());
    for (index, ticket) in tickets.iter().enumerate() {
        let mut result = Ok(ticket.seq);
        if let Some(patch) = &patch {
            result = state
                .tickets
                .execute(ticket.id, TicketCommand::Update(patch.clone()), context.clone())
                .await
                .map(|outcome| outcome.ticket.seq);
        }
        if let (Ok(_), Some(assignment)) = (&result, assignments.get(index)) {
            result = state
                .tickets
                .execute(ticket.id, TicketCommand::Assign(assignment.clone()), context.clone())
                .await
                .map(|outcome| outcome.ticket.seq);
        }
        items.push(match result {
            Ok(seq) => BulkItem { id: ticket.id, seq: Some(seq), error: None },
            Err(error) => {
                let error = ApiError::from(error);
                BulkItem { id: ticket.id, seq: None, error: Some(ErrorBody::new(error.code(), error.to_string())) }
            }
        });
    }
    Ok(web::Json(Page { items, next: None }))
}
