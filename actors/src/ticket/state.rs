//! The ticket as a pure state machine: `decide` turns a command into events (or refuses it),
//! `apply` folds an event into the state. No I/O here, so the rules are tested without a runtime.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use uuid::Uuid;

use super::messages::*;
use crate::domain::*;
use crate::sla::SlaAlert;
use crate::store::{TimerChange, TimerOwner};

/// Timer name for the end of a snooze.
pub const SNOOZE_TIMER: &str = "snooze";
/// Timer name for the ticket's next SLA moment (a warning or a breach); always set to
/// [`SlaState::next_moment`], so the stored timer follows the state.
pub const SLA_TIMER: &str = "sla";
/// Longest accepted subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 500;
/// Longest accepted message body, in bytes (64 KiB covers any chat or email text part).
pub const MAX_BODY_BYTES: usize = 65_536;

/// What a command decided: events to append, plus the timers to set or clear with them.
#[derive(Debug, Default)]
pub struct Decision {
    pub events: Vec<EventKind>,
    pub timers: Vec<TimerChange>,
}

/// A new ticket before the store gave it an id and number.
#[derive(Clone, Debug)]
pub struct TicketDraft {
    pub account_id: AccountId,
    pub subject: String,
    pub body: Option<String>,
    pub body_kind: MessageKind,
    pub status: Option<String>,
    pub urgency: Level,
    pub importance: Level,
    pub ticket_type: Option<String>,
    pub category_id: Option<CategoryId>,
    pub tags: Vec<String>,
    pub custom_fields: CustomFields,
    pub channel: Channel,
    pub requester_id: UserId,
    pub company_id: Option<CompanyId>,
    /// The requester's company's SLA tier: the ticket opens at least this pressing, whatever
    /// urgency × importance gives (so the SLA policy's targets for that priority apply).
    pub minimum_priority: Option<Priority>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub created_by: Option<UserId>,
    /// Channel content of the first message (see [`Message::payload`]).
    pub first_payload: Option<serde_json::Value>,
    /// The provider's id of the first message (a wamid), committed with the ticket so a
    /// re-delivered webhook finds it.
    pub first_provider_id: Option<String>,
    /// Files of the first message.
    pub first_attachments: Vec<Attachment>,
    /// The WhatsApp window as the first message left it: recorded (`window_changed`) in the
    /// ticket's first commit rather than in a second one.
    pub window: Option<WindowState>,
}

/// Builds a new ticket's first state, events (seq 1…) and messages; `id` and `number` are 0
/// until the store assigns them.
pub fn open_ticket(
    draft: TicketDraft,
    config: &AccountConfig,
    now: Timestamp,
) -> Result<(Ticket, Vec<TicketEvent>, Vec<Message>), TicketError> {
    let subject = valid_subject(&draft.subject)?;
    let status_key =
        draft.status.unwrap_or_else(|| if draft.assignee_id.is_some() { "open" } else { "new" }.to_owned());
    let status = config
        .status(&status_key)
        .ok_or_else(|| TicketError::invalid("status", format!("unknown status `{status_key}`")))?;
    if let Some(kind) = &draft.ticket_type {
        valid_ticket_type(config, kind)?;
    }
    if let Some(category) = draft.category_id {
        valid_category(config, category)?;
    }
    let mut custom_fields = CustomFields::new();
    merge_custom_fields(config, &mut custom_fields, &draft.custom_fields)?;
    let tags = normalise_tags(&draft.tags)?;
    let priority = config.priority_matrix.priority(draft.urgency, draft.importance).at_least(draft.minimum_priority);
    let mut ticket = Ticket {
        id: 0,
        account_id: draft.account_id,
        number: 0,
        subject: subject.clone(),
        status: status.key.clone(),
        status_category: status.category,
        urgency: draft.urgency,
        importance: draft.importance,
        priority,
        ticket_type: draft.ticket_type,
        category_id: draft.category_id,
        tags: tags.into_iter().collect(),
        custom_fields,
        channel: draft.channel,
        requester_id: draft.requester_id,
        company_id: draft.company_id,
        assignee_id: draft.assignee_id,
        team_id: draft.team_id,
        assigned_at: draft.assignee_id.map(|_| now),
        snoozed_until: None,
        seq: 0,
        created_at: now,
        updated_at: now,
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        last_customer_message_at: None,
        last_agent_message_at: None,
        last_customer_seq: 0,
        sla: None,
        last_customer_channel: None,
        links: TicketLinks::default(),
        automations: Default::default(),
        preview: None,
    };
    let mut kinds = vec![EventKind::Created {
        subject,
        number: 0,
        status: ticket.status.clone(),
        priority,
        channel: draft.channel,
        requester_id: draft.requester_id,
    }];
    if let Some(sla) = SlaState::start(config.sla_policy.as_ref(), priority, now, false, now) {
        kinds.push(EventKind::SlaChanged { sla: Some(Box::new(sla)) });
    }
    if let Some(body) = draft
        .body
        .filter(|body| !body.trim().is_empty() || draft.first_payload.is_some() || !draft.first_attachments.is_empty())
    {
        let first = NewMessage {
            kind: draft.body_kind,
            body,
            channel: None,
            attachments: draft.first_attachments,
            then_status: None,
            payload: draft.first_payload,
            provider_id: draft.first_provider_id,
            window_until: None,
        };
        let message = new_message(&ticket, draft.created_by, &first, now)?;
        kinds.push(EventKind::MessageAdded { message, window_until: None });
    }
    if let Some(window) = draft.window {
        kinds.push(EventKind::WindowChanged { window });
    }
    let events = ticket.append(kinds, draft.created_by, now);
    let messages = messages_of(&events);
    Ok((ticket, events, messages))
}

