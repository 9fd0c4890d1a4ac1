//! Automation rules run by the TicketActor, after the change that triggers them is committed:
//! event rules in `position` order down a cascade of at most
//! [`MAX_CASCADE_DEPTH`](crate::automation::MAX_CASCADE_DEPTH) levels (each rule once per
//! cascade), and time rules when their timer fires. Each run is one commit: its actions' events,
//! the `automation_ran` event (and its run-log row), the waits and the timers together, so a
//! crash leaves a run either whole or not started, and a second node's attempt fails on the
//! ticket's seq and finds the wait already fired.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use jiff::Timestamp;

use super::*;
use crate::automation::engine::{Step, follow_waits, late_by, step_of, team_after_patch, timer_name, triggers_of};
use crate::automation::{AccountRules, CompiledRule, CompiledTrigger, MAX_CASCADE_DEPTH, RuleId, RunResult};
use crate::domain::{EventKind, TicketEvent};
use crate::store::{StoreError, TimerChange, TimerOwner};

impl TicketActorState {
    /// The account's compiled rules, when automation runs here and the account has any.
    pub(super) async fn account_rules(&self) -> Option<Arc<AccountRules>> {
        let port = self.runtime.automations.get()?;
        match port.rules(self.ticket.account_id).await {
            Ok(rules) if !rules.is_empty() || !self.ticket.automations.is_empty() => Some(rules),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(ticket_id = self.ticket.id, %error, "automation rules unavailable");
                None
            }
        }
    }

    /// Runs the event rules `events` trigger, from `depth` down to the last level; `ran` holds
    /// the rules that already ran in this cascade.
    pub(super) async fn cascade(
        &mut self,
        rules: &AccountRules,
        events: &[TicketEvent],
        depth: u8,
        ran: &mut HashSet<RuleId>,
        context: &CommandContext,
    ) {
        let hours = rules.business_hours.as_ref();
        let mut triggers = triggers_of(events);
        let mut depth = depth;
        while depth <= MAX_CASCADE_DEPTH && !triggers.is_empty() {
            let mut raised = BTreeSet::new();
            for rule in &rules.rules {
                let CompiledTrigger::Event(trigger) = rule.trigger else { continue };
                if !triggers.contains(&trigger) || ran.contains(&rule.rule.id) {
                    continue;
                }
                if !rule.condition_matches(&self.ticket, self.runtime.clock.now(), hours) {
                    continue;
                }
                ran.insert(rule.rule.id);
                match self.run_rule(rules, rule, depth, None, context).await {
                    Ok(events) => raised.extend(triggers_of(&events)),
                    Err(error) => {
                        tracing::warn!(ticket_id = self.ticket.id, rule_id = rule.rule.id, %error, "automation run failed");
                        if matches!(error, TicketError::Store(StoreError::Conflict(_))) {
                            self.reload().await;
                        }
                        return;
                    }
                }
            }
            triggers = raised;
            depth += 1;
        }
    }

    /// A time rule's timer came due: runs the rule once for the ticket's current matching period
    /// (late when the hub was down at the due time), or tidies a stale timer away.
    pub(super) async fn fire_time_rule(
        &mut self,
        rule_id: RuleId,
        rules: Option<Arc<AccountRules>>,
        context: &CommandContext,
    ) -> Result<CommandOutcome, TicketError> {
        let unchanged = |state: &Self| CommandOutcome { ticket: state.ticket.clone(), events: Vec::new() };
        let now = self.runtime.clock.now();
        let rules = match rules {
            Some(rules) => rules,
            // No rules at all: the rule is gone; clear its wait and timer.
            None => Arc::new(AccountRules::default()),
        };
        let hours = rules.business_hours.as_ref();
        let wait = self.ticket.automations.waits.get(&rule_id).copied();
        let rule = rules.rule(rule_id).filter(|rule| matches!(rule.trigger, CompiledTrigger::Time { .. }));
        match (rule, wait) {
            (Some(rule), Some(wait))
                if !wait.fired && wait.due_at <= now && rule.while_matches(&self.ticket, now, hours) =>
            {
                if rule.condition_matches(&self.ticket, now, hours) {
                    let events = self.run_rule(&rules, rule, 1, Some(wait.due_at), context).await?;
                    let outcome = CommandOutcome { ticket: self.ticket.clone(), events: events.clone() };
                    let mut ran = HashSet::from([rule_id]);
                    self.cascade(&rules, &events, 2, &mut ran, context).await;
                    return Ok(outcome);
                }
                // Due, but its `if` does not hold: this period is over without a run.
                let mut next = self.ticket.clone();
                if let Some(wait) = next.automations.waits.get_mut(&rule_id) {
                    wait.fired = true;
                }
                let timers = vec![self.automation_timer(rule_id, None)];
                self.commit(next, Vec::new(), timers).await?;
                Ok(unchanged(self))
            }
            // Woken early (a clock moved back, a rule edited): wake again at the due time.
            (Some(_), Some(wait)) if !wait.fired && wait.due_at > now => {
                let timers = vec![self.automation_timer(rule_id, Some(wait.due_at))];
                self.commit(self.ticket.clone(), Vec::new(), timers).await?;
                Ok(unchanged(self))
            }
            _ => {
                let mut next = self.ticket.clone();
                let mut timers = follow_waits(&mut next, &rules, now);
                if next.automations.waits.get(&rule_id).is_none_or(|wait| wait.fired) {
                    timers.push(self.automation_timer(rule_id, None));
                }
                self.commit(next, Vec::new(), timers).await?;
                Ok(unchanged(self))
            }
        }
    }

    fn automation_timer(&self, rule_id: RuleId, due_at: Option<Timestamp>) -> TimerChange {
        TimerChange { owner: TimerOwner::new(TIMER_KIND, self.ticket.id), name: timer_name(rule_id), due_at }
    }

    /// Runs one rule's actions on the ticket as one commit. A failed action (a refused change, a
    /// reply that cannot go) fails the whole run: nothing of it is applied, and the
    /// `automation_ran` event says why. `due_at` is a time rule's due time.
    async fn run_rule(
        &mut self,
        rules: &AccountRules,
        rule: &CompiledRule,
        depth: u8,
        due_at: Option<Timestamp>,
        context: &CommandContext,
    ) -> Result<Vec<TicketEvent>, TicketError> {
        let now = self.runtime.clock.now();
        let system = CommandContext::system(context.config.clone());
        let mut scratch = self.ticket.clone();
        let (mut kinds, mut timers, mut notify) = (Vec::new(), Vec::new(), Vec::new());
        let mut failure = None;
        'actions: for action in &rule.rule.spec.then {
            let mut commands = Vec::new();
            match step_of(action, &scratch) {
                Step::Command(command) => commands.push(command),
                Step::Notify(notice) => notify.push(notice),
                Step::Webhook => {}
                Step::Reply { reply, template } => {
                    let composed = match self.runtime.automations.get() {
                        Some(port) => port.compose_reply(&scratch, &reply, template.as_ref()).await,
                        None => Err("replies are not available".to_owned()),
                    };
                    match composed {
                        Ok(message) => commands.push(TicketCommand::AddMessage(message)),
                        Err(reason) => {
                            failure = Some(format!("reply: {reason}"));
                            break 'actions;
                        }
                    }
                }
            }
            commands.extend(team_after_patch(action, &scratch));
            for command in commands {
                match scratch.decide(&command, &system, now) {
                    Ok(decision) => {
                        scratch.append(decision.events.clone(), None, now);
                        kinds.extend(decision.events);
                        timers.extend(decision.timers);
                    }
                    Err(error) => {
                        failure = Some(format!("{}: {error}", action.name()));
                        break 'actions;
                    }
                }
            }
        }
        if failure.is_some() {
            kinds.clear();
            timers.clear();
            notify.clear();
        }
        kinds.push(EventKind::AutomationRan {
            rule_id: rule.rule.id,
            name: rule.rule.name.clone(),
            actions: rule.rule.spec.then.iter().map(|action| action.name().to_owned()).collect(),
            result: if failure.is_some() { RunResult::Failed } else { RunResult::Ok },
            error: failure.clone(),
            late_by_ms: due_at.and_then(|due| late_by(due, now)).map(|late| late.as_millis() as i64),
            depth,
            notify,
        });
        let mut next = self.ticket.clone();
        let events = next.append(kinds, None, now);
        if let Some(due) = due_at {
            metrics::histogram!("switchboard_automation_timer_lateness_seconds")
                .record(now.duration_since(due).as_secs_f64().max(0.0));
            if let Some(wait) = next.automations.waits.get_mut(&rule.rule.id) {
                wait.fired = true;
            }
            timers.push(self.automation_timer(rule.rule.id, None));
        }
        timers.extend(follow_waits(&mut next, rules, now));
        self.commit(next, events.clone(), timers).await?;
        metrics::counter!("switchboard_automation_runs_total", "result" => if failure.is_some() { "failed" } else { "ok" })
            .increment(1);
        if let (None, Some(port), Some(event)) = (&failure, self.runtime.automations.get(), events.last()) {
            port.ran(&self.ticket, &rule.rule, event);
        }
        Ok(events)
    }
}
