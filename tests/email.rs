//! The email channel as a mail provider and an SMTP server see it: raw messages posted to
//! `/webhooks/email` become tickets (threaded, idempotent), agents' replies leave through a fake
//! SMTP server with threading headers, temporary refusals are retried and then failed with the
//! server's reason, and the reply box's channel choice is validated. Both backends.

mod common;

use std::time::{Duration, Instant};

use common::fake_smtp::FakeSmtp;
use common::*;
use serde_json::{Value, json};
use switchboard::config::{Secret, Settings, SmtpTls};

const SECRET: &str = "test-inbound-secret";

async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Settings for a hub that sends through `smtp` and accepts mail with [`SECRET`].
fn smtp_settings(db: &TestDb, smtp: &FakeSmtp) -> Settings {
    let mut settings = db.settings();
    settings.email.sandbox = Some(false);
    settings.email.inbound_secret = Secret(SECRET.to_owned());
    settings.email.smtp_host = "127.0.0.1".to_owned();
    settings.email.smtp_port = smtp.port;
    settings.email.smtp_tls = SmtpTls::None;
    settings.email.smtp_timeout_secs = 5;
    settings.email.max_send_attempts = 3;
    settings.email.retry_base_ms = 100;
    settings.email.from_address = "help@hub.test".to_owned();
    settings
}

async fn post_email(server: &TestServer, raw: &str, secret: Option<&str>) -> u16 {
    let mut request = server.http.post(server.url("/webhooks/email")).body(raw.to_owned());
    if let Some(secret) = secret {
        request = request.header("x-switchboard-secret", secret);
    }
    request.send().await.expect("webhook").status().as_u16()
}

