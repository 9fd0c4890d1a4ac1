//! What customers may see and do, alone and in companies.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_open_and_see_only_their_own_tickets() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let other = desk.login("other@test.example").await;

    let mine = desk.create_ticket(&customer, json!({"subject": "My order", "body": "It did not arrive."})).await;
    assert_eq!(mine["requester_id"], json!(desk.seeded.customer.id));
    assert_eq!(mine["channel"], json!("web"));
    assert_eq!(mine["messages"][0]["kind"], json!("customer"));
    let theirs = desk.create_ticket(&other, json!({"subject": "Their order"})).await;
    let staff_made = desk.ticket_for_customer(&agent, "Filed by staff").await;

    assert_eq!(sorted(desk.list_ids(&customer, "").await), sorted(vec![id_of(&mine), id_of(&staff_made)]));
    assert_eq!(desk.list_ids(&other, "").await, vec![id_of(&theirs)]);
    // Filters cannot widen the scope.
    let other_id = desk.seeded.other_customer.id;
    assert_eq!(desk.list_ids(&customer, &format!("requester={other_id}")).await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&customer, "q=order").await, vec![id_of(&mine)]);

    desk.ticket(&customer, id_of(&mine)).await;
    for path in [format!("/api/v1/tickets/{}", id_of(&theirs)), format!("/api/v1/tickets/{}/events", id_of(&theirs))] {
        let (status, body) = desk.call("GET", &path, &customer, None).await;
        assert_error((status, &body), 404, "not_found");
    }
    let before = desk.log_state(&agent, id_of(&theirs)).await;
    let (status, body) = desk
        .call("POST", &format!("/api/v1/tickets/{}/messages", id_of(&theirs)), &customer, Some(json!({"body": "hi"})))
        .await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(desk.log_state(&agent, id_of(&theirs)).await, before);

    // A customer cannot file for someone else or set staff fields.
    let count = desk.ticket_count(&agent).await;
    for extra in [json!({"requester_id": other_id}), json!({"status": "open"}), json!({"tags": ["vip"]})] {
        let mut body = json!({"subject": "Sneaky"});
        body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        let (status, response) = desk.call("POST", "/api/v1/tickets", &customer, Some(body)).await;
        assert_error((status, &response), 403, "forbidden");
    }
    assert_eq!(desk.ticket_count(&agent).await, count);
    // Nor read the staff directory.
    let (status, body) = desk.call("GET", "/api/v1/users", &customer, None).await;
    assert_error((status, &body), 403, "forbidden");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_cannot_change_tickets_or_write_notes() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Mine", "body": "hello"})).await);
    let before = desk.log_state(&agent, id).await;

    let (status, body) =
        desk.call("PATCH", &format!("/api/v1/tickets/{id}"), &customer, Some(json!({"status": "closed"}))).await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/messages"),
            &customer,
            Some(json!({"body": "x", "internal": true})),
        )
        .await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call(
            "POST",
            &format!("/api/v1/tickets/{id}/assign"),
            &customer,
            Some(json!({"assignee_id": desk.seeded.agent.id})),
        )
        .await;
    assert_error((status, &body), 403, "forbidden");
    let (status, body) = desk
        .call("POST", "/api/v1/tickets/bulk", &customer, Some(json!({"ids": [id], "patch": {"status": "closed"}})))
        .await;
    assert_error((status, &body), 403, "forbidden");
    assert_eq!(desk.log_state(&agent, id).await, before);

    // A plain follow-up is allowed and is a customer message.
    let added = desk
        .expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &customer, Some(json!({"body": "More info"})))
        .await;
    assert_eq!(added["events"][0]["message"]["kind"], json!("customer"));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_never_see_internal_notes() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Secret", "body": "hello"})).await);
    let messages = format!("/api/v1/tickets/{id}/messages");
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "TOPSECRET: refund fraud?", "internal": true})))
        .await;
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "Thanks, checking."}))).await;

    let seen = desk.ticket(&customer, id).await;
    let bodies: Vec<_> = seen["messages"].as_array().expect("messages").iter().map(|m| m["body"].clone()).collect();
    assert_eq!(bodies, [json!("hello"), json!("Thanks, checking.")]);
    assert!(!seen.to_string().contains("TOPSECRET"));
    assert_eq!(desk.ticket(&agent, id).await["messages"].as_array().map(Vec::len), Some(3), "staff see the note");

    let events = desk.events(&customer, id, 0).await;
    assert_eq!(seqs(&events), (1..=events.len() as i64).collect::<Vec<_>>(), "seq stays contiguous");
    assert_eq!(events[2]["type"], json!("private"));
    assert_eq!(events[2]["seq"], json!(3));
    assert!(events[2].get("message").is_none());
    assert!(!serde_json::to_string(&events).expect("json").contains("TOPSECRET"));
    assert_eq!(event_types(&events), ["created", "message_added", "private", "message_added", "status_changed"]);
    assert_eq!(desk.events(&agent, id, 2).await[0]["type"], json!("message_added"), "staff see the note event");
    assert_eq!(desk.events(&customer, id, 2).await[0]["type"], json!("private"));

    // Searching for the note's words does not reveal the ticket to the customer.
    assert_eq!(desk.list_ids(&customer, "q=topsecret").await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&agent, "q=topsecret").await, vec![id]);
    desk.stop().await;
}

