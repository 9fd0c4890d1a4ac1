//! The server's side of automation rules (issue 13): rules compiled for their account (names
//! to ids through [`crate::search`], as saved views are) and cached for the TicketActors, which
//! evaluate them in memory; what a rule may say, checked when it is saved; the tickets a rule is
//! armed on when it is created or enabled; the dry run; the `reply` action's channel rules
//! (text, or the template outside the WhatsApp window); and webhooks, signed and retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;
use jiff::Timestamp;
use serde::Serialize;
use switchboard_actors::automation::{
    AccountRules, Action, AssignTarget, AutomationPort, AutomationRule, CompiledRule, CompiledTrigger, NotifyTarget,
    ReplyContent, RuleError, RuleSpec, WebhookTarget, When, parse_wait,
};
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{AccountConfig, AccountId, Channel, MessageKind, Ticket, TicketEvent, TicketId, User};
use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::retry::RetryPolicy;
use switchboard_actors::store::{Store, StoreError, TicketQuery, TicketSort};
use switchboard_actors::ticket::{CommandContext, NewMessage, TicketCommand, Tickets};

use crate::accounts::AccountConfigs;
use crate::channels::Channels;
use crate::channels::whatsapp::reply::{ReplyAsk, TemplateRequest};
use crate::search::{QueryProblem, SearchError};
use crate::webhooks::WebhookError;
use crate::webhooks::outbound::{self, Outbound};

/// Another node's rule change reaches this node's cache within this long (this node's own
/// changes at once): a rule is an admin's edit, a few seconds of lag is not noticed.
const RULES_CACHE_TTL: Duration = Duration::from_secs(5);

/// Webhook attempts: the first and four retries, 1 s, 4 s, 16 s, 64 s apart.
const WEBHOOK_ATTEMPTS: i64 = 5;

/// Most tickets the dry run lists.
pub const DRY_RUN_LIMIT: i64 = 50;

/// Why a rule was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleProblem {
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// A query of the rule (`when.while` or `if`) that does not compile.
    #[error("{field}: {problem}")]
    Query { field: &'static str, problem: QueryProblem },
    /// A webhook action's URL that points at a loopback, private or link-local address (or a
    /// name resolving to one): 422 `private_address`, as for webhook subscriptions.
    #[error("then[{index}].webhook.url: {message}")]
    PrivateAddress { index: usize, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn query_problem(field: &'static str, error: SearchError) -> RuleProblem {
    match error {
        SearchError::Invalid(problem) => RuleProblem::Query { field, problem },
        SearchError::Store(error) => RuleProblem::Store(error),
    }
}

/// A query of a rule compiled for its author; full text and `has:` need the ticket's messages,
/// which a TicketActor does not hold, so rules cannot use them.
async fn compile_query(
    store: &dyn Store,
    config: &AccountConfig,
    author: &User,
    field: &'static str,
    text: &str,
    now: Timestamp,
) -> Result<TicketFilter, RuleProblem> {
    let filter =
        crate::search::compile(store, config, author, text, now).await.map_err(|error| query_problem(field, error))?;
    if filter.needs_messages() {
        let message = format!("{field}: rules judge the ticket's fields; full-text words and `has:` are not available");
        return Err(RuleProblem::Query { field, problem: QueryProblem { message, position: None, expected: None } });
    }
    Ok(filter)
}

/// A rule compiled for its account, with `author` standing for `me` in its queries.
pub async fn compile_rule(
    store: &dyn Store,
    config: &AccountConfig,
    author: &User,
    rule: &AutomationRule,
    now: Timestamp,
) -> Result<CompiledRule, RuleProblem> {
    let trigger = match &rule.spec.when {
        When::Event { event } => CompiledTrigger::Event(*event),
        When::Time { wait, while_query, hours } => CompiledTrigger::Time {
            wait: parse_wait(wait)?,
            while_filter: compile_query(store, config, author, "when.while", while_query, now).await?,
            hours: *hours,
        },
    };
    let condition = match rule.spec.condition.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => Some(compile_query(store, config, author, "if", text, now).await?),
        None => None,
    };
    Ok(CompiledRule { rule: rule.clone(), trigger, condition })
}

/// A ticket the dry run found, and for a time rule when the rule would fire on it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DryRunTicket {
    pub id: TicketId,
    pub number: i64,
    pub subject: String,
    pub status: String,
    /// Time rules: when it fires (its wait's due time, or `for` from now for a ticket that starts
    /// matching now); `null` for an event rule, or when it already fired for this period.
    pub fires_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// Tickets matching the rule now (at most 50, most recently updated first).
    pub items: Vec<DryRunTicket>,
    /// How many match in all.
    pub total: i64,
}

