//! The cases of docs/metrics.md, one ticket log each.

use super::*;

const CUSTOMER: UserId = 5;
const ANA: UserId = 10;
const BEN: UserId = 11;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + minutes * 60).expect("a fixed time")
}

fn is_staff(user: UserId) -> bool {
    user == ANA || user == BEN
}

/// Builds a log: each entry is (minute, actor, kind); seqs follow the order.
fn log(entries: Vec<(i64, Option<UserId>, EventKind)>) -> Vec<TicketEvent> {
    entries
        .into_iter()
        .enumerate()
        .map(|(n, (minute, actor_id, kind))| TicketEvent {
            ticket_id: 1,
            account_id: 1,
            seq: n as i64 + 1,
            at: at(minute),
            actor_id,
            kind,
        })
        .collect()
}

fn created() -> EventKind {
    EventKind::Created {
        subject: "Parcel".to_owned(),
        number: 1,
        status: "new".to_owned(),
        priority: Priority::Medium,
        channel: Channel::Whatsapp,
        requester_id: CUSTOMER,
    }
}

fn message(id: &str, kind: MessageKind, channel: Channel, author: UserId) -> EventKind {
    EventKind::MessageAdded {
        message: Message {
            id: id.to_owned(),
            ticket_id: 1,
            account_id: 1,
            seq: 0,
            kind,
            author_id: Some(author),
            channel,
            body: "text".to_owned(),
            attachments: Vec::new(),
            delivery_status: None,
            provider_id: None,
            delivery_error: None,
            payload: None,
            created_at: Timestamp::UNIX_EPOCH,
        },
        window_until: None,
    }
}

fn customer(id: &str) -> EventKind {
    message(id, MessageKind::Customer, Channel::Whatsapp, CUSTOMER)
}

fn reply(id: &str, channel: Channel, author: UserId) -> EventKind {
    message(id, MessageKind::Reply, channel, author)
}

fn delivery(id: &str, status: DeliveryStatus) -> EventKind {
    EventKind::DeliveryChanged { message_id: id.to_owned(), status, provider_id: None, error: None }
}

fn status(category: StatusCategory) -> EventKind {
    EventKind::StatusChanged { from: String::new(), to: category.as_str().to_owned(), category }
}

const MINUTE: i64 = 60_000;

#[test]
fn a_whatsapp_reply_counts_when_sent_and_a_failed_one_never_does() {
    let facts = ticket_facts(
        &log(vec![
            (0, Some(CUSTOMER), created()),
            (0, Some(CUSTOMER), customer("c1")),
            // Refused by Meta: it answers nothing.
            (5, Some(ANA), reply("r1", Channel::Whatsapp, ANA)),
            (6, None, delivery("r1", DeliveryStatus::Failed)),
            // Written at 10, sent at 12, delivered later: counts at 12.
            (10, Some(BEN), reply("r2", Channel::Whatsapp, BEN)),
            (12, None, delivery("r2", DeliveryStatus::Sent)),
            (13, None, delivery("r2", DeliveryStatus::Delivered)),
        ]),
        &is_staff,
    );
    let cycle = &facts.cycles[0];
    assert_eq!(cycle.first_response_ms(), Some(12 * MINUTE));
    assert_eq!(cycle.waits[0].answered_by, Some(BEN));
    assert_eq!(cycle.failed_replies, 1);
    assert_eq!(cycle.replies.len(), 1, "one reply counted, once, whatever followed its send");
    assert_eq!(cycle.replies[0].counted_at, at(12));
}

