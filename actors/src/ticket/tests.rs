//! The ticket's rules, tested on the pure state machine: no runtime, no store.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::domain::*;
use crate::store::{TimerChange, TimerOwner};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn config() -> Arc<AccountConfig> {
    let mut statuses = TicketStatus::builtins();
    statuses.push(TicketStatus {
        key: "on_hold".into(),
        label: "On hold".into(),
        category: StatusCategory::Pending,
        builtin: false,
    });
    Arc::new(AccountConfig {
        statuses,
        priority_matrix: PriorityMatrix::default(),
        custom_fields: vec![
            CustomFieldDef {
                key: "plan".into(),
                label: "Plan".into(),
                field_type: FieldType::Select,
                options: vec!["free".into(), "pro".into()],
                customer_visible: false,
            },
            CustomFieldDef {
                key: "seats".into(),
                label: "Seats".into(),
                field_type: FieldType::Number,
                options: vec![],
                customer_visible: false,
            },
        ],
        categories: vec![Category { id: 7, parent_id: None, name: "Billing".into(), path: "Billing".into() }],
        ticket_types: vec!["question".into()],
        sla_policy: None,
    })
}

fn context() -> CommandContext {
    CommandContext { actor_id: Some(9), config: config(), expected_seq: None, seen_seq: None }
}

fn draft() -> TicketDraft {
    TicketDraft {
        account_id: 1,
        subject: "  Printer on fire  ".into(),
        body: Some("It is really on fire".into()),
        body_kind: MessageKind::Customer,
        status: None,
        urgency: Level::High,
        importance: Level::Critical,
        ticket_type: None,
        category_id: None,
        tags: vec!["Hardware".into(), "hardware".into()],
        custom_fields: CustomFields::new(),
        channel: Channel::Email,
        requester_id: 3,
        company_id: None,
        minimum_priority: None,
        assignee_id: None,
        team_id: None,
        created_by: Some(3),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    }
}

fn opened() -> Ticket {
    let (mut ticket, _, _) = open_ticket(draft(), &config(), at(0)).expect("valid");
    ticket.id = 42;
    ticket
}

/// Runs `command` through decide + append, as the actor does.
fn run(
    ticket: &mut Ticket,
    command: TicketCommand,
    now: Timestamp,
) -> Result<(Vec<TicketEvent>, Vec<TimerChange>), TicketError> {
    let decision = ticket.decide(&command, &context(), now)?;
    Ok((ticket.append(decision.events, Some(9), now), decision.timers))
}

fn message(kind: MessageKind, body: &str) -> TicketCommand {
    TicketCommand::AddMessage(NewMessage {
        kind,
        body: body.into(),
        channel: None,
        attachments: vec![],
        then_status: None,
        payload: None,
        provider_id: None,
        window_until: None,
    })
}

fn patch(patch: TicketPatch) -> TicketCommand {
    TicketCommand::Update(patch)
}

#[test]
fn opening_numbers_events_and_derives_priority() {
    let (ticket, events, messages) = open_ticket(draft(), &config(), at(0)).expect("valid");
    assert_eq!(ticket.subject, "Printer on fire");
    assert_eq!(ticket.priority, Priority::Urgent, "high × critical");
    assert_eq!((ticket.status.as_str(), ticket.status_category), ("new", StatusCategory::New));
    assert_eq!(ticket.tags, vec!["hardware"], "tags are normalised and de-duplicated");
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(ticket.seq, 2);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].seq, 2);
    assert_eq!(ticket.last_customer_message_at, Some(at(0)));
}

#[test]
fn opening_with_a_window_records_it_in_the_same_commit() {
    let mut whatsapp = draft();
    whatsapp.window = Some(WindowState::Open { until: at(24 * 60) });
    let (ticket, events, _) = open_ticket(whatsapp, &config(), at(0)).expect("valid");
    let kinds: Vec<&str> = events.iter().map(|event| event.kind.name()).collect();
    assert_eq!(kinds, ["created", "message_added", "window_changed"]);
    assert_eq!(ticket.seq, 3);
    assert!(
        matches!(&events[2].kind, EventKind::WindowChanged { window: WindowState::Open { until } } if *until == at(24 * 60))
    );
}

#[test]
fn opening_refuses_bad_input_naming_the_field() {
    let mut bad = draft();
    bad.subject = "   ".into();
    assert!(matches!(open_ticket(bad, &config(), at(0)), Err(TicketError::Invalid { field: "subject", .. })));
    let mut bad = draft();
    bad.status = Some("nope".into());
    assert!(matches!(open_ticket(bad, &config(), at(0)), Err(TicketError::Invalid { field: "status", .. })));
    let mut bad = draft();
    bad.custom_fields.insert("plan".into(), serde_json::json!("gold"));
    assert!(matches!(open_ticket(bad, &config(), at(0)), Err(TicketError::Invalid { field: "custom_fields", .. })));
    let mut bad = draft();
    bad.category_id = Some(99);
    assert!(matches!(open_ticket(bad, &config(), at(0)), Err(TicketError::Invalid { field: "category_id", .. })));
}

