//! Automation rules (DESIGN §4, issue 13): a trigger (an event, or a time condition `{for,
//! while, hours}`), an optional condition (`if`, a query) and actions (`then`). This module is the
//! rule format, its validation, the compiled form a TicketActor evaluates in memory, and the pure
//! rules of running them ([`engine`]); the TicketActor performs them (`ticket/automate.rs`), the
//! server compiles queries and performs what leaves the hub (replies' channel checks, webhooks)
//! behind [`AutomationPort`].
//!
//! Time rules are per-ticket durable timers: while a ticket matches a rule's `while`, its
//! [`TicketAutomations`] holds a wait (since, due) and the ticket owns a timer named
//! [`timer_name`]; the wait ends when the ticket stops matching, and the firing marks it `fired`
//! in the same commit as the run's events, so a restart or a second node never fires it again
//! for the same matching period.

pub mod engine;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, Level, TeamId, Ticket, TicketEvent, UserId};
use crate::query::filter::TicketFilter;
use crate::sla::BusinessHours;
use crate::store::StoreResult;
use crate::ticket::NewMessage;

pub type RuleId = i64;

/// Most levels of rules an action may set off: a rule's actions trigger rules at depth 2, theirs
/// at depth 3, and there it stops (a rule that re-triggers itself cannot loop).
pub const MAX_CASCADE_DEPTH: u8 = 3;

/// A run later than this after its due time is marked late (`late_by_ms` in the run): the timers
/// fire within a second of due, so a later run means the hub was down or overloaded.
pub const LATE_AFTER: SignedDuration = SignedDuration::from_secs(1);

/// Longest rule name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most actions in one rule.
pub const MAX_ACTIONS: usize = 20;
/// Longest text in a note, a notification message or a reply, in bytes.
pub const MAX_TEXT_BYTES: usize = 8_192;

crate::domain::string_enum!(
    /// The events a rule can be triggered by.
    TriggerEvent {
        TicketCreated => "ticket_created",
        CustomerReplied => "customer_replied",
        AgentReplied => "agent_replied",
        StatusChanged => "status_changed",
        PriorityChanged => "priority_changed",
        Assigned => "assigned",
        TagAdded => "tag_added",
        SlaWarning => "sla_warning",
        SlaBreached => "sla_breached",
        WindowClosing => "window_closing",
        CsatReceived => "csat_received",
    }
);

crate::domain::string_enum!(
    /// How a time rule's wait is counted: every hour, or only the account's business hours.
    HoursMode { Calendar => "calendar", Business => "business" }
);

crate::domain::string_enum!(
    /// Who a `notify` action reaches (besides one user by id).
    Audience { Assignee => "assignee", Team => "team", Supervisors => "supervisors", AllAgents => "all_agents" }
);

crate::domain::string_enum!(
    /// How a run ended.
    RunResult { Ok => "ok", Failed => "failed" }
);

fn calendar() -> HoursMode {
    HoursMode::Calendar
}

/// `when`: an event, or a time condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum When {
    Event {
        event: TriggerEvent,
    },
    Time {
        /// An ISO 8601 duration (`PT2H`, `P3D`); days are 24 hours.
        #[serde(rename = "for")]
        wait: String,
        /// The query the ticket must match continuously for `for`.
        #[serde(rename = "while")]
        while_query: String,
        #[serde(default = "calendar")]
        hours: HoursMode,
    },
}

