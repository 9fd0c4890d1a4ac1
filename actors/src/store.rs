//! The storage port: everything the actors and the HTTP layer read or write goes through
//! [`Store`]. Implementations live in the server crate (SQLite and PostgreSQL) and pass one shared
//! conformance suite.
//!
//! Ticket writes ([`Store::create_ticket`], [`Store::commit`]) are group-committed: many actors'
//! writes share one transaction, and each call returns only after its transaction committed.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::companies::{CompaniesPort, CompanyPatch, NewCompany};
use crate::domain::*;
pub use crate::email::EmailSend;
use crate::notifications::{NewNotification, Notification, NotificationId, Preferences};
use crate::query::filter::TicketFilter;
use crate::whatsapp::{Conversation, SendState, Template};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write: an email already taken, or an event seq another
    /// writer appended first (the fencing that keeps a ticket's log gap- and duplicate-free).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A new user row; the password arrives already hashed.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub company_id: Option<CompanyId>,
    pub team_ids: Vec<TeamId>,
    pub capacity: i64,
    pub time_zone: String,
    pub phone: Option<String>,
}

/// Fields of a user an admin may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub company_id: Option<Option<CompanyId>>,
    pub team_ids: Option<Vec<TeamId>>,
    pub capacity: Option<i64>,
    pub skills: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub time_zone: Option<String>,
    pub phone: Option<Option<String>>,
    pub active: Option<bool>,
}

impl NewUser {
    /// A customer known by a channel address: no password, no team, no capacity.
    pub fn customer(account_id: AccountId, email: String, name: String, phone: Option<String>) -> NewUser {
        NewUser {
            account_id,
            email,
            name,
            role: Role::Customer,
            password_hash: None,
            company_id: None,
            team_ids: Vec::new(),
            capacity: 0,
            time_zone: "UTC".to_owned(),
            phone,
        }
    }
}

#[derive(Clone, Debug)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewTeam {
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub member_ids: Vec<UserId>,
}

#[derive(Clone, Debug, Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub member_ids: Option<Vec<UserId>>,
}

/// A server-side login session; only the SHA-256 of the token is stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    pub expires_at: Timestamp,
    pub kind: crate::security::SessionKind,
    /// The User-Agent it was started with (cut to 512 characters).
    pub user_agent: String,
    /// The client address it was started from.
    pub ip: String,
}

impl NewSession {
    /// A login session with no device or address recorded (the CLI, tests).
    pub fn login(token_hash: Vec<u8>, user_id: UserId, expires_at: Timestamp) -> NewSession {
        NewSession {
            token_hash,
            user_id,
            expires_at,
            kind: crate::security::SessionKind::Login,
            user_agent: String::new(),
            ip: String::new(),
        }
    }
}

/// A durable wake-up: `owner` (e.g. a ticket) wants `name` delivered at `due_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerEntry {
    pub owner: TimerOwner,
    pub name: String,
    pub due_at: Timestamp,
}

/// Who a durable timer belongs to: a kind of owner and the owner's id. Kinds are open: each
/// actor kind names its own (`ticket::TIMER_KIND`, `whatsapp::conversation::TIMER_KIND`) and
/// registers a handler for it with the timer task ([`crate::timers::TimerHandlers`]), so a new
/// kind touches no central `match`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerOwner {
    pub kind: String,
    pub id: i64,
}

impl TimerOwner {
    pub fn new(kind: &str, id: i64) -> TimerOwner {
        TimerOwner { kind: kind.to_owned(), id }
    }
    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn id(&self) -> i64 {
        self.id
    }
    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }
}

/// Set (`Some(due)`) or clear (`None`) one named timer, in the same transaction as the events.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerChange {
    pub owner: TimerOwner,
    pub name: String,
    pub due_at: Option<Timestamp>,
}

