//! What a TicketActor is asked to do, and what it answers.

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::oneshot;

use crate::domain::*;
use crate::store::StoreError;

/// A change to a ticket. Each becomes zero or more events in its log.
#[derive(Clone, Debug, PartialEq)]
pub enum TicketCommand {
    AddMessage(NewMessage),
    Update(TicketPatch),
    Assign(Assignment),
    /// A durable timer of this ticket came due.
    FireTimer {
        name: String,
    },
    /// The channel reported progress (or failure) of an outbound message.
    RecordDelivery {
        message_id: String,
        status: DeliveryStatus,
        provider_id: Option<String>,
        error: Option<DeliveryError>,
    },
    /// The channel's reply window changed.
    RecordWindow(WindowState),
    /// A message's attachments were fetched (or failed to be).
    RecordAttachments {
        message_id: String,
        attachments: Vec<Attachment>,
    },
    /// Close this ticket as merged into `target` (the first of a merge's two commits).
    MergeInto {
        target: LinkedTicket,
    },
    /// Take in a ticket merged into this one: its messages and tags (idempotent).
    AcceptMerge(MergedTicket),
    /// Undo this ticket's merge, within [`UNMERGE_WINDOW`](super::UNMERGE_WINDOW).
    Unmerge,
    /// Give back what the ticket `source_id` brought when it was merged in (idempotent).
    ReleaseMerge {
        source_id: TicketId,
    },
    /// Record that these messages were split off into `ticket` (idempotent).
    RecordSplit {
        ticket: LinkedTicket,
        message_ids: Vec<String>,
    },
    /// File the ticket under another customer profile (two profiles of one person merged);
    /// nothing happens unless the ticket is still `from`'s.
    ChangeRequester {
        from: UserId,
        to: UserId,
    },
    /// Bring the ticket's time-rule waits up to date with the account's rules (a rule was
    /// created or enabled), then run the event rules `after` triggers (a ticket just created:
    /// its first commit does not go through its actor).
    RunAutomations {
        after: Vec<TicketEvent>,
    },
    /// A satisfaction survey's news (`csat_requested`, `csat_received`, `csat_commented`),
    /// with the message that carries a survey out, if it has one. A survey is refused once the
    /// ticket reopened.
    RecordCsat {
        // Boxed: commands stay small in the mailbox.
        event: Box<EventKind>,
        message: Option<Box<NewMessage>>,
    },
}

/// What a ticket merged into another brings along.
#[derive(Clone, Debug, PartialEq)]
pub struct MergedTicket {
    pub source: LinkedTicket,
    pub message_ids: Vec<String>,
    pub tags: Vec<String>,
    pub last_customer_at: Option<Timestamp>,
    pub last_customer_channel: Option<Channel>,
}

