//! Scheduled reports (issue 15 item 5): `POST/GET/DELETE /api/v1/reports/schedules`. Admins and
//! supervisors keep schedules; each sends its export by email at its hour in the account's time
//! zone, with the figures its creator may see (`reports::schedules` runs them). Every admin and
//! supervisor of the account sees and may delete the account's schedules.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Serialize;
use switchboard_actors::domain::Role;
use switchboard_actors::reports::schedule::{ReportSchedule, ScheduleSpec};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::error::ErrorBody;
use crate::reports::schedules::ReportSchedules;

pub fn routes(config: &mut ServiceConfig) {
    config.service(list_schedules).service(create_schedule).service(delete_schedule);
}

#[derive(Serialize, ToSchema)]
struct ScheduleList {
    items: Vec<ReportSchedule>,
}

fn require_lead(caller: &Caller) -> Result<(), ApiError> {
    match caller.user.role {
        Role::Admin | Role::Supervisor => Ok(()),
        _ => Err(ApiError::forbidden("report schedules are kept by supervisors and admins")),
    }
}

/// The account's report schedules, oldest first.
#[utoipa::path(tag = "reports", responses((status = 200, body = ScheduleList), (status = 403, body = ErrorBody)))]
#[get("/reports/schedules")]
async fn list_schedules(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<ScheduleList>, ApiError> {
    require_lead(&caller)?;
    Ok(web::Json(ScheduleList { items: state.store.report_schedules(caller.account()).await? }))
}

/// Schedules a report: `kind` (`summary` | `tickets`), `query` (the search language), `group_by`
/// (summaries), `cadence` (`daily` | `weekly`), `hour` (0–23, the account's time zone),
/// `weekday` (weekly), `recipients` (1–20 addresses) and `format` (`csv` | `xlsx` | `pdf`). A
/// daily report covers the day before its run, a weekly one the seven days before.
#[utoipa::path(
    tag = "reports",
    request_body = ScheduleSpec,
    responses((status = 201, body = ReportSchedule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/reports/schedules")]
async fn create_schedule(
    state: Api,
    caller: Caller,
    schedules: web::Data<ReportSchedules>,
    body: ApiJson<ScheduleSpec>,
) -> Result<HttpResponse, ApiError> {
    require_lead(&caller)?;
    let mut spec = body.into_inner();
    spec.query = spec.query.trim().to_owned();
    spec.recipients = spec.recipients.iter().map(|address| address.trim().to_lowercase()).collect();
    spec.validate().map_err(|error| ApiError::invalid(error.field, error.message))?;
    if !spec.query.is_empty() {
        let config = state.account_config(caller.account()).await?;
        crate::search::compile(state.store.as_ref(), &config, &caller.user, &spec.query, state.now()).await?;
    }
    let schedule = schedules.create(caller.account(), caller.user.id, spec).await?;
    let target = Target::new("report_schedule", schedule.id);
    state.audit(&caller, "report_schedule.created", target, None, snapshot(&schedule)).await;
    Ok(HttpResponse::Created().json(schedule))
}

/// Deletes a schedule: it sends nothing more.
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "schedule id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/reports/schedules/{id}")]
async fn delete_schedule(
    state: Api,
    caller: Caller,
    schedules: web::Data<ReportSchedules>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    require_lead(&caller)?;
    let before = state.store.report_schedules(caller.account()).await?.into_iter().find(|schedule| schedule.id == *id);
    if !schedules.delete(caller.account(), *id).await? {
        return Err(ApiError::NotFound("schedule"));
    }
    let before = before.as_ref().and_then(snapshot);
    state.audit(&caller, "report_schedule.deleted", Target::new("report_schedule", *id), before, None).await;
    Ok(HttpResponse::NoContent().finish())
}
