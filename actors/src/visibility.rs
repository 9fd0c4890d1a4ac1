//! What a customer may see of a ticket, of each event in its log and of who is looking at it.
//! Decided here and nowhere else: the REST API and the live frames both go through these
//! functions, so a new event kind or field is private until this module says otherwise.
//!
//! Customers see the ticket's status, public messages (and what happens to them: delivery,
//! fetched attachments) and the custom fields an admin flagged `customer_visible`. Triage
//! (priority, assignment, tags, type, category, team, snoozes, SLA clocks, the reply window) is
//! the team's business: such events reach customers as `{"type": "private"}` with their seq kept,
//! so their view of the log has no gaps.

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::*;

/// The name customers see for whoever views or types on their ticket.
pub const AGENT_NAME: &str = "an agent";

/// A ticket as its requester (or a colleague in their company) sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerTicket {
    pub id: TicketId,
    pub account_id: AccountId,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub status_category: StatusCategory,
    pub channel: Channel,
    pub requester_id: UserId,
    pub company_id: Option<CompanyId>,
    /// Only the fields flagged `customer_visible`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: CustomFields,
    pub seq: i64,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    pub first_response_at: Option<jiff::Timestamp>,
    pub resolved_at: Option<jiff::Timestamp>,
    pub closed_at: Option<jiff::Timestamp>,
    pub last_customer_message_at: Option<jiff::Timestamp>,
    pub last_agent_message_at: Option<jiff::Timestamp>,
    /// The last public message, at most 140 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

/// Whether customers may see the custom field `key` of this account.
fn field_visible(config: &AccountConfig, key: &str) -> bool {
    config.custom_field(key).is_some_and(|field| field.customer_visible)
}

/// The ticket without its triage, with only the customer-visible custom fields.
pub fn customer_ticket(ticket: Ticket, config: &AccountConfig) -> CustomerTicket {
    let custom_fields = ticket.custom_fields.into_iter().filter(|(key, _)| field_visible(config, key)).collect();
    CustomerTicket {
        id: ticket.id,
        account_id: ticket.account_id,
        number: ticket.number,
        subject: ticket.subject,
        status: ticket.status,
        status_category: ticket.status_category,
        channel: ticket.channel,
        requester_id: ticket.requester_id,
        company_id: ticket.company_id,
        custom_fields,
        seq: ticket.seq,
        created_at: ticket.created_at,
        updated_at: ticket.updated_at,
        first_response_at: ticket.first_response_at,
        resolved_at: ticket.resolved_at,
        closed_at: ticket.closed_at,
        last_customer_message_at: ticket.last_customer_message_at,
        last_agent_message_at: ticket.last_agent_message_at,
        preview: ticket.preview,
    }
}

/// A ticket as `staff` or a customer sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum TicketView {
    Staff(Box<Ticket>),
    Customer(Box<CustomerTicket>),
}

impl TicketView {
    pub fn new(staff: bool, ticket: Ticket, config: &AccountConfig) -> TicketView {
        if staff {
            TicketView::Staff(Box::new(ticket))
        } else {
            TicketView::Customer(Box::new(customer_ticket(ticket, config)))
        }
    }

    pub fn id(&self) -> TicketId {
        match self {
            TicketView::Staff(ticket) => ticket.id,
            TicketView::Customer(ticket) => ticket.id,
        }
    }

    pub fn seq(&self) -> i64 {
        match self {
            TicketView::Staff(ticket) => ticket.seq,
            TicketView::Customer(ticket) => ticket.seq,
        }
    }

    pub fn updated_at(&self) -> jiff::Timestamp {
        match self {
            TicketView::Staff(ticket) => ticket.updated_at,
            TicketView::Customer(ticket) => ticket.updated_at,
        }
    }
}

/// A message customers may read: replies and their own messages, never internal notes.
pub fn customer_may_read(message: &Message) -> bool {
    !message.is_internal()
}

/// A readable message as customers see it: who on the team wrote a reply is not theirs to know
/// (not even as a user id), so only customers' own messages keep their author.
pub fn customer_message(mut message: Message) -> Message {
    if message.kind != MessageKind::Customer {
        message.author_id = None;
    }
    message
}

