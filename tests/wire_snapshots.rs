//! Snapshots of what crosses a boundary (insta; the files are in `tests/snapshots/`): error
//! bodies for every stable code, WebSocket frames of every type as staff and customers get them,
//! the WhatsApp webhook and email parsers' results, and the OpenAPI document. A change to any of
//! them fails here until the snapshot is reviewed and accepted on purpose
//! (`INSTA_UPDATE=always cargo test --test wire_snapshots`, then read the diff before committing).
//!
//! Volatile values are built from fixed inputs where the test makes them, and redacted where the
//! server makes them (see [`redact`]).

mod common;

use std::time::Duration;

use actix_web::ResponseError as _;
use common::*;
use serde_json::{Value, json};
use switchboard::error::{ApiError, ErrorCode};
use switchboard_actors::store::StoreError;
use switchboard_actors::ticket::{LinkRefusal, TicketError};

const WAIT: Duration = Duration::from_secs(5);

/// Replaces what differs between runs in a value the server made: timestamps (RFC 3339 strings)
/// become `"[timestamp]"`, UUIDs `"[uuid]"`, and the values of `cursor` (ms since the epoch)
/// and `node` (the process id and a UUID) `"[cursor]"`/`"[node]"`. A null stays null, so
/// whether a field is set is still pinned.
fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match key.as_str() {
                    "cursor" | "node" if !field.is_null() => *field = json!(format!("[{key}]")),
                    _ => redact(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(text) => {
            if text.parse::<jiff::Timestamp>().is_ok() {
                *value = json!("[timestamp]");
            } else if uuid::Uuid::parse_str(text).is_ok() {
                *value = json!("[uuid]");
            }
        }
        _ => {}
    }
}

fn redacted(mut value: Value) -> Value {
    redact(&mut value);
    value
}

// ---------------------------------------------------------------------------------------------
// Error bodies

/// Status, `Retry-After` and body of the response an error becomes.
async fn rendered(error: ApiError) -> Value {
    let response = error.error_response();
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let bytes = actix_web::body::to_bytes(response.into_body()).await.expect("the body");
    let body: Value = serde_json::from_slice(&bytes).expect("error bodies are JSON");
    json!({"status": status, "retry_after": retry_after, "content_type": content_type, "body": body})
}

#[derive(garde::Validate)]
struct Sample {
    #[garde(length(min = 1))]
    subject: String,
}

