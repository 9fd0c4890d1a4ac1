//! The public knowledge base, server-rendered (issue 14 item 3): `/help`, `/help/{category}`,
//! `/help/articles/{slug}` (an old slug answers 301 with the new one), `/help/search?q=`,
//! `/sitemap.xml`, and the landing page at `/`. Plain HTML with no script (it works without
//! JavaScript and is indexable), `hreflang` links between an article's locales, and a "Was this
//! helpful?" form that posts without script. Only the site account's published articles appear.
//! The site's own words come in English, Spanish and Portuguese: `?lang=`, else the browser's
//! `Accept-Language`.

pub(super) mod page;
mod render;

/// The console's article preview shows exactly what the help center will.
pub(super) use self::render::article_html;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, web};
use serde::Deserialize;
use switchboard_actors::domain::AccountId;
use switchboard_actors::knowledge_base::{Article, ArticleQuery, ArticleStatus, KbCategory, SlugTarget, search, text};
use switchboard_actors::store::Store;

use self::page::{Head, Layout, SITE_LANGUAGES, date, escape, html_response, words};
use super::kb::{record_feedback, site_account};
use super::{Api, ApiError, Caller};
use crate::auth::FeedbackLimits;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(landing))
        .route("/help", web::get().to(home))
        // Without this the console (the default service) would answer `/help/`.
        .route(
            "/help/",
            web::get()
                .to(|| async { HttpResponse::MovedPermanently().insert_header((header::LOCATION, "/help")).finish() }),
        )
        .route("/help/search", web::get().to(search_page))
        .route("/help/articles/{slug}", web::get().to(article_page))
        .route("/help/articles/{slug}/feedback", web::post().to(feedback_form))
        .route("/help/{category}", web::get().to(category_page))
        .route("/sitemap.xml", web::get().to(sitemap));
}

/// The most articles a list page or the sitemap reads per store call.
const PAGE_ROWS: i64 = 200;
/// The most search results a page shows.
const SEARCH_RESULTS: i64 = 20;
/// The description under a result and in a page's `<meta name="description">`.
const EXCERPT_CHARS: usize = 200;

/// A public page's query: unknown parameters (a campaign's `utm_…`) are ignored, not refused,
/// since links to these pages are shared outside the hub.
#[derive(Debug, Default, Deserialize)]
struct PageParams {
    lang: Option<String>,
    q: Option<String>,
    feedback: Option<String>,
}

/// The language of the site's words: `?lang=` if it is one of them, else the first of the
/// browser's `Accept-Language` that is, else English.
fn site_language(request: &HttpRequest, params: &PageParams) -> &'static str {
    let shipped = shipped_language;
    params.lang.as_deref().and_then(shipped).unwrap_or_else(|| accepted_language(request))
}

/// The first of the browser's `Accept-Language` the site's words are written in, else English.
pub(super) fn accepted_language(request: &HttpRequest) -> &'static str {
    let accepted =
        request.headers().get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    accepted.split(',').find_map(shipped_language).unwrap_or("en")
}

/// One of the site's languages for a language tag (`pt-BR;q=0.8` is `pt`).
fn shipped_language(tag: &str) -> Option<&'static str> {
    let language = tag.trim().split(['-', '_', ';']).next().unwrap_or_default().to_ascii_lowercase();
    SITE_LANGUAGES.iter().copied().find(|known| *known == language)
}

/// The account the site serves and its name.
struct Site {
    account: AccountId,
    name: String,
    origin: String,
}

async fn site(state: &Api) -> Result<Site, ApiError> {
    let account = site_account(state.store.as_ref()).await?;
    let name = state.store.account(account).await?.map(|account| account.name).unwrap_or_default();
    Ok(Site { account, name, origin: state.settings.server.public_origin() })
}

