//! Outbound sends that may fail for a while: one [`RetryPolicy`] (how long to wait after each
//! failed attempt, and when to give up) and one [`SendAttempt`] lifecycle over each channel's
//! durable attempt record (`wa_sends`, `email_sends`), so retries survive restarts and both
//! channels count, defer and give up the same way. Each channel configures its own values.

use jiff::{SignedDuration, Timestamp};

use crate::email::EmailSend;
use crate::whatsapp::SendState;

/// When a failed send is tried again: `base × factor^(attempts−1)`, at most `cap`, until
/// `max_attempts` attempts were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts made at most; the one that fails last marks the message failed.
    pub max_attempts: i64,
    /// The wait after the first failed attempt.
    pub base: SignedDuration,
    /// How much each further failure multiplies the wait by.
    pub factor: u32,
    /// The longest wait between two attempts.
    pub cap: SignedDuration,
}

/// WhatsApp waits 4^n seconds between attempts, as the pair-rate rule asks (reference §5.5)…
const WHATSAPP_BASE: SignedDuration = SignedDuration::from_secs(1);
const WHATSAPP_FACTOR: u32 = 4;
/// …but never longer than 5 minutes: a reply that late is still worth sending soon.
const WHATSAPP_CAP: SignedDuration = SignedDuration::from_mins(5);
/// Email doubles the configured base; an hour at most, since mail servers defer for minutes to
/// hours (greylisting, full mailboxes).
const EMAIL_FACTOR: u32 = 2;
const EMAIL_CAP: SignedDuration = SignedDuration::from_hours(1);

impl RetryPolicy {
    /// WhatsApp's sends: 1, 4, 16, 64, 256, then 300 seconds.
    pub fn whatsapp(max_attempts: i64) -> RetryPolicy {
        RetryPolicy { max_attempts, base: WHATSAPP_BASE, factor: WHATSAPP_FACTOR, cap: WHATSAPP_CAP }
    }

    /// Email's sends: `retry_base_ms × 2^(attempts−1)`, at most an hour.
    pub fn email(max_attempts: i64, retry_base_ms: u64) -> RetryPolicy {
        let base = SignedDuration::from_millis(i64::try_from(retry_base_ms).unwrap_or(i64::MAX));
        RetryPolicy { max_attempts, base, factor: EMAIL_FACTOR, cap: EMAIL_CAP }
    }

    /// The wait after `attempts` attempts failed (the first wait follows attempt 1).
    pub fn delay(&self, attempts: i64) -> SignedDuration {
        let exponent = u32::try_from(attempts.saturating_sub(1).max(0)).unwrap_or(u32::MAX);
        let multiplier = i128::from(self.factor).saturating_pow(exponent);
        let millis = self.base.as_millis().saturating_mul(multiplier).min(self.cap.as_millis());
        SignedDuration::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    /// When to try again after `attempts` attempts failed at `now`; `None`: give up.
    pub fn next_attempt_at(&self, attempts: i64, now: Timestamp) -> Option<Timestamp> {
        (attempts < self.max_attempts).then(|| now.saturating_add(self.delay(attempts)).unwrap_or(Timestamp::MAX))
    }
}

/// One outbound message's durable send record, whatever its channel: how often it was tried,
/// when it may be tried next, and whether it is settled. The channel keeps its own detail beside
/// it (WhatsApp the wamid, email the server's last words).
pub trait SendAttempt {
    fn attempts(&self) -> i64;
    fn next_attempt_at(&self) -> Option<Timestamp>;
    /// Sent, or failed for good: never tried again.
    fn done(&self) -> bool;
    fn set_progress(&mut self, attempts: i64, next_attempt_at: Option<Timestamp>, done: bool);

    /// Whether an attempt may start at `now`: not settled, and not deferred (or leased) past it.
    fn due(&self, now: Timestamp) -> bool {
        !self.done() && self.next_attempt_at().is_none_or(|at| at <= now)
    }

    /// An attempt starts; `hold_until` keeps other senders off it meanwhile (a lease), if given.
    fn start(&mut self, hold_until: Option<Timestamp>) {
        let next = hold_until.or(self.next_attempt_at());
        self.set_progress(self.attempts() + 1, next, false);
    }

    /// Not tried before `at` (pacing, or a retry).
    fn defer_until(&mut self, at: Option<Timestamp>) {
        self.set_progress(self.attempts(), at, self.done());
    }

    /// Settled: sent, or failed for good.
    fn settle(&mut self) {
        self.set_progress(self.attempts(), None, true);
    }