/// One instance of every `ApiError` variant and of every stable code the handlers use (with the
/// handler's message), and what the conversions from store, ticket, password-pool, validation,
/// query and path errors give.
#[tokio::test]
async fn error_bodies_for_every_code() {
    use garde::Validate as _;
    use switchboard::customer_accounts::AccountError;
    let conflict = |code, message: &str| ApiError::Conflict { code, message: message.to_owned() };
    let unprocessable = |code, message: &str| ApiError::Unprocessable { code, message: message.to_owned() };
    let query_error = {
        let cause: serde::de::value::Error = serde::de::Error::custom("invalid digit found in string");
        switchboard::error::query_error(actix_web::error::QueryPayloadError::Deserialize(cause))
    };
    let path_error = {
        let cause: serde::de::value::Error = serde::de::Error::custom("can not parse \"abc\" to a i64");
        switchboard::error::path_error(actix_web::error::PathError::Deserialize(cause))
    };
    let garde_report = Sample { subject: String::new() }.validate().expect_err("an empty subject is refused");
    let cases: Vec<(&str, ApiError)> = vec![
        (
            "malformed_json",
            ApiError::MalformedJson("malformed JSON: EOF while parsing a value at line 1 column 0".into()),
        ),
        ("invalid_query", query_error),
        (
            "websocket_required",
            ApiError::BadRequest {
                code: ErrorCode::WebsocketRequired,
                message: "this endpoint speaks WebSocket: No WebSocket Upgrade header found".into(),
            },
        ),
        ("unauthenticated", ApiError::Unauthenticated),
        ("invalid_credentials", ApiError::InvalidCredentials),
        ("email_unverified", ApiError::EmailUnverified),
        ("mfa_required", ApiError::MfaRequired),
        ("invalid_mfa_code", ApiError::InvalidMfaCode),
        ("mfa_already_enabled", conflict(ErrorCode::MfaAlreadyEnabled, "MFA is already on")),
        ("mfa_not_enrolled", conflict(ErrorCode::MfaNotEnrolled, "MFA is not on")),
        ("sso_required", ApiError::SsoRequired),
        (
            "sso_invalid_issuer",
            switchboard::sso::SsoError::InvalidIssuer("the issuer must be an https URL".into()).into(),
        ),
        ("sso_discovery_failed", switchboard::sso::SsoError::Discovery("connection refused".into()).into()),
        ("sso_not_configured", switchboard::sso::SsoError::NotConfigured.into()),
        ("sso_invalid_state", switchboard::sso::SsoError::InvalidState.into()),
        ("sso_refused", switchboard::sso::SsoError::Provider("access_denied".into()).into()),
        ("sso_invalid_token", switchboard::sso::SsoError::InvalidToken("Invalid audiences".into()).into()),
        ("sso_email_unverified", switchboard::sso::SsoError::EmailUnverified.into()),
        ("sso_unknown_user", switchboard::sso::SsoError::UnknownUser.into()),
        ("invalid_code", AccountError::InvalidCode.into()),
        ("invalid_token", AccountError::InvalidToken.into()),
        ("email_taken registration", AccountError::EmailTaken.into()),
        ("phone_in_use", AccountError::PhoneInUse.into()),
        ("phone_already_verified", AccountError::PhoneAlreadyVerified.into()),
        ("forbidden not a customer", AccountError::NotACustomer.into()),
        ("rate_limited codes", AccountError::RateLimited(Duration::from_secs(30)).into()),
        ("invalid_signature", ApiError::BadSignature),
        ("forbidden", ApiError::forbidden("this needs an admin")),
        ("cross_origin", ApiError::CrossOrigin("Origin `https://evil.example`".into())),
        ("not_found route", ApiError::NotFound("route")),
        ("not_found path", path_error),
        ("not_found store", StoreError::NotFound.into()),
        ("not_found ticket", TicketError::NotFound.into()),
        ("conflict store", StoreError::Conflict("UNIQUE constraint failed".into()).into()),
        ("conflict people", conflict(ErrorCode::Conflict, "the change conflicts with another user")),
        ("stale_seq", TicketError::StaleSeq { expected: 3, actual: 4 }.into()),
        ("stale_view", TicketError::StaleView { seen: 2, last_customer_seq: 3 }.into()),
        ("ticket_closed", TicketError::Closed.into()),
        ("merge_into_self", TicketError::Link(LinkRefusal::IntoItself).into()),
        ("already_merged", TicketError::Link(LinkRefusal::AlreadyMerged(7)).into()),
        ("merge_cycle", TicketError::Link(LinkRefusal::Cycle { target: 7 }).into()),
        ("merge_target_merged", TicketError::Link(LinkRefusal::TargetMerged { target: 7, into: 9 }).into()),
        ("merge_target_closed", TicketError::Link(LinkRefusal::TargetClosed(7)).into()),
        ("requester_mismatch", TicketError::Link(LinkRefusal::RequesterMismatch { from: 6, target: 7 }).into()),
        ("not_merged", TicketError::Link(LinkRefusal::NotMerged).into()),
        ("unmerge_expired", TicketError::Link(LinkRefusal::UnmergeExpired { target: 7, days: 7 }).into()),
        ("invalid_split", TicketError::Link(LinkRefusal::Split("message m1 is not in ticket #6".into())).into()),
        ("self_lockout", conflict(ErrorCode::SelfLockout, "admins cannot deactivate or demote themselves")),
        ("email_taken", conflict(ErrorCode::EmailTaken, "a user with this email already exists")),
        ("team_exists", conflict(ErrorCode::TeamExists, "a team with this name already exists")),
        ("company_exists", conflict(ErrorCode::CompanyExists, "a company with this name already exists")),
        ("category_exists", conflict(ErrorCode::CategoryExists, "this category already exists")),
        (
            "canned_response_exists",
            conflict(ErrorCode::CannedResponseExists, "a canned response with this title exists"),
        ),
        ("payload_too_large", ApiError::PayloadTooLarge(1_048_576)),
        ("unsupported_media_type", ApiError::UnsupportedMediaType),
        ("validation_failed", ApiError::invalid("subject", "must not be empty")),
        ("validation_failed garde", garde_report.into()),
        ("validation_failed ticket", TicketError::invalid("status", "no such status: `done`").into()),
        (
            "private_address",
            unprocessable(
                ErrorCode::PrivateAddress,
                "127.0.0.1 is 127.0.0.1, a loopback, private or link-local address; an admin may set allow_private",
            ),
        ),
        (
            "no_email_address",
            unprocessable(
                ErrorCode::NoEmailAddress,
                "this customer has no email address: reply on WhatsApp, or add their address first",
            ),
        ),
        (
            "no_whatsapp_contact",
            unprocessable(
                ErrorCode::NoWhatsappContact,
                "this customer has never written on WhatsApp, so there is no conversation to reply in; reply by email",
            ),
        ),
        (
            "window_closed",
            unprocessable(
                ErrorCode::WindowClosed,
                "the customer last wrote more than 24 hours ago: only a template can be sent. Approved templates: none synced yet",
            ),
        ),
        ("rate_limited", ApiError::RateLimited),
        ("rate_limited for", ApiError::RateLimitedFor(Duration::from_millis(1_500))),
        ("rate_limited api key", ApiError::KeyRateLimited(Duration::from_millis(2_500))),
        ("insufficient_scope", ApiError::InsufficientScope(switchboard_actors::api_keys::Scope::TicketsWrite)),
        ("rate_limited pool", switchboard::auth::PoolError::Busy { retry_after: Duration::from_millis(250) }.into()),
        (
            "too_many_sockets",
            ApiError::TooMany {
                code: ErrorCode::TooManySockets,
                message: "this user already holds 20 open sockets on this server; close some (one per tab is enough)"
                    .into(),
            },
        ),
        ("store_unavailable", StoreError::Unavailable("pool timed out".into()).into()),
        ("ticket_unavailable restarted", TicketError::ActorRestarted.into()),
        ("ticket_unavailable timeout", TicketError::Timeout.into()),
        (
            "graph_unavailable",
            ApiError::Unavailable { code: ErrorCode::GraphUnavailable, message: "the Graph API did not answer".into() },
        ),
        ("internal", ApiError::Internal("disk on fire".into())),
        ("internal store", StoreError::Internal("database is locked".into()).into()),
        ("internal pool", switchboard::auth::PoolError::Stopped.into()),
    ];
    let mut rendered_cases = serde_json::Map::new();
    for (name, error) in cases {
        assert!(rendered_cases.insert(name.to_owned(), rendered(error).await).is_none(), "{name} twice");
    }
    insta::assert_json_snapshot!("error_bodies", Value::Object(rendered_cases));
}

