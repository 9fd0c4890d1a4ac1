//! Who may try a password now. Three limits, all checked before any hashing:
//!
//! - **Per email and client address: an exponential delay.** The first `free_failures` failures of
//!   one email from one address are answered at once; from then on each failure makes that pair
//!   wait `delay_base`, doubling per further failure up to `delay_max` (1, 2, 4 … s with the
//!   defaults). While it waits the pair is answered 429 with `Retry-After`, without checking the
//!   password. A success clears it. Keyed by the address too, so an attacker's failures never
//!   lock the real user (who logs in from elsewhere) out of the right password; failures are
//!   forgotten after an hour without attempts (or `delay_max`, if longer).
//! - **Per client address: a token bucket.** An address may start `burst` attempts at once and
//!   gets `per_minute` more a minute; a successful login gives its token back, so only failures
//!   use it up. This is what bounds a flood from one address across many emails.
//!
//! - **Per client address: at most [`MAX_CHECKS_PER_ADDRESS`] password checks at once.** The
//!   password threads serve waiting checks in arrival order, so without this an address's whole
//!   burst (20 by default) would queue ahead of everyone who logs in after it: with two threads
//!   and a slow machine that was longer than a check may wait, and the real user got 429.
//!
//! Every attempt is counted before its password is checked, in one step with the checks, so
//! parallel guesses cannot all pass before any is counted. IPv6 clients are keyed by their /64
//! (one host usually holds a whole /64). Both maps are bounded: past [`MAX_TRACKED`] entries the
//! forgotten ones are swept, then if needed the least recently seen half.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::config::AuthSettings;

/// Entries kept per map before a sweep (an entry is ~100 bytes: a few MB at most).
const MAX_TRACKED: usize = 50_000;
/// Password checks of one client address that may wait for or hold the password threads at once.
const MAX_CHECKS_PER_ADDRESS: u32 = 4;
/// What an address over [`MAX_CHECKS_PER_ADDRESS`] is told to wait.
const CHECKS_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Failures of a pair are forgotten after this long without attempts.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// The numbers of the two limits, from `[auth]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginPolicy {
    pub free_failures: u32,
    pub delay_base: Duration,
    pub delay_max: Duration,
    pub burst: u32,
    pub per_minute: u32,
}

impl From<&AuthSettings> for LoginPolicy {
    fn from(settings: &AuthSettings) -> LoginPolicy {
        LoginPolicy {
            free_failures: settings.login_free_failures,
            delay_base: Duration::from_secs(settings.login_delay_base_secs),
            delay_max: Duration::from_secs(settings.login_delay_max_secs),
            burst: settings.address_login_burst.max(1),
            per_minute: settings.address_logins_per_minute.max(1),
        }
    }
}

impl LoginPolicy {
    /// The limits on codes and links sent to customers (`[auth]` `code_*`, `address_code*`).
    pub fn code_sends(settings: &AuthSettings) -> LoginPolicy {
        LoginPolicy {
            free_failures: settings.code_sends_free,
            delay_base: Duration::from_secs(settings.code_send_delay_base_secs),
            delay_max: Duration::from_secs(settings.code_send_delay_max_secs),
            burst: settings.address_code_burst.max(1),
            per_minute: settings.address_codes_per_minute.max(1),
        }
    }

    /// How long a pair waits after its `failures`-th failure (`None`: not at all).
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let doublings = failures.checked_sub(self.free_failures)?;
        let factor = 2u32.checked_pow(doublings.min(31)).unwrap_or(u32::MAX);
        Some(self.delay_base.saturating_mul(factor).min(self.delay_max))
    }

    fn forget_after(&self) -> Duration {
        FORGET_AFTER.max(self.delay_max)
    }
}

/// The failures of one email from one address.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Backoff {
    failures: u32,
    last_attempt: Instant,
    next_allowed: Instant,
}

impl Backoff {
    fn new(now: Instant) -> Backoff {
        Backoff { failures: 0, last_attempt: now, next_allowed: now }
    }

    fn forgotten(&self, now: Instant, policy: &LoginPolicy) -> bool {
        self.failures == 0 || now.saturating_duration_since(self.last_attempt) >= policy.forget_after()
    }

    /// `Err(wait)` while the pair must wait.
    fn check(&mut self, now: Instant, policy: &LoginPolicy) -> Result<(), Duration> {
        if self.forgotten(now, policy) {
            *self = Backoff::new(now);
        }
        if now < self.next_allowed { Err(self.next_allowed - now) } else { Ok(()) }
    }

