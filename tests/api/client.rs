//! The test client: a seeded server and typed helpers over its HTTP API.

use switchboard_actors::clock::ManualClock;

use super::*;

/// A running server on its own seeded database; `db` keeps the database alive.
pub(crate) struct Desk {
    pub(crate) _db: TestDb,
    pub(crate) seeded: Seeded,
    pub(crate) server: TestServer,
}

impl Desk {
    pub(crate) async fn start() -> Desk {
        Desk::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tune: impl FnOnce(&mut Settings)) -> Desk {
        let db = TestDb::sqlite();
        let seeded = seed(&*db.open().await).await;
        let mut settings = db.settings();
        tune(&mut settings);
        let server = TestServer::start(settings).await;
        Desk { _db: db, seeded, server }
    }

    /// A desk whose server runs on `clock` (quiet hours and digests move it).
    pub(crate) async fn start_with_clock(clock: Arc<dyn switchboard_actors::clock::Clock>) -> Desk {
        let db = TestDb::sqlite();
        let seeded = seed(&*db.open().await).await;
        let server = TestServer::start_with_clock(db.settings(), clock).await;
        Desk { _db: db, seeded, server }
    }

    /// A desk on `backend` whose server runs on `clock`.
    pub(crate) async fn start_on(backend: Backend, clock: Arc<dyn switchboard_actors::clock::Clock>) -> Desk {
        let db = TestDb::new(backend).await;
        let seeded = seed(&*db.open().await).await;
        let server = TestServer::start_with_clock(db.settings(), clock).await;
        Desk { _db: db, seeded, server }
    }

    /// A desk on `backend` whose server runs on `clock`, with `tune` applied to its settings.
    pub(crate) async fn start_tuned(
        backend: Backend,
        clock: Arc<dyn switchboard_actors::clock::Clock>,
        tune: impl FnOnce(&mut Settings),
    ) -> Desk {
        let db = TestDb::new(backend).await;
        let seeded = seed(&*db.open().await).await;
        let mut settings = db.settings();
        tune(&mut settings);
        let server = TestServer::start_with_clock(settings, clock).await;
        Desk { _db: db, seeded, server }
    }

    /// Stops the server, moves `clock` on by `down` while it is stopped, and starts another on
    /// the same database and clock: timers due while it was down fire as it starts. The clock
    /// moves only while no server runs: a running one would see its timers come due, claim them
    /// and stop before they fire, leaving a claim that a frozen clock never lets expire.
    pub(crate) async fn down_for(self, clock: &Arc<ManualClock>, down: jiff::SignedDuration) -> Desk {
        let Desk { _db: db, seeded, server } = self;
        server.stop().await;
        clock.advance(down);
        let server = TestServer::start_with_clock(db.settings(), clock.clone()).await;
        Desk { _db: db, seeded, server }
    }

    pub(crate) async fn stop(self) {
        self.server.stop().await;
    }

