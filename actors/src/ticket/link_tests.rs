//! Merge and split rules on the pure state machine: refusals, the unmerge window, idempotent
//! settling, tags and the reply channel.

use std::sync::Arc;

use jiff::Timestamp;

use super::*;
use crate::domain::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn context() -> CommandContext {
    let config = AccountConfig { statuses: TicketStatus::builtins(), ..AccountConfig::default() };
    CommandContext { actor_id: Some(9), config: Arc::new(config), expected_seq: None, seen_seq: None }
}

fn ticket(id: TicketId, requester_id: UserId, channel: Channel, tags: &[&str]) -> Ticket {
    let draft = TicketDraft {
        account_id: 1,
        subject: format!("Ticket {id}"),
        body: Some("hello".into()),
        body_kind: MessageKind::Customer,
        status: Some("pending".into()),
        urgency: Level::Low,
        importance: Level::Low,
        ticket_type: None,
        category_id: None,
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        custom_fields: CustomFields::new(),
        channel,
        requester_id,
        company_id: None,
        minimum_priority: None,
        assignee_id: None,
        team_id: None,
        created_by: Some(requester_id),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    };
    let (mut ticket, _, _) = open_ticket(draft, &context().config, at(0)).expect("valid");
    ticket.id = id;
    ticket.number = id + 100;
    ticket
}

fn run(ticket: &mut Ticket, command: TicketCommand, now: Timestamp) -> Result<Vec<EventKind>, TicketError> {
    let decision = ticket.decide(&command, &context(), now)?;
    Ok(ticket.append(decision.events, Some(9), now).into_iter().map(|event| event.kind).collect())
}

fn link(ticket: &Ticket) -> LinkedTicket {
    LinkedTicket { ticket_id: ticket.id, number: ticket.number }
}

fn refusal(result: Result<impl std::fmt::Debug, TicketError>) -> LinkRefusal {
    match result {
        Err(TicketError::Link(refusal)) => refusal,
        other => panic!("expected a link refusal, got {other:?}"),
    }
}

#[test]
fn merges_are_checked_in_a_clear_order() {
    let (mut a, b, stranger) =
        (ticket(1, 3, Channel::Email, &[]), ticket(2, 3, Channel::Web, &[]), ticket(3, 4, Channel::Web, &[]));
    assert_eq!(refusal(check_merge(&a, &a, false)), LinkRefusal::IntoItself);
    assert_eq!(refusal(check_merge(&a, &stranger, false)), LinkRefusal::RequesterMismatch { from: 101, target: 103 });
    assert!(check_merge(&a, &stranger, true).is_ok(), "force merges different requesters");
    run(&mut a, TicketCommand::MergeInto { target: link(&b) }, at(10)).expect("merge");
    assert_eq!(refusal(check_merge(&a, &b, false)), LinkRefusal::AlreadyMerged(102));
    assert_eq!(refusal(check_merge(&b, &a, false)), LinkRefusal::Cycle { target: 101 });
    assert_eq!(refusal(check_merge(&stranger, &a, true)), LinkRefusal::TargetMerged { target: 101, into: 102 });
    let mut closed = ticket(5, 3, Channel::Web, &[]);
    run(
        &mut closed,
        TicketCommand::Update(TicketPatch { status: Some("closed".into()), ..TicketPatch::default() }),
        at(1),
    )
    .expect("close");
    assert_eq!(refusal(check_merge(&b, &closed, false)), LinkRefusal::TargetClosed(105));
    assert!(matches!(check_merge(&closed, &b, false), Err(TicketError::Closed)));
}

