//! Surveys asked and cancelled: from the committed changes on this node's bus, a ticket moved
//! into `resolved` gets one survey for the cycle it ended (unless CSAT is off, the channel is not
//! surveyed, or its customer was asked within the cool-down), sent where the customer last wrote;
//! a ticket that reopens cancels its pending survey. Each node handles the changes it committed,
//! and the survey's unique `(ticket, cycle)` keeps a second node's attempt from asking twice.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_actors::bus::TicketChange;
use switchboard_actors::csat::{self, NewSurvey, Scale, Survey, SurveyChannel};
use switchboard_actors::domain::*;
use switchboard_actors::store::StoreError;
use switchboard_actors::ticket::{CommandContext, NewMessage, TicketCommand, TicketError};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::Csat;

/// Longest log read to find a resolve's cycle (a ticket's whole log, in practice).
const LOG_LIMIT: i64 = 100_000;

/// How a survey goes out on WhatsApp, decided before it is stored.
enum WhatsAppForm {
    /// Inside the 24-hour window: an interactive list (1–5) or reply buttons (thumbs).
    Interactive,
    /// Outside it: the scale's approved template, rendered with its parameters.
    Template { body: String, parameters: Vec<String> },
}

impl Csat {
    /// Follows the bus: one change at a time, in commit order, so a resolve is handled before
    /// the reopen that follows it.
    pub fn start(self: &Arc<Self>, mut changes: Receiver<Arc<TicketChange>>) -> Vec<JoinHandle<()>> {
        let csat = self.clone();
        vec![tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(change) => csat.follow(&change).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "CSAT fell behind the bus; resolves in between are not surveyed");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })]
    }

    async fn follow(&self, change: &TicketChange) {
        for event in &change.events {
            let EventKind::StatusChanged { category, .. } = &event.kind else { continue };
            let done = if *category == StatusCategory::Resolved {
                self.survey_resolved(&change.ticket, event.seq).await
            } else if !category.is_done() {
                self.cancel_pending(change.ticket.id).await.map_err(TicketError::from)
            } else {
                Ok(())
            };
            if let Err(error) = done {
                tracing::warn!(ticket = change.ticket.id, %error, "CSAT could not follow a status change");
            }
        }
    }

    /// A reopen before the answer cancels the survey (the portal widget goes away with it).
    async fn cancel_pending(&self, ticket: TicketId) -> Result<(), StoreError> {
        if let Some(survey) =
            self.store.latest_survey(ticket).await?.filter(|survey| survey.status == csat::SurveyStatus::Pending)
        {
            self.store.cancel_survey(survey.id, self.clock.now()).await?;
        }
        Ok(())
    }

    async fn survey_resolved(&self, ticket: &Ticket, seq: i64) -> Result<(), TicketError> {
        let settings = self.settings(ticket.account_id).await?;
        let channel = csat::survey_channel(ticket);
        if !settings.enabled || !settings.channels.contains(&channel) || ticket.links.merged_into.is_some() {
            return Ok(());
        }
        let Some(customer) = self
            .store
            .user(ticket.account_id, ticket.requester_id)
            .await?
            .filter(|user| user.role == Role::Customer && user.active)
        else {
            return Ok(());
        };
        let now = self.clock.now();
        if let Some(last) = self.store.last_surveyed(ticket.account_id, customer.id).await?
            && now.duration_since(last) < jiff::SignedDuration::from_hours(24 * settings.cooldown_days)
        {
            tracing::debug!(ticket = ticket.id, "CSAT: the customer was surveyed within the cool-down");
            return Ok(());
        }
        let events = self.store.ticket_events(ticket.id, 0, LOG_LIMIT).await?;
        let Some(resolved) = csat::resolved_cycle(&events, seq) else { return Ok(()) };
        let whatsapp = match channel {
            SurveyChannel::Whatsapp => match self.whatsapp_form(ticket, settings.scale, &settings.question).await? {
                Some(form) => Some(form),
                None => {
                    tracing::warn!(
                        ticket = ticket.id,
                        template = settings.scale.template_name(),
                        "CSAT not sent: the WhatsApp window is closed and the survey template is not approved"
                    );
                    return Ok(());
                }
            },
            SurveyChannel::Email if !reachable_by_email(&customer.email) => return Ok(()),
            SurveyChannel::Email | SurveyChannel::Portal => None,
        };
        let survey = match self
            .store
            .create_survey(NewSurvey {
                account_id: ticket.account_id,
                ticket_id: ticket.id,
                customer_id: customer.id,
                cycle: resolved.cycle,
                channel,
                scale: settings.scale,
                question: settings.question.clone(),
                comment_prompt: settings.comment_prompt.clone(),
                team_id: ticket.team_id,
                agent_ids: resolved.agent_ids,
            })
            .await
        {
            Ok(survey) => survey,
            // This cycle was already surveyed (another node, or a change seen twice).
            Err(StoreError::Conflict(_)) => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        let message = match (channel, whatsapp) {
            (SurveyChannel::Whatsapp, Some(form)) => Some(whatsapp_message(&survey, ticket.number, form)),
            (SurveyChannel::Email, _) => Some(self.email_message(&survey)),
            _ => None,
        };
        let event = EventKind::CsatRequested(csat::SurveyAsked {
            survey_id: survey.id,
            cycle: survey.cycle,
            channel: survey.channel,
            scale: survey.scale,
        });
        let config = self.accounts.get(ticket.account_id).await?;
        let command = TicketCommand::RecordCsat { event: Box::new(event), message: message.map(Box::new) };
        match self.tickets.execute(ticket.id, command, CommandContext::system(config)).await {
            Ok(outcome) => {
                let sent = outcome.events.iter().find_map(|event| match &event.kind {
                    EventKind::MessageAdded { message, .. } => Some(message.id.clone()),
                    _ => None,
                });
                if let Some(message_id) = sent {
                    self.store.set_survey_message(survey.id, &message_id).await?;
                }
                Ok(())
            }
            // Reopened in between: the survey never went out.
            Err(error) => {
                self.store.cancel_survey(survey.id, now).await?;
                Err(error)
            }
        }
    }

    /// Interactive inside the window, the approved template outside it, `None` when neither.
    async fn whatsapp_form(
        &self,
        ticket: &Ticket,
        scale: Scale,
        question: &str,
    ) -> Result<Option<WhatsAppForm>, StoreError> {
        let window_open = self
            .store
            .conversation_of_customer(ticket.account_id, ticket.requester_id)
            .await?
            .and_then(|conversation| conversation.window_expires_at)
            .is_some_and(|until| until > self.clock.now());
        if window_open {
            return Ok(Some(WhatsAppForm::Interactive));
        }
        let templates = self.store.templates(ticket.account_id).await?;
        let template = templates.iter().find(|template| {
            template.name == scale.template_name()
                && template.language == csat::TEMPLATE_LANGUAGE
                && template.sendable()
        });
        Ok(template.map(|template| {
            let parameters = vec![format!("#{}", ticket.number), question.to_owned()];
            let parameters = parameters.into_iter().take(template.parameter_count.max(0) as usize).collect::<Vec<_>>();
            WhatsAppForm::Template { body: template.render(&parameters), parameters }
        }))
    }

    /// The email: the question and one link per score, each rating in one click.
    fn email_message(&self, survey: &Survey) -> NewMessage {
        let links: Vec<String> = survey
            .scale
            .choices()
            .into_iter()
            .map(|(score, label)| format!("- [{label}]({})", self.link(survey.id, score)))
            .collect();
        let body = format!("{}\n\n{}\n\nOne click records your answer.", survey.question, links.join("\n"));
        survey_message(survey, Channel::Email, body, json!({"csat_survey": survey.id}))
    }
}