impl TicketCommand {
    /// Public replies and status changes: what an agent must not send without having seen the
    /// customer's latest message.
    pub fn answers_the_customer(&self) -> bool {
        match self {
            TicketCommand::AddMessage(message) => message.kind == MessageKind::Reply || message.then_status.is_some(),
            TicketCommand::Update(patch) => patch.status.is_some(),
            TicketCommand::Assign(_)
            | TicketCommand::FireTimer { .. }
            | TicketCommand::RecordDelivery { .. }
            | TicketCommand::RecordWindow(_)
            | TicketCommand::RecordAttachments { .. }
            | TicketCommand::MergeInto { .. }
            | TicketCommand::AcceptMerge(_)
            | TicketCommand::Unmerge
            | TicketCommand::ReleaseMerge { .. }
            | TicketCommand::RecordSplit { .. }
            | TicketCommand::ChangeRequester { .. }
            | TicketCommand::RunAutomations { .. }
            | TicketCommand::RecordCsat { .. } => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    pub kind: MessageKind,
    pub body: String,
    /// Defaults to the ticket's channel.
    pub channel: Option<Channel>,
    pub attachments: Vec<Attachment>,
    /// Status to set in the same command ("send and resolve").
    pub then_status: Option<String>,
    /// Channel content beyond text (see [`Message::payload`]).
    pub payload: Option<serde_json::Value>,
    /// The provider's id, for inbound messages (a wamid).
    pub provider_id: Option<String>,
    /// A customer's WhatsApp message: when the 24-hour window it renewed closes (recorded on
    /// the `message_added` event).
    pub window_until: Option<Timestamp>,
}

impl NewMessage {
    /// A message of plain text on the ticket's channel, with nothing else set.
    pub fn text(kind: MessageKind, body: impl Into<String>) -> NewMessage {
        NewMessage {
            kind,
            body: body.into(),
            channel: None,
            attachments: Vec::new(),
            then_status: None,
            payload: None,
            provider_id: None,
            window_until: None,
        }
    }
}

/// Fields to change; `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<String>,
    pub urgency: Option<Level>,
    pub importance: Option<Level>,
    pub ticket_type: Option<Option<String>>,
    pub category_id: Option<Option<CategoryId>>,
    /// Replaces the whole tag set.
    pub tags: Option<Vec<String>>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    /// Merged into the current values; a JSON `null` removes a field.
    pub custom_fields: Option<CustomFields>,
    pub snooze_until: Option<Option<Timestamp>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub reason: Option<String>,
    /// The router's reasons, recorded in the `assigned` event.
    pub explanation: Option<AssignmentExplanation>,
}

/// Who sent a command and what their account allows; resolved by the caller.
#[derive(Clone, Debug)]
pub struct CommandContext {
    pub actor_id: Option<UserId>,
    pub config: Arc<AccountConfig>,
    /// Refuse the command with [`TicketError::StaleSeq`] unless the ticket's head seq is this.
    pub expected_seq: Option<i64>,
    /// The newest seq the sender has seen, if known: a reply or status change from someone who
    /// has not seen the latest customer message is refused with [`TicketError::StaleView`].
    pub seen_seq: Option<i64>,
}

impl CommandContext {
    /// A command from the system (timers, automation): no collision checks.
    pub fn system(config: Arc<AccountConfig>) -> CommandContext {
        CommandContext { actor_id: None, config, expected_seq: None, seen_seq: None }
    }
}

/// The result of an accepted command: the events it appended (possibly none) and the new state.
#[derive(Clone, Debug)]
pub struct CommandOutcome {
    pub ticket: Ticket,
    pub events: Vec<TicketEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("ticket not found")]
    NotFound,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("the ticket changed: its seq is {actual}, the request expected {expected}")]
    StaleSeq { expected: i64, actual: i64 },
    #[error("the ticket is closed")]
    Closed,
    #[error(
        "a new customer message (seq {last_customer_seq}) arrived after what you saw (seq {seen}); review it before sending"
    )]
    StaleView { seen: i64, last_customer_seq: i64 },
    #[error(transparent)]
    Link(#[from] LinkRefusal),
    #[error("the ticket's actor failed while handling the command; it was restarted from the store")]
    ActorRestarted,
    #[error("the ticket did not answer in time")]
    Timeout,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a merge, an unmerge or a split was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("a ticket cannot be merged into itself")]
    IntoItself,
    #[error("this ticket is already merged into #{0}; unmerge it first")]
    AlreadyMerged(i64),
    #[error("#{target} was merged into this ticket; merging back would make a cycle (unmerge #{target} instead)")]
    Cycle { target: i64 },
    #[error("#{target} is merged into #{into}; merge into #{into} instead")]
    TargetMerged { target: i64, into: i64 },
    #[error("#{0} is closed; merge only into a ticket that is still open")]
    TargetClosed(i64),
    #[error("#{from} and #{target} have different requesters; send `force: true` to merge them anyway")]
    RequesterMismatch { from: i64, target: i64 },
    #[error("this ticket is not merged into another")]
    NotMerged,
    #[error("the merge into #{target} is older than {days} days and can no longer be undone")]
    UnmergeExpired { target: i64, days: i64 },
    #[error("message_ids: {0}")]
    Split(String),
}

impl TicketError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> TicketError {
        TicketError::Invalid { field, message: message.into() }
    }
}

pub type Reply<T> = oneshot::Sender<Result<T, TicketError>>;

/// The TicketActor's mailbox. The registry numbers requests, so when a crash drops a reply the
/// caller knows whether its request was the one in flight (an error) or was still queued, never
/// handled (safe to resend).
pub enum TicketMsg {
    Command {
        command: Box<TicketCommand>,
        context: CommandContext,
        reply: Reply<CommandOutcome>,
    },
    Get {
        reply: Reply<Ticket>,
    },
    /// Data protection: rewrite this ticket's stored subject, events and messages with their
    /// personal text erased ([`crate::gdpr`]), in the actor so no command's commit can write the
    /// old subject back; answers the stored files its messages pointed at.
    Erase {
        reply: Reply<Vec<String>>,
    },
    /// Another node appended up to `seq`: reload from the store if this state is older.
    Refresh {
        seq: i64,
    },
    /// Test hook: panic while handling this request, to exercise supervision (the caller is
    /// answered with [`TicketError::ActorRestarted`], as any command in flight would be).
    #[cfg(any(test, feature = "test-hooks"))]
    CrashForTest {
        reply: Reply<()>,
    },
}

impl From<crate::registry::DeliveryError> for TicketError {
    fn from(error: crate::registry::DeliveryError) -> TicketError {
        match error {
            crate::registry::DeliveryError::Crashed => TicketError::ActorRestarted,
            crate::registry::DeliveryError::Timeout => TicketError::Timeout,
            crate::registry::DeliveryError::Unavailable(reason) => TicketError::Store(StoreError::Unavailable(reason)),
        }
    }
}
