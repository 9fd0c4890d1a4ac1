//! Delivery: committed changes to ticket and queue subscribers, exactly once and in order per
//! ticket (replay, then live, with gaps filled from the store), queue resumes, replay limits.

use super::*;

impl Hub {
    /// Delivers one committed change to this node's subscribers.
    pub fn deliver(self: &Arc<Self>, change: &Arc<TicketChange>) {
        let ticket = &change.ticket;
        // The tail first, then the subscribers: a replay that reads the tail after registering
        // its subscription either finds these events there or is offered them below.
        if self.ticket_subs.contains_key(&ticket.id) {
            self.ticket_tails.entry(ticket.id).or_default().record(&change.events);
        }
        if let Some(subs) = self.ticket_subs.get(&ticket.id).map(|subs| subs.clone()) {
            // Each event's frame is built once per audience (staff, customers) for all of the
            // ticket's subscribers: a busy ticket followed by a thousand agents serialized it a
            // thousand times.
            let mut frames: Vec<[Option<Frame>; 2]> = vec![[None, None]; change.events.len()];
            let now = self.now();
            for sub in subs {
                for (event, built) in change.events.iter().zip(frames.iter_mut()) {
                    self.offer(&sub, event, |staff| {
                        built[usize::from(staff)]
                            .get_or_insert_with(|| {
                                let config = self.audience_config(staff, event.account_id);
                                event_frame(staff, &config, &sub.topic, event, now)
                            })
                            .clone()
                    });
                }
            }
        }
        if let Some(subs) = self.queue_subs.get(&ticket.account_id).map(|subs| subs.clone()) {
            let own = subs.into_iter().filter(|socket| !socket.staff() || in_own_queue(&socket.user, change));
            self.send_queue_frames(change, "queue", own);
        }
        if let Some(subs) = self.queue_all_subs.get(&ticket.account_id).map(|subs| subs.clone()) {
            self.send_queue_frames(change, "queue:all", subs.into_iter());
        }
        self.offer_to_views(change);
        if change
            .events
            .iter()
            .any(|event| matches!(event.kind, EventKind::Assigned { .. } | EventKind::StatusChanged { .. }))
        {
            self.refresh_loads(change);
        }
    }

    /// Sends `change` as `topic` frames to those of `sockets` allowed to see its ticket, each frame
    /// built once per audience (staff, customers).
    fn send_queue_frames(&self, change: &TicketChange, topic: &str, sockets: impl Iterator<Item = Arc<SocketEntry>>) {
        let ticket = &change.ticket;
        let mut frames: [Option<Vec<Frame>>; 2] = [None, None];
        for socket in sockets.filter(|socket| socket.scope.allows(ticket)) {
            let staff = socket.staff();
            let frames = frames[usize::from(staff)].get_or_insert_with(|| {
                let config = self.audience_config(staff, ticket.account_id);
                let now = self.now();
                let row = if staff {
                    TicketRow::staff(ticket)
                } else {
                    TicketRow::customer(&customer_ticket(ticket.clone(), &config))
                };
                change.events.iter().map(|event| list_event_frame(staff, &config, topic, event, &row, now)).collect()
            });
            for frame in frames.iter() {
                self.send(&socket, frame.clone());
            }
        }
    }

    /// Agents whose open-ticket count may have changed recount it.
    pub(super) fn refresh_loads(&self, change: &TicketChange) {
        let Some(agents) = self.agents.get() else { return };
        let mut affected = vec![change.ticket.assignee_id];
        for event in &change.events {
            if let EventKind::Assigned { from_assignee_id, .. } = event.kind {
                affected.push(from_assignee_id);
            }
        }
        for user in affected.into_iter().flatten() {
            agents.send(user, switchboard_actors::agent::AgentMsg::RefreshLoad);
        }
    }

    /// Offers one event to a ticket subscription, keeping its order exactly once; `frame` gives
    /// the event's frame for an audience (staff or not) when it is to be sent.
    pub(super) fn offer(
        self: &Arc<Self>,
        sub: &Arc<TicketSub>,
        event: &TicketEvent,
        frame: impl FnOnce(bool) -> Frame,
    ) {
        let mut cursor = lock(&sub.cursor);
        match cursor.offer(event) {
            Offer::Deliver => {
                // Sent under the cursor's lock, so frames leave in seq order.
                self.send(&sub.socket, frame(sub.socket.staff()));
            }
            Offer::Gap => {
                // Something was missed (a lost broker message): fetch it before going on.
                drop(cursor);
                self.spawn_catch_up(sub.clone());
            }
            Offer::Parked | Offer::Duplicate => {}
        }
    }