/// Everything one ticket command wrote: the new state row, the events and messages it appended
/// and the timers it set or cleared. Applied atomically.
#[derive(Clone, Debug)]
pub struct TicketCommit {
    pub ticket: Ticket,
    pub events: Vec<TicketEvent>,
    pub messages: Vec<Message>,
    pub timers: Vec<TimerChange>,
}

impl TicketCommit {
    /// Writes the id and number the store gave a new ticket into everything that refers to it.
    pub fn assign_identity(&mut self, identity: TicketIdentity) {
        self.ticket.id = identity.id;
        self.ticket.number = identity.number;
        for message in &mut self.messages {
            message.ticket_id = identity.id;
        }
        for timer in &mut self.timers {
            if timer.owner == TimerOwner::new(crate::ticket::TIMER_KIND, 0) {
                timer.owner.id = identity.id;
            }
        }
        for event in &mut self.events {
            event.ticket_id = identity.id;
            match &mut event.kind {
                EventKind::Created { number, .. } => *number = identity.number,
                EventKind::MessageAdded { message, .. } => message.ticket_id = identity.id,
                _ => {}
            }
        }
    }
}

/// The id and number the store gave a new ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketIdentity {
    pub id: TicketId,
    pub number: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSort {
    /// Most recently changed first.
    #[default]
    UpdatedDesc,
    UpdatedAsc,
    CreatedDesc,
    CreatedAsc,
    /// Most pressing first, then most recently changed.
    PriorityDesc,
    /// Soonest SLA due time first (breached ones lead); tickets without a running SLA clock last.
    SlaDueAsc,
    /// For a full-text query: tickets whose subject holds every term first, then the most
    /// recently changed (the store computes the key; [`TicketSort::key`] cannot).
    Relevance,
}

/// Who is asking: a customer sees only their own tickets, or their company's when it allows it.
#[derive(Clone, Debug, PartialEq)]
pub enum TicketScope {
    Account,
    Requester(UserId),
    RequesterOrCompany(UserId, CompanyId),
}

impl TicketScope {
    /// Whether a user with this scope may see `ticket` (same account assumed).
    pub fn allows(&self, ticket: &Ticket) -> bool {
        match self {
            TicketScope::Account => true,
            TicketScope::Requester(user) => ticket.requester_id == *user,
            TicketScope::RequesterOrCompany(user, company) => {
                ticket.requester_id == *user || ticket.company_id == Some(*company)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TicketQuery {
    pub account_id: AccountId,
    pub scope: TicketScope,
    /// What the tickets must match (the list's parameters and its `q`, a view's query).
    pub filter: TicketFilter,
    pub sort: TicketSort,
    /// Keyset position: the sort value and id of the last row of the previous page.
    pub after: Option<(i64, TicketId)>,
    pub limit: i64,
    /// Whether tickets archived by the account's retention count too (they are out of lists
    /// and search by default; data protection's export and profile merges need them).
    pub include_archived: bool,
}

impl TicketQuery {
    pub fn new(account_id: AccountId) -> TicketQuery {
        TicketQuery {
            account_id,
            scope: TicketScope::Account,
            filter: TicketFilter::default(),
            sort: TicketSort::default(),
            after: None,
            limit: 50,
            include_archived: false,
        }
    }
}

impl TicketSort {
    /// Every sort with its name in the API (`?sort=`, a view's `sort`).
    pub const API_NAMES: &'static [(TicketSort, &'static str)] = &[
        (TicketSort::UpdatedDesc, "-updated_at"),
        (TicketSort::UpdatedAsc, "updated_at"),
        (TicketSort::CreatedDesc, "-created_at"),
        (TicketSort::CreatedAsc, "created_at"),
        (TicketSort::PriorityDesc, "-priority"),
        (TicketSort::SlaDueAsc, "sla_due"),
        (TicketSort::Relevance, "relevance"),
    ];

    pub fn from_api(name: &str) -> Option<TicketSort> {
        TicketSort::API_NAMES.iter().find(|(_, known)| *known == name).map(|(sort, _)| *sort)
    }

    /// The API names, for an error that lists them.
    pub fn api_names() -> String {
        TicketSort::API_NAMES.iter().map(|(_, name)| *name).collect::<Vec<_>>().join(", ")
    }

    pub fn api_name(self) -> &'static str {
        TicketSort::API_NAMES.iter().find(|(sort, _)| *sort == self).map_or("-updated_at", |(_, name)| name)
    }

    /// The value the keyset cursor records for `ticket` under this sort.
    pub fn key(self, ticket: &Ticket) -> i64 {
        match self {
            TicketSort::UpdatedDesc | TicketSort::UpdatedAsc => ticket.updated_at.as_millisecond(),
            TicketSort::CreatedDesc | TicketSort::CreatedAsc => ticket.created_at.as_millisecond(),
            TicketSort::PriorityDesc => {
                ticket.priority.rank() * PRIORITY_SORT_SCALE + ticket.updated_at.as_millisecond()
            }
            TicketSort::SlaDueAsc => ticket.sla_due_at().map_or(NO_SLA_SORT_KEY, |due| due.as_millisecond()),
            // Only the store knows whether the subject matched: use the key it listed.
            TicketSort::Relevance => ticket.updated_at.as_millisecond(),
        }
    }
}

/// The SLA-due sort key of a ticket without a running SLA clock: after every real due time.
pub const NO_SLA_SORT_KEY: i64 = i64::MAX;

/// One agent's tickets whose SLA is breached or at risk (past the warning threshold).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaRisk {
    pub assignee_id: UserId,
    /// Open tickets with a running SLA clock past its due time.
    pub breached: i64,
    /// Open tickets past a warning threshold, not yet breached.
    pub at_risk: i64,
}

