//! Scoped API keys (issue 17 item 4): minting a key (`sbk_` and 256 random bits, shown once,
//! stored as its SHA-256), turning a presented key into its user and scopes, recording last use
//! at most once a minute, and each key's request budget (governor's GCRA, in process).
//! [`scopes`] is the one table of which scope each route and WebSocket topic needs.

pub mod scopes;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use base64::Engine as _;
use dashmap::DashMap;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use jiff::{SignedDuration, Timestamp};
use switchboard_actors::api_keys::{ApiKey, ApiKeyId, ApiKeysPort, Scope};
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::User;

use crate::error::ApiError;

/// What every key starts with: recognisable in logs and by secret scanners, and how the server
/// tells a key from a session token.
pub const KEY_PREFIX: &str = "sbk_";
/// Random bytes in a key: 256 bits, so a fast hash is as safe to store as a slow one.
const KEY_BYTES: usize = 32;
/// Requests per minute a key may make when its creator names no limit: ten a second, far above
/// an integration polling the queue and well below what would crowd out the console.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;
/// The highest limit a key may be given.
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 100_000;
/// Last use is written when the stored one is older than this: one write a minute per busy key,
/// not one per request, and "last used" in a list is still right to the minute.
const LAST_USE_RESOLUTION: SignedDuration = SignedDuration::from_mins(1);

type KeyLimiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// A request's standing against its key's budget, sent as the `RateLimit-*` headers.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the budget is whole again.
    pub reset_secs: u64,
}

/// What a key grants the request it came with.
#[derive(Clone, Debug)]
pub struct KeyGrant {
    pub id: ApiKeyId,
    /// The key's scopes, cut to what its user's role holds now (a demoted user's keys shrink).
    pub scopes: BTreeSet<Scope>,
}

pub struct ApiKeys {
    store: Arc<dyn ApiKeysPort>,
    clock: Arc<dyn Clock>,
    /// One budget per key used on this node since it started (limits are per node).
    limiters: DashMap<ApiKeyId, (u32, Arc<KeyLimiter>)>,
}

/// Whether a presented credential is an API key (rather than a session token).
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

/// A new key and the hash to store for it.
pub fn new_key() -> (String, Vec<u8>) {
    let mut bytes = [0u8; KEY_BYTES];
    rand::fill(&mut bytes);
    let key = format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = crate::auth::token_hash(&key);
    (key, hash)
}

impl ApiKeys {
    pub fn new(store: Arc<dyn ApiKeysPort>, clock: Arc<dyn Clock>) -> ApiKeys {
        ApiKeys { store, clock, limiters: DashMap::new() }
    }

    /// The user and grant of a live key; 401 for an unknown, revoked or expired one, or one
    /// whose user was deactivated.
    pub async fn authenticate(&self, key: &str) -> Result<(User, KeyGrant, RateLimitBudget), ApiError> {
        let now = self.clock.now();
        let (stored, user) =
            self.store.api_key_user(&crate::auth::token_hash(key), now).await?.ok_or(ApiError::Unauthenticated)?;
        if stored.last_used_at.is_none_or(|last| now.duration_since(last) >= LAST_USE_RESOLUTION) {
            self.store.touch_api_key(stored.id, now).await?;
        }
        let held = Scope::granted_to(user.role);
        let scopes = stored.scopes.iter().copied().filter(|scope| held.contains(scope)).collect();
        let budget = self.budget(&stored);
        Ok((user, KeyGrant { id: stored.id, scopes }, budget))
    }

    /// Forgets a revoked key's budget.
    pub fn forget(&self, id: ApiKeyId) {
        self.limiters.remove(&id);
    }

    fn budget(&self, key: &ApiKey) -> RateLimitBudget {
        let limit = key.rate_limit_per_minute.clamp(1, MAX_RATE_LIMIT_PER_MINUTE);
        let quota = Quota::per_minute(NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN));
        if let Some(entry) = self.limiters.get(&key.id)
            && entry.0 == limit
        {
            return RateLimitBudget { limiter: entry.1.clone(), quota };
        }
        let limiter = Arc::new(RateLimiter::direct(quota).with_middleware());
        self.limiters.insert(key.id, (limit, limiter.clone()));
        RateLimitBudget { limiter, quota }
    }
}

/// A key's request budget, checked once per request.
pub struct RateLimitBudget {
    limiter: Arc<KeyLimiter>,
    quota: Quota,
}

impl RateLimitBudget {
    /// Spends one request: the status to report, or the wait before the next one is allowed.
    pub fn spend(&self) -> Result<RateLimitStatus, (RateLimitStatus, Duration)> {
        let limit = self.quota.burst_size().get();
        let per_request = self.quota.replenish_interval();
        match self.limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset = per_request.saturating_mul(limit.saturating_sub(remaining));
                Ok(RateLimitStatus { limit, remaining, reset_secs: whole_secs(reset) })
            }
            Err(refusal) => {
                let wait = refusal.wait_time_from(self.limiter.clock().now());
                let reset = per_request.saturating_mul(limit);
                Err((RateLimitStatus { limit, remaining: 0, reset_secs: whole_secs(reset) }, wait))
            }
        }
    }
}

/// Middleware on `/api/v1`: a response to a request made with an API key carries the key's
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (IETF draft
/// `ratelimit-headers`), refusals included.
pub async fn rate_limit_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let status = response.request().extensions().get::<RateLimitStatus>().copied();
    if let Some(status) = status {
        let headers = response.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", u64::from(status.limit)),
            ("ratelimit-remaining", u64::from(status.remaining)),
            ("ratelimit-reset", status.reset_secs),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
    Ok(response)
}

/// Seconds rounded up (a client told 0 would retry at once).
fn whole_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// When a key made now for `days` stops working.
pub fn expiry(now: Timestamp, days: u32) -> Option<Timestamp> {
    now.checked_add(SignedDuration::from_hours(24 * i64::from(days))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_unique_and_hash_stably() {
        let (first, hash) = new_key();
        let (second, _) = new_key();
        assert!(is_api_key(&first) && first.len() == KEY_PREFIX.len() + 43);
        assert_ne!(first, second);
        assert_eq!(crate::auth::token_hash(&first), hash);
        assert!(!is_api_key("a-session-token"));
    }

    #[test]
    fn a_budget_counts_down_then_says_how_long_to_wait() {
        let quota = Quota::per_minute(NonZeroU32::new(3).expect("3"));
        let budget = RateLimitBudget { limiter: Arc::new(RateLimiter::direct(quota).with_middleware()), quota };
        let remaining: Vec<u32> = (0..3).map(|_| budget.spend().expect("within budget").remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let (status, wait) = budget.spend().expect_err("over budget");
        assert_eq!((status.limit, status.remaining), (3, 0));
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "one request per 20 s: {wait:?}");
    }
}