#[test]
fn a_reply_still_queued_has_not_answered_yet_and_portal_replies_count_when_written() {
    let queued = ticket_facts(
        &log(vec![
            (0, Some(CUSTOMER), created()),
            (0, Some(CUSTOMER), customer("c1")),
            (3, Some(ANA), reply("r1", Channel::Email, ANA)),
        ]),
        &is_staff,
    );
    assert_eq!(queued.cycles[0].first_response_ms(), None, "pending, not a response");
    let portal = ticket_facts(
        &log(vec![
            (0, Some(CUSTOMER), created()),
            (0, Some(CUSTOMER), customer("c1")),
            (3, Some(ANA), reply("r1", Channel::Web, ANA)),
        ]),
        &is_staff,
    );
    assert_eq!(portal.cycles[0].first_response_ms(), Some(3 * MINUTE));
}

#[test]
fn automatic_replies_and_notes_answer_nobody_and_staff_writing_for_the_customer_is_not_the_customer() {
    let facts = ticket_facts(
        &log(vec![
            (0, Some(ANA), created()),
            // Ana opened the ticket with the customer's words: no wait starts.
            (0, Some(ANA), message("c0", MessageKind::Customer, Channel::Whatsapp, ANA)),
            (2, Some(CUSTOMER), customer("c1")),
            (3, None, reply("auto", Channel::Web, ANA)),
            (4, Some(ANA), message("n1", MessageKind::Note, Channel::Web, ANA)),
            (9, Some(ANA), reply("r1", Channel::Web, ANA)),
        ]),
        &is_staff,
    );
    let cycle = &facts.cycles[0];
    assert_eq!(cycle.waits.len(), 1);
    assert_eq!(cycle.first_response_ms(), Some(7 * MINUTE), "from the customer's own first message");
    assert_eq!(cycle.replies.len(), 1);
}

#[test]
fn several_customer_messages_in_a_row_are_one_wait_and_later_ones_are_next_replies() {
    let facts = ticket_facts(
        &log(vec![
            (0, Some(CUSTOMER), created()),
            (0, Some(CUSTOMER), customer("c1")),
            (1, Some(CUSTOMER), customer("c2")),
            (4, Some(ANA), reply("r1", Channel::Web, ANA)),
            (10, Some(CUSTOMER), customer("c3")),
            (11, Some(CUSTOMER), customer("c4")),
            (25, Some(ANA), reply("r2", Channel::Web, ANA)),
            (30, Some(CUSTOMER), customer("c5")),
        ]),
        &is_staff,
    );
    let cycle = &facts.cycles[0];
    assert_eq!(cycle.first_response_ms(), Some(4 * MINUTE));
    assert_eq!(cycle.next_reply_ms(), vec![15 * MINUTE], "the unanswered last wait is not a figure yet");
    assert_eq!(cycle.waits.len(), 3);
}

#[test]
fn a_reopen_starts_a_new_cycle_measured_from_the_reopen_and_pending_time_is_kept_apart() {
    let facts = ticket_facts(
        &log(vec![
            (0, Some(CUSTOMER), created()),
            (0, Some(CUSTOMER), customer("c1")),
            (10, Some(ANA), reply("r1", Channel::Web, ANA)),
            (10, Some(ANA), status(StatusCategory::Pending)),
            (70, Some(CUSTOMER), customer("c2")),
            (70, Some(CUSTOMER), status(StatusCategory::Open)),
            (80, Some(ANA), reply("r2", Channel::Web, ANA)),
            (90, Some(ANA), status(StatusCategory::Resolved)),
            (95, None, status(StatusCategory::Closed)),
            // Reopened a day later by the customer writing again.
            (1500, Some(CUSTOMER), customer("c3")),
            (1500, Some(CUSTOMER), status(StatusCategory::Open)),
            (1530, Some(BEN), reply("r3", Channel::Web, BEN)),
            (1540, Some(BEN), status(StatusCategory::Resolved)),
        ]),
        &is_staff,
    );
    assert_eq!(facts.cycles.len(), 2);
    let first = &facts.cycles[0];
    assert_eq!(first.resolution_ms(), Some(90 * MINUTE), "closing after resolving does not move the end");
    assert_eq!(first.pending_ms, 60 * MINUTE);
    assert_eq!(first.working_resolution_ms(), Some(30 * MINUTE));
    assert_eq!((first.ended_by, first.one_touch()), (Some(ANA), Some(false)));
    let second = &facts.cycles[1];
    assert_eq!((second.index, second.started_at), (2, at(1500)));
    // The customer's message that reopened it is the new cycle's first.
    assert_eq!(second.first_response_ms(), Some(30 * MINUTE));
    assert_eq!(second.resolution_ms(), Some(40 * MINUTE), "from the reopen, not from creation");
    assert_eq!((second.ended_by, second.one_touch()), (Some(BEN), Some(true)));
    assert_eq!(facts.category, Some(StatusCategory::Resolved));
}

