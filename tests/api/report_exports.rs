//! Report figures beyond the fixture's (SLA compliance per target, the backlog), exports (the
//! same figures as the summary in CSV and XLSX, one row per ticket, a PDF, who may export what)
//! and scheduled reports (fired once at their hour on the manual clock, mailed with the file to
//! the sandbox mailbox, stopped by deleting them, kept across restarts).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use switchboard_actors::clock::Clock;

use super::reports::{AsRefPair, build_fixture, period, step};
use super::*;

/// `GET path` as raw bytes: status, content type, content disposition, body.
async fn download(desk: &Desk, path: &str, token: &str) -> (u16, String, String, Vec<u8>) {
    let response = desk.server.http.get(desk.server.url(path)).bearer_auth(token).send().await.expect("request");
    let status = response.status().as_u16();
    let header =
        |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let body = response.bytes().await.expect("body").to_vec();
    (status, content_type, disposition, body)
}

/// `(column, value)` pairs of a summary row's figures, flattened with dots as the exports do
/// (lists left out).
fn flat(prefix: &str, value: &Value, into: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let column = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                flat(&column, field, into);
            }
        }
        Value::Array(_) => {}
        other => into.push((prefix.to_owned(), other.clone())),
    }
}

/// The summary endpoint's rows as the exports' first table: `[key, figures…]`, the total first.
fn expected_table(summary: &Value) -> Vec<(String, Vec<(String, Value)>)> {
    let figures = |row: &Value| {
        let mut columns = Vec::new();
        let mut row = row.clone();
        if let Some(fields) = row.as_object_mut() {
            fields.remove("key");
        }
        flat("", &row, &mut columns);
        columns
    };
    let mut table = vec![("total".to_owned(), figures(&summary["total"]))];
    for row in summary["rows"].as_array().expect("rows") {
        table.push((row["key"].as_str().unwrap_or("none").to_owned(), figures(row)));
    }
    table
}

fn same_number(cell: &str, value: &Value) -> bool {
    match value {
        Value::Null => cell.is_empty(),
        Value::Number(number) => cell.parse::<f64>().ok() == number.as_f64(),
        other => cell == other.as_str().unwrap_or_default(),
    }
}

/// Every figure of the summary, row by row and column by column, in `header` and `rows`.
fn assert_same_figures(what: &str, summary: &Value, header: &[String], rows: &[Vec<String>]) {
    let expected = expected_table(summary);
    assert_eq!(rows.len(), expected.len(), "{what}: one row per summary row and the total");
    for ((key, columns), row) in expected.iter().zip(rows) {
        assert_eq!(&row[0], key, "{what}: row key");
        assert_eq!(header.len(), columns.len() + 1, "{what}: columns {header:?}");
        for ((column, value), (name, cell)) in columns.iter().zip(header.iter().skip(1).zip(row.iter().skip(1))) {
            assert_eq!(column, name, "{what}: column order");
            assert!(same_number(cell, value), "{what}: {key}.{column} is {cell}, the summary says {value}");
        }
    }
}

/// The first table of a CSV export: its header and rows (the fixture's values hold no commas).
fn first_csv_table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.split("\r\n").take_while(|line| !line.is_empty());
    let split = |line: &str| line.split(',').map(str::to_owned).collect::<Vec<_>>();
    let header = split(lines.next().expect("a header"));
    (header, lines.map(split).collect())
}

