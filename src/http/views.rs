//! Saved views: `GET/POST /views`, `PATCH/DELETE /views/{id}`. Staff only. Agents keep personal
//! views; supervisors and admins also share them with a team or the whole account. Every listed
//! view carries its live `count` for the caller (`assignee: me` is the caller), or the reason its
//! query no longer compiles (a renamed team) instead of a number.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use garde::Validate;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_actors::domain::{Role, TeamId, User, UserId};
use switchboard_actors::store::{StoreError, TicketQuery, TicketSort};
use switchboard_actors::views::{NewView, SavedView, ViewChange, ViewId, ViewScope};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::error::ErrorBody;

pub(super) fn routes(config: &mut ServiceConfig) {
    config.service(list_views).service(create_view).service(update_view).service(delete_view);
}

const MAX_QUERY: usize = 2000;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateView {
    #[garde(length(chars, min = 1, max = 80))]
    pub name: String,
    /// In the query language, e.g. `status: open urgency: critical`.
    #[garde(length(max = MAX_QUERY))]
    pub query: String,
    /// As the ticket list's `sort` (default `-updated_at`).
    #[garde(skip)]
    pub sort: Option<String>,
    /// `personal` (default), `team` or `account`; shared scopes need a supervisor or admin.
    #[garde(skip)]
    pub scope: Option<String>,
    /// The team a `team` view is shared with.
    #[garde(skip)]
    pub team_id: Option<TeamId>,
    /// Place in the sidebar (default: last).
    #[garde(skip)]
    pub position: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchView {
    #[garde(inner(length(chars, min = 1, max = 80)))]
    pub name: Option<String>,
    #[garde(inner(length(max = MAX_QUERY)))]
    pub query: Option<String>,
    #[garde(skip)]
    pub sort: Option<String>,
    #[garde(skip)]
    pub scope: Option<String>,
    /// `null` clears it (with a scope other than `team`).
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<TeamId>>,
    #[garde(skip)]
    pub position: Option<i64>,
}

/// `Some(None)` for an explicit `null`, `None` when the key is absent.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<TeamId>>, D::Error> {
    Option::<TeamId>::deserialize(deserializer).map(Some)
}

/// A view as listed: its definition and, for the caller, how many tickets it holds now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewBody {
    pub id: ViewId,
    pub name: String,
    pub query: String,
    pub sort: String,
    pub scope: String,
    pub team_id: Option<TeamId>,
    pub position: i64,
    pub owner_id: UserId,
    /// Tickets matching now (null when the query no longer compiles; see `problem`).
    pub count: Option<i64>,
    /// Why the query no longer runs (e.g. a team it names was renamed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewList {
    pub items: Vec<ViewBody>,
}

fn shared_scopes_allowed(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Supervisor)
}

/// A `sort` as the API names it (`-updated_at`, `sla_due`, …), or 422 listing them; the ticket
/// list and views share it.
pub(crate) fn parse_sort(name: &str) -> Result<TicketSort, ApiError> {
    TicketSort::from_api(name)
        .ok_or_else(|| ApiError::invalid("sort", format!("unknown sort `{name}`; use {}", TicketSort::api_names())))
}

fn parse_scope(scope: Option<&str>) -> Result<ViewScope, ApiError> {
    scope
        .unwrap_or("personal")
        .parse()
        .map_err(|_| ApiError::invalid("scope", "must be `personal`, `team` or `account`"))
}

/// A view's scope, team and query checked for the caller: the scope is one they may share to, a
/// `team` view names a team of the account (and only then a team), and the query compiles.
async fn check(state: &Api, caller: &Caller, change: &ViewChange) -> Result<(), ApiError> {
    if change.scope != ViewScope::Personal && !shared_scopes_allowed(&caller.user) {
        return Err(ApiError::forbidden("only supervisors and admins share views with a team or the account"));
    }
    match (change.scope, change.team_id) {
        (ViewScope::Team, None) => return Err(ApiError::invalid("team_id", "a team view needs its team")),
        (ViewScope::Team, Some(team)) => {
            if state.store.team(caller.account(), team).await?.is_none() {
                return Err(ApiError::invalid("team_id", "no such team in this account"));
            }
        }
        (_, Some(_)) => return Err(ApiError::invalid("team_id", "only a team view names a team")),
        (_, None) => {}
    }
    let config = state.account_config(caller.account()).await?;
    crate::search::compile(state.store.as_ref(), &config, &caller.user, &change.query, state.now()).await?;
    Ok(())
}

/// The view's count for the caller, or why it cannot be counted.
pub(crate) async fn count_for(state: &Api, caller: &User, view: &SavedView) -> Result<i64, ApiError> {
    let config = state.account_config(caller.account_id).await?;
    let mut query = TicketQuery::new(caller.account_id);
    query.filter = crate::search::compile(state.store.as_ref(), &config, caller, &view.query, state.now()).await?;
    Ok(state.store.count_tickets(&query).await?)
}

