//! Notifications: each kind reaches the right staff (never the one who acted), read and unread,
//! nobody sees another's, customers are refused, preferences (kinds, quiet hours on a manual
//! clock, the email digest) and resuming after a restart without duplicates.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard_actors::clock::Clock;

use super::*;

/// The caller's notifications (`query` appended to the path) as `(kind, ticket_id)` pairs.
async fn kinds(desk: &Desk, token: &str) -> Vec<(String, i64)> {
    let page = desk.expect(200, "GET", "/api/v1/notifications?limit=200", token, None).await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| (item["kind"].as_str().expect("kind").to_owned(), item["ticket_id"].as_i64().expect("ticket")))
        .collect()
}

/// Waits until the caller has `count` notifications; returns the page (newest first).
async fn wait_for(desk: &Desk, token: &str, count: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = desk.expect(200, "GET", "/api/v1/notifications?limit=200", token, None).await;
        let got = page["items"].as_array().expect("items").len();
        if got == count {
            return page;
        }
        assert!(got < count && tokio::time::Instant::now() < deadline, "wanted {count} notifications, have {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lets the notifier catch up: a change by `token` that notifies `probe_token` (assigning a
/// fresh ticket to them), then waits for it, so everything committed before was handled too.
async fn settle(desk: &Desk, token: &str, probe: (&str, i64), expected: usize) -> Value {
    let ticket = id_of(&desk.ticket_for_customer(token, "Probe").await);
    let path = format!("/api/v1/tickets/{ticket}/assign");
    desk.expect(200, "POST", &path, token, Some(json!({"assignee_id": probe.1}))).await;
    wait_for(desk, probe.0, expected).await
}

fn mention(user: &User) -> String {
    format!("@[{}](user:{})", user.name, user.id)
}

use switchboard_actors::domain::User;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_reaches_the_right_staff_and_never_the_one_who_acted() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let customer = desk.login("cust@test.example").await;
    let seeded = &desk.seeded;
    let ticket = desk.ticket_for_customer(&admin, "Printer on fire").await;
    let id = id_of(&ticket);

    // Assigned to you: the agent is told, the admin who did it is not.
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{id}/assign"),
        &admin,
        Some(json!({"assignee_id": seeded.agent.id})),
    )
    .await;
    let page = wait_for(&desk, &agent, 1).await;
    let first = &page["items"][0];
    assert_eq!(first["kind"], json!("assigned"));
    assert_eq!(first["ticket_id"], json!(id));
    assert_eq!(first["ticket_number"], ticket["number"]);
    assert_eq!(first["subject"], json!("Printer on fire"));
    assert_eq!(first["actor_id"], json!(seeded.admin.id));
    assert_eq!(first["read_at"], Value::Null);
    assert_eq!(first["critical"], json!(false));
    assert!(first["text"].as_str().expect("text").contains(&format!("#{}", ticket["number"])), "{first}");
    assert!(first["id"].as_i64().is_some() && first["created_at"].is_string(), "{first}");
    assert_eq!(page["unread"], json!(1));

    // An @mention in an internal note: the mentioned supervisor, not the author nor the agent.
    let note = format!("{} can you approve the refund? cc {}", mention(&seeded.supervisor), mention(&seeded.admin));
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{id}/messages"),
        &admin,
        Some(json!({"body": note, "internal": true})),
    )
    .await;
    let page = wait_for(&desk, &supervisor, 1).await;
    assert_eq!(page["items"][0]["kind"], json!("mention"));
    assert!(page["items"][0]["text"].as_str().expect("text").contains("@sup can you approve"), "{page}");

    // A customer reply on the agent's ticket.
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{id}/messages"),
        &customer,
        Some(json!({"body": "Still smoking"})),
    )
    .await;
    let page = wait_for(&desk, &agent, 2).await;
    assert_eq!(page["items"][0]["kind"], json!("customer_reply"));
    assert!(page["items"][0]["text"].as_str().expect("text").contains("Still smoking"));

    // Critical × critical: every agent of the account but the one who made it so.
    desk.patch(&supervisor, id, json!({"urgency": "critical", "importance": "critical"})).await;
    let page = wait_for(&desk, &agent, 3).await;
    assert_eq!((&page["items"][0]["kind"], &page["items"][0]["critical"]), (&json!("critical"), &json!(true)));
    let page = wait_for(&desk, &admin, 1).await;
    assert_eq!(page["items"][0]["kind"], json!("critical"));
    // Assigned to your team: its members (the supervisor did it, so only the agent).
    let team = desk
        .expect(
            201,
            "POST",
            "/api/v1/teams",
            &admin,
            Some(json!({"name": "Billing", "member_ids": [seeded.agent.id, seeded.supervisor.id]})),
        )
        .await;
    let other = id_of(&desk.ticket_for_customer(&admin, "Invoice twice").await);
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{other}/assign"),
        &supervisor,
        Some(json!({"team_id": team["id"]})),
    )
    .await;
    let page = wait_for(&desk, &agent, 4).await;
    assert_eq!((&page["items"][0]["kind"], &page["items"][0]["ticket_id"]), (&json!("team_assigned"), &json!(other)));

    // Nobody was told of their own action: the supervisor has only the mention.
    settle(&desk, &admin, (&supervisor, seeded.supervisor.id), 2).await;
    assert_eq!(kinds(&desk, &supervisor).await[1], ("mention".to_owned(), id));
    assert_eq!(kinds(&desk, &admin).await, [("critical".to_owned(), id)]);
    // An agent assigning a ticket to themselves is not told.
    let own = id_of(&desk.ticket_for_customer(&agent, "Mine").await);
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{own}/assign"),
        &agent,
        Some(json!({"assignee_id": seeded.agent.id})),
    )
    .await;
    settle(&desk, &admin, (&agent, seeded.agent.id), 5).await;
    assert!(!kinds(&desk, &agent).await.iter().any(|(_, ticket)| *ticket == own), "told of their own assignment");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_warnings_and_breaches_reach_the_assignee_on_a_manual_clock() {
    let clock = manual_clock();
    let desk = Desk::start_with_clock(clock.clone()).await;
    let (admin, agent) = desk.staff().await;
    let policy = json!({"enabled": true, "warning_percent": 75, "targets": [
        {"priority": "high", "first_response_minutes": 120}
    ]});
    desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
    let body = json!({"subject": "Slow", "body": "help", "requester_id": desk.seeded.customer.id,
        "urgency": "high", "importance": "medium", "assignee_id": desk.seeded.agent.id});
    let id = id_of(&desk.create_ticket(&admin, body).await);
    assert_eq!(wait_for(&desk, &agent, 1).await["items"][0]["kind"], json!("assigned"), "created assigned");

    // Time passes while no server runs; the next one fires the SLA timer as it starts.
    let Desk { _db: db, seeded, server } = desk;
    server.stop().await;
    clock.advance(SignedDuration::from_mins(95));
    let desk = Desk { server: TestServer::start_with_clock(db.settings(), clock.clone()).await, _db: db, seeded };
    let page = wait_for(&desk, &agent, 2).await;
    assert_eq!((&page["items"][0]["kind"], &page["items"][0]["ticket_id"]), (&json!("sla_warning"), &json!(id)));
    let Desk { _db: db, seeded, server } = desk;
    server.stop().await;
    clock.advance(SignedDuration::from_mins(30));
    let desk = Desk { server: TestServer::start_with_clock(db.settings(), clock.clone()).await, _db: db, seeded };
    let page = wait_for(&desk, &agent, 3).await;
    assert_eq!(page["items"][0]["kind"], json!("sla_breached"));
    assert!(kinds(&desk, &admin).await.is_empty(), "SLA alerts go to the assignee only");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_unread_and_nobody_sees_or_marks_another_users() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let mut ids = Vec::new();
    for subject in ["One", "Two", "Three"] {
        let id = id_of(&desk.ticket_for_customer(&admin, subject).await);
        let path = format!("/api/v1/tickets/{id}/assign");
        desk.expect(200, "POST", &path, &admin, Some(json!({"assignee_id": desk.seeded.agent.id}))).await;
        ids.push(id);
    }
    let page = wait_for(&desk, &agent, 3).await;
    let newest_first: Vec<i64> =
        page["items"].as_array().expect("items").iter().map(|n| n["ticket_id"].as_i64().expect("id")).collect();
    assert_eq!(newest_first, [ids[2], ids[1], ids[0]]);
    let notification_ids = ids_of(&page);

    // Paged, newest first.
    let first = desk.expect(200, "GET", "/api/v1/notifications?limit=2", &agent, None).await;
    assert_eq!(ids_of(&first), notification_ids[..2]);
    let next = first["next"].as_str().expect("a next page");
    let second = desk.expect(200, "GET", &format!("/api/v1/notifications?limit=2&cursor={next}"), &agent, None).await;
    assert_eq!((ids_of(&second), &second["next"]), (notification_ids[2..].to_vec(), &Value::Null));

    // Another user neither sees nor marks them.
    assert!(kinds(&desk, &supervisor).await.is_empty());
    let theirs = desk
        .expect(200, "POST", "/api/v1/notifications/read", &supervisor, Some(json!({"ids": notification_ids})))
        .await;
    assert_eq!(theirs, json!({"marked": 0, "unread": 0}));
    desk.expect(200, "POST", "/api/v1/notifications/read", &supervisor, Some(json!({"all": true}))).await;
    assert_eq!(desk.expect(200, "GET", "/api/v1/notifications?unread=true", &agent, None).await["unread"], json!(3));

    let read = desk
        .expect(200, "POST", "/api/v1/notifications/read", &agent, Some(json!({"ids": [notification_ids[1]]})))
        .await;
    assert_eq!(read, json!({"marked": 1, "unread": 2}));
    let unread = desk.expect(200, "GET", "/api/v1/notifications?unread=true", &agent, None).await;
    assert_eq!(ids_of(&unread), [notification_ids[0], notification_ids[2]]);
    let all = desk.expect(200, "GET", "/api/v1/notifications", &agent, None).await;
    assert!(all["items"][1]["read_at"].is_string(), "{all}");
    let again = desk
        .expect(200, "POST", "/api/v1/notifications/read", &agent, Some(json!({"ids": [notification_ids[1]]})))
        .await;
    assert_eq!(again, json!({"marked": 0, "unread": 2}), "already read");
    let rest = desk.expect(200, "POST", "/api/v1/notifications/read", &agent, Some(json!({"all": true}))).await;
    assert_eq!(rest, json!({"marked": 2, "unread": 0}));
    let unread = desk.expect(200, "GET", "/api/v1/notifications?unread=true", &agent, None).await;
    assert_eq!((unread["items"].as_array().map(Vec::len), &unread["unread"]), (Some(0), &json!(0)));
    desk.stop().await;
}