/// The WhatsApp webhook's record, for the admin page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookStats {
    /// Payloads stored.
    pub received: i64,
    /// Payloads processing gave up on (unparseable).
    pub failed: i64,
    /// Stored, not processed yet.
    pub pending: i64,
    pub last_received_at: Option<Timestamp>,
}

/// How an account came to hold a stored file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaOwner {
    /// A user uploaded it (an agent's attachment, a customer's file).
    Uploader(UserId),
    /// It arrived on a ticket (WhatsApp media, an email attachment) or was sent on it.
    Ticket(TicketId),
}

/// Priority sorts as `rank * scale + updated_at_ms`, so one integer orders by both.
pub const PRIORITY_SORT_SCALE: i64 = 10_000_000_000_000;

/// An account and its configuration (statuses, priority matrix, custom fields, categories, SLA policy), and the secrets generated per install.
#[async_trait]
pub trait SettingsPort: Send + Sync + 'static {
    /// Cheap round trip, for readiness probes.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the connections once the hub has stopped (a process that goes on, as the tests'
    /// restarted hubs do, would otherwise keep them: the services hold each other).
    async fn close(&self);
    async fn create_account(&self, name: &str) -> StoreResult<Account>;
    /// The oldest account; the CLI's default when none is named.
    async fn first_account(&self) -> StoreResult<Option<Account>>;
    /// Every account this installation serves, oldest first.
    async fn account_ids(&self) -> StoreResult<Vec<AccountId>>;
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    async fn account_config(&self, id: AccountId) -> StoreResult<AccountConfig>;
    async fn set_priority_matrix(&self, id: AccountId, matrix: &PriorityMatrix) -> StoreResult<()>;
    async fn upsert_status(&self, id: AccountId, status: &TicketStatus) -> StoreResult<()>;
    async fn upsert_custom_field(&self, id: AccountId, field: &CustomFieldDef) -> StoreResult<()>;
    async fn create_category(&self, id: AccountId, parent_id: Option<CategoryId>, name: &str) -> StoreResult<Category>;
    /// Replaces the account's SLA policy (validated by the caller).
    async fn set_sla_policy(&self, id: AccountId, policy: &SlaPolicy) -> StoreResult<()>;
    /// The secret stored under `name`; when there is none yet, `candidate` is stored first. The
    /// first writer wins, so every node on one database (and every later start) gets the same
    /// value.
    async fn generated_secret(&self, name: &str, candidate: &str, at: Timestamp) -> StoreResult<String>;
}

