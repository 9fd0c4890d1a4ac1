//! The audit log (issue 17 item 6): `GET /api/v1/audit` (a page, newest first, or the whole
//! filtered log as streamed CSV with `format=csv`) and `GET/PUT /api/v1/audit/retention`.
//! Admins only, their own account only: the account comes from the caller, never the query.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, put, web};
use garde::Validate;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use switchboard_actors::audit::{AuditEntry, AuditEntryId, AuditFilter, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS};
use switchboard_actors::store::Store;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::error::{ErrorBody, ErrorCode};

pub fn routes(config: &mut ServiceConfig) {
    config.service(list_entries).service(retention).service(set_retention);
}

/// Entries per page unless `limit` says otherwise.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Entries read per query while streaming CSV: small enough to keep memory flat, large enough
/// that a year of a busy account is a few hundred queries.
const CSV_PAGE: u32 = 500;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// From this instant (RFC 3339) or this day (`YYYY-MM-DD`, UTC), inclusive.
    from: Option<String>,
    /// Up to this instant, exclusive, or to the end of this day (UTC), inclusive.
    to: Option<String>,
    /// Only this user's actions (a user id).
    actor: Option<i64>,
    /// An action name (`user.created`), or a family ending in a dot (`auth.`).
    action: Option<String>,
    /// The `next` of the previous page.
    cursor: Option<String>,
    /// Entries per page (1–200, default 50); CSV has no page.
    limit: Option<u32>,
    /// `json` (default) or `csv` (the whole filtered log, streamed).
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct AuditPage {
    items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRetentionBody {
    /// Days entries are kept (30–3650; 365 unless set).
    #[garde(range(min = MIN_RETENTION_DAYS, max = MAX_RETENTION_DAYS))]
    pub days: u32,
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: ErrorCode::InvalidQuery, message: message.into() }
}

/// An instant, or a UTC day's midnight (the next one when `end_of_day`).
fn instant(name: &str, text: &str, end_of_day: bool) -> Result<Timestamp, ApiError> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let date: jiff::civil::Date =
        text.parse().map_err(|_| bad_query(format!("{name}: an RFC 3339 instant or a YYYY-MM-DD day")))?;
    let date = if end_of_day { date.tomorrow().map_err(|error| bad_query(format!("{name}: {error}")))? } else { date };
    date.to_zoned(jiff::tz::TimeZone::UTC).map(|zoned| zoned.timestamp()).map_err(|error| bad_query(error.to_string()))
}

fn filter_of(params: &AuditParams) -> Result<AuditFilter, ApiError> {
    let action = params.action.as_deref().map(str::trim).filter(|action| !action.is_empty());
    if let Some(action) = action
        && (action.len() > 100 || !action.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'))
    {
        return Err(bad_query("action: a dotted name such as `user.created`, or a family such as `auth.`"));
    }
    let before_id = match params.cursor.as_deref() {
        Some(cursor) => Some(cursor.parse::<AuditEntryId>().map_err(|_| bad_query("cursor: not one this API gave"))?),
        None => None,
    };
    Ok(AuditFilter {
        from: params.from.as_deref().map(|text| instant("from", text, false)).transpose()?,
        to: params.to.as_deref().map(|text| instant("to", text, true)).transpose()?,
        actor_id: params.actor,
        action: action.map(str::to_owned),
        before_id,
    })
}

/// The account's audit log, newest first, filtered by period, actor and action; a page with
/// the cursor of the next, or with `format=csv` every matching entry as a CSV file (streamed).
/// Admins only.
#[utoipa::path(
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, body = AuditPage, description = "A page, or with `format=csv` the `text/csv` file"),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
#[get("/audit")]
async fn list_entries(state: Api, caller: Caller, params: web::Query<AuditParams>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let params = params.into_inner();
    let filter = filter_of(&params)?;
    match params.format.as_deref() {
        Some("csv") => Ok(csv_response(state.store.clone(), caller.account(), filter, state.now())),
        None | Some("json") => {
            let limit = params.limit.unwrap_or(DEFAULT_PAGE);
            if !(1..=MAX_PAGE).contains(&limit) {
                return Err(bad_query(format!("limit: 1 to {MAX_PAGE}")));
            }
            // One more than the page tells whether another follows.
            let mut items = state.store.audit_entries(caller.account(), &filter, limit + 1).await?;
            let next = if items.len() > limit as usize {
                items.truncate(limit as usize);
                items.last().map(|entry| entry.id.to_string())
            } else {
                None
            };
            Ok(HttpResponse::Ok().json(AuditPage { items, next }))
        }
        Some(other) => Err(bad_query(format!("format: `json` or `csv`, not `{other}`"))),
    }
}

