//! ReportsPort: a ticket's measures change (rows added, single rows deleted, or the ticket
//! replaced whole) together with the cursor's move (a second writer from the same cursor writes
//! nothing), the per-day aggregates follow the replacement
//! exactly, reads are limited to a period and a scope, and a reset empties everything.

use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::reports::measures::{Dimensions, Measure, Metric};
use switchboard_actors::reports::{DailyQuery, DailyTotal, MeasureChanges, MeasureQuery, MeasureScope};

use super::*;

fn measure(ticket: &Ticket, metric: Metric, at: Timestamp, actor: Option<UserId>, team: Option<TeamId>) -> Measure {
    Measure {
        account_id: ticket.account_id,
        ticket_id: ticket.id,
        metric,
        at,
        day: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
        value_ms: (metric == Metric::FirstResponse).then_some(90_000),
        business_ms: None,
        replies: None,
        actor_id: actor,
        detail: None,
        dimensions: Dimensions {
            assignee_id: actor,
            team_id: team,
            channel: Some(Channel::Web),
            company_id: None,
            category_id: None,
            priority: Some(Priority::Medium),
        },
    }
}

/// Records `tickets`' measures as the projection does: diffed against what the store keeps.
async fn record(store: &dyn Store, from: i64, to: i64, tickets: &[(TicketId, Vec<Measure>)]) -> StoreResult<()> {
    let ids: Vec<TicketId> = tickets.iter().map(|(ticket, _)| *ticket).collect();
    let kept = store.kept_measures(&ids).await?;
    store.record_measures(from, to, MeasureChanges::between(kept, tickets)).await
}

/// The aggregate cell of `metric` for agent `user`, if any.
async fn agent_cell(store: &dyn Store, account: AccountId, metric: Metric, user: UserId) -> Option<DailyTotal> {
    store
        .daily_aggregates(account)
        .await
        .expect("aggregates")
        .into_iter()
        .find(|(key, _)| key.metric == metric && key.dimension == "agent" && key.key == user.to_string())
        .map(|(_, total)| total)
}

