//! CSAT (issue 14 item 4) end to end, on both backends: the settings and their refusals; the
//! portal's survey (one per resolution cycle, the reopen cancellation, the cool-down, answers,
//! comments and every refusal writing nothing); the credit to every replying agent, the reports
//! and the low-rating automation event; the email's one-click links and comment form (a changed
//! token writes nothing); WhatsApp inside the window (a list, the tap as the answer, the next
//! message as the comment) and outside it (the template with quick-reply buttons).

use std::time::{Duration, Instant};

use jiff::SignedDuration;
use switchboard::channels::whatsapp::sign;
use switchboard_actors::clock::Clock as _;

use super::*;

const NUMBER: &str = "100200300400500";
const WA_ID: &str = "447700900222";

async fn enable(desk: &Desk, admin: &str, settings: Value) -> Value {
    let mut body = json!({
        "enabled": true, "question": "How did we do?", "scale": "five",
        "channels": ["whatsapp", "email", "portal"], "cooldown_days": 0,
        "comment_prompt": "Anything to add?"
    });
    for (key, value) in settings.as_object().expect("settings").clone() {
        body[key] = value;
    }
    desk.expect(200, "PUT", "/api/v1/account/csat", admin, Some(body)).await
}

async fn survey(desk: &Desk, token: &str, ticket: i64) -> Value {
    desk.expect(200, "GET", &format!("/api/v1/tickets/{ticket}/csat"), token, None).await["survey"].clone()
}

