//! Data protection (issue 17 item 7) end to end, on both backends: a customer's export (the zip's
//! entries, JSON fields and attachment bytes); their erasure leaving none of their personal data
//! in any text column of any table (listed from each backend's own schema) while the reports
//! still count their tickets; the refusals (agents, other accounts, no confirmation); retention
//! archiving and deleting closed tickets on the manual clock; and a customer's portal request
//! approved by an admin.

use std::io::Read as _;

use jiff::SignedDuration;
use switchboard_actors::clock::Clock as _;

use super::*;

/// Uploads `bytes` as `token`'s user; the attachment the server answered.
async fn upload(desk: &Desk, token: &str, name: &str, bytes: &[u8]) -> Value {
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("content-type", "text/plain")];
    let response = desk.raw("POST", &format!("/api/v1/uploads?name={name}"), &headers, Some(bytes.to_vec())).await;
    assert_eq!(response.status, 201, "upload: {}", response.body);
    response.body
}

/// `GET path` as `token`: the status, the content type and the raw bytes.
async fn download(desk: &Desk, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let response =
        desk.server.http.get(desk.server.url(path)).bearer_auth(token).send().await.expect("download request");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.bytes().await.expect("body").to_vec())
}

/// A zip's entries by name.
fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip file");
    let mut entries = std::collections::BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).expect("entry");
        let mut content = Vec::new();
        file.read_to_end(&mut content).expect("entry bytes");
        entries.insert(file.name().expect("entry name").to_string(), content);
    }
    entries
}

