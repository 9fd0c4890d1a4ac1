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

    fn fresh_conversation(&self, from: &WhatsAppUser, now: Timestamp) -> Conversation {
        Conversation {
            id: 0,
            account_id: self.customer.account_id,
            phone_number_id: self.phone_number_id.clone(),
            customer_id: self.customer.id,
            wa_id: from.wa_id.clone(),
            user_key: from.key().unwrap_or_default().to_owned(),
            window_expires_at: None,
            last_inbound_at: None,
            current_ticket_id: None,
            opted_out: false,
            referral: None,
            updated_at: now,
        }
    }

    /// The open ticket to add to: the current one unless closed, or resolved too long ago. Asked
    /// of its actor (live while the customer writes, and about to take the message) rather than
    /// read from the store.
    async fn current_ticket(&self, conversation: &Conversation, now: Timestamp) -> Result<Option<Ticket>, TicketError> {
        let Some(id) = conversation.current_ticket_id else { return Ok(None) };
        let ticket = match self.shared.tickets.get(id).await {
            Ok(ticket) => ticket,
            Err(TicketError::NotFound) => return Ok(None),
            Err(error) => return Err(error),
        };
        let usable = match ticket.status_category {
            StatusCategory::Closed => false,
            StatusCategory::Resolved => {
                ticket.resolved_at.is_some_and(|at| now.duration_since(at) <= self.shared.settings.reopen_within)
            }
            _ => true,
        };
        Ok(usable.then_some(ticket))
    }

    async fn inbound(&mut self, message: InboundMessage) -> Result<Inbound, TicketError> {
        let now = self.now();
        let store = self.shared.store.clone();
        let mut conversation = match self.conversation.clone() {
            Some(conversation) => conversation,
            None => self.fresh_conversation(&message.from, now),
        };
        // The duplicate check and the current ticket are independent reads: one round trip.
        let (existing, current) = tokio::join!(
            store.message_by_provider(conversation.account_id, &message.wamid),
            self.current_ticket(&conversation, now)
        );
        if let Some(existing) = existing? {
            // Re-delivered by Meta (or re-processed after a crash): make sure the link is kept.
            if conversation.current_ticket_id != Some(existing.ticket_id) && conversation.current_ticket_id.is_none() {
                conversation.current_ticket_id = Some(existing.ticket_id);
                self.conversation = Some(store.save_conversation(&conversation).await?);
            }
            return Ok(Inbound::Duplicate { ticket_id: existing.ticket_id });
        }
        if let Some(changed) = &message.identity_change
            && let Some(key) = changed.key()
        {
            store.add_contact(self.customer.account_id, self.customer.id, Channel::Whatsapp, key).await?;
            conversation.user_key = key.to_owned();
            if changed.wa_id.is_some() {
                conversation.wa_id = changed.wa_id.clone();
            }
        }
        if message.from.wa_id.is_some() && message.identity_change.is_none() {
            conversation.wa_id = message.from.wa_id.clone();
        }
        let keyword = message.body.trim().to_uppercase();
        if self.shared.settings.stop_keywords.iter().any(|stop| stop.to_uppercase() == keyword) {
            conversation.opted_out = true;
        } else if self.shared.settings.start_keywords.iter().any(|start| start.to_uppercase() == keyword) {
            conversation.opted_out = false;
        }
        if conversation.referral.is_none() && message.payload.get("referral").is_some() {
            conversation.referral = message.payload.get("referral").cloned();
        }

        let before = window::state(conversation.window_expires_at, now, self.shared.settings.closing_lead);
        if message.renews_window {
            conversation.window_expires_at = Some(window::renew(conversation.window_expires_at, message.timestamp));
            conversation.last_inbound_at =
                Some(conversation.last_inbound_at.map_or(message.timestamp, |at| at.max(message.timestamp)));
        }
        let after = window::state(conversation.window_expires_at, now, self.shared.settings.closing_lead);

        // Window timers are (re)set when this actor has not set them yet or the window reopens;
        // they are written with the conversation save.
        let window_timers = conversation
            .window_expires_at
            .filter(|_| message.renews_window && (self.timers_for.is_none() || before == WindowState::Closed));
        let timers = window_timers.map(|until| self.window_timers(until)).unwrap_or_default();

        let context = self.context(Some(self.customer.id)).await?;
        let (ticket_id, new_ticket, saved) = match current? {
            Some(ticket) => {
                let new = NewMessage {
                    kind: MessageKind::Customer,
                    body: message.body.clone(),
                    channel: Some(Channel::Whatsapp),
                    attachments: pending_attachment(&message),
                    then_status: None,
                    payload: Some(message.payload.clone()),
                    provider_id: Some(message.wamid.clone()),
                };
                conversation.current_ticket_id = Some(ticket.id);
                conversation.updated_at = now;
                // Side by side, so both land in one group-committed transaction. The
                // conversation holds derived state only (window, current ticket): if the message
                // write fails, the redelivery or the inbox pass recomputes the same values.
                let (added, saved) = tokio::join!(
                    self.shared.tickets.execute(ticket.id, TicketCommand::AddMessage(new), context.clone()),
                    store.save_conversation_with_timers(&conversation, &timers)
                );
                added?;
                (ticket.id, false, Some(saved?))
            }
            None => {
                let subject: String = message.body.lines().next().unwrap_or_default().chars().take(80).collect();
                let subject =
                    if subject.trim().is_empty() { format!("WhatsApp from {}", self.customer.name) } else { subject };
                let draft = TicketDraft {
                    account_id: self.customer.account_id,
                    subject,
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
                    assignee_id: None,
                    team_id: None,
                    created_by: Some(self.customer.id),
                    first_payload: Some(message.payload.clone()),
                    first_provider_id: Some(message.wamid.clone()),
                    first_attachments: pending_attachment(&message),
                    // Recorded with the ticket: one commit fewer on a first contact.
                    window: Some(after.clone()),
                };
                let created = self.shared.tickets.create(draft, &context.config).await?;
                (created.ticket.id, true, None)
            }
        };
        let conversation = match saved {
            Some(saved) => saved,
            None => {
                // A new conversation gets its id in this write, its window timers with it.
                conversation.current_ticket_id = Some(ticket_id);
                conversation.updated_at = now;
                store.save_conversation_with_timers(&conversation, &timers).await?
            }
        };
        for (name, due) in timers {
            let owner = TimerOwner::new(TIMER_KIND, conversation.id);
            self.shared.tickets.timers().changed(TimerChange { owner, name: name.to_owned(), due_at: Some(due) });
        }
        if before != after && !new_ticket {
            self.shared.tickets.execute(ticket_id, TicketCommand::RecordWindow(after.clone()), context).await?;
        }
        if let Some(until) = window_timers {
            self.timers_for = Some(until);
        }
        self.conversation = Some(conversation);
        metrics::counter!("switchboard_whatsapp_inbound_total").increment(1);
        Ok(Inbound::Stored { ticket_id, new_ticket })
    }

    /// The two timers of a window open until `until`: "closing" a lead time before, "closed" at it.
    fn window_timers(&self, until: Timestamp) -> Vec<(&'static str, Timestamp)> {
        let closing = until.saturating_sub(self.shared.settings.closing_lead).unwrap_or(until);
        vec![(WINDOW_CLOSING, closing), (WINDOW_CLOSED, until)]
    }

    async fn schedule_window_timers(&self, conversation: &Conversation, until: Timestamp) -> Result<(), TicketError> {
        let owner = TimerOwner::new(TIMER_KIND, conversation.id);
        let changes: Vec<TimerChange> = self
            .window_timers(until)
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
            if !parameters.is_empty() {
                sent["components"] = json!([{"type": "body", "parameters": parameters}]);
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
            body["text"] = json!({"preview_url": false, "body": message.body});
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
