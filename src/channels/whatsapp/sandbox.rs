//! The sandbox (`whatsapp.sandbox = true`, the default): a Graph API simulator inside the hub and
//! a customer phone page at `/sandbox/phone`. The page's messages become properly signed webhooks
//! posted to the hub's own `/webhooks/whatsapp`; agents' replies reach the simulator, which shows
//! them on the phone and answers with signed `sent` / `delivered` (and, when the phone reads them,
//! `read`) status webhooks. Everything the real channel does runs; only Meta is simulated. The
//! phone's history lives in memory (tickets, of course, are stored).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::payload::digits;
use super::sign;

/// Business account id the simulator answers template requests for.
pub const SANDBOX_WABA: &str = "sandbox-waba";

#[derive(Clone, Debug, Serialize)]
pub struct PhoneMessage {
    pub wamid: String,
    /// `in`: the customer wrote it; `out`: the business did.
    pub direction: &'static str,
    pub text: String,
    /// For outbound: `sent`, `delivered`, `read`.
    pub status: &'static str,
    pub at: jiff::Timestamp,
}

pub struct Sandbox {
    app_secret: String,
    webhook_url: String,
    phone_number_id: String,
    display_phone_number: String,
    phones: DashMap<String, Vec<PhoneMessage>>,
    counter: AtomicU64,
    /// Distinguishes this process's wamids from an earlier run's: the hub de-duplicates by
    /// wamid, so a restarted simulator must never reuse one.
    run: String,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn new(app_secret: &str, webhook_url: &str, phone_number_id: &str, display_phone_number: &str) -> Arc<Sandbox> {
        crate::install_tls_provider();
        Arc::new(Sandbox {
            app_secret: app_secret.to_owned(),
            webhook_url: webhook_url.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            display_phone_number: display_phone_number.to_owned(),
            phones: DashMap::new(),
            counter: AtomicU64::new(1),
            run: uuid::Uuid::now_v7().simple().to_string(),
            http: reqwest::Client::new(),
        })
    }

    fn next_wamid(&self, kind: &str) -> String {
        format!("wamid.SANDBOX-{kind}-{}-{}", self.run, self.counter.fetch_add(1, Ordering::Relaxed))
    }

    fn envelope(&self, value: Value) -> Value {
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] =
            json!({"display_phone_number": self.display_phone_number, "phone_number_id": self.phone_number_id});
        json!({"object": "whatsapp_business_account", "entry": [{"id": SANDBOX_WABA, "changes": [{"field": "messages", "value": value}]}]})
    }

    /// Posts `payload` to the hub's webhook, signed like Meta signs.
    async fn deliver(&self, payload: Value) -> Result<(), String> {
        let body = payload.to_string();
        let response = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign(&self.app_secret, body.as_bytes()))
            .body(body)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        if response.status().is_success() { Ok(()) } else { Err(format!("webhook answered {}", response.status())) }
    }

    async fn status(&self, wa_id: &str, wamid: &str, status: &'static str) {
        if let Some(mut messages) = self.phones.get_mut(wa_id)
            && let Some(message) = messages.iter_mut().find(|message| message.wamid == wamid)
        {
            message.status = status;
        }
        let at = jiff::Timestamp::now().as_second().to_string();
        let payload = self
            .envelope(json!({"statuses": [{"id": wamid, "status": status, "timestamp": at, "recipient_id": wa_id}]}));
        if let Err(error) = self.deliver(payload).await {
            tracing::warn!(%error, "sandbox status webhook failed");
        }
    }
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/sandbox/graph/{version}/{number}/messages", web::post().to(graph_send))
        .route("/sandbox/graph/{version}/{number}/media", web::post().to(graph_upload))
        .route("/sandbox/graph/{version}/{waba}/message_templates", web::get().to(graph_templates))
        .route("/sandbox/phone", web::get().to(phone_page))
        .route("/sandbox/phone.js", web::get().to(phone_script))
        .route("/sandbox/api/send", web::post().to(phone_send))
        .route("/sandbox/api/messages", web::get().to(phone_messages))
        .route("/sandbox/api/read", web::post().to(phone_read));
}

fn sandbox(state: &crate::http::AppState) -> Option<Arc<Sandbox>> {
    state.sandbox.clone()
}

/// What the phone shows for a Graph API send body.
fn render(body: &Value) -> String {
    match body["type"].as_str().unwrap_or("text") {
        "text" => body["text"]["body"].as_str().unwrap_or_default().to_owned(),
        "template" => {
            let parameters: Vec<&str> = body["template"]["components"][0]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|parameter| parameter["text"].as_str())
                .collect();
            format!("[template {}] {}", body["template"]["name"].as_str().unwrap_or("?"), parameters.join(" · "))
        }
        "interactive" => {
            let buttons: Vec<&str> = body["interactive"]["action"]["buttons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|button| button["reply"]["title"].as_str())
                .collect();
            format!("{} [{}]", body["interactive"]["body"]["text"].as_str().unwrap_or_default(), buttons.join(" | "))
        }
        "reaction" => format!("reacted {}", body["reaction"]["emoji"].as_str().unwrap_or_default()),
        kind @ ("image" | "audio" | "video" | "document" | "sticker") => {
            let label = body[kind]["filename"].as_str().unwrap_or(kind);
            match body[kind]["caption"].as_str() {
                Some(caption) => format!("[{label}] {caption}"),
                None => format!("[{label}]"),
            }
        }
        other => format!("[{other}]"),
    }
}

