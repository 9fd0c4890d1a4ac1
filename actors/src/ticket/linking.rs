//! Merging, unmerging and splitting: two tickets, two actors, two commits, in an order that
//! loses nothing if the process dies between them.
//!
//! - **Merge / unmerge**: the source commits first (`merged_into` or `unmerged`, with its status,
//!   and a durable [`MERGE_TIMER`]), then the target follows (`merged_in`, which moves the
//!   messages, or `merge_undone`, which moves them back). The source's log is the truth of
//!   whether it is merged; the target only follows it.
//! - **Split**: the new ticket is created first, taking the messages in its creation commit
//!   (`split_from`, with a durable [`SPLIT_TIMER`]), then the original records `split_to`.
//!
//! Either way a message belongs to exactly one ticket at every moment, and the first commit's
//! timer finishes the second one after a crash ("settling": idempotent, so the request and the
//! timer may both do it). A settled link clears its timer.

use super::links::{MERGE_TIMER, SPLIT_TIMER, check_merge, check_split};
use super::*;
use crate::domain::{EventKind, LinkedTicket, MessageKind, TicketEvent};

/// Most events read back from a ticket's log to find its latest merge or split.
const LOG_SCAN: i64 = 100_000;

/// Both sides of a merge or split, as the request changed them.
#[derive(Clone, Debug)]
pub struct LinkOutcome {
    /// The ticket the request named (the merged ticket, or the one split).
    pub ticket: CommandOutcome,
    /// The other one (the merge target, or the new ticket).
    pub other: CommandOutcome,
}

impl Tickets {
    /// Merges `source_id` into `target_id` (both of one account; `force` merges tickets of
    /// different requesters).
    pub async fn merge(
        &self,
        source_id: TicketId,
        target_id: TicketId,
        force: bool,
        context: CommandContext,
    ) -> Result<LinkOutcome, TicketError> {
        let _one_at_a_time = self.links_lock.lock().await;
        let source = self.get(source_id).await?;
        let target = self.get(target_id).await?;
        if source.account_id != target.account_id {
            return Err(TicketError::NotFound);
        }
        check_merge(&source, &target, force)?;
        let link = LinkedTicket { ticket_id: target.id, number: target.number };
        let first = self.execute(source_id, TicketCommand::MergeInto { target: link }, context.clone()).await?;
        let other = self.settle_merge(source_id, &context).await?;
        Ok(LinkOutcome { ticket: first, other: other.unwrap_or(CommandOutcome { ticket: target, events: Vec::new() }) })
    }

    /// Undoes the merge of `source_id` (within [`UNMERGE_WINDOW`](super::UNMERGE_WINDOW)).
    pub async fn unmerge(&self, source_id: TicketId, context: CommandContext) -> Result<LinkOutcome, TicketError> {
        let _one_at_a_time = self.links_lock.lock().await;
        let first = self.execute(source_id, TicketCommand::Unmerge, context.clone()).await?;
        let other = self.settle_merge(source_id, &context).await?.ok_or(TicketError::NotFound)?;
        Ok(LinkOutcome { ticket: first, other })
    }

    /// Splits `message_ids` off `ticket_id` into a new ticket for the same requester.
    pub async fn split(
        &self,
        ticket_id: TicketId,
        message_ids: Vec<String>,
        subject: Option<String>,
        context: CommandContext,
    ) -> Result<LinkOutcome, TicketError> {
        let _one_at_a_time = self.links_lock.lock().await;
        let original = self.get(ticket_id).await?;
        let thread = self.runtime.store.ticket_messages(ticket_id).await?;
        check_split(&original, &thread, &message_ids)?;
        let draft = TicketDraft {
            account_id: original.account_id,
            subject: subject.unwrap_or_else(|| original.subject.clone()),
            body: None,
            body_kind: MessageKind::Customer,
            status: Some("open".to_owned()),
            urgency: original.urgency,
            importance: original.importance,
            ticket_type: original.ticket_type.clone(),
            category_id: original.category_id,
            tags: original.tags.clone(),
            custom_fields: Default::default(),
            channel: original.channel,
            requester_id: original.requester_id,
            company_id: original.company_id,
            // As pressing as the ticket it came from (which a company tier may have raised).
            minimum_priority: Some(original.priority),
            assignee_id: original.assignee_id,
            team_id: original.team_id,
            created_by: context.actor_id,
            first_payload: None,
            first_provider_id: None,
            first_attachments: Vec::new(),
            window: None,
        };
        let now = self.runtime.clock.now();
        let (mut ticket, mut events, messages) = open_ticket(draft, &context.config, now)?;
        let from = EventKind::SplitFrom { original_id: ticket_id, original_number: original.number, message_ids };
        events.extend(ticket.append(vec![from], context.actor_id, now));
        let mut timers = sla_timer_of_new(&ticket);
        timers.push(ticket.timer(SPLIT_TIMER, Some(now + super::LINK_SETTLE_AFTER)));
        let created = self.create_commit(TicketCommit { ticket, events, messages, timers }, &context.config).await?;
        let recorded = self.settle_split(created.ticket.id, &context).await?;
        Ok(LinkOutcome {
            ticket: recorded.unwrap_or(CommandOutcome { ticket: original, events: Vec::new() }),
            other: created,
        })
    }

