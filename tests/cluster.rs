//! Two `switchboard serve` processes on one PostgreSQL and one Redis, used like a load balancer
//! would: pushes cross nodes in order and exactly once, concurrent changes through both nodes
//! leave every ticket's seq gap-free, and one presence board shows agents of both.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

struct Cluster {
    _db: TestDb,
    _logs: tempfile::TempDir,
    a: ChildServer,
    b: ChildServer,
    http: reqwest::Client,
    seeded: Seeded,
}

async fn cluster() -> Cluster {
    let db = TestDb::postgres().await;
    let seeded = seed(&*db.open().await).await;
    let logs = tempfile::tempdir().expect("log dir");
    let redis = std::env::var("SWITCHBOARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    // Each test run gets its own channels on the shared Redis.
    let prefix = format!("cluster-{}", uuid::Uuid::now_v7().simple());
    let env = [
        ("SWITCHBOARD__REDIS__URL", redis),
        ("SWITCHBOARD__REDIS__PREFIX", prefix),
        ("SWITCHBOARD__PRESENCE__REFRESH_MS", "500".to_owned()),
        ("SWITCHBOARD__PRESENCE__EXPIRY_MS", "2000".to_owned()),
        ("SWITCHBOARD__PRESENCE__OFFLINE_GRACE_MS", "200".to_owned()),
    ];
    let a = ChildServer::start_with(&db, logs.path(), &env).await;
    let b = ChildServer::start_with(&db, logs.path(), &env).await;
    Cluster { _db: db, _logs: logs, a, b, http: common::http_client(), seeded }
}

impl Cluster {
    async fn post(&self, node: &ChildServer, token: &str, path: &str, body: Value) -> Value {
        let (status, value) = call(&self.http, &node.base, "POST", path, Some(token), Some(body)).await;
        assert_eq!(status / 100, 2, "{path}: {value}");
        value
    }

    async fn ticket(&self, node: &ChildServer, token: &str) -> i64 {
        let body = json!({"subject": "Across nodes", "body": "hello", "requester_id": self.seeded.customer.id});
        self.post(node, token, "/api/v1/tickets", body).await["id"].as_i64().expect("id")
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().filter_map(|event| event["seq"].as_i64()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_on_one_node_are_pushed_on_the_other_in_order_exactly_once() {
    let c = cluster().await;
    let token = login(&c.http, &c.a.base, "agent@test.example").await;
    let mut on_b = WsClient::connect(&c.b.base, &token).await;
    on_b.subscribe("queue", None).await;

    let started = Instant::now();
    let id = c.ticket(&c.a, &token).await;
    let created = on_b.expect("event", Duration::from_secs(5)).await;
    assert_eq!((created["row"]["id"].as_i64(), created["seq"].as_i64()), (Some(id), Some(1)));
    assert!(started.elapsed() < Duration::from_secs(1), "pushed across nodes within a second");

    let mut follower = WsClient::connect(&c.b.base, &token).await;
    follower.subscribe(&format!("ticket:{id}"), Some(0)).await;
    for n in 0..20 {
        c.post(
            &c.a,
            &token,
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body": format!("via A {n}"), "internal": true}),
        )
        .await;
    }
    let events = follower.events(22, Duration::from_secs(5)).await;
    assert_eq!(seqs(&events), (1..=22).collect::<Vec<_>>(), "in order, exactly once");
    assert!(follower.events(1, Duration::from_millis(500)).await.is_empty(), "and nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_through_both_nodes_leave_no_gap_or_duplicate() {
    let c = cluster().await;
    let token = login(&c.http, &c.a.base, "agent@test.example").await;
    let id = c.ticket(&c.a, &token).await;
    let mut watcher = WsClient::connect(&c.b.base, &token).await;
    watcher.subscribe(&format!("ticket:{id}"), Some(0)).await;

    const EACH: usize = 40;
    let writers = [c.a.base.clone(), c.b.base.clone()]
        .into_iter()
        .enumerate()
        .flat_map(|(node, base)| (0..4).map(move |writer| (node, base.clone(), writer)));
    let tasks: Vec<_> = writers
        .map(|(node, base, writer)| {
            let (http, token) = (c.http.clone(), token.clone());
            tokio::spawn(async move {
                for n in 0..EACH / 4 {
                    let body = json!({"body": format!("node {node} writer {writer} #{n}"), "internal": true});
                    let (status, value) =
                        call(&http, &base, "POST", &format!("/api/v1/tickets/{id}/messages"), Some(&token), Some(body))
                            .await;
                    assert_eq!(status, 201, "{value}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let total = 2 + 2 * EACH as i64;
    let (_, events) =
        call(&c.http, &c.b.base, "GET", &format!("/api/v1/tickets/{id}/events"), Some(&token), None).await;
    let stored: Vec<i64> =
        events["items"].as_array().expect("items").iter().filter_map(|event| event["seq"].as_i64()).collect();
    assert_eq!(stored, (1..=total).collect::<Vec<_>>(), "seq 1..n: no gap, no duplicate");
    let (_, ticket) = call(&c.http, &c.a.base, "GET", &format!("/api/v1/tickets/{id}"), Some(&token), None).await;
    let bodies: BTreeSet<&str> =
        ticket["messages"].as_array().expect("messages").iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies.len() as i64, total - 1, "every acknowledged message stored once");

    let pushed = watcher.events(total as usize, Duration::from_secs(5)).await;
    assert_eq!(seqs(&pushed), (1..=total).collect::<Vec<_>>(), "the watcher on node B got every event once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_board_shows_agents_of_both_nodes() {
    let c = cluster().await;
    let supervisor = login(&c.http, &c.a.base, "sup@test.example").await;
    let agent = login(&c.http, &c.a.base, "agent@test.example").await;
    let admin = login(&c.http, &c.b.base, "admin@test.example").await;
    let mut board = WsClient::connect(&c.a.base, &supervisor).await;
    board.subscribe("presence", None).await;
    board.expect("presence", Duration::from_secs(5)).await;

    let _agent_on_b = WsClient::connect(&c.b.base, &agent).await;
    let _admin_on_a = WsClient::connect(&c.a.base, &admin).await;
    let wanted = BTreeSet::from([c.seeded.agent.id, c.seeded.admin.id]);
    let mut online = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while online != wanted {
        let frame = board.expect("presence", deadline.saturating_duration_since(Instant::now())).await;
        if frame["agent"]["status"] == "online" {
            online.insert(frame["agent"]["user_id"].as_i64().expect("user"));
        }
    }
    // A board opened later on node B shows both too.
    let mut late = WsClient::connect(&c.b.base, &supervisor).await;
    late.subscribe("presence", None).await;
    let full = late.expect("presence", Duration::from_secs(5)).await;
    let listed: BTreeSet<i64> = full["board"]
        .as_array()
        .expect("board")
        .iter()
        .filter(|row| row["status"] == "online")
        .filter_map(|row| row["user_id"].as_i64())
        .collect();
    assert!(wanted.is_subset(&listed), "board on B: {full}");

    // The agent's node dies: the board clears them once their reports expire.
    c.b.kill_9();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let frame = board.expect("presence", deadline.saturating_duration_since(Instant::now())).await;
        if frame["agent"]["user_id"] == c.seeded.agent.id && frame["agent"]["status"] == "offline" {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_joins_later_learns_the_agents_already_online() {
    let c = cluster().await;
    let agent = login(&c.http, &c.a.base, "agent@test.example").await;
    let supervisor = login(&c.http, &c.b.base, "sup@test.example").await;
    // Node A serves the agent before node B has any socket of the account. Nodes announce only
    // changes (and that they are alive), so B must ask A for the agents it already serves.
    let mut on_a = WsClient::connect(&c.a.base, &agent).await;
    on_a.subscribe("queue", None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut board = WsClient::connect(&c.b.base, &supervisor).await;
    board.subscribe("presence", None).await;
    let online = |row: &Value| row["user_id"] == c.seeded.agent.id && row["status"] == "online";
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let frame = board.expect("presence", deadline.saturating_duration_since(Instant::now())).await;
        let rows = frame["board"].as_array().cloned().unwrap_or_else(|| vec![frame["agent"].clone()]);
        if rows.iter().any(online) {
            break;
        }
    }
}

/// Webhooks stored on node A while node B's inbox pass runs every second: each message is stored
/// once (B's pass used to take A's entries while A was processing them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_one_node_are_stored_once_while_the_other_node_passes_over_the_inbox() {
    use switchboard::channels::whatsapp::sign;
    let c = cluster().await;
    let token = login(&c.http, &c.a.base, "agent@test.example").await;
    // Generated on first run, stored once: both nodes check webhooks with the same secret.
    let secret = app_secret(&c.http, &c.a.base).await;
    assert_eq!(secret, app_secret(&c.http, &c.b.base).await, "the nodes agree on the generated secret");
    let secret = &secret;
    let customers = 5;
    let per_customer = 40;
    let stamp = jiff::Timestamp::now().as_second().to_string();
    let posts = (0..per_customer).flat_map(|n| (0..customers).map(move |customer| (customer, n))).map(|(customer, n)| {
        let wa_id = format!("1555777{customer:04}");
        let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": "100200300400500"},
            "contacts": [{"profile": {"name": format!("Twice {customer}")}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": format!("wamid.ONCE.{customer}.{n}"), "timestamp": stamp,
                          "type": "text", "text": {"body": format!("once {customer}.{n}")}}]}}]}]});
        let body = payload.to_string();
        let signature = sign(secret, body.as_bytes());
        let request = c
            .http
            .post(format!("{}/webhooks/whatsapp", c.a.base))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body);
        async move { request.send().await.expect("webhook").status().as_u16() }
    });
    // Spread over a few seconds, so several of B's passes see A's entries in flight.
    let mut statuses = Vec::new();
    let mut posts = posts.peekable();
    while posts.peek().is_some() {
        statuses.extend(futures_util::future::join_all(posts.by_ref().take(20)).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, list) =
            call(&c.http, &c.b.base, "GET", "/api/v1/tickets?channel=whatsapp&limit=200", Some(&token), None).await;
        let mut bodies = Vec::new();
        for ticket in list["items"].as_array().cloned().unwrap_or_default() {
            let (_, full) =
                call(&c.http, &c.b.base, "GET", &format!("/api/v1/tickets/{}", ticket["id"]), Some(&token), None).await;
            for message in full["messages"].as_array().cloned().unwrap_or_default() {
                if let Some(body) = message["body"].as_str().filter(|body| body.starts_with("once ")) {
                    bodies.push(body.to_owned());
                }
            }
        }
        let distinct: BTreeSet<&String> = bodies.iter().collect();
        assert_eq!(
            distinct.len(),
            bodies.len(),
            "a message stored twice: {} of {}",
            bodies.len() - distinct.len(),
            bodies.len()
        );
        if bodies.len() == customers * per_customer {
            break;
        }
        assert!(Instant::now() < deadline, "only {} of {} messages stored", bodies.len(), customers * per_customer);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_node_closes_its_sockets_on_the_other() {
    let c = cluster().await;
    let admin = login(&c.http, &c.a.base, "admin@test.example").await;
    let token = login(&c.http, &c.a.base, "agent@test.example").await;
    let mut on_b = WsClient::connect(&c.b.base, &token).await;
    on_b.subscribe("queue", None).await;
    let (status, _) = call(&c.http, &c.a.base, "POST", "/api/v1/auth/logout", Some(&token), None).await;
    assert_eq!(status, 204);
    assert_eq!(on_b.close_code(Duration::from_secs(5)).await, Some(4001), "logout on A closes the socket on B");

    // Deactivation on B closes a socket held on A.
    let customer = login(&c.http, &c.a.base, "cust@test.example").await;
    let mut on_a = WsClient::connect(&c.a.base, &customer).await;
    on_a.subscribe("queue", None).await;
    let path = format!("/api/v1/users/{}", c.seeded.customer.id);
    let (status, _) = call(&c.http, &c.b.base, "PATCH", &path, Some(&admin), Some(json!({"active": false}))).await;
    assert_eq!(status, 200);
    assert_eq!(on_a.close_code(Duration::from_secs(5)).await, Some(4001), "deactivation on B closes the socket on A");
}

/// Both nodes run a notifier over the one event log: each mention, written through either node,
/// notifies the mentioned supervisor once, and reaches their socket on the other node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_written_once_and_pushed_across_nodes() {
    let c = cluster().await;
    let agent = login(&c.http, &c.a.base, "agent@test.example").await;
    let supervisor = login(&c.http, &c.b.base, "sup@test.example").await;
    let mut on_b = WsClient::connect(&c.b.base, &supervisor).await;
    on_b.subscribe("notifications", None).await;
    let id = c.ticket(&c.a, &agent).await;
    let mention = format!("@[Sup](user:{})", c.seeded.supervisor.id);
    const NOTES: usize = 10;
    let started = Instant::now();
    for n in 0..NOTES {
        let node = if n % 2 == 0 { &c.a } else { &c.b };
        let body = json!({"body": format!("{mention} look at this ({n})"), "internal": true});
        c.post(node, &agent, &format!("/api/v1/tickets/{id}/messages"), body).await;
    }
    let mut seen = BTreeSet::new();
    while seen.len() < NOTES {
        let Some(frame) = on_b.next(Duration::from_secs(5)).await else {
            let (_, page) =
                call(&c.http, &c.a.base, "GET", "/api/v1/notifications?limit=200", Some(&supervisor), None).await;
            panic!("{} notification frames, then none; stored: {page}", seen.len());
        };
        if frame["type"] != "notification" {
            continue;
        }
        assert_eq!(frame["notification"]["kind"], json!("mention"), "{frame}");
        assert!(seen.insert(frame["notification"]["id"].as_i64().expect("id")), "pushed twice: {frame}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let stored = loop {
        let (_, page) =
            call(&c.http, &c.a.base, "GET", "/api/v1/notifications?limit=200", Some(&supervisor), None).await;
        let items = page["items"].as_array().expect("items").clone();
        if items.len() >= NOTES {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, page) = call(&c.http, &c.a.base, "GET", "/api/v1/notifications?limit=200", Some(&supervisor), None).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(NOTES), "one notification per mention: {page}");
    assert_eq!(stored.len(), NOTES);
    assert!(on_b.next(Duration::from_millis(500)).await.is_none_or(|frame| frame["type"] != "notification"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_fire_a_time_rule_once() {
    let cluster = cluster().await;
    let admin_a = login(&cluster.http, &cluster.a.base, "admin@test.example").await;
    let rule = json!({"name": "Tag after 2 s", "when": {"for": "PT2S", "while": "status: new"}, "then": [{"add_tags": ["aged"]}, {"note": "Aged"}]});
    let rule_id = cluster.post(&cluster.a, &admin_a, "/api/v1/automations", rule).await["id"].as_i64().expect("rule");
    // Tickets made through both nodes: each node's timer task holds every ticket's timer.
    let mut tickets = Vec::new();
    for node in [&cluster.a, &cluster.b, &cluster.a, &cluster.b] {
        tickets.push(cluster.ticket(node, &admin_a).await);
    }
    let runs_path = format!("/api/v1/automations/{rule_id}/runs?limit=200");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let (_, page) = call(&cluster.http, &cluster.b.base, "GET", &runs_path, Some(&admin_a), None).await;
        if page["items"].as_array().expect("runs").len() >= tickets.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both nodes had the chance to fire each one; give a second to any duplicate.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, page) = call(&cluster.http, &cluster.a.base, "GET", &runs_path, Some(&admin_a), None).await;
    let mut ran: Vec<i64> =
        page["items"].as_array().expect("runs").iter().filter_map(|run| run["ticket_id"].as_i64()).collect();
    ran.sort();
    assert_eq!(ran, tickets, "each ticket once");
    for id in &tickets {
        let (_, events) = call(
            &cluster.http,
            &cluster.a.base,
            "GET",
            &format!("/api/v1/tickets/{id}/events?after=0"),
            Some(&admin_a),
            None,
        )
        .await;
        let notes = events["items"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|event| event["type"] == "automation_ran")
            .count();
        assert_eq!(notes, 1, "ticket {id}: one run in its log");
    }
}
