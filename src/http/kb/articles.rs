//! Knowledge-base articles: one translation per `(id, locale)`. Staff read drafts and published
//! translations; customers published ones only (a draft is 404 to them). Editors (admins and
//! `kb_editor`s) write; admins grant `kb_editor`. A resolved ticket becomes a draft article.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use switchboard_actors::domain::{MessageKind, TicketId, UserId};
use switchboard_actors::knowledge_base::{
    Article, ArticleId, ArticlePatch, ArticleQuery, ArticleStatus, KB_EDITOR, KbCategoryId, NewArticle, text,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::super::json::ApiJson;
use super::super::tickets::{Page, double_option};
use super::super::{Api, ApiError, Caller, NoParams};
use super::{decode_cursor, encode_cursor, limit, locale, may_edit, refusal, require_editor, required_text, slug};
use crate::error::{ErrorBody, ErrorCode};

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(list_articles)
        .service(create_article)
        .service(get_article)
        .service(update_article)
        .service(delete_article)
        .service(preview_article)
        .service(kb_access)
        .service(list_editors)
        .service(grant_editor)
        .service(revoke_editor)
        .service(ticket_to_article);
}

const MAX_TITLE_CHARS: usize = 200;
/// The longest article body: a long manual page, far below the JSON body limit.
const MAX_BODY_CHARS: usize = 100_000;
/// The most related articles one article lists.
const MAX_RELATED: usize = 20;
/// The locale of an article when none is given.
const DEFAULT_LOCALE: &str = "en";

fn body_text(given: &str) -> Result<String, ApiError> {
    if given.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::invalid("body", format!("at most {MAX_BODY_CHARS} characters")));
    }
    Ok(given.to_owned())
}

fn related(given: &[ArticleId], own: Option<ArticleId>) -> Result<Vec<ArticleId>, ApiError> {
    if given.len() > MAX_RELATED {
        return Err(ApiError::invalid("related_ids", format!("at most {MAX_RELATED} articles")));
    }
    if own.is_some_and(|own| given.contains(&own)) {
        return Err(ApiError::invalid("related_ids", "an article is not related to itself"));
    }
    let mut kept = Vec::with_capacity(given.len());
    for id in given {
        if !kept.contains(id) {
            kept.push(*id);
        }
    }
    Ok(kept)
}

/// Refuses a category the caller's account does not have, naming `category_id`.
async fn known_category(state: &Api, caller: &Caller, category: Option<KbCategoryId>) -> Result<(), ApiError> {
    let Some(category) = category else { return Ok(()) };
    if state.store.kb_categories(caller.account()).await?.iter().any(|found| found.id == category) {
        Ok(())
    } else {
        Err(ApiError::invalid("category_id", "no such category"))
    }
}