fn ids_of(page: &Value) -> Vec<i64> {
    page["items"].as_array().expect("items").iter().map(|item| item["id"].as_i64().expect("id")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_are_refused_and_bad_requests_name_what_is_wrong() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    for (method, path, body) in [
        ("GET", "/api/v1/notifications", None),
        ("POST", "/api/v1/notifications/read", Some(json!({"all": true}))),
        ("GET", "/api/v1/me/preferences", None),
        ("PUT", "/api/v1/me/preferences", Some(json!({"digest": "daily"}))),
    ] {
        let (status, body) = desk.call(method, path, &customer, body).await;
        assert_error((status, &body), 403, "forbidden");
    }
    let (status, body) = desk.server.call("GET", "/api/v1/notifications", None, None).await;
    assert_error((status, &body), 401, "unauthenticated");
    let mut socket = WsClient::connect(&desk.server.base, &customer).await;
    socket.send(json!({"type": "subscribe", "topic": "notifications"})).await;
    let refused = socket.expect("error", Duration::from_secs(5)).await;
    assert_eq!(refused["code"], json!("forbidden_topic"));
    socket.close().await;

    let (status, body) = desk.call("GET", "/api/v1/notifications?unread=true&kind=mention", &agent, None).await;
    assert_error((status, &body), 400, "invalid_query");
    assert!(body["message"].as_str().expect("message").contains("kind"), "{body}");
    let (status, body) = desk.call("GET", "/api/v1/me/preferences?x=1", &agent, None).await;
    assert_error((status, &body), 400, "invalid_query");
    let (status, body) = desk.call("GET", "/api/v1/notifications?limit=0", &agent, None).await;
    assert_invalid((status, &body), "limit");
    let (status, body) = desk.call("GET", "/api/v1/notifications?cursor=abc", &agent, None).await;
    assert_invalid((status, &body), "cursor");
    for bad in [json!({}), json!({"ids": [1], "all": true}), json!({"ids": []}), json!({"all": false})] {
        let (status, body) = desk.call("POST", "/api/v1/notifications/read", &agent, Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad} answered {status}: {body}");
    }
    let (status, body) =
        desk.call("POST", "/api/v1/notifications/read", &agent, Some(json!({"ids": [1], "x": 1}))).await;
    assert_error((status, &body), 422, "validation_failed");

    for quiet in [
        json!({"from": "22:00", "to": "22:00"}),
        json!({"from": "25:00", "to": "07:00"}),
        json!({"from": "9:00", "to": "17:00"}),
    ] {
        let (status, body) =
            desk.call("PUT", "/api/v1/me/preferences", &agent, Some(json!({"quiet_hours": quiet}))).await;
        assert_invalid((status, &body), "quiet_hours");
    }
    for (bad, field) in [
        (json!({"digest": "weekly"}), "digest"),
        (json!({"kinds": {"mentions": false}}), "kinds"),
        (json!({"kinds": {"mention": "no"}}), "kinds.mention"),
    ] {
        let (status, body) = desk.call("PUT", "/api/v1/me/preferences", &agent, Some(bad.clone())).await;
        assert_error((status, &body), 422, "validation_failed");
        assert!(body["field"].as_str().expect("field").starts_with(field), "{bad}: {body}");
    }
    let (status, body) = desk.call("PUT", "/api/v1/me/preferences", &agent, Some(json!({"sound": true}))).await;
    assert_error((status, &body), 422, "validation_failed");
    // Nothing refused was kept.
    let defaults = desk.expect(200, "GET", "/api/v1/me/preferences", &agent, None).await;
    assert_eq!(defaults["quiet_hours"], Value::Null);
    assert_eq!(defaults["digest"], json!("off"));
    assert!(defaults["kinds"].as_object().expect("kinds").values().all(|on| *on == json!(true)), "{defaults}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_turned_off_is_not_stored_and_preferences_read_back() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let saved = desk
        .expect(
            200,
            "PUT",
            "/api/v1/me/preferences",
            &agent,
            Some(json!({"kinds": {"customer_reply": false}, "quiet_hours": {"from": "22:00", "to": "07:00"}, "digest": "daily"})),
        )
        .await;
    assert_eq!(desk.expect(200, "GET", "/api/v1/me/preferences", &agent, None).await, saved);
    assert_eq!(saved["kinds"]["customer_reply"], json!(false));
    assert_eq!(saved["kinds"]["mention"], json!(true));
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.ticket_for_customer(&admin, "Quiet please").await);
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{id}/assign"),
        &admin,
        Some(json!({"assignee_id": desk.seeded.agent.id})),
    )
    .await;
    desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &customer, Some(json!({"body": "Hello?"})))
        .await;
    settle(&desk, &admin, (&agent, desk.seeded.agent.id), 2).await;
    assert!(!kinds(&desk, &agent).await.iter().any(|(kind, _)| kind == "customer_reply"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_in_the_users_zone_store_without_alerting_except_critical() {
    let clock = manual_clock();
    let desk = Desk::start_with_clock(clock.clone()).await;
    let (admin, agent) = desk.staff().await;
    let zone = "America/New_York";
    let agent_id = desk.seeded.agent.id;
    desk.expect(200, "PATCH", &format!("/api/v1/users/{agent_id}"), &admin, Some(json!({"time_zone": zone}))).await;
    // Quiet from an hour ago to an hour from now, on the agent's wall clock.
    let local = clock.now().to_zoned(jiff::tz::TimeZone::get(zone).expect("zone"));
    let at =
        |hours: i64| local.checked_add(SignedDuration::from_hours(hours)).expect("time").strftime("%H:%M").to_string();
    let quiet = json!({"quiet_hours": {"from": at(-1), "to": at(1)}});
    desk.expect(200, "PUT", "/api/v1/me/preferences", &agent, Some(quiet)).await;
    let mut socket = WsClient::connect(&desk.server.base, &agent).await;
    socket.subscribe("notifications", None).await;

    let id = id_of(&desk.ticket_for_customer(&admin, "At night").await);
    let assigned_at = std::time::Instant::now();
    desk.expect(200, "POST", &format!("/api/v1/tickets/{id}/assign"), &admin, Some(json!({"assignee_id": agent_id})))
        .await;
    let frame = socket.expect("notification", Duration::from_secs(5)).await;
    // Woken by the commit, not by a poll: well under a second from the change to the socket.
    assert!(assigned_at.elapsed() < Duration::from_millis(800), "took {:?}", assigned_at.elapsed());
    assert_eq!(frame["topic"], json!("notifications"));
    assert_eq!(
        (&frame["notification"]["kind"], &frame["alert"], &frame["unread"]),
        (&json!("assigned"), &json!(false), &json!(1))
    );
    desk.patch(&admin, id, json!({"urgency": "critical", "importance": "critical"})).await;
    let frame = socket.expect("notification", Duration::from_secs(5)).await;
    assert_eq!(
        (&frame["notification"]["kind"], &frame["alert"]),
        (&json!("critical"), &json!(true)),
        "critical alerts anyway"
    );

    // Three hours later the quiet hours are over.
    clock.advance(SignedDuration::from_hours(3));
    let other = id_of(&desk.ticket_for_customer(&admin, "Morning").await);
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{other}/assign"),
        &admin,
        Some(json!({"assignee_id": agent_id})),
    )
    .await;
    let frame = socket.expect("notification", Duration::from_secs(5)).await;
    assert_eq!(
        (&frame["notification"]["ticket_id"], &frame["alert"], &frame["unread"]),
        (&json!(other), &json!(true), &json!(3))
    );
    // Reading elsewhere tells this socket the new count.
    desk.expect(200, "POST", "/api/v1/notifications/read", &agent, Some(json!({"all": true}))).await;
    let frame = socket.expect("notifications_read", Duration::from_secs(5)).await;
    assert_eq!(frame["unread"], json!(0));
    socket.close().await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_mails_unread_notifications_on_its_durable_timer() {
    let clock = manual_clock();
    let desk = Desk::start_with_clock(clock.clone()).await;
    let (admin, agent) = desk.staff().await;
    desk.expect(200, "PUT", "/api/v1/me/preferences", &agent, Some(json!({"digest": "hourly"}))).await;
    let mut tickets = Vec::new();
    for subject in ["Broken zip", "Lost parcel"] {
        let id = id_of(&desk.ticket_for_customer(&admin, subject).await);
        let path = format!("/api/v1/tickets/{id}/assign");
        desk.expect(200, "POST", &path, &admin, Some(json!({"assignee_id": desk.seeded.agent.id}))).await;
        tickets.push(id);
    }
    let page = wait_for(&desk, &agent, 2).await;
    // One read: the digest lists only what is unread.
    let read = page["items"][0]["id"].clone();
    desk.expect(200, "POST", "/api/v1/notifications/read", &agent, Some(json!({"ids": [read]}))).await;

    // The hour passes while the server is down: the next start fires the stored timer.
    let Desk { _db: db, seeded, server } = desk;
    server.stop().await;
    clock.advance(SignedDuration::from_mins(61));
    let desk = Desk { server: TestServer::start_with_clock(db.settings(), clock.clone()).await, _db: db, seeded };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mail = loop {
        let (_, mailbox) = desk.call("GET", "/sandbox/mail/messages?address=agent@test.example", &admin, None).await;
        if let Some(mail) = mailbox["items"].as_array().and_then(|items| items.first()).cloned() {
            break mail;
        }
        assert!(tokio::time::Instant::now() < deadline, "no digest in the mailbox: {mailbox}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(mail["subject"], json!("Switchboard: 1 unread notification"), "{mail}");
    let text = mail["text"].as_str().expect("text");
    assert!(text.contains("Broken zip") && !text.contains("Lost parcel"), "{text}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_cursor_without_duplicates_or_losses() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let agent_id = desk.seeded.agent.id;
    let mut tickets = Vec::new();
    for subject in ["A", "B", "C"] {
        let id = id_of(&desk.ticket_for_customer(&admin, subject).await);
        desk.expect(
            200,
            "POST",
            &format!("/api/v1/tickets/{id}/assign"),
            &admin,
            Some(json!({"assignee_id": agent_id})),
        )
        .await;
        tickets.push(id);
    }
    let before = ids_of(&wait_for(&desk, &agent, 3).await);

    // A crash between an event's commit and the notifier's own: the last notification and its
    // cursor move are undone as if that transaction never committed.
    let Desk { _db: db, seeded, server } = desk;
    server.stop().await;
    {
        use sqlx::Connection as _;
        let mut connection = sqlx::SqliteConnection::connect(&db.url).await.expect("database");
        let position: i64 = sqlx::query_scalar("SELECT position FROM notifications WHERE id = $1")
            .bind(before[0])
            .fetch_one(&mut connection)
            .await
            .expect("position");
        sqlx::query("DELETE FROM notifications WHERE id = $1")
            .bind(before[0])
            .execute(&mut connection)
            .await
            .expect("delete");
        sqlx::query("UPDATE notifier_cursor SET position = $1")
            .bind(position - 1)
            .execute(&mut connection)
            .await
            .expect("rewind");
    }
    let desk = Desk { server: TestServer::start(db.settings()).await, _db: db, seeded };
    let page = wait_for(&desk, &agent, 3).await;
    let tickets_told: Vec<i64> =
        page["items"].as_array().expect("items").iter().map(|n| n["ticket_id"].as_i64().expect("ticket")).collect();
    assert_eq!(tickets_told, [tickets[2], tickets[1], tickets[0]], "the lost one is written again, once");
    // The rest were not written again; a new event notifies once.
    let id = id_of(&desk.ticket_for_customer(&admin, "D").await);
    desk.expect(200, "POST", &format!("/api/v1/tickets/{id}/assign"), &admin, Some(json!({"assignee_id": agent_id})))
        .await;
    let page = wait_for(&desk, &agent, 4).await;
    assert_eq!(page["items"][0]["ticket_id"], json!(id));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(kinds(&desk, &agent).await.len(), 4, "no duplicates");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mention_in_a_burst_notifies_once() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let id = id_of(&desk.ticket_for_customer(&admin, "Busy").await);
    let path = format!("/api/v1/tickets/{id}/messages");
    let notes: Vec<_> = (0..6)
        .map(|n| {
            let body = json!({"body": format!("{} round {n}", mention(&desk.seeded.supervisor)), "internal": true});
            desk.expect(201, "POST", &path, &admin, Some(body))
        })
        .collect();
    futures_util::future::join_all(notes).await;
    let page = wait_for(&desk, &supervisor, 6).await;
    let mut rounds: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["text"].as_str().expect("text").rsplit(' ').next().expect("round").to_owned())
        .collect();
    rounds.sort();
    assert_eq!(rounds, ["0", "1", "2", "3", "4", "5"], "each note once, none folded into another");
    desk.stop().await;
}