    /// Brings the target of `source_id`'s latest merge in line with the source (merged in, or
    /// given back), then clears the source's merge timer. The target's outcome, if it had one.
    pub(super) async fn settle_merge(
        &self,
        source_id: TicketId,
        context: &CommandContext,
    ) -> Result<Option<CommandOutcome>, TicketError> {
        let source = self.get(source_id).await?;
        let log = self.runtime.store.ticket_events(source_id, 0, LOG_SCAN).await?;
        let latest = log.iter().rev().find_map(|event| match &event.kind {
            EventKind::MergedInto { target_id, .. } => Some((*target_id, true)),
            EventKind::Unmerged { target_id, .. } => Some((*target_id, false)),
            _ => None,
        });
        let outcome = match (latest, &source.links.merged_into) {
            (Some((target_id, true)), Some(_)) => {
                let thread = self.runtime.store.ticket_messages(source_id).await?;
                let merged = MergedTicket {
                    source: LinkedTicket { ticket_id: source.id, number: source.number },
                    message_ids: thread.iter().map(|message| message.id.clone()).collect(),
                    tags: source.tags.clone(),
                    last_customer_at: source.last_customer_message_at,
                    last_customer_channel: source.last_customer_channel,
                };
                Some(self.execute(target_id, TicketCommand::AcceptMerge(merged), context.clone()).await?)
            }
            (Some((target_id, _)), _) => {
                Some(self.execute(target_id, TicketCommand::ReleaseMerge { source_id }, context.clone()).await?)
            }
            (None, _) => None,
        };
        let clear = TicketCommand::FireTimer { name: MERGE_TIMER.to_owned() };
        self.execute(source_id, clear, CommandContext::system(context.config.clone())).await?;
        Ok(outcome)
    }

    /// Makes the ticket `split_id` was split from record the split, then clears its timer. The
    /// original's outcome, if it was split from one.
    pub(super) async fn settle_split(
        &self,
        split_id: TicketId,
        context: &CommandContext,
    ) -> Result<Option<CommandOutcome>, TicketError> {
        let split = self.get(split_id).await?;
        let log = self.runtime.store.ticket_events(split_id, 0, LOG_SCAN).await?;
        let from = log.iter().find_map(|event: &TicketEvent| match &event.kind {
            EventKind::SplitFrom { original_id, message_ids, .. } => Some((*original_id, message_ids.clone())),
            _ => None,
        });
        let outcome = match from {
            Some((original, message_ids)) => {
                let ticket = LinkedTicket { ticket_id: split.id, number: split.number };
                let record = TicketCommand::RecordSplit { ticket, message_ids };
                Some(self.execute(original, record, context.clone()).await?)
            }
            None => None,
        };
        let clear = TicketCommand::FireTimer { name: SPLIT_TIMER.to_owned() };
        self.execute(split_id, clear, CommandContext::system(context.config.clone())).await?;
        Ok(outcome)
    }

    /// A merge or split timer fired: the request that set it did not finish (or is finishing
    /// now; settling twice changes nothing).
    pub(super) async fn settle(
        &self,
        ticket_id: TicketId,
        name: &str,
        context: &CommandContext,
    ) -> Result<(), TicketError> {
        let _one_at_a_time = self.links_lock.lock().await;
        match name {
            MERGE_TIMER => self.settle_merge(ticket_id, context).await.map(|_| ()),
            SPLIT_TIMER => self.settle_split(ticket_id, context).await.map(|_| ()),
            _ => Ok(()),
        }
    }
}
