//! The email sandbox (`email.sandbox`, on unless set to false): outbound mail is kept in memory
//! instead of going to an SMTP server, and `/sandbox/mail` shows it, with a form to write to the
//! hub as a customer (or answer one of its emails). The form's messages are real RFC 5322 bytes
//! posted to the hub's own `/webhooks/email` with the inbound secret, so everything the channel
//! does runs; only the mail servers are simulated. The page and its API are staff tools (a
//! logged-in agent, supervisor or admin; see `channels::staff_only`). The mailbox lives in
//! memory, bounded by `[sandbox]` (tickets, of course, are stored).

use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

use super::EmailError;
use super::transport::{MailTransport, SendFailure};
use crate::auth::Caller;
use crate::channels::bounded_log::{BoundedLog, Bounds};
use crate::channels::staff_only::staff_or_page;
use crate::error::ApiError;
use crate::sessions::Sessions;

/// Bytes counted per email besides its text fields (the struct, the time, the queue).
const MAIL_OVERHEAD: usize = 160;

/// One email the sandbox saw: sent by the hub (`out`) or written on the page (`in`).
#[derive(Clone, Debug, Serialize)]
pub struct SandboxMail {
    /// `out`: the hub sent it; `in`: written as a customer on the page.
    pub direction: &'static str,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub text: String,
    pub attachments: Vec<String>,
    pub at: jiff::Timestamp,
}

impl SandboxMail {
    /// What the mailbox's byte bound counts for this email.
    fn size(&self) -> usize {
        let texts = [&self.message_id, &self.from, &self.to, &self.subject, &self.text];
        let optional = [&self.in_reply_to, &self.references];
        MAIL_OVERHEAD
            + texts.iter().map(|text| text.len()).sum::<usize>()
            + optional.iter().filter_map(|text| text.as_ref()).map(String::len).sum::<usize>()
            + self.attachments.iter().map(String::len).sum::<usize>()
    }
}

pub struct MailSandbox {
    clock: Arc<dyn switchboard_actors::clock::Clock>,
    /// Every email seen, oldest first, bounded by count and bytes.
    mails: Mutex<BoundedLog<SandboxMail>>,
    webhook_url: Mutex<String>,
    secret: String,
    /// The address customers write to.
    support_address: String,
    http: reqwest::Client,
}

impl MailSandbox {
    pub fn new(
        secret: &str,
        support_address: &str,
        bounds: Bounds,
        clock: Arc<dyn switchboard_actors::clock::Clock>,
    ) -> Arc<MailSandbox> {
        crate::install_tls_provider();
        Arc::new(MailSandbox {
            clock,
            mails: Mutex::new(BoundedLog::new(bounds)),
            webhook_url: Mutex::new(String::new()),
            secret: secret.to_owned(),
            support_address: support_address.to_owned(),
            http: reqwest::Client::new(),
        })
    }

    /// Where the page's emails are posted (known once the server listens).
    pub fn set_webhook_url(&self, url: &str) {
        if let Ok(mut current) = self.webhook_url.lock() {
            *current = url.to_owned();
        }
    }

    fn keep(&self, mail: SandboxMail) {
        let size = mail.size();
        if let Ok(mut mails) = self.mails.lock() {
            mails.push(mail, size);
        }
    }

    /// Emails kept, and the bytes counted for them.
    pub fn kept(&self) -> (usize, usize) {
        self.mails.lock().map(|mails| (mails.len(), mails.bytes())).unwrap_or_default()
    }

    /// Every email seen, oldest first; with `address`, only those to or from it.
    pub fn mails(&self, address: Option<&str>) -> Vec<SandboxMail> {
        let Ok(mails) = self.mails.lock() else { return Vec::new() };
        let wanted = address.map(|address| address.trim().to_lowercase());
        mails
            .iter()
            .filter(|mail| {
                wanted.as_deref().is_none_or(|address| {
                    addresses_in(&mail.to).any(|one| one == address)
                        || addresses_in(&mail.from).any(|one| one == address)
                })
            })
            .cloned()
            .collect()
    }