#[test]
fn an_agent_reopening_starts_the_cycle_at_the_reopen() {
    let facts = ticket_facts(
        &log(vec![
            (0, Some(CUSTOMER), created()),
            (0, Some(CUSTOMER), customer("c1")),
            (5, Some(ANA), reply("r1", Channel::Web, ANA)),
            (6, Some(ANA), status(StatusCategory::Resolved)),
            (60, Some(ANA), status(StatusCategory::Open)),
            (75, Some(ANA), status(StatusCategory::Resolved)),
        ]),
        &is_staff,
    );
    assert_eq!(facts.cycles.len(), 2);
    assert_eq!((facts.cycles[1].started_at, facts.cycles[1].resolution_ms()), (at(60), Some(15 * MINUTE)));
    assert_eq!(facts.cycles[1].first_response_ms(), None, "nobody wrote in it");
    assert_eq!(facts.cycles[1].one_touch(), None, "no reply: neither one-touch nor not");
}

#[test]
fn a_merged_ticket_is_marked_until_the_merge_is_undone() {
    let merged = vec![
        (0, Some(CUSTOMER), created()),
        (5, Some(ANA), EventKind::MergedInto { target_id: 2, target_number: 2, previous_status: "open".to_owned() }),
    ];
    assert_eq!(ticket_facts(&log(merged.clone()), &is_staff).merged_at, Some(at(5)));
    let mut undone = merged;
    undone.push((
        9,
        Some(ANA),
        EventKind::Unmerged { target_id: 2, target_number: 2, restored_status: "open".to_owned() },
    ));
    assert_eq!(ticket_facts(&log(undone), &is_staff).merged_at, None);
}

/// The ticket a log of these tests leaves (id 1, account 1, on WhatsApp, assigned to nobody).
fn ticket() -> Ticket {
    let draft = crate::ticket::TicketDraft {
        account_id: 1,
        subject: "Parcel".to_owned(),
        body: None,
        body_kind: MessageKind::Customer,
        status: None,
        urgency: Level::Low,
        importance: Level::Low,
        ticket_type: None,
        category_id: None,
        tags: Vec::new(),
        custom_fields: CustomFields::new(),
        channel: Channel::Whatsapp,
        requester_id: CUSTOMER,
        company_id: None,
        minimum_priority: None,
        assignee_id: None,
        team_id: None,
        created_by: None,
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    };
    let config = AccountConfig { statuses: TicketStatus::builtins(), ..AccountConfig::default() };
    let (mut ticket, _, _) = crate::ticket::open_ticket(draft, &config, at(0)).expect("a ticket");
    ticket.id = 1;
    ticket
}

fn assigned(from: Option<UserId>, to: Option<UserId>, team: Option<TeamId>) -> EventKind {
    EventKind::Assigned {
        from_assignee_id: from,
        from_team_id: None,
        assignee_id: to,
        team_id: team,
        reason: None,
        held_secs: None,
        explanation: None,
    }
}

fn measures_of(events: &[TicketEvent]) -> Vec<measures::Measure> {
    let zone = jiff::tz::TimeZone::UTC;
    measures::ticket_measures(&ticket(), events, &is_staff, &measures::ReportClock { zone: &zone, hours: None })
}

