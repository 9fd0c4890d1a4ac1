//! Live pushes on one node, tested like a client: real server, real WebSockets.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

struct Live {
    _db: TestDb,
    server: TestServer,
    seeded: Seeded,
}

async fn live(configure: impl FnOnce(&mut switchboard::config::Settings)) -> Live {
    let db = TestDb::sqlite();
    let seeded = seed(&*db.open().await).await;
    let mut settings = db.settings();
    configure(&mut settings);
    let server = TestServer::start(settings).await;
    Live { _db: db, server, seeded }
}

impl Live {
    async fn ticket(&self, token: &str, subject: &str) -> i64 {
        let body = json!({"subject": subject, "body": "hello", "requester_id": self.seeded.customer.id});
        let (status, ticket) = self.server.call("POST", "/api/v1/tickets", Some(token), Some(body)).await;
        assert_eq!(status, 201, "{ticket}");
        ticket["id"].as_i64().expect("id")
    }

    async fn note(&self, token: &str, ticket: i64, body: &str) -> Value {
        let (status, outcome) = self
            .server
            .call(
                "POST",
                &format!("/api/v1/tickets/{ticket}/messages"),
                Some(token),
                Some(json!({"body": body, "internal": true})),
            )
            .await;
        assert_eq!(status, 201, "{outcome}");
        outcome
    }