#[test]
fn first_reply_opens_a_new_ticket_and_records_first_response() {
    let mut ticket = opened();
    let (events, _) = run(&mut ticket, message(MessageKind::Reply, "On it"), at(60)).expect("reply");
    assert_eq!(events.iter().map(|e| e.kind.name()).collect::<Vec<_>>(), ["message_added", "status_changed"]);
    assert_eq!(ticket.status, "open");
    assert_eq!(ticket.first_response_at, Some(at(60)));
    run(&mut ticket, message(MessageKind::Reply, "Again"), at(120)).expect("reply");
    assert_eq!(ticket.first_response_at, Some(at(60)), "first response is kept");
    assert_eq!(ticket.last_agent_message_at, Some(at(120)));
}

#[test]
fn a_customer_message_reopens_a_waiting_or_solved_ticket() {
    for waiting in ["on_hold", "resolved"] {
        let mut ticket = opened();
        run(&mut ticket, patch(TicketPatch { status: Some(waiting.into()), ..Default::default() }), at(1))
            .expect("status");
        run(&mut ticket, message(MessageKind::Customer, "Any news?"), at(2)).expect("message");
        assert_eq!(ticket.status, "open", "from {waiting}");
        assert_eq!(ticket.resolved_at, None);
    }
}

#[test]
fn notes_never_change_status_and_closed_tickets_take_only_notes() {
    let mut ticket = opened();
    run(&mut ticket, message(MessageKind::Note, "internal"), at(1)).expect("note");
    assert_eq!(ticket.status, "new");
    run(&mut ticket, patch(TicketPatch { status: Some("closed".into()), ..Default::default() }), at(2)).expect("close");
    assert_eq!((ticket.closed_at, ticket.resolved_at), (Some(at(2)), Some(at(2))));
    let seq = ticket.seq;
    assert!(matches!(run(&mut ticket, message(MessageKind::Customer, "hello?"), at(3)), Err(TicketError::Closed)));
    assert!(matches!(
        run(&mut ticket, patch(TicketPatch { status: Some("open".into()), ..Default::default() }), at(3)),
        Err(TicketError::Closed)
    ));
    assert_eq!(ticket.seq, seq, "refusals append nothing");
    run(&mut ticket, message(MessageKind::Note, "post-mortem"), at(4)).expect("notes still allowed");
}

#[test]
fn empty_or_oversized_bodies_are_refused() {
    let mut ticket = opened();
    assert!(matches!(
        run(&mut ticket, message(MessageKind::Reply, "  "), at(1)),
        Err(TicketError::Invalid { field: "body", .. })
    ));
    let huge = "x".repeat(MAX_BODY_BYTES + 1);
    assert!(matches!(
        run(&mut ticket, message(MessageKind::Reply, &huge), at(1)),
        Err(TicketError::Invalid { field: "body", .. })
    ));
}

#[test]
fn patch_changes_only_what_differs() {
    let mut ticket = opened();
    let (events, _) = run(
        &mut ticket,
        patch(TicketPatch {
            subject: Some("Printer on fire".into()),
            urgency: Some(Level::Low),
            importance: Some(Level::Low),
            add_tags: vec!["urgent".into()],
            remove_tags: vec!["hardware".into()],
            custom_fields: Some([("plan".to_owned(), serde_json::json!("pro"))].into_iter().collect()),
            category_id: Some(Some(7)),
            ..Default::default()
        }),
        at(5),
    )
    .expect("patch");
    let names: Vec<_> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(names, ["fields_changed", "tags_changed", "priority_changed"], "an unchanged subject makes no event");
    assert_eq!(ticket.priority, Priority::Low);
    assert_eq!(ticket.tags, vec!["urgent"]);
    assert_eq!(ticket.custom_fields.get("plan"), Some(&serde_json::json!("pro")));
    assert_eq!(ticket.category_id, Some(7));
    let (events, _) =
        run(&mut ticket, patch(TicketPatch { urgency: Some(Level::Low), ..Default::default() }), at(6)).expect("noop");
    assert!(events.is_empty(), "a patch that changes nothing appends nothing");
    run(
        &mut ticket,
        patch(TicketPatch {
            custom_fields: Some([("plan".to_owned(), serde_json::Value::Null)].into_iter().collect()),
            ..Default::default()
        }),
        at(7),
    )
    .expect("clear field");
    assert!(!ticket.custom_fields.contains_key("plan"));
}