/// Waits until the ticket's newest survey is of `cycle` with `status`.
async fn survey_becomes(desk: &Desk, token: &str, ticket: i64, cycle: i64, status: &str) -> Value {
    for _ in 0..100 {
        let found = survey(desk, token, ticket).await;
        if found["cycle"] == json!(cycle) && found["status"] == json!(status) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ticket {ticket}'s survey of cycle {cycle} never became {status}: {}", survey(desk, token, ticket).await);
}

async fn set_status(desk: &Desk, token: &str, ticket: i64, status: &str) {
    desk.patch(token, ticket, json!({"status": status})).await;
}

async fn reply(desk: &Desk, token: &str, ticket: i64, body: &str) {
    let path = format!("/api/v1/tickets/{ticket}/messages");
    desk.expect(201, "POST", &path, token, Some(json!({"body": body}))).await;
}

async fn answer(desk: &Desk, token: &str, ticket: i64, body: Value) -> (u16, Value) {
    desk.call("POST", &format!("/api/v1/tickets/{ticket}/csat"), token, Some(body)).await
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|event| event["type"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_checked_and_only_admins_change_them() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let defaults = desk.expect(200, "GET", "/api/v1/account/csat", &agent, None).await;
    assert_eq!(defaults["enabled"], json!(false), "off until an admin turns it on: {defaults}");
    assert_eq!(defaults["scale"], json!("five"));
    let customer = desk.login("cust@test.example").await;
    assert_error(desk.call("GET", "/api/v1/account/csat", &customer, None).await.as_ref_pair(), 403, "forbidden");
    let body = json!({"enabled": true, "question": "Q?", "scale": "thumbs", "channels": ["email"],
        "cooldown_days": 3, "comment_prompt": "More?"});
    assert_error(
        desk.call("PUT", "/api/v1/account/csat", &agent, Some(body.clone())).await.as_ref_pair(),
        403,
        "forbidden",
    );
    let mut wrong = body.clone();
    wrong["cooldown_days"] = json!(-1);
    assert_invalid(desk.call("PUT", "/api/v1/account/csat", &admin, Some(wrong)).await.as_ref_pair(), "cooldown_days");
    let mut wrong = body.clone();
    wrong["question"] = json!("   ");
    assert_invalid(desk.call("PUT", "/api/v1/account/csat", &admin, Some(wrong)).await.as_ref_pair(), "question");
    let mut wrong = body.clone();
    wrong["channels"] = json!([]);
    assert_invalid(desk.call("PUT", "/api/v1/account/csat", &admin, Some(wrong)).await.as_ref_pair(), "channels");
    let mut wrong = body.clone();
    wrong["scale"] = json!("ten");
    let (status, _) = desk.call("PUT", "/api/v1/account/csat", &admin, Some(wrong)).await;
    assert!(status == 400 || status == 422, "an unknown scale is refused: {status}");
    assert_eq!(
        desk.expect(200, "GET", "/api/v1/account/csat", &agent, None).await,
        defaults,
        "refusals changed nothing"
    );
    let saved = desk.expect(200, "PUT", "/api/v1/account/csat", &admin, Some(body.clone())).await;
    assert_eq!(saved, body);
    assert_eq!(desk.expect(200, "GET", "/api/v1/account/csat", &agent, None).await, body);
    desk.stop().await;
}

trait Pair {
    fn as_ref_pair(&self) -> (u16, &Value);
}

impl Pair for (u16, Value) {
    fn as_ref_pair(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_survey_is_one_per_cycle_cancelled_by_a_reopen_and_held_by_the_cooldown() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        let other = desk.login("other@test.example").await;
        enable(&desk, &admin, json!({"channels": ["portal"]})).await;
        let ticket = id_of(&desk.ticket_for_customer(&agent, "Printer jam").await);
        assert_eq!(survey(&desk, &customer, ticket).await, Value::Null, "nothing asked before a resolve");
        reply(&desk, &agent, ticket, "Try turning it off and on.").await;
        set_status(&desk, &agent, ticket, "resolved").await;
        let asked = survey_becomes(&desk, &customer, ticket, 1, "pending").await;
        let keys: Vec<&String> = asked.as_object().expect("survey").keys().collect();
        assert_eq!(
            sorted_keys(keys),
            ["channel", "comment", "comment_prompt", "cycle", "id", "question", "scale", "score", "status"]
        );
        assert_eq!(
            (&asked["channel"], &asked["question"], &asked["scale"], &asked["score"]),
            (&json!("portal"), &json!("How did we do?"), &json!("five"), &Value::Null)
        );
        // The customer sees that a survey was asked, and nothing more; no message went out. The
        // survey is stored before its event commits through the ticket, so wait for the event.
        let mut seen = desk.events(&customer, ticket, 0).await;
        for _ in 0..100 {
            if !of_type(&seen, "csat_requested").is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            seen = desk.events(&customer, ticket, 0).await;
        }
        let requested = of_type(&seen, "csat_requested");
        assert_eq!(requested.len(), 1, "{seen:?}");
        assert!(requested[0].get("survey_id").is_none(), "details are staff-only: {}", requested[0]);
        let thread = desk.ticket(&admin, ticket).await["messages"].as_array().expect("messages").len();
        assert_eq!(thread, 2, "the portal survey sends no message");

        // Refusals write nothing.
        let before = desk.log_state(&admin, ticket).await;
        assert_error(answer(&desk, &other, ticket, json!({"score": 5})).await.as_ref_pair(), 404, "not_found");
        assert_error(
            desk.call("GET", &format!("/api/v1/tickets/{ticket}/csat"), &other, None).await.as_ref_pair(),
            404,
            "not_found",
        );
        assert_error(answer(&desk, &agent, ticket, json!({"score": 5})).await.as_ref_pair(), 403, "forbidden");
        assert_error(answer(&desk, &customer, ticket, json!({"score": 6})).await.as_ref_pair(), 400, "invalid_score");
        assert_error(answer(&desk, &customer, ticket, json!({"score": 0})).await.as_ref_pair(), 400, "invalid_score");
        assert_error(
            answer(&desk, &customer, ticket, json!({"comment": "Nice"})).await.as_ref_pair(),
            409,
            "survey_not_answered",
        );
        assert_invalid(answer(&desk, &customer, ticket, json!({})).await.as_ref_pair(), "score");
        assert_eq!(desk.log_state(&admin, ticket).await, before, "refusals wrote nothing");
        assert_eq!(survey(&desk, &customer, ticket).await["status"], json!("pending"));

        let (status, answered) = answer(&desk, &customer, ticket, json!({"score": 4})).await;
        assert_eq!(status, 200, "{answered}");
        assert_eq!((&answered["survey"]["status"], &answered["survey"]["score"]), (&json!("answered"), &json!(4)));
        assert_error(answer(&desk, &customer, ticket, json!({"score": 5})).await.as_ref_pair(), 409, "survey_answered");
        let (status, commented) = answer(&desk, &customer, ticket, json!({"comment": " Quick and kind "})).await;
        assert_eq!((status, &commented["survey"]["comment"]), (200, &json!("Quick and kind")));
        let (status, replaced) = answer(&desk, &customer, ticket, json!({"comment": "Quick"})).await;
        assert_eq!((status, &replaced["survey"]["comment"]), (200, &json!("Quick")));
        // Staff see the rating and whom it credits; the customer sees it as private.
        let events = desk.events(&admin, ticket, 0).await;
        let received = of_type(&events, "csat_received");
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["score"], json!(4));
        assert_eq!(received[0]["agent_ids"], json!([desk.seeded.agent.id]));
        assert_eq!(of_type(&events, "csat_commented").len(), 2);
        let seen = desk.events(&customer, ticket, 0).await;
        assert!(of_type(&seen, "csat_received").is_empty() && of_type(&seen, "csat_commented").is_empty());
        assert_eq!(survey(&desk, &agent, ticket).await["score"], json!(4), "staff read it too");

        // A reopen starts a new cycle: resolved again, it is asked again (no cool-down here).
        set_status(&desk, &agent, ticket, "open").await;
        set_status(&desk, &agent, ticket, "resolved").await;
        survey_becomes(&desk, &customer, ticket, 2, "pending").await;
        // Reopened before the answer: cancelled, and an answer is refused.
        set_status(&desk, &agent, ticket, "open").await;
        survey_becomes(&desk, &customer, ticket, 2, "cancelled").await;
        assert_error(
            answer(&desk, &customer, ticket, json!({"score": 3})).await.as_ref_pair(),
            409,
            "survey_not_pending",
        );
        // With a cool-down, the customer just surveyed is not asked again.
        enable(&desk, &admin, json!({"channels": ["portal"], "cooldown_days": 7})).await;
        set_status(&desk, &agent, ticket, "resolved").await;
        let other_ticket = id_of(&desk.ticket_for_customer(&agent, "Second issue").await);
        set_status(&desk, &agent, other_ticket, "resolved").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(survey(&desk, &customer, ticket).await["cycle"], json!(2), "held by the cool-down");
        assert_eq!(survey(&desk, &customer, other_ticket).await, Value::Null, "the cool-down is per customer");
        let requested = of_type(&desk.events(&admin, ticket, 0).await, "csat_requested").len();
        assert_eq!(requested, 2, "one survey per cycle asked, none in the cool-down");
        desk.stop().await;
    }
}

fn sorted_keys(keys: Vec<&String>) -> Vec<&str> {
    let mut keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_credits_every_replying_agent_reaches_the_reports_and_a_low_one_raises_the_event() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let supervisor = desk.login("sup@test.example").await;
        let customer = desk.login("cust@test.example").await;
        enable(&desk, &admin, json!({"channels": ["portal"]})).await;
        let rule = json!({"name": "Unhappy customer", "enabled": true, "when": {"event": "csat_received"},
            "then": [{"add_tags": ["unhappy"]}]});
        desk.expect(201, "POST", "/api/v1/automations", &admin, Some(rule)).await;

        let low = id_of(&desk.ticket_for_customer(&agent, "Refund").await);
        reply(&desk, &agent, low, "Looking into it.").await;
        reply(&desk, &supervisor, low, "Refund approved.").await;
        set_status(&desk, &agent, low, "resolved").await;
        survey_becomes(&desk, &customer, low, 1, "pending").await;
        let (status, body) = answer(&desk, &customer, low, json!({"score": 2})).await;
        assert_eq!(status, 200, "{body}");
        let events = desk.events(&admin, low, 0).await;
        let mut credited: Vec<i64> = of_type(&events, "csat_received")[0]["agent_ids"]
            .as_array()
            .expect("agent ids")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        credited.sort_unstable();
        let mut both = vec![desk.seeded.agent.id, desk.seeded.supervisor.id];
        both.sort_unstable();
        assert_eq!(credited, both, "every person who replied in the cycle");
        eventually("the low rating's automation", || async {
            desk.ticket(&admin, low).await["tags"] == json!(["unhappy"])
        })
        .await;

        let high = id_of(&desk.ticket_for_customer(&agent, "Thanks").await);
        reply(&desk, &agent, high, "Done.").await;
        set_status(&desk, &agent, high, "resolved").await;
        survey_becomes(&desk, &customer, high, 1, "pending").await;
        assert_eq!(answer(&desk, &customer, high, json!({"score": 5})).await.0, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(desk.ticket(&admin, high).await["tags"], json!([]), "a good rating raises no event");

        // The list, scoped like the reports, and the reports' averages (periods end now,
        // excluded: let a second pass).
        clock.advance(SignedDuration::from_secs(1));
        let all = desk.expect(200, "GET", "/api/v1/csat", &admin, None).await;
        assert_eq!(all["items"].as_array().map(Vec::len), Some(2), "{all}");
        assert_eq!(all["items"][0]["ticket_id"], json!(high), "newest first");
        let mine = desk.expect(200, "GET", "/api/v1/csat", &agent, None).await;
        assert_eq!(mine["items"].as_array().map(Vec::len), Some(2), "credited to the agent: {mine}");
        let sups = desk.expect(200, "GET", "/api/v1/csat", &supervisor, None).await;
        assert_eq!(ids(&sups["items"]), vec![low], "the supervisor replied on one: {sups}");
        assert_error(desk.call("GET", "/api/v1/csat", &customer, None).await.as_ref_pair(), 403, "forbidden");
        let agent_id = desk.seeded.agent.id;
        let report = desk.expect(200, "GET", &format!("/api/v1/reports/agents/{agent_id}"), &admin, None).await;
        assert_eq!((&report["csat_average"], &report["csat_ratings"]), (&json!(3.5), &json!(2)), "{report}");
        let sup_id = desk.seeded.supervisor.id;
        let report = desk.expect(200, "GET", &format!("/api/v1/reports/agents/{sup_id}"), &admin, None).await;
        assert_eq!(report["csat_average"], json!(2.0), "{report}");
        let summary = desk.expect(200, "GET", "/api/v1/reports/summary", &admin, None).await;
        assert_eq!((&summary["total"]["csat_ratings"], &summary["total"]["csat_average"]), (&json!(2), &json!(3.5)));
        let funnel = desk.expect(200, "GET", "/api/v1/csat/funnel", &admin, None).await;
        assert_eq!(funnel["channels"][0]["channel"], json!("portal"), "{funnel}");
        assert_eq!((&funnel["channels"][0]["asked"], &funnel["channels"][0]["answered"]), (&json!(2), &json!(2)));
        desk.stop().await;
    }
}

/// The one-click links of the survey email on `ticket`: `(token, score)` per link.
async fn email_links(desk: &Desk, admin: &str, ticket: i64) -> Vec<(String, i64)> {
    let (_, message) = survey_sent(desk, admin, ticket).await;
    let body = message["body"].as_str().expect("body").to_owned();
    body.split("/csat/")
        .skip(1)
        .map(|rest| {
            let (token, rest) = rest.split_once("?score=").expect("a score link");
            let score: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (token.to_owned(), score.parse().expect("score"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_links_rate_in_one_click_and_the_page_takes_a_comment() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        enable(&desk, &admin, json!({"channels": ["email"]})).await;
        let body = json!({"subject": "Invoice", "body": "Wrong total", "requester_id": desk.seeded.customer.id, "channel": "email"});
        let ticket = id_of(&desk.create_ticket(&agent, body).await);
        reply(&desk, &agent, ticket, "Fixed the total.").await;
        set_status(&desk, &agent, ticket, "resolved").await;
        survey_becomes(&desk, &customer, ticket, 1, "pending").await;
        let links = email_links(&desk, &admin, ticket).await;
        assert_eq!(links.iter().map(|(_, score)| *score).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        let token = links[0].0.clone();

        // A changed or cut token: a clear page, nothing written.
        let csat_events = |events: Vec<Value>| {
            events.iter().filter(|event| event["type"].as_str().is_some_and(|kind| kind.starts_with("csat_"))).count()
        };
        let before = csat_events(desk.events(&admin, ticket, 0).await);
        let mut tampered = token.clone();
        let last = tampered.pop().expect("a token");
        tampered.push(if last == '0' { '1' } else { '0' });
        for bad in [tampered.as_str(), token.split('.').next().expect("id"), "abc"] {
            let page = desk.raw("GET", &format!("/csat/{bad}?score=5"), &[], None).await;
            assert_eq!(page.status, 404, "{bad}");
            assert!(page.body.as_str().is_some_and(|html| html.contains("This rating link is not valid")));
        }
        let page = desk.raw("GET", &format!("/csat/{token}?score=9"), &[], None).await;
        assert_eq!(page.status, 400, "a score off the scale");
        assert_eq!(csat_events(desk.events(&admin, ticket, 0).await), before, "nothing written");
        assert_eq!(survey(&desk, &customer, ticket).await["status"], json!("pending"));

        let page = desk.raw("GET", &format!("/csat/{token}?score=4"), &[], None).await;
        assert_eq!(page.status, 200);
        let html = page.body.as_str().expect("html").to_owned();
        assert!(html.contains("4 – Good") && html.contains("Anything to add?"), "{html}");
        // In the browser's language (the question and prompt stay the account's own).
        let spanish = desk.raw("GET", &format!("/csat/{token}"), &[("accept-language", "es-ES,es;q=0.9")], None).await;
        let spanish = spanish.body.as_str().expect("html").to_owned();
        assert!(
            spanish.contains("lang=\"es\"") && spanish.contains("4 – Bueno") && spanish.contains("Ya valoraste"),
            "{spanish}"
        );
        let key = html.split("name=\"form_key\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("key");
        // A second click changes nothing.
        let again = desk.raw("GET", &format!("/csat/{token}?score=1"), &[], None).await;
        assert!(again.body.as_str().is_some_and(|html| html.contains("already rated")));
        assert_eq!(survey(&desk, &customer, ticket).await["score"], json!(4));

        let form = |comment: &str, key: &str| format!("comment={}&form_key={key}", encoded(comment)).into_bytes();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let forged = desk.raw("POST", &format!("/csat/{token}"), &headers, Some(form("spam", "0000"))).await;
        assert_eq!(forged.status, 403, "a form without the page's key");
        let foreign = [("content-type", "application/x-www-form-urlencoded"), ("origin", "https://evil.example")];
        let forged = desk.raw("POST", &format!("/csat/{token}"), &foreign, Some(form("spam", key))).await;
        assert_eq!(forged.status, 403, "a form from another site");
        let forged = desk.raw("POST", &format!("/csat/{tampered}"), &headers, Some(form("spam", key))).await;
        assert_eq!(forged.status, 404);
        assert_eq!(survey(&desk, &customer, ticket).await["comment"], Value::Null, "nothing written");

        let sent = desk.raw("POST", &format!("/csat/{token}"), &headers, Some(form("<b>Great</b> & quick", key))).await;
        // 303 to `?commented=1`, which the client follows.
        assert_eq!(sent.status, 200);
        let html = sent.body.as_str().expect("html");
        assert!(html.contains("we have your comment"), "{html}");
        assert!(html.contains("&lt;b&gt;Great&lt;/b&gt; &amp; quick") && !html.contains("<b>Great"), "{html}");
        let rated = survey(&desk, &customer, ticket).await;
        assert_eq!(
            (&rated["status"], &rated["score"], &rated["comment"]),
            (&json!("answered"), &json!(4), &json!("<b>Great</b> & quick"))
        );
        assert_eq!(rated["channel"], json!("email"));
        desk.stop().await;
    }
}

/// A signed WhatsApp webhook from the customer with one message of `kind` and `content`.
async fn whatsapp(desk: &Desk, secret: &str, wamid: &str, at: jiff::Timestamp, kind: &str, content: Value) {
    let mut message = json!({"from": WA_ID, "id": wamid, "timestamp": at.as_second().to_string(), "type": kind});
    message[kind] = content;
    let value = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": NUMBER},
        "contacts": [{"profile": {"name": "Wanda"}, "wa_id": WA_ID}], "messages": [message]});
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}]})
        .to_string();
    let response = desk
        .server
        .http
        .post(desk.server.url("/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret, payload.as_bytes()))
        .body(payload)
        .send()
        .await
        .expect("webhook");
    assert_eq!(response.status().as_u16(), 200);
}

/// The customer's WhatsApp ticket, once their first message made it.
async fn whatsapp_ticket(desk: &Desk, admin: &str) -> i64 {
    for _ in 0..100 {
        let (ids, _) = desk.list(admin, "q=channel:whatsapp").await;
        // Replies need the conversation, saved beside the ticket's first commit.
        if let Some(id) = ids.first()
            && desk.ticket(admin, *id).await["reply_channels"]
                .as_array()
                .is_some_and(|channels| channels.contains(&json!("whatsapp")))
        {
            return *id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the WhatsApp message never became a ticket");
}

/// The ticket and the message that carried its survey, once it is committed (just after the
/// survey row).
async fn survey_sent(desk: &Desk, admin: &str, ticket: i64) -> (Value, Value) {
    for _ in 0..100 {
        let seen = desk.ticket(admin, ticket).await;
        let found = seen["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .find(|message| message["payload"]["csat_survey"].is_number())
            .cloned();
        if let Some(message) = found {
            return (seen, message);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ticket {ticket}'s survey message never came");
}

fn thread(ticket: &Value) -> Vec<String> {
    let messages = ticket["messages"].as_array().expect("messages");
    messages
        .iter()
        .filter(|message| message["kind"] == "customer")
        .map(|m| m["body"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_inside_the_window_asks_with_a_list_and_takes_the_tap_and_the_next_message() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let secret = app_secret(&desk.server.http, &desk.server.base).await;
        enable(&desk, &admin, json!({"channels": ["whatsapp"]})).await;
        whatsapp(&desk, &secret, "wamid.IN1", clock.now(), "text", json!({"body": "My order is late"})).await;
        let ticket = whatsapp_ticket(&desk, &admin).await;
        reply(&desk, &agent, ticket, "It ships today.").await;
        set_status(&desk, &agent, ticket, "resolved").await;
        let asked = survey_becomes(&desk, &admin, ticket, 1, "pending").await;
        let id = asked["id"].as_i64().expect("survey id");
        let (_, sent) = survey_sent(&desk, &admin, ticket).await;
        assert_eq!(sent["kind"], json!("reply"));
        assert_eq!(sent["channel"], json!("whatsapp"));
        let list = &sent["payload"]["interactive"];
        assert_eq!(list["type"], json!("list"), "{sent}");
        let rows: Vec<&str> = list["action"]["sections"][0]["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|row| row["id"].as_str())
            .collect();
        let expected: Vec<String> = (1..=5).rev().map(|score| format!("csat:{id}:{score}")).collect();
        assert_eq!(rows, expected);

        // The tap is the answer, within a second, and no message on the ticket.
        let tapped = Instant::now();
        let reply =
            json!({"type": "list_reply", "list_reply": {"id": format!("csat:{id}:5"), "title": "5 - Excellent"}});
        whatsapp(&desk, &secret, "wamid.TAP1", clock.now(), "interactive", reply.clone()).await;
        survey_becomes(&desk, &admin, ticket, 1, "answered").await;
        assert!(tapped.elapsed() < Duration::from_secs(1), "answered after {:?}", tapped.elapsed());
        // Meta re-delivers: nothing changes.
        whatsapp(&desk, &secret, "wamid.TAP1", clock.now(), "interactive", reply).await;
        let seen = desk.ticket(&admin, ticket).await;
        assert_eq!(thread(&seen), ["My order is late"], "the tap is no message");
        assert_eq!(seen["status"], json!("resolved"), "the tap does not reopen");
        assert_eq!(survey(&desk, &admin, ticket).await["score"], json!(5));

        // The next message is the rating's comment, and still reaches the ticket.
        whatsapp(&desk, &secret, "wamid.IN2", clock.now(), "text", json!({"body": "Super fast, thanks"})).await;
        eventually("the comment", || async {
            survey(&desk, &admin, ticket).await["comment"] == json!("Super fast, thanks")
        })
        .await;
        // The comment is taken before the conversation adds the message: wait for it too.
        eventually("the comment's message", || async { thread(&desk.ticket(&admin, ticket).await).len() == 2 }).await;
        assert_eq!(thread(&desk.ticket(&admin, ticket).await), ["My order is late", "Super fast, thanks"]);
        // Only the first message after the rating.
        whatsapp(&desk, &secret, "wamid.IN3", clock.now(), "text", json!({"body": "One more thing"})).await;
        eventually("the message", || async { thread(&desk.ticket(&admin, ticket).await).len() == 3 }).await;
        assert_eq!(survey(&desk, &admin, ticket).await["comment"], json!("Super fast, thanks"));
        let events = desk.events(&admin, ticket, 0).await;
        assert_eq!(of_type(&events, "csat_received")[0]["channel"], json!("whatsapp"));
        // The funnel follows the sandbox's statuses.
        clock.advance(SignedDuration::from_secs(1));
        eventually("the survey's delivery", || async {
            let funnel = desk.expect(200, "GET", "/api/v1/csat/funnel", &admin, None).await;
            funnel["channels"][0]["delivered"] == json!(1)
        })
        .await;
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_outside_the_window_asks_with_the_template_and_its_quick_replies() {
    for backend in backends() {
        let clock = manual_clock();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let secret = app_secret(&desk.server.http, &desk.server.base).await;
        enable(&desk, &admin, json!({"channels": ["whatsapp"], "scale": "thumbs"})).await;
        whatsapp(&desk, &secret, "wamid.OUT1", clock.now(), "text", json!({"body": "Where is my refund?"})).await;
        let ticket = whatsapp_ticket(&desk, &admin).await;
        reply(&desk, &agent, ticket, "Processing.").await;
        desk = desk.down_for(&clock, SignedDuration::from_hours(25)).await;
        let (admin, agent) = desk.staff().await;
        desk.expect(200, "POST", "/api/v1/whatsapp/templates/sync", &admin, None).await;
        set_status(&desk, &agent, ticket, "resolved").await;
        let asked = survey_becomes(&desk, &admin, ticket, 1, "pending").await;
        let id = asked["id"].as_i64().expect("survey id");
        let (seen, sent) = survey_sent(&desk, &admin, ticket).await;
        let template = &sent["payload"]["template"];
        assert_eq!(template["name"], json!("csat_thumbs"), "{sent}");
        assert_eq!(template["buttons"], json!([format!("csat:{id}:1"), format!("csat:{id}:5")]));
        let number = seen["number"].as_i64().expect("number");
        assert_eq!(sent["body"], json!(format!("About your ticket #{number}: How did we do?")));

        // What went to the Graph API: the template with one quick-reply payload per choice.
        let quick = format!("[template csat_thumbs] #{number} · How did we do? [csat:{id}:1 | csat:{id}:5]");
        let phone = format!("/sandbox/api/messages?wa_id={WA_ID}");
        eventually("the template on the phone", || async {
            desk.expect(200, "GET", &phone, &admin, None).await.to_string().contains(&quick)
        })
        .await;
        let tap = json!({"payload": format!("csat:{id}:1"), "text": "👎"});
        whatsapp(&desk, &secret, "wamid.OUT2", clock.now(), "button", tap).await;
        let rated = survey_becomes(&desk, &admin, ticket, 1, "answered").await;
        assert_eq!((&rated["score"], &rated["scale"]), (&json!(1), &json!("thumbs")));
        assert_eq!(thread(&desk.ticket(&admin, ticket).await), ["Where is my refund?"]);
        // Another customer's tap on this survey is not theirs to give.
        desk.stop().await;
    }
}
