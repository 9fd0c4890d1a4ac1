//! The ConversationActor: one customer on one business number — the 24-hour window, the
//! current ticket, opt-out, and the sends that go out in order.

use super::*;

/// The conversation kind of actor (see [`crate::registry`]), keyed by (business number,
/// customer id).
pub struct ConversationActor {
    pub(super) shared: Arc<Shared>,
}

pub struct ConversationState {
    phone_number_id: String,
    customer: User,
    conversation: Option<Conversation>,
    shared: Arc<Shared>,
    /// Pair-rate pacing for this customer (reference §5.5).
    pacing: PairRate,
    /// The window end the stored timers point at. Timers are written when a window opens; a
    /// renewal only moves this in memory and the firing timer reschedules itself, so a busy
    /// conversation does not rewrite timers on every message.
    timers_for: Option<Timestamp>,
}

#[async_trait]
impl ActorKind for ConversationActor {
    type Key = (String, UserId);
    type Seed = ConversationSeed;
    type Loaded = Option<Conversation>;
    type Msg = ConversationMsg;
    type State = ConversationState;
    type Error = TicketError;
    const NAME: &'static str = "whatsapp_conversation";

    async fn load(
        &self,
        (phone_number_id, customer_id): &(String, UserId),
        seed: &ConversationSeed,
        why: Activation,
    ) -> Result<Option<Conversation>, TicketError> {
        // A customer created by this very message has no conversation to read yet.
        if seed.created && why == Activation::FirstUse {
            return Ok(None);
        }
        Ok(self.shared.store.conversation(phone_number_id, *customer_id).await?)
    }

    async fn start(
        &self,
        _myself: &Myself<ConversationMsg>,
        (phone_number_id, _): &(String, UserId),
        seed: ConversationSeed,
        conversation: Option<Conversation>,
    ) -> Result<ConversationState, TicketError> {
        let timers_for = conversation.as_ref().and_then(|conversation| conversation.window_expires_at);
        metrics::gauge!("switchboard_whatsapp_conversations_active").increment(1.0);
        Ok(ConversationState {
            phone_number_id: phone_number_id.clone(),
            customer: seed.customer,
            conversation,
            shared: self.shared.clone(),
            timers_for,
            pacing: PairRate::new(),
        })
    }

    fn stopped(&self, state: &mut ConversationState) {
        state.forget_customer();
        metrics::gauge!("switchboard_whatsapp_conversations_active").decrement(1.0);
    }

    async fn handle(
        &self,
        _myself: &Myself<ConversationMsg>,
        state: &mut ConversationState,
        message: ConversationMsg,
    ) -> Next {
        match message {
            ConversationMsg::Inbound(message, reply) => {
                let result = state.inbound(*message).await;
                let _ = reply.send(result);
            }
            ConversationMsg::Send(message, reply) => {
                let result = state.send(*message).await;
                let _ = reply.send(result);
            }
            ConversationMsg::Timer(name, reply) => {
                let result = state.timer(&name).await;
                let _ = reply.send(result);
            }
            ConversationMsg::Forget => return Next::Stop,
            ConversationMsg::WindowClosedByMeta => {
                let now = state.shared.clock.now();
                if let Err(error) = state.close_window(now).await {
                    tracing::warn!(%error, "could not record the closed window");
                }
            }
        }
        Next::Continue
    }
}

/// Most merge links followed from a conversation's ticket (merged tickets cannot be merge
/// targets, so one is the most a consistent store needs).
const MAX_MERGE_HOPS: usize = 4;

impl ConversationState {
    fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// Drops the customer from the address cache once the actor stopped, so the cache does not
    /// grow with every customer who ever wrote.
    fn forget_customer(&self) {
        // The cache is keyed by the sender's key (BSUID, else wa_id): both are on the conversation.
        if let Some(conversation) = &self.conversation {
            for address in [Some(&conversation.user_key), conversation.wa_id.as_ref()].into_iter().flatten() {
                self.shared.customers.remove_if(address, |_, user| user.id == self.customer.id);
            }
        }
    }

    async fn context(&self, actor: Option<UserId>) -> Result<CommandContext, TicketError> {
        Ok(CommandContext { actor_id: actor, config: self.shared.config().await?, expected_seq: None, seen_seq: None })
    }

