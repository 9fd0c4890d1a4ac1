//! Data protection (issue 17 item 7): a customer's export (`GET /customers/{id}/export`, a zip)
//! and erasure (`POST /customers/{id}/erase`, confirmed by naming the customer's id), the
//! account's retention of closed tickets (`GET/PUT /account/retention`), and customers' own
//! requests from the portal (`GET/POST /me/data-requests`, the approved export's download) with
//! their review by admins (`GET /data-requests`, `POST /data-requests/{id}/approve|decline`).
//! Admins only on the staff side, their own account only; every change is audited.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::{Role, User, UserId};
use switchboard_actors::gdpr::{DataRequest, RequestKind, RequestStatus, RetentionPolicy};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::error::{ErrorBody, ErrorCode};
use crate::gdpr::retention::TicketRetention;
use crate::gdpr::{DataProtection, Erased};

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(export_customer)
        .service(erase_customer)
        .service(retention)
        .service(set_retention)
        .service(my_requests)
        .service(ask)
        .service(my_export)
        .service(list_requests)
        .service(approve)
        .service(decline);
}

/// An erasure's confirmation: `confirm` must be the customer's id (a number or its text).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    /// The customer's id, again: erasure cannot be undone.
    #[schema(value_type = Object)]
    confirm: Option<serde_json::Value>,
}

fn confirmed(body: &EraseBody, customer: UserId) -> Result<(), ApiError> {
    let named = match &body.confirm {
        Some(serde_json::Value::Number(number)) => number.as_i64() == Some(customer),
        Some(serde_json::Value::String(text)) => text.trim() == customer.to_string(),
        _ => false,
    };
    if named {
        Ok(())
    } else {
        Err(ApiError::Unprocessable {
            code: ErrorCode::ConfirmationRequired,
            message: format!("erasure cannot be undone: send {{\"confirm\": {customer}}}, the customer's id"),
        })
    }
}

/// The zip as a download.
fn zip_response(bytes: Vec<u8>, customer: UserId, now: jiff::Timestamp) -> HttpResponse {
    let name = format!("customer-{customer}-{}.zip", now.strftime("%Y%m%d-%H%M%S"));
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/zip"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes)
}

/// Everything the account holds about a customer as a zip: `profile.json`, `tickets.json`
/// (archived ones too), `messages.json` (public messages), `csat.json` and `attachments/`.
/// Admins only; audited as `customer.exported`.
#[utoipa::path(
    tag = "data protection",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "the zip file", content_type = "application/zip"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)
    )
)]
#[get("/customers/{id}/export")]
async fn export_customer(
    state: Api,
    caller: Caller,
    protection: web::Data<DataProtection>,
    id: web::Path<UserId>,
    _: web::Query<NoParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let customer = protection.customer(caller.account(), *id).await?;
    let bytes = protection.export(&customer).await?;
    let after = snapshot(&serde_json::json!({"bytes": bytes.len()}));
    state.audit(&caller, "customer.exported", Target::new("user", customer.id), None, after).await;
    Ok(zip_response(bytes, customer.id, state.now()))
}

/// Erases a customer: name, email, numbers and addresses, their tickets' subjects and message
/// bodies (and every copy: events, search, previews, drafts, notifications, raw webhooks,
/// deliveries, audit before/after) become `[erased]`; their files are deleted; their WhatsApp
/// conversations are unlinked; their sessions end. Tickets and figures stay, so reports still
/// count them. Irreversible: `confirm` must be the customer's id. Admins only; audited as
/// `customer.erased` (counts only).
#[utoipa::path(
    tag = "data protection",
    params(("id" = i64, Path)),
    request_body = EraseBody,
    responses(
        (status = 200, body = Erased),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`confirmation_required`, `not_a_customer`")
    )
)]
#[post("/customers/{id}/erase")]
async fn erase_customer(
    state: Api,
    caller: Caller,
    protection: web::Data<DataProtection>,
    id: web::Path<UserId>,
    body: ApiJson<EraseBody>,
) -> Result<web::Json<Erased>, ApiError> {
    caller.require_admin()?;
    let customer = protection.customer(caller.account(), *id).await?;
    confirmed(&body, customer.id)?;
    Ok(web::Json(erase(&state, &caller, &protection, &customer).await?))
}