/// Error bodies as real requests get them (the extractors' and handlers' own messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_over_http() {
    let db = TestDb::sqlite();
    let seeded = seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let admin = server.login("admin@test.example").await;
    let agent = server.login("agent@test.example").await;
    let customer = server.login("cust@test.example").await;
    let (status, ticket) = server
        .call(
            "POST",
            "/api/v1/tickets",
            Some(&agent),
            Some(json!({"subject": "Errors", "body": "hello", "requester_id": seeded.customer.id})),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    let messages = format!("/api/v1/tickets/{id}/messages");

    let mut answers = Vec::new();
    let mut record = |name: &str, (status, body): (u16, Value)| {
        answers.push(json!({"case": name, "status": status, "body": redacted(body)}));
    };
    record("no token", server.call("GET", "/api/v1/tickets", None, None).await);
    record(
        "wrong password",
        server
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "agent@test.example", "password": "wrong-password"})),
            )
            .await,
    );
    record("unknown route", server.call("GET", "/api/v1/nothing-here", Some(&agent), None).await);
    record("unparsable path", server.call("GET", "/api/v1/tickets/abc", Some(&agent), None).await);
    record("unknown ticket", server.call("GET", "/api/v1/tickets/999999", Some(&agent), None).await);
    record("bad query", server.call("GET", "/api/v1/tickets?limit=many", Some(&agent), None).await);
    record("empty subject", server.call("POST", "/api/v1/tickets", Some(&agent), Some(json!({"subject": ""}))).await);
    record(
        "customer note",
        server.call("POST", &messages, Some(&customer), Some(json!({"body": "psst", "internal": true}))).await,
    );
    record(
        "stale view",
        server.call("POST", &messages, Some(&agent), Some(json!({"body": "Done!", "seen_seq": 0}))).await,
    );
    let admin_id = seeded.admin.id;
    record(
        "self lockout",
        server.call("PATCH", &format!("/api/v1/users/{admin_id}"), Some(&admin), Some(json!({"active": false}))).await,
    );
    record("websocket without upgrade", server.call("GET", &format!("/api/v1/ws?token={agent}"), None, None).await);

    let raw = |method: reqwest::Method, path: &str, content_type: &str, body: &'static str| {
        server
            .http
            .request(method, server.url(path))
            .bearer_auth(&agent)
            .header("content-type", content_type)
            .body(body)
    };
    for (name, request) in [
        ("malformed json", raw(reqwest::Method::POST, "/api/v1/tickets", "application/json", "{\"subject\": ")),
        ("not json", raw(reqwest::Method::POST, "/api/v1/tickets", "text/plain", "subject=hi")),
    ] {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        record(name, (status, response.json().await.expect("a JSON body")));
    }
    let cookie = format!("switchboard_session={agent}");
    let forged = server
        .http
        .post(server.url("/api/v1/auth/logout"))
        .header("cookie", cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    let status = forged.status().as_u16();
    record("cookie from another origin", (status, forged.json().await.expect("a JSON body")));
    // The console's own refusal (a file it does not have), written outside `ApiError`.
    let file = server.http.get(server.url("/no-such-file.js")).send().await.expect("request");
    let status = file.status().as_u16();
    record("unknown console file", (status, file.json().await.expect("a JSON body")));
    insta::assert_json_snapshot!("error_bodies_over_http", answers);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// WebSocket frames

/// Skips frames until one that `wanted` accepts arrives.
async fn frame_where(ws: &mut WsClient, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next(left).await {
            Some(frame) if wanted(&frame) => return frame,
            Some(_) => continue,
            None => panic!("no {what} within {WAIT:?}"),
        }
    }
}

