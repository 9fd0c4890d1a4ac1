//! Automation rules (DESIGN §4, §6): `GET/POST /automations`, `PATCH/DELETE /automations/{id}`,
//! `POST /automations/{id}/dry-run` (and `POST /automations/dry-run` for a rule not saved yet:
//! the editor's live preview), `GET /automations/{id}/runs`. Admins manage rules; supervisors
//! read them, their runs and dry runs; agents and customers are refused; another account's rule
//! is not there (404). A rule's webhook secrets are write-only: a rule is shown with
//! `"secret_set": true` in their place, and a webhook action written without its secret keeps
//! the one the rule's webhook to the same URL already has.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_actors::automation::{Action, AutomationRule, AutomationRun, NewRule, RuleId, RuleSpec, When};
use switchboard_actors::domain::Role;
use switchboard_actors::store::StoreError;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::tickets::page_limit;
use super::{Api, ApiError, Caller, NoParams};
use crate::audit::{Target, snapshot};
use crate::automation::{Automations, DryRun, RuleProblem};
use crate::error::ErrorBody;

pub(super) fn routes(config: &mut ServiceConfig) {
    config
        .service(list_rules)
        .service(create_rule)
        .service(preview_rule)
        .service(update_rule)
        .service(delete_rule)
        .service(dry_run)
        .service(list_runs);
}

/// What `when` takes, for the error that names it.
const WHEN_SHAPES: &str = "`{\"event\": E}` (E: ticket_created, customer_replied, agent_replied, status_changed, \
                           priority_changed, assigned, tag_added, sla_warning, sla_breached, window_closing) or \
                           `{\"for\": \"PT2H\", \"while\": query, \"hours\": \"calendar\" | \"business\"}`";

/// What an action looks like, for the error that names it.
const ACTION_SHAPES: &str = "one of {\"assign\": \"auto\" | {agent_id} | {team_id}}, {\"set\": {status, urgency, \
                             importance, type, team_id}}, {\"add_tags\": [..]}, {\"remove_tags\": [..]}, {\"notify\": \
                             \"assignee\" | \"team\" | \"supervisors\" | \"all_agents\" | {user_id}, \"message\": text}, \
                             {\"reply\": {body} | {canned_response_id}, \"template\"?: {name, language, parameters}}, \
                             {\"note\": text}, {\"webhook\": {url, secret}}";

/// A rule as written (create, or the editor's preview).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Place in the run order (default: last).
    pub position: Option<i64>,
    #[schema(value_type = Object)]
    pub when: serde_json::Value,
    /// An optional query the ticket must match when the rule runs.
    #[serde(rename = "if")]
    pub condition: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub then: Vec<serde_json::Value>,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRule {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub position: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub when: Option<serde_json::Value>,
    /// `null` removes the condition.
    #[serde(rename = "if", default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub condition: Option<Option<String>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub then: Option<Vec<serde_json::Value>>,
}

/// `Some(None)` for an explicit `null`, `None` when the key is absent.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A rule as listed: its definition, its last run and how many runs it had in the last 24 hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rule: ShownRule,
    pub last_run_at: Option<Timestamp>,
    pub runs_last_day: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub items: Vec<RuleView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RunFilter {
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub items: Vec<AutomationRun>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next: Option<String>,
}

impl From<RuleProblem> for ApiError {
    fn from(problem: RuleProblem) -> ApiError {
        match problem {
            RuleProblem::Invalid(error) => ApiError::Invalid { field: error.field, message: error.message },
            RuleProblem::Query { problem, .. } => ApiError::InvalidQuery {
                message: problem.message,
                position: problem.position,
                expected: problem.expected,
            },
            private @ RuleProblem::PrivateAddress { .. } => {
                ApiError::Unprocessable { code: crate::error::ErrorCode::PrivateAddress, message: private.to_string() }
            }
            RuleProblem::Store(error) => error.into(),
        }
    }
}

