//! Automation rules end to end on a manual clock, on SQLite and (when its URL is set) PostgreSQL:
//! the seed examples fire at their moment exactly once, a time rule's wait restarts when the
//! ticket stops matching, a time rule due while the hub was down fires once on start marked
//! late, cascades stop at depth 3 with each rule once, webhooks are signed and retried, and who
//! may do what.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard_actors::clock::Clock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

async fn create_rule(desk: &Desk, admin: &str, rule: Value) -> i64 {
    id_of(&desk.expect(201, "POST", "/api/v1/automations", admin, Some(rule)).await)
}

/// The rule's runs, oldest first.
async fn runs(desk: &Desk, token: &str, rule: i64) -> Vec<Value> {
    let page = desk.expect(200, "GET", &format!("/api/v1/automations/{rule}/runs?limit=200"), token, None).await;
    let mut items = page["items"].as_array().expect("runs").clone();
    items.reverse();
    items
}

/// The tickets a rule ran on, in run order.
async fn ran_on(desk: &Desk, token: &str, rule: i64) -> Vec<i64> {
    runs(desk, token, rule).await.iter().map(|run| run["ticket_id"].as_i64().expect("ticket")).collect()
}

/// The rule's runs once there are at least `count`: timers due at a start fire as the hub
/// starts, not before it answers.
async fn runs_at_least(desk: &Desk, token: &str, rule: i64, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found = runs(desk, token, rule).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("rule {rule} did not run {count} times: {:?}", runs(desk, token, rule).await);
}

/// The tickets of [`runs_at_least`].
async fn ran_on_at_least(desk: &Desk, token: &str, rule: i64, count: usize) -> Vec<i64> {
    let found = runs_at_least(desk, token, rule, count).await;
    found.iter().map(|run| run["ticket_id"].as_i64().expect("ticket")).collect()
}

async fn automation_notifications(desk: &Desk, token: &str) -> Vec<Value> {
    let page = desk.expect(200, "GET", "/api/v1/notifications?limit=200", token, None).await;
    page["items"].as_array().expect("items").iter().filter(|item| item["kind"] == "automation").cloned().collect()
}

