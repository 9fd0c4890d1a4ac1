//! Knowledge-base categories: `{name, slug, parent_id}`, nested one level (a category sits in a
//! top-level one or is one). Staff and customers list them; editors write them.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use switchboard_actors::knowledge_base::{KbCategory, KbCategoryId, KbCategoryPatch, NewKbCategory, text};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::super::json::ApiJson;
use super::super::tickets::{Page, double_option};
use super::super::{Api, ApiError, Caller, NoParams};
use super::{refusal, require_editor, required_text, slug};
use crate::error::ErrorBody;

pub fn routes(config: &mut ServiceConfig) {
    config.service(list_categories).service(create_category).service(update_category).service(delete_category);
}

/// The longest category name.
const MAX_NAME_CHARS: usize = 100;

/// A category slug: valid, and not one of the public site's own paths.
fn category_slug(given: &str) -> Result<String, ApiError> {
    let slug = slug("slug", given)?;
    if text::RESERVED_CATEGORY_SLUGS.contains(&slug.as_str()) {
        return Err(ApiError::invalid("slug", format!("`{slug}` is a path of the help site; choose another")));
    }
    Ok(slug)
}

/// A parent must be a top-level category of the account, other than the category itself, and a
/// category with sub-categories cannot move under another (nesting is one level deep).
fn check_parent(categories: &[KbCategory], id: Option<KbCategoryId>, parent: KbCategoryId) -> Result<(), ApiError> {
    let Some(found) = categories.iter().find(|category| category.id == parent) else {
        return Err(ApiError::invalid("parent_id", "no such category"));
    };
    if found.parent_id.is_some() || Some(parent) == id {
        return Err(ApiError::invalid(
            "parent_id",
            "categories nest one level: the parent must be a top-level category",
        ));
    }
    if id.is_some_and(|id| categories.iter().any(|category| category.parent_id == Some(id))) {
        return Err(ApiError::invalid("parent_id", "this category has sub-categories, so it stays top-level"));
    }
    Ok(())
}

/// The account's categories by name (any signed-in user: customers browse them too).
#[utoipa::path(tag = "knowledge base", responses((status = 200, body = Page<KbCategory>), (status = 401, body = ErrorBody)))]
#[get("/kb/categories")]
async fn list_categories(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<Page<KbCategory>>, ApiError> {
    Ok(web::Json(Page { items: state.store.kb_categories(caller.account()).await?, next: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub name: String,
    /// Lower-case words joined by hyphens; made from the name when left out.
    #[serde(default)]
    pub slug: Option<String>,
    /// The top-level category this one sits in.
    #[serde(default)]
    pub parent_id: Option<KbCategoryId>,
}

/// Create a category (admins and `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    request_body = CreateCategory,
    responses(
        (status = 201, body = KbCategory), (status = 403, body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/kb/categories")]
async fn create_category(state: Api, caller: Caller, body: ApiJson<CreateCategory>) -> Result<HttpResponse, ApiError> {
    require_editor(&state, &caller).await?;
    let body = body.into_inner();
    let name = required_text("name", &body.name, MAX_NAME_CHARS)?;
    let slug = category_slug(body.slug.as_deref().unwrap_or(&text::slugify(&name)))?;
    if let Some(parent) = body.parent_id {
        check_parent(&state.store.kb_categories(caller.account()).await?, None, parent)?;
    }
    let category = state
        .store
        .create_kb_category(NewKbCategory { account_id: caller.account(), parent_id: body.parent_id, name, slug })
        .await
        .map_err(|error| refusal(error, "category"))?;
    Ok(HttpResponse::Created().json(category))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCategory {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    /// `null` makes it top-level.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<KbCategoryId>>,
}

/// Change a category (admins and `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    params(("id" = i64, Path)),
    request_body = PatchCategory,
    responses(
        (status = 200, body = KbCategory), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[patch("/kb/categories/{id}")]
async fn update_category(
    state: Api,
    caller: Caller,
    id: web::Path<KbCategoryId>,
    body: ApiJson<PatchCategory>,
) -> Result<web::Json<KbCategory>, ApiError> {
    require_editor(&state, &caller).await?;
    let id = id.into_inner();
    let body = body.into_inner();
    let categories = state.store.kb_categories(caller.account()).await?;
    if !categories.iter().any(|category| category.id == id) {
        return Err(ApiError::NotFound("category"));
    }
    if let Some(Some(parent)) = body.parent_id {
        check_parent(&categories, Some(id), parent)?;
    }
    let patch = KbCategoryPatch {
        name: body.name.as_deref().map(|name| required_text("name", name, MAX_NAME_CHARS)).transpose()?,
        slug: body.slug.as_deref().map(category_slug).transpose()?,
        parent_id: body.parent_id,
    };
    let category = state
        .store
        .update_kb_category(caller.account(), id, patch)
        .await
        .map_err(|error| refusal(error, "category"))?;
    Ok(web::Json(category))
}

/// Remove an empty category (admins and `kb_editor`s): one that still holds articles or
/// sub-categories is refused with `category_not_empty`.
#[utoipa::path(
    tag = "knowledge base",
    params(("id" = i64, Path)),
    responses(
        (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "category_not_empty", body = ErrorBody)
    )
)]
#[delete("/kb/categories/{id}")]
async fn delete_category(state: Api, caller: Caller, id: web::Path<KbCategoryId>) -> Result<HttpResponse, ApiError> {
    require_editor(&state, &caller).await?;
    state
        .store
        .delete_kb_category(caller.account(), id.into_inner())
        .await
        .map_err(|error| refusal(error, "category"))?;
    Ok(HttpResponse::NoContent().finish())
}
