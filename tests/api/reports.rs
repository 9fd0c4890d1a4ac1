//! Reports: a fixture of tickets built through the API on a manual clock, with figures known to
//! the second (first responses, a pending pause, a reopen, a merge), read back from the summary
//! and the per-agent report; who may see which figures; refused parameters; and the projection
//! resuming after a restart and rebuilt from zero to the same aggregates.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use switchboard_actors::clock::{Clock, ManualClock};

use super::*;

/// The fixture's tickets, people and period.
pub(super) struct Fixture {
    pub(super) team: i64,
    pub(super) from: Timestamp,
    pub(super) to: Timestamp,
}

pub(super) fn step(clock: &Arc<ManualClock>, seconds: i64) {
    clock.advance(SignedDuration::from_secs(seconds));
}

/// Ticket A (the customer's, assigned to the agent in team Tier 1 10 s after it opened): first
/// response after 90 s, pending 600 s, a next reply after 120 s, resolved at 900 s (300 s
/// working); the customer writes again 60 s later (a reopen), the agent answers in 45 s and the
/// admin resolves 15 s after. Ticket B is opened by the customer and merged into A: created,
/// never resolved.
pub(super) async fn build_fixture(desk: &Desk, clock: &Arc<ManualClock>) -> Fixture {
    let (admin, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let agent_id = desk.seeded.agent.id;
    let team = id_of(
        &desk
            .expect(
                201,
                "POST",
                "/api/v1/teams",
                &admin,
                Some(json!({"name": "Tier 1", "member_ids": [agent_id, desk.seeded.supervisor.id]})),
            )
            .await,
    );
    let from = clock.now();
    step(clock, 1);
    let a = id_of(&desk.create_ticket(&customer, json!({"subject": "Parcel lost", "body": "Where is it?"})).await);
    step(clock, 10);
    desk.expect(
        200,
        "POST",
        &format!("/api/v1/tickets/{a}/assign"),
        &agent,
        Some(json!({"assignee_id": agent_id, "team_id": team})),
    )
    .await;
    let messages = format!("/api/v1/tickets/{a}/messages");
    step(clock, 80);
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "Looking into it."}))).await;
    step(clock, 60);
    desk.patch(&agent, a, json!({"status": "pending"})).await;
    step(clock, 600);
    desk.expect(201, "POST", &messages, &customer, Some(json!({"body": "Any news?"}))).await;
    step(clock, 120);
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "Found it, on its way."}))).await;
    step(clock, 30);
    desk.patch(&agent, a, json!({"status": "resolved"})).await;
    step(clock, 60);
    desk.expect(201, "POST", &messages, &customer, Some(json!({"body": "It never came."}))).await;
    step(clock, 45);
    desk.expect(201, "POST", &messages, &agent, Some(json!({"body": "Resent today."}))).await;
    step(clock, 15);
    desk.patch(&admin, a, json!({"status": "resolved"})).await;

    step(clock, 5);
    let b = id_of(&desk.create_ticket(&customer, json!({"subject": "Parcel lost again", "body": "Same."})).await);
    step(clock, 10);
    desk.expect(200, "POST", &format!("/api/v1/tickets/{b}/merge"), &agent, Some(json!({"into": a}))).await;
    step(clock, 1);
    Fixture { team, from, to: clock.now() }
}

pub(super) fn period(fixture: &Fixture) -> String {
    format!("from={}&to={}", fixture.from, fixture.to)
}

/// `{count, mean_secs, median_secs, p90_secs}`.
pub(super) fn durations(count: i64, mean: f64, median: f64, p90: f64) -> Value {
    json!({"count": count, "mean_secs": mean, "median_secs": median, "p90_secs": p90})
}

