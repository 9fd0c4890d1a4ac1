//! The REST API end to end: a real server in this process on a fresh SQLite database per test,
//! driven over HTTP like any client. Grouped by topic: authentication, error bodies, the ticket
//! flow of an agent, role rules, and the operations endpoints.

mod common;

use common::*;
use serde_json::{Value, json};
use switchboard::config::Settings;

// ---------------------------------------------------------------------------------------------
// Harness helpers
// ---------------------------------------------------------------------------------------------

/// A running server on its own seeded database; `db` keeps the database alive.
struct Desk {
    _db: TestDb,
    seeded: Seeded,
    server: TestServer,
}

impl Desk {
    async fn start() -> Desk {
        Desk::start_with(|_| {}).await
    }

    async fn start_with(tune: impl FnOnce(&mut Settings)) -> Desk {
        let db = TestDb::sqlite();
        let seeded = seed(&*db.open().await).await;
        let mut settings = db.settings();
        tune(&mut settings);
        let server = TestServer::start(settings).await;
        Desk { _db: db, seeded, server }
    }

    async fn stop(self) {
        self.server.stop().await;
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.server.call(method, path, Some(token), body).await
    }

    /// `call` that must answer `status`; returns the body.
    async fn expect(&self, status: u16, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (got, value) = self.call(method, path, token, body).await;
        assert_eq!(got, status, "{method} {path} answered {got}: {value}");
        value
    }

    async fn create_ticket(&self, token: &str, body: Value) -> Value {
        self.expect(201, "POST", "/api/v1/tickets", token, Some(body)).await
    }

    /// A ticket for the seeded customer with a first message, created by `token` (staff).
    async fn ticket_for_customer(&self, token: &str, subject: &str) -> Value {
        let requester = self.seeded.customer.id;
        self.create_ticket(token, json!({"subject": subject, "body": "Please help.", "requester_id": requester})).await
    }

    async fn patch(&self, token: &str, id: i64, body: Value) -> Value {
        self.expect(200, "PATCH", &format!("/api/v1/tickets/{id}"), token, Some(body)).await
    }

    async fn ticket(&self, token: &str, id: i64) -> Value {
        self.expect(200, "GET", &format!("/api/v1/tickets/{id}"), token, None).await
    }

    async fn events(&self, token: &str, id: i64, after: i64) -> Vec<Value> {
        let page = self.expect(200, "GET", &format!("/api/v1/tickets/{id}/events?after={after}"), token, None).await;
        page["items"].as_array().expect("events items").clone()
    }

    /// The ids of one page of `GET /api/v1/tickets?{query}`, and its `next`.
    async fn list(&self, token: &str, query: &str) -> (Vec<i64>, Option<String>) {
        let page = self.expect(200, "GET", &format!("/api/v1/tickets?{query}"), token, None).await;
        (ids(&page["items"]), page["next"].as_str().map(str::to_owned))
    }

    async fn list_ids(&self, token: &str, query: &str) -> Vec<i64> {
        let (ids, next) = self.list(token, query).await;
        assert_eq!(next, None, "`{query}` should fit on one page");
        ids
    }

    /// `(seq, number of events)` of a ticket, to prove a refused write changed nothing.
    async fn log_state(&self, token: &str, id: i64) -> (i64, usize) {
        let seq = self.ticket(token, id).await["seq"].as_i64().expect("seq");
        (seq, self.events(token, id, 0).await.len())
    }

    async fn ticket_count(&self, token: &str) -> usize {
        self.list_ids(token, "limit=200").await.len()
    }

    async fn users(&self, admin: &str) -> Vec<Value> {
        self.expect(200, "GET", "/api/v1/users", admin, None).await["items"].as_array().expect("users").clone()
    }

    /// Creates a user as `admin` with the test password, returns it.
    async fn create_user(&self, admin: &str, body: Value) -> Value {
        let mut body = body;
        body["password"] = json!(PASSWORD);
        self.expect(201, "POST", "/api/v1/users", admin, Some(body)).await
    }

    async fn login(&self, email: &str) -> String {
        self.server.login(email).await
    }

    async fn staff(&self) -> (String, String) {
        (self.login("admin@test.example").await, self.login("agent@test.example").await)
    }

    /// A request with raw bytes and headers, for what `call` cannot send.
    async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> RawResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.server.http.request(method, self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect();
        let text = response.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        RawResponse { status, cookies, body }
    }
}

struct RawResponse {
    status: u16,
    cookies: Vec<String>,
    body: Value,
}

fn ids(items: &Value) -> Vec<i64> {
    items.as_array().expect("items array").iter().map(|item| item["id"].as_i64().expect("id")).collect()
}

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().unwrap_or_else(|| panic!("no id in {value}"))
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// Every refusal is `{"error": code, "message": text}` (plus `field` for validation errors).
#[track_caller]
fn assert_error(got: (u16, &Value), status: u16, code: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "expected {status} {code}, got {got_status}: {body}");
    let object = body.as_object().unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert_eq!(object.get("error").and_then(Value::as_str), Some(code), "error code in {body}");
    let message = object.get("message").and_then(Value::as_str).unwrap_or_default();
    assert!(!message.is_empty(), "error message missing in {body}");
    assert!(object.keys().all(|key| ["error", "message", "field"].contains(&key.as_str())), "extra keys in {body}");
}

/// A 422 naming `field`.
#[track_caller]
fn assert_invalid(got: (u16, &Value), field: &str) {
    assert_error(got, 422, "validation_failed");
    assert_eq!(got.1["field"], json!(field), "field in {}", got.1);
}