#[test]
fn stale_expected_seq_is_a_conflict() {
    let ticket = opened();
    let mut context = context();
    context.expected_seq = Some(ticket.seq - 1);
    let result = ticket.decide(&message(MessageKind::Reply, "late"), &context, at(1));
    assert!(matches!(result, Err(TicketError::StaleSeq { expected: 1, actual: 2 })));
}

#[test]
fn reassignment_records_who_held_it_and_for_how_long() {
    let mut ticket = opened();
    let assign = |assignee| {
        TicketCommand::Assign(Assignment {
            assignee_id: assignee,
            team_id: Some(4),
            reason: Some("skills".into()),
            explanation: None,
        })
    };
    run(&mut ticket, assign(Some(10)), at(100)).expect("assign");
    assert_eq!((ticket.assignee_id, ticket.status.as_str()), (Some(10), "open"));
    let (events, _) = run(&mut ticket, assign(Some(11)), at(400)).expect("reassign");
    match &events[0].kind {
        EventKind::Assigned { from_assignee_id, assignee_id, held_secs, reason, .. } => {
            assert_eq!((*from_assignee_id, *assignee_id, *held_secs), (Some(10), Some(11), Some(300)));
            assert_eq!(reason.as_deref(), Some("skills"));
        }
        other => panic!("expected an assignment, got {other:?}"),
    }
    let (events, _) = run(&mut ticket, assign(Some(11)), at(500)).expect("same");
    assert!(events.is_empty());
}

#[test]
fn snoozing_sets_a_timer_and_its_firing_reopens() {
    let mut ticket = opened();
    let until = at(0).saturating_add(SignedDuration::from_hours(2)).expect("time");
    let (_, timers) = run(
        &mut ticket,
        patch(TicketPatch { status: Some("pending".into()), snooze_until: Some(Some(until)), ..Default::default() }),
        at(1),
    )
    .expect("snooze");
    assert_eq!(
        timers,
        vec![TimerChange { owner: TimerOwner::new(TIMER_KIND, 42), name: SNOOZE_TIMER.into(), due_at: Some(until) }]
    );
    assert!(matches!(
        run(&mut ticket, patch(TicketPatch { snooze_until: Some(Some(at(0))), ..Default::default() }), at(2)),
        Err(TicketError::Invalid { field: "snooze_until", .. })
    ));
    // Fired early (clock skew): only the timer is cleared.
    let (events, timers) =
        run(&mut ticket, TicketCommand::FireTimer { name: SNOOZE_TIMER.into() }, at(3)).expect("early");
    assert!(events.is_empty());
    assert_eq!(timers[0].due_at, None);
    let (events, _) = run(&mut ticket, TicketCommand::FireTimer { name: SNOOZE_TIMER.into() }, until).expect("due");
    assert_eq!(events.iter().map(|e| e.kind.name()).collect::<Vec<_>>(), ["snooze_ended", "status_changed"]);
    assert_eq!((ticket.snoozed_until, ticket.status.as_str()), (None, "open"));
}

#[test]
fn folding_the_log_rebuilds_the_state() {
    let (mut ticket, mut log, _) = open_ticket(draft(), &config(), at(0)).expect("valid");
    for (n, command) in [
        message(MessageKind::Reply, "Looking"),
        patch(TicketPatch { tags: Some(vec!["a".into(), "b".into()]), ..Default::default() }),
        TicketCommand::Assign(Assignment { assignee_id: Some(5), team_id: None, reason: None, explanation: None }),
        patch(TicketPatch { status: Some("resolved".into()), ..Default::default() }),
    ]
    .into_iter()
    .enumerate()
    {
        log.extend(run(&mut ticket, command, at(10 * (n as i64 + 1))).expect("command").0);
    }
    let (mut rebuilt, _, _) = open_ticket(draft(), &config(), at(0)).expect("valid");
    rebuilt.seq = 0;
    for event in &log {
        rebuilt.apply(event);
    }
    assert_eq!(rebuilt, ticket, "apply(log) == state");
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=ticket.seq).collect::<Vec<_>>());
}

// ---- SLA clocks ----

fn mins(minutes: i64) -> Timestamp {
    at(minutes * 60)
}

