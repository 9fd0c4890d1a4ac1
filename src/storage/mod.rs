//! Storage: the [`Store`] implementations for SQLite (default) and PostgreSQL, chosen from the
//! database URL; embedded migrations; and the group-commit writer both use for ticket writes.

pub mod group_commit;
pub mod postgres;
mod sql;
pub mod sqlite;
mod sqlite_writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use switchboard_actors::store::{Store, StoreError};

pub use group_commit::GroupCommitSettings;

/// How to open the store.
#[derive(Clone)]
pub struct StoreSettings {
    pub url: String,
    /// Connections for reads and non-ticket writes.
    pub max_connections: u32,
    /// How long SQLite waits for a lock before failing a statement.
    pub busy_timeout: Duration,
    pub group_commit: GroupCommitSettings,
    /// The time the store stamps rows with (creation times of accounts, people, sessions…).
    pub clock: Arc<dyn switchboard_actors::clock::Clock>,
    /// The keys the store seals secrets with and opens them with (`crate::secrets`).
    pub secrets: Arc<crate::secrets::Keyring>,
}

/// An open store, with the backend-specific operations the server needs besides [`Store`].
#[derive(Clone)]
pub struct OpenStore {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    /// The same store's sealed secrets, counted and re-sealed (startup, `keys rotate`).
    pub secrets: Arc<dyn SealedSecrets>,
}

/// The columns of sealed secrets as a whole (`crate::secrets::SEALED_COLUMNS`), below the
/// ports: only startup and the key rotation need them.
#[async_trait::async_trait]
pub trait SealedSecrets: Send + Sync {
    /// How many values each key sealed, and how many are still plaintext.
    async fn census(&self) -> Result<crate::secrets::Census, StoreError>;
    /// Seals every value under the primary key (with `plaintext_only`, only the values not
    /// sealed at all: the startup sweep); returns how many rows changed. Safe to run again.
    async fn reseal(&self, plaintext_only: bool) -> Result<u64, StoreError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot start the store writer: {0}")]
    Writer(String),
    #[error("migrating the database failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("{0}")]
    WrongKey(String),
    #[error("sealing the stored secrets failed: {0}")]
    Seal(#[source] StoreError),
}

pub fn backend_of(url: &str) -> Result<Backend, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(OpenError::UnsupportedUrl(url.to_owned()))
    }
}

/// Connects, applies pending migrations, starts the group-commit writer, then checks that this
/// node holds every key the stored secrets were sealed under (else a clear error: the wrong
/// key) and seals the ones still in plaintext (rows from before sealing; idempotent).
pub async fn open(settings: &StoreSettings) -> Result<OpenStore, OpenError> {
    let opened = match backend_of(&settings.url)? {
        Backend::Sqlite => {
            let store = Arc::new(sqlite::SqliteStore::open(settings).await?);
            OpenStore { store: store.clone(), backend: Backend::Sqlite, secrets: store }
        }
        Backend::Postgres => {
            let store = Arc::new(postgres::PostgresStore::open(settings).await?);
            OpenStore { store: store.clone(), backend: Backend::Postgres, secrets: store }
        }
    };
    let census = opened.secrets.census().await.map_err(OpenError::Seal)?;
    census.check(&settings.secrets).map_err(OpenError::WrongKey)?;
    if census.plaintext > 0 {
        let sealed = opened.secrets.reseal(true).await.map_err(OpenError::Seal)?;
        tracing::info!(sealed, "sealed the secrets stored in plaintext under the master key");
    }
    Ok(opened)
}

pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(database) if database.is_unique_violation() => {
            StoreError::Conflict(database.message().to_owned())
        }
        sqlx::Error::Database(database) if database.is_foreign_key_violation() => StoreError::NotFound,
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Internal(error.to_string()),
    }
}

pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub(crate) fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|error| StoreError::Internal(format!("bad timestamp {ms}: {error}")))
}

pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Internal(format!("encoding JSON: {error}")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Internal(format!("decoding stored JSON: {error}")))
}

pub(crate) fn parse_text<T: FromStr>(text: String) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|error: T::Err| StoreError::Internal(format!("decoding stored value: {error}")))
}
