//! The durable store: what Huddle keeps beyond a room's life. Accounts of the
//! people who run the program (admins, facilitators, peer supporters), their
//! sign-in sessions, one-time links (first-admin setup, invites, password
//! resets), which account owns which room, and recurring series
//! ([`series`]: their sessions' rooms and registrations). Participants have no account
//! and nothing of a conversation is written here: chat bodies stay in the
//! room (memory or Redis) and end with it.
//!
//! One [`Store`] trait, two implementations on `sqlx` with the same SQL
//! ([`queries`] writes both from one text): [`sqlite::SqliteStore`], embedded,
//! the default (`--data-dir`), and [`postgres::PgStore`] for several
//! instances (`--database-url postgres://…`). Versioned migrations live in
//! `server/migrations/{sqlite,postgres}/` and run at startup (or alone with
//! `huddle migrate`).
//!
//! Every failed database call is logged once with its [`StoreOp`] (never a
//! value: no emails, no tokens) and counted in `huddle_store_errors_total`;
//! callers get a [`StoreError`], which the HTTP layer answers with 503
//! "the database is unavailable".

#[macro_use]
mod queries;
#[macro_use]
mod series_sql;
pub mod postgres;
pub mod series;
pub mod sqlite;

use crate::metrics::Metrics;
use async_trait::async_trait;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The database operations whose failures are counted (the `op` label of
/// `huddle_store_errors_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Connect,
    Migrate,
    Ping,
    CreateAccount,
    ReadAccount,
    UpdateAccount,
    CreateSession,
    ReadSession,
    RevokeSession,
    CreateLink,
    ReadLink,
    RedeemLink,
    RoomOwner,
    Purge,
    CreateBar,
    ReadBars,
    LiftBar,
    ReadSeries,
    WriteSeries,
    OpenOccurrence,
    Registration,
}

impl StoreOp {
    pub const ALL: [StoreOp; 21] = [
        StoreOp::Connect,
        StoreOp::Migrate,
        StoreOp::Ping,
        StoreOp::CreateAccount,
        StoreOp::ReadAccount,
        StoreOp::UpdateAccount,
        StoreOp::CreateSession,
        StoreOp::ReadSession,
        StoreOp::RevokeSession,
        StoreOp::CreateLink,
        StoreOp::ReadLink,
        StoreOp::RedeemLink,
        StoreOp::RoomOwner,
        StoreOp::Purge,
        StoreOp::CreateBar,
        StoreOp::ReadBars,
        StoreOp::LiftBar,
        StoreOp::ReadSeries,
        StoreOp::WriteSeries,
        StoreOp::OpenOccurrence,
        StoreOp::Registration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StoreOp::Connect => "connect",
            StoreOp::Migrate => "migrate",
            StoreOp::Ping => "ping",
            StoreOp::CreateAccount => "create_account",
            StoreOp::ReadAccount => "read_account",
            StoreOp::UpdateAccount => "update_account",
            StoreOp::CreateSession => "create_session",
            StoreOp::ReadSession => "read_session",
            StoreOp::RevokeSession => "revoke_session",
            StoreOp::CreateLink => "create_link",
            StoreOp::ReadLink => "read_link",
            StoreOp::RedeemLink => "redeem_link",
            StoreOp::RoomOwner => "room_owner",
            StoreOp::Purge => "purge",
            StoreOp::CreateBar => "create_bar",
            StoreOp::ReadBars => "read_bars",
            StoreOp::LiftBar => "lift_bar",
            StoreOp::ReadSeries => "read_series",
            StoreOp::WriteSeries => "write_series",
            StoreOp::OpenOccurrence => "open_occurrence",
            StoreOp::Registration => "registration",
        }
    }

    /// Its position in [`StoreOp::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for StoreOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database did not answer (down, unreachable, pool exhausted): 503, retry.
    #[error("the database is unavailable ({op})")]
    Unavailable {
        op: StoreOp,
        #[source]
        source: sqlx::Error,
    },
    /// `--data-dir` cannot be created, or the database URL is not usable.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// A migration failed: startup stops, naming it.
    #[error("migration {name} failed: {detail}")]
    Migration { name: String, detail: String },
    /// A stored value this server cannot read (a role it does not know).
    #[error("the database holds a value this server cannot read ({0})")]
    Corrupt(String),
}

