//! The public half of the knowledge-base API: suggestions while a customer or an agent types,
//! and readers' "was this helpful?". No session needed; they serve the public site's account and
//! its published articles only.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::AccountId;
use switchboard_actors::knowledge_base::{
    ArticleFeedback, ArticleId, ArticleStatus, suggest as suggest_articles, text,
};
use switchboard_actors::store::Store;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::super::auth::client_of;
use super::super::json::ApiJson;
use super::super::tickets::Page;
use super::super::{Api, ApiError};
use super::locale;
use crate::auth::FeedbackLimits;
use crate::error::ErrorBody;

pub fn routes(config: &mut ServiceConfig) {
    config.service(suggest).service(article_feedback).service(site);
}

/// The account the public site (and its API) serves: the one the channels serve and customers
/// register with (the installation's first account).
pub async fn site_account(store: &dyn Store) -> Result<AccountId, ApiError> {
    Ok(store.first_account().await?.ok_or(ApiError::NotFound("account"))?.id)
}

/// What the public pages show of the account they serve.
#[derive(Debug, Serialize, ToSchema)]
pub struct Site {
    /// The account's name ("Acme Support" is written from it).
    pub name: String,
}

/// The account the public site and the portal serve: its name.
#[utoipa::path(tag = "knowledge base", security(()), responses((status = 200, body = Site), (status = 404, body = ErrorBody)))]
#[get("/site")]
async fn site(state: Api, _: web::Query<crate::http::NoParams>) -> Result<web::Json<Site>, ApiError> {
    let account = state.store.first_account().await?.ok_or(ApiError::NotFound("account"))?;
    Ok(web::Json(Site { name: account.name }))
}

/// The most suggestions one request returns, and how many unless told.
const MAX_SUGGESTIONS: i64 = 10;
const DEFAULT_SUGGESTIONS: i64 = 5;
/// The longest query a suggestion reads: what a subject line and a sentence hold.
const MAX_QUERY_CHARS: usize = 300;
/// The longest feedback comment.
pub const MAX_COMMENT_CHARS: usize = 1000;
/// The excerpt a suggestion shows under its title.
const EXCERPT_CHARS: usize = 160;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the reader typed (a subject, a question).
    q: String,
    /// Only articles in this locale.
    locale: Option<String>,
    /// 1–10, default 5.
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub id: ArticleId,
    pub locale: String,
    pub title: String,
    pub slug: String,
    /// The article's page on the public site (a path on this hub).
    pub url: String,
    pub excerpt: String,
}

/// Published articles matching what a reader typed, best first: each word as a prefix, and for
/// short queries typos forgiven; when no article has every word, those with any of its words of
/// four letters or more. For the portal's new-ticket form and the agent's reply box.
#[utoipa::path(
    tag = "knowledge base",
    security(()),
    params(SuggestParams),
    responses((status = 200, body = Page<Suggestion>), (status = 422, body = ErrorBody))
)]
#[get("/kb/suggest")]
async fn suggest(state: Api, params: web::Query<SuggestParams>) -> Result<web::Json<Page<Suggestion>>, ApiError> {
    let params = params.into_inner();
    if params.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid("q", format!("at most {MAX_QUERY_CHARS} characters")));
    }
    let limit = match params.limit {
        None => DEFAULT_SUGGESTIONS,
        Some(limit) if (1..=MAX_SUGGESTIONS).contains(&limit) => limit,
        Some(_) => return Err(ApiError::invalid("limit", format!("1 to {MAX_SUGGESTIONS}"))),
    };
    let locale = params.locale.as_deref().map(locale).transpose()?;
    let account = site_account(state.store.as_ref()).await?;
    let found = suggest_articles(state.store.as_ref(), account, &params.q, locale.as_deref(), limit).await?;
    let items = found
        .into_iter()
        .map(|article| Suggestion {
            url: format!("/help/articles/{}", article.slug),
            excerpt: text::plain_excerpt(&article.body, EXCERPT_CHARS),
            id: article.id,
            locale: article.locale,
            title: article.title,
            slug: article.slug,
        })
        .collect();
    Ok(web::Json(Page { items, next: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// Which translation the reader read.
    pub locale: String,
    pub helpful: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Checks and records a reader's answer to a published translation of the site's account; a
/// client answering too often is refused with `rate_limited` ([`FeedbackLimits`]).
pub async fn record_feedback(
    store: &dyn Store,
    (limits, request): (&FeedbackLimits, &HttpRequest),
    article: ArticleId,
    locale_given: &str,
    helpful: bool,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    let comment = comment.map(str::trim).filter(|comment| !comment.is_empty());
    if comment.is_some_and(|comment| comment.chars().count() > MAX_COMMENT_CHARS) {
        return Err(ApiError::invalid("comment", format!("at most {MAX_COMMENT_CHARS} characters")));
    }
    let locale = locale(locale_given)?;
    let account = site_account(store).await?;
    let published = store
        .article(account, article, Some(&locale))
        .await?
        .is_some_and(|found| found.status == ArticleStatus::Published);
    if !published {
        return Err(ApiError::NotFound("article"));
    }
    let client = client_of(limits.limits(), request);
    limits.admit(&format!("{article}:{locale}"), client, Instant::now()).map_err(ApiError::RateLimitedFor)?;
    store
        .record_article_feedback(ArticleFeedback {
            account_id: account,
            article_id: article,
            locale,
            helpful,
            comment: comment.map(str::to_owned),
        })
        .await?;
    Ok(())
}

/// "Was this helpful?" on a published article's translation: yes or no, and an optional comment.
#[utoipa::path(
    tag = "knowledge base",
    security(()),
    params(("id" = i64, Path)),
    request_body = FeedbackBody,
    responses(
        (status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "rate_limited: this client answered too often", body = ErrorBody)
    )
)]
#[post("/kb/articles/{id}/feedback")]
async fn article_feedback(
    state: Api,
    request: HttpRequest,
    limits: web::Data<FeedbackLimits>,
    id: web::Path<ArticleId>,
    body: ApiJson<FeedbackBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let limited = (limits.get_ref(), &request);
    record_feedback(state.store.as_ref(), limited, *id, &body.locale, body.helpful, body.comment.as_deref()).await?;
    Ok(HttpResponse::NoContent().finish())
}