fn of_type<'a>(kind: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |frame| frame["type"] == kind
}

/// Every server → client frame type (`ack`, `event`, `snapshot`, `viewers`, `presence` board and
/// agent, `pong`, `error`), on every topic, as staff and as a customer get it, from a real server.
/// (`resync` cannot be provoked from outside: `ws::hub`'s own snapshots pin it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_frames_as_staff_and_customers_get_them() {
    let db = TestDb::sqlite();
    let seeded = seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let supervisor = server.login("sup@test.example").await;
    let agent = server.login("agent@test.example").await;
    let customer = server.login("cust@test.example").await;
    let mut frames: Vec<Value> = Vec::new();
    let mut keep = |step: &str, frame: Value| frames.push(json!({"step": step, "frame": redacted(frame)}));

    let mut staff = WsClient::connect(&server.base, &supervisor).await;
    let mut cust = WsClient::connect(&server.base, &customer).await;

    // The queue: acks, then events carrying the ticket as each audience sees it.
    let ack = staff.subscribe("queue", None).await;
    let cursor = ack["cursor"].as_i64().expect("a queue ack has a cursor");
    keep("queue: ack (staff)", ack);
    keep("queue: ack (customer)", cust.subscribe("queue", None).await);
    let body = json!({"subject": "Parcel missing", "body": "Where is my parcel?", "requester_id": seeded.customer.id});
    let (status, ticket) = server.call("POST", "/api/v1/tickets", Some(&agent), Some(body)).await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    let topic = format!("ticket:{id}");
    for (who, ws) in [("staff", &mut staff), ("customer", &mut cust)] {
        for n in 1..=2 {
            let frame = frame_where(ws, "a queue event", of_type("event")).await;
            assert_eq!((frame["topic"].as_str(), frame["seq"].as_i64()), (Some("queue"), Some(n)), "{frame}");
            keep(&format!("queue: event seq {n} ({who})"), frame);
        }
        ws.send(json!({"type": "unsubscribe", "topic": "queue"})).await;
        keep(&format!("queue: unsubscribe ack ({who})"), frame_where(ws, "an ack", of_type("ack")).await);
        // Resuming from a cursor: the tickets changed since, as snapshots, then the ack.
        ws.send(json!({"type": "subscribe", "topic": "queue", "after": cursor})).await;
        keep(&format!("queue: resume snapshot ({who})"), frame_where(ws, "a snapshot", of_type("snapshot")).await);
        keep(&format!("queue: resume ack ({who})"), frame_where(ws, "an ack", of_type("ack")).await);
        ws.send(json!({"type": "unsubscribe", "topic": "queue"})).await;
        frame_where(ws, "an ack", of_type("ack")).await;
    }

    // A ticket topic: the ack, who is viewing, and events (an internal note is `private` to the
    // customer, with its seq kept).
    for (who, ws) in [("staff", &mut staff), ("customer", &mut cust)] {
        keep(&format!("ticket: ack ({who})"), ws.subscribe(&topic, None).await);
        keep(&format!("ticket: viewers, nobody ({who})"), frame_where(ws, "viewers", of_type("viewers")).await);
    }
    let messages = format!("/api/v1/tickets/{id}/messages");
    let (status, _) = server
        .call("POST", &messages, Some(&agent), Some(json!({"body": "check the address", "internal": true})))
        .await;
    assert_eq!(status, 201);
    let (status, _) = server.call("POST", &messages, Some(&customer), Some(json!({"body": "Any news?"}))).await;
    assert_eq!(status, 201);
    for (who, ws) in [("staff", &mut staff), ("customer", &mut cust)] {
        keep(&format!("ticket: event, internal note ({who})"), frame_where(ws, "an event", of_type("event")).await);
        keep(&format!("ticket: event, customer message ({who})"), frame_where(ws, "an event", of_type("event")).await);
    }

    // Viewers: staff see who (and who types); customers only "an agent".
    let mut agent_ws = WsClient::connect(&server.base, &agent).await;
    agent_ws.send(json!({"type": "viewing", "ticket_id": id})).await;
    let viewing =
        |frame: &Value| frame["type"] == "viewers" && frame["viewers"].as_array().is_some_and(|v| v.len() == 1);
    keep("ticket: viewers, an agent viewing (staff)", frame_where(&mut staff, "a viewer", viewing).await);
    agent_ws.send(json!({"type": "typing", "ticket_id": id, "on": true})).await;
    let typing = |on: bool| move |frame: &Value| viewing(frame) && frame["viewers"][0]["typing"] == on;
    keep("ticket: viewers, the agent typing (staff)", frame_where(&mut staff, "typing", typing(true)).await);
    agent_ws.send(json!({"type": "typing", "ticket_id": id, "on": false})).await;
    frame_where(&mut staff, "typing stopped", typing(false)).await;
    let mut cust2 = WsClient::connect(&server.base, &customer).await;
    cust2.subscribe(&topic, None).await;
    keep("ticket: viewers, an agent viewing (customer)", frame_where(&mut cust2, "a viewer", viewing).await);

    // The presence board (supervisors and admins), then one agent's change.
    keep("presence: ack (staff)", staff.subscribe("presence", None).await);
    let board = |frame: &Value| frame["type"] == "presence" && frame["board"].is_array();
    keep("presence: board (staff)", frame_where(&mut staff, "the board", board).await);
    agent_ws.send(json!({"type": "presence", "status": "busy"})).await;
    let agent_id = seeded.agent.id;
    let busy = |frame: &Value| {
        frame["type"] == "presence" && frame["agent"]["user_id"] == agent_id && frame["agent"]["status"] == "busy"
    };
    keep("presence: agent (staff)", frame_where(&mut staff, "the agent busy", busy).await);

    // Pong and every error a client can provoke.
    staff.send(json!({"type": "ping"})).await;
    keep("pong", frame_where(&mut staff, "a pong", of_type("pong")).await);
    let refusals = [
        ("error: not JSON", Value::Null, "{not json"),
        ("error: unknown frame type", json!({"type": "dance"}), ""),
        ("error: unknown topic", json!({"type": "subscribe", "topic": "everything"}), ""),
        ("error: not subscribed", json!({"type": "unsubscribe", "topic": "presence"}), ""),
        ("error: presence board for a customer", json!({"type": "subscribe", "topic": "presence"}), ""),
        ("error: someone else's ticket", json!({"type": "subscribe", "topic": "ticket:999999"}), ""),
        ("error: negative after", json!({"type": "subscribe", "topic": topic, "after": -1}), ""),
        ("error: already subscribed", json!({"type": "subscribe", "topic": topic}), ""),
        ("error: presence from a customer", json!({"type": "presence", "status": "busy"}), ""),
    ];
    for (step, frame, text) in refusals {
        if frame.is_null() {
            cust.send_text(text.to_owned()).await;
        } else {
            cust.send(frame).await;
        }
        keep(&format!("{step} (customer)"), frame_where(&mut cust, "an error", of_type("error")).await);
    }
    agent_ws.send(json!({"type": "viewing", "ticket_id": 999999})).await;
    keep(
        "error: viewing a ticket not followable (staff)",
        frame_where(&mut agent_ws, "an error", of_type("error")).await,
    );
    staff.send(json!({"type": "subscribe", "topic": "queue"})).await;
    frame_where(&mut staff, "an ack", of_type("ack")).await;
    staff.send(json!({"type": "subscribe", "topic": "queue"})).await;
    keep("error: already subscribed to the queue (staff)", frame_where(&mut staff, "an error", of_type("error")).await);
    insta::assert_json_snapshot!("websocket_frames", frames);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The WhatsApp webhook parser