/// The SLA timer a new ticket starts with (owned by ticket 0 until the store gives it an id;
/// see [`TicketCommit::assign_identity`](crate::store::TicketCommit::assign_identity)).
pub fn sla_timer_of_new(ticket: &Ticket) -> Vec<TimerChange> {
    ticket
        .sla
        .as_ref()
        .and_then(SlaState::next_moment)
        .map(|due| ticket.timer(SLA_TIMER, Some(due)))
        .into_iter()
        .collect()
}

impl Ticket {
    /// Decides what `command` does to this ticket. Refusals change nothing.
    pub fn decide(
        &self,
        command: &TicketCommand,
        context: &CommandContext,
        now: Timestamp,
    ) -> Result<Decision, TicketError> {
        if let Some(expected) = context.expected_seq
            && expected != self.seq
        {
            return Err(TicketError::StaleSeq { expected, actual: self.seq });
        }
        if let Some(seen) = context.seen_seq
            && seen < self.last_customer_seq
            && command.answers_the_customer()
        {
            return Err(TicketError::StaleView { seen, last_customer_seq: self.last_customer_seq });
        }
        let mut decision = Decision::default();
        self.decide_command(command, context, now, &mut decision)?;
        self.decide_sla(command, context, now, &mut decision);
        Ok(decision)
    }

