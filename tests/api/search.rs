//! `GET /api/v1/tickets?q=`: the query language on the ticket list — what the store can filter
//! narrows the list, everything else is a 400 `invalid_query` that says why, never ignored.

use super::*;

/// Percent-encodes what a query string cannot carry as is.
fn encoded(query: &str) -> String {
    query
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '"' => "%22".to_owned(),
            '&' => "%26".to_owned(),
            '#' => "%23".to_owned(),
            '%' => "%25".to_owned(),
            '+' => "%2B".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_takes_the_query_language_and_refuses_what_it_cannot_filter() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.seeded.customer.id;
    let create = |body: Value| {
        let desk = &desk;
        let agent = &agent;
        async move { id_of(&desk.create_ticket(agent, body).await) }
    };
    let printer = create(json!({
        "subject": "Printer on FIRE", "body": "smoke", "requester_id": customer,
        "urgency": "critical", "importance": "critical", "tags": ["Hardware"]
    }))
    .await;
    let invoice = create(json!({
        "subject": "Invoice question", "body": "I would like a refund please",
        "requester_id": desk.seeded.other_customer.id, "assignee_id": desk.seeded.agent.id
    }))
    .await;
    let login =
        create(json!({"subject": "Login broken sso gateway", "requester_id": customer, "status": "pending"})).await;

    let cases = [
        ("status:new,open", vec![printer, invoice]),
        ("status: pending", vec![login]),
        ("STATUS:Pending", vec![login]),
        ("priority:urgent", vec![printer]),
        ("priority: low,medium", vec![invoice, login]),
        ("assignee:me", vec![invoice]),
        ("assignee: none priority:medium", vec![login]),
        ("tag:hardware", vec![printer]),
        ("tag:HARDWARE printer", vec![printer]),
        ("tag:hardware refund", vec![]),
        ("channel:whatsapp", vec![]),
        ("sso gateway", vec![login]),
        ("refund", vec![invoice]),
        ("", vec![printer, invoice, login]),
    ];
    for (query, expected) in cases {
        let mut got = desk.list_ids(&agent, &format!("q={}", encoded(query))).await;
        got.sort_unstable();
        let mut expected = expected;
        expected.sort_unstable();
        assert_eq!(got, expected, "q={query}");
    }

    let refusals = [
        ("status:", "q: at 7: expected a value after \"status:\", found end of query"),
        ("status:open,,pending", "q: at 12: expected a value after \",\", found \",\""),
        ("urgencyy:critical", "q: at 0: expected a field (status, category, priority"),
        ("company: \"Acme Corp", "q: at 9: expected a closing"),
        ("created:2026-13-01", "q: at 8: expected a date after \"created:\""),
        ("urgency:critical", "q: `urgency:` is not searchable yet"),
        ("created:today", "q: `created:` is not searchable yet"),
        ("field.order_number:A1", "q: `field.order_number:` is not searchable yet"),
        ("-tag:hardware", "q: negation (`-tag:`) is not searchable yet"),
        ("\"card declined\"", "q: a quoted phrase"),
        ("assignee:ana@example.com", "q: an assignee by name or email"),
        ("tag:a,b", "q: more than one value for `tag:`"),
        ("tag:a tag:b", "q: `tag:` is given twice"),
        ("status:open,on_hold", "q: mixing status categories and status names"),
        ("team:nobody", "q: no team is named `nobody`"),
    ];
    for (query, message) in refusals {
        let (status, body) = desk.call("GET", &format!("/api/v1/tickets?q={}", encoded(query)), &agent, None).await;
        assert_error((status, &body), 400, "invalid_query");
        let got = body["message"].as_str().unwrap_or_default();
        assert!(got.starts_with(message), "q={query}: {got}");
    }
    let (status, body) = desk.call("GET", "/api/v1/tickets?status=open&q=status:open", &agent, None).await;
    assert_error((status, &body), 400, "invalid_query");
    assert!(body["message"].as_str().unwrap_or_default().contains("repeats the `status` parameter"), "{body}");
    desk.stop().await;
}