/// A sheet of an XLSX export as text cells.
fn xlsx_sheet(bytes: &[u8], name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let range = workbook.worksheet_range(name).expect("the sheet");
    let mut rows = range.rows().map(|row| {
        row.iter()
            .map(|cell| match cell {
                Data::Empty => String::new(),
                Data::String(text) => text.clone(),
                Data::Float(number) => number.to_string(),
                Data::Int(number) => number.to_string(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
    });
    let header = rows.next().expect("a header");
    (header, rows.collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_compliance_is_recomputed_per_target_and_the_backlog_is_what_is_open() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        let targets: Vec<Value> = ["low", "medium", "high", "urgent"]
            .iter()
            .map(|priority| json!({"priority": priority, "first_response_minutes": 10, "resolution_minutes": 60}))
            .collect();
        let policy = json!({"enabled": true, "warning_percent": 80, "targets": targets});
        desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
        let from = clock.now();
        // X: answered in 5 minutes, resolved in 30: both targets met.
        let x = id_of(&desk.create_ticket(&customer, json!({"subject": "X", "body": "Help with X"})).await);
        step(&clock, 60);
        // Y: answered after 20 minutes (first response missed at its due time), still open.
        let y = id_of(&desk.create_ticket(&customer, json!({"subject": "Y", "body": "Help with Y"})).await);
        step(&clock, 4 * 60);
        desk.expect(201, "POST", &format!("/api/v1/tickets/{x}/messages"), &agent, Some(json!({"body": "On it."})))
            .await;
        step(&clock, 15 * 60);
        desk.expect(201, "POST", &format!("/api/v1/tickets/{y}/messages"), &agent, Some(json!({"body": "Sorry."})))
            .await;
        step(&clock, 10 * 60);
        desk.patch(&agent, x, json!({"status": "resolved"})).await;
        step(&clock, 60);
        let now = clock.now();

        let path = |to: Timestamp| format!("/api/v1/reports/summary?from={from}&to={to}");
        let summary = desk.expect(200, "GET", &path(now), &admin, None).await;
        let total = &summary["total"];
        assert_eq!(total["sla_compliance"]["first_response"], json!({"numerator": 1, "denominator": 2}), "{summary}");
        assert_eq!(total["sla_compliance"]["resolution"], json!({"numerator": 1, "denominator": 1}));
        assert_eq!((total["backlog"].clone(), total["unassigned_backlog"].clone()), (json!(1), json!(1)));
        // Y's resolution comes due 60 minutes after it opened: a period that reaches it counts
        // it as missed (nothing written in between).
        let later = from.checked_add(SignedDuration::from_mins(62)).expect("time");
        let ahead = desk.expect(200, "GET", &path(later), &admin, None).await;
        assert_eq!(
            ahead["total"]["sla_compliance"]["resolution"],
            json!({"numerator": 1, "denominator": 2}),
            "{ahead}"
        );
        // Per agent and per day, the backlog is at each row's end.
        let by_agent = desk.expect(200, "GET", &format!("{}&group_by=agent", path(now)), &admin, None).await;
        let rows = by_agent["rows"].as_array().expect("rows");
        let backlog: i64 = rows.iter().filter_map(|row| row["backlog"].as_i64()).sum();
        assert_eq!(backlog, 1, "{by_agent}");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_and_the_xlsx_carry_exactly_the_summarys_figures_and_tickets_export_one_row_each() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let fixture = build_fixture(&desk, &clock).await;
        let (admin, _) = desk.staff().await;
        for group_by in ["agent", "day"] {
            let query = format!("{}&group_by={group_by}", period(&fixture));
            let summary = desk.expect(200, "GET", &format!("/api/v1/reports/summary?{query}"), &admin, None).await;

            let csv = format!("/api/v1/reports/export?kind=summary&format=csv&{query}");
            let (status, content_type, disposition, body) = download(&desk, &csv, &admin).await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            assert!(content_type.starts_with("text/csv"), "{content_type}");
            assert!(disposition.starts_with("attachment; filename=\"switchboard-summary-"), "{disposition}");
            assert!(disposition.ends_with(".csv\""), "{disposition}");
            let text = String::from_utf8(body).expect("UTF-8");
            let (header, rows) = first_csv_table(&text);
            assert_eq!(header[0], group_by);
            assert_same_figures("CSV", &summary, &header, &rows);

            let xlsx = format!("/api/v1/reports/export?kind=summary&format=xlsx&{query}");
            let (status, content_type, disposition, body) = download(&desk, &xlsx, &admin).await;
            assert_eq!(status, 200);
            assert_eq!(content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
            assert!(disposition.ends_with(".xlsx\""), "{disposition}");
            let (header, rows) = xlsx_sheet(&body, "Summary");
            assert_same_figures("XLSX", &summary, &header, &rows);
            let (_, days) = xlsx_sheet(&body, "Backlog by day");
            assert_eq!(days.len(), summary["backlog_by_day"].as_array().map_or(0, Vec::len));
        }

        // One row per ticket with its facts: A (reopened once, resolved twice) and B (merged).
        let tickets = format!("/api/v1/reports/export?kind=tickets&format=csv&{}", period(&fixture));
        let (status, _, _, body) = download(&desk, &tickets, &admin).await;
        assert_eq!(status, 200);
        let text = String::from_utf8(body).expect("UTF-8");
        let (header, rows) = first_csv_table(&text);
        assert_eq!(rows.len(), 2, "{text}");
        let column = |name: &str| header.iter().position(|column| column == name).expect(name);
        let a = rows.iter().find(|row| row[column("subject")] == "Parcel lost").expect("ticket A");
        assert_eq!(
            [
                &a[column("reopens")],
                &a[column("resolutions")],
                &a[column("replies")],
                &a[column("first_response_secs")]
            ],
            ["1", "2", "3", "90"],
            "{text}"
        );
        assert_eq!(a[column("team")], "Tier 1");
        let (_, rows) =
            xlsx_sheet(&download(&desk, &tickets.replace("format=csv", "format=xlsx"), &admin).await.3, "Tickets");
        assert_eq!(rows.len(), 2);

        // A PDF with the table and the chart.
        let pdf = format!("/api/v1/reports/export?kind=summary&format=pdf&group_by=day&{}", period(&fixture));
        let (status, content_type, disposition, body) = download(&desk, &pdf, &admin).await;
        assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
        assert!(disposition.ends_with(".pdf\""), "{disposition}");
        assert!(body.starts_with(b"%PDF-") && body.len() > 1000, "{} bytes", body.len());
        let (status, _, _, body) = download(&desk, &tickets.replace("format=csv", "format=pdf"), &admin).await;
        assert!(status == 200 && body.starts_with(b"%PDF-"));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_for_staff_within_their_scope_and_refuse_bad_parameters() {
    let clock = manual_clock();
    let desk = Desk::start_on(Backend::Sqlite, clock.clone()).await;
    let fixture = build_fixture(&desk, &clock).await;
    let (admin, _) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let supervisor = desk.login("sup@test.example").await;
    desk.create_user(&admin, json!({"email": "zoe@test.example", "name": "Zoe", "role": "agent"})).await;
    let zoe = desk.login("zoe@test.example").await;
    let tickets = format!("/api/v1/reports/export?kind=tickets&format=csv&{}", period(&fixture));

    let refused = desk.call("GET", &tickets, &customer, None).await;
    assert_error(refused.as_ref_pair(), 403, "forbidden");
    // An agent of no team sees none of the team's tickets; the team's supervisor sees them.
    let rows = |body: Vec<u8>| first_csv_table(&String::from_utf8(body).expect("UTF-8")).1.len();
    assert_eq!(rows(download(&desk, &tickets, &zoe).await.3), 0);
    assert_eq!(rows(download(&desk, &tickets, &supervisor).await.3), 1, "A is the team's; B never was");
    assert_eq!(rows(download(&desk, &tickets, &admin).await.3), 2);
    let summary = format!("/api/v1/reports/export?kind=summary&format=csv&{}", period(&fixture));
    let (_, zoes) = first_csv_table(&String::from_utf8(download(&desk, &summary, &zoe).await.3).expect("UTF-8"));
    assert_eq!(zoes.len(), 1, "the total only");

    for query in [
        "kind=summary",
        "format=csv",
        "kind=report&format=csv",
        "kind=summary&format=doc",
        "kind=tickets&format=csv&group_by=team",
        "kind=summary&format=csv&from=2026-12-02&to=2026-12-01",
        "kind=summary&format=csv&q=status:",
        "kind=summary&format=csv&limit=5",
    ] {
        let refused = desk.call("GET", &format!("/api/v1/reports/export?{query}"), &admin, None).await;
        assert_error(refused.as_ref_pair(), 400, "invalid_query");
    }
    desk.stop().await;
}

/// The sandbox mailbox's mails to `address`.
async fn mails_to(desk: &Desk, token: &str, address: &str) -> Vec<Value> {
    let (_, mailbox) =
        desk.call("GET", &format!("/sandbox/mail/messages?address={}", encoded(address)), token, None).await;
    mailbox["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_mails_its_report_once_at_its_hour_across_restarts_until_deleted() {
    for backend in backends() {
        let clock = manual_clock();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, _) = desk.staff().await;
        desk.ticket_for_customer(&admin, "Counted yesterday").await;
        // The next full hour (UTC: the account has no business hours), a day's report.
        let hour = (clock.now().to_zoned(jiff::tz::TimeZone::UTC).hour() + 1) % 24;
        let spec = json!({
            "kind": "summary",
            "query": "status:new,open",
            "group_by": "team",
            "cadence": "daily",
            "hour": hour,
            "recipients": ["Lead@Test.example"],
            "format": "csv"
        });
        let schedule = desk.expect(201, "POST", "/api/v1/reports/schedules", &admin, Some(spec)).await;
        let id = id_of(&schedule);
        assert_eq!(schedule["recipients"], json!(["lead@test.example"]));
        let next: Timestamp = schedule["next_run_at"].as_str().expect("next_run_at").parse().expect("instant");
        assert!(next > clock.now() && next <= clock.now().checked_add(SignedDuration::from_hours(1)).expect("time"));
        let listed = desk.expect(200, "GET", "/api/v1/reports/schedules", &admin, None).await;
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

        // The hour passes while the server is down: the stored timer fires as it starts again.
        desk = desk.down_for(&clock, SignedDuration::from_mins(61)).await;
        let (admin, _) = desk.staff().await;
        let mut mails = Vec::new();
        for _ in 0..100 {
            mails = mails_to(&desk, &admin, "lead@test.example").await;
            if !mails.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(mails.len(), 1, "{mails:?}");
        let mail = &mails[0];
        assert!(
            mail["subject"].as_str().is_some_and(|subject| subject.starts_with("Switchboard summary report (daily)")),
            "{mail}"
        );
        let attachments = mail["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 1, "{mail}");
        let name = attachments[0].as_str().expect("name");
        assert!(name.starts_with("switchboard-summary-") && name.ends_with(".csv"), "{name}");
        let ran = desk.expect(200, "GET", "/api/v1/reports/schedules", &admin, None).await;
        let ran = &ran["items"][0];
        assert!(ran["last_sent_at"].is_string(), "{ran}");
        let following: Timestamp = ran["next_run_at"].as_str().expect("next").parse().expect("instant");
        assert_eq!(following, next.checked_add(SignedDuration::from_hours(24)).expect("time"), "tomorrow, same hour");

        // Once: another restart before tomorrow's hour sends nothing more.
        desk = desk.down_for(&clock, SignedDuration::from_mins(5)).await;
        let (admin, _) = desk.staff().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(mails_to(&desk, &admin, "lead@test.example").await.len(), 0, "a new server's mailbox is empty");

        // Deleted: tomorrow's hour passes and nothing comes.
        desk.expect(204, "DELETE", &format!("/api/v1/reports/schedules/{id}"), &admin, None).await;
        let gone = desk.call("DELETE", &format!("/api/v1/reports/schedules/{id}"), &admin, None).await;
        assert_error(gone.as_ref_pair(), 404, "not_found");
        desk = desk.down_for(&clock, SignedDuration::from_hours(25)).await;
        let (admin, _) = desk.staff().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(mails_to(&desk, &admin, "lead@test.example").await.is_empty());
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_for_supervisors_and_admins_and_are_validated() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let supervisor = desk.login("sup@test.example").await;
    let valid = json!({
        "kind": "tickets", "cadence": "weekly", "weekday": "mon", "hour": 7,
        "recipients": ["lead@test.example"], "format": "xlsx"
    });
    for token in [&agent, &customer] {
        let refused = desk.call("POST", "/api/v1/reports/schedules", token, Some(valid.clone())).await;
        assert_error(refused.as_ref_pair(), 403, "forbidden");
        let refused = desk.call("GET", "/api/v1/reports/schedules", token, None).await;
        assert_error(refused.as_ref_pair(), 403, "forbidden");
    }
    let with = |field: &str, value: Value| {
        let mut spec = valid.clone();
        spec[field] = value;
        spec
    };
    for (spec, field) in [
        (with("hour", json!(24)), "hour"),
        (with("weekday", Value::Null), "weekday"),
        (with("recipients", json!([])), "recipients"),
        (with("recipients", json!(["not-an-address"])), "recipients"),
        (with("group_by", json!("team")), "group_by"),
        (with("cadence", json!("monthly")), "cadence"),
        (with("format", json!("doc")), "format"),
    ] {
        let refused = desk.call("POST", "/api/v1/reports/schedules", &supervisor, Some(spec)).await;
        assert_invalid(refused.as_ref_pair(), field);
    }
    let bad_query = desk.call("POST", "/api/v1/reports/schedules", &admin, Some(with("query", json!("status:")))).await;
    assert_error(bad_query.as_ref_pair(), 400, "invalid_query");
    desk.expect(201, "POST", "/api/v1/reports/schedules", &supervisor, Some(valid)).await;
    desk.stop().await;
}
