//! The SQLite backend, the default: one file, WAL journal, `synchronous=FULL` so a commit is on
//! disk before anyone is told it happened.

use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::group_commit::GroupCommit;
use super::{OpenError, StoreSettings};

pub struct SqliteStore {
    pool: SqlitePool,
    writes: GroupCommit,
    clock: std::sync::Arc<dyn switchboard_actors::clock::Clock>,
}

struct SqliteBatches {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(settings: &StoreSettings) -> Result<SqliteStore, OpenError> {
        let options = SqliteConnectOptions::from_str(&settings.url)
            .map_err(OpenError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(settings.busy_timeout)
            .foreign_keys(true);
        if let Some(parent) = Path::new(options.get_filename()).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|source| OpenError::CreateDir { path: parent.display().to_string(), source })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.max(2))
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(OpenError::Migrate)?;
        let writes = GroupCommit::start(Arc::new(SqliteBatches { pool: pool.clone() }), settings.group_commit.clone());
        Ok(SqliteStore { pool, writes, clock: settings.clock.clone() })
    }
}

// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way when
// another connection wrote first (SQLite's deferred upgrade would return SQLITE_BUSY instead).
// Every ticket of a batch in one multi-row UPDATE: each statement is a round trip to sqlx's
// SQLite thread (webhook ingest +10–17 %).
super::sql::shared_sql!(
    sqlx::Sqlite,
    SqliteStore,
    SqliteBatches,
    "BEGIN IMMEDIATE",
    super::sql::UPDATE_CHUNK,
    "(SELECT group_concat(team_id, ',') FROM team_members WHERE user_id = u.id)"
);