#[test]
fn measures_carry_who_the_ticket_was_with_at_the_moment_and_a_reopen_counts_each_cycle_once() {
    use measures::Metric;
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (2, Some(ANA), assigned(None, Some(ANA), Some(7))),
        (5, Some(ANA), reply("r1", Channel::Web, ANA)),
        (9, Some(ANA), status(StatusCategory::Resolved)),
        (20, Some(BEN), assigned(Some(ANA), Some(BEN), Some(8))),
        (30, Some(CUSTOMER), customer("c2")),
        (30, Some(CUSTOMER), status(StatusCategory::Open)),
        (34, Some(BEN), reply("r2", Channel::Web, BEN)),
        (40, Some(BEN), status(StatusCategory::Resolved)),
    ]);
    let measures = measures_of(&events);
    let of = |metric: Metric| measures.iter().filter(|measure| measure.metric == metric).collect::<Vec<_>>();
    let created = of(Metric::Created);
    assert_eq!((created.len(), created[0].dimensions.assignee_id), (1, None));
    let first = of(Metric::FirstResponse);
    assert_eq!(first.len(), 2, "one first response per cycle");
    assert_eq!(
        (first[0].value_ms, first[0].actor_id, first[0].dimensions.team_id),
        (Some(5 * MINUTE), Some(ANA), Some(7))
    );
    assert_eq!(
        (first[1].value_ms, first[1].actor_id, first[1].dimensions.team_id),
        (Some(4 * MINUTE), Some(BEN), Some(8))
    );
    let resolved = of(Metric::Resolved);
    assert_eq!(
        resolved.iter().map(|measure| measure.value_ms).collect::<Vec<_>>(),
        [Some(9 * MINUTE), Some(10 * MINUTE)]
    );
    assert_eq!(
        resolved.iter().map(|measure| measure.dimensions.assignee_id).collect::<Vec<_>>(),
        [Some(ANA), Some(BEN)]
    );
    assert_eq!(resolved[0].replies, Some(1));
    assert_eq!(of(Metric::Reopened).len(), 1);
    assert_eq!(of(Metric::Reopened)[0].at, at(30));
    // Ana acted at 2, 5 and 9; Ben at 20, 34 and 40.
    assert_eq!(of(Metric::Touched).iter().filter(|measure| measure.actor_id == Some(ANA)).count(), 3);
    let figures = summary::figures(&measures, summary::Hours::Calendar);
    assert_eq!((figures.tickets_created, figures.tickets_resolved, figures.tickets_reopened), (1, 2, 1));
    assert_eq!(figures.one_touch, summary::Rate { numerator: 2, denominator: 2 });
}

#[test]
fn a_ticket_merged_into_another_is_not_resolved_by_the_close_that_follows() {
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (3, Some(ANA), EventKind::MergedInto { target_id: 2, target_number: 2, previous_status: "new".to_owned() }),
        (3, Some(ANA), status(StatusCategory::Closed)),
    ]);
    let measures = measures_of(&events);
    assert!(measures.iter().all(|measure| measure.metric != measures::Metric::Resolved), "{measures:?}");
    assert_eq!(summary::figures(&measures, summary::Hours::Calendar).tickets_created, 1, "it was still created");
}

#[test]
fn pending_time_is_taken_out_of_the_working_resolution_only() {
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (5, Some(ANA), reply("r1", Channel::Web, ANA)),
        (5, Some(ANA), status(StatusCategory::Pending)),
        (25, Some(CUSTOMER), customer("c2")),
        (25, Some(CUSTOMER), status(StatusCategory::Open)),
        (30, Some(ANA), status(StatusCategory::Resolved)),
    ]);
    let figures = summary::figures(&measures_of(&events), summary::Hours::Calendar);
    assert_eq!(figures.resolution.median_secs, Some(30.0 * 60.0));
    assert_eq!(figures.working_resolution.median_secs, Some(10.0 * 60.0));
    assert_eq!(figures.next_reply.count, 0, "the second wait is still unanswered");
}

