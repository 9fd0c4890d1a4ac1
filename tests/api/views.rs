//! Saved views: who may create, see, change and delete which scope; counts per caller; queries
//! checked on save; and `view:<id>` on the WebSocket — `event` frames for tickets that match,
//! `view_left` when a change makes one stop matching, `view_count` when the count moves.

use std::time::Duration;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_are_scoped_counted_and_checked() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let second = desk.create_user(&admin, json!({"email": "zoe@test.example", "name": "Zoe", "role": "agent"})).await;
    let zoe = desk.login("zoe@test.example").await;
    let team = desk
        .expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Tier 1", "member_ids": [id_of(&second)]})))
        .await;
    let critical = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({"subject": "Down", "requester_id": desk.seeded.customer.id, "urgency": "critical", "importance": "critical", "assignee_id": desk.seeded.agent.id}),
            )
            .await,
    );
    desk.ticket_for_customer(&agent, "Quiet").await;

    let mine = desk
        .expect(
            201,
            "POST",
            "/api/v1/views",
            &agent,
            Some(json!({"name": "My critical", "query": "assignee: me urgency: critical", "sort": "sla_due"})),
        )
        .await;
    assert_eq!(
        (mine["scope"].as_str(), mine["sort"].as_str(), mine["count"].as_i64()),
        (Some("personal"), Some("sla_due"), Some(1))
    );
    // `me` is whoever looks: the same query counts nothing for Zoe.
    let everyone = desk
        .expect(
            201,
            "POST",
            "/api/v1/views",
            &supervisor,
            Some(json!({"name": "All mine", "query": "assignee: me", "scope": "account"})),
        )
        .await;
    let team_view = desk
        .expect(
            201,
            "POST",
            "/api/v1/views",
            &admin,
            Some(json!({"name": "Tier 1 open", "query": "status: new,open", "scope": "team", "team_id": id_of(&team)})),
        )
        .await;
    assert_eq!(team_view["count"], json!(2));

    let names = |list: &Value| -> Vec<(String, Option<i64>)> {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|view| (view["name"].as_str().unwrap_or_default().to_owned(), view["count"].as_i64()))
            .collect()
    };
    let for_agent = desk.expect(200, "GET", "/api/v1/views", &agent, None).await;
    assert_eq!(names(&for_agent), [("My critical".to_owned(), Some(1)), ("All mine".to_owned(), Some(1))]);
    let for_zoe = desk.expect(200, "GET", "/api/v1/views", &zoe, None).await;
    assert_eq!(names(&for_zoe), [("All mine".to_owned(), Some(0)), ("Tier 1 open".to_owned(), Some(2))]);

    // Refusals: customers, shared scopes by agents, other people's personal views, bad input.
    let customer = desk.login("cust@test.example").await;
    let (status, body) = desk.call("GET", "/api/v1/views", &customer, None).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call("POST", "/api/v1/views", &agent, Some(json!({"name": "Shared", "query": "", "scope": "account"})))
        .await;
    assert_error((status, &body), 403, "forbidden");
    let mine_path = format!("/api/v1/views/{}", id_of(&mine));
    let (status, body) = desk.call("PATCH", &mine_path, &zoe, Some(json!({"name": "Stolen"}))).await;
    assert_error((status, &body), 404, "not_found");
    let (status, body) = desk.call("DELETE", &mine_path, &supervisor, None).await;
    assert_error((status, &body), 404, "not_found");
    let everyone_path = format!("/api/v1/views/{}", id_of(&everyone));
    let (status, body) = desk.call("PATCH", &everyone_path, &agent, Some(json!({"name": "Mine now"}))).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) =
        desk.call("POST", "/api/v1/views", &agent, Some(json!({"name": "Broken", "query": "status:"}))).await;
    assert_error((status, &body), 400, "invalid_query");
    assert_eq!(body["position"], json!(7));
    let (status, body) =
        desk.call("POST", "/api/v1/views", &agent, Some(json!({"name": "Typo", "query": "team: Bliling"}))).await;
    assert_error((status, &body), 400, "invalid_query");
    let (status, body) = desk
        .call("POST", "/api/v1/views", &admin, Some(json!({"name": "No team", "query": "", "scope": "team"})))
        .await;
    assert_invalid((status, &body), "team_id");
    let (status, body) =
        desk.call("POST", "/api/v1/views", &agent, Some(json!({"name": "", "query": "status: open"}))).await;
    assert_invalid((status, &body), "name");
    let (status, body) = desk
        .call("POST", "/api/v1/views", &agent, Some(json!({"name": "Sorted", "query": "", "sort": "random"})))
        .await;
    assert_invalid((status, &body), "sort");
    let (status, body) = desk.call("GET", "/api/v1/views?scope=team", &agent, None).await;
    assert_error((status, &body), 400, "invalid_query");

    // The owner renames and re-queries; the count follows.
    let changed = desk
        .expect(200, "PATCH", &mine_path, &agent, Some(json!({"name": "Quiet ones", "query": "urgency: medium"})))
        .await;
    assert_eq!((changed["name"].as_str(), changed["count"].as_i64()), (Some("Quiet ones"), Some(1)));
    desk.patch(&agent, critical, json!({"urgency": "medium"})).await;
    let listed = desk.expect(200, "GET", "/api/v1/views", &agent, None).await;
    assert_eq!(names(&listed)[0], ("Quiet ones".to_owned(), Some(2)));
    desk.expect(204, "DELETE", &mine_path, &agent, None).await;
    let (status, _) = desk.call("DELETE", &mine_path, &agent, None).await;
    assert_eq!(status, 404);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_topic_streams_matching_tickets_leaves_and_counts() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let view = desk
        .expect(201, "POST", "/api/v1/views", &agent, Some(json!({"name": "Urgent", "query": "priority: urgent,high"})))
        .await;
    let topic = format!("view:{}", id_of(&view));
    let urgent = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({"subject": "Down", "requester_id": desk.seeded.customer.id, "urgency": "critical", "importance": "critical"}),
            )
            .await,
    );
    let quiet = id_of(&desk.ticket_for_customer(&agent, "Quiet").await);

    let mut socket = WsClient::connect(&desk.server.base, &agent).await;
    socket.subscribe(&topic, None).await;
    let count = socket.expect("view_count", Duration::from_secs(5)).await;
    assert_eq!(count, json!({"type": "view_count", "topic": topic, "view_id": id_of(&view), "count": 1}));

    // Another user's change brings a ticket into the view: its events, then the new count.
    desk.patch(&admin, quiet, json!({"urgency": "high", "importance": "high"})).await;
    let event = socket.expect("event", Duration::from_secs(5)).await;
    assert_eq!((event["topic"].as_str(), event["row"]["id"].as_i64()), (Some(topic.as_str()), Some(quiet)));
    assert_eq!(event["row"]["priority"], json!("high"), "{event}");
    assert_eq!(socket.expect("view_count", Duration::from_secs(5)).await["count"], json!(2));

    // A change that keeps it inside sends the event and no count.
    desk.patch(&admin, quiet, json!({"subject": "Quiet, but urgent"})).await;
    let event = socket.expect("event", Duration::from_secs(5)).await;
    assert_eq!(event["row"]["id"], json!(quiet));

    // One that takes a ticket out: `view_left`, then the count.
    desk.patch(&admin, urgent, json!({"urgency": "low", "importance": "low"})).await;
    let left = socket.expect("view_left", Duration::from_secs(5)).await;
    assert_eq!(left, json!({"type": "view_left", "topic": topic, "view_id": id_of(&view), "ticket_id": urgent}));
    let count = socket.expect("view_count", Duration::from_secs(5)).await;
    assert_eq!(count["count"], json!(1));

    // A ticket outside the view changing sends nothing on it.
    desk.patch(&admin, urgent, json!({"subject": "Still low"})).await;
    while let Some(frame) = socket.next(Duration::from_millis(400)).await {
        assert_ne!(frame["topic"], json!(topic), "nothing about a ticket outside the view: {frame}");
    }

    // Nobody follows a view they do not see.
    let zoe = desk.create_user(&admin, json!({"email": "zoe@test.example", "name": "Zoe", "role": "agent"})).await;
    let _ = zoe;
    let mut other = WsClient::connect(&desk.server.base, &desk.login("zoe@test.example").await).await;
    other.send(json!({"type": "subscribe", "topic": topic})).await;
    let refused = other.expect("error", Duration::from_secs(5)).await;
    assert_eq!(refused["code"], json!("forbidden_topic"));
    let customer = desk.login("cust@test.example").await;
    let mut theirs = WsClient::connect(&desk.server.base, &customer).await;
    theirs.send(json!({"type": "subscribe", "topic": topic})).await;
    assert_eq!(theirs.expect("error", Duration::from_secs(5)).await["code"], json!("forbidden_topic"));
    desk.stop().await;
}