/// `{"assign": "auto"}`: the literal `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AutoWord {
    #[serde(rename = "auto")]
    Auto,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AssignTarget {
    /// Clears the assignee (keeping the team): the team's router assigns unassigned tickets.
    Auto(AutoWord),
    Agent {
        agent_id: UserId,
    },
    Team {
        team_id: TeamId,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Level>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NotifyTarget {
    Audience(Audience),
    User { user_id: UserId },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplyContent {
    Canned { canned_response_id: i64 },
    Body { body: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    pub url: String,
    /// Signs the body as outbound webhooks are signed: `Switchboard-Signature: t=<unix>,v1=<hex
    /// of HMAC-SHA256(secret, "<t>.<body>")>`. Stored sealed (the server's `secrets` module).
    pub secret: String,
    /// Whether the URL may be a loopback, private or link-local address (as a webhook
    /// subscription's `allow_private`); off unless an admin says so in the rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_private: bool,
}

/// One action of `then`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Action {
    Assign {
        assign: AssignTarget,
    },
    Set {
        set: SetFields,
    },
    AddTags {
        add_tags: Vec<String>,
    },
    RemoveTags {
        remove_tags: Vec<String>,
    },
    Notify {
        notify: NotifyTarget,
        message: String,
    },
    Reply {
        reply: ReplyContent,
        /// A WhatsApp template (`{name, language, parameters}`) sent instead outside the
        /// customer's 24-hour window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<serde_json::Value>,
    },
    Note {
        note: String,
    },
    Webhook {
        webhook: WebhookTarget,
    },
}

impl Action {
    /// The action's name as the run log lists it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "assign",
            Action::Set { .. } => "set",
            Action::AddTags { .. } => "add_tags",
            Action::RemoveTags { .. } => "remove_tags",
            Action::Notify { .. } => "notify",
            Action::Reply { .. } => "reply",
            Action::Note { .. } => "note",
            Action::Webhook { .. } => "webhook",
        }
    }
}

/// What a rule does, as the API takes it (and the store keeps it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub when: When,
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub then: Vec<Action>,
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutomationRule {
    pub id: RuleId,
    #[serde(skip)]
    pub account_id: AccountId,
    pub name: String,
    pub enabled: bool,
    /// Rules run in this order, lowest first.
    pub position: i64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A rule to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRule {
    pub account_id: AccountId,
    pub name: String,
    pub enabled: bool,
    /// `None`: after the account's last rule.
    pub position: Option<i64>,
    pub spec: RuleSpec,
    pub created_by: UserId,
}

/// Why a rule was refused: which part, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> RuleError {
    RuleError { field: field.into(), message: message.into() }
}

/// An ISO 8601 duration (`PT2H`, `P3D`, `PT90M`) as an exact duration: days are 24 hours, and
/// months or years (of varying length) are refused. At least a second (tests and demos wait
/// seconds; the timers are exact), at most a year.
pub fn parse_wait(text: &str) -> Result<SignedDuration, RuleError> {
    let bad = || refuse("when.for", format!("`{text}` is not an ISO 8601 duration such as PT2H or P3D"));
    if !text.trim_start().starts_with(['P', 'p']) {
        return Err(bad());
    }
    let span: Span = text.trim().parse().map_err(|_| bad())?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(refuse("when.for", "months and years vary in length; write days (P30D)"));
    }
    let duration = span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).map_err(|_| bad())?;
    if duration < SignedDuration::from_secs(1) || duration > SignedDuration::from_hours(24 * 366) {
        return Err(refuse("when.for", "must be between a second and a year"));
    }
    Ok(duration)
}

