//! The support desk's vocabulary: accounts, users, teams, companies, tickets, messages and the
//! per-ticket event log. Plain data with serde; no I/O.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The router's vocabulary in events (`assigned` carries an explanation); defined with routing.
pub use crate::routing::explanation::{AssignmentExplanation, CandidateLoad, RoutingMode};
/// A ticket's links made by merges and splits; defined beside the merge rules.
pub use crate::ticket::link_types::{LinkedTicket, MergeLink, MergedSource, TicketLinks};

pub type AccountId = i64;
pub type UserId = i64;
pub type TeamId = i64;
pub type CompanyId = i64;
pub type TicketId = i64;
pub type CategoryId = i64;

/// Defines a string-backed enum with `as_str`, `FromStr` and `Display` that agree with serde.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownVariant;
            fn from_str(text: &str) -> Result<Self, $crate::domain::UnknownVariant> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::UnknownVariant { kind: stringify!($name), value: text.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

pub use crate::sla::{BusinessHours, BusinessPeriod, SlaClock, SlaMetric, SlaPolicy, SlaState, SlaTarget, Weekday};

/// A string that names no variant of the enum it was parsed as.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
}

string_enum!(
    /// What a user may do; customers only ever see their own (or their company's) tickets.
    Role { Admin => "admin", Supervisor => "supervisor", Agent => "agent", Customer => "customer" }
);

impl Role {
    /// Staff work the queue; customers are served by it.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Customer)
    }
}

string_enum!(
    /// The five lifecycle categories every status (built-in or custom) maps to. The category, not
    /// the status name, drives SLA pauses and automation.
    StatusCategory { New => "new", Open => "open", Pending => "pending", Resolved => "resolved", Closed => "closed" }
);

impl StatusCategory {
    /// Solved or closed: nothing is waiting on the desk.
    pub fn is_done(self) -> bool {
        matches!(self, StatusCategory::Resolved | StatusCategory::Closed)
    }
}

string_enum!(
    /// Urgency and importance are each rated on this scale.
    Level { Low => "low", Medium => "medium", High => "high", Critical => "critical" }
);

string_enum!(
    /// Derived from urgency × importance through the account's priority matrix.
    Priority { Low => "low", Medium => "medium", High => "high", Urgent => "urgent" }
);

impl Priority {
    /// This priority raised to `floor` when that is more pressing: a company's SLA tier on its
    /// members' new tickets.
    pub fn at_least(self, floor: Option<Priority>) -> Priority {
        match floor {
            Some(floor) if floor.rank() > self.rank() => floor,
            _ => self,
        }
    }

    /// Sort key: higher is more pressing.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 1,
            Priority::Medium => 2,
            Priority::High => 3,
            Priority::Urgent => 4,
        }
    }
}

impl Level {
    fn index(self) -> usize {
        match self {
            Level::Low => 0,
            Level::Medium => 1,
            Level::High => 2,
            Level::Critical => 3,
        }
    }
}

string_enum!(
    /// Where a ticket came from and where replies go.
    Channel { Whatsapp => "whatsapp", Email => "email", Web => "web", Api => "api", Phone => "phone" }
);

string_enum!(
    /// Who wrote a message and who may read it: notes are never shown to customers.
    MessageKind { Customer => "customer", Reply => "reply", Note => "note", System => "system" }
);

string_enum!(
    /// Outbound delivery progress; only ever moves forward (failed is terminal).
    DeliveryStatus { Queued => "queued", Sent => "sent", Delivered => "delivered", Read => "read", Played => "played", Failed => "failed" }
);

string_enum!(
    /// An agent's presence on the board.
    PresenceStatus { Online => "online", Away => "away", Busy => "busy", Offline => "offline" }
);

string_enum!(
    /// The declared type of a custom field; values are checked against it.
    FieldType { Text => "text", Number => "number", Boolean => "boolean", Date => "date", Select => "select" }
);

/// urgency × importance → priority. Rows are urgency (low..critical), columns importance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityMatrix(pub [[Priority; 4]; 4]);

