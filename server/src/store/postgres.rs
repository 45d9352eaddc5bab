//! The shared store for several instances: Postgres (`--database-url
//! postgres://…`). Back it up with `pg_dump`. A pool of connections, each
//! checked before use: when Postgres goes away, calls fail within the acquire
//! timeout (HTTP 503), and the pool reconnects by itself once it is back.

use super::queries::{self, StoreDb};
use super::series_sql;
use super::{
    failed, Account, Bar, Link, LinkKind, NewAccount, NewSession, OwnedRoom, RedeemError, Role,
    StoreError, StoreOp,
};
use crate::metrics::Metrics;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pool: PgPool,
    metrics: Arc<Metrics>,
}

impl StoreDb for PgStore {
    type Db = sqlx::Postgres;
}

impl PgStore {
    /// Connect and migrate (migrations take Postgres's advisory lock: several
    /// instances starting at once migrate once).
    pub async fn connect(url: &str, metrics: Arc<Metrics>) -> Result<PgStore, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(format!("--database-url: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(3))
            .test_before_acquire(true)
            .connect_with(opts)
            .await
            .map_err(|e| failed(&metrics, StoreOp::Connect, e))?;
        super::migrate(&MIGRATOR, &pool, &metrics).await?;
        Ok(PgStore { pool, metrics })
    }

    /// The pool (tests: to inspect the database directly).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

series_impl!(PgStore, "BEGIN");
store_impl!(PgStore, "postgres", "BEGIN");
