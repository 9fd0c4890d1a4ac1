//! A company's SLA tier on the pure state machine: a member's new ticket opens at least at the
//! tier's priority, with that priority's SLA targets, and never lower than the matrix gives.

use jiff::Timestamp;

use super::*;
use crate::domain::*;
use crate::sla::{SlaPolicy, SlaTarget};

fn config() -> AccountConfig {
    let target = |priority, minutes| SlaTarget {
        priority,
        first_response_minutes: Some(minutes),
        resolution_minutes: None,
        window_minutes: None,
    };
    let policy = SlaPolicy {
        enabled: true,
        targets: vec![target(Priority::Low, 480), target(Priority::High, 60)],
        ..SlaPolicy::default()
    };
    AccountConfig { statuses: TicketStatus::builtins(), sla_policy: Some(policy), ..AccountConfig::default() }
}

fn draft(urgency: Level, minimum_priority: Option<Priority>) -> TicketDraft {
    TicketDraft {
        account_id: 1,
        subject: "Invoice".into(),
        body: Some("wrong total".into()),
        body_kind: MessageKind::Customer,
        status: None,
        urgency,
        importance: Level::Low,
        ticket_type: None,
        category_id: None,
        tags: Vec::new(),
        custom_fields: CustomFields::new(),
        channel: Channel::Web,
        requester_id: 3,
        company_id: Some(5),
        minimum_priority,
        assignee_id: None,
        team_id: None,
        created_by: Some(3),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    }
}

#[test]
fn a_tier_raises_the_opening_priority_and_its_sla_targets() {
    let now = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
    let (ticket, events, _) = open_ticket(draft(Level::Low, Some(Priority::High)), &config(), now).expect("opens");
    assert_eq!((ticket.priority, ticket.urgency), (Priority::High, Level::Low));
    let created = events.iter().find_map(|event| match &event.kind {
        EventKind::Created { priority, .. } => Some(*priority),
        _ => None,
    });
    assert_eq!(created, Some(Priority::High), "the log says so too");
    let first = ticket.sla.as_ref().and_then(|sla| sla.first_response.as_ref()).expect("a first-response clock");
    assert_eq!(first.target_minutes, 60, "the high target, not the low one");

    let (plain, _, _) = open_ticket(draft(Level::Low, None), &config(), now).expect("opens");
    assert_eq!(plain.priority, Priority::Low);
    let (pressing, _, _) = open_ticket(draft(Level::Critical, Some(Priority::Medium)), &config(), now).expect("opens");
    assert_eq!(pressing.priority, Priority::High, "a tier never lowers the matrix's priority");
}