    async fn ws(&self, token: &str) -> WsClient {
        WsClient::connect(&self.server.base, token).await
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().filter_map(|event| event["seq"].as_i64()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_subscriber_sees_a_new_ticket_within_a_second() {
    let live = live(|_| {}).await;
    let agent = live.server.login("agent@test.example").await;
    let mut ws = live.ws(&agent).await;
    let ack = ws.subscribe("queue", None).await;
    assert!(ack["cursor"].is_i64(), "{ack}");

    let started = Instant::now();
    let id = live.ticket(&agent, "Live one").await;
    let frame = ws.expect("event", Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        (frame["topic"].as_str(), frame["row"]["id"].as_i64(), frame["seq"].as_i64()),
        (Some("queue"), Some(id), Some(1))
    );
    assert_eq!(frame["event"]["type"], "created");
    assert_eq!(frame["row"]["subject"], "Live one", "queue frames carry the ticket's row");
    assert!(frame.get("ticket").is_none() && frame["event"].get("subject").is_none(), "not the whole ticket: {frame}");
    // Lean (issue 16): no `ticket_id` beside the row's `id`, no `sent_at`; the cursor is the
    // change's instant, which is the row's `updated_at` (and a `created` event's `created_at`).
    assert!(frame.get("ticket_id").is_none() && frame.get("sent_at").is_none(), "{frame}");
    let (_, ticket) = live.server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&agent), None).await;
    let created_ms = ticket["created_at"].as_str().expect("created_at").parse::<jiff::Timestamp>().expect("instant");
    assert_eq!(frame["cursor"].as_i64(), Some(created_ms.as_millisecond()), "{frame}");
    let second = ws.expect("event", Duration::from_secs(1)).await;
    assert_eq!((second["seq"].as_i64(), second["event"]["type"].as_str()), (Some(2), Some("message_added")));
    // The message's text travels once, as the row's preview; the message is on `ticket:<id>`.
    assert_eq!(second["event"]["message"], json!({"kind": "customer"}), "{second}");
    assert!(second["row"]["preview"].is_string(), "{second}");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_the_last_seq_replays_exactly_what_was_missed() {
    let live = live(|_| {}).await;
    let agent = live.server.login("agent@test.example").await;
    let id = live.ticket(&agent, "Resume me").await;
    let topic = format!("ticket:{id}");

    let mut ws = live.ws(&agent).await;
    let ack = ws.subscribe(&topic, None).await;
    assert_eq!(ack["seq"], 2, "without `after` a subscription starts at the head");
    live.note(&agent, id, "seen live").await;
    let seen = ws.events(1, WAIT).await;
    assert_eq!(seqs(&seen), vec![3]);
    let last_seq = 3;
    ws.close().await;

    for n in 0..5 {
        live.note(&agent, id, &format!("while away {n}")).await;
    }
    let mut ws = live.ws(&agent).await;
    ws.subscribe(&topic, Some(last_seq)).await;
    let replayed = ws.events(5, WAIT).await;
    assert_eq!(seqs(&replayed), vec![4, 5, 6, 7, 8], "exactly the five missed, in order");
    assert_eq!(replayed[4]["event"]["message"]["body"], "while away 4");
    // The seam: the next change arrives live, once.
    live.note(&agent, id, "live again").await;
    let after = ws.events(2, Duration::from_millis(800)).await;
    assert_eq!(seqs(&after), vec![9], "no duplicate and no gap after the replay");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_racing_a_replay_are_delivered_once_and_in_order() {
    let live = live(|_| {}).await;
    let agent = live.server.login("agent@test.example").await;
    let id = live.ticket(&agent, "Busy ticket").await;
    for n in 0..30 {
        live.note(&agent, id, &format!("before {n}")).await;
    }
    let mut ws = live.ws(&agent).await;
    let writer = {
        let (http, base, token) = (live.server.http.clone(), live.server.base.clone(), agent.clone());
        tokio::spawn(async move {
            for n in 0..30 {
                let path = format!("/api/v1/tickets/{id}/messages");
                let (status, _) = call(
                    &http,
                    &base,
                    "POST",
                    &path,
                    Some(&token),
                    Some(json!({"body": format!("during {n}"), "internal": true})),
                )
                .await;
                assert_eq!(status, 201);
            }
        })
    };
    ws.subscribe(&format!("ticket:{id}"), Some(0)).await;
    writer.await.expect("writer");
    let events = ws.events(62, WAIT).await;
    assert_eq!(seqs(&events), (1..=62).collect::<Vec<_>>());
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cannot_follow_someone_elses_ticket() {
    let live = live(|_| {}).await;
    let agent = live.server.login("agent@test.example").await;
    let theirs = live.ticket(&agent, "Not yours").await;
    let other = live.server.login("other@test.example").await;
    let mut ws = live.ws(&other).await;
    ws.send(json!({"type": "subscribe", "topic": format!("ticket:{theirs}")})).await;
    let refused = ws.next(WAIT).await.expect("a frame");
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("forbidden_topic")),
        "{refused}"
    );
    live.note(&agent, theirs, "private business").await;
    assert!(ws.next(Duration::from_millis(500)).await.is_none(), "nothing else arrives");
    ws.send(json!({"type": "subscribe", "topic": "presence"})).await;
    assert_eq!(ws.next(WAIT).await.expect("frame")["code"], "forbidden_topic", "the board is for supervisors");

    // Their own ticket works, and internal notes arrive as `private` with the seq kept.
    let customer = live.server.login("cust@test.example").await;
    let mut own = live.ws(&customer).await;
    own.subscribe(&format!("ticket:{theirs}"), Some(0)).await;
    let events = own.events(3, WAIT).await;
    assert_eq!(seqs(&events), vec![1, 2, 3]);
    assert_eq!(events[2]["event"]["type"], "private");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presence_board_shows_online_away_and_offline() {
    let live = live(|settings| {
        settings.presence.idle_ms = 1_500;
        settings.presence.offline_grace_ms = 300;
    })
    .await;
    let supervisor = live.server.login("sup@test.example").await;
    let agent = live.server.login("agent@test.example").await;
    let mut board = live.ws(&supervisor).await;
    board.subscribe("presence", None).await;
    let full = board.expect("presence", WAIT).await;
    assert!(full["board"].is_array(), "a new subscriber gets the full board first: {full}");

    let agent_id = live.seeded.agent.id;
    let status_of_agent = async |board: &mut WsClient, wanted: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let frame = board.expect("presence", deadline.saturating_duration_since(Instant::now())).await;
            if frame["agent"]["user_id"] == agent_id && frame["agent"]["status"] == wanted {
                return frame;
            }
        }
    };
    let mut ws = live.ws(&agent).await;
    let online = status_of_agent(&mut board, "online").await;
    assert_eq!(online["agent"]["sockets"], 1);
    assert_eq!(online["agent"]["capacity"], 5);
    let went_away = Instant::now();
    status_of_agent(&mut board, "away").await;
    assert!(went_away.elapsed() >= Duration::from_millis(1_000), "away only after the idle time");

    ws.send(json!({"type": "presence", "status": "busy"})).await;
    status_of_agent(&mut board, "busy").await;
    ws.send(json!({"type": "presence", "status": null})).await;
    status_of_agent(&mut board, "online").await;
    ws.close().await;
    status_of_agent(&mut board, "offline").await;
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_each_agents_presence_and_load_for_assigning() {
    let live = live(|_| {}).await;
    let agent = live.server.login("agent@test.example").await;
    let supervisor = live.server.login("sup@test.example").await;
    let customer = live.server.login("cust@test.example").await;
    let agent_id = live.seeded.agent.id;
    let supervisor_id = live.seeded.supervisor.id;
    let availability = async |token: &str| {
        let (status, page) = live.server.call("GET", "/api/v1/agents/availability", Some(token), None).await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().expect("items").clone()
    };
    let row = |rows: &[Value], id: i64| {
        rows.iter().find(|row| row["user_id"] == id).cloned().expect("a row per staff member")
    };

    // Nobody connected: every staff member offline, none holding anything; customers not listed.
    let rows = availability(&supervisor).await;
    assert!(rows.iter().all(|row| row["status"] == "offline"), "{rows:?}");
    assert!(rows.iter().all(|row| row["user_id"] != live.seeded.customer.id), "customers are not assignees");
    assert_eq!((row(&rows, agent_id)["load"].clone(), row(&rows, agent_id)["capacity"].clone()), (json!(0), json!(5)));

    // The supervisor connects; an agent gives them a ticket and sees them online, holding it.
    let _socket = live.ws(&supervisor).await;
    let id = live.ticket(&agent, "Who has time?").await;
    let (status, body) = live
        .server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/assign"),
            Some(&agent),
            Some(json!({"assignee_id": supervisor_id})),
        )
        .await;
    assert_eq!(status, 200, "an agent may assign to another agent: {body}");
    let deadline = Instant::now() + WAIT;
    let rows = loop {
        let rows = availability(&agent).await;
        if row(&rows, supervisor_id)["status"] == "online" || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let held = row(&rows, supervisor_id);
    assert_eq!(
        (&held["status"], &held["load"], &held["name"]),
        (&json!("online"), &json!(1), &json!(live.seeded.supervisor.name))
    );
    assert_eq!(row(&rows, agent_id)["status"], "offline");

    // Customers may not read it; unknown parameters are refused.
    let (status, body) = live.server.call("GET", "/api/v1/agents/availability", Some(&customer), None).await;
    assert_eq!((status, &body["error"]), (403, &json!("forbidden")), "{body}");
    let (status, body) = live.server.call("GET", "/api/v1/agents/availability?team=1", Some(&agent), None).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_query")), "{body}");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_typing_and_stale_view_protect_replies() {
    let live = live(|_| {}).await;
    let agent = live.server.login("agent@test.example").await;
    let supervisor = live.server.login("sup@test.example").await;
    let customer = live.server.login("cust@test.example").await;
    let id = live.ticket(&agent, "Collision course").await;
    let topic = format!("ticket:{id}");

    let mut watcher = live.ws(&supervisor).await;
    watcher.subscribe(&topic, None).await;
    let mut typist = live.ws(&agent).await;
    typist.send(json!({"type": "viewing", "ticket_id": id})).await;
    let viewers = loop {
        let frame = watcher.expect("viewers", WAIT).await;
        if frame["viewers"].as_array().is_some_and(|viewers| !viewers.is_empty()) {
            break frame;
        }
    };
    assert_eq!(viewers["viewers"][0]["user_id"], live.seeded.agent.id);
    typist.send(json!({"type": "typing", "ticket_id": id, "on": true})).await;
    let typing = watcher.expect("viewers", WAIT).await;
    assert_eq!(typing["viewers"][0]["typing"], true, "{typing}");

    // The agent saw seq 2; then the customer writes again (seq 3).
    let (status, _) = live
        .server
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            Some(&customer),
            Some(json!({"body": "one more thing"})),
        )
        .await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/tickets/{id}/messages");
    let (status, refused) =
        live.server.call("POST", &path, Some(&agent), Some(json!({"body": "Done!", "seen_seq": 2}))).await;
    assert_eq!((status, refused["error"].as_str()), (409, Some("stale_view")), "{refused}");
    let (_, ticket) = live.server.call("GET", &format!("/api/v1/tickets/{id}"), Some(&agent), None).await;
    assert_eq!(ticket["seq"], 3, "the refused reply wrote nothing");
    let (status, _) = live
        .server
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            Some(&agent),
            Some(json!({"status": "resolved", "seen_seq": 2})),
        )
        .await;
    assert_eq!(status, 409, "status changes are protected too");
    let (status, _) = live
        .server
        .call("POST", &path, Some(&agent), Some(json!({"body": "note", "internal": true, "seen_seq": 2})))
        .await;
    assert_eq!(status, 201, "internal notes are not");
    let (status, _) =
        live.server.call("POST", &path, Some(&agent), Some(json!({"body": "Seen it", "seen_seq": 3}))).await;
    assert_eq!(status, 201);
    let (status, _) = live.server.call("POST", &path, Some(&customer), Some(json!({"body": "and another"}))).await;
    assert_eq!(status, 201);
    let (status, _) = live
        .server
        .call("POST", &path, Some(&agent), Some(json!({"body": "Sending anyway", "seen_seq": 3, "force": true})))
        .await;
    assert_eq!(status, 201, "force overrides");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_the_socket_stays_usable() {
    let live = live(|settings| settings.ws.max_frames_per_sec = 5).await;
    let agent = live.server.login("agent@test.example").await;
    let mut ws = live.ws(&agent).await;
    ws.send_text("{not json".to_owned()).await;
    let error = ws.next(WAIT).await.expect("frame");
    assert_eq!((error["type"].as_str(), error["code"].as_str()), (Some("error"), Some("invalid_frame")), "{error}");
    ws.send(json!({"type": "subscribe", "topic": "everything"})).await;
    assert_eq!(ws.next(WAIT).await.expect("frame")["code"], "unknown_topic");
    ws.send(json!({"type": "unsubscribe", "topic": "queue"})).await;
    assert_eq!(ws.next(WAIT).await.expect("frame")["code"], "not_subscribed");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next(WAIT).await.expect("frame")["type"], "pong", "still usable");

