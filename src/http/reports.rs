//! Reports (issue 15, `docs/metrics.md`): the summary of a period, optionally grouped and
//! filtered with the query language, and one person's productivity. Figures come from the
//! reports' projection of the event log; a request first lets the projection reach the log's end
//! as the request found it (at most `reports::FRESHNESS_WAIT`), and says how far it is.
//!
//! Staff only. An admin sees the account's figures, a supervisor their teams', an agent their
//! teams' and their own; a person's figures are theirs to see, their teammates' and their
//! supervisors', and every admin's.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::{Role, User, UserId};
use switchboard_actors::reports::schedule::{ExportFormat, ExportKind};
use switchboard_actors::reports::summary::{AgentFigures, GroupBy, Hours, agent_figures};
use switchboard_actors::reports::{MeasureQuery, MeasureScope};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Api, ApiError, Caller};
use crate::error::{ErrorBody, ErrorCode};
use crate::reports::summary::{Basis, ReportRequest, Summary, zone_name};
use crate::reports::{ReportProjection, report_zone};

/// The period a report covers when the request names none: the last seven days.
const DEFAULT_PERIOD: SignedDuration = SignedDuration::from_hours(7 * 24);
/// The longest period one report covers (a year and a day, so a year-on-year window fits).
const MAX_PERIOD: SignedDuration = SignedDuration::from_hours(366 * 24);

pub fn routes(config: &mut ServiceConfig) {
    config.service(summary).service(agent_report).service(export);
}

/// The period and clock of a report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SummaryParams {
    /// Start, included: an RFC 3339 instant or a date (`2026-12-01`, midnight in the account's
    /// zone). Default: seven days before `to`.
    from: Option<String>,
    /// End, excluded: an instant or a date (the day is included: up to the next midnight).
    /// Default: now.
    to: Option<String>,
    /// Rows of the summary; without it only the period's totals.
    group_by: Option<GroupBy>,
    /// Durations around the clock (default) or in the SLA policy's business hours.
    hours: Option<Hours>,
    /// Only tickets this query (the search language) matches, as they are now.
    q: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AgentParams {
    /// Start, included: an RFC 3339 instant or a date. Default: seven days before `to`.
    from: Option<String>,
    /// End, excluded: an instant or a date (the day included). Default: now.
    to: Option<String>,
    /// Durations around the clock (default) or in business hours.
    hours: Option<Hours>,
}

#[derive(Serialize, ToSchema)]
struct AgentReport {
    #[serde(flatten)]
    basis: Basis,
    agent_id: UserId,
    #[serde(flatten)]
    figures: AgentFigures,
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: ErrorCode::InvalidQuery, message: message.into() }
}

/// An instant, or a local date's midnight in `zone` (the next midnight when `end_of_day`).
fn instant(name: &str, text: &str, zone: &TimeZone, end_of_day: bool) -> Result<Timestamp, ApiError> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        bad_query(format!("{name}: expected an RFC 3339 instant or a date like 2026-12-01, got `{text}`"))
    })?;
    let date = if end_of_day { date.tomorrow().map_err(|_| bad_query(format!("{name}: out of range")))? } else { date };
    date.to_zoned(zone.clone()).map(|zoned| zoned.timestamp()).map_err(|_| bad_query(format!("{name}: out of range")))
}

pub(super) fn period(
    from: Option<&str>,
    to: Option<&str>,
    zone: &TimeZone,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let to = to.map(|text| instant("to", text, zone, true)).transpose()?.unwrap_or(now);
    let from = match from {
        Some(text) => instant("from", text, zone, false)?,
        None => to.checked_sub(DEFAULT_PERIOD).map_err(|_| bad_query("to: out of range"))?,
    };
    if from >= to {
        return Err(bad_query("from must be before to"));
    }
    if to.duration_since(from) > MAX_PERIOD {
        return Err(bad_query("a report covers at most 366 days: narrow from and to"));
    }
    Ok((from, to))
}

/// The zone and business hours the account's reports use.
pub(super) async fn report_clock(state: &Api, caller: &Caller) -> Result<TimeZone, ApiError> {
    let config = state.account_config(caller.account()).await?;
    Ok(report_zone(config.sla_policy.as_ref().and_then(|policy| policy.business_hours.as_ref())))
}

