//! Credentials: argon2id password hashes and opaque session tokens (only their SHA-256 is stored).
//!
//! A password hash costs ~19 MiB and tens of milliseconds of one core, so the server never runs one
//! on a request's own thread: [`password_pool`] runs them on a few dedicated threads that reuse
//! their argon2 memory, and [`login_limits`] decides which login attempts may reach it.

pub mod feedback_limits;
pub mod login_limits;
pub mod mfa;
pub mod password_pool;
pub mod request;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

pub use feedback_limits::FeedbackLimits;
pub use login_limits::{LoginAttempt, LoginLimits, LoginPolicy};
pub use password_pool::{PasswordPool, PoolError};
pub use request::{Caller, SESSION_COOKIE, TokenSource, request_token, same_origin, service};

/// Token bytes: 256 bits of randomness.
const TOKEN_BYTES: usize = 32;
/// Salt bytes of a new password hash (the PHC recommendation).
const SALT_BYTES: usize = 16;

/// What an unknown, inactive or password-less account is checked against, so that such logins
/// cost the same argon2 run (same parameters as [`hash_password`]) and answer in the same time as a
/// wrong password. The password behind it is irrelevant: the answer is "no" whatever it returns.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$SLJdB4vcbEpMUpYMcrdc1A$TbXX8LKa2ppLwsZzD6JUdAlUv21D7fuhrlLCDCoHP3Y";

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Memory for one argon2 run with the default parameters (19 MiB), owned by a hashing thread and
/// reused for every hash it computes: nothing is allocated per attempt, and the thread's
/// resident memory stays at one buffer however many logins it checks.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// Runs argon2 into `out`, in this memory when `params` fit the default size (a stored hash
    /// with larger parameters gets a buffer of its own for that run, so this one never grows).
    fn run(&mut self, argon2: &Argon2, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
        let blocks = params.block_count();
        if blocks > Params::DEFAULT.block_count() {
            return argon2.hash_password_into(password, salt, out).is_ok();
        }
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::new());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut self.0[..blocks]).is_ok()
    }
}

/// Hashes `password` with argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane) and a fresh
/// salt, in `memory`. CPU-heavy: the server calls it only on the [`PasswordPool`].
pub fn hash_password_in(password: &str, memory: &mut HashMemory) -> Result<String, HashError> {
    let mut salt = [0u8; SALT_BYTES];
    rand::fill(&mut salt);
    let params = Params::DEFAULT;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    if !memory.run(&argon2, &params, password.as_bytes(), &salt, &mut out) {
        return Err(HashError("argon2 refused the input".to_owned()));
    }
    let fail = |error: argon2::password_hash::phc::Error| HashError(error.to_string());
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|error| HashError(error.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(fail)?),
        hash: Some(Output::new(&out).map_err(fail)?),
    };
    Ok(hash.to_string())
}

/// Constant-time check of `password` against a stored PHC string, in `memory`.
pub fn verify_password_in(password: &str, stored: &str, memory: &mut HashMemory) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::new(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&hash) else { return false };
    let mut out = vec![0u8; expected.len()];
    memory.run(&Argon2::new(algorithm, version, params.clone()), &params, password.as_bytes(), salt, &mut out)
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// [`hash_password_in`] with memory of its own: for one-off hashes (the CLI, the demo seed, tests).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    hash_password_in(password, &mut HashMemory::default())
}

/// [`verify_password_in`] with memory of its own.
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_password_in(password, stored, &mut HashMemory::default())
}

/// A new session token (URL-safe base64) and the hash to store for it.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_secret() {
        let stored = hash_password("correct horse").expect("hashes");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("wrong horse", &stored));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(!verify_password("correct horse", ""));
    }

    #[test]
    fn hashes_are_interchangeable_with_the_argon2_crates_own() {
        let mut memory = HashMemory::default();
        // Written by the crate (as earlier versions of the hub stored them), checked in reused memory.
        let theirs = Argon2::default().hash_password(b"correct horse").expect("hashes").to_string();
        assert!(verify_password_in("correct horse", &theirs, &mut memory));
        assert!(!verify_password_in("correct horsf", &theirs, &mut memory));
        // Written here, checked by the crate.
        let ours = hash_password_in("correct horse", &mut memory).expect("hashes");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert_eq!(memory.0.len(), Params::DEFAULT.block_count(), "one buffer, reused");
        // Other parameters (cheaper here, larger in older deployments) still verify.
        let cheap = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, None).expect("params"))
            .hash_password(b"pw")
            .expect("hashes")
            .to_string();
        assert!(verify_password_in("pw", &cheap, &mut memory));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        assert_eq!(Params::try_from(&dummy).expect("params").block_count(), Params::DEFAULT.block_count());
        let real = PasswordHash::new(&hash_password("x").expect("hashes")).expect("a PHC string");
        assert_eq!((dummy.algorithm, dummy.version, dummy.params), (real.algorithm, real.version, real.params));
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (first, hash) = new_token();
        let (second, _) = new_token();
        assert_ne!(first, second);
        assert_eq!(token_hash(&first), hash);
        assert_eq!(first.len(), 43);
    }
}
