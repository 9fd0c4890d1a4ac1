//! The email digest of unread notifications: one durable timer per user who asked for one
//! (owner `notification_digest`/user id, named `digest:<account>`), set when the preference is
//! saved and moved on by a period each time it fires. A fire mails the unread notifications
//! the last digest did not cover (nothing when there are none) through the email channel.

use jiff::Timestamp;
use switchboard_actors::notifications::{Digest, Preferences};
use switchboard_actors::store::{NotificationQuery, TimerChange, TimerOwner};
use switchboard_actors::timers::TimerDispatch;

use super::*;

/// The timer owner kind the digest registers with the timer task.
pub const TIMER_KIND: &str = "notification_digest";
/// Most notifications listed in one digest (the rest are counted).
const DIGEST_MAX: i64 = 50;

fn timer_name(account: AccountId) -> String {
    format!("digest:{account}")
}

impl Notifier {
    /// Sets or clears the user's digest timer after their preferences were saved.
    pub async fn preferences_saved(
        &self,
        account: AccountId,
        user: UserId,
        preferences: &Preferences,
    ) -> Result<(), StoreError> {
        let due = preferences.digest.period().and_then(|period| self.clock.now().checked_add(period).ok());
        self.set_timer(account, user, due).await
    }

    async fn set_timer(&self, account: AccountId, user: UserId, due_at: Option<Timestamp>) -> Result<(), StoreError> {
        let change = TimerChange { owner: TimerOwner::new(TIMER_KIND, user), name: timer_name(account), due_at };
        self.store.set_timer(&change).await?;
        self.timers.changed(change);
        Ok(())
    }

    /// The digest timer fired: mail what is unread and not yet mailed, then set the next one.
    async fn send_digest(&self, account: AccountId, user_id: UserId) -> Result<(), String> {
        let stored = self.store.notification_preferences(account, user_id).await.map_err(|error| error.to_string())?;
        let user = self.store.user(account, user_id).await.map_err(|error| error.to_string())?;
        let (Some((preferences, covered)), Some(user)) = (stored, user) else {
            return self.set_timer(account, user_id, None).await.map_err(|error| error.to_string());
        };
        let period = match preferences.digest {
            Digest::Off => None,
            _ if !user.active => None,
            digest => digest.period(),
        };
        let Some(period) = period else {
            return self.set_timer(account, user_id, None).await.map_err(|error| error.to_string());
        };
        let query =
            NotificationQuery { account, user: user_id, unread_only: true, before: None, limit: DIGEST_MAX + 1 };
        let unread = self.store.notifications(&query).await.map_err(|error| error.to_string())?;
        let fresh: Vec<_> = unread.iter().filter(|notification| notification.id > covered).collect();
        if let Some(newest) = fresh.first().map(|notification| notification.id) {
            let mut body = format!("Hello {},\n\nYou have unread notifications in Switchboard:\n\n", user.name);
            for notification in fresh.iter().take(DIGEST_MAX as usize) {
                body.push_str(&format!(
                    "- #{} {}: {}\n",
                    notification.ticket_number, notification.subject, notification.text
                ));
            }
            if fresh.len() as i64 > DIGEST_MAX {
                body.push_str("- … and more\n");
            }
            body.push_str("\nOpen the console to read them; this digest comes as set in your preferences.\n");
            let count =
                if fresh.len() as i64 > DIGEST_MAX { format!("{DIGEST_MAX}+") } else { fresh.len().to_string() };
            let subject =
                format!("Switchboard: {count} unread notification{}", if fresh.len() == 1 { "" } else { "s" });
            self.email.send_notice(&user.name, &user.email, &subject, body).await?;
            self.store.set_digest_covered(account, user_id, newest).await.map_err(|error| error.to_string())?;
            metrics::counter!("switchboard_notification_digests_total").increment(1);
        }
        let next = self.clock.now().checked_add(period).ok();
        self.set_timer(account, user_id, next).await.map_err(|error| error.to_string())
    }
}

#[async_trait::async_trait]
impl TimerDispatch for Notifier {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        let account = name
            .strip_prefix("digest:")
            .and_then(|account| account.parse::<AccountId>().ok())
            .ok_or_else(|| format!("a digest timer named `{name}`"))?;
        self.send_digest(account, owner.id()).await
    }
}