    pub(crate) async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.server.call(method, path, Some(token), body).await
    }

    /// `call` that must answer `status`; returns the body.
    pub(crate) async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Value {
        let (got, value) = self.call(method, path, token, body).await;
        assert_eq!(got, status, "{method} {path} answered {got}: {value}");
        value
    }

    pub(crate) async fn create_ticket(&self, token: &str, body: Value) -> Value {
        self.expect(201, "POST", "/api/v1/tickets", token, Some(body)).await
    }

    /// A ticket for the seeded customer with a first message, created by `token` (staff).
    pub(crate) async fn ticket_for_customer(&self, token: &str, subject: &str) -> Value {
        let requester = self.seeded.customer.id;
        self.create_ticket(token, json!({"subject": subject, "body": "Please help.", "requester_id": requester})).await
    }

    pub(crate) async fn patch(&self, token: &str, id: i64, body: Value) -> Value {
        self.expect(200, "PATCH", &format!("/api/v1/tickets/{id}"), token, Some(body)).await
    }

    pub(crate) async fn ticket(&self, token: &str, id: i64) -> Value {
        self.expect(200, "GET", &format!("/api/v1/tickets/{id}"), token, None).await
    }

    pub(crate) async fn events(&self, token: &str, id: i64, after: i64) -> Vec<Value> {
        let page = self.expect(200, "GET", &format!("/api/v1/tickets/{id}/events?after={after}"), token, None).await;
        page["items"].as_array().expect("events items").clone()
    }

    /// The ids of one page of `GET /api/v1/tickets?{query}`, and its `next`.
    pub(crate) async fn list(&self, token: &str, query: &str) -> (Vec<i64>, Option<String>) {
        let page = self.expect(200, "GET", &format!("/api/v1/tickets?{query}"), token, None).await;
        (ids(&page["items"]), page["next"].as_str().map(str::to_owned))
    }

    pub(crate) async fn list_ids(&self, token: &str, query: &str) -> Vec<i64> {
        let (ids, next) = self.list(token, query).await;
        assert_eq!(next, None, "`{query}` should fit on one page");
        ids
    }

    /// `(seq, number of events)` of a ticket, to prove a refused write changed nothing.
    pub(crate) async fn log_state(&self, token: &str, id: i64) -> (i64, usize) {
        let seq = self.ticket(token, id).await["seq"].as_i64().expect("seq");
        (seq, self.events(token, id, 0).await.len())
    }

    pub(crate) async fn ticket_count(&self, token: &str) -> usize {
        self.list_ids(token, "limit=200").await.len()
    }

    pub(crate) async fn users(&self, admin: &str) -> Vec<Value> {
        self.expect(200, "GET", "/api/v1/users", admin, None).await["items"].as_array().expect("users").clone()
    }

    /// Creates a user as `admin` with the test password, returns it.
    pub(crate) async fn create_user(&self, admin: &str, body: Value) -> Value {
        let mut body = body;
        body["password"] = json!(PASSWORD);
        self.expect(201, "POST", "/api/v1/users", admin, Some(body)).await
    }

    pub(crate) async fn login(&self, email: &str) -> String {
        self.server.login(email).await
    }

    pub(crate) async fn staff(&self) -> (String, String) {
        (self.login("admin@test.example").await, self.login("agent@test.example").await)
    }

    /// A request with raw bytes and headers, for what `call` cannot send.
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> RawResponse {
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

pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) cookies: Vec<String>,
    pub(crate) body: Value,
}

pub(crate) fn ids(items: &Value) -> Vec<i64> {
    items.as_array().expect("items array").iter().map(|item| item["id"].as_i64().expect("id")).collect()
}

pub(crate) fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().unwrap_or_else(|| panic!("no id in {value}"))
}

pub(crate) fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// Every refusal is `{"error": code, "message": text}` (plus `field` for validation errors, and
/// `position` and `expected` for a query that does not parse).
#[track_caller]
pub(crate) fn assert_error(got: (u16, &Value), status: u16, code: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "expected {status} {code}, got {got_status}: {body}");
    let object = body.as_object().unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert_eq!(object.get("error").and_then(Value::as_str), Some(code), "error code in {body}");
    let message = object.get("message").and_then(Value::as_str).unwrap_or_default();
    assert!(!message.is_empty(), "error message missing in {body}");
    let known = ["error", "message", "field", "position", "expected"];
    assert!(object.keys().all(|key| known.contains(&key.as_str())), "extra keys in {body}");
    if object.contains_key("position") || object.contains_key("expected") {
        assert_eq!(code, "invalid_query", "only query errors carry a position: {body}");
    }
}

/// A 422 naming `field`.
#[track_caller]
pub(crate) fn assert_invalid(got: (u16, &Value), field: &str) {
    assert_error(got, 422, "validation_failed");
    assert_eq!(got.1["field"], json!(field), "field in {}", got.1);
}

pub(crate) fn event_types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|event| event["type"].as_str().expect("event type")).collect()
}

pub(crate) fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|event| event["seq"].as_i64().expect("seq")).collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Authentication
// ---------------------------------------------------------------------------------------------

/// Percent-encodes what a query string cannot carry as is.
pub(crate) fn encoded(query: &str) -> String {
    query
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '"' => "%22".to_owned(),
            '&' => "%26".to_owned(),
            '#' => "%23".to_owned(),
            '%' => "%25".to_owned(),
            '+' => "%2B".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// A manual clock starting now, to the millisecond (sessions and tokens are stamped with it).
pub(crate) fn manual_clock() -> Arc<ManualClock> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as i64;
    Arc::new(ManualClock::new(jiff::Timestamp::from_millisecond(now).expect("now")))
}

/// SQLite always; PostgreSQL too when the test environment names one.
pub(crate) fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").is_ok() {
        backends.push(Backend::Postgres);
    }
    backends
}

/// Polls until `check` holds (work that follows a commit: notifications, timers fired at a start).
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen");
}