/// A rule as the API shows it: every webhook action's secret replaced by `"secret_set": true`
/// (supervisors read rules, and nobody reads a secret back once it is saved).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct ShownRule(serde_json::Value);

impl From<&AutomationRule> for ShownRule {
    fn from(rule: &AutomationRule) -> ShownRule {
        let mut shown = serde_json::to_value(rule).unwrap_or_default();
        let actions = shown.get_mut("then").and_then(serde_json::Value::as_array_mut);
        for (_, hook) in webhooks_in(actions.map(Vec::as_mut_slice).unwrap_or_default()) {
            hook.remove("secret");
            hook.insert("secret_set".to_owned(), serde_json::Value::Bool(true));
        }
        ShownRule(shown)
    }
}

/// The `webhook` objects of a rule's `then` (as JSON), with their action's index.
fn webhooks_in(
    then: &mut [serde_json::Value],
) -> impl Iterator<Item = (usize, &mut serde_json::Map<String, serde_json::Value>)> {
    then.iter_mut().enumerate().filter_map(|(index, action)| Some((index, action.get_mut("webhook")?.as_object_mut()?)))
}

/// Where the secrets of webhook actions written without one come from.
enum KeptSecrets<'a> {
    /// A new rule: every webhook needs its secret.
    None,
    /// An existing rule: a webhook to a URL the rule already calls keeps that webhook's secret.
    Of(&'a RuleSpec),
    /// The editor's preview: a dry run sends nothing, so no secret is needed.
    NotSent,
}

/// Fills in the secrets `then` leaves out (a rule read back and saved again has none), or
/// refuses the action that needs one. `secret_set`, what a read rule shows, is dropped.
fn keep_secrets(then: &mut [serde_json::Value], kept: KeptSecrets) -> Result<(), ApiError> {
    for (index, hook) in webhooks_in(then) {
        hook.remove("secret_set");
        if hook.get("secret").is_some_and(|secret| !secret.is_null()) {
            continue;
        }
        let url = hook.get("url").and_then(serde_json::Value::as_str).unwrap_or_default();
        let secret = match kept {
            KeptSecrets::Of(spec) => spec.then.iter().find_map(|action| match action {
                Action::Webhook { webhook } if webhook.url == url => Some(webhook.secret.clone()),
                _ => None,
            }),
            KeptSecrets::NotSent => Some(PREVIEW_SECRET.to_owned()),
            KeptSecrets::None => None,
        };
        let secret = secret.ok_or_else(|| {
            ApiError::invalid(
                format!("then[{index}].webhook.secret"),
                "required (16 or more characters) for a webhook to a URL this rule does not call yet",
            )
        })?;
        hook.insert("secret".to_owned(), serde_json::Value::String(secret));
    }
    Ok(())
}

/// Stands in for a secret left out of a rule being previewed: long enough to pass the rule's
/// checks, and never used (a dry run signs and sends nothing).
const PREVIEW_SECRET: &str = "preview-sends-nothing";

/// Supervisors and admins read rules; only admins change them.
fn require_reader(caller: &Caller) -> Result<(), ApiError> {
    match caller.user.role {
        Role::Admin | Role::Supervisor => Ok(()),
        _ => Err(ApiError::forbidden("automation rules are for supervisors and admins")),
    }
}

fn parse_when(value: serde_json::Value) -> Result<When, ApiError> {
    serde_json::from_value(value).map_err(|_| ApiError::invalid("when", format!("must be {WHEN_SHAPES}")))
}

fn parse_then(mut values: Vec<serde_json::Value>, kept: KeptSecrets) -> Result<Vec<Action>, ApiError> {
    keep_secrets(&mut values, kept)?;
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            serde_json::from_value(value)
                .map_err(|_| ApiError::invalid(format!("then[{index}]"), format!("not an action; {ACTION_SHAPES}")))
        })
        .collect()
}

