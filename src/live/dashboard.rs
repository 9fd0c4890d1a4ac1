//! The `dashboard` topic: the live board each subscribed staff member sees, pushed on
//! subscribing and whenever it changes. The board mixes ticket counts, presence (merged from every
//! node) and today's projected figures, so instead of following each of their sources the hub
//! reads every subscriber's board each [`DASHBOARD_TICK`] and sends only the ones that changed: a
//! change anywhere in the cluster reaches the board within two ticks.

use std::collections::HashMap;

use async_trait::async_trait;

use super::*;

/// How often subscribed boards are read again. One second keeps a change on the board within
/// the 2 s the dashboards promise (a tick plus the read).
const DASHBOARD_TICK: Duration = Duration::from_secs(1);

/// Reads the live board a user sees (the reports' service; the hub only delivers it).
#[async_trait]
pub trait DashboardSource: Send + Sync {
    /// `None` when it cannot be read now (the store did not answer): the next tick tries again.
    async fn board(&self, user: &User) -> Option<serde_json::Value>;
}

impl Hub {
    pub fn set_dashboard_source(&self, source: Arc<dyn DashboardSource>) {
        let _ = self.dashboard_source.set(source);
    }

    /// `subscribe {topic: "dashboard"}`: the board from the next tick on (staff only).
    pub fn subscribe_dashboard(&self, socket: &Arc<SocketEntry>, after: Option<i64>) -> Result<(), Frame> {
        if !socket.staff() {
            return Err(error(ErrorCode::ForbiddenTopic, "the dashboard is for staff"));
        }
        if after.is_some() {
            return Err(error(
                ErrorCode::InvalidFrame,
                "`dashboard` takes no `after`: it sends the board as it is now",
            ));
        }
        let mut subs = self.dashboard_subs.entry(socket.user.account_id).or_default();
        if subs.iter().any(|entry| entry.id == socket.id) {
            return Err(error(ErrorCode::AlreadySubscribed, "this socket already follows the dashboard"));
        }
        subs.push(socket.clone());
        drop(subs);
        self.dashboard_sent.remove(&socket.id);
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: "dashboard", seq: None, cursor: None }));
        Ok(())
    }

    /// Starts the task that pushes changed boards every [`DASHBOARD_TICK`].
    pub fn start_dashboard(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(DASHBOARD_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                hub.push_dashboards().await;
            }
        })
    }

    async fn push_dashboards(&self) {
        let Some(source) = self.dashboard_source.get() else { return };
        let subscribers: Vec<Arc<SocketEntry>> =
            self.dashboard_subs.iter().flat_map(|entry| entry.value().clone()).collect();
        // One read per user, however many tabs they have open.
        let mut boards: HashMap<UserId, Option<serde_json::Value>> = HashMap::new();
        for socket in subscribers {
            let board = match boards.get(&socket.user.id) {
                Some(board) => board.clone(),
                None => {
                    let board = source.board(&socket.user).await;
                    boards.insert(socket.user.id, board.clone());
                    board
                }
            };
            let Some(board) = board else { continue };
            let mut unstamped = board.clone();
            if let Some(fields) = unstamped.as_object_mut() {
                fields.remove("at");
            }
            let unstamped = unstamped.to_string();
            if self.dashboard_sent.get(&socket.id).is_some_and(|sent| *sent == unstamped) {
                continue;
            }
            self.dashboard_sent.insert(socket.id, unstamped);
            self.send(&socket, Frame::control(&ControlFrame::Dashboard { topic: "dashboard", board: &board }));
        }
    }
}