pub(super) fn no_durations() -> Value {
    json!({"count": 0, "mean_secs": null, "median_secs": null, "p90_secs": null})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_and_the_agents_figures_match_the_fixture_to_the_second() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let fixture = build_fixture(&desk, &clock).await;
        let (admin, agent) = desk.staff().await;

        let summary = desk
            .expect(200, "GET", &format!("/api/v1/reports/summary?{}&group_by=agent", period(&fixture)), &admin, None)
            .await;
        assert_eq!(summary["complete"], json!(true), "{summary}");
        let days = summary["backlog_by_day"].as_array().expect("backlog_by_day");
        assert_eq!(days.last().map(|day| day["backlog"].clone()), Some(json!(0)), "{summary}");
        assert_eq!(
            summary["total"],
            json!({
                "tickets_created": 2,
                "tickets_resolved": 2,
                "tickets_reopened": 1,
                "replies": 3,
                // 90 s and 45 s: nearest rank, the median is the first of two, p90 the second.
                "first_response": durations(2, 67.5, 45.0, 90.0),
                "next_reply": durations(1, 120.0, 120.0, 120.0),
                "resolution": durations(2, 480.0, 60.0, 900.0),
                // The first cycle without its 600 s pending.
                "working_resolution": durations(2, 180.0, 60.0, 300.0),
                "one_touch": {"numerator": 1, "denominator": 2},
                "sla_breaches": 0,
                // A: from its creation to its second resolve; B, merged away, never resolved.
                "full_resolution": durations(1, 1020.0, 1020.0, 1020.0),
                "requester_wait": durations(2, 180.0, 60.0, 300.0),
                // A resolved, B merged: nothing open at the end.
                "backlog": 0,
                "unassigned_backlog": 0,
                // No SLA policy: no clock ran.
                "sla_compliance": {
                    "first_response": {"numerator": 0, "denominator": 0},
                    "resolution": {"numerator": 0, "denominator": 0},
                    "window": {"numerator": 0, "denominator": 0}
                },
                "window_expired_unanswered": 0,
                // A's three messages and B's one, all on the portal.
                "inbound_messages": 4,
                "whatsapp": {
                    "sent": 0, "delivered": 0, "read": 0, "failed": 0,
                    "delivery_rate": {"numerator": 0, "denominator": 0},
                    "read_rate": {"numerator": 0, "denominator": 0},
                    "failure_reasons": []
                },
                "email": {"sent": 0, "failed": 0},
                "automation": {"runs": 0, "failed": 0, "late": 0, "by_rule": []},
                // No survey in the fixture (tests/api/csat.rs counts ratings).
                "csat_ratings": 0,
                "csat_average": null
            }),
            "{backend:?}"
        );
        let rows = summary["rows"].as_array().expect("rows");
        let agent_row = rows
            .iter()
            .find(|row| row["key"] == json!(desk.seeded.agent.id.to_string()))
            .unwrap_or_else(|| panic!("no row for the agent in {summary}"));
        assert_eq!(agent_row["replies"], json!(3));
        assert_eq!(agent_row["first_response"], durations(2, 67.5, 45.0, 90.0));
        // Both cycles ended while the ticket was the agent's (the admin resolved the second).
        assert_eq!(agent_row["tickets_resolved"], json!(2));
        let unassigned = rows.iter().find(|row| row["key"].is_null()).expect("the unassigned row");
        assert_eq!(unassigned["tickets_created"], json!(2), "both were created before any assignment: {summary}");

        let by_team = desk
            .expect(200, "GET", &format!("/api/v1/reports/summary?{}&group_by=team", period(&fixture)), &admin, None)
            .await;
        let team_row = by_team["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["key"] == json!(fixture.team.to_string())))
            .cloned()
            .unwrap_or_else(|| panic!("no row for the team in {by_team}"));
        assert_eq!((team_row["tickets_resolved"].clone(), team_row["replies"].clone()), (json!(2), json!(3)));

        // Every grouping's rows add up to the totals: each figure lands in exactly one row.
        for group_by in ["agent", "team", "channel", "company", "category", "priority", "day", "week"] {
            let grouped = desk
                .expect(
                    200,
                    "GET",
                    &format!("/api/v1/reports/summary?{}&group_by={group_by}", period(&fixture)),
                    &admin,
                    None,
                )
                .await;
            for figure in ["tickets_created", "tickets_resolved", "tickets_reopened", "replies", "sla_breaches"] {
                let sum: i64 =
                    grouped["rows"].as_array().expect("rows").iter().filter_map(|row| row[figure].as_i64()).sum();
                assert_eq!(json!(sum), grouped["total"][figure], "{figure} by {group_by}: {grouped}");
            }
            // Periods of whole days are added up from the per-day cells (the partial first day
            // from the measures): the same figures as the measures give for the fixture's span.
            let midnight = |at: Timestamp, days: i64| {
                let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
                let date = date.checked_add(jiff::Span::new().days(days)).expect("a date");
                date.to_zoned(jiff::tz::TimeZone::UTC).expect("a day").timestamp()
            };
            for (from, to) in
                [(midnight(fixture.from, -1), midnight(fixture.to, 1)), (fixture.from, midnight(fixture.to, 2))]
            {
                let wide = desk
                    .expect(
                        200,
                        "GET",
                        &format!("/api/v1/reports/summary?from={from}&to={to}&group_by={group_by}"),
                        &admin,
                        None,
                    )
                    .await;
                assert_eq!(wide["total"], grouped["total"], "{from}..{to} by {group_by}: {wide} vs {grouped}");
                assert_eq!(wide["rows"], grouped["rows"], "{from}..{to} by {group_by}: {wide} vs {grouped}");
            }
        }
        let by_channel = desk
            .expect(200, "GET", &format!("/api/v1/reports/summary?{}&group_by=channel", period(&fixture)), &admin, None)
            .await;
        let channels: Vec<Value> =
            by_channel["rows"].as_array().expect("rows").iter().map(|row| row["key"].clone()).collect();
        assert_eq!(channels, [json!("web")], "the customer wrote on the portal");

        // The query language selects tickets by what they are now: B is closed, not resolved.
        let resolved_only = desk
            .expect(
                200,
                "GET",
                &format!("/api/v1/reports/summary?{}&q={}", period(&fixture), encoded("status:resolved")),
                &admin,
                None,
            )
            .await;
        assert_eq!(resolved_only["total"]["tickets_created"], json!(1));
        assert_eq!(resolved_only["total"]["tickets_resolved"], json!(2));
        // Over whole days a filter's tickets are added up from the cells kept per ticket (the
        // fixture's span alone has no whole day, so its measures are summed): the same figures.
        let midnight = |at: Timestamp, days: i64| {
            let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let date = date.checked_add(jiff::Span::new().days(days)).expect("a date");
            date.to_zoned(jiff::tz::TimeZone::UTC).expect("a day").timestamp()
        };
        let filtered = |from: Timestamp, to: Timestamp, group_by: &str| {
            format!("/api/v1/reports/summary?from={from}&to={to}&group_by={group_by}&q={}", encoded("status:resolved"))
        };
        for group_by in ["day", "agent"] {
            let narrow = desk.expect(200, "GET", &filtered(fixture.from, fixture.to, group_by), &admin, None).await;
            for (from, to) in
                [(midnight(fixture.from, -1), midnight(fixture.to, 1)), (fixture.from, midnight(fixture.to, 2))]
            {
                let wide = desk.expect(200, "GET", &filtered(from, to, group_by), &admin, None).await;
                assert_eq!(wide["total"], narrow["total"], "{from}..{to} by {group_by}: {wide} vs {narrow}");
                assert_eq!(wide["rows"], narrow["rows"], "{from}..{to} by {group_by}: {wide} vs {narrow}");
            }
        }

        let mine = desk
            .expect(
                200,
                "GET",
                &format!("/api/v1/reports/agents/{}?{}", desk.seeded.agent.id, period(&fixture)),
                &agent,
                None,
            )
            .await;
        assert_eq!(mine["agent_id"], json!(desk.seeded.agent.id));
        // Assigned, replied three times, set pending, resolved, merged B: tickets A and B.
        assert_eq!(mine["tickets_touched"], json!(2), "{mine}");
        assert_eq!(mine["replies"], json!(3));
        assert_eq!(mine["resolutions"], json!(1), "the second resolve was the admin's");
        assert_eq!(mine["first_response"], durations(2, 67.5, 45.0, 90.0));
        assert_eq!(mine["resolution"], durations(1, 900.0, 900.0, 900.0));
        assert_eq!(mine["sla_breaches"], json!(0));
        assert!(mine.as_object().is_some_and(|fields| fields.contains_key("csat_average")), "{mine}");
        assert_eq!(mine["csat_average"], Value::Null);

        let admins = desk
            .expect(
                200,
                "GET",
                &format!("/api/v1/reports/agents/{}?{}", desk.seeded.admin.id, period(&fixture)),
                &admin,
                None,
            )
            .await;
        assert_eq!(
            (admins["resolutions"].clone(), admins["resolution"].clone()),
            (json!(1), durations(1, 60.0, 60.0, 60.0))
        );
        assert_eq!(admins["first_response"], no_durations());
        desk.stop().await;
    }
}