/// Published articles (of a category and its sub-categories, or all), most recently changed
/// first, each once: in `lang` when it has that translation, else in its first published one.
/// With `first_page_only` (the home page's "recently updated"), one read of the newest rows.
async fn published(
    store: &dyn Store,
    (account, category): (AccountId, Option<i64>),
    lang: &str,
    first_page_only: bool,
) -> Result<Vec<Article>, ApiError> {
    let mut query = ArticleQuery {
        account_id: account,
        locale: None,
        status: Some(ArticleStatus::Published),
        category_id: category,
        before: None,
        limit: PAGE_ROWS,
    };
    let mut chosen: Vec<Article> = Vec::new();
    loop {
        let hits = store.list_articles(&query).await?;
        let full = hits.len() as i64 == PAGE_ROWS;
        query.before = hits.last().map(|hit| hit.position);
        for hit in hits {
            let article = hit.article;
            match chosen.iter_mut().find(|kept| kept.id == article.id) {
                Some(kept) if article.locale == lang && kept.locale != lang => *kept = article,
                Some(_) => {}
                None => chosen.push(article),
            }
        }
        if !full || first_page_only {
            return Ok(chosen);
        }
    }
}

fn article_list(articles: &[Article], empty: &str) -> String {
    if articles.is_empty() {
        return format!("<p class=\"empty\">{}</p>", escape(empty));
    }
    let items: Vec<String> = articles
        .iter()
        .map(|article| {
            format!(
                "<li><a href=\"/help/articles/{slug}\" hreflang=\"{locale}\">{title}</a><p>{excerpt}</p></li>",
                slug = article.slug,
                locale = escape(&article.locale),
                title = escape(&article.title),
                excerpt = escape(&text::plain_excerpt(&article.body, EXCERPT_CHARS)),
            )
        })
        .collect();
    format!("<ul class=\"articles\">{}</ul>", items.join(""))
}

fn category_list(categories: &[KbCategory], lang: &str) -> String {
    let items: Vec<String> = categories
        .iter()
        .filter(|category| category.parent_id.is_none())
        .map(|top| {
            let children: Vec<String> = categories
                .iter()
                .filter(|child| child.parent_id == Some(top.id))
                .map(|child| {
                    format!("<li><a href=\"/help/{}?lang={lang}\">{}</a></li>", child.slug, escape(&child.name))
                })
                .collect();
            let children = if children.is_empty() { String::new() } else { format!("<ul>{}</ul>", children.join("")) };
            format!("<li><a href=\"/help/{}?lang={lang}\">{}</a>{children}</li>", top.slug, escape(&top.name))
        })
        .collect();
    format!("<ul class=\"categories\">{}</ul>", items.join(""))
}

/// A page of the site saying what went wrong, with the status of the refusal.
fn error_page(site_name: &str, lang: &str, status: StatusCode, message: &str) -> HttpResponse {
    let layout = Layout {
        site_name,
        lang,
        title: message,
        head: Head { noindex: true, ..Head::default() },
        query: "",
        language_path: None,
    };
    html_response(status, layout.render(&format!("<h1>{}</h1>", escape(message))))
}

fn not_found(site: &Site, lang: &str) -> HttpResponse {
    error_page(&site.name, lang, StatusCode::NOT_FOUND, words(lang).not_found)
}

/// `/`: the console for signed-in staff (where their bookmarks lead), and for everyone else the
/// account's landing page: its name, the knowledge-base search, its categories, and "contact
/// us" leading to the portal.
async fn landing(
    request: HttpRequest,
    state: Api,
    caller: Option<Caller>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    if caller.is_some_and(|caller| caller.user.role.is_staff()) {
        return Ok(super::console::serve(request).await);
    }
    let lang = site_language(&request, &params);
    let site = site(&state).await?;
    let categories = state.store.kb_categories(site.account).await?;
    let words = words(lang);
    let main = format!(
        "<section class=\"hero\"><h1>{name}</h1><p>{center}</p>\
         <form action=\"/help/search\" method=\"get\" role=\"search\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <input type=\"search\" name=\"q\" placeholder=\"{placeholder}\" aria-label=\"{placeholder}\">\
         <button type=\"submit\">{search}</button></form></section>\
         <section><h2>{categories_title}</h2>{categories}</section>\
         <section class=\"contact\"><p>{lead}</p><a class=\"button\" href=\"/portal\">{contact}</a></section>",
        name = escape(&site.name),
        center = words.help_center,
        placeholder = words.search_placeholder,
        search = words.search,
        categories_title = words.categories,
        categories = category_list(&categories, lang),
        lead = words.contact_lead,
        contact = words.contact,
    );
    let layout = Layout {
        site_name: &site.name,
        lang,
        title: words.help_center,
        head: Head { canonical: Some(format!("{}/", site.origin)), ..Head::default() },
        query: "",
        language_path: Some("/"),
    };
    Ok(html_response(StatusCode::OK, layout.render(&main)))
}