    /// Counts an attempt as failed (until a success clears the pair).
    fn count(&mut self, now: Instant, policy: &LoginPolicy) {
        self.failures = self.failures.saturating_add(1);
        self.last_attempt = now;
        if let Some(delay) = policy.delay_after(self.failures) {
            self.next_allowed = now + delay;
        }
    }
}

/// One address's allowance of attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(now: Instant, policy: &LoginPolicy) -> Bucket {
        Bucket { tokens: f64::from(policy.burst), updated: now }
    }

    fn refill(&mut self, now: Instant, policy: &LoginPolicy) {
        let earned = now.saturating_duration_since(self.updated).as_secs_f64() * f64::from(policy.per_minute) / 60.0;
        self.tokens = (self.tokens + earned).min(f64::from(policy.burst));
        self.updated = self.updated.max(now);
    }

    /// Takes one token, or `Err(wait)` until there is one.
    fn take(&mut self, now: Instant, policy: &LoginPolicy) -> Result<(), Duration> {
        self.refill(now, policy);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) * 60.0 / f64::from(policy.per_minute)))
    }

    fn give_back(&mut self, policy: &LoginPolicy) {
        self.tokens = (self.tokens + 1.0).min(f64::from(policy.burst));
    }

    fn full_at(&self, now: Instant, policy: &LoginPolicy) -> bool {
        let mut refilled = *self;
        refilled.refill(now, policy);
        refilled.tokens >= f64::from(policy.burst)
    }
}

/// An admitted attempt; report how it ended with [`LoginLimits::succeeded`] or
/// [`LoginLimits::not_checked`] (a failure needs no report: it was counted on admission).
#[must_use = "a successful login must clear its attempt"]
#[derive(Debug)]
pub struct LoginAttempt {
    pair: u64,
    address: IpAddr,
}

pub struct LoginLimits {
    policy: LoginPolicy,
    trusted_proxies: Vec<Network>,
    /// By a keyed hash of (address, email): fixed-size keys, so long emails cost no memory.
    pairs: DashMap<u64, Backoff>,
    addresses: DashMap<IpAddr, Bucket>,
    /// Password checks in progress per address ([`LoginLimits::start_check`]); an address leaves
    /// the map when its last check ends, so it holds only addresses being checked now.
    checking: DashMap<IpAddr, u32>,
    pair_keys: RandomState,
}

/// A password check of one address in progress; it ends when this is dropped.
#[must_use = "the check lasts as long as this is held"]
pub struct CheckInProgress<'a> {
    limits: &'a LoginLimits,
    address: IpAddr,
}

impl Drop for CheckInProgress<'_> {
    fn drop(&mut self) {
        self.limits.checking.remove_if_mut(&self.address, |_, running| {
            *running = running.saturating_sub(1);
            *running == 0
        });
    }
}

impl LoginLimits {
    /// With the `[auth]` numbers and `server.trusted_proxies` (entries that do not parse, which
    /// the configuration check refuses, are ignored).
    pub fn new(policy: LoginPolicy, trusted_proxies: &[String]) -> LoginLimits {
        LoginLimits {
            policy,
            trusted_proxies: trusted_proxies.iter().filter_map(|proxy| Network::parse(proxy)).collect(),
            pairs: DashMap::new(),
            addresses: DashMap::new(),
            checking: DashMap::new(),
            pair_keys: RandomState::new(),
        }
    }

