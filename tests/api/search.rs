//! `GET /api/v1/tickets?q=`: the query language on the ticket list — every field, `,` as OR,
//! `-` negation, dates and ranges, custom fields, full text and phrases; errors are 400
//! `invalid_query` with the position and what was expected; names that match nothing say so.

use jiff::Timestamp;
use switchboard::search::compile;
use switchboard_actors::query::InstantRange;
use switchboard_actors::query::filter::Test;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_filters_by_every_field_with_or_negation_and_text() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let company = desk.expect(201, "POST", "/api/v1/companies", &admin, Some(json!({"name": "Acme Corp"}))).await;
    let acme_user = desk
        .create_user(&admin, json!({"email": "carla@acme.example", "name": "Carla Acme", "role": "customer", "company_id": id_of(&company)}))
        .await;
    let team = desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Tier 1"}))).await;
    let define =
        |key: &str, field_type: &str| json!({"key": key, "label": key, "field_type": field_type, "options": []});
    desk.expect(204, "PUT", "/api/v1/account/custom-fields", &admin, Some(define("order_number", "text"))).await;
    desk.expect(204, "PUT", "/api/v1/account/custom-fields", &admin, Some(define("rush", "boolean"))).await;
    let create = |body: Value| {
        let desk = &desk;
        let agent = &agent;
        async move { id_of(&desk.create_ticket(agent, body).await) }
    };
    let printer = create(json!({
        "subject": "Printer on FIRE", "body": "smoke everywhere", "requester_id": id_of(&acme_user),
        "urgency": "critical", "importance": "critical", "tags": ["Hardware"], "ticket_type": "incident",
        "team_id": id_of(&team), "custom_fields": {"order_number": "A-1042", "rush": true}
    }))
    .await;
    let invoice = create(json!({
        "subject": "Invoice question", "body": "I would like a refund please",
        "requester_id": desk.seeded.other_customer.id, "assignee_id": desk.seeded.agent.id,
        "importance": "high"
    }))
    .await;
    let login = create(json!({
        "subject": "Login broken sso gateway", "requester_id": desk.seeded.customer.id, "status": "pending",
        "custom_fields": {"rush": false}
    }))
    .await;
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{invoice}/messages"),
        &agent,
        Some(json!({"body": "checking the ledger", "internal": true})),
    )
    .await;

    let cases = [
        ("status: open urgency: critical", vec![]),
        ("status:new,open", vec![printer, invoice]),
        ("status: pending", vec![login]),
        ("STATUS:Pending", vec![login]),
        ("-status:pending", vec![printer, invoice]),
        ("urgency: critical importance: critical", vec![printer]),
        ("importance: high,critical", vec![printer, invoice]),
        ("-urgency:critical", vec![invoice, login]),
        ("priority:urgent", vec![printer]),
        ("assignee:me", vec![invoice]),
        ("assignee: agent@test.example", vec![invoice]),
        ("assignee: none priority:medium", vec![login]),
        ("-assignee:none", vec![invoice]),
        ("team: \"tier 1\"", vec![printer]),
        ("team: none", vec![invoice, login]),
        ("-team:\"Tier 1\"", vec![invoice, login]),
        ("company: \"Acme Corp\" importance: critical", vec![printer]),
        ("company: none", vec![invoice, login]),
        ("requester: carla@acme.example", vec![printer]),
        ("requester: Carla", vec![printer]),
        ("channel:whatsapp", vec![]),
        ("channel: whatsapp,email", vec![]),
        ("-channel: whatsapp,email", vec![printer, invoice, login]),
        ("tag:HARDWARE printer", vec![printer]),
        ("tag:none", vec![invoice, login]),
        ("-tag:hardware", vec![invoice, login]),
        ("type: incident", vec![printer]),
        ("type: none", vec![invoice, login]),
        ("created: today", vec![printer, invoice, login]),
        ("created: -7d..", vec![printer, invoice, login]),
        ("created: 2020-01-01..2020-12-31", vec![]),
        ("updated: yesterday", vec![]),
        ("-resolved: ..2030-01-01", vec![printer, invoice, login]),
        ("resolved: -7d..", vec![]),
        ("waiting: agent", vec![printer, invoice]),
        ("has: note", vec![invoice]),
        ("has: attachment", vec![]),
        ("sla: breached", vec![]),
        ("field.order_number: a-1042", vec![printer]),
        ("field.rush: yes", vec![printer]),
        ("field.rush: false", vec![login]),
        ("field.order_number: none", vec![invoice, login]),
        ("sso gateway", vec![login]),
        ("\"sso gateway\"", vec![login]),
        ("\"gateway sso\"", vec![]),
        ("ledger", vec![invoice]),
        ("refund -importance:high", vec![]),
        ("", vec![printer, invoice, login]),
    ];
    for (query, expected) in cases {
        let mut got = desk.list_ids(&agent, &format!("q={}", encoded(query))).await;
        got.sort_unstable();
        let mut expected = expected;
        expected.sort_unstable();
        assert_eq!(got, expected, "q={query}");
    }
    // The classic parameters AND with `q`.
    assert_eq!(desk.list_ids(&agent, "status=open&q=status:pending").await, Vec::<i64>::new());
    assert_eq!(desk.list_ids(&agent, &format!("priority=urgent&q={}", encoded("tag:hardware"))).await, vec![printer]);

    let refusals = [
        ("status:", 7, "a value after \"status:\""),
        ("status:open,,pending", 12, "a value after \",\""),
        ("urgencyy:critical", 0, "a field (status, category, priority"),
        ("company: \"Acme Corp", 9, "a closing"),
        ("created:2026-13-01", 8, "a date after \"created:\""),
    ];
    for (query, position, expected) in refusals {
        let (status, body) = desk.call("GET", &format!("/api/v1/tickets?q={}", encoded(query)), &agent, None).await;
        assert_error((status, &body), 400, "invalid_query");
        assert_eq!(body["position"], json!(position), "q={query}: {body}");
        assert!(body["expected"].as_str().unwrap_or_default().starts_with(expected), "q={query}: {body}");
    }
    let unknown_names = [
        ("team:nobody", "q: no team is named `nobody`"),
        ("assignee: zed@nowhere.example", "q: no agent matches"),
        ("requester: nobody", "q: no customer matches"),
        ("company: Initech", "q: no company is named `Initech`"),
        ("status: archived", "q: no status is named `archived`"),
        ("type: saga", "q: no ticket type is named `saga`"),
        ("category: Shoes", "q: no category is named `Shoes`"),
        ("field.colour: red", "q: no custom field has the key `colour`"),
        ("field.rush: maybe", "q: `field.rush:` is yes or no"),
    ];
    for (query, message) in unknown_names {
        let (status, body) = desk.call("GET", &format!("/api/v1/tickets?q={}", encoded(query)), &agent, None).await;
        assert_error((status, &body), 400, "invalid_query");
        let got = body["message"].as_str().unwrap_or_default();
        assert!(got.starts_with(message), "q={query}: {got}");
        assert!(body.get("position").is_none(), "only parse errors carry a position: {body}");
    }

    // Customers search their own tickets by what they can see, never by staff-side fields.
    let customer = desk.login("other@test.example").await;
    assert_eq!(desk.list_ids(&customer, &format!("q={}", encoded("refund"))).await, vec![invoice]);
    assert_eq!(
        desk.list_ids(&customer, &format!("q={}", encoded("ledger"))).await,
        Vec::<i64>::new(),
        "notes are private"
    );
    for query in ["assignee:none", "team:none", "tag:vip", "requester:me", "sla:breached", "field.order_number:x"] {
        let (status, body) = desk.call("GET", &format!("/api/v1/tickets?q={}", encoded(query)), &customer, None).await;
        assert_error((status, &body), 400, "invalid_query");
    }
    desk.stop().await;
}

