//! How often one client may answer "Was this helpful?": the answers are public writes (no
//! session), so without a limit one script could fill the table and skew the counts. The login
//! limiter's two limits serve here too: per article translation and client address, three
//! answers at once and then a doubling wait (so one reader's repeated clicks count a few times at
//! most), and per address a bucket of answers across every article.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{LoginLimits, LoginPolicy};

/// Answers one address may give one translation before it waits.
const FREE_ANSWERS: u32 = 3;
/// Answers one address may start at once across all articles, and more a minute.
const BURST: u32 = 20;
const PER_MINUTE: u32 = 20;

pub struct FeedbackLimits {
    limits: LoginLimits,
}

impl FeedbackLimits {
    /// With `server.trusted_proxies`, as the login limits read the client's address.
    pub fn new(trusted_proxies: &[String]) -> FeedbackLimits {
        let policy = LoginPolicy {
            free_failures: FREE_ANSWERS,
            delay_base: Duration::from_secs(60),
            delay_max: Duration::from_secs(3600),
            burst: BURST,
            per_minute: PER_MINUTE,
        };
        FeedbackLimits { limits: LoginLimits::new(policy, trusted_proxies) }
    }

    /// The login limiter, for reading a request's client address.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    /// Counts an answer from `client` to `translation` (e.g. `12:es`), or says how long to wait.
    pub fn admit(&self, translation: &str, client: IpAddr, now: Instant) -> Result<(), Duration> {
        // Every answer counts as a "failure": nothing ever clears a pair but time.
        self.limits.admit(translation, client, now).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_answers_one_article_a_few_times_then_waits() {
        let limits = FeedbackLimits::new(&[]);
        let now = Instant::now();
        let client = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..FREE_ANSWERS {
            assert!(limits.admit("1:en", client, now).is_ok());
        }
        assert!(limits.admit("1:en", client, now).is_err(), "a fourth answer waits");
        assert!(limits.admit("2:en", client, now).is_ok(), "another article is another count");
        assert!(limits.admit("1:en", IpAddr::from([192, 0, 2, 2]), now).is_ok(), "another reader too");
    }
}