const NUMBER: &str = "100200300400500";
/// Every timestamp in these payloads: parsed results are the same on every run.
const AT: &str = "1750000000";

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

fn text(from: &str, wamid: &str, body: &str) -> Value {
    json!({"from": from, "id": wamid, "timestamp": AT, "type": "text", "text": {"body": body}})
}

fn message(from: &str, id: &str, kind: &str, content: Value) -> Value {
    let mut message = json!({"from": from, "id": id, "timestamp": AT, "type": kind, "unknown_future_field": {"x": 1}});
    message[kind] = content;
    message
}

fn parsed(payload: &Value) -> Value {
    match switchboard::channels::whatsapp::payload::parse(payload.to_string().as_bytes()) {
        Ok(batch) => serde_json::to_value(batch).expect("batches serialise"),
        Err(error) => json!({"error": error.to_string()}),
    }
}

/// The batch of every message type `tests/whatsapp.rs` sends (two customers, context, referral,
/// unsupported and unknown types), with fixed timestamps.
#[test]
fn whatsapp_webhook_every_message_type() {
    let mut quoted = text("111", "wamid.A10", "replying to you");
    quoted["context"] = json!({"from": "15550100001", "id": "wamid.OUT-0"});
    let mut forwarded = text("111", "wamid.A11", "fwd");
    forwarded["context"] = json!({"forwarded": true});
    let mut from_ad = text("222", "wamid.B3", "I saw your ad");
    from_ad["referral"] =
        json!({"source_url": "https://fb.me/ad", "source_type": "ad", "headline": "Sale", "ctwa_clid": "CLID"});
    let batch = envelope(messages_value(
        json!([contact("111", "Ana Souza"), contact("222", "Bruno Lima")]),
        json!([
            text("111", "wamid.A1", "Hello, my order is late"),
            message(
                "111",
                "wamid.A2",
                "image",
                json!({"caption": "the box", "mime_type": "image/jpeg", "sha256": "x", "id": "MEDIA1"})
            ),
            message(
                "111",
                "wamid.A3",
                "audio",
                json!({"mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "MEDIA2", "voice": true})
            ),
            message(
                "111",
                "wamid.A4",
                "document",
                json!({"filename": "invoice.pdf", "mime_type": "application/pdf", "sha256": "x", "id": "MEDIA3"})
            ),
            message("111", "wamid.A5", "location", json!({"latitude": 38.72, "longitude": -9.14, "name": "Home"})),
            message(
                "111",
                "wamid.A6",
                "contacts",
                json!([{"name": {"formatted_name": "Carla"}, "phones": [{"phone": "+351900000000"}]}])
            ),
            message(
                "111",
                "wamid.A7",
                "interactive",
                json!({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}})
            ),
            message(
                "111",
                "wamid.A8",
                "interactive",
                json!({"type": "list_reply", "list_reply": {"id": "t1", "title": "Tracking"}})
            ),
            message("111", "wamid.A9", "button", json!({"payload": "REOPEN", "text": "Reopen"})),
            quoted,
            forwarded,
            message("111", "wamid.A12", "reaction", json!({"message_id": "wamid.OUT-0", "emoji": "👍"})),
            message("111", "wamid.A13", "reaction", json!({"message_id": "wamid.OUT-0"})),
            message("111", "wamid.A14", "unsupported", json!({"type": "poll_creation"})),
            message("111", "wamid.A15", "hologram", json!({"depth": 3})),
            text("222", "wamid.B1", "Hi, question about billing"),
            message(
                "222",
                "wamid.B2",
                "sticker",
                json!({"mime_type": "image/webp", "sha256": "x", "id": "MEDIA4", "animated": false})
            ),
            from_ad
        ]),
    ));
    insta::assert_json_snapshot!("whatsapp_every_message_type", parsed(&batch));
}

/// The other payloads the tests send: statuses, channel errors, another field, a template
/// status change, a sender id of the wrong shape, an oversized text, BSUID senders, and refusals.
#[test]
fn whatsapp_webhook_statuses_errors_and_odd_payloads() {
    let statuses = envelope(
        json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER}, "statuses": [
            {"id": "wamid.OUT-1", "status": "sent", "timestamp": AT, "recipient_id": "351911"},
            {"id": "wamid.OUT-1", "status": "delivered", "timestamp": AT, "recipient_id": "351911"},
            {"id": "wamid.OUT-1", "status": "read", "timestamp": AT, "recipient_id": "351911", "recipient_user_id": "US.9"},
            {"id": "wamid.OUT-2", "status": "failed", "timestamp": AT, "recipient_id": "111",
             "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24h passed"}}]},
            {"id": "wamid.OUT-3", "status": "deleted", "timestamp": AT, "recipient_id": "111"}
        ]}),
    );
    let channel_errors = envelope(json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER},
        "errors": [{"code": 130429, "title": "Rate limit hit", "error_data": {"details": "slow down"}}]}));
    let other_field = json!({"object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "account_update", "value": {}}]}]});
    let template_paused = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "time": 1, "changes": [{
        "field": "message_template_status_update",
        "value": {"event": "PAUSED", "message_template_id": 1, "message_template_name": "ticket_update",
                  "message_template_language": "en-US", "reason": "LOW_QUALITY"}}]}]});
    let wrong_sender = envelope(messages_value(
        json!([contact("3302", "Al")]),
        json!([text("+44 20 7946", "wamid.B1", "not digits"), text("3302", "wamid.B2", "fine")]),
    ));
    let bsuid = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": "PN1"},
        "contacts": [{"profile": {"name": "Bea"}, "wa_id": "222"}, {"profile": {"name": "Al"}, "wa_id": "111", "user_id": "US.1"}],
        "messages": [
            {"from": "111", "id": "wamid.A", "timestamp": AT, "type": "text", "text": {"body": "hi"}, "brand_new_field": 1},
            {"from_user_id": "US.1", "id": "wamid.C", "timestamp": AT, "type": "text", "text": {"body": "by BSUID only"}},
            {"from": "222", "id": "wamid.B", "timestamp": AT, "type": "location",
             "location": {"latitude": 38.7, "longitude": "-9.1", "name": "Office"}}
        ]
    }));
    let preferences = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{
    "field": "user_preferences",
    "value": {"metadata": {"phone_number_id": NUMBER}, "user_preferences": [
        {"wa_id": "5511", "value": "stop"}, {"wa_id": "5511", "user_id": "US.5", "value": "resume"},
        {"wa_id": "5511", "value": "maybe"}
    ]}}]}]});
    let more_kinds = envelope(messages_value(
        json!([contact("111", "Ana Souza")]),
        json!([
            message(
                "111",
                "wamid.M1",
                "system",
                json!({"body": "User changed number", "wa_id": "112", "type": "user_changed_number"})
            ),
            message(
                "111",
                "wamid.M2",
                "edit",
                json!({"original_message_id": "wamid.A1", "message": {"text": {"body": "late!"}}})
            ),
            message("111", "wamid.M3", "revoke", json!({"original_message_id": "wamid.A1"})),
            message(
                "111",
                "wamid.M4",
                "order",
                json!({"catalog_id": "C1", "product_items": [{"product_retailer_id": "P1"}, {"product_retailer_id": "P2"}]})
            ),
            message(
                "111",
                "wamid.M5",
                "interactive",
                json!({"type": "nfm_reply", "nfm_reply": {"name": "flow", "response_json": "{}"}})
            ),
            message(
                "111",
                "wamid.M6",
                "interactive",
                json!({"type": "call_permission_reply", "call_permission_reply": {}})
            ),
            message("111", "wamid.M7", "video", json!({"id": "MEDIA7", "mime_type": "video/mp4"})),
            message("111", "wamid.M8", "audio", json!({"id": "MEDIA8", "mime_type": "audio/mpeg"}))
        ]),
    ));
    let cases = json!({
        "statuses": parsed(&statuses),
        "channel errors": parsed(&channel_errors),
        "another field": parsed(&other_field),
        "template paused": parsed(&template_paused),
        "sender id of the wrong shape": parsed(&wrong_sender),
        "senders matched by wa_id or BSUID": parsed(&bsuid),
        "user preferences": parsed(&preferences),
        "system, edit, revoke, order, other interactive and media kinds": parsed(&more_kinds),
        "empty entry list": parsed(&json!({"object": "whatsapp_business_account", "entry": []})),
        "another object": parsed(&json!({"object": "page"})),
        "no object": parsed(&json!({"entry": []})),
    });
    insta::assert_json_snapshot!("whatsapp_statuses_errors_and_odd_payloads", cases);
    let not_json =
        switchboard::channels::whatsapp::payload::parse(b"nope").map(|_| ()).map_err(|error| error.to_string());
    insta::assert_json_snapshot!("whatsapp_not_json", json!({"error": not_json.err()}));
}

