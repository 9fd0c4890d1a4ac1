//! Merge, unmerge and split: both tickets' logs (gap-free seqs, the link events), the target's
//! thread in time order, tags, the reply channel, a WhatsApp follow-up landing in the target,
//! and every refusal.

use std::time::{Duration, Instant};

use super::*;
use common::fake_graph::FakeGraph;
use switchboard::channels::whatsapp::sign;

const SECRET: &str = "merge-test-secret";
const NUMBER: &str = "100200300400500";

/// Seqs 1, 2, 3 … with no gap, and the log's event types.
async fn gap_free_log(desk: &Desk, token: &str, id: i64) -> Vec<String> {
    let events = desk.events(token, id, 0).await;
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seqs(&events), expected, "ticket {id}'s seqs are gap-free: {events:?}");
    assert!(events.iter().all(|event| event["ticket_id"] == json!(id)), "every event is ticket {id}'s own: {events:?}");
    assert_eq!(desk.ticket(token, id).await["seq"], json!(events.len()), "head seq of {id}");
    event_types(&events).into_iter().map(str::to_owned).collect()
}

/// The bodies of a ticket's thread, in the order the API gives them.
async fn thread(desk: &Desk, token: &str, id: i64) -> Vec<String> {
    let ticket = desk.ticket(token, id).await;
    ticket["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["body"].as_str().expect("body").to_owned())
        .collect()
}

async fn say(desk: &Desk, token: &str, id: i64, body: &str) {
    desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), token, Some(json!({"body": body}))).await;
    // Messages are ordered by time: keep each one's millisecond distinct.
    tokio::time::sleep(Duration::from_millis(5)).await;
}

async fn merge(desk: &Desk, token: &str, source: i64, body: Value) -> (u16, Value) {
    desk.call("POST", &format!("/api/v1/tickets/{source}/merge"), token, Some(body)).await
}