/// The four examples of the seeds, as DESIGN §4 writes them.
fn seed_rules() -> [Value; 4] {
    [
        json!({"name": "Unassigned for 2 hours", "when": {"for": "PT2H", "while": "assignee: none status: new,open"},
               "then": [{"notify": "supervisors", "message": "Unassigned for 2 hours"}]}),
        json!({"name": "Critical x critical", "when": {"event": "priority_changed"},
               "if": "urgency: critical importance: critical",
               "then": [{"notify": "all_agents", "message": "Critical ticket"}]}),
        json!({"name": "Close resolved after 3 days", "when": {"for": "P3D", "while": "status: resolved", "hours": "calendar"},
               "then": [{"set": {"status": "closed"}}, {"note": "Closed after 3 days resolved"}]}),
        json!({"name": "No agent reply for 48 hours", "when": {"for": "PT48H", "while": "waiting: agent"},
               "then": [{"notify": "assignee", "message": "No reply for 48 hours"}]}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_examples_fire_at_their_moment_exactly_once() {
    for backend in backends() {
        let clock = manual_clock();
        let start = clock.now();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let [unassigned, critical, close, no_reply] = seed_rules();
        let unassigned = create_rule(&desk, &admin, unassigned).await;
        let critical = create_rule(&desk, &admin, critical).await;
        let close = create_rule(&desk, &admin, close).await;
        let no_reply = create_rule(&desk, &admin, no_reply).await;
        let agent_id = desk.seeded.agent.id;

        // A: unassigned and waiting on an agent. B: the agent's, turned critical. C: resolved.
        let a = id_of(&desk.ticket_for_customer(&admin, "Nobody has me").await);
        let b = id_of(&desk.ticket_for_customer(&admin, "Mine").await);
        desk.expect(
            200,
            "POST",
            &format!("/api/v1/tickets/{b}/assign"),
            &admin,
            Some(json!({"assignee_id": agent_id})),
        )
        .await;
        desk.patch(&admin, b, json!({"urgency": "critical", "importance": "critical"})).await;
        let c = id_of(&desk.ticket_for_customer(&admin, "Solved").await);
        desk.patch(&admin, c, json!({"status": "resolved"})).await;
        assert_eq!(ran_on(&desk, &admin, critical).await, vec![b], "critical × critical runs on the change");
        eventually("the agent's automation notification", || async {
            automation_notifications(&desk, &agent).await.iter().any(|item| item["ticket_id"] == b)
        })
        .await;

        // One minute before the two hours: nothing yet.
        desk = desk.down_for(&clock, SignedDuration::from_mins(119)).await;
        assert!(ran_on(&desk, &admin, unassigned).await.is_empty(), "not before its time");
        // At two hours exactly: A (unassigned) once, not B (assigned); on time, not late.
        desk = desk.down_for(&clock, SignedDuration::from_mins(1)).await;
        let unassigned_runs = runs_at_least(&desk, &admin, unassigned, 1).await;
        assert_eq!(unassigned_runs.len(), 1, "{unassigned_runs:?}");
        assert_eq!(unassigned_runs[0]["ticket_id"], json!(a));
        assert_eq!(unassigned_runs[0]["result"], json!("ok"));
        assert!(unassigned_runs[0]["detail"].get("late_by_ms").is_none(), "on time: {}", unassigned_runs[0]);
        let supervisor = desk.login("sup@test.example").await;
        eventually("the supervisors' notification", || async {
            automation_notifications(&desk, &supervisor).await.iter().any(|item| item["ticket_id"] == a)
        })
        .await;

        // 48 hours: A, B and C have waited on an agent since they were created.
        desk = desk.down_for(&clock, SignedDuration::from_hours(46)).await;
        let mut waited = ran_on_at_least(&desk, &admin, no_reply, 3).await;
        waited.sort();
        assert_eq!(waited, vec![a, b, c], "each waits on an agent (the customer wrote last)");
        assert!(ran_on(&desk, &admin, close).await.is_empty(), "resolved for 2 days only");

        // 3 days after it was resolved, C closes, with the note, in one run.
        let until_close = (start + SignedDuration::from_hours(72)).duration_since(clock.now());
        desk = desk.down_for(&clock, until_close).await;
        assert_eq!(ran_on_at_least(&desk, &admin, close, 1).await, vec![c]);
        let closed = desk.ticket(&admin, c).await;
        assert_eq!(closed["status"], json!("closed"));
        let events = desk.events(&admin, c, 0).await;
        let kinds: Vec<&str> = events.iter().map(|event| event["type"].as_str().unwrap_or("")).collect();
        assert!(kinds.ends_with(&["status_changed", "message_added", "automation_ran"]), "{kinds:?}");

        // Exactly once: another start, and more time, run nothing again.
        desk = desk.down_for(&clock, SignedDuration::from_hours(1)).await;
        assert_eq!(ran_on(&desk, &admin, unassigned).await, vec![a]);
        assert_eq!(ran_on(&desk, &admin, critical).await, vec![b]);
        assert_eq!(ran_on(&desk, &admin, close).await, vec![c]);
        assert_eq!(ran_on(&desk, &admin, no_reply).await.len(), 3);

        // The customer never sees a run; staff do.
        let customer = desk.login("cust@test.example").await;
        let theirs = desk.events(&customer, c, 0).await;
        assert!(theirs.iter().all(|event| event["type"] != "automation_ran"), "{theirs:?}");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_rules_wait_restarts_when_the_ticket_stops_matching_and_a_missed_one_fires_late() {
    for backend in backends() {
        let clock = manual_clock();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, _) = desk.staff().await;
        let [unassigned, ..] = seed_rules();
        let rule = create_rule(&desk, &admin, unassigned).await;
        let ticket = id_of(&desk.ticket_for_customer(&admin, "Bounce").await);
        let assign = format!("/api/v1/tickets/{ticket}/assign");

        // An hour unassigned, then assigned and unassigned again: the two hours start over.
        clock.advance(SignedDuration::from_hours(1));
        desk.expect(200, "POST", &assign, &admin, Some(json!({"assignee_id": desk.seeded.agent.id}))).await;
        desk.expect(200, "POST", &assign, &admin, Some(json!({"assignee_id": null}))).await;
        desk = desk.down_for(&clock, SignedDuration::from_mins(90)).await;
        assert!(ran_on(&desk, &admin, rule).await.is_empty(), "2 h 30 since created, 1 h 30 since unassigned");

        // Due while the hub is down: fires once as it starts, marked late by how much.
        desk = desk.down_for(&clock, SignedDuration::from_mins(45)).await;
        let done = runs_at_least(&desk, &admin, rule, 1).await;
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0]["detail"]["late_by_ms"], json!(15 * 60 * 1000));
        desk = desk.down_for(&clock, SignedDuration::ZERO).await;
        assert_eq!(runs(&desk, &admin, rule).await.len(), 1, "not again on the next start");

        // Stopping to match and matching again is a new period: it runs once more, 2 h later.
        desk.expect(200, "POST", &assign, &admin, Some(json!({"assignee_id": desk.seeded.agent.id}))).await;
        desk.expect(200, "POST", &assign, &admin, Some(json!({"assignee_id": null}))).await;
        desk = desk.down_for(&clock, SignedDuration::from_hours(2)).await;
        assert_eq!(ran_on_at_least(&desk, &admin, rule, 2).await, vec![ticket, ticket]);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascades_stop_at_depth_three_and_run_each_rule_once() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    // Listed in reverse, so each link runs only once the one before it added its tag.
    let link = |name: &str, have: &str, add: &str| json!({"name": name, "when": {"event": "tag_added"}, "if": format!("tag: {have}"), "then": [{"add_tags": [add]}]});
    let fourth = create_rule(&desk, &admin, link("d → e", "d", "e")).await;
    let third = create_rule(&desk, &admin, link("c → d", "c", "d")).await;
    let second = create_rule(&desk, &admin, link("b → c", "b", "c")).await;
    let first = create_rule(&desk, &admin, link("a → b", "a", "b")).await;
    // Triggered by every tag it adds itself: still once per cascade.
    let echo = create_rule(
        &desk,
        &admin,
        json!({"name": "echo", "when": {"event": "tag_added"}, "then": [{"note": "A tag was added"}]}),
    )
    .await;
    let ticket = id_of(&desk.ticket_for_customer(&admin, "Chain").await);
    desk.patch(&admin, ticket, json!({"add_tags": ["a"]})).await;

    let tags = desk.ticket(&admin, ticket).await["tags"].clone();
    assert_eq!(tags, json!(["a", "b", "c", "d"]), "depth 1 adds b, 2 adds c, 3 adds d; depth 4 never runs");
    assert!(ran_on(&desk, &admin, fourth).await.is_empty());
    for rule in [first, second, third, echo] {
        assert_eq!(ran_on(&desk, &admin, rule).await, vec![ticket], "rule {rule} runs once");
    }
    let depths: Vec<(String, i64)> = desk
        .events(&admin, ticket, 0)
        .await
        .iter()
        .filter(|event| event["type"] == "automation_ran")
        .map(|event| (event["name"].as_str().unwrap_or("").to_owned(), event["depth"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(
        depths,
        vec![("a → b".to_owned(), 1), ("echo".to_owned(), 1), ("b → c".to_owned(), 2), ("c → d".to_owned(), 3)]
    );
    desk.stop().await;
}

/// A one-connection-at-a-time HTTP server on loopback that answers the first `fail` requests
/// 500 and the rest 200, and hands each request's headers and body to the test.
async fn webhook_receiver(fail: usize) -> (String, tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut served = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let read = socket.read(&mut chunk).await.unwrap_or(0);
                if read == 0 {
                    break (String::new(), Vec::new());
                }
                buffer.extend_from_slice(&chunk[..read]);
                let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                while buffer.len() < end + 4 + length {
                    let read = socket.read(&mut chunk).await.unwrap_or(0);
                    if read == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                }
                break (head, buffer[end + 4..].to_vec());
            };
            served += 1;
            let status = if served <= fail { "500 Internal Server Error" } else { "200 OK" };
            let _ = socket
                .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
                .await;
            let _ = sender.send((head, body));
        }
    });
    (url, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_signed_and_retried() {
    use hmac::{Hmac, KeyInit, Mac};
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let (url, mut received) = webhook_receiver(1).await;
    let secret = "a-secret-of-sixteen-or-more";
    let created = desk
        .expect(
            201,
            "POST",
            "/api/v1/automations",
            &admin,
            Some(json!({"name": "Tell the CRM", "when": {"event": "ticket_created"},
                        "then": [{"webhook": {"url": url, "secret": secret, "allow_private": true}}]})),
        )
        .await;
    let rule = id_of(&created);
    secrets_stay_write_only(&desk, &admin, rule, &url, secret, &created).await;
    let ticket = id_of(&desk.ticket_for_customer(&admin, "Hook me").await);
    let first =
        tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("first attempt").expect("request");
    let second =
        tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("the retry").expect("request");
    assert_eq!(first.1, second.1, "the retry sends the same body");
    let (head, body) = second;
    let payload: Value = serde_json::from_slice(&body).expect("JSON body");
    assert_eq!((&payload["ticket"]["id"], &payload["rule"]["name"]), (&json!(ticket), &json!("Tell the CRM now")));
    // Signed as outbound webhooks are: `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
    let header = head.lines().find_map(|line| line.strip_prefix("switchboard-signature:")).expect("signed");
    let (t, v1) = header.trim().split_once(",v1=").expect("t=…,v1=…");
    let t = t.strip_prefix("t=").expect("t=");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(&body);
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()), "signed: {head}");
    desk.stop().await;
}

/// A rule's webhook secret is write-only: no answer shows it (create, list — supervisors read
/// rules —, update), the audit log redacts it, and the rule as read back saves again without it
/// (its webhook keeps the secret); a webhook to a new URL written without one is refused.
async fn secrets_stay_write_only(desk: &Desk, admin: &str, rule: i64, url: &str, secret: &str, created: &Value) {
    let supervisor = desk.login("sup@test.example").await;
    let listed = desk.expect(200, "GET", "/api/v1/automations", &supervisor, None).await;
    let shown = &listed["items"][0];
    assert_eq!(shown["then"], json!([{"webhook": {"url": url, "secret_set": true, "allow_private": true}}]));
    // Saved again as read (the console's editor does this), renamed: the secret is kept.
    let patch = json!({"name": "Tell the CRM now", "then": shown["then"]});
    let updated = desk.expect(200, "PATCH", &format!("/api/v1/automations/{rule}"), admin, Some(patch)).await;
    let moved = json!({"then": [{"webhook": {"url": "https://crm.example/hook"}}]});
    let (status, body) = desk.call("PATCH", &format!("/api/v1/automations/{rule}"), admin, Some(moved)).await;
    assert_eq!((status, &body["field"]), (422, &json!("then[0].webhook.secret")), "{body}");
    let audit = desk.expect(200, "GET", "/api/v1/audit?action=automation_rule.&limit=200", admin, None).await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(2), "created and updated: {audit}");
    for answer in [created, &listed, &updated, &audit] {
        assert!(!answer.to_string().contains(secret), "the secret is never shown: {answer}");
    }
}

/// A rule's webhook follows the outbound webhooks' address rule: a loopback or private URL is
/// refused when the rule is saved (422 `private_address`, nothing saved) unless the rule sets
/// `allow_private`; at delivery, the same public-only client refuses a name that resolves to
/// such an address by then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_webhook_to_a_private_address_is_refused_unless_allowed() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]/hook", "http://10.1.2.3/hook"] {
        let rule = json!({"name": "Leak", "when": {"event": "ticket_created"},
                          "then": [{"webhook": {"url": url, "secret": "0123456789abcdef"}}]});
        let (status, body) = desk.call("POST", "/api/v1/automations", &admin, Some(rule)).await;
        assert_eq!((status, &body["error"]), (422, &json!("private_address")), "{url}: {body}");
        assert!(body["message"].as_str().is_some_and(|message| message.contains("then[0].webhook.url")), "{body}");
    }
    let listed = desk.expect(200, "GET", "/api/v1/automations", &admin, None).await;
    assert_eq!(listed["items"], json!([]), "nothing was saved");
    // An existing rule cannot be edited to point inward either.
    let rule = json!({"name": "Out", "when": {"event": "ticket_created"}, "then": [{"note": "n"}]});
    let id = create_rule(&desk, &admin, rule).await;
    let patch = json!({"then": [{"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}}]});
    let (status, body) = desk.call("PATCH", &format!("/api/v1/automations/{id}"), &admin, Some(patch)).await;
    assert_eq!((status, &body["error"]), (422, &json!("private_address")), "{body}");
    let allowed = json!({"name": "Local", "when": {"event": "ticket_created"},
                         "then": [{"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef",
                                               "allow_private": true}}]});
    create_rule(&desk, &admin, allowed).await;
    desk.stop().await;
}

/// At delivery the same public-only client decides again: a rule whose URL reaches a loopback
/// address by then (written before the check existed, or a name that changed its answer) is
/// never connected to, while the same rule allowed private addresses is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_webhook_that_resolves_to_a_private_address_at_delivery_is_not_sent() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let (url, mut received) = webhook_receiver(0).await;
    let url = url.replace("127.0.0.1", "localhost");
    let store = desk._db.open().await;
    let rule = |allow_private: bool| switchboard_actors::automation::NewRule {
        account_id: desk.seeded.account.id,
        name: format!("Inward, allowed: {allow_private}"),
        enabled: true,
        position: None,
        spec: serde_json::from_value(json!({"when": {"event": "ticket_created"},
            "then": [{"webhook": {"url": url, "secret": "0123456789abcdef", "allow_private": allow_private}}]}))
        .expect("a rule"),
        created_by: desk.seeded.admin.id,
    };
    // Written past the save-time check, as an old rule would be.
    let refused = store.create_rule(rule(false), jiff::Timestamp::now()).await.expect("rule");
    desk.ticket_for_customer(&admin, "Inward").await;
    // The first attempt and the first retry (1 s later) found no connection.
    let nothing = tokio::time::timeout(Duration::from_millis(2500), received.recv()).await;
    assert!(nothing.is_err(), "a private address was connected to: {nothing:?}");
    // The control: allowed, the same URL is reached.
    store.delete_rule(desk.seeded.account.id, refused.id).await.expect("delete");
    store.create_rule(rule(true), jiff::Timestamp::now()).await.expect("rule");
    tokio::time::sleep(Duration::from_secs(6)).await; // the rules cache (5 s)
    desk.ticket_for_customer(&admin, "Allowed").await;
    let delivered = tokio::time::timeout(Duration::from_secs(10), received.recv()).await;
    assert!(delivered.expect("delivered when allowed").is_some());
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_rules_supervisors_read_them_and_others_are_refused() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let rule = json!({"name": "Tag VIPs", "when": {"event": "ticket_created"}, "if": "priority: urgent",
                      "then": [{"add_tags": ["vip"]}]});
    let id = create_rule(&desk, &admin, rule.clone()).await;

    // Agents: 403 on every endpoint, with the usual error body.
    for (method, path) in [
        ("GET", "/api/v1/automations".to_owned()),
        ("POST", "/api/v1/automations".to_owned()),
        ("PATCH", format!("/api/v1/automations/{id}")),
        ("DELETE", format!("/api/v1/automations/{id}")),
        ("POST", format!("/api/v1/automations/{id}/dry-run")),
        ("GET", format!("/api/v1/automations/{id}/runs")),
    ] {
        let (status, body) = desk.call(method, &path, &agent, Some(rule.clone())).await;
        assert_eq!((status, &body["error"]), (403, &json!("forbidden")), "{method} {path}: {body}");
    }
    // Supervisors read, dry-run and see runs; they do not change rules.
    let listed = desk.expect(200, "GET", "/api/v1/automations", &supervisor, None).await;
    assert_eq!(listed["items"][0]["name"], json!("Tag VIPs"));
    assert_eq!(listed["items"][0]["runs_last_day"], json!(0));
    desk.expect(200, "POST", &format!("/api/v1/automations/{id}/dry-run"), &supervisor, None).await;
    desk.expect(200, "GET", &format!("/api/v1/automations/{id}/runs"), &supervisor, None).await;
    desk.expect(403, "PATCH", &format!("/api/v1/automations/{id}"), &supervisor, Some(json!({"enabled": false}))).await;
    desk.expect(403, "POST", "/api/v1/automations", &supervisor, Some(rule.clone())).await;

    // Another account's admin: the rule is not there for them.
    let store = desk._db.open().await;
    other_account(&*store, "boss@other.example", "Boss", switchboard_actors::domain::Role::Admin).await;
    let other = desk.login("boss@other.example").await;
    for (method, path) in [
        ("PATCH", format!("/api/v1/automations/{id}")),
        ("DELETE", format!("/api/v1/automations/{id}")),
        ("POST", format!("/api/v1/automations/{id}/dry-run")),
        ("GET", format!("/api/v1/automations/{id}/runs")),
    ] {
        let (status, body) = desk.call(method, &path, &other, Some(json!({"enabled": false}))).await;
        assert_eq!((status, &body["error"]), (404, &json!("not_found")), "{method} {path}: {body}");
    }
    let theirs = desk.expect(200, "GET", "/api/v1/automations", &other, None).await;
    assert_eq!(theirs["items"], json!([]));

    // Bad rules change nothing: a query error points at its position, a bad action names itself.
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/automations",
            &admin,
            Some(json!({"name": "x", "when": {"for": "PT2H", "while": "urgency: extreme"}, "then": [{"note": "n"}]})),
        )
        .await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_query")), "{body}");
    assert!(body["position"].is_number(), "{body}");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/automations",
            &admin,
            Some(json!({"name": "x", "when": {"event": "ticket_created"}, "then": [{"explode": true}]})),
        )
        .await;
    assert_eq!((status, &body["error"]), (422, &json!("validation_failed")), "{body}");
    let (status, body) = desk
        .call("POST", "/api/v1/automations", &admin, Some(json!({"name": "x", "when": {"event": "ticket_created"}, "then": [{"webhook": {"url": "ftp://example.com", "secret": "0123456789abcdef"}}]})))
        .await;
    assert_eq!((status, &body["error"]), (422, &json!("validation_failed")), "{body}");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/automations",
            &admin,
            Some(json!({"name": "x", "when": {"for": "P1M", "while": "status: open"}, "then": [{"note": "n"}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/automations",
            &admin,
            Some(json!({"name": "x", "when": {"event": "ticket_created"}, "if": "refund", "then": [{"note": "n"}]})),
        )
        .await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_query")), "full text is refused: {body}");
    assert_eq!(
        desk.expect(200, "GET", "/api/v1/automations", &admin, None).await["items"].as_array().map(Vec::len),
        Some(1)
    );

    // Disabled, it does not run; enabled again, it does.
    desk.expect(200, "PATCH", &format!("/api/v1/automations/{id}"), &admin, Some(json!({"enabled": false}))).await;
    let urgent = json!({"subject": "Now", "requester_id": desk.seeded.customer.id, "urgency": "critical", "importance": "critical"});
    let quiet = id_of(&desk.create_ticket(&admin, urgent.clone()).await);
    assert_eq!(desk.ticket(&admin, quiet).await["tags"], json!([]));
    desk.expect(200, "PATCH", &format!("/api/v1/automations/{id}"), &admin, Some(json!({"enabled": true}))).await;
    let tagged = id_of(&desk.create_ticket(&admin, urgent).await);
    assert_eq!(desk.ticket(&admin, tagged).await["tags"], json!(["vip"]));
    let preview = desk.expect(200, "POST", &format!("/api/v1/automations/{id}/dry-run"), &admin, None).await;
    assert_eq!(preview["total"], json!(2), "both urgent tickets match its `if` now: {preview}");
    desk.expect(204, "DELETE", &format!("/api/v1/automations/{id}"), &admin, None).await;
    desk.expect(404, "GET", &format!("/api/v1/automations/{id}/runs"), &admin, None).await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_reply_outside_the_window_uses_the_template_or_fails_visibly() {
    let clock = manual_clock();
    let desk = Desk::start_with_clock(clock.clone()).await;
    let (admin, _) = desk.staff().await;
    desk.expect(200, "POST", "/api/v1/whatsapp/templates/sync", &admin, None).await;
    let reply = |tag: &str, template: Option<Value>| {
        let mut action = json!({"reply": {"body": "We are on it"}});
        if let Some(template) = template {
            action["template"] = template;
        }
        json!({"name": format!("Reply on {tag}"), "when": {"event": "tag_added"}, "if": format!("tag: {tag}"), "then": [action]})
    };
    let with_template =
        create_rule(&desk, &admin, reply("ack", Some(json!({"name": "hello_world", "language": "en_US"})))).await;
    let without = create_rule(&desk, &admin, reply("plain", None)).await;

    desk.expect(
        200,
        "POST",
        "/sandbox/api/send",
        &admin,
        Some(json!({"wa_id": "5511988887777", "name": "Wanda", "text": "Hi there"})),
    )
    .await;
    eventually("the WhatsApp ticket", || async { !desk.list(&admin, "channel=whatsapp").await.0.is_empty() }).await;
    let ticket = desk.list(&admin, "channel=whatsapp").await.0[0];
    // Inside the window the text goes as written.
    desk.patch(&admin, ticket, json!({"add_tags": ["plain"]})).await;
    let inside = runs(&desk, &admin, without).await;
    assert_eq!(inside[0]["result"], json!("ok"), "{inside:?}");

    // A day and more later the window is closed: the template goes, or the run fails and says so.
    clock.advance(SignedDuration::from_hours(25));
    desk.patch(&admin, ticket, json!({"remove_tags": ["plain"]})).await;
    desk.patch(&admin, ticket, json!({"add_tags": ["ack", "plain"]})).await;
    let templated = runs(&desk, &admin, with_template).await;
    assert_eq!(templated.len(), 1);
    assert_eq!(templated[0]["result"], json!("ok"), "{templated:?}");
    let failed = runs(&desk, &admin, without).await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[1]["result"], json!("failed"));
    let reason = failed[1]["detail"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(reason.starts_with("reply:") && reason.contains("template"), "{reason}");

    let thread = desk.ticket(&admin, ticket).await;
    let replies: Vec<&Value> =
        thread["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "reply").collect();
    assert_eq!(replies.len(), 2, "the text inside the window, the template outside; nothing from the failed run");
    assert_eq!(replies[0]["body"], json!("We are on it"));
    assert_eq!(replies[1]["payload"]["template"]["name"], json!("hello_world"));
    // The failure shows on the ticket too, to staff.
    let events = desk.events(&admin, ticket, 0).await;
    assert!(events.iter().any(|event| event["type"] == "automation_ran" && event["result"] == "failed"), "{events:?}");
    desk.stop().await;
}