/// A text over WhatsApp's length is cut with a note: the head, the note and the length are
/// pinned (the whole 4,096 characters would only make the snapshot unreadable).
#[test]
fn whatsapp_webhook_oversized_text() {
    let long = "a".repeat(5000);
    let mut batch =
        parsed(&envelope(messages_value(json!([contact("3303", "Vi")]), json!([text("3303", "wamid.L1", &long)]))));
    let body = batch["messages"][0]["body"].as_str().expect("a body").to_owned();
    let kept = body.chars().take_while(|c| *c == 'a').count();
    batch["messages"][0]["body"] = json!(format!("[{kept} × 'a']{}", &body[kept..]));
    insta::assert_json_snapshot!("whatsapp_oversized_text", batch);
}

// ---------------------------------------------------------------------------------------------
// The email parser

fn email_view(raw: &str) -> Value {
    use base64::Engine as _;
    match switchboard::channels::email::parse::parse(raw.as_bytes()) {
        Ok(email) => json!({
            "message_id": email.message_id,
            "from_address": email.from_address,
            "from_name": email.from_name,
            "subject": email.subject,
            "text": email.text,
            "thread_ids": email.thread_ids,
            "attachments": email.attachments.iter().map(|file| json!({
                "name": file.name,
                "content_type": file.content_type,
                "bytes_base64": base64::engine::general_purpose::STANDARD.encode(&file.bytes),
            })).collect::<Vec<_>>(),
            "automatic": email.automatic,
        }),
        Err(error) => json!({"error": error.to_string()}),
    }
}

