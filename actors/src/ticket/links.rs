//! Merges and splits as pure rules: whether a merge may happen, what each command appends to
//! the one ticket it is sent to, and how those events fold into the state. Each ticket's side
//! goes through its own actor and its own commit; [`linking`](super::linking) orders the two
//! commits and finishes them after a crash.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use super::messages::*;
use super::state::Decision;
use crate::domain::*;

/// Timer of a merged (or unmerged) ticket, set in the merge's first commit: while it stands,
/// the other ticket may not have followed yet, and when it fires the merge is settled.
pub const MERGE_TIMER: &str = "merge";
/// Timer of a ticket split off another, set in its creation commit: when it fires, the
/// original records the split if it has not yet.
pub const SPLIT_TIMER: &str = "split";
/// When a merge's or split's timer fires if the request did not settle it at once (the process
/// died between the two commits): soon, but after any request still settling it.
pub const LINK_SETTLE_AFTER: SignedDuration = SignedDuration::from_secs(30);
/// How long a merge can be undone.
pub const UNMERGE_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Whether `source` may be merged into `target` (both as their actors have them).
pub fn check_merge(source: &Ticket, target: &Ticket, force: bool) -> Result<(), TicketError> {
    if source.id == target.id {
        return Err(LinkRefusal::IntoItself.into());
    }
    if let Some(link) = &source.links.merged_into {
        return Err(LinkRefusal::AlreadyMerged(link.number).into());
    }
    if let Some(link) = &target.links.merged_into {
        return Err(if link.ticket_id == source.id {
            LinkRefusal::Cycle { target: target.number }
        } else {
            LinkRefusal::TargetMerged { target: target.number, into: link.number }
        }
        .into());
    }
    if target.status_category == StatusCategory::Closed {
        return Err(LinkRefusal::TargetClosed(target.number).into());
    }
    if source.status_category == StatusCategory::Closed {
        return Err(TicketError::Closed);
    }
    if source.requester_id != target.requester_id && !force {
        return Err(LinkRefusal::RequesterMismatch { from: source.number, target: target.number }.into());
    }
    Ok(())
}

/// Whether `message_ids` may be split off a ticket whose thread is `thread`: some of its own
/// messages, not all of them, none brought in by a merge still in place.
pub fn check_split(ticket: &Ticket, thread: &[Message], message_ids: &[String]) -> Result<(), TicketError> {
    if message_ids.is_empty() {
        return Err(TicketError::invalid("message_ids", "name at least one message to split off"));
    }
    if ticket.status_category == StatusCategory::Closed {
        return Err(TicketError::Closed);
    }
    let wanted: BTreeSet<&str> = message_ids.iter().map(String::as_str).collect();
    let own: BTreeSet<&str> = thread.iter().map(|message| message.id.as_str()).collect();
    if let Some(foreign) = wanted.iter().find(|id| !own.contains(*id)) {
        return Err(LinkRefusal::Split(format!("message {foreign} is not in ticket #{}", ticket.number)).into());
    }
    if wanted.len() == own.len() {
        return Err(LinkRefusal::Split(
            "these are all of the ticket's messages; leave at least one (or change the ticket instead)".to_owned(),
        )
        .into());
    }
    let merged_in = ticket.links.merged_from.iter().flat_map(|source| &source.message_ids);
    if let Some(id) = merged_in.clone().find(|id| wanted.contains(id.as_str())) {
        return Err(
            LinkRefusal::Split(format!("message {id} came in with a merge; unmerge before splitting it off")).into()
        );
    }
    Ok(())
}

