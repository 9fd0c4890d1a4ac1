//! The page a CSAT email's links open, server-rendered with no script: `GET /csat/{token}?score=N`
//! records the score in one click and offers the optional comment form, which posts back to the
//! same address. The token (the survey's id and its HMAC) is the only credential: a changed or
//! cut token shows a plain error and writes nothing. The form also carries a key derived from
//! the survey, and a browser's `Origin` must be this hub's. Its words come from the language
//! catalogs (`web/i18n/`, keys `csat.*` and the portal's score labels) in the browser's language;
//! the question and the comment prompt are the account's own.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use switchboard_actors::csat::{Scale, Survey, SurveyStatus};

use super::catalog_text;
use super::help::accepted_language;
use super::help::page::{escape, html_response};
use crate::config::Settings;
use crate::csat::{Csat, CsatError};
use crate::error::ApiError;

pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/csat/{token}", web::get().to(rating_page)).route("/csat/{token}", web::post().to(comment_form));
}

/// What the links and the redirect after a comment add to the address (kept lenient: a page
/// answers a wrong value with words, not a JSON error).
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    score: Option<String>,
    commented: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CommentForm {
    comment: String,
    form_key: String,
}

/// A text of the catalogs in the page's language.
fn words(lang: &str, key: &str) -> &'static str {
    catalog_text(lang, key)
}

fn page(lang: &str, status: StatusCode, title: &str, main: &str) -> HttpResponse {
    html_response(
        status,
        format!(
            "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
             <link rel=\"stylesheet\" href=\"/help.css\">\n</head>\n<body>\n<main class=\"csat\">\n\
             <h1>{title}</h1>\n{main}\n</main>\n</body>\n</html>\n",
            title = escape(title),
            lang = escape(lang),
        ),
    )
}

fn invalid_link(lang: &str) -> HttpResponse {
    let main = format!("<p>{}</p>", escape(words(lang, "csat.invalid.text")));
    page(lang, StatusCode::NOT_FOUND, words(lang, "csat.invalid.title"), &main)
}

/// A choice's label in the page's language (the portal's rating labels).
fn label_of(lang: &str, scale: Scale, score: i64) -> String {
    match scale {
        Scale::Five => words(lang, &format!("portal.csat.score.{score}")).to_owned(),
        Scale::Thumbs if score >= 3 => format!("👍 {}", words(lang, "portal.csat.up")),
        Scale::Thumbs => format!("👎 {}", words(lang, "portal.csat.down")),
    }
}

/// The choices as links (a pending survey without a valid score in the address).
fn choices(lang: &str, csat: &Csat, survey: &Survey) -> String {
    let links: Vec<String> = survey
        .scale
        .choices()
        .into_iter()
        .map(|(score, _)| {
            let label = label_of(lang, survey.scale, score);
            format!("<li><a href=\"{}\">{}</a></li>", escape(&csat.link(survey.id, score)), escape(&label))
        })
        .collect();
    format!("<p>{}</p>\n<ul class=\"choices\">{}</ul>", escape(&survey.question), links.join(""))
}

/// The comment form, with the comment already given (to replace it).
fn comment_form_html(lang: &str, csat: &Csat, token: &str, survey: &Survey) -> String {
    format!(
        "<form method=\"post\" action=\"/csat/{token}\">\n<label for=\"comment\">{prompt}</label>\n\
         <textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"{max}\" required>{comment}</textarea>\n\
         <input type=\"hidden\" name=\"form_key\" value=\"{key}\">\n<button type=\"submit\">{send}</button>\n</form>",
        token = escape(token),
        prompt = escape(&survey.comment_prompt),
        max = switchboard_actors::csat::MAX_COMMENT_CHARS,
        comment = escape(survey.comment.as_deref().unwrap_or_default()),
        key = escape(&csat.form_key(survey.id)),
        send = escape(words(lang, "csat.send")),
    )
}

fn answered_page(lang: &str, csat: &Csat, token: &str, survey: &Survey, lead_key: &str) -> HttpResponse {
    let score = survey.score.map(|score| label_of(lang, survey.scale, score)).unwrap_or_default();
    let main = format!(
        "<p>{}</p>\n<p>{} <strong>{}</strong></p>\n{}",
        escape(words(lang, lead_key)),
        escape(words(lang, "csat.your_rating")),
        escape(&score),
        comment_form_html(lang, csat, token, survey)
    );
    page(lang, StatusCode::OK, words(lang, "csat.thanks.title"), &main)
}

