//! People, teams, tokens, and the operations endpoints.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_and_change_users_and_teams() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;

    let created = desk.create_user(&admin, json!({"email": "Zoe@Test.Example", "name": "Zoe", "role": "agent"})).await;
    assert_eq!(created["email"], json!("zoe@test.example"));
    assert_eq!(created["role"], json!("agent"));
    assert_eq!(created["active"], json!(true));
    let zoe = id_of(&created);
    let zoe_token = desk.login("zoe@test.example").await;
    assert_eq!(desk.expect(200, "GET", "/api/v1/me", &zoe_token, None).await["id"], json!(zoe));

    let changed = desk
        .expect(
            200,
            "PATCH",
            &format!("/api/v1/users/{zoe}"),
            &admin,
            Some(json!({"name": "Zoe Q", "role": "supervisor", "capacity": 9})),
        )
        .await;
    assert_eq!(
        (&changed["name"], &changed["role"], &changed["capacity"]),
        (&json!("Zoe Q"), &json!("supervisor"), &json!(9))
    );
    let fetched = desk.expect(200, "GET", &format!("/api/v1/users/{zoe}"), &agent, None).await;
    assert_eq!(fetched["role"], json!("supervisor"));
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/users/{zoe}"), &agent, Some(json!({"name": "Hacked"}))).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/users/{zoe}"), &admin, Some(json!({"time_zone": "Mars/Olympus"}))).await;
    assert_invalid((status, &body), "time_zone");
    let (status, body) = desk.call("PATCH", "/api/v1/users/999999", &admin, Some(json!({"name": "Ghost"}))).await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(desk.expect(200, "GET", &format!("/api/v1/users/{zoe}"), &agent, None).await["name"], json!("Zoe Q"));

    let team =
        desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Tier 1", "member_ids": [zoe]}))).await;
    let team_id = id_of(&team);
    let (status, body) = desk.call("POST", "/api/v1/teams", &admin, Some(json!({"name": "Tier 1"}))).await;
    assert_error((status, &body), 409, "team_exists");
    let renamed = desk
        .expect(
            200,
            "PATCH",
            &format!("/api/v1/teams/{team_id}"),
            &admin,
            Some(json!({"name": "Tier One", "member_ids": [zoe, desk.seeded.agent.id]})),
        )
        .await;
    assert_eq!(renamed["name"], json!("Tier One"));
    assert_eq!(
        sorted(renamed["member_ids"].as_array().expect("members").iter().map(|m| m.as_i64().expect("id")).collect()),
        sorted(vec![zoe, desk.seeded.agent.id])
    );
    let teams = desk.expect(200, "GET", "/api/v1/teams", &agent, None).await;
    assert_eq!(teams["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(teams["items"][0]["name"], json!("Tier One"));
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/teams/{team_id}"), &agent, Some(json!({"name": "Mine now"}))).await;
    assert_error((status, &body), 403, "forbidden");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_a_user_ends_their_session() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    desk.expect(200, "GET", "/api/v1/me", &agent, None).await;

    let agent_id = desk.seeded.agent.id;
    let changed =
        desk.expect(200, "PATCH", &format!("/api/v1/users/{agent_id}"), &admin, Some(json!({"active": false}))).await;
    assert_eq!(changed["active"], json!(false));
    let (status, body) = desk.call("GET", "/api/v1/me", &agent, None).await;
    assert_error((status, &body), 401, "unauthenticated");
    let (status, body) = desk.call("GET", "/api/v1/tickets", &agent, None).await;
    assert_error((status, &body), 401, "unauthenticated");
    let (status, body) = desk
        .server
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": "agent@test.example", "password": PASSWORD})))
        .await;
    assert_error((status, &body), 401, "invalid_credentials");

    // An inactive agent cannot be given tickets; reactivating lets them log in again.
    let id = id_of(&desk.ticket_for_customer(&admin, "For whom?").await);
    let (status, body) = desk
        .call("POST", &format!("/api/v1/tickets/{id}/assign"), &admin, Some(json!({"assignee_id": agent_id})))
        .await;
    assert_invalid((status, &body), "assignee_id");
    desk.expect(200, "PATCH", &format!("/api/v1/users/{agent_id}"), &admin, Some(json!({"active": true}))).await;
    let fresh = desk.login("agent@test.example").await;
    desk.expect(200, "GET", "/api/v1/me", &fresh, None).await;
    let (status, body) = desk.call("GET", "/api/v1/me", &agent, None).await;
    assert_error((status, &body), 401, "unauthenticated");

    // Admins cannot lock themselves out.
    let admin_id = desk.seeded.admin.id;
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/users/{admin_id}"), &admin, Some(json!({"active": false}))).await;
    assert_error((status, &body), 409, "self_lockout");
    desk.expect(200, "GET", "/api/v1/me", &admin, None).await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_issue_api_tokens_for_invited_staff() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    // Staff created without a password are invited: no password login, but a token works.
    let bot = desk
        .expect(
            201,
            "POST",
            "/api/v1/users",
            &admin,
            Some(json!({"email": "bot@test.example", "name": "Bot", "role": "agent"})),
        )
        .await;
    let bot_id = id_of(&bot);
    let (status, body) = desk
        .server
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": "bot@test.example", "password": PASSWORD})))
        .await;
    assert_error((status, &body), 401, "invalid_credentials");

    let path = format!("/api/v1/users/{bot_id}/tokens");
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({}))).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk.call("POST", &path, &admin, Some(json!({"expires_in_days": 0}))).await;
    assert_invalid((status, &body), "expires_in_days");
    let customer = desk.seeded.customer.id;
    let (status, body) = desk.call("POST", &format!("/api/v1/users/{customer}/tokens"), &admin, Some(json!({}))).await;
    assert_invalid((status, &body), "id");
    let (status, body) = desk.call("POST", "/api/v1/users/999999/tokens", &admin, Some(json!({}))).await;
    assert_error((status, &body), 404, "not_found");

    let issued = desk.expect(201, "POST", &path, &admin, Some(json!({"expires_in_days": 7}))).await;
    let token = issued["token"].as_str().expect("token").to_owned();
    assert_eq!(issued["user_id"], json!(bot_id));
    let me = desk.expect(200, "GET", "/api/v1/me", &token, None).await;
    assert_eq!(me["email"], json!("bot@test.example"));

    // Deactivation revokes it like any session.
    desk.expect(200, "PATCH", &format!("/api/v1/users/{bot_id}"), &admin, Some(json!({"active": false}))).await;
    let (status, body) = desk.call("GET", "/api/v1/me", &token, None).await;
    assert_error((status, &body), 401, "unauthenticated");
    desk.stop().await;
}

// 5. OpenAPI and operations endpoints

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let desk = Desk::start().await;
    let (status, document) = desk.server.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with('3')), "{document}");
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/events",
        "/api/v1/tickets/{id}/messages",
        "/api/v1/tickets/{id}/assign",
        "/api/v1/tickets/bulk",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/users",
        "/api/v1/teams",
    ] {
        assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    assert!(paths["/api/v1/tickets"].get("get").is_some() && paths["/api/v1/tickets"].get("post").is_some());
    assert!(paths["/api/v1/tickets/{id}"].get("patch").is_some());
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    let desk = Desk::start().await;
    let (status, body) = desk.server.call("GET", "/healthz", None, None).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")));
    let (status, body) = desk.server.call("GET", "/readyz", None, None).await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")));
    desk.stop().await;
}