    /// Writes to the hub as a customer: builds the message and posts it to the webhook.
    pub async fn write(&self, letter: &Letter) -> Result<SandboxMail, EmailError> {
        let address: lettre::Address = letter.from.trim().parse().map_err(|_| EmailError::NotAnAddress)?;
        let from = Mailbox::new(letter.name.clone().filter(|name| !name.trim().is_empty()), address);
        let to: lettre::Address = self.support_address.parse().map_err(EmailError::SupportAddress)?;
        let message_id = format!("<{}@sandbox-customer.localhost>", uuid::Uuid::now_v7().simple());
        let mut builder = lettre::Message::builder()
            .from(from.clone())
            .to(Mailbox::new(None, to))
            .subject(letter.subject.clone())
            .message_id(Some(message_id.clone()));
        let replied = letter.in_reply_to.as_deref().and_then(|id| self.find(id));
        if let Some(original) = &replied {
            builder = builder.in_reply_to(original.message_id.clone());
            let references = match &original.references {
                Some(earlier) => format!("{earlier} {}", original.message_id),
                None => original.message_id.clone(),
            };
            builder = builder.references(references);
        }
        let mail = builder.body(letter.text.clone())?;
        let raw = mail.formatted();
        let url = self.webhook_url.lock().map(|url| url.clone()).unwrap_or_default();
        let response = self
            .http
            .post(url)
            .header(super::SECRET_HEADER, &self.secret)
            .header(header::CONTENT_TYPE.as_str(), "message/rfc822")
            .body(raw)
            .send()
            .await
            .map_err(EmailError::WebhookUnreachable)?;
        if !response.status().is_success() {
            return Err(EmailError::WebhookRefused(response.status()));
        }
        let kept = SandboxMail {
            direction: "in",
            message_id,
            from: from.to_string(),
            to: self.support_address.clone(),
            subject: letter.subject.clone(),
            in_reply_to: replied.as_ref().map(|original| original.message_id.clone()),
            references: None,
            text: letter.text.clone(),
            attachments: Vec::new(),
            at: self.clock.now(),
        };
        self.keep(kept.clone());
        Ok(kept)
    }

    fn find(&self, message_id: &str) -> Option<SandboxMail> {
        let mails = self.mails.lock().ok()?;
        mails.iter().find(|mail| mail.message_id == message_id).cloned()
    }
}

/// The addresses in a header-like list (`Lia <lia@x.example>, bob@y.example`), lower-cased.
fn addresses_in(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',').map(|entry| {
        let entry = entry.trim();
        let address = match (entry.rfind('<'), entry.rfind('>')) {
            (Some(start), Some(end)) if start < end => &entry[start + 1..end],
            _ => entry,
        };
        address.trim().to_lowercase()
    })
}

