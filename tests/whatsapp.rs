//! The WhatsApp channel end to end: signed webhooks into the real endpoint, a fake Graph API on
//! loopback recording what the hub sends, and the REST API to see what agents see.

mod common;

use std::time::{Duration, Instant};

use common::fake_graph::FakeGraph;
use common::*;
use serde_json::{Value, json};
use switchboard::channels::whatsapp::sign;

const SECRET: &str = "test-app-secret";
const NUMBER: &str = "100200300400500";

struct Channel {
    _db: TestDb,
    server: TestServer,
    graph: FakeGraph,
    agent: String,
}

fn settings_for(db: &TestDb, graph: &FakeGraph) -> switchboard::config::Settings {
    let mut settings = db.settings();
    settings.whatsapp.sandbox = Some(false);
    settings.whatsapp.graph_base_url = graph.base.clone();
    settings.whatsapp.app_secret = switchboard::config::Secret(SECRET.to_owned());
    settings.whatsapp.verify_token = switchboard::config::Secret("verify-me".to_owned());
    settings.whatsapp.access_token = switchboard::config::Secret("token".to_owned());
    settings.whatsapp.business_account_id = "WABA1".to_owned();
    settings
}

async fn channel() -> Channel {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let graph = FakeGraph::start();
    let server = TestServer::start(settings_for(&db, &graph)).await;
    let agent = server.login("agent@test.example").await;
    Channel { _db: db, server, graph, agent }
}

fn envelope(value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}]})
}

fn messages_value(contacts: Value, messages: Value) -> Value {
    json!({"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550100001", "phone_number_id": NUMBER},
           "contacts": contacts, "messages": messages})
}

fn contact(wa_id: &str, name: &str) -> Value {
    json!({"profile": {"name": name}, "wa_id": wa_id})
}

fn text(from: &str, wamid: &str, seconds_ago: i64, body: &str) -> Value {
    let at = jiff::Timestamp::now().as_second() - seconds_ago;
    json!({"from": from, "id": wamid, "timestamp": at.to_string(), "type": "text", "text": {"body": body}})
}

fn statuses(items: Value) -> Value {
    envelope(json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER}, "statuses": items}))
}

