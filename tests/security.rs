//! The security review's findings (issue 10), each tried the way an attacker would: stored
//! files, tenant boundaries, sockets that outlive their session, cross-site requests, what
//! customers see, presence across accounts, limits, logs, and what the server serves.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchboard_actors::domain::Role;

const WAIT: Duration = Duration::from_secs(5);
const MAIL_SECRET: &str = "security-test-mail-secret";

struct Hub {
    db: TestDb,
    server: TestServer,
    seeded: Seeded,
    /// An agent of a second account on the same hub.
    stranger: String,
}

async fn hub(configure: impl FnOnce(&mut switchboard::config::Settings)) -> Hub {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let seeded = seed(&*store).await;
    other_account(&*store, "agent@other.example", "Mallory", Role::Agent).await;
    let mut settings = db.settings();
    settings.email.inbound_secret = switchboard::config::Secret(MAIL_SECRET.to_owned());
    configure(&mut settings);
    let server = TestServer::start(settings).await;
    let stranger = server.login("agent@other.example").await;
    Hub { db, server, seeded, stranger }
}

impl Hub {
    async fn expect(&self, status: u16, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (got, answer) = self.server.call(method, path, Some(token), body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }

    async fn ticket_for_customer(&self, agent: &str, subject: &str) -> i64 {
        let body = json!({"subject": subject, "body": "hello", "requester_id": self.seeded.customer.id});
        self.expect(201, "POST", "/api/v1/tickets", agent, Some(body)).await["id"].as_i64().expect("id")
    }

    async fn upload(&self, token: &str, name: &str, content_type: &str, bytes: &[u8]) -> Value {
        let response = self
            .server
            .http
            .post(self.server.url(&format!("/api/v1/uploads?name={name}")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status().as_u16(), 201, "upload of {name}");
        response.json().await.expect("attachment")
    }

    async fn download(&self, token: &str, url: &str) -> reqwest::Response {
        self.server.http.get(self.server.url(url)).bearer_auth(token).send().await.expect("download")
    }

    async fn ws(&self, token: &str) -> WsClient {
        WsClient::connect(&self.server.base, token).await
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const HTML: &[u8] = b"<!DOCTYPE html><html><body><script>parent.pwned = 1</script></body></html>";
const SVG: &[u8] = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(document.cookie)'/>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_files_download_under_a_sandbox_and_only_proven_images_show_in_place() {
    let hub = hub(|_| {}).await;
    let agent = hub.server.login("agent@test.example").await;
    let cases: [(&str, &str, &[u8], &str, &str); 4] = [
        ("page.png", "image/png", HTML, "text/html", "attachment"),
        ("logo.svg", "image/svg+xml", SVG, "image/svg+xml", "attachment"),
        ("photo.jpg", "image/jpeg", SVG, "application/octet-stream", "attachment"),
        ("dot.png", "application/pdf", PNG, "image/png", "inline"),
    ];
    for (name, declared, bytes, served_type, disposition) in cases {
        let file = hub.upload(&agent, name, declared, bytes).await;
        assert_eq!(file["content_type"], served_type, "the bytes decide the recorded type of {name}");
        let response = hub.download(&agent, file["url"].as_str().expect("url")).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(header(&response, "content-type"), served_type, "{name}");
        assert_eq!(header(&response, "content-disposition"), disposition, "{name}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "content-security-policy"), "default-src 'none'; sandbox");
    }
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_belong_to_their_account_and_are_attached_only_by_their_uploader_or_on_their_ticket() {
    let hub = hub(|_| {}).await;
    let agent = hub.server.login("agent@test.example").await;
    let supervisor = hub.server.login("sup@test.example").await;
    let customer = hub.server.login("cust@test.example").await;
    let file = hub.upload(&agent, "plan.png", "image/png", PNG).await;
    let url = file["url"].as_str().expect("url").to_owned();

    // Another account cannot read it by its hash, and neither can the other account upload a
    // copy and so gain our file's history: it gets its own entry.
    let response = hub.download(&hub.stranger, &url).await;
    assert_eq!(response.status().as_u16(), 404, "a file is not reachable from another account");
    assert_eq!(hub.download(&agent, &url).await.status().as_u16(), 200);

    let ticket = hub.ticket_for_customer(&agent, "Floor plan").await;
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let with_file = |body: &str| json!({"body": body, "attachments": [{"url": url, "name": "plan.png"}]});
    // The customer cannot pass the agent's file off as theirs; a colleague cannot send it either.
    let (status, body) = hub.server.call("POST", &path, Some(&customer), Some(with_file("mine now"))).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("validation_failed")), "{body}");
    let (status, body) = hub.server.call("POST", &path, Some(&supervisor), Some(with_file("borrowed"))).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("validation_failed")), "{body}");
    let (status, body) = hub.server.call("POST", &path, Some(&hub.stranger), Some(with_file("x"))).await;
    assert_eq!(status, 404, "another account's agent does not even see the ticket: {body}");
    // Its uploader can.
    hub.expect(201, "POST", &path, &agent, Some(with_file("Here is the plan"))).await;
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_close_with_4001_when_their_session_ends() {
    let hub = hub(|_| {}).await;
    let admin = hub.server.login("admin@test.example").await;
    let agent_id = hub.seeded.agent.id;

    // Logout closes that session's sockets, not the user's others.
    let first = hub.server.login("agent@test.example").await;
    let second = hub.server.login("agent@test.example").await;
    let (mut ws_first, mut ws_second) = (hub.ws(&first).await, hub.ws(&second).await);
    hub.expect(204, "POST", "/api/v1/auth/logout", &first, None).await;
    assert_eq!(ws_first.close_code(WAIT).await, Some(4001), "the logged-out session's socket closes");
    ws_second.send(json!({"type": "ping"})).await;
    assert_eq!(ws_second.expect("pong", WAIT).await["type"], "pong", "the other session's socket stays");

    // A role change closes all of the user's sockets (they keep the role they connected with).
    let user = format!("/api/v1/users/{agent_id}");
    hub.expect(200, "PATCH", &user, &admin, Some(json!({"role": "supervisor"}))).await;
    assert_eq!(ws_second.close_code(WAIT).await, Some(4001), "a role change closes the sockets");
    hub.expect(200, "PATCH", &user, &admin, Some(json!({"role": "agent"}))).await;

    // A password reset ends the user's sessions and their sockets.
    let third = hub.server.login("agent@test.example").await;
    let mut ws_third = hub.ws(&third).await;
    hub.expect(200, "PATCH", &user, &admin, Some(json!({"password": "a-brand-new-password"}))).await;
    assert_eq!(ws_third.close_code(WAIT).await, Some(4001), "a password reset closes the sockets");
    let (status, _) = hub.server.call("GET", "/api/v1/me", Some(&third), None).await;
    assert_eq!(status, 401, "and ends the sessions");

    // Deactivation: a customer's socket stops receiving their ticket at once.
    let customer = hub.server.login("cust@test.example").await;
    let mut ws_customer = hub.ws(&customer).await;
    let customer_id = hub.seeded.customer.id;
    hub.expect(200, "PATCH", &format!("/api/v1/users/{customer_id}"), &admin, Some(json!({"active": false}))).await;
    assert_eq!(ws_customer.close_code(WAIT).await, Some(4001), "deactivation closes the sockets");
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_authenticated_upgrades_and_writes_come_only_from_our_own_origin() {
    let hub = hub(|_| {}).await;
    let token = hub.server.login("agent@test.example").await;
    let cookie = format!("switchboard_session={token}");
    let base = hub.server.base.clone();
    let evil = "https://evil.example";

    // Cross-site WebSocket hijacking: the browser would send the cookie from any page.
    let refused = WsClient::connect_with(&base, "/api/v1/ws", &[("cookie", &cookie), ("origin", evil)]).await;
    assert_eq!(refused.err(), Some(403), "a cookie from another origin opens no socket");
    let ours = WsClient::connect_with(&base, "/api/v1/ws", &[("cookie", &cookie), ("origin", &base)]).await;
    assert!(ours.is_ok(), "our own pages connect");
    let path = format!("/api/v1/ws?token={token}");
    let by_token = WsClient::connect_with(&base, &path, &[("origin", evil)]).await;
    assert!(by_token.is_ok(), "a token the client sends itself needs no origin check");

    // Cross-site request forgery on endpoints that take no JSON.
    let post = |path: &str, origin: Option<&str>| {
        let mut request = hub.server.http.post(hub.server.url(path)).header("cookie", cookie.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request
    };
    let response = post("/api/v1/auth/logout", Some(evil)).send().await.expect("logout");
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "cross_origin");
    let response = post("/api/v1/uploads?name=x.txt", None)
        .header("content-type", "text/plain")
        .body("forged")
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 403, "no Origin and no custom header: refused");
    let me = hub.server.http.get(hub.server.url("/api/v1/me")).header("cookie", cookie.clone()).send().await;
    assert_eq!(me.expect("me").status().as_u16(), 200, "the forged logout changed nothing");
    let response = post("/api/v1/auth/logout", Some(&base)).send().await.expect("logout");
    assert_eq!(response.status().as_u16(), 204, "our own page logs out");
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_see_status_public_messages_and_their_fields_never_triage() {
    let hub = hub(|_| {}).await;
    let admin = hub.server.login("admin@test.example").await;
    let agent = hub.server.login("agent@test.example").await;
    let customer = hub.server.login("cust@test.example").await;
    for (key, visible) in [("order_number", true), ("fraud_score", false)] {
        let field = json!({"key": key, "label": key, "field_type": "text", "customer_visible": visible});
        hub.expect(204, "PUT", "/api/v1/account/custom-fields", &admin, Some(field)).await;
    }
    let id = hub.ticket_for_customer(&agent, "Where is my order").await;
    let mut watcher = hub.ws(&customer).await;
    let ack = watcher.subscribe(&format!("ticket:{id}"), None).await;
    let start = ack["seq"].as_i64().expect("seq");
    let mut agent_ws = hub.ws(&agent).await;
    agent_ws.subscribe(&format!("ticket:{id}"), None).await;
    agent_ws.send(json!({"type": "viewing", "ticket_id": id})).await;

    let ticket = format!("/api/v1/tickets/{id}");
    let agent_id = hub.seeded.agent.id;
    let assign = json!({"assignee_id": agent_id, "reason": "VIP, handle carefully"});
    hub.expect(200, "POST", &format!("{ticket}/assign"), &agent, Some(assign)).await;
    let triage = json!({"add_tags": ["angry"], "urgency": "critical",
                        "custom_fields": {"order_number": "A-1", "fraud_score": "93"}});
    hub.expect(200, "PATCH", &ticket, &agent, Some(triage)).await;
    let note = json!({"body": "check fraud first", "internal": true});
    hub.expect(201, "POST", &format!("{ticket}/messages"), &agent, Some(note)).await;
    hub.expect(201, "POST", &format!("{ticket}/messages"), &agent, Some(json!({"body": "On its way"}))).await;

    let mut frames = Vec::new();
    while let Some(frame) = watcher.next(Duration::from_millis(1500)).await {
        frames.push(frame);
    }
    let text = serde_json::to_string(&frames).expect("json");
    for secret in ["VIP", "angry", "fraud_score", "\"93\"", "check fraud", "critical", "agent@", "\"agent\""] {
        assert!(!text.contains(secret), "`{secret}` reached the customer: {text}");
    }
    let events: Vec<&Value> = frames.iter().filter(|frame| frame["type"] == "event").collect();
    let seqs: Vec<i64> = events.iter().filter_map(|frame| frame["seq"].as_i64()).collect();
    assert_eq!(seqs, ((start + 1)..=(start + seqs.len() as i64)).collect::<Vec<_>>(), "no gaps: {text}");
    let kinds: Vec<&str> = events.iter().filter_map(|frame| frame["event"]["type"].as_str()).collect();
    assert!(kinds.contains(&"private"), "{kinds:?}");
    assert!(kinds.contains(&"fields_changed"), "the visible field's change arrives: {kinds:?}");
    assert!(
        events.iter().any(|frame| frame["event"]["message"]["body"] == "On its way"),
        "public replies arrive: {text}"
    );
    let viewers: Vec<&Value> = frames.iter().filter(|frame| frame["type"] == "viewers").collect();
    assert!(
        viewers
            .iter()
            .flat_map(|frame| frame["viewers"].as_array().into_iter().flatten())
            .all(|viewer| viewer["name"] == "an agent"),
        "customers are told an agent is there, never who: {viewers:?}"
    );

    let seen = hub.expect(200, "GET", &ticket, &customer, None).await;
    for hidden in ["tags", "assignee_id", "priority", "urgency", "importance", "sla", "team_id"] {
        assert!(seen.get(hidden).is_none(), "`{hidden}` in the customer's ticket: {seen}");
    }
    assert_eq!(seen["custom_fields"], json!({"order_number": "A-1"}));
    assert_eq!(seen["messages"].as_array().map(Vec::len), Some(2), "the opening message and the reply, no note");
    assert_eq!(seen["messages"][1]["author_id"], Value::Null, "customers learn no staff ids: {seen}");
    assert!(
        events.iter().all(|frame| frame["event"]["actor_id"].is_null()),
        "no event names the staff member who acted: {text}"
    );
    let log = hub.expect(200, "GET", &format!("{ticket}/events?after=0"), &customer, None).await;
    let log_text = log.to_string();
    assert!(!log_text.contains("VIP") && !log_text.contains("fraud_score"), "{log_text}");
    let staff = hub.expect(200, "GET", &ticket, &agent, None).await;
    assert_eq!(staff["tags"], json!(["angry"]), "staff see everything");
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_frames_stay_inside_their_account() {
    let hub = hub(|_| {}).await;
    let agent = hub.server.login("agent@test.example").await;
    let id = hub.ticket_for_customer(&agent, "Ours").await;
    let mut ours = hub.ws(&agent).await;
    ours.subscribe(&format!("ticket:{id}"), None).await;
    let _ = ours.expect("viewers", WAIT).await;

    let mut theirs = hub.ws(&hub.stranger).await;
    theirs.send(json!({"type": "viewing", "ticket_id": id})).await;
    let refusal = theirs.expect("error", WAIT).await;
    assert_eq!(refusal["code"], "forbidden_topic", "{refusal}");
    theirs.send(json!({"type": "typing", "ticket_id": id, "on": true})).await;
    assert_eq!(theirs.expect("error", WAIT).await["code"], "forbidden_topic");
    while let Some(frame) = ours.next(Duration::from_millis(800)).await {
        assert!(!frame.to_string().contains("Mallory"), "another account's agent was announced: {frame}");
    }
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_holds_at_most_the_configured_number_of_sockets() {
    let hub = hub(|settings| settings.ws.max_sockets_per_user = 3).await;
    let agent = hub.server.login("agent@test.example").await;
    let path = format!("/api/v1/ws?token={agent}");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(WsClient::connect_with(&hub.server.base, &path, &[]).await.expect("within the cap"));
    }
    let refused = WsClient::connect_with(&hub.server.base, &path, &[]).await;
    assert_eq!(refused.err(), Some(429), "the fourth socket is refused");
    let supervisor = hub.server.login("sup@test.example").await;
    let other = WsClient::connect_with(&hub.server.base, &format!("/api/v1/ws?token={supervisor}"), &[]).await;
    assert!(other.is_ok(), "the cap is per user");
    held.pop().expect("one").close().await;
    let mut again = None;
    for _ in 0..50 {
        if let Ok(socket) = WsClient::connect_with(&hub.server.base, &path, &[]).await {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "a closed socket frees its place");
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_cannot_triage_their_own_tickets() {
    let hub = hub(|_| {}).await;
    let customer = hub.server.login("cust@test.example").await;
    for field in ["urgency", "importance"] {
        let body = json!({"subject": "Help", "body": "Please", field: "critical"});
        let (status, answer) = hub.server.call("POST", "/api/v1/tickets", Some(&customer), Some(body)).await;
        assert_eq!((status, answer["error"].as_str()), (403, Some("forbidden")), "{answer}");
    }
    let created =
        hub.expect(201, "POST", "/api/v1/tickets", &customer, Some(json!({"subject": "Help", "body": "Please"}))).await;
    assert!(created.get("urgency").is_none(), "{created}");
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_tokens_never_reach_the_logs() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let logs = tempfile::tempdir().expect("log dir");
    let server = ChildServer::start_with(&db, logs.path(), &[("RUST_LOG", "debug".to_owned())]).await;
    let http = http_client();
    let token = login(&http, &server.base, "agent@test.example").await;
    let mut ws = WsClient::connect(&server.base, &token).await;
    ws.subscribe("queue", None).await;
    ws.close().await;
    // `/me` takes no query parameters, so this is refused (400) — and logged, which is the point.
    let response = http.get(format!("{}/api/v1/me?token={token}", server.base)).bearer_auth(&token).send().await;
    assert_eq!(response.expect("me").status().as_u16(), 400);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(log.contains("token=[redacted]"), "the request was logged, redacted");
    assert!(!log.contains(&token), "a live session token is in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_tests_are_neither_embedded_nor_served() {
    let hub = hub(|_| {}).await;
    for path in ["/tests/harness.mjs", "/tests/package.json", "/tests/console.test.mjs"] {
        let response = hub.server.http.get(hub.server.url(path)).send().await.expect("get");
        assert_eq!(response.status().as_u16(), 404, "{path} is served");
    }
    // The console's page (at `/` only for signed-in staff; `/` is the public landing page).
    let index = hub.server.http.get(hub.server.url("/agent")).send().await.expect("index");
    assert_eq!(index.status().as_u16(), 200);
    assert!(header(&index, "content-security-policy").contains("script-src 'self'"));
    assert_eq!(header(&index, "referrer-policy"), "same-origin");
    assert_eq!(header(&index, "x-content-type-options"), "nosniff");
    assert!(header(&index, "permissions-policy").contains("camera=()"));
    hub.server.stop().await;
}

/// Installing the console as an app widens nothing: the manifest and the service worker come
/// from this origin with the types browsers insist on, the worker keeps the scope of its own path
/// (no `Service-Worker-Allowed`), and the policy stays free of inline script and eval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installable_console_keeps_its_strict_policy() {
    let hub = hub(|_| {}).await;
    let get = |path: &'static str| hub.server.http.get(hub.server.url(path)).send();
    let index = get("/agent").await.expect("index");
    let policy = header(&index, "content-security-policy");
    for directive in ["worker-src 'self'", "manifest-src 'self'", "default-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{directive} missing from {policy}");
    }
    for loosening in ["unsafe-inline", "unsafe-eval", "*", "http:", "https:"] {
        assert!(!policy.contains(loosening), "{loosening} in {policy}");
    }
    assert!(index.text().await.expect("index body").contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));

    let manifest = get("/manifest.webmanifest").await.expect("manifest");
    assert_eq!(manifest.status().as_u16(), 200);
    assert_eq!(header(&manifest, "content-type"), "application/manifest+json");
    let manifest: Value = manifest.json().await.expect("the manifest is JSON");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["start_url"], "/");
    let icons = manifest["icons"].as_array().expect("icons");
    for size in ["192x192", "512x512"] {
        let icon = icons.iter().find(|icon| icon["sizes"] == size).unwrap_or_else(|| panic!("no {size} icon"));
        let src = icon["src"].as_str().expect("src");
        let png = hub.server.http.get(hub.server.url(src)).send().await.expect("icon");
        assert_eq!(header(&png, "content-type"), "image/png", "{src}");
        assert!(png.bytes().await.expect("icon bytes").starts_with(b"\x89PNG\r\n\x1a\n"), "{src} is a PNG");
    }

    let worker = get("/sw.js").await.expect("worker");
    assert_eq!(worker.status().as_u16(), 200);
    assert_eq!(header(&worker, "content-type"), "text/javascript");
    assert_eq!(header(&worker, "service-worker-allowed"), "", "the worker needs no scope wider than /");
    assert_eq!(header(&worker, "cache-control"), "no-cache", "a new worker is picked up on the next visit");
    // The icons' generator stays in the repository.
    assert_eq!(get("/icons/generate.py").await.expect("generator").status().as_u16(), 404);
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_behind_https() {
    let hub = hub(|settings| settings.server.public_url = "https://desk.example.com".to_owned()).await;
    let response = hub
        .server
        .http
        .post(hub.server.url("/api/v1/auth/login"))
        .json(&json!({"email": "agent@test.example", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let cookie = header(&response, "set-cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_from_a_staff_address_opens_no_ticket_and_says_why() {
    let hub = hub(|_| {}).await;
    let agent = hub.server.login("agent@test.example").await;
    let raw = "From: Agent <agent@test.example>\r\nSubject: Reset my password\r\nMessage-ID: <forged@x.example>\r\n\r\nplease\r\n";
    let response = hub
        .server
        .http
        .post(hub.server.url("/webhooks/email"))
        .header("x-switchboard-secret", MAIL_SECRET)
        .body(raw)
        .send()
        .await
        .expect("deliver");
    assert_eq!(response.status().as_u16(), 202);
    let error = {
        use sqlx::Connection as _;
        let mut connection = sqlx::SqliteConnection::connect(&hub.db.url).await.expect("database");
        let mut found = None;
        for _ in 0..100 {
            found =
                sqlx::query_scalar::<_, Option<String>>("SELECT error FROM email_inbox WHERE processed_at IS NOT NULL")
                    .fetch_optional(&mut connection)
                    .await
                    .expect("inbox")
                    .flatten();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        found.expect("the email was processed with a reason")
    };
    assert!(error.contains("staff address"), "{error}");
    let list = hub.expect(200, "GET", "/api/v1/tickets", &agent, None).await;
    assert_eq!(list["items"], json!([]), "no ticket with staff as requester");
    hub.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_header_claiming_more_than_the_limit_closes_at_once_with_1009() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let hub = hub(|settings| settings.ws.max_frame_bytes = 1024).await;
    let token = hub.server.login("agent@test.example").await;
    let address = hub.server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let handshake = format!(
        "GET /api/v1/ws?token={token} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(handshake.as_bytes()).await.expect("handshake");
    let mut buffer = vec![0u8; 4096];
    let mut received = Vec::new();
    while !received.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.expect("answer").expect("read");
        assert!(read > 0, "closed during the handshake");
        received.extend_from_slice(&buffer[..read]);
    }
    assert!(received.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&received));
    // A masked text frame header announcing 1 GiB, and no payload at all.
    let header = [0x81u8, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4];
    stream.write_all(&header).await.expect("frame header");
    let mut frame = Vec::new();
    while frame.len() < 4 {
        let read =
            tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.expect("a close within 5 s").expect("read");
        assert!(read > 0, "the server hung up without a close frame");
        frame.extend_from_slice(&buffer[..read]);
    }
    assert_eq!(frame[0], 0x88, "a close frame: {frame:?}");
    assert_eq!(u16::from_be_bytes([frame[2], frame[3]]), 1009, "message too big");
    hub.server.stop().await;
}
