//! Snapshots of what this module puts on the wire (the broker's relay messages, event frames for
//! staff and customers, resync frames), built from fixed values so they never change by
//! themselves: a refactoring that changes one fails here (snapshots in `snapshots/`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::cluster::Relay;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + seconds).expect("a fixed time")
}

fn ticket() -> Ticket {
    Ticket {
        id: 41,
        account_id: 7,
        number: 12,
        subject: "Parcel missing".to_owned(),
        status: "open".to_owned(),
        status_category: StatusCategory::Open,
        urgency: Level::High,
        importance: Level::Medium,
        priority: Priority::High,
        ticket_type: Some("incident".to_owned()),
        category_id: Some(3),
        tags: vec!["vip".to_owned()],
        custom_fields: CustomFields::from([
            ("order_number".to_owned(), json!("A-1")),
            ("fraud_score".to_owned(), json!(93)),
        ]),
        channel: Channel::Whatsapp,
        requester_id: 5,
        company_id: None,
        assignee_id: Some(9),
        team_id: Some(2),
        assigned_at: Some(at(10)),
        snoozed_until: None,
        seq: 3,
        created_at: at(0),
        updated_at: at(30),
        first_response_at: Some(at(20)),
        resolved_at: None,
        closed_at: None,
        last_customer_message_at: Some(at(0)),
        last_agent_message_at: Some(at(20)),
        last_customer_seq: 2,
        last_customer_channel: None,
        links: TicketLinks::default(),
        automations: Default::default(),
        sla: None,
        preview: None,
    }
}

/// `order_number` is shown to customers, `fraud_score` is not.
fn config() -> AccountConfig {
    let field = |key: &str, customer_visible| CustomFieldDef {
        key: key.to_owned(),
        label: key.to_owned(),
        field_type: FieldType::Text,
        options: Vec::new(),
        customer_visible,
    };
    AccountConfig {
        custom_fields: vec![field("order_number", true), field("fraud_score", false)],
        ..AccountConfig::default()
    }
}

fn message(kind: MessageKind, body: &str) -> Message {
    Message {
        id: "0197a0b0-0000-7000-8000-000000000001".to_owned(),
        ticket_id: 41,
        account_id: 7,
        seq: 3,
        kind,
        author_id: Some(9),
        channel: Channel::Whatsapp,
        body: body.to_owned(),
        attachments: Vec::new(),
        delivery_status: None,
        provider_id: None,
        delivery_error: None,
        payload: None,
        created_at: at(30),
    }
}

fn event(seq: i64, kind: EventKind) -> TicketEvent {
    TicketEvent { ticket_id: 41, account_id: 7, seq, at: at(30), actor_id: Some(9), kind }
}

fn presence() -> AgentPresence {
    AgentPresence {
        user_id: 9,
        account_id: 7,
        name: "Ana Agent".to_owned(),
        status: PresenceStatus::Busy,
        since: at(5),
        manual: Some(PresenceStatus::Busy),
        viewing: Some(41),
        typing: None,
        load: 2,
        capacity: 5,
        sockets: 1,
        node: "node-a".to_owned(),
        reported_at: at(6),
    }
}

/// A relay message as the broker carries it (the bytes `Hub::relay` publishes), parsed back
/// to check it also reads as `Hub::receive` expects.
fn relayed(body: RelayBody) -> Value {
    let bytes = serde_json::to_vec(&Relay { node: "node-a".to_owned(), body }).expect("serialises");
    let read: Relay = serde_json::from_slice(&bytes).expect("reads back");
    assert_eq!(read.node, "node-a");
    serde_json::from_slice(&bytes).expect("json")
}

/// An event frame as `event_frame` writes it; `sent_at` is the clock's, so it is redacted.
fn frame_json(frame: &Frame) -> Value {
    let mut value: Value = serde_json::from_str(&frame.text).expect("frames are JSON");
    if let Some(sent_at) = value.get_mut("sent_at") {
        assert!(sent_at.is_string(), "sent_at is a timestamp: {sent_at}");
        *sent_at = json!("[sent_at]");
    }
    value
}

