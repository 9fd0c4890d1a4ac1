//! A ticket as a list row shows it: what `queue` and `view:<id>` frames carry instead of the
//! whole ticket (issue 16: a frame per change per subscriber, so it must be small). The full
//! ticket is read on demand (`GET /api/v1/tickets/{id}` or a `ticket:<id>` subscription).
//!
//! The row holds what the queue list and the board show and filter by — number, subject,
//! status, priority, assignee, team, channel, the SLA clock due soonest, who is waiting, a
//! preview of the last public message — and nothing the frame around it already says: the
//! frame's `seq` is the ticket's, its `cursor` the instant of the change (the ticket's
//! `updated_at`; a `created` event's is its `created_at`). A typical queue frame is under 400
//! bytes (issue 16). A customer's row goes through
//! [`customer_ticket`](crate::visibility::customer_ticket) first and has no triage.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::domain::*;
use crate::query::WaitingOn;
use crate::query::filter::waiting_on;
use crate::sla::{SlaClock, SlaState};
use crate::visibility::CustomerTicket;

/// The longest `preview` (characters): the last public message, whitespace folded.
pub const PREVIEW_CHARS: usize = 140;

/// One row of a ticket list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketRow {
    pub id: TicketId,
    pub number: i64,
    pub subject: String,
    pub status: String,
    /// Absent when the status is the category's own (`open`, `pending`, …): only an account's
    /// own statuses need it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_category: Option<StatusCategory>,
    pub channel: Channel,
    /// The last public message (a customer's or a reply), at most [`PREVIEW_CHARS`] characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// The ticket's seq after the change (the frame carries it; the row is also kept by it).
    #[serde(skip)]
    pub seq: i64,
    /// When the ticket last changed (the frame's `cursor` says it).
    #[serde(skip)]
    pub updated_at: Timestamp,
    /// The team's fields; absent from a customer's row.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub triage: Option<RowTriage>,
}

/// What staff see in a row beyond what the customer sees. Fields that are `None` are left out
/// (a reader takes a staff row's missing `assignee_id`, `team_id`, `waiting_on` and `sla` as null).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowTriage {
    pub priority: Priority,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    /// `agent` when the customer wrote last, `customer` when the team did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<WaitingOn>,
    /// The unmet SLA clock due soonest, in the shape of the ticket's `sla` (so the console's
    /// SLA badge reads either): `{"paused_at"?, "<metric>": {due_at, warned_at?, breached_at?}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<RowSla>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowSla {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<Timestamp>,
    /// One entry: the metric's name and its clock.
    #[serde(flatten)]
    pub pressing: BTreeMap<&'static str, RowClock>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowClock {
    /// No `warn_at`: the `sla_warning` event that comes at that instant sets `warned_at`.
    pub due_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warned_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<Timestamp>,
}

impl TicketRow {
    /// The row staff see.
    pub fn staff(ticket: &Ticket) -> TicketRow {
        TicketRow {
            id: ticket.id,
            number: ticket.number,
            subject: ticket.subject.clone(),
            status: ticket.status.clone(),
            status_category: own_category(&ticket.status, ticket.status_category),
            channel: ticket.channel,
            preview: ticket.preview.clone(),
            seq: ticket.seq,
            updated_at: ticket.updated_at,
            triage: Some(RowTriage {
                priority: ticket.priority,
                assignee_id: ticket.assignee_id,
                team_id: ticket.team_id,
                waiting_on: waiting_on(ticket),
                sla: ticket.sla.as_ref().and_then(row_sla),
            }),
        }
    }

    /// The row a customer sees (of the ticket as they see it).
    pub fn customer(ticket: &CustomerTicket) -> TicketRow {
        TicketRow {
            id: ticket.id,
            number: ticket.number,
            subject: ticket.subject.clone(),
            status: ticket.status.clone(),
            status_category: own_category(&ticket.status, ticket.status_category),
            channel: ticket.channel,
            preview: ticket.preview.clone(),
            seq: ticket.seq,
            updated_at: ticket.updated_at,
            triage: None,
        }
    }
}