/// Urgent: first reply in 60 min, resolved in 240; high: 120 / 480; nothing for lower priorities.
fn sla_config() -> Arc<AccountConfig> {
    let mut config = (*config()).clone();
    config.sla_policy = Some(SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![
            SlaTarget {
                priority: Priority::Urgent,
                first_response_minutes: Some(60),
                resolution_minutes: Some(240),
                window_minutes: None,
            },
            SlaTarget {
                priority: Priority::High,
                first_response_minutes: Some(120),
                resolution_minutes: Some(480),
                window_minutes: None,
            },
        ],
        business_hours: None,
    });
    Arc::new(config)
}

fn sla_run(ticket: &mut Ticket, command: TicketCommand, now: Timestamp) -> (Vec<EventKind>, Vec<TimerChange>) {
    run_under(sla_config(), ticket, command, now)
}

fn run_under(
    config: Arc<AccountConfig>,
    ticket: &mut Ticket,
    command: TicketCommand,
    now: Timestamp,
) -> (Vec<EventKind>, Vec<TimerChange>) {
    let context = CommandContext { actor_id: Some(9), config, expected_seq: None, seen_seq: None };
    let decision = ticket.decide(&command, &context, now).expect("accepted");
    let events = ticket.append(decision.events, Some(9), now);
    (events.into_iter().map(|event| event.kind).collect(), decision.timers)
}

fn sla_timer(due: Option<Timestamp>) -> Vec<TimerChange> {
    vec![TimerChange { owner: TimerOwner::new(TIMER_KIND, 42), name: SLA_TIMER.into(), due_at: due }]
}

fn fire_sla() -> TicketCommand {
    TicketCommand::FireTimer { name: SLA_TIMER.into() }
}

fn status(key: &str) -> TicketCommand {
    patch(TicketPatch { status: Some(key.into()), ..Default::default() })
}

/// An urgent ticket (high urgency × critical importance) opened at minute 0 under the policy.
fn sla_ticket() -> (Ticket, Vec<TicketEvent>) {
    let (mut ticket, events, _) = open_ticket(draft(), &sla_config(), mins(0)).expect("valid");
    ticket.id = 42;
    (ticket, events)
}

#[test]
fn a_new_ticket_gets_clocks_from_its_priority_and_the_first_reply_meets_first_response() {
    let (mut ticket, events) = sla_ticket();
    assert_eq!(events.iter().map(|e| e.kind.name()).collect::<Vec<_>>(), ["created", "sla_changed", "message_added"]);
    let sla = ticket.sla.clone().expect("urgent has targets");
    let first = sla.first_response.clone().expect("first response clock");
    assert_eq!((first.due_at, first.warn_at), (mins(60), mins(48)), "80 % of 60 min warns at 48");
    assert_eq!(sla.resolution.as_ref().map(|clock| clock.due_at), Some(mins(240)));
    assert_eq!(ticket.sla_due_at(), Some(mins(60)));
    assert_eq!(sla_timer_of_new(&ticket), sla_timer(Some(mins(48))), "the SLA timer starts at the first warning");

    // A note is not a response: nothing moves.
    let (_, timers) = sla_run(&mut ticket, message(MessageKind::Note, "checking"), mins(5));
    assert!(timers.is_empty());
    assert_eq!(ticket.sla.as_ref().and_then(|sla| sla.first_response.as_ref()).and_then(|c| c.met_at), None);

    // The first public reply meets it; the timer moves to the resolution warning (80 % of 240).
    let (_, timers) = sla_run(&mut ticket, message(MessageKind::Reply, "on it"), mins(10));
    let first = ticket.sla.as_ref().and_then(|sla| sla.first_response.clone()).expect("clock");
    assert_eq!(first.met_at, Some(mins(10)));
    assert_eq!(timers, sla_timer(Some(mins(192))));
    assert_eq!(ticket.sla_due_at(), Some(mins(240)), "only resolution is still running");
}

#[test]
fn pending_stops_the_clocks_and_resuming_moves_the_due_times_by_the_time_stood() {
    let (mut ticket, _) = sla_ticket();
    let (_, timers) = sla_run(&mut ticket, status("on_hold"), mins(10));
    assert_eq!(timers, sla_timer(None), "a custom pending status stops the clocks: no timer");
    assert_eq!(ticket.sla.as_ref().and_then(|sla| sla.paused_at), Some(mins(10)));
    assert_eq!(ticket.sla_due_at(), None, "a paused ticket has no running clock");

    // Fired while paused (a timer set before the pause, delivered late): nothing happens.
    let (events, timers) = sla_run(&mut ticket, fire_sla(), mins(70));
    assert!(events.is_empty(), "no breach while paused: {events:?}");
    assert_eq!(timers, sla_timer(None));

    // The customer writes back after 30 minutes: both clocks are due 30 minutes later.
    let (_, timers) = sla_run(&mut ticket, message(MessageKind::Customer, "here you go"), mins(40));
    let sla = ticket.sla.clone().expect("sla");
    assert_eq!(sla.paused_at, None);
    assert_eq!(sla.paused_ms, 30 * 60 * 1000);
    assert_eq!(sla.first_response.as_ref().map(|clock| (clock.due_at, clock.warn_at)), Some((mins(90), mins(78))));
    assert_eq!(sla.resolution.as_ref().map(|clock| clock.due_at), Some(mins(270)));
    assert_eq!(timers, sla_timer(Some(mins(78))));
}

