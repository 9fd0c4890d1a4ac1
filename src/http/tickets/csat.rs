//! A ticket's satisfaction survey, the portal's contract: `GET /tickets/{id}/csat` (the customers
//! who may read the ticket, and staff) shows its newest survey; `POST /tickets/{id}/csat` (the
//! requester) answers it and adds or replaces the comment.

use switchboard_actors::csat::{Scale, Survey, SurveyChannel, SurveyStatus};

use super::*;
use crate::csat::{Csat, CsatError};

/// A survey as the portal shows it (and staff on the ticket).
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    pub id: i64,
    /// The resolution cycle it rates: 1, then 2 after the first reopen, …
    pub cycle: i64,
    pub question: String,
    /// `five`: 1–5; `thumbs`: 1 (down) or 5 (up).
    pub scale: Scale,
    pub comment_prompt: String,
    /// `pending` until rated, `answered`, or `cancelled` (the ticket reopened first).
    pub status: SurveyStatus,
    pub score: Option<i64>,
    pub comment: Option<String>,
    /// Where it was asked: `whatsapp`, `email` or `portal` (any of them can be answered here).
    pub channel: SurveyChannel,
}

impl From<Survey> for SurveyView {
    fn from(survey: Survey) -> SurveyView {
        SurveyView {
            id: survey.id,
            cycle: survey.cycle,
            question: survey.question,
            scale: survey.scale,
            comment_prompt: survey.comment_prompt,
            status: survey.status,
            score: survey.score,
            comment: survey.comment,
            channel: survey.channel,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSurvey {
    /// The ticket's newest survey; `null` when none was asked.
    pub survey: Option<SurveyView>,
}

/// An answer, a comment, or both (the score first).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    /// On the survey's scale: 1–5, or for thumbs 1 (down) / 5 (up). Only while it is pending.
    #[serde(default)]
    pub score: Option<i64>,
    /// Up to 2,000 characters; replaces an earlier comment. Needs the survey answered (or a
    /// score in the same request).
    #[serde(default)]
    pub comment: Option<String>,
}

/// The ticket's newest satisfaction survey, as its customer answers it.
#[utoipa::path(
    tag = "csat",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketSurvey), (status = 404, body = ErrorBody))
)]
#[get("/tickets/{id}/csat")]
pub(super) async fn get_ticket_csat(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    _: web::Query<super::super::NoParams>,
) -> Result<web::Json<TicketSurvey>, ApiError> {
    let ticket = visible_ticket(&state, &caller, id.into_inner()).await?;
    let survey = state.store.latest_survey(ticket.id).await?;
    Ok(web::Json(TicketSurvey { survey: survey.map(SurveyView::from) }))
}

/// Rates the ticket's pending survey, and/or adds or replaces the comment of its answered one.
/// Only the ticket's requester; the rating is recorded as a `csat_received` event (staff see it).
#[utoipa::path(
    tag = "csat",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = SurveyAnswer,
    responses(
        (status = 200, body = TicketSurvey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/tickets/{id}/csat")]
pub(super) async fn answer_ticket_csat(
    state: Api,
    caller: Caller,
    csat: web::Data<Csat>,
    id: web::Path<TicketId>,
    body: ApiJson<SurveyAnswer>,
) -> Result<web::Json<TicketSurvey>, ApiError> {
    let ticket = visible_ticket(&state, &caller, id.into_inner()).await?;
    if caller.user.role.is_staff() {
        return Err(ApiError::forbidden("only the customer rates their ticket"));
    }
    if ticket.requester_id != caller.user.id {
        return Err(ApiError::forbidden("only the person who asked for help rates the ticket"));
    }
    let SurveyAnswer { score, comment } = body.into_inner();
    if score.is_none() && comment.is_none() {
        return Err(ApiError::invalid("score", "send a score, a comment, or both"));
    }
    // A comment that would be refused is refused before the score is written.
    if let Some(comment) = &comment {
        let length = comment.trim().chars().count();
        if length == 0 || length > switchboard_actors::csat::MAX_COMMENT_CHARS {
            return Err(ApiError::invalid(
                "comment",
                format!("must be 1 to {} characters", switchboard_actors::csat::MAX_COMMENT_CHARS),
            ));
        }
    }
    let mut survey = state.store.latest_survey(ticket.id).await?.ok_or(CsatError::NotPending)?;
    if let Some(score) = score {
        survey = csat.answer(&survey, score).await?;
    }
    if let Some(comment) = comment {
        survey = csat.comment(&survey, &comment).await?;
    }
    Ok(web::Json(TicketSurvey { survey: Some(survey.into()) }))
}