    /// The client a request comes from: the TCP peer, unless the peer is a trusted proxy; then
    /// the right-most `X-Forwarded-For` entry that is not one (proxies append what they saw, so
    /// entries left of the first untrusted one may be forged). Without a peer (not TCP), the
    /// unspecified address, which then shares one bucket.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> IpAddr {
        let Some(peer) = peer else { return IpAddr::from([0, 0, 0, 0]) };
        if !self.trusted(peer) {
            return peer;
        }
        let hops = forwarded_for.into_iter().flat_map(|header| header.rsplit(','));
        let mut client = peer;
        for hop in hops {
            match hop.trim().parse::<IpAddr>() {
                Ok(hop) if self.trusted(hop) => client = hop,
                Ok(hop) => return hop,
                Err(_) => break,
            }
        }
        client
    }

    fn trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|network| network.contains(address))
    }

    /// Admits an attempt at `email`'s password from `client`, counting it as failed until told
    /// otherwise, or says how long to wait.
    pub fn admit(&self, email: &str, client: IpAddr, now: Instant) -> Result<LoginAttempt, Duration> {
        let address = address_key(client);
        let pair = self.pair_keys.hash_one((address, email));
        let admitted = {
            let mut backoff = self.pairs.entry(pair).or_insert_with(|| Backoff::new(now));
            backoff
                .check(now, &self.policy)
                .and_then(|()| {
                    // Lock order everywhere: `pairs` before `addresses`.
                    self.addresses
                        .entry(address)
                        .or_insert_with(|| Bucket::full(now, &self.policy))
                        .take(now, &self.policy)
                })
                .map(|()| backoff.count(now, &self.policy))
        };
        self.bound(now);
        admitted.map(|()| LoginAttempt { pair, address })
    }

    /// Admits one more use of `key` whoever asks, with the same delay a pair gets after its
    /// free failures (counted on admission, cleared by nothing but time): a limit on what one
    /// target receives (codes mailed to one address) rather than on one guesser. No bucket is
    /// taken; combine it with [`LoginLimits::admit`] for that.
    pub fn admit_key(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let pair = self.pair_keys.hash_one(("key", key));
        let admitted = {
            let mut backoff = self.pairs.entry(pair).or_insert_with(|| Backoff::new(now));
            backoff.check(now, &self.policy).map(|()| backoff.count(now, &self.policy))
        };
        self.bound(now);
        admitted
    }

    /// Starts a password check from `client`, unless [`MAX_CHECKS_PER_ADDRESS`] of its checks are
    /// already waiting or running: then how long to wait. Take it before [`LoginLimits::admit`], so
    /// a refused check counts as no attempt.
    pub fn start_check(&self, client: IpAddr) -> Result<CheckInProgress<'_>, Duration> {
        let address = address_key(client);
        let mut running = self.checking.entry(address).or_insert(0);
        if *running >= MAX_CHECKS_PER_ADDRESS {
            return Err(CHECKS_RETRY_AFTER);
        }
        *running += 1;
        Ok(CheckInProgress { limits: self, address })
    }

    /// The password was right: the pair starts over and the address gets its token back.
    pub fn succeeded(&self, attempt: LoginAttempt) {
        self.pairs.remove(&attempt.pair);
        self.give_back(attempt.address);
    }

    /// The password was never checked (every hashing thread was busy): undo the attempt.
    pub fn not_checked(&self, attempt: LoginAttempt) {
        if let Some(mut backoff) = self.pairs.get_mut(&attempt.pair) {
            backoff.failures = backoff.failures.saturating_sub(1);
        }
        self.give_back(attempt.address);
    }

    fn give_back(&self, address: IpAddr) {
        if let Some(mut bucket) = self.addresses.get_mut(&address) {
            bucket.give_back(&self.policy);
        }
    }

    fn bound(&self, now: Instant) {
        let policy = &self.policy;
        bound(&self.pairs, |backoff| backoff.forgotten(now, policy), |backoff| backoff.last_attempt);
        bound(&self.addresses, |bucket| bucket.full_at(now, policy), |bucket| bucket.updated);
    }
}

/// Keeps `map` under [`MAX_TRACKED`]: drops what `forgotten` says carries nothing, then, if it is
/// still three-quarters full (an attack from very many addresses), the least recently seen half.
/// Sweeps run once per ~[`MAX_TRACKED`]/4 inserts at most, so their cost is spread thin.
fn bound<K: Eq + Hash, V>(map: &DashMap<K, V>, forgotten: impl Fn(&V) -> bool, seen: impl Fn(&V) -> Instant) {
    if map.len() <= MAX_TRACKED {
        return;
    }
    map.retain(|_, value| !forgotten(value));
    if map.len() > MAX_TRACKED / 4 * 3 {
        let mut times: Vec<Instant> = map.iter().map(|entry| seen(entry.value())).collect();
        let middle = times.len() / 2;
        let cutoff = *times.select_nth_unstable(middle).1;
        map.retain(|_, value| seen(value) > cutoff);
    }
}

/// An address or a CIDR range, e.g. `10.0.0.0/8`, `::1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Network { base: address, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) if self.base.is_ipv4() => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            _ => address,
        };
        match (self.base, address) {
            (IpAddr::V4(base), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                base.to_bits() & mask == address.to_bits() & mask
            }
            (IpAddr::V6(base), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                base.to_bits() & mask == address.to_bits() & mask
            }
            _ => false,
        }
    }
}