fn valid_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > switchboard_actors::automation::MAX_NAME_CHARS {
        return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

fn spec_of(body: RuleBody, kept: KeptSecrets) -> Result<(String, bool, Option<i64>, RuleSpec), ApiError> {
    let spec = RuleSpec {
        when: parse_when(body.when)?,
        condition: body.condition.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty()),
        then: parse_then(body.then, kept)?,
    };
    Ok((valid_name(&body.name)?, body.enabled, body.position, spec))
}

/// The caller's account's rule, or 404 (another account's rule is not there).
async fn rule_of(state: &Api, caller: &Caller, id: RuleId) -> Result<AutomationRule, ApiError> {
    state.store.rule(caller.account(), id).await?.ok_or(ApiError::NotFound("automation rule"))
}

/// The account's rules in run order, each with its last run and runs in the last 24 hours.
#[utoipa::path(tag = "automations", responses((status = 200, body = RuleList), (status = 403, body = ErrorBody)))]
#[get("/automations")]
async fn list_rules(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<RuleList>, ApiError> {
    require_reader(&caller)?;
    let since = state.now() - SignedDuration::from_hours(24);
    let counts = state.store.run_counts(caller.account(), since).await?;
    let items = state
        .store
        .list_rules(caller.account())
        .await?
        .into_iter()
        .map(|rule| {
            let found = counts.iter().find(|(id, _, _)| *id == rule.id);
            RuleView {
                last_run_at: found.map(|(_, last, _)| *last),
                runs_last_day: found.map_or(0, |(_, _, count)| *count),
                rule: ShownRule::from(&rule),
            }
        })
        .collect();
    Ok(web::Json(RuleList { items }))
}

/// Creates a rule (admins). Its queries are compiled now: a bad one is 400 `invalid_query`.
#[utoipa::path(
    tag = "automations",
    request_body = RuleBody,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/automations")]
async fn create_rule(
    state: Api,
    caller: Caller,
    automations: web::Data<Automations>,
    body: ApiJson<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let (name, enabled, position, spec) = spec_of(body.into_inner(), KeptSecrets::None)?;
    automations.check(&caller.user, &spec).await?;
    let new = NewRule { account_id: caller.account(), name, enabled, position, spec, created_by: caller.user.id };
    let rule = state.store.create_rule(new, state.now()).await?;
    automations.invalidate(caller.account());
    if rule.enabled {
        automations.clone().into_inner().arm(caller.user.clone(), rule.clone());
    }
    state
        .audit(&caller, "automation_rule.created", Target::new("automation_rule", rule.id), None, snapshot(&rule))
        .await;
    Ok(HttpResponse::Created().json(ShownRule::from(&rule)))
}

/// What a rule not saved yet would match now (the editor's live preview).
#[utoipa::path(
    tag = "automations",
    request_body = RuleBody,
    responses((status = 200, body = DryRun), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/automations/dry-run")]
async fn preview_rule(
    state: Api,
    caller: Caller,
    automations: web::Data<Automations>,
    body: ApiJson<RuleBody>,
) -> Result<web::Json<DryRun>, ApiError> {
    require_reader(&caller)?;
    let (name, enabled, position, spec) = spec_of(body.into_inner(), KeptSecrets::NotSent)?;
    automations.check(&caller.user, &spec).await?;
    let rule = AutomationRule {
        id: 0,
        account_id: caller.account(),
        name,
        enabled,
        position: position.unwrap_or(0),
        spec,
        created_by: caller.user.id,
        created_at: state.now(),
        updated_at: state.now(),
    };
    Ok(web::Json(automations.dry_run(&caller.user, &rule).await?))
}

/// Changes a rule (admins): rename, enable or disable, move, or rewrite it.
#[utoipa::path(
    tag = "automations",
    params(("id" = i64, Path, description = "rule id")),
    request_body = PatchRule,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[patch("/automations/{id}")]
async fn update_rule(
    state: Api,
    caller: Caller,
    automations: web::Data<Automations>,
    id: web::Path<RuleId>,
    body: ApiJson<PatchRule>,
) -> Result<web::Json<ShownRule>, ApiError> {
    caller.require_admin()?;
    let mut rule = rule_of(&state, &caller, *id).await?;
    let before = snapshot(&rule);
    let body = body.into_inner();
    let was_enabled = rule.enabled;
    let rewritten = body.when.is_some() || body.condition.is_some() || body.then.is_some();
    if let Some(name) = &body.name {
        rule.name = valid_name(name)?;
    }
    if let Some(enabled) = body.enabled {
        rule.enabled = enabled;
    }
    if let Some(position) = body.position {
        rule.position = position;
    }
    if let Some(when) = body.when {
        rule.spec.when = parse_when(when)?;
    }
    if let Some(condition) = body.condition {
        rule.spec.condition = condition.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
    }
    if let Some(then) = body.then {
        rule.spec.then = parse_then(then, KeptSecrets::Of(&rule.spec))?;
    }
    // Its author's `me` stays the author's; an admin rewriting it checks it as themselves.
    automations.check(&caller.user, &rule.spec).await?;
    let rule = match state.store.update_rule(&rule, state.now()).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound("automation rule")),
        other => other?,
    };
    automations.invalidate(caller.account());
    if rule.enabled && (!was_enabled || rewritten) {
        automations.clone().into_inner().arm(caller.user.clone(), rule.clone());
    }
    state
        .audit(&caller, "automation_rule.updated", Target::new("automation_rule", rule.id), before, snapshot(&rule))
        .await;
    Ok(web::Json(ShownRule::from(&rule)))
}

