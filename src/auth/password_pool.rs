//! The password pool: every password hash and check of the server runs here, on a few dedicated
//! threads, each with one reusable argon2 buffer ([`HashMemory`]).
//!
//! Why not `web::block`: the blocking pool grows to hundreds of threads, so 100 concurrent logins
//! ran 100 argon2 instances at once (~19 MiB each, 0.5 → 2.3 GB), and glibc keeps a malloc arena
//! per thread, so every thread that ever hashed stayed ~19 MiB larger. Here at most `threads`
//! hashes run at once, resident memory is `threads` buffers whatever the load, and a request that
//! finds every thread busy for longer than `wait` is answered 429 instead of queueing without end.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::{DUMMY_HASH, HashError, HashMemory, hash_password_in, verify_password_in};

/// The most hashing threads "one per core" means: each keeps a 19 MiB buffer, and four already
/// check over a hundred logins a second, far beyond what people type.
const MAX_DEFAULT_THREADS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("every password thread is busy; retry in {retry_after:?}")]
    Busy { retry_after: Duration },
    #[error("the password threads stopped")]
    Stopped,
    #[error(transparent)]
    Hash(#[from] HashError),
}

enum Work {
    Hash(String),
    /// `None`: an account that cannot log in; checked against [`DUMMY_HASH`] and always refused.
    Verify {
        password: String,
        stored: Option<String>,
    },
}

enum Outcome {
    Hashed(Result<String, HashError>),
    Verified(bool),
}

struct Job {
    work: Work,
    /// Held until the work is done, so the threads never have more than one job each queued,
    /// even when the request that sent it has gone away.
    slot: OwnedSemaphorePermit,
    reply: oneshot::Sender<Outcome>,
}

pub struct PasswordPool {
    jobs: Sender<Job>,
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl PasswordPool {
    /// Starts `threads` hashing threads (0: one per core, at most [`MAX_DEFAULT_THREADS`]). A
    /// request waits at most `wait` for one of them. The threads end when the pool is dropped.
    pub fn start(threads: usize, wait: Duration) -> PasswordPool {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |cores| cores.get()).min(MAX_DEFAULT_THREADS),
            threads => threads,
        };
        let (jobs, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for index in 0..threads {
            let receiver = receiver.clone();
            match std::thread::Builder::new().name(format!("password-{index}")).spawn(move || work(&receiver)) {
                Ok(_) => started += 1,
                Err(error) => tracing::error!(%error, "cannot start a password thread"),
            }
        }
        PasswordPool { jobs, slots: Arc::new(Semaphore::new(started)), wait }
    }

    /// A new argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, PoolError> {
        match self.run(Work::Hash(password)).await? {
            Outcome::Hashed(hash) => Ok(hash?),
            Outcome::Verified(_) => Err(PoolError::Stopped),
        }
    }

    /// Whether `password` matches `stored`. With `None` (no such account, inactive, no password)
    /// the same work is done against [`DUMMY_HASH`] and the answer is `false`, in the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, PoolError> {
        match self.run(Work::Verify { password, stored }).await? {
            Outcome::Verified(ok) => Ok(ok),
            Outcome::Hashed(_) => Err(PoolError::Stopped),
        }
    }

    async fn run(&self, work: Work) -> Result<Outcome, PoolError> {
        // The semaphore is fair: waiters are served in arrival order.
        let slot = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => return Err(PoolError::Stopped),
            Err(_) => return Err(PoolError::Busy { retry_after: self.wait.max(Duration::from_secs(1)) }),
        };
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { work, slot, reply }).map_err(|_| PoolError::Stopped)?;
        answer.await.map_err(|_| PoolError::Stopped)
    }
}

/// One hashing thread: takes jobs until the pool is dropped.
fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut memory = HashMemory::default();
    loop {
        // Only the waiting thread holds the lock; it is released before the work starts.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(Job { work, slot, reply }) = job else { return };
        let outcome = match work {
            Work::Hash(password) => Outcome::Hashed(hash_password_in(&password, &mut memory)),
            Work::Verify { password, stored: Some(stored) } => {
                Outcome::Verified(verify_password_in(&password, &stored, &mut memory))
            }
            Work::Verify { password, stored: None } => {
                let _ = verify_password_in(&password, DUMMY_HASH, &mut memory);
                Outcome::Verified(false)
            }
        };
        drop(slot);
        let _ = reply.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_are_refused() {
        let pool = PasswordPool::start(1, Duration::from_secs(5));
        let stored = pool.hash("correct horse".to_owned()).await.expect("hashes");
        assert!(pool.verify("correct horse".to_owned(), Some(stored.clone())).await.expect("checks"));
        assert!(!pool.verify("wrong horse".to_owned(), Some(stored)).await.expect("checks"));
        assert!(!pool.verify("anything".to_owned(), None).await.expect("checks"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_pool_answers_busy_after_the_wait() {
        let pool = Arc::new(PasswordPool::start(1, Duration::from_millis(1)));
        let attempts: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.verify("x".to_owned(), None).await })
            })
            .collect();
        let started = Instant::now();
        let mut busy = 0;
        for attempt in attempts {
            match attempt.await.expect("joins") {
                Ok(false) => {}
                Err(PoolError::Busy { retry_after }) => {
                    assert_eq!(retry_after, Duration::from_secs(1));
                    busy += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(busy >= 1, "one thread cannot check 8 passwords within 1 ms");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