impl RuleSpec {
    /// Checks everything that does not need the account (queries are compiled by the server).
    pub fn validate(&self) -> Result<(), RuleError> {
        if let When::Time { wait, while_query, .. } = &self.when {
            parse_wait(wait)?;
            if while_query.trim().is_empty() {
                return Err(refuse("when.while", "a time rule needs the query the ticket must keep matching"));
            }
        }
        if self.then.is_empty() {
            return Err(refuse("then", "a rule needs at least one action"));
        }
        if self.then.len() > MAX_ACTIONS {
            return Err(refuse("then", format!("at most {MAX_ACTIONS} actions")));
        }
        for (index, action) in self.then.iter().enumerate() {
            let field = format!("then[{index}].{}", action.name());
            let text_ok = |text: &str| !text.trim().is_empty() && text.len() <= MAX_TEXT_BYTES;
            match action {
                Action::Set { set } if *set == SetFields::default() => {
                    return Err(refuse(field, "names no field to set"));
                }
                Action::AddTags { add_tags: tags } | Action::RemoveTags { remove_tags: tags } if tags.is_empty() => {
                    return Err(refuse(field, "names no tag"));
                }
                Action::Notify { message, .. } | Action::Note { note: message } if !text_ok(message) => {
                    return Err(refuse(field, format!("the text must be 1 to {MAX_TEXT_BYTES} bytes")));
                }
                Action::Reply { reply: ReplyContent::Body { body }, .. } if !text_ok(body) => {
                    return Err(refuse(field, format!("the body must be 1 to {MAX_TEXT_BYTES} bytes")));
                }
                Action::Webhook { webhook } => {
                    let url = webhook.url.trim();
                    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
                    if !scheme_ok || url.len() > 2_048 || url.contains(char::is_whitespace) {
                        return Err(refuse(field, "the url must be an http(s) URL"));
                    }
                    if webhook.secret.len() < 16 {
                        return Err(refuse(field, "the secret must be at least 16 characters"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A rule's trigger, compiled.
#[derive(Clone, Debug)]
pub enum CompiledTrigger {
    Event(TriggerEvent),
    Time { wait: SignedDuration, while_filter: TicketFilter, hours: HoursMode },
}

/// A rule with its queries compiled for its account (ids resolved).
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub rule: AutomationRule,
    pub trigger: CompiledTrigger,
    pub condition: Option<TicketFilter>,
}

/// An account's enabled rules, compiled, in position order, with what evaluating them needs.
#[derive(Clone, Debug, Default)]
pub struct AccountRules {
    pub rules: Vec<CompiledRule>,
    /// The account's business hours (`hours:` in queries, `hours: business` waits).
    pub business_hours: Option<BusinessHours>,
}

impl AccountRules {
    pub fn rule(&self, id: RuleId) -> Option<&CompiledRule> {
        self.rules.iter().find(|rule| rule.rule.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A ticket's time-rule waits, by rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketAutomations {
    pub waits: BTreeMap<RuleId, AutomationWait>,
}

impl TicketAutomations {
    pub fn is_empty(&self) -> bool {
        self.waits.is_empty()
    }
}

/// The ticket has matched a time rule's `while` since `since`; the rule is due at `due_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationWait {
    pub since: Timestamp,
    pub due_at: Timestamp,
    /// The rule ran for this matching period; it runs again only after the ticket stopped
    /// matching and matched again.
    #[serde(default)]
    pub fired: bool,
}

/// A `notify` action as its run records it: the notifier reads it from the `automation_ran`
/// event (who, with what message).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutomationNotice {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub target: NotifyTarget,
    pub message: String,
}

/// A row of a rule's run log (`GET /api/v1/automations/{id}/runs`), from its `automation_ran`
/// event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutomationRun {
    pub id: i64,
    pub rule_id: RuleId,
    pub ticket_id: crate::domain::TicketId,
    /// The `automation_ran` event's seq in the ticket's log.
    pub seq: i64,
    pub ran_at: Timestamp,
    pub result: RunResult,
    /// The run as recorded (rule name, actions, error, late_by_ms, depth).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// Rules and their run log.
#[async_trait]
pub trait AutomationsPort: Send + Sync {
    /// Every rule of the account, by position then id.
    async fn list_rules(&self, account: AccountId) -> StoreResult<Vec<AutomationRule>>;
    async fn rule(&self, account: AccountId, id: RuleId) -> StoreResult<Option<AutomationRule>>;
    async fn create_rule(&self, rule: NewRule, at: Timestamp) -> StoreResult<AutomationRule>;
    /// Replaces name, enabled, position and spec; `NotFound` when there is none.
    async fn update_rule(&self, rule: &AutomationRule, at: Timestamp) -> StoreResult<AutomationRule>;
    /// `NotFound` when there was none.
    async fn delete_rule(&self, account: AccountId, id: RuleId) -> StoreResult<()>;
    /// The rule's runs, newest first, below `before` (a run id) when given.
    async fn rule_runs(
        &self,
        account: AccountId,
        id: RuleId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AutomationRun>>;
    /// Per rule of the account: its last run and its runs since `since`.
    async fn run_counts(&self, account: AccountId, since: Timestamp) -> StoreResult<Vec<(RuleId, Timestamp, i64)>>;
}

/// What the TicketActor asks of the server while running rules.
#[async_trait]
pub trait AutomationPort: Send + Sync + 'static {
    /// The account's enabled rules, compiled (cached by the server: no store read per event).
    async fn rules(&self, account: AccountId) -> Result<Arc<AccountRules>, String>;
    /// The message a `reply` action sends on `ticket` now: the text (a canned response's or the
    /// body) where the channel allows it, the template outside the WhatsApp window; `Err` with
    /// the reason when neither can go (the run fails visibly).
    async fn compose_reply(
        &self,
        ticket: &Ticket,
        reply: &ReplyContent,
        template: Option<&serde_json::Value>,
    ) -> Result<NewMessage, String>;
    /// A run committed: perform what leaves the hub (webhooks), in the background.
    fn ran(&self, ticket: &Ticket, rule: &AutomationRule, event: &TicketEvent);
}