#[test]
fn the_sla_timer_warns_then_breaches_exactly_once() {
    let (mut ticket, _) = sla_ticket();
    // Fired early (skew): nothing yet, and the timer is set again for the same moment.
    let (events, timers) = sla_run(&mut ticket, fire_sla(), mins(47));
    assert!(events.is_empty());
    assert_eq!(timers, sla_timer(Some(mins(48))));

    let (events, timers) = sla_run(&mut ticket, fire_sla(), mins(48));
    assert_eq!(events, vec![EventKind::SlaWarning { metric: SlaMetric::FirstResponse, due_at: mins(60) }]);
    assert_eq!(timers, sla_timer(Some(mins(60))), "next: the breach");

    let (events, timers) = sla_run(&mut ticket, fire_sla(), mins(60));
    assert_eq!(events, vec![EventKind::SlaBreached { metric: SlaMetric::FirstResponse, due_at: mins(60) }]);
    assert_eq!(timers, sla_timer(Some(mins(192))), "next: the resolution warning");
    let first = ticket.sla.as_ref().and_then(|sla| sla.first_response.clone()).expect("clock");
    assert_eq!(first.breached_at, Some(mins(60)));

    // Delivered again (at least once): no second breach.
    let (events, _) = sla_run(&mut ticket, fire_sla(), mins(61));
    assert!(events.is_empty(), "a breach is recorded once: {events:?}");

    // Replying late meets the clock but the breach stays on record.
    sla_run(&mut ticket, message(MessageKind::Reply, "sorry for the wait"), mins(70));
    let first = ticket.sla.as_ref().and_then(|sla| sla.first_response.clone()).expect("clock");
    assert_eq!((first.met_at, first.breached_at), (Some(mins(70)), Some(mins(60))));
}

#[test]
fn a_timer_delivered_after_the_due_time_breaches_without_a_late_warning() {
    let (mut ticket, _) = sla_ticket();
    let (events, _) = sla_run(&mut ticket, fire_sla(), mins(300));
    assert_eq!(
        events,
        vec![
            EventKind::SlaBreached { metric: SlaMetric::FirstResponse, due_at: mins(60) },
            EventKind::SlaBreached { metric: SlaMetric::Resolution, due_at: mins(240) },
        ]
    );
}

#[test]
fn resolving_meets_resolution_and_reopening_runs_the_clock_again() {
    let (mut ticket, _) = sla_ticket();
    sla_run(&mut ticket, message(MessageKind::Reply, "fixed?"), mins(10));
    let (_, timers) = sla_run(&mut ticket, status("resolved"), mins(100));
    assert_eq!(timers, sla_timer(None));
    let resolution = ticket.sla.as_ref().and_then(|sla| sla.resolution.clone()).expect("clock");
    assert_eq!(resolution.met_at, Some(mins(100)));

    // Not fixed after all: the clock runs again from where it stood (20 min resolved).
    let (_, timers) = sla_run(&mut ticket, message(MessageKind::Customer, "still broken"), mins(120));
    let resolution = ticket.sla.as_ref().and_then(|sla| sla.resolution.clone()).expect("clock");
    assert_eq!((resolution.met_at, resolution.due_at), (None, mins(260)));
    assert_eq!(timers, sla_timer(Some(mins(212))));
}