pub async fn measures_replace_with_the_cursor(store: &dyn Store) {
    let account = store.create_account("Reports").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@reports.example", Role::Customer)).await.expect("user");
    let ana = store.create_user(new_user(account.id, "ana@reports.example", Role::Agent)).await.expect("user");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, customer.id, "Report me")).await;
    let at = now();
    let later = at.checked_add(SignedDuration::from_secs(90)).expect("time");

    let first_version = vec![
        measure(&ticket, Metric::Created, at, None, None),
        measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)),
        measure(&ticket, Metric::FirstResponse, later, Some(ana.id), Some(7)),
    ];
    let from = store.report_position().await.expect("cursor");
    record(store, from, from + 1, &[(ticket.id, first_version.clone())]).await.expect("recorded");
    assert_eq!(store.report_position().await.expect("cursor"), from + 1);
    let everything = MeasureQuery::new(
        account.id,
        at,
        later.checked_add(SignedDuration::from_millis(1)).expect("time"),
        None,
        MeasureScope::Account,
    );
    let mut read = store.measures(&everything).await.expect("measures");
    read.sort_by_key(|measure| (measure.at, measure.metric));
    let mut expected = first_version.clone();
    expected.sort_by_key(|measure| (measure.at, measure.metric));
    assert_eq!(read, expected);
    let cell = agent_cell(store, account.id, Metric::FirstResponse, ana.id).await;
    assert_eq!(cell, Some(DailyTotal { count: 1, sum_ms: 90_000 }));

    // Another node that read the same cursor writes nothing.
    let late = record(store, from, from + 1, &[(ticket.id, first_version.clone())]).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(agent_cell(store, account.id, Metric::Reply, ana.id).await.map(|total| total.count), Some(1));

    // The ticket's log grew: its measures are replaced, and the aggregates move by the difference.
    let second_version = vec![
        measure(&ticket, Metric::Created, at, None, None),
        measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)),
        measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)),
    ];
    record(store, from + 1, from + 3, &[(ticket.id, second_version.clone())]).await.expect("recorded");
    assert_eq!(store.measures(&everything).await.expect("measures").len(), 3);
    assert_eq!(agent_cell(store, account.id, Metric::Reply, ana.id).await.map(|total| total.count), Some(2));
    assert_eq!(agent_cell(store, account.id, Metric::FirstResponse, ana.id).await, None, "a cell at zero is gone");

    // It grew again by one reply only: that row is added, the cells move by it.
    let mut third_version = second_version.clone();
    third_version.push(measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)));
    record(store, from + 3, from + 4, &[(ticket.id, third_version.clone())]).await.expect("recorded");
    assert_eq!(store.measures(&everything).await.expect("measures").len(), 4);
    assert_eq!(agent_cell(store, account.id, Metric::Reply, ana.id).await.map(|total| total.count), Some(3));
    let reply_cells = DailyQuery {
        tickets: Some(vec![ticket.id]),
        ..DailyQuery::new(account.id, "all", (None, jiff::civil::date(2100, 1, 1)), &[Metric::Reply], false)
    };
    let replies_of_the_ticket: i64 =
        store.daily_totals(&reply_cells).await.expect("cells").iter().map(|cell| cell.count).sum();
    assert_eq!(replies_of_the_ticket, 3, "the ticket's own cells follow the added row");
    record(store, from + 4, from + 5, &[(ticket.id, second_version.clone())]).await.expect("recorded");
    assert_eq!(agent_cell(store, account.id, Metric::Reply, ana.id).await.map(|total| total.count), Some(2));

    // The period's end is excluded; scopes keep to teams or a person; a filter to its tickets.
    let before_reply = MeasureQuery { to: later, ..everything.clone() };
    assert_eq!(store.measures(&before_reply).await.expect("measures").len(), 1);
    let team = |teams: Vec<TeamId>, person: Option<UserId>| MeasureQuery {
        scope: MeasureScope::Teams { teams, person },
        ..everything.clone()
    };
    assert_eq!(store.measures(&team(vec![7], None)).await.expect("measures").len(), 2);
    assert_eq!(store.measures(&team(vec![8], None)).await.expect("measures").len(), 0);
    assert_eq!(store.measures(&team(Vec::new(), Some(ana.id))).await.expect("measures").len(), 2);
    let other_tickets = TicketFilter { words: vec!["nothing-matches-this".to_owned()], ..TicketFilter::default() };
    let filtered = MeasureQuery { filter: Some(other_tickets), ..everything.clone() };
    assert!(store.measures(&filtered).await.expect("measures").is_empty());
    // Only some metrics, only some tickets; the tickets with measures, page by page.
    let replies = MeasureQuery { metrics: vec![Metric::Reply], ..everything.clone() };
    assert_eq!(store.measures(&replies).await.expect("measures").len(), 2);
    let none = MeasureQuery { tickets: Some(vec![ticket.id + 1]), ..everything.clone() };
    assert!(store.measures(&none).await.expect("measures").is_empty());
    let theirs = MeasureQuery { tickets: Some(vec![ticket.id]), ..everything.clone() };
    assert_eq!(store.measures(&theirs).await.expect("measures").len(), 3);
    assert_eq!(store.report_ticket_ids(&everything, 0, 10).await.expect("ids"), vec![ticket.id]);
    assert!(store.report_ticket_ids(&everything, ticket.id, 10).await.expect("ids").is_empty());

    let ticket_cells = DailyQuery {
        tickets: Some(vec![ticket.id]),
        ..DailyQuery::new(account.id, "all", (None, jiff::civil::date(2100, 1, 1)), &[], false)
    };
    assert!(!store.daily_totals(&ticket_cells).await.expect("cells").is_empty(), "cells kept per ticket");
    store.reset_reports().await.expect("reset");
    assert_eq!(store.report_position().await.expect("cursor"), 0);
    assert!(store.measures(&everything).await.expect("measures").is_empty());
    assert!(store.daily_aggregates(account.id).await.expect("aggregates").is_empty());
    assert!(store.daily_totals(&ticket_cells).await.expect("cells").is_empty(), "the cells per ticket too");
}