    pub(super) fn spawn_catch_up(self: &Arc<Self>, sub: Arc<TicketSub>) {
        let hub = self.clone();
        tokio::spawn(async move { hub.catch_up(&sub).await });
    }

    /// The account's configuration as far as the audience needs it: staff see every field, so
    /// they need none; customers' frames are cut by it (all custom fields hidden until it is read).
    pub(super) fn audience_config(&self, staff: bool, account: AccountId) -> Arc<AccountConfig> {
        static NONE_NEEDED: std::sync::LazyLock<Arc<AccountConfig>> = std::sync::LazyLock::new(Arc::default);
        if staff {
            return NONE_NEEDED.clone();
        }
        self.accounts.cached(account).unwrap_or_default()
    }

    /// Sends what the subscription misses from the store, then the parked live events, then
    /// goes live.
    pub(super) async fn catch_up(self: &Arc<Self>, sub: &Arc<TicketSub>) {
        loop {
            if sub.socket.killed.load(Ordering::SeqCst) || !self.sockets.contains_key(&sub.socket.id) {
                return;
            }
            let from = lock(&sub.cursor).seq;
            let events = match self.store.ticket_events(sub.ticket_id, from, CATCH_UP_PAGE).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(ticket_id = sub.ticket_id, %error, "catch-up read failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            match self.advance(sub, &events) {
                Advance::Live => return,
                Advance::More => {}
                Advance::Waiting => {
                    // Parked events are ahead of what the store has shown yet; look again shortly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Sends `events` read from the store, then parked live events that follow on; goes live
    /// when nothing is missing.
    pub(super) fn advance(&self, sub: &TicketSub, events: &[TicketEvent]) -> Advance {
        let mut cursor = lock(&sub.cursor);
        let staff = sub.socket.staff();
        let config = self.audience_config(staff, sub.socket.user.account_id);
        cursor.advance(events, CATCH_UP_PAGE as usize, |event| {
            self.send(&sub.socket, event_frame(staff, &config, &sub.topic, event, self.now()));
        })
    }

    pub(super) fn catch_up_everything(self: &Arc<Self>, reason: &str) {
        metrics::counter!("switchboard_ws_resyncs_total").increment(1);
        let subs: Vec<Arc<TicketSub>> = self.ticket_subs.iter().flat_map(|entry| entry.value().clone()).collect();
        for sub in subs {
            let starts = lock(&sub.cursor).start_catch_up();
            if starts {
                self.spawn_catch_up(sub);
            }
        }
        // Queue listeners resume from their own cursor.
        for (subs, topic) in [(&self.queue_subs, "queue"), (&self.queue_all_subs, "queue:all")] {
            let frame = Frame::control(&ControlFrame::Resync { topic, reason });
            let sockets: Vec<Arc<SocketEntry>> = subs.iter().flat_map(|entry| entry.value().clone()).collect();
            for socket in sockets {
                self.send(&socket, frame.clone());
            }
        }
    }

    /// `subscribe {topic: "ticket:<id>", after}`: replay after `after` (or from the current head),
    /// then live, with no gap and no duplicate at the seam.
    pub async fn subscribe_ticket(
        self: &Arc<Self>,
        socket: &Arc<SocketEntry>,
        ticket_id: TicketId,
        after: Option<i64>,
    ) -> Result<(), Frame> {
        // The store's copy, not the tail's: its seq is the head a replay must reach, and a node
        // can be behind it (changes of a node that died before relaying them).
        let ticket = self
            .store
            .ticket(ticket_id)
            .await
            .map_err(|_| error(ErrorCode::Unavailable, "the store did not answer; try again"))?;
        let ticket = ticket
            .filter(|ticket| ticket.account_id == socket.user.account_id && socket.scope.allows(ticket))
            .ok_or_else(|| error(ErrorCode::ForbiddenTopic, "no such ticket, or not yours to follow"))?;
        if after.is_some_and(|after| after < 0) {
            return Err(error(ErrorCode::InvalidFrame, "`after` must be 0 or more"));
        }
        let topic = Topic::Ticket(ticket_id).name();
        if self.ticket_subs.get(&ticket_id).is_some_and(|subs| subs.iter().any(|sub| sub.socket.id == socket.id)) {
            return Err(error(ErrorCode::AlreadySubscribed, "this socket already follows that ticket"));
        }
        // Registered before the replay is read, so nothing committed from now on is missed;
        // live events wait in `pending` until the replay is through.
        let start = after.unwrap_or(ticket.seq).min(ticket.seq);
        let _replay = if start < ticket.seq {
            Some(self.start_replay(socket.user.id).ok_or_else(|| {
                error(
                    ErrorCode::TooManyReplays,
                    "this user is already catching up on several tickets; try again shortly",
                )
            })?)
        } else {
            None
        };
        let sub = Arc::new(TicketSub {
            socket: socket.clone(),
            ticket_id,
            topic: topic.clone(),
            cursor: Mutex::new(Cursor::replaying_from(start)),
        });
        self.ticket_subs.entry(ticket_id).or_default().push(sub.clone());
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: &topic, seq: Some(start), cursor: None }));
        // Read after the subscription was registered (see `deliver`), so nothing falls between.
        let from_tail = self.ticket_tails.get(&ticket_id).and_then(|tail| tail.after(start, ticket.seq));
        let live = match from_tail {
            Some(events) => {
                metrics::counter!("switchboard_ws_replays_from_memory_total").increment(1);
                self.advance(&sub, &events) == Advance::Live
            }
            None => false,
        };
        if !live {
            self.catch_up(&sub).await;
        }
        self.send(socket, self.viewers_frame(socket.user.account_id, ticket_id, socket.staff()));
        Ok(())
    }

    /// Counts a replay of `user` for as long as the guard lives; `None` at the limit.
    pub(super) fn start_replay(self: &Arc<Self>, user: UserId) -> Option<ReplayGuard> {
        let mut running = self.replays_per_user.entry(user).or_insert(0);
        if *running >= self.settings.max_replays_per_user {
            return None;
        }
        *running += 1;
        Some(ReplayGuard { hub: self.clone(), user })
    }

    /// `subscribe {topic: "queue" | "queue:all", after}`: every change of the user's own queue
    /// (or, for supervisors and admins, of the whole account) from now on; with `after` (a
    /// `cursor` from an earlier frame) first the tickets changed since, as snapshots.
    pub async fn subscribe_queue(
        self: &Arc<Self>,
        socket: &Arc<SocketEntry>,
        after: Option<i64>,
        whole_account: bool,
    ) -> Result<(), Frame> {
        let (subs, topic) = if whole_account {
            if !matches!(socket.user.role, Role::Supervisor | Role::Admin) {
                return Err(error(
                    ErrorCode::ForbiddenTopic,
                    "the whole account's queue is for supervisors and admins; follow `queue`",
                ));
            }
            (&self.queue_all_subs, "queue:all")
        } else {
            (&self.queue_subs, "queue")
        };
        let account = socket.user.account_id;
        if subs.get(&account).is_some_and(|subs| subs.iter().any(|entry| entry.id == socket.id)) {
            return Err(error(ErrorCode::AlreadySubscribed, "this socket already follows the queue"));
        }
        subs.entry(account).or_default().push(socket.clone());
        let now = self.now().as_millisecond();
        if let Some(after) = after {
            let own = (!whole_account && socket.staff()).then_some(&socket.user);
            self.resume(socket, topic, TicketFilter::default(), after, own).await?;
        }
        self.send(socket, Frame::control(&ControlFrame::Ack { topic, seq: None, cursor: Some(now) }));
        Ok(())
    }

    /// Snapshots of the tickets matching `filter` changed since `after` (a frame's `cursor`), or
    /// a `resync` when there are too many to send.
    pub(super) async fn resume(
        &self,
        socket: &Arc<SocketEntry>,
        topic: &str,
        filter: TicketFilter,
        after: i64,
        own_queue_of: Option<&User>,
    ) -> Result<(), Frame> {
        let account = socket.user.account_id;
        let mut query = TicketQuery::new(account);
        query.scope = socket.scope.clone();
        query.filter = filter;
        query.sort = TicketSort::UpdatedAsc;
        query.after = Some((after - QUEUE_RESUME_SLACK_MS, 0));
        query.limit = QUEUE_RESUME_LIMIT + 1;
        let changed = self
            .store
            .list_tickets(&query)
            .await
            .map_err(|_| error(ErrorCode::Unavailable, "the store did not answer; try again"))?;
        if changed.len() as i64 > QUEUE_RESUME_LIMIT {
            self.send(socket, Frame::control(&ControlFrame::Resync { topic, reason: "too_many_changes" }));
            return Ok(());
        }
        let staff = socket.staff();
        let config = self.audience_config(staff, account);
        for ticket in changed.into_iter().filter(|ticket| own_queue_of.is_none_or(|user| in_queue_of(user, ticket))) {
            let row =
                if staff { TicketRow::staff(&ticket) } else { TicketRow::customer(&customer_ticket(ticket, &config)) };
            let frame = SnapshotFrame {
                kind: "snapshot",
                topic,
                seq: row.seq,
                cursor: row.updated_at.as_millisecond(),
                row: &row,
            };
            self.send(socket, Frame::control(&frame));
        }
        Ok(())
    }

    pub fn unsubscribe(&self, socket: &Arc<SocketEntry>, topic: Topic) -> bool {
        let account = socket.user.account_id;
        let mut found = false;
        let mut drop_from = |subs: &mut Vec<Arc<SocketEntry>>| {
            let before = subs.len();
            subs.retain(|entry| entry.id != socket.id);
            found |= subs.len() != before;
        };
        match topic {
            Topic::Queue => {
                if let Some(mut subs) = self.queue_subs.get_mut(&account) {
                    drop_from(&mut subs);
                }
            }
            Topic::QueueAll => {
                if let Some(mut subs) = self.queue_all_subs.get_mut(&account) {
                    drop_from(&mut subs);
                }
            }
            Topic::Presence => {
                if let Some(mut subs) = self.presence_subs.get_mut(&account) {
                    drop_from(&mut subs);
                }
            }
            Topic::Notifications => {
                if let Some(mut subs) = self.notification_subs.get_mut(&socket.user.id) {
                    drop_from(&mut subs);
                }
            }
            Topic::View(view) => found = self.drop_view_sub(socket, view),
            Topic::Dashboard => {
                if let Some(mut subs) = self.dashboard_subs.get_mut(&account) {
                    drop_from(&mut subs);
                }
                self.dashboard_sent.remove(&socket.id);
            }
            Topic::Ticket(id) => {
                if let Some(mut subs) = self.ticket_subs.get_mut(&id) {
                    let before = subs.len();
                    subs.retain(|sub| sub.socket.id != socket.id);
                    found = subs.len() != before;
                }
            }
        }
        found
    }

    /// The newest seq this node delivered to `user` on `ticket`, for collision control.
    pub fn last_seen(&self, user: UserId, ticket: TicketId) -> Option<i64> {
        self.ticket_subs
            .get(&ticket)?
            .iter()
            .filter(|sub| sub.socket.user.id == user)
            .map(|sub| lock(&sub.cursor).seq)
            .max()
    }
}

/// Whether `ticket` is in `user`'s own queue: assigned to them, of one of their teams, or in the
/// shared inbox (no assignee and no team).
fn in_queue_of(user: &User, ticket: &Ticket) -> bool {
    match (ticket.assignee_id, ticket.team_id) {
        (Some(assignee), _) if assignee == user.id => true,
        (_, Some(team)) if user.team_ids.contains(&team) => true,
        (None, None) => true,
        _ => false,
    }
}

/// Whether `change` concerns `user`'s own queue: the ticket is in it now, or an assignment in the
/// change took it out (so their list drops it).
fn in_own_queue(user: &User, change: &TicketChange) -> bool {
    in_queue_of(user, &change.ticket)
        || change.events.iter().any(|event| match event.kind {
            EventKind::Assigned { from_assignee_id, from_team_id, .. } => {
                from_assignee_id == Some(user.id)
                    || from_team_id.is_some_and(|team| user.team_ids.contains(&team))
                    || (from_assignee_id.is_none() && from_team_id.is_none())
            }
            _ => false,
        })
}