/// The category, unless the status is named after it.
fn own_category(status: &str, category: StatusCategory) -> Option<StatusCategory> {
    (status != category.as_str()).then_some(category)
}

fn row_sla(sla: &SlaState) -> Option<RowSla> {
    let (metric, clock) = sla.pressing()?;
    let clock: &SlaClock = clock;
    Some(RowSla {
        paused_at: sla.paused_at,
        pressing: BTreeMap::from([(
            metric.as_str(),
            RowClock { due_at: clock.due_at, warned_at: clock.warned_at, breached_at: clock.breached_at },
        )]),
    })
}

/// A message's text as a row previews it: whitespace folded, at most [`PREVIEW_CHARS`]
/// characters (an ellipsis marks a cut).
pub fn preview_of(body: &str) -> String {
    let mut folded = String::with_capacity(body.len().min(PREVIEW_CHARS * 4));
    let mut count = 0;
    for word in body.split_whitespace() {
        let needed = word.chars().count() + usize::from(count > 0);
        if count + needed > PREVIEW_CHARS {
            let room = PREVIEW_CHARS.saturating_sub(count + usize::from(count > 0) + 1);
            if count > 0 && room > 0 {
                folded.push(' ');
            }
            folded.extend(word.chars().take(room));
            folded.push('…');
            return folded;
        }
        if count > 0 {
            folded.push(' ');
        }
        folded.push_str(word);
        count += needed;
    }
    folded
}

/// An event as a list frame carries it: what happened, not what the frame or the row already
/// says (its seq and time are the frame's `seq` and `cursor`; a message's text is the row's
/// preview; the SLA clocks, the router's explanation and the message itself stay on the
/// ticket's own topic). `view` is the event as the audience sees it
/// ([`event_view`](crate::visibility::event_view)).
pub fn row_event(view: &Value) -> Value {
    // Not `actor_id`: who did it is on the ticket's own topic (the console's lists never show it).
    const KEPT: [&str; 7] = ["type", "from", "to", "assignee_id", "from_assignee_id", "team_id", "window"];
    let Some(object) = view.as_object() else { return view.clone() };
    let mut slim: serde_json::Map<String, Value> =
        KEPT.iter().filter_map(|key| object.get(*key).map(|value| ((*key).to_owned(), value.clone()))).collect();
    if let Some(message) = object.get("message").and_then(Value::as_object) {
        let mut kept = serde_json::Map::new();
        for key in ["kind"] {
            if let Some(value) = message.get(key) {
                kept.insert(key.to_owned(), value.clone());
            }
        }
        slim.insert("message".to_owned(), Value::Object(kept));
    }
    Value::Object(slim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_fold_whitespace_and_cut_at_the_limit() {
        assert_eq!(preview_of("  Where is\n\nmy   parcel? "), "Where is my parcel?");
        let long = "word ".repeat(60);
        let cut = preview_of(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS, "{cut}");
        assert!(cut.ends_with('…'));
        let one_long_word = "x".repeat(500);
        assert_eq!(preview_of(&one_long_word).chars().count(), PREVIEW_CHARS);
        assert_eq!(preview_of("ação é ótima"), "ação é ótima", "characters, not bytes");
    }

    #[test]
    fn a_list_event_keeps_what_happened_and_drops_what_the_row_or_the_ticket_holds() {
        let view = serde_json::json!({
            "type": "message_added", "seq": 4, "at": "2026-01-01T00:00:00Z", "actor_id": 5, "ticket_id": 1,
            "account_id": 1, "window_until": "2026-01-02T00:00:00Z",
            "message": {"id": "m1", "kind": "customer", "channel": "whatsapp", "body": "long text", "payload": {"type": "text"}}
        });
        assert_eq!(row_event(&view), serde_json::json!({"type": "message_added", "message": {"kind": "customer"}}));
        let sla = serde_json::json!({"type": "sla_changed", "seq": 2, "at": "2026-01-01T00:00:00Z", "actor_id": null, "sla": {"priority": "high"}});
        assert_eq!(row_event(&sla), serde_json::json!({"type": "sla_changed"}));
    }
}
