//! The 24-hour customer service window, as pure rules.

use jiff::{SignedDuration, Timestamp};

use crate::domain::WindowState;

/// How long a customer message keeps the window open.
pub const WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// The window after a customer message sent at `sent_at` (Meta's timestamp): renewed to 24 hours
/// from it, never shortened by a late, older message.
pub fn renew(expires_at: Option<Timestamp>, sent_at: Timestamp) -> Timestamp {
    let renewed = sent_at.saturating_add(WINDOW).unwrap_or(sent_at);
    expires_at.map_or(renewed, |current| current.max(renewed))
}

/// What the window is at `now`, announcing `closing` once within `lead` of the end.
pub fn state(expires_at: Option<Timestamp>, now: Timestamp, lead: SignedDuration) -> WindowState {
    match expires_at {
        Some(until) if until > now => {
            if until.duration_since(now) <= lead {
                WindowState::Closing { until }
            } else {
                WindowState::Open { until }
            }
        }
        _ => WindowState::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn each_message_renews_and_late_ones_never_shorten() {
        let first = renew(None, at(0));
        assert_eq!(first, at(24));
        assert_eq!(renew(Some(first), at(5)), at(29));
        assert_eq!(renew(Some(at(29)), at(1)), at(29), "a retried old message does not shorten it");
    }

    #[test]
    fn state_reports_open_closing_and_closed() {
        let lead = SignedDuration::from_hours(1);
        assert_eq!(state(Some(at(24)), at(10), lead), WindowState::Open { until: at(24) });
        assert_eq!(state(Some(at(24)), at(23), lead), WindowState::Closing { until: at(24) });
        assert_eq!(state(Some(at(24)), at(24), lead), WindowState::Closed);
        assert_eq!(state(None, at(0), lead), WindowState::Closed);
    }
}
