//! Each account's configuration (statuses, priority matrix, custom fields, categories, SLA
//! policy), cached briefly: handlers and live delivery read it on every request or frame, and
//! it changes rarely. Changes made through this node forget the entry at once; other nodes' copies
//! are re-read after [`CONFIG_CACHE_TTL`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use switchboard_actors::domain::{AccountConfig, AccountId};
use switchboard_actors::store::{SettingsPort, StoreResult};

/// How long an account's configuration is used before it is read again.
pub const CONFIG_CACHE_TTL: Duration = Duration::from_secs(10);

pub struct AccountConfigs {
    store: Arc<dyn SettingsPort>,
    cache: DashMap<AccountId, (Instant, Arc<AccountConfig>)>,
}

impl AccountConfigs {
    pub fn new(store: Arc<dyn SettingsPort>) -> Arc<AccountConfigs> {
        Arc::new(AccountConfigs { store, cache: DashMap::new() })
    }

    /// The account's configuration, read again when the cached copy is older than the TTL.
    pub async fn get(&self, account: AccountId) -> StoreResult<Arc<AccountConfig>> {
        if let Some(entry) = self.cache.get(&account)
            && entry.0.elapsed() < CONFIG_CACHE_TTL
        {
            return Ok(entry.1.clone());
        }
        let config = Arc::new(self.store.account_config(account).await?);
        self.cache.insert(account, (Instant::now(), config.clone()));
        Ok(config)
    }

    /// The cached copy without waiting (for code that cannot await, such as live delivery),
    /// refreshed in the background when it is old; `None` when this node has not read it yet.
    pub fn cached(self: &Arc<Self>, account: AccountId) -> Option<Arc<AccountConfig>> {
        let (read_at, config) = self.cache.get(&account).map(|entry| entry.clone())?;
        if read_at.elapsed() >= CONFIG_CACHE_TTL
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // One refresh per period: the copy counts as fresh while it is read again, so the
            // frames delivered meanwhile do not each start another read.
            self.cache.insert(account, (Instant::now(), config.clone()));
            let (configs, stale) = (self.clone(), config.clone());
            runtime.spawn(async move {
                match configs.store.account_config(account).await {
                    Ok(fresh) => {
                        configs.cache.insert(account, (Instant::now(), Arc::new(fresh)));
                    }
                    // Marked old again, so the next frame tries anew.
                    Err(_) => {
                        configs.cache.insert(account, (read_at, stale));
                    }
                }
            });
        }
        Some(config)
    }

    pub fn forget(&self, account: AccountId) {
        self.cache.remove(&account);
    }
}