const CSV_HEADER: &str = "id,at,actor_id,actor_ip,action,target_type,target_id,before,after\r\n";

/// A CSV field (RFC 4180), with a `'` before a leading `=`, `+`, `-` or `@` so a spreadsheet
/// does not run it as a formula.
fn csv_field(text: &str, out: &mut String) {
    let mut text = text.to_owned();
    if text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&text);
    }
}

fn csv_line(entry: &AuditEntry, out: &mut String) {
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(|value| value.to_string()).unwrap_or_default();
    let fields = [
        entry.id.to_string(),
        entry.at.to_string(),
        entry.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        entry.actor_ip.clone().unwrap_or_default(),
        entry.action.clone(),
        entry.target_type.clone().unwrap_or_default(),
        entry.target_id.clone().unwrap_or_default(),
        json(&entry.before),
        json(&entry.after),
    ];
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        csv_field(field, out);
    }
    out.push_str("\r\n");
}

/// The filtered log as a CSV file, read a page at a time as the client takes it.
fn csv_response(store: std::sync::Arc<dyn Store>, account: i64, filter: AuditFilter, now: Timestamp) -> HttpResponse {
    struct Reading {
        store: std::sync::Arc<dyn Store>,
        account: i64,
        filter: AuditFilter,
        header: bool,
        done: bool,
    }
    let start = Reading { store, account, filter, header: true, done: false };
    let body = futures_util::stream::unfold(start, |mut reading| async move {
        if reading.header {
            reading.header = false;
            return Some((Ok::<_, std::io::Error>(Bytes::from_static(CSV_HEADER.as_bytes())), reading));
        }
        if reading.done {
            return None;
        }
        let page = match reading.store.audit_entries(reading.account, &reading.filter, CSV_PAGE).await {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(%error, "the audit CSV could not be read");
                return Some((Err(std::io::Error::other(error.to_string())), Reading { done: true, ..reading }));
            }
        };
        if page.is_empty() {
            return None;
        }
        reading.done = page.len() < CSV_PAGE as usize;
        reading.filter.before_id = page.last().map(|entry| entry.id);
        let mut out = String::new();
        for entry in &page {
            csv_line(entry, &mut out);
        }
        Some((Ok(Bytes::from(out)), reading))
    });
    let name = format!("audit-{}.csv", now.strftime("%Y%m%d-%H%M%S"));
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

/// How many days the account keeps its audit log. Admins only.
#[utoipa::path(tag = "audit", responses((status = 200, body = AuditRetentionBody), (status = 403, body = ErrorBody)))]
#[get("/audit/retention")]
async fn retention(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<AuditRetentionBody>, ApiError> {
    caller.require_admin()?;
    Ok(web::Json(AuditRetentionBody { days: state.store.audit_retention_days(caller.account()).await? }))
}

/// Sets how many days the account keeps its audit log (30–3650); older entries are deleted at
/// the next sweep, which this sets due at once. Admins only; audited as `settings.updated`.
#[utoipa::path(
    tag = "audit",
    request_body = AuditRetentionBody,
    responses((status = 200, body = AuditRetentionBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/audit/retention")]
async fn set_retention(
    state: Api,
    caller: Caller,
    body: ApiJson<AuditRetentionBody>,
) -> Result<web::Json<AuditRetentionBody>, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let account = caller.account();
    let before = AuditRetentionBody { days: state.store.audit_retention_days(account).await? };
    state.store.set_audit_retention_days(account, body.days).await?;
    state.audit_retention.schedule(account, state.now()).await?;
    let target = Some(Target::new("account", account));
    let (before, after) = (
        snapshot(&serde_json::json!({"audit_retention_days": before.days})),
        snapshot(&serde_json::json!({"audit_retention_days": body.days})),
    );
    crate::audit::record(&*state.store, state.now(), &caller, "settings.updated", target, before, after).await;
    Ok(web::Json(body))
}