#[test]
fn an_unmerge_restores_the_status_within_seven_days_only() {
    let target = ticket(2, 3, Channel::Web, &[]);
    let mut source = ticket(1, 3, Channel::Email, &[]);
    let events = run(&mut source, TicketCommand::MergeInto { target: link(&target) }, at(0)).expect("merge");
    assert!(matches!(&events[..], [EventKind::MergedInto { previous_status, .. }, EventKind::StatusChanged { to, .. }]
        if previous_status == "pending" && to == "closed"));
    assert_eq!(source.status_category, StatusCategory::Closed);
    let mut late = source.clone();
    let week = UNMERGE_WINDOW.as_secs();
    assert_eq!(
        refusal(run(&mut late, TicketCommand::Unmerge, at(week + 1))),
        LinkRefusal::UnmergeExpired { target: 102, days: 7 }
    );
    let events = run(&mut source, TicketCommand::Unmerge, at(week)).expect("on the 7th day exactly");
    assert!(
        matches!(&events[..], [EventKind::Unmerged { .. }, EventKind::StatusChanged { to, .. }] if to == "pending")
    );
    assert_eq!((source.status.as_str(), source.closed_at, source.links.is_empty()), ("pending", None, true));
    assert_eq!(refusal(run(&mut source, TicketCommand::Unmerge, at(week))), LinkRefusal::NotMerged);
}

#[test]
fn the_target_takes_and_gives_back_once_and_replies_follow_the_customer() {
    let mut target = ticket(2, 3, Channel::Phone, &["vip"]);
    let source = ticket(1, 3, Channel::Whatsapp, &["vip", "billing"]);
    assert_eq!(source.last_customer_channel, Some(Channel::Whatsapp));
    assert_eq!(target.reply_channel(), Channel::Phone);
    let merged = MergedTicket {
        source: link(&source),
        message_ids: vec!["m1".into()],
        tags: source.tags.clone(),
        last_customer_at: Some(at(-5)),
        last_customer_channel: source.last_customer_channel,
    };
    let events = run(&mut target, TicketCommand::AcceptMerge(merged.clone()), at(10)).expect("accept");
    assert_eq!(events.len(), 2, "merged_in and the new tag: {events:?}");
    assert_eq!(target.tags, ["billing", "vip"]);
    assert_eq!(target.reply_channel(), Channel::Whatsapp, "the only channel a reply can take");
    assert!(run(&mut target, TicketCommand::AcceptMerge(merged), at(11)).expect("again").is_empty(), "idempotent");

    // Only the tag the merge added goes; settling again changes nothing.
    let events = run(&mut target, TicketCommand::ReleaseMerge { source_id: 1 }, at(20)).expect("release");
    assert!(
        matches!(&events[..], [EventKind::MergeUndone { tags_removed, message_ids, .. }, EventKind::TagsChanged { .. }]
        if tags_removed == &["billing"] && message_ids == &["m1"])
    );
    assert_eq!(target.tags, ["vip"]);
    assert!(run(&mut target, TicketCommand::ReleaseMerge { source_id: 1 }, at(21)).expect("again").is_empty());
}

#[test]
fn splits_take_some_of_the_ticket_s_own_messages() {
    let original = ticket(1, 3, Channel::Email, &[]);
    let message = |id: &str| Message {
        id: id.into(),
        ticket_id: 1,
        account_id: 1,
        seq: 1,
        kind: MessageKind::Customer,
        author_id: None,
        channel: Channel::Email,
        body: id.into(),
        attachments: Vec::new(),
        delivery_status: None,
        provider_id: None,
        delivery_error: None,
        payload: None,
        created_at: at(0),
    };
    let thread = [message("a"), message("b")];
    assert!(matches!(check_split(&original, &thread, &[]), Err(TicketError::Invalid { field: "message_ids", .. })));
    assert!(matches!(refusal(check_split(&original, &thread, &["a".into(), "b".into()])), LinkRefusal::Split(_)));
    assert!(matches!(refusal(check_split(&original, &thread, &["z".into()])), LinkRefusal::Split(_)));
    assert!(check_split(&original, &thread, &["b".into()]).is_ok());
    let mut recorded = original.clone();
    let split = TicketCommand::RecordSplit {
        ticket: LinkedTicket { ticket_id: 9, number: 109 },
        message_ids: vec!["b".into()],
    };
    assert_eq!(run(&mut recorded, split.clone(), at(1)).expect("record").len(), 1);
    assert!(run(&mut recorded, split, at(2)).expect("again").is_empty(), "idempotent");
}