/// Business hours count only the desk's working time, in its zone (Berlin, UTC+1 in winter,
/// 09:00–17:00 on weekdays), and days are that zone's days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_hours_count_only_working_time_and_days_are_the_desks() {
    for backend in backends() {
        // Monday 30 November 2026, 16:59 in Berlin.
        let clock = Arc::new(ManualClock::new("2026-11-30T15:59:00Z".parse().expect("time")));
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        let weekdays = ["mon", "tue", "wed", "thu", "fri"]
            .map(|weekday| json!({"weekday": weekday, "start": "09:00", "end": "17:00"}));
        let policy = json!({
            "enabled": false,
            "warning_percent": 80,
            "targets": [{"priority": "urgent", "first_response_minutes": 30, "resolution_minutes": 240}],
            "business_hours": {"time_zone": "Europe/Berlin", "periods": weekdays}
        });
        desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
        let id = id_of(&desk.create_ticket(&customer, json!({"subject": "Late call", "body": "Hello?"})).await);
        // 17:00:30: 90 s later, 60 of them working.
        step(&clock, 90);
        desk.expect(201, "POST", &format!("/api/v1/tickets/{id}/messages"), &agent, Some(json!({"body": "Hi!"}))).await;
        // Tuesday 09:01: 16 h 2 min after the ticket opened, 2 working minutes.
        clock.advance(SignedDuration::from_secs(16 * 3600 + 30));
        desk.patch(&agent, id, json!({"status": "resolved"})).await;

        let path =
            |hours: &str| format!("/api/v1/reports/summary?from=2026-11-30&to=2026-12-01&group_by=day&hours={hours}");
        let business = desk.expect(200, "GET", &path("business"), &admin, None).await;
        assert_eq!(business["time_zone"], json!("Europe/Berlin"));
        assert_eq!(business["from"], json!("2026-11-29T23:00:00Z"), "midnight in Berlin");
        assert_eq!(business["to"], json!("2026-12-01T23:00:00Z"), "the last day included");
        assert_eq!(business["total"]["first_response"], durations(1, 60.0, 60.0, 60.0));
        assert_eq!(business["total"]["resolution"], durations(1, 120.0, 120.0, 120.0));
        let calendar = desk.expect(200, "GET", &path("calendar"), &admin, None).await;
        assert_eq!(calendar["total"]["first_response"], durations(1, 90.0, 90.0, 90.0));
        assert_eq!(calendar["total"]["resolution"], durations(1, 57_720.0, 57_720.0, 57_720.0));
        let days: Vec<(Value, Value, Value)> = calendar["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| (row["key"].clone(), row["tickets_created"].clone(), row["tickets_resolved"].clone()))
            .collect();
        assert_eq!(
            days,
            [(json!("2026-11-30"), json!(1), json!(0)), (json!("2026-12-01"), json!(0), json!(1))],
            "each figure on the day of its ending event"
        );
        let weeks = desk
            .expect(200, "GET", "/api/v1/reports/summary?from=2026-11-30&to=2026-12-01&group_by=week", &admin, None)
            .await;
        assert_eq!(weeks["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(weeks["rows"][0]["key"], json!("2026-11-30"), "a week by its Monday");
        desk.stop().await;
    }
}

/// A breach is the assignee's at the time it happened, and counts in the summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sla_breach_counts_for_the_agent_the_ticket_was_assigned_to_then() {
    for backend in backends() {
        let clock = manual_clock();
        let mut desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, _) = desk.staff().await;
        let from = clock.now();
        let policy = json!({
            "enabled": true,
            "warning_percent": 50,
            "targets": [{"priority": "medium", "first_response_minutes": 10}]
        });
        desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
        let id = id_of(&desk.ticket_for_customer(&admin, "Nobody answers").await);
        desk.expect(
            200,
            "POST",
            &format!("/api/v1/tickets/{id}/assign"),
            &admin,
            Some(json!({"assignee_id": desk.seeded.agent.id})),
        )
        .await;
        // Down past the first-response target: the breach fires as the server starts again.
        desk = desk.down_for(&clock, SignedDuration::from_mins(11)).await;
        let (admin, agent) = desk.staff().await;
        let events = desk.events(&admin, id, 0).await;
        assert!(event_types(&events).contains(&"sla_breached"), "{events:?}");
        let to = clock.now().checked_add(SignedDuration::from_secs(1)).expect("time");
        let mine = desk
            .expect(
                200,
                "GET",
                &format!("/api/v1/reports/agents/{}?from={from}&to={to}", desk.seeded.agent.id),
                &agent,
                None,
            )
            .await;
        assert_eq!(mine["sla_breaches"], json!(1), "{mine}");
        let admins = desk
            .expect(
                200,
                "GET",
                &format!("/api/v1/reports/agents/{}?from={from}&to={to}", desk.seeded.admin.id),
                &admin,
                None,
            )
            .await;
        assert_eq!(admins["sla_breaches"], json!(0), "the admin only opened and assigned it");
        let summary =
            desk.expect(200, "GET", &format!("/api/v1/reports/summary?from={from}&to={to}"), &admin, None).await;
        assert_eq!(summary["total"]["sla_breaches"], json!(1));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_are_for_staff_and_each_sees_only_their_own_and_their_teams() {
    let clock = manual_clock();
    let desk = Desk::start_on(Backend::Sqlite, clock.clone()).await;
    let fixture = build_fixture(&desk, &clock).await;
    let (admin, agent) = desk.staff().await;
    let supervisor = desk.login("sup@test.example").await;
    let customer = desk.login("cust@test.example").await;
    let outsider =
        id_of(&desk.create_user(&admin, json!({"email": "zoe@test.example", "name": "Zoe", "role": "agent"})).await);
    let zoe = desk.login("zoe@test.example").await;
    let summary = format!("/api/v1/reports/summary?{}", period(&fixture));
    let agents_figures = format!("/api/v1/reports/agents/{}?{}", desk.seeded.agent.id, period(&fixture));

    // Customers see no figures at all.
    assert_error(desk.call("GET", &summary, &customer, None).await.as_ref_pair(), 403, "forbidden");
    assert_error(desk.call("GET", &agents_figures, &customer, None).await.as_ref_pair(), 403, "forbidden");
    // An agent outside the team sees neither the agent's figures nor the team's tickets.
    assert_error(desk.call("GET", &agents_figures, &zoe, None).await.as_ref_pair(), 403, "forbidden");
    let theirs = desk.expect(200, "GET", &summary, &zoe, None).await;
    assert_eq!(theirs["total"]["replies"], json!(0), "{theirs}");
    // An agent may not read the admin's figures (no team shared).
    let admins_figures = format!("/api/v1/reports/agents/{}", desk.seeded.admin.id);
    assert_error(desk.call("GET", &admins_figures, &agent, None).await.as_ref_pair(), 403, "forbidden");
    // The team's supervisor sees the agent's figures and the team's summary.
    let seen = desk.expect(200, "GET", &agents_figures, &supervisor, None).await;
    assert_eq!(seen["replies"], json!(3));
    let teams = desk.expect(200, "GET", &summary, &supervisor, None).await;
    assert_eq!(teams["total"]["replies"], json!(3));
    // A supervisor of no team shared with Zoe may not read hers; the admin reads anyone's.
    let zoes_figures = format!("/api/v1/reports/agents/{outsider}");
    assert_error(desk.call("GET", &zoes_figures, &supervisor, None).await.as_ref_pair(), 403, "forbidden");
    desk.expect(200, "GET", &zoes_figures, &admin, None).await;
    // Not a staff member, or not in this account: no such agent.
    let customers_figures = format!("/api/v1/reports/agents/{}", desk.seeded.customer.id);
    assert_error(desk.call("GET", &customers_figures, &admin, None).await.as_ref_pair(), 404, "not_found");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_parameters_and_bad_values_are_invalid_queries() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    for query in [
        "group_by=colour",
        "hours=office",
        "from=yesterday",
        "to=2026-13-01",
        "from=2026-12-02&to=2026-12-01",
        "from=2024-01-01&to=2026-01-01",
        "limit=5",
        "q=status:",
        "q=team:Nobody",
    ] {
        let (status, body) = desk.call("GET", &format!("/api/v1/reports/summary?{query}"), &admin, None).await;
        assert_error((status, &body), 400, "invalid_query");
    }
    let agent = format!("/api/v1/reports/agents/{}?group_by=day", desk.seeded.agent.id);
    assert_error(desk.call("GET", &agent, &admin, None).await.as_ref_pair(), 400, "invalid_query");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projection_resumes_after_a_restart_and_a_rebuild_from_zero_gives_the_same_aggregates() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let fixture = build_fixture(&desk, &clock).await;
        let (admin, _) = desk.staff().await;
        let path = format!("/api/v1/reports/summary?{}&group_by=day", period(&fixture));
        let before = desk.expect(200, "GET", &path, &admin, None).await;
        let account = desk.seeded.account.id;

        let desk = desk.down_for(&clock, SignedDuration::from_secs(1)).await;
        let (admin, agent) = desk.staff().await;
        let after_restart = desk.expect(200, "GET", &path, &admin, None).await;
        assert_eq!(after_restart["total"], before["total"], "nothing counted twice, nothing missed");
        assert_eq!(after_restart["rows"], before["rows"]);
        // And it goes on from where it was.
        let c = id_of(&desk.ticket_for_customer(&agent, "One more").await);
        let later = format!(
            "/api/v1/reports/summary?from={}&to={}",
            fixture.from,
            clock.now().checked_add(SignedDuration::from_secs(1)).expect("time")
        );
        let grown = desk.expect(200, "GET", &later, &admin, None).await;
        assert_eq!(grown["total"]["tickets_created"], json!(3), "ticket {c} counted once");

        let Desk { _db: db, seeded, server } = desk;
        server.stop().await;
        let store = db.open().await;
        let projected = store.daily_aggregates(account).await.expect("aggregates");
        assert!(!projected.is_empty());
        switchboard::cli::reports_rebuild(store.clone()).await.expect("rebuild");
        assert_eq!(store.daily_aggregates(account).await.expect("aggregates"), projected, "{backend:?}");
        assert!(
            planner_knows_the_measures(&db.url).await,
            "a rebuild refreshes the planner's statistics ({backend:?})"
        );
        assert_eq!(store.report_position().await.expect("cursor"), store.last_event_position().await.expect("log end"));
        drop(seeded);
    }
}

/// `(status, &body)` from an owned pair, for [`assert_error`].
pub(super) trait AsRefPair {
    fn as_ref_pair(&self) -> (u16, &Value);
}

impl AsRefPair for (u16, Value) {
    fn as_ref_pair(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_board_shows_each_team_its_queue_its_agents_and_todays_volumes() {
    let desk = Desk::start().await;
    let (admin, agent) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let agent_id = desk.seeded.agent.id;
    let team = |name: &str, members: Vec<i64>| {
        let body = json!({"name": name, "member_ids": members});
        async { id_of(&desk.expect(201, "POST", "/api/v1/teams", &admin, Some(body)).await) }
    };
    let tier1 = team("Tier 1", vec![agent_id]).await;
    let tier2 = team("Tier 2", Vec::new()).await;
    let requester = desk.seeded.customer.id;
    let open = |subject: &str, extra: Value| {
        let mut body = json!({"subject": subject, "body": "Help.", "requester_id": requester});
        body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        async { id_of(&desk.create_ticket(&admin, body).await) }
    };
    open("Unassigned in tier 1", json!({"team_id": tier1})).await;
    open("Assigned in tier 1", json!({"team_id": tier1, "assignee_id": agent_id})).await;
    open("In tier 2", json!({"team_id": tier2})).await;
    let done = open("No team, done", json!({})).await;
    desk.patch(&admin, done, json!({"status": "resolved"})).await;

    let board = desk.expect(200, "GET", "/api/v1/reports/live", &admin, None).await;
    let row = |board: &Value, team: Value| {
        board["teams"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["team_id"] == team))
            .cloned()
            .unwrap_or_else(|| panic!("no row for team {team} in {board}"))
    };
    let tier1_row = row(&board, json!(tier1));
    assert_eq!((tier1_row["open"].clone(), tier1_row["unassigned"].clone()), (json!(2), json!(1)), "{board}");
    assert_eq!(tier1_row["breached"], json!(0));
    assert_eq!(row(&board, json!(tier2))["open"], json!(1));
    assert_eq!(row(&board, Value::Null)["open"], json!(0), "the resolved ticket is not open");
    assert_eq!(board["today"]["tickets_created"], json!(4));
    assert_eq!(board["today"]["tickets_resolved"], json!(1));

    // The agent sees their team only; customers nothing; parameters are refused.
    let theirs = desk.expect(200, "GET", "/api/v1/reports/live", &agent, None).await;
    let teams: Vec<Value> =
        theirs["teams"].as_array().expect("teams").iter().map(|row| row["team_id"].clone()).collect();
    assert_eq!(teams, [json!(tier1)]);
    assert_error(desk.call("GET", "/api/v1/reports/live", &customer, None).await.as_ref_pair(), 403, "forbidden");
    let refused = desk.call("GET", "/api/v1/reports/live?team=1", &admin, None).await;
    assert_error(refused.as_ref_pair(), 400, "invalid_query");

    // An agent who opens the console is online on their team's row.
    let socket = WsClient::connect(&desk.server.base, &agent).await;
    eventually("the agent shows online on the board", || async {
        let board = desk.expect(200, "GET", "/api/v1/reports/live", &admin, None).await;
        row(&board, json!(tier1))["agents"]["online"] == json!(1) && board["agents"]["online"] == json!(1)
    })
    .await;
    socket.close().await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_topic_pushes_the_board_and_its_changes() {
    let desk = Desk::start().await;
    let (admin, _) = desk.staff().await;
    let customer = desk.login("cust@test.example").await;
    let mut socket = WsClient::connect(&desk.server.base, &admin).await;
    socket.subscribe("dashboard", None).await;
    let first = socket.expect("dashboard", Duration::from_secs(10)).await;
    let open_without_team = |frame: &Value| {
        frame["board"]["teams"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["team_id"].is_null()))
            .map(|row| row["open"].clone())
    };
    assert_eq!(open_without_team(&first), Some(json!(0)), "{first}");

    desk.create_ticket(&customer, json!({"subject": "New on the board", "body": "Hi"})).await;
    // The queue's counts change at once; today's volumes follow when the projection has
    // counted the ticket (its passes are a second apart under load), in a later frame.
    let mut changed = socket.expect("dashboard", Duration::from_secs(10)).await;
    while changed["board"]["today"]["tickets_created"] != json!(1) {
        assert_eq!(changed["board"]["today"]["tickets_created"], json!(0), "{changed}");
        changed = socket.expect("dashboard", Duration::from_secs(10)).await;
    }
    assert_eq!(open_without_team(&changed), Some(json!(1)), "{changed}");
    socket.close().await;

    // Customers may not follow it.
    let mut theirs = WsClient::connect(&desk.server.base, &customer).await;
    theirs.send(json!({"type": "subscribe", "topic": "dashboard"})).await;
    let refused = theirs.expect("error", Duration::from_secs(5)).await;
    assert_eq!(refused["code"], json!("forbidden_topic"), "{refused}");
    theirs.close().await;
    desk.stop().await;
}

/// Whether the database's query planner has statistics of `report_measures` (SQLite's
/// `sqlite_stat1`, PostgreSQL's last analyze of the table).
async fn planner_knows_the_measures(url: &str) -> bool {
    use sqlx::Connection as _;
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'report_measures'")
            .fetch_one(&mut connection)
            .await
            .unwrap_or(0);
        return rows > 0;
    }
    let mut connection = sqlx::PgConnection::connect(url).await.expect("postgres");
    // The statistics views are written a moment after the ANALYZE commits.
    for _ in 0..50 {
        let analyzed: Option<bool> = sqlx::query_scalar(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'report_measures'",
        )
        .fetch_optional(&mut connection)
        .await
        .expect("statistics");
        if analyzed == Some(true) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}
