//! SLA policies, clocks, sort and risk.

use std::str::FromStr;

use switchboard_actors::clock::Clock;

use super::*;

/// Urgent: first reply in 30 min, resolved in 4 h; high: first reply in 2 h; medium: resolved in
/// 2 days; low: no SLA.
fn sla_policy() -> Value {
    json!({
        "enabled": true,
        "warning_percent": 75,
        "targets": [
            {"priority": "low", "first_response_minutes": null, "resolution_minutes": null},
            {"priority": "medium", "resolution_minutes": 2880},
            {"priority": "high", "first_response_minutes": 120},
            {"priority": "urgent", "first_response_minutes": 30, "resolution_minutes": 240}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_policy_is_admin_managed_and_validated_naming_the_field() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let path = "/api/v1/account/sla-policy";
    let initial = desk.expect(200, "GET", path, &agent, None).await;
    assert_eq!(
        initial,
        json!({"enabled": false, "warning_percent": 80, "targets": [], "business_hours": null}),
        "off until an admin sets it"
    );

    let (status, body) = desk.call("PUT", path, &agent, Some(sla_policy())).await;
    assert_error((status, &body), 403, "forbidden");

    let with = |change: &dyn Fn(&mut Value)| {
        let mut policy = sla_policy();
        change(&mut policy);
        policy
    };
    let refusals = [
        (with(&|p| p["warning_percent"] = json!(100)), "warning_percent"),
        (with(&|p| p["targets"][3]["first_response_minutes"] = json!(0)), "targets[3].first_response_minutes"),
        (with(&|p| p["targets"][3]["resolution_minutes"] = json!(10)), "targets[3].resolution_minutes"),
        (with(&|p| p["targets"][1]["priority"] = json!("urgent")), "targets[3].priority"),
        (with(&|p| p["targets"][0]["priority"] = json!("critical")), "targets[0].priority"),
        (with(&|p| p["targets"][2]["first_response_minutes"] = json!("soon")), "targets[2].first_response_minutes"),
        (with(&|p| p["targets"] = json!([])), "targets"),
        (with(&|p| p["escalate"] = json!(true)), "escalate"),
        (
            with(
                &|p| p["business_hours"] = json!({"time_zone": "Europe/Nowhere", "periods": [{"weekday": "mon", "start": "09:00", "end": "17:00"}]}),
            ),
            "business_hours.time_zone",
        ),
        (
            with(&|p| {
                p["business_hours"] =
                    json!({"time_zone": "UTC", "periods": [{"weekday": "mon", "start": "09:00", "end": "08:00"}]})
            }),
            "business_hours.periods[0].end",
        ),
        (
            with(&|p| {
                p["business_hours"] =
                    json!({"time_zone": "UTC", "periods": [{"weekday": "someday", "start": "09:00", "end": "17:00"}]})
            }),
            "business_hours.periods[0].weekday",
        ),
        (
            with(
                &|p| p["business_hours"] = json!({"time_zone": "UTC", "periods": [{"weekday": "mon", "start": "09:00", "end": "17:00"}], "holidays": ["2027-02-30"]}),
            ),
            "business_hours.holidays[0]",
        ),
    ];
    for (policy, field) in refusals {
        let (status, body) = desk.call("PUT", path, &admin, Some(policy)).await;
        assert_invalid((status, &body), field);
    }
    assert_eq!(desk.expect(200, "GET", path, &agent, None).await, initial, "a refused policy changes nothing");

    let saved = desk.expect(200, "PUT", path, &admin, Some(sla_policy())).await;
    let order: Vec<&str> =
        saved["targets"].as_array().expect("targets").iter().map(|t| t["priority"].as_str().expect("p")).collect();
    assert_eq!(order, ["urgent", "high", "medium", "low"], "most pressing first");
    assert_eq!(desk.expect(200, "GET", path, &agent, None).await, saved);
    let config = desk.expect(200, "GET", "/api/v1/account/config", &agent, None).await;
    assert_eq!(config["sla_policy"], saved, "part of the account config");
    let hours = json!({
        "time_zone": "Europe/Lisbon",
        "periods": [{"weekday": "mon", "start": "09:00", "end": "13:00"}, {"weekday": "mon", "start": "14:00", "end": "18:00"}],
        "holidays": ["2027-12-25"]
    });
    let with_hours = with(&|p| p["business_hours"] = hours.clone());
    let saved = desk.expect(200, "PUT", path, &admin, Some(with_hours)).await;
    assert_eq!(saved["business_hours"], hours);
    assert_eq!(desk.expect(200, "GET", path, &agent, None).await["business_hours"], hours);

    let (_, document) = desk.server.call("GET", "/api/openapi.json", None, None).await;
    let sla_path = &document["paths"]["/api/v1/account/sla-policy"];
    assert!(sla_path.get("get").is_some() && sla_path.get("put").is_some(), "{sla_path}");
    assert!(document["paths"]["/api/v1/sla/risk"].get("get").is_some());
    for schema in ["SlaPolicy", "SlaTarget", "SlaState", "SlaClock", "SlaRisk"] {
        assert!(document["components"]["schemas"].get(schema).is_some(), "{schema} missing from the OpenAPI schemas");
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_carry_sla_clocks_and_sort_by_sla_due() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(sla_policy())).await;
    let customer = desk.seeded.customer.id;
    let mut ids = std::collections::BTreeMap::new();
    for (name, urgency, importance) in [
        ("low", "low", "low"),
        ("high", "high", "medium"),
        ("urgent", "critical", "critical"),
        ("medium", "medium", "medium"),
    ] {
        let ticket = desk
            .create_ticket(
                &agent,
                json!({"subject": name, "body": "help", "requester_id": customer, "urgency": urgency, "importance": importance}),
            )
            .await;
        assert_eq!(ticket["priority"], json!(name));
        ids.insert(name, id_of(&ticket));
    }
    let id = |name: &str| ids[name];

    let urgent = desk.ticket(&agent, id("urgent")).await;
    let created: jiff::Timestamp = urgent["created_at"].as_str().expect("created_at").parse().expect("timestamp");
    let due = |minutes: i64| json!(created.saturating_add(jiff::SignedDuration::from_mins(minutes)).expect("time"));
    let first = &urgent["sla"]["first_response"];
    assert_eq!((&first["due_at"], &first["met_at"], &first["breached_at"]), (&due(30), &Value::Null, &Value::Null));
    assert_eq!(urgent["sla"]["resolution"]["due_at"], due(240));
    assert_eq!(desk.ticket(&agent, id("low")).await["sla"], Value::Null, "low priority has no SLA");
    let events = desk.events(&agent, id("urgent"), 0).await;
    assert_eq!(event_types(&events), ["created", "sla_changed", "message_added"]);

    let by_due = vec![id("urgent"), id("high"), id("medium"), id("low")];
    assert_eq!(desk.list_ids(&agent, "sort=sla_due").await, by_due, "soonest due first, no SLA last");
    let mut paged = Vec::new();
    let mut query = "sort=sla_due&limit=1".to_owned();
    loop {
        let (page, next) = desk.list(&agent, &query).await;
        paged.extend(page);
        let Some(next) = next else { break };
        query = format!("sort=sla_due&limit=1&cursor={next}");
    }
    assert_eq!(paged, by_due, "keyset pages follow the same order");

    // The first reply meets first response: the urgent ticket is now due at its resolution.
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{}/messages", id("urgent")),
        &agent,
        Some(json!({"body": "on it"})),
    )
    .await;
    let urgent = desk.ticket(&agent, id("urgent")).await;
    assert!(urgent["sla"]["first_response"]["met_at"].is_string(), "{urgent}");
    assert_eq!(desk.list_ids(&agent, "sort=sla_due").await, [id("high"), id("urgent"), id("medium"), id("low")]);

    // Waiting on the customer stops the clocks: no running SLA, so it sorts with the rest.
    let pending = desk.patch(&agent, id("high"), json!({"status": "pending"})).await;
    assert!(pending["ticket"]["sla"]["paused_at"].is_string(), "{pending}");
    assert_eq!(desk.list_ids(&agent, "sort=sla_due").await, [id("urgent"), id("medium"), id("low"), id("high")]);

    // A priority change re-targets the clocks (urgent → high: first response was met already).
    let lowered = desk.patch(&agent, id("urgent"), json!({"urgency": "high", "importance": "medium"})).await;
    assert_eq!(event_types(lowered["events"].as_array().expect("events")), ["priority_changed", "sla_changed"]);
    assert_eq!(lowered["ticket"]["sla"]["resolution"], Value::Null, "high has no resolution target");

    let (status, body) = desk.call("GET", "/api/v1/tickets?sort=sla", &agent, None).await;
    assert_invalid((status, &body), "sort");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_never_see_sla_clocks() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(sla_policy())).await;
    let customer = desk.login("cust@test.example").await;
    let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Clocked", "body": "hello"})).await);
    let patched = desk.patch(&agent, id, json!({"urgency": "critical", "importance": "critical"})).await;
    assert!(patched["ticket"]["sla"]["first_response"]["due_at"].is_string(), "staff see the clocks: {patched}");

    let seen = desk.ticket(&customer, id).await;
    assert_eq!(seen["sla"], Value::Null, "{seen}");
    let (page, _) = desk.list(&customer, "").await;
    assert_eq!(page, vec![id]);
    let listed = desk.expect(200, "GET", "/api/v1/tickets", &customer, None).await;
    assert_eq!(listed["items"][0]["sla"], Value::Null, "{listed}");

    let events = desk.events(&customer, id, 0).await;
    assert_eq!(seqs(&events), (1..=events.len() as i64).collect::<Vec<_>>(), "seq stays contiguous");
    assert!(event_types(&events).iter().all(|kind| !kind.starts_with("sla_")), "{events:?}");
    assert!(event_types(&events).contains(&"private"), "the SLA events are there, hidden");
    assert!(!serde_json::to_string(&events).expect("json").contains("due_at"));
    let staff_events = desk.events(&agent, id, 0).await;
    assert!(event_types(&staff_events).contains(&"sla_changed"));

    // The customer's own message answers with the ticket, still without the clocks.
    let posted = desk
        .expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &customer, Some(json!({"body": "any news?"})))
        .await;
    assert_eq!(posted["ticket"]["sla"], Value::Null, "{posted}");
    assert!(!posted.to_string().contains("due_at"), "{posted}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_risk_is_for_staff() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let page = desk.expect(200, "GET", "/api/v1/sla/risk", &agent, None).await;
    assert_eq!(page["items"], json!([]), "nothing at risk without a policy");
    let customer = desk.login("cust@test.example").await;
    let (status, body) = desk.call("GET", "/api/v1/sla/risk", &customer, None).await;
    assert_error((status, &body), 403, "forbidden");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whatsapp_window_is_an_sla_target_that_warns_breaches_and_escalates() {
    for backend in backends() {
        let clock = manual_clock();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, _) = desk.staff().await;
        // Every priority: reply at least an hour before the customer's window closes.
        let targets: Vec<Value> = ["low", "medium", "high", "urgent"]
            .iter()
            .map(|priority| json!({"priority": priority, "window_minutes": 60}))
            .collect();
        let policy = json!({"enabled": true, "warning_percent": 80, "targets": targets});
        let saved = desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
        assert_eq!(saved["targets"][0]["window_minutes"], json!(60));
        let too_late =
            json!({"enabled": true, "warning_percent": 80, "targets": [{"priority": "low", "window_minutes": 1440}]});
        let refused = desk.expect(422, "PUT", "/api/v1/account/sla-policy", &admin, Some(too_late)).await;
        assert_eq!(refused["field"], json!("targets[0].window_minutes"), "{refused}");
        let escalation = json!({"name": "Escalate", "when": {"event": "sla_breached"},
            "then": [{"notify": "supervisors", "message": "An SLA target was missed"}, {"add_tags": ["escalated"]}]});
        desk.expect(201, "POST", "/api/v1/automations", &admin, Some(escalation)).await;

        let customer = json!({"wa_id": "5511977776666", "name": "Wanda", "text": "Is my order on its way?"});
        desk.expect(200, "POST", "/sandbox/api/send", &admin, Some(customer)).await;
        eventually("the WhatsApp ticket", || async { !desk.list(&admin, "channel=whatsapp").await.0.is_empty() }).await;
        let ticket = desk.list(&admin, "channel=whatsapp").await.0[0];
        // The conversation (and its 24-hour window) is written apart from the ticket.
        eventually("the window stored", || async { desk.ticket(&admin, ticket).await["window"]["state"] == "open" })
            .await;
        let window = desk.ticket(&admin, ticket).await["sla"]["window"].clone();
        let written = jiff::Timestamp::from_str(window["due_at"].as_str().expect("due")).expect("time")
            - jiff::SignedDuration::from_hours(23);
        assert!(window["met_at"].is_null(), "{window}");

        // 19 hours on (past 80 % of the 23): the warning; 23 hours: the breach, and the
        // escalation rule runs on it; the ticket is in `sla: breached`.
        desk = desk.down_for(&clock, clock.now().duration_until(written) + jiff::SignedDuration::from_hours(19)).await;
        let alerts = |events: Vec<Value>| -> Vec<(String, String)> {
            events
                .iter()
                .filter(|event| {
                    event["type"].as_str().is_some_and(|kind| kind.starts_with("sla_") && kind != "sla_changed")
                })
                .map(|event| {
                    (event["type"].as_str().unwrap_or("").to_owned(), event["metric"].as_str().unwrap_or("").to_owned())
                })
                .collect()
        };
        eventually("the window warning", || async { !alerts(desk.events(&admin, ticket, 0).await).is_empty() }).await;
        assert_eq!(alerts(desk.events(&admin, ticket, 0).await), vec![("sla_warning".to_owned(), "window".to_owned())]);
        desk = desk.down_for(&clock, jiff::SignedDuration::from_hours(4)).await;
        let escalated =
            |ticket: Value| ticket["tags"].as_array().is_some_and(|tags| tags.contains(&json!("escalated")));
        eventually("the escalation", || async { escalated(desk.ticket(&admin, ticket).await) }).await;
        assert_eq!(
            alerts(desk.events(&admin, ticket, 0).await),
            vec![("sla_warning".to_owned(), "window".to_owned()), ("sla_breached".to_owned(), "window".to_owned())]
        );
        assert!(escalated(desk.ticket(&admin, ticket).await), "the escalation ran");
        assert_eq!(desk.list_ids(&admin, &format!("q={}", encoded("sla: breached"))).await, vec![ticket]);

        // The reply meets the clock; the customer's next message starts a new one, due 23 h on.
        desk.expect(
            201,
            "POST",
            &format!("/api/v1/tickets/{ticket}/messages"),
            &admin,
            Some(json!({"body": "It ships today"})),
        )
        .await;
        let window = desk.ticket(&admin, ticket).await["sla"]["window"].clone();
        assert!(window["met_at"].is_string() && window["breached_at"].is_string(), "{window}");
        desk.stop().await;
    }
}
