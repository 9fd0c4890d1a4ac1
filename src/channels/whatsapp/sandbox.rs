//! The sandbox (`whatsapp.sandbox`, on unless set to false): a Graph API simulator inside the hub
//! and a customer phone page at `/sandbox/phone`. The page's messages become properly signed
//! webhooks posted to the hub's own `/webhooks/whatsapp`; agents' replies reach the simulator,
//! which shows them on the phone and answers with signed `sent` / `delivered` (and, when the phone
//! reads them, `read`) status webhooks. Everything the real channel does runs; only Meta is
//! simulated.
//!
//! Who may use what: the phone page and `/sandbox/api/*` are staff tools (a logged-in agent,
//! supervisor or admin; see `channels::staff_only`); the simulator's `/sandbox/graph/*` answers
//! only the hub's own Graph client, which presents the access token (configured, or generated per
//! install). The phone's history lives in memory, bounded by `[sandbox]` (tickets, of course, are
//! stored).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use super::payload::digits;
use super::sign;
use crate::auth::Caller;
use crate::channels::bounded_log::{BoundedLog, Bounds};
use crate::channels::staff_only::staff_or_page;
use crate::error::ApiError;
use crate::sessions::Sessions;

/// Business account id the simulator answers template requests for.
pub const SANDBOX_WABA: &str = "sandbox-waba";

/// Bytes counted per phone message besides its text and ids (the struct, the time, the queue).
const MESSAGE_OVERHEAD: usize = 96;

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

/// A phone message and whose phone it is on.
#[derive(Debug)]
struct OnPhone {
    wa_id: String,
    message: PhoneMessage,
}

/// What the simulator needs to know: how to reach and sign for the hub, and which token the
/// hub's Graph client presents.
pub struct SandboxSetup<'a> {
    pub app_secret: &'a str,
    pub access_token: &'a str,
    pub webhook_url: &'a str,
    pub phone_number_id: &'a str,
    pub display_phone_number: &'a str,
    pub bounds: Bounds,
    pub clock: Arc<dyn switchboard_actors::clock::Clock>,
}

pub struct Sandbox {
    clock: Arc<dyn switchboard_actors::clock::Clock>,
    app_secret: String,
    access_token: String,
    webhook_url: String,
    phone_number_id: String,
    display_phone_number: String,
    /// Every phone's messages, oldest first, bounded by count and bytes (the simulator's whole
    /// state: a send to a new number only adds a message here).
    phones: Mutex<BoundedLog<OnPhone>>,
    counter: AtomicU64,
    /// Distinguishes this process's wamids from an earlier run's: the hub de-duplicates by
    /// wamid, so a restarted simulator must never reuse one.
    run: String,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn new(setup: SandboxSetup<'_>) -> Arc<Sandbox> {
        crate::install_tls_provider();
        Arc::new(Sandbox {
            clock: setup.clock,
            app_secret: setup.app_secret.to_owned(),
            access_token: setup.access_token.to_owned(),
            webhook_url: setup.webhook_url.to_owned(),
            phone_number_id: setup.phone_number_id.to_owned(),
            display_phone_number: setup.display_phone_number.to_owned(),
            phones: Mutex::new(BoundedLog::new(setup.bounds)),
            counter: AtomicU64::new(1),
            run: uuid::Uuid::now_v7().simple().to_string(),
            http: reqwest::Client::new(),
        })
    }