/// Creates a company and two member customers who can log in; returns their tokens.
async fn company_with_members(desk: &Desk, admin: &str, name: &str, shared: bool) -> (String, String) {
    company_with_writers(desk, admin, name, shared, false).await
}

/// As [`company_with_members`], with members who may also write on each other's tickets.
async fn company_with_writers(desk: &Desk, admin: &str, name: &str, shared: bool, writable: bool) -> (String, String) {
    let company = desk
        .expect(
            201,
            "POST",
            "/api/v1/companies",
            admin,
            Some(
                json!({"name": name, "members_see_company_tickets": shared, "members_write_company_tickets": writable}),
            ),
        )
        .await;
    assert_eq!(company["members_write_company_tickets"], json!(writable));
    assert_eq!(company["members_see_company_tickets"], json!(shared));
    let mut tokens = Vec::new();
    for member in ["ana", "ben"] {
        let email = format!("{member}@{}.example", name.to_lowercase());
        let user = desk
            .create_user(
                admin,
                json!({"email": email, "name": member, "role": "customer", "company_id": id_of(&company)}),
            )
            .await;
        assert_eq!(user["company_id"], json!(id_of(&company)));
        tokens.push(desk.login(&email).await);
    }
    let ben = tokens.pop().expect("ben");
    let ana = tokens.pop().expect("ana");
    (ana, ben)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_members_see_company_tickets_only_when_allowed() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let (open_ana, open_ben) = company_with_members(&desk, &admin, "Acme", true).await;
    let (closed_ana, closed_ben) = company_with_members(&desk, &admin, "Initech", false).await;
    let outsider = desk.login("cust@test.example").await;

    let shared = desk.create_ticket(&open_ana, json!({"subject": "Acme VPN down", "body": "All of us."})).await;
    assert!(shared["company_id"].is_i64(), "the ticket belongs to the company: {shared}");
    let private = desk.create_ticket(&closed_ana, json!({"subject": "Initech printer", "body": "Mine only."})).await;

    // Shared: the fellow member sees it, but writes only on their own tickets…
    assert_eq!(desk.list_ids(&open_ben, "").await, vec![id_of(&shared)]);
    desk.ticket(&open_ben, id_of(&shared)).await;
    let follow_up = format!("/api/v1/tickets/{}/messages", id_of(&shared));
    let (status, body) = desk.call("POST", &follow_up, &open_ben, Some(json!({"body": "Same here"}))).await;
    assert_error((status, &body), 403, "forbidden");
    desk.expect(201, "POST", &follow_up, &open_ana, Some(json!({"body": "Still down"}))).await;
    // …unless the company lets its members write on each other's tickets.
    let (writer_ana, writer_ben) = company_with_writers(&desk, &admin, "Globex", true, true).await;
    let together = desk.create_ticket(&writer_ana, json!({"subject": "Globex VPN", "body": "All of us."})).await;
    let path = format!("/api/v1/tickets/{}/messages", id_of(&together));
    desk.expect(201, "POST", &path, &writer_ben, Some(json!({"body": "Same here"}))).await;

    // Not shared: the fellow member sees nothing.
    assert_eq!(desk.list_ids(&closed_ben, "").await, Vec::<i64>::new());
    let (status, body) = desk.call("GET", &format!("/api/v1/tickets/{}", id_of(&private)), &closed_ben, None).await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(desk.list_ids(&closed_ana, "").await, vec![id_of(&private)]);

    // Nobody outside the company sees either.
    assert_eq!(desk.list_ids(&outsider, "").await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&closed_ben, "q=acme").await, Vec::<i64>::new());
    let (status, body) = desk.call("GET", &format!("/api/v1/tickets/{}", id_of(&shared)), &outsider, None).await;
    assert_error((status, &body), 404, "not_found");
    assert_eq!(
        sorted(desk.list_ids(&agent, "").await),
        sorted(vec![id_of(&shared), id_of(&private), id_of(&together)])
    );
    desk.stop().await;
}