/// Report schedules: stored with their specification, listed per account, found by id for the
/// timer, moved on after a run, deleted only from their own account.
pub async fn report_schedules_round_trip(store: &dyn Store) {
    use switchboard_actors::reports::NewReportSchedule;
    use switchboard_actors::reports::schedule::{Cadence, ExportFormat, ExportKind, ScheduleSpec};
    use switchboard_actors::reports::summary::GroupBy;
    let account = store.create_account("Schedules").await.expect("account");
    let lead = store.create_user(new_user(account.id, "lead@schedules.example", Role::Admin)).await.expect("user");
    let at: Timestamp = "2026-12-04T10:00:00Z".parse().expect("time");
    let spec = ScheduleSpec {
        kind: ExportKind::Summary,
        query: "status:open".to_owned(),
        group_by: Some(GroupBy::Team),
        cadence: Cadence::Weekly,
        hour: 7,
        weekday: Some(Weekday::Mon),
        recipients: vec!["lead@schedules.example".to_owned()],
        format: ExportFormat::Xlsx,
        hours: None,
    };
    let next: Timestamp = "2026-12-07T07:00:00Z".parse().expect("time");
    let new = NewReportSchedule {
        account_id: account.id,
        created_by: lead.id,
        spec: spec.clone(),
        next_run_at: next,
        created_at: at,
    };
    let stored = store.create_report_schedule(&new).await.expect("created");
    assert_eq!((stored.spec.clone(), stored.next_run_at, stored.last_sent_at), (spec, next, None));
    assert_eq!(store.report_schedules(account.id).await.expect("list"), vec![stored.clone()]);
    assert_eq!(store.report_schedule(stored.id).await.expect("one"), Some(stored.clone()));
    let later: Timestamp = "2026-12-14T07:00:00Z".parse().expect("time");
    store.report_schedule_ran(stored.id, later, Some(next)).await.expect("ran");
    let ran = store.report_schedule(stored.id).await.expect("one").expect("still there");
    assert_eq!((ran.next_run_at, ran.last_sent_at), (later, Some(next)));
    assert!(!store.delete_report_schedule(account.id + 1, stored.id).await.expect("delete"), "another account's");
    assert!(store.delete_report_schedule(account.id, stored.id).await.expect("delete"));
    assert_eq!(store.report_schedule(stored.id).await.expect("one"), None);
}

/// `tickets` among 2,500 ids no ticket has: a list long enough to be tested row by row.
fn long_list(tickets: &[TicketId]) -> Vec<TicketId> {
    let mut list: Vec<TicketId> = (1..=2_500).map(|n| -n).collect();
    list.extend_from_slice(tickets);
    list
}

/// As [`long_list`], with ids far apart (a list a store may not send as a bitmap of its span).
fn wide_list(tickets: &[TicketId]) -> Vec<TicketId> {
    let mut list: Vec<TicketId> = (1..=2_500).map(|n| i64::MAX / 2 - n * 1_000_000).collect();
    list.extend_from_slice(tickets);
    list
}

