//! Scoped API keys (issue 17 item 4): `POST/GET /api/v1/api-keys`, `DELETE /api/v1/api-keys/{id}`.
//! Staff make keys for themselves, with scopes they hold; the key is answered once. Each user
//! lists and revokes their own keys; admins see and revoke every key of the account.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, delete, get, post, web};
use garde::Validate;
use serde::{Deserialize, Serialize};
use switchboard_actors::api_keys::{ApiKey, ApiKeyId, DISPLAY_PREFIX_CHARS, NewApiKey, Scope};
use switchboard_actors::domain::Role;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::api_keys::{ApiKeys, DEFAULT_RATE_LIMIT_PER_MINUTE, MAX_RATE_LIMIT_PER_MINUTE};
use crate::audit::{Target, snapshot};
use crate::error::ErrorBody;

pub fn routes(config: &mut ServiceConfig) {
    config.service(list_keys).service(create_key).service(revoke_key);
}

/// The longest a key may live, in days.
const MAX_KEY_DAYS: i64 = 365;
/// How long a key lives when its maker names no expiry: long enough for an integration's
/// quarter, short enough that a forgotten key dies.
const DEFAULT_KEY_DAYS: i64 = 90;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for (1–100 characters), e.g. "CRM sync".
    #[garde(length(chars, min = 1, max = 100))]
    pub name: String,
    /// At least one of `tickets:read`, `tickets:write`, `messages:write`, `users:read`,
    /// `reports:read`, `webhooks:manage`, `admin`; only scopes the caller holds.
    #[garde(length(min = 1, max = 7))]
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<String>,
    /// Days until the key stops working (1–365, default 90).
    #[garde(inner(range(min = 1, max = MAX_KEY_DAYS)))]
    pub expires_in_days: Option<i64>,
    /// Requests per minute (1–100,000, default 600); bursts up to the same number.
    #[garde(inner(range(min = 1, max = MAX_RATE_LIMIT_PER_MINUTE)))]
    pub rate_limit_per_minute: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// Send as `Authorization: Bearer <key>` (or `?token=` on the WebSocket). Shown once: only
    /// its hash is kept.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

#[derive(Serialize, ToSchema)]
struct ApiKeyList {
    items: Vec<ApiKey>,
}

fn parse_scopes(names: &[String], role: Role) -> Result<BTreeSet<Scope>, ApiError> {
    let mut scopes = BTreeSet::new();
    for name in names {
        let scope: Scope = name.parse().map_err(|_| {
            let known: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
            ApiError::invalid("scopes", format!("unknown scope `{name}`; scopes are {}", known.join(", ")))
        })?;
        scopes.insert(scope);
    }
    let held = Scope::granted_to(role);
    match scopes.iter().find(|scope| !held.contains(scope)) {
        Some(scope) => Err(ApiError::InsufficientScope(*scope)),
        None => Ok(scopes),
    }
}

/// Keys are for staff: customers log in or write on a channel.
fn require_staff(caller: &Caller) -> Result<(), ApiError> {
    caller.require_staff().map_err(|_| ApiError::forbidden("API keys are for staff"))
}

/// Make an API key acting as the caller, limited to `scopes` (each one the caller holds: an
/// agent cannot make an `admin` key). The key is in this answer and nowhere else.
#[utoipa::path(
    tag = "api-keys",
    request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/api-keys")]
async fn create_key(state: Api, caller: Caller, body: ApiJson<CreateApiKey>) -> Result<HttpResponse, ApiError> {
    require_staff(&caller)?;
    let body = body.into_inner();
    body.validate()?;
    let name = body.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "must not be blank"));
    }
    let scopes = parse_scopes(&body.scopes, caller.user.role)?;
    // A key cannot make a key wider than itself.
    if let Some(grant) = &caller.key
        && let Some(scope) = scopes.iter().find(|scope| !switchboard_actors::api_keys::allows(&grant.scopes, **scope))
    {
        return Err(ApiError::InsufficientScope(*scope));
    }
    let days = u32::try_from(body.expires_in_days.unwrap_or(DEFAULT_KEY_DAYS)).unwrap_or(1);
    let (key, key_hash) = crate::api_keys::new_key();
    let api_key = state
        .store
        .create_api_key(NewApiKey {
            account_id: caller.account(),
            user_id: caller.user.id,
            name,
            prefix: key.chars().take(DISPLAY_PREFIX_CHARS).collect(),
            key_hash,
            scopes,
            rate_limit_per_minute: body.rate_limit_per_minute.unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE),
            expires_at: crate::api_keys::expiry(state.now(), days),
        })
        .await?;
    let target = Target::new("api_key", api_key.id);
    state.audit(&caller, "api_key.created", target, None, snapshot(&api_key)).await;
    Ok(HttpResponse::Created().json(CreatedApiKey { key, api_key }))
}

/// The caller's API keys (an admin's list holds every key of the account), newest first, with
/// when each was last used (to the minute).
#[utoipa::path(tag = "api-keys", responses((status = 200, body = ApiKeyList), (status = 403, body = ErrorBody)))]
#[get("/api-keys")]
async fn list_keys(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<ApiKeyList>, ApiError> {
    require_staff(&caller)?;
    let only = (caller.user.role != Role::Admin).then_some(caller.user.id);
    Ok(web::Json(ApiKeyList { items: state.store.list_api_keys(caller.account(), only).await? }))
}

/// Revoke an API key: it stops working at once, and sockets opened with it close. Users revoke
/// their own keys, admins any of the account's.
#[utoipa::path(
    tag = "api-keys",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/api-keys/{id}")]
async fn revoke_key(
    state: Api,
    caller: Caller,
    keys: web::Data<ApiKeys>,
    id: web::Path<ApiKeyId>,
) -> Result<HttpResponse, ApiError> {
    require_staff(&caller)?;
    let id = id.into_inner();
    let key = state.store.api_key(caller.account(), id).await?.ok_or(ApiError::NotFound("API key"))?;
    if key.user_id != caller.user.id && caller.user.role != Role::Admin {
        return Err(ApiError::NotFound("API key"));
    }
    let key_hash = state.store.delete_api_key(caller.account(), id).await?.ok_or(ApiError::NotFound("API key"))?;
    keys.forget(id);
    state.audit(&caller, "api_key.revoked", Target::new("api_key", id), snapshot(&key), None).await;
    let end = crate::live::SessionEnd::Session { session: hex::encode(key_hash) };
    state.live.end_sessions(caller.account(), end);
    Ok(HttpResponse::NoContent().finish())
}
