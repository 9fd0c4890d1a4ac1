//! Presence-aware routing with live WebSocket agents: least loaded and round robin only among
//! online agents with room, capacity respected, skills and language matched, the offline policy
//! after the grace, the no-reply limit, freed capacity filled in SLA order, the explanation
//! recorded; and who may read and change a team's routing.

use std::time::{Duration, Instant};

use super::*;

const WAIT: Duration = Duration::from_secs(10);

/// An agent created by the admin (with the test password), logged in.
struct Agent {
    id: i64,
    token: String,
}

async fn agent(desk: &Desk, admin: &str, name: &str, capacity: i64, profile: Value) -> Agent {
    let email = format!("{name}@test.example");
    let user =
        desk.create_user(admin, json!({"email": email, "name": name, "role": "agent", "capacity": capacity})).await;
    let id = id_of(&user);
    if profile != Value::Null {
        desk.expect(200, "PATCH", &format!("/api/v1/users/{id}"), admin, Some(profile)).await;
    }
    Agent { id, token: desk.login(&email).await }
}

async fn team(desk: &Desk, admin: &str, name: &str, members: &[&Agent], routing: Value) -> i64 {
    let ids: Vec<i64> = members.iter().map(|agent| agent.id).collect();
    let team = desk.expect(201, "POST", "/api/v1/teams", admin, Some(json!({"name": name, "member_ids": ids}))).await;
    let id = id_of(&team);
    desk.expect(200, "PUT", &format!("/api/v1/teams/{id}/routing"), admin, Some(routing)).await;
    id
}

/// Connects the agent's socket and waits until the board shows them with `status`.
async fn connect(desk: &Desk, agent: &Agent) -> WsClient {
    let ws = WsClient::connect(&desk.server.base, &agent.token).await;
    wait_status(desk, agent, "online").await;
    ws
}

