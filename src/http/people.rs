//! Users and teams (companies are `companies.rs`). Staff may read them (assignee pickers,
//! customer cards); only admins create or change them.

use actix_web::{HttpResponse, get, patch, post, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::*;
use switchboard_actors::store::*;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::tickets::Page;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::auth::PasswordPool;
use crate::error::ErrorBody;
use crate::error::ErrorCode;
use crate::routing::Router;

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(list_users)
        .service(agent_availability)
        .service(create_user)
        .service(get_user)
        .service(update_user)
        .service(issue_token)
        .service(list_teams)
        .service(create_team)
        .service(update_team);
}

/// The shortest password accepted.
const MIN_PASSWORD: usize = 8;
/// Agents' default capacity: open conversations held at once.
pub use crate::DEFAULT_CAPACITY;

fn map_conflict(error: StoreError, code: ErrorCode, message: &str) -> ApiError {
    match error {
        StoreError::Conflict(_) => ApiError::Conflict { code, message: message.to_owned() },
        StoreError::NotFound => ApiError::invalid("team_ids", "a referenced team, user or company does not exist"),
        other => other.into(),
    }
}

/// Hashes on the password pool (429 `rate_limited` when it stays busy).
async fn hash(passwords: &PasswordPool, password: String) -> Result<String, ApiError> {
    Ok(passwords.hash(password).await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only users with this role.
    role: Option<Role>,
}

/// Users of the account (staff only).
#[utoipa::path(tag = "people", params(UserFilter), responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody)))]
#[get("/users")]
async fn list_users(
    state: Api,
    caller: Caller,
    filter: web::Query<UserFilter>,
) -> Result<web::Json<Page<User>>, ApiError> {
    caller.require_staff()?;
    let items = state.store.list_users(caller.account(), filter.role).await?;
    Ok(web::Json(Page { items, next: None }))
}

/// One staff member as an assignee picker shows them: presence from the board (`offline` when no
/// node reports them) and open tickets held against their capacity.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentAvailability {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String)]
    pub status: PresenceStatus,
    /// Open tickets assigned to them.
    pub load: i64,
    pub capacity: i64,
}

