//! CSAT for staff (issue 14 item 4): the account's settings (`GET/PUT /account/csat`, admins
//! write), the ratings of a period (`GET /csat`, scoped like the reports: an admin the account's,
//! a supervisor their teams', an agent their teams' and the ones credited to them) and the
//! survey funnel per channel (`GET /csat/funnel`). The ticket's own survey is in `tickets/csat.rs`.

use std::collections::BTreeMap;

use actix_web::{get, put, web};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use switchboard_actors::csat::{CsatSettings, Scale, Survey, SurveyChannel, SurveyStatus};
use switchboard_actors::domain::{DeliveryStatus, Role, TeamId, TicketId, User, UserId};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::reports::{period, report_clock};
use super::{Api, ApiError, Caller, NoParams};
use crate::csat::Csat;
use crate::error::ErrorBody;

/// Ratings one `GET /csat` returns at most.
const MAX_RATINGS: i64 = 10_000;

pub fn routes(config: &mut ServiceConfig) {
    config.service(get_settings).service(put_settings).service(list_ratings).service(funnel);
}

/// The account's CSAT settings (the defaults, off, until an admin saves them).
#[utoipa::path(tag = "csat", responses((status = 200, body = CsatSettings), (status = 403, body = ErrorBody)))]
#[get("/account/csat")]
async fn get_settings(
    caller: Caller,
    csat: web::Data<Csat>,
    _: web::Query<NoParams>,
) -> Result<web::Json<CsatSettings>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(csat.settings(caller.account()).await?))
}