/// The summaries' sums in SQL (`measure_totals`, `duration_stats`) equal the same sums over the
/// measures read back one by one (`aggregate::totals_of`, `stats_of`): every split (local days
/// and weeks across a daylight saving change, every dimension), both clocks, a scope and a
/// filter.
pub async fn sums_in_sql_match_the_measures(store: &dyn Store) {
    use switchboard_actors::reports::aggregate::{DurationValues, LocalDays, MeasureSplit, stats_of, totals_of};
    use switchboard_actors::reports::summary::{GroupBy, Hours};

    let account = store.create_account("Sums").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@sums.example", Role::Customer)).await.expect("user");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let mut tickets = Vec::new();
    for subject in ["One", "Two", "Three"] {
        tickets.push(create(store, &config, draft(account.id, customer.id, subject)).await);
    }
    let zone = jiff::tz::TimeZone::get("America/New_York").expect("a zone");
    // Five days around the end of daylight saving time (2026-11-01 02:00 EDT).
    let start: Timestamp = "2026-10-29T10:00:00Z".parse().expect("a time");
    /// A small deterministic generator (xorshift).
    struct Dice(u64);
    impl Dice {
        fn roll(&mut self, sides: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % sides
        }
        /// `value` two times in three.
        fn maybe(&mut self, value: i64) -> Option<i64> {
            (self.roll(3) > 0).then_some(value)
        }
    }
    let mut dice = Dice(0x5EED_0000_0000_0017);
    let details = ["first_response", "window", "131047:Re-engagement message", "ok:3:Tag VIP", "failed:4:Escalate"];
    let mut measures: Vec<(TicketId, Vec<Measure>)> = tickets.iter().map(|ticket| (ticket.id, Vec::new())).collect();
    for _ in 0..900 {
        let (ticket_id, theirs) = &mut measures[dice.roll(3) as usize];
        let metric = Metric::ALL[dice.roll(Metric::ALL.len() as u64) as usize];
        let at = start + SignedDuration::from_secs(dice.roll(5 * 86_400) as i64);
        let value = (dice.roll(100_000) + 1) as i64;
        let (replies, actor, assignee, team) =
            (dice.roll(4) as i64, 10 + dice.roll(3) as i64, 10 + dice.roll(3) as i64, 1 + dice.roll(2) as i64);
        let detail = details[dice.roll(details.len() as u64) as usize];
        theirs.push(Measure {
            account_id: account.id,
            ticket_id: *ticket_id,
            metric,
            at,
            day: at.to_zoned(zone.clone()).date(),
            value_ms: dice.maybe(value),
            business_ms: dice.maybe(value / 2),
            replies: dice.maybe(replies),
            actor_id: dice.maybe(actor),
            detail: dice.maybe(0).map(|_| detail.to_owned()),
            dimensions: Dimensions {
                assignee_id: dice.maybe(assignee),
                team_id: dice.maybe(team),
                channel: Some(if dice.roll(2) == 0 { Channel::Whatsapp } else { Channel::Email }),
                company_id: dice.maybe(7),
                category_id: dice.maybe(3),
                priority: Some(if dice.roll(2) == 0 { Priority::High } else { Priority::Low }),
            },
        });
    }
    let from = store.report_position().await.expect("cursor");
    record(store, from, from + 1, &measures).await.expect("recorded");

    let (period_from, period_to) = (start + SignedDuration::from_hours(7), start + SignedDuration::from_hours(110));
    let everything = MeasureQuery::new(account.id, period_from, period_to, None, MeasureScope::Account);
    let one_ticket = TicketFilter { words: vec!["Two".to_owned()], ..TicketFilter::default() };
    // A summary resolves its filter to tickets once (`filter_tickets`), then sums by their ids.
    assert_eq!(store.filter_tickets(account.id, &one_ticket).await.expect("resolved"), vec![tickets[1].id]);
    let nothing = TicketFilter { words: vec!["nothing-matches-this".to_owned()], ..TicketFilter::default() };
    assert!(store.filter_tickets(account.id, &nothing).await.expect("resolved").is_empty());
    let queries = [
        everything.clone(),
        MeasureQuery { scope: MeasureScope::Teams { teams: vec![1], person: Some(11) }, ..everything.clone() },
        MeasureQuery { metrics: vec![Metric::BacklogIn, Metric::BacklogOut], ..everything.clone() },
        MeasureQuery { filter: Some(one_ticket), ..everything.clone() },
        MeasureQuery { tickets: Some(vec![tickets[0].id, tickets[2].id]), ..everything.clone() },
        // A long list (tested row by row, not looked up): the same two among ids no ticket has.
        MeasureQuery { tickets: Some(long_list(&[tickets[0].id, tickets[2].id])), ..everything.clone() },
        MeasureQuery { tickets: Some(wide_list(&[tickets[0].id, tickets[2].id])), ..everything.clone() },
    ];
    let days = LocalDays { zone: zone.clone(), from: period_from, to: period_to };
    // Days in a zone without a change in the period too (UTC: one offset).
    let utc_days = LocalDays { zone: jiff::tz::TimeZone::UTC, from: period_from, to: period_to };
    let mut splits = vec![
        MeasureSplit::Whole,
        MeasureSplit::Days(days.clone()),
        MeasureSplit::Weeks(days),
        MeasureSplit::Days(utc_days.clone()),
        MeasureSplit::Weeks(utc_days),
    ];
    splits.extend(
        GroupBy::ALL
            .iter()
            .filter(|group_by| !matches!(group_by, GroupBy::Day | GroupBy::Week))
            .map(|group_by| MeasureSplit::Key(*group_by)),
    );
    for query in &queries {
        let selected = store.measures(query).await.expect("measures");
        assert!(!selected.is_empty(), "{query:?}");
        let every_metric =
            store.measures(&MeasureQuery { metrics: Vec::new(), ..query.clone() }).await.expect("measures");
        for split in &splits {
            let totals = store.measure_totals(query, split).await.expect("totals");
            assert_eq!(totals, totals_of(&selected, split), "{split:?} {query:?}");
            for hours in [Hours::Calendar, Hours::Business] {
                let stats = store.duration_stats(query, hours, split).await.expect("stats");
                assert_eq!(stats, stats_of(&every_metric, hours, split), "{split:?} {hours:?} {query:?}");
                // A split's partitions put back together are the whole period's durations.
                let partitions = store.duration_values(query, hours, split).await.expect("values");
                assert_eq!(
                    DurationValues::whole(&partitions),
                    stats_of(&every_metric, hours, &MeasureSplit::Whole),
                    "{split:?} {hours:?} {query:?}"
                );
            }
        }
    }

    // The cells kept per ticket add up, over whole local days, to what the tickets' measures
    // give; and a ticket's measures replaced replace its cells (nothing counted twice).
    let (account_id, zone) = (account.id, &zone);
    let ticket_cells_match = |lists: Vec<Vec<TicketId>>| async move {
        let (first_day, end_day) = (period_from.to_zoned(zone.clone()).date(), period_to.to_zoned(zone.clone()).date());
        let day_start = |day: jiff::civil::Date| day.to_zoned(zone.clone()).expect("a day").timestamp();
        for tickets in lists {
            let by_day = DailyQuery {
                tickets: Some(tickets.clone()),
                ..DailyQuery::new(account_id, "all", (Some(first_day), end_day), &[], true)
            };
            let measured = MeasureQuery {
                tickets: Some(tickets.clone()),
                ..MeasureQuery::new(account_id, day_start(first_day), day_start(end_day), None, MeasureScope::Account)
            };
            let split = MeasureSplit::Days(LocalDays { zone: zone.clone(), from: measured.from, to: measured.to });
            let expected = store.measure_totals(&measured, &split).await.expect("totals");
            assert_eq!(store.daily_totals(&by_day).await.expect("cells"), expected, "{tickets:?} by day");
            // Everything before a day, one sum (a backlog's opening), for two metrics.
            let backlog = [Metric::BacklogIn, Metric::BacklogOut];
            let opening = DailyQuery {
                tickets: Some(tickets.clone()),
                ..DailyQuery::new(account_id, "all", (None, end_day), &backlog, false)
            };
            let before = MeasureQuery { from: Timestamp::UNIX_EPOCH, metrics: backlog.to_vec(), ..measured };
            let expected = store.measure_totals(&before, &MeasureSplit::Whole).await.expect("totals");
            assert_eq!(store.daily_totals(&opening).await.expect("cells"), expected, "{tickets:?} opening");
        }
    };
    let lists = || {
        let (pair, single) = (vec![tickets[0].id, tickets[2].id], vec![tickets[1].id]);
        vec![long_list(&pair), wide_list(&pair), pair, long_list(&single), single, Vec::new()]
    };
    ticket_cells_match(lists()).await;
    let (_, second) = &measures[1];
    let fewer = vec![(tickets[1].id, second[..second.len() / 3].to_vec())];
    record(store, from + 1, from + 2, &fewer).await.expect("replaced");
    ticket_cells_match(lists()).await;
    assert!(
        !store
            .daily_totals(&DailyQuery {
                tickets: Some(vec![tickets[1].id]),
                ..DailyQuery::new(account_id, "all", (None, period_to.to_zoned(zone.clone()).date()), &[], false)
            })
            .await
            .expect("cells")
            .is_empty(),
        "the replaced ticket still has cells"
    );
}