#[test]
fn medians_and_p90_are_nearest_rank_over_the_exact_values() {
    let durations = summary::Durations::of((1..=10).rev().map(|second| second * 1000).collect());
    assert_eq!(durations.count, 10);
    assert_eq!(durations.mean_secs, Some(5.5));
    assert_eq!(durations.median_secs, Some(5.0), "value ceil(0.5 × 10) = the 5th");
    assert_eq!(durations.p90_secs, Some(9.0), "value ceil(0.9 × 10) = the 9th");
    let one = summary::Durations::of(vec![42_000]);
    assert_eq!((one.median_secs, one.p90_secs), (Some(42.0), Some(42.0)));
    assert_eq!(summary::Durations::of(Vec::new()).median_secs, None);
}

#[test]
fn a_tickets_old_measures_taken_out_of_the_daily_aggregates_leave_nothing_behind() {
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (5, Some(ANA), reply("r1", Channel::Web, ANA)),
    ]);
    let measures = measures_of(&events);
    let mut totals = std::collections::BTreeMap::new();
    daily_contributions(&measures, 1, &mut totals);
    let replies_by_ana = totals
        .iter()
        .find(|(key, _)| key.metric == measures::Metric::Reply && key.dimension == "agent")
        .map(|(key, total)| (key.key.clone(), total.count));
    assert_eq!(replies_by_ana, Some((ANA.to_string(), 1)));
    daily_contributions(&measures, -1, &mut totals);
    assert!(totals.values().all(|total| *total == DailyTotal::default()));
}

#[test]
fn a_new_message_only_adds_measures_and_a_changed_log_replaces_the_tickets_rows() {
    let before = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (5, Some(ANA), reply("r1", Channel::Web, ANA)),
    ]);
    let mut grown = before.clone();
    grown.extend(log(vec![(9, Some(CUSTOMER), customer("c2"))]).into_iter().map(|mut event| {
        event.seq = 4;
        event
    }));
    let (kept, now) = (measures_of(&before), measures_of(&grown));
    let appended = MeasureChanges::between(kept.clone(), &[(1, now.clone())]);
    assert!(appended.replaced.is_empty() && appended.removed.is_empty(), "{appended:?}");
    assert!(!appended.added.is_empty());
    assert_eq!(appended.inserted, appended.added, "only the new rows are written");
    let mut totals = std::collections::BTreeMap::new();
    daily_contributions(&kept, 1, &mut totals);
    for (key, delta) in appended.daily_deltas() {
        let total = totals.entry(key).or_default();
        total.count += delta.count;
        total.sum_ms += delta.sum_ms;
    }
    let mut rebuilt = std::collections::BTreeMap::new();
    daily_contributions(&now, 1, &mut rebuilt);
    totals.retain(|_, total| *total != DailyTotal::default());
    assert_eq!(totals, rebuilt, "the aggregates moved by the deltas are the ones rebuilt from the log");

    let same = MeasureChanges::between(now.clone(), &[(1, now.clone())]);
    assert_eq!(same, MeasureChanges::default(), "an unchanged ticket writes nothing");

    // The reply taken back (a log that no longer gives it): its rows are deleted one by one.
    let shrunk = measures_of(&before[..2]);
    let replaced = MeasureChanges::between(kept.clone(), &[(1, shrunk.clone())]);
    assert!(replaced.replaced.is_empty());
    assert!(!replaced.removed.is_empty());
    let deleted: Vec<_> = replaced.removed.iter().map(|gone| (gone.ticket_id, gone.metric, gone.at)).collect();
    assert_eq!(replaced.deleted, deleted);
    assert_eq!(replaced.inserted, replaced.added, "only the new rows are written");
    let mut cells = std::collections::BTreeMap::new();
    ticket_day_contributions(&kept, 1, &mut cells);
    for (key, delta) in replaced.ticket_day_deltas() {
        let total = cells.entry(key).or_default();
        total.count += delta.count;
        total.sum_ms += delta.sum_ms;
    }
    cells.retain(|_, total| *total != DailyTotal::default());
    let mut expected_cells = std::collections::BTreeMap::new();
    ticket_day_contributions(&shrunk, 1, &mut expected_cells);
    assert_eq!(cells, expected_cells);

    // A measure given twice but kept once is added once.
    let mut doubled = kept.clone();
    doubled.push(kept[0].clone());
    let twice = MeasureChanges::between(kept.clone(), &[(1, doubled.clone())]);
    assert_eq!(twice.added.len(), 1);
    assert!(twice.replaced.is_empty());
    // One of two equal rows gone: a delete by ticket, metric and instant would take both, so
    // the ticket is replaced whole.
    let once = MeasureChanges::between(doubled, &[(1, kept.clone())]);
    assert_eq!(once.replaced, vec![1]);
    assert!(once.deleted.is_empty());
    assert_eq!(once.inserted, kept, "every row of a replaced ticket is written again");
}