    fn decide_command(
        &self,
        command: &TicketCommand,
        context: &CommandContext,
        now: Timestamp,
        decision: &mut Decision,
    ) -> Result<(), TicketError> {
        let config = &context.config;
        match command {
            TicketCommand::AddMessage(new) => {
                if self.status_category == StatusCategory::Closed && new.kind != MessageKind::Note {
                    return Err(TicketError::Closed);
                }
                let message = new_message(self, context.actor_id, new, now)?;
                decision.events.push(EventKind::MessageAdded { message, window_until: new.window_until });
                let follow_up = match (&new.then_status, new.kind) {
                    (Some(status), _) => Some(status.as_str()),
                    // A customer writing again reopens a ticket that was waiting or solved.
                    (None, MessageKind::Customer)
                        if matches!(self.status_category, StatusCategory::Pending | StatusCategory::Resolved) =>
                    {
                        Some("open")
                    }
                    // The first public reply takes a new ticket into work.
                    (None, MessageKind::Reply) if self.status_category == StatusCategory::New => Some("open"),
                    _ => None,
                };
                if let Some(status) = follow_up {
                    self.decide_status(config, status, decision)?;
                }
            }
            TicketCommand::Update(patch) => self.decide_patch(config, patch, now, decision)?,
            TicketCommand::Assign(assignment) => {
                if assignment.assignee_id != self.assignee_id || assignment.team_id != self.team_id {
                    decision.events.push(EventKind::Assigned {
                        from_assignee_id: self.assignee_id,
                        from_team_id: self.team_id,
                        assignee_id: assignment.assignee_id,
                        team_id: assignment.team_id,
                        reason: assignment.reason.clone(),
                        held_secs: self.assigned_at.map(|since| (now - since).get_seconds()),
                        explanation: assignment.explanation.clone().map(Box::new),
                    });
                    if assignment.assignee_id.is_some() && self.status_category == StatusCategory::New {
                        self.decide_status(config, "open", decision)?;
                    }
                }
            }
            TicketCommand::FireTimer { name } if name == SNOOZE_TIMER => {
                decision.timers.push(self.timer(SNOOZE_TIMER, None));
                if self.snoozed_until.is_some_and(|until| until <= now) {
                    decision.events.push(EventKind::SnoozeEnded);
                    if self.status_category == StatusCategory::Pending {
                        self.decide_status(config, "open", decision)?;
                    }
                }
            }
            // Handled with the rest of the SLA in `decide_sla`.
            TicketCommand::FireTimer { name } if name == SLA_TIMER => {}
            // A timer this version no longer knows: clear it so it does not fire again.
            TicketCommand::FireTimer { name } => decision.timers.push(self.timer(name, None)),
            TicketCommand::RecordDelivery { message_id, status, provider_id, error } => {
                decision.events.push(EventKind::DeliveryChanged {
                    message_id: message_id.clone(),
                    status: *status,
                    provider_id: provider_id.clone(),
                    error: error.clone(),
                });
            }
            TicketCommand::RecordWindow(window) => {
                decision.events.push(EventKind::WindowChanged { window: window.clone() })
            }
            TicketCommand::RecordAttachments { message_id, attachments } => {
                decision.events.push(EventKind::AttachmentsChanged {
                    message_id: message_id.clone(),
                    attachments: attachments.clone(),
                })
            }
            TicketCommand::MergeInto { .. }
            | TicketCommand::AcceptMerge(_)
            | TicketCommand::Unmerge
            | TicketCommand::ReleaseMerge { .. }
            | TicketCommand::RecordSplit { .. } => self.decide_link(command, config, now, decision)?,
            // Idempotent: a merge of profiles re-run after a crash moves only what is left.
            TicketCommand::ChangeRequester { from, to } => {
                if self.requester_id == *from && from != to {
                    decision.events.push(EventKind::RequesterChanged { from: *from, to: *to });
                }
            }
            // The actor runs automations around decisions (`automate.rs`); nothing to decide.
            TicketCommand::RunAutomations { .. } => {}
            TicketCommand::RecordCsat { event, message } => {
                match event.as_ref() {
                    EventKind::CsatRequested(_) if !self.status_category.is_done() => {
                        return Err(TicketError::invalid("status", "the ticket reopened before the survey went out"));
                    }
                    EventKind::CsatRequested(_) | EventKind::CsatReceived(_) | EventKind::CsatCommented(_) => {}
                    _ => return Err(TicketError::invalid("event", "not a CSAT event")),
                }
                if let Some(new) = message {
                    let message = new_message(self, None, new, now)?;
                    decision.events.push(EventKind::MessageAdded { message, window_until: None });
                }
                decision.events.push(event.as_ref().clone());
            }
        }
        Ok(())
    }