fn email(from: &str, message_id: &str, subject: &str, headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: help@hub.test\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n{headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn tickets(server: &TestServer, token: &str) -> Vec<Value> {
    let (_, list) = server.call("GET", "/api/v1/tickets?channel=email&sort=created_at", Some(token), None).await;
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn ticket(server: &TestServer, token: &str, id: i64) -> Value {
    server.call("GET", &format!("/api/v1/tickets/{id}"), Some(token), None).await.1
}

/// The header `name` of a raw message (unfolded).
fn header(data: &str, name: &str) -> Option<String> {
    let unfolded = data.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

async fn inbound_threads_and_is_idempotent(backend: Backend) {
    let db = TestDb::new(backend).await;
    seed(&*db.open().await).await;
    let smtp = FakeSmtp::start().await;
    let server = TestServer::start(smtp_settings(&db, &smtp)).await;
    let agent = server.login("agent@test.example").await;

    let first =
        email("Lia Souza <lia@customer.example>", "<m1@customer.example>", "Parcel missing", "", "Where is it?");
    assert_eq!(post_email(&server, &first, None).await, 401, "no secret");
    assert_eq!(post_email(&server, &first, Some("wrong")).await, 401, "wrong secret");
    assert_eq!(post_email(&server, "", Some(SECRET)).await, 422, "an empty body is not a message");
    assert_eq!(post_email(&server, &first, Some(SECRET)).await, 202);
    // Basic auth's password is accepted as well; the same Message-ID again changes nothing.
    let again = server
        .http
        .post(server.url("/webhooks/email"))
        .basic_auth("mailgun", Some(SECRET))
        .body(first.clone())
        .send()
        .await
        .expect("webhook");
    assert_eq!(again.status().as_u16(), 202);
    let created = until("the ticket", async || tickets(&server, &agent).await.first().cloned()).await;
    assert_eq!(created["subject"], "Parcel missing");
    assert_eq!(created["channel"], "email");
    let id = created["id"].as_i64().expect("id");
    let number = created["number"].as_i64().expect("number");
    let full = ticket(&server, &agent, id).await;
    assert_eq!(full["messages"].as_array().map(Vec::len), Some(1), "{full}");
    assert_eq!(full["messages"][0]["body"], "Where is it?");
    assert_eq!(full["messages"][0]["provider_id"], "<m1@customer.example>");
    assert_eq!(full["reply_channels"], json!(["email"]));

    // A reply naming our message in In-Reply-To joins the ticket; so does `[#n]` from the
    // requester; HTML-only mail arrives as text, attachments land in the media store.
    let (status, sent) = server
        .call("POST", &format!("/api/v1/tickets/{id}/messages"), Some(&agent), Some(json!({"body": "Checking now."})))
        .await;
    assert_eq!(status, 201, "{sent}");
    let ours = until("the reply's Message-ID", async || {
        let full = ticket(&server, &agent, id).await;
        full["messages"][1]["provider_id"].as_str().map(str::to_owned)
    })
    .await;
    let reply = email(
        "lia@customer.example",
        "<m2@customer.example>",
        "Re: Parcel missing",
        &format!("In-Reply-To: {ours}\r\nReferences: <m1@customer.example> {ours}\r\n"),
        "Thanks!\r\n\r\nOn Monday, Support wrote:\r\n> Checking now.",
    );
    assert_eq!(post_email(&server, &reply, Some(SECRET)).await, 202);
    let html = format!(
        "From: LIA@customer.example\r\nSubject: Photo [#{number}]\r\nMessage-ID: <m3@customer.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<p>Here is the <b>label</b>.</p>\r\n--b\r\n\
         Content-Type: image/png; name=\"label.png\"\r\nContent-Disposition: attachment; filename=\"label.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
    );
    assert_eq!(post_email(&server, &html, Some(SECRET)).await, 202);
    let full = until("both replies on the ticket", async || {
        let full = ticket(&server, &agent, id).await;
        (full["messages"].as_array()?.len() == 4).then_some(full)
    })
    .await;
    assert_eq!(full["messages"][2]["body"], "Thanks!", "quoted history cut: {full}");
    assert_eq!(full["messages"][3]["body"], "Here is the label.");
    let file = &full["messages"][3]["attachments"][0];
    assert_eq!(file["file_name"], "label.png");
    let download = server
        .http
        .get(server.url(file["url"].as_str().expect("url")))
        .bearer_auth(&agent)
        .send()
        .await
        .expect("media");
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), b"\x89PNG\r\n\x1a\n");

    // Someone else quoting the ticket number, and a brand-new subject, open new tickets.
    let stranger = email("eve@elsewhere.example", "<e1@elsewhere.example>", &format!("Re: [#{number}]"), "", "Me too");
    assert_eq!(post_email(&server, &stranger, Some(SECRET)).await, 202);
    let fresh = email("lia@customer.example", "<m4@customer.example>", "Another order", "", "Second question");
    assert_eq!(post_email(&server, &fresh, Some(SECRET)).await, 202);
    let all = until("three tickets", async || {
        let all = tickets(&server, &agent).await;
        (all.len() == 3).then_some(all)
    })
    .await;
    assert_eq!(all[1]["subject"], "Email from eve");
    assert_ne!(all[1]["requester_id"], created["requester_id"]);
    assert_eq!(all[2]["subject"], "Another order");
    assert_eq!(all[2]["requester_id"], created["requester_id"], "the same customer, found by address");
    // Re-delivering every message changes nothing.
    for raw in [&first, &reply, &html, &stranger, &fresh] {
        assert_eq!(post_email(&server, raw, Some(SECRET)).await, 202);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(tickets(&server, &agent).await.len(), 3);
    assert_eq!(ticket(&server, &agent, id).await["messages"].as_array().map(Vec::len), Some(4));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_threads_and_is_idempotent_sqlite() {
    inbound_threads_and_is_idempotent(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_threads_and_is_idempotent_postgres() {
    inbound_threads_and_is_idempotent(Backend::Postgres).await;
}

/// An email ticket from `lia@customer.example`; returns its id and the customer's Message-ID.
/// An email answering a ticket that was merged (`[#n]` of the merged one) lands in the ticket it
/// was merged into, not in a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_a_merged_ticket_lands_in_the_ticket_it_went_into() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let smtp = FakeSmtp::start().await;
    let server = TestServer::start(smtp_settings(&db, &smtp)).await;
    let agent = server.login("agent@test.example").await;
    for (id, subject) in
        [("<a1@customer.example>", "Parcel missing"), ("<b1@customer.example>", "Parcel still missing")]
    {
        let mail = email("lia@customer.example", id, subject, "", "Where is it?");
        assert_eq!(post_email(&server, &mail, Some(SECRET)).await, 202);
        until(subject, async || tickets(&server, &agent).await.into_iter().find(|t| t["subject"] == subject)).await;
    }
    let list = tickets(&server, &agent).await;
    let (source, target) = (&list[0], &list[1]);
    let (source_id, target_id) = (source["id"].as_i64().expect("id"), target["id"].as_i64().expect("id"));
    let path = format!("/api/v1/tickets/{source_id}/merge");
    let (status, merged) = server.call("POST", &path, Some(&agent), Some(json!({"into": target_id}))).await;
    assert_eq!(status, 200, "{merged}");

    let subject = format!("Re: Parcel missing [#{}]", source["number"]);
    let later = email("lia@customer.example", "<a2@customer.example>", &subject, "", "Any news?");
    assert_eq!(post_email(&server, &later, Some(SECRET)).await, 202);
    until("the reply in the target", async || {
        let full = ticket(&server, &agent, target_id).await;
        full["messages"].as_array()?.iter().any(|m| m["body"] == "Any news?").then_some(())
    })
    .await;
    assert_eq!(tickets(&server, &agent).await.len(), 2, "no new ticket");
    server.stop().await;
}

async fn email_ticket(server: &TestServer, agent: &str, subject: &str) -> i64 {
    let message_id = format!("<{}@customer.example>", uuid::Uuid::now_v7().simple());
    let raw = email("Lia <lia@customer.example>", &message_id, subject, "", "Hello");
    assert_eq!(post_email(server, &raw, Some(SECRET)).await, 202);
    until("the ticket", async || {
        tickets(server, agent).await.into_iter().find(|ticket| ticket["subject"] == subject)?["id"].as_i64()
    })
    .await
}

async fn delivery(server: &TestServer, agent: &str, id: i64, message_id: &str) -> Option<Value> {
    let full = ticket(server, agent, id).await;
    full["messages"].as_array()?.iter().find(|message| message["id"] == message_id).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_leave_by_smtp_with_threading_headers_and_notes_never_do() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let smtp = FakeSmtp::start().await;
    let server = TestServer::start(smtp_settings(&db, &smtp)).await;
    let agent = server.login("agent@test.example").await;
    let id = email_ticket(&server, &agent, "Refund please").await;
    let number = ticket(&server, &agent, id).await["number"].as_i64().expect("number");

    let (status, note) = server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            Some(&agent),
            Some(json!({"body": "internal: customer is VIP", "internal": true})),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let upload = server
        .http
        .post(server.url("/api/v1/uploads?name=receipt.pdf"))
        .bearer_auth(&agent)
        .header("content-type", "application/pdf")
        .body(&b"%PDF-1.4 \x00\xff receipt"[..])
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status().as_u16(), 201);
    let file: Value = upload.json().await.expect("upload body");
    let (status, sent) = server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            Some(&agent),
            Some(json!({
                "body": "Refund issued.\n.\nA line with a dot.",
                "channel": "email",
                "attachments": [{"url": file["url"], "name": "receipt.pdf"}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let reply_id = sent["events"][0]["message"]["id"].as_str().expect("message id").to_owned();
    assert_eq!(sent["events"][0]["message"]["channel"], "email");
    let mail = until("the mail at the SMTP server", async || smtp.received().first().cloned()).await;
    assert_eq!(smtp.received().len(), 1, "the note never left");
    assert!(!mail.data.contains("VIP"));
    assert!(mail.mail_from.contains("help@hub.test"), "{}", mail.mail_from);
    assert!(mail.rcpt_to[0].contains("lia@customer.example"));
    assert_eq!(header(&mail.data, "Subject"), Some(format!("Re: Refund please [#{number}]")));
    let customer_id = ticket(&server, &agent, id).await["messages"][0]["provider_id"].as_str().expect("id").to_owned();
    assert_eq!(header(&mail.data, "In-Reply-To"), Some(customer_id.clone()));
    assert_eq!(header(&mail.data, "References"), Some(customer_id));
    let ours = header(&mail.data, "Message-ID").expect("Message-ID");
    assert_eq!(ours, format!("<{reply_id}@hub.test>"));
    assert!(mail.data.contains("A line with a dot."));
    use mail_parser::MimeHeaders as _;
    let parsed = mail_parser::MessageParser::default().parse(mail.data.as_bytes()).expect("a MIME message");
    let files: Vec<_> = parsed.attachments().collect();
    assert_eq!(files.len(), 1, "text and one file: {}", mail.data);
    assert_eq!(files[0].attachment_name(), Some("receipt.pdf"));
    assert_eq!(files[0].contents(), b"%PDF-1.4 \x00\xff receipt", "the file's bytes");
    let text = parsed.body_text(0).map(|text| text.replace("\r\n", "\n"));
    assert_eq!(
        text.as_deref().map(str::trim_end),
        Some("Refund issued.\n.\nA line with a dot."),
        "dot-stuffing undone"
    );
    let message = until("sent", async || {
        delivery(&server, &agent, id, &reply_id).await.filter(|message| message["delivery_status"] == "sent")
    })
    .await;
    assert_eq!(message["provider_id"], ours);
    let events = server.call("GET", &format!("/api/v1/tickets/{id}/events?after=0"), Some(&agent), None).await.1;
    assert!(
        events["items"]
            .as_array()
            .expect("events")
            .iter()
            .any(|event| event["type"] == "delivery_changed" && event["status"] == "sent"),
        "{events}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_markdown_reply_leaves_as_html_with_its_plain_text_alternative() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let smtp = FakeSmtp::start().await;
    let server = TestServer::start(smtp_settings(&db, &smtp)).await;
    let agent = server.login("agent@test.example").await;
    let id = email_ticket(&server, &agent, "Formatting").await;
    let body = "**Refund** issued:\n\n1. [your order](https://shop.example/o/1?a=1&b=2)\n2. Steps:\n  - <b>not html</b>\n  - `code`";
    let (status, sent) = server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            Some(&agent),
            Some(json!({"body": body, "channel": "email"})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["events"][0]["message"]["body"], body, "the message keeps what the agent wrote");
    let mail = until("the mail at the SMTP server", async || smtp.received().first().cloned()).await;
    let parsed = mail_parser::MessageParser::default().parse(mail.data.as_bytes()).expect("a MIME message");
    let html = parsed.body_html(0).expect("an HTML part").replace("\r\n", "\n");
    assert!(html.contains("<p><strong>Refund</strong> issued:</p>"), "{html}");
    assert!(html.contains("<ol><li><a href=\"https://shop.example/o/1?a=1&amp;b=2\">your order</a></li><li>Steps:<ul><li>&lt;b&gt;not html&lt;/b&gt;</li><li><code>code</code></li></ul></li></ol>"), "{html}");
    let text = parsed.body_text(0).expect("a text part").replace("\r\n", "\n");
    assert_eq!(
        text.trim_end(),
        "Refund issued:\n\n1. your order <https://shop.example/o/1?a=1&b=2>\n2. Steps:\n  - <b>not html</b>\n  - code"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_refusals_are_retried_then_failed_with_the_reason_and_permanent_ones_fail_at_once() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let smtp = FakeSmtp::start().await;
    let server = TestServer::start(smtp_settings(&db, &smtp)).await;
    let agent = server.login("agent@test.example").await;
    let id = email_ticket(&server, &agent, "Flaky server").await;
    let reply = async |body: &str| {
        let (status, sent) = server
            .call("POST", &format!("/api/v1/tickets/{id}/messages"), Some(&agent), Some(json!({"body": body})))
            .await;
        assert_eq!(status, 201, "{sent}");
        sent["events"][0]["message"]["id"].as_str().expect("id").to_owned()
    };

    // One temporary refusal, then accepted.
    smtp.refuse_next(1, "451 4.3.0 try again later");
    let recovered = reply("First try fails").await;
    until("sent after a retry", async || {
        delivery(&server, &agent, id, &recovered).await.filter(|message| message["delivery_status"] == "sent")
    })
    .await;
    assert_eq!(smtp.attempts(), 2);
    assert_eq!(smtp.received().len(), 1);

    // Always refused for a while: three attempts, then failed with the server's words.
    smtp.refuse_always("451 4.3.0 mailbox busy");
    let doomed = reply("Never accepted").await;
    let failed = until("failed", async || {
        delivery(&server, &agent, id, &doomed).await.filter(|message| message["delivery_status"] == "failed")
    })
    .await;
    assert_eq!(smtp.attempts(), 2 + 3, "max_send_attempts tries");
    assert_eq!(failed["delivery_error"]["code"], 451);
    let explanation = failed["delivery_error"]["explanation"].as_str().expect("explanation");
    assert!(explanation.contains("3 attempts") && explanation.contains("mailbox busy"), "{explanation}");

    // A permanent refusal fails on the first attempt.
    smtp.refuse_next(1, "550 5.1.1 no such user");
    let rejected_before = smtp.attempts();
    let rejected = reply("Wrong address").await;
    let failed = until("failed at once", async || {
        delivery(&server, &agent, id, &rejected).await.filter(|message| message["delivery_status"] == "failed")
    })
    .await;
    assert_eq!(smtp.attempts(), rejected_before + 1);
    assert_eq!(failed["delivery_error"]["code"], 550);
    assert!(failed["delivery_error"]["explanation"].as_str().expect("text").contains("no such user"), "{failed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_channel_must_reach_the_customer() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let seeded = seed(&*store).await;
    // A customer first met on WhatsApp has only a placeholder address.
    let whatsapp_only = store
        .create_user(switchboard_actors::store::NewUser::customer(
            seeded.account.id,
            "wa-5511999990000@whatsapp.invalid".to_owned(),
            "Rui".to_owned(),
            Some("+5511999990000".to_owned()),
        ))
        .await
        .expect("customer");
    drop(store);
    let server = TestServer::start(db.settings()).await;
    let agent = server.login("agent@test.example").await;
    let open = async |requester: i64, channel: &str| {
        let (status, created) = server
            .call(
                "POST",
                "/api/v1/tickets",
                Some(&agent),
                Some(json!({"subject": "Question", "body": "Hi", "requester_id": requester, "channel": channel})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_i64().expect("id")
    };
    let by_phone = open(whatsapp_only.id, "phone").await;
    let full = ticket(&server, &agent, by_phone).await;
    assert!(full.get("reply_channels").is_none(), "no channel reaches them: {full}");
    let reply = async |id: i64, body: Value| {
        server.call("POST", &format!("/api/v1/tickets/{id}/messages"), Some(&agent), Some(body)).await
    };
    let (status, refused) = reply(by_phone, json!({"body": "By mail", "channel": "email"})).await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("no_email_address")), "{refused}");
    let (status, refused) = reply(by_phone, json!({"body": "On WhatsApp", "channel": "whatsapp"})).await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("no_whatsapp_contact")), "{refused}");
    let (status, refused) = reply(by_phone, json!({"body": "Fax", "channel": "phone"})).await;
    assert_eq!(
        (status, refused["error"].as_str(), refused["field"].as_str()),
        (422, Some("validation_failed"), Some("channel"))
    );
    let (status, refused) = reply(by_phone, json!({"body": "x", "channel": "pigeon"})).await;
    assert_eq!((status, refused["field"].as_str()), (422, Some("channel")), "{refused}");
    // Nothing was written by the refusals.
    assert_eq!(ticket(&server, &agent, by_phone).await["messages"].as_array().map(Vec::len), Some(1));
    // A note on any channel is fine, and keeping the reply in the hub (no channel) too.
    let (status, _) = reply(by_phone, json!({"body": "note", "internal": true, "channel": "email"})).await;
    assert_eq!(status, 201);
    let (status, _) = reply(by_phone, json!({"body": "Called them back"})).await;
    assert_eq!(status, 201);

    // A customer with a real address: email works, WhatsApp does not; an email ticket defaults to email.
    let web = open(seeded.customer.id, "web").await;
    assert_eq!(ticket(&server, &agent, web).await["reply_channels"], json!(["email"]));
    let (status, sent) = reply(web, json!({"body": "Answered by mail", "channel": "email"})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["events"][0]["message"]["channel"], "email");
    let (status, refused) = reply(web, json!({"body": "x", "channel": "whatsapp"})).await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("no_whatsapp_contact")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_through_the_sandbox_mailbox() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let agent = server.login("agent@test.example").await;
    let page = server.http.get(server.url("/sandbox/mail")).bearer_auth(&agent).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("html").contains(r#"<script src="/sandbox/mail.js">"#));

    let (status, written) = server
        .call(
            "POST",
            "/sandbox/mail/send",
            Some(&agent),
            Some(json!({"from": "lia@customer.example", "name": "Lia", "subject": "Broken zip", "text": "It broke."})),
        )
        .await;
    assert_eq!(status, 200, "{written}");
    let id = until("the ticket", async || tickets(&server, &agent).await.first()?["id"].as_i64()).await;
    let (status, _) = server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            Some(&agent),
            Some(json!({"body": "Sending a new one."})),
        )
        .await;
    assert_eq!(status, 201);
    let out = until("the reply in the mailbox", async || {
        let (_, box_) =
            server.call("GET", "/sandbox/mail/messages?address=lia@customer.example", Some(&agent), None).await;
        box_["items"].as_array()?.iter().find(|mail| mail["direction"] == "out").cloned()
    })
    .await;
    assert_eq!(out["text"], "Sending a new one.");
    assert!(out["subject"].as_str().expect("subject").starts_with("Re: Broken zip [#"), "{out}");
    assert_eq!(out["in_reply_to"], written["message_id"]);
    let (status, _) = server
        .call(
            "POST",
            "/sandbox/mail/send",
            Some(&agent),
            Some(json!({"from": "lia@customer.example", "subject": out["subject"], "text": "Got it, thanks", "in_reply_to": out["message_id"]})),
        )
        .await;
    assert_eq!(status, 200);
    let full = until("the answer on the same ticket", async || {
        let full = ticket(&server, &agent, id).await;
        (full["messages"].as_array()?.len() == 3).then_some(full)
    })
    .await;
    assert_eq!(full["messages"][2]["body"], "Got it, thanks");
    assert_eq!(tickets(&server, &agent).await.len(), 1);
    let (status, refused) = server
        .call("POST", "/sandbox/mail/send", Some(&agent), Some(json!({"from": "nobody", "subject": "x", "text": "y"})))
        .await;
    assert_eq!((status, refused["error"].as_str()), (422, Some("validation_failed")), "{refused}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_the_server_could_not_send_goes_out_after_a_restart() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let smtp = FakeSmtp::start().await;
    // First life: the SMTP server is unreachable (nothing listens on that port).
    let mut settings = smtp_settings(&db, &smtp);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    settings.email.smtp_port = closed.local_addr().expect("addr").port();
    drop(closed);
    settings.email.max_send_attempts = 50;
    let server = TestServer::start(settings).await;
    let agent = server.login("agent@test.example").await;
    let id = email_ticket(&server, &agent, "Outage").await;
    let (status, sent) = server
        .call("POST", &format!("/api/v1/tickets/{id}/messages"), Some(&agent), Some(json!({"body": "Eventually"})))
        .await;
    assert_eq!(status, 201, "{sent}");
    let reply_id = sent["events"][0]["message"]["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let waiting = delivery(&server, &agent, id, &reply_id).await.expect("message");
    assert_eq!(waiting["delivery_status"], "queued", "still retrying: {waiting}");
    server.stop().await;

    // Second life: the server is back; the sweep finds the leftover and sends it once.
    let server = TestServer::start(smtp_settings(&db, &smtp)).await;
    let agent = server.login("agent@test.example").await;
    until("sent after the restart", async || {
        delivery(&server, &agent, id, &reply_id).await.filter(|message| message["delivery_status"] == "sent")
    })
    .await;
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].data.contains("Eventually"));
    server.stop().await;
}
