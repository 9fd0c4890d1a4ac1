//! Outbound webhooks end to end, on SQLite and (when its URL is set) PostgreSQL: a loopback
//! receiver checks every signature with an HMAC-SHA256 written here from SHA-256 alone (not the
//! hub's `hmac` crate); every event arrives exactly once and in order per ticket; a refused
//! delivery is retried after a restart on a manual clock; a day of failures disables the
//! subscription and tells the admins; private addresses need `allow_private`; only the
//! account's admins may touch any of it, and bad input changes nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};

use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use switchboard_actors::clock::Clock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// HMAC-SHA256 (RFC 2104) from the hash alone.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    hex::encode(outer)
}

#[test]
fn the_tests_hmac_is_hmac() {
    // RFC 4231, test case 2.
    assert_eq!(
        hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

/// One request as the receiver saw it: its headers (lower-case names) and body.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A loopback HTTP receiver: answers every request with the status the test sets, and keeps
/// what arrived.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let status = Arc::new(AtomicU16::new(status));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (answer, log) = (status.clone(), received.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (answer, log) = (answer.clone(), log.clone());
                tokio::spawn(async move { serve_one(socket, answer, log).await });
            }
        });
        Receiver { url, status, received }
    }

    fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }
}

async fn serve_one(mut socket: tokio::net::TcpStream, status: Arc<AtomicU16>, log: Arc<Mutex<Vec<Received>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let read = socket.read(&mut chunk).await.unwrap_or(0);
        if read == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
        .collect();
    let length = headers.get("content-length").and_then(|value| value.parse::<usize>().ok()).unwrap_or(0);
    while buffer.len() < end + 4 + length {
        let read = socket.read(&mut chunk).await.unwrap_or(0);
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[end + 4..].to_vec();
    let status = status.load(Ordering::SeqCst);
    log.lock().expect("log").push(Received { headers, body });
    let _ = socket
        .write_all(format!("HTTP/1.1 {status} Whatever\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno").as_bytes())
        .await;
}

/// Checks the signature as a receiver would, and answers the event.
fn verified(request: &Received, secret: &str) -> Value {
    let header = request.headers.get("switchboard-signature").expect("a Switchboard-Signature header");
    let (t, v1) = header.split_once(",v1=").expect("t=…,v1=…");
    let t = t.strip_prefix("t=").expect("t=");
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(&request.body);
    assert_eq!(v1, hmac_sha256(secret.as_bytes(), &signed), "signature of {}", String::from_utf8_lossy(&request.body));
    assert_eq!(request.headers.get("content-type").map(String::as_str), Some("application/json"));
    serde_json::from_slice(&request.body).expect("a JSON body")
}

async fn create_webhook(desk: &Desk, admin: &str, body: Value) -> Value {
    desk.expect(201, "POST", "/api/v1/webhooks", admin, Some(body)).await
}

async fn deliveries(desk: &Desk, admin: &str, webhook: i64) -> Vec<Value> {
    let page = desk.expect(200, "GET", &format!("/api/v1/webhooks/{webhook}/deliveries"), admin, None).await;
    page["items"].as_array().expect("deliveries").clone()
}

/// The delivery log once `check` holds of it (polled).
async fn log_until(desk: &Desk, admin: &str, webhook: i64, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let log = deliveries(desk, admin, webhook).await;
        if check(&log) {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the delivery log never came to the expected state: {:?}", deliveries(desk, admin, webhook).await);
}

async fn wait_for_requests(receiver: &Receiver, count: usize) -> Vec<Received> {
    for _ in 0..200 {
        let received = receiver.received();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the receiver got {} requests, expected {count}", receiver.received().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_exactly_once_and_in_order_per_ticket() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let receiver = Receiver::start(200).await;
        let created =
            create_webhook(&desk, &admin, json!({"url": receiver.url, "events": ["*"], "allow_private": true})).await;
        let secret = created["secret"].as_str().expect("the secret, shown on create").to_owned();
        assert!(secret.starts_with("whsec_"), "{secret}");
        let listed = desk.expect(200, "GET", "/api/v1/webhooks", &admin, None).await;
        assert!(listed["items"][0].get("secret").is_none(), "a listed webhook hides its secret: {listed}");

        let mut tickets = Vec::new();
        for subject in ["First", "Second", "Third"] {
            tickets.push(id_of(&desk.ticket_for_customer(&agent, subject).await));
        }
        for round in 0..3 {
            for ticket in &tickets {
                let path = format!("/api/v1/tickets/{ticket}/messages");
                desk.expect(201, "POST", &path, &agent, Some(json!({"body": format!("Reply {round}")}))).await;
            }
        }
        desk.patch(&agent, tickets[0], json!({"status": "pending"})).await;
        let mut expected = 0;
        for ticket in &tickets {
            expected += desk.events(&agent, *ticket, 0).await.len();
        }
        let received = wait_for_requests(&receiver, expected).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let received = if receiver.received().len() > received.len() { receiver.received() } else { received };
        assert_eq!(received.len(), expected, "one request per event");

        let mut ids = std::collections::HashSet::new();
        let mut seqs: HashMap<i64, Vec<i64>> = HashMap::new();
        for request in &received {
            let event = verified(request, &secret);
            assert!(ids.insert(event["id"].as_str().expect("id").to_owned()), "{event} twice");
            assert_eq!(event["account_id"], json!(desk.seeded.account.id));
            assert!(event["type"].is_string() && event["data"].is_object() && event["position"].is_i64(), "{event}");
            seqs.entry(event["ticket_id"].as_i64().expect("ticket"))
                .or_default()
                .push(event["seq"].as_i64().expect("seq"));
        }
        for ticket in &tickets {
            let count = desk.events(&agent, *ticket, 0).await.len() as i64;
            assert_eq!(seqs[ticket], (1..=count).collect::<Vec<_>>(), "ticket {ticket}'s events in order, once each");
        }
        let log = deliveries(&desk, &admin, id_of(&created)).await;
        assert_eq!(log.len(), expected);
        assert!(log.iter().all(|delivery| delivery["status"] == "delivered" && delivery["last_status_code"] == 200));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_retried_after_a_restart_and_can_be_redelivered() {
    for backend in backends() {
        let clock = manual_clock();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let receiver = Receiver::start(503).await;
        let created = create_webhook(
            &desk,
            &admin,
            json!({"url": receiver.url, "events": ["created"], "allow_private": true, "secret": "a-secret-of-sixteen+"}),
        )
        .await;
        let webhook = id_of(&created);
        desk.ticket_for_customer(&agent, "Retry me").await;
        wait_for_requests(&receiver, 1).await;
        let log =
            log_until(&desk, &admin, webhook, |log| log.first().is_some_and(|delivery| delivery["attempts"] == 1))
                .await;
        assert_eq!((&log[0]["status"], &log[0]["last_status_code"]), (&json!("pending"), &json!(503)), "{log:?}");
        assert!(log[0]["last_error"].as_str().is_some_and(|error| error.contains("503")), "{log:?}");
        let next: jiff::Timestamp = log[0]["next_attempt_at"].as_str().expect("next").parse().expect("time");
        assert_eq!(next.duration_since(clock.now()).as_secs(), 30, "the first retry after 30 s");

        receiver.set_status(204);
        desk = desk.down_for(&clock, SignedDuration::from_mins(1)).await;
        let received = wait_for_requests(&receiver, 2).await;
        assert_eq!(received[0].body, received[1].body, "the retry sends the same event");
        let event = verified(&received[1], "a-secret-of-sixteen+");
        assert_eq!(event["type"], "created");
        log_until(&desk, &admin, webhook, |log| {
            log[0]["status"] == "delivered" && log[0]["attempts"] == 2 && log[0]["last_status_code"] == 204
        })
        .await;

        let delivery = id_of(&deliveries(&desk, &admin, webhook).await[0]);
        let path = format!("/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver");
        desk.expect(202, "POST", &path, &admin, None).await;
        let received = wait_for_requests(&receiver, 3).await;
        assert_eq!(received[2].body, received[0].body, "a redelivery sends the event again");
        verified(&received[2], "a-secret-of-sixteen+");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_failures_disables_the_webhook_and_tells_the_admins() {
    let clock = manual_clock();
    let mut desk = Desk::start_on(Backend::Sqlite, clock.clone()).await;
    let (admin, agent) = desk.staff().await;
    let receiver = Receiver::start(500).await;
    let webhook = id_of(
        &create_webhook(&desk, &admin, json!({"url": receiver.url, "events": ["created"], "allow_private": true}))
            .await,
    );
    desk.ticket_for_customer(&agent, "Nobody listens").await;
    wait_for_requests(&receiver, 1).await;
    eventually("the first failure is recorded", || {
        let (desk, admin) = (&desk, &admin);
        async move {
            !desk.expect(200, "GET", &format!("/api/v1/webhooks/{webhook}"), admin, None).await["failing_since"]
                .is_null()
        }
    })
    .await;
    desk = desk.down_for(&clock, SignedDuration::from_hours(23)).await;
    wait_for_requests(&receiver, 2).await;
    log_until(&desk, &admin, webhook, |log| log[0]["attempts"] == 2).await;
    let read = desk.expect(200, "GET", &format!("/api/v1/webhooks/{webhook}"), &admin, None).await;
    assert_eq!(read["active"], true, "23 hours of failures are not yet a day: {read}");

    desk = desk.down_for(&clock, SignedDuration::from_hours(2)).await;
    wait_for_requests(&receiver, 3).await;
    eventually("the webhook is disabled", || {
        let (desk, admin) = (&desk, &admin);
        async move {
            let read = desk.expect(200, "GET", &format!("/api/v1/webhooks/{webhook}"), admin, None).await;
            read["active"] == false
                && read["disabled_reason"].as_str().is_some_and(|reason| reason.contains("24 hours"))
        }
    })
    .await;
    let notifications = desk.expect(200, "GET", "/api/v1/notifications", &admin, None).await;
    let told: Vec<&Value> = notifications["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["kind"] == "webhook_disabled")
        .collect();
    assert_eq!(told.len(), 1, "the admin is told once: {notifications}");
    assert!(told[0]["text"].as_str().is_some_and(|text| text.contains(&receiver.url)), "{notifications}");
    let agents = desk.expect(200, "GET", "/api/v1/notifications", &agent, None).await;
    assert!(!agents.to_string().contains("webhook_disabled"), "agents are not told: {agents}");

    // Nothing more is sent while it is disabled; enabling it again resumes the retries.
    let before = receiver.received().len();
    desk.ticket_for_customer(&agent, "While disabled").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), before, "a disabled webhook sends nothing");
    receiver.set_status(200);
    let enabled =
        desk.expect(200, "PATCH", &format!("/api/v1/webhooks/{webhook}"), &admin, Some(json!({"active": true}))).await;
    assert_eq!((&enabled["active"], &enabled["disabled_reason"]), (&json!(true), &Value::Null));
    clock.advance(SignedDuration::from_hours(1));
    wait_for_requests(&receiver, before + 1).await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_need_allow_private() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]/hook", "http://169.254.169.254/"] {
        let (status, body) =
            desk.call("POST", "/api/v1/webhooks", &admin, Some(json!({"url": url, "events": ["created"]}))).await;
        assert_eq!((status, &body["error"]), (422, &json!("private_address")), "{url}: {body}");
    }
    let allowed = create_webhook(
        &desk,
        &admin,
        json!({"url": "http://127.0.0.1:9/hook", "events": ["created"], "allow_private": true}),
    )
    .await;
    let path = format!("/api/v1/webhooks/{}", id_of(&allowed));
    let (status, body) = desk.call("PATCH", &path, &admin, Some(json!({"allow_private": false}))).await;
    assert_eq!((status, &body["error"]), (422, &json!("private_address")), "{body}");
    assert_eq!(desk.expect(200, "GET", &path, &admin, None).await["allow_private"], true, "nothing changed");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_accounts_admins_keep_webhooks_and_bad_input_changes_nothing() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let customer = desk.login("cust@test.example").await;
    let webhook = id_of(
        &create_webhook(
            &desk,
            &admin,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["created", "message_added"], "allow_private": true}),
        )
        .await,
    );
    let one = format!("/api/v1/webhooks/{webhook}");
    let calls = [
        ("GET", "/api/v1/webhooks".to_owned(), None),
        ("GET", "/api/v1/webhooks/event-types".to_owned(), None),
        ("POST", "/api/v1/webhooks".to_owned(), Some(json!({"url": "https://example.com/h", "events": ["*"]}))),
        ("GET", one.clone(), None),
        ("PATCH", one.clone(), Some(json!({"active": false}))),
        ("DELETE", one.clone(), None),
        ("GET", format!("{one}/deliveries"), None),
        ("POST", format!("{one}/deliveries/1/redeliver"), None),
    ];
    for token in [&agent, &supervisor, &customer] {
        for (method, path, body) in &calls {
            let (status, answer) = desk.call(method, path, token, body.clone()).await;
            assert_eq!((status, &answer["error"]), (403, &json!("forbidden")), "{method} {path}: {answer}");
        }
    }
    other_account(&*desk._db.open().await, "boss@other.example", "Boss", switchboard_actors::domain::Role::Admin).await;
    let outsider = desk.login("boss@other.example").await;
    for (method, path, body) in calls.iter().filter(|(_, path, _)| path.starts_with(&one)) {
        let (status, answer) = desk.call(method, path, &outsider, body.clone()).await;
        assert_eq!((status, &answer["error"]), (404, &json!("not_found")), "{method} {path}: {answer}");
    }
    let outsiders = desk.expect(200, "GET", "/api/v1/webhooks", &outsider, None).await;
    assert_eq!(outsiders["items"], json!([]), "another account's webhooks are not listed");

    for (body, field) in [
        (json!({"url": "ftp://example.com/hook", "events": ["created"]}), "url"),
        (json!({"url": "not a url", "events": ["created"]}), "url"),
        (json!({"url": "https://example.com/hook", "events": ["ticket_exploded"]}), "events"),
        (json!({"url": "https://example.com/hook", "events": []}), "events"),
        (json!({"url": "https://example.com/hook", "events": ["*"], "secret": "short"}), "secret"),
    ] {
        let (status, answer) = desk.call("POST", "/api/v1/webhooks", &admin, Some(body.clone())).await;
        assert_eq!(
            (status, &answer["error"], &answer["field"]),
            (422, &json!("validation_failed"), &json!(field)),
            "{body}: {answer}"
        );
        let (status, answer) = desk.call("PATCH", &one, &admin, Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
    }
    let (status, answer) = desk
        .call(
            "POST",
            "/api/v1/webhooks",
            &admin,
            Some(json!({"url": "https://example.com", "events": ["*"], "surprise": 1})),
        )
        .await;
    assert_eq!((status, &answer["field"]), (422, &json!("surprise")), "unknown fields are refused: {answer}");
    let listed = desk.expect(200, "GET", "/api/v1/webhooks", &admin, None).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "nothing was created: {listed}");
    let read = desk.expect(200, "GET", &one, &admin, None).await;
    assert_eq!(
        (&read["url"], &read["events"]),
        (&json!("http://127.0.0.1:9/hook"), &json!(["created", "message_added"]))
    );
    let types = desk.expect(200, "GET", "/api/v1/webhooks/event-types", &admin, None).await;
    assert!(types["items"].as_array().is_some_and(|items| items.contains(&json!("message_added"))));
    desk.expect(204, "DELETE", &one, &admin, None).await;
    desk.expect(404, "GET", &one, &admin, None).await;
    desk.stop().await;
}