/// Why a one-time link (setup, invite, reset) was not redeemed.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("this link is not valid; ask an admin for a new one")]
    Unknown,
    #[error("this link has expired; ask an admin for a new one")]
    Expired,
    #[error("this link was already used; ask an admin for a new one")]
    Used,
    #[error("an account with this email exists already")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an account may do. Participants need no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Facilitator,
    /// Trained peer supporter: may take the on-call desk.
    PeerSupporter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Facilitator => "facilitator",
            Role::PeerSupporter => "peer_supporter",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "facilitator" => Some(Role::Facilitator),
            "peer_supporter" => Some(Role::PeerSupporter),
            _ => None,
        }
    }
}

/// An account, as the rest of the server sees it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: String,
    /// Normalized: trimmed, lower case.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

/// A new account (its password hash, when it has one already).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub created_at: i64,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The first admin sets a password (`huddle admin create`).
    Setup,
    /// Someone invited with a role creates an account.
    Invite,
    /// An account's password is set anew (issued by an admin).
    Reset,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Setup => "setup",
            LinkKind::Invite => "invite",
            LinkKind::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<LinkKind> {
        match s {
            "setup" => Some(LinkKind::Setup),
            "invite" => Some(LinkKind::Invite),
            "reset" => Some(LinkKind::Reset),
            _ => None,
        }
    }
}

/// A one-time link as stored (its token only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub token_hash: String,
    pub kind: LinkKind,
    /// Invites: the role the new account gets.
    pub role: Option<Role>,
    /// Setup and reset: whose password is set.
    pub account_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A sign-in session (its token only as a hash).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub account_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A room an account created (its owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedRoom {
    pub room_id: String,
    pub account_id: String,
    pub title: String,
    pub kind: String,
    pub created_at: i64,
}

/// A bar: someone removed from a room, kept out of it (by device or
/// account) until an admin lifts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    pub id: String,
    pub room_id: String,
    pub room_title: String,
    /// Rooms of a series (a bar then holds across the series): none yet.
    pub series_id: Option<String>,
    /// The removed member's id in the room (random, per room).
    #[serde(skip)]
    pub member_id: String,
    /// The hash of the removed person's device id (never shown).
    #[serde(skip)]
    pub device_hash: Option<String>,
    /// The removed person's account, if they were signed in.
    pub account_id: Option<String>,
    /// The name they used in the room.
    pub name: String,
    /// The account of the facilitator who removed them, if signed in.
    pub removed_by: Option<String>,
    /// That account's display name (when listed).
    pub removed_by_name: Option<String>,
    pub created_at: i64,
    pub lifted_at: Option<i64>,
}

/// The durable store. Times are milliseconds since the Unix epoch. Its
/// recurring series are in [`series::SeriesStore`].
#[async_trait]
pub trait Store: series::SeriesStore + Send + Sync {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    /// One round trip (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Create an account; `Ok(None)` when its email is taken.
    async fn create_account(&self, new: &NewAccount) -> Result<Option<Account>, StoreError>;
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError>;
    /// An account by (normalized) email, with its password hash if set.
    async fn credentials(
        &self,
        email: &str,
    ) -> Result<Option<(Account, Option<String>)>, StoreError>;
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// False when there is no such account.
    async fn set_role(&self, id: &str, role: Role) -> Result<bool, StoreError>;
    /// Deactivating revokes every session of the account (one transaction).
    async fn set_active(&self, id: &str, active: bool, now: i64) -> Result<bool, StoreError>;