/// Replace the CSAT settings (admin only). Applies to tickets resolved from now on.
#[utoipa::path(
    tag = "csat",
    request_body = CsatSettings,
    responses((status = 200, body = CsatSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/account/csat")]
async fn put_settings(
    caller: Caller,
    csat: web::Data<Csat>,
    body: ApiJson<CsatSettings>,
) -> Result<web::Json<CsatSettings>, ApiError> {
    caller.require_admin()?;
    let settings = body.into_inner().normalised().map_err(|error| ApiError::invalid(error.field, error.message))?;
    csat.set_settings(caller.account(), &settings).await?;
    Ok(web::Json(settings))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PeriodParams {
    /// Start, included: an RFC 3339 instant or a date (midnight in the account's zone).
    /// Default: seven days before `to`.
    from: Option<String>,
    /// End, excluded: an instant or a date (the day included). Default: now.
    to: Option<String>,
    /// At most this many ratings, newest first (default 50, at most 200).
    limit: Option<i64>,
    /// The `next` of the previous page.
    cursor: Option<String>,
}

/// One rating, as staff list them.
#[derive(Debug, Serialize, ToSchema)]
struct Rating {
    /// The survey's id.
    id: i64,
    ticket_id: TicketId,
    customer_id: UserId,
    cycle: i64,
    channel: SurveyChannel,
    scale: Scale,
    /// 1–5 (thumbs: 1 down, 5 up).
    score: Option<i64>,
    comment: Option<String>,
    /// Every person who wrote a public reply in the rated cycle.
    agent_ids: Vec<UserId>,
    /// The ticket's team when it was resolved.
    team_id: Option<TeamId>,
    #[schema(value_type = String)]
    asked_at: Timestamp,
    #[schema(value_type = Option<String>)]
    answered_at: Option<Timestamp>,
}

impl From<Survey> for Rating {
    fn from(survey: Survey) -> Rating {
        Rating {
            id: survey.id,
            ticket_id: survey.ticket_id,
            customer_id: survey.customer_id,
            cycle: survey.cycle,
            channel: survey.channel,
            scale: survey.scale,
            score: survey.score,
            comment: survey.comment,
            agent_ids: survey.agent_ids,
            team_id: survey.team_id,
            asked_at: survey.created_at,
            answered_at: survey.answered_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
struct Ratings {
    items: Vec<Rating>,
    next: Option<String>,
}

/// Whether `caller` may see a rating: admins all, supervisors their teams', agents their teams'
/// and those credited to them (as the reports scope figures).
fn may_see(caller: &User, survey: &Survey) -> bool {
    caller.role == Role::Admin
        || survey.team_id.is_some_and(|team| caller.team_ids.contains(&team))
        || survey.agent_ids.contains(&caller.id)
}

/// The ratings received in the period (by answer time), newest first.
#[utoipa::path(
    tag = "csat",
    params(PeriodParams),
    responses((status = 200, body = Ratings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/csat")]
async fn list_ratings(
    state: Api,
    caller: Caller,
    params: web::Query<PeriodParams>,
) -> Result<web::Json<Ratings>, ApiError> {
    caller.require_staff()?;
    let zone = report_clock(&state, &caller).await?;
    let (from, to) = period(params.from.as_deref(), params.to.as_deref(), &zone, state.now())?;
    let limit = super::tickets::page_limit(params.limit)?;
    let after: Option<i64> = match params.cursor.as_deref() {
        Some(cursor) => Some(cursor.parse().map_err(|_| ApiError::invalid("cursor", "not a cursor from `next`"))?),
        None => None,
    };
    let surveys = state.store.answered_surveys(caller.account(), from, to, MAX_RATINGS).await?;
    let mut visible = surveys.into_iter().filter(|survey| may_see(&caller.user, survey));
    // Newest first; a cursor is the position (in this order) the previous page ended at.
    let skip = after.unwrap_or(0).max(0) as usize;
    let page: Vec<Survey> = visible.by_ref().skip(skip).take(limit as usize + 1).collect();
    let more = page.len() > limit as usize;
    let items: Vec<Rating> = page.into_iter().take(limit as usize).map(Rating::from).collect();
    let next = more.then(|| (skip + items.len()).to_string());
    Ok(web::Json(Ratings { items, next }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FunnelParams {
    /// Start, included: an instant or a date. Default: seven days before `to`.
    from: Option<String>,
    /// End, excluded: an instant or a date (the day included). Default: now.
    to: Option<String>,
}

/// One channel's surveys asked in the period and how far they got. WhatsApp reports every step
/// (Meta's statuses); email reaches `sent` (the server took it) and then only the answer says
/// more; the portal sends nothing, so its surveys count as shown. A step counts every survey
/// that reached it or a later one (an answer proves delivery).
#[derive(Debug, Serialize, ToSchema)]
struct FunnelStep {
    channel: SurveyChannel,
    /// Surveys asked (a survey cancelled by a reopen included).
    asked: i64,
    sent: i64,
    delivered: i64,
    read: i64,
    answered: i64,
    /// The message carrying it failed.
    failed: i64,
    /// The ticket reopened before an answer.
    cancelled: i64,
}

#[derive(Debug, Serialize, ToSchema)]
struct Funnel {
    #[schema(value_type = String)]
    from: Timestamp,
    #[schema(value_type = String)]
    to: Timestamp,
    /// One row per channel surveys were asked on.
    channels: Vec<FunnelStep>,
}

/// The survey funnel per channel: asked → sent → delivered → read → answered.
#[utoipa::path(
    tag = "csat",
    params(FunnelParams),
    responses((status = 200, body = Funnel), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/csat/funnel")]
async fn funnel(state: Api, caller: Caller, params: web::Query<FunnelParams>) -> Result<web::Json<Funnel>, ApiError> {
    caller.require_staff()?;
    let zone = report_clock(&state, &caller).await?;
    let (from, to) = period(params.from.as_deref(), params.to.as_deref(), &zone, state.now())?;
    let rows = state.store.survey_funnel(caller.account(), from, to).await?;
    let mut steps: BTreeMap<SurveyChannel, FunnelStep> = BTreeMap::new();
    for row in rows {
        let step = steps.entry(row.channel).or_insert_with(|| FunnelStep {
            channel: row.channel,
            asked: 0,
            sent: 0,
            delivered: 0,
            read: 0,
            answered: 0,
            failed: 0,
            cancelled: 0,
        });
        step.asked += 1;
        let answered = row.status == SurveyStatus::Answered;
        let rank = match (row.channel, row.delivery) {
            // Shown in the portal as soon as it is asked.
            (SurveyChannel::Portal, _) => 3,
            (_, Some(DeliveryStatus::Read | DeliveryStatus::Played)) => 3,
            (_, Some(DeliveryStatus::Delivered)) => 2,
            (_, Some(DeliveryStatus::Sent)) => 1,
            (_, Some(DeliveryStatus::Failed)) => {
                step.failed += 1;
                0
            }
            (_, Some(DeliveryStatus::Queued) | None) => 0,
        };
        let rank = if answered { 3 } else { rank };
        step.sent += i64::from(rank >= 1);
        step.delivered += i64::from(rank >= 2);
        step.read += i64::from(rank >= 3);
        step.answered += i64::from(answered);
        step.cancelled += i64::from(row.status == SurveyStatus::Cancelled);
    }
    Ok(web::Json(Funnel { from, to, channels: steps.into_values().collect() }))
}