/// People: users, customers and their channel addresses, teams, canned responses (companies are
/// [`crate::companies::CompaniesPort`]).
#[async_trait]
pub trait DirectoryPort: Send + Sync + 'static {
    /// Counts the changes made through this store (this node) to staff users, teams, their
    /// members and team routing, each counted once committed: a cache of the staff directory
    /// that read the count before it read the directory is stale when the count has moved.
    /// Other nodes' changes are not counted, so such caches also expire by time.
    fn directory_version(&self) -> u64;
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    /// A customer's first contact on a channel: the customer (no teams, no company check) and
    /// their addresses on `channel`, in one group-committed write. `Conflict` when the email is
    /// taken (created concurrently).
    async fn create_customer(&self, user: NewUser, channel: Channel, addresses: &[&str]) -> StoreResult<User>;
    async fn update_user(&self, account: AccountId, id: UserId, patch: UserPatch) -> StoreResult<User>;
    async fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>>;
    /// Emails are unique across the installation, so login needs no account name.
    async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>>;
    async fn list_users(&self, account: AccountId, role: Option<Role>) -> StoreResult<Vec<User>>;
    async fn create_team(&self, team: NewTeam) -> StoreResult<Team>;
    async fn update_team(&self, account: AccountId, id: TeamId, patch: TeamPatch) -> StoreResult<Team>;
    async fn team(&self, account: AccountId, id: TeamId) -> StoreResult<Option<Team>>;
    async fn list_teams(&self, account: AccountId) -> StoreResult<Vec<Team>>;
    async fn contacts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<Contact>>;
    async fn canned_responses(&self, account: AccountId) -> StoreResult<Vec<CannedResponse>>;
    /// A title already used in the account is a conflict.
    async fn create_canned_response(&self, account: AccountId, title: &str, body: &str) -> StoreResult<CannedResponse>;
    async fn delete_canned_response(&self, account: AccountId, id: i64) -> StoreResult<()>;
    /// The customer known by a channel address (a BSUID or wa_id, an email address).
    async fn customer_by_contact(
        &self,
        account: AccountId,
        channel: Channel,
        address: &str,
    ) -> StoreResult<Option<User>>;
    async fn add_contact(&self, account: AccountId, user: UserId, channel: Channel, address: &str) -> StoreResult<()>;
}

/// Login sessions (only token hashes are stored).
#[async_trait]
pub trait SessionsPort: Send + Sync + 'static {
    async fn create_session(&self, session: NewSession) -> StoreResult<()>;
    /// The user of an unexpired session of an active user, with the session's times and the
    /// account's security policy (which may have ended it: the caller judges).
    async fn session_user(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<crate::security::SessionUser>>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// Ends every session of `user` but `except` (the one that asked, on a password change).
    async fn delete_user_sessions(&self, user: UserId, except: Option<&[u8]>) -> StoreResult<()>;
}

/// Each account's index of the content-addressed files it holds, and files still to fetch.
#[async_trait]
pub trait MediaPort: Send + Sync + 'static {
    async fn add_media(&self, account: AccountId, sha256: &str, owner: MediaOwner, at: Timestamp) -> StoreResult<()>;
    /// Whether the account holds the file (its staff may open it).
    async fn media_in_account(&self, account: AccountId, sha256: &str) -> StoreResult<bool>;
    /// Whether `author` may attach the file to `ticket`: they uploaded it, or it arrived there.
    async fn media_attachable(
        &self,
        account: AccountId,
        sha256: &str,
        author: UserId,
        ticket: TicketId,
    ) -> StoreResult<bool>;
    /// WhatsApp messages with attachments still to fetch. A sweep over every account: the node's
    /// media fetcher serves them all.
    async fn pending_media(&self, limit: i64) -> StoreResult<Vec<Message>>;
}