impl Default for PriorityMatrix {
    fn default() -> Self {
        use Priority::*;
        PriorityMatrix([
            [Low, Low, Medium, High],
            [Low, Medium, High, High],
            [Medium, High, High, Urgent],
            [High, High, Urgent, Urgent],
        ])
    }
}

impl PriorityMatrix {
    pub fn priority(&self, urgency: Level, importance: Level) -> Priority {
        self.0[urgency.index()][importance.index()]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: Timestamp,
}

/// A status an account offers; the five built-ins exist in every account, custom ones map to one
/// of their categories.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketStatus {
    pub key: String,
    pub label: String,
    pub category: StatusCategory,
    pub builtin: bool,
}

impl TicketStatus {
    pub fn builtins() -> Vec<TicketStatus> {
        StatusCategory::ALL
            .iter()
            .map(|category| TicketStatus {
                key: category.as_str().to_owned(),
                label: capitalise(category.as_str()),
                category: *category,
                builtin: true,
            })
            .collect()
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomFieldDef {
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    /// The allowed values of a `select` field.
    pub options: Vec<String>,
    /// Customers see this field on their tickets (default: only staff do).
    #[serde(default)]
    pub customer_visible: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: String,
    /// Names from the root down, e.g. `Billing / Refunds`.
    pub path: String,
}

/// What a ticket actor needs to know about its account to validate commands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountConfig {
    pub statuses: Vec<TicketStatus>,
    pub priority_matrix: PriorityMatrix,
    pub custom_fields: Vec<CustomFieldDef>,
    pub categories: Vec<Category>,
    pub ticket_types: Vec<String>,
    /// `None` until an admin sets one: no SLA clocks.
    pub sla_policy: Option<SlaPolicy>,
}

impl AccountConfig {
    pub fn status(&self, key: &str) -> Option<&TicketStatus> {
        self.statuses.iter().find(|status| status.key == key)
    }
    pub fn custom_field(&self, key: &str) -> Option<&CustomFieldDef> {
        self.custom_fields.iter().find(|field| field.key == key)
    }
    pub fn category(&self, id: CategoryId) -> Option<&Category> {
        self.categories.iter().find(|category| category.id == id)
    }
}

/// The ticket types an account starts with.
pub const DEFAULT_TICKET_TYPES: &[&str] = &["question", "incident", "problem", "task"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub company_id: Option<CompanyId>,
    pub team_ids: Vec<TeamId>,
    /// Most open conversations this agent should hold at once.
    pub capacity: i64,
    /// What the agent can handle (routing matches a ticket's required skills against these).
    #[serde(default)]
    pub skills: Vec<String>,
    /// The languages the agent writes, as ISO 639-3 codes (`eng`, `spa`); for a customer, the
    /// languages of their profile (the first one is their ticket's language).
    #[serde(default)]
    pub languages: Vec<String>,
    pub time_zone: String,
    pub phone: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: TeamId,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub member_ids: Vec<UserId>,
    pub created_at: Timestamp,
}

/// A reply an agent is writing on a ticket: one per agent and ticket, kept on the server so it
/// follows the agent to another device; removed when it is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyDraft {
    pub ticket_id: TicketId,
    pub body: String,
    /// The channel chosen for the reply; absent for the ticket's default.
    pub channel: Option<Channel>,
    /// An internal note rather than a reply.
    pub internal: bool,
    pub updated_at: Timestamp,
}

/// A reusable reply text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedResponse {
    pub id: i64,
    pub title: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Company {
    pub id: CompanyId,
    pub account_id: AccountId,
    pub name: String,
    /// B2B: members may read every ticket of their company.
    pub members_see_company_tickets: bool,
    /// …and write on them (reply, change what customers may change); otherwise only on their own.
    #[serde(default)]
    pub members_write_company_tickets: bool,
    /// Email domains (lower case): a customer who proves an address at one joins the company.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The lowest priority a member's new ticket opens with (`null`: the matrix decides alone).
    #[serde(default)]
    pub sla_tier: Option<Priority>,
    /// Active customers who belong to it.
    #[serde(default)]
    pub member_count: i64,
    pub created_at: Timestamp,
}

