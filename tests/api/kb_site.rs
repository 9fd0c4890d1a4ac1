//! The public knowledge base as a browser without JavaScript (or a search engine) sees it:
//! server-rendered HTML with the site account's published articles only, everything escaped,
//! `hreflang` between an article's locales, a 301 from an old slug, search, the sitemap, the
//! feedback form's POST, and the landing page at `/` (the console for signed-in staff).

use super::kb::article;
use super::*;

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    http_client();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn page(desk: &Desk, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let response = browser().get(desk.server.url(path)).header("accept-language", "en").send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.expect("body"), headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_center_renders_published_articles_as_escaped_html_with_locales_and_redirects() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let category = json!({"name": "Sign <in>", "slug": "sign-in"});
    let category = desk.expect(201, "POST", "/api/v1/kb/categories", &admin, Some(category)).await;
    let body = "Open **Settings**.\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\nThe word kumquat is here.";
    let english = json!({"title": "Reset <b>password</b>", "body": body, "status": "published", "slug": "reset-password", "category_id": id_of(&category)});
    let english = article(&desk, &admin, english).await;
    let spanish = json!({"article_id": id_of(&english), "locale": "es", "title": "Restablecer contraseña", "body": "Abre **Ajustes**.", "status": "published", "slug": "restablecer-contrasena"});
    article(&desk, &admin, spanish).await;
    article(
        &desk,
        &admin,
        json!({"title": "Unreleased kumquat plan", "slug": "unreleased", "category_id": id_of(&category)}),
    )
    .await;

    let (status, html, headers) = page(&desk, "/help").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().expect("type").starts_with("text/html"));
    assert!(headers["content-security-policy"].to_str().expect("csp").contains("default-src 'none'"), "no script runs");
    assert!(html.contains("Sign &lt;in&gt;") && !html.contains("Sign <in>"), "names are escaped");
    assert!(html.contains("href=\"/help/sign-in?lang=en\""));
    assert!(!html.contains("Unreleased"), "drafts never reach the site");
    assert!(!html.contains("<script"), "the site sends no script");

    let (status, html, _) = page(&desk, "/help/articles/reset-password").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<h1>Reset &lt;b&gt;password&lt;/b&gt;</h1>"), "the title is text: {html}");
    assert!(html.contains("<strong>Settings</strong>"), "the body is markdown");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
            || html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script") && !html.contains("javascript:"), "{html}");
    assert!(
        html.contains("hreflang=\"es\" href=\"http://") && html.contains("/help/articles/restablecer-contrasena\""),
        "{html}"
    );
    assert!(html.contains("rel=\"canonical\""), "{html}");
    assert!(
        html.contains("action=\"/help/articles/reset-password/feedback\""),
        "the feedback form posts without script"
    );
    let (_, spanish_page, _) = page(&desk, "/help/articles/restablecer-contrasena").await;
    assert!(
        spanish_page.contains("<html lang=\"es\">") && spanish_page.contains("¿Te resultó útil?"),
        "the site speaks the article's language"
    );
    assert!(spanish_page.contains("hreflang=\"en\""));

    let (status, _, _) = page(&desk, "/help/articles/unreleased").await;
    assert_eq!(status, 404, "a draft is not there for the public");
    let (status, _, _) = page(&desk, "/help/no-such-category").await;
    assert_eq!(status, 404);

    // Renamed: the old address answers 301 with the new one.
    let path = format!("/api/v1/kb/articles/{}", id_of(&english));
    desk.expect(200, "PATCH", &path, &admin, Some(json!({"locale": "en", "slug": "reset-your-password"}))).await;
    let (status, _, headers) = page(&desk, "/help/articles/reset-password").await;
    assert_eq!(status, 301);
    assert_eq!(headers["location"], "/help/articles/reset-your-password");

    let (status, category_page, _) = page(&desk, "/help/sign-in").await;
    assert_eq!(status, 200);
    assert!(category_page.contains("/help/articles/reset-your-password") && !category_page.contains("Unreleased"));

    // Search finds a word in the body, of published articles only; the query is echoed escaped.
    let (status, results, _) = page(&desk, "/help/search?q=kumquat").await;
    assert_eq!(status, 200);
    assert!(results.contains("/help/articles/reset-your-password") && !results.contains("unreleased"), "{results}");
    let (_, hostile, _) = page(&desk, "/help/search?q=%3Cimg%20src%3Dx%3E").await;
    assert!(hostile.contains("&lt;img src=x&gt;") && !hostile.contains("<img src=x>"), "{hostile}");

    let (status, sitemap, headers) = page(&desk, "/sitemap.xml").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().expect("type").starts_with("application/xml"));
    assert!(sitemap.contains("/help/articles/reset-your-password</loc>") && sitemap.contains("hreflang=\"es\""));
    assert!(!sitemap.contains("unreleased") && !sitemap.contains("/help/articles/reset-password<"), "{sitemap}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feedback_form_posts_without_script_and_is_counted() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let published = article(&desk, &admin, json!({"title": "Pay an invoice", "status": "published"})).await;
    let form = |helpful: &str, comment: &str| {
        browser()
            .post(desk.server.url("/help/articles/pay-an-invoice/feedback"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("helpful={helpful}&comment={}", encoded(comment)))
            .send()
    };
    let answered = form("no", "The button is missing").await.expect("post");
    assert_eq!(answered.status().as_u16(), 303);
    assert_eq!(answered.headers()["location"], "/help/articles/pay-an-invoice?feedback=thanks#feedback");
    assert_eq!(form("yes", "").await.expect("post").status().as_u16(), 303);
    assert_eq!(form("maybe", "").await.expect("post").status().as_u16(), 422, "only yes or no");
    let (_, thanks, _) = page(&desk, "/help/articles/pay-an-invoice?feedback=thanks").await;
    assert!(thanks.contains("Thank you for your feedback."));
    let counted = desk.expect(200, "GET", &format!("/api/v1/kb/articles/{}", id_of(&published)), &admin, None).await;
    assert_eq!((&counted["helpful_count"], &counted["unhelpful_count"]), (&json!(1), &json!(1)));
    let missing = browser()
        .post(desk.server.url("/help/articles/nope/feedback"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("helpful=yes")
        .send()
        .await;
    assert_eq!(missing.expect("post").status().as_u16(), 404);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_page_is_public_and_staff_still_get_the_console() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    desk.expect(201, "POST", "/api/v1/kb/categories", &admin, Some(json!({"name": "Orders"}))).await;
    let (status, html, _) = page(&desk, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Test</h1>"), "the account's name: {html}");
    assert!(
        html.contains("action=\"/help/search\"") && html.contains("href=\"/portal\"") && html.contains("/help/orders")
    );
    assert!(html.contains("href=\"/agent\""), "staff find the console");
    let spanish =
        browser().get(desk.server.url("/")).header("accept-language", "es-ES,es;q=0.9").send().await.expect("get");
    assert!(spanish.text().await.expect("body").contains("Contáctanos"), "the browser's language");
    let console = browser().get(desk.server.url("/")).bearer_auth(&admin).send().await.expect("get");
    assert!(console.text().await.expect("body").contains("src=\"/app.js\""), "signed-in staff get the console at /");
    let (status, agent_console, _) = page(&desk, "/agent").await;
    assert_eq!(status, 200);
    assert!(agent_console.contains("src=\"/app.js\""), "the console lives at /agent for everyone");
    let (status, _, headers) = page(&desk, "/help/").await;
    assert_eq!((status, &headers["location"]), (301, &reqwest::header::HeaderValue::from_static("/help")));
    desk.stop().await;
}
