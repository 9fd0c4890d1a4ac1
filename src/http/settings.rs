//! The account's ticket vocabulary: statuses (custom ones mapped to the five categories), the
//! urgency × importance priority matrix, typed custom fields, hierarchical categories and the SLA
//! policy.

use actix_web::{HttpResponse, delete, get, post, put, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::*;
use switchboard_actors::store::StoreError;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::error::ErrorBody;

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(get_config)
        .service(put_priority_matrix)
        .service(put_status)
        .service(put_custom_field)
        .service(list_categories)
        .service(create_category)
        .service(get_sla_policy)
        .service(put_sla_policy)
        .service(list_canned)
        .service(create_canned)
        .service(delete_canned);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountConfigView {
    pub statuses: Vec<TicketStatus>,
    pub priority_matrix: PriorityMatrix,
    pub custom_fields: Vec<CustomFieldDef>,
    pub categories: Vec<Category>,
    pub ticket_types: Vec<String>,
    /// The SLA policy (disabled, with no targets, until an admin sets one).
    pub sla_policy: SlaPolicy,
}

/// The account's statuses, priority matrix, custom fields, categories and ticket types.
#[utoipa::path(tag = "settings", responses((status = 200, body = AccountConfigView), (status = 403, body = ErrorBody)))]
#[get("/account/config")]
async fn get_config(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<AccountConfigView>, ApiError> {
    caller.require_staff()?;
    let config = state.account_config(caller.account()).await?;
    let config = (*config).clone();
    Ok(web::Json(AccountConfigView {
        statuses: config.statuses,
        priority_matrix: config.priority_matrix,
        custom_fields: config.custom_fields,
        categories: config.categories,
        ticket_types: config.ticket_types,
        sla_policy: config.sla_policy.unwrap_or_default(),
    }))
}

/// The account's SLA policy: targets per priority, warning threshold, enabled.
#[utoipa::path(tag = "settings", responses((status = 200, body = SlaPolicy), (status = 403, body = ErrorBody)))]
#[get("/account/sla-policy")]
async fn get_sla_policy(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<SlaPolicy>, ApiError> {
    caller.require_staff()?;
    let config = state.account_config(caller.account()).await?;
    Ok(web::Json(config.sla_policy.clone().unwrap_or_default()))
}

/// Replace the SLA policy (admin only). Targets are minutes of calendar time per priority
/// (`null`: no target). It applies to tickets created or re-prioritised afterwards; running
/// clocks keep the targets they started with.
#[utoipa::path(
    tag = "settings",
    request_body = SlaPolicy,
    responses((status = 200, body = SlaPolicy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/account/sla-policy")]
async fn put_sla_policy(
    state: Api,
    caller: Caller,
    body: ApiJson<SlaPolicy>,
) -> Result<web::Json<SlaPolicy>, ApiError> {
    caller.require_admin()?;
    let mut policy = body.into_inner();
    policy.validate().map_err(|error| ApiError::invalid(error.field, error.message))?;
    policy.targets.sort_by_key(|target| std::cmp::Reverse(target.priority.rank()));
    let before = state.account_config(caller.account()).await?.sla_policy.as_ref().and_then(snapshot);
    state.store.set_sla_policy(caller.account(), &policy).await?;
    state.forget_account_config(caller.account());
    state
        .audit(&caller, "sla_policy.updated", Target::new("account", caller.account()), before, snapshot(&policy))
        .await;
    Ok(web::Json(policy))
}

/// Replace the priority matrix (admin only). Rows are urgency low→critical, columns importance.
/// Existing tickets keep their priority until their urgency or importance next changes.
#[utoipa::path(tag = "settings", request_body = PriorityMatrix, responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/account/priority-matrix")]
async fn put_priority_matrix(
    state: Api,
    caller: Caller,
    body: ApiJson<PriorityMatrix>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let before = snapshot(&state.account_config(caller.account()).await?.priority_matrix);
    state.store.set_priority_matrix(caller.account(), &body).await?;
    state.forget_account_config(caller.account());
    let after = snapshot(&*body);
    state
        .audit(&caller, "settings.priority_matrix_updated", Target::new("account", caller.account()), before, after)
        .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// Lower-case letters, digits and `_`, e.g. `waiting_on_vendor`.
    #[garde(length(min = 1, max = 40), pattern(r"^[a-z][a-z0-9_]*$"))]
    pub key: String,
    #[garde(length(min = 1, max = 60))]
    pub label: String,
    /// The lifecycle category it behaves as. Built-in statuses keep theirs.
    #[garde(skip)]
    pub category: StatusCategory,
}

/// Add a custom status or relabel one (admin only).
#[utoipa::path(tag = "settings", request_body = StatusRequest, responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/account/statuses")]
async fn put_status(state: Api, caller: Caller, body: ApiJson<StatusRequest>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let status = TicketStatus { key: body.key, label: body.label, category: body.category, builtin: false };
    let before = state.account_config(caller.account()).await?.status(&status.key).and_then(snapshot);
    state.store.upsert_status(caller.account(), &status).await?;
    state.forget_account_config(caller.account());
    state
        .audit(&caller, "settings.status_updated", Target::new("status", &status.key), before, snapshot(&status))
        .await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldRequest {
    #[garde(length(min = 1, max = 40), pattern(r"^[a-z][a-z0-9_]*$"))]
    pub key: String,
    #[garde(length(min = 1, max = 60))]
    pub label: String,
    #[garde(skip)]
    pub field_type: FieldType,
    /// The allowed values of a `select` field.
    #[garde(length(max = 100), inner(length(min = 1, max = 100)))]
    #[serde(default)]
    pub options: Vec<String>,
    /// Show the field to customers on their tickets (default: staff only).
    #[garde(skip)]
    #[serde(default)]
    pub customer_visible: bool,
}

/// Define or redefine a typed custom field (admin only).
#[utoipa::path(tag = "settings", request_body = CustomFieldRequest, responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/account/custom-fields")]
async fn put_custom_field(
    state: Api,
    caller: Caller,
    body: ApiJson<CustomFieldRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    if (body.field_type == FieldType::Select) == body.options.is_empty() {
        return Err(ApiError::invalid("options", "select fields need options; other types take none"));
    }
    let field = CustomFieldDef {
        key: body.key,
        label: body.label,
        field_type: body.field_type,
        options: body.options,
        customer_visible: body.customer_visible,
    };
    let before = state.account_config(caller.account()).await?.custom_field(&field.key).and_then(snapshot);
    state.store.upsert_custom_field(caller.account(), &field).await?;
    state.forget_account_config(caller.account());
    let target = Target::new("custom_field", &field.key);
    state.audit(&caller, "settings.custom_field_updated", target, before, snapshot(&field)).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    #[garde(length(min = 1, max = 100))]
    pub name: String,
    /// The parent category, for a sub-category.
    #[garde(skip)]
    pub parent_id: Option<CategoryId>,
}

/// The account's ticket categories, by path: what a customer picks when opening a ticket in the
/// portal (anyone signed in).
#[utoipa::path(tag = "settings", responses((status = 200, body = super::tickets::Page<Category>), (status = 401, body = ErrorBody)))]
#[get("/account/categories")]
async fn list_categories(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<super::tickets::Page<Category>>, ApiError> {
    let config = state.account_config(caller.account()).await?;
    let mut items = config.categories.clone();
    items.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(web::Json(super::tickets::Page { items, next: None }))
}

/// Add a category or sub-category (admin only).
#[utoipa::path(tag = "settings", request_body = CategoryRequest, responses((status = 201, body = Category), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/account/categories")]
async fn create_category(state: Api, caller: Caller, body: ApiJson<CategoryRequest>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    if body.name.contains(" / ") {
        return Err(ApiError::invalid("name", "must not contain ` / ` (it separates levels)"));
    }
    let category = state.store.create_category(caller.account(), body.parent_id, &body.name).await.map_err(
        |error| match error {
            StoreError::NotFound => ApiError::invalid("parent_id", "no such category"),
            StoreError::Conflict(_) => ApiError::Conflict {
                code: crate::error::ErrorCode::CategoryExists,
                message: "this category already exists".to_owned(),
            },
            other => other.into(),
        },
    )?;
    state.forget_account_config(caller.account());
    state
        .audit(&caller, "settings.category_created", Target::new("category", category.id), None, snapshot(&category))
        .await;
    Ok(HttpResponse::Created().json(category))
}

/// Canned responses (staff).
#[utoipa::path(tag = "settings", responses((status = 200, body = super::tickets::Page<CannedResponse>), (status = 403, body = ErrorBody)))]
#[get("/canned-responses")]
async fn list_canned(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<super::tickets::Page<CannedResponse>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(super::tickets::Page { items: state.store.canned_responses(caller.account()).await?, next: None }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedRequest {
    #[garde(length(min = 1, max = 100))]
    pub title: String,
    #[garde(length(min = 1, max = 4096))]
    pub body: String,
}

/// Add a canned response (admin only).
#[utoipa::path(tag = "settings", request_body = CannedRequest, responses((status = 201, body = CannedResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/canned-responses")]
async fn create_canned(state: Api, caller: Caller, body: ApiJson<CannedRequest>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let canned =
        state.store.create_canned_response(caller.account(), body.title.trim(), &body.body).await.map_err(|error| {
            match error {
                StoreError::Conflict(_) => ApiError::Conflict {
                    code: crate::error::ErrorCode::CannedResponseExists,
                    message: "a canned response with this title exists".to_owned(),
                },
                other => other.into(),
            }
        })?;
    Ok(HttpResponse::Created().json(canned))
}

/// Remove a canned response (admin only).
#[utoipa::path(tag = "settings", params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/canned-responses/{id}")]
async fn delete_canned(state: Api, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    state.store.delete_canned_response(caller.account(), *id).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::NotFound("canned response"),
        other => other.into(),
    })?;
    Ok(HttpResponse::NoContent().finish())
}