/// `/help`: the categories and the most recently updated articles.
async fn home(request: HttpRequest, state: Api, params: web::Query<PageParams>) -> Result<HttpResponse, ApiError> {
    let lang = site_language(&request, &params);
    let site = site(&state).await?;
    let words = words(lang);
    let categories = state.store.kb_categories(site.account).await?;
    let mut recent = published(state.store.as_ref(), (site.account, None), lang, true).await?;
    recent.truncate(10);
    let main = format!(
        "<h1>{center}</h1><section><h2>{categories_title}</h2>{categories}</section>\
         <section><h2>{recent_title}</h2>{recent}</section>",
        center = words.help_center,
        categories_title = words.categories,
        categories = category_list(&categories, lang),
        recent_title = words.recent,
        recent = article_list(&recent, words.no_articles),
    );
    let layout = Layout {
        site_name: &site.name,
        lang,
        title: words.help_center,
        head: Head { canonical: Some(format!("{}/help", site.origin)), ..Head::default() },
        query: "",
        language_path: Some("/help"),
    };
    Ok(html_response(StatusCode::OK, layout.render(&main)))
}

/// `/help/{category}`: its sub-categories and its published articles.
async fn category_page(
    request: HttpRequest,
    state: Api,
    slug: web::Path<String>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let lang = site_language(&request, &params);
    let site = site(&state).await?;
    let categories = state.store.kb_categories(site.account).await?;
    let Some(category) = categories.iter().find(|category| category.slug == *slug) else {
        return Ok(not_found(&site, lang));
    };
    let words = words(lang);
    let children: Vec<KbCategory> =
        categories.iter().filter(|child| child.parent_id == Some(category.id)).cloned().collect();
    let articles = published(state.store.as_ref(), (site.account, Some(category.id)), lang, false).await?;
    let parent = category.parent_id.and_then(|parent| categories.iter().find(|found| found.id == parent));
    let crumbs = match parent {
        Some(parent) => format!(" › <a href=\"/help/{}?lang={lang}\">{}</a>", parent.slug, escape(&parent.name)),
        None => String::new(),
    };
    let main = format!(
        "<nav class=\"crumbs\"><a href=\"/help?lang={lang}\">{center}</a>{crumbs}</nav><h1>{name}</h1>{children}\
         <section><h2>{articles_title}</h2>{articles}</section>",
        center = words.help_center,
        name = escape(&category.name),
        children = if children.is_empty() { String::new() } else { category_list_flat(&children, lang) },
        articles_title = words.articles,
        articles = article_list(&articles, words.no_articles),
    );
    let path = format!("/help/{}", category.slug);
    let layout = Layout {
        site_name: &site.name,
        lang,
        title: &category.name,
        head: Head { canonical: Some(format!("{}{path}", site.origin)), ..Head::default() },
        query: "",
        language_path: Some(&path),
    };
    Ok(html_response(StatusCode::OK, layout.render(&main)))
}

fn category_list_flat(categories: &[KbCategory], lang: &str) -> String {
    let items: Vec<String> = categories
        .iter()
        .map(|category| {
            format!("<li><a href=\"/help/{}?lang={lang}\">{}</a></li>", category.slug, escape(&category.name))
        })
        .collect();
    format!("<ul class=\"categories\">{}</ul>", items.join(""))
}