async fn graph_send(state: web::Data<crate::http::AppState>, body: web::Json<Value>) -> HttpResponse {
    let Some(sandbox) = sandbox(&state) else { return HttpResponse::NotFound().finish() };
    let body = body.into_inner();
    if body["status"] == "read" {
        return HttpResponse::Ok().json(json!({"success": true}));
    }
    let wa_id = digits(body["to"].as_str().unwrap_or_default());
    if wa_id.is_empty() {
        return HttpResponse::BadRequest().json(json!({"error": {"message": "(#100) Invalid parameter", "code": 100}}));
    }
    let wamid = sandbox.next_wamid("OUT");
    sandbox.phones.entry(wa_id.clone()).or_default().push(PhoneMessage {
        wamid: wamid.clone(),
        direction: "out",
        text: render(&body),
        status: "sent",
        at: jiff::Timestamp::now(),
    });
    let (simulator, recipient, id) = (sandbox.clone(), wa_id.clone(), wamid.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        simulator.status(&recipient, &id, "sent").await;
        tokio::time::sleep(Duration::from_millis(350)).await;
        simulator.status(&recipient, &id, "delivered").await;
    });
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": body["to"], "wa_id": wa_id}],
        "messages": [{"id": wamid}]
    }))
}

/// Media uploads: the simulator only hands out an id (the phone shows the caption and kind).
async fn graph_upload(state: web::Data<crate::http::AppState>) -> HttpResponse {
    let Some(sandbox) = sandbox(&state) else { return HttpResponse::NotFound().finish() };
    HttpResponse::Ok().json(json!({"id": sandbox.next_wamid("MEDIA")}))
}

async fn graph_templates() -> HttpResponse {
    HttpResponse::Ok().json(json!({"data": [
        {"name": "ticket_update", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "Hi {{1}}, there is an update on your ticket {{2}}. Reply to continue."}]},
        {"name": "hello_world", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "Hello! We are following up on your request."}]}
    ]}))
}

#[derive(Deserialize)]
struct PhoneSend {
    wa_id: String,
    name: String,
    text: String,
}