    /// What the decided events mean for the SLA: new targets after a priority change, the
    /// warnings and breaches due when the SLA timer fires, and the SLA timer moved to the next
    /// moment the state needs attention. Pauses, resumptions and met targets follow from the
    /// events themselves in [`Ticket::apply`].
    fn decide_sla(&self, command: &TicketCommand, context: &CommandContext, now: Timestamp, decision: &mut Decision) {
        let config = &context.config;
        let fired = matches!(command, TicketCommand::FireTimer { name } if name == SLA_TIMER);
        let priority_changed = decision.events.iter().any(|event| matches!(event, EventKind::PriorityChanged { .. }));
        // A ticket without clocks gets some only through a priority change (or a stale timer).
        if self.sla.is_none() && !priority_changed && !fired {
            return;
        }
        // The state as the decided events leave it, by the same author (an automatic reply does
        // not meet the window target); SLA events are added (and applied) on top.
        let mut after = self.clone();
        after.append(decision.events.clone(), context.actor_id, now);
        let mut more = Vec::new();
        let mut add = |after: &mut Ticket, kind: EventKind| {
            after.append(vec![kind.clone()], None, now);
            more.push(kind);
        };
        if after.priority != self.priority && !after.status_category.is_done() {
            let policy = config.sla_policy.as_ref();
            let first_response_done = after.first_response_at.is_some();
            let mut retargeted = match &after.sla {
                Some(sla) => sla.retarget(policy, after.priority, first_response_done, now),
                None => SlaState::start(policy, after.priority, after.created_at, first_response_done, now),
            };
            // A window target new to the ticket covers the customer's unanswered WhatsApp message.
            if let Some(sla) = retargeted.as_mut().filter(|sla| sla.window.is_none())
                && let Some(waiting_since) = after.unanswered_whatsapp_since()
            {
                sla.window_opened(waiting_since);
            }
            if retargeted != after.sla {
                add(&mut after, EventKind::SlaChanged { sla: retargeted.map(Box::new) });
            }
        }
        if fired {
            for alert in after.sla.as_ref().map(|sla| sla.alerts(now)).unwrap_or_default() {
                let kind = match alert {
                    SlaAlert::Warning(metric, due_at) => EventKind::SlaWarning { metric, due_at },
                    SlaAlert::Breached(metric, due_at) => EventKind::SlaBreached { metric, due_at },
                };
                add(&mut after, kind);
            }
        }
        let before_moment = self.sla.as_ref().and_then(SlaState::next_moment);
        let after_moment = after.sla.as_ref().and_then(SlaState::next_moment);
        // A fired timer is gone from the timer task's memory: set it again (or clear it) even if
        // the moment did not move.
        if fired || before_moment != after_moment {
            decision.timers.push(self.timer(SLA_TIMER, after_moment));
        }
        decision.events.extend(more);
    }

    fn decide_patch(
        &self,
        config: &AccountConfig,
        patch: &TicketPatch,
        now: Timestamp,
        decision: &mut Decision,
    ) -> Result<(), TicketError> {
        let mut changes = BTreeMap::new();
        if let Some(subject) = &patch.subject {
            let subject = valid_subject(subject)?;
            if subject != self.subject {
                changes.insert("subject".to_owned(), change(&self.subject, &subject));
            }
        }
        if let Some(kind) = &patch.ticket_type
            && *kind != self.ticket_type
        {
            if let Some(kind) = kind {
                valid_ticket_type(config, kind)?;
            }
            changes.insert("ticket_type".to_owned(), change(&self.ticket_type, kind));
        }
        if let Some(category) = patch.category_id
            && category != self.category_id
        {
            if let Some(category) = category {
                valid_category(config, category)?;
            }
            changes.insert("category_id".to_owned(), change(&self.category_id, &category));
        }
        if let Some(fields) = &patch.custom_fields {
            let mut merged = self.custom_fields.clone();
            merge_custom_fields(config, &mut merged, fields)?;
            for key in fields.keys() {
                let (from, to) = (self.custom_fields.get(key), merged.get(key));
                if from != to {
                    changes.insert(format!("custom_fields.{key}"), change(&from, &to));
                }
            }
        }
        if !changes.is_empty() {
            decision.events.push(EventKind::FieldsChanged { changes });
        }

        let current: BTreeSet<String> = self.tags.iter().cloned().collect();
        let mut wanted = match &patch.tags {
            Some(tags) => normalise_tags(tags)?,
            None => current.clone(),
        };
        wanted.extend(normalise_tags(&patch.add_tags)?);
        for tag in normalise_tags(&patch.remove_tags)? {
            wanted.remove(&tag);
        }
        let added: Vec<String> = wanted.difference(&current).cloned().collect();
        let removed: Vec<String> = current.difference(&wanted).cloned().collect();
        if !added.is_empty() || !removed.is_empty() {
            decision.events.push(EventKind::TagsChanged { added, removed });
        }

        let urgency = patch.urgency.unwrap_or(self.urgency);
        let importance = patch.importance.unwrap_or(self.importance);
        if urgency != self.urgency || importance != self.importance {
            decision.events.push(EventKind::PriorityChanged {
                urgency,
                importance,
                from: self.priority,
                to: config.priority_matrix.priority(urgency, importance),
            });
        }
        if let Some(status) = &patch.status {
            self.decide_status(config, status, decision)?;
        }
        match patch.snooze_until {
            Some(Some(until)) if until <= now => {
                return Err(TicketError::invalid("snooze_until", "must be in the future"));
            }
            Some(Some(until)) if Some(until) != self.snoozed_until => {
                decision.events.push(EventKind::Snoozed { until });
                decision.timers.push(self.timer(SNOOZE_TIMER, Some(until)));
            }
            Some(None) if self.snoozed_until.is_some() => {
                decision.events.push(EventKind::SnoozeEnded);
                decision.timers.push(self.timer(SNOOZE_TIMER, None));
            }
            _ => {}
        }
        Ok(())
    }

