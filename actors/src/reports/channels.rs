//! The channel and automation measures of one ticket's log (`docs/metrics.md` §5 and §7): each
//! outbound WhatsApp message by the furthest status it reached (`whatsapp_sent` at its first
//! send, `whatsapp_delivered`, `whatsapp_read`, or `whatsapp_failed` with Meta's code when it
//! failed before being delivered — the status only moves forward), outbound email replies sent
//! or failed, customers' messages by channel, and automation runs.

use std::collections::HashMap;

use super::measures::{Measures, Metric, Timeline};
use crate::domain::*;

/// How far an outbound message got: sent, delivered, read, failed.
#[derive(Default)]
struct Reached {
    channel: Option<Channel>,
    author: Option<UserId>,
    sent: bool,
    delivered: bool,
    read: bool,
    failed: bool,
}

/// `whatsapp_failed`'s detail: Meta's code and title, `code:title`.
pub fn failure_detail(code: i64, title: &str) -> String {
    format!("{code}:{title}")
}

/// The code and title of a `whatsapp_failed` detail.
pub fn parse_failure(detail: &str) -> (i64, String) {
    let (code, title) = detail.split_once(':').unwrap_or((detail, ""));
    (code.parse().unwrap_or(0), title.to_owned())
}

/// `automation_run`'s detail: `result:rule_id:name`.
pub fn run_detail(result: &str, rule_id: i64, name: &str) -> String {
    format!("{result}:{rule_id}:{name}")
}

/// The result, rule id and rule name of an `automation_run` detail.
pub fn parse_run(detail: &str) -> (String, i64, String) {
    let mut parts = detail.splitn(3, ':');
    let result = parts.next().unwrap_or_default().to_owned();
    let rule = parts.next().and_then(|id| id.parse().ok()).unwrap_or(0);
    (result, rule, parts.next().unwrap_or_default().to_owned())
}

pub(super) fn channel_measures(
    events: &[TicketEvent],
    is_staff: &dyn Fn(UserId) -> bool,
    line: &Timeline,
    measures: &mut Measures<'_>,
) {
    let mut outbound: HashMap<String, Reached> = HashMap::new();
    for event in events {
        let at = event.at;
        match &event.kind {
            EventKind::MessageAdded { message, .. } => match message.kind {
                MessageKind::Customer if !event.actor_id.is_some_and(is_staff) => {
                    measures.push(Metric::Inbound, at, None, line.at(at)).detail =
                        Some(message.channel.as_str().to_owned());
                }
                // Every outbound message on the two channels that report deliveries, whoever
                // wrote it (a person, a rule, a template).
                MessageKind::Reply if matches!(message.channel, Channel::Whatsapp | Channel::Email) => {
                    let reached =
                        Reached { channel: Some(message.channel), author: event.actor_id, ..Reached::default() };
                    outbound.insert(message.id.clone(), reached);
                }
                _ => {}
            },
            EventKind::DeliveryChanged { message_id, status, error, .. } => {
                let Some(reached) = outbound.get_mut(message_id) else { continue };
                let mut reach: Vec<(Metric, Option<String>)> = Vec::new();
                match (reached.channel, status) {
                    (Some(Channel::Whatsapp), DeliveryStatus::Failed) if !reached.delivered && !reached.failed => {
                        reached.failed = true;
                        let detail = error.as_ref().map_or_else(
                            || failure_detail(0, "unknown"),
                            |error| failure_detail(error.code, &error.title),
                        );
                        reach.push((Metric::WhatsappFailed, Some(detail)));
                    }
                    (Some(Channel::Whatsapp), DeliveryStatus::Failed | DeliveryStatus::Queued) => {}
                    (Some(Channel::Whatsapp), status) => {
                        if !reached.sent {
                            reached.sent = true;
                            reach.push((Metric::WhatsappSent, None));
                        }
                        if matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Read | DeliveryStatus::Played)
                            && !reached.delivered
                        {
                            reached.delivered = true;
                            reach.push((Metric::WhatsappDelivered, None));
                        }
                        if matches!(status, DeliveryStatus::Read | DeliveryStatus::Played) && !reached.read {
                            reached.read = true;
                            reach.push((Metric::WhatsappRead, None));
                        }
                    }
                    (_, DeliveryStatus::Sent) if !reached.sent && !reached.failed => {
                        reached.sent = true;
                        reach.push((Metric::EmailSent, None));
                    }
                    (_, DeliveryStatus::Failed) if !reached.sent && !reached.failed => {
                        reached.failed = true;
                        reach.push((Metric::EmailFailed, None));
                    }
                    _ => {}
                }
                let author = reached.author;
                for (metric, detail) in reach {
                    measures.push(metric, at, author, line.at(at)).detail = detail;
                }
            }
            EventKind::AutomationRan { rule_id, name, result, late_by_ms, .. } => {
                let measure = measures.push(Metric::AutomationRun, at, None, line.at(at));
                measure.detail = Some(run_detail(result.as_str(), *rule_id, name));
                measure.value_ms = *late_by_ms;
            }
            _ => {}
        }
    }
}
