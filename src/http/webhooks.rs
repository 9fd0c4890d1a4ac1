//! Outbound webhooks (issue 17 item 5): `/api/v1/webhooks` — an account's subscriptions, kept by
//! its admins only (deliveries carry customers' messages) — their delivery log and redelivery.
//! `crate::webhooks` checks what is sent and delivers.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::Role;
use switchboard_actors::webhooks::{Delivery, DeliveryId, EVENT_TYPES, Webhook, WebhookId};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::error::ErrorBody;
use crate::webhooks::{WebhookInput, Webhooks};

/// Deliveries listed per page at most.
const MAX_DELIVERIES_PAGE: i64 = 200;

pub(super) fn routes(config: &mut ServiceConfig) {
    config
        .service(list_webhooks)
        .service(create_webhook)
        .service(event_types)
        .service(read_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(redeliver);
}

fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.user.role == Role::Admin { Ok(()) } else { Err(ApiError::forbidden("webhooks are kept by admins")) }
}

/// A subscription as an admin sends it. On create `url` and `events` are required; on update
/// every field is optional.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `http` or `https`.
    pub url: Option<String>,
    /// Event type names (`GET /webhooks/event-types`), or `["*"]` for all.
    pub events: Option<Vec<String>>,
    /// The signing secret (16–200 characters); generated when left out on create.
    pub secret: Option<String>,
    /// Default `true`. Setting it clears a disabled subscription's reason.
    pub active: Option<bool>,
    /// Allow loopback, private and link-local addresses (default `false`).
    pub allow_private: Option<bool>,
}

