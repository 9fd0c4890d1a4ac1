//! Reply drafts on the server: an agent's own, per ticket, on tickets they may see; customers
//! and other accounts are refused.

use super::*;
use switchboard_actors::domain::Role;

#[tokio::test]
async fn an_agent_keeps_replaces_and_removes_their_draft_on_a_ticket() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let ticket = id_of(&desk.ticket_for_customer(&agent, "Draft me").await);
    let other = id_of(&desk.ticket_for_customer(&agent, "Another customer").await);
    let path = format!("/api/v1/tickets/{ticket}/draft");

    desk.expect(204, "GET", &path, &agent, None).await;
    let kept = desk
        .expect(
            200,
            "PUT",
            &path,
            &agent,
            Some(json!({"body": "Refund approved", "channel": "email", "internal": true})),
        )
        .await;
    assert_eq!(kept["ticket_id"], json!(ticket));
    assert_eq!(kept["body"], json!("Refund approved"));
    let read = desk.expect(200, "GET", &path, &agent, None).await;
    assert_eq!(read, kept, "the draft reads back as it was kept");

    // One draft per author and ticket: another agent's and another ticket's are their own.
    desk.expect(204, "GET", &path, &admin, None).await;
    desk.expect(204, "GET", &format!("/api/v1/tickets/{other}/draft"), &agent, None).await;

    let replaced =
        desk.expect(200, "PUT", &path, &agent, Some(json!({"body": "Refund approved, label attached"}))).await;
    assert_eq!(replaced["channel"], Value::Null, "absent fields reset to the defaults");
    assert_eq!(replaced["internal"], json!(false));
    assert_eq!(desk.expect(200, "GET", &path, &agent, None).await["body"], json!("Refund approved, label attached"));

    let (status, _) = desk.server.call("DELETE", &path, Some(&agent), None).await;
    assert_eq!(status, 204);
    desk.expect(204, "GET", &path, &agent, None).await;
    let (status, _) = desk.server.call("DELETE", &path, Some(&agent), None).await;
    assert_eq!(status, 204, "removing no draft is not an error");
    desk.stop().await;
}

#[tokio::test]
async fn drafts_refuse_customers_other_accounts_unknown_tickets_and_bad_bodies() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let ticket = id_of(&desk.ticket_for_customer(&agent, "Refusals").await);
    let path = format!("/api/v1/tickets/{ticket}/draft");
    let customer = desk.login("cust@test.example").await;
    for method in ["GET", "PUT", "DELETE"] {
        let body = (method == "PUT").then(|| json!({"body": "hi"}));
        let (status, answer) = desk.call(method, &path, &customer, body).await;
        assert_eq!(status, 403, "{method} as a customer: {answer}");
    }

    other_account(&*desk._db.open().await, "outsider@other.example", "Outsider", Role::Agent).await;
    let outsider = desk.login("outsider@other.example").await;
    for method in ["GET", "PUT", "DELETE"] {
        let body = (method == "PUT").then(|| json!({"body": "hi"}));
        let (status, answer) = desk.call(method, &path, &outsider, body).await;
        assert_eq!(status, 404, "{method} from another account: {answer}");
        let (status, _) = desk
            .call(method, "/api/v1/tickets/999999/draft", &agent, (method == "PUT").then(|| json!({"body": "hi"})))
            .await;
        assert_eq!(status, 404, "{method} of an unknown ticket");
    }

    for (index, body) in [
        json!({"body": "hi", "to": "someone"}),
        json!({"body": "x".repeat(65537)}),
        json!({"body": "hi", "channel": "carrier-pigeon"}),
        json!({}),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, answer) = desk.call("PUT", &path, &agent, Some(body)).await;
        assert!(status == 400 || status == 422, "bad body {index} answered {status}: {answer}");
    }
    desk.expect(204, "GET", &path, &agent, None).await;
    desk.stop().await;
}

#[tokio::test]
async fn sending_a_reply_removes_its_authors_draft() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let ticket = id_of(&desk.ticket_for_customer(&agent, "Sent").await);
    let path = format!("/api/v1/tickets/{ticket}/draft");
    desk.expect(200, "PUT", &path, &agent, Some(json!({"body": "Checking the warehouse", "internal": true}))).await;
    desk.expect(
        201,
        "POST",
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        Some(json!({"body": "Checking the warehouse", "internal": true})),
    )
    .await;
    desk.expect(204, "GET", &path, &agent, None).await;
    desk.stop().await;
}