    /// The attempt failed at `now`: deferred to the policy's next time when the failure is
    /// `retryable` and attempts remain (that time is returned), settled otherwise (`None`).
    fn failed(&mut self, policy: &RetryPolicy, retryable: bool, now: Timestamp) -> Option<Timestamp> {
        match policy.next_attempt_at(self.attempts(), now).filter(|_| retryable) {
            Some(at) => {
                self.defer_until(Some(at));
                Some(at)
            }
            None => {
                self.settle();
                None
            }
        }
    }
}

macro_rules! send_attempt {
    ($record:ty) => {
        impl SendAttempt for $record {
            fn attempts(&self) -> i64 {
                self.attempts
            }

            fn next_attempt_at(&self) -> Option<Timestamp> {
                self.next_attempt_at
            }

            fn done(&self) -> bool {
                self.done
            }

            fn set_progress(&mut self, attempts: i64, next_attempt_at: Option<Timestamp>, done: bool) {
                self.attempts = attempts;
                self.next_attempt_at = next_attempt_at;
                self.done = done;
            }
        }
    };
}

send_attempt!(SendState);
send_attempt!(EmailSend);

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).expect("time")
    }

    #[test]
    fn whatsapp_waits_four_to_the_n_seconds_up_to_five_minutes() {
        let policy = RetryPolicy::whatsapp(8);
        let waits: Vec<i64> = (1..=8).map(|attempts| policy.delay(attempts).as_secs()).collect();
        assert_eq!(waits, [1, 4, 16, 64, 256, 300, 300, 300]);
        assert_eq!(policy.next_attempt_at(1, at(0)), Some(at(1)));
        assert_eq!(policy.next_attempt_at(3, at(10)), Some(at(26)));
        assert_eq!(policy.next_attempt_at(7, at(0)), Some(at(300)));
        assert_eq!(policy.next_attempt_at(8, at(0)), None, "the eighth failure gives up");
    }

    #[test]
    fn email_doubles_the_configured_base_up_to_an_hour() {
        // The defaults: 30 s base, 6 attempts.
        let policy = RetryPolicy::email(6, 30_000);
        let waits: Vec<i64> = (1..=6).map(|attempts| policy.delay(attempts).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960]);
        assert_eq!(policy.next_attempt_at(5, at(0)), Some(at(480)));
        assert_eq!(policy.next_attempt_at(6, at(0)), None);
        assert_eq!(RetryPolicy::email(50, 30_000).delay(8), SignedDuration::from_hours(1), "capped");
        // The tests' settings: 100 ms, 3 attempts.
        let fast = RetryPolicy::email(3, 100);
        assert_eq!(fast.delay(1), SignedDuration::from_millis(100));
        assert_eq!(fast.delay(2), SignedDuration::from_millis(200));
        assert_eq!(fast.next_attempt_at(3, at(0)), None);
        assert_eq!(RetryPolicy::email(100, 1).delay(90), SignedDuration::from_hours(1), "no overflow");
    }

    #[test]
    fn an_attempt_is_started_deferred_and_settled() {
        let policy = RetryPolicy::whatsapp(2);
        let mut attempt = SendState {
            message_id: "m1".to_owned(),
            account_id: 1,
            ticket_id: 1,
            attempts: 0,
            next_attempt_at: None,
            wamid: None,
            done: false,
        };
        assert!(attempt.due(at(0)));
        attempt.start(None);
        assert_eq!(attempt.failed(&policy, true, at(0)), Some(at(1)));
        assert!(!attempt.due(at(0)) && attempt.due(at(1)), "deferred by the policy");
        attempt.start(None);
        assert_eq!(attempt.failed(&policy, true, at(1)), None, "the last attempt");
        assert!(attempt.done && attempt.next_attempt_at.is_none());

        let fresh = EmailSend {
            message_id: "m2".to_owned(),
            account_id: 1,
            ticket_id: 1,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            done: false,
        };
        let mut email = fresh.clone();
        email.start(Some(at(35)));
        assert_eq!((email.attempts, email.next_attempt_at), (1, Some(at(35))), "leased");
        assert_eq!(email.failed(&RetryPolicy::email(6, 30_000), false, at(2)), None, "permanent");
        assert!(email.done);
        let mut sent = fresh;
        sent.start(Some(at(35)));
        sent.settle();
        assert!(sent.done && sent.next_attempt_at.is_none() && !sent.due(at(99)));
    }
}