/// The WhatsApp survey: a list of five rows or two reply buttons, or the template with one
/// quick-reply button per choice; every answer carries `csat:<survey>:<score>`.
fn whatsapp_message(survey: &Survey, number: i64, form: WhatsAppForm) -> NewMessage {
    let choices = survey.scale.choices();
    match form {
        WhatsAppForm::Interactive => {
            let interactive = match survey.scale {
                Scale::Five => json!({
                    "type": "list",
                    "body": {"text": survey.question},
                    "footer": {"text": format!("Ticket #{number}")},
                    "action": {"button": "Rate", "sections": [{"title": "Your rating", "rows": choices
                        .iter()
                        .rev()
                        .map(|(score, label)| json!({"id": csat::answer_id(survey.id, *score), "title": label}))
                        .collect::<Vec<Value>>()}]}
                }),
                Scale::Thumbs => json!({
                    "type": "button",
                    "body": {"text": survey.question},
                    "footer": {"text": format!("Ticket #{number}")},
                    "action": {"buttons": choices
                        .iter()
                        .rev()
                        .map(|(score, label)| json!({"type": "reply", "reply": {"id": csat::answer_id(survey.id, *score), "title": label}}))
                        .collect::<Vec<Value>>()}
                }),
            };
            let payload = json!({"interactive": interactive, "csat_survey": survey.id});
            survey_message(survey, Channel::Whatsapp, survey.question.clone(), payload)
        }
        WhatsAppForm::Template { body, parameters } => {
            let buttons: Vec<String> = choices.iter().map(|(score, _)| csat::answer_id(survey.id, *score)).collect();
            let template = json!({
                "name": survey.scale.template_name(),
                "language": csat::TEMPLATE_LANGUAGE,
                "parameters": parameters,
                "buttons": buttons,
            });
            survey_message(survey, Channel::Whatsapp, body, json!({"template": template, "csat_survey": survey.id}))
        }
    }
}

fn survey_message(_survey: &Survey, channel: Channel, body: String, payload: Value) -> NewMessage {
    NewMessage {
        kind: MessageKind::Reply,
        body,
        channel: Some(channel),
        attachments: Vec::new(),
        then_status: None,
        payload: Some(payload),
        provider_id: None,
        window_until: None,
    }
}

/// Customers first met on WhatsApp carry a placeholder `….invalid` address: no email goes there.
fn reachable_by_email(address: &str) -> bool {
    address.contains('@') && !address.ends_with(".invalid")
}