/// Tickets and their event logs: group-committed writes and the reads of tickets, messages and events.
#[async_trait]
pub trait TicketsPort: Send + Sync + 'static {
    /// Stores a new ticket with its first events and messages; ids inside are filled in here.
    async fn create_ticket(&self, commit: TicketCommit) -> StoreResult<TicketIdentity>;
    /// Appends a ticket's events atomically with its new state. A seq that already exists fails
    /// with [`StoreError::Conflict`] and writes nothing.
    async fn commit(&self, commit: TicketCommit) -> StoreResult<()>;
    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>>;
    /// The tickets of `ids` that exist, in no particular order: one read where a projection's
    /// pass would otherwise make one per ticket it touched.
    async fn tickets(&self, ids: &[TicketId]) -> StoreResult<Vec<Ticket>>;
    async fn ticket_messages(&self, id: TicketId) -> StoreResult<Vec<Message>>;
    async fn ticket_events(&self, id: TicketId, after_seq: i64, limit: i64) -> StoreResult<Vec<TicketEvent>>;
    /// Brings the full-text index up to date with the messages written since: rebuilds up to
    /// `limit` (all with `None`) of the bands they marked pending and answers how many. A new
    /// message only marks its band (one rebuild per band and pass, not per message); searches
    /// call this before they read the index, the background pass (`background`: it may wait to
    /// share another write's transaction) a few times a second.
    async fn index_pending_search(&self, limit: Option<usize>, background: bool) -> StoreResult<usize>;
    async fn list_tickets(&self, query: &TicketQuery) -> StoreResult<Vec<Ticket>> {
        Ok(self.list_tickets_keyed(query).await?.into_iter().map(|(ticket, _)| ticket).collect())
    }
    /// As [`list_tickets`](Self::list_tickets), each ticket with its value of the sort key (what
    /// a keyset cursor records; for [`TicketSort::Relevance`] only the store can compute it).
    async fn list_tickets_keyed(&self, query: &TicketQuery) -> StoreResult<Vec<(Ticket, i64)>>;
    /// How many tickets match `q` (its sort, position and limit aside).
    async fn count_tickets(&self, q: &TicketQuery) -> StoreResult<i64>;
    /// The ids of the tickets matching `q`, lowest first, at most `q.limit`.
    async fn matching_ticket_ids(&self, q: &TicketQuery) -> StoreResult<Vec<TicketId>>;
    /// Tickets assigned to `user` that still need work (new, open or pending): their load.
    async fn open_load(&self, account: AccountId, user: UserId) -> StoreResult<i64>;
    /// Per assignee, how many of their tickets have a breached or at-risk SLA at `now`.
    async fn sla_risk(&self, account: AccountId, now: Timestamp) -> StoreResult<Vec<SlaRisk>>;
    /// The account's message a provider id (a wamid, an email's Message-ID) belongs to.
    async fn message_by_provider(&self, account: AccountId, provider_id: &str) -> StoreResult<Option<Message>>;
    /// Message ids are UUIDs, unique across accounts; the caller already holds the message.
    async fn set_message_provider(&self, message_id: &str, provider_id: &str) -> StoreResult<()>;
    /// A ticket by its per-account number (the `[#123]` of an email subject).
    async fn ticket_by_number(&self, account: AccountId, number: i64) -> StoreResult<Option<Ticket>>;
    /// The reply `user` is writing on the account's ticket, if any.
    async fn reply_draft(&self, account: AccountId, user: UserId, ticket: TicketId) -> StoreResult<Option<ReplyDraft>>;
    /// Keeps (replacing) the reply `user` is writing on the account's ticket, or with `None`
    /// removes it (sent or discarded).
    async fn set_reply_draft(
        &self,
        account: AccountId,
        user: UserId,
        ticket: TicketId,
        draft: Option<&ReplyDraft>,
    ) -> StoreResult<()>;
    /// Data protection's erasure, called by the ticket's own actor: overwrites the ticket's
    /// subject and preview, and the stored events' payloads and messages' contents, with the
    /// given (erased) copies of the same seqs and ids, in one transaction. Nothing is added to
    /// the log: seqs, positions and kinds stay.
    async fn rewrite_ticket_content(
        &self,
        ticket: &Ticket,
        events: &[TicketEvent],
        messages: &[Message],
    ) -> StoreResult<()>;
}

