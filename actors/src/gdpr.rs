//! Data protection (issue 17 item 7), the pure half: what erasing a customer does to each stored
//! shape (a ticket row, a message, every event kind that can carry what a person wrote), the
//! account's retention policy for closed tickets and its checks, customers' export and erasure
//! requests, and the storage port ([`GdprPort`], migration 0036). The server's half (the export
//! file, the erasure's order, the retention timer) is `src/gdpr/`.
//!
//! Erasure replaces personal text with [`ERASED`] and keeps every row that figures count: the
//! ticket, its events (with their seq, kind, times and actors), its messages (kind, channel,
//! times, delivery), surveys' scores. So reports still count the tickets, and the event log
//! keeps its numbering and positions.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::store::StoreResult;

/// What every erased text becomes.
pub const ERASED: &str = "[erased]";

/// A ticket's row as erasure leaves it: subject and list preview gone. Custom fields, tags and
/// the rest are the team's own classification and stay.
pub fn erase_ticket(ticket: &mut Ticket) {
    ticket.subject = ERASED.to_owned();
    if ticket.preview.is_some() {
        ticket.preview = Some(ERASED.to_owned());
    }
}

/// A message as erasure leaves it: body erased; its attachments listed by type and size only
/// (their files are deleted); channel content (locations, contacts, quotes…) and delivery errors'
/// words dropped. Kind, author, channel, delivery status and times stay for the figures.
pub fn erase_message(message: &mut Message) {
    message.body = ERASED.to_owned();
    for attachment in &mut message.attachments {
        erase_attachment(attachment);
    }
    message.payload = None;
    if let Some(error) = &mut message.delivery_error {
        error.explanation = ERASED.to_owned();
    }
}

fn erase_attachment(attachment: &mut Attachment) {
    attachment.file_name = ERASED.to_owned();
    attachment.url = String::new();
    attachment.media_id = None;
    attachment.error = None;
    if attachment.status == "stored" || attachment.status == "pending" {
        attachment.status = "erased".to_owned();
    }
}

/// The SHA-256 names of the stored files a message's attachments point at (`/api/v1/media/<sha>`).
pub fn attachment_files(message: &Message) -> Vec<String> {
    message
        .attachments
        .iter()
        .filter_map(|attachment| attachment.url.rsplit('/').next())
        .filter(|hash| hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_owned)
        .collect()
}

/// An event as erasure leaves it. The `match` has no wildcard arm on purpose: a new event kind
/// that carries text must decide here what erasure does to it.
pub fn erase_event(kind: &mut EventKind) {
    match kind {
        EventKind::Created { subject, .. } => *subject = ERASED.to_owned(),
        EventKind::MessageAdded { message, .. } => erase_message(message),
        EventKind::AttachmentsChanged { attachments, .. } => attachments.iter_mut().for_each(erase_attachment),
        EventKind::DeliveryChanged { error, .. } => {
            if let Some(error) = error {
                error.explanation = ERASED.to_owned();
            }
        }
        EventKind::CsatCommented(comment) => comment.comment = ERASED.to_owned(),
        EventKind::StatusChanged { .. }
        | EventKind::PriorityChanged { .. }
        | EventKind::Assigned { .. }
        | EventKind::TagsChanged { .. }
        | EventKind::FieldsChanged { .. }
        | EventKind::Snoozed { .. }
        | EventKind::SnoozeEnded
        | EventKind::RequesterChanged { .. }
        | EventKind::WindowChanged { .. }
        | EventKind::SlaChanged { .. }
        | EventKind::SlaWarning { .. }
        | EventKind::SlaBreached { .. }
        | EventKind::MergedInto { .. }
        | EventKind::MergedIn { .. }
        | EventKind::Unmerged { .. }
        | EventKind::MergeUndone { .. }
        | EventKind::SplitTo { .. }
        | EventKind::SplitFrom { .. }
        | EventKind::AutomationRan { .. }
        | EventKind::CsatRequested(_)
        | EventKind::CsatReceived(_) => {}
    }
}

/// Every string in `value` that contains one of `needles` (case-insensitively) replaced by
/// [`ERASED`], at any depth; keys stay. For the free-form JSON that may quote a person (audit
/// before/after, stored webhook payloads). Needles shorter than three characters are ignored:
/// they would match everything.
pub fn scrub_json(value: &mut serde_json::Value, needles: &[String]) {
    match value {
        serde_json::Value::String(text) if mentions(text, needles) => *text = ERASED.to_owned(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| scrub_json(item, needles)),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(|item| scrub_json(item, needles)),
        _ => {}
    }
}