#[test]
fn relay_change() {
    let change = TicketChange {
        ticket: ticket(),
        events: vec![event(
            3,
            EventKind::MessageAdded { message: message(MessageKind::Reply, "It ships today"), window_until: None },
        )],
    };
    insta::assert_json_snapshot!("relay_change", relayed(RelayBody::Change { change: Box::new(change) }));
}

#[test]
fn relay_presence_and_liveness() {
    insta::assert_json_snapshot!("relay_presence", relayed(RelayBody::Presence { presence: presence() }));
    insta::assert_json_snapshot!("relay_node_alive", relayed(RelayBody::NodeAlive));
    insta::assert_json_snapshot!("relay_presence_sync", relayed(RelayBody::PresenceSync { account: 7 }));
}

#[test]
fn relay_session_ended() {
    let session = SessionEnd::Session { session: "ab".repeat(32) };
    insta::assert_json_snapshot!("relay_session_ended_session", relayed(RelayBody::SessionEnded { end: session }));
    let user = SessionEnd::User { user_id: 9, except: Some("cd".repeat(32)) };
    insta::assert_json_snapshot!("relay_session_ended_user", relayed(RelayBody::SessionEnded { end: user }));
    let everywhere = SessionEnd::User { user_id: 9, except: None };
    insta::assert_json_snapshot!(
        "relay_session_ended_user_everywhere",
        relayed(RelayBody::SessionEnded { end: everywhere })
    );
}

#[test]
fn event_frames_on_a_ticket_topic_for_staff_and_customers() {
    let config = config();
    let note = event(
        3,
        EventKind::MessageAdded { message: message(MessageKind::Note, "check the fraud score"), window_until: None },
    );
    let reply = event(
        3,
        EventKind::MessageAdded { message: message(MessageKind::Reply, "It ships today"), window_until: None },
    );
    let fields = event(
        4,
        EventKind::FieldsChanged {
            changes: BTreeMap::from([
                ("custom_fields.order_number".to_owned(), FieldChange { from: json!("A-1"), to: json!("A-2") }),
                ("custom_fields.fraud_score".to_owned(), FieldChange { from: json!(null), to: json!(93) }),
            ]),
        },
    );
    let frames: BTreeMap<&str, Value> = BTreeMap::from([
        ("note_staff", frame_json(&event_frame(true, &config, "ticket:41", &note, jiff::Timestamp::UNIX_EPOCH))),
        ("note_customer", frame_json(&event_frame(false, &config, "ticket:41", &note, jiff::Timestamp::UNIX_EPOCH))),
        ("reply_staff", frame_json(&event_frame(true, &config, "ticket:41", &reply, jiff::Timestamp::UNIX_EPOCH))),
        ("reply_customer", frame_json(&event_frame(false, &config, "ticket:41", &reply, jiff::Timestamp::UNIX_EPOCH))),
        ("fields_staff", frame_json(&event_frame(true, &config, "ticket:41", &fields, jiff::Timestamp::UNIX_EPOCH))),
        (
            "fields_customer",
            frame_json(&event_frame(false, &config, "ticket:41", &fields, jiff::Timestamp::UNIX_EPOCH)),
        ),
    ]);
    insta::assert_json_snapshot!("event_frames_ticket_topic", frames);
}