fn event_types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|event| event["type"].as_str().expect("event type")).collect()
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|event| event["seq"].as_i64().expect("seq")).collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Authentication
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 2. Error bodies, and refused writes write nothing
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 3. The ticket flow of an agent
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_creates_tickets_for_customers() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;

    let by_id = desk
        .create_ticket(
            &agent,
            json!({"subject": "Printer jammed", "body": "Paper everywhere.", "requester_id": desk.seeded.customer.id}),
        )
        .await;
    assert_eq!(by_id["requester_id"], json!(desk.seeded.customer.id));
    assert_eq!(by_id["status"], json!("new"));
    assert_eq!(by_id["channel"], json!("api"));
    assert_eq!(by_id["priority"], json!("medium"));
    assert_eq!(by_id["seq"], json!(2));
    assert_eq!(by_id["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_id["messages"][0]["kind"], json!("customer"));

    // A new email creates a customer; the same email again reuses them.
    let customers = desk.users(&admin).await.len();
    let by_email = desk
        .create_ticket(
            &agent,
            json!({"subject": "Where is my order?", "requester_email": "new.customer@example.com", "requester_name": "Nia"}),
        )
        .await;
    let requester = by_email["requester_id"].as_i64().expect("requester");
    let user = desk.expect(200, "GET", &format!("/api/v1/users/{requester}"), &agent, None).await;
    assert_eq!(user["email"], json!("new.customer@example.com"));
    assert_eq!(user["name"], json!("Nia"));
    assert_eq!(user["role"], json!("customer"));
    assert_eq!(desk.users(&admin).await.len(), customers + 1);
    let again = desk
        .create_ticket(&agent, json!({"subject": "Still waiting", "requester_email": "new.customer@example.com"}))
        .await;
    assert_eq!(again["requester_id"], json!(requester));
    assert_eq!(desk.users(&admin).await.len(), customers + 1);
    assert_ne!(by_email["number"], again["number"]);

    // Staff cannot file a ticket for another staff member.
    let (status, body) = desk
        .call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": "x", "requester_id": desk.seeded.admin.id})))
        .await;
    assert_invalid((status, &body), "requester_id");
    assert_eq!(desk.ticket_count(&agent).await, 3);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_ticket_includes_its_messages() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Help").await);
    desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &agent, Some(json!({"body": "On it."}))).await;
    let ticket = desk.ticket(&agent, id).await;
    assert_eq!(ticket["id"], json!(id));
    assert_eq!(ticket["subject"], json!("Help"));
    let messages = ticket["messages"].as_array().expect("messages");
    let bodies: Vec<_> = messages.iter().map(|message| message["body"].as_str().expect("body")).collect();
    assert_eq!(bodies, ["Please help.", "On it."]);
    assert_eq!(messages[1]["kind"], json!("reply"));
    assert_eq!(messages[1]["author_id"], json!(desk.seeded.agent.id));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_narrow_the_queue() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let printer = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({
                    "subject": "Printer on FIRE", "body": "smoke", "requester_id": desk.seeded.customer.id,
                    "urgency": "critical", "importance": "critical", "tags": ["Hardware"]
                }),
            )
            .await,
    );
    let invoice = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({
                    "subject": "Invoice question", "body": "I would like a refund please",
                    "requester_id": desk.seeded.other_customer.id, "assignee_id": desk.seeded.agent.id
                }),
            )
            .await,
    );
    let login = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({"subject": "Login broken", "requester_id": desk.seeded.customer.id, "status": "pending"}),
            )
            .await,
    );
    // Internal notes are searchable by staff.
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{login}/messages"),
        &agent,
        Some(json!({"body": "suspect the sso gateway", "internal": true})),
    )
    .await;

    let other = desk.seeded.other_customer.id;
    let cases = [
        ("status=pending".to_owned(), vec![login]),
        ("status=new,open".to_owned(), vec![printer, invoice]),
        ("category=pending".to_owned(), vec![login]),
        ("priority=urgent".to_owned(), vec![printer]),
        ("priority=medium".to_owned(), vec![invoice, login]),
        ("assignee=me".to_owned(), vec![invoice]),
        ("assignee=none".to_owned(), vec![printer, login]),
        ("tag=hardware".to_owned(), vec![printer]),
        ("tag=software".to_owned(), vec![]),
        (format!("requester={other}"), vec![invoice]),
        ("q=printer".to_owned(), vec![printer]),
        ("q=refund".to_owned(), vec![invoice]),
        ("q=sso%20gateway".to_owned(), vec![login]),
    ];
    for (query, expected) in cases {
        assert_eq!(sorted(desk.list_ids(&agent, &query).await), sorted(expected), "filter `{query}`");
    }
    assert_eq!(desk.list_ids(&agent, "q=printer&status=pending").await, Vec::<i64>::new());
    assert_eq!(sorted(desk.list_ids(&agent, "").await), sorted(vec![printer, invoice, login]));

    let (status, body) = desk.call("GET", "/api/v1/tickets?priority=extreme", &agent, None).await;
    assert_invalid((status, &body), "priority");
    let (status, body) = desk.call("GET", "/api/v1/tickets?sort=sideways", &agent, None).await;
    assert_invalid((status, &body), "sort");
    let (status, body) = desk.call("GET", "/api/v1/tickets?limit=0", &agent, None).await;
    assert_invalid((status, &body), "limit");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_visits_every_ticket_exactly_once() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(id_of(&desk.ticket_for_customer(&agent, &format!("Ticket {n}")).await));
    }
    for sort in ["-updated_at", "created_at", "-priority"] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut query = format!("limit=2&sort={sort}");
        loop {
            let (page, next) = desk.list(&agent, &query).await;
            pages += 1;
            assert!(page.len() <= 2, "page larger than limit: {page:?}");
            seen.extend(page);
            match next {
                Some(cursor) => query = format!("limit=2&sort={sort}&cursor={cursor}"),
                None => break,
            }
            assert!(pages < 10, "pagination does not end");
        }
        assert_eq!(pages, 4, "7 tickets in pages of 2 ({sort})");
        let mut unique = sorted(seen.clone());
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "duplicates with {sort}: {seen:?}");
        assert_eq!(sorted(seen.clone()), sorted(created.clone()), "every ticket once with {sort}");
        if sort == "created_at" {
            assert_eq!(seen, created, "oldest first");
        }
    }
    let (status, body) = desk.call("GET", "/api/v1/tickets?cursor=garbage!", &agent, None).await;
    assert_invalid((status, &body), "cursor");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_by_priority_puts_urgent_first() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let levels =
        [("low", "low"), ("critical", "critical"), ("medium", "medium"), ("high", "high"), ("low", "critical")];
    for (n, (urgency, importance)) in levels.iter().enumerate() {
        desk.create_ticket(
            &agent,
            json!({
                "subject": format!("P{n}"), "requester_id": desk.seeded.customer.id,
                "urgency": urgency, "importance": importance
            }),
        )
        .await;
    }
    let page = desk.expect(200, "GET", "/api/v1/tickets?sort=-priority", &agent, None).await;
    let priorities: Vec<_> =
        page["items"].as_array().expect("items").iter().map(|item| item["priority"].as_str().expect("p")).collect();
    assert_eq!(priorities, ["urgent", "high", "high", "medium", "low"]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_derives_priority_from_urgency_and_importance() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Outage").await);
    let changed = desk.patch(&agent, id, json!({"status": "open", "urgency": "critical"})).await;
    assert_eq!(changed["ticket"]["status"], json!("open"));
    assert_eq!(changed["ticket"]["urgency"], json!("critical"));
    assert_eq!(changed["ticket"]["priority"], json!("high"), "critical × medium");
    let changed = desk.patch(&agent, id, json!({"importance": "critical"})).await;
    assert_eq!(changed["ticket"]["priority"], json!("urgent"), "critical × critical");
    let event = &changed["events"][0];
    assert_eq!(event["type"], json!("priority_changed"));
    assert_eq!((&event["from"], &event["to"]), (&json!("high"), &json!("urgent")));
    let changed = desk.patch(&agent, id, json!({"urgency": "low", "importance": "low"})).await;
    assert_eq!(changed["ticket"]["priority"], json!("low"));

    // The same values again change nothing and append nothing.
    let seq = changed["ticket"]["seq"].clone();
    let unchanged = desk.patch(&agent, id, json!({"urgency": "low", "status": "open"})).await;
    assert_eq!(unchanged["events"], json!([]));
    assert_eq!(unchanged["ticket"]["seq"], seq);
    assert_eq!(desk.ticket(&agent, id).await["priority"], json!("low"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_replaces_adds_and_removes_tags() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Tags").await);
    let changed = desk.patch(&agent, id, json!({"tags": ["Billing", "vip", " urgent-ish "]})).await;
    assert_eq!(changed["ticket"]["tags"], json!(["billing", "urgent-ish", "vip"]));
    let changed = desk.patch(&agent, id, json!({"add_tags": ["refund"], "remove_tags": ["vip"]})).await;
    assert_eq!(changed["ticket"]["tags"], json!(["billing", "refund", "urgent-ish"]));
    let event = &changed["events"][0];
    assert_eq!(event["type"], json!("tags_changed"));
    assert_eq!((&event["added"], &event["removed"]), (&json!(["refund"]), &json!(["vip"])));
    let changed = desk.patch(&agent, id, json!({"tags": ["refund"]})).await;
    assert_eq!(changed["ticket"]["tags"], json!(["refund"]));
    assert_eq!(desk.ticket(&agent, id).await["tags"], json!(["refund"]));
    assert_eq!(desk.list_ids(&agent, "tag=refund").await, vec![id]);
    assert_eq!(desk.list_ids(&agent, "tag=billing").await, Vec::<i64>::new());

    let before = desk.log_state(&agent, id).await;
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/tickets/{id}"), &agent, Some(json!({"add_tags": ["a,b"]}))).await;
    assert_invalid((status, &body), "tags");
    assert_eq!(desk.log_state(&agent, id).await, before);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_are_defined_then_typed() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Fields").await);
    let path = format!("/api/v1/tickets/{id}");

    // Undefined fields are refused.
    let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"custom_fields": {"order_number": 7}}))).await;
    assert_invalid((status, &body), "custom_fields");

    let define = |key: &str, field_type: &str, options: Value| json!({"key": key, "label": key.replace('_', " "), "field_type": field_type, "options": options});
    let (status, body) = desk
        .call("PUT", "/api/v1/account/custom-fields", &agent, Some(define("order_number", "number", json!([]))))
        .await;
    assert_error((status, &body), 403, "forbidden");
    desk.expect(204, "PUT", "/api/v1/account/custom-fields", &admin, Some(define("order_number", "number", json!([]))))
        .await;
    desk.expect(
        204,
        "PUT",
        "/api/v1/account/custom-fields",
        &admin,
        Some(define("plan", "select", json!(["free", "pro"]))),
    )
    .await;
    let config = desk.expect(200, "GET", "/api/v1/account/config", &agent, None).await;
    let keys: Vec<_> = config["custom_fields"].as_array().expect("fields").iter().map(|f| f["key"].clone()).collect();
    assert!(keys.contains(&json!("order_number")) && keys.contains(&json!("plan")), "{config}");

    let changed = desk.patch(&agent, id, json!({"custom_fields": {"order_number": 1042, "plan": "pro"}})).await;
    assert_eq!(changed["ticket"]["custom_fields"], json!({"order_number": 1042, "plan": "pro"}));
    assert_eq!(changed["events"][0]["type"], json!("fields_changed"));

    let before = desk.log_state(&agent, id).await;
    for wrong in [json!({"order_number": "ten"}), json!({"plan": "enterprise"}), json!({"order_number": true})] {
        let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"custom_fields": wrong}))).await;
        assert_invalid((status, &body), "custom_fields");
    }
    assert_eq!(desk.log_state(&agent, id).await, before);
    assert_eq!(desk.ticket(&agent, id).await["custom_fields"], json!({"order_number": 1042, "plan": "pro"}));

    // `null` removes a value.
    let changed = desk.patch(&agent, id, json!({"custom_fields": {"plan": null}})).await;
    assert_eq!(changed["ticket"]["custom_fields"], json!({"order_number": 1042}));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_and_custom_statuses_are_usable_in_patch() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Vocabulary").await);
    let path = format!("/api/v1/tickets/{id}");

    let billing =
        desk.expect(201, "POST", "/api/v1/account/categories", &admin, Some(json!({"name": "Billing"}))).await;
    let refunds = desk
        .expect(
            201,
            "POST",
            "/api/v1/account/categories",
            &admin,
            Some(json!({"name": "Refunds", "parent_id": id_of(&billing)})),
        )
        .await;
    assert_eq!(refunds["path"], json!("Billing / Refunds"));
    let (status, body) =
        desk.call("POST", "/api/v1/account/categories", &admin, Some(json!({"name": "Billing"}))).await;
    assert_error((status, &body), 409, "category_exists");

    let changed = desk.patch(&agent, id, json!({"category_id": id_of(&refunds)})).await;
    assert_eq!(changed["ticket"]["category_id"], json!(id_of(&refunds)));
    let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"category_id": 424242}))).await;
    assert_invalid((status, &body), "category_id");
    let changed = desk.patch(&agent, id, json!({"category_id": null})).await;
    assert_eq!(changed["ticket"]["category_id"], Value::Null);

    let status_body = json!({"key": "waiting_on_vendor", "label": "Waiting on vendor", "category": "pending"});
    let (status, body) = desk.call("PUT", "/api/v1/account/statuses", &agent, Some(status_body.clone())).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"status": "waiting_on_vendor"}))).await;
    assert_invalid((status, &body), "status");
    desk.expect(204, "PUT", "/api/v1/account/statuses", &admin, Some(status_body)).await;

    let changed = desk.patch(&agent, id, json!({"status": "waiting_on_vendor"})).await;
    assert_eq!(changed["ticket"]["status"], json!("waiting_on_vendor"));
    assert_eq!(changed["ticket"]["status_category"], json!("pending"));
    let event = &changed["events"][0];
    assert_eq!(event["type"], json!("status_changed"));
    assert_eq!((&event["to"], &event["category"]), (&json!("waiting_on_vendor"), &json!("pending")));
    assert_eq!(desk.list_ids(&agent, "status=waiting_on_vendor").await, vec![id]);
    assert_eq!(desk.list_ids(&agent, "category=pending").await, vec![id]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_internal_notes_are_added() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Messages").await);
    let path = format!("/api/v1/tickets/{id}/messages");

    let note = desk
        .expect(201, "POST", &path, &agent, Some(json!({"body": "Customer is on the pro plan", "internal": true})))
        .await;
    assert_eq!(note["events"][0]["message"]["kind"], json!("note"));
    assert_eq!(note["ticket"]["status"], json!("new"), "a note does not take the ticket into work");

    let reply = desk.expect(201, "POST", &path, &agent, Some(json!({"body": "We are looking into it."}))).await;
    assert_eq!(reply["events"][0]["message"]["kind"], json!("reply"));
    assert_eq!(reply["ticket"]["status"], json!("open"), "the first reply opens the ticket");
    assert!(reply["ticket"]["first_response_at"].is_string());

    let resolved =
        desk.expect(201, "POST", &path, &agent, Some(json!({"body": "Fixed.", "then_status": "resolved"}))).await;
    assert_eq!(resolved["ticket"]["status"], json!("resolved"));

    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"body": "   "}))).await;
    assert_invalid((status, &body), "body");

    let ticket = desk.ticket(&agent, id).await;
    let kinds: Vec<_> = ticket["messages"].as_array().expect("messages").iter().map(|m| m["kind"].clone()).collect();
    assert_eq!(kinds, [json!("customer"), json!("note"), json!("reply"), json!("reply")]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_to_an_agent_with_a_reason_and_to_a_team() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Assign me").await);
    let path = format!("/api/v1/tickets/{id}/assign");

    let assigned = desk
        .expect(
            200,
            "POST",
            &path,
            &agent,
            Some(json!({"assignee_id": desk.seeded.agent.id, "reason": "knows the billing system"})),
        )
        .await;
    assert_eq!(assigned["ticket"]["assignee_id"], json!(desk.seeded.agent.id));
    assert_eq!(assigned["ticket"]["status"], json!("open"));
    let event = &assigned["events"][0];
    assert_eq!(event["type"], json!("assigned"));
    assert_eq!(event["reason"], json!("knows the billing system"));
    assert_eq!(event["assignee_id"], json!(desk.seeded.agent.id));
    assert_eq!(event["from_assignee_id"], Value::Null);
    assert_eq!(desk.list_ids(&agent, "assignee=me").await, vec![id]);

    let team = desk
        .expect(
            201,
            "POST",
            "/api/v1/teams",
            &admin,
            Some(json!({"name": "Billing", "description": "Money", "member_ids": [desk.seeded.agent.id]})),
        )
        .await;
    assert_eq!(team["member_ids"], json!([desk.seeded.agent.id]));
    let team_id = id_of(&team);
    let assigned =
        desk.expect(200, "POST", &path, &agent, Some(json!({"team_id": team_id, "reason": "billing"}))).await;
    assert_eq!(assigned["ticket"]["team_id"], json!(team_id));
    assert_eq!(assigned["ticket"]["assignee_id"], json!(desk.seeded.agent.id), "absent assignee is kept");
    assert_eq!(desk.list_ids(&agent, &format!("team={team_id}")).await, vec![id]);

    // Customers and unknown teams or agents are refused, and change nothing.
    let before = desk.log_state(&agent, id).await;
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"assignee_id": desk.seeded.customer.id}))).await;
    assert_invalid((status, &body), "assignee_id");
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"team_id": 999}))).await;
    assert_invalid((status, &body), "team_id");
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"reason": "nothing"}))).await;
    assert_invalid((status, &body), "assignee_id");
    assert_eq!(desk.log_state(&agent, id).await, before);

    let unassigned = desk.expect(200, "POST", &path, &agent, Some(json!({"assignee_id": null}))).await;
    assert_eq!(unassigned["ticket"]["assignee_id"], Value::Null);
    assert!(unassigned["events"][0]["held_secs"].is_i64(), "time held is recorded");
    assert_eq!(desk.list_ids(&agent, "assignee=none").await, vec![id]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_changes_several_tickets() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let mut tickets = Vec::new();
    for n in 0..3 {
        tickets.push(id_of(&desk.ticket_for_customer(&agent, &format!("Bulk {n}")).await));
    }
    let untouched = id_of(&desk.ticket_for_customer(&agent, "Not in the batch").await);

    let result = desk
        .expect(
            200,
            "POST",
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({
                "ids": tickets,
                "patch": {"status": "pending", "add_tags": ["batch"], "urgency": "high"},
                "assign": {"assignee_id": desk.seeded.agent.id, "reason": "bulk triage"}
            })),
        )
        .await;
    let items = result["items"].as_array().expect("items");
    assert_eq!(sorted(ids(&result["items"])), sorted(tickets.clone()));
    for item in items {
        assert_eq!(item["error"], Value::Null, "{item}");
        assert!(item["seq"].as_i64().is_some_and(|seq| seq > 2), "{item}");
    }
    for id in &tickets {
        let ticket = desk.ticket(&agent, *id).await;
        assert_eq!(ticket["status"], json!("pending"));
        assert_eq!(ticket["tags"], json!(["batch"]));
        assert_eq!(ticket["priority"], json!("high"));
        assert_eq!(ticket["assignee_id"], json!(desk.seeded.agent.id));
    }
    assert_eq!(sorted(desk.list_ids(&agent, "tag=batch").await), sorted(tickets.clone()));
    let other = desk.ticket(&agent, untouched).await;
    assert_eq!((&other["status"], &other["tags"]), (&json!("new"), &json!([])));

    // A bad value fails the whole request before anything is written.
    let mut before = Vec::new();
    for id in &tickets {
        before.push(desk.log_state(&agent, *id).await);
    }
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({"ids": tickets, "patch": {"add_tags": ["again"], "status": "bogus"}})),
        )
        .await;
    assert_invalid((status, &body), "status");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({"ids": [tickets[0], 999999], "patch": {"add_tags": ["x"]}})),
        )
        .await;
    assert_error((status, &body), 404, "not_found");
    let (status, body) = desk.call("POST", "/api/v1/tickets/bulk", &agent, Some(json!({"ids": []}))).await;
    assert_error((status, &body), 422, "validation_failed");
    for (id, state) in tickets.iter().zip(before) {
        assert_eq!(desk.log_state(&agent, *id).await, state);
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_after_a_seq_are_exactly_the_newer_ones_in_order() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Log").await);
    desk.patch(&agent, id, json!({"status": "open"})).await;
    desk.patch(&agent, id, json!({"urgency": "high", "add_tags": ["log"]})).await;
    desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &agent, Some(json!({"body": "Hi"}))).await;
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{id}/assign"),
        &agent,
        Some(json!({"assignee_id": desk.seeded.agent.id})),
    )
    .await;

    let all = desk.events(&agent, id, 0).await;
    let n = all.len() as i64;
    assert_eq!(seqs(&all), (1..=n).collect::<Vec<_>>(), "seqs are 1..n without gaps");
    assert_eq!(
        event_types(&all),
        ["created", "message_added", "status_changed", "tags_changed", "priority_changed", "message_added", "assigned"]
    );
    assert_eq!(desk.ticket(&agent, id).await["seq"], json!(n));
    assert!(all.iter().all(|event| event["ticket_id"] == json!(id)));

    for after in 0..=n {
        let events = desk.events(&agent, id, after).await;
        assert_eq!(seqs(&events), ((after + 1)..=n).collect::<Vec<_>>(), "after={after}");
        assert_eq!(events, all[after as usize..].to_vec());
    }
    assert_eq!(desk.events(&agent, id, n + 10).await, Vec::<Value>::new());
    let (status, body) = desk.call("GET", &format!("/api/v1/tickets/{id}/events?after=-1"), &agent, None).await;
    assert_invalid((status, &body), "after");
    desk.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Role rules
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_open_and_see_only_their_own_tickets() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let other = desk.login("other@test.example").await;

    let mine = desk.create_ticket(&customer, json!({"subject": "My order", "body": "It did not arrive."})).await;
    assert_eq!(mine["requester_id"], json!(desk.seeded.customer.id));
    assert_eq!(mine["channel"], json!("web"));
    assert_eq!(mine["messages"][0]["kind"], json!("customer"));
    let theirs = desk.create_ticket(&other, json!({"subject": "Their order"})).await;
    let staff_made = desk.ticket_for_customer(&agent, "Filed by staff").await;

    assert_eq!(sorted(desk.list_ids(&customer, "").await), sorted(vec![id_of(&mine), id_of(&staff_made)]));
    assert_eq!(desk.list_ids(&other, "").await, vec![id_of(&theirs)]);
    // Filters cannot widen the scope.
    let other_id = desk.seeded.other_customer.id;
    assert_eq!(desk.list_ids(&customer, &format!("requester={other_id}")).await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&customer, "q=order").await, vec![id_of(&mine)]);

    desk.ticket(&customer, id_of(&mine)).await;
    for path in [format!("/api/v1/tickets/{}", id_of(&theirs)), format!("/api/v1/tickets/{}/events", id_of(&theirs))] {
        let (status, body) = desk.call("GET", &path, &customer, None).await;
        assert_error((status, &body), 404, "not_found");
    }
    let before = desk.log_state(&agent, id_of(&theirs)).await;
    let (status, body) = desk
        .call("POST", &format!("/api/v1/tickets/{}/messages", id_of(&theirs)), &customer, Some(json!({"body": "hi"})))
        .await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(desk.log_state(&agent, id_of(&theirs)).await, before);

    // A customer cannot file for someone else or set staff fields.
    let count = desk.ticket_count(&agent).await;
    for extra in [json!({"requester_id": other_id}), json!({"status": "open"}), json!({"tags": ["vip"]})] {
        let mut body = json!({"subject": "Sneaky"});
        body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        let (status, response) = desk.call("POST", "/api/v1/tickets", &customer, Some(body)).await;
        assert_error((status, &response), 403, "forbidden");
    }
    assert_eq!(desk.ticket_count(&agent).await, count);
    // Nor read the staff directory.
    let (status, body) = desk.call("GET", "/api/v1/users", &customer, None).await;
    assert_error((status, &body), 403, "forbidden");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_cannot_change_tickets_or_write_notes() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Mine", "body": "hello"})).await);
    let before = desk.log_state(&agent, id).await;

    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/tickets/{id}"), &customer, Some(json!({"status": "closed"}))).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            &customer,
            Some(json!({"body": "x", "internal": true})),
        )
        .await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/assign"),
            &customer,
            Some(json!({"assignee_id": desk.seeded.agent.id})),
        )
        .await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call("POST", "/api/v1/tickets/bulk", &customer, Some(json!({"ids": [id], "patch": {"status": "closed"}})))
        .await;
    assert_error((status, &body), 403, "forbidden");
    assert_eq!(desk.log_state(&agent, id).await, before);

    // A plain follow-up is allowed and is a customer message.
    let added = desk
        .expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &customer, Some(json!({"body": "More info"})))
        .await;
    assert_eq!(added["events"][0]["message"]["kind"], json!("customer"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_never_see_internal_notes() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Secret", "body": "hello"})).await);
    let messages = format!("/api/v1/tickets/{id}/messages");
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "TOPSECRET: refund fraud?", "internal": true})))
        .await;
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "Thanks, checking."}))).await;

    let seen = desk.ticket(&customer, id).await;
    let bodies: Vec<_> = seen["messages"].as_array().expect("messages").iter().map(|m| m["body"].clone()).collect();
    assert_eq!(bodies, [json!("hello"), json!("Thanks, checking.")]);
    assert!(!seen.to_string().contains("TOPSECRET"));
    assert_eq!(desk.ticket(&agent, id).await["messages"].as_array().map(Vec::len), Some(3), "staff see the note");

    let events = desk.events(&customer, id, 0).await;
    assert_eq!(seqs(&events), (1..=events.len() as i64).collect::<Vec<_>>(), "seq stays contiguous");
    assert_eq!(events[2]["type"], json!("private"));
    assert_eq!(events[2]["seq"], json!(3));
    assert!(events[2].get("message").is_none());
    assert!(!serde_json::to_string(&events).expect("json").contains("TOPSECRET"));
    assert_eq!(event_types(&events), ["created", "message_added", "private", "message_added", "status_changed"]);
    assert_eq!(desk.events(&agent, id, 2).await[0]["type"], json!("message_added"), "staff see the note event");
    assert_eq!(desk.events(&customer, id, 2).await[0]["type"], json!("private"));

    // Searching for the note's words does not reveal the ticket to the customer.
    assert_eq!(desk.list_ids(&customer, "q=topsecret").await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&agent, "q=topsecret").await, vec![id]);
    desk.stop().await;
}

