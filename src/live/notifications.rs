//! The `notifications` topic: each user's own notifications, pushed to their sockets on every
//! node as the notifier stores them, and their unread count when they read some.

use switchboard_actors::notifications::NotificationPush;

use super::*;

impl Hub {
    /// `subscribe {topic: "notifications"}`: the socket's user's notifications from now on
    /// (what came before is `GET /api/v1/notifications`). Staff only: customers have none.
    pub fn subscribe_notifications(&self, socket: &Arc<SocketEntry>, after: Option<i64>) -> Result<(), Frame> {
        if !socket.staff() {
            return Err(error(ErrorCode::ForbiddenTopic, "notifications are for staff"));
        }
        if after.is_some() {
            return Err(error(
                ErrorCode::InvalidFrame,
                "`notifications` takes no `after`: read earlier ones from GET /api/v1/notifications",
            ));
        }
        let mut subs = self.notification_subs.entry(socket.user.id).or_default();
        if subs.iter().any(|entry| entry.id == socket.id) {
            return Err(error(ErrorCode::AlreadySubscribed, "this socket already follows its notifications"));
        }
        subs.push(socket.clone());
        drop(subs);
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: "notifications", seq: None, cursor: None }));
        Ok(())
    }

    /// Pushes stored notifications to their users' sockets here and on the other nodes.
    pub fn push_notifications(&self, pushes: Vec<NotificationPush>) {
        if pushes.is_empty() {
            return;
        }
        self.push_local(&pushes);
        let mut by_account: Vec<(AccountId, Vec<NotificationPush>)> = Vec::new();
        for push in pushes {
            match by_account.iter_mut().find(|(account, _)| *account == push.account_id) {
                Some((_, list)) => list.push(push),
                None => by_account.push((push.account_id, vec![push])),
            }
        }
        for (account, pushes) in by_account {
            self.relay(RelayBody::Notifications { pushes }, account, ChannelKind::Changes);
        }
    }

    pub(super) fn push_local(&self, pushes: &[NotificationPush]) {
        let now = self.now();
        for push in pushes {
            let Some(subs) = self.notification_subs.get(&push.user_id).map(|subs| subs.clone()) else { continue };
            let frame = Frame::control(&ControlFrame::Notification {
                topic: "notifications",
                notification: &push.notification,
                alert: push.alert,
                unread: push.unread,
                sent_at: now,
            });
            for socket in subs.iter().filter(|socket| socket.user.account_id == push.account_id) {
                self.send(socket, frame.clone());
            }
        }
    }

    /// A user read notifications: every socket of theirs, here and elsewhere, gets the count.
    pub fn notifications_read(&self, account: AccountId, user: UserId, unread: i64) {
        self.read_local(user, unread);
        self.relay(RelayBody::NotificationsRead { user_id: user, unread }, account, ChannelKind::Changes);
    }

    pub(super) fn read_local(&self, user: UserId, unread: i64) {
        let Some(subs) = self.notification_subs.get(&user).map(|subs| subs.clone()) else { return };
        let frame = Frame::control(&ControlFrame::NotificationsRead { topic: "notifications", unread });
        for socket in subs.iter() {
            self.send(socket, frame.clone());
        }
    }
}