#[test]
fn merge_and_split_event_frames_for_staff_and_customers() {
    let config = config();
    let ids = || vec!["0190a1b2-0000-7000-8000-000000000001".to_owned()];
    let events = [
        (
            "merged_into",
            event(5, EventKind::MergedInto { target_id: 42, target_number: 12, previous_status: "pending".into() }),
        ),
        (
            "merged_in",
            event(
                6,
                EventKind::MergedIn {
                    source_id: 40,
                    source_number: 10,
                    message_ids: ids(),
                    tags_added: vec!["billing".into()],
                    last_customer_at: Some(jiff::Timestamp::UNIX_EPOCH),
                    last_customer_channel: Some(Channel::Whatsapp),
                },
            ),
        ),
        (
            "unmerged",
            event(7, EventKind::Unmerged { target_id: 42, target_number: 12, restored_status: "pending".into() }),
        ),
        (
            "merge_undone",
            event(
                8,
                EventKind::MergeUndone {
                    source_id: 40,
                    source_number: 10,
                    message_ids: ids(),
                    tags_removed: vec!["billing".into()],
                },
            ),
        ),
        ("split_to", event(9, EventKind::SplitTo { new_ticket_id: 43, new_number: 13, message_ids: ids() })),
        ("split_from", event(2, EventKind::SplitFrom { original_id: 40, original_number: 10, message_ids: ids() })),
    ];
    let at = jiff::Timestamp::UNIX_EPOCH;
    let mut frames: BTreeMap<String, Value> = BTreeMap::new();
    for (name, event) in &events {
        frames.insert(format!("{name}_staff"), frame_json(&event_frame(true, &config, "ticket:41", event, at)));
        frames.insert(format!("{name}_customer"), frame_json(&event_frame(false, &config, "ticket:41", event, at)));
    }
    insta::assert_json_snapshot!("event_frames_merge_and_split", frames);
}

/// A WhatsApp ticket in work: the row's preview, its SLA clocks (first response met, resolution
/// running) and a customer's message renewing the window.
fn ticket_in_work() -> (Ticket, TicketEvent) {
    let clock = |minutes: i64, met: Option<Timestamp>| switchboard_actors::sla::SlaClock {
        target_minutes: minutes,
        due_at: at(minutes * 60),
        warn_at: at(minutes * 45),
        met_at: met,
        warned_at: None,
        breached_at: None,
    };
    let mut ticket = ticket();
    ticket.seq = 4;
    ticket.last_customer_message_at = Some(at(30));
    ticket.preview =
        Some("Where is my parcel? It was due on Tuesday and the tracking page still says label created.".to_owned());
    ticket.sla = Some(switchboard_actors::sla::SlaState {
        priority: Priority::High,
        started_at: at(0),
        warning_percent: 75,
        first_response: Some(clock(60, Some(at(20)))),
        resolution: Some(clock(480, None)),
        window_minutes: None,
        window: None,
        paused_at: None,
        paused_ms: 0,
        business_hours: None,
    });
    let mut message = message(MessageKind::Customer, ticket.preview.as_deref().unwrap_or_default());
    message.seq = 4;
    message.author_id = Some(5);
    message.payload = Some(json!({"type": "text"}));
    message.provider_id = Some("wamid.HBgLMTU1NTAxMDAwMDEVAgASGBQzQUI2".to_owned());
    let event = TicketEvent {
        ticket_id: 41,
        account_id: 7,
        seq: 4,
        at: at(30),
        actor_id: Some(5),
        kind: EventKind::MessageAdded { message, window_until: Some(at(30 + 86_400)) },
    };
    (ticket, event)
}

#[test]
fn event_frames_on_the_queue_carry_a_compact_row_as_each_audience_sees_it() {
    let config = config();
    let (ticket, event) = ticket_in_work();
    let staff_row = TicketRow::staff(&ticket);
    let customer_row = TicketRow::customer(&customer_ticket(ticket, &config));
    let sent_at = at(30);
    let staff = list_event_frame(true, &config, "queue", &event, &staff_row, sent_at);
    let customer = list_event_frame(false, &config, "queue", &event, &customer_row, sent_at);
    // A customer's WhatsApp message of 90 characters on a ticket in work: 442 bytes (641 before
    // the row left out what the frame says, 1.4–1.7 KB with the whole ticket and event). The
    // text travels once (the row's preview).
    assert!(staff.text.len() <= 450, "{} bytes: {}", staff.text.len(), staff.text);
    assert_eq!(staff.text.matches("Where is my parcel").count(), 1, "{}", staff.text);
    assert!(customer.text.len() < staff.text.len());
    let frames: BTreeMap<&str, Value> =
        BTreeMap::from([("staff", frame_json(&staff)), ("customer", frame_json(&customer))]);
    insta::assert_json_snapshot!("event_frames_queue", frames);
}