/// A customer identity on one channel (an email address, a WhatsApp id), linked to a profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: i64,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub channel: Channel,
    pub address: String,
    pub opted_out: bool,
}

pub type CustomFields = BTreeMap<String, serde_json::Value>;

/// A ticket's current state: the fold of its event log, also stored as a row for queries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: TicketId,
    pub account_id: AccountId,
    /// Per-account number shown as `#1042`.
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub status_category: StatusCategory,
    pub urgency: Level,
    pub importance: Level,
    pub priority: Priority,
    pub ticket_type: Option<String>,
    pub category_id: Option<CategoryId>,
    pub tags: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: CustomFields,
    pub channel: Channel,
    pub requester_id: UserId,
    pub company_id: Option<CompanyId>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    /// When the current assignee got the ticket (for "time held" on reassignment).
    pub assigned_at: Option<Timestamp>,
    pub snoozed_until: Option<Timestamp>,
    /// The seq of the newest event in the ticket's log.
    pub seq: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub last_customer_message_at: Option<Timestamp>,
    pub last_agent_message_at: Option<Timestamp>,
    /// The seq of the newest customer message (0 if none): replies from an agent who has not seen
    /// it are refused as `stale_view`.
    #[serde(default)]
    pub last_customer_seq: i64,
    /// First-response and resolution clocks under the account's SLA policy; `null` when no
    /// target applies.
    #[serde(default)]
    pub sla: Option<SlaState>,
    /// The channel the customer last wrote on (WhatsApp or email), across every thread merged
    /// into this one: where a reply goes when it names no channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_customer_channel: Option<Channel>,
    /// Merges and splits linking this ticket to others (absent when there are none).
    #[serde(default, skip_serializing_if = "TicketLinks::is_empty")]
    pub links: TicketLinks,
    /// The last public message (the customer's or a reply), whitespace folded, at most 140
    /// characters: what a list row shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// Time-rule waits: the automation engine's bookkeeping, stored with the ticket and never
    /// sent (staff see the runs in the log).
    #[serde(skip)]
    pub automations: crate::automation::TicketAutomations,
}

impl Ticket {
    /// The earliest due time of a running SLA clock (none while paused or when all are met).
    pub fn sla_due_at(&self) -> Option<Timestamp> {
        self.sla.as_ref().and_then(SlaState::due_at)
    }

    /// Where a reply that names no channel goes: the channel the customer last wrote on, else
    /// the ticket's own.
    pub fn reply_channel(&self) -> Channel {
        self.last_customer_channel.unwrap_or(self.channel)
    }

    /// When the customer's WhatsApp message still waiting for a reply was sent, if one is.
    pub fn unanswered_whatsapp_since(&self) -> Option<Timestamp> {
        let customer = self.last_customer_message_at?;
        let answered = self.last_agent_message_at.is_some_and(|agent| agent >= customer);
        (self.reply_channel() == Channel::Whatsapp && !answered).then_some(customer)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    /// Bytes, once stored.
    pub size: i64,
    /// Where an authorised user downloads it (empty until stored).
    pub url: String,
    /// `stored`, `pending` (being fetched from the channel), or `failed`.
    #[serde(default = "stored")]
    pub status: String,
    /// The channel's id for fetching it (a WhatsApp media id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Fetch attempts so far.
    #[serde(default)]
    pub attempts: i64,
    /// Why fetching failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn stored() -> String {
    "stored".to_owned()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: String,
    pub ticket_id: TicketId,
    pub account_id: AccountId,
    /// The seq of the `message_added` event that carried this message.
    pub seq: i64,
    pub kind: MessageKind,
    pub author_id: Option<UserId>,
    pub channel: Channel,
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub delivery_status: Option<DeliveryStatus>,
    /// The provider's id for it: a WhatsApp wamid or an email Message-ID.
    pub provider_id: Option<String>,
    /// Why delivery failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<DeliveryError>,
    /// Channel content beyond text: a location, shared contacts, an interactive reply, a
    /// reaction, a template sent, the quoted message (`context`), an ad referral…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub payload: Option<serde_json::Value>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryError {
    /// The provider's error code, e.g. WhatsApp's 131047.
    pub code: i64,
    pub title: String,
    /// What it means for the agent, in plain words.
    pub explanation: String,
}

impl DeliveryStatus {
    /// Order of progress; a status never replaces a higher one. `failed` ranks below
    /// `delivered` so a late failure never hides a delivery.
    pub fn rank(self) -> i64 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Failed => 2,
            DeliveryStatus::Delivered => 3,
            DeliveryStatus::Read => 4,
            DeliveryStatus::Played => 5,
        }
    }
}