/// `created: today` and `yesterday` are local days of the account's zone: across the spring-forward
/// night in Lisbon yesterday is 23 hours long, across the autumn one 25.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_dates_follow_the_account_zone_across_dst() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let seeded = seed(&*store).await;
    let mut agent = seeded.agent.clone();
    agent.time_zone = "Europe/Lisbon".into();
    let config = store.account_config(seeded.account.id).await.expect("config");
    let range = |text: &'static str, now: &'static str| {
        let (store, config, agent) = (store.clone(), config.clone(), agent.clone());
        async move {
            let now: Timestamp = now.parse().expect("now");
            let filter = compile(store.as_ref(), &config, &agent, text, now).await.expect("compiles");
            match &filter.conditions[0].test {
                Test::Created(ranges) => ranges[0],
                other => panic!("{other:?}"),
            }
        }
    };
    let hours = |range: InstantRange| range.start.expect("start").duration_until(range.end.expect("end")).as_hours();
    // 2026-03-29 01:00 UTC the clocks went from 01:00 to 02:00 in Lisbon.
    assert_eq!(hours(range("created: yesterday", "2026-03-30T12:00:00Z").await), 23);
    assert_eq!(hours(range("created: today", "2026-10-25T12:00:00Z").await), 25);
    let week = range("created: -7d..", "2026-03-30T12:00:00Z").await;
    assert_eq!(
        week.start.expect("start").to_string(),
        "2026-03-23T13:00:00Z",
        "seven local days back is 167 hours (13:00 local both ends)"
    );
    assert_eq!(week.end, None);
    let day = range("created: 2026-11-01", "2026-12-03T12:00:00Z").await;
    assert_eq!(day.start.expect("start").to_string(), "2026-11-01T00:00:00Z");
    assert_eq!(hours(day), 24);
}