    fn next_wamid(&self, kind: &str) -> String {
        format!("wamid.SANDBOX-{kind}-{}-{}", self.run, self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// Keeps `message` on `wa_id`'s phone (the oldest messages of all phones go past the bounds).
    fn keep(&self, wa_id: &str, message: PhoneMessage) {
        let size = MESSAGE_OVERHEAD + wa_id.len() + message.wamid.len() + message.text.len();
        if let Ok(mut phones) = self.phones.lock() {
            phones.push(OnPhone { wa_id: wa_id.to_owned(), message }, size);
        }
    }

    /// `wa_id`'s messages, oldest first.
    pub fn messages(&self, wa_id: &str) -> Vec<PhoneMessage> {
        let Ok(phones) = self.phones.lock() else { return Vec::new() };
        phones.iter().filter(|kept| kept.wa_id == wa_id).map(|kept| kept.message.clone()).collect()
    }

    /// Messages kept on all phones, and the bytes counted for them.
    pub fn kept(&self) -> (usize, usize) {
        self.phones.lock().map(|phones| (phones.len(), phones.bytes())).unwrap_or_default()
    }

    /// Whether `request` carries the hub's Graph API token (compared in constant time).
    fn graph_caller(&self, request: &HttpRequest) -> bool {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        !self.access_token.is_empty() && bool::from(presented.as_bytes().ct_eq(self.access_token.as_bytes()))
    }

    fn envelope(&self, value: Value) -> Value {
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] =
            json!({"display_phone_number": self.display_phone_number, "phone_number_id": self.phone_number_id});
        json!({"object": "whatsapp_business_account", "entry": [{"id": SANDBOX_WABA, "changes": [{"field": "messages", "value": value}]}]})
    }

    /// Posts `payload` to the hub's webhook, signed like Meta signs.
    async fn deliver(&self, payload: Value) -> Result<(), super::WhatsAppError> {
        let body = payload.to_string();
        let response = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign(&self.app_secret, body.as_bytes()))
            .body(body)
            .send()
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(super::WhatsAppError::WebhookRefused(response.status()))
        }
    }

    async fn status(&self, wa_id: &str, wamid: &str, status: &'static str) {
        if let Ok(mut phones) = self.phones.lock()
            && let Some(kept) = phones.iter_mut().rev().find(|kept| kept.message.wamid == wamid)
        {
            kept.message.status = status;
        }
        let at = self.clock.now().as_second().to_string();
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

/// The simulator, when `whatsapp.sandbox` is on (the app registers it only then).
type Simulator = Option<web::Data<Sandbox>>;

fn sandbox(simulator: Simulator) -> Result<web::Data<Sandbox>, ApiError> {
    simulator.ok_or(ApiError::NotFound("route"))
}

/// Why the simulator did not answer a Graph API call.
enum GraphRefusal {
    /// `whatsapp.sandbox` is off: there is no simulator.
    NoSandbox,
    /// The caller did not present the hub's Graph API token.
    BadToken,
}

impl GraphRefusal {
    /// As Meta answers a missing or wrong token: 401, OAuthException 190.
    fn response(&self) -> HttpResponse {
        match self {
            GraphRefusal::NoSandbox => HttpResponse::NotFound().finish(),
            GraphRefusal::BadToken => HttpResponse::Unauthorized().json(json!({"error": {
                "message": "Invalid OAuth access token - Cannot parse access token",
                "type": "OAuthException",
                "code": 190
            }})),
        }
    }
}

/// The simulator, for a caller presenting the hub's Graph API token.
fn graph_sandbox(simulator: Simulator, request: &HttpRequest) -> Result<web::Data<Sandbox>, GraphRefusal> {
    let sandbox = simulator.ok_or(GraphRefusal::NoSandbox)?;
    if sandbox.graph_caller(request) { Ok(sandbox) } else { Err(GraphRefusal::BadToken) }
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
            // Quick-reply buttons carry payloads the phone would send back when tapped.
            let quick_replies = body["template"]["components"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|component| component["sub_type"] == "quick_reply")
                .filter_map(|component| component["parameters"][0]["payload"].as_str())
                .collect::<Vec<_>>();
            let buttons =
                if quick_replies.is_empty() { String::new() } else { format!(" [{}]", quick_replies.join(" | ")) };
            format!(
                "[template {}] {}{buttons}",
                body["template"]["name"].as_str().unwrap_or("?"),
                parameters.join(" · ")
            )
        }
        "interactive" => {
            let rows = body["interactive"]["action"]["sections"].as_array().into_iter().flatten();
            let rows = rows.flat_map(|section| section["rows"].as_array().into_iter().flatten());
            let buttons: Vec<&str> = body["interactive"]["action"]["buttons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|button| button["reply"]["title"].as_str())
                .chain(rows.filter_map(|row| row["title"].as_str()))
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

async fn graph_send(simulator: Simulator, request: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    let sandbox = match graph_sandbox(simulator, &request) {
        Ok(sandbox) => sandbox,
        Err(refusal) => return refusal.response(),
    };
    let body = body.into_inner();
    if body["status"] == "read" {
        return HttpResponse::Ok().json(json!({"success": true}));
    }
    let wa_id = digits(body["to"].as_str().unwrap_or_default());
    if wa_id.is_empty() {
        return HttpResponse::BadRequest().json(json!({"error": {"message": "(#100) Invalid parameter", "code": 100}}));
    }
    let wamid = sandbox.next_wamid("OUT");
    sandbox.keep(
        &wa_id,
        PhoneMessage {
            wamid: wamid.clone(),
            direction: "out",
            text: render(&body),
            status: "sent",
            at: sandbox.clock.now(),
        },
    );
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
async fn graph_upload(simulator: Simulator, request: HttpRequest) -> HttpResponse {
    match graph_sandbox(simulator, &request) {
        Ok(sandbox) => HttpResponse::Ok().json(json!({"id": sandbox.next_wamid("MEDIA")})),
        Err(refusal) => refusal.response(),
    }
}

async fn graph_templates(simulator: Simulator, request: HttpRequest) -> HttpResponse {
    if let Err(refusal) = graph_sandbox(simulator, &request) {
        return refusal.response();
    }
    HttpResponse::Ok().json(json!({"data": [
        {"name": "ticket_update", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "Hi {{1}}, there is an update on your ticket {{2}}. Reply to continue."}]},
        {"name": "hello_world", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "Hello! We are following up on your request."}]},
        // CSAT surveys outside the window (`csat::Scale::template_name`): one quick-reply
        // button per score, whose payloads the hub sets when it sends them.
        {"name": "csat_five", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "About your ticket {{1}}: {{2}}"},
                        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "1"}, {"type": "QUICK_REPLY", "text": "2"},
                            {"type": "QUICK_REPLY", "text": "3"}, {"type": "QUICK_REPLY", "text": "4"}, {"type": "QUICK_REPLY", "text": "5"}]}]},
        {"name": "csat_thumbs", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "About your ticket {{1}}: {{2}}"},
                        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "👎"}, {"type": "QUICK_REPLY", "text": "👍"}]}]},
        // Customer accounts' codes outside the window (`customer_accounts::CODE_TEMPLATE`).
        {"name": "verification_code", "language": "en_US", "category": "AUTHENTICATION", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "{{1}} is your verification code. For your security, do not share this code."},
                        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Copy code", "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}"}]}]}
    ]}))
}