/// Deletes a rule (admins). Its runs stay in the tickets' logs.
#[utoipa::path(
    tag = "automations",
    params(("id" = i64, Path, description = "rule id")),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[delete("/automations/{id}")]
async fn delete_rule(
    state: Api,
    caller: Caller,
    automations: web::Data<Automations>,
    id: web::Path<RuleId>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let before = rule_of(&state, &caller, *id).await?;
    match state.store.delete_rule(caller.account(), *id).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound("automation rule")),
        Err(other) => Err(other.into()),
        Ok(()) => {
            automations.invalidate(caller.account());
            let target = Target::new("automation_rule", before.id);
            state.audit(&caller, "automation_rule.deleted", target, snapshot(&before), None).await;
            Ok(HttpResponse::NoContent().finish())
        }
    }
}

/// The tickets the rule matches now, and for a time rule when it would fire on each.
#[utoipa::path(
    tag = "automations",
    params(("id" = i64, Path, description = "rule id")),
    responses((status = 200, body = DryRun), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[post("/automations/{id}/dry-run")]
async fn dry_run(
    state: Api,
    caller: Caller,
    automations: web::Data<Automations>,
    id: web::Path<RuleId>,
) -> Result<web::Json<DryRun>, ApiError> {
    require_reader(&caller)?;
    let rule = rule_of(&state, &caller, *id).await?;
    let author = state.store.user(caller.account(), rule.created_by).await?.unwrap_or_else(|| caller.user.clone());
    Ok(web::Json(automations.dry_run(&author, &rule).await?))
}

/// The rule's run log, newest first.
#[utoipa::path(
    tag = "automations",
    params(("id" = i64, Path, description = "rule id"), RunFilter),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/automations/{id}/runs")]
async fn list_runs(
    state: Api,
    caller: Caller,
    id: web::Path<RuleId>,
    filter: web::Query<RunFilter>,
) -> Result<web::Json<RunPage>, ApiError> {
    require_reader(&caller)?;
    let rule = rule_of(&state, &caller, *id).await?;
    let limit = page_limit(filter.limit)?;
    let before = match filter.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::invalid("cursor", "pass the `next` of the previous page"))?,
        ),
    };
    let mut items = state.store.rule_runs(caller.account(), rule.id, before, limit + 1).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| last.id.to_string())
    } else {
        None
    };
    Ok(web::Json(RunPage { items, next }))
}
