//! What the cluster link (`crate::cluster`) means for this node: changes relayed both ways,
//! presence and liveness, joining accounts' channels, and closing the sockets of ended sessions.

use super::*;

impl Hub {
    /// Starts the tasks that feed the hub: this node's event bus, the broker, and board expiry.
    pub fn start(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let local = {
            let hub = self.clone();
            let mut changes = self.tickets.bus().subscribe();
            tokio::spawn(async move {
                loop {
                    match changes.recv().await {
                        Ok(change) => {
                            hub.deliver(&change);
                            hub.relay(
                                RelayBody::Change { change: Box::new((*change).clone()) },
                                change.ticket.account_id,
                                ChannelKind::Changes,
                            );
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "live hub fell behind the event bus; catching up from the store");
                            hub.catch_up_everything("lagged");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let remote = {
            let hub = self.clone();
            let mut events = self.cluster.events();
            tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(BrokerEvent::Message { payload, .. }) => hub.receive(&payload),
                        Ok(BrokerEvent::LinkDown) => {}
                        Ok(BrokerEvent::LinkRestored) => hub.catch_up_everything("broker_reconnected"),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => hub.catch_up_everything("lagged"),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let expiry = {
            let hub = self.clone();
            tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval((hub.settings.presence_expiry / 10).max(Duration::from_millis(100)));
                loop {
                    tick.tick().await;
                    hub.expire_presence();
                }
            })
        };
        let alive = {
            let hub = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(hub.settings.presence_refresh.max(Duration::from_millis(100)));
                loop {
                    tick.tick().await;
                    for account in hub.cluster.joined_accounts() {
                        hub.relay(RelayBody::NodeAlive, account, ChannelKind::Presence);
                    }
                }
            })
        };
        vec![local, remote, expiry, alive]
    }

    /// Publishes to other nodes without waiting (at most once; seq catch-up repairs losses).
    pub(super) fn relay(&self, body: RelayBody, account: AccountId, kind: ChannelKind) {
        self.cluster.publish(body, account, kind);
    }

    pub(super) fn receive(self: &Arc<Self>, payload: &[u8]) {
        let Some(relay) = self.cluster.decode(payload) else { return };
        self.presence.heard_from(&relay.node, self.now());
        match relay.body {
            RelayBody::Change { change } => {
                if let Some(event) = change.events.last() {
                    let lag = self.now().as_millisecond() - event.at.as_millisecond();
                    metrics::histogram!("switchboard_broker_lag_seconds").record(lag.max(0) as f64 / 1000.0);
                }
                // Our actor for this ticket (if any) is now behind: have it reload.
                self.tickets.refresh(change.ticket.id, change.ticket.seq);
                self.deliver(&Arc::new(*change));
            }
            RelayBody::Presence { presence } => self.apply_presence(presence),
            RelayBody::NodeAlive => {}
            RelayBody::PresenceSync { account } => self.announce_own_agents(account),
            RelayBody::SessionEnded { end } => self.close_local(&end),
            RelayBody::Notifications { pushes } => self.push_local(&pushes),
            RelayBody::NotificationsRead { user_id, unread } => self.read_local(user_id, unread),
        }
    }

    /// Re-announces this node's agents of `account` to the other nodes (one joined late).
    pub(super) fn announce_own_agents(self: &Arc<Self>, account: AccountId) {
        for presence in self.presence.own_reports(account) {
            self.relay(RelayBody::Presence { presence }, account, ChannelKind::Presence);
        }
    }

    /// Closes the sockets a session end names, on this node and (through the broker) every
    /// other node serving the account.
    pub fn end_sessions(self: &Arc<Self>, account: AccountId, end: SessionEnd) {
        self.close_local(&end);
        self.relay(RelayBody::SessionEnded { end }, account, ChannelKind::Presence);
    }

    pub(super) fn close_local(&self, end: &SessionEnd) {
        let closing: Vec<Arc<SocketEntry>> =
            self.sockets.iter().filter(|entry| ends(end, entry.value())).map(|entry| entry.value().clone()).collect();
        for socket in closing {
            socket.ended.store(true, Ordering::SeqCst);
            socket.killed.store(true, Ordering::SeqCst);
            // Nothing more reaches it, even before its reader task gets to close it.
            self.remove_socket(&socket);
            socket.kill.notify_one();
        }
    }

    /// Listens to the account's broker channels (once): its changes, presence and session ends
    /// reach this node from then on. Every account is joined at start ([`Hub::join_all`]); an
    /// account created later is joined by its first socket.
    pub async fn join(self: &Arc<Self>, account: AccountId) {
        if self.cluster.join(account).await {
            // Other nodes only report changes: ask them for the agents they already serve.
            self.relay(RelayBody::PresenceSync { account }, account, ChannelKind::Presence);
        }
    }

    /// Joins every account the installation serves, so presence and session ends from other
    /// nodes are known here before any of the account's sockets connects (routing reads them).
    pub async fn join_all(self: &Arc<Self>, accounts: &[AccountId]) {
        for account in accounts {
            self.join(*account).await;
        }
    }
}
