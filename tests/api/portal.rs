//! What the customer portal (issue 14 item 2) asks of the API beyond tickets: a profile (name,
//! language, password), files on new tickets and messages that only those who may read them
//! download, the categories to pick from, the site's name, and deflections counted when an
//! article answered the question instead of a ticket.

use super::*;

/// Uploads `bytes` as `token`'s user; the attachment the server answered.
async fn upload(desk: &Desk, token: &str, name: &str, bytes: &[u8]) -> Value {
    let auth = format!("Bearer {token}");
    let response = desk
        .raw(
            "POST",
            &format!("/api/v1/uploads?name={name}"),
            &[("authorization", &auth), ("content-type", "text/plain")],
            Some(bytes.to_vec()),
        )
        .await;
    assert_eq!(response.status, 201, "upload: {}", response.body);
    response.body
}

/// The status of downloading `url` (an attachment's) as `token`'s user, with `query` appended.
async fn download(desk: &Desk, token: &str, url: &str, query: &str) -> u16 {
    let auth = format!("Bearer {token}");
    desk.raw("GET", &format!("{url}{query}"), &[("authorization", &auth)], None).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_change_their_name_language_and_password() {
    let desk = Desk::start().await;
    let customer = desk.login("cust@test.example").await;
    let second_session = desk.login("cust@test.example").await;

    let me = desk
        .expect(200, "PATCH", "/api/v1/me", &customer, Some(json!({"name": " Cora Customer ", "language": "es"})))
        .await;
    assert_eq!((&me["name"], &me["languages"][0]), (&json!("Cora Customer"), &json!("spa")));
    let me = desk.expect(200, "PATCH", "/api/v1/me", &customer, Some(json!({"language": "pt"}))).await;
    assert_eq!(me["languages"], json!(["por", "spa"]), "the chosen language comes first, the others stay");
    for (body, field) in [(json!({"language": "de"}), "language"), (json!({"name": "  "}), "name")] {
        let (status, refused) = desk.call("PATCH", "/api/v1/me", &customer, Some(body)).await;
        assert_invalid((status, &refused), field);
    }
    let (status, refused) = desk.call("PATCH", "/api/v1/me", &customer, Some(json!({"role": "admin"}))).await;
    assert_invalid((status, &refused), "role");
    assert_eq!(desk.expect(200, "GET", "/api/v1/me", &customer, None).await["role"], json!("customer"));

    // A wrong current password changes nothing and ends no session.
    let wrong = json!({"current_password": "not-it", "new_password": "a-new-secret"});
    let (status, refused) = desk.call("POST", "/api/v1/me/password", &customer, Some(wrong)).await;
    assert_error((status, &refused), 401, "invalid_credentials");
    desk.expect(200, "GET", "/api/v1/me", &second_session, None).await;
    let short = json!({"current_password": PASSWORD, "new_password": "short"});
    let (status, refused) = desk.call("POST", "/api/v1/me/password", &customer, Some(short)).await;
    assert_invalid((status, &refused), "new_password");

    let change = json!({"current_password": PASSWORD, "new_password": "a-new-secret"});
    desk.expect(204, "POST", "/api/v1/me/password", &customer, Some(change)).await;
    desk.expect(200, "GET", "/api/v1/me", &customer, None).await;
    let (status, _) = desk.call("GET", "/api/v1/me", &second_session, None).await;
    assert_eq!(status, 401, "the other session ended");
    let old = json!({"email": "cust@test.example", "password": PASSWORD});
    let (status, refused) = desk.server.call("POST", "/api/v1/auth/login", None, Some(old)).await;
    assert_error((status, &refused), 401, "invalid_credentials");
    let new = json!({"email": "cust@test.example", "password": "a-new-secret"});
    let (status, _) = desk.server.call("POST", "/api/v1/auth/login", None, Some(new)).await;
    assert_eq!(status, 200);
    let (status, _) = desk.server.call("PATCH", "/api/v1/me", None, Some(json!({"name": "x"}))).await;
    assert_eq!(status, 401);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_attach_files_and_download_only_what_they_may_read() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let other = desk.login("other@test.example").await;
    let category =
        desk.expect(201, "POST", "/api/v1/account/categories", &admin, Some(json!({"name": "Printers"}))).await;

    let file = upload(&desk, &customer, "jam.txt", b"paper jam at tray 2").await;
    let url = file["url"].as_str().expect("url").to_owned();
    let ticket = desk
        .create_ticket(
            &customer,
            json!({"subject": "Printer", "body": "It jams", "category_id": id_of(&category),
                   "attachments": [{"url": url, "name": "jam.txt"}]}),
        )
        .await;
    let id = id_of(&ticket);
    assert_eq!(ticket["messages"][0]["attachments"][0]["file_name"], json!("jam.txt"));
    assert_eq!(desk.ticket(&agent, id).await["category_id"], json!(id_of(&category)), "customers pick a category");

    // Someone else's upload cannot be attached, to a new ticket or a message.
    let (status, refused) = desk
        .call("POST", "/api/v1/tickets", &other, Some(json!({"subject": "Mine now", "attachments": [{"url": url}]})))
        .await;
    assert_invalid((status, &refused), "attachments");
    let (status, refused) =
        desk.call("POST", "/api/v1/tickets", &customer, Some(json!({"subject": "x", "category_id": 999_999}))).await;
    assert_eq!(status, 422, "no such category: {refused}");

    // The requester reads it (as its uploader, and through the ticket); another customer never.
    assert_eq!(download(&desk, &customer, &url, "").await, 200);
    assert_eq!(download(&desk, &customer, &url, &format!("?ticket={id}")).await, 200);
    assert_eq!(download(&desk, &other, &url, "").await, 404);
    assert_eq!(download(&desk, &other, &url, &format!("?ticket={id}")).await, 404);
    assert_eq!(download(&desk, &agent, &url, "").await, 200);

    // A file on the team's reply: the customer reads it through the ticket; one on an internal
    // note stays the team's.
    let reply_file = upload(&desk, &agent, "steps.txt", b"open tray 2").await;
    let reply_url = reply_file["url"].as_str().expect("url").to_owned();
    let note_file = upload(&desk, &agent, "internal.txt", b"printer firmware is old").await;
    let note_url = note_file["url"].as_str().expect("url").to_owned();
    let path = format!("/api/v1/tickets/{id}/messages");
    desk.expect(201, "POST", &path, &agent, Some(json!({"body": "Try this", "attachments": [{"url": reply_url}]})))
        .await;
    desk.expect(
        201,
        "POST",
        &path,
        &agent,
        Some(json!({"body": "note", "internal": true, "attachments": [{"url": note_url}]})),
    )
    .await;
    assert_eq!(download(&desk, &customer, &reply_url, &format!("?ticket={id}")).await, 200);
    assert_eq!(download(&desk, &customer, &reply_url, "").await, 404, "without the ticket that carries it");
    assert_eq!(download(&desk, &customer, &note_url, &format!("?ticket={id}")).await, 404);
    assert_eq!(download(&desk, &other, &reply_url, &format!("?ticket={id}")).await, 404);
    let (status, refused) = desk.call("GET", &format!("{reply_url}?ticket=abc"), &customer, None).await;
    assert_eq!(status, 400, "a ticket that is not a number: {refused}");

    // The customer's reply with a file of their own; anonymous uploads are refused.
    let more = upload(&desk, &customer, "photo.txt", b"tray 2 again").await;
    desk.expect(201, "POST", &path, &customer, Some(json!({"body": "Still", "channel": "web", "attachments": [more]})))
        .await;
    let anonymous =
        desk.raw("POST", "/api/v1/uploads?name=x.txt", &[("content-type", "text/plain")], Some(b"x".to_vec())).await;
    assert_eq!(anonymous.status, 401);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_reads_categories_and_the_site_name() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let billing =
        desk.expect(201, "POST", "/api/v1/account/categories", &admin, Some(json!({"name": "Billing"}))).await;
    desk.expect(
        201,
        "POST",
        "/api/v1/account/categories",
        &admin,
        Some(json!({"name": "Refunds", "parent_id": id_of(&billing)})),
    )
    .await;
    let listed = desk.expect(200, "GET", "/api/v1/account/categories", &customer, None).await;
    let paths: Vec<&str> =
        listed["items"].as_array().expect("items").iter().filter_map(|c| c["path"].as_str()).collect();
    assert_eq!(paths, vec!["Billing", "Billing / Refunds"]);
    let (status, _) = desk.server.call("GET", "/api/v1/account/categories", None, None).await;
    assert_eq!(status, 401);
    let (status, site) = desk.server.call("GET", "/api/v1/site", None, None).await;
    assert_eq!((status, &site["name"]), (200, &json!(desk.seeded.account.name)));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deflections_count_published_articles_for_customers() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        let published = super::kb::article(
            &desk,
            &admin,
            json!({"title": "Reset your password", "body": "Use the link.", "status": "published"}),
        )
        .await;
        let draft =
            super::kb::article(&desk, &admin, json!({"title": "Secret plans", "body": "Soon.", "status": "draft"}))
                .await;

        let answered = json!({"article_id": id_of(&published), "locale": "en", "query": "forgot password"});
        desk.expect(204, "POST", "/api/v1/kb/deflections", &customer, Some(answered.clone())).await;
        desk.expect(204, "POST", "/api/v1/kb/deflections", &customer, Some(answered.clone())).await;
        let (status, refused) = desk.call("POST", "/api/v1/kb/deflections", &agent, Some(answered.clone())).await;
        assert_error((status, &refused), 403, "forbidden");
        for (article, locale) in [(id_of(&draft), "en"), (id_of(&published), "es"), (999_999, "en")] {
            let body = json!({"article_id": article, "locale": locale});
            let (status, refused) = desk.call("POST", "/api/v1/kb/deflections", &customer, Some(body)).await;
            assert_error((status, &refused), 404, "not_found");
        }

        let counts = desk.expect(200, "GET", "/api/v1/kb/deflections", &agent, None).await;
        assert_eq!(
            counts["items"],
            json!([{"article_id": id_of(&published), "locale": "en", "title": "Reset your password", "count": 2}])
        );
        let old = desk.expect(200, "GET", "/api/v1/kb/deflections?from=2020-01-01&to=2020-01-31", &agent, None).await;
        assert_eq!(old["items"], json!([]), "outside the period");
        let (status, refused) = desk.call("GET", "/api/v1/kb/deflections", &customer, None).await;
        assert_error((status, &refused), 403, "forbidden");
        let (status, refused) = desk.call("GET", "/api/v1/kb/deflections?from=tomorrow", &agent, None).await;
        assert_eq!(status, 400, "{refused}");
        desk.stop().await;
    }
}