#[async_trait]
impl MailTransport for MailSandbox {
    /// Keeps the message as a mail server would have received it (parsed back from its bytes).
    async fn send(&self, mail: lettre::Message) -> Result<(), SendFailure> {
        let raw = mail.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).ok_or_else(|| SendFailure {
            code: 0,
            permanent: true,
            reason: "the message could not be read back".to_owned(),
        })?;
        let text_of = |value: &mail_parser::HeaderValue| -> Option<String> {
            value.as_text_list().map(|ids| ids.iter().map(|id| format!("<{id}>")).collect::<Vec<_>>().join(" "))
        };
        let addresses = |address: Option<&mail_parser::Address>| -> String {
            address
                .map(|address| address.iter().filter_map(|one| one.address()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        use mail_parser::MimeHeaders as _;
        self.keep(SandboxMail {
            direction: "out",
            message_id: parsed.message_id().map(|id| format!("<{id}>")).unwrap_or_default(),
            from: addresses(parsed.from()),
            to: addresses(parsed.to()),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            in_reply_to: text_of(parsed.in_reply_to()),
            references: text_of(parsed.references()),
            text: parsed.body_text(0).map(|text| text.trim_end().to_owned()).unwrap_or_default(),
            attachments: parsed.attachments().map(|part| part.attachment_name().unwrap_or("file").to_owned()).collect(),
            at: self.clock.now(),
        });
        Ok(())
    }
}

/// An email written on the sandbox page.
#[derive(Debug, Deserialize)]
pub struct Letter {
    pub from: String,
    pub name: Option<String>,
    pub subject: String,
    pub text: String,
    /// The Message-ID of the hub's email this answers.
    pub in_reply_to: Option<String>,
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/sandbox/mail", web::get().to(mail_page))
        .route("/sandbox/mail.js", web::get().to(mail_script))
        .route("/sandbox/mail/messages", web::get().to(mail_list))
        .route("/sandbox/mail/send", web::post().to(mail_send));
}

/// The sandbox mailbox, when `email.sandbox` is on (the app registers it only then).
type Mailroom = Option<web::Data<MailSandbox>>;

fn sandbox(mailbox: Mailroom) -> Result<web::Data<MailSandbox>, ApiError> {
    mailbox.ok_or(ApiError::NotFound("route"))
}

#[derive(Deserialize)]
struct ListQuery {
    address: Option<String>,
}

async fn mail_list(caller: Caller, mailbox: Mailroom, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let sandbox = sandbox(mailbox)?;
    let items = sandbox.mails(query.address.as_deref().filter(|address| !address.trim().is_empty()));
    Ok(HttpResponse::Ok().json(serde_json::json!({"support_address": sandbox.support_address, "items": items})))
}

async fn mail_send(caller: Caller, mailbox: Mailroom, letter: web::Json<Letter>) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    let sandbox = sandbox(mailbox)?;
    if letter.text.trim().is_empty() && letter.subject.trim().is_empty() {
        return Err(ApiError::invalid("text", "write a subject or a message"));
    }
    let kept = sandbox.write(&letter).await?;
    Ok(HttpResponse::Ok().json(kept))
}

async fn mail_page(
    mailbox: Mailroom,
    sessions: web::Data<Sessions>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    sandbox(mailbox)?;
    if let Err(refusal) = staff_or_page(&sessions, &request, "sandbox mailbox").await {
        return Ok(refusal);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(MAIL_HTML))
}

async fn mail_script(caller: Caller, mailbox: Mailroom) -> Result<HttpResponse, ApiError> {
    caller.require_staff()?;
    sandbox(mailbox)?;
    Ok(HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(MAIL_JS))
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

const MAIL_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard sandbox mail</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1a1a1a; }
  header { background: #1f3a5f; color: #fff; padding: .75rem 1rem; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header p { margin: .25rem 0 0; font-size: .9rem; }
  main { max-width: 52rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem; }
  form { background: #fff; border: 1px solid #c9ced6; border-radius: 6px; padding: 1rem; display: grid; gap: .6rem; }
  label { display: grid; gap: .2rem; font-size: .9rem; }
  input, textarea, select { font: inherit; padding: .45rem; border: 1px solid #6b7280; border-radius: 4px; }
  textarea { min-height: 6rem; }
  :focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
  .row { display: flex; gap: .6rem; flex-wrap: wrap; } .row label { flex: 1; min-width: 12rem; }
  button { font: inherit; background: #1d4ed8; color: #fff; border: 0; border-radius: 4px; padding: .5rem 1rem; cursor: pointer; justify-self: start; }
  article { background: #fff; border: 1px solid #c9ced6; border-radius: 6px; padding: .75rem 1rem; }
  article.out { border-left: 4px solid #1d4ed8; } article.in { border-left: 4px solid #047857; }
  article h3 { margin: 0 0 .25rem; font-size: 1rem; }
  .meta { font-size: .8rem; color: #4b5563; margin: 0 0 .5rem; word-break: break-all; }
  pre { white-space: pre-wrap; font: inherit; margin: 0 0 .5rem; }
  #error { color: #b91c1c; min-height: 1.2em; margin: 0; }
</style>
</head>
<body>
<header><h1>Sandbox mailbox</h1><p>Write to the hub as a customer; the hub's replies land here instead of going to a mail server. Messages go through the hub's real <code>/webhooks/email</code>.</p></header>
<main>
<form id="compose" aria-labelledby="compose-title">
  <h2 id="compose-title" style="margin:0;font-size:1rem">Write to <span id="support">support</span></h2>
  <div class="row">
    <label>Your email <input id="from" type="email" value="lia@customer.example" autocomplete="off" required></label>
    <label>Your name <input id="name" value="Lia Souza" autocomplete="off"></label>
  </div>
  <label>Answering <select id="reply"><option value="">(a new email)</option></select></label>
  <label>Subject <input id="subject" value="Where is my parcel?" autocomplete="off"></label>
  <label>Message <textarea id="text">I ordered a week ago and nothing has arrived.</textarea></label>
  <button type="submit">Send email</button>
  <p id="error" role="alert"></p>
</form>
<section aria-labelledby="box-title"><h2 id="box-title" style="font-size:1rem">Mailbox of this address (newest first)</h2>
<div id="mails" aria-live="polite"></div></section>
</main>
<script src="/sandbox/mail.js"></script>
</body>
</html>
"#;

const MAIL_JS: &str = r#"// The sandbox mailbox: lists what the hub sent to (and received from) one address; writes as it.
const $ = (id) => document.getElementById(id);
let shown = "";

function render(items) {
  const list = $("mails");
  list.replaceChildren(...items.slice().reverse().map((mail) => {
    const article = document.createElement("article");
    article.className = mail.direction;
    article.dataset.messageId = mail.message_id;
    const title = document.createElement("h3");
    title.textContent = mail.subject || "(no subject)";
    const meta = document.createElement("p");
    meta.className = "meta";
    const who = mail.direction === "out" ? `From the hub (${mail.from}) to ${mail.to}` : `From you (${mail.from})`;
    meta.textContent = `${who} · ${new Date(mail.at).toLocaleString()} · ${mail.message_id}` +
      (mail.in_reply_to ? ` · in reply to ${mail.in_reply_to}` : "");
    const body = document.createElement("pre");
    body.textContent = mail.text;
    article.append(title, meta, body);
    if (mail.attachments.length) {
      const files = document.createElement("p");
      files.className = "meta";
      files.textContent = `Attached: ${mail.attachments.join(", ")}`;
      article.append(files);
    }
    if (mail.direction === "out") {
      const answer = document.createElement("button");
      answer.type = "button";
      answer.textContent = "Reply";
      answer.addEventListener("click", () => {
        $("reply").value = mail.message_id;
        $("subject").value = mail.subject.startsWith("Re:") ? mail.subject : `Re: ${mail.subject}`;
        $("text").value = "";
        $("text").focus();
      });
      article.append(answer);
    }
    return article;
  }));
  const replies = items.filter((mail) => mail.direction === "out");
  const chosen = $("reply").value;
  $("reply").replaceChildren(new Option("(a new email)", ""), ...replies.map((mail) => new Option(`${mail.subject} — ${new Date(mail.at).toLocaleTimeString()}`, mail.message_id)));
  $("reply").value = replies.some((mail) => mail.message_id === chosen) ? chosen : "";
}

async function refresh() {
  const address = $("from").value.trim();
  try {
    const response = await fetch(`/sandbox/mail/messages?address=${encodeURIComponent(address)}`);
    if (response.status === 401 || response.status === 403) {
      $("error").textContent = "Your staff session ended: log in to the console again, then reload this page.";
      return;
    }
    const { items, support_address } = await response.json();
    $("support").textContent = support_address;
    const key = JSON.stringify(items);
    if (key !== shown) { shown = key; render(items); }
  } catch (error) {
    $("error").textContent = `Cannot reach the hub: ${error}`;
  }
}

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { from: $("from").value, name: $("name").value, subject: $("subject").value, text: $("text").value, in_reply_to: $("reply").value || null };
  const response = await fetch("/sandbox/mail/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (response.ok) {
    $("text").value = "";
    $("error").textContent = "";
    shown = "";
    refresh();
  } else {
    const problem = await response.json().catch(() => ({}));
    $("error").textContent = problem.message || `The hub refused the email (${response.status}).`;
  }
});
$("from").addEventListener("change", () => { shown = ""; refresh(); });
setInterval(refresh, 1000);
refresh();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Arc<dyn switchboard_actors::clock::Clock> {
        Arc::new(switchboard_actors::clock::SystemClock)
    }

    #[test]
    fn mailboxes_match_whole_addresses() {
        let found: Vec<String> = addresses_in("Lia <Lia@Customer.example>, julia@customer.example").collect();
        assert_eq!(found, ["lia@customer.example", "julia@customer.example"]);
        let sandbox =
            MailSandbox::new("secret", "help@hub.test", Bounds { max_items: 10, max_bytes: 1 << 20 }, clock());
        let mail = |to: &str| SandboxMail {
            direction: "out",
            message_id: format!("<{to}>"),
            from: "help@hub.test".to_owned(),
            to: to.to_owned(),
            subject: String::new(),
            in_reply_to: None,
            references: None,
            text: String::new(),
            attachments: Vec::new(),
            at: clock().now(),
        };
        sandbox.keep(mail("julia@customer.example"));
        sandbox.keep(mail("lia@customer.example"));
        assert_eq!(sandbox.mails(Some("LIA@customer.example")).len(), 1, "not julia's");
        assert_eq!(sandbox.mails(None).len(), 2);
    }

    #[test]
    fn the_mailbox_keeps_the_newest_within_its_bounds() {
        let bounds = Bounds { max_items: 50, max_bytes: 20_000 };
        let sandbox = MailSandbox::new("secret", "help@hub.test", bounds, clock());
        for n in 0..1_000 {
            sandbox.keep(SandboxMail {
                direction: "out",
                message_id: format!("<{n}@hub.test>"),
                from: "help@hub.test".to_owned(),
                to: "lia@customer.example".to_owned(),
                subject: format!("Mail {n}"),
                in_reply_to: None,
                references: None,
                text: "x".repeat(n % 900),
                attachments: Vec::new(),
                at: clock().now(),
            });
            let (count, bytes) = sandbox.kept();
            assert!(count <= bounds.max_items && bytes <= bounds.max_bytes, "{count} mails, {bytes} bytes");
        }
        let kept = sandbox.mails(None);
        assert_eq!(kept.last().map(|mail| mail.subject.as_str()), Some("Mail 999"), "the newest stays");
        assert!(kept.len() > 1 && kept.len() < 1_000, "older ones went: {}", kept.len());
    }
}