    async fn create_session(&self, s: &NewSession) -> Result<(), StoreError>;
    /// The account of a live session: not revoked, not expired, account active.
    async fn session_account(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Account>, StoreError>;
    async fn revoke_session(&self, token_hash: &str, now: i64) -> Result<(), StoreError>;

    async fn create_link(&self, link: &Link) -> Result<(), StoreError>;
    async fn link(&self, token_hash: &str) -> Result<Option<Link>, StoreError>;
    /// Use an invite: the link is marked used and the account created with
    /// the link's role, in one transaction (a taken email leaves the link unused).
    async fn redeem_invite(
        &self,
        token_hash: &str,
        now: i64,
        new: &NewAccount,
    ) -> Result<Account, RedeemError>;
    /// Use a setup or reset link: the link is marked used, the password
    /// hash set and every session of the account revoked, in one transaction.
    async fn redeem_password(
        &self,
        token_hash: &str,
        now: i64,
        password_hash: &str,
    ) -> Result<Account, RedeemError>;

    async fn add_room(&self, room: &OwnedRoom) -> Result<(), StoreError>;
    /// The rooms an account owns, newest first (at most 200).
    async fn rooms_of(&self, account_id: &str) -> Result<Vec<OwnedRoom>, StoreError>;
    async fn room_owner(&self, room_id: &str) -> Result<Option<String>, StoreError>;

    async fn add_bar(&self, bar: &Bar) -> Result<(), StoreError>;
    /// The bars of a room that are not lifted.
    async fn room_bars(&self, room_id: &str) -> Result<Vec<Bar>, StoreError>;
    /// Every bar not lifted, newest first (at most 500), with who removed.
    async fn active_bars(&self) -> Result<Vec<Bar>, StoreError>;
    /// Lift a bar; the bar as it was, or none when unknown or lifted already.
    async fn lift_bar(
        &self,
        id: &str,
        now: i64,
        by: Option<&str>,
    ) -> Result<Option<Bar>, StoreError>;

    /// Forget sessions and links that ended before `before`; returns rows removed.
    async fn purge(&self, before: i64) -> Result<u64, StoreError>;
}

/// Log and count one failed database call; the error to return.
pub(crate) fn failed(metrics: &Metrics, op: StoreOp, e: sqlx::Error) -> StoreError {
    metrics.store_error(op);
    // The error's text names the failure (I/O, pool timeout, constraint), not values.
    tracing::warn!(%op, error = %e, "database call failed");
    StoreError::Unavailable { op, source: e }
}

/// `--database-url`, when given and not empty (an empty `HUDDLE_DATABASE_URL` is none).
pub fn database_url(cfg: &crate::config::Config) -> Option<&str> {
    cfg.database_url
        .as_ref()
        .map(|u| u.expose().trim())
        .filter(|u| !u.is_empty())
}

/// Open the store the configuration names: `--database-url` (postgres:// or
/// sqlite:), else the SQLite file in `--data-dir`; migrations run.
pub async fn open(
    cfg: &crate::config::Config,
    metrics: Arc<Metrics>,
) -> Result<Arc<dyn Store>, StoreError> {
    match database_url(cfg) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(postgres::PgStore::connect(url, metrics).await?))
        }
        Some(url) if url.starts_with("sqlite:") => {
            Ok(Arc::new(sqlite::SqliteStore::open_url(url, metrics).await?))
        }
        Some(_) => Err(StoreError::Open(
            "--database-url must start with postgres:// (or sqlite: for one host)".into(),
        )),
        None => Ok(Arc::new(
            sqlite::SqliteStore::open(&cfg.data_dir, metrics).await?,
        )),
    }
}

/// Run a migrator, naming the migration that failed.
pub(crate) async fn migrate<'a, A>(
    migrator: &sqlx::migrate::Migrator,
    conn: A,
    metrics: &Metrics,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    use sqlx::migrate::MigrateError;
    let name = |v: i64| {
        migrator
            .iter()
            .find(|m| m.version == v)
            .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
            .unwrap_or_else(|| format!("{v:04}"))
    };
    match migrator.run(conn).await {
        Ok(()) => Ok(()),
        Err(e) => {
            metrics.store_error(StoreOp::Migrate);
            let (name, detail) = match &e {
                MigrateError::ExecuteMigration(inner, v) => (name(*v), inner.to_string()),
                MigrateError::VersionMissing(v) => (
                    name(*v),
                    "applied to the database but unknown to this server (a newer version ran here?)"
                        .into(),
                ),
                MigrateError::VersionMismatch(v) => (
                    name(*v),
                    "changed after it was applied (its checksum differs)".into(),
                ),
                MigrateError::Dirty(v) => (
                    name(*v),
                    "failed part-way earlier; repair the database by hand".into(),
                ),
                MigrateError::Execute(inner) => ("(bookkeeping)".into(), inner.to_string()),
                other => ("(unknown)".into(), other.to_string()),
            };
            tracing::error!(migration = %name, error = %detail, "migration failed");
            Err(StoreError::Migration { name, detail })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_and_roles_have_stable_names() {
        for (i, op) in StoreOp::ALL.iter().enumerate() {
            assert_eq!(op.index(), i, "StoreOp::ALL is in declaration order");
        }
        for r in [Role::Admin, Role::Facilitator, Role::PeerSupporter] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for k in [LinkKind::Setup, LinkKind::Invite, LinkKind::Reset] {
            assert_eq!(LinkKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Role::parse("participant"), None);
    }
}