#[test]
fn a_priority_change_retargets_the_running_clocks() {
    let (mut ticket, _) = sla_ticket();
    sla_run(&mut ticket, fire_sla(), mins(50));
    assert!(ticket.sla.as_ref().and_then(|sla| sla.first_response.as_ref()).is_some_and(|c| c.warned_at.is_some()));

    // Down to high: first response due at 120, so the warning is taken back (new one at 96).
    let (events, timers) = sla_run(
        &mut ticket,
        patch(TicketPatch { urgency: Some(Level::Medium), importance: Some(Level::High), ..Default::default() }),
        mins(55),
    );
    assert_eq!(ticket.priority, Priority::High);
    assert_eq!(events.iter().map(EventKind::name).collect::<Vec<_>>(), ["priority_changed", "sla_changed"]);
    let first = ticket.sla.as_ref().and_then(|sla| sla.first_response.clone()).expect("clock");
    assert_eq!((first.target_minutes, first.due_at, first.warned_at), (120, mins(120), None));
    assert_eq!(timers, sla_timer(Some(mins(96))));

    // Down to low, which has no target: the running clocks go, and so does the timer.
    let (events, timers) = sla_run(
        &mut ticket,
        patch(TicketPatch { urgency: Some(Level::Low), importance: Some(Level::Low), ..Default::default() }),
        mins(56),
    );
    assert_eq!(events.last(), Some(&EventKind::SlaChanged { sla: None }));
    assert_eq!((ticket.sla.clone(), timers), (None, sla_timer(None)));

    // Back up to urgent after the first reply: only resolution is measured, from creation.
    sla_run(&mut ticket, message(MessageKind::Reply, "hello"), mins(57));
    sla_run(
        &mut ticket,
        patch(TicketPatch { urgency: Some(Level::Critical), importance: Some(Level::Critical), ..Default::default() }),
        mins(58),
    );
    let sla = ticket.sla.clone().expect("urgent has targets");
    assert_eq!(sla.first_response, None);
    assert_eq!(sla.resolution.map(|clock| clock.due_at), Some(mins(240)));
}

#[test]
fn without_an_enabled_policy_there_are_no_clocks() {
    let mut config = (*sla_config()).clone();
    if let Some(policy) = config.sla_policy.as_mut() {
        policy.enabled = false;
    }
    let (ticket, events, _) = open_ticket(draft(), &config, mins(0)).expect("valid");
    assert_eq!(ticket.sla, None);
    assert!(events.iter().all(|event| event.kind.name() != "sla_changed"));
    assert!(sla_timer_of_new(&ticket).is_empty());
}

#[test]
fn folding_the_log_rebuilds_the_sla_state() {
    let (mut ticket, mut log) = sla_ticket();
    for (minute, command) in [
        (10, status("pending")),
        (40, status("open")),
        (80, fire_sla()),
        (95, fire_sla()),
        (100, message(MessageKind::Reply, "done")),
        (110, status("resolved")),
    ] {
        let context = CommandContext { actor_id: Some(9), config: sla_config(), expected_seq: None, seen_seq: None };
        let decision = ticket.decide(&command, &context, mins(minute)).expect("accepted");
        log.extend(ticket.append(decision.events, Some(9), mins(minute)));
    }
    let mut rebuilt = sla_ticket().0;
    rebuilt.seq = 0;
    for event in &log {
        rebuilt.apply(event);
    }
    assert_eq!(rebuilt, ticket, "apply(log) == state, SLA included");
    let kinds: Vec<&str> = log.iter().map(|event| event.kind.name()).collect();
    assert!(kinds.contains(&"sla_warning") && kinds.contains(&"sla_breached"), "{kinds:?}");
}

#[test]
fn policy_validation_names_the_field() {
    let field = |policy: SlaPolicy| policy.validate().err().map(|error| error.field);
    let target = |priority, first, resolution| SlaTarget {
        priority,
        first_response_minutes: first,
        resolution_minutes: resolution,
        window_minutes: None,
    };
    let good = SlaPolicy {
        enabled: true,
        warning_percent: 75,
        targets: vec![target(Priority::Urgent, Some(30), Some(120)), target(Priority::Low, None, Some(2880))],
        business_hours: None,
    };
    assert_eq!(good.validate(), Ok(()));
    assert_eq!(field(SlaPolicy { warning_percent: 100, ..good.clone() }), Some("warning_percent".into()));
    assert_eq!(
        field(SlaPolicy { targets: vec![target(Priority::High, Some(0), None)], ..good.clone() }),
        Some("targets[0].first_response_minutes".into())
    );
    assert_eq!(
        field(SlaPolicy { targets: vec![target(Priority::High, Some(60), Some(30))], ..good.clone() }),
        Some("targets[0].resolution_minutes".into())
    );
    assert_eq!(
        field(SlaPolicy {
            targets: vec![target(Priority::High, Some(60), None), target(Priority::High, Some(60), None)],
            ..good.clone()
        }),
        Some("targets[1].priority".into())
    );
    assert_eq!(field(SlaPolicy { targets: vec![], ..good.clone() }), Some("targets".into()));
    let window = |minutes| SlaTarget { window_minutes: Some(minutes), ..target(Priority::High, None, None) };
    assert_eq!(
        field(SlaPolicy { targets: vec![window(60)], ..good.clone() }),
        None,
        "a window target alone is a target"
    );
    assert_eq!(
        field(SlaPolicy { targets: vec![window(1440)], ..good.clone() }),
        Some("targets[0].window_minutes".into()),
        "due before the window closes, not after"
    );
    assert_eq!(field(SlaPolicy { enabled: false, targets: vec![], ..good }), None, "an off policy may be empty");
}