async fn body_of(state: &Api, caller: &User, view: SavedView) -> Result<ViewBody, ApiError> {
    let (count, problem) = match count_for(state, caller, &view).await {
        Ok(count) => (Some(count), None),
        Err(ApiError::InvalidQuery { message, .. }) => (None, Some(message)),
        Err(other) => return Err(other),
    };
    Ok(ViewBody {
        id: view.id,
        name: view.name,
        query: view.query,
        sort: view.sort.api_name().to_owned(),
        scope: view.scope.as_str().to_owned(),
        team_id: view.team_id,
        position: view.position,
        owner_id: view.owner_id,
        count,
        problem,
        created_at: view.created_at,
        updated_at: view.updated_at,
    })
}

/// A view the caller may see, or 404 (another account's or another agent's personal view is not
/// there for them).
pub(crate) async fn visible_view(state: &Api, caller: &Caller, id: ViewId) -> Result<SavedView, ApiError> {
    caller.require_staff()?;
    state
        .store
        .view(caller.account(), id)
        .await?
        .filter(|view| view.visible_to(&caller.user))
        .ok_or(ApiError::NotFound("view"))
}

/// The views the caller sees (their own, their teams', the account's), in sidebar order, each
/// with its live count.
#[utoipa::path(tag = "views", responses((status = 200, body = ViewList), (status = 403, body = ErrorBody)))]
#[get("/views")]
async fn list_views(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<ViewList>, ApiError> {
    caller.require_staff()?;
    let views = state.store.list_views(caller.account()).await?;
    let mut items = Vec::new();
    for view in views.into_iter().filter(|view| view.visible_to(&caller.user)) {
        items.push(body_of(&state, &caller.user, view).await?);
    }
    Ok(web::Json(ViewList { items }))
}

/// Saves a query as a view.
#[utoipa::path(
    tag = "views",
    request_body = CreateView,
    responses((status = 201, body = ViewBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/views")]
async fn create_view(state: Api, caller: Caller, body: ApiJson<CreateView>) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let change = ViewChange {
        name: body.name.trim().to_owned(),
        query: body.query.trim().to_owned(),
        sort: parse_sort(body.sort.as_deref().unwrap_or("-updated_at"))?,
        scope: parse_scope(body.scope.as_deref())?,
        team_id: body.team_id,
        position: body.position.unwrap_or(0),
    };
    check(&state, &caller, &change).await?;
    let view = state
        .store
        .create_view(NewView {
            account_id: caller.account(),
            owner_id: caller.user.id,
            name: change.name,
            query: change.query,
            sort: change.sort,
            scope: change.scope,
            team_id: change.team_id,
            position: body.position,
        })
        .await?;
    Ok(HttpResponse::Created().json(body_of(&state, &caller.user, view).await?))
}

/// Renames, re-queries, re-sorts, moves or re-shares a view (its owner for a personal view;
/// supervisors and admins for shared ones).
#[utoipa::path(
    tag = "views",
    params(("id" = i64, Path, description = "view id")),
    request_body = PatchView,
    responses((status = 200, body = ViewBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[patch("/views/{id}")]
async fn update_view(
    state: Api,
    caller: Caller,
    id: web::Path<ViewId>,
    body: ApiJson<PatchView>,
) -> Result<web::Json<ViewBody>, ApiError> {
    let view = visible_view(&state, &caller, *id).await?;
    if !view.editable_by(&caller.user) {
        return Err(ApiError::forbidden("only its owner changes a personal view; supervisors and admins shared ones"));
    }
    let body = body.into_inner();
    body.validate()?;
    let scope = match body.scope.as_deref() {
        Some(scope) => parse_scope(Some(scope))?,
        None => view.scope,
    };
    let change = ViewChange {
        name: body.name.map_or(view.name, |name| name.trim().to_owned()),
        query: body.query.map_or(view.query, |query| query.trim().to_owned()),
        sort: match body.sort.as_deref() {
            Some(sort) => parse_sort(sort)?,
            None => view.sort,
        },
        scope,
        team_id: match body.team_id {
            Some(team) => team,
            None if scope == ViewScope::Team => view.team_id,
            None => None,
        },
        position: body.position.unwrap_or(view.position),
    };
    check(&state, &caller, &change).await?;
    let view = match state.store.update_view(caller.account(), view.id, change).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound("view")),
        other => other?,
    };
    Ok(web::Json(body_of(&state, &caller.user, view).await?))
}

/// Deletes a view (same rule as changing it).
#[utoipa::path(
    tag = "views",
    params(("id" = i64, Path, description = "view id")),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/views/{id}")]
async fn delete_view(state: Api, caller: Caller, id: web::Path<ViewId>) -> Result<HttpResponse, ApiError> {
    let view = visible_view(&state, &caller, *id).await?;
    if !view.editable_by(&caller.user) {
        return Err(ApiError::forbidden("only its owner deletes a personal view; supervisors and admins shared ones"));
    }
    match state.store.delete_view(caller.account(), view.id).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound("view")),
        other => other.map(|()| HttpResponse::NoContent().finish()).map_err(ApiError::from),
    }
}