/// Every active agent, supervisor and admin of the account with their presence and open-ticket
/// load against capacity (staff only): what an assignee picker shows. The presence board itself
/// (`presence` topic) stays for supervisors.
#[utoipa::path(
    tag = "people",
    responses((status = 200, body = Page<AgentAvailability>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/agents/availability")]
async fn agent_availability(
    state: Api,
    caller: Caller,
    _params: web::Query<NoParams>,
) -> Result<web::Json<Page<AgentAvailability>>, ApiError> {
    caller.require_staff()?;
    let account = caller.account();
    let board = state.live.board(account);
    let mut items = Vec::new();
    for user in state.store.list_users(account, None).await? {
        if !user.role.is_staff() || !user.active {
            continue;
        }
        let row = board.iter().find(|row| row.user_id == user.id);
        let load = state.store.open_load(account, user.id).await?;
        items.push(AgentAvailability {
            user_id: user.id,
            name: user.name,
            role: user.role,
            status: row.map_or(PresenceStatus::Offline, |row| row.status),
            load,
            capacity: user.capacity,
        });
    }
    Ok(web::Json(Page { items, next: None }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[garde(email)]
    pub email: String,
    #[garde(length(min = 1, max = 200))]
    pub name: String,
    #[garde(skip)]
    pub role: Role,
    /// Customers may have none (they are reached on their channels); staff without one are
    /// invited: they cannot log in by password until one is set, but admin-issued API tokens work.
    #[garde(inner(length(min = MIN_PASSWORD, max = 1024)))]
    pub password: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub team_ids: Vec<TeamId>,
    #[garde(inner(range(min = 0, max = 1000)))]
    pub capacity: Option<i64>,
    #[garde(inner(length(min = 1, max = 64)))]
    pub time_zone: Option<String>,
    #[garde(skip)]
    pub company_id: Option<CompanyId>,
    #[garde(inner(length(min = 3, max = 32)))]
    pub phone: Option<String>,
}

fn valid_time_zone(zone: &str) -> Result<(), ApiError> {
    jiff::tz::TimeZone::get(zone)
        .map(|_| ())
        .map_err(|_| ApiError::invalid("time_zone", format!("unknown time zone `{zone}`")))
}

/// Create a user (admin only).
#[utoipa::path(
    tag = "people",
    request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, description = "email_taken", body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/users")]
async fn create_user(
    state: Api,
    passwords: web::Data<PasswordPool>,
    caller: Caller,
    body: ApiJson<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    // Staff created without a password are invited: they cannot log in by password until an
    // admin sets one, but API tokens issued for them (integrations, load tests) work.
    if body.role != Role::Customer && body.company_id.is_some() {
        return Err(ApiError::invalid("company_id", "only customers belong to companies"));
    }
    if let Some(company) = body.company_id {
        state
            .store
            .company(caller.account(), company)
            .await?
            .ok_or_else(|| ApiError::invalid("company_id", "no such company"))?;
    }
    let time_zone = body.time_zone.unwrap_or_else(|| "UTC".to_owned());
    valid_time_zone(&time_zone)?;
    let password_hash = match body.password {
        Some(password) => Some(hash(&passwords, password).await?),
        None => None,
    };
    let user = state
        .store
        .create_user(NewUser {
            account_id: caller.account(),
            email: body.email,
            name: body.name,
            role: body.role,
            password_hash,
            company_id: body.company_id,
            team_ids: body.team_ids,
            capacity: body.capacity.unwrap_or(if body.role.is_staff() { DEFAULT_CAPACITY } else { 0 }),
            time_zone,
            phone: body.phone,
        })
        .await
        .map_err(|error| map_conflict(error, ErrorCode::EmailTaken, "a user with this email already exists"))?;
    state.audit(&caller, "user.created", Target::new("user", user.id), None, snapshot(&user)).await;
    Ok(HttpResponse::Created().json(user))
}

/// The longest an API token may live.
const MAX_TOKEN_DAYS: u32 = 365;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueToken {
    /// Days until the token stops working (1–365, default 30).
    #[garde(inner(range(min = 1, max = MAX_TOKEN_DAYS)))]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Send as `Authorization: Bearer <token>` or `?token=` on the WebSocket. Shown once.
    pub token: String,
    pub user_id: UserId,
    pub expires_at: jiff::Timestamp,
}

/// Issue an API token for an active staff member (admin only): integrations and load tests act
/// as that user without a password login. Revoked like any session, by deactivating the user.
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    request_body = IssueToken,
    responses((status = 201, body = IssuedToken), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/users/{id}/tokens")]
async fn issue_token(
    state: Api,
    caller: Caller,
    request: actix_web::HttpRequest,
    id: web::Path<UserId>,
    body: ApiJson<IssueToken>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let user = state.store.user(caller.account(), id.into_inner()).await?.ok_or(ApiError::NotFound("user"))?;
    if !user.role.is_staff() {
        return Err(ApiError::invalid("id", "API tokens are for staff; customers log in or write on a channel"));
    }
    if !user.active {
        return Err(ApiError::invalid("id", "the user is deactivated"));
    }
    let days = body.expires_in_days.unwrap_or(30);
    let ttl = jiff::SignedDuration::from_hours(24 * i64::from(days));
    let device = super::auth::Device::of(&request)?;
    let kind = switchboard_actors::security::SessionKind::Token;
    let (token, expires_at) = super::auth::start_session(&state, user.id, ttl, kind, device).await?;
    let after = snapshot(&serde_json::json!({"user_id": user.id, "expires_at": expires_at}));
    state.audit(&caller, "user.token_issued", Target::new("user", user.id), None, after).await;
    Ok(HttpResponse::Created().json(IssuedToken { token, user_id: user.id, expires_at }))
}

/// One user (staff, or the user themself).
#[utoipa::path(tag = "people", params(("id" = i64, Path)), responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
#[get("/users/{id}")]
async fn get_user(
    state: Api,
    caller: Caller,
    id: web::Path<UserId>,
    _: web::Query<NoParams>,
) -> Result<web::Json<User>, ApiError> {
    if !caller.user.role.is_staff() && caller.user.id != *id {
        return Err(ApiError::NotFound("user"));
    }
    state.store.user(caller.account(), *id).await?.map(web::Json).ok_or(ApiError::NotFound("user"))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[garde(inner(length(min = 1, max = 200)))]
    pub name: Option<String>,
    #[garde(skip)]
    pub role: Option<Role>,
    #[garde(inner(length(min = MIN_PASSWORD, max = 1024)))]
    pub password: Option<String>,
    #[garde(skip)]
    pub team_ids: Option<Vec<TeamId>>,
    #[garde(inner(range(min = 0, max = 1000)))]
    pub capacity: Option<i64>,
    /// Replaces the agent's skills (matched against the skills a routed ticket's tags require).
    #[garde(inner(length(max = 50)))]
    pub skills: Option<Vec<String>>,
    /// Replaces the languages the agent writes: ISO 639-3 codes such as `eng`, `spa`.
    #[garde(inner(length(max = 20)))]
    pub languages: Option<Vec<String>>,
    #[garde(inner(length(min = 1, max = 64)))]
    pub time_zone: Option<String>,
    /// `false` deactivates: the user's sessions end and they can no longer log in.
    #[garde(skip)]
    pub active: Option<bool>,
}

/// Change a user (admin only). Deactivating ends their sessions.
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    request_body = UpdateUser,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[patch("/users/{id}")]
async fn update_user(
    state: Api,
    passwords: web::Data<PasswordPool>,
    router: web::Data<Router>,
    caller: Caller,
    id: web::Path<UserId>,
    body: ApiJson<UpdateUser>,
) -> Result<web::Json<User>, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    if *id == caller.user.id && (body.active == Some(false) || body.role.is_some_and(|role| role != Role::Admin)) {
        return Err(ApiError::Conflict {
            code: crate::error::ErrorCode::SelfLockout,
            message: "admins cannot deactivate or demote themselves".to_owned(),
        });
    }
    if let Some(zone) = &body.time_zone {
        valid_time_zone(zone)?;
    }
    let skills = body.skills.as_deref().map(|skills| names("skills", skills)).transpose()?;
    let languages = body.languages.as_deref().map(languages).transpose()?;
    let existing = state.store.user(caller.account(), *id).await?.ok_or(ApiError::NotFound("user"))?;
    let password_hash = match body.password {
        Some(password) => Some(hash(&passwords, password).await?),
        None => None,
    };
    let patch = UserPatch {
        name: body.name,
        role: body.role,
        password_hash,
        team_ids: body.team_ids,
        capacity: body.capacity,
        skills,
        languages,
        time_zone: body.time_zone,
        active: body.active,
        ..UserPatch::default()
    };
    let password_changed = patch.password_hash.is_some();
    let user = state
        .store
        .update_user(caller.account(), existing.id, patch)
        .await
        .map_err(|error| map_conflict(error, ErrorCode::Conflict, "the change conflicts with another user"))?;
    // A reset password ends the user's other sessions; a deactivation ended them all (in the
    // store). Their open sockets close on every node, as they do on a role change: a socket
    // keeps the role it connected with.
    let kept = (existing.id == caller.user.id).then(|| caller.token_hash.clone());
    if password_changed {
        state.store.delete_user_sessions(existing.id, kept.as_deref()).await?;
    }
    if password_changed || !user.active || user.role != existing.role {
        let except = if user.active { kept.map(hex::encode) } else { None };
        state.live.end_sessions(caller.account(), crate::live::SessionEnd::User { user_id: existing.id, except });
    }
    router.wake(caller.account());
    // One name per change, the weightiest first (the before/after show the rest).
    let action = if user.role != existing.role {
        "user.role_changed"
    } else if user.active != existing.active {
        if user.active { "user.reactivated" } else { "user.deactivated" }
    } else if password_changed {
        "user.password_reset"
    } else {
        "user.updated"
    };
    let mut after = snapshot(&user);
    if password_changed && let Some(serde_json::Value::Object(fields)) = after.as_mut() {
        // Only that it changed: the hash is redacted anyway.
        fields.insert("credentials_reset".to_owned(), serde_json::Value::Bool(true));
    }
    state.audit(&caller, action, Target::new("user", user.id), snapshot(&existing), after).await;
    Ok(web::Json(user))
}

/// Skill names as stored: trimmed, lower case, each once.
fn names(field: &'static str, names: &[String]) -> Result<Vec<String>, ApiError> {
    let mut normal = names
        .iter()
        .map(|name| switchboard_actors::routing::normalise_name(field, name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::invalid(error.field, error.message))?;
    normal.sort();
    normal.dedup();
    Ok(normal)
}

/// Languages as stored: ISO 639-3 codes the detector knows, in the order given, each once.
fn languages(codes: &[String]) -> Result<Vec<String>, ApiError> {
    let mut kept: Vec<String> = Vec::new();
    for code in codes {
        let code = code.trim().to_lowercase();
        if !switchboard_actors::routing::is_language_code(&code) {
            return Err(ApiError::invalid(
                "languages",
                format!("`{code}` is not an ISO 639-3 language code (eng, spa, por …)"),
            ));
        }
        if !kept.contains(&code) {
            kept.push(code);
        }
    }
    Ok(kept)
}

/// Teams of the account (staff only).
#[utoipa::path(tag = "people", responses((status = 200, body = Page<Team>), (status = 403, body = ErrorBody)))]
#[get("/teams")]
async fn list_teams(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<Page<Team>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(Page { items: state.store.list_teams(caller.account()).await?, next: None }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    #[garde(length(min = 1, max = 100))]
    pub name: String,
    #[garde(length(max = 1000))]
    #[serde(default)]
    pub description: String,
    #[garde(skip)]
    #[serde(default)]
    pub member_ids: Vec<UserId>,
}

/// Create a team (admin only).
#[utoipa::path(
    tag = "people",
    request_body = CreateTeam,
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 409, description = "team_exists", body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/teams")]
async fn create_team(state: Api, caller: Caller, body: ApiJson<CreateTeam>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let team = state
        .store
        .create_team(NewTeam {
            account_id: caller.account(),
            name: body.name,
            description: body.description,
            member_ids: body.member_ids,
        })
        .await
        .map_err(|error| match error {
            StoreError::NotFound => ApiError::invalid("member_ids", "a member does not exist in this account"),
            other => map_conflict(other, ErrorCode::TeamExists, "a team with this name already exists"),
        })?;
    state.audit(&caller, "team.created", Target::new("team", team.id), None, snapshot(&team)).await;
    Ok(HttpResponse::Created().json(team))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    #[garde(inner(length(min = 1, max = 100)))]
    pub name: Option<String>,
    #[garde(inner(length(max = 1000)))]
    pub description: Option<String>,
    /// Replaces the member list.
    #[garde(skip)]
    pub member_ids: Option<Vec<UserId>>,
}

/// Rename a team or change its members (admin only).
#[utoipa::path(
    tag = "people",
    params(("id" = i64, Path)),
    request_body = UpdateTeam,
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[patch("/teams/{id}")]
async fn update_team(
    state: Api,
    router: web::Data<Router>,
    caller: Caller,
    id: web::Path<TeamId>,
    body: ApiJson<UpdateTeam>,
) -> Result<web::Json<Team>, ApiError> {
    caller.require_admin()?;
    let body = body.into_inner();
    body.validate()?;
    let before = state.store.team(caller.account(), *id).await?.ok_or(ApiError::NotFound("team"))?;
    let patch = TeamPatch { name: body.name, description: body.description, member_ids: body.member_ids };
    let team = state.store.update_team(caller.account(), *id, patch).await.map_err(|error| match error {
        StoreError::NotFound => ApiError::invalid("member_ids", "a member does not exist in this account"),
        other => map_conflict(other, ErrorCode::TeamExists, "a team with this name already exists"),
    })?;
    router.wake(caller.account());
    state.audit(&caller, "team.updated", Target::new("team", team.id), snapshot(&before), snapshot(&team)).await;
    Ok(web::Json(team))
}