/// `/help/articles/{slug}`: a published translation, in its own language, with its siblings in
/// other locales (`hreflang`), related articles and the feedback form. An old slug answers 301.
async fn article_page(
    request: HttpRequest,
    state: Api,
    slug: web::Path<String>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let site = site(&state).await?;
    let article = match state.store.article_by_slug(site.account, &slug).await? {
        Some(SlugTarget::Current(article)) if article.status == ArticleStatus::Published => *article,
        Some(SlugTarget::Moved(current)) => {
            return Ok(HttpResponse::MovedPermanently()
                .insert_header((header::LOCATION, format!("/help/articles/{current}")))
                .finish());
        }
        _ => return Ok(not_found(&site, site_language(&request, &params))),
    };
    let lang = article.locale.as_str();
    let words = words(lang);
    let siblings: Vec<_> =
        article.translations.iter().filter(|other| other.status == ArticleStatus::Published).collect();
    let mut alternates: Vec<(String, String)> = siblings
        .iter()
        .map(|other| (other.locale.clone(), format!("{}/help/articles/{}", site.origin, other.slug)))
        .collect();
    if let Some(default) = siblings.iter().find(|other| other.locale == "en").or(siblings.first()) {
        alternates.push(("x-default".to_owned(), format!("{}/help/articles/{}", site.origin, default.slug)));
    }
    let also_in: Vec<String> = siblings
        .iter()
        .filter(|other| other.locale != article.locale)
        .map(|other| {
            format!(
                "<a href=\"/help/articles/{}\" hreflang=\"{locale}\" lang=\"{locale}\">{}</a>",
                other.slug,
                escape(page::language_name(&other.locale)),
                locale = escape(&other.locale),
            )
        })
        .collect();
    let also_in = if also_in.is_empty() {
        String::new()
    } else {
        format!("<p class=\"also-in\">{}: {}</p>", words.also_in, also_in.join(" · "))
    };
    let mut related = Vec::new();
    for id in &article.related_ids {
        let found = match state.store.article(site.account, *id, Some(lang)).await? {
            Some(found) if found.status == ArticleStatus::Published => Some(found),
            _ => state
                .store
                .article(site.account, *id, None)
                .await?
                .filter(|found| found.status == ArticleStatus::Published),
        };
        related.extend(found);
    }
    let related = if related.is_empty() {
        String::new()
    } else {
        let links: Vec<String> = related
            .iter()
            .map(|other| format!("<li><a href=\"/help/articles/{}\">{}</a></li>", other.slug, escape(&other.title)))
            .collect();
        format!("<section class=\"related\"><h2>{}</h2><ul>{}</ul></section>", words.related, links.join(""))
    };
    let categories = state.store.kb_categories(site.account).await?;
    let category = article.category_id.and_then(|id| categories.iter().find(|found| found.id == id));
    let crumbs = match category {
        Some(category) => format!(" › <a href=\"/help/{}?lang={lang}\">{}</a>", category.slug, escape(&category.name)),
        None => String::new(),
    };
    let byline = match &article.author_name {
        Some(author) => format!(" {} {}", words.by, escape(author)),
        None => String::new(),
    };
    let feedback = if params.feedback.as_deref() == Some("thanks") {
        format!("<p role=\"status\">{}</p>", words.thanks)
    } else {
        format!(
            "<form method=\"post\" action=\"/help/articles/{slug}/feedback\"><fieldset><legend>{helpful}</legend>\
             <label for=\"comment\">{comment}</label><textarea id=\"comment\" name=\"comment\" maxlength=\"{max}\" rows=\"3\"></textarea>\
             <div class=\"answers\"><button type=\"submit\" name=\"helpful\" value=\"yes\">{yes}</button>\
             <button type=\"submit\" name=\"helpful\" value=\"no\">{no}</button></div></fieldset></form>",
            slug = article.slug,
            helpful = words.helpful,
            comment = words.comment,
            max = super::kb::MAX_COMMENT_CHARS,
            yes = words.yes,
            no = words.no,
        )
    };
    let main = format!(
        "<nav class=\"crumbs\"><a href=\"/help?lang={lang}\">{center}</a>{crumbs}</nav>\
         <article><h1>{title}</h1><p class=\"meta\">{updated} <time datetime=\"{iso}\">{day}</time>{byline}</p>{also_in}\
         <div class=\"body\">{body}</div></article>{related}<section id=\"feedback\" class=\"feedback\">{feedback}</section>",
        lang = escape(lang),
        center = words.help_center,
        title = escape(&article.title),
        updated = words.updated,
        iso = article.updated_at,
        day = date(article.updated_at),
        body = render::article_html(&article.body),
    );
    let path = format!("/help/articles/{}", article.slug);
    let layout = Layout {
        site_name: &site.name,
        lang,
        title: &article.title,
        head: Head {
            description: Some(text::plain_excerpt(&article.body, EXCERPT_CHARS)),
            canonical: Some(format!("{}{path}", site.origin)),
            alternates,
            noindex: false,
        },
        query: "",
        language_path: None,
    };
    Ok(html_response(StatusCode::OK, layout.render(&main)))
}