impl Channel {
    /// POSTs `payload` signed with the app secret (or `signature` when given); returns the status.
    async fn webhook_signed(&self, payload: &Value, signature: Option<&str>) -> u16 {
        let body = payload.to_string();
        let header = signature.map_or_else(|| sign(SECRET, body.as_bytes()), str::to_owned);
        let response = self
            .server
            .http
            .post(self.server.url("/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", header)
            .body(body)
            .send()
            .await
            .expect("post webhook");
        response.status().as_u16()
    }

    async fn webhook(&self, payload: &Value) {
        assert_eq!(self.webhook_signed(payload, None).await, 200);
    }

    async fn tickets(&self) -> Vec<Value> {
        let (_, list) =
            self.server.call("GET", "/api/v1/tickets?channel=whatsapp&limit=200", Some(&self.agent), None).await;
        list["items"].as_array().cloned().unwrap_or_default()
    }

    async fn ticket(&self, id: i64) -> Value {
        self.server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&self.agent), None).await.1
    }

    async fn conversations(&self) -> Vec<Value> {
        let (_, list) = self.server.call("GET", "/api/v1/whatsapp/conversations", Some(&self.agent), None).await;
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `check` holds (processing is asynchronous after the 200).
    async fn eventually<T>(&self, what: &str, mut check: impl AsyncFnMut(&Channel) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(value) = check(self).await {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The ticket of the customer with this display name, once it exists with `messages` messages.
    async fn ticket_of(&self, name: &str, messages: usize) -> Value {
        self.eventually(&format!("{name}'s ticket with {messages} message(s)"), async |c| {
            for ticket in c.tickets().await {
                let full = c.ticket(ticket["id"].as_i64()?).await;
                let requester = c
                    .server
                    .call("GET", &format!("/api/v1/users/{}", ticket["requester_id"]), Some(&c.agent), None)
                    .await
                    .1;
                if requester["name"] == name && full["messages"].as_array().map_or(0, Vec::len) == messages {
                    return Some(full);
                }
            }
            None
        })
        .await
    }

    async fn reply(&self, ticket: i64, body: Value) -> (u16, Value) {
        self.server.call("POST", &format!("/api/v1/tickets/{ticket}/messages"), Some(&self.agent), Some(body)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_handshake_echoes_the_challenge_only_for_the_right_token() {
    let c = channel().await;
    let url = |token: &str| {
        c.server
            .url(&format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"))
    };
    let ok = c.server.http.get(url("verify-me")).send().await.expect("get");
    assert_eq!(ok.status().as_u16(), 200);
    assert!(ok.headers()["content-type"].to_str().unwrap_or("").starts_with("text/plain"));
    assert_eq!(ok.text().await.expect("body"), "1158201444", "the raw challenge, not JSON");
    let wrong = c.server.http.get(url("guess")).send().await.expect("get");
    assert_eq!(wrong.status().as_u16(), 403);
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_signature_is_refused_and_changes_nothing() {
    let c = channel().await;
    let payload =
        envelope(messages_value(json!([contact("111", "Mallory")]), json!([text("111", "wamid.FORGED", 0, "hi")])));
    assert_eq!(c.webhook_signed(&payload, Some(&sign("wrong-secret", payload.to_string().as_bytes()))).await, 401);
    assert_eq!(c.webhook_signed(&payload, Some("sha256=abc")).await, 401);
    let unsigned =
        c.server.http.post(c.server.url("/webhooks/whatsapp")).body(payload.to_string()).send().await.expect("post");
    assert_eq!(unsigned.status().as_u16(), 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(c.tickets().await.is_empty(), "nothing was stored or processed");
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_type_of_a_batch_from_several_customers_is_stored() {
    let c = channel().await;
    let now = jiff::Timestamp::now().as_second().to_string();
    let m = |from: &str, id: &str, kind: &str, content: Value| {
        let mut message =
            json!({"from": from, "id": id, "timestamp": now, "type": kind, "unknown_future_field": {"x": 1}});
        message[kind] = content;
        message
    };
    let mut quoted = text("111", "wamid.A10", 0, "replying to you");
    quoted["context"] = json!({"from": "15550100001", "id": "wamid.OUT-0"});
    let mut forwarded = text("111", "wamid.A11", 0, "fwd");
    forwarded["context"] = json!({"forwarded": true});
    let mut from_ad = text("222", "wamid.B3", 0, "I saw your ad");
    from_ad["referral"] =
        json!({"source_url": "https://fb.me/ad", "source_type": "ad", "headline": "Sale", "ctwa_clid": "CLID"});
    let batch = envelope(messages_value(
        json!([contact("111", "Ana Souza"), contact("222", "Bruno Lima")]),
        json!([
            text("111", "wamid.A1", 0, "Hello, my order is late"),
            m(
                "111",
                "wamid.A2",
                "image",
                json!({"caption": "the box", "mime_type": "image/jpeg", "sha256": "x", "id": "MEDIA1"})
            ),
            m(
                "111",
                "wamid.A3",
                "audio",
                json!({"mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "MEDIA2", "voice": true})
            ),
            m(
                "111",
                "wamid.A4",
                "document",
                json!({"filename": "invoice.pdf", "mime_type": "application/pdf", "sha256": "x", "id": "MEDIA3"})
            ),
            m("111", "wamid.A5", "location", json!({"latitude": 38.72, "longitude": -9.14, "name": "Home"})),
            m(
                "111",
                "wamid.A6",
                "contacts",
                json!([{"name": {"formatted_name": "Carla"}, "phones": [{"phone": "+351900000000"}]}])
            ),
            m(
                "111",
                "wamid.A7",
                "interactive",
                json!({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}})
            ),
            m(
                "111",
                "wamid.A8",
                "interactive",
                json!({"type": "list_reply", "list_reply": {"id": "t1", "title": "Tracking"}})
            ),
            m("111", "wamid.A9", "button", json!({"payload": "REOPEN", "text": "Reopen"})),
            quoted,
            forwarded,
            m("111", "wamid.A12", "reaction", json!({"message_id": "wamid.OUT-0", "emoji": "👍"})),
            m("111", "wamid.A13", "reaction", json!({"message_id": "wamid.OUT-0"})),
            m("111", "wamid.A14", "unsupported", json!({"type": "poll_creation"})),
            m("111", "wamid.A15", "hologram", json!({"depth": 3})),
            text("222", "wamid.B1", 0, "Hi, question about billing"),
            m(
                "222",
                "wamid.B2",
                "sticker",
                json!({"mime_type": "image/webp", "sha256": "x", "id": "MEDIA4", "animated": false})
            ),
            from_ad
        ]),
    ));
    c.webhook(&batch).await;
    let ana = c.ticket_of("Ana Souza", 15).await;
    let bodies: Vec<&str> =
        ana["messages"].as_array().expect("messages").iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies[0], "Hello, my order is late");
    assert_eq!(ana["subject"], "Hello, my order is late");
    assert_eq!(ana["channel"], "whatsapp");
    assert!(
        bodies.contains(&"the box") && bodies.contains(&"🎤 Voice note") && bodies.contains(&"📄 invoice.pdf"),
        "{bodies:?}"
    );
    assert!(bodies.contains(&"📍 Home (38.72, -9.14)") && bodies.contains(&"👤 Carla (+351900000000)"), "{bodies:?}");
    assert!(bodies.contains(&"Yes please") && bodies.contains(&"Tracking") && bodies.contains(&"Reopen"), "{bodies:?}");
    assert!(bodies.contains(&"Reacted 👍") && bodies.contains(&"Removed a reaction"), "{bodies:?}");
    let payloads: Vec<&Value> = ana["messages"].as_array().expect("messages").iter().map(|m| &m["payload"]).collect();
    assert!(payloads.iter().any(|p| p["context"]["id"] == "wamid.OUT-0"), "quoted replies keep their context");
    assert!(payloads.iter().any(|p| p["context"]["forwarded"] == true));
    let unsupported: Vec<&&Value> = payloads.iter().filter(|p| p["type"] == "unsupported").collect();
    assert_eq!(unsupported.len(), 2, "unsupported and unknown types are kept, raw");
    assert_eq!(unsupported[1]["raw"]["hologram"]["depth"], 3);
    assert!(payloads.iter().any(|p| p["image"]["id"] == "MEDIA1"));

    let bruno = c.ticket_of("Bruno Lima", 3).await;
    assert_ne!(bruno["id"], ana["id"], "each customer has their own ticket");
    let conversations = c.conversations().await;
    assert_eq!(conversations.len(), 2);
    let bruno_row = conversations.iter().find(|row| row["customer_name"] == "Bruno Lima").expect("row");
    assert_eq!(bruno_row["window"]["state"], "open");
    assert_eq!(bruno_row["referral"]["ctwa_clid"], "CLID", "ad attribution is kept on the conversation");

    // Meta re-delivers: nothing is stored twice.
    c.webhook(&batch).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(c.ticket(ana["id"].as_i64().expect("id")).await["messages"].as_array().map(Vec::len), Some(15));
    assert_eq!(c.tickets().await.len(), 2);
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_out_and_statuses_only_move_forward() {
    let c = channel().await;
    c.webhook(&envelope(messages_value(
        json!([contact("351911", "Dora")]),
        json!([text("351911", "wamid.D1", 10, "Where is my parcel?")]),
    )))
    .await;
    let ticket = c.ticket_of("Dora", 1).await;
    let id = ticket["id"].as_i64().expect("id");
    // A status for the wamid the next send will get arrives before the send completes.
    c.webhook(&statuses(
        json!([{"id": "wamid.OUT-1", "status": "delivered", "timestamp": "1", "recipient_id": "351911"}]),
    ))
    .await;
    let (status, sent) = c.reply(id, json!({"body": "It ships **today** (_really_)!"})).await;
    assert_eq!(status, 201, "{sent}");
    let message_id = sent["events"][0]["message"]["id"].as_str().expect("message id").to_owned();
    let body = c.eventually("the send", async |c| c.graph.sends().first().cloned()).await;
    assert_eq!(body["to"], "+351911", "`to` always carries the +");
    // The agent's markdown goes out as WhatsApp's own formatting.
    assert_eq!(
        (body["type"].as_str(), body["text"]["body"].as_str()),
        (Some("text"), Some("It ships *today* (_really_)!"))
    );
    let delivery = |ticket: &Value| {
        ticket["messages"]
            .as_array()
            .and_then(|messages| messages.iter().find(|m| m["id"] == message_id.as_str()).cloned())
            .unwrap_or_default()
    };
    c.eventually("the buffered status applied", async |c| {
        (delivery(&c.ticket(id).await)["delivery_status"] == "delivered").then_some(())
    })
    .await;
    assert_eq!(delivery(&c.ticket(id).await)["provider_id"], "wamid.OUT-1");

    // Out of order: read, then a late sent; a failure after read is recorded nowhere backwards.
    c.webhook(&statuses(json!([
        {"id": "wamid.OUT-1", "status": "read", "timestamp": "3", "recipient_id": "351911"},
        {"id": "wamid.OUT-1", "status": "sent", "timestamp": "2", "recipient_id": "351911"},
        {"id": "wamid.OUT-1", "status": "failed", "timestamp": "4", "recipient_id": "351911", "errors": [{"code": 131026, "title": "x"}]}
    ])))
    .await;
    c.eventually("read", async |c| (delivery(&c.ticket(id).await)["delivery_status"] == "read").then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(delivery(&c.ticket(id).await)["delivery_status"], "read", "never backwards");
    let (_, events) = c.server.call("GET", &format!("/api/v1/tickets/{id}/events"), Some(&c.agent), None).await;
    let ticks: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "delivery_changed")
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(ticks, ["delivered", "read"], "ticks reach the ticket's log in order");
    // The agent opened the ticket: the customer's message was marked read on WhatsApp.
    assert!(c.graph.read_receipts().iter().any(|receipt| receipt["message_id"] == "wamid.D1"));
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_window_only_templates_go_and_meta_errors_are_handled() {
    let c = channel().await;
    // Eve last wrote 25 hours ago (a late re-delivery: the window runs from her message's time).
    c.webhook(&envelope(messages_value(
        json!([contact("4470", "Eve")]),
        json!([text("4470", "wamid.E1", 25 * 3600, "old question")]),
    )))
    .await;
    let ticket = c.ticket_of("Eve", 1).await;
    let id = ticket["id"].as_i64().expect("id");
    let (status, refused) = c.reply(id, json!({"body": "Sorry for the wait"})).await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("window_closed")), "{refused}");
    assert_eq!(c.ticket(id).await["window"]["state"], "closed", "the ticket read carries the window");
    assert!(
        refused["message"].as_str().unwrap_or("").contains("ticket_update (en_US)"),
        "names the usable templates: {refused}"
    );
    assert!(!refused["message"].as_str().unwrap_or("").contains("promo"), "rejected templates are not offered");
    let (status, wrong) = c
        .reply(
            id,
            json!({"body": "", "template": {"name": "ticket_update", "language": "en_US", "parameters": ["Eve"]}}),
        )
        .await;
    assert_eq!((status, wrong["field"].as_str()), (422, Some("template.parameters")));
    let (status, sent) =
        c.reply(id, json!({"body": "", "template": {"name": "ticket_update", "language": "en_US", "parameters": ["Eve", "#1"]}})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["events"][0]["message"]["body"], "Hi Eve, your ticket #1 has an update.");
    let body = c.eventually("the template send", async |c| c.graph.sends().first().cloned()).await;
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "ticket_update");
    assert_eq!(body["template"]["components"][0]["parameters"][1]["text"], "#1");

    // A fresh message opens the window; Meta then answers 131047 anyway: the message fails with
    // an explanation and the window is closed.
    c.webhook(&envelope(messages_value(
        json!([contact("4470", "Eve")]),
        json!([text("4470", "wamid.E2", 0, "hello again")]),
    )))
    .await;
    c.eventually("window open", async |c| {
        c.conversations().await.first().filter(|row| row["window"]["state"] == "open").cloned()
    })
    .await;
    c.graph.fail_next(&[131047]);
    let (status, sent) = c.reply(id, json!({"body": "Free-form"})).await;
    assert_eq!(status, 201, "{sent}");
    let message_id = sent["events"][0]["message"]["id"].as_str().expect("id").to_owned();
    let failed = c
        .eventually("the failure recorded", async |c| {
            c.ticket(id).await["messages"]
                .as_array()?
                .iter()
                .find(|m| m["id"] == message_id.as_str() && m["delivery_status"] == "failed")
                .cloned()
        })
        .await;
    assert_eq!(failed["delivery_error"]["code"], 131047);
    assert!(failed["delivery_error"]["explanation"].as_str().unwrap_or("").contains("template"));
    c.eventually("window closed", async |c| {
        c.conversations().await.first().filter(|row| row["window"]["state"] == "closed").cloned()
    })
    .await;
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_customers_message_is_one_event_carrying_the_window_and_a_reopening_is_recorded() {
    let c = channel().await;
    let events = async |id: i64| -> Vec<Value> {
        let (_, page) = c.server.call("GET", &format!("/api/v1/tickets/{id}/events"), Some(&c.agent), None).await;
        page["items"].as_array().cloned().unwrap_or_default()
    };
    let kinds = |events: &[Value]| {
        events.iter().map(|event| event["type"].as_str().unwrap_or("").to_owned()).collect::<Vec<_>>()
    };
    // Zoe wrote 25 hours ago: her ticket opens with the window already closed.
    c.webhook(&envelope(messages_value(
        json!([contact("4480", "Zoe")]),
        json!([text("4480", "wamid.Z1", 25 * 3600, "old")]),
    )))
    .await;
    let id = c.ticket_of("Zoe", 1).await["id"].as_i64().expect("id");
    let opened = events(id).await;
    assert_eq!(opened.iter().filter(|event| event["type"] == "window_changed").count(), 1, "{opened:?}");
    // She writes now: the window opens again, an event of its own beside the message.
    c.webhook(&envelope(messages_value(
        json!([contact("4480", "Zoe")]),
        json!([text("4480", "wamid.Z2", 0, "again")]),
    )))
    .await;
    c.ticket_of("Zoe", 2).await;
    let reopened = c
        .eventually("the window reopened", async |_| {
            let all = events(id).await;
            (all.len() == opened.len() + 2).then_some(all)
        })
        .await;
    let tail = &reopened[opened.len()..];
    assert_eq!(kinds(tail), ["message_added", "window_changed"]);
    assert_eq!(tail[1]["window"]["state"], "open");
    assert_eq!(tail[0]["window_until"], tail[1]["window"]["until"], "the message carries the window it renewed");
    // And again: the open window's renewal rides on the message, one event, no window_changed.
    c.webhook(&envelope(messages_value(
        json!([contact("4480", "Zoe")]),
        json!([text("4480", "wamid.Z3", 0, "still me")]),
    )))
    .await;
    c.ticket_of("Zoe", 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let renewed = events(id).await;
    let tail = &renewed[reopened.len()..];
    assert_eq!(kinds(tail), ["message_added"], "{tail:?}");
    let until = tail[0]["window_until"].as_str().expect("window_until").parse::<jiff::Timestamp>().expect("a time");
    let from_now = until.duration_since(jiff::Timestamp::now()).as_secs();
    assert!((23 * 3600..=24 * 3600 + 5).contains(&from_now), "24 hours from the message: {from_now} s");
    assert_eq!(c.ticket(id).await["window"]["until"], tail[0]["window_until"]);
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_errors_are_retried_and_stop_keywords_opt_out() {
    let c = channel().await;
    c.webhook(&envelope(messages_value(json!([contact("5511", "Fabio")]), json!([text("5511", "wamid.F1", 0, "oi")]))))
        .await;
    let id = c.ticket_of("Fabio", 1).await["id"].as_i64().expect("id");
    c.graph.fail_next(&[130429]);
    let (status, _) = c.reply(id, json!({"body": "Olá!"})).await;
    assert_eq!(status, 201);
    let sends = c.eventually("the retry", async |c| (c.graph.sends().len() >= 2).then(|| c.graph.sends())).await;
    assert_eq!(sends[0], sends[1], "the same message was sent again after 130429");
    c.eventually("the wamid stored", async |c| {
        c.ticket(id).await["messages"].as_array()?.iter().find(|m| m["provider_id"] == "wamid.OUT-1").cloned()
    })
    .await;

    c.webhook(&envelope(messages_value(
        json!([contact("5511", "Fabio")]),
        json!([text("5511", "wamid.F2", 0, "stop")]),
    )))
    .await;
    c.eventually("opted out", async |c| {
        c.conversations().await.first().filter(|row| row["opted_out"] == true).cloned()
    })
    .await;
    c.webhook(&envelope(messages_value(
        json!([contact("5511", "Fabio")]),
        json!([text("5511", "wamid.F3", 0, "START")]),
    )))
    .await;
    c.eventually("opted back in", async |c| {
        c.conversations().await.first().filter(|row| row["opted_out"] == false).cloned()
    })
    .await;

    // Channel-level errors and payloads for other numbers never block what follows.
    let errors = envelope(json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER},
                                 "errors": [{"code": 130429, "title": "Rate limit hit", "error_data": {"details": "slow down"}}]}));
    c.webhook(&errors).await;
    let mut other_number =
        envelope(messages_value(json!([contact("9", "Ghost")]), json!([text("9", "wamid.G1", 0, "hi")])));
    other_number["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    c.webhook(&other_number).await;
    c.webhook(&json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "account_update", "value": {}}]}]})).await;
    c.webhook(&envelope(messages_value(
        json!([contact("5511", "Fabio")]),
        json!([text("5511", "wamid.F4", 0, "still here")]),
    )))
    .await;
    // Four customer messages and the agent's reply.
    let fabio = c.ticket_of("Fabio", 5).await;
    assert_eq!(fabio["messages"][4]["body"], "still here", "processing went on after the odd payloads");
    assert_eq!(c.tickets().await.len(), 1, "the unknown number's message made no ticket");

    // Meta pauses a template: it stops being offered.
    let paused = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "time": 1, "changes": [{
        "field": "message_template_status_update",
        "value": {"event": "PAUSED", "message_template_id": 1, "message_template_name": "ticket_update",
                  "message_template_language": "en-US", "reason": "LOW_QUALITY"}}]}]});
    c.webhook(&paused).await;
    c.eventually("the template paused", async |c| {
        let (_, templates) = c.server.call("GET", "/api/v1/whatsapp/templates", Some(&c.agent), None).await;
        templates["items"].as_array()?.iter().find(|t| t["name"] == "ticket_update" && t["status"] == "PAUSED").cloned()
    })
    .await;
    c.server.stop().await;
}