// ---- SLA under business hours ----

fn lisbon(local: &str) -> Timestamp {
    format!("{local}[Europe/Lisbon]").parse::<jiff::Zoned>().expect("zoned time").timestamp()
}

/// Monday to Friday, 09:00–17:00 in Lisbon; closed on `holidays`.
fn office_hours(holidays: &[&str]) -> BusinessHours {
    let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
    BusinessHours {
        time_zone: "Europe/Lisbon".into(),
        periods: weekdays
            .iter()
            .map(|weekday| BusinessPeriod { weekday: *weekday, start: "09:00".into(), end: "17:00".into() })
            .collect(),
        holidays: holidays.iter().map(|day| day.parse().expect("date")).collect(),
    }
}

#[test]
fn business_hours_count_only_working_time() {
    let hours = office_hours(&[]);
    let friday_four = lisbon("2027-01-15T16:00");
    assert_eq!(hours.add(friday_four, SignedDuration::from_hours(2)), lisbon("2027-01-18T10:00"), "over the weekend");
    assert_eq!(hours.between(friday_four, lisbon("2027-01-18T10:00")), SignedDuration::from_hours(2));
    assert_eq!(
        hours.add(lisbon("2027-01-16T12:00"), SignedDuration::from_mins(30)),
        lisbon("2027-01-18T09:30"),
        "a Saturday starts on Monday morning"
    );
    let with_holiday = office_hours(&["2027-01-18"]);
    assert_eq!(with_holiday.add(friday_four, SignedDuration::from_hours(2)), lisbon("2027-01-19T10:00"));
    assert_eq!(with_holiday.between(friday_four, lisbon("2027-01-19T10:00")), SignedDuration::from_hours(2));
    // Summer time starts on 28 March 2027 at 01:00 UTC: a working day is still 8 hours.
    assert_eq!(
        hours.add(lisbon("2027-03-26T16:00"), SignedDuration::from_hours(2)),
        lisbon("2027-03-29T10:00"),
        "across the change to summer time"
    );
}

#[test]
fn under_business_hours_clocks_come_due_in_working_time_and_stand_still_outside_it() {
    let mut config = (*sla_config()).clone();
    if let Some(policy) = config.sla_policy.as_mut() {
        policy.business_hours = Some(office_hours(&[]));
        policy.targets[0].first_response_minutes = Some(120);
    }
    let (mut ticket, _, _) = open_ticket(draft(), &config, lisbon("2027-01-15T16:00")).expect("valid");
    ticket.id = 42;
    let first = |ticket: &Ticket| ticket.sla.as_ref().and_then(|sla| sla.first_response.clone()).expect("clock");
    assert_eq!(first(&ticket).due_at, lisbon("2027-01-18T10:00"), "1 h on Friday, 1 h on Monday");
    assert_eq!(first(&ticket).warn_at, lisbon("2027-01-18T09:36"), "80 % of 2 working hours");

    // Pending from 16:30 on Friday to 09:30 on Monday: one working hour stood still.
    let context = CommandContext { actor_id: Some(9), config: Arc::new(config), expected_seq: None, seen_seq: None };
    for (command, at) in [(status("pending"), "2027-01-15T16:30"), (status("open"), "2027-01-18T09:30")] {
        let decision = ticket.decide(&command, &context, lisbon(at)).expect("accepted");
        ticket.append(decision.events, Some(9), lisbon(at));
    }
    let sla = ticket.sla.clone().expect("sla");
    assert_eq!(sla.paused_ms, 60 * 60 * 1000);
    assert_eq!(first(&ticket).due_at, lisbon("2027-01-18T11:00"));
}

#[test]
fn business_hours_are_validated_naming_the_field() {
    let field = |hours: BusinessHours| {
        let policy = SlaPolicy {
            enabled: true,
            warning_percent: 80,
            targets: vec![SlaTarget {
                priority: Priority::High,
                first_response_minutes: Some(60),
                resolution_minutes: None,
                window_minutes: None,
            }],
            business_hours: Some(hours),
        };
        policy.validate().err().map(|error| error.field)
    };
    assert_eq!(field(office_hours(&["2027-12-25"])), None);
    assert_eq!(
        field(BusinessHours { time_zone: "Mars/Olympus".into(), ..office_hours(&[]) }),
        Some("business_hours.time_zone".into())
    );
    assert_eq!(field(BusinessHours { periods: vec![], ..office_hours(&[]) }), Some("business_hours.periods".into()));
    let mut hours = office_hours(&[]);
    hours.periods[1].end = "08:00".into();
    assert_eq!(field(hours), Some("business_hours.periods[1].end".into()));
    let mut hours = office_hours(&[]);
    hours.periods[0].start = "9:00".into();
    assert_eq!(field(hours), Some("business_hours.periods[0].start".into()));
    let mut hours = office_hours(&[]);
    hours.periods.push(BusinessPeriod { weekday: Weekday::Mon, start: "16:00".into(), end: "20:00".into() });
    assert_eq!(field(hours), Some("business_hours.periods[5].start".into()), "overlaps Monday 09:00–17:00");
    let mut hours = office_hours(&[]);
    hours.periods.push(BusinessPeriod { weekday: Weekday::Sat, start: "10:00".into(), end: "24:00".into() });
    assert_eq!(field(hours), None, "24:00 ends the day");
}