pub struct Automations {
    store: Arc<dyn Store>,
    accounts: Arc<AccountConfigs>,
    channels: Arc<Channels>,
    tickets: Tickets,
    clock: Arc<dyn Clock>,
    cache: DashMap<AccountId, (Instant, Arc<AccountRules>)>,
    /// The webhooks' own outbound clients: public addresses only, checked at connection time.
    outbound: Arc<Outbound>,
}

impl Automations {
    pub fn new(
        store: Arc<dyn Store>,
        accounts: Arc<AccountConfigs>,
        channels: Arc<Channels>,
        tickets: Tickets,
        clock: Arc<dyn Clock>,
        outbound: Arc<Outbound>,
    ) -> Arc<Automations> {
        Arc::new(Automations { store, accounts, channels, tickets, clock, cache: DashMap::new(), outbound })
    }

    /// Drops the account's compiled rules: the next ticket change reads them again.
    pub fn invalidate(&self, account: AccountId) {
        self.cache.remove(&account);
    }

    /// Checks a rule for its author before it is saved: its shape, its queries, and that what
    /// its actions name (agents, teams, canned responses, templates) exists in the account.
    pub async fn check(&self, author: &User, spec: &RuleSpec) -> Result<(), RuleProblem> {
        spec.validate()?;
        let account = author.account_id;
        let config = self.accounts.get(account).await?;
        let probe = AutomationRule {
            id: 0,
            account_id: account,
            name: String::new(),
            enabled: true,
            position: 0,
            spec: spec.clone(),
            created_by: author.id,
            created_at: self.clock.now(),
            updated_at: self.clock.now(),
        };
        compile_rule(self.store.as_ref(), &config, author, &probe, self.clock.now()).await?;
        let refuse = |index: usize, action: &Action, message: String| {
            RuleProblem::Invalid(RuleError { field: format!("then[{index}].{}", action.name()), message })
        };
        for (index, action) in spec.then.iter().enumerate() {
            let named_team = match action {
                Action::Assign { assign: AssignTarget::Team { team_id } } => Some(*team_id),
                Action::Set { set } => set.team_id,
                _ => None,
            };
            if let Some(team_id) = named_team
                && self.store.team(account, team_id).await?.is_none()
            {
                return Err(refuse(index, action, format!("no team has the id {team_id}")));
            }
            match action {
                Action::Assign { assign: AssignTarget::Agent { agent_id } }
                | Action::Notify { notify: NotifyTarget::User { user_id: agent_id }, .. } => {
                    let user = self.store.user(account, *agent_id).await?;
                    if !user.is_some_and(|user| user.role.is_staff() && user.active) {
                        return Err(refuse(index, action, format!("no active agent has the id {agent_id}")));
                    }
                }
                Action::Reply { reply, template } => {
                    if let ReplyContent::Canned { canned_response_id } = reply
                        && !self
                            .store
                            .canned_responses(account)
                            .await?
                            .iter()
                            .any(|canned| canned.id == *canned_response_id)
                    {
                        return Err(refuse(
                            index,
                            action,
                            format!("no canned response has the id {canned_response_id}"),
                        ));
                    }
                    if let Some(template) = template {
                        let parsed: TemplateRequest = serde_json::from_value(template.clone()).map_err(|error| {
                            refuse(
                                index,
                                action,
                                format!("template: {error} (expected {{name, language, parameters}})"),
                            )
                        })?;
                        garde::Validate::validate(&parsed)
                            .map_err(|error| refuse(index, action, format!("template: {error}")))?;
                    }
                }
                Action::Webhook { webhook } => match outbound::check_url(&webhook.url, webhook.allow_private).await {
                    Err(WebhookError::PrivateAddress(message)) => {
                        return Err(RuleProblem::PrivateAddress { index, message });
                    }
                    Err(error) => return Err(refuse(index, action, error.to_string())),
                    Ok(_) => {}
                },
                Action::Set { set } => {
                    if let Some(status) = &set.status
                        && config.status(status).is_none()
                    {
                        return Err(refuse(index, action, format!("unknown status `{status}`")));
                    }
                    if let Some(kind) = &set.ticket_type
                        && !config.ticket_types.iter().any(|known| known == kind)
                    {
                        return Err(refuse(index, action, format!("unknown type `{kind}`")));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The account's enabled rules compiled; a rule that no longer compiles (a team it names was
    /// renamed) is skipped and logged, the others run.
    async fn load(&self, account: AccountId) -> Result<AccountRules, RuleProblem> {
        let config = self.accounts.get(account).await?;
        let now = self.clock.now();
        let mut compiled = Vec::new();
        let mut authors: Vec<User> = Vec::new();
        for rule in self.store.list_rules(account).await?.into_iter().filter(|rule| rule.enabled) {
            let author = match authors.iter().find(|user| user.id == rule.created_by) {
                Some(author) => author.clone(),
                None => match self.store.user(account, rule.created_by).await? {
                    Some(author) => {
                        authors.push(author.clone());
                        author
                    }
                    None => continue,
                },
            };
            match compile_rule(self.store.as_ref(), &config, &author, &rule, now).await {
                Ok(rule) => compiled.push(rule),
                Err(error) => tracing::warn!(rule_id = rule.id, %error, "automation rule no longer compiles; skipped"),
            }
        }
        let business_hours = config.sla_policy.as_ref().and_then(|policy| policy.business_hours.clone());
        Ok(AccountRules { rules: compiled, business_hours })
    }

    /// Brings the time-rule waits of every ticket matching `rule`'s `while` up to date (a rule
    /// created, enabled or edited), in the background: the tickets that already match start
    /// waiting now. Tickets that stop matching end their waits on their next change.
    pub fn arm(self: &Arc<Self>, author: User, rule: AutomationRule) {
        let When::Time { while_query, .. } = &rule.spec.when else { return };
        let while_query = while_query.clone();
        let this = self.clone();
        tokio::spawn(async move {
            let ids = async {
                let config = this.accounts.get(rule.account_id).await?;
                let filter =
                    compile_query(this.store.as_ref(), &config, &author, "when.while", &while_query, this.clock.now())
                        .await?;
                let mut query = TicketQuery::new(rule.account_id);
                query.filter = filter;
                Ok::<_, RuleProblem>((config, this.store.matching_ticket_ids(&query).await?))
            };
            let (config, ids) = match ids.await {
                Ok(found) => found,
                Err(error) => return tracing::warn!(rule_id = rule.id, %error, "could not arm the rule"),
            };
            for id in ids {
                let context = CommandContext::system(config.clone());
                if let Err(error) =
                    this.tickets.execute(id, TicketCommand::RunAutomations { after: Vec::new() }, context).await
                {
                    tracing::warn!(rule_id = rule.id, ticket_id = id, %error, "could not arm the rule on a ticket");
                }
            }
        });
    }

    /// The tickets `rule` matches now (a time rule: its `while` and `if`; an event rule: its
    /// `if`, or every ticket), and for a time rule when it would fire on each.
    pub async fn dry_run(&self, author: &User, rule: &AutomationRule) -> Result<DryRun, RuleProblem> {
        let config = self.accounts.get(rule.account_id).await?;
        let now = self.clock.now();
        let compiled = compile_rule(self.store.as_ref(), &config, author, rule, now).await?;
        let mut filter = TicketFilter::default();
        if let CompiledTrigger::Time { while_filter, .. } = &compiled.trigger {
            filter.conditions.extend(while_filter.conditions.iter().cloned());
        }
        if let Some(condition) = &compiled.condition {
            filter.conditions.extend(condition.conditions.iter().cloned());
        }
        let mut query = TicketQuery::new(rule.account_id);
        query.filter = filter;
        query.sort = TicketSort::default();
        query.limit = DRY_RUN_LIMIT;
        let total = self.store.count_tickets(&query).await?;
        let hours = config.sla_policy.as_ref().and_then(|policy| policy.business_hours.clone());
        let items = self
            .store
            .list_tickets(&query)
            .await?
            .into_iter()
            .map(|ticket| {
                let fires_at = match &compiled.trigger {
                    CompiledTrigger::Time { .. } => match ticket.automations.waits.get(&rule.id) {
                        Some(wait) if wait.fired => None,
                        Some(wait) => Some(wait.due_at),
                        None => compiled.due_after(now, hours.as_ref()),
                    },
                    CompiledTrigger::Event(_) => None,
                };
                DryRunTicket {
                    id: ticket.id,
                    number: ticket.number,
                    subject: ticket.subject,
                    status: ticket.status,
                    fires_at,
                }
            })
            .collect();
        Ok(DryRun { items, total })
    }
}

/// POSTs `body` to `url` through the outbound webhooks' public-only client, signed as they are
/// (`Switchboard-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`), retried with back-off
/// until it is accepted (2xx) or the attempts run out. A URL that resolves to a private address
/// by now is refused by the client's resolver like any failure (and never connected to).
async fn deliver_webhook(outbound: Arc<Outbound>, clock: Arc<dyn Clock>, target: WebhookTarget, body: String) {
    let WebhookTarget { url, secret, allow_private } = target;
    let policy = RetryPolicy {
        max_attempts: WEBHOOK_ATTEMPTS,
        base: jiff::SignedDuration::from_secs(1),
        factor: 4,
        cap: jiff::SignedDuration::from_mins(5),
    };
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        let answer = outbound.post(&url, &secret, clock.now().as_second(), &body, allow_private).await;
        if answer.accepted() {
            metrics::counter!("switchboard_automation_webhooks_total", "result" => "ok").increment(1);
            return;
        }
        let error = answer.error.unwrap_or_default();
        tracing::warn!(%url, %error, attempt, "automation webhook failed");
        if attempt < WEBHOOK_ATTEMPTS {
            tokio::time::sleep(policy.delay(attempt).unsigned_abs()).await;
        }
    }
    metrics::counter!("switchboard_automation_webhooks_total", "result" => "failed").increment(1);
}

/// What a webhook receives: the rule, the ticket as the run left it, and the run.
#[derive(Serialize)]
struct WebhookBody<'a> {
    rule: WebhookRule<'a>,
    ticket: &'a Ticket,
    run: &'a TicketEvent,
}

#[derive(Serialize)]
struct WebhookRule<'a> {
    id: i64,
    name: &'a str,
}

#[async_trait]
impl AutomationPort for Automations {
    async fn rules(&self, account: AccountId) -> Result<Arc<AccountRules>, String> {
        if let Some(entry) = self.cache.get(&account)
            && entry.0.elapsed() < RULES_CACHE_TTL
        {
            return Ok(entry.1.clone());
        }
        let rules = Arc::new(self.load(account).await.map_err(|error| error.to_string())?);
        self.cache.insert(account, (Instant::now(), rules.clone()));
        Ok(rules)
    }

    async fn compose_reply(
        &self,
        ticket: &Ticket,
        reply: &ReplyContent,
        template: Option<&serde_json::Value>,
    ) -> Result<NewMessage, String> {
        let body = match reply {
            ReplyContent::Body { body } => body.clone(),
            ReplyContent::Canned { canned_response_id } => self
                .store
                .canned_responses(ticket.account_id)
                .await
                .map_err(|error| error.to_string())?
                .into_iter()
                .find(|canned| canned.id == *canned_response_id)
                .map(|canned| canned.body)
                .ok_or_else(|| format!("canned response {canned_response_id} no longer exists"))?,
        };
        let channel = ticket.reply_channel();
        let message = |body: String, payload: Option<serde_json::Value>| NewMessage {
            kind: MessageKind::Reply,
            body,
            channel: None,
            attachments: Vec::new(),
            then_status: None,
            payload,
            provider_id: None,
            window_until: None,
        };
        if !matches!(channel, Channel::Whatsapp | Channel::Email) {
            // Tickets opened on the web or by phone keep replies in the hub.
            return Ok(message(body, None));
        }
        self.channels.check_reply_channel(ticket, channel).await.map_err(|error| error.to_string())?;
        if channel == Channel::Email {
            return Ok(message(body, None));
        }
        let whatsapp = &self.channels.whatsapp;
        match whatsapp.compose_reply(ticket, &body, &ReplyAsk::default()).await {
            Ok(composed) => Ok(message(composed.body, composed.payload)),
            Err(refused) => {
                let Some(template) = template else {
                    return Err(format!("{refused} (the rule names no template for outside the window)"));
                };
                let template: TemplateRequest =
                    serde_json::from_value(template.clone()).map_err(|error| format!("template: {error}"))?;
                let ask = ReplyAsk { template: Some(&template), ..ReplyAsk::default() };
                let composed =
                    whatsapp.compose_reply(ticket, "", &ask).await.map_err(|error| format!("template: {error}"))?;
                Ok(message(composed.body, composed.payload))
            }
        }
    }

    fn ran(&self, ticket: &Ticket, rule: &AutomationRule, event: &TicketEvent) {
        for action in &rule.spec.then {
            let Action::Webhook { webhook } = action else { continue };
            let body = WebhookBody { rule: WebhookRule { id: rule.id, name: &rule.name }, ticket, run: event };
            let Ok(body) = serde_json::to_string(&body) else { continue };
            tokio::spawn(deliver_webhook(self.outbound.clone(), self.clock.clone(), webhook.clone(), body));
        }
    }
}