#[derive(Debug, Deserialize)]
struct FeedbackForm {
    helpful: String,
    #[serde(default)]
    comment: Option<String>,
}

/// The feedback form's POST: stored and counted, then back to the article (303) saying thanks.
async fn feedback_form(
    request: HttpRequest,
    state: Api,
    limits: web::Data<FeedbackLimits>,
    slug: web::Path<String>,
    form: web::Form<FeedbackForm>,
) -> Result<HttpResponse, ApiError> {
    let site = site(&state).await?;
    let lang = site_language(&request, &PageParams::default());
    let article = match state.store.article_by_slug(site.account, &slug).await? {
        Some(SlugTarget::Current(article)) if article.status == ArticleStatus::Published => *article,
        _ => return Ok(not_found(&site, lang)),
    };
    let helpful = match form.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Ok(error_page(&site.name, lang, StatusCode::UNPROCESSABLE_ENTITY, "helpful: answer yes or no")),
    };
    if let Err(refusal) = record_feedback(
        state.store.as_ref(),
        (limits.get_ref(), &request),
        article.id,
        &article.locale,
        helpful,
        form.comment.as_deref(),
    )
    .await
    {
        return Ok(error_page(&site.name, lang, refusal.status_code(), &refusal.to_string()));
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/help/articles/{}?feedback=thanks#feedback", article.slug)))
        .finish())
}

/// `/help/search?q=`: published articles of every locale, best match first.
async fn search_page(
    request: HttpRequest,
    state: Api,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let lang = site_language(&request, &params);
    let site = site(&state).await?;
    let words = words(lang);
    let query = params.q.as_deref().unwrap_or_default().trim();
    let query: String = query.chars().take(300).collect();
    let results = if query.is_empty() {
        String::new()
    } else {
        let found = search(state.store.as_ref(), site.account, &query, None, true, SEARCH_RESULTS).await?;
        format!(
            "<p class=\"results-for\">{} “{}”</p>{}",
            words.results_for,
            escape(&query),
            article_list(&found, words.no_results)
        )
    };
    let main = format!("<h1>{}</h1>{results}", words.search);
    let layout = Layout {
        site_name: &site.name,
        lang,
        title: words.search,
        head: Head { noindex: true, ..Head::default() },
        query: &query,
        language_path: None,
    };
    Ok(html_response(StatusCode::OK, layout.render(&main)))
}

/// `/sitemap.xml`: the help center, its categories, and every published translation with the
/// day it changed and its siblings in other locales.
async fn sitemap(state: Api) -> Result<HttpResponse, ApiError> {
    let site = site(&state).await?;
    let origin = escape(&site.origin);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
         xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    xml.push_str(&format!("<url><loc>{origin}/help</loc></url>\n"));
    for category in state.store.kb_categories(site.account).await? {
        xml.push_str(&format!("<url><loc>{origin}/help/{}</loc></url>\n", category.slug));
    }
    let mut query = ArticleQuery {
        account_id: site.account,
        locale: None,
        status: Some(ArticleStatus::Published),
        category_id: None,
        before: None,
        limit: PAGE_ROWS,
    };
    loop {
        let hits = state.store.list_articles(&query).await?;
        for hit in &hits {
            let article = &hit.article;
            xml.push_str(&format!(
                "<url><loc>{origin}/help/articles/{}</loc><lastmod>{}</lastmod>",
                article.slug,
                date(article.updated_at)
            ));
            for other in article.translations.iter().filter(|other| other.status == ArticleStatus::Published) {
                xml.push_str(&format!(
                    "<xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{origin}/help/articles/{}\"/>",
                    escape(&other.locale),
                    other.slug
                ));
            }
            xml.push_str("</url>\n");
        }
        if (hits.len() as i64) < PAGE_ROWS {
            break;
        }
        query.before = hits.last().map(|hit| hit.position);
    }
    xml.push_str("</urlset>\n");
    Ok(HttpResponse::Ok().content_type("application/xml; charset=utf-8").body(xml))
}