fn json_entry(entries: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> Value {
    serde_json::from_slice(entries.get(name).unwrap_or_else(|| panic!("no {name} in {:?}", entries.keys())))
        .expect("JSON entry")
}

/// What the test customers write and are called: distinctive, so a grep finds only them.
const NAME: &str = "Cornelius Vandersloot";
const EMAIL: &str = "cust@test.example";
const BODY: &str = "My xylophonic parcel never arrived at the depot";
const FILE: &[u8] = b"receipt number 4242, paid by Cornelius";
const WA_NAME: &str = "Wanda Quixley";
const WA_ID: &str = "15550009876";
const WA_BODY: &str = "Zanzibarine order stuck in customs please";

/// The seeded customer, renamed, with a portal ticket carrying a file and a staff reply, and a
/// WhatsApp customer with a ticket of their own: `(customer id, ticket, WhatsApp customer id,
/// WhatsApp ticket)`.
async fn customers_with_tickets(desk: &Desk, admin: &str) -> (i64, i64, i64, i64) {
    let customer_id = desk.seeded.customer.id;
    desk.expect(200, "PATCH", &format!("/api/v1/users/{customer_id}"), admin, Some(json!({"name": NAME}))).await;
    let customer = desk.login(EMAIL).await;
    let ticket = id_of(&desk.create_ticket(&customer, json!({"subject": "Parcel Vandersloot", "body": BODY})).await);
    let file = upload(desk, &customer, "receipt.txt", FILE).await;
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let body = json!({"body": "Here is my receipt, Cornelius Vandersloot", "channel": "web", "attachments": [file]});
    desk.expect(201, "POST", &path, &customer, Some(body)).await;
    let reply = json!({"body": "Thanks Cornelius, looking into it"});
    desk.expect(201, "POST", &path, admin, Some(reply)).await;
    let note = json!({"body": "Cornelius called twice", "internal": true});
    desk.expect(201, "POST", &path, admin, Some(note)).await;

    let body = json!({"wa_id": WA_ID, "name": WA_NAME, "text": WA_BODY});
    desk.expect(200, "POST", "/sandbox/api/send", admin, Some(body)).await;
    let mut wa_ticket = None;
    for _ in 0..100 {
        let (ids, _) = desk.list(admin, "q=channel:whatsapp").await;
        if let Some(id) = ids.first() {
            wa_ticket = Some(*id);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let wa_ticket = wa_ticket.expect("the WhatsApp message became a ticket");
    let wa_customer = desk.ticket(admin, wa_ticket).await["requester_id"].as_i64().expect("requester");
    (customer_id, ticket, wa_customer, wa_ticket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_the_profile_tickets_public_messages_files_and_surveys() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let admin = desk.login("admin@test.example").await;
        let (customer, ticket, _, _) = customers_with_tickets(&desk, &admin).await;

        let (status, content_type, bytes) =
            download(&desk, &admin, &format!("/api/v1/customers/{customer}/export")).await;
        assert_eq!((status, content_type.as_str()), (200, "application/zip"));
        let entries = unzip(&bytes);
        let profile = json_entry(&entries, "profile.json");
        assert_eq!((&profile["user"]["name"], &profile["user"]["email"]), (&json!(NAME), &json!(EMAIL)));
        assert!(profile["contacts"].as_array().expect("contacts").iter().any(|contact| contact["address"] == EMAIL));
        let tickets = json_entry(&entries, "tickets.json");
        assert_eq!(ids(&tickets), vec![ticket]);
        assert_eq!(tickets[0]["subject"], "Parcel Vandersloot");
        assert_eq!(tickets[0]["archived_at"], Value::Null);
        let messages = json_entry(&entries, "messages.json");
        let bodies: Vec<&str> =
            messages.as_array().expect("messages").iter().map(|m| m["body"].as_str().expect("body")).collect();
        assert_eq!(
            bodies,
            vec![BODY, "Here is my receipt, Cornelius Vandersloot", "Thanks Cornelius, looking into it"]
        );
        assert!(!bodies.contains(&"Cornelius called twice"), "internal notes stay out");
        assert_eq!(json_entry(&entries, "csat.json"), json!([]));
        let files: Vec<_> = entries.iter().filter(|(name, _)| name.starts_with("attachments/")).collect();
        assert_eq!(files.len(), 1, "{:?}", entries.keys());
        assert!(files[0].0.ends_with("-receipt.txt"), "{}", files[0].0);
        assert_eq!(files[0].1, &FILE.to_vec());

        // Audited, with no personal data in the entry.
        let log = desk.expect(200, "GET", "/api/v1/audit?action=customer.exported", &admin, None).await;
        let entry = &log["items"][0];
        assert_eq!((&entry["target_type"], &entry["target_id"]), (&json!("user"), &json!(customer.to_string())));
        assert!(!entry.to_string().contains("Vandersloot"), "{entry}");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_erasure_are_refused_to_agents_other_accounts_staff_and_unconfirmed_requests() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.seeded.customer.id;
        let export = format!("/api/v1/customers/{customer}/export");
        let erase = format!("/api/v1/customers/{customer}/erase");
        let confirm = json!({"confirm": customer});
        assert_error(
            (desk.call("GET", &export, &agent, None).await.0, &desk.call("GET", &export, &agent, None).await.1),
            403,
            "forbidden",
        );
        let refused = desk.call("POST", &erase, &agent, Some(confirm.clone())).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        let supervisor = desk.login("sup@test.example").await;
        let refused = desk.call("POST", &erase, &supervisor, Some(confirm.clone())).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        // No confirmation, or the wrong one: nothing changes.
        for body in [json!({}), json!({"confirm": customer + 1}), json!({"confirm": "yes"})] {
            let refused = desk.call("POST", &erase, &admin, Some(body)).await;
            assert_error((refused.0, &refused.1), 422, "confirmation_required");
        }
        let still = desk.expect(200, "GET", &format!("/api/v1/users/{customer}"), &admin, None).await;
        assert_eq!((&still["email"], &still["active"]), (&json!(EMAIL), &json!(true)));
        // Staff are not customers.
        let staff = desk.seeded.agent.id;
        let refused = desk
            .call("POST", &format!("/api/v1/customers/{staff}/erase"), &admin, Some(json!({"confirm": staff})))
            .await;
        assert_error((refused.0, &refused.1), 422, "not_a_customer");
        // Another account's admin sees no such customer.
        let store = desk._db.open().await;
        other_account(&*store, "boss@other.example", "Boss", switchboard_actors::domain::Role::Admin).await;
        let other = desk.login("boss@other.example").await;
        let refused = desk.call("GET", &export, &other, None).await;
        assert_error((refused.0, &refused.1), 404, "not_found");
        let refused = desk.call("POST", &erase, &other, Some(confirm)).await;
        assert_error((refused.0, &refused.1), 404, "not_found");
        desk.stop().await;
    }
}

/// Every text column of every table of the database at `url`, from its own schema, and the raw
/// inbound emails (bytes holding text).
async fn text_columns(url: &str) -> Vec<(String, String)> {
    let mut columns = schema_text_columns(url).await;
    columns.push(("email_inbox".to_owned(), "raw".to_owned()));
    columns
}

async fn schema_text_columns(url: &str) -> Vec<(String, String)> {
    use sqlx::Connection as _;
    if url.starts_with("sqlite") {
        let mut db = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_as::<_, (String, String)>(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND (p.type = '' OR upper(p.type) LIKE '%TEXT%' OR upper(p.type) LIKE '%CHAR%')",
        )
        .fetch_all(&mut db)
        .await
        .expect("sqlite schema")
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_as::<_, (String, String)>(
            "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public' \
             AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'tsvector')",
        )
        .fetch_all(&mut db)
        .await
        .expect("postgres schema")
    }
}

/// The `table.column`s whose text contains `needle` (case-insensitively), with the value.
async fn grep(url: &str, columns: &[(String, String)], needle: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let pattern = format!("%{}%", needle.to_lowercase());
    let mut found = Vec::new();
    if url.starts_with("sqlite") {
        let mut db = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        for (table, column) in columns {
            let sql = format!(
                "SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\" WHERE lower(CAST(\"{column}\" AS TEXT)) LIKE $1"
            );
            let hits: Vec<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(&pattern)
                .fetch_all(&mut db)
                .await
                .unwrap_or_default();
            found.extend(hits.into_iter().map(|hit| format!("{table}.{column}: {}", hit.unwrap_or_default())));
        }
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.expect("postgres");
        for (table, column) in columns {
            let text = if column == "raw" { "encode(raw, 'escape')".to_owned() } else { format!("\"{column}\"::text") };
            let sql = format!("SELECT {text} FROM \"{table}\" WHERE lower({text}) LIKE $1");
            let hits: Vec<Option<String>> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(&pattern).fetch_all(&mut db).await.expect("grep");
            found.extend(hits.into_iter().map(|hit| format!("{table}.{column}: {}", hit.unwrap_or_default())));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_no_personal_data_in_any_table_and_reports_still_count_the_tickets() {
    for backend in backends() {
        let clock = manual_clock();
        let from = clock.now();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let admin = desk.login("admin@test.example").await;
        let (customer, ticket, wa_customer, wa_ticket) = customers_with_tickets(&desk, &admin).await;
        // And a mail from the customer: a ticket of its own, and the raw message in the inbox.
        let secrets = desk.expect(200, "GET", "/api/v1/account/channel-secrets", &admin, None).await;
        let secret = secrets["email"]["inbound_secret"]["value"].as_str().expect("email secret").to_owned();
        let raw = format!(
            "From: {NAME} <{EMAIL}>\r\nTo: help@hub.test\r\nSubject: Xylophonic follow-up\r\n\
             Message-ID: <gdpr-1@test.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{BODY} again\r\n"
        );
        let response = desk
            .server
            .http
            .post(desk.server.url("/webhooks/email"))
            .header("x-switchboard-secret", secret)
            .body(raw)
            .send()
            .await
            .expect("email webhook");
        assert_eq!(response.status().as_u16(), 202);
        eventually("the mail became a ticket", || async { !desk.list_ids(&admin, "q=channel:email").await.is_empty() })
            .await;
        desk.patch(&admin, ticket, json!({"status": "resolved"})).await;
        clock.advance(SignedDuration::from_secs(60));
        let summary_path = format!("/api/v1/reports/summary?from={from}&to={}", clock.now());
        let counted = |summary: &Value| summary["total"]["tickets_created"].clone();
        eventually("the reports counted the three tickets", || async {
            counted(&desk.expect(200, "GET", &summary_path, &admin, None).await) == json!(3)
        })
        .await;
        let before = desk.expect(200, "GET", &summary_path, &admin, None).await;
        let columns = text_columns(&desk._db.url).await;
        assert!(columns.len() > 100, "the schema's text columns: {}", columns.len());
        let needles =
            [NAME, "Vandersloot", EMAIL, BODY, "xylophonic", WA_NAME, "Quixley", WA_ID, WA_BODY, "Zanzibarine"];
        for needle in needles {
            assert!(!grep(&desk._db.url, &columns, needle).await.is_empty(), "`{needle}` is stored before the erasure");
        }
        let media = desk._db.media_dir();
        let files_before = std::fs::read_dir(&media).map(|dir| dir.count()).unwrap_or(0);
        assert!(files_before > 0, "the receipt is stored");

        for (id, tickets) in [(customer, 2), (wa_customer, 1)] {
            let erased = desk
                .expect(200, "POST", &format!("/api/v1/customers/{id}/erase"), &admin, Some(json!({"confirm": id})))
                .await;
            assert_eq!((&erased["customer_id"], &erased["tickets"]), (&json!(id), &json!(tickets)));
        }

        for needle in needles {
            let hits = grep(&desk._db.url, &columns, needle).await;
            assert!(hits.is_empty(), "`{needle}` is still stored after the erasure: {hits:#?}");
        }
        assert_eq!(std::fs::read_dir(&media).map(|dir| dir.count()).unwrap_or(0), 0, "the receipt's file is deleted");
        // The tickets stay, erased, and the reports still count them.
        let seen = desk.ticket(&admin, ticket).await;
        assert_eq!(seen["subject"], "[erased]");
        assert!(seen["messages"].as_array().expect("messages").iter().all(|m| m["body"] == "[erased]"), "{seen}");
        assert_eq!(desk.ticket(&admin, wa_ticket).await["subject"], "[erased]");
        let after = desk.expect(200, "GET", &summary_path, &admin, None).await;
        assert_eq!(counted(&after), json!(3), "{after}");
        assert_eq!(after["total"], before["total"]);
        // The profile is locked out; the erasure is audited with counts only.
        let profile = desk.expect(200, "GET", &format!("/api/v1/users/{customer}"), &admin, None).await;
        assert_eq!((&profile["name"], &profile["active"]), (&json!("[erased]"), &json!(false)));
        let (status, _) = desk
            .server
            .call("POST", "/api/v1/auth/login", None, Some(json!({"email": EMAIL, "password": PASSWORD})))
            .await;
        assert_eq!(status, 401);
        let log = desk.expect(200, "GET", "/api/v1/audit?action=customer.erased", &admin, None).await;
        assert_eq!(log["items"].as_array().expect("entries").len(), 2);
        assert_eq!(log["items"][1]["after"]["tickets"], 2);
        // The same number writing again is a new customer with a new ticket.
        let body = json!({"wa_id": WA_ID, "name": "Someone", "text": "hello again"});
        desk.expect(200, "POST", "/sandbox/api/send", &admin, Some(body)).await;
        let mut fresh = None;
        for _ in 0..100 {
            let (ids, _) = desk.list(&admin, "q=channel:whatsapp").await;
            if let Some(id) = ids.iter().find(|id| **id != wa_ticket) {
                fresh = Some(*id);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let fresh = fresh.expect("a new ticket from the same number");
        assert_ne!(desk.ticket(&admin, fresh).await["requester_id"], json!(wa_customer));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_archives_then_deletes_closed_tickets_on_the_daily_sweep() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        assert_eq!(
            desk.expect(200, "GET", "/api/v1/account/retention", &admin, None).await,
            json!({"archive_after_days": null, "delete_after_days": null})
        );
        // Refusals: agents, and settings that make no sense.
        let refused =
            desk.call("PUT", "/api/v1/account/retention", &agent, Some(json!({"archive_after_days": 30}))).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        let refused = desk.call("GET", "/api/v1/account/retention", &agent, None).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        for (body, field) in [
            (json!({"archive_after_days": 30, "delete_after_days": 30}), "delete_after_days"),
            (json!({"archive_after_days": 0, "delete_after_days": null}), "archive_after_days"),
            (json!({"archive_after_days": null, "delete_after_days": 9999}), "delete_after_days"),
        ] {
            let refused = desk.call("PUT", "/api/v1/account/retention", &admin, Some(body)).await;
            assert_invalid((refused.0, &refused.1), field);
        }
        assert_eq!(
            desk.expect(200, "GET", "/api/v1/account/retention", &admin, None).await["archive_after_days"],
            Value::Null
        );

        let old = id_of(&desk.ticket_for_customer(&admin, "Old closed question").await);
        let open = id_of(&desk.ticket_for_customer(&admin, "Still open question").await);
        desk.patch(&admin, old, json!({"status": "closed"})).await;
        let policy = json!({"archive_after_days": 30, "delete_after_days": 90});
        assert_eq!(desk.expect(200, "PUT", "/api/v1/account/retention", &admin, Some(policy.clone())).await, policy);

        // 31 days on: the closed ticket is archived, out of the list and search, still readable.
        let desk = desk.down_for(&clock, SignedDuration::from_hours(24 * 31)).await;
        let admin = desk.login("admin@test.example").await;
        eventually("the closed ticket archived", || async { !desk.list_ids(&admin, "limit=200").await.contains(&old) })
            .await;
        assert!(desk.list_ids(&admin, "limit=200").await.contains(&open));
        assert!(!desk.list_ids(&admin, &format!("q={}", encoded("\"Old closed\""))).await.contains(&old));
        assert_eq!(desk.ticket(&admin, old).await["subject"], "Old closed question");
        let customer = desk.seeded.customer.id;
        let (_, _, bytes) = download(&desk, &admin, &format!("/api/v1/customers/{customer}/export")).await;
        let exported = json_entry(&unzip(&bytes), "tickets.json");
        let archived =
            exported.as_array().expect("tickets").iter().find(|t| t["id"] == old).expect("archived exported");
        assert!(archived["archived_at"].is_string(), "{archived}");

        // 91 days after closing: deleted; the open ticket stays.
        let desk = desk.down_for(&clock, SignedDuration::from_hours(24 * 60)).await;
        let admin = desk.login("admin@test.example").await;
        eventually("the closed ticket deleted", || async {
            desk.call("GET", &format!("/api/v1/tickets/{old}"), &admin, None).await.0 == 404
        })
        .await;
        assert_eq!(desk.ticket(&admin, open).await["subject"], "Still open question");
        let log = desk.expect(200, "GET", "/api/v1/audit?action=settings.updated", &admin, None).await;
        assert_eq!(log["items"][0]["after"]["retention"], policy);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_asks_from_the_portal_and_an_admin_approves_or_declines() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login(EMAIL).await;
        let other = desk.login("other@test.example").await;
        desk.create_ticket(&customer, json!({"subject": "My data", "body": BODY})).await;

        let asked =
            desk.expect(201, "POST", "/api/v1/me/data-requests", &customer, Some(json!({"kind": "export"}))).await;
        assert_eq!((&asked["kind"], &asked["status"]), (&json!("export"), &json!("pending")));
        let again =
            desk.expect(200, "POST", "/api/v1/me/data-requests", &customer, Some(json!({"kind": "export"}))).await;
        assert_eq!(again["id"], asked["id"], "a pending request is answered again");
        let refused =
            desk.call("POST", "/api/v1/me/data-requests", &customer, Some(json!({"kind": "everything"}))).await;
        assert_invalid((refused.0, &refused.1), "kind");
        let refused = desk.call("POST", "/api/v1/me/data-requests", &agent, Some(json!({"kind": "export"}))).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        let export = format!("/api/v1/me/data-requests/{}/export", id_of(&asked));
        let refused = desk.call("GET", &export, &customer, None).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        let refused = desk.call("GET", &export, &other, None).await;
        assert_error((refused.0, &refused.1), 404, "not_found");

        // Staff: agents may not see or decide; admins approve.
        let refused = desk.call("GET", "/api/v1/data-requests", &agent, None).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        let approve = format!("/api/v1/data-requests/{}/approve", id_of(&asked));
        let refused = desk.call("POST", &approve, &agent, None).await;
        assert_error((refused.0, &refused.1), 403, "forbidden");
        let listed = desk.expect(200, "GET", "/api/v1/data-requests", &admin, None).await;
        assert_eq!(ids(&listed["items"]), vec![id_of(&asked)]);
        let approved = desk.expect(200, "POST", &approve, &admin, None).await;
        assert_eq!((&approved["status"], &approved["decided_by"]), (&json!("approved"), &json!(desk.seeded.admin.id)));
        let refused = desk.call("POST", &approve, &admin, None).await;
        assert_error((refused.0, &refused.1), 409, "request_decided");
        let (status, content_type, bytes) = download(&desk, &customer, &export).await;
        assert_eq!((status, content_type.as_str()), (200, "application/zip"));
        let messages = json_entry(&unzip(&bytes), "messages.json");
        assert_eq!(messages[0]["body"], BODY);

        // An erasure asked and declined changes nothing; asked again and approved, it erases.
        let asked =
            desk.expect(201, "POST", "/api/v1/me/data-requests", &customer, Some(json!({"kind": "erase"}))).await;
        let declined =
            desk.expect(200, "POST", &format!("/api/v1/data-requests/{}/decline", id_of(&asked)), &admin, None).await;
        assert_eq!(declined["status"], "declined");
        let mine = desk.expect(200, "GET", "/api/v1/me/data-requests", &customer, None).await;
        assert_eq!(mine["items"].as_array().expect("items").len(), 2);
        let user = desk.seeded.customer.id;
        assert_eq!(desk.expect(200, "GET", &format!("/api/v1/users/{user}"), &admin, None).await["email"], EMAIL);
        let asked =
            desk.expect(201, "POST", "/api/v1/me/data-requests", &customer, Some(json!({"kind": "erase"}))).await;
        desk.expect(200, "POST", &format!("/api/v1/data-requests/{}/approve", id_of(&asked)), &admin, None).await;
        let profile = desk.expect(200, "GET", &format!("/api/v1/users/{user}"), &admin, None).await;
        assert_eq!((&profile["name"], &profile["active"]), (&json!("[erased]"), &json!(false)));
        let (status, _) = desk.call("GET", "/api/v1/me/data-requests", &customer, None).await;
        assert_eq!(status, 401, "the erased customer's sessions ended");
        for (action, count) in [("data_request.created", 3), ("data_request.approved", 2), ("data_request.declined", 1)]
        {
            let log = desk.expect(200, "GET", &format!("/api/v1/audit?action={action}"), &admin, None).await;
            assert_eq!(log["items"].as_array().expect("entries").len(), count, "{action}: {log}");
        }
        desk.stop().await;
    }
}
