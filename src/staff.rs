//! An account's staff directory as the log's projections read it on every pass (the notifier,
//! the reports): its staff users, teams and routed teams. At 500 WhatsApp messages a second the
//! notifier alone read it twenty times a second, ten queries each (issue 16, CPU per message).
//! A copy is used until the store's directory version moves (a change made through this node)
//! or it is [`STAFF_CACHE_TTL`] old (a change made on another node).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_actors::domain::{AccountId, Role, Team, TeamId, User};
use switchboard_actors::store::{Store, StoreResult};

/// How long a copy is used when nothing changed through this node: another node's change (a new
/// agent) is seen by this node's notifier and reports within this, as by the router (its
/// directory is kept as long). Still forty times fewer reads than one per notifier pass.
pub const STAFF_CACHE_TTL: Duration = Duration::from_secs(2);

/// An account's staff: who may be notified, counted as staff, or routed to.
#[derive(Debug)]
pub struct StaffDirectory {
    /// Agents, supervisors and admins, active or not (never customers).
    pub users: Vec<User>,
    pub teams: Vec<Team>,
    /// The teams whose tickets the router assigns.
    pub routed_teams: Vec<TeamId>,
}

struct Cached {
    version: u64,
    read_at: Instant,
    directory: Arc<StaffDirectory>,
}

pub struct StaffDirectories {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<AccountId, Cached>>,
}

impl StaffDirectories {
    pub fn new(store: Arc<dyn Store>) -> StaffDirectories {
        StaffDirectories { store, cache: Mutex::new(HashMap::new()) }
    }

    /// The account's staff directory, read again when it may have changed.
    pub async fn get(&self, account: AccountId) -> StoreResult<Arc<StaffDirectory>> {
        // Read before the directory: a change committed meanwhile moves it past this copy.
        let version = self.store.directory_version();
        if let Some(cached) = self.cache().get(&account)
            && cached.version == version
            && cached.read_at.elapsed() < STAFF_CACHE_TTL
        {
            return Ok(cached.directory.clone());
        }
        let read_at = Instant::now();
        let mut users = Vec::new();
        // Role by role: an account's customers (most of its users) are never staff.
        for role in Role::ALL.iter().filter(|role| role.is_staff()) {
            users.extend(self.store.list_users(account, Some(*role)).await?);
        }
        let teams = self.store.list_teams(account).await?;
        let routed_teams = self
            .store
            .team_routings(account)
            .await?
            .into_iter()
            .filter(|(_, routing)| routing.is_routed())
            .map(|(team, _)| team)
            .collect();
        let directory = Arc::new(StaffDirectory { users, teams, routed_teams });
        self.cache().insert(account, Cached { version, read_at, directory: directory.clone() });
        Ok(directory)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Cached>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
