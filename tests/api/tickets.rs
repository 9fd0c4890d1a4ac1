//! An agent's ticket flow: create, read, list, filter, page, sort, change, reply, assign, bulk, the event log.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_creates_tickets_for_customers() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;

    let by_id = desk
        .create_ticket(
            &agent,
            json!({"subject": "Printer jammed", "body": "Paper everywhere.", "requester_id": desk.seeded.customer.id}),
        )
        .await;
    assert_eq!(by_id["requester_id"], json!(desk.seeded.customer.id));
    assert_eq!(by_id["status"], json!("new"));
    assert_eq!(by_id["channel"], json!("api"));
    assert_eq!(by_id["priority"], json!("medium"));
    assert_eq!(by_id["seq"], json!(2));
    assert_eq!(by_id["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_id["messages"][0]["kind"], json!("customer"));

    // A new email creates a customer; the same email again reuses them.
    let customers = desk.users(&admin).await.len();
    let by_email = desk
        .create_ticket(
            &agent,
            json!({"subject": "Where is my order?", "requester_email": "new.customer@example.com", "requester_name": "Nia"}),
        )
        .await;
    let requester = by_email["requester_id"].as_i64().expect("requester");
    let user = desk.expect(200, "GET", &format!("/api/v1/users/{requester}"), &agent, None).await;
    assert_eq!(user["email"], json!("new.customer@example.com"));
    assert_eq!(user["name"], json!("Nia"));
    assert_eq!(user["role"], json!("customer"));
    assert_eq!(desk.users(&admin).await.len(), customers + 1);
    let again = desk
        .create_ticket(&agent, json!({"subject": "Still waiting", "requester_email": "new.customer@example.com"}))
        .await;
    assert_eq!(again["requester_id"], json!(requester));
    assert_eq!(desk.users(&admin).await.len(), customers + 1);
    assert_ne!(by_email["number"], again["number"]);

    // Staff cannot file a ticket for another staff member.
    let (status, body) = desk
        .call("POST", "/api/v1/tickets", &agent, Some(json!({"subject": "x", "requester_id": desk.seeded.admin.id})))
        .await;
    assert_invalid((status, &body), "requester_id");
    assert_eq!(desk.ticket_count(&agent).await, 3);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_ticket_includes_its_messages() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Help").await);
    desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &agent, Some(json!({"body": "On it."}))).await;
    let ticket = desk.ticket(&agent, id).await;
    assert_eq!(ticket["id"], json!(id));
    assert_eq!(ticket["subject"], json!("Help"));
    let messages = ticket["messages"].as_array().expect("messages");
    let bodies: Vec<_> = messages.iter().map(|message| message["body"].as_str().expect("body")).collect();
    assert_eq!(bodies, ["Please help.", "On it."]);
    assert_eq!(messages[1]["kind"], json!("reply"));
    assert_eq!(messages[1]["author_id"], json!(desk.seeded.agent.id));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_narrow_the_queue() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let printer = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({
                    "subject": "Printer on FIRE", "body": "smoke", "requester_id": desk.seeded.customer.id,
                    "urgency": "critical", "importance": "critical", "tags": ["Hardware"]
                }),
            )
            .await,
    );
    let invoice = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({
                    "subject": "Invoice question", "body": "I would like a refund please",
                    "requester_id": desk.seeded.other_customer.id, "assignee_id": desk.seeded.agent.id
                }),
            )
            .await,
    );
    let login = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({"subject": "Login broken", "requester_id": desk.seeded.customer.id, "status": "pending"}),
            )
            .await,
    );
    // Internal notes are searchable by staff.
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{login}/messages"),
        &agent,
        Some(json!({"body": "suspect the sso gateway", "internal": true})),
    )
    .await;

    let other = desk.seeded.other_customer.id;
    let cases = [
        ("status=pending".to_owned(), vec![login]),
        ("status=new,open".to_owned(), vec![printer, invoice]),
        ("category=pending".to_owned(), vec![login]),
        ("priority=urgent".to_owned(), vec![printer]),
        ("priority=medium".to_owned(), vec![invoice, login]),
        ("assignee=me".to_owned(), vec![invoice]),
        ("assignee=none".to_owned(), vec![printer, login]),
        ("tag=hardware".to_owned(), vec![printer]),
        ("tag=software".to_owned(), vec![]),
        (format!("requester={other}"), vec![invoice]),
        ("q=printer".to_owned(), vec![printer]),
        ("q=refund".to_owned(), vec![invoice]),
        ("q=sso%20gateway".to_owned(), vec![login]),
    ];
    for (query, expected) in cases {
        assert_eq!(sorted(desk.list_ids(&agent, &query).await), sorted(expected), "filter `{query}`");
    }
    assert_eq!(desk.list_ids(&agent, "q=printer&status=pending").await, Vec::<i64>::new());
    assert_eq!(sorted(desk.list_ids(&agent, "").await), sorted(vec![printer, invoice, login]));

    let (status, body) = desk.call("GET", "/api/v1/tickets?priority=extreme", &agent, None).await;
    assert_invalid((status, &body), "priority");
    let (status, body) = desk.call("GET", "/api/v1/tickets?sort=sideways", &agent, None).await;
    assert_invalid((status, &body), "sort");
    let (status, body) = desk.call("GET", "/api/v1/tickets?limit=0", &agent, None).await;
    assert_invalid((status, &body), "limit");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_visits_every_ticket_exactly_once() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(id_of(&desk.ticket_for_customer(&agent, &format!("Ticket {n}")).await));
    }
    for sort in ["-updated_at", "created_at", "-priority"] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut query = format!("limit=2&sort={sort}");
        loop {
            let (page, next) = desk.list(&agent, &query).await;
            pages += 1;
            assert!(page.len() <= 2, "page larger than limit: {page:?}");
            seen.extend(page);
            match next {
                Some(cursor) => query = format!("limit=2&sort={sort}&cursor={cursor}"),
                None => break,
            }
            assert!(pages < 10, "pagination does not end");
        }
        assert_eq!(pages, 4, "7 tickets in pages of 2 ({sort})");
        let mut unique = sorted(seen.clone());
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "duplicates with {sort}: {seen:?}");
        assert_eq!(sorted(seen.clone()), sorted(created.clone()), "every ticket once with {sort}");
        if sort == "created_at" {
            assert_eq!(seen, created, "oldest first");
        }
    }
    let (status, body) = desk.call("GET", "/api/v1/tickets?cursor=garbage!", &agent, None).await;
    assert_invalid((status, &body), "cursor");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_by_priority_puts_urgent_first() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let levels =
        [("low", "low"), ("critical", "critical"), ("medium", "medium"), ("high", "high"), ("low", "critical")];
    for (n, (urgency, importance)) in levels.iter().enumerate() {
        desk.create_ticket(
            &agent,
            json!({
                "subject": format!("P{n}"), "requester_id": desk.seeded.customer.id,
                "urgency": urgency, "importance": importance
            }),
        )
        .await;
    }
    let page = desk.expect(200, "GET", "/api/v1/tickets?sort=-priority", &agent, None).await;
    let priorities: Vec<_> =
        page["items"].as_array().expect("items").iter().map(|item| item["priority"].as_str().expect("p")).collect();
    assert_eq!(priorities, ["urgent", "high", "high", "medium", "low"]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_derives_priority_from_urgency_and_importance() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Outage").await);
    let changed = desk.patch(&agent, id, json!({"status": "open", "urgency": "critical"})).await;
    assert_eq!(changed["ticket"]["status"], json!("open"));
    assert_eq!(changed["ticket"]["urgency"], json!("critical"));
    assert_eq!(changed["ticket"]["priority"], json!("high"), "critical × medium");
    let changed = desk.patch(&agent, id, json!({"importance": "critical"})).await;
    assert_eq!(changed["ticket"]["priority"], json!("urgent"), "critical × critical");
    let event = &changed["events"][0];
    assert_eq!(event["type"], json!("priority_changed"));
    assert_eq!((&event["from"], &event["to"]), (&json!("high"), &json!("urgent")));
    let changed = desk.patch(&agent, id, json!({"urgency": "low", "importance": "low"})).await;
    assert_eq!(changed["ticket"]["priority"], json!("low"));

    // The same values again change nothing and append nothing.
    let seq = changed["ticket"]["seq"].clone();
    let unchanged = desk.patch(&agent, id, json!({"urgency": "low", "status": "open"})).await;
    assert_eq!(unchanged["events"], json!([]));
    assert_eq!(unchanged["ticket"]["seq"], seq);
    assert_eq!(desk.ticket(&agent, id).await["priority"], json!("low"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_replaces_adds_and_removes_tags() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Tags").await);
    let changed = desk.patch(&agent, id, json!({"tags": ["Billing", "vip", " urgent-ish "]})).await;
    assert_eq!(changed["ticket"]["tags"], json!(["billing", "urgent-ish", "vip"]));
    let changed = desk.patch(&agent, id, json!({"add_tags": ["refund"], "remove_tags": ["vip"]})).await;
    assert_eq!(changed["ticket"]["tags"], json!(["billing", "refund", "urgent-ish"]));
    let event = &changed["events"][0];
    assert_eq!(event["type"], json!("tags_changed"));
    assert_eq!((&event["added"], &event["removed"]), (&json!(["refund"]), &json!(["vip"])));
    let changed = desk.patch(&agent, id, json!({"tags": ["refund"]})).await;
    assert_eq!(changed["ticket"]["tags"], json!(["refund"]));
    assert_eq!(desk.ticket(&agent, id).await["tags"], json!(["refund"]));
    assert_eq!(desk.list_ids(&agent, "tag=refund").await, vec![id]);
    assert_eq!(desk.list_ids(&agent, "tag=billing").await, Vec::<i64>::new());

    let before = desk.log_state(&agent, id).await;
    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/tickets/{id}"), &agent, Some(json!({"add_tags": ["a,b"]}))).await;
    assert_invalid((status, &body), "tags");
    assert_eq!(desk.log_state(&agent, id).await, before);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_are_defined_then_typed() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Fields").await);
    let path = format!("/api/v1/tickets/{id}");

    // Undefined fields are refused.
    let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"custom_fields": {"order_number": 7}}))).await;
    assert_invalid((status, &body), "custom_fields");

    let define = |key: &str, field_type: &str, options: Value| json!({"key": key, "label": key.replace('_', " "), "field_type": field_type, "options": options});
    let (status, body) = desk
        .call("PUT", "/api/v1/account/custom-fields", &agent, Some(define("order_number", "number", json!([]))))
        .await;
    assert_error((status, &body), 403, "forbidden");
    desk.expect(204, "PUT", "/api/v1/account/custom-fields", &admin, Some(define("order_number", "number", json!([]))))
        .await;
    desk.expect(
        204,
        "PUT",
        "/api/v1/account/custom-fields",
        &admin,
        Some(define("plan", "select", json!(["free", "pro"]))),
    )
    .await;
    let config = desk.expect(200, "GET", "/api/v1/account/config", &agent, None).await;
    let keys: Vec<_> = config["custom_fields"].as_array().expect("fields").iter().map(|f| f["key"].clone()).collect();
    assert!(keys.contains(&json!("order_number")) && keys.contains(&json!("plan")), "{config}");

    let changed = desk.patch(&agent, id, json!({"custom_fields": {"order_number": 1042, "plan": "pro"}})).await;
    assert_eq!(changed["ticket"]["custom_fields"], json!({"order_number": 1042, "plan": "pro"}));
    assert_eq!(changed["events"][0]["type"], json!("fields_changed"));

    let before = desk.log_state(&agent, id).await;
    for wrong in [json!({"order_number": "ten"}), json!({"plan": "enterprise"}), json!({"order_number": true})] {
        let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"custom_fields": wrong}))).await;
        assert_invalid((status, &body), "custom_fields");
    }
    assert_eq!(desk.log_state(&agent, id).await, before);
    assert_eq!(desk.ticket(&agent, id).await["custom_fields"], json!({"order_number": 1042, "plan": "pro"}));

    // `null` removes a value.
    let changed = desk.patch(&agent, id, json!({"custom_fields": {"plan": null}})).await;
    assert_eq!(changed["ticket"]["custom_fields"], json!({"order_number": 1042}));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_and_custom_statuses_are_usable_in_patch() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Vocabulary").await);
    let path = format!("/api/v1/tickets/{id}");

    let billing =
        desk.expect(201, "POST", "/api/v1/account/categories", &admin, Some(json!({"name": "Billing"}))).await;
    let refunds = desk
        .expect(
            201,
            "POST",
            "/api/v1/account/categories",
            &admin,
            Some(json!({"name": "Refunds", "parent_id": id_of(&billing)})),
        )
        .await;
    assert_eq!(refunds["path"], json!("Billing / Refunds"));
    let (status, body) =
        desk.call("POST", "/api/v1/account/categories", &admin, Some(json!({"name": "Billing"}))).await;
    assert_error((status, &body), 409, "category_exists");

    let changed = desk.patch(&agent, id, json!({"category_id": id_of(&refunds)})).await;
    assert_eq!(changed["ticket"]["category_id"], json!(id_of(&refunds)));
    let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"category_id": 424242}))).await;
    assert_invalid((status, &body), "category_id");
    let changed = desk.patch(&agent, id, json!({"category_id": null})).await;
    assert_eq!(changed["ticket"]["category_id"], Value::Null);

    let status_body = json!({"key": "waiting_on_vendor", "label": "Waiting on vendor", "category": "pending"});
    let (status, body) = desk.call("PUT", "/api/v1/account/statuses", &agent, Some(status_body.clone())).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk.call("PATCH", &path, &agent, Some(json!({"status": "waiting_on_vendor"}))).await;
    assert_invalid((status, &body), "status");
    desk.expect(204, "PUT", "/api/v1/account/statuses", &admin, Some(status_body)).await;

    let changed = desk.patch(&agent, id, json!({"status": "waiting_on_vendor"})).await;
    assert_eq!(changed["ticket"]["status"], json!("waiting_on_vendor"));
    assert_eq!(changed["ticket"]["status_category"], json!("pending"));
    let event = &changed["events"][0];
    assert_eq!(event["type"], json!("status_changed"));
    assert_eq!((&event["to"], &event["category"]), (&json!("waiting_on_vendor"), &json!("pending")));
    assert_eq!(desk.list_ids(&agent, "status=waiting_on_vendor").await, vec![id]);
    assert_eq!(desk.list_ids(&agent, "category=pending").await, vec![id]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_internal_notes_are_added() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Messages").await);
    let path = format!("/api/v1/tickets/{id}/messages");

    let note = desk
        .expect(201, "POST", &path, &agent, Some(json!({"body": "Customer is on the pro plan", "internal": true})))
        .await;
    assert_eq!(note["events"][0]["message"]["kind"], json!("note"));
    assert_eq!(note["ticket"]["status"], json!("new"), "a note does not take the ticket into work");
    let before = note["ticket"]["preview"].clone();
    assert!(before.is_string() && before != json!("Customer is on the pro plan"), "a note is no preview: {note}");

    let reply = desk.expect(201, "POST", &path, &agent, Some(json!({"body": "We are looking\n\ninto it."}))).await;
    assert_eq!(reply["events"][0]["message"]["kind"], json!("reply"));
    assert_eq!(reply["ticket"]["status"], json!("open"), "the first reply opens the ticket");
    assert!(reply["ticket"]["first_response_at"].is_string());
    // The list row's preview is the last public message, whitespace folded, kept in the store.
    let page = desk.expect(200, "GET", "/api/v1/tickets?limit=200", &agent, None).await;
    let listed = page["items"].as_array().expect("items").iter().find(|row| row["id"] == json!(id)).cloned();
    assert_eq!(listed.map(|row| row["preview"].clone()), Some(json!("We are looking into it.")));

    let resolved =
        desk.expect(201, "POST", &path, &agent, Some(json!({"body": "Fixed.", "then_status": "resolved"}))).await;
    assert_eq!(resolved["ticket"]["status"], json!("resolved"));

    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"body": "   "}))).await;
    assert_invalid((status, &body), "body");

    let ticket = desk.ticket(&agent, id).await;
    let kinds: Vec<_> = ticket["messages"].as_array().expect("messages").iter().map(|m| m["kind"].clone()).collect();
    assert_eq!(kinds, [json!("customer"), json!("note"), json!("reply"), json!("reply")]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_to_an_agent_with_a_reason_and_to_a_team() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Assign me").await);
    let path = format!("/api/v1/tickets/{id}/assign");

    let assigned = desk
        .expect(
            200,
            "POST",
            &path,
            &agent,
            Some(json!({"assignee_id": desk.seeded.agent.id, "reason": "knows the billing system"})),
        )
        .await;
    assert_eq!(assigned["ticket"]["assignee_id"], json!(desk.seeded.agent.id));
    assert_eq!(assigned["ticket"]["status"], json!("open"));
    let event = &assigned["events"][0];
    assert_eq!(event["type"], json!("assigned"));
    assert_eq!(event["reason"], json!("knows the billing system"));
    assert_eq!(event["assignee_id"], json!(desk.seeded.agent.id));
    assert_eq!(event["from_assignee_id"], Value::Null);
    assert_eq!(desk.list_ids(&agent, "assignee=me").await, vec![id]);

    let team = desk
        .expect(
            201,
            "POST",
            "/api/v1/teams",
            &admin,
            Some(json!({"name": "Billing", "description": "Money", "member_ids": [desk.seeded.agent.id]})),
        )
        .await;
    assert_eq!(team["member_ids"], json!([desk.seeded.agent.id]));
    let team_id = id_of(&team);
    let assigned =
        desk.expect(200, "POST", &path, &agent, Some(json!({"team_id": team_id, "reason": "billing"}))).await;
    assert_eq!(assigned["ticket"]["team_id"], json!(team_id));
    assert_eq!(assigned["ticket"]["assignee_id"], json!(desk.seeded.agent.id), "absent assignee is kept");
    assert_eq!(desk.list_ids(&agent, &format!("team={team_id}")).await, vec![id]);

    // Customers and unknown teams or agents are refused, and change nothing.
    let before = desk.log_state(&agent, id).await;
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"assignee_id": desk.seeded.customer.id}))).await;
    assert_invalid((status, &body), "assignee_id");
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"team_id": 999}))).await;
    assert_invalid((status, &body), "team_id");
    let (status, body) = desk.call("POST", &path, &agent, Some(json!({"reason": "nothing"}))).await;
    assert_invalid((status, &body), "assignee_id");
    assert_eq!(desk.log_state(&agent, id).await, before);

    let unassigned = desk.expect(200, "POST", &path, &agent, Some(json!({"assignee_id": null}))).await;
    assert_eq!(unassigned["ticket"]["assignee_id"], Value::Null);
    assert!(unassigned["events"][0]["held_secs"].is_i64(), "time held is recorded");
    assert_eq!(desk.list_ids(&agent, "assignee=none").await, vec![id]);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_changes_several_tickets() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let mut tickets = Vec::new();
    for n in 0..3 {
        tickets.push(id_of(&desk.ticket_for_customer(&agent, &format!("Bulk {n}")).await));
    }
    let untouched = id_of(&desk.ticket_for_customer(&agent, "Not in the batch").await);

    let result = desk
        .expect(
            200,
            "POST",
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({
                "ids": tickets,
                "patch": {"status": "pending", "add_tags": ["batch"], "urgency": "high"},
                "assign": {"assignee_id": desk.seeded.agent.id, "reason": "bulk triage"}
            })),
        )
        .await;
    let items = result["items"].as_array().expect("items");
    assert_eq!(sorted(ids(&result["items"])), sorted(tickets.clone()));
    for item in items {
        assert_eq!(item["error"], Value::Null, "{item}");
        assert!(item["seq"].as_i64().is_some_and(|seq| seq > 2), "{item}");
    }
    for id in &tickets {
        let ticket = desk.ticket(&agent, *id).await;
        assert_eq!(ticket["status"], json!("pending"));
        assert_eq!(ticket["tags"], json!(["batch"]));
        assert_eq!(ticket["priority"], json!("high"));
        assert_eq!(ticket["assignee_id"], json!(desk.seeded.agent.id));
    }
    assert_eq!(sorted(desk.list_ids(&agent, "tag=batch").await), sorted(tickets.clone()));
    let other = desk.ticket(&agent, untouched).await;
    assert_eq!((&other["status"], &other["tags"]), (&json!("new"), &json!([])));

    // A bad value fails the whole request before anything is written.
    let mut before = Vec::new();
    for id in &tickets {
        before.push(desk.log_state(&agent, *id).await);
    }
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({"ids": tickets, "patch": {"add_tags": ["again"], "status": "bogus"}})),
        )
        .await;
    assert_invalid((status, &body), "status");
    let (status, body) = desk
        .call(
            "POST",
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({"ids": [tickets[0], 999999], "patch": {"add_tags": ["x"]}})),
        )
        .await;
    assert_error((status, &body), 404, "not_found");
    let (status, body) = desk.call("POST", "/api/v1/tickets/bulk", &agent, Some(json!({"ids": []}))).await;
    assert_error((status, &body), 422, "validation_failed");
    for (id, state) in tickets.iter().zip(before) {
        assert_eq!(desk.log_state(&agent, *id).await, state);
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_after_a_seq_are_exactly_the_newer_ones_in_order() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let id = id_of(&desk.ticket_for_customer(&agent, "Log").await);
    desk.patch(&agent, id, json!({"status": "open"})).await;
    desk.patch(&agent, id, json!({"urgency": "high", "add_tags": ["log"]})).await;
    desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &agent, Some(json!({"body": "Hi"}))).await;
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{id}/assign"),
        &agent,
        Some(json!({"assignee_id": desk.seeded.agent.id})),
    )
    .await;

    let all = desk.events(&agent, id, 0).await;
    let n = all.len() as i64;
    assert_eq!(seqs(&all), (1..=n).collect::<Vec<_>>(), "seqs are 1..n without gaps");
    assert_eq!(
        event_types(&all),
        ["created", "message_added", "status_changed", "tags_changed", "priority_changed", "message_added", "assigned"]
    );
    assert_eq!(desk.ticket(&agent, id).await["seq"], json!(n));
    assert!(all.iter().all(|event| event["ticket_id"] == json!(id)));

    for after in 0..=n {
        let events = desk.events(&agent, id, after).await;
        assert_eq!(seqs(&events), ((after + 1)..=n).collect::<Vec<_>>(), "after={after}");
        assert_eq!(events, all[after as usize..].to_vec());
    }
    assert_eq!(desk.events(&agent, id, n + 10).await, Vec::<Value>::new());
    let (status, body) = desk.call("GET", &format!("/api/v1/tickets/{id}/events?after=-1"), &agent, None).await;
    assert_invalid((status, &body), "after");
    desk.stop().await;
}

// 4. Role rules