// ---- the WhatsApp window as an SLA target ----

/// Urgent: reply at least 60 minutes before the customer's 24-hour WhatsApp window closes.
fn window_config() -> Arc<AccountConfig> {
    let mut config = (*config()).clone();
    config.sla_policy = Some(SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![SlaTarget {
            priority: Priority::Urgent,
            first_response_minutes: None,
            resolution_minutes: None,
            window_minutes: Some(60),
        }],
        business_hours: None,
    });
    Arc::new(config)
}

#[test]
fn the_window_clock_renews_with_the_customer_warns_breaches_and_is_met_by_the_reply() {
    let window = |ticket: &Ticket| ticket.sla.as_ref().and_then(|sla| sla.window.clone()).expect("window clock");
    let run = |ticket: &mut Ticket, command, now| run_under(window_config(), ticket, command, now);
    let whatsapp = TicketDraft { channel: Channel::Whatsapp, ..draft() };
    let (mut ticket, _, _) = open_ticket(whatsapp, &window_config(), mins(0)).expect("valid");
    ticket.id = 42;
    // Due 23 h after the customer wrote (an hour before the window closes); warns at 80 % of that.
    assert_eq!((window(&ticket).due_at, window(&ticket).warn_at), (mins(1380), mins(1104)));
    assert_eq!(sla_timer_of_new(&ticket), sla_timer(Some(mins(1104))));

    // The customer writes again before a reply: the window, and its clock, renew.
    let (_, timers) = run(&mut ticket, message(MessageKind::Customer, "hello?"), mins(600));
    assert_eq!((window(&ticket).due_at, window(&ticket).warn_at), (mins(1980), mins(1704)));
    assert_eq!(timers, sla_timer(Some(mins(1704))));

    let (events, timers) = run(&mut ticket, fire_sla(), mins(1704));
    assert_eq!(events, vec![EventKind::SlaWarning { metric: SlaMetric::Window, due_at: mins(1980) }]);
    assert_eq!(timers, sla_timer(Some(mins(1980))));
    let (events, timers) = run(&mut ticket, fire_sla(), mins(1980));
    assert_eq!(events, vec![EventKind::SlaBreached { metric: SlaMetric::Window, due_at: mins(1980) }]);
    assert_eq!(timers, sla_timer(None));

    // An automatic reply (no author: a rule's acknowledgement) does not meet it.
    let context = CommandContext { actor_id: None, config: window_config(), expected_seq: None, seen_seq: None };
    let decision = ticket.decide(&message(MessageKind::Reply, "Thanks for your message!"), &context, mins(1990));
    ticket.append(decision.expect("accepted").events, None, mins(1990));
    assert_eq!(window(&ticket).met_at, None);
    assert_eq!(ticket.first_response_at, None, "nor is it the first response");
    assert_eq!(ticket.last_agent_message_at, None, "the customer still waits on an agent");

    // A late reply meets the clock (the breach stays in the log); the customer's next message
    // starts a new stretch, which a reply in time meets.
    run(&mut ticket, message(MessageKind::Reply, "sorry for the wait"), mins(2000));
    assert_eq!(window(&ticket).met_at, Some(mins(2000)));
    let (_, timers) = run(&mut ticket, message(MessageKind::Customer, "thanks, one more thing"), mins(2100));
    assert_eq!((window(&ticket).due_at, window(&ticket).breached_at), (mins(3480), None));
    assert_eq!(timers, sla_timer(Some(mins(3204))));
    let (_, timers) = run(&mut ticket, message(MessageKind::Reply, "sure"), mins(2110));
    assert_eq!(timers, sla_timer(None), "nothing left running");

    // An email ticket has no window to keep.
    let (email, _, _) = open_ticket(draft(), &window_config(), mins(0)).expect("valid");
    assert!(email.sla.as_ref().is_some_and(|sla| sla.window.is_none()));
}
