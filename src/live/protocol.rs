//! The WebSocket protocol: JSON text frames, each with a `type`.
//!
//! Client → server: `subscribe {topic, after?}`, `unsubscribe {topic}`, `presence {status}`,
//! `typing {ticket_id, on}`, `viewing {ticket_id}`, `ping`.
//! Server → client: `event`, `snapshot`, `presence`, `viewers`, `view_left`, `view_count`, `ack`,
//! `resync`, `error`, `pong`, `notification` and `notifications_read` (on the `notifications`
//! topic).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchboard_actors::agent::AgentPresence;
use switchboard_actors::domain::{PresenceStatus, TicketId};
use switchboard_actors::notifications::Notification;
use switchboard_actors::rows::TicketRow;

pub use crate::error::ErrorCode;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// `after`: for `ticket:<id>` the last seq seen (replay from there); for `queue` the last
    /// `cursor` seen (changes since then arrive as snapshots); absent: from now on.
    Subscribe {
        topic: String,
        after: Option<i64>,
    },
    Unsubscribe {
        topic: String,
    },
    /// A manual status; `null` returns to the automatic one.
    Presence {
        status: Option<PresenceStatus>,
    },
    Typing {
        ticket_id: TicketId,
        on: bool,
    },
    Viewing {
        ticket_id: Option<TicketId>,
    },
    Ping,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Ticket(TicketId),
    /// The changes of the subscriber's own queue: for staff the tickets assigned to them, their
    /// teams' tickets and the shared inbox (no assignee, no team); for customers their tickets.
    Queue,
    /// Every change in the account (supervisors and admins: boards and whole-desk lists).
    QueueAll,
    Presence,
    /// The user's own notifications (staff only).
    Notifications,
    /// A saved view's matching tickets as they change.
    View(i64),
    /// The live board the socket's user sees (staff only).
    Dashboard,
}

impl Topic {
    pub fn parse(text: &str) -> Option<Topic> {
        match text {
            "queue" => Some(Topic::Queue),
            "queue:all" => Some(Topic::QueueAll),
            "presence" => Some(Topic::Presence),
            "notifications" => Some(Topic::Notifications),
            "dashboard" => Some(Topic::Dashboard),
            _ => match text.split_once(':') {
                Some(("ticket", id)) => id.parse().ok().map(Topic::Ticket),
                Some(("view", id)) => id.parse().ok().map(Topic::View),
                _ => None,
            },
        }
    }

    pub fn name(self) -> String {
        match self {
            Topic::Ticket(id) => format!("ticket:{id}"),
            Topic::Queue => "queue".to_owned(),
            Topic::QueueAll => "queue:all".to_owned(),
            Topic::Presence => "presence".to_owned(),
            Topic::Notifications => "notifications".to_owned(),
            Topic::View(id) => format!("view:{id}"),
            Topic::Dashboard => "dashboard".to_owned(),
        }
    }
}

/// One frame ready to write, shared by every socket it goes to.
#[derive(Clone, Debug)]
pub struct Frame {
    pub text: Arc<str>,
    /// When the event it carries was committed (ms since the epoch); 0 when it carries none.
    pub committed_ms: i64,
}

impl Frame {
    pub fn control(value: &impl Serialize) -> Frame {
        Frame { text: serde_json::to_string(value).unwrap_or_default().into(), committed_ms: 0 }
    }
}

/// An event, on a ticket's topic with the whole event, on a list topic slimmed and with the
/// ticket's row (borrowed, so a change is not copied per audience).
#[derive(Serialize)]
pub struct EventFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub topic: &'a str,
    /// On a ticket's topic; a list frame's row has the id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<TicketId>,
    pub seq: i64,
    /// Resume point for `queue`: pass as `after` when subscribing again. The instant of the
    /// change, in milliseconds since the epoch.
    pub cursor: i64,
    /// When the server sent it, on a ticket's topic (list frames leave it out: issue 16's
    /// 400 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<jiff::Timestamp>,
    pub event: &'a serde_json::Value,
    /// The ticket's list row after the change (on `queue` and `view:<id>` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<&'a TicketRow>,
}

#[derive(Serialize)]
pub struct SnapshotFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub topic: &'a str,
    pub seq: i64,
    /// The ticket's `updated_at`, in milliseconds since the epoch.
    pub cursor: i64,
    pub row: &'a TicketRow,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlFrame<'a> {
    Ack {
        topic: &'a str,
        seq: Option<i64>,
        cursor: Option<i64>,
    },
    Error {
        code: &'a str,
        message: &'a str,
    },
    Resync {
        topic: &'a str,
        reason: &'a str,
    },
    Pong {
        sent_at: jiff::Timestamp,
    },
    Presence {
        topic: &'static str,
        board: Option<&'a [AgentPresence]>,
        agent: Option<&'a AgentPresence>,
    },
    Viewers {
        topic: &'a str,
        ticket_id: TicketId,
        viewers: &'a [Viewer],
    },
    /// A new notification of the socket's user; `alert: false` during their quiet hours (listed,
    /// not popped up). `unread` is their unread count with it.
    Notification {
        topic: &'static str,
        notification: &'a Notification,
        alert: bool,
        unread: i64,
        sent_at: jiff::Timestamp,
    },
    /// The live board as the socket's user sees it (`GET /api/v1/reports/live`'s body), sent on
    /// subscribing and whenever it changes.
    Dashboard {
        topic: &'static str,
        board: &'a serde_json::Value,
    },
    /// The user read notifications (in this or another tab): their unread count now.
    NotificationsRead {
        topic: &'static str,
        unread: i64,
    },
    /// A change made a ticket stop matching the view.
    ViewLeft {
        topic: &'a str,
        view_id: i64,
        ticket_id: TicketId,
    },
    /// How many tickets the view holds now.
    ViewCount {
        topic: &'a str,
        view_id: i64,
        count: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Viewer {
    pub user_id: i64,
    pub name: String,
    pub typing: bool,
}

pub fn error(code: ErrorCode, message: &str) -> Frame {
    Frame::control(&ControlFrame::Error { code: code.as_str(), message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_and_print() {
        assert_eq!(Topic::parse("ticket:42"), Some(Topic::Ticket(42)));
        assert_eq!(Topic::parse("queue"), Some(Topic::Queue));
        assert_eq!(Topic::parse("queue:all"), Some(Topic::QueueAll));
        assert_eq!(Topic::parse("queue:mine"), None);
        assert_eq!(Topic::parse("notifications"), Some(Topic::Notifications));
        assert_eq!(Topic::Notifications.name(), "notifications");
        assert_eq!(Topic::parse("dashboard"), Some(Topic::Dashboard));
        assert_eq!(Topic::Dashboard.name(), "dashboard");
        assert_eq!(Topic::parse("ticket:x"), None);
        assert_eq!(Topic::parse("tickets"), None);
        assert_eq!(Topic::Ticket(7).name(), "ticket:7");
        assert_eq!(Topic::parse("view:3"), Some(Topic::View(3)));
        assert_eq!(Topic::parse("view:"), None);
        assert_eq!(Topic::parse("views:3"), None);
        assert_eq!(Topic::View(3).name(), "view:3");
    }

    #[test]
    fn client_frames_are_strict() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"subscribe","topic":"queue","after":5}"#).is_ok());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"subscribe"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"dance"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"presence","status":"busy"}"#).is_ok());
    }
}