fn tags(ticket: &Value) -> Vec<String> {
    let tags = ticket["tags"].as_array().expect("tags");
    tags.iter().map(|tag| tag.as_str().expect("tag").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_interleaves_the_threads_and_unmerge_restores_both() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let requester = desk.seeded.customer.id;
    let target = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({"subject": "Parcel late", "body": "t1", "requester_id": requester, "tags": ["vip"]}),
            )
            .await,
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let source = id_of(
        &desk
            .create_ticket(
                &agent,
                json!({"subject": "Where is it", "body": "s1", "requester_id": requester, "tags": ["vip", "billing"]}),
            )
            .await,
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    say(&desk, &customer, target, "t2").await;
    say(&desk, &customer, source, "s2").await;
    say(&desk, &agent, target, "t3").await;
    desk.patch(&agent, source, json!({"status": "pending"})).await;
    let source_log = gap_free_log(&desk, &agent, source).await;
    let target_log = gap_free_log(&desk, &agent, target).await;

    let merged = desk
        .expect(200, "POST", &format!("/api/v1/tickets/{source}/merge"), &agent, Some(json!({"into": target})))
        .await;
    assert_eq!(event_types(merged["source"]["events"].as_array().expect("events")), ["merged_into", "status_changed"]);
    assert_eq!(event_types(merged["target"]["events"].as_array().expect("events")), ["merged_in", "tags_changed"]);

    // Both logs: what they had, then the merge, numbered on without a gap.
    let source_after = gap_free_log(&desk, &agent, source).await;
    assert_eq!(source_after[..source_log.len()], source_log[..]);
    assert_eq!(source_after[source_log.len()..], ["merged_into", "status_changed"]);
    let target_after = gap_free_log(&desk, &agent, target).await;
    assert_eq!(target_after[target_log.len()..], ["merged_in", "tags_changed"]);

    // The target's thread interleaves both by time; each message keeps its origin and channel.
    assert_eq!(thread(&desk, &agent, target).await, ["t1", "s1", "t2", "s2", "t3"]);
    assert_eq!(thread(&desk, &agent, source).await, Vec::<String>::new());
    let target_now = desk.ticket(&agent, target).await;
    let merged_in = &target_now["links"]["merged_from"][0];
    assert_eq!(merged_in["ticket_id"], json!(source));
    assert_eq!(merged_in["message_ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(sorted_tags(&target_now), ["billing", "vip"], "tags: the union");
    let source_now = desk.ticket(&agent, source).await;
    assert_eq!(source_now["status"], json!("closed"));
    assert_eq!(source_now["links"]["merged_into"]["ticket_id"], json!(target));
    assert_eq!(source_now["links"]["merged_into"]["previous_status"], json!("pending"));
    assert_eq!(sorted_tags(&source_now), ["billing", "vip"], "the source keeps its tags");
    // The customer sees the messages in the target and none of the bookkeeping.
    let seen = desk.ticket(&customer, target).await;
    assert_eq!(seen["messages"].as_array().map(Vec::len), Some(5));
    assert!(seen.get("links").is_none(), "customers get no links: {seen}");
    let customer_events = desk.events(&customer, target, 0).await;
    assert!(event_types(&customer_events).iter().all(|kind| *kind != "merged_in"), "private for customers");

    let undone = desk.expect(200, "POST", &format!("/api/v1/tickets/{source}/unmerge"), &agent, None).await;
    assert_eq!(event_types(undone["source"]["events"].as_array().expect("events")), ["unmerged", "status_changed"]);
    assert_eq!(event_types(undone["target"]["events"].as_array().expect("events")), ["merge_undone", "tags_changed"]);
    let source_undone = gap_free_log(&desk, &agent, source).await;
    assert_eq!(source_undone[source_after.len()..], ["unmerged", "status_changed"]);
    let target_undone = gap_free_log(&desk, &agent, target).await;
    assert_eq!(target_undone[target_after.len()..], ["merge_undone", "tags_changed"]);
    assert_eq!(thread(&desk, &agent, target).await, ["t1", "t2", "t3"]);
    assert_eq!(thread(&desk, &agent, source).await, ["s1", "s2"]);
    let source_back = desk.ticket(&agent, source).await;
    assert_eq!(source_back["status"], json!("pending"), "the status before the merge");
    assert!(source_back.get("links").is_none(), "no link left: {source_back}");
    assert_eq!(sorted_tags(&desk.ticket(&agent, target).await), ["vip"], "the target's tags as before");

    // Unmerging again: it is not merged any more.
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{source}/unmerge"), &agent, None).await;
    assert_error((status, &body), 409, "not_merged");
    desk.stop().await;
}

fn sorted_tags(ticket: &Value) -> Vec<String> {
    let mut tags = tags(ticket);
    tags.sort();
    tags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_are_refused_with_clear_codes_and_change_nothing() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let a = id_of(&desk.ticket_for_customer(&agent, "A").await);
    let b = id_of(&desk.ticket_for_customer(&agent, "B").await);
    let c = id_of(&desk.ticket_for_customer(&agent, "C").await);
    let other = desk.seeded.other_customer.id;
    let theirs =
        id_of(&desk.create_ticket(&agent, json!({"subject": "Theirs", "body": "x", "requester_id": other})).await);
    let closed = id_of(&desk.ticket_for_customer(&agent, "Closed").await);
    desk.patch(&agent, closed, json!({"status": "closed"})).await;
    let before = [desk.log_state(&agent, a).await, desk.log_state(&agent, theirs).await];

    assert_error(merge(&desk, &agent, a, json!({"into": a})).await.as_ref_pair(), 422, "merge_into_self");
    assert_error(merge(&desk, &agent, a, json!({"into": theirs})).await.as_ref_pair(), 409, "requester_mismatch");
    assert_error(merge(&desk, &agent, a, json!({"into": closed})).await.as_ref_pair(), 409, "merge_target_closed");
    assert_error(merge(&desk, &agent, closed, json!({"into": a})).await.as_ref_pair(), 409, "ticket_closed");
    assert_error(merge(&desk, &agent, a, json!({"into": 999_999})).await.as_ref_pair(), 404, "not_found");
    assert_invalid(merge(&desk, &agent, a, json!({})).await.as_ref_pair(), "into");
    assert_invalid(merge(&desk, &agent, a, json!({"into": b, "into_number": 2})).await.as_ref_pair(), "into");
    assert_invalid(merge(&desk, &agent, a, json!({"into": b, "after": 1})).await.as_ref_pair(), "after");
    let (status, body) =
        desk.call("POST", &format!("/api/v1/tickets/{a}/merge?force=1"), &agent, Some(json!({"into": b}))).await;
    assert_error((status, &body), 400, "invalid_query");
    // Customers may do none of it, not even on their own tickets.
    assert_error(merge(&desk, &customer, a, json!({"into": b})).await.as_ref_pair(), 403, "forbidden");
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{a}/unmerge"), &customer, None).await;
    assert_error((status, &body), 403, "forbidden");
    let split = json!({"message_ids": ["x"]});
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{a}/split"), &customer, Some(split)).await;
    assert_error((status, &body), 403, "forbidden");
    assert_eq!(
        [desk.log_state(&agent, a).await, desk.log_state(&agent, theirs).await],
        before,
        "refusals write nothing"
    );

    // A dry run answers both tickets (or the refusal) and writes nothing.
    let checked = desk
        .expect(200, "POST", &format!("/api/v1/tickets/{a}/merge"), &agent, Some(json!({"into": b, "dry_run": true})))
        .await;
    assert_eq!(
        (checked["source"]["ticket"]["subject"].clone(), checked["target"]["ticket"]["subject"].clone()),
        (json!("A"), json!("B"))
    );
    assert_eq!(checked["target"]["events"], json!([]));
    let dry = json!({"into": theirs, "dry_run": true});
    assert_error(merge(&desk, &agent, a, dry).await.as_ref_pair(), 409, "requester_mismatch");
    assert_eq!(desk.log_state(&agent, a).await, before[0], "a dry run writes nothing");

    // `force` merges different requesters.
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{theirs}/merge"),
        &admin,
        Some(json!({"into": c, "force": true})),
    )
    .await;
    // By number; then everything that depends on the merge.
    let b_number = desk.ticket(&agent, b).await["number"].clone();
    desk.expect(200, "POST", &format!("/api/v1/tickets/{a}/merge"), &agent, Some(json!({"into_number": b_number})))
        .await;
    assert_error(merge(&desk, &agent, b, json!({"into": a})).await.as_ref_pair(), 409, "merge_cycle");
    assert_error(merge(&desk, &agent, c, json!({"into": a})).await.as_ref_pair(), 409, "merge_target_merged");
    assert_error(merge(&desk, &agent, a, json!({"into": c})).await.as_ref_pair(), 409, "already_merged");
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{b}/unmerge"), &agent, None).await;
    assert_error((status, &body), 409, "not_merged");

    // Another account's staff see none of these tickets.
    let store = desk._db.open().await;
    other_account(&*store, "boss@elsewhere.example", "Boss", switchboard_actors::domain::Role::Admin).await;
    let stranger = desk.login("boss@elsewhere.example").await;
    assert_error(merge(&desk, &stranger, b, json!({"into": c})).await.as_ref_pair(), 404, "not_found");
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{a}/unmerge"), &stranger, None).await;
    assert_error((status, &body), 404, "not_found");
    let split = json!({"message_ids": ["x"]});
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{b}/split"), &stranger, Some(split)).await;
    assert_error((status, &body), 404, "not_found");
    // …nor merge into them.
    assert_error(merge(&desk, &agent, c, json!({"into_number": 1_000})).await.as_ref_pair(), 422, "validation_failed");
    desk.stop().await;
}

trait Pair {
    fn as_ref_pair(&self) -> (u16, &Value);
}

impl Pair for (u16, Value) {
    fn as_ref_pair(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmerge_after_seven_days_is_refused() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let a = id_of(&desk.ticket_for_customer(&agent, "A").await);
    let b = id_of(&desk.ticket_for_customer(&agent, "B").await);
    desk.expect(200, "POST", &format!("/api/v1/tickets/{a}/merge"), &agent, Some(json!({"into": b}))).await;
    // The merge as if made eight days ago: the stored link is what a restarted actor reads.
    let Desk { _db: db, seeded, server } = desk;
    server.stop().await;
    let eight_days_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(8 * 24)).to_string();
    let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
    sqlx::query("UPDATE tickets SET links = json_set(links, '$.merged_into.at', ?) WHERE id = ?")
        .bind(eight_days_ago)
        .bind(a)
        .execute(&pool)
        .await
        .expect("age the merge");
    pool.close().await;
    let desk = Desk { server: TestServer::start(db.settings()).await, _db: db, seeded };
    let agent = desk.login("agent@test.example").await;
    let before = (desk.log_state(&agent, a).await, desk.log_state(&agent, b).await);
    let (status, body) = desk.call("POST", &format!("/api/v1/tickets/{a}/unmerge"), &agent, None).await;
    assert_error((status, &body), 409, "unmerge_expired");
    assert!(body["message"].as_str().is_some_and(|text| text.contains("7 days")), "{body}");
    assert_eq!((desk.log_state(&agent, a).await, desk.log_state(&agent, b).await), before);
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_moves_the_chosen_messages_to_a_new_linked_ticket() {
    let desk = Desk::start().await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let original = id_of(&desk.ticket_for_customer(&agent, "Two problems").await);
    tokio::time::sleep(Duration::from_millis(5)).await;
    say(&desk, &customer, original, "Also my invoice is wrong").await;
    say(&desk, &customer, original, "It says 40 instead of 30").await;
    let other = id_of(&desk.ticket_for_customer(&agent, "Other").await);
    let messages = desk.ticket(&agent, original).await["messages"].clone();
    let ids: Vec<Value> = messages.as_array().expect("messages").iter().map(|m| m["id"].clone()).collect();
    let foreign = desk.ticket(&agent, other).await["messages"][0]["id"].clone();
    let before = desk.log_state(&agent, original).await;
    let path = format!("/api/v1/tickets/{original}/split");
    let split = |body: Value| desk.call("POST", &path, &agent, Some(body));
    assert_invalid(split(json!({"message_ids": []})).await.as_ref_pair(), "message_ids");
    assert_error(split(json!({"message_ids": ids})).await.as_ref_pair(), 422, "invalid_split");
    assert_error(split(json!({"message_ids": [ids[1], foreign]})).await.as_ref_pair(), 422, "invalid_split");
    assert_error(split(json!({"message_ids": ["nope"]})).await.as_ref_pair(), 422, "invalid_split");
    assert_eq!(desk.log_state(&agent, original).await, before, "refusals write nothing");

    let (status, created) = split(json!({"message_ids": [ids[1], ids[2]], "subject": "Invoice wrong"})).await;
    assert_eq!(status, 201, "{created}");
    let new = id_of(&created["ticket"]["ticket"]);
    assert_eq!(created["ticket"]["ticket"]["subject"], json!("Invoice wrong"));
    assert_eq!(created["ticket"]["ticket"]["requester_id"], json!(desk.seeded.customer.id));
    assert_eq!(event_types(created["original"]["events"].as_array().expect("events")), ["split_to"]);
    assert_eq!(thread(&desk, &agent, new).await, ["Also my invoice is wrong", "It says 40 instead of 30"]);
    assert_eq!(thread(&desk, &agent, original).await, ["Please help."]);
    let new_log = gap_free_log(&desk, &agent, new).await;
    assert_eq!(new_log.first().map(String::as_str), Some("created"));
    assert!(new_log.contains(&"split_from".to_owned()), "{new_log:?}");
    let original_log = gap_free_log(&desk, &agent, original).await;
    assert_eq!(original_log.last().map(String::as_str), Some("split_to"));
    let new_events = desk.events(&agent, new, 0).await;
    let from = new_events.iter().find(|event| event["type"] == "split_from").expect("split_from");
    assert_eq!((from["ticket_id"].clone(), from["original_id"].clone()), (json!(new), json!(original)));
    assert_eq!(desk.ticket(&agent, original).await["links"]["split_to"][0]["ticket_id"], json!(new));
    desk.stop().await;
}

/// WhatsApp into the test server: a signed webhook, processed after the 200.
async fn whatsapp(desk: &Desk, wamid: &str, body: &str) {
    let at = jiff::Timestamp::now().as_second();
    let value = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": NUMBER},
        "contacts": [{"profile": {"name": "Wanda"}, "wa_id": "447700900111"}],
        "messages": [{"from": "447700900111", "id": wamid, "timestamp": at.to_string(), "type": "text", "text": {"body": body}}]});
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}]})
        .to_string();
    let response = desk
        .server
        .http
        .post(desk.server.url("/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(SECRET, payload.as_bytes()))
        .body(payload)
        .send()
        .await
        .expect("webhook");
    assert_eq!(response.status().as_u16(), 200);
}

/// Waits for a ticket's thread to hold `body`.
async fn thread_gets(desk: &Desk, token: &str, id: i64, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !thread(desk, token, id).await.iter().any(|text| text == body) {
        assert!(Instant::now() < deadline, "`{body}` never reached ticket {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_whatsapp_conversation_follows_the_merge_and_replies_go_where_the_customer_wrote() {
    let graph = FakeGraph::start();
    let desk = Desk::start_with(|settings| {
        settings.whatsapp.sandbox = Some(false);
        settings.whatsapp.graph_base_url = graph.base.clone();
        settings.whatsapp.app_secret = switchboard::config::Secret(SECRET.to_owned());
        settings.whatsapp.access_token = switchboard::config::Secret("token".to_owned());
        settings.whatsapp.business_account_id = "WABA1".to_owned();
    })
    .await;
    let (_, agent) = desk.staff().await;
    whatsapp(&desk, "wamid.first", "My order never came").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let source = loop {
        if let Some(id) = desk.list_ids(&agent, "channel=whatsapp").await.first() {
            break *id;
        }
        assert!(Instant::now() < deadline, "the WhatsApp ticket never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let requester = desk.ticket(&agent, source).await["requester_id"].clone();
    // The older ticket the agent keeps: opened by phone for the same customer.
    let target = id_of(
        &desk.create_ticket(&agent, json!({"subject": "Order 1042", "body": "Called about order 1042", "requester_id": requester, "channel": "phone"})).await,
    );
    let merged = desk
        .expect(200, "POST", &format!("/api/v1/tickets/{source}/merge"), &agent, Some(json!({"into": target})))
        .await;
    assert_eq!(merged["target"]["ticket"]["last_customer_channel"], json!("whatsapp"));

    // A reply naming no channel goes where the customer last wrote: WhatsApp, not the phone.
    let reply = desk
        .expect(201, "POST", &format!("/api/v1/tickets/{target}/messages"), &agent, Some(json!({"body": "On its way"})))
        .await;
    let sent =
        reply["events"].as_array().expect("events").iter().find(|e| e["type"] == "message_added").expect("message");
    assert_eq!(sent["message"]["channel"], json!("whatsapp"));

    // The customer writes again on WhatsApp: it lands in the target, not a new ticket.
    whatsapp(&desk, "wamid.second", "Still nothing").await;
    thread_gets(&desk, &agent, target, "Still nothing").await;
    assert_eq!(desk.list_ids(&agent, "channel=whatsapp").await, [source], "no new ticket");
    assert_eq!(thread(&desk, &agent, source).await, Vec::<String>::new());
    gap_free_log(&desk, &agent, target).await;
    gap_free_log(&desk, &agent, source).await;
    desk.stop().await;
}

/// The ids of the tickets `q` finds for `token`.
async fn found(desk: &Desk, token: &str, q: &str) -> Vec<i64> {
    let page = desk.expect(200, "GET", &format!("/api/v1/tickets?q={}", encoded(q)), token, None).await;
    let mut ids: Vec<i64> = page["items"].as_array().expect("items").iter().map(id_of).collect();
    ids.sort();
    ids
}

/// Search follows messages that merge, unmerge and split move: a word is found on the ticket
/// that holds its message now, and not on the one it left (the index's rows are per ticket).
async fn moved_messages_are_found_where_they_are(backend: Backend) {
    let desk = Desk::start_on(backend, Arc::new(switchboard_actors::clock::SystemClock)).await;
    let (_, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let requester = desk.seeded.customer.id;
    let create = |subject: &'static str, body: &'static str| {
        let (desk, agent) = (&desk, &agent);
        async move {
            let created =
                desk.create_ticket(agent, json!({"subject": subject, "body": body, "requester_id": requester})).await;
            id_of(&created)
        }
    };
    let target = create("Parcel late", "kumquat first").await;
    let source = create("Where is it", "persimmon first").await;
    say(&desk, &customer, source, "tamarind later").await;
    say(&desk, &agent, source, "durian reply").await;
    assert_eq!(found(&desk, &agent, "tamarind").await, [source]);

    let merged = merge(&desk, &agent, source, json!({"into": target})).await;
    assert_eq!(merged.0, 200, "{}", merged.1);
    assert_eq!(found(&desk, &agent, "tamarind").await, [target], "the moved message is the target's");
    assert_eq!(found(&desk, &agent, "durian").await, [target]);
    assert_eq!(found(&desk, &customer, "persimmon").await, [target], "the customer finds it there too");
    assert_eq!(found(&desk, &agent, "\"where is it\"").await, [source], "subjects do not move");

    desk.expect(200, "POST", &format!("/api/v1/tickets/{source}/unmerge"), &agent, None).await;
    assert_eq!(found(&desk, &agent, "tamarind").await, [source], "back where it was");
    assert_eq!(found(&desk, &agent, "kumquat").await, [target]);

    let messages = desk.ticket(&agent, source).await["messages"].clone();
    let moved =
        messages.as_array().expect("messages").iter().find(|m| m["body"] == json!("tamarind later")).expect("moved");
    let (status, split) = desk
        .call(
            "POST",
            &format!("/api/v1/tickets/{source}/split"),
            &agent,
            Some(json!({"message_ids": [moved["id"]], "subject": "Fruit"})),
        )
        .await;
    assert_eq!(status, 201, "{split}");
    let new = id_of(&split["ticket"]["ticket"]);
    assert_eq!(found(&desk, &agent, "tamarind").await, [new], "the split message is the new ticket's");
    assert_eq!(found(&desk, &agent, "persimmon").await, [source], "the rest stays");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_messages_are_found_where_they_are_on_sqlite() {
    moved_messages_are_found_where_they_are(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_messages_are_found_where_they_are_on_postgres() {
    moved_messages_are_found_where_they_are(Backend::Postgres).await;
}