/// Durable timers: due, set, claimed by one node.
#[async_trait]
pub trait TimersPort: Send + Sync + 'static {
    /// Pending timers due before `before`, earliest first. A sweep over every account: timers name
    /// only their owner, and the node's timer task fires them all.
    async fn due_timers(&self, before: Timestamp, limit: i64) -> StoreResult<Vec<TimerEntry>>;
    /// Sets or clears a timer outside a ticket commit (conversation timers).
    async fn set_timer(&self, change: &TimerChange) -> StoreResult<()>;
    /// Takes a due timer for the caller until `until`, so no other node fires it meanwhile;
    /// `false` when another node holds it, or it was re-armed or handled since it was read.
    async fn claim_timer(&self, entry: &TimerEntry, now: Timestamp, until: Timestamp) -> StoreResult<bool>;
}

/// The channels' inboxes: webhooks and raw emails stored before they are acknowledged, claimed and marked done.
/// Node-wide on purpose: a payload is stored before anyone reads which account it is for, and
/// every pass takes whatever is waiting, whichever account it turns out to serve.
#[async_trait]
pub trait InboxPort: Send + Sync + 'static {
    /// Stores a raw webhook body before it is acknowledged; returns its inbox id.
    /// `claimed_until` reserves it for the caller, who processes it at once (no other node's
    /// pass takes it before then). `beside_processing`: the caller is processing it meanwhile,
    /// and its writes may share this one's transaction (a store that batches writes waits a
    /// little for them instead of committing this alone).
    async fn inbox_append(
        &self,
        body: &str,
        received_at: Timestamp,
        claimed_until: Option<Timestamp>,
        beside_processing: bool,
    ) -> StoreResult<i64>;
    /// Webhooks not yet processed, oldest first.
    /// Claims up to `limit` unprocessed webhooks that nobody holds (unclaimed, or claimed until
    /// `now` or earlier) until `until`, atomically, so two nodes never take the same one; oldest
    /// first.
    async fn inbox_claim(&self, limit: i64, now: Timestamp, until: Timestamp) -> StoreResult<Vec<(i64, String)>>;
    /// Marks processed webhooks done in one write: `(id, why it could not be processed)`.
    async fn inbox_done(&self, done: &[(i64, Option<String>)], at: Timestamp) -> StoreResult<()>;
    /// How the WhatsApp webhook has been doing: payloads received, refused by processing, latest.
    async fn whatsapp_webhook_stats(&self) -> StoreResult<WebhookStats>;
    /// Stores a raw RFC 5322 message before the webhook answers; returns its inbox id.
    async fn email_inbox_append(&self, raw: &[u8], received_at: Timestamp) -> StoreResult<i64>;
    /// Stored messages not yet processed, oldest first.
    /// Claims unprocessed messages like [`InboxPort::inbox_claim`].
    async fn email_inbox_claim(&self, limit: i64, now: Timestamp, until: Timestamp)
    -> StoreResult<Vec<(i64, Vec<u8>)>>;
    /// Marks processed messages done in one write: `(id, why it could not be processed)`.
    async fn email_inbox_done(&self, done: &[(i64, Option<String>)], at: Timestamp) -> StoreResult<()>;
}

