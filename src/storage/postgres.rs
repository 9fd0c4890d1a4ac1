//! The PostgreSQL backend, for more than one node: every node shares the same database, and the
//! unique `(ticket_id, seq)` fences writers that lost ownership of a ticket.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::group_commit::GroupCommit;
use super::{OpenError, StoreSettings};

pub struct PostgresStore {
    pool: PgPool,
    writes: GroupCommit,
    clock: std::sync::Arc<dyn switchboard_actors::clock::Clock>,
    secrets: std::sync::Arc<crate::secrets::Keyring>,
    /// See [`DirectoryPort::directory_version`](switchboard_actors::store::DirectoryPort::directory_version).
    directory_version: std::sync::atomic::AtomicU64,
}

struct PostgresBatches {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn open(settings: &StoreSettings) -> Result<PostgresStore, OpenError> {
        // No parallel workers: the hub already runs its statements side by side on its own
        // connections (a summary's reads on several at once), and workers on top only contend
        // for the same cores. Measured on issue 15's fixture: a filtered summary's p95 from
        // 648–711 ms to 540–569 ms; one backlog read alone 190 ms with workers, 95 ms without.
        let options = PgConnectOptions::from_str(&settings.url)
            .map_err(OpenError::Connect)?
            .options([("max_parallel_workers_per_gather", "0")]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(2))
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await.map_err(OpenError::Migrate)?;
        let writes =
            GroupCommit::start(Arc::new(PostgresBatches { pool: pool.clone() }), settings.group_commit.clone());
        Ok(PostgresStore {
            pool,
            writes,
            clock: settings.clock.clone(),
            secrets: settings.secrets.clone(),
            directory_version: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

// One ticket per UPDATE: measured, PostgreSQL wrote batches slower with one multi-row
// UPDATE … FROM (VALUES …) than with a statement per ticket (webhook ingest 930 against 1,400/s).
impl PostgresStore {
    /// The reports projection's pass in a transaction of its own, beside the group-commit
    /// writer's lanes: in a lane's batch its hundreds of rows held up that lane's ticket commits
    /// (WhatsApp at 500/s: p50 36 → 155 ms).
    async fn store_measure_changes(
        &self,
        from: i64,
        to: i64,
        write: switchboard_actors::reports::MeasureWrite,
    ) -> switchboard_actors::store::StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        write_measures(&mut tx, from, to, &write).await?;
        tx.commit().await.map_err(db_error)
    }
}

super::sql::shared_sql!(
    sqlx::Postgres,
    PostgresStore,
    PostgresBatches,
    "BEGIN",
    1,
    "(SELECT string_agg(team_id::text, ',') FROM team_members WHERE user_id = u.id)"
);

// SQLite writes its batches on its own thread (`sqlite_writer.rs`); PostgreSQL through sqlx.
super::sql::writer::writer_sql!(
    sqlx::Postgres,
    PostgresStore,
    PostgresBatches,
    "BEGIN",
    1,
    "(SELECT string_agg(team_id::text, ',') FROM team_members WHERE user_id = u.id)"
);