    fn decide_status(&self, config: &AccountConfig, key: &str, decision: &mut Decision) -> Result<(), TicketError> {
        let status =
            config.status(key).ok_or_else(|| TicketError::invalid("status", format!("unknown status `{key}`")))?;
        if status.key == self.status {
            return Ok(());
        }
        if self.status_category == StatusCategory::Closed {
            return Err(TicketError::Closed);
        }
        decision.events.push(EventKind::StatusChanged {
            from: self.status.clone(),
            to: status.key.clone(),
            category: status.category,
        });
        Ok(())
    }

    pub(super) fn timer(&self, name: &str, due_at: Option<Timestamp>) -> TimerChange {
        TimerChange { owner: TimerOwner::new(super::TIMER_KIND, self.id), name: name.to_owned(), due_at }
    }

    /// Turns decided event kinds into numbered events and applies them.
    pub fn append(&mut self, kinds: Vec<EventKind>, actor_id: Option<UserId>, now: Timestamp) -> Vec<TicketEvent> {
        let mut events = Vec::with_capacity(kinds.len());
        for mut kind in kinds {
            let seq = self.seq + 1;
            if let EventKind::MessageAdded { message, .. } = &mut kind {
                message.seq = seq;
            }
            let event = TicketEvent { ticket_id: self.id, account_id: self.account_id, seq, at: now, actor_id, kind };
            self.apply(&event);
            events.push(event);
        }
        events
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &TicketEvent) {
        self.seq = event.seq;
        self.updated_at = event.at;
        let at = event.at;
        match &event.kind {
            EventKind::Created { .. } => {}
            EventKind::MessageAdded { message, .. } => {
                let preview = crate::rows::preview_of(&message.body);
                if matches!(message.kind, MessageKind::Customer | MessageKind::Reply) && !preview.is_empty() {
                    self.preview = Some(preview);
                }
                match message.kind {
                    MessageKind::Customer => {
                        self.last_customer_message_at = Some(at);
                        self.last_customer_seq = event.seq;
                        if let Some(channel) = super::links::reply_channel_of(message.channel) {
                            self.last_customer_channel = Some(channel);
                        }
                        if self.reply_channel() == Channel::Whatsapp
                            && let Some(sla) = &mut self.sla
                        {
                            sla.window_opened(at);
                        }
                    }
                    // An automatic reply (a rule's acknowledgement: no author) answers nobody: the
                    // customer still waits on an agent, and the first response, the window target
                    // and the router's no-reply limit wait for a person's reply.
                    MessageKind::Reply => {
                        if event.actor_id.is_some() {
                            self.last_agent_message_at = Some(at);
                            self.first_response_at.get_or_insert(at);
                            if let Some(sla) = &mut self.sla {
                                if let Some(clock) = sla.first_response.as_mut() {
                                    clock.met_at.get_or_insert(at);
                                }
                                sla.window_replied(at);
                            }
                        }
                    }
                    MessageKind::Note | MessageKind::System => {}
                }
            }
            EventKind::StatusChanged { to, category, .. } => {
                let was_done = self.status_category.is_done();
                self.status = to.clone();
                self.status_category = *category;
                if let Some(sla) = &mut self.sla {
                    sla_follow_status(sla, was_done, *category, at);
                }
                match category {
                    StatusCategory::Resolved => self.resolved_at = Some(at),
                    StatusCategory::Closed => {
                        self.closed_at = Some(at);
                        self.resolved_at.get_or_insert(at);
                    }
                    _ => self.resolved_at = None,
                }
            }
            EventKind::PriorityChanged { urgency, importance, to, .. } => {
                self.urgency = *urgency;
                self.importance = *importance;
                self.priority = *to;
            }
            EventKind::Assigned { assignee_id, team_id, .. } => {
                self.assignee_id = *assignee_id;
                self.team_id = *team_id;
                self.assigned_at = assignee_id.map(|_| at);
            }
            EventKind::TagsChanged { added, removed } => {
                let mut tags: BTreeSet<String> = self.tags.drain(..).collect();
                tags.extend(added.iter().cloned());
                for tag in removed {
                    tags.remove(tag);
                }
                self.tags = tags.into_iter().collect();
            }
            EventKind::FieldsChanged { changes } => {
                for (field, FieldChange { to, .. }) in changes {
                    match field.as_str() {
                        "subject" => self.subject = to.as_str().unwrap_or_default().to_owned(),
                        "ticket_type" => self.ticket_type = to.as_str().map(str::to_owned),
                        "category_id" => self.category_id = to.as_i64(),
                        other => {
                            if let Some(key) = other.strip_prefix("custom_fields.") {
                                if to.is_null() {
                                    self.custom_fields.remove(key);
                                } else {
                                    self.custom_fields.insert(key.to_owned(), to.clone());
                                }
                            }
                        }
                    }
                }
            }
            EventKind::Snoozed { until } => self.snoozed_until = Some(*until),
            EventKind::SnoozeEnded => self.snoozed_until = None,
            EventKind::RequesterChanged { to, .. } => self.requester_id = *to,
            EventKind::SlaChanged { sla } => {
                self.sla = sla.as_deref().cloned();
                let stopped = self.status_category == StatusCategory::Pending || self.status_category.is_done();
                if let Some(sla) = self.sla.as_mut().filter(|_| stopped) {
                    sla.pause(at);
                }
            }
            EventKind::SlaWarning { metric, .. } => {
                if let Some(clock) = self.sla.as_mut().and_then(|sla| sla.clock_mut(*metric)) {
                    clock.warned_at.get_or_insert(at);
                }
            }
            EventKind::SlaBreached { metric, .. } => {
                if let Some(clock) = self.sla.as_mut().and_then(|sla| sla.clock_mut(*metric)) {
                    clock.warned_at.get_or_insert(at);
                    clock.breached_at.get_or_insert(at);
                }
            }
            EventKind::DeliveryChanged { .. }
            | EventKind::WindowChanged { .. }
            | EventKind::AttachmentsChanged { .. }
            | EventKind::AutomationRan { .. }
            | EventKind::CsatRequested(_)
            | EventKind::CsatReceived(_)
            | EventKind::CsatCommented(_) => {}
            EventKind::MergedInto { .. }
            | EventKind::MergedIn { .. }
            | EventKind::Unmerged { .. }
            | EventKind::MergeUndone { .. }
            | EventKind::SplitTo { .. }
            | EventKind::SplitFrom { .. } => self.apply_link(&event.kind, at),
        }
    }
}

