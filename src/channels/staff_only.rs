//! The gate in front of both sandboxes' pages and endpoints: they are staff tools (write as any
//! customer, read every reply the hub sent), so each needs a logged-in agent, supervisor or
//! admin, by session cookie or bearer token. The JSON endpoints take the [`Caller`] extractor and
//! [`Caller::require_staff`] like the API (401 / 403 with the API's error shape); the HTML pages
//! answer with a short page that says to log in first (or that customers may not), linking to
//! the console's login.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use switchboard_actors::domain::User;

use crate::error::ApiError;
use crate::sessions::Sessions;

/// The staff member behind `request`'s session, or the page to show instead.
pub async fn staff_or_page(sessions: &Sessions, request: &HttpRequest, tool: &str) -> Result<User, HttpResponse> {
    let refusal = |status: actix_web::http::StatusCode, title: &str, text: String| {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(refusal_page(title, &text))
    };
    let token = crate::auth::request_token(request).map(|(token, _)| token);
    match sessions.authenticate(token).await {
        Ok(user) if user.role.is_staff() => Ok(user),
        Ok(_) => Err(refusal(
            actix_web::http::StatusCode::FORBIDDEN,
            "Staff only",
            format!(
                "The {tool} is a tool for agents, supervisors and admins trying the product; customers cannot use it."
            ),
        )),
        Err(ApiError::Unauthenticated) => Err(refusal(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "Log in first",
            format!(
                "The {tool} is a staff tool. <a href=\"/agent\">Log in to the console</a> as an agent, supervisor or \
                 admin, then come back to this page (keep the console open in another tab)."
            ),
        )),
        Err(error) => {
            let status = actix_web::ResponseError::status_code(&error);
            tracing::warn!(%error, "sandbox page: the session could not be checked");
            Err(refusal(
                status,
                "Try again",
                "The hub could not check your session just now; reload the page.".to_owned(),
            ))
        }
    }
}

fn refusal_page(title: &str, html_text: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title} — Switchboard sandbox</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;\
         color:#1a1a1a}}a{{color:#1d4ed8}}</style></head>\n<body><main><h1>{title}</h1><p>{html_text}</p>\
         </main></body></html>\n"
    )
}