    /// The conversation's current ticket as its actor reports it (live while the customer
    /// writes, and about to take the message) rather than as the store has it; `None` when it has
    /// none or the ticket is gone. Whether the message still belongs to it is
    /// [`rules::choose_ticket`]'s call.
    /// A ticket merged into another is followed to the one it went into (and on, if that one
    /// was merged too), so the customer's next message lands in the thread agents work on.
    async fn current_ticket(&self, conversation: &Conversation) -> Result<Option<CurrentTicket>, TicketError> {
        let Some(mut id) = conversation.current_ticket_id else { return Ok(None) };
        for _ in 0..MAX_MERGE_HOPS {
            match self.shared.tickets.get(id).await {
                Ok(ticket) => match &ticket.links.merged_into {
                    Some(link) => id = link.ticket_id,
                    None => return Ok(Some(CurrentTicket::from(&ticket))),
                },
                Err(TicketError::NotFound) => return Ok(None),
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }

    /// Reads what [`rules::decide`] needs, then performs its decision: the message onto its
    /// ticket (or a new ticket), the conversation saved with its window timers, the window
    /// recorded on the ticket.
    async fn inbound(&mut self, message: InboundMessage) -> Result<Inbound, TicketError> {
        let now = self.now();
        let store = self.shared.store.clone();
        let conversation = match self.conversation.clone() {
            Some(conversation) => conversation,
            None => rules::fresh_conversation(
                self.customer.account_id,
                &self.phone_number_id,
                self.customer.id,
                &message.from,
                now,
            ),
        };
        // The duplicate check and the current ticket are independent reads: one round trip.
        let (existing, current) = tokio::join!(
            store.message_by_provider(conversation.account_id, &message.wamid),
            self.current_ticket(&conversation)
        );
        if let Some(existing) = existing? {
            // Re-delivered by Meta (or re-processed after a crash): make sure the link is kept.
            if let Some(ticket_id) = rules::relink_duplicate(conversation.current_ticket_id, existing.ticket_id) {
                let relinked = Conversation { current_ticket_id: Some(ticket_id), ..conversation };
                self.conversation = Some(store.save_conversation(&relinked).await?);
            }
            return Ok(Inbound::Duplicate { ticket_id: existing.ticket_id });
        }
        if let Some(key) = rules::new_contact(&message) {
            store.add_contact(self.customer.account_id, self.customer.id, Channel::Whatsapp, key).await?;
        }
        let current = current?;
        // Followed a merge: the conversation continues on the ticket it was merged into.
        let conversation = match &current {
            Some(ticket) if conversation.current_ticket_id != Some(ticket.id) => {
                Conversation { current_ticket_id: Some(ticket.id), ..conversation }
            }
            _ => conversation,
        };
        let context = self.context(Some(self.customer.id)).await?;
        let facts = ConversationFacts {
            conversation: &conversation,
            current,
            timers_for: self.timers_for,
            customer_name: &self.customer.name,
        };
        let decision = rules::decide(&facts, &message, &self.shared.settings, now);
        let timers = decision.timers(self.shared.settings.closing_lead);
        let mut conversation = decision.conversation.clone();

        let (ticket_id, saved) = match &decision.ticket {
            TicketChoice::Append(id) | TicketChoice::Reopen(id) => {
                let new = NewMessage {
                    kind: MessageKind::Customer,
                    body: message.body.clone(),
                    channel: Some(Channel::Whatsapp),
                    attachments: pending_attachment(&message),
                    then_status: None,
                    payload: Some(message.payload.clone()),
                    provider_id: Some(message.wamid.clone()),
                    window_until: decision.window_until(),
                };
                // Side by side, so both land in one group-committed transaction. The
                // conversation holds derived state only (window, current ticket): if the message
                // write fails, the redelivery or the inbox pass recomputes the same values.
                let (added, saved) = tokio::join!(
                    self.shared.tickets.execute(*id, TicketCommand::AddMessage(new), context.clone()),
                    store.save_conversation_with_timers(&conversation, &timers)
                );
                added?;
                (*id, Some(saved?))
            }
            TicketChoice::Open { subject } => {
                let draft = TicketDraft {
                    account_id: self.customer.account_id,
                    subject: subject.clone(),
                    body: Some(message.body.clone()),
                    body_kind: MessageKind::Customer,
                    status: None,
                    urgency: Level::Medium,
                    importance: Level::Medium,
                    ticket_type: None,
                    category_id: None,
                    tags: vec!["whatsapp".to_owned()],
                    custom_fields: CustomFields::new(),
                    channel: Channel::Whatsapp,
                    requester_id: self.customer.id,
                    company_id: self.customer.company_id,
                    minimum_priority: crate::companies::sla_tier(
                        &*store,
                        self.customer.account_id,
                        self.customer.company_id,
                    )
                    .await?,
                    assignee_id: None,
                    team_id: None,
                    created_by: Some(self.customer.id),
                    first_payload: Some(message.payload.clone()),
                    first_provider_id: Some(message.wamid.clone()),
                    first_attachments: pending_attachment(&message),
                    // Recorded with the ticket: one commit fewer on a first contact.
                    window: Some(decision.window.after.clone()),
                };
                let created = self.shared.tickets.create(draft, &context.config).await?;
                (created.ticket.id, None)
            }
        };
        let conversation = match saved {
            Some(saved) => saved,
            None => {
                // A new conversation gets its id in this write, its window timers with it.
                conversation.current_ticket_id = Some(ticket_id);
                store.save_conversation_with_timers(&conversation, &timers).await?
            }
        };
        for (name, due) in timers {
            let owner = TimerOwner::new(TIMER_KIND, conversation.id);
            self.shared.tickets.timers().changed(TimerChange { owner, name: name.to_owned(), due_at: Some(due) });
        }
        if let Some(window) = decision.window_to_record() {
            self.shared.tickets.execute(ticket_id, TicketCommand::RecordWindow(window.clone()), context).await?;
        }
        if let Some(until) = decision.window.timers_until {
            self.timers_for = Some(until);
        }
        self.conversation = Some(conversation);
        metrics::counter!("switchboard_whatsapp_inbound_total").increment(1);
        Ok(Inbound::Stored { ticket_id, new_ticket: decision.new_ticket() })
    }

    async fn schedule_window_timers(&self, conversation: &Conversation, until: Timestamp) -> Result<(), TicketError> {
        let owner = TimerOwner::new(TIMER_KIND, conversation.id);
        let changes: Vec<TimerChange> = rules::window_timers(until, self.shared.settings.closing_lead)
            .into_iter()
            .map(|(name, due)| TimerChange { owner: owner.clone(), name: name.to_owned(), due_at: Some(due) })
            .collect();
        // Side by side: both land in one group-committed transaction.
        let (closing_set, closed_set) =
            tokio::join!(self.shared.store.set_timer(&changes[0]), self.shared.store.set_timer(&changes[1]));
        closing_set?;
        closed_set?;
        for change in changes {
            self.shared.tickets.timers().changed(change);
        }
        Ok(())
    }

    async fn timer(&mut self, name: &str) -> Result<(), TicketError> {
        let now = self.now();
        let Some(conversation) = self.conversation.clone() else { return Ok(()) };
        let owner = TimerOwner::new(TIMER_KIND, conversation.id);
        self.shared.store.set_timer(&TimerChange { owner, name: name.to_owned(), due_at: None }).await?;
        let state = window::state(conversation.window_expires_at, now, self.shared.settings.closing_lead);
        if let (WindowState::Open { until } | WindowState::Closing { until }, WINDOW_CLOSED) = (&state, name) {
            // Renewed since the timers were set: follow the window.
            self.schedule_window_timers(&conversation, *until).await?;
            self.timers_for = Some(*until);
        } else if let (WindowState::Open { until }, WINDOW_CLOSING) = (&state, name) {
            let change = TimerChange {
                owner: TimerOwner::new(TIMER_KIND, conversation.id),
                name: WINDOW_CLOSING.to_owned(),
                due_at: Some(until.saturating_sub(self.shared.settings.closing_lead).unwrap_or(*until)),
            };
            self.shared.store.set_timer(&change).await?;
            self.shared.tickets.timers().changed(change);
        }
        let announce = matches!(
            (name, &state),
            (WINDOW_CLOSING, WindowState::Closing { .. }) | (WINDOW_CLOSED, WindowState::Closed)
        );
        if announce && let Some(ticket) = conversation.current_ticket_id {
            let context = self.context(None).await?;
            self.shared.tickets.execute(ticket, TicketCommand::RecordWindow(state), context).await?;
        }
        Ok(())
    }

    async fn close_window(&mut self, now: Timestamp) -> Result<(), TicketError> {
        let Some(mut conversation) = self.conversation.clone() else { return Ok(()) };
        if conversation.window_expires_at.is_some_and(|until| until <= now) {
            return Ok(());
        }
        conversation.window_expires_at = Some(now);
        conversation.updated_at = now;
        let conversation = self.shared.store.save_conversation(&conversation).await?;
        if let Some(ticket) = conversation.current_ticket_id {
            let context = self.context(None).await?;
            self.shared.tickets.execute(ticket, TicketCommand::RecordWindow(WindowState::Closed), context).await?;
        }
        self.conversation = Some(conversation);
        Ok(())
    }

    /// The Graph API body for an outbound message: its payload (template, interactive,
    /// reaction, quoted reply) or plain text.
    fn graph_body(&self, message: &Message, to: &str, media_id: Option<&str>) -> Value {
        let payload = message.payload.clone().unwrap_or(Value::Null);
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to});
        if let (Some(media_id), Some(file)) = (media_id, message.attachments.first()) {
            let kind = match file.content_type.split('/').next().unwrap_or_default() {
                "image" if file.content_type == "image/webp" => "sticker",
                kind @ ("image" | "audio" | "video") => kind,
                _ => "document",
            };
            let mut media = json!({"id": media_id});
            // Audio and stickers take no caption.
            if !message.body.trim().is_empty() && !matches!(kind, "audio" | "sticker") {
                media["caption"] = json!(message.body);
            }
            if kind == "document" {
                media["filename"] = json!(file.file_name);
            }
            body["type"] = json!(kind);
            body[kind] = media;
        } else if let Some(template) = payload.get("template") {
            body["type"] = json!("template");
            let parameters: Vec<Value> = template
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|value| json!({"type": "text", "text": value}))
                .collect();
            let mut sent = json!({"name": template["name"], "language": {"code": template["language"]}});
            let mut components = Vec::new();
            if !parameters.is_empty() {
                components.push(json!({"type": "body", "parameters": parameters}));
            }
            // Quick-reply buttons whose payloads come back with the tap (a CSAT survey's scores).
            let buttons = template.get("buttons").and_then(Value::as_array).into_iter().flatten();
            for (index, payload) in buttons.enumerate() {
                components.push(json!({"type": "button", "sub_type": "quick_reply", "index": index.to_string(),
                    "parameters": [{"type": "payload", "payload": payload}]}));
            }
            if !components.is_empty() {
                sent["components"] = Value::Array(components);
            }
            body["template"] = sent;
        } else if let Some(interactive) = payload.get("interactive") {
            body["type"] = json!("interactive");
            body["interactive"] = interactive.clone();
        } else if let Some(reaction) = payload.get("reaction") {
            body["type"] = json!("reaction");
            body["reaction"] = reaction.clone();
        } else {
            body["type"] = json!("text");
            // The agent's markdown as WhatsApp's own formatting (the text as written without any).
            body["text"] = json!({"preview_url": false, "body": crate::markdown::to_whatsapp(&message.body)});
        }
        if let Some(quoted) = payload.get("reply_to").and_then(Value::as_str) {
            body["context"] = json!({"message_id": quoted});
        }
        body
    }

    async fn send(&mut self, message: Message) -> Result<(), TicketError> {
        let store = self.shared.store.clone();
        let now = self.now();
        let mut attempt = store.send_state(&message.id).await?.unwrap_or_else(|| SendState::fresh(&message));
        if attempt.done || message.provider_id.is_some() {
            return Ok(());
        }
        if let Err(wait) = self.pacing.take(std::time::Instant::now()) {
            // Too many messages to this customer just now: defer (durably; the sweep sends it).
            attempt.defer_until(now.saturating_add(SignedDuration::try_from(wait).unwrap_or_default()).ok());
            store.save_send_state(&attempt).await?;
            metrics::counter!("switchboard_whatsapp_paced_total").increment(1);
            return Ok(());
        }
        let to = self
            .conversation
            .as_ref()
            .and_then(|conversation| conversation.wa_id.clone())
            .or_else(|| self.customer.phone.as_ref().map(|phone| phone.trim_start_matches('+').to_owned()))
            .ok_or_else(|| TicketError::invalid("channel", "the customer's WhatsApp number is unknown"))?;
        attempt.start(None);
        let uploaded = match message.attachments.first() {
            Some(file) => self.shared.graph.upload(&self.phone_number_id, file).await.map(Some),
            None => Ok(None),
        };
        let sent = match uploaded {
            Ok(media_id) => {
                let body = self.graph_body(&message, &format!("+{to}"), media_id.as_deref());
                self.shared.graph.send(&self.phone_number_id, &body).await
            }
            Err(error) => Err(error),
        };
        let error = match sent {
            Ok(wamid) => {
                store.set_message_provider(&message.id, &wamid).await?;
                attempt.wamid = Some(wamid.clone());
                attempt.settle();
                store.save_send_state(&attempt).await?;
                metrics::counter!("switchboard_whatsapp_sent_total").increment(1);
                self.apply_pending(&wamid).await;
                return Ok(());
            }
            Err(error) => error,
        };
        let policy = &self.shared.settings.send_retry;
        match attempt.failed(policy, error.retryable(), now) {
            Some(_) => {
                store.save_send_state(&attempt).await?;
                metrics::counter!("switchboard_whatsapp_send_retries_total").increment(1);
                let wait = policy.delay(attempt.attempts).as_secs();
                tracing::info!(message_id = %message.id, code = error.code, wait, "send deferred");
                Ok(())
            }
            None => {
                store.save_send_state(&attempt).await?;
                if error.code == 131047 {
                    self.close_window(now).await?;
                }
                let (meaning, _) = explain(error.code);
                let failure =
                    DeliveryError { code: error.code, title: error.title.clone(), explanation: meaning.to_owned() };
                let command = TicketCommand::RecordDelivery {
                    message_id: message.id.clone(),
                    status: DeliveryStatus::Failed,
                    provider_id: None,
                    error: Some(failure),
                };
                let context = self.context(None).await?;
                self.shared.tickets.execute(message.ticket_id, command, context).await?;
                metrics::counter!("switchboard_whatsapp_send_failures_total").increment(1);
                Ok(())
            }
        }
    }

    /// Statuses that arrived before the send completed.
    async fn apply_pending(&mut self, wamid: &str) {
        let Ok(pending) = self.shared.store.take_pending_statuses(wamid).await else { return };
        // Statuses only move forward, so the furthest one is all that matters.
        let best = pending
            .iter()
            .filter_map(|body| serde_json::from_str::<StatusUpdate>(body).ok())
            .max_by_key(|status| status.status.rank());
        let Some(best) = best else { return };
        if let Err(error) = self.apply_status(&best).await {
            tracing::warn!(%error, wamid, "could not apply a buffered status");
        }
    }

    /// [`Conversations::status`] for a message this conversation sent: a closed window is this
    /// conversation's own.
    async fn apply_status(&mut self, status: &StatusUpdate) -> Result<(), TicketError> {
        let Some(message) = self.shared.message_advanced_by(status).await? else { return Ok(()) };
        if closes_the_window(status) {
            self.close_window(self.now()).await?;
        }
        self.shared.record_delivery(&message, status).await
    }
}

/// The placeholder address of a WhatsApp customer (users need a unique email).
pub(super) fn whatsapp_email(key: &str) -> String {
    format!("wa-{}@whatsapp.invalid", key.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-"))
}

/// The attachment an inbound media message starts with: known, not yet fetched.
pub(super) fn pending_attachment(message: &InboundMessage) -> Vec<Attachment> {
    message
        .media
        .iter()
        .map(|media| Attachment {
            file_name: media
                .filename
                .clone()
                .unwrap_or_else(|| format!("{}-{}", media.kind, message.wamid.trim_start_matches("wamid."))),
            content_type: media.mime_type.clone().unwrap_or_else(|| "application/octet-stream".to_owned()),
            size: 0,
            url: String::new(),
            status: "pending".to_owned(),
            media_id: Some(media.media_id.clone()),
            attempts: 0,
            error: None,
        })
        .collect()
}
