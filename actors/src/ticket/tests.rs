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
            },
            CustomFieldDef {
                key: "seats".into(),
                label: "Seats".into(),
                field_type: FieldType::Number,
                options: vec![],
            },
        ],
        categories: vec![Category { id: 7, parent_id: None, name: "Billing".into(), path: "Billing".into() }],
        ticket_types: vec!["question".into()],
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
        assignee_id: None,
        team_id: None,
        created_by: Some(3),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
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
        TicketCommand::Assign(Assignment { assignee_id: assignee, team_id: Some(4), reason: Some("skills".into()) })
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
        vec![TimerChange { owner: TimerOwner::Ticket(42), name: SNOOZE_TIMER.into(), due_at: Some(until) }]
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
        TicketCommand::Assign(Assignment { assignee_id: Some(5), team_id: None, reason: None }),
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