impl Message {
    pub fn is_internal(&self) -> bool {
        matches!(self.kind, MessageKind::Note)
    }
}

/// One entry in a ticket's append-only log. `seq` runs 1, 2, 3 … per ticket with no gaps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketEvent {
    pub ticket_id: TicketId,
    pub account_id: AccountId,
    pub seq: i64,
    pub at: Timestamp,
    /// The user whose command caused it; `None` for the system (timers, automation).
    pub actor_id: Option<UserId>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A committed ticket event with its place in the installation-wide event log, as the log's
/// tailers (analytics, automation, outbound webhooks) read it. A type of its own rather than a
/// field on [`TicketEvent`]: an event has no position until the writer commits it, and the
/// events on the wire keep the shape their snapshots pin.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEvent {
    /// 1, 2, 3 … across every ticket and account, in commit order, with no gap and never reused.
    pub position: i64,
    pub event: TicketEvent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Created {
        subject: String,
        number: i64,
        status: String,
        priority: Priority,
        channel: Channel,
        requester_id: UserId,
    },
    MessageAdded {
        message: Message,
        /// A customer's WhatsApp message renews the 24-hour window: when it now closes rides on
        /// the message (a `window_changed` event is written only when the window opens again,
        /// starts closing or closes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_until: Option<Timestamp>,
    },
    StatusChanged {
        from: String,
        to: String,
        category: StatusCategory,
    },
    PriorityChanged {
        urgency: Level,
        importance: Level,
        from: Priority,
        to: Priority,
    },
    Assigned {
        from_assignee_id: Option<UserId>,
        from_team_id: Option<TeamId>,
        assignee_id: Option<UserId>,
        team_id: Option<TeamId>,
        reason: Option<String>,
        /// How long the previous assignee held the ticket.
        held_secs: Option<i64>,
        /// Why the router chose this assignee (absent for assignments made by people).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<Box<AssignmentExplanation>>,
    },
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    FieldsChanged {
        changes: BTreeMap<String, FieldChange>,
    },
    Snoozed {
        until: Timestamp,
    },
    SnoozeEnded,
    /// The ticket now belongs to another customer profile: two profiles of one person were
    /// merged (a customer verified a WhatsApp number another profile was known by).
    RequesterChanged {
        from: UserId,
        to: UserId,
    },
    /// An outbound message moved forward: sent, delivered, read, played, or failed.
    DeliveryChanged {
        message_id: String,
        status: DeliveryStatus,
        provider_id: Option<String>,
        error: Option<DeliveryError>,
    },
    /// A message's attachments changed (a file fetched from the channel, or its fetch failed).
    AttachmentsChanged {
        message_id: String,
        attachments: Vec<Attachment>,
    },
    /// The channel's reply window (WhatsApp: 24 hours after the customer's last message).
    WindowChanged {
        window: WindowState,
    },
    /// The SLA clocks were (re)computed from the policy: on creation and on a priority change.
    SlaChanged {
        // Boxed: three clocks make it the largest event by far.
        sla: Option<Box<SlaState>>,
    },
    /// A running SLA clock reached its warning threshold.
    SlaWarning {
        metric: SlaMetric,
        due_at: Timestamp,
    },
    /// A running SLA clock passed its due time unmet.
    SlaBreached {
        metric: SlaMetric,
        due_at: Timestamp,
    },
    /// This ticket was merged into `target_id` (a `status_changed` to closed follows in the same
    /// commit); its messages move to that ticket's thread.
    MergedInto {
        target_id: TicketId,
        target_number: i64,
        previous_status: String,
    },
    /// `source_id` was merged into this ticket: its messages now show in this thread, interleaved
    /// by time, and its tags were added (`tags_changed` follows).
    MergedIn {
        source_id: TicketId,
        source_number: i64,
        message_ids: Vec<String>,
        tags_added: Vec<String>,
        /// When and on which channel the merged ticket's customer last wrote.
        last_customer_at: Option<Timestamp>,
        last_customer_channel: Option<Channel>,
    },
    /// The merge into `target_id` was undone: this ticket has its messages and status back.
    Unmerged {
        target_id: TicketId,
        target_number: i64,
        restored_status: String,
    },
    /// The merge of `source_id` into this ticket was undone: its messages went back, and the
    /// tags it had added were removed.
    MergeUndone {
        source_id: TicketId,
        source_number: i64,
        message_ids: Vec<String>,
        tags_removed: Vec<String>,
    },
    /// These messages were split off into the new ticket `new_ticket_id`.
    SplitTo {
        new_ticket_id: TicketId,
        new_number: i64,
        message_ids: Vec<String>,
    },
    /// This ticket was split from `original_id`, taking these messages.
    SplitFrom {
        original_id: TicketId,
        original_number: i64,
        message_ids: Vec<String>,
    },
    /// An automation rule ran on this ticket (staff only): its actions' events precede it in the
    /// same commit; a failed run changed nothing and says why.
    AutomationRan {
        rule_id: i64,
        name: String,
        /// The rule's actions, by name, in order.
        actions: Vec<String>,
        result: crate::automation::RunResult,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// A time rule that ran later than due (the hub was down): by how much.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        late_by_ms: Option<i64>,
        /// 1 for a rule triggered by a change from outside the rules, 2–3 down a cascade.
        depth: u8,
        /// What its `notify` actions ask the notifier to send.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notify: Vec<crate::automation::AutomationNotice>,
    },
    /// CSAT (`csat.rs`): a survey asked for the cycle just resolved; customers see only that.
    CsatRequested(crate::csat::SurveyAsked),
    /// The customer's rating (staff only), credited to every person who replied in the cycle.
    CsatReceived(crate::csat::RatingReceived),
    /// The customer's comment on their rating, added or replaced (staff only).
    CsatCommented(crate::csat::RatingComment),
}

