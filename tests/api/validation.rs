//! Refusals: malformed bodies, missing fields, limits, unknown ids and routes — each a clear error that changes nothing.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_and_creates_nothing() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let auth = format!("Bearer {agent}");
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    for body in [&b"{\"subject\": \"Hi\""[..], b"not json", b"{\"subject\": \"Hi\",}"] {
        let response = desk.raw("POST", "/api/v1/tickets", &headers, Some(body.to_vec())).await;
        assert_error((response.status, &response.body), 400, "malformed_json");
    }
    assert_eq!(desk.ticket_count(&agent).await, 0);

    let ticket = desk.ticket_for_customer(&agent, "Broken").await;
    let before = desk.log_state(&agent, id_of(&ticket)).await;
    let path = format!("/api/v1/tickets/{}", id_of(&ticket));
    let response = desk.raw("PATCH", &path, &headers, Some(b"{\"status\": ".to_vec())).await;
    assert_error((response.status, &response.body), 400, "malformed_json");
    assert_eq!(desk.log_state(&agent, id_of(&ticket)).await, before);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_and_wrong_types_are_422_naming_a_field() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let customer = desk.seeded.customer.id;

    let (status, body) = desk.call("POST", "/api/v1/tickets", &agent, Some(json!({"requester_id": customer}))).await;
    assert_invalid((status, &body), "subject");
    let (status, body) =
        desk.call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": 42, "requester_id": customer}))).await;
    assert_invalid((status, &body), "subject");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/tickets",
            &agent,
            Some(json!({"subject": "Hi", "requester_id": customer, "tags": ["ok", 7]})),
        )
        .await;
    assert_invalid((status, &body), "tags[1]");
    let (status, body) = desk
        .call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": "Hi", "requester_id": customer, "colour": 1})))
        .await;
    assert_invalid((status, &body), "colour");
    let (status, body) = desk.call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": "Hi"}))).await;
    assert_invalid((status, &body), "requester_id");
    assert_eq!(desk.ticket_count(&agent).await, 0);

    let users = desk.users(&admin).await.len();
    let (status, body) =
        desk.call("POST", "/api/v1/users", &admin, Some(json!({"email": "new@test.example", "role": "agent"}))).await;
    assert_invalid((status, &body), "name");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/users",
            &admin,
            Some(json!({"email": "new@test.example", "name": "New", "role": "agent", "capacity": "lots"})),
        )
        .await;
    assert_invalid((status, &body), "capacity");
    for (role, company) in [("customer", 999_999), ("agent", 1)] {
        let (status, body) = desk
            .call(
                "POST",
                "/api/v1/users",
                &admin,
                Some(json!({
                    "email": "new@test.example", "name": "New", "role": role,
                    "password": PASSWORD, "company_id": company
                })),
            )
            .await;
        assert_invalid((status, &body), "company_id");
    }
    assert_eq!(desk.users(&admin).await.len(), users);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_subject_is_422_naming_subject() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.seeded.customer.id;
    for subject in ["", "   "] {
        let (status, body) = desk
            .call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": subject, "requester_id": customer})))
            .await;
        assert_invalid((status, &body), "subject");
    }
    assert_eq!(desk.ticket_count(&agent).await, 0);

    let ticket = desk.ticket_for_customer(&agent, "Keep me").await;
    let id = id_of(&ticket);
    let before = desk.log_state(&agent, id).await;
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/tickets/{id}"), &agent, Some(json!({"subject": " "}))).await;
    assert_invalid((status, &body), "subject");
    assert_eq!(desk.log_state(&agent, id).await, before);
    assert_eq!(desk.ticket(&agent, id).await["subject"], json!("Keep me"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413() {
    let desk = Desk::start_with(|settings| settings.server.max_body_bytes = 1024).await;
    let (_, agent) = desk.staff().await;
    let customer = desk.seeded.customer.id;
    let big = "x".repeat(2000);
    let (status, body) = desk
        .call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": "Big", "body": big, "requester_id": customer})))
        .await;
    assert_error((status, &body), 413, "payload_too_large");
    assert_eq!(desk.ticket_count(&agent).await, 0);

    let ticket = desk.ticket_for_customer(&agent, "Small").await;
    let id = id_of(&ticket);
    let before = desk.log_state(&agent, id).await;
    let (status, body) =
        desk.call("POST", &format!("/api/v1/tickets/{id}/messages"), &agent, Some(json!({"body": big}))).await;
    assert_error((status, &body), 413, "payload_too_large");
    assert_eq!(desk.log_state(&agent, id).await, before);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_non_numeric_ticket_ids_are_404() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    for (method, path, body) in [
        ("GET", "/api/v1/tickets/999999", None),
        ("GET", "/api/v1/tickets/999999/events", None),
        ("PATCH", "/api/v1/tickets/999999", Some(json!({"status": "open"}))),
        ("POST", "/api/v1/tickets/999999/messages", Some(json!({"body": "hello"}))),
        ("GET", "/api/v1/tickets/abc", None),
        ("PATCH", "/api/v1/tickets/abc", Some(json!({"status": "open"}))),
        ("GET", "/api/v1/tickets/abc/events", None),
    ] {
        let (status, response) = desk.call(method, path, &agent, body).await;
        assert_error((status, &response), 404, "not_found");
    }
    assert_eq!(desk.ticket_count(&agent).await, 0);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_status_is_422_and_changes_nothing() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Status").await);
    let before = desk.log_state(&agent, id).await;
    // Valid changes in the same request must not be applied either.
    let (status, body) = desk
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            &agent,
            Some(json!({"status": "on_fire", "add_tags": ["vip"], "urgency": "high"})),
        )
        .await;
    assert_invalid((status, &body), "status");
    assert_eq!(desk.log_state(&agent, id).await, before);
    let ticket = desk.ticket(&agent, id).await;
    assert_eq!(ticket["status"], json!("new"));
    assert_eq!(ticket["tags"], json!([]));
    assert_eq!(ticket["urgency"], json!("medium"));

    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/tickets/{id}"), &agent, Some(json!({"urgency": "extreme"}))).await;
    assert_error((status, &body), 422, "validation_failed");
    assert_eq!(desk.log_state(&agent, id).await, before);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_expected_seq_is_409_and_changes_nothing() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Race").await);
    let (seq, count) = desk.log_state(&agent, id).await;
    assert_eq!((seq, count), (2, 2), "created + first message");

    for stale in [seq - 1, seq + 1] {
        let (status, body) = desk
            .call(
                "PATCH",
                &format!("/api/v1/tickets/{id}"),
                &agent,
                Some(json!({"status": "open", "expected_seq": stale})),
            )
            .await;
        assert_error((status, &body), 409, "stale_seq");
        let (status, body) = desk
            .call(
                "POST",
                &format!("/api/v1/tickets/{id}/messages"),
                &agent,
                Some(json!({"body": "Hello", "expected_seq": stale})),
            )
            .await;
        assert_error((status, &body), 409, "stale_seq");
    }
    assert_eq!(desk.log_state(&agent, id).await, (seq, count));

    let changed = desk.patch(&agent, id, json!({"status": "open", "expected_seq": seq})).await;
    assert_eq!(changed["ticket"]["seq"], json!(seq + 1));
    assert_eq!(changed["ticket"]["status"], json!("open"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_email_is_409_email_taken() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let users = desk.users(&admin).await.len();
    for email in ["agent@test.example", "AGENT@test.example"] {
        let (status, body) = desk
            .call(
                "POST",
                "/api/v1/users",
                &admin,
                Some(json!({"email": email, "name": "Dup", "role": "agent", "password": PASSWORD})),
            )
            .await;
        assert_error((status, &body), 409, "email_taken");
    }
    assert_eq!(desk.users(&admin).await.len(), users);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_cannot_create_users() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let users = desk.users(&admin).await.len();
    let new_user = json!({"email": "sneaky@test.example", "name": "Sneaky", "role": "admin", "password": PASSWORD});
    let (status, body) = desk.call("POST", "/api/v1/users", &agent, Some(new_user.clone())).await;
    assert_error((status, &body), 403, "forbidden");
    let supervisor = desk.login("sup@test.example").await;
    let (status, body) = desk.call("POST", "/api/v1/users", &supervisor, Some(new_user)).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk.call("POST", "/api/v1/teams", &agent, Some(json!({"name": "Rogue"}))).await;
    assert_error((status, &body), 403, "forbidden");
    assert_eq!(desk.users(&admin).await.len(), users);
    let (status, body) = desk
        .server
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": "sneaky@test.example", "password": PASSWORD})))
        .await;
    assert_error((status, &body), 401, "invalid_credentials");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_routes_are_404_with_an_error_body() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    for (method, path) in [("GET", "/api/v1/nope"), ("POST", "/api/v1/tickets/1/frobnicate"), ("GET", "/api/v1/")] {
        let (status, body) = desk.call(method, path, &agent, None).await;
        assert_error((status, &body), 404, "not_found");
    }
    let (status, body) = desk.server.call("GET", "/api/v1/nope", None, None).await;
    assert_error((status, &body), 404, "not_found");
    desk.stop().await;
}

// 3. The ticket flow of an agent

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_query_parameters_are_400_naming_them_on_every_get_endpoint() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let ticket = desk.ticket_for_customer(&agent, "Printer").await;
    let events = format!("/api/v1/tickets/{}/events", id_of(&ticket));
    let cases = [
        ("/api/v1/tickets?urgency=critical", "urgency", "`status`"),
        ("/api/v1/tickets?status=open&Status=open", "Status", "`status`"),
        ("/api/v1/users?x=1", "x", "`role`"),
        (&format!("{events}?after=0&since=1"), "since", "`after`"),
        ("/api/v1/teams?page=2", "page", "takes no query parameters"),
        ("/api/v1/companies?name=acme", "name", "takes no query parameters"),
        ("/api/v1/canned-responses?q=hi", "q", "takes no query parameters"),
        ("/api/v1/sla/risk?team=1", "team", "takes no query parameters"),
        ("/api/v1/whatsapp/conversations?limit=5", "limit", "takes no query parameters"),
        ("/api/v1/whatsapp/templates?status=approved", "status", "takes no query parameters"),
        ("/api/v1/whatsapp/numbers?verbose=1", "verbose", "takes no query parameters"),
        ("/api/v1/views?scope=team", "scope", "takes no query parameters"),
        (&format!("/api/v1/tickets/{}?expand=all", id_of(&ticket)), "expand", "takes no query parameters"),
        (&format!("/api/v1/tickets/{}/draft?device=2", id_of(&ticket)), "device", "takes no query parameters"),
        ("/api/v1/me?fields=name", "fields", "takes no query parameters"),
        (&format!("/api/v1/users/{}?full=1", desk.seeded.agent.id), "full", "takes no query parameters"),
        ("/api/v1/account/config?section=statuses", "section", "takes no query parameters"),
        ("/api/v1/account/sla-policy?v=2", "v", "takes no query parameters"),
        ("/api/v1/account/channel-secrets?reveal=1", "reveal", "takes no query parameters"),
        ("/api/v1/media/abc?download=1", "download", "`ticket`"),
    ];
    for (path, parameter, known) in cases {
        let (status, body) = desk.call("GET", path, &admin, None).await;
        assert_error((status, &body), 400, "invalid_query");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("unknown query parameter `{parameter}`; ")), "{path}: {message}");
        assert!(message.contains(known), "{path}: {message}");
    }

    // Known parameters still work, and other bad values keep their own errors.
    for path in [
        "/api/v1/tickets?status=open&category=new,open&priority=low&assignee=none&sort=-updated_at&limit=10",
        "/api/v1/users?role=agent",
        &format!("{events}?after=0&limit=10"),
        "/api/v1/teams",
        "/api/v1/companies",
        "/api/v1/canned-responses",
        "/api/v1/sla/risk",
        "/api/v1/whatsapp/conversations",
        "/api/v1/whatsapp/templates",
        "/api/v1/views",
        &format!("/api/v1/tickets/{}", id_of(&ticket)),
        "/api/v1/me",
        "/api/v1/account/config",
    ] {
        let (status, body) = desk.call("GET", path, &admin, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = desk.call("GET", "/api/v1/tickets?limit=many", &agent, None).await;
    assert_error((status, &body), 400, "invalid_query");
    assert!(body["message"].as_str().unwrap_or_default().starts_with("invalid query string: "), "{body}");
    desk.stop().await;
}