/// The key an address is limited by: IPv4 as is, IPv6 by its /64 (IPv4-mapped ones as IPv4).
pub fn address_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            free_failures: 3,
            delay_base: Duration::from_secs(1),
            delay_max: Duration::from_secs(300),
            burst: 5,
            per_minute: 6,
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn the_delay_doubles_after_the_free_failures_up_to_the_cap() {
        let policy = policy();
        let delays: Vec<Option<u64>> = (0..=13).map(|n| policy.delay_after(n).map(|d| d.as_secs())).collect();
        assert_eq!(
            delays,
            [None, None, None, Some(1), Some(2), Some(4), Some(8), Some(16), Some(32), Some(64), Some(128)]
                .into_iter()
                .chain([Some(256), Some(300), Some(300)])
                .collect::<Vec<_>>()
        );
        assert_eq!(policy.delay_after(u32::MAX), Some(Duration::from_secs(300)), "no overflow");
        let none_free = LoginPolicy { free_failures: 0, ..policy };
        assert_eq!(none_free.delay_after(0), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_pair_waits_after_its_free_failures_and_a_success_clears_it() {
        let limits = LoginLimits::new(LoginPolicy { burst: 100, ..policy() }, &[]);
        let start = Instant::now();
        let attacker = ip("192.0.2.1");
        for _ in 0..3 {
            let _failed = limits.admit("alice@example.com", attacker, start).expect("free failures");
        }
        assert_eq!(limits.admit("alice@example.com", attacker, start).expect_err("waits"), Duration::from_secs(1));
        let later = start + Duration::from_millis(400);
        assert_eq!(
            limits.admit("alice@example.com", attacker, later).expect_err("still waits"),
            Duration::from_millis(600)
        );
        // Alice, elsewhere, is not delayed; nor is another email from the attacker's address.
        let alice = limits.admit("alice@example.com", ip("198.51.100.7"), later).expect("alice may try");
        limits.succeeded(alice);
        let _other = limits.admit("bob@example.com", attacker, later).expect("bob's pair is fresh");
        // After the wait one more try; failing doubles the wait.
        let after = start + Duration::from_secs(1);
        let _fourth = limits.admit("alice@example.com", attacker, after).expect("the wait is over");
        assert_eq!(limits.admit("alice@example.com", attacker, after).expect_err("waits"), Duration::from_secs(2));
        // Success clears the pair.
        let fifth = limits.admit("alice@example.com", attacker, after + Duration::from_secs(2)).expect("over");
        limits.succeeded(fifth);
        for _ in 0..3 {
            let _ = limits.admit("alice@example.com", attacker, after + Duration::from_secs(2)).expect("free again");
        }
    }

    #[test]
    fn a_key_alone_waits_after_its_free_uses_whoever_asks() {
        let limits = LoginLimits::new(policy(), &[]);
        let start = Instant::now();
        for _ in 0..3 {
            limits.admit_key("email:a@example.com", start).expect("free uses");
        }
        assert_eq!(limits.admit_key("email:a@example.com", start), Err(Duration::from_secs(1)));
        limits.admit_key("email:b@example.com", start).expect("another key is fresh");
        // The key is not a pair: an address's attempts at it are limited apart.
        let _pair = limits.admit("email:a@example.com", ip("192.0.2.1"), start).expect("the pair is fresh");
        limits.admit_key("email:a@example.com", start + Duration::from_secs(1)).expect("waited");
    }

    #[test]
    fn an_address_has_at_most_four_password_checks_at_once() {
        let limits = LoginLimits::new(policy(), &[]);
        let client = ip("192.0.2.1");
        let mut checks: Vec<_> =
            (0..MAX_CHECKS_PER_ADDRESS).map(|_| limits.start_check(client).expect("within the limit")).collect();
        assert_eq!(limits.start_check(client).err(), Some(CHECKS_RETRY_AFTER));
        let other = limits.start_check(ip("192.0.2.2")).expect("another address checks meanwhile");
        drop(other);
        checks.pop();
        let again = limits.start_check(client).expect("a finished check makes room");
        assert_eq!(limits.start_check(client).err(), Some(CHECKS_RETRY_AFTER));
        drop(again);
        assert_eq!(limits.checking.get(&address_key(client)).map(|running| *running), Some(3));
        drop(checks);
        assert!(limits.checking.is_empty(), "an address leaves the map with its last check");
    }

    #[test]
    fn failures_are_forgotten_after_an_hour() {
        let limits = LoginLimits::new(LoginPolicy { burst: 100, ..policy() }, &[]);
        let start = Instant::now();
        let client = ip("192.0.2.1");
        for _ in 0..3 {
            let _ = limits.admit("a@example.com", client, start).expect("free");
        }
        assert!(limits.admit("a@example.com", client, start + Duration::from_secs(2)).is_ok());
        let hour = start + Duration::from_secs(2) + FORGET_AFTER;
        for _ in 0..3 {
            let _ = limits.admit("a@example.com", client, hour).expect("free again");
        }
    }

    #[test]
    fn an_address_has_a_bucket_refilled_over_time_and_successes_give_tokens_back() {
        let limits = LoginLimits::new(policy(), &[]);
        let start = Instant::now();
        let client = ip("192.0.2.1");
        let attempts: Vec<_> =
            (0..5).map(|n| limits.admit(&format!("u{n}@example.com"), client, start).expect("burst")).collect();
        // 6 a minute: the next token in 10 s.
        assert_eq!(limits.admit("u9@example.com", client, start).expect_err("empty"), Duration::from_secs(10));
        let other = limits.admit("u9@example.com", ip("192.0.2.2"), start).expect("another address");
        limits.succeeded(other);
        let mut attempts = attempts.into_iter();
        limits.succeeded(attempts.next().expect("one"));
        let _ = limits.admit("u9@example.com", client, start).expect("a success gave its token back");
        if let Some(attempt) = attempts.next() {
            limits.not_checked(attempt);
        }
        let _ = limits.admit("u8@example.com", client, start).expect("an unchecked attempt is given back");
        assert!(limits.admit("u7@example.com", client, start).is_err());
        let _ = limits.admit("u7@example.com", client, start + Duration::from_secs(10)).expect("refilled");
        let bucket = Bucket { tokens: 0.5, updated: start };
        let mut refilled = bucket;
        refilled.refill(start + Duration::from_secs(3600), &policy());
        assert_eq!(refilled.tokens, 5.0, "never above the burst");
    }

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_v4_is_v4() {
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(address_key(ip("2001:db8:1:2:ffff::9")), address_key(ip("2001:db8:1:2::1")));
        assert_ne!(address_key(ip("2001:db8:1:3::1")), address_key(ip("2001:db8:1:2::1")));
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(address_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn networks_parse_and_match() {
        let eight = Network::parse("10.0.0.0/8").expect("parses");
        assert!(eight.contains(ip("10.200.1.1")) && !eight.contains(ip("11.0.0.1")));
        assert!(eight.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped peers match IPv4 ranges");
        assert!(Network::parse("0.0.0.0/0").expect("parses").contains(ip("192.0.2.1")));
        let one = Network::parse(" 192.0.2.1 ").expect("parses");
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let v6 = Network::parse("fd00::/8").expect("parses");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        for bad in ["", "10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x"] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
        let direct = LoginLimits::new(policy(), &[]);
        let peer = Some(ip("203.0.113.9"));
        assert_eq!(direct.client(peer, Some("198.51.100.1")), ip("203.0.113.9"), "nobody is trusted");
        assert_eq!(direct.client(None, None), ip("0.0.0.0"));
        let proxied = LoginLimits::new(policy(), &["10.0.0.0/8".to_owned(), "127.0.0.1".to_owned()]);
        let proxy = Some(ip("10.0.0.2"));
        assert_eq!(proxied.client(proxy, Some("198.51.100.1")), ip("198.51.100.1"));
        // A forged left-most entry is ignored: the right-most untrusted hop is the client.
        assert_eq!(proxied.client(proxy, Some("1.2.3.4, 198.51.100.1, 10.0.0.7")), ip("198.51.100.1"));
        assert_eq!(proxied.client(proxy, None), ip("10.0.0.2"));
        assert_eq!(proxied.client(proxy, Some("10.0.0.5")), ip("10.0.0.5"), "only proxies: the farthest");
        assert_eq!(proxied.client(proxy, Some("garbage, 10.0.0.5")), ip("10.0.0.5"));
        assert_eq!(proxied.client(peer, Some("198.51.100.1")), ip("203.0.113.9"), "an untrusted peer");
    }

    #[test]
    fn the_maps_stay_bounded() {
        let limits = LoginLimits::new(LoginPolicy { burst: 1, per_minute: 1, ..policy() }, &[]);
        let start = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 10) {
            let client = IpAddr::from(n.to_be_bytes());
            let _ = limits.admit("a@example.com", client, start + Duration::from_micros(u64::from(n)));
        }
        assert!(limits.pairs.len() <= MAX_TRACKED, "{}", limits.pairs.len());
        assert!(limits.addresses.len() <= MAX_TRACKED, "{}", limits.addresses.len());
        // The most recent survive.
        let last = IpAddr::from((MAX_TRACKED as u32 + 9).to_be_bytes());
        assert!(limits.addresses.contains_key(&last));
    }
}