impl Ticket {
    /// The events of a merge, unmerge or split command on this ticket (nothing when it is
    /// already done: the settling path sends them again after a crash).
    pub(super) fn decide_link(
        &self,
        command: &TicketCommand,
        config: &AccountConfig,
        now: Timestamp,
        decision: &mut Decision,
    ) -> Result<(), TicketError> {
        match command {
            TicketCommand::MergeInto { target } => {
                if let Some(link) = &self.links.merged_into {
                    return Err(LinkRefusal::AlreadyMerged(link.number).into());
                }
                if self.status_category == StatusCategory::Closed {
                    return Err(TicketError::Closed);
                }
                let closed = closed_status(config);
                decision.events.push(EventKind::MergedInto {
                    target_id: target.ticket_id,
                    target_number: target.number,
                    previous_status: self.status.clone(),
                });
                decision.events.push(EventKind::StatusChanged {
                    from: self.status.clone(),
                    to: closed,
                    category: StatusCategory::Closed,
                });
                decision.timers.push(self.link_timer(MERGE_TIMER, now));
            }
            TicketCommand::Unmerge => {
                let link = self.links.merged_into.as_ref().ok_or(LinkRefusal::NotMerged)?;
                if now > link.at + UNMERGE_WINDOW {
                    let days = UNMERGE_WINDOW.as_hours() / 24;
                    return Err(LinkRefusal::UnmergeExpired { target: link.number, days }.into());
                }
                // The status it had, if the account still has it.
                let restored = config
                    .status(&link.previous_status)
                    .or_else(|| config.status("open"))
                    .ok_or_else(|| TicketError::invalid("status", "the account has no `open` status"))?;
                decision.events.push(EventKind::Unmerged {
                    target_id: link.ticket_id,
                    target_number: link.number,
                    restored_status: restored.key.clone(),
                });
                decision.events.push(EventKind::StatusChanged {
                    from: self.status.clone(),
                    to: restored.key.clone(),
                    category: restored.category,
                });
                decision.timers.push(self.link_timer(MERGE_TIMER, now));
            }
            TicketCommand::AcceptMerge(merged) => {
                if self.links.merged_from.iter().any(|source| source.ticket_id == merged.source.ticket_id) {
                    return Ok(());
                }
                let tags_added: Vec<String> =
                    merged.tags.iter().filter(|tag| !self.tags.contains(tag)).cloned().collect();
                decision.events.push(EventKind::MergedIn {
                    source_id: merged.source.ticket_id,
                    source_number: merged.source.number,
                    message_ids: merged.message_ids.clone(),
                    tags_added: tags_added.clone(),
                    last_customer_at: merged.last_customer_at,
                    last_customer_channel: merged.last_customer_channel,
                });
                if !tags_added.is_empty() {
                    decision.events.push(EventKind::TagsChanged { added: tags_added, removed: Vec::new() });
                }
            }
            TicketCommand::ReleaseMerge { source_id } => {
                let Some(source) = self.links.merged_from.iter().find(|source| source.ticket_id == *source_id) else {
                    return Ok(());
                };
                // Only the tags the merge added and nobody removed since.
                let tags_removed: Vec<String> =
                    source.tags_added.iter().filter(|tag| self.tags.contains(tag)).cloned().collect();
                decision.events.push(EventKind::MergeUndone {
                    source_id: source.ticket_id,
                    source_number: source.number,
                    message_ids: source.message_ids.clone(),
                    tags_removed: tags_removed.clone(),
                });
                if !tags_removed.is_empty() {
                    decision.events.push(EventKind::TagsChanged { added: Vec::new(), removed: tags_removed });
                }
            }
            TicketCommand::RecordSplit { ticket, message_ids } if !self.links.split_to.contains(ticket) => {
                decision.events.push(EventKind::SplitTo {
                    new_ticket_id: ticket.ticket_id,
                    new_number: ticket.number,
                    message_ids: message_ids.clone(),
                });
            }
            // Recorded already, or not a link command.
            _ => {}
        }
        Ok(())
    }

    fn link_timer(&self, name: &str, now: Timestamp) -> crate::store::TimerChange {
        self.timer(name, Some(now + LINK_SETTLE_AFTER))
    }

    /// Folds a merge or split event into the state.
    pub(super) fn apply_link(&mut self, kind: &EventKind, at: Timestamp) {
        match kind {
            EventKind::MergedInto { target_id, target_number, previous_status } => {
                self.links.merged_into = Some(MergeLink {
                    ticket_id: *target_id,
                    number: *target_number,
                    at,
                    previous_status: previous_status.clone(),
                });
            }
            EventKind::Unmerged { .. } => {
                self.links.merged_into = None;
                self.closed_at = None;
            }
            EventKind::MergedIn {
                source_id,
                source_number,
                message_ids,
                tags_added,
                last_customer_at,
                last_customer_channel,
            } => {
                self.links.merged_from.push(MergedSource {
                    ticket_id: *source_id,
                    number: *source_number,
                    at,
                    message_ids: message_ids.clone(),
                    tags_added: tags_added.clone(),
                });
                // Replies go where the customer last wrote: the merged ticket's channel when they
                // wrote there last, or when this ticket had no channel a reply can take.
                if let Some(their_last) = *last_customer_at {
                    let newer = self.last_customer_message_at.is_none_or(|ours| ours < their_last);
                    if newer {
                        self.last_customer_message_at = Some(their_last);
                    }
                    if (newer || self.last_customer_channel.is_none()) && last_customer_channel.is_some() {
                        self.last_customer_channel = *last_customer_channel;
                    }
                }
            }
            EventKind::MergeUndone { source_id, .. } => {
                self.links.merged_from.retain(|source| source.ticket_id != *source_id);
            }
            EventKind::SplitTo { new_ticket_id, new_number, .. } => {
                self.links.split_to.push(LinkedTicket { ticket_id: *new_ticket_id, number: *new_number });
            }
            EventKind::SplitFrom { original_id, original_number, .. } => {
                self.links.split_from = Some(LinkedTicket { ticket_id: *original_id, number: *original_number });
            }
            _ => {}
        }
    }
}

/// The account's built-in closed status (every account has it).
fn closed_status(config: &AccountConfig) -> String {
    config
        .statuses
        .iter()
        .find(|status| status.builtin && status.category == StatusCategory::Closed)
        .map_or_else(|| StatusCategory::Closed.as_str().to_owned(), |status| status.key.clone())
}

/// The channels a reply can take, as a customer message records them: what
/// [`Ticket::last_customer_channel`] follows.
pub(super) fn reply_channel_of(channel: Channel) -> Option<Channel> {
    matches!(channel, Channel::Whatsapp | Channel::Email).then_some(channel)
}
