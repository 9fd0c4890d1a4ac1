//! Authentication: tokens, cookies, logout, login limits.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_token_and_the_user() {
    let desk = Desk::start().await;
    let (status, body) = desk
        .server
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": "agent@test.example", "password": PASSWORD})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].as_str().is_some_and(|token| token.len() >= 20), "token in {body}");
    assert_eq!(body["user"]["id"], json!(desk.seeded.agent.id));
    assert_eq!(body["user"]["email"], json!("agent@test.example"));
    assert_eq!(body["user"]["role"], json!("agent"));
    assert!(body["user"].get("password_hash").is_none(), "the hash must never be sent: {body}");

    // Email matching ignores case and surrounding space.
    let (status, _) = desk
        .server
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": " Agent@Test.Example ", "password": PASSWORD})))
        .await;
    assert_eq!(status, 200);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_or_unknown_email_is_401_invalid_credentials() {
    let desk = Desk::start().await;
    for (email, password) in [("agent@test.example", "wrong-password"), ("nobody@test.example", PASSWORD)] {
        let (status, body) = desk
            .server
            .call("POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": password})))
            .await;
        assert_error((status, &body), 401, "invalid_credentials");
        assert!(body.get("token").is_none());
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_and_session_cookie_both_authenticate() {
    let desk = Desk::start().await;
    let login = desk
        .raw(
            "POST",
            "/api/v1/auth/login",
            &[("content-type", "application/json")],
            Some(json!({"email": "agent@test.example", "password": PASSWORD}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.body["token"].as_str().expect("token").to_owned();
    let cookie = login
        .cookies
        .iter()
        .find(|cookie| cookie.starts_with("switchboard_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", login.cookies));
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let cookie_value = cookie.split(';').next().expect("name=value").to_owned();
    assert_eq!(cookie_value, format!("switchboard_session={token}"));

    let me = desk.expect(200, "GET", "/api/v1/me", &token, None).await;
    assert_eq!(me["id"], json!(desk.seeded.agent.id));

    let by_cookie = desk.raw("GET", "/api/v1/me", &[("cookie", &cookie_value)], None).await;
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.body);
    assert_eq!(by_cookie.body["id"], json!(desk.seeded.agent.id));

    let forged = desk.raw("GET", "/api/v1/me", &[("cookie", "switchboard_session=not-a-token")], None).await;
    assert_error((forged.status, &forged.body), 401, "unauthenticated");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session() {
    let desk = Desk::start().await;
    let token = desk.login("agent@test.example").await;
    let other = desk.login("agent@test.example").await;
    let (status, body) = desk.call("POST", "/api/v1/auth/logout", &token, None).await;
    assert_eq!(status, 204, "{body}");

    let (status, body) = desk.call("GET", "/api/v1/me", &token, None).await;
    assert_error((status, &body), 401, "unauthenticated");
    let (status, body) = desk.call("GET", "/api/v1/tickets", &token, None).await;
    assert_error((status, &body), 401, "unauthenticated");
    let (status, body) = desk.call("POST", "/api/v1/auth/logout", &token, None).await;
    assert_error((status, &body), 401, "unauthenticated");

    // Only that session ended.
    desk.expect(200, "GET", "/api/v1/me", &other, None).await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_token_are_401() {
    let desk = Desk::start().await;
    for (method, path) in [
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/tickets/1"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/auth/logout"),
    ] {
        let (status, body) = desk.server.call(method, path, None, None).await;
        assert_error((status, &body), 401, "unauthenticated");
    }
    let (status, body) = desk.server.call("POST", "/api/v1/tickets", None, Some(json!({"subject": "Hi"}))).await;
    assert_error((status, &body), 401, "unauthenticated");
    let (status, body) = desk.server.call("GET", "/api/v1/tickets", Some("made-up-token"), None).await;
    assert_error((status, &body), 401, "unauthenticated");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_make_that_email_wait_from_that_address() {
    let desk = Desk::start().await;
    let attempt = |email: &'static str, password: &'static str| {
        let server = &desk.server;
        async move {
            server.call("POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await
        }
    };
    for _ in 0..3 {
        let (status, body) = attempt("agent@test.example", "wrong-password").await;
        assert_error((status, &body), 401, "invalid_credentials");
    }
    let (status, body) = attempt("agent@test.example", "wrong-password").await;
    assert_error((status, &body), 429, "rate_limited");
    // Waiting now even with the right password, from this address (the password is not checked)…
    let (status, body) = attempt("agent@test.example", PASSWORD).await;
    assert_error((status, &body), 429, "rate_limited");
    // …but only that email is.
    let (status, body) = attempt("sup@test.example", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    // The first delay is a second; then the right password works and clears the failures.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = attempt("agent@test.example", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        let (status, body) = attempt("agent@test.example", "wrong-password").await;
        assert_error((status, &body), 401, "invalid_credentials");
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_failed_logins_cannot_exceed_the_limit() {
    let desk = Desk::start().await;
    let attempts = (0..30).map(|_| {
        let (http, base) = (desk.server.http.clone(), desk.server.base.clone());
        tokio::spawn(async move {
            let body = json!({"email": "agent@test.example", "password": "wrong-password"});
            call(&http, &base, "POST", "/api/v1/auth/login", None, Some(body)).await.0
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        statuses.push(attempt.await.expect("attempt"));
    }
    let refused = statuses.iter().filter(|status| **status == 401).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((refused, limited), (3, 27), "3 guesses get checked before the first delay: {statuses:?}");
    desk.stop().await;
}

// 2. Error bodies, and refused writes write nothing