/// Whether free-form replies can reach the customer on the ticket's channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowState {
    Open {
        until: Timestamp,
    },
    /// Still open, closing soon.
    Closing {
        until: Timestamp,
    },
    Closed,
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "created",
            EventKind::MessageAdded { .. } => "message_added",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::PriorityChanged { .. } => "priority_changed",
            EventKind::Assigned { .. } => "assigned",
            EventKind::TagsChanged { .. } => "tags_changed",
            EventKind::FieldsChanged { .. } => "fields_changed",
            EventKind::Snoozed { .. } => "snoozed",
            EventKind::SnoozeEnded => "snooze_ended",
            EventKind::RequesterChanged { .. } => "requester_changed",
            EventKind::DeliveryChanged { .. } => "delivery_changed",
            EventKind::AttachmentsChanged { .. } => "attachments_changed",
            EventKind::WindowChanged { .. } => "window_changed",
            EventKind::SlaChanged { .. } => "sla_changed",
            EventKind::SlaWarning { .. } => "sla_warning",
            EventKind::SlaBreached { .. } => "sla_breached",
            EventKind::MergedInto { .. } => "merged_into",
            EventKind::MergedIn { .. } => "merged_in",
            EventKind::Unmerged { .. } => "unmerged",
            EventKind::MergeUndone { .. } => "merge_undone",
            EventKind::SplitTo { .. } => "split_to",
            EventKind::SplitFrom { .. } => "split_from",
            EventKind::AutomationRan { .. } => "automation_ran",
            EventKind::CsatRequested(_) => "csat_requested",
            EventKind::CsatReceived(_) => "csat_received",
            EventKind::CsatCommented(_) => "csat_commented",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub from: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub to: serde_json::Value,
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