/// Representative raw messages: a plain reply with quoted history, multipart with text, HTML and
/// an attachment, HTML only, encoded headers, an automatic reply, no Message-ID, and refusals.
#[test]
fn email_parser_results() {
    let plain_reply = "From: Lia Souza <Lia@Example.com>\r\nTo: support@switchboard.localhost\r\n\
        Subject: Re: Parcel missing [#12]\r\nMessage-ID: <abc-1@mail.example.com>\r\n\
        In-Reply-To: <0192@switchboard.localhost>\r\n\
        References: <first@mail.example.com> <0192@switchboard.localhost>\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n\
        Still nothing arrived.\r\n\r\nOn Mon, 2 Nov 2026, Support wrote:\r\n> We shipped it.\r\n> Regards\r\n";
    let multipart = "From: \"Bruno Lima\" <bruno@customer.example>\r\nTo: help@hub.test\r\nSubject: Invoice\r\n\
        Message-ID: <m5@customer.example>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
        --outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n\
        --inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe invoice is attached.\r\n\
        --inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The <b>invoice</b> is attached.</p>\r\n\
        --inner--\r\n\
        --outer\r\nContent-Type: application/PDF; name=\"invoice.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        JVBERi0xLjQK\r\n\
        --outer\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n\
        --outer--\r\n";
    let html_only = "From: LIA@customer.example\r\nSubject: Photo [#12]\r\nMessage-ID: <m3@customer.example>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
        Content-Type: text/html; charset=utf-8\r\n\r\n<p>Here is the <b>label</b>.</p>\r\n--b\r\n\
        Content-Type: image/png; name=\"label.png\"\r\nContent-Disposition: attachment; filename=\"label.png\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";
    let reply_with_thread = "From: lia@customer.example\r\nTo: help@hub.test\r\nSubject: Re: Parcel missing\r\n\
        Message-ID: <m2@customer.example>\r\nIn-Reply-To: <ours@hub.test>\r\n\
        References: <m1@customer.example> <ours@hub.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Thanks!\r\n\r\nOn Monday, Support wrote:\r\n> Checking now.\r\n";
    let encoded = "From: =?utf-8?q?Jos=C3=A9_Mu=C3=B1oz?= <jose@customer.example>\r\n\
        Subject: =?utf-8?b?w4lsw6h2ZSDDoCBsJ2Vjb2xl?=\r\nMessage-ID: <enc@customer.example>\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        Ol=C3=A1, tudo bem?\r\n";
    let automatic = "From: a@b.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\
        Message-ID: <auto@b.example>\r\n\r\nOut of office";
    let not_automatic = "From: a@b.example\r\nAuto-Submitted: no\r\nMessage-ID: <manual@b.example>\r\n\r\nHi";
    let no_message_id = "From: bob@example.org\r\nSubject: No id\r\n\r\nA message without an id.\r\n";
    let cases = json!({
        "plain reply with quoted history": email_view(plain_reply),
        "multipart: text, HTML and attachments": email_view(multipart),
        "HTML only with an attachment": email_view(html_only),
        "reply threading on our message": email_view(reply_with_thread),
        "encoded headers and quoted-printable": email_view(encoded),
        "automatic reply": email_view(automatic),
        "Auto-Submitted: no": email_view(not_automatic),
        "no Message-ID": email_view(no_message_id),
        "no sender": email_view("Subject: hi\r\n\r\nno sender"),
        "empty": email_view(""),
    });
    insta::assert_json_snapshot!("email_parser_results", cases);
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document

#[test]
fn openapi_document() {
    let document = serde_json::to_value(switchboard::http::openapi()).expect("the document serialises");
    insta::assert_json_snapshot!("openapi", document);
}