/// Outbound messages and their send attempts on both channels.
#[async_trait]
pub trait OutboxPort: Send + Sync + 'static {
    /// Keeps a status whose wamid no stored message has yet. Not per account: Meta's wamids are
    /// unique, and the status cannot be tied to an account before its message is known.
    async fn save_pending_status(&self, wamid: &str, status: &str, body: &str) -> StoreResult<()>;
    /// Takes (returns and deletes) the statuses that waited for `wamid`.
    async fn take_pending_statuses(&self, wamid: &str) -> StoreResult<Vec<String>>;
    /// Outbound WhatsApp messages not yet handed to the Graph API (or due for a retry). A sweep
    /// over every account: the node's sender serves them all.
    async fn unsent_whatsapp(&self, due_before: Timestamp, limit: i64) -> StoreResult<Vec<Message>>;
    async fn send_state(&self, message_id: &str) -> StoreResult<Option<SendState>>;
    async fn save_send_state(&self, state: &SendState) -> StoreResult<()>;
    /// Outbound email replies not yet sent and due (never tried, or their back-off is over). A
    /// sweep over every account, like [`OutboxPort::unsent_whatsapp`].
    async fn unsent_email(&self, due_before: Timestamp, limit: i64) -> StoreResult<Vec<Message>>;
    async fn email_send(&self, message_id: &str) -> StoreResult<Option<EmailSend>>;
    async fn save_email_send(&self, send: &EmailSend) -> StoreResult<()>;
}

/// WhatsApp conversations (window, current ticket, opt-out) and message templates.
#[async_trait]
pub trait WhatsAppPort: Send + Sync + 'static {
    /// The conversation of a business number (which serves one account) with a customer.
    async fn conversation(&self, phone_number_id: &str, customer: UserId) -> StoreResult<Option<Conversation>>;
    /// By id across accounts: a conversation timer names only its owner's id, and the timer task
    /// serves every account.
    async fn conversation_by_id(&self, id: i64) -> StoreResult<Option<Conversation>>;
    /// The account's customer's most recently active conversation.
    async fn conversation_of_customer(&self, account: AccountId, customer: UserId)
    -> StoreResult<Option<Conversation>>;
    /// Inserts (id 0) or updates; returns the stored row.
    async fn save_conversation(&self, conversation: &Conversation) -> StoreResult<Conversation> {
        self.save_conversation_with_timers(conversation, &[]).await
    }
    /// Saves the conversation and sets its timers (`(name, due)`) in the same write: a new
    /// conversation's window timers need the id this save gives it.
    async fn save_conversation_with_timers(
        &self,
        conversation: &Conversation,
        timers: &[(&str, Timestamp)],
    ) -> StoreResult<Conversation>;
    /// The account's conversations, most recent first, each with its customer's name and the
    /// newest message of its current ticket that is not an internal note (two queries, whatever
    /// the number of rows).
    async fn list_conversations(
        &self,
        account: AccountId,
        limit: i64,
    ) -> StoreResult<Vec<crate::whatsapp::ConversationOverview>>;
    /// The account's message templates (its WhatsApp business account's), by name and language.
    async fn templates(&self, account: AccountId) -> StoreResult<Vec<Template>>;
    async fn save_template(&self, account: AccountId, template: &Template, at: Timestamp) -> StoreResult<()>;
}

/// The installation-wide event log: every committed ticket event in commit order, for tailers
/// that follow it from a position they remember (analytics, automation, outbound webhooks).
/// Positions are handed out by the group-commit writer inside the committing transaction, under
/// a lock that orders commits (see migration 0013), so a tailer that read up to `n` never misses
/// an event that commits later: it gets a position above `n`.
#[async_trait]
pub trait EventLogPort: Send + Sync + 'static {
    /// Up to `limit` events with a position above `after`, lowest first. A node-wide read over
    /// every account: the log's tailers serve the whole installation and filter by account.
    async fn events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<LoggedEvent>>;
    /// The position of the newest committed event; 0 while the log is empty.
    async fn last_event_position(&self) -> StoreResult<i64>;
}

