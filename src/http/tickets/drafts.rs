//! The reply an agent is writing on a ticket, kept on the server so it follows them to another
//! device: read, kept (replaced whole) and removed, each by its author only, on a ticket they may
//! see. Customers have no drafts here.

use super::*;

/// Longest draft body: the longest reply `POST /tickets/{id}/messages` takes.
const MAX_DRAFT_BODY: usize = 65536;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutDraft {
    #[garde(length(max = MAX_DRAFT_BODY))]
    pub body: String,
    /// The channel chosen for the reply; absent or null for the ticket's default.
    #[garde(skip)]
    #[serde(default)]
    pub channel: Option<Channel>,
    /// An internal note rather than a reply.
    #[garde(skip)]
    #[serde(default)]
    pub internal: bool,
}

/// The caller's draft on a ticket; 204 when there is none (no draft is the usual case, not an
/// error: 404 is kept for a ticket the caller may not see).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    responses(
        (status = 200, body = ReplyDraft), (status = 204, description = "no draft"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
#[get("/tickets/{id}/draft")]
pub(super) async fn get_draft(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    _: web::Query<super::super::NoParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    Ok(match state.store.reply_draft(caller.account(), caller.user.id, ticket.id).await? {
        Some(draft) => HttpResponse::Ok().json(draft),
        None => HttpResponse::NoContent().finish(),
    })
}

/// Keeps the caller's draft on a ticket, replacing the one before; answers it with its time.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = PutDraft,
    responses((status = 200, body = ReplyDraft), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/tickets/{id}/draft")]
pub(super) async fn put_draft(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<PutDraft>,
) -> Result<web::Json<ReplyDraft>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let draft = ReplyDraft {
        ticket_id: ticket.id,
        body: body.body,
        channel: body.channel,
        internal: body.internal,
        updated_at: state.now(),
    };
    state.store.set_reply_draft(caller.account(), caller.user.id, ticket.id, Some(&draft)).await?;
    Ok(web::Json(draft))
}

/// Removes the caller's draft on a ticket (sent or discarded); 204 whether or not there was one.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/tickets/{id}/draft")]
pub(super) async fn delete_draft(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    state.store.set_reply_draft(caller.account(), caller.user.id, ticket.id, None).await?;
    Ok(HttpResponse::NoContent().finish())
}