async fn erase(state: &Api, caller: &Caller, protection: &DataProtection, customer: &User) -> Result<Erased, ApiError> {
    let erased = protection.erase(customer).await?;
    state.live.end_sessions(caller.account(), crate::live::SessionEnd::User { user_id: customer.id, except: None });
    state.audit(caller, "customer.erased", Target::new("user", customer.id), None, snapshot(&erased)).await;
    Ok(erased)
}

/// How long the account keeps closed tickets: archived after `archive_after_days` (out of lists
/// and search, still readable by id and exported), deleted after `delete_after_days`; `null` is
/// never (the default). Admins only.
#[utoipa::path(tag = "data protection", responses((status = 200, body = RetentionPolicy), (status = 403, body = ErrorBody)))]
#[get("/account/retention")]
async fn retention(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<RetentionPolicy>, ApiError> {
    caller.require_admin()?;
    Ok(web::Json(state.store.retention_policy(caller.account()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// Days after closing a ticket is archived (1–3650), or `null` for never.
    archive_after_days: Option<u32>,
    /// Days after closing a ticket is deleted (1–3650, more than `archive_after_days`), or `null`.
    delete_after_days: Option<u32>,
}

/// Sets the account's retention of closed tickets; the next sweep runs at once. Admins only;
/// audited as `settings.updated`.
#[utoipa::path(
    tag = "data protection",
    request_body = RetentionBody,
    responses((status = 200, body = RetentionPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/account/retention")]
async fn set_retention(
    state: Api,
    caller: Caller,
    sweeps: web::Data<TicketRetention>,
    body: ApiJson<RetentionBody>,
) -> Result<web::Json<RetentionPolicy>, ApiError> {
    caller.require_admin()?;
    let policy =
        RetentionPolicy { archive_after_days: body.archive_after_days, delete_after_days: body.delete_after_days };
    policy.check().map_err(|error| ApiError::invalid(error.field, error.message))?;
    let account = caller.account();
    let before = state.store.retention_policy(account).await?;
    state.store.set_retention_policy(account, &policy).await?;
    if policy.is_set() {
        sweeps.schedule(account, state.now()).await?;
    }
    let (before, after) =
        (snapshot(&serde_json::json!({"retention": before})), snapshot(&serde_json::json!({"retention": policy})));
    state.audit(&caller, "settings.updated", Target::new("account", account), before, after).await;
    Ok(web::Json(policy))
}

#[derive(Serialize, ToSchema)]
struct Requests {
    items: Vec<DataRequest>,
    next: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// `export` (a copy of your data) or `erase` (delete it).
    kind: RequestKind,
}

fn require_customer(caller: &Caller) -> Result<(), ApiError> {
    if caller.user.role == Role::Customer {
        Ok(())
    } else {
        Err(ApiError::forbidden("these are customers' own requests; staff use /data-requests"))
    }
}

/// The caller's own export and erasure requests, newest first (customers).
#[utoipa::path(tag = "data protection", responses((status = 200, body = Requests), (status = 403, body = ErrorBody)))]
#[get("/me/data-requests")]
async fn my_requests(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<Requests>, ApiError> {
    require_customer(&caller)?;
    let items = state.store.data_requests(caller.account(), Some(caller.user.id)).await?;
    Ok(web::Json(Requests { items, next: None }))
}

/// Asks the team for a copy of the caller's data or its erasure (customers); an admin approves
/// or declines. A second request of a kind still pending answers the pending one.
#[utoipa::path(
    tag = "data protection",
    request_body = AskBody,
    responses((status = 201, body = DataRequest), (status = 200, body = DataRequest), (status = 403, body = ErrorBody))
)]
#[post("/me/data-requests")]
async fn ask(state: Api, caller: Caller, body: ApiJson<AskBody>) -> Result<HttpResponse, ApiError> {
    require_customer(&caller)?;
    let (account, customer) = (caller.account(), caller.user.id);
    let pending = state
        .store
        .data_requests(account, Some(customer))
        .await?
        .into_iter()
        .find(|request| request.kind == body.kind && request.status == RequestStatus::Pending);
    if let Some(pending) = pending {
        return Ok(HttpResponse::Ok().json(pending));
    }
    let request = state.store.create_data_request(account, customer, body.kind, state.now()).await?;
    let after = snapshot(&request);
    state.audit(&caller, "data_request.created", Target::new("data_request", request.id), None, after).await;
    Ok(HttpResponse::Created().json(request))
}

/// The caller's data as a zip, once an admin approved their export request (customers).
#[utoipa::path(
    tag = "data protection",
    params(("id" = i64, Path)),
    responses((status = 200, description = "the zip file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/me/data-requests/{id}/export")]
async fn my_export(
    state: Api,
    caller: Caller,
    protection: web::Data<DataProtection>,
    id: web::Path<i64>,
    _: web::Query<NoParams>,
) -> Result<HttpResponse, ApiError> {
    require_customer(&caller)?;
    let request = state
        .store
        .data_request(caller.account(), *id)
        .await?
        .filter(|request| request.customer_id == caller.user.id && request.kind == RequestKind::Export)
        .ok_or(ApiError::NotFound("data request"))?;
    if request.status != RequestStatus::Approved {
        return Err(ApiError::forbidden("the team has not approved this export (yet)"));
    }
    let bytes = protection.export(&caller.user).await?;
    let after = snapshot(&serde_json::json!({"bytes": bytes.len(), "request": request.id}));
    state.audit(&caller, "customer.exported", Target::new("user", caller.user.id), None, after).await;
    Ok(zip_response(bytes, caller.user.id, state.now()))
}

/// The account's export and erasure requests, newest first. Admins only.
#[utoipa::path(tag = "data protection", responses((status = 200, body = Requests), (status = 403, body = ErrorBody)))]
#[get("/data-requests")]
async fn list_requests(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<Requests>, ApiError> {
    caller.require_admin()?;
    Ok(web::Json(Requests { items: state.store.data_requests(caller.account(), None).await?, next: None }))
}

/// The account's pending request `id`: 404 when there is none, 409 `request_decided` once decided.
async fn pending(state: &Api, caller: &Caller, id: i64) -> Result<DataRequest, ApiError> {
    let request = state.store.data_request(caller.account(), id).await?.ok_or(ApiError::NotFound("data request"))?;
    if request.status != RequestStatus::Pending {
        return Err(ApiError::Conflict {
            code: ErrorCode::RequestDecided,
            message: format!("this request was already {}", request.status.as_str()),
        });
    }
    Ok(request)
}

/// Approves a customer's request: an export becomes downloadable from their portal; an
/// erasure is carried out at once (as `POST /customers/{id}/erase`). Admins only; audited.
#[utoipa::path(
    tag = "data protection",
    params(("id" = i64, Path)),
    responses((status = 200, body = DataRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[post("/data-requests/{id}/approve")]
async fn approve(
    state: Api,
    caller: Caller,
    protection: web::Data<DataProtection>,
    id: web::Path<i64>,
) -> Result<web::Json<DataRequest>, ApiError> {
    caller.require_admin()?;
    let request = pending(&state, &caller, *id).await?;
    let customer = protection.customer(caller.account(), request.customer_id).await?;
    // Decided first: two admins approving at once erase once.
    decide(&state, &caller, &request, RequestStatus::Approved).await?;
    if request.kind == RequestKind::Erase {
        erase(&state, &caller, &protection, &customer).await?;
    }
    answer(&state, &caller, request.id).await
}

/// Declines a customer's request. Admins only; audited.
#[utoipa::path(
    tag = "data protection",
    params(("id" = i64, Path)),
    responses((status = 200, body = DataRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[post("/data-requests/{id}/decline")]
async fn decline(state: Api, caller: Caller, id: web::Path<i64>) -> Result<web::Json<DataRequest>, ApiError> {
    caller.require_admin()?;
    let request = pending(&state, &caller, *id).await?;
    decide(&state, &caller, &request, RequestStatus::Declined).await?;
    answer(&state, &caller, request.id).await
}

async fn decide(state: &Api, caller: &Caller, request: &DataRequest, status: RequestStatus) -> Result<(), ApiError> {
    let moved =
        state.store.decide_data_request(caller.account(), request.id, status, caller.user.id, state.now()).await?;
    if !moved {
        return Err(ApiError::Conflict {
            code: ErrorCode::RequestDecided,
            message: "another admin decided this request first".to_owned(),
        });
    }
    let action = if status == RequestStatus::Approved { "data_request.approved" } else { "data_request.declined" };
    let after =
        snapshot(&serde_json::json!({"kind": request.kind, "customer_id": request.customer_id, "status": status}));
    state.audit(caller, action, Target::new("data_request", request.id), None, after).await;
    Ok(())
}

async fn answer(state: &Api, caller: &Caller, id: i64) -> Result<web::Json<DataRequest>, ApiError> {
    state.store.data_request(caller.account(), id).await?.map(web::Json).ok_or(ApiError::NotFound("data request"))
}