async fn wait_status(desk: &Desk, agent: &Agent, status: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let rows = desk.expect(200, "GET", "/api/v1/agents/availability", &agent.token, None).await;
        let shown = rows["items"].as_array().expect("items").iter().find(|row| row["user_id"] == agent.id).cloned();
        if shown.as_ref().is_some_and(|row| row["status"] == status) {
            return;
        }
        assert!(Instant::now() < deadline, "agent {} never showed {status}: {shown:?}", agent.id);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn routed_ticket(desk: &Desk, admin: &str, team: i64, subject: &str, extra: Value) -> i64 {
    let mut body = json!({"subject": subject, "body": "Please help with my order.", "requester_id": desk.seeded.customer.id, "team_id": team});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    id_of(&desk.create_ticket(admin, body).await)
}

/// Waits until the ticket's assignee is `wanted` (`None`: unassigned) and returns the ticket.
async fn wait_assignee(desk: &Desk, admin: &str, ticket: i64, wanted: Option<i64>) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let read = desk.ticket(admin, ticket).await;
        if read["assignee_id"].as_i64() == wanted {
            return read;
        }
        assert!(Instant::now() < deadline, "ticket {ticket} never reached assignee {wanted:?}: {read}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The router runs at least every 250 ms: after this, a ticket it could assign is assigned.
async fn several_passes() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

/// The explanation of the ticket's last `assigned` event.
async fn last_explanation(desk: &Desk, admin: &str, ticket: i64) -> Value {
    let events = desk.events(admin, ticket, 0).await;
    let assigned = events.iter().rev().find(|event| event["type"] == "assigned").expect("an assigned event");
    assert!(assigned["actor_id"].is_null(), "the router acts as the system: {assigned}");
    assert_eq!(assigned["reason"], assigned["explanation"]["why"], "the reason is the explanation's sentence");
    assigned["explanation"].clone()
}

fn candidates(explanation: &Value) -> Vec<(i64, i64)> {
    explanation["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|candidate| (candidate["user_id"].as_i64().expect("id"), candidate["load"].as_i64().expect("load")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_loaded_uses_online_agents_with_room_and_fills_freed_capacity_in_sla_order() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    desk.expect(
        200,
        "PUT",
        "/api/v1/account/sla-policy",
        &admin,
        Some(json!({"enabled": true, "warning_percent": 75, "targets": [
            {"priority": "urgent", "first_response_minutes": 30, "resolution_minutes": 240}
        ]})),
    )
    .await;
    let ana = agent(&desk, &admin, "ana", 2, Value::Null).await;
    let ben = agent(&desk, &admin, "ben", 2, Value::Null).await;
    let cy = agent(&desk, &admin, "cy", 2, Value::Null).await;
    let dee = agent(&desk, &admin, "dee", 2, Value::Null).await;
    let _sockets = (connect(&desk, &ana).await, connect(&desk, &ben).await);
    let mut busy = connect(&desk, &cy).await;
    busy.send(json!({"type": "presence", "status": "busy"})).await;
    wait_status(&desk, &cy, "busy").await;
    let team = team(&desk, &admin, "Tier 1", &[&ana, &ben, &cy, &dee], json!({"mode": "least_loaded"})).await;

    // Ana and Ben hold nothing: the tie goes to the first; Cy is busy and Dee offline.
    let first = routed_ticket(&desk, &admin, team, "First", json!({})).await;
    wait_assignee(&desk, &admin, first, Some(ana.id)).await;
    let why = last_explanation(&desk, &admin, first).await;
    assert_eq!(why["mode"], "least_loaded");
    assert_eq!(why["trigger"], "new");
    assert_eq!(candidates(&why), vec![(ana.id, 0), (ben.id, 0)]);
    assert_eq!(why["excluded"], json!({"busy": 1, "offline": 1}));
    assert_eq!(why["why"], "least loaded: ana held 0 of 2 open tickets, the fewest of 2 candidates");

    // Then whoever holds fewer.
    let second = routed_ticket(&desk, &admin, team, "Second", json!({})).await;
    wait_assignee(&desk, &admin, second, Some(ben.id)).await;
    assert_eq!(candidates(&last_explanation(&desk, &admin, second).await), vec![(ben.id, 0), (ana.id, 1)]);
    let third = routed_ticket(&desk, &admin, team, "Third", json!({})).await;
    wait_assignee(&desk, &admin, third, Some(ana.id)).await;
    let fourth = routed_ticket(&desk, &admin, team, "Fourth", json!({})).await;
    wait_assignee(&desk, &admin, fourth, Some(ben.id)).await;

    // Both are full: the next tickets wait, the busy and the offline agent get none.
    let waiting_longest = routed_ticket(&desk, &admin, team, "Low, waiting longest", json!({})).await;
    let urgent =
        routed_ticket(&desk, &admin, team, "Urgent, SLA due", json!({"urgency": "critical", "importance": "critical"}))
            .await;
    assert!(desk.ticket(&admin, urgent).await["sla"].is_object(), "the urgent ticket has an SLA clock");
    several_passes().await;
    assert!(desk.ticket(&admin, waiting_longest).await["assignee_id"].is_null(), "capacity is respected");
    assert!(desk.ticket(&admin, urgent).await["assignee_id"].is_null(), "capacity is respected");

    // Ana resolves one: the freed place goes at once to the ticket whose SLA is due soonest.
    desk.patch(&admin, first, json!({"status": "resolved"})).await;
    wait_assignee(&desk, &admin, urgent, Some(ana.id)).await;
    several_passes().await;
    assert!(desk.ticket(&admin, waiting_longest).await["assignee_id"].is_null(), "one place, one ticket");
    let why = last_explanation(&desk, &admin, urgent).await;
    assert_eq!(candidates(&why), vec![(ana.id, 1)], "{why}");
    assert_eq!(why["excluded"], json!({"busy": 1, "full": 1, "offline": 1}));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_takes_turns_among_online_agents_only() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let ana = agent(&desk, &admin, "ana", 10, Value::Null).await;
    let ben = agent(&desk, &admin, "ben", 10, Value::Null).await;
    let cy = agent(&desk, &admin, "cy", 10, Value::Null).await;
    let _sockets = (connect(&desk, &ana).await, connect(&desk, &ben).await);
    let mut away = connect(&desk, &cy).await;
    away.send(json!({"type": "presence", "status": "away"})).await;
    wait_status(&desk, &cy, "away").await;
    let team = team(&desk, &admin, "Tier 1", &[&ana, &ben, &cy], json!({"mode": "round_robin"})).await;

    let mut assignees = Vec::new();
    for n in 0..4 {
        let ticket = routed_ticket(&desk, &admin, team, &format!("Ticket {n}"), json!({})).await;
        let read = wait_assignee_any(&desk, &admin, ticket).await;
        assignees.push(read["assignee_id"].as_i64().expect("assignee"));
    }
    assert_eq!(assignees, vec![ana.id, ben.id, ana.id, ben.id], "turns, skipping the away agent");
    let last = routed_ticket(&desk, &admin, team, "Fifth", json!({})).await;
    wait_assignee(&desk, &admin, last, Some(ana.id)).await;
    let why = last_explanation(&desk, &admin, last).await;
    assert_eq!(why["mode"], "round_robin");
    assert_eq!(why["why"], "round robin: ana was next in turn after ben");
    assert_eq!(why["excluded"], json!({"away": 1}));

    // A routed team's members are not told of each of its tickets: the assignee is told.
    let kinds = |agent: &Agent| {
        let (desk, token) = (&desk, agent.token.clone());
        async move {
            let page = desk.expect(200, "GET", "/api/v1/notifications", &token, None).await;
            page["items"].as_array().expect("items").iter().map(|item| item["kind"].clone()).collect::<Vec<_>>()
        }
    };
    eventually("ana's three assignments notified", || async { kinds(&ana).await.len() == 3 }).await;
    assert_eq!(kinds(&ana).await, vec![json!("assigned"); 3]);
    assert_eq!(kinds(&ben).await, vec![json!("assigned"); 2]);
    assert!(kinds(&cy).await.is_empty(), "nobody hears of the team's tickets as such");
    desk.stop().await;
}

async fn wait_assignee_any(desk: &Desk, admin: &str, ticket: i64) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let read = desk.ticket(admin, ticket).await;
        if !read["assignee_id"].is_null() {
            return read;
        }
        assert!(Instant::now() < deadline, "ticket {ticket} was never assigned: {read}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skills_from_tags_and_the_detected_language_choose_the_agent() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let ana = agent(&desk, &admin, "ana", 10, json!({"skills": ["Finance"], "languages": ["eng"]})).await;
    let ben = agent(&desk, &admin, "ben", 10, json!({"languages": ["spa", "eng"]})).await;
    let (status, refused) =
        desk.call("PATCH", &format!("/api/v1/users/{}", ben.id), &admin, Some(json!({"languages": ["spanish"]}))).await;
    assert_invalid((status, &refused), "languages");
    let profile = desk.expect(200, "GET", &format!("/api/v1/users/{}", ana.id), &admin, None).await;
    assert_eq!((profile["skills"].clone(), profile["languages"].clone()), (json!(["finance"]), json!(["eng"])));
    let _sockets = (connect(&desk, &ana).await, connect(&desk, &ben).await);
    let routing = json!({"mode": "least_loaded", "match_skills": true, "match_language": true,
                         "skill_tags": {"billing": "finance"}});
    let team = team(&desk, &admin, "Billing", &[&ana, &ben], routing).await;

    // Billing needs finance: only Ana has it, though Ben holds less.
    let billing = routed_ticket(
        &desk,
        &admin,
        team,
        "Invoice",
        json!({"tags": ["billing"], "body": "Hello, I was charged twice on my last invoice and need a refund."}),
    )
    .await;
    wait_assignee(&desk, &admin, billing, Some(ana.id)).await;
    let why = last_explanation(&desk, &admin, billing).await;
    assert_eq!(why["skills"], json!(["finance"]));
    assert_eq!(why["language"], "eng");
    assert_eq!(why["excluded"], json!({"missing_skill": 1}));

    // A Spanish message goes to the agent who writes Spanish, though Ana holds one already.
    let spanish = routed_ticket(
        &desk,
        &admin,
        team,
        "Pedido",
        json!({"body": "Hola, mi pedido no ha llegado todavía y necesito ayuda, por favor."}),
    )
    .await;
    wait_assignee(&desk, &admin, spanish, Some(ben.id)).await;
    let why = last_explanation(&desk, &admin, spanish).await;
    assert_eq!(why["language"], "spa");
    assert_eq!(why["excluded"], json!({"language": 1}));

    // Spanish billing: nobody has both, so it waits in the queue.
    let nobody = routed_ticket(
        &desk,
        &admin,
        team,
        "Factura",
        json!({"tags": ["billing"], "body": "Hola, me cobraron dos veces la última factura y necesito un reembolso."}),
    )
    .await;
    several_passes().await;
    assert!(desk.ticket(&admin, nobody).await["assignee_id"].is_null());
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_agents_tickets_return_to_the_queue_after_the_grace_and_go_to_the_next_online() {
    let desk = Desk::start_with(|settings| settings.presence.offline_grace_ms = 200).await;
    let (admin, _) = desk.staff().await;
    let ana = agent(&desk, &admin, "ana", 10, Value::Null).await;
    let ben = agent(&desk, &admin, "ben", 10, Value::Null).await;
    let ana_socket = connect(&desk, &ana).await;
    let routing = json!({"mode": "least_loaded", "offline_policy": "return_to_queue", "offline_grace_secs": 1});
    let team = team(&desk, &admin, "Tier 1", &[&ana, &ben], routing).await;
    let ticket = routed_ticket(&desk, &admin, team, "Held by Ana", json!({})).await;
    wait_assignee(&desk, &admin, ticket, Some(ana.id)).await;

    // Ana leaves; past the grace her ticket is returned (nobody else is online)…
    let left = Instant::now();
    ana_socket.close().await;
    wait_status(&desk, &ana, "offline").await;
    wait_assignee(&desk, &admin, ticket, None).await;
    assert!(left.elapsed() >= Duration::from_secs(1), "not before the grace");
    let returned = last_explanation(&desk, &admin, ticket).await;
    assert_eq!(returned["trigger"], "assignee_offline");
    assert_eq!(returned["why"], "ana offline for more than 1 s: returned to the queue");
    let read = desk.ticket(&admin, ticket).await;
    assert_eq!(read["team_id"], team, "the team is kept");

    // …and the returned ticket goes to the next agent who comes online.
    let _ben_socket = connect(&desk, &ben).await;
    wait_assignee(&desk, &admin, ticket, Some(ben.id)).await;
    assert_eq!(last_explanation(&desk, &admin, ticket).await["trigger"], "returned");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_reassign_policy_an_offline_agents_ticket_goes_straight_to_another() {
    let desk = Desk::start_with(|settings| settings.presence.offline_grace_ms = 200).await;
    let (admin, _) = desk.staff().await;
    let ana = agent(&desk, &admin, "ana", 10, Value::Null).await;
    let ben = agent(&desk, &admin, "ben", 10, Value::Null).await;
    let ana_socket = connect(&desk, &ana).await;
    let _ben_socket = connect(&desk, &ben).await;
    let routing = json!({"mode": "round_robin", "offline_policy": "reassign", "offline_grace_secs": 1});
    let team = team(&desk, &admin, "Tier 1", &[&ana, &ben], routing).await;
    let ticket = routed_ticket(&desk, &admin, team, "Held by Ana", json!({})).await;
    wait_assignee(&desk, &admin, ticket, Some(ana.id)).await;
    ana_socket.close().await;
    wait_assignee(&desk, &admin, ticket, Some(ben.id)).await;
    let why = last_explanation(&desk, &admin, ticket).await;
    assert_eq!(why["trigger"], "assignee_offline");
    assert_eq!(candidates(&why), vec![(ben.id, 0)]);
    assert!(why["why"].as_str().expect("why").starts_with("ana offline for more than 1 s; round robin: ben"), "{why}");
    let assigned: Vec<Value> =
        desk.events(&admin, ticket, 0).await.into_iter().filter(|event| event["type"] == "assigned").collect();
    assert_eq!(assigned.len(), 2, "straight from Ana to Ben: {assigned:?}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_assignee_loses_the_ticket_after_the_no_reply_limit() {
    let clock =
        Arc::new(switchboard_actors::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("t")));
    let desk = Desk::start_with_clock(clock.clone()).await;
    let (admin, _) = desk.staff().await;
    let ana = agent(&desk, &admin, "ana", 10, Value::Null).await;
    let ben = agent(&desk, &admin, "ben", 10, Value::Null).await;
    let _sockets = (connect(&desk, &ana).await, connect(&desk, &ben).await);
    let routing = json!({"mode": "least_loaded", "reassign_if_no_reply_minutes": 5});
    let team = team(&desk, &admin, "Tier 1", &[&ana, &ben], routing).await;
    let silent = routed_ticket(&desk, &admin, team, "Ana stays silent", json!({})).await;
    wait_assignee(&desk, &admin, silent, Some(ana.id)).await;
    let answered = routed_ticket(&desk, &admin, team, "Ben answers", json!({})).await;
    wait_assignee(&desk, &admin, answered, Some(ben.id)).await;
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{answered}/messages"),
        &ben.token,
        Some(json!({"body": "On it."})),
    )
    .await;

    clock.advance(jiff::SignedDuration::from_mins(4));
    several_passes().await;
    assert_eq!(desk.ticket(&admin, silent).await["assignee_id"], ana.id, "not before the limit");
    clock.advance(jiff::SignedDuration::from_mins(2));
    wait_assignee(&desk, &admin, silent, Some(ben.id)).await;
    let why = last_explanation(&desk, &admin, silent).await;
    assert_eq!(why["trigger"], "no_reply");
    assert_eq!(why["excluded"], json!({"current_assignee": 1}));
    assert!(why["why"].as_str().expect("why").starts_with("ana did not reply within 5 min;"), "{why}");
    several_passes().await;
    assert_eq!(desk.ticket(&admin, answered).await["assignee_id"], ben.id, "a reply keeps the ticket");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_is_read_by_supervisors_changed_by_admins_and_validated() {
    let desk = Desk::start().await;
    let (admin, agent_token) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let team = id_of(&desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Tier 1"}))).await);
    let path = format!("/api/v1/teams/{team}/routing");

    let manual = desk.expect(200, "GET", &path, &supervisor, None).await;
    assert_eq!(manual["mode"], "manual", "a team never configured is manual: {manual}");
    assert_eq!(manual["respect_capacity"], true);
    let (status, body) = desk.call("GET", &path, &agent_token, None).await;
    assert_error((status, &body), 403, "forbidden");
    let round_robin = json!({"mode": "round_robin"});
    let (status, body) = desk.call("PUT", &path, &supervisor, Some(round_robin.clone())).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk.call("PUT", &path, &agent_token, Some(round_robin.clone())).await;
    assert_error((status, &body), 403, "forbidden");

    for (bad, field) in [
        (json!({"mode": "round_robin", "offline_grace_secs": -5}), "offline_grace_secs"),
        (json!({"mode": "round_robin", "reassign_if_no_reply_minutes": 0}), "reassign_if_no_reply_minutes"),
        (json!({"mode": "round_robin", "skill_tags": {"vip": ""}}), "skill_tags"),
    ] {
        let (status, body) = desk.call("PUT", &path, &admin, Some(bad)).await;
        assert_invalid((status, &body), field);
    }
    for bad in [json!({"mode": "fastest"}), json!({"mode": "round_robin", "colour": "red"}), json!({})] {
        let (status, body) = desk.call("PUT", &path, &admin, Some(bad.clone())).await;
        assert!((400..500).contains(&status), "{bad} answered {status}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    assert_eq!(desk.expect(200, "GET", &path, &admin, None).await, manual, "refusals changed nothing");

    let saved = desk
        .expect(
            200,
            "PUT",
            &path,
            &admin,
            Some(json!({"mode": "least_loaded", "match_skills": true, "offline_policy": "reassign",
                        "offline_grace_secs": 120, "reassign_if_no_reply_minutes": 30,
                        "skill_tags": {" VIP ": "Care"}})),
        )
        .await;
    assert_eq!(saved["skill_tags"], json!({"vip": "care"}));
    assert_eq!(desk.expect(200, "GET", &path, &supervisor, None).await, saved);

    // Another account's admin sees no such team.
    other_account(&*desk._db.open().await, "boss@elsewhere.example", "Boss", switchboard_actors::domain::Role::Admin)
        .await;
    let outsider = desk.login("boss@elsewhere.example").await;
    let (status, body) = desk.call("GET", &path, &outsider, None).await;
    assert_error((status, &body), 404, "not_found");
    let (status, body) = desk.call("PUT", &path, &outsider, Some(round_robin)).await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(desk.expect(200, "GET", &path, &admin, None).await, saved, "unchanged by the outsider");
    desk.stop().await;
}
