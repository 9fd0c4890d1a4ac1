//! Per-pair pacing: how fast one business number may write to one customer.

use super::*;

/// Meta allows about one message every 6 seconds to the same customer, with bursts borrowing
/// from later; beyond that it answers 131056. A token bucket per conversation keeps replies
/// under it: bursts of [`PAIR_BURST`], then one per [`PAIR_INTERVAL`].
pub const PAIR_BURST: f64 = 10.0;
pub const PAIR_INTERVAL: Duration = Duration::from_secs(6);

#[derive(Debug)]
pub struct PairRate {
    tokens: f64,
    last: Option<std::time::Instant>,
}

impl PairRate {
    pub fn new() -> PairRate {
        PairRate { tokens: PAIR_BURST, last: None }
    }

    /// Takes a token, or says how long until one is free.
    pub fn take(&mut self, now: std::time::Instant) -> Result<(), Duration> {
        if let Some(last) = self.last {
            let refill = now.duration_since(last).as_secs_f64() / PAIR_INTERVAL.as_secs_f64();
            self.tokens = (self.tokens + refill).min(PAIR_BURST);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(PAIR_INTERVAL.mul_f64(1.0 - self.tokens))
        }
    }
}

impl Default for PairRate {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_rate_allows_a_burst_then_one_per_interval() {
        let mut pacing = PairRate::new();
        let start = std::time::Instant::now();
        for _ in 0..10 {
            assert!(pacing.take(start).is_ok());
        }
        let wait = pacing.take(start).expect_err("the burst is spent");
        assert!(wait <= PAIR_INTERVAL && wait > Duration::ZERO);
        assert!(pacing.take(start + PAIR_INTERVAL).is_ok(), "one more after an interval");
        assert!(pacing.take(start + PAIR_INTERVAL).is_err());
    }
}