/// The survey a link's token names, or the "not valid" page for a changed or cut token.
async fn survey_of_link(csat: &Csat, token: &str, lang: &str) -> Result<Result<Survey, HttpResponse>, ApiError> {
    match csat.survey_of_token(token).await {
        Ok(survey) => Ok(Ok(survey)),
        Err(CsatError::InvalidToken) => Ok(Err(invalid_link(lang))),
        Err(error) => Err(error.into()),
    }
}

/// `GET /csat/{token}?score=N`: records the score (once), then offers the comment form.
async fn rating_page(
    request: HttpRequest,
    csat: web::Data<Csat>,
    token: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let lang = accepted_language(&request);
    let survey = match survey_of_link(&csat, &token, lang).await? {
        Ok(survey) => survey,
        Err(invalid) => return Ok(invalid),
    };
    if query.commented.is_some() && survey.status == SurveyStatus::Answered {
        return Ok(answered_page(lang, &csat, &token, &survey, "csat.commented"));
    }
    let score = match query.score.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(score)) if survey.scale.accepts(score) => Some(score),
        Some(_) => {
            let main = format!("<p>{}</p>\n{}", escape(words(lang, "csat.choose.text")), choices(lang, &csat, &survey));
            return Ok(page(lang, StatusCode::BAD_REQUEST, words(lang, "csat.choose.title"), &main));
        }
    };
    match (survey.status, score) {
        (SurveyStatus::Pending, Some(score)) => match csat.answer(&survey, score).await {
            Ok(answered) => Ok(answered_page(lang, &csat, &token, &answered, "csat.recorded")),
            Err(CsatError::AlreadyAnswered) => {
                let survey = csat.survey_of_token(&token).await?;
                Ok(answered_page(lang, &csat, &token, &survey, "csat.already"))
            }
            Err(CsatError::NotPending) => Ok(closed(lang)),
            Err(error) => Err(error.into()),
        },
        (SurveyStatus::Pending, None) => {
            Ok(page(lang, StatusCode::OK, words(lang, "portal.csat.question"), &choices(lang, &csat, &survey)))
        }
        (SurveyStatus::Answered, _) => Ok(answered_page(lang, &csat, &token, &survey, "csat.already")),
        (SurveyStatus::Cancelled, _) => Ok(closed(lang)),
    }
}

fn closed(lang: &str) -> HttpResponse {
    let main = format!("<p>{}</p>", escape(words(lang, "csat.closed.text")));
    page(lang, StatusCode::CONFLICT, words(lang, "csat.closed.title"), &main)
}

/// `POST /csat/{token}`: the comment on an answered survey (added or replaced).
async fn comment_form(
    request: HttpRequest,
    settings: web::Data<Settings>,
    csat: web::Data<Csat>,
    token: web::Path<String>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, ApiError> {
    let lang = accepted_language(&request);
    let survey = match survey_of_link(&csat, &token, lang).await? {
        Ok(survey) => survey,
        Err(invalid) => return Ok(invalid),
    };
    // A browser says where the form was; it must be this hub's page. The key proves the form
    // came from the survey's own page.
    let foreign =
        request.headers().contains_key(header::ORIGIN) && crate::auth::same_origin(&request, &settings).is_err();
    if foreign || !csat.form_key_valid(survey.id, &form.form_key) {
        let main = format!("<p>{}</p>", escape(words(lang, "csat.foreign.text")));
        return Ok(page(lang, StatusCode::FORBIDDEN, words(lang, "csat.not_saved.title"), &main));
    }
    match csat.comment(&survey, &form.comment).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/csat/{}?commented=1", token.as_str())))
            .finish()),
        Err(CsatError::NotAnswered) => {
            let main =
                format!("<p>{}</p>\n{}", escape(words(lang, "csat.rate_first.text")), choices(lang, &csat, &survey));
            Ok(page(lang, StatusCode::CONFLICT, words(lang, "csat.rate_first.title"), &main))
        }
        Err(CsatError::InvalidComment(reason)) => {
            let refused = words(lang, "csat.comment_refused").replace("{reason}", &reason);
            let main = format!("<p>{}</p>\n{}", escape(&refused), comment_form_html(lang, &csat, &token, &survey));
            Ok(page(lang, StatusCode::UNPROCESSABLE_ENTITY, words(lang, "csat.not_saved.title"), &main))
        }
        Err(error) => Err(error.into()),
    }
}
