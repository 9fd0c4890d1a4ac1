//! The sandbox as a newcomer uses it: logged in as staff, the customer phone writes, an agent
//! answers, the phone shows the answer and reads it, and the ticks reach the ticket. No Meta
//! account involved. And who may use it: staff only (no session 401, a customer 403, on every
//! page and endpoint of both sandboxes), the Graph API simulator only with the hub's token, and
//! its memory bounded however much is sent.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_conversation_through_the_sandbox_phone() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let agent = server.login("agent@test.example").await;

    let page = server.http.get(server.url("/sandbox/phone")).bearer_auth(&agent).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("html").contains(r#"<script src="/sandbox/phone.js">"#));

    let (status, sent) = server
        .call(
            "POST",
            "/sandbox/api/send",
            Some(&agent),
            Some(json!({"wa_id": "+55 11 98765-4321", "name": "Lia", "text": "My card was charged twice"})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let ticket = until("the ticket", async || {
        let (_, list) = server.call("GET", "/api/v1/tickets?channel=whatsapp", Some(&agent), None).await;
        list["items"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(ticket["subject"], "My card was charged twice");
    let id = ticket["id"].as_i64().expect("id");
    // A first contact's conversation (which holds the window) is saved just after its ticket.
    let full = until("the window open", async || {
        let (_, full) = server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&agent), None).await;
        (full["window"]["state"] == "open").then_some(full)
    })
    .await;
    assert_eq!(full["window"]["state"], "open", "{full}");

    let (status, reply) = server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            Some(&agent),
            Some(json!({"body": "Refunding one now."})),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let message_id = reply["events"][0]["message"]["id"].as_str().expect("id").to_owned();
    let phone = until("the reply on the phone", async || {
        let (_, messages) = server.call("GET", "/sandbox/api/messages?wa_id=5511987654321", Some(&agent), None).await;
        let items = messages["items"].as_array()?.clone();
        items.iter().any(|message: &Value| message["direction"] == "out").then_some(items)
    })
    .await;
    assert_eq!(phone[0]["text"], "My card was charged twice");
    assert_eq!(phone[1]["text"], "Refunding one now.");

    let status_of = async || {
        let (_, full) = server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&agent), None).await;
        full["messages"]
            .as_array()
            .and_then(|messages| messages.iter().find(|m| m["id"] == message_id.as_str()).cloned())
            .unwrap_or_default()["delivery_status"]
            .as_str()
            .map(str::to_owned)
    };
    until("delivered", async || (status_of().await.as_deref() == Some("delivered")).then_some(())).await;
    let (status, _) =
        server.call("POST", "/sandbox/api/read", Some(&agent), Some(json!({"wa_id": "5511987654321"}))).await;
    assert_eq!(status, 200);
    until("read", async || (status_of().await.as_deref() == Some("read")).then_some(())).await;

    // A restarted simulator must not reuse wamids (the hub would drop the message as a duplicate).
    assert!(
        sent["wamid"].as_str().is_some_and(|wamid| wamid.starts_with("wamid.SANDBOX-IN-") && wamid.len() > 40),
        "{sent}"
    );

    // The customer writes again: same ticket, still one conversation.
    server
        .call(
            "POST",
            "/sandbox/api/send",
            Some(&agent),
            Some(json!({"wa_id": "5511987654321", "name": "Lia", "text": "Thanks!"})),
        )
        .await;
    until("the follow-up on the same ticket", async || {
        let (_, full) = server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&agent), None).await;
        (full["messages"].as_array()?.len() == 3).then_some(())
    })
    .await;
    let (_, conversations) = server.call("GET", "/api/v1/whatsapp/conversations", Some(&agent), None).await;
    assert_eq!(conversations["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(conversations["items"][0]["customer_name"], "Lia");
    server.stop().await;
}

/// Every sandbox endpoint and page (phone and mailbox): no session → 401, a customer → 403,
/// staff (bearer or the console's cookie) → 200. Today's main served them all to anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandboxes_are_for_logged_in_staff_only() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let agent = server.login("agent@test.example").await;
    let customer = server.login("cust@test.example").await;
    let phone = json!({"wa_id": "5511900001111", "name": "Lia", "text": "hello"});
    let letter = json!({"from": "lia@customer.example", "subject": "Hi", "text": "hello"});
    let endpoints: [(&str, &str, Option<Value>); 5] = [
        ("GET", "/sandbox/api/messages?wa_id=5511900001111", None),
        ("POST", "/sandbox/api/send", Some(phone)),
        ("POST", "/sandbox/api/read", Some(json!({"wa_id": "5511900001111"}))),
        ("GET", "/sandbox/mail/messages?address=lia@customer.example", None),
        ("POST", "/sandbox/mail/send", Some(letter)),
    ];
    for (method, path, body) in &endpoints {
        let (status, refused) = server.call(method, path, None, body.clone()).await;
        assert_eq!((status, refused["error"].as_str()), (401, Some("unauthenticated")), "{method} {path}: {refused}");
        let (status, refused) = server.call(method, path, Some(&customer), body.clone()).await;
        assert_eq!((status, refused["error"].as_str()), (403, Some("forbidden")), "{method} {path}: {refused}");
        let (status, answer) = server.call(method, path, Some(&agent), body.clone()).await;
        assert_eq!(status, 200, "{method} {path}: {answer}");
    }
    // What was written above is readable by staff, and by nobody else.
    let (_, messages) = server.call("GET", "/sandbox/api/messages?wa_id=5511900001111", Some(&agent), None).await;
    assert_eq!(messages["items"][0]["text"], "hello", "{messages}");

    let get = |path: &str, auth: Option<(&str, &str)>| {
        let mut request = server.http.get(server.url(path));
        match auth {
            Some(("bearer", token)) => request = request.bearer_auth(token),
            Some((_, token)) => request = request.header("cookie", format!("switchboard_session={token}")),
            None => {}
        }
        async move {
            let response = request.send().await.expect("get");
            (response.status().as_u16(), response.text().await.expect("text"))
        }
    };
    for (page, script) in [("/sandbox/phone", "/sandbox/phone.js"), ("/sandbox/mail", "/sandbox/mail.js")] {
        let (status, html) = get(page, None).await;
        assert_eq!(status, 401, "{page}");
        assert!(html.contains("Log in first") && html.contains(r#"href="/agent""#), "{page}: {html}");
        assert!(!html.contains("<script"), "{page} shows nothing of the tool");
        let (status, html) = get(page, Some(("bearer", &customer))).await;
        assert_eq!(status, 403, "{page}");
        assert!(html.contains("Staff only"), "{page}: {html}");
        let (status, html) = get(page, Some(("cookie", &agent))).await;
        assert_eq!(status, 200, "{page} with the console's cookie");
        assert!(html.contains(&format!(r#"<script src="{script}">"#)), "{page}");
        assert_eq!(get(script, None).await.0, 401, "{script}");
        assert_eq!(get(script, Some(("bearer", &customer))).await.0, 403, "{script}");
        assert_eq!(get(script, Some(("cookie", &agent))).await.0, 200, "{script}");
    }
    server.stop().await;
}

/// The Graph API simulator answers only the hub's own Graph client, which presents the access
/// token (generated per install when none is configured): anyone else gets Meta's 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_simulator_needs_the_hubs_access_token() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let send =
        json!({"messaging_product": "whatsapp", "to": "5511900002222", "type": "text", "text": {"body": "spam"}});
    let graph = |method: &str, path: &str, token: Option<&str>| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = server.http.request(method, server.url(path)).json(&send);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("graph call");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    };
    let paths = [
        ("POST", "/sandbox/graph/v25.0/100200300400500/messages"),
        ("POST", "/sandbox/graph/v25.0/100200300400500/media"),
        ("GET", "/sandbox/graph/v25.0/sandbox-waba/message_templates"),
    ];
    let agent = server.login("agent@test.example").await;
    for (method, path) in paths {
        for token in [None, Some("wrong-token"), Some(agent.as_str())] {
            let (status, refused) = graph(method, path, token).await;
            assert_eq!((status, refused["error"]["code"].as_i64()), (401, Some(190)), "{method} {path} {token:?}");
        }
    }
    // The token the hub generated on first run (stored; reading it again returns the stored one).
    let store = db.open().await;
    let token =
        store.generated_secret("whatsapp.access_token", "not-stored", jiff::Timestamp::now()).await.expect("read");
    assert_ne!(token, "not-stored", "the server generated it at start");
    for (method, path) in paths {
        let (status, answer) = graph(method, path, Some(&token)).await;
        assert_eq!(status, 200, "{method} {path}: {answer}");
    }
    let (_, phone) = server.call("GET", "/sandbox/api/messages?wa_id=5511900002222", Some(&agent), None).await;
    assert_eq!(phone["items"].as_array().map(Vec::len), Some(1), "only the authorised send reached the phone: {phone}");
    server.stop().await;
}

/// A flood of sends to fresh numbers costs memory only up to `[sandbox]`'s bound: the oldest
/// messages go first, the newest stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_keeps_the_newest_messages_within_its_bound() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let mut settings = db.settings();
    settings.sandbox.max_items = 25;
    let server = TestServer::start(settings).await;
    let agent = server.login("agent@test.example").await;
    let token = db
        .open()
        .await
        .generated_secret("whatsapp.access_token", "not-stored", jiff::Timestamp::now())
        .await
        .expect("token");
    for n in 0..100 {
        let body = json!({"messaging_product": "whatsapp", "to": format!("55119000{n:05}"), "type": "text", "text": {"body": format!("flood {n}")}});
        let response = server
            .http
            .post(server.url("/sandbox/graph/v25.0/100200300400500/messages"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 200);
    }
    let on = async |n: u32| {
        let (_, phone) =
            server.call("GET", &format!("/sandbox/api/messages?wa_id=55119000{n:05}"), Some(&agent), None).await;
        phone["items"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(on(0).await, 0, "the oldest went");
    assert_eq!(on(74).await, 0, "the 26th newest went");
    assert_eq!(on(75).await, 1, "the 25 newest stay");
    assert_eq!(on(99).await, 1);
    server.stop().await;
}