/// Creates a company and two member customers who can log in; returns their tokens.
async fn company_with_members(desk: &Desk, admin: &str, name: &str, shared: bool) -> (String, String) {
    company_with_writers(desk, admin, name, shared, false).await
}

/// As [`company_with_members`], with members who may also write on each other's tickets.
async fn company_with_writers(desk: &Desk, admin: &str, name: &str, shared: bool, writable: bool) -> (String, String) {
    let company = desk
        .expect(
            201,
            "POST",
            "/api/v1/companies",
            admin,
            Some(
                json!({"name": name, "members_see_company_tickets": shared, "members_write_company_tickets": writable}),
            ),
        )
        .await;
    assert_eq!(company["members_write_company_tickets"], json!(writable));
    assert_eq!(company["members_see_company_tickets"], json!(shared));
    let mut tokens = Vec::new();
    for member in ["ana", "ben"] {
        let email = format!("{member}@{}.example", name.to_lowercase());
        let user = desk
            .create_user(
                admin,
                json!({"email": email, "name": member, "role": "customer", "company_id": id_of(&company)}),
            )
            .await;
        assert_eq!(user["company_id"], json!(id_of(&company)));
        tokens.push(desk.login(&email).await);
    }
    let ben = tokens.pop().expect("ben");
    let ana = tokens.pop().expect("ana");
    (ana, ben)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_members_see_company_tickets_only_when_allowed() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let (open_ana, open_ben) = company_with_members(&desk, &admin, "Acme", true).await;
    let (closed_ana, closed_ben) = company_with_members(&desk, &admin, "Initech", false).await;
    let outsider = desk.login("cust@test.example").await;

    let shared = desk.create_ticket(&open_ana, json!({"subject": "Acme VPN down", "body": "All of us."})).await;
    assert!(shared["company_id"].is_i64(), "the ticket belongs to the company: {shared}");
    let private = desk.create_ticket(&closed_ana, json!({"subject": "Initech printer", "body": "Mine only."})).await;

    // Shared: the fellow member sees it, but writes only on their own tickets…
    assert_eq!(desk.list_ids(&open_ben, "").await, vec![id_of(&shared)]);
    desk.ticket(&open_ben, id_of(&shared)).await;
    let follow_up = format!("/api/v1/tickets/{}/messages", id_of(&shared));
    let (status, body) = desk.call("POST", &follow_up, &open_ben, Some(json!({"body": "Same here"}))).await;
    assert_error((status, &body), 403, "forbidden");
    desk.expect(201, "POST", &follow_up, &open_ana, Some(json!({"body": "Still down"}))).await;
    // …unless the company lets its members write on each other's tickets.
    let (writer_ana, writer_ben) = company_with_writers(&desk, &admin, "Globex", true, true).await;
    let together = desk.create_ticket(&writer_ana, json!({"subject": "Globex VPN", "body": "All of us."})).await;
    let path = format!("/api/v1/tickets/{}/messages", id_of(&together));
    desk.expect(201, "POST", &path, &writer_ben, Some(json!({"body": "Same here"}))).await;

    // Not shared: the fellow member sees nothing.
    assert_eq!(desk.list_ids(&closed_ben, "").await, Vec::<i64>::new());
    let (status, body) = desk.call("GET", &format!("/api/v1/tickets/{}", id_of(&private)), &closed_ben, None).await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(desk.list_ids(&closed_ana, "").await, vec![id_of(&private)]);

    // Nobody outside the company sees either.
    assert_eq!(desk.list_ids(&outsider, "").await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&closed_ben, "q=acme").await, Vec::<i64>::new());
    let (status, body) = desk.call("GET", &format!("/api/v1/tickets/{}", id_of(&shared)), &outsider, None).await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(
        sorted(desk.list_ids(&agent, "").await),
        sorted(vec![id_of(&shared), id_of(&private), id_of(&together)])
    );
    desk.stop().await;
}

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