/// The period's figures: tickets created, resolved and reopened, replies, first response, next
/// reply and resolution times (count, mean, median, p90), one-touch rate and SLA breaches, in
/// total and per `group_by` key.
#[utoipa::path(
    tag = "reports",
    params(SummaryParams),
    responses((status = 200, body = Summary), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/reports/summary")]
async fn summary(
    state: Api,
    caller: Caller,
    projection: web::Data<ReportProjection>,
    params: web::Query<SummaryParams>,
) -> Result<web::Json<Summary>, ApiError> {
    caller.require_staff()?;
    let request = report_request(&state, &caller, &params).await?;
    Ok(web::Json(crate::reports::summary::summary(state.store.as_ref(), &projection, &caller.user, &request).await?))
}

/// A report's request from its parameters: the period in the account's zone, the compiled query.
pub(super) async fn report_request(
    state: &Api,
    caller: &Caller,
    params: &SummaryParams,
) -> Result<ReportRequest, ApiError> {
    let zone = report_clock(state, caller).await?;
    let now = state.now();
    let (from, to) = period(params.from.as_deref(), params.to.as_deref(), &zone, now)?;
    let filter = match params.q.as_deref().filter(|text| !text.trim().is_empty()) {
        Some(text) => {
            let config = state.account_config(caller.account()).await?;
            Some(crate::search::compile(state.store.as_ref(), &config, &caller.user, text, now).await?)
        }
        None => None,
    };
    Ok(ReportRequest {
        from,
        to,
        group_by: params.group_by,
        hours: params.hours.unwrap_or(Hours::Calendar),
        filter,
        zone,
    })
}

/// Whether `caller` may see `agent`'s own figures: their own, a teammate's (agents), a member of
/// their teams (supervisors), anyone's (admins).
fn may_see(caller: &User, agent: &User) -> bool {
    caller.id == agent.id
        || caller.role == Role::Admin
        || caller.team_ids.iter().any(|team| agent.team_ids.contains(team))
}

/// One staff member's productivity over the period: tickets touched, counted replies,
/// resolutions, first response and resolution times (median and more), SLA breaches on their
/// tickets, and their CSAT (null until ratings are collected).
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "The staff member"), AgentParams),
    responses((status = 200, body = AgentReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/reports/agents/{id}")]
async fn agent_report(
    state: Api,
    caller: Caller,
    projection: web::Data<ReportProjection>,
    id: web::Path<UserId>,
    params: web::Query<AgentParams>,
) -> Result<web::Json<AgentReport>, ApiError> {
    caller.require_staff()?;
    let agent = state
        .store
        .user(caller.account(), *id)
        .await?
        .filter(|user| user.role.is_staff())
        .ok_or(ApiError::NotFound("agent"))?;
    if !may_see(&caller.user, &agent) {
        return Err(ApiError::forbidden("you see your own figures and your teams' members'"));
    }
    let zone = report_clock(&state, &caller).await?;
    let (from, to) = period(params.from.as_deref(), params.to.as_deref(), &zone, state.now())?;
    let hours = params.hours.unwrap_or(Hours::Calendar);
    let (as_of_position, complete) = projection.fresh().await?;
    let scope = MeasureScope::Teams { teams: Vec::new(), person: Some(agent.id) };
    let measures = state.store.measures(&MeasureQuery::new(caller.account(), from, to, None, scope)).await?;
    Ok(web::Json(AgentReport {
        basis: Basis { from, to, hours, time_zone: zone_name(&zone), as_of_position, complete },
        agent_id: agent.id,
        figures: agent_figures(&measures, agent.id, hours),
    }))
}

/// What to export, and the same parameters as the summary.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `summary`: the summary's figures (the same as `/reports/summary`); `tickets`: one row
    /// per ticket with measures in the period.
    kind: ExportKind,
    /// `csv`, `xlsx` or `pdf` (a table and a chart).
    format: ExportFormat,
    /// As `/reports/summary`.
    from: Option<String>,
    /// As `/reports/summary`.
    to: Option<String>,
    /// Rows of a summary export (refused for tickets).
    group_by: Option<GroupBy>,
    /// As `/reports/summary`.
    hours: Option<Hours>,
    /// Only tickets this query matches, as they are now.
    q: Option<String>,
}

/// A report as a file: the summary's figures or one row per ticket, as CSV, XLSX or PDF, with
/// no row cap (streamed as it is read). The caller's scope applies as on the summary.
#[utoipa::path(
    tag = "reports",
    params(ExportParams),
    responses(
        (status = 200, description = "The file (`text/csv`, the XLSX type or `application/pdf`), with `Content-Disposition: attachment`", content_type = "text/csv"),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
#[get("/reports/export")]
async fn export(
    state: Api,
    caller: Caller,
    projection: web::Data<ReportProjection>,
    params: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let params = params.into_inner();
    if params.kind == ExportKind::Tickets && params.group_by.is_some() {
        return Err(bad_query("group_by: a tickets export has one row per ticket"));
    }
    let summary_params =
        SummaryParams { from: params.from, to: params.to, group_by: params.group_by, hours: params.hours, q: params.q };
    let request = report_request(&state, &caller, &summary_params).await?;
    let job = crate::reports::export::ExportJob {
        kind: params.kind,
        format: params.format,
        request,
        user: caller.user.clone(),
    };
    let name = job.file_name();
    let after = serde_json::json!({
        "kind": params.kind, "format": params.format, "from": summary_params.from, "to": summary_params.to,
        "q": summary_params.q, "file": name,
    });
    let target = crate::audit::Target::new("report", &name);
    state.audit(&caller, "report.exported", target, None, Some(after)).await;
    let sources =
        crate::reports::export::ExportSources { store: state.store.clone(), projection: projection.into_inner() };
    let bytes = crate::reports::export::start(sources, job);
    let body =
        futures_util::stream::unfold(bytes, |mut bytes| async move { bytes.recv().await.map(|chunk| (chunk, bytes)) });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, params.format.content_type()))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}