impl From<WebhookBody> for WebhookInput {
    fn from(body: WebhookBody) -> WebhookInput {
        WebhookInput {
            url: body.url,
            events: body.events,
            secret: body.secret,
            active: body.active,
            allow_private: body.allow_private,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct WebhookList {
    items: Vec<Webhook>,
}

/// A new subscription with its secret, shown this once.
#[derive(Serialize, ToSchema)]
struct CreatedWebhook {
    #[serde(flatten)]
    webhook: Webhook,
    secret: String,
}

#[derive(Serialize, ToSchema)]
struct EventTypes {
    items: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct DeliveryList {
    items: Vec<Delivery>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    /// Deliveries older than this id (the last id of the previous page).
    before: Option<DeliveryId>,
    /// 1–200, default 50.
    limit: Option<i64>,
}

/// The account's subscriptions, oldest first (secrets are never listed).
#[utoipa::path(tag = "webhooks", responses((status = 200, body = WebhookList), (status = 403, body = ErrorBody)))]
#[get("/webhooks")]
async fn list_webhooks(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<WebhookList>, ApiError> {
    require_admin(&caller)?;
    Ok(web::Json(WebhookList { items: state.store.webhooks(caller.account()).await? }))
}

/// The event type names a subscription may name.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = EventTypes), (status = 403, body = ErrorBody)))]
#[get("/webhooks/event-types")]
async fn event_types(caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<EventTypes>, ApiError> {
    require_admin(&caller)?;
    Ok(web::Json(EventTypes { items: EVENT_TYPES.to_vec() }))
}

/// Subscribes `url` to `events`. Each delivery is a POST of the event as JSON, signed with
/// `Switchboard-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
#[utoipa::path(
    tag = "webhooks",
    request_body = WebhookBody,
    responses((status = 201, body = CreatedWebhook), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/webhooks")]
async fn create_webhook(
    state: Api,
    caller: Caller,
    webhooks: web::Data<Webhooks>,
    body: ApiJson<WebhookBody>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let (webhook, secret) = webhooks.create(caller.account(), caller.user.id, body.into_inner().into()).await?;
    audit_change(&state, &caller, "webhook.created", None, Some(&webhook)).await;
    Ok(HttpResponse::Created().json(CreatedWebhook { webhook, secret }))
}

/// Records a subscription's change, and (as its own entry, the one SECURITY.md promises)
/// `allow_private` being switched on or off: the subscription may then reach the hub's own
/// network. The secret is never in a snapshot (`Webhook` does not serialise it).
async fn audit_change(state: &Api, caller: &Caller, action: &str, before: Option<&Webhook>, after: Option<&Webhook>) {
    let Some(webhook) = after.or(before) else { return };
    let target = || Target::new("webhook", webhook.id);
    state.audit(caller, action, target(), before.and_then(snapshot), after.and_then(snapshot)).await;
    let was = before.is_some_and(|webhook| webhook.allow_private);
    let now = after.is_some_and(|webhook| webhook.allow_private);
    if was != now && after.is_some() {
        let url = serde_json::json!(webhook.url);
        let before = before.map(|_| serde_json::json!({"allow_private": was, "url": url}));
        let after = Some(serde_json::json!({"allow_private": now, "url": url}));
        state.audit(caller, "webhook.allow_private_changed", target(), before, after).await;
    }
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")),
    responses((status = 200, body = Webhook), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/webhooks/{id}")]
async fn read_webhook(state: Api, caller: Caller, id: web::Path<WebhookId>) -> Result<web::Json<Webhook>, ApiError> {
    require_admin(&caller)?;
    let webhook = state.store.webhook(caller.account(), *id).await?.ok_or(ApiError::NotFound("webhook"))?;
    Ok(web::Json(webhook))
}

/// Changes a subscription; `"active": true` enables one the hub disabled.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")),
    request_body = WebhookBody,
    responses((status = 200, body = Webhook), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[patch("/webhooks/{id}")]
async fn update_webhook(
    state: Api,
    caller: Caller,
    webhooks: web::Data<Webhooks>,
    id: web::Path<WebhookId>,
    body: ApiJson<WebhookBody>,
) -> Result<web::Json<Webhook>, ApiError> {
    require_admin(&caller)?;
    let before = state.store.webhook(caller.account(), *id).await?.ok_or(ApiError::NotFound("webhook"))?;
    let updated = webhooks.update(caller.account(), caller.user.id, *id, body.into_inner().into()).await?;
    let updated = updated.ok_or(ApiError::NotFound("webhook"))?;
    audit_change(&state, &caller, "webhook.updated", Some(&before), Some(&updated)).await;
    Ok(web::Json(updated))
}

/// Deletes a subscription and its delivery log; nothing more is sent.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/webhooks/{id}")]
async fn delete_webhook(state: Api, caller: Caller, id: web::Path<WebhookId>) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let before = state.store.webhook(caller.account(), *id).await?.ok_or(ApiError::NotFound("webhook"))?;
    if !state.store.delete_webhook(caller.account(), *id).await? {
        return Err(ApiError::NotFound("webhook"));
    }
    audit_change(&state, &caller, "webhook.deleted", Some(&before), None).await;
    Ok(HttpResponse::NoContent().finish())
}

/// A subscription's deliveries, newest first: status, attempts, the last answer's status code,
/// response time and error, and when the next attempt is due.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id"), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_deliveries(
    state: Api,
    caller: Caller,
    id: web::Path<WebhookId>,
    query: web::Query<DeliveriesQuery>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    require_admin(&caller)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_DELIVERIES_PAGE).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("1 to {MAX_DELIVERIES_PAGE}")));
    }
    state.store.webhook(caller.account(), *id).await?.ok_or(ApiError::NotFound("webhook"))?;
    let items = state.store.webhook_deliveries(caller.account(), *id, query.before, limit).await?;
    Ok(web::Json(DeliveryList { items }))
}

/// Sends a delivery again (its body as first queued, signed anew), with three more days of
/// retries.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id"), ("delivery_id" = i64, Path, description = "delivery id")),
    responses((status = 202, body = Delivery), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver(
    caller: Caller,
    webhooks: web::Data<Webhooks>,
    path: web::Path<(WebhookId, DeliveryId)>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let (id, delivery) = path.into_inner();
    let queued = webhooks.redeliver(caller.account(), id, delivery).await?.ok_or(ApiError::NotFound("delivery"))?;
    Ok(HttpResponse::Accepted().json(queued))
}