/// An `sla_changed` with the clocks of `policy` started at minute 0.
fn sla_started(first_response: Option<i64>, resolution: Option<i64>, window: Option<i64>) -> EventKind {
    let policy = SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![SlaTarget {
            priority: Priority::Medium,
            first_response_minutes: first_response,
            resolution_minutes: resolution,
            window_minutes: window,
        }],
        business_hours: None,
    };
    let mut sla = SlaState::start(Some(&policy), Priority::Medium, at(0), false, at(0)).expect("clocks");
    sla.window_opened(at(0));
    EventKind::SlaChanged { sla: Some(Box::new(sla)) }
}

/// `(metric, detail, minute)` of the measures of `metrics`, in time order.
fn outcomes(events: &[TicketEvent], metrics: &[measures::Metric]) -> Vec<(&'static str, Option<String>, i64)> {
    measures_of(events)
        .into_iter()
        .filter(|measure| metrics.contains(&measure.metric))
        .map(|measure| {
            let minute = (measure.at.as_second() - at(0).as_second()) / 60;
            (measure.metric.as_str(), measure.detail, minute)
        })
        .collect()
}

#[test]
fn a_failed_whatsapp_reply_never_meets_a_target_and_a_late_one_is_missed_at_the_due_time() {
    use measures::Metric;
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (0, None, sla_started(Some(30), Some(120), Some(1380))),
        // Refused by Meta at minute 5: the engine saw a reply, the report does not.
        (5, Some(ANA), reply("r1", Channel::Whatsapp, ANA)),
        (6, None, delivery("r1", DeliveryStatus::Failed)),
        // Sent at minute 45: first response missed (due at 30); the window (due at 60) met.
        (40, Some(ANA), reply("r2", Channel::Whatsapp, ANA)),
        (45, None, delivery("r2", DeliveryStatus::Sent)),
        // Resolved at 100, within 120.
        (100, Some(ANA), status(StatusCategory::Resolved)),
    ]);
    assert_eq!(
        outcomes(&events, &[Metric::SlaMet, Metric::SlaMissed]),
        [
            ("sla_missed", Some("first_response".to_owned()), 30),
            ("sla_met", Some("window".to_owned()), 45),
            ("sla_met", Some("resolution".to_owned()), 100),
        ]
    );
}