/// The SLA clocks follow the status category: `pending` stops them; resolving meets the
/// resolution target and stops them; reopening takes the resolution back and runs them again,
/// due later by the time they stood.
fn sla_follow_status(sla: &mut SlaState, was_done: bool, category: StatusCategory, at: Timestamp) {
    if was_done
        && !category.is_done()
        && let Some(clock) = sla.resolution.as_mut()
    {
        clock.met_at = None;
    }
    match category {
        StatusCategory::Pending => sla.pause(at),
        StatusCategory::Resolved | StatusCategory::Closed => {
            if let Some(clock) = sla.resolution.as_mut() {
                clock.met_at.get_or_insert(at);
            }
            sla.pause(at);
        }
        StatusCategory::New | StatusCategory::Open => sla.resume(at),
    }
}

/// The messages carried by `events`, in order.
pub fn messages_of(events: &[TicketEvent]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::MessageAdded { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn new_message(
    ticket: &Ticket,
    author_id: Option<UserId>,
    new: &NewMessage,
    now: Timestamp,
) -> Result<Message, TicketError> {
    let NewMessage { kind, body, channel, attachments, payload, provider_id, .. } = new.clone();
    if body.trim().is_empty() && attachments.is_empty() && payload.is_none() {
        return Err(TicketError::invalid("body", "must not be empty"));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(TicketError::invalid("body", format!("must be at most {MAX_BODY_BYTES} bytes")));
    }
    let outbound = matches!(kind, MessageKind::Reply);
    Ok(Message {
        id: Uuid::now_v7().to_string(),
        ticket_id: ticket.id,
        account_id: ticket.account_id,
        seq: 0,
        kind,
        author_id,
        // A reply goes where the customer last wrote; anything else is on the ticket's channel.
        channel: channel.unwrap_or(if outbound { ticket.reply_channel() } else { ticket.channel }),
        body,
        attachments,
        delivery_status: outbound.then_some(DeliveryStatus::Queued),
        provider_id,
        delivery_error: None,
        payload,
        created_at: now,
    })
}

fn valid_subject(subject: &str) -> Result<String, TicketError> {
    let subject = subject.trim();
    if subject.is_empty() {
        return Err(TicketError::invalid("subject", "must not be empty"));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(TicketError::invalid("subject", format!("must be at most {MAX_SUBJECT_CHARS} characters")));
    }
    Ok(subject.to_owned())
}

fn valid_ticket_type(config: &AccountConfig, kind: &str) -> Result<(), TicketError> {
    if config.ticket_types.iter().any(|known| known == kind) {
        Ok(())
    } else {
        Err(TicketError::invalid(
            "ticket_type",
            format!("unknown type `{kind}`; known: {}", config.ticket_types.join(", ")),
        ))
    }
}

fn valid_category(config: &AccountConfig, id: CategoryId) -> Result<(), TicketError> {
    config.category(id).map(|_| ()).ok_or_else(|| TicketError::invalid("category_id", format!("unknown category {id}")))
}

/// Tags are trimmed, lower-cased, 1–64 characters and free of commas.
fn normalise_tags(tags: &[String]) -> Result<BTreeSet<String>, TicketError> {
    tags.iter()
        .map(|tag| {
            let tag = tag.trim().to_lowercase();
            if tag.is_empty() || tag.chars().count() > 64 || tag.contains(',') {
                Err(TicketError::invalid("tags", format!("`{tag}` is not a valid tag (1–64 characters, no commas)")))
            } else {
                Ok(tag)
            }
        })
        .collect()
}

fn merge_custom_fields(
    config: &AccountConfig,
    into: &mut CustomFields,
    values: &CustomFields,
) -> Result<(), TicketError> {
    for (key, value) in values {
        let def = config
            .custom_field(key)
            .ok_or_else(|| TicketError::invalid("custom_fields", format!("unknown custom field `{key}`")))?;
        if value.is_null() {
            into.remove(key);
            continue;
        }
        let fits = match def.field_type {
            FieldType::Text => value.is_string(),
            FieldType::Number => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::Date => value.as_str().is_some_and(|text| text.parse::<jiff::civil::Date>().is_ok()),
            FieldType::Select => value.as_str().is_some_and(|text| def.options.iter().any(|option| option == text)),
        };
        if !fits {
            let expected = match def.field_type {
                FieldType::Select => format!("one of: {}", def.options.join(", ")),
                FieldType::Date => "a date (YYYY-MM-DD)".to_owned(),
                other => format!("a {other} value"),
            };
            return Err(TicketError::invalid("custom_fields", format!("`{key}` must be {expected}")));
        }
        into.insert(key.clone(), value.clone());
    }
    Ok(())
}

fn change<A: serde::Serialize, B: serde::Serialize>(from: &A, to: &B) -> FieldChange {
    FieldChange {
        from: serde_json::to_value(from).unwrap_or_default(),
        to: serde_json::to_value(to).unwrap_or_default(),
    }
}
