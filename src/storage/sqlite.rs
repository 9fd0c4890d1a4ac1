//! The SQLite backend, the default: one file, WAL journal, `synchronous=FULL` so a commit is on
//! disk before anyone is told it happened.

use std::path::Path;
use std::str::FromStr as _;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::group_commit::GroupCommit;
use super::sqlite_writer::{Checkpointer, SqliteBatchWriter};
use super::{OpenError, StoreSettings};

/// How often the WAL's frames are copied into the database file beside the writer.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

pub struct SqliteStore {
    pool: SqlitePool,
    writes: GroupCommit,
    clock: std::sync::Arc<dyn switchboard_actors::clock::Clock>,
    secrets: std::sync::Arc<crate::secrets::Keyring>,
    /// See [`DirectoryPort::directory_version`](switchboard_actors::store::DirectoryPort::directory_version).
    directory_version: std::sync::atomic::AtomicU64,
    /// Stops the checkpoint thread when the store is dropped.
    _checkpoints: Checkpointer,
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
        // Checkpoints are the writer's and the `Checkpointer`'s, not inside other connections' commits.
        let options = options.pragma("wal_autocheckpoint", "0");
        if let Some(parent) = Path::new(options.get_filename()).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|source| OpenError::CreateDir { path: parent.display().to_string(), source })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.max(2))
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(OpenError::Migrate)?;
        // The writer has a connection of its own, so it must find the same database by its path.
        let path = Path::new(options.get_filename());
        if path.as_os_str() == ":memory:" || settings.url.contains("mode=memory") {
            return Err(OpenError::Writer(
                "an in-memory SQLite database cannot be shared with the writer: use a file".to_owned(),
            ));
        }
        let writer = SqliteBatchWriter::open(path, settings.busy_timeout)
            .map_err(|error| OpenError::Writer(error.to_string()))?;
        let writes = GroupCommit::start_on_thread(writer, settings.group_commit.clone())
            .map_err(|error| OpenError::Writer(error.to_string()))?;
        Ok(SqliteStore {
            pool,
            writes,
            clock: settings.clock.clone(),
            secrets: settings.secrets.clone(),
            directory_version: std::sync::atomic::AtomicU64::new(0),
            _checkpoints: Checkpointer::start(path, CHECKPOINT_EVERY)
                .map_err(|error| OpenError::Writer(error.to_string()))?,
        })
    }
}

impl SqliteStore {
    /// The reports projection's pass, written on the writer's thread between two batches: the
    /// one write lock is never held across sqlx's round trips while every webhook's durable
    /// append waits (issue 16, T3's tail).
    async fn store_measure_changes(
        &self,
        from: i64,
        to: i64,
        write: switchboard_actors::reports::MeasureWrite,
    ) -> switchboard_actors::store::StoreResult<()> {
        use switchboard_actors::store::StoreError;
        let op = super::group_commit::WriteOp::RecordMeasures { from, to, write: Box::new(write) };
        match self.writes.submit(op).await? {
            super::group_commit::WriteOutcome::Committed => Ok(()),
            other => Err(StoreError::Internal(format!("recording measures answered {other:?}"))),
        }
    }
}

// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way when
// another connection wrote first (SQLite's deferred upgrade would return SQLITE_BUSY instead).
// The group-commit batches are not written through sqlx here but on the writer's own thread
// (`sqlite_writer.rs`), so the writer-only parameters (`SqliteBatchWriter`, the rows per UPDATE)
// are unused by this expansion.
super::sql::shared_sql!(
    sqlx::Sqlite,
    SqliteStore,
    SqliteBatchWriter,
    "BEGIN IMMEDIATE",
    1,
    "(SELECT group_concat(team_id, ',') FROM team_members WHERE user_id = u.id)"
);