#[test]
fn an_unmet_clock_is_missed_at_its_due_time_even_ahead_but_not_while_it_stands_before_it() {
    use measures::Metric;
    let running = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (0, None, sla_started(Some(30), Some(120), None)),
        (10, Some(ANA), status(StatusCategory::Open)),
    ]);
    // Nothing answered yet: both clocks come due ahead (a report up to then counts them).
    assert_eq!(
        outcomes(&running, &[Metric::SlaMet, Metric::SlaMissed]),
        [("sla_missed", Some("first_response".to_owned()), 30), ("sla_missed", Some("resolution".to_owned()), 120)]
    );
    // Pending at 20, before anything came due: the clocks stand, nothing is due yet.
    let pending = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (0, None, sla_started(Some(30), Some(120), None)),
        (20, Some(ANA), status(StatusCategory::Pending)),
    ]);
    assert_eq!(outcomes(&pending, &[Metric::SlaMet, Metric::SlaMissed]), []);
    // Back to open at 80: the resolution clock stood 60 minutes, due at 180; met at 170.
    let resumed = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (0, None, sla_started(None, Some(120), None)),
        (20, Some(ANA), status(StatusCategory::Pending)),
        (80, Some(ANA), status(StatusCategory::Open)),
        (170, Some(ANA), status(StatusCategory::Resolved)),
    ]);
    assert_eq!(
        outcomes(&resumed, &[Metric::SlaMet, Metric::SlaMissed]),
        [("sla_met", Some("resolution".to_owned()), 170)]
    );
}

#[test]
fn a_window_left_unanswered_expires_once_and_a_reply_in_time_prevents_it() {
    use measures::Metric;
    let unanswered = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (10, Some(CUSTOMER), customer("c2")),
    ]);
    // The window runs from the last message: it closes at 10 + 24 h.
    assert_eq!(outcomes(&unanswered, &[Metric::WindowExpired]), [("window_expired", None, 10 + 1440)]);
    let answered = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (5, Some(ANA), reply("r1", Channel::Whatsapp, ANA)),
        (6, None, delivery("r1", DeliveryStatus::Sent)),
    ]);
    assert_eq!(outcomes(&answered, &[Metric::WindowExpired]), []);
}

#[test]
fn whatsapp_messages_count_by_the_furthest_status_and_failures_keep_their_code() {
    use measures::Metric;
    let failed = |id: &str, code: i64| EventKind::DeliveryChanged {
        message_id: id.to_owned(),
        status: DeliveryStatus::Failed,
        provider_id: None,
        error: Some(DeliveryError { code, title: "Re-engagement message".to_owned(), explanation: String::new() }),
    };
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (1, Some(ANA), reply("r1", Channel::Whatsapp, ANA)),
        (2, None, delivery("r1", DeliveryStatus::Sent)),
        (3, None, delivery("r1", DeliveryStatus::Read)),
        // A failure after the delivery leaves it delivered.
        (4, None, failed("r1", 131026)),
        (5, Some(ANA), reply("r2", Channel::Whatsapp, ANA)),
        (6, None, failed("r2", 131047)),
        (7, Some(ANA), reply("e1", Channel::Email, ANA)),
        (8, None, delivery("e1", DeliveryStatus::Sent)),
    ]);
    let all = [
        Metric::WhatsappSent,
        Metric::WhatsappDelivered,
        Metric::WhatsappRead,
        Metric::WhatsappFailed,
        Metric::EmailSent,
        Metric::EmailFailed,
        Metric::Inbound,
    ];
    assert_eq!(
        outcomes(&events, &all),
        [
            ("inbound", Some("whatsapp".to_owned()), 0),
            ("whatsapp_sent", None, 2),
            // Read implies delivered: both at 3.
            ("whatsapp_delivered", None, 3),
            ("whatsapp_read", None, 3),
            ("whatsapp_failed", Some("131047:Re-engagement message".to_owned()), 6),
            ("email_sent", None, 8),
        ]
    );
    let figures = summary::figures(&measures_of(&events), summary::Hours::Calendar);
    assert_eq!(figures.whatsapp.delivery_rate, summary::Rate { numerator: 1, denominator: 2 });
    assert_eq!(figures.whatsapp.read_rate, summary::Rate { numerator: 1, denominator: 1 });
    assert_eq!(figures.whatsapp.failure_reasons.len(), 1);
    assert_eq!(figures.whatsapp.failure_reasons[0].code, 131047);
    assert_eq!(figures.email, summary::EmailFigures { sent: 1, failed: 0 });
    assert_eq!(figures.inbound_messages, 1);
}