// ---------------------------------------------------------------------------------------------
// 5. OpenAPI and operations endpoints
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// SLA policies, clocks on tickets, sort by SLA due
// ---------------------------------------------------------------------------------------------

/// Urgent: first reply in 30 min, resolved in 4 h; high: first reply in 2 h; medium: resolved in
/// 2 days; low: no SLA.
fn sla_policy() -> Value {
    json!({
        "enabled": true,
        "warning_percent": 75,
        "targets": [
            {"priority": "low", "first_response_minutes": null, "resolution_minutes": null},
            {"priority": "medium", "resolution_minutes": 2880},
            {"priority": "high", "first_response_minutes": 120},
            {"priority": "urgent", "first_response_minutes": 30, "resolution_minutes": 240}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_policy_is_admin_managed_and_validated_naming_the_field() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let path = "/api/v1/account/sla-policy";
    let initial = desk.expect(200, "GET", path, &agent, None).await;
    assert_eq!(
        initial,
        json!({"enabled": false, "warning_percent": 80, "targets": [], "business_hours": null}),
        "off until an admin sets it"
    );

    let (status, body) = desk.call("PUT", path, &agent, Some(sla_policy())).await;
    assert_error((status, &body), 403, "forbidden");

    let with = |change: &dyn Fn(&mut Value)| {
        let mut policy = sla_policy();
        change(&mut policy);
        policy
    };
    let refusals = [
        (with(&|p| p["warning_percent"] = json!(100)), "warning_percent"),
        (with(&|p| p["targets"][3]["first_response_minutes"] = json!(0)), "targets[3].first_response_minutes"),
        (with(&|p| p["targets"][3]["resolution_minutes"] = json!(10)), "targets[3].resolution_minutes"),
        (with(&|p| p["targets"][1]["priority"] = json!("urgent")), "targets[3].priority"),
        (with(&|p| p["targets"][0]["priority"] = json!("critical")), "targets[0].priority"),
        (with(&|p| p["targets"][2]["first_response_minutes"] = json!("soon")), "targets[2].first_response_minutes"),
        (with(&|p| p["targets"] = json!([])), "targets"),
        (with(&|p| p["escalate"] = json!(true)), "escalate"),
        (
            with(
                &|p| p["business_hours"] = json!({"time_zone": "Europe/Nowhere", "periods": [{"weekday": "mon", "start": "09:00", "end": "17:00"}]}),
            ),
            "business_hours.time_zone",
        ),
        (
            with(&|p| {
                p["business_hours"] =
                    json!({"time_zone": "UTC", "periods": [{"weekday": "mon", "start": "09:00", "end": "08:00"}]})
            }),
            "business_hours.periods[0].end",
        ),
        (
            with(&|p| {
                p["business_hours"] =
                    json!({"time_zone": "UTC", "periods": [{"weekday": "someday", "start": "09:00", "end": "17:00"}]})
            }),
            "business_hours.periods[0].weekday",
        ),
        (
            with(
                &|p| p["business_hours"] = json!({"time_zone": "UTC", "periods": [{"weekday": "mon", "start": "09:00", "end": "17:00"}], "holidays": ["2027-02-30"]}),
            ),
            "business_hours.holidays[0]",
        ),
    ];
    for (policy, field) in refusals {
        let (status, body) = desk.call("PUT", path, &admin, Some(policy)).await;
        assert_invalid((status, &body), field);
    }
    assert_eq!(desk.expect(200, "GET", path, &agent, None).await, initial, "a refused policy changes nothing");

    let saved = desk.expect(200, "PUT", path, &admin, Some(sla_policy())).await;
    let order: Vec<&str> =
        saved["targets"].as_array().expect("targets").iter().map(|t| t["priority"].as_str().expect("p")).collect();
    assert_eq!(order, ["urgent", "high", "medium", "low"], "most pressing first");
    assert_eq!(desk.expect(200, "GET", path, &agent, None).await, saved);
    let config = desk.expect(200, "GET", "/api/v1/account/config", &agent, None).await;
    assert_eq!(config["sla_policy"], saved, "part of the account config");
    let hours = json!({
        "time_zone": "Europe/Lisbon",
        "periods": [{"weekday": "mon", "start": "09:00", "end": "13:00"}, {"weekday": "mon", "start": "14:00", "end": "18:00"}],
        "holidays": ["2027-12-25"]
    });
    let with_hours = with(&|p| p["business_hours"] = hours.clone());
    let saved = desk.expect(200, "PUT", path, &admin, Some(with_hours)).await;
    assert_eq!(saved["business_hours"], hours);
    assert_eq!(desk.expect(200, "GET", path, &agent, None).await["business_hours"], hours);

    let (_, document) = desk.server.call("GET", "/api/openapi.json", None, None).await;
    let sla_path = &document["paths"]["/api/v1/account/sla-policy"];
    assert!(sla_path.get("get").is_some() && sla_path.get("put").is_some(), "{sla_path}");
    assert!(document["paths"]["/api/v1/sla/risk"].get("get").is_some());
    for schema in ["SlaPolicy", "SlaTarget", "SlaState", "SlaClock", "SlaRisk"] {
        assert!(document["components"]["schemas"].get(schema).is_some(), "{schema} missing from the OpenAPI schemas");
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_carry_sla_clocks_and_sort_by_sla_due() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(sla_policy())).await;
    let customer = desk.seeded.customer.id;
    let mut ids = std::collections::BTreeMap::new();
    for (name, urgency, importance) in [
        ("low", "low", "low"),
        ("high", "high", "medium"),
        ("urgent", "critical", "critical"),
        ("medium", "medium", "medium"),
    ] {
        let ticket = desk
            .create_ticket(
                &agent,
                json!({"subject": name, "body": "help", "requester_id": customer, "urgency": urgency, "importance": importance}),
            )
            .await;
        assert_eq!(ticket["priority"], json!(name));
        ids.insert(name, id_of(&ticket));
    }
    let id = |name: &str| ids[name];

    let urgent = desk.ticket(&agent, id("urgent")).await;
    let created: jiff::Timestamp = urgent["created_at"].as_str().expect("created_at").parse().expect("timestamp");
    let due = |minutes: i64| json!(created.saturating_add(jiff::SignedDuration::from_mins(minutes)).expect("time"));
    let first = &urgent["sla"]["first_response"];
    assert_eq!((&first["due_at"], &first["met_at"], &first["breached_at"]), (&due(30), &Value::Null, &Value::Null));
    assert_eq!(urgent["sla"]["resolution"]["due_at"], due(240));
    assert_eq!(desk.ticket(&agent, id("low")).await["sla"], Value::Null, "low priority has no SLA");
    let events = desk.events(&agent, id("urgent"), 0).await;
    assert_eq!(event_types(&events), ["created", "sla_changed", "message_added"]);

    let by_due = vec![id("urgent"), id("high"), id("medium"), id("low")];
    assert_eq!(desk.list_ids(&agent, "sort=sla_due").await, by_due, "soonest due first, no SLA last");
    let mut paged = Vec::new();
    let mut query = "sort=sla_due&limit=1".to_owned();
    loop {
        let (page, next) = desk.list(&agent, &query).await;
        paged.extend(page);
        let Some(next) = next else { break };
        query = format!("sort=sla_due&limit=1&cursor={next}");
    }
    assert_eq!(paged, by_due, "keyset pages follow the same order");

    // The first reply meets first response: the urgent ticket is now due at its resolution.
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{}/messages", id("urgent")),
        &agent,
        Some(json!({"body": "on it"})),
    )
    .await;
    let urgent = desk.ticket(&agent, id("urgent")).await;
    assert!(urgent["sla"]["first_response"]["met_at"].is_string(), "{urgent}");
    assert_eq!(desk.list_ids(&agent, "sort=sla_due").await, [id("high"), id("urgent"), id("medium"), id("low")]);

    // Waiting on the customer stops the clocks: no running SLA, so it sorts with the rest.
    let pending = desk.patch(&agent, id("high"), json!({"status": "pending"})).await;
    assert!(pending["ticket"]["sla"]["paused_at"].is_string(), "{pending}");
    assert_eq!(desk.list_ids(&agent, "sort=sla_due").await, [id("urgent"), id("medium"), id("low"), id("high")]);

    // A priority change re-targets the clocks (urgent → high: first response was met already).
    let lowered = desk.patch(&agent, id("urgent"), json!({"urgency": "high", "importance": "medium"})).await;
    assert_eq!(event_types(lowered["events"].as_array().expect("events")), ["priority_changed", "sla_changed"]);
    assert_eq!(lowered["ticket"]["sla"]["resolution"], Value::Null, "high has no resolution target");

    let (status, body) = desk.call("GET", "/api/v1/tickets?sort=sla", &agent, None).await;
    assert_invalid((status, &body), "sort");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_never_see_sla_clocks() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(sla_policy())).await;
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Clocked", "body": "hello"})).await);
    let patched = desk.patch(&agent, id, json!({"urgency": "critical", "importance": "critical"})).await;
    assert!(patched["ticket"]["sla"]["first_response"]["due_at"].is_string(), "staff see the clocks: {patched}");

    let seen = desk.ticket(&customer, id).await;
    assert_eq!(seen["sla"], Value::Null, "{seen}");
    let (page, _) = desk.list(&customer, "").await;
    assert_eq!(page, vec![id]);
    let listed = desk.expect(200, "GET", "/api/v1/tickets", &customer, None).await;
    assert_eq!(listed["items"][0]["sla"], Value::Null, "{listed}");

    let events = desk.events(&customer, id, 0).await;
    assert_eq!(seqs(&events), (1..=events.len() as i64).collect::<Vec<_>>(), "seq stays contiguous");
    assert!(event_types(&events).iter().all(|kind| !kind.starts_with("sla_")), "{events:?}");
    assert!(event_types(&events).contains(&"private"), "the SLA events are there, hidden");
    assert!(!serde_json::to_string(&events).expect("json").contains("due_at"));
    let staff_events = desk.events(&agent, id, 0).await;
    assert!(event_types(&staff_events).contains(&"sla_changed"));

    // The customer's own message answers with the ticket, still without the clocks.
    let posted = desk
        .expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &customer, Some(json!({"body": "any news?"})))
        .await;
    assert_eq!(posted["ticket"]["sla"], Value::Null, "{posted}");
    assert!(!posted.to_string().contains("due_at"), "{posted}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_risk_is_for_staff() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let page = desk.expect(200, "GET", "/api/v1/sla/risk", &agent, None).await;
    assert_eq!(page["items"], json!([]), "nothing at risk without a policy");
    let customer = desk.login("cust@test.example").await;
    let (status, body) = desk.call("GET", "/api/v1/sla/risk", &customer, None).await;
    assert_error((status, &body), 403, "forbidden");
    desk.stop().await;
}
