//! Merge, unmerge and split (staff only). The ticket actors decide each side; `Tickets` orders
//! the two commits (see `actors/src/ticket/linking.rs`).

use super::*;
use switchboard_actors::ticket::LinkOutcome;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The ticket to merge into, by id…
    pub into: Option<TicketId>,
    /// …or by its number (`#1042` is 1042). Exactly one of the two.
    pub into_number: Option<i64>,
    /// Merge tickets of different requesters.
    #[serde(default)]
    pub force: bool,
    /// Only check: answer with both tickets as they are (or the refusal a merge would get),
    /// changing nothing — what a confirmation shows before the merge.
    #[serde(default)]
    pub dry_run: bool,
}

/// Both tickets as the request left them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeOutcome {
    /// The merged (or unmerged) ticket and the events it appended.
    pub source: ChangeOutcome,
    /// The ticket merged into and the events it appended.
    pub target: ChangeOutcome,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// The messages to move to the new ticket (some of this ticket's, not all).
    #[garde(length(max = 500))]
    pub message_ids: Vec<String>,
    /// The new ticket's subject (default: this ticket's).
    #[garde(inner(length(min = 1, max = 500)))]
    pub subject: Option<String>,
}

/// The new ticket and the one it was split from.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitOutcome {
    /// The new ticket, holding the messages split off.
    pub ticket: ChangeOutcome,
    /// The ticket split.
    pub original: ChangeOutcome,
}

async fn both(state: &Api, caller: &Caller, outcome: LinkOutcome) -> Result<(ChangeOutcome, ChangeOutcome), ApiError> {
    Ok((
        ChangeOutcome::for_caller(state, caller, outcome.ticket).await?,
        ChangeOutcome::for_caller(state, caller, outcome.other).await?,
    ))
}

/// Merge this ticket into another (staff only): its messages join the target's thread
/// (interleaved by time, each keeping its channel), its tags are added to the target's, and it
/// closes linked to the target. Undo within 7 days with `unmerge`.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "the ticket to merge")),
    request_body = MergeRequest,
    responses(
        (status = 200, body = MergeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "already_merged, merge_cycle, merge_target_merged, merge_target_closed, requester_mismatch or ticket_closed", body = ErrorBody),
        (status = 422, description = "merge_into_self or validation_failed", body = ErrorBody)
    )
)]
#[post("/tickets/{id}/merge")]
pub(super) async fn merge_ticket(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    _: web::Query<crate::http::NoParams>,
    body: ApiJson<MergeRequest>,
) -> Result<web::Json<MergeOutcome>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    let source = visible_ticket(&state, &caller, *id).await?;
    let target = match (body.into, body.into_number) {
        (Some(into), None) => visible_ticket(&state, &caller, into).await?,
        (None, Some(number)) => state
            .store
            .ticket_by_number(caller.account(), number)
            .await?
            .ok_or_else(|| ApiError::invalid("into_number", format!("there is no ticket #{number}")))?,
        _ => return Err(ApiError::invalid("into", "name the target by `into` (its id) or `into_number`, not both")),
    };
    if body.dry_run {
        // The same check the merge makes, on the store's copies (what the actors committed).
        switchboard_actors::ticket::check_merge(&source, &target, body.force)?;
        let unchanged = |ticket| ChangeOutcome { ticket: Audience::staff().ticket(ticket), events: Vec::new() };
        return Ok(web::Json(MergeOutcome { source: unchanged(source), target: unchanged(target) }));
    }
    let context = context(&state, &caller, None, None).await?;
    let outcome = state.tickets.merge(source.id, target.id, body.force, context).await?;
    let (source, target) = both(&state, &caller, outcome).await?;
    Ok(web::Json(MergeOutcome { source, target }))
}

/// Undo this ticket's merge (staff only, within 7 days): its messages go back, its status before
/// the merge is restored, and the target loses the tags the merge added.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "the merged ticket")),
    responses(
        (status = 200, body = MergeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "not_merged or unmerge_expired", body = ErrorBody)
    )
)]
#[post("/tickets/{id}/unmerge")]
pub(super) async fn unmerge_ticket(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    _: web::Query<crate::http::NoParams>,
) -> Result<web::Json<MergeOutcome>, ApiError> {
    caller.require_staff()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let context = context(&state, &caller, None, None).await?;
    let outcome = state.tickets.unmerge(ticket.id, context).await?;
    let (source, target) = both(&state, &caller, outcome).await?;
    Ok(web::Json(MergeOutcome { source, target }))
}

/// Split messages off this ticket into a new ticket for the same requester (staff only); both
/// logs record the split and link the two.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "the ticket to split")),
    request_body = SplitRequest,
    responses(
        (status = 201, body = SplitOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "ticket_closed", body = ErrorBody),
        (status = 422, description = "invalid_split or validation_failed", body = ErrorBody)
    )
)]
#[post("/tickets/{id}/split")]
pub(super) async fn split_ticket(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    _: web::Query<crate::http::NoParams>,
    body: ApiJson<SplitRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let context = context(&state, &caller, None, None).await?;
    let outcome = state.tickets.split(ticket.id, body.message_ids, body.subject, context).await?;
    let (original, ticket) = both(&state, &caller, outcome).await?;
    Ok(HttpResponse::Created().json(SplitOutcome { ticket, original }))
}