#[test]
fn the_backlog_follows_the_ticket_in_and_out_and_moves_with_its_team() {
    use measures::Metric;
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (10, Some(ANA), assigned(None, Some(ANA), Some(7))),
        (20, Some(ANA), status(StatusCategory::Pending)),
        (30, Some(ANA), status(StatusCategory::Resolved)),
        (40, Some(CUSTOMER), status(StatusCategory::Open)),
    ]);
    let measures = measures_of(&events);
    let moves: Vec<(&str, Option<TeamId>, i64)> = measures
        .iter()
        .filter(|measure| matches!(measure.metric, Metric::BacklogIn | Metric::BacklogOut))
        .map(|measure| {
            (measure.metric.as_str(), measure.dimensions.team_id, (measure.at.as_second() - at(0).as_second()) / 60)
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("backlog_in", None, 0),
            // Assigned to team 7: out of no team, into team 7 (pending stays in the backlog).
            ("backlog_in", Some(7), 10),
            ("backlog_out", None, 10),
            ("backlog_out", Some(7), 30),
            ("backlog_in", Some(7), 40),
        ]
    );
    let in_team = |team: Option<TeamId>| move |measure: &measures::Measure| measure.dimensions.team_id == team;
    assert_eq!(summary::backlog_at(&measures, at(25), |_| true), (1, 0));
    assert_eq!(summary::backlog_at(&measures, at(35), |_| true), (0, 0));
    assert_eq!(summary::backlog_at(&measures, at(45), in_team(Some(7))), (1, 0));
    assert_eq!(summary::backlog_at(&measures, at(5), |_| true), (1, 1), "unassigned before minute 10");
    let days = summary::backlog_by_day(&measures, at(0), at(45), &jiff::tz::TimeZone::UTC);
    assert_eq!(days.last().map(|day| day.backlog), Some(1));
}

#[test]
fn automation_runs_count_by_rule_with_failures_and_late_runs() {
    use measures::Metric;
    let ran = |rule_id: i64, result: crate::automation::RunResult, late_by_ms: Option<i64>| EventKind::AutomationRan {
        rule_id,
        name: format!("Rule {rule_id}"),
        actions: Vec::new(),
        result,
        error: None,
        late_by_ms,
        depth: 1,
        notify: Vec::new(),
    };
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (1, None, ran(3, crate::automation::RunResult::Ok, None)),
        (2, None, ran(3, crate::automation::RunResult::Failed, None)),
        (3, None, ran(4, crate::automation::RunResult::Ok, Some(60_000))),
    ]);
    assert_eq!(outcomes(&events, &[Metric::AutomationRun]).len(), 3);
    let figures = summary::figures(&measures_of(&events), summary::Hours::Calendar).automation;
    assert_eq!((figures.runs, figures.failed, figures.late), (3, 1, 1));
    assert_eq!(
        figures
            .by_rule
            .iter()
            .map(|rule| (rule.rule_id, rule.name.as_str(), rule.runs, rule.failed, rule.late))
            .collect::<Vec<_>>(),
        [(3, "Rule 3", 2, 1, 0), (4, "Rule 4", 1, 0, 1)]
    );
}

#[test]
fn full_resolution_is_counted_once_from_creation_to_the_last_end() {
    use measures::Metric;
    let events = log(vec![
        (0, Some(CUSTOMER), created()),
        (0, Some(CUSTOMER), customer("c1")),
        (10, Some(ANA), status(StatusCategory::Resolved)),
        (20, Some(CUSTOMER), status(StatusCategory::Open)),
        (50, Some(ANA), status(StatusCategory::Resolved)),
    ]);
    let full: Vec<_> =
        measures_of(&events).into_iter().filter(|measure| measure.metric == Metric::FullResolution).collect();
    assert_eq!(full.len(), 1);
    assert_eq!((full[0].at, full[0].value_ms), (at(50), Some(50 * MINUTE)));
}