/// The phone sends a message: a signed webhook to the hub, exactly as Meta would post it.
async fn phone_send(state: web::Data<crate::http::AppState>, body: web::Json<PhoneSend>) -> HttpResponse {
    let Some(sandbox) = sandbox(&state) else { return HttpResponse::NotFound().finish() };
    let wa_id = digits(&body.wa_id);
    let text = body.text.trim();
    if wa_id.len() < 6 || text.is_empty() || body.name.trim().is_empty() {
        return HttpResponse::UnprocessableEntity()
            .json(json!({"error": "validation_failed", "message": "give a number (6+ digits), a name and a message"}));
    }
    let wamid = sandbox.next_wamid("IN");
    let now = jiff::Timestamp::now();
    let payload = sandbox.envelope(json!({
        "contacts": [{"profile": {"name": body.name.trim()}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": now.as_second().to_string(), "type": "text", "text": {"body": text}}]
    }));
    sandbox.phones.entry(wa_id.clone()).or_default().push(PhoneMessage {
        wamid: wamid.clone(),
        direction: "in",
        text: text.to_owned(),
        status: "sent",
        at: now,
    });
    match sandbox.deliver(payload).await {
        Ok(()) => HttpResponse::Ok().json(json!({"wamid": wamid})),
        Err(error) => HttpResponse::BadGateway().json(json!({"error": "webhook_failed", "message": error})),
    }
}

#[derive(Deserialize)]
struct PhoneQuery {
    wa_id: String,
}

async fn phone_messages(state: web::Data<crate::http::AppState>, query: web::Query<PhoneQuery>) -> HttpResponse {
    let Some(sandbox) = sandbox(&state) else { return HttpResponse::NotFound().finish() };
    let messages = sandbox.phones.get(&digits(&query.wa_id)).map(|messages| messages.clone()).unwrap_or_default();
    HttpResponse::Ok().json(json!({"items": messages}))
}

/// The phone shows the chat: everything delivered from the business is now read.
async fn phone_read(state: web::Data<crate::http::AppState>, body: web::Json<PhoneQuery>) -> HttpResponse {
    let Some(sandbox) = sandbox(&state) else { return HttpResponse::NotFound().finish() };
    let wa_id = digits(&body.wa_id);
    let unread: Vec<String> = sandbox
        .phones
        .get(&wa_id)
        .map(|messages| {
            messages
                .iter()
                .filter(|message| message.direction == "out" && message.status != "read")
                .map(|message| message.wamid.clone())
                .collect()
        })
        .unwrap_or_default();
    for wamid in &unread {
        sandbox.status(&wa_id, wamid, "read").await;
    }
    HttpResponse::Ok().json(json!({"read": unread.len()}))
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

async fn phone_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(PHONE_HTML)
}

async fn phone_script() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(PHONE_JS)
}

const PHONE_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard sandbox phone</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #e5ddd5; color: #111; }
  header { background: #075e54; color: #fff; padding: .75rem 1rem; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header p { margin: .25rem 0 0; font-size: .85rem; opacity: .85; }
  form#who { display: flex; gap: .5rem; flex-wrap: wrap; padding: .5rem 1rem; background: #f0f0f0; }
  label { font-size: .85rem; display: flex; flex-direction: column; }
  input { font: inherit; padding: .4rem; border: 1px solid #bbb; border-radius: 4px; }
  main { max-width: 40rem; margin: 0 auto; padding: 1rem; display: flex; flex-direction: column; gap: .4rem; min-height: 60vh; }
  .bubble { max-width: 75%; padding: .45rem .6rem; border-radius: 7px; white-space: pre-wrap; box-shadow: 0 1px 1px rgba(0,0,0,.15); }
  .in { align-self: flex-end; background: #dcf8c6; }
  .out { align-self: flex-start; background: #fff; }
  .meta { display: block; font-size: .7rem; color: #555; text-align: right; }
  form#compose { position: sticky; bottom: 0; display: flex; gap: .5rem; padding: .6rem 1rem; background: #f0f0f0; }
  form#compose input { flex: 1; }
  button { font: inherit; background: #128c7e; color: #fff; border: 0; border-radius: 4px; padding: .4rem .9rem; cursor: pointer; }
  #error { color: #a00; padding: 0 1rem; min-height: 1.2em; }
</style>
</head>
<body>
<header><h1>Sandbox customer phone</h1><p>Write as a WhatsApp customer; agents answer in the console. Messages go through the hub's real, signed webhook.</p></header>
<form id="who"><label>Your number <input id="wa_id" value="5511987654321" inputmode="numeric" autocomplete="off"></label>
<label>Your name <input id="name" value="Sandbox Customer"></label></form>
<main id="chat" aria-live="polite"></main>
<p id="error" role="alert"></p>
<form id="compose"><label class="visually-hidden" for="text" style="position:absolute;left:-9999px">Message</label>
<input id="text" placeholder="Type a message" autocomplete="off"><button type="submit">Send</button></form>
<script src="/sandbox/phone.js"></script>
</body>
</html>
"#;

const PHONE_JS: &str = r#"// The sandbox phone: sends through /sandbox/api/send, shows the chat, marks replies read.
const $ = (id) => document.getElementById(id);
const ticks = { sent: "✓", delivered: "✓✓", read: "✓✓ read" };
let shown = "";

async function refresh() {
  const waId = $("wa_id").value.trim();
  if (!waId) return;
  try {
    const response = await fetch(`/sandbox/api/messages?wa_id=${encodeURIComponent(waId)}`);
    const { items } = await response.json();
    const key = JSON.stringify(items);
    if (key !== shown) {
      shown = key;
      const chat = $("chat");
      chat.replaceChildren(...items.map((message) => {
        const bubble = document.createElement("div");
        bubble.className = `bubble ${message.direction}`;
        bubble.textContent = message.text;
        const meta = document.createElement("span");
        meta.className = "meta";
        const time = new Date(message.at).toLocaleTimeString();
        meta.textContent = message.direction === "out" ? time : `${time} ${ticks.sent}`;
        bubble.append(meta);
        return bubble;
      }));
      chat.lastElementChild?.scrollIntoView({ block: "end" });
    }
    const unread = items.some((message) => message.direction === "out" && message.status !== "read");
    if (unread && document.visibilityState === "visible") {
      await fetch("/sandbox/api/read", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ wa_id: waId }) });
    }
    $("error").textContent = "";
  } catch (error) {
    $("error").textContent = `Cannot reach the hub: ${error}`;
  }
}

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  const body = { wa_id: $("wa_id").value, name: $("name").value, text };
  const response = await fetch("/sandbox/api/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (response.ok) {
    $("text").value = "";
    $("error").textContent = "";
    refresh();
  } else {
    const problem = await response.json().catch(() => ({}));
    $("error").textContent = problem.message || `The hub refused the message (${response.status}).`;
  }
});
$("wa_id").addEventListener("change", () => { shown = ""; refresh(); });
setInterval(refresh, 1000);
refresh();
"#;