/// Whether `text` contains one of `needles` (case-insensitively; needles under three characters
/// never match).
pub fn mentions(text: &str, needles: &[String]) -> bool {
    let text = text.to_lowercase();
    needles.iter().any(|needle| needle.chars().count() >= 3 && text.contains(&needle.to_lowercase()))
}

/// Shortest name searched for in free-form rows: a shorter one ("Ann", "Bob") would match words
/// of other people's rows ("channel", "bobbin").
pub const MIN_SEARCHED_NAME: usize = 5;

/// What identifies a person in free text: their name (unless shorter than
/// [`MIN_SEARCHED_NAME`]), addresses and numbers (`+` dropped from numbers too), each once.
pub fn needles_of(user: &User, addresses: &[String]) -> Vec<String> {
    let mut needles = vec![user.email.clone()];
    if user.name.trim().chars().count() >= MIN_SEARCHED_NAME {
        needles.push(user.name.trim().to_owned());
    }
    needles.extend(user.phone.iter().cloned());
    needles.extend(addresses.iter().cloned());
    let digits: Vec<String> = needles
        .iter()
        .filter(|text| text.starts_with('+'))
        .map(|text| text.chars().filter(char::is_ascii_digit).collect())
        .collect();
    needles.extend(digits);
    needles.retain(|needle| needle.trim().chars().count() >= 3 && needle != ERASED);
    needles.sort();
    needles.dedup();
    needles
}

/// What one customer's erasure rewrites outside the tickets' own rows (those go through each
/// ticket's actor): the profile, addresses, conversations, drafts, notifications, surveys'
/// comments, inboxes and outboxes that quote them, codes, sessions, and audit entries.
#[derive(Clone, Debug)]
pub struct CustomerErasure {
    pub account_id: AccountId,
    pub customer_id: UserId,
    pub tickets: Vec<TicketId>,
    /// The customer's name, addresses and numbers, for the free-form rows that can only be
    /// found by what they contain (raw webhooks, audit before/after, outbound deliveries).
    pub needles: Vec<String>,
    /// Message bodies the customer's tickets held, for the same search (the long ones only).
    pub texts: Vec<String>,
}

/// Shortest message text searched for in free-form rows: shorter ones ("ok", "thanks") are not
/// personal and would match everything.
pub const MIN_SEARCHED_TEXT: usize = 12;

/// Retention of closed tickets per account: archived (out of lists and search, still readable by
/// id and exported) `archive_after_days` after closing, deleted `delete_after_days` after.
/// Neither happens unless set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionPolicy {
    pub archive_after_days: Option<u32>,
    pub delete_after_days: Option<u32>,
}

/// The bounds of a retention setting: a day at least, ten years at most.
pub const MIN_RETENTION_DAYS: u32 = 1;
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// Why a retention policy is refused: the field and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionError {
    pub field: &'static str,
    pub message: String,
}

impl RetentionPolicy {
    pub fn is_set(&self) -> bool {
        self.archive_after_days.is_some() || self.delete_after_days.is_some()
    }

    /// Days in range, and deletion strictly after archiving when both are set.
    pub fn check(&self) -> Result<(), RetentionError> {
        for (field, days) in
            [("archive_after_days", self.archive_after_days), ("delete_after_days", self.delete_after_days)]
        {
            if let Some(days) = days
                && !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days)
            {
                return Err(RetentionError {
                    field,
                    message: format!("{MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days, or null for never"),
                });
            }
        }
        if let (Some(archive), Some(delete)) = (self.archive_after_days, self.delete_after_days)
            && delete <= archive
        {
            return Err(RetentionError {
                field: "delete_after_days",
                message: format!("must be more than archive_after_days ({archive})"),
            });
        }
        Ok(())
    }
}

/// What a customer asks of their data from the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Export,
    Erase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    /// Approved and done: the export is ready for the customer, or the erasure happened.
    Approved,
    Declined,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Export => "export",
            RequestKind::Erase => "erase",
        }
    }
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Declined => "declined",
        }
    }
}

impl std::str::FromStr for RequestKind {
    type Err = String;
    fn from_str(text: &str) -> Result<RequestKind, String> {
        match text {
            "export" => Ok(RequestKind::Export),
            "erase" => Ok(RequestKind::Erase),
            other => Err(format!("unknown request kind `{other}`")),
        }
    }
}

impl std::str::FromStr for RequestStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<RequestStatus, String> {
        match text {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "declined" => Ok(RequestStatus::Declined),
            other => Err(format!("unknown request status `{other}`")),
        }
    }
}

/// A customer's request about their data, decided by an admin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataRequest {
    pub id: i64,
    pub account_id: AccountId,
    pub customer_id: UserId,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub requested_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<UserId>,
}

