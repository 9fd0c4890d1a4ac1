//! The knowledge base (issue 14 item 3): admins and `kb_editor`s write categories and articles,
//! staff read drafts, customers only published articles; slugs, locales and nesting are checked
//! with stable codes; suggestions and feedback are public and see published articles only; a
//! resolved ticket becomes a draft. The public site's HTML is in `kb_site.rs`.

use super::*;

async fn anonymous(desk: &Desk, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    desk.server.call(method, path, None, body).await
}

pub(crate) async fn article(desk: &Desk, token: &str, body: Value) -> Value {
    desk.expect(201, "POST", "/api/v1/kb/articles", token, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_write_staff_read_drafts_and_customers_only_published_articles() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;

        // Writing needs an admin or kb_editor: the agent is refused until granted.
        let billing =
            desk.expect(201, "POST", "/api/v1/kb/categories", &admin, Some(json!({"name": "Billing & plans"}))).await;
        assert_eq!(
            (&billing["slug"], &billing["parent_id"]),
            (&json!("billing-plans"), &Value::Null),
            "made from the name"
        );
        let body = json!({"title": "Refunds", "body": "Refunds take **3 days**.", "status": "published", "category_id": id_of(&billing)});
        let (status, refused) = desk.call("POST", "/api/v1/kb/articles", &agent, Some(body.clone())).await;
        assert_error((status, &refused), 403, "forbidden");
        let (status, refused) =
            desk.call("POST", "/api/v1/kb/categories", &customer, Some(json!({"name": "Mine"}))).await;
        assert_error((status, &refused), 403, "forbidden");
        assert_eq!(desk.expect(200, "GET", "/api/v1/kb/access", &agent, None).await, json!({"edit": false}));
        let agent_id = desk.seeded.agent.id;
        let (status, refused) = desk.call("PUT", &format!("/api/v1/kb/editors/{agent_id}"), &agent, None).await;
        assert_error((status, &refused), 403, "forbidden");
        let customer_id = desk.seeded.customer.id;
        let (status, refused) = desk.call("PUT", &format!("/api/v1/kb/editors/{customer_id}"), &admin, None).await;
        assert_invalid((status, &refused), "user_id");
        desk.expect(204, "PUT", &format!("/api/v1/kb/editors/{agent_id}"), &admin, None).await;
        assert_eq!(desk.expect(200, "GET", "/api/v1/kb/editors", &admin, None).await["items"], json!([agent_id]));
        assert_eq!(desk.expect(200, "GET", "/api/v1/kb/access", &agent, None).await, json!({"edit": true}));
        let refunds = article(&desk, &agent, body).await;
        let id = id_of(&refunds);
        assert_eq!(
            (&refunds["slug"], &refunds["locale"], &refunds["status"]),
            (&json!("refunds"), &json!("en"), &json!("published"))
        );
        assert_eq!(refunds["author_id"], json!(agent_id));

        // The editor's preview is the help center's renderer: typed HTML stays text.
        let preview = json!({"body": "## Steps\n\n<img src=x onerror=alert(1)> **bold**"});
        let rendered = desk.expect(200, "POST", "/api/v1/kb/preview", &agent, Some(preview.clone())).await;
        let rendered = rendered["html"].as_str().expect("html");
        assert!(rendered.contains("<h2>Steps</h2>") && rendered.contains("<strong>bold</strong>"), "{rendered}");
        assert!(rendered.contains("&lt;img src=x onerror=alert(1)&gt;") && !rendered.contains("<img"), "{rendered}");
        let (status, refused) = desk.call("POST", "/api/v1/kb/preview", &customer, Some(preview)).await;
        assert_error((status, &refused), 403, "forbidden");

        // A Spanish translation shares the id; a draft stays with staff.
        let spanish = json!({"article_id": id, "locale": "ES", "title": "Reembolsos", "body": "Tardan 3 días.", "status": "published"});
        let spanish = article(&desk, &agent, spanish).await;
        assert_eq!(
            (id_of(&spanish), &spanish["locale"], &spanish["category_id"]),
            (id, &json!("es"), &json!(id_of(&billing)))
        );
        let draft = article(&desk, &admin, json!({"title": "Secret plans", "body": "Not yet."})).await;
        assert_eq!(draft["status"], "draft", "a draft unless told");
        let draft_path = format!("/api/v1/kb/articles/{}", id_of(&draft));
        desk.expect(200, "GET", &draft_path, &agent, None).await;
        let (status, hidden) = desk.call("GET", &draft_path, &customer, None).await;
        assert_error((status, &hidden), 404, "not_found");
        let listed = desk.expect(200, "GET", "/api/v1/kb/articles", &customer, None).await;
        let mut titles: Vec<&str> =
            listed["items"].as_array().expect("items").iter().map(|a| a["title"].as_str().expect("title")).collect();
        titles.sort_unstable();
        assert_eq!(titles, ["Reembolsos", "Refunds"], "customers read published translations only");
        let (status, refused) = desk.call("GET", "/api/v1/kb/articles?status=draft", &customer, None).await;
        assert_error((status, &refused), 403, "forbidden");
        let staff_list = desk.expect(200, "GET", "/api/v1/kb/articles?limit=2", &agent, None).await;
        assert_eq!(staff_list["items"].as_array().expect("items").len(), 2);
        let cursor = staff_list["next"].as_str().expect("a next page");
        let rest = desk.expect(200, "GET", &format!("/api/v1/kb/articles?limit=2&cursor={cursor}"), &agent, None).await;
        assert_eq!((rest["items"].as_array().expect("items").len(), &rest["next"]), (1, &Value::Null));
        let (status, _) = anonymous(&desk, "GET", "/api/v1/kb/articles", None).await;
        assert_eq!(status, 401, "the API's article list needs a session; the public site does not");
        let es = desk.expect(200, "GET", &format!("/api/v1/kb/articles/{id}?locale=es"), &customer, None).await;
        assert_eq!(es["title"], "Reembolsos");

        // Changing: the slug moves, the category goes for every locale; then removal.
        let path = format!("/api/v1/kb/articles/{id}");
        let changed = desk
            .expect(
                200,
                "PATCH",
                &path,
                &agent,
                Some(json!({"locale": "en", "slug": "refund-times", "category_id": null})),
            )
            .await;
        assert_eq!((&changed["slug"], &changed["category_id"]), (&json!("refund-times"), &Value::Null));
        let (status, refused) =
            desk.call("PATCH", &path, &customer, Some(json!({"locale": "en", "title": "Mine"}))).await;
        assert_error((status, &refused), 403, "forbidden");
        desk.expect(204, "DELETE", &format!("{path}?locale=es"), &agent, None).await;
        let left = desk.expect(200, "GET", &path, &agent, None).await;
        assert_eq!(left["translations"].as_array().expect("locales").len(), 1);
        desk.expect(204, "DELETE", &format!("/api/v1/kb/editors/{agent_id}"), &admin, None).await;
        let (status, refused) = desk.call("DELETE", &path, &agent, None).await;
        assert_error((status, &refused), 403, "forbidden");
        desk.expect(204, "DELETE", &path, &admin, None).await;
        let (status, gone) = desk.call("GET", &path, &admin, None).await;
        assert_error((status, &gone), 404, "not_found");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slugs_locales_and_nesting_are_checked_with_stable_codes() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let categories = "/api/v1/kb/categories";
    let top = desk.expect(201, "POST", categories, &admin, Some(json!({"name": "Account", "slug": "account"}))).await;
    let child = json!({"name": "Security", "parent_id": id_of(&top)});
    let child = desk.expect(201, "POST", categories, &admin, Some(child)).await;
    for (body, field) in [
        (json!({"name": "Deep", "parent_id": id_of(&child)}), "parent_id"),
        (json!({"name": "Nowhere", "parent_id": 999_999}), "parent_id"),
        (json!({"name": "Search", "slug": "search"}), "slug"),
        (json!({"name": "Bad", "slug": "Not a slug!"}), "slug"),
        (json!({"name": "   "}), "name"),
    ] {
        let (status, refused) = desk.call("POST", categories, &admin, Some(body.clone())).await;
        assert_invalid((status, &refused), field);
    }
    let (status, refused) =
        desk.call("POST", categories, &admin, Some(json!({"name": "Account again", "slug": "account"}))).await;
    assert_error((status, &refused), 409, "slug_taken");
    let (status, refused) = desk
        .call("PATCH", &format!("{categories}/{}", id_of(&top)), &admin, Some(json!({"parent_id": id_of(&child)})))
        .await;
    assert_invalid((status, &refused), "parent_id");
    let (status, refused) = desk.call("POST", categories, &admin, Some(json!({"name": "X", "colour": "red"}))).await;
    assert_invalid((status, &refused), "colour");

    let first = article(&desk, &admin, json!({"title": "Two-factor sign in", "category_id": id_of(&child)})).await;
    assert_eq!(first["slug"], "two-factor-sign-in");
    for (body, field) in [
        (json!({"title": "A", "locale": "english"}), "locale"),
        (json!({"title": "A", "slug": "-bad-"}), "slug"),
        (json!({"title": ""}), "title"),
        (json!({"title": "A", "category_id": 999_999}), "category_id"),
        (json!({"title": "A", "related_ids": [999_999]}), "related_ids"),
        (json!({"title": "A", "body": "x".repeat(100_001)}), "body"),
    ] {
        let (status, refused) = desk.call("POST", "/api/v1/kb/articles", &admin, Some(body)).await;
        assert_invalid((status, &refused), field);
    }
    let (status, refused) =
        desk.call("POST", "/api/v1/kb/articles", &admin, Some(json!({"title": "Two-factor sign in"}))).await;
    assert_error((status, &refused), 409, "slug_taken");
    let twice = json!({"title": "Again", "article_id": id_of(&first), "locale": "en"});
    let (status, refused) = desk.call("POST", "/api/v1/kb/articles", &admin, Some(twice)).await;
    assert_error((status, &refused), 409, "locale_exists");
    let (status, refused) = desk.call("DELETE", &format!("{categories}/{}", id_of(&top)), &admin, None).await;
    assert_error((status, &refused), 409, "category_not_empty");
    let (status, refused) = desk.call("GET", "/api/v1/kb/articles?cursor=nonsense", &admin, None).await;
    assert_error((status, &refused), 400, "invalid_query");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_and_feedback_are_public_and_see_published_articles_only() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let published = json!({"title": "Reset your password", "body": "Use the emailed link within 30 minutes.", "status": "published"});
    let published = article(&desk, &admin, published).await;
    article(&desk, &admin, json!({"title": "Password policy draft", "body": "Internal."})).await;

    let (status, found) = anonymous(&desk, "GET", "/api/v1/kb/suggest?q=pass", None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        found["items"].as_array().expect("items").len(),
        1,
        "a prefix finds it; the draft stays hidden: {found}"
    );
    assert_eq!(found["items"][0]["url"], "/help/articles/reset-your-password");
    let (_, typo) = anonymous(&desk, "GET", "/api/v1/kb/suggest?q=pasword", None).await;
    assert_eq!(typo["items"][0]["id"], published["id"], "a short query forgives a typo: {typo}");
    let (_, body_word) = anonymous(&desk, "GET", "/api/v1/kb/suggest?q=emailed%20link", None).await;
    assert_eq!(body_word["items"][0]["id"], published["id"]);
    let sentence = encoded("I forgot my password, how do I reset it before my trip?");
    let (_, sentence) = anonymous(&desk, "GET", &format!("/api/v1/kb/suggest?q={sentence}"), None).await;
    assert_eq!(sentence["items"][0]["id"], published["id"], "a sentence finds it by its longer words: {sentence}");
    assert_eq!(sentence["items"].as_array().expect("items").len(), 1, "the draft stays hidden: {sentence}");
    let (_, unrelated) =
        anonymous(&desk, "GET", &format!("/api/v1/kb/suggest?q={}", encoded("my parcel never came")), None).await;
    assert_eq!(unrelated["items"], json!([]), "no longer word in common, no suggestion");
    let (_, nothing) = anonymous(&desk, "GET", "/api/v1/kb/suggest?q=%22%2A%3A", None).await;
    assert_eq!(nothing["items"], json!([]), "punctuation alone finds nothing and breaks nothing");
    let (status, refused) = anonymous(&desk, "GET", "/api/v1/kb/suggest?q=x&limit=50", None).await;
    assert_invalid((status, &refused), "limit");
    let (status, refused) = anonymous(&desk, "GET", "/api/v1/kb/suggest?q=x&sort=new", None).await;
    assert_error((status, &refused), 400, "invalid_query");

    let feedback = format!("/api/v1/kb/articles/{}/feedback", id_of(&published));
    for helpful in [true, false, true] {
        let (status, _) =
            anonymous(&desk, "POST", &feedback, Some(json!({"locale": "en", "helpful": helpful, "comment": "ok"})))
                .await;
        assert_eq!(status, 204);
    }
    let (status, refused) = anonymous(
        &desk,
        "POST",
        &feedback,
        Some(json!({"locale": "en", "helpful": true, "comment": "x".repeat(1001)})),
    )
    .await;
    assert_invalid((status, &refused), "comment");
    let (status, refused) = anonymous(&desk, "POST", &feedback, Some(json!({"locale": "es", "helpful": true}))).await;
    assert_error((status, &refused), 404, "not_found");
    let (status, refused) = anonymous(&desk, "POST", &feedback, Some(json!({"locale": "en", "helpful": true}))).await;
    assert_error((status, &refused), 429, "rate_limited");
    let counted = desk.expect(200, "GET", &format!("/api/v1/kb/articles/{}", id_of(&published)), &admin, None).await;
    assert_eq!(
        (&counted["helpful_count"], &counted["unhelpful_count"]),
        (&json!(2), &json!(1)),
        "the refused answers are not counted"
    );
    let draft_feedback = "/api/v1/kb/articles/999999/feedback";
    let (status, refused) =
        anonymous(&desk, "POST", draft_feedback, Some(json!({"locale": "en", "helpful": true}))).await;
    assert_error((status, &refused), 404, "not_found");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_ticket_becomes_a_draft_article_without_its_notes() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let ticket = desk.ticket_for_customer(&agent, "Printer offline").await;
    let id = id_of(&ticket);
    let to_article = format!("/api/v1/tickets/{id}/to-article");
    let (status, refused) = desk.call("POST", &to_article, &admin, Some(json!({}))).await;
    assert_error((status, &refused), 409, "ticket_not_resolved");
    let messages = format!("/api/v1/tickets/{id}/messages");
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "Customer owes us lunch", "internal": true})))
        .await;
    desk.expect(
        201,
        "POST",
        &messages,
        &agent,
        Some(json!({"body": "Turn it off and on.", "then_status": "resolved"})),
    )
    .await;
    let (status, refused) = desk.call("POST", &to_article, &agent, Some(json!({}))).await;
    assert_error((status, &refused), 403, "forbidden");
    let (status, refused) = desk.call("POST", &to_article, &customer, Some(json!({}))).await;
    assert_error((status, &refused), 403, "forbidden");
    let draft = desk.expect(201, "POST", &to_article, &admin, Some(json!({"locale": "es"}))).await;
    assert_eq!(
        (&draft["status"], &draft["locale"], &draft["source_ticket_id"]),
        (&json!("draft"), &json!("es"), &json!(id))
    );
    assert_eq!(draft["title"], "Printer offline");
    let body = draft["body"].as_str().expect("body");
    assert!(body.contains("Please help.") && body.contains("Turn it off and on."), "{body}");
    assert!(!body.contains("lunch"), "internal notes stay out: {body}");
    let (status, missing) = desk.call("POST", "/api/v1/tickets/999999/to-article", &admin, Some(json!({}))).await;
    assert_error((status, &missing), 404, "not_found");
    desk.stop().await;
}