/// A page of a user's notifications, newest first.
#[derive(Clone, Debug)]
pub struct NotificationQuery {
    pub account: AccountId,
    pub user: UserId,
    pub unread_only: bool,
    /// Only notifications older (lower id) than this one: the next page.
    pub before: Option<NotificationId>,
    pub limit: i64,
}

/// Notifications and their preferences. The notifier's cursor (a position in the event log)
/// moves only together with the notifications it produced, so they are written exactly once.
#[async_trait]
pub trait NotificationsPort: Send + Sync + 'static {
    /// The event log position the notifier has handled up to.
    async fn notifier_position(&self) -> StoreResult<i64>;
    /// Stores `items` and moves the notifier's cursor from `from` to `to`, in one transaction;
    /// `Conflict` (and nothing written) when the cursor is no longer at `from`: another node
    /// handled those events. Answers the stored notifications in the order given.
    async fn record_notifications(
        &self,
        from: i64,
        to: i64,
        items: &[NewNotification],
        at: Timestamp,
    ) -> StoreResult<Vec<Notification>>;
    async fn notifications(&self, query: &NotificationQuery) -> StoreResult<Vec<Notification>>;
    async fn unread_notifications(&self, account: AccountId, user: UserId) -> StoreResult<i64>;
    /// Marks the user's notifications read (`ids`, or all with `None`); answers how many changed.
    async fn mark_notifications_read(
        &self,
        account: AccountId,
        user: UserId,
        ids: Option<&[NotificationId]>,
        at: Timestamp,
    ) -> StoreResult<u64>;
    /// The user's preferences and the newest notification id their last digest covered.
    async fn notification_preferences(
        &self,
        account: AccountId,
        user: UserId,
    ) -> StoreResult<Option<(Preferences, NotificationId)>>;
    async fn set_notification_preferences(
        &self,
        account: AccountId,
        user: UserId,
        preferences: &Preferences,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Records that a digest covered the user's notifications up to `last`.
    async fn set_digest_covered(&self, account: AccountId, user: UserId, last: NotificationId) -> StoreResult<()>;
}

/// Everything the hub stores: the sum of the ports, with no method of its own. Actors and
/// services take the ports they use; `Arc<dyn Store>` is what the composition root hands out.
pub trait Store:
    SettingsPort
    + DirectoryPort
    + crate::companies::CompaniesPort
    + SessionsPort
    + MediaPort
    + TicketsPort
    + TimersPort
    + InboxPort
    + OutboxPort
    + WhatsAppPort
    + EventLogPort
    + NotificationsPort
    + crate::views::ViewsPort
    + crate::routing::RoutingPort
    + crate::automation::AutomationsPort
    + crate::customer_auth::CustomerAuthPort
    + crate::knowledge_base::KnowledgeBasePort
    + crate::reports::ReportsPort
    + crate::csat::CsatPort
    + crate::api_keys::ApiKeysPort
    + crate::security::SecurityPort
    + crate::sso::SsoPort
    + crate::webhooks::WebhooksPort
    + crate::audit::AuditPort
    + crate::gdpr::GdprPort
{
}

impl<
    T: SettingsPort
        + DirectoryPort
        + crate::companies::CompaniesPort
        + SessionsPort
        + MediaPort
        + TicketsPort
        + TimersPort
        + InboxPort
        + OutboxPort
        + WhatsAppPort
        + EventLogPort
        + NotificationsPort
        + crate::views::ViewsPort
        + crate::routing::RoutingPort
        + crate::automation::AutomationsPort
        + crate::customer_auth::CustomerAuthPort
        + crate::knowledge_base::KnowledgeBasePort
        + crate::reports::ReportsPort
        + crate::csat::CsatPort
        + crate::api_keys::ApiKeysPort
        + crate::security::SecurityPort
        + crate::sso::SsoPort
        + crate::webhooks::WebhooksPort
        + crate::audit::AuditPort
        + crate::gdpr::GdprPort,
> Store for T
{
}