    // A flood is refused, not served.
    for _ in 0..60 {
        ws.send(json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    let mut limited = false;
    while let Some(frame) = ws.next(Duration::from_millis(500)).await {
        match frame["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") if frame["code"] == "rate_limited" => limited = true,
            _ => {}
        }
    }
    assert!(limited && pongs < 60, "flood answered {pongs} times, limited: {limited}");

    // Without a token there is no socket at all.
    let refused =
        tokio_tungstenite::connect_async(format!("{}/api/v1/ws", live.server.base.replacen("http", "ws", 1))).await;
    assert!(refused.is_err(), "unauthenticated upgrades are refused");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_close_the_socket() {
    let live = live(|settings| settings.ws.max_frame_bytes = 1024).await;
    let agent = live.server.login("agent@test.example").await;
    let mut ws = live.ws(&agent).await;
    ws.send_text(format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(4096))).await;
    let (_, closed) = ws.drain_until_closed(WAIT).await;
    assert!(closed, "a frame over the limit closes the socket");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_without_delaying_others() {
    let live = live(|settings| settings.ws.outbox_frames = 8).await;
    let agent = live.server.login("agent@test.example").await;
    let supervisor = live.server.login("sup@test.example").await;
    let id = live.ticket(&agent, "Firehose").await;
    // The ticket's own topic carries each note whole (a queue frame carries only its row).
    let topic = format!("ticket:{id}");
    let mut slow = live.ws(&supervisor).await;
    slow.subscribe(&topic, None).await;
    let mut fast = live.ws(&agent).await;
    fast.subscribe(&topic, None).await;

    // Large frames fill the slow client's socket buffers, then its outbox.
    let body = "x".repeat(60_000);
    const MESSAGES: usize = 250;
    let mut slowest = Duration::ZERO;
    for n in 0..MESSAGES {
        let started = Instant::now();
        live.note(&agent, id, &format!("{n} {body}")).await;
        let frame = fast.expect("event", WAIT).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(frame["seq"].as_i64(), Some(3 + n as i64));
    }
    assert!(slowest < Duration::from_secs(2), "the fast client was never held up (slowest push {slowest:?})");
    let (read, closed) = slow.drain_until_closed(Duration::from_secs(10)).await;
    assert!(closed, "the slow client was disconnected");
    assert!(read < MESSAGES, "it did not get everything queued for it ({read} frames)");
    live.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_after_the_heartbeat_timeout() {
    let live = live(|settings| {
        settings.ws.ping_interval_secs = 1;
        settings.ws.client_timeout_secs = 2;
    })
    .await;
    let agent = live.server.login("agent@test.example").await;
    let mut silent = live.ws(&agent).await;
    let mut chatty = live.ws(&agent).await;
    // The silent client neither reads (so it never answers pings) nor writes for 4 seconds.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        chatty.send(json!({"type": "ping"})).await;
        assert_eq!(chatty.expect("pong", WAIT).await["type"], "pong");
    }
    let (_, closed) = silent.drain_until_closed(WAIT).await;
    assert!(closed, "the silent client was closed");
    chatty.send(json!({"type": "ping"})).await;
    assert_eq!(chatty.expect("pong", WAIT).await["type"], "pong", "an active client stays");
    live.server.stop().await;
}

/// Every queue frame an agent's socket got until the ticket `last` was created: `(ticket, event type)`.
async fn queue_frames_until(ws: &mut WsClient, last: i64) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    loop {
        let frame = ws.next(WAIT).await.unwrap_or_else(|| panic!("the frames stopped before ticket {last}: {seen:?}"));
        if frame["type"] != "event" {
            continue;
        }
        let entry =
            (frame["row"]["id"].as_i64().expect("ticket"), frame["event"]["type"].as_str().unwrap_or("").to_owned());
        let done = entry == (last, "created".to_owned());
        seen.push(entry);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_queue_carries_only_their_tickets_their_teams_and_the_shared_inbox() {
    let live = live(|_| {}).await;
    let admin = live.server.login("admin@test.example").await;
    let agent = live.server.login("agent@test.example").await;
    let team = |name: &str, member: i64| {
        let body = json!({"name": name, "member_ids": [member]});
        let server = &live.server;
        let admin = admin.clone();
        async move {
            let (status, team) = server.call("POST", "/api/v1/teams", Some(&admin), Some(body)).await;
            assert_eq!(status, 201, "{team}");
            team["id"].as_i64().expect("id")
        }
    };
    let billing = team("Billing", live.seeded.agent.id).await;
    let sales = team("Sales", live.seeded.supervisor.id).await;
    // Sockets take the user's teams when they open.
    let mut mine = live.ws(&agent).await;
    mine.subscribe("queue", None).await;
    let mut everything = live.ws(&admin).await;
    everything.subscribe("queue:all", None).await;
    let mut refused = live.ws(&agent).await;
    refused.send(json!({"type": "subscribe", "topic": "queue:all"})).await;
    let error = refused.expect("error", WAIT).await;
    assert_eq!(error["code"], "forbidden_topic", "{error}");

    let create = |subject: &str, team: Option<i64>| {
        let body =
            json!({"subject": subject, "body": "hello", "requester_id": live.seeded.customer.id, "team_id": team});
        let server = &live.server;
        let admin = admin.clone();
        async move {
            let (status, ticket) = server.call("POST", "/api/v1/tickets", Some(&admin), Some(body)).await;
            assert_eq!(status, 201, "{ticket}");
            ticket["id"].as_i64().expect("id")
        }
    };
    let inbox = create("Shared inbox", None).await;
    let other_team = create("Sales lead", Some(sales)).await;
    let own_team = create("Invoice twice", Some(billing)).await;
    // Taken out of the shared inbox by someone else: the agent's list hears it leave, then
    // nothing more of it.
    let (status, body) = live
        .server
        .call(
            "POST",
            &format!("/api/v1/tickets/{inbox}/assign"),
            Some(&admin),
            Some(json!({"assignee_id": live.seeded.supervisor.id})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    live.note(&admin, inbox, "after it left").await;
    let last = create("Marker", None).await;

    let seen = queue_frames_until(&mut mine, last).await;
    let tickets: std::collections::BTreeSet<i64> = seen.iter().map(|(ticket, _)| *ticket).collect();
    assert_eq!(tickets, [inbox, own_team, last].into_iter().collect(), "{seen:?}");
    assert!(!seen.iter().any(|(ticket, _)| *ticket == other_team), "another team's ticket: {seen:?}");
    let of_inbox: Vec<&str> =
        seen.iter().filter(|(ticket, _)| *ticket == inbox).map(|(_, kind)| kind.as_str()).collect();
    assert!(of_inbox.contains(&"assigned"), "{of_inbox:?}");
    let messages = of_inbox.iter().filter(|kind| **kind == "message_added").count();
    assert_eq!(messages, 1, "the first message only: the note after it left is not pushed: {of_inbox:?}");

    let all = queue_frames_until(&mut everything, last).await;
    let all_tickets: std::collections::BTreeSet<i64> = all.iter().map(|(ticket, _)| *ticket).collect();
    assert_eq!(all_tickets, [inbox, other_team, own_team, last].into_iter().collect(), "{all:?}");
    assert!(all.iter().any(|(ticket, kind)| *ticket == inbox && kind == "message_added"), "{all:?}");
    live.server.stop().await;
}

/// The value of counter `name` on the server's `/metrics` (0 before it first counts).
async fn counter(base: &str, name: &str) -> f64 {
    let text = http_client().get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_a_ticket_followed_on_the_node_is_served_from_memory_exactly() {
    // Its own process, so the memory-replay counter is this test's alone.
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let logs = tempfile::tempdir().expect("dir");
    let server = ChildServer::start(&db, logs.path()).await;
    let http = http_client();
    let agent = login(&http, &server.base, "agent@test.example").await;
    let customer = seed_customer_id(&http, &server.base, &agent).await;
    let (status, ticket) = call(
        &http,
        &server.base,
        "POST",
        "/api/v1/tickets",
        Some(&agent),
        Some(json!({"subject": "Followed", "body": "hello", "requester_id": customer})),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    let topic = format!("ticket:{id}");
    let note = |body: String| {
        let (http, base, agent) = (http.clone(), server.base.clone(), agent.clone());
        async move {
            let path = format!("/api/v1/tickets/{id}/messages");
            let (status, outcome) =
                call(&http, &base, "POST", &path, Some(&agent), Some(json!({"body": body, "internal": true}))).await;
            assert_eq!(status, 201, "{outcome}");
        }
    };

    // Another tab keeps following the ticket, so this node keeps its last events.
    let mut stays = WsClient::connect(&server.base, &agent).await;
    stays.subscribe(&topic, None).await;
    let mut leaves = WsClient::connect(&server.base, &agent).await;
    let ack = leaves.subscribe(&topic, None).await;
    let last_seen = ack["seq"].as_i64().expect("seq");
    note("seen by both".to_owned()).await;
    assert_eq!(seqs(&leaves.events(1, WAIT).await), vec![last_seen + 1]);
    leaves.close().await;
    for n in 0..3 {
        note(format!("while away {n}")).await;
    }
    stays.events(4, WAIT).await;

    let before = counter(&server.base, "switchboard_ws_replays_from_memory_total").await;
    let mut back = WsClient::connect(&server.base, &agent).await;
    back.subscribe(&topic, Some(last_seen + 1)).await;
    let replayed = back.events(3, WAIT).await;
    assert_eq!(seqs(&replayed), vec![last_seen + 2, last_seen + 3, last_seen + 4], "exactly the missed ones, in order");
    assert_eq!(replayed[2]["event"]["message"]["body"], "while away 2");
    note("live again".to_owned()).await;
    let live = back.events(1, WAIT).await;
    assert_eq!(seqs(&live), vec![last_seen + 5], "the seam: live once, nothing doubled");
    let after = counter(&server.base, "switchboard_ws_replays_from_memory_total").await;
    assert_eq!(after - before, 1.0, "the replay came from the node's memory, not the store");
}

/// The seeded customer's id, as staff see it.
async fn seed_customer_id(http: &reqwest::Client, base: &str, token: &str) -> i64 {
    let (status, users) = call(http, base, "GET", "/api/v1/users", Some(token), None).await;
    assert_eq!(status, 200, "{users}");
    users["items"]
        .as_array()
        .and_then(|users| users.iter().find(|user| user["email"] == "cust@test.example"))
        .and_then(|user| user["id"].as_i64())
        .expect("the seeded customer")
}
