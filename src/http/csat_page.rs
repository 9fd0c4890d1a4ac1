//! The page a CSAT email's links open, server-rendered with no script: `GET /csat/{token}?score=N`
//! records the score in one click and offers the optional comment form, which posts back to the
//! same address. The token (the survey's id and its HMAC) is the only credential: a changed or
//! cut token shows a plain error and writes nothing. The form also carries a key derived from
//! the survey, and a browser's `Origin` must be this hub's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use switchboard_actors::csat::{Scale, Survey, SurveyStatus};

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

fn page(status: StatusCode, title: &str, main: &str) -> HttpResponse {
    html_response(
        status,
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
             <link rel=\"stylesheet\" href=\"/help.css\">\n</head>\n<body>\n<main class=\"csat\">\n\
             <h1>{title}</h1>\n{main}\n</main>\n</body>\n</html>\n",
            title = escape(title),
        ),
    )
}

fn invalid_link() -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        "This rating link is not valid",
        "<p>The link was changed or cut short. Please use the link from the email exactly as it \
         arrived, or reply to the email to tell us how we did.</p>",
    )
}

fn label_of(scale: Scale, score: i64) -> String {
    scale
        .choices()
        .into_iter()
        .find(|(value, _)| *value == score)
        .map_or(score.to_string(), |(_, label)| label.to_owned())
}

/// The choices as links (a pending survey without a valid score in the address).
fn choices(csat: &Csat, survey: &Survey) -> String {
    let links: Vec<String> = survey
        .scale
        .choices()
        .into_iter()
        .map(|(score, label)| {
            format!("<li><a href=\"{}\">{}</a></li>", escape(&csat.link(survey.id, score)), escape(label))
        })
        .collect();
    format!("<p>{}</p>\n<ul class=\"choices\">{}</ul>", escape(&survey.question), links.join(""))
}

/// The comment form, with the comment already given (to replace it).
fn comment_form_html(csat: &Csat, token: &str, survey: &Survey) -> String {
    format!(
        "<form method=\"post\" action=\"/csat/{token}\">\n<label for=\"comment\">{prompt}</label>\n\
         <textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"{max}\" required>{comment}</textarea>\n\
         <input type=\"hidden\" name=\"form_key\" value=\"{key}\">\n<button type=\"submit\">Send</button>\n</form>",
        token = escape(token),
        prompt = escape(&survey.comment_prompt),
        max = switchboard_actors::csat::MAX_COMMENT_CHARS,
        comment = escape(survey.comment.as_deref().unwrap_or_default()),
        key = escape(&csat.form_key(survey.id)),
    )
}

fn answered_page(csat: &Csat, token: &str, survey: &Survey, lead: &str) -> HttpResponse {
    let score = survey.score.map(|score| label_of(survey.scale, score)).unwrap_or_default();
    let main = format!(
        "<p>{}</p>\n<p>Your rating: <strong>{}</strong></p>\n{}",
        escape(lead),
        escape(&score),
        comment_form_html(csat, token, survey)
    );
    page(StatusCode::OK, "Thank you for your feedback", &main)
}

/// `GET /csat/{token}?score=N`: records the score (once), then offers the comment form.
async fn rating_page(
    csat: web::Data<Csat>,
    token: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let survey = match csat.survey_of_token(&token).await {
        Ok(survey) => survey,
        Err(CsatError::InvalidToken) => return Ok(invalid_link()),
        Err(error) => return Err(error.into()),
    };
    if query.commented.is_some() && survey.status == SurveyStatus::Answered {
        return Ok(answered_page(&csat, &token, &survey, "Thank you: we have your comment."));
    }
    let score = match query.score.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(score)) if survey.scale.accepts(score) => Some(score),
        Some(_) => {
            let main =
                format!("<p>That is not one of the answers; please choose one.</p>\n{}", choices(&csat, &survey));
            return Ok(page(StatusCode::BAD_REQUEST, "Choose a rating", &main));
        }
    };
    match (survey.status, score) {
        (SurveyStatus::Pending, Some(score)) => match csat.answer(&survey, score).await {
            Ok(answered) => Ok(answered_page(&csat, &token, &answered, "We have your rating.")),
            Err(CsatError::AlreadyAnswered) => {
                let survey = csat.survey_of_token(&token).await?;
                Ok(answered_page(&csat, &token, &survey, "You already rated this ticket."))
            }
            Err(CsatError::NotPending) => Ok(closed()),
            Err(error) => Err(error.into()),
        },
        (SurveyStatus::Pending, None) => Ok(page(StatusCode::OK, "How did we do?", &choices(&csat, &survey))),
        (SurveyStatus::Answered, _) => Ok(answered_page(&csat, &token, &survey, "You already rated this ticket.")),
        (SurveyStatus::Cancelled, _) => Ok(closed()),
    }
}

fn closed() -> HttpResponse {
    page(
        StatusCode::CONFLICT,
        "This survey is closed",
        "<p>The ticket was reopened before you rated it, so this survey no longer applies. We will ask \
         again once it is solved.</p>",
    )
}

/// `POST /csat/{token}`: the comment on an answered survey (added or replaced).
async fn comment_form(
    request: HttpRequest,
    settings: web::Data<Settings>,
    csat: web::Data<Csat>,
    token: web::Path<String>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, ApiError> {
    let survey = match csat.survey_of_token(&token).await {
        Ok(survey) => survey,
        Err(CsatError::InvalidToken) => return Ok(invalid_link()),
        Err(error) => return Err(error.into()),
    };
    // A browser says where the form was; it must be this hub's page. The key proves the form
    // came from the survey's own page.
    let foreign =
        request.headers().contains_key(header::ORIGIN) && crate::auth::same_origin(&request, &settings).is_err();
    if foreign || !csat.form_key_valid(survey.id, &form.form_key) {
        let main = "<p>This form was not sent from the rating page. Open the link from the email again.</p>";
        return Ok(page(StatusCode::FORBIDDEN, "The comment was not saved", main));
    }
    match csat.comment(&survey, &form.comment).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/csat/{}?commented=1", token.as_str())))
            .finish()),
        Err(CsatError::NotAnswered) => {
            let main = format!("<p>Please rate first.</p>\n{}", choices(&csat, &survey));
            Ok(page(StatusCode::CONFLICT, "Rate before commenting", &main))
        }
        Err(CsatError::InvalidComment(reason)) => {
            let main =
                format!("<p>The comment {}.</p>\n{}", escape(&reason), comment_form_html(&csat, &token, &survey));
            Ok(page(StatusCode::UNPROCESSABLE_ENTITY, "The comment was not saved", &main))
        }
        Err(error) => Err(error.into()),
    }
}