/// Issue 16's measure: a typical queue frame — a customer's short WhatsApp message (37
/// characters) on a ticket in work, as staff see it — is under 400 bytes.
#[test]
fn a_typical_queue_frame_is_under_400_bytes() {
    let config = config();
    let (mut ticket, mut event) = ticket_in_work();
    let text = "Hi, is my order #4471 on its way yet?";
    ticket.preview = Some(text.to_owned());
    if let EventKind::MessageAdded { message, .. } = &mut event.kind {
        message.body = text.to_owned();
    }
    let frame = list_event_frame(true, &config, "queue", &event, &TicketRow::staff(&ticket), at(30));
    assert!(frame.text.len() < 400, "{} bytes: {}", frame.text.len(), frame.text);
    assert!(frame.text.contains(text), "{}", frame.text);
}

#[test]
fn resync_frames() {
    // The reasons the hub sends: a lagging bus, a restored broker link, a resume too large.
    let frames: Vec<Value> = ["lagged", "broker_reconnected", "too_many_changes"]
        .into_iter()
        .map(|reason| frame_json(&Frame::control(&ControlFrame::Resync { topic: "queue", reason })))
        .collect();
    insta::assert_json_snapshot!("resync_frames", frames);
}

fn notification() -> switchboard_actors::notifications::Notification {
    switchboard_actors::notifications::Notification {
        id: 31,
        account_id: 1,
        user_id: 5,
        kind: switchboard_actors::notifications::NotificationKind::Mention,
        ticket_id: 1,
        ticket_number: 1042,
        subject: "Parcel".to_owned(),
        actor_id: Some(4),
        text: "Ana mentioned you on #1042: @Ben can you approve?".to_owned(),
        created_at: at(60),
        read_at: None,
        critical: false,
    }
}

#[test]
fn notification_frames_and_relays() {
    let notification = notification();
    let frames = BTreeMap::from([
        (
            "notification",
            frame_json(&Frame::control(&ControlFrame::Notification {
                topic: "notifications",
                notification: &notification,
                alert: false,
                unread: 3,
                sent_at: at(61),
            })),
        ),
        (
            "notifications_read",
            frame_json(&Frame::control(&ControlFrame::NotificationsRead { topic: "notifications", unread: 0 })),
        ),
    ]);
    insta::assert_json_snapshot!("notification_frames", frames);
    let push = switchboard_actors::notifications::NotificationPush {
        account_id: 1,
        user_id: 5,
        notification,
        alert: true,
        unread: 3,
    };
    insta::assert_json_snapshot!("relay_notifications", relayed(RelayBody::Notifications { pushes: vec![push] }));
    insta::assert_json_snapshot!(
        "relay_notifications_read",
        relayed(RelayBody::NotificationsRead { user_id: 5, unread: 0 })
    );
}

#[test]
fn view_frames() {
    // `view:<id>`: events as on the queue (with the row), then these two of its own.
    let left = ControlFrame::ViewLeft { topic: "view:7", view_id: 7, ticket_id: 42 };
    let count = ControlFrame::ViewCount { topic: "view:7", view_id: 7, count: 12 };
    let event = event(3, EventKind::SnoozeEnded);
    let frames = json!({
        "event": frame_json(&list_event_frame(true, &config(), "view:7", &event, &TicketRow::staff(&ticket()), at(60))),
        "view_left": frame_json(&Frame::control(&left)),
        "view_count": frame_json(&Frame::control(&count)),
    });
    insta::assert_json_snapshot!("view_frames", frames);
}
