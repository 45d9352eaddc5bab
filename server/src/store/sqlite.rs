//! The embedded store: one SQLite file, `huddle.db` in `--data-dir` (created
//! on first run), in WAL mode. The default: nothing to install. Back it up
//! with `sqlite3 huddle.db ".backup copy.db"` (or copy the file while the
//! server is stopped). Several processes on one host may share the file;
//! several hosts may not (hence Postgres for clusters).

use super::queries::{self, StoreDb};
use super::series_sql;
use super::{
    failed, Account, Bar, Link, LinkKind, NewAccount, NewSession, OwnedRoom, RedeemError, Role,
    StoreError, StoreOp,
};
use crate::metrics::Metrics;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The file's name inside `--data-dir`.
pub const FILE: &str = "huddle.db";

pub struct SqliteStore {
    pool: SqlitePool,
    metrics: Arc<Metrics>,
}

impl StoreDb for SqliteStore {
    type Db = sqlx::Sqlite;
}

impl SqliteStore {
    /// Open (creating the directory and file if needed) `dir/huddle.db` and migrate.
    pub async fn open(dir: &Path, metrics: Arc<Metrics>) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Open(format!("cannot create --data-dir {}: {e}", dir.display()))
        })?;
        let opts = SqliteConnectOptions::new().filename(dir.join(FILE));
        SqliteStore::with_options(opts, metrics).await
    }

    /// Open a `sqlite:` URL (e.g. `sqlite:///var/lib/huddle/huddle.db`) and migrate.
    pub async fn open_url(url: &str, metrics: Arc<Metrics>) -> Result<SqliteStore, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(format!("--database-url: {e}")))?;
        SqliteStore::with_options(opts, metrics).await
    }

    async fn with_options(
        opts: SqliteConnectOptions,
        metrics: Arc<Metrics>,
    ) -> Result<SqliteStore, StoreError> {
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| failed(&metrics, StoreOp::Connect, e))?;
        super::migrate(&MIGRATOR, &pool, &metrics).await?;
        Ok(SqliteStore { pool, metrics })
    }

    /// The pool (tests: to break or inspect the database directly).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

series_impl!(SqliteStore, "BEGIN IMMEDIATE");
store_impl!(SqliteStore, "sqlite", "BEGIN IMMEDIATE");
