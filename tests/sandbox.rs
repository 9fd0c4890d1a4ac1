//! The sandbox as a newcomer uses it: the customer phone writes, an agent answers, the phone
//! shows the answer and reads it, and the ticks reach the ticket. No Meta account involved.

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

    let page = server.http.get(server.url("/sandbox/phone")).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("html").contains(r#"<script src="/sandbox/phone.js">"#));

    let (status, sent) = server
        .call(
            "POST",
            "/sandbox/api/send",
            None,
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
    let (_, full) = server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&agent), None).await;
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
        let (_, messages) = server.call("GET", "/sandbox/api/messages?wa_id=5511987654321", None, None).await;
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
    let (status, _) = server.call("POST", "/sandbox/api/read", None, Some(json!({"wa_id": "5511987654321"}))).await;
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
            None,
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