/// What customers see of one event: the event itself, a reduced copy, or `private`.
pub fn customer_event(event: &TicketEvent, config: &AccountConfig) -> Value {
    let private = || {
        json!({
            "ticket_id": event.ticket_id, "account_id": event.account_id, "seq": event.seq,
            "at": event.at, "actor_id": null, "type": "private"
        })
    };
    // Who acted is the team's business: customers see what happened, not which user did it.
    let full = || {
        let mut value = serde_json::to_value(event).unwrap_or_else(|_| private());
        value["actor_id"] = Value::Null;
        value
    };
    match &event.kind {
        EventKind::Created { .. } => {
            // The opening priority is triage: it goes, the rest (subject, number, status) stays.
            let mut value = full();
            if let Some(object) = value.as_object_mut() {
                object.remove("priority");
            }
            value
        }
        EventKind::MessageAdded { message, .. } if customer_may_read(message) => {
            let mut value = full();
            value["message"] = serde_json::to_value(customer_message(message.clone())).unwrap_or_default();
            // The window is the team's concern, as `window_changed` is.
            if let Some(object) = value.as_object_mut() {
                object.remove("window_until");
            }
            value
        }
        EventKind::MessageAdded { .. } => private(),
        EventKind::StatusChanged { .. } => full(),
        // Ticks and fetched files of public messages (notes are never sent or fetched).
        EventKind::DeliveryChanged { .. } | EventKind::AttachmentsChanged { .. } => full(),
        EventKind::FieldsChanged { changes } => {
            // Keys are `subject`, `ticket_type`, `category_id` and `custom_fields.<key>`.
            let shown = |name: &str| match name.strip_prefix("custom_fields.") {
                Some(key) => field_visible(config, key),
                None => name == "subject",
            };
            let visible: std::collections::BTreeMap<&String, &FieldChange> =
                changes.iter().filter(|(name, _)| shown(name)).collect();
            if visible.is_empty() {
                return private();
            }
            let mut value = full();
            value["changes"] = serde_json::to_value(visible).unwrap_or_default();
            value
        }
        EventKind::PriorityChanged { .. }
        | EventKind::Assigned { .. }
        | EventKind::TagsChanged { .. }
        | EventKind::Snoozed { .. }
        | EventKind::SnoozeEnded
        // Which profile a ticket was filed under is the team's bookkeeping.
        | EventKind::RequesterChanged { .. }
        | EventKind::WindowChanged { .. }
        | EventKind::SlaChanged { .. }
        | EventKind::SlaWarning { .. }
        | EventKind::SlaBreached { .. }
        // Merges and splits are the team's bookkeeping; the customer sees the messages move.
        | EventKind::MergedInto { .. }
        | EventKind::MergedIn { .. }
        | EventKind::Unmerged { .. }
        | EventKind::MergeUndone { .. }
        | EventKind::SplitTo { .. }
        | EventKind::SplitFrom { .. }
        // Automation runs are the team's: rule names and errors are not for customers.
        | EventKind::AutomationRan { .. }
        // A rating, who it credits and the comment are the team's; the customer has their own
        // survey through `GET /tickets/{id}/csat`.
        | EventKind::CsatReceived(_)
        | EventKind::CsatCommented(_) => private(),
        // That a survey was asked, and nothing more: the portal shows its rating widget live.
        EventKind::CsatRequested(_) => json!({
            "ticket_id": event.ticket_id, "account_id": event.account_id, "seq": event.seq,
            "at": event.at, "actor_id": null, "type": "csat_requested"
        }),
    }
}

/// An event as `staff` or a customer sees it.
pub fn event_view(staff: bool, event: &TicketEvent, config: &AccountConfig) -> Value {
    if staff { serde_json::to_value(event).unwrap_or_default() } else { customer_event(event, config) }
}