/// Data protection's storage (migration 0036): a customer's tickets whatever their state,
/// their surveys, the erasure of everything outside the tickets' rows, retention, requests.
#[async_trait]
pub trait GdprPort: Send + Sync + 'static {
    /// Every ticket `customer` requested in the account, archived ones included, oldest first.
    async fn customer_ticket_ids(&self, account: AccountId, customer: UserId) -> StoreResult<Vec<TicketId>>;
    /// The customer's CSAT surveys, oldest first.
    async fn customer_surveys(&self, account: AccountId, customer: UserId) -> StoreResult<Vec<crate::csat::Survey>>;
    /// Erases everything [`CustomerErasure`] names, in one transaction; answers the files no
    /// row of the account points at any more (to delete from the file store).
    async fn erase_customer(&self, erasure: &CustomerErasure, files: &[String]) -> StoreResult<Vec<String>>;
    async fn retention_policy(&self, account: AccountId) -> StoreResult<RetentionPolicy>;
    async fn set_retention_policy(&self, account: AccountId, policy: &RetentionPolicy) -> StoreResult<()>;
    /// The accounts with a retention policy set (whose closed tickets need sweeping).
    async fn retention_account_ids(&self) -> StoreResult<Vec<AccountId>>;
    /// Archives the account's closed tickets closed before `closed_before` (not yet archived) at
    /// `at`; how many.
    async fn archive_closed_tickets(
        &self,
        account: AccountId,
        closed_before: Timestamp,
        at: Timestamp,
    ) -> StoreResult<u64>;
    /// Deletes the account's closed tickets closed before `closed_before` with everything that
    /// hangs off them; answers the files no row of the account points at any more.
    async fn delete_closed_tickets(
        &self,
        account: AccountId,
        closed_before: Timestamp,
    ) -> StoreResult<(u64, Vec<String>)>;
    /// When the ticket was archived, if it was.
    async fn ticket_archived_at(&self, ticket: TicketId) -> StoreResult<Option<Timestamp>>;
    async fn create_data_request(
        &self,
        account: AccountId,
        customer: UserId,
        kind: RequestKind,
        at: Timestamp,
    ) -> StoreResult<DataRequest>;
    /// The account's requests, newest first; only `customer`'s when given.
    async fn data_requests(&self, account: AccountId, customer: Option<UserId>) -> StoreResult<Vec<DataRequest>>;
    async fn data_request(&self, account: AccountId, id: i64) -> StoreResult<Option<DataRequest>>;
    /// Moves a pending request to `status`; `false` when it was no longer pending.
    async fn decide_data_request(
        &self,
        account: AccountId,
        id: i64,
        status: RequestStatus,
        by: UserId,
        at: Timestamp,
    ) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn retention_needs_days_in_range_and_deletion_after_archiving() {
        let policy = |archive, delete| RetentionPolicy { archive_after_days: archive, delete_after_days: delete };
        assert!(policy(None, None).check().is_ok());
        assert!(policy(Some(30), Some(365)).check().is_ok());
        assert!(policy(None, Some(365)).check().is_ok());
        assert_eq!(policy(Some(30), Some(30)).check().expect_err("refused").field, "delete_after_days");
        assert_eq!(policy(Some(0), None).check().expect_err("refused").field, "archive_after_days");
        assert_eq!(policy(None, Some(4000)).check().expect_err("refused").field, "delete_after_days");
    }

    #[test]
    fn scrubbing_replaces_strings_that_mention_a_needle_at_any_depth() {
        let mut value = json!({"name": "Wanda Wells", "nested": [{"email": "WANDA@example.com"}, "kept"], "n": 3});
        scrub_json(&mut value, &["wanda@example.com".to_owned(), "Wanda Wells".to_owned(), "ok".to_owned()]);
        assert_eq!(value, json!({"name": ERASED, "nested": [{"email": ERASED}, "kept"], "n": 3}));
    }

    #[test]
    fn numbers_are_searched_with_and_without_their_plus() {
        let user = User {
            id: 1,
            account_id: 1,
            email: "w@example.com".to_owned(),
            name: "Wu".to_owned(),
            role: Role::Customer,
            company_id: None,
            team_ids: Vec::new(),
            capacity: 0,
            skills: Vec::new(),
            languages: Vec::new(),
            time_zone: "UTC".to_owned(),
            phone: Some("+15550001111".to_owned()),
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let needles = needles_of(&user, &["15550001111".to_owned()]);
        assert_eq!(needles, vec!["+15550001111".to_owned(), "15550001111".to_owned(), "w@example.com".to_owned()]);
    }
}
