//! Deflections: a customer about to open a ticket in the portal says a suggested article
//! answered their question, so no ticket is opened; staff read how many each article earned.

use actix_web::{HttpResponse, get, post, web};
use garde::Validate;
use serde::Deserialize;
use switchboard_actors::domain::Role;
use switchboard_actors::knowledge_base::{ArticleId, ArticleStatus, Deflection, DeflectionCount};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::locale;
use crate::error::ErrorBody;
use crate::http::json::ApiJson;
use crate::http::tickets::Page;
use crate::http::{Api, ApiError, Caller};

pub fn routes(config: &mut ServiceConfig) {
    config.service(record).service(counts);
}

/// The most of what the customer typed a deflection keeps.
const MAX_QUERY_CHARS: usize = 300;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeflection {
    #[garde(skip)]
    pub article_id: ArticleId,
    #[garde(length(min = 2, max = 35))]
    pub locale: String,
    /// What the customer had typed when the article was suggested (cut to 300 characters).
    #[garde(length(max = 10_000))]
    #[serde(default)]
    pub query: String,
}

/// Record that a suggested article answered the caller's question (customers, from the
/// portal's new-ticket form). The article must be published in that locale.
#[utoipa::path(
    tag = "knowledge base",
    request_body = NewDeflection,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/kb/deflections")]
async fn record(state: Api, caller: Caller, body: ApiJson<NewDeflection>) -> Result<HttpResponse, ApiError> {
    if caller.user.role != Role::Customer {
        return Err(ApiError::forbidden("deflections are counted for customers answered by an article"));
    }
    let body = body.into_inner();
    body.validate()?;
    let locale = locale(&body.locale)?;
    let published = state
        .store
        .article(caller.account(), body.article_id, Some(&locale))
        .await?
        .is_some_and(|article| article.status == ArticleStatus::Published);
    if !published {
        return Err(ApiError::NotFound("article"));
    }
    let query: String = body.query.trim().chars().take(MAX_QUERY_CHARS).collect();
    let deflection = Deflection {
        account_id: caller.account(),
        article_id: body.article_id,
        locale,
        user_id: Some(caller.user.id),
        query,
    };
    state.store.record_deflection(deflection).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeflectionParams {
    /// An RFC 3339 instant or a date (the account's zone); default 30 days before `to`.
    from: Option<String>,
    /// An RFC 3339 instant or a date (included); default now.
    to: Option<String>,
}

/// Deflections per article translation in the period, most first (staff).
#[utoipa::path(
    tag = "knowledge base",
    params(DeflectionParams),
    responses((status = 200, body = Page<DeflectionCount>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/kb/deflections")]
async fn counts(
    state: Api,
    caller: Caller,
    params: web::Query<DeflectionParams>,
) -> Result<web::Json<Page<DeflectionCount>>, ApiError> {
    caller.require_staff()?;
    let zone = crate::http::reports::report_clock(&state, &caller).await?;
    let (from, to) = crate::http::reports::period(params.from.as_deref(), params.to.as_deref(), &zone, state.now())?;
    // Without `to` the period runs up to now included: a deflection counted this instant shows.
    let to = if params.to.is_none() { to + jiff::SignedDuration::from_millis(1) } else { to };
    Ok(web::Json(Page { items: state.store.deflections(caller.account(), from, to).await?, next: None }))
}