/// Who customers are told is on their ticket: never a name or an id.
pub fn customer_viewer(typing: bool) -> (UserId, &'static str, bool) {
    (0, AGENT_NAME, typing)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use jiff::Timestamp;

    use super::*;

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

    fn message(kind: MessageKind) -> Message {
        Message {
            id: "m1".to_owned(),
            ticket_id: 1,
            account_id: 1,
            seq: 2,
            kind,
            author_id: Some(9),
            channel: Channel::Whatsapp,
            body: "hello".to_owned(),
            attachments: Vec::new(),
            delivery_status: None,
            provider_id: None,
            delivery_error: None,
            payload: None,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn event(kind: EventKind) -> TicketEvent {
        TicketEvent { ticket_id: 1, account_id: 1, seq: 7, at: Timestamp::UNIX_EPOCH, actor_id: Some(9), kind }
    }

    fn change(from: Option<&str>, to: Option<&str>) -> FieldChange {
        FieldChange { from: json!(from), to: json!(to) }
    }

    fn ticket() -> Ticket {
        Ticket {
            id: 1,
            account_id: 1,
            number: 1,
            subject: "Parcel".to_owned(),
            status: "open".to_owned(),
            status_category: StatusCategory::Open,
            urgency: Level::High,
            importance: Level::High,
            priority: Priority::Urgent,
            ticket_type: Some("incident".to_owned()),
            category_id: Some(3),
            tags: Vec::new(),
            custom_fields: CustomFields::new(),
            channel: Channel::Whatsapp,
            requester_id: 3,
            company_id: None,
            assignee_id: None,
            team_id: Some(2),
            assigned_at: None,
            snoozed_until: None,
            seq: 4,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            last_customer_message_at: None,
            last_agent_message_at: None,
            last_customer_seq: 0,
            last_customer_channel: None,
            links: TicketLinks::default(),
            automations: Default::default(),
            sla: None,
            preview: None,
        }
    }

    fn sla_metric() -> SlaMetric {
        SlaMetric::FirstResponse
    }

    /// Every event kind, with whether a customer sees it (not `private`).
    fn every_kind() -> Vec<(EventKind, bool)> {
        vec![
            (
                EventKind::Created {
                    subject: "Parcel".to_owned(),
                    number: 1,
                    status: "new".to_owned(),
                    priority: Priority::High,
                    channel: Channel::Whatsapp,
                    requester_id: 3,
                },
                true,
            ),
            (
                EventKind::MessageAdded {
                    message: message(MessageKind::Customer),
                    window_until: Some(jiff::Timestamp::UNIX_EPOCH),
                },
                true,
            ),
            (EventKind::MessageAdded { message: message(MessageKind::Reply), window_until: None }, true),
            (EventKind::MessageAdded { message: message(MessageKind::Note), window_until: None }, false),
            (
                EventKind::StatusChanged {
                    from: "new".to_owned(),
                    to: "open".to_owned(),
                    category: StatusCategory::Open,
                },
                true,
            ),
            (
                EventKind::PriorityChanged {
                    urgency: Level::High,
                    importance: Level::High,
                    from: Priority::Low,
                    to: Priority::Urgent,
                },
                false,
            ),
            (
                EventKind::Assigned {
                    from_assignee_id: None,
                    from_team_id: None,
                    assignee_id: Some(9),
                    team_id: None,
                    reason: Some("VIP, handle carefully".to_owned()),
                    held_secs: Some(30),
                    explanation: None,
                },
                false,
            ),
            (EventKind::TagsChanged { added: vec!["angry".to_owned()], removed: Vec::new() }, false),
            (
                EventKind::FieldsChanged {
                    changes: BTreeMap::from([
                        ("custom_fields.fraud_score".to_owned(), change(None, Some("93"))),
                        ("ticket_type".to_owned(), change(None, Some("incident"))),
                    ]),
                },
                false,
            ),
            (
                EventKind::FieldsChanged {
                    changes: BTreeMap::from([("custom_fields.order_number".to_owned(), change(None, Some("A-1")))]),
                },
                true,
            ),
            (
                EventKind::FieldsChanged {
                    changes: BTreeMap::from([("subject".to_owned(), change(Some("Parcel"), Some("Lost parcel")))]),
                },
                true,
            ),
            (EventKind::Snoozed { until: Timestamp::UNIX_EPOCH }, false),
            (EventKind::SnoozeEnded, false),
            (EventKind::RequesterChanged { from: 1, to: 2 }, false),
            (
                EventKind::DeliveryChanged {
                    message_id: "m1".to_owned(),
                    status: DeliveryStatus::Read,
                    provider_id: None,
                    error: None,
                },
                true,
            ),
            (EventKind::AttachmentsChanged { message_id: "m1".to_owned(), attachments: Vec::new() }, true),
            (EventKind::WindowChanged { window: WindowState::Closed }, false),
            (EventKind::SlaChanged { sla: None }, false),
            (EventKind::SlaWarning { metric: sla_metric(), due_at: Timestamp::UNIX_EPOCH }, false),
            (EventKind::SlaBreached { metric: sla_metric(), due_at: Timestamp::UNIX_EPOCH }, false),
            (EventKind::MergedInto { target_id: 2, target_number: 12, previous_status: "open".to_owned() }, false),
            (
                EventKind::MergedIn {
                    source_id: 3,
                    source_number: 13,
                    message_ids: vec!["m1".to_owned()],
                    tags_added: vec!["angry".to_owned()],
                    last_customer_at: None,
                    last_customer_channel: None,
                },
                false,
            ),
            (EventKind::Unmerged { target_id: 2, target_number: 12, restored_status: "open".to_owned() }, false),
            (
                EventKind::MergeUndone {
                    source_id: 3,
                    source_number: 13,
                    message_ids: vec!["m1".to_owned()],
                    tags_removed: vec!["angry".to_owned()],
                },
                false,
            ),
            (EventKind::SplitTo { new_ticket_id: 4, new_number: 14, message_ids: vec!["m1".to_owned()] }, false),
            (EventKind::SplitFrom { original_id: 5, original_number: 15, message_ids: vec!["m1".to_owned()] }, false),
            (
                EventKind::AutomationRan {
                    rule_id: 3,
                    name: "Escalate angry VIP".to_owned(),
                    actions: vec!["notify".to_owned()],
                    result: crate::automation::RunResult::Failed,
                    error: Some("reply: the window is closed".to_owned()),
                    late_by_ms: Some(5_000),
                    depth: 1,
                    notify: Vec::new(),
                },
                false,
            ),
        ]
    }

    #[test]
    fn customers_see_status_public_messages_and_visible_fields_only() {
        let config = config();
        for (kind, visible) in every_kind() {
            let event = event(kind);
            let seen = customer_event(&event, &config);
            assert_eq!(seen["seq"], 7, "the seq always stays: {seen}");
            assert_eq!(seen["actor_id"], Value::Null, "customers never see who acted: {seen}");
            assert!(seen["message"]["author_id"].is_null() || seen["message"]["kind"] == "customer", "{seen}");
            assert_eq!(seen["ticket_id"], 1);
            assert_eq!(seen["type"] != "private", visible, "{:?} → {seen}", event.kind);
            let text = seen.to_string();
            for secret in ["VIP", "angry", "fraud_score", "incident", "urgency", "priority", "due_at", "window_until"] {
                assert!(!text.contains(secret), "`{secret}` leaked to a customer: {text}");
            }
            // Staff see every event whole.
            assert_eq!(event_view(true, &event, &config), serde_json::to_value(&event).expect("json"));
        }
    }

    #[test]
    fn a_mixed_field_change_keeps_only_the_visible_fields() {
        let event = event(EventKind::FieldsChanged {
            changes: BTreeMap::from([
                ("custom_fields.order_number".to_owned(), change(Some("A-1"), Some("A-2"))),
                ("custom_fields.fraud_score".to_owned(), change(None, Some("93"))),
                ("category_id".to_owned(), change(None, None)),
            ]),
        });
        let seen = customer_event(&event, &config());
        assert_eq!(seen["type"], "fields_changed");
        assert_eq!(seen["changes"].as_object().map(|changes| changes.len()), Some(1));
        assert_eq!(seen["changes"]["custom_fields.order_number"]["to"], "A-2");
    }

    #[test]
    fn the_customer_ticket_has_no_triage() {
        let mut ticket = ticket();
        ticket.tags = vec!["angry".to_owned()];
        ticket.custom_fields =
            CustomFields::from([("order_number".to_owned(), json!("A-1")), ("fraud_score".to_owned(), json!(93))]);
        ticket.assignee_id = Some(9);
        let seen = serde_json::to_value(TicketView::new(false, ticket.clone(), &config())).expect("json");
        for hidden in ["tags", "assignee_id", "team_id", "priority", "urgency", "importance", "sla", "ticket_type"] {
            assert!(seen.get(hidden).is_none(), "`{hidden}` shown to a customer: {seen}");
        }
        assert_eq!(seen["custom_fields"], json!({"order_number": "A-1"}));
        assert_eq!(seen["status"], ticket.status);
        let staff = serde_json::to_value(TicketView::new(true, ticket.clone(), &config())).expect("json");
        assert_eq!(staff, serde_json::to_value(&ticket).expect("json"));
    }

    #[test]
    fn customers_never_learn_who_is_looking() {
        assert_eq!(customer_viewer(true), (0, "an agent", true));
    }
}
