//! The automation rules' pure parts: the format, the triggers, and how waits follow a ticket.

use jiff::{SignedDuration, Timestamp};

use super::engine::*;
use super::*;
use crate::domain::{EventKind, StatusCategory};
use crate::query::filter::Test;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn time_rule(id: RuleId, wait: SignedDuration, while_filter: TicketFilter) -> CompiledRule {
    let spec = RuleSpec {
        when: When::Time {
            wait: "PT2H".to_owned(),
            while_query: "assignee: none".to_owned(),
            hours: HoursMode::Calendar,
        },
        condition: None,
        then: vec![Action::Note { note: "n".to_owned() }],
    };
    CompiledRule {
        rule: AutomationRule {
            id,
            account_id: 1,
            name: format!("rule {id}"),
            enabled: true,
            position: id,
            spec,
            created_by: 1,
            created_at: at(0),
            updated_at: at(0),
        },
        trigger: CompiledTrigger::Time { wait, while_filter, hours: HoursMode::Calendar },
        condition: None,
    }
}

fn unassigned() -> TicketFilter {
    let mut filter = TicketFilter::default();
    filter.and(Test::Assignee(vec![None]));
    filter
}

fn ticket() -> crate::domain::Ticket {
    let config = crate::domain::AccountConfig {
        statuses: crate::domain::TicketStatus::builtins(),
        ..crate::domain::AccountConfig::default()
    };
    let draft = crate::ticket::TicketDraft {
        account_id: 1,
        subject: "Help".to_owned(),
        body: None,
        body_kind: crate::domain::MessageKind::Customer,
        status: None,
        urgency: crate::domain::Level::Low,
        importance: crate::domain::Level::Low,
        ticket_type: None,
        category_id: None,
        tags: Vec::new(),
        custom_fields: Default::default(),
        channel: crate::domain::Channel::Web,
        requester_id: 9,
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
    let (mut ticket, _, _) = crate::ticket::open_ticket(draft, &config, at(0)).expect("ticket");
    ticket.id = 7;
    ticket
}

#[test]
fn a_wait_starts_when_the_ticket_matches_restarts_after_a_gap_and_ends_with_its_rule() {
    let rules =
        AccountRules { rules: vec![time_rule(1, SignedDuration::from_hours(2), unassigned())], business_hours: None };
    let mut ticket = ticket();
    let armed = follow_waits(&mut ticket, &rules, at(0));
    assert_eq!(armed.len(), 1);
    assert_eq!((armed[0].name.as_str(), armed[0].due_at), ("automation:1", Some(at(7200))));
    assert!(follow_waits(&mut ticket, &rules, at(60)).is_empty(), "still matching: the wait stands");

    ticket.assignee_id = Some(3);
    let ended = follow_waits(&mut ticket, &rules, at(3600));
    assert_eq!(ended[0].due_at, None, "stopped matching: the timer goes");
    assert!(ticket.automations.is_empty());
    ticket.assignee_id = None;
    let again = follow_waits(&mut ticket, &rules, at(4000));
    assert_eq!(again[0].due_at, Some(at(4000 + 7200)), "the wait starts over");

    // Fired for this period: it stays fired while the ticket keeps matching.
    if let Some(wait) = ticket.automations.waits.get_mut(&1) {
        wait.fired = true;
    }
    assert!(follow_waits(&mut ticket, &rules, at(20_000)).is_empty());
    assert!(ticket.automations.waits[&1].fired);

    // The rule is gone (deleted or disabled): its wait goes too.
    let none = AccountRules::default();
    if let Some(wait) = ticket.automations.waits.get_mut(&1) {
        wait.fired = false;
    }
    let cleared = follow_waits(&mut ticket, &none, at(21_000));
    assert_eq!((cleared.len(), cleared[0].due_at), (1, None));
    assert!(ticket.automations.is_empty());
}

#[test]
fn durations_are_iso_8601_with_24_hour_days() {
    assert_eq!(parse_wait("PT2H"), Ok(SignedDuration::from_hours(2)));
    assert_eq!(parse_wait("P3D"), Ok(SignedDuration::from_hours(72)));
    assert_eq!(parse_wait("PT90M"), Ok(SignedDuration::from_mins(90)));
    for bad in ["2h", "P1M", "P2Y", "PT0S", "P400D", ""] {
        assert!(parse_wait(bad).is_err(), "{bad} must be refused");
    }
    assert_eq!(rule_of_timer(&timer_name(42)), Some(42));
    assert_eq!(rule_of_timer("sla"), None);
}

#[test]
fn events_raise_the_triggers_rules_listen_for() {
    let ticket = ticket();
    let event = |kind: EventKind| crate::domain::TicketEvent {
        ticket_id: 7,
        account_id: 1,
        seq: 1,
        at: at(0),
        actor_id: None,
        kind,
    };
    let events = vec![
        event(EventKind::TagsChanged { added: Vec::new(), removed: vec!["x".to_owned()] }),
        event(EventKind::StatusChanged {
            from: "new".to_owned(),
            to: "open".to_owned(),
            category: StatusCategory::Open,
        }),
        event(EventKind::TagsChanged { added: vec!["vip".to_owned()], removed: Vec::new() }),
    ];
    let raised: Vec<TriggerEvent> = triggers_of(&events).into_iter().collect();
    assert_eq!(raised, vec![TriggerEvent::StatusChanged, TriggerEvent::TagAdded], "removing a tag is not `tag_added`");
    assert_eq!(ticket.status, "new");

    let created = event(EventKind::Created {
        subject: "Refund".to_owned(),
        number: 8,
        status: "new".to_owned(),
        priority: crate::domain::Priority::Medium,
        channel: crate::domain::Channel::Whatsapp,
        requester_id: 4,
    });
    let opened = triggers_of(std::slice::from_ref(&created));
    assert!(opened.contains(&TriggerEvent::TicketCreated), "a new ticket is `ticket_created`");
    let split = [
        created,
        event(EventKind::SplitFrom { original_id: 3, original_number: 3, message_ids: vec!["m1".to_owned()] }),
        event(EventKind::StatusChanged {
            from: "new".to_owned(),
            to: "open".to_owned(),
            category: StatusCategory::Open,
        }),
    ];
    let raised: Vec<TriggerEvent> = triggers_of(&split).into_iter().collect();
    assert_eq!(raised, vec![TriggerEvent::StatusChanged], "a ticket split off another is no new contact");
}

#[test]
fn rules_parse_in_the_pinned_format_and_refuse_what_cannot_run() {
    let rule: RuleSpec = serde_json::from_value(serde_json::json!({
        "when": {"for": "P3D", "while": "status: resolved", "hours": "calendar"},
        "if": "channel: whatsapp,email",
        "then": [{"set": {"status": "closed"}}, {"note": "Closed after 3 days resolved"},
                 {"assign": "auto"}, {"notify": {"user_id": 4}, "message": "Look"},
                 {"reply": {"body": "Hi"}, "template": {"name": "hello", "language": "en_US"}}]
    }))
    .expect("the pinned example parses");
    assert_eq!(rule.validate(), Ok(()));
    assert!(matches!(rule.then[2], Action::Assign { assign: AssignTarget::Auto(_) }));
    assert!(matches!(rule.then[3], Action::Notify { notify: NotifyTarget::User { user_id: 4 }, .. }));
    let empty = RuleSpec { then: Vec::new(), ..rule.clone() };
    assert_eq!(empty.validate().map_err(|error| error.field), Err("then".to_owned()));
    let hook = RuleSpec {
        then: vec![Action::Webhook {
            webhook: WebhookTarget {
                url: "file:///etc/passwd".to_owned(),
                secret: "0123456789abcdef".to_owned(),
                allow_private: false,
            },
        }],
        ..rule
    };
    assert_eq!(hook.validate().map_err(|error| error.field), Err("then[0].webhook".to_owned()));
}