#[derive(Deserialize)]
struct PhoneSend {
    wa_id: String,
    name: String,
    text: String,
}

/// The phone sends a message: a signed webhook to the hub, exactly as Meta would post it.
async fn phone_send(
    caller: Caller,
    simulator: Simulator,
    body: web::Json<PhoneSend>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let sandbox = sandbox(simulator)?;
    let wa_id = digits(&body.wa_id);
    let text = body.text.trim();
    if wa_id.len() < 6 || text.is_empty() || body.name.trim().is_empty() {
        return Err(ApiError::invalid("wa_id", "give a number (6+ digits), a name and a message"));
    }
    let wamid = sandbox.next_wamid("IN");
    let now = sandbox.clock.now();
    let payload = sandbox.envelope(json!({
        "contacts": [{"profile": {"name": body.name.trim()}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": now.as_second().to_string(), "type": "text", "text": {"body": text}}]
    }));
    sandbox.keep(
        &wa_id,
        PhoneMessage { wamid: wamid.clone(), direction: "in", text: text.to_owned(), status: "sent", at: now },
    );
    match sandbox.deliver(payload).await {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({"wamid": wamid}))),
        Err(error) => {
            Ok(HttpResponse::BadGateway().json(json!({"error": "webhook_failed", "message": error.to_string()})))
        }
    }
}

#[derive(Deserialize)]
struct PhoneQuery {
    wa_id: String,
}

async fn phone_messages(
    caller: Caller,
    simulator: Simulator,
    query: web::Query<PhoneQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let sandbox = sandbox(simulator)?;
    Ok(HttpResponse::Ok().json(json!({"items": sandbox.messages(&digits(&query.wa_id))})))
}

/// The phone shows the chat: everything delivered from the business is now read.
async fn phone_read(
    caller: Caller,
    simulator: Simulator,
    body: web::Json<PhoneQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let sandbox = sandbox(simulator)?;
    let wa_id = digits(&body.wa_id);
    let unread: Vec<String> = sandbox
        .messages(&wa_id)
        .into_iter()
        .filter(|message| message.direction == "out" && message.status != "read")
        .map(|message| message.wamid)
        .collect();
    for wamid in &unread {
        sandbox.status(&wa_id, wamid, "read").await;
    }
    Ok(HttpResponse::Ok().json(json!({"read": unread.len()})))
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

async fn phone_page(simulator: Simulator, sessions: web::Data<Sessions>, request: HttpRequest) -> HttpResponse {
    if simulator.is_none() {
        return HttpResponse::NotFound().finish();
    }
    if let Err(refusal) = staff_or_page(&sessions, &request, "sandbox phone").await {
        return refusal;
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(PHONE_HTML)
}

async fn phone_script(caller: Caller, simulator: Simulator) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    sandbox(simulator)?;
    Ok(HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(PHONE_JS))
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
    if (response.status === 401 || response.status === 403) {
      $("error").textContent = "Your staff session ended: log in to the console again, then reload this page.";
      return;
    }
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