/// A store refusal on an article: a related article or category that is not the account's is
/// named as the field that held it.
fn article_refusal(error: switchboard_actors::store::StoreError, related_given: bool) -> ApiError {
    match refusal(error, "article") {
        ApiError::NotFound(_) if related_given => ApiError::invalid("related_ids", "no such article"),
        other => other,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleParams {
    /// Only translations in this locale.
    locale: Option<String>,
    /// `draft` (staff only) or `published`; customers always get published ones.
    status: Option<ArticleStatus>,
    /// Only this category's articles (and its sub-categories').
    category_id: Option<KbCategoryId>,
    /// Full-text search, best match first (then no cursor).
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Article translations, most recently changed first, or with `q` the best matches.
#[utoipa::path(
    tag = "knowledge base",
    params(ArticleParams),
    responses((status = 200, body = Page<Article>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/kb/articles")]
async fn list_articles(
    state: Api,
    caller: Caller,
    params: web::Query<ArticleParams>,
) -> Result<web::Json<Page<Article>>, ApiError> {
    let params = params.into_inner();
    let staff = caller.user.role.is_staff();
    if !staff && params.status == Some(ArticleStatus::Draft) {
        return Err(ApiError::forbidden("drafts are for staff"));
    }
    let status = if staff { params.status } else { Some(ArticleStatus::Published) };
    let locale = params.locale.as_deref().map(locale).transpose()?;
    let limit = limit(params.limit)?;
    if let Some(q) = params.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let published_only = status == Some(ArticleStatus::Published);
        let found = switchboard_actors::knowledge_base::search(
            state.store.as_ref(),
            caller.account(),
            q,
            locale.as_deref(),
            published_only,
            limit,
        )
        .await?;
        let items = found.into_iter().filter(|article| status.is_none_or(|status| article.status == status)).collect();
        return Ok(web::Json(Page { items, next: None }));
    }
    let query = ArticleQuery {
        account_id: caller.account(),
        locale,
        status,
        category_id: params.category_id,
        before: params.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    let mut hits = state.store.list_articles(&query).await?;
    let next = if hits.len() as i64 > limit {
        hits.truncate(limit as usize);
        hits.last().map(|hit| encode_cursor(hit.position))
    } else {
        None
    };
    Ok(web::Json(Page { items: hits.into_iter().map(|hit| hit.article).collect(), next }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticle {
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
    /// For a new article (a translation shares its article's category).
    #[serde(default)]
    pub category_id: Option<KbCategoryId>,
    /// `en` unless given; `pt-BR` style for a region.
    #[serde(default)]
    pub locale: Option<String>,
    /// `draft` unless given.
    #[serde(default)]
    pub status: Option<ArticleStatus>,
    /// Made from the title when left out; unique in the account across locales.
    #[serde(default)]
    pub slug: Option<String>,
    /// Adds a translation to this article instead of creating one.
    #[serde(default)]
    pub article_id: Option<ArticleId>,
    #[serde(default)]
    pub related_ids: Vec<ArticleId>,
}

/// Create an article, or with `article_id` another locale of one (admins and `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    request_body = CreateArticle,
    responses(
        (status = 201, body = Article), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "slug_taken, locale_exists", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/kb/articles")]
async fn create_article(state: Api, caller: Caller, body: ApiJson<CreateArticle>) -> Result<HttpResponse, ApiError> {
    require_editor(&state, &caller).await?;
    let body = body.into_inner();
    let title = required_text("title", &body.title, MAX_TITLE_CHARS)?;
    if body.article_id.is_some() && body.category_id.is_some() {
        return Err(ApiError::invalid(
            "category_id",
            "a translation shares its article's category; change it with PATCH",
        ));
    }
    known_category(&state, &caller, body.category_id).await?;
    let related_ids = related(&body.related_ids, body.article_id)?;
    let related_given = !related_ids.is_empty();
    let article = NewArticle {
        account_id: caller.account(),
        article_id: body.article_id,
        locale: locale(body.locale.as_deref().unwrap_or(DEFAULT_LOCALE))?,
        slug: slug("slug", body.slug.as_deref().unwrap_or(&text::slugify(&title)))?,
        title,
        body: body_text(&body.body)?,
        status: body.status.unwrap_or(ArticleStatus::Draft),
        category_id: body.category_id,
        related_ids,
        author_id: caller.user.id,
        source_ticket_id: None,
    };
    let created = state.store.create_article(article).await.map_err(|error| article_refusal(error, related_given))?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocaleParam {
    /// Which translation; the oldest one when left out.
    locale: Option<String>,
}

/// One translation of an article (a draft only for staff; otherwise 404).
#[utoipa::path(
    tag = "knowledge base",
    params(("id" = i64, Path), LocaleParam),
    responses((status = 200, body = Article), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/kb/articles/{id}")]
async fn get_article(
    state: Api,
    caller: Caller,
    id: web::Path<ArticleId>,
    params: web::Query<LocaleParam>,
) -> Result<web::Json<Article>, ApiError> {
    let locale = params.locale.as_deref().map(locale).transpose()?;
    let article = state.store.article(caller.account(), *id, locale.as_deref()).await?;
    article
        .filter(|article| caller.user.role.is_staff() || article.status == ArticleStatus::Published)
        .map(web::Json)
        .ok_or(ApiError::NotFound("article"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchArticle {
    /// Which translation the title, body, slug and status changes are for.
    pub locale: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// A new slug: the old one redirects to it (301) on the public site.
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub status: Option<ArticleStatus>,
    /// The article's category, for every locale; `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<KbCategoryId>>,
    #[serde(default)]
    pub related_ids: Option<Vec<ArticleId>>,
}

/// Change one translation and its article (admins and `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    params(("id" = i64, Path)),
    request_body = PatchArticle,
    responses(
        (status = 200, body = Article), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[patch("/kb/articles/{id}")]
async fn update_article(
    state: Api,
    caller: Caller,
    id: web::Path<ArticleId>,
    body: ApiJson<PatchArticle>,
) -> Result<web::Json<Article>, ApiError> {
    require_editor(&state, &caller).await?;
    let id = id.into_inner();
    let body = body.into_inner();
    known_category(&state, &caller, body.category_id.flatten()).await?;
    let related_ids = body.related_ids.as_deref().map(|given| related(given, Some(id))).transpose()?;
    let related_given = related_ids.as_ref().is_some_and(|ids| !ids.is_empty());
    let patch = ArticlePatch {
        title: body.title.as_deref().map(|title| required_text("title", title, MAX_TITLE_CHARS)).transpose()?,
        body: body.body.as_deref().map(body_text).transpose()?,
        slug: body.slug.as_deref().map(|given| slug("slug", given)).transpose()?,
        status: body.status,
        category_id: body.category_id,
        related_ids,
    };
    let article = state
        .store
        .update_article(caller.account(), id, &locale(&body.locale)?, patch)
        .await
        .map_err(|error| article_refusal(error, related_given))?;
    Ok(web::Json(article))
}

/// Remove one translation (`?locale=`; the article goes with its last) or the whole article
/// (admins and `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    params(("id" = i64, Path), LocaleParam),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/kb/articles/{id}")]
async fn delete_article(
    state: Api,
    caller: Caller,
    id: web::Path<ArticleId>,
    params: web::Query<LocaleParam>,
) -> Result<HttpResponse, ApiError> {
    require_editor(&state, &caller).await?;
    let locale = params.locale.as_deref().map(locale).transpose()?;
    state
        .store
        .delete_article(caller.account(), *id, locale.as_deref())
        .await
        .map_err(|error| refusal(error, "article"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// Markdown.
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The body as the help center renders it (raw HTML in the markdown shown as text, links
    /// only to http, https, mailto and paths).
    pub html: String,
}

/// An article body as the public help center will show it, for the editor's preview (admins and
/// `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/kb/preview")]
async fn preview_article(
    state: Api,
    caller: Caller,
    body: ApiJson<PreviewBody>,
) -> Result<web::Json<Preview>, ApiError> {
    require_editor(&state, &caller).await?;
    Ok(web::Json(Preview { html: super::super::help::article_html(&body_text(&body.body)?) }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KbAccess {
    /// Whether the caller may write the knowledge base.
    pub edit: bool,
}

/// What the caller may do with the knowledge base (staff): the console shows its editing
/// controls only to those the server would let through.
#[utoipa::path(tag = "knowledge base", responses((status = 200, body = KbAccess), (status = 403, body = ErrorBody)))]
#[get("/kb/access")]
async fn kb_access(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<KbAccess>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(KbAccess { edit: may_edit(state.store.as_ref(), &caller).await? }))
}

/// The ids of the users holding `kb_editor` (admins only; admins edit without it).
#[utoipa::path(tag = "knowledge base", responses((status = 200, body = Page<i64>), (status = 403, body = ErrorBody)))]
#[get("/kb/editors")]
async fn list_editors(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<Page<UserId>>, ApiError> {
    caller.require_admin()?;
    Ok(web::Json(Page { items: state.store.users_with_permission(caller.account(), KB_EDITOR).await?, next: None }))
}

/// Let an agent or supervisor write the knowledge base (admins only).
#[utoipa::path(
    tag = "knowledge base",
    params(("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/kb/editors/{user_id}")]
async fn grant_editor(state: Api, caller: Caller, user: web::Path<UserId>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let user = state.store.user(caller.account(), *user).await?.ok_or(ApiError::NotFound("user"))?;
    if !user.role.is_staff() {
        return Err(ApiError::invalid("user_id", "only agents and supervisors edit the knowledge base"));
    }
    state.store.set_user_permission(caller.account(), user.id, KB_EDITOR, true).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Take `kb_editor` back (admins only).
#[utoipa::path(
    tag = "knowledge base",
    params(("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/kb/editors/{user_id}")]
async fn revoke_editor(state: Api, caller: Caller, user: web::Path<UserId>) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    state
        .store
        .set_user_permission(caller.account(), *user, KB_EDITOR, false)
        .await
        .map_err(|error| refusal(error, "user"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketToArticle {
    /// `en` unless given.
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub category_id: Option<KbCategoryId>,
}

/// Draft an article from a resolved (or closed) ticket: its subject as the title, the
/// customer's question and the public replies as the body; internal notes stay out. Editors
/// review and publish it (admins and `kb_editor`s).
#[utoipa::path(
    tag = "knowledge base",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = TicketToArticle,
    responses(
        (status = 201, body = Article), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "ticket_not_resolved, slug_taken", body = ErrorBody)
    )
)]
#[post("/tickets/{id}/to-article")]
async fn ticket_to_article(
    state: Api,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<TicketToArticle>,
) -> Result<HttpResponse, ApiError> {
    require_editor(&state, &caller).await?;
    let body = body.into_inner();
    let ticket = state
        .store
        .ticket(*id)
        .await?
        .filter(|ticket| ticket.account_id == caller.account())
        .ok_or(ApiError::NotFound("ticket"))?;
    if !ticket.status_category.is_done() {
        return Err(ApiError::Conflict {
            code: ErrorCode::TicketNotResolved,
            message: "resolve the ticket first: an article records an answer that worked".to_owned(),
        });
    }
    known_category(&state, &caller, body.category_id).await?;
    let messages = state.store.ticket_messages(ticket.id).await?;
    let question: Vec<&str> = messages
        .iter()
        .filter(|message| message.kind == MessageKind::Customer)
        .take(1)
        .map(|m| m.body.trim())
        .collect();
    let answers: Vec<&str> =
        messages.iter().filter(|message| message.kind == MessageKind::Reply).map(|m| m.body.trim()).collect();
    let draft_body = format!("## Question\n\n{}\n\n## Answer\n\n{}\n", question.join("\n\n"), answers.join("\n\n"));
    let title: String = ticket.subject.trim().chars().take(MAX_TITLE_CHARS).collect();
    let title = if title.is_empty() { format!("Ticket #{}", ticket.number) } else { title };
    // The ticket number keeps the slug unique however many tickets share a subject.
    let slug = text::slugify(&format!("{} {}", title.chars().take(80).collect::<String>(), ticket.number));
    let article = NewArticle {
        account_id: caller.account(),
        article_id: None,
        locale: locale(body.locale.as_deref().unwrap_or(DEFAULT_LOCALE))?,
        title,
        body: body_text(&draft_body)?,
        slug,
        status: ArticleStatus::Draft,
        category_id: body.category_id,
        related_ids: Vec::new(),
        author_id: caller.user.id,
        source_ticket_id: Some(ticket.id),
    };
    let created = state.store.create_article(article).await.map_err(|error| refusal(error, "ticket"))?;
    Ok(HttpResponse::Created().json(created))
}