/// A child hub that talks to `graph` instead of the sandbox and checks webhooks with [`SECRET`].
fn child_env(graph: &FakeGraph) -> [(&'static str, String); 3] {
    [
        ("SWITCHBOARD__WHATSAPP__SANDBOX", "false".to_owned()),
        ("SWITCHBOARD__WHATSAPP__GRAPH_BASE_URL", graph.base.clone()),
        ("SWITCHBOARD__WHATSAPP__APP_SECRET", SECRET.to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_right_after_the_200_loses_nothing() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let graph = FakeGraph::start();
    let logs = tempfile::tempdir().expect("logs");
    let env = child_env(&graph);
    let http = http_client();
    let node = ChildServer::start_with(&db, logs.path(), &env).await;
    let payload = envelope(messages_value(
        json!([contact("77", "Hana"), contact("78", "Ivo")]),
        json!([
            text("77", "wamid.H1", 0, "first"),
            text("78", "wamid.I1", 0, "second"),
            text("77", "wamid.H2", 0, "third")
        ]),
    ))
    .to_string();
    let response = http
        .post(format!("{}/webhooks/whatsapp", node.base))
        .header("x-hub-signature-256", sign(SECRET, payload.as_bytes()))
        .body(payload)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 200);
    node.kill_9();

    let node = ChildServer::start_with(&db, logs.path(), &env).await;
    let token = login(&http, &node.base, "agent@test.example").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, list) = call(&http, &node.base, "GET", "/api/v1/tickets?channel=whatsapp", Some(&token), None).await;
        let tickets = list["items"].as_array().cloned().unwrap_or_default();
        let mut bodies = Vec::new();
        for ticket in &tickets {
            let (_, full) =
                call(&http, &node.base, "GET", &format!("/api/v1/tickets/{}", ticket["id"]), Some(&token), None).await;
            bodies.extend(
                full["messages"].as_array().into_iter().flatten().filter_map(|m| m["body"].as_str().map(str::to_owned)),
            );
        }
        bodies.sort();
        if bodies == ["first", "second", "third"] {
            assert_eq!(tickets.len(), 2);
            break;
        }
        assert!(Instant::now() < deadline, "after the restart: {bodies:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Webhooks are processed the moment they are stored; one stored but never processed (the
/// process died in between) is picked up by the inbox pass when the hub starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_stored_but_not_processed_is_processed_after_a_restart() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    seed(&*store).await;
    let payload =
        envelope(messages_value(json!([contact("91", "Lea")]), json!([text("91", "wamid.L1", 0, "left over")])));
    store.inbox_append(&payload.to_string(), jiff::Timestamp::now(), None, false).await.expect("stored");
    drop(store);
    let graph = FakeGraph::start();
    let logs = tempfile::tempdir().expect("logs");
    let env = child_env(&graph);
    let http = http_client();
    let node = ChildServer::start_with(&db, logs.path(), &env).await;
    let token = login(&http, &node.base, "agent@test.example").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, list) = call(&http, &node.base, "GET", "/api/v1/tickets?channel=whatsapp", Some(&token), None).await;
        if let Some(ticket) = list["items"].as_array().and_then(|items| items.first()) {
            let (_, full) =
                call(&http, &node.base, "GET", &format!("/api/v1/tickets/{}", ticket["id"]), Some(&token), None).await;
            assert_eq!(full["messages"][0]["body"], "left over");
            break;
        }
        assert!(Instant::now() < deadline, "the stored webhook was never processed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_media_is_fetched_stored_by_hash_and_served_to_staff_only() {
    let c = channel().await;
    let now = jiff::Timestamp::now().as_second().to_string();
    let image = |id: &str, media: &str| {
        json!({"from": "3300", "id": id, "timestamp": now, "type": "image",
               "image": {"caption": format!("photo {media}"), "mime_type": "image/jpeg", "sha256": "x", "id": media}})
    };
    c.webhook(&envelope(messages_value(
        json!([contact("3300", "Jo")]),
        json!([image("wamid.J1", "1001"), image("wamid.J2", "404404"), image("wamid.J3", "503503")]),
    )))
    .await;
    let attachment_of = |ticket: &Value, caption: &str| {
        ticket["messages"]
            .as_array()
            .and_then(|messages| messages.iter().find(|m| m["body"] == caption))
            .map(|m| m["attachments"][0].clone())
    };
    let ticket = c
        .eventually("all three settled", async |c| {
            let ticket = c.ticket_of("Jo", 3).await;
            let settled = ["photo 1001", "photo 404404", "photo 503503"]
                .iter()
                .all(|caption| attachment_of(&ticket, caption).is_some_and(|a| a["status"] != "pending"));
            settled.then_some(ticket)
        })
        .await;
    let stored = attachment_of(&ticket, "photo 1001").expect("attachment");
    assert_eq!((stored["status"].as_str(), stored["size"].as_i64()), (Some("stored"), Some(15)));
    let url = stored["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with("/api/v1/media/"), "{url}");
    let missing = attachment_of(&ticket, "photo 404404").expect("attachment");
    assert_eq!(missing["status"], "failed", "a failed download is visible on the message: {missing}");
    assert!(missing["error"].as_str().is_some_and(|error| !error.is_empty()));
    assert_eq!(attachment_of(&ticket, "photo 503503").expect("attachment")["status"], "stored", "retried after a 503");

    let file = c.server.http.get(c.server.url(&url)).bearer_auth(&c.agent).send().await.expect("get");
    assert_eq!(file.status().as_u16(), 200);
    // The fake's bytes are not a JPEG, whatever it declared: they are not served as one.
    assert_eq!(file.headers()["content-type"], "application/octet-stream");
    assert_eq!(file.headers()["content-disposition"], "attachment");
    assert_eq!(file.bytes().await.expect("bytes").as_ref(), b"jpeg-bytes-1001");
    let customer = c.server.login("cust@test.example").await;
    let (status, _) = c.server.call("GET", &url, Some(&customer), None).await;
    assert_eq!(status, 404, "a customer reads only files of their own tickets; others are missing to them");
    let (status, _) = c.server.call("GET", "/api/v1/media/not-a-hash", Some(&c.agent), None).await;
    assert_eq!(status, 404);
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_send_files_uploaded_through_the_graph_api() {
    let c = channel().await;
    c.webhook(&envelope(messages_value(
        json!([contact("4400", "Kim")]),
        json!([text("4400", "wamid.K1", 0, "send me the invoice")]),
    )))
    .await;
    let id = c.ticket_of("Kim", 1).await["id"].as_i64().expect("id");
    let uploaded = c
        .server
        .http
        .post(c.server.url("/api/v1/uploads?name=invoice.pdf"))
        .bearer_auth(&c.agent)
        .header("content-type", "application/pdf")
        .body("%PDF-1.4 fake invoice")
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status().as_u16(), 201);
    let file: Value = uploaded.json().await.expect("json");
    assert_eq!((file["file_name"].as_str(), file["size"].as_i64()), (Some("invoice.pdf"), Some(21)));
    let (status, sent) =
        c.reply(id, json!({"body": "Here it is", "attachments": [{"url": file["url"], "name": "invoice.pdf"}]})).await;
    assert_eq!(status, 201, "{sent}");
    let body = c.eventually("the document send", async |c| c.graph.sends().first().cloned()).await;
    assert_eq!(body["type"], "document");
    assert_eq!(
        (body["document"]["caption"].as_str(), body["document"]["filename"].as_str()),
        (Some("Here it is"), Some("invoice.pdf"))
    );
    let upload = c.graph.uploads().first().cloned().expect("an upload");
    assert!(upload["content_type"].as_str().unwrap_or("").starts_with("multipart/form-data"));
    assert!(upload["body"].as_str().unwrap_or("").contains("%PDF-1.4 fake invoice"), "the file's bytes went to /media");
    assert_eq!(
        body["document"]["id"].as_str().map(|id| id.starts_with("MEDIA-UP-")),
        Some(true),
        "sent by the uploaded id"
    );

    let (status, refused) = c.reply(id, json!({"body": "x", "attachments": [{"url": "/api/v1/media/0000000000000000000000000000000000000000000000000000000000000000"}]})).await;
    assert_eq!((status, refused["field"].as_str()), (422, Some("attachments")));
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numbers_page_shows_the_graph_profile_the_webhook_record_and_templates() {
    let c = channel().await;
    let admin = c.server.login("admin@test.example").await;
    let customer = c.server.login("cust@test.example").await;
    let (status, _) = c.server.call("GET", "/api/v1/whatsapp/numbers", Some(&customer), None).await;
    assert_eq!(status, 403);
    let (_, synced) = c.server.call("POST", "/api/v1/whatsapp/templates/sync", Some(&admin), None).await;
    assert_eq!(synced["synced"], 2, "{synced}");
    let (status, numbers) = c.server.call("GET", "/api/v1/whatsapp/numbers", Some(&admin), None).await;
    assert_eq!(status, 200, "{numbers}");
    assert_eq!(numbers["sandbox"], false);
    assert_eq!(numbers["business_account_id"], "WABA1");
    let number = &numbers["items"][0];
    assert_eq!(number["phone_number_id"], NUMBER);
    assert_eq!(number["display_phone_number"], "15550100001");
    assert_eq!(number["profile"]["verified_name"], "Fake Graph Support", "read from the Graph API: {numbers}");
    assert_eq!(number["profile"]["quality_rating"], "GREEN");
    assert_eq!((numbers["templates"].as_i64(), numbers["approved_templates"].as_i64()), (Some(2), Some(1)));
    let webhook = &numbers["webhook"];
    assert_eq!((webhook["signature_check"].as_bool(), webhook["verify_token_set"].as_bool()), (Some(true), Some(true)));
    assert_eq!((webhook["received"].as_i64(), webhook["last_received_at"].is_null()), (Some(0), true));

    c.webhook(&envelope(messages_value(json!([contact("222", "Ana")]), json!([text("222", "wamid.N1", 0, "hi")]))))
        .await;
    c.ticket_of("Ana", 1).await;
    // The processed mark rides along with a later write (or is written after 25 ms alone): the
    // entry may show as pending for that long after its ticket.
    let mut numbers = Value::Null;
    for _ in 0..100 {
        numbers = c.server.call("GET", "/api/v1/whatsapp/numbers", Some(&admin), None).await.1;
        if numbers["webhook"]["pending"] == json!(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let webhook = &numbers["webhook"];
    assert_eq!(
        (webhook["received"].as_i64(), webhook["pending"].as_i64(), webhook["failed"].as_i64()),
        (Some(1), Some(0), Some(0))
    );
    assert!(webhook["last_received_at"].is_string(), "{numbers}");
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_ids_and_download_urls_cannot_point_the_hub_elsewhere() {
    let c = channel().await;
    // Something on the hub's own network that a forged media URL would make it fetch.
    let bait = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    bait.set_nonblocking(true).expect("nonblocking");
    c.graph.point_media_at(&format!("http://{}/latest/meta-data/", bait.local_addr().expect("addr")));
    let now = jiff::Timestamp::now().as_second().to_string();
    let image = |id: &str, media: &str| {
        json!({"from": "3301", "id": id, "timestamp": now, "type": "image",
               "image": {"caption": format!("photo {media}"), "mime_type": "image/jpeg", "sha256": "x", "id": media}})
    };
    c.webhook(&envelope(messages_value(
        json!([contact("3301", "Mo")]),
        json!([image("wamid.S1", "7000123"), image("wamid.S2", "../../v25.0/me?fields=id"), image("wamid.S3", "1002")]),
    )))
    .await;
    let ticket = c
        .eventually("the three attachments settled", async |c| {
            let ticket = c.ticket_of("Mo", 3).await;
            let settled = ticket["messages"]
                .as_array()?
                .iter()
                .all(|message| message["attachments"][0]["status"].as_str().is_some_and(|status| status != "pending"));
            settled.then_some(ticket)
        })
        .await;
    let attachment = |index: usize| ticket["messages"][index]["attachments"][0].clone();
    assert_eq!(attachment(0)["status"], "failed", "{}", attachment(0));
    assert!(
        attachment(0)["error"].as_str().is_some_and(|error| error.contains("media URL refused")),
        "{}",
        attachment(0)
    );
    assert_eq!(attachment(1)["status"], "failed");
    assert!(
        attachment(1)["error"].as_str().is_some_and(|error| error.contains("invalid media id")),
        "{}",
        attachment(1)
    );
    assert_eq!(attachment(2)["status"], "stored", "Meta-shaped ids on Meta's hosts still work");
    assert!(
        matches!(bait.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the hub never connected to the URL the Graph API named"
    );
    assert!(
        c.graph.media_requests().iter().all(|id| id.bytes().all(|byte| byte.is_ascii_digit())),
        "a media id that is not digits never reaches the Graph API: {:?}",
        c.graph.media_requests()
    );
    c.server.stop().await;
}

/// The `error` column of every stored webhook, oldest first.
async fn inbox_errors(c: &Channel) -> Vec<Option<String>> {
    use sqlx::Connection as _;
    let mut connection = sqlx::SqliteConnection::connect(&c._db.url).await.expect("open the test database");
    sqlx::query_scalar("SELECT error FROM webhook_inbox ORDER BY id").fetch_all(&mut connection).await.expect("inbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_with_ids_of_the_wrong_shape_are_refused_with_the_reason_on_the_inbox_row() {
    let c = channel().await;
    c.webhook(&envelope(messages_value(
        json!([contact("3302", "Al")]),
        json!([text("+44 20 7946", "wamid.B1", 0, "not digits"), text("3302", "wamid.B2", 0, "fine")]),
    )))
    .await;
    let ticket = c.ticket_of("Al", 1).await;
    assert_eq!(ticket["messages"][0]["body"], "fine", "the well-formed message of the same webhook still lands");
    let errors = c
        .eventually("the webhook marked processed", async |c| {
            let errors = inbox_errors(c).await;
            errors.first().cloned().flatten().map(|_| errors)
        })
        .await;
    let reason = errors[0].clone().unwrap_or_default();
    assert!(reason.contains("wamid.B1") && reason.contains("is not a WhatsApp id"), "{reason}");
    assert_eq!(c.tickets().await.len(), 1, "no customer was made of the malformed id");
    c.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_text_is_stored_cut_with_a_visible_note() {
    let c = channel().await;
    let long = "a".repeat(5000);
    c.webhook(&envelope(messages_value(json!([contact("3303", "Vi")]), json!([text("3303", "wamid.L1", 0, &long)]))))
        .await;
    let ticket = c.ticket_of("Vi", 1).await;
    let body = ticket["messages"][0]["body"].as_str().expect("body");
    assert!(body.starts_with(&"a".repeat(4096)), "the first 4,096 characters are kept");
    assert!(body.contains("[Truncated: the message had 5000 characters"), "and the cut is said: {}", &body[4096..]);
    c.server.stop().await;
}

/// The reports' WhatsApp figures through the real channel (`docs/metrics.md` §5, §1): a reply
/// Meta refuses (131047) fails and answers nobody; the next is sent, delivered and read; the
/// summary counts the funnel, the failure reason, the customer's message, and a first response
/// timed to the send that counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_count_the_whatsapp_funnel_and_a_refused_reply_answers_nobody() {
    let c = channel().await;
    let from = jiff::Timestamp::now();
    c.webhook(&envelope(messages_value(
        json!([contact("351922", "Fay")]),
        json!([text("351922", "wamid.F1", 0, "My order never came")]),
    )))
    .await;
    let id = c.ticket_of("Fay", 1).await["id"].as_i64().expect("id");
    c.graph.fail_next(&[131047]);
    let (status, refused) = c.reply(id, json!({"body": "Checking"})).await;
    assert_eq!(status, 201, "{refused}");
    let refused_id = refused["events"][0]["message"]["id"].as_str().expect("id").to_owned();
    let message = |ticket: &Value, id: &str| {
        ticket["messages"].as_array().and_then(|all| all.iter().find(|m| m["id"] == id).cloned()).unwrap_or_default()
    };
    c.eventually("the refusal", async |c| {
        (message(&c.ticket(id).await, &refused_id)["delivery_status"] == "failed").then_some(())
    })
    .await;
    // Meta closed the window with that refusal; the customer writes again and it opens.
    c.webhook(&envelope(messages_value(
        json!([contact("351922", "Fay")]),
        json!([text("351922", "wamid.F2", 0, "Hello?")]),
    )))
    .await;
    c.eventually("window open", async |c| {
        c.conversations().await.iter().find(|row| row["window"]["state"] == "open").cloned()
    })
    .await;
    let (status, sent) = c.reply(id, json!({"body": "Found it"})).await;
    assert_eq!(status, 201, "{sent}");
    let sent_id = sent["events"][0]["message"]["id"].as_str().expect("id").to_owned();
    let wamid = c
        .eventually("the send", async |c| {
            message(&c.ticket(id).await, &sent_id)["provider_id"].as_str().map(str::to_owned)
        })
        .await;
    c.webhook(&statuses(json!([
        {"id": wamid, "status": "delivered", "timestamp": "2", "recipient_id": "351922"},
        {"id": wamid, "status": "read", "timestamp": "3", "recipient_id": "351922"}
    ])))
    .await;
    c.eventually("read", async |c| (message(&c.ticket(id).await, &sent_id)["delivery_status"] == "read").then_some(()))
        .await;

    let to = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(1)).expect("time");
    let admin = c.server.login("admin@test.example").await;
    let path = format!("/api/v1/reports/summary?from={from}&to={to}");
    // A summary waits at most two seconds for the projection; a busy machine may need more.
    let summary = c
        .eventually("the figures as of the last event", async |c| {
            let (status, summary) = c.server.call("GET", &path, Some(&admin), None).await;
            assert_eq!(status, 200, "{summary}");
            (summary["complete"] == json!(true)).then_some(summary)
        })
        .await;
    let total = &summary["total"];
    assert_eq!(
        total["whatsapp"],
        json!({
            "sent": 1, "delivered": 1, "read": 1, "failed": 1,
            "delivery_rate": {"numerator": 1, "denominator": 2},
            "read_rate": {"numerator": 1, "denominator": 1},
            "failure_reasons": [{"code": 131047, "title": total["whatsapp"]["failure_reasons"][0]["title"], "share": {"numerator": 1, "denominator": 1}}]
        }),
        "{summary}"
    );
    assert_eq!(total["inbound_messages"], json!(2));
    assert_eq!(total["replies"], json!(1), "the refused reply is not a reply");
    assert_eq!(total["first_response"]["count"], json!(1), "answered by the reply that was sent");
    assert_eq!(total["window_expired_unanswered"], json!(0));
    c.server.stop().await;
}
