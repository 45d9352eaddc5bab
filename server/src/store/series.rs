//! What the store keeps of recurring series (issue 18): the series, which
//! room each opened occurrence got, and registrations (a display name and
//! the hash of a personal link's token). The SQL is in `series_sql.rs`,
//! written once for both backends like `queries.rs`.

use super::StoreError;
use async_trait::async_trait;
use serde::Serialize;

/// A recurring series as stored. `rrule` is the RRULE value (no `RRULE:`
/// prefix) read from `first_start_local` in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Series {
    pub id: String,
    pub owner_id: String,
    pub title: String,
    pub description: String,
    /// "group" or "drop_in".
    pub kind: String,
    /// Local wall-clock time of the first session, `YYYY-MM-DDTHH:MM:SS`.
    pub first_start_local: String,
    /// IANA name, e.g. `America/Toronto`.
    pub time_zone: String,
    pub rrule: String,
    pub duration_min: i64,
    /// How long before its start an occurrence's room opens.
    pub lobby_min: i64,
    pub capacity: Option<i64>,
    pub waiting_room: bool,
    /// Whether participants register (with a waitlist past capacity).
    pub registration: bool,
    /// Carried into every occurrence's room; one rule a line.
    pub ground_rules: Vec<String>,
    /// Carried into every occurrence's room; empty: none.
    pub welcome: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived_at: Option<i64>,
}

/// What an edit may change (future occurrences only: rooms already open keep
/// what they were created with). `None`: unchanged.
#[derive(Debug, Clone, Default)]
pub struct SeriesEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_min: Option<i64>,
    pub lobby_min: Option<i64>,
    /// `Some(None)` clears the capacity.
    pub capacity: Option<Option<i64>>,
    pub waiting_room: Option<bool>,
    pub registration: Option<bool>,
    pub ground_rules: Option<Vec<String>>,
    pub welcome: Option<String>,
}

/// How an occurrence's room is claimed: exactly one caller, across every
/// instance sharing the database, wins the right to create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller claimed it: create the room, then [`SeriesStore::set_occurrence_room`].
    Won,
    /// Another caller claimed it; its room, once created.
    Taken { room_id: Option<String> },
}

/// A registration as stored (its token only as a hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub id: String,
    pub series_id: String,
    pub display_name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
}

/// A registration with its place: the first `capacity` registrations (in
/// order of registering) have a seat, the rest wait in that order, so a
/// cancellation promotes the first on the waitlist and the seats never
/// exceed the capacity, however many register at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    #[serde(flatten)]
    pub registration: Registration,
    /// 1-based, among all of the series' registrations.
    pub position: i64,
    pub waitlisted: bool,
}

#[async_trait]
pub trait SeriesStore: Send + Sync {
    async fn create_series(&self, s: &Series) -> Result<(), StoreError>;
    async fn series(&self, id: &str) -> Result<Option<Series>, StoreError>;
    /// An account's series (archived ones too), newest first, at most 200.
    async fn series_of(&self, owner_id: &str) -> Result<Vec<Series>, StoreError>;
    /// Every series not archived (the opener's round), at most `limit`.
    async fn active_series(&self, limit: i64) -> Result<Vec<Series>, StoreError>;
    /// False when there is no such series.
    async fn edit_series(&self, id: &str, edit: &SeriesEdit, now: i64) -> Result<bool, StoreError>;
    async fn archive_series(&self, id: &str, now: i64) -> Result<bool, StoreError>;

    /// Claim the occurrence starting at `starts_at` (once, everywhere).
    async fn claim_occurrence(
        &self,
        series_id: &str,
        starts_at: i64,
        now: i64,
    ) -> Result<Claim, StoreError>;
    async fn set_occurrence_room(
        &self,
        series_id: &str,
        starts_at: i64,
        room_id: &str,
    ) -> Result<(), StoreError>;
    /// Give up a claim whose room could not be created (another may try).
    async fn release_occurrence(&self, series_id: &str, starts_at: i64) -> Result<(), StoreError>;
    /// The room of an occurrence, when it has one.
    async fn occurrence_room(
        &self,
        series_id: &str,
        starts_at: i64,
    ) -> Result<Option<String>, StoreError>;

    async fn add_registration(&self, r: &Registration) -> Result<(), StoreError>;
    /// A registration by its token's hash, with its place now.
    async fn registration(&self, token_hash: &str) -> Result<Option<Placed>, StoreError>;
    /// Every registration of a series in order, with its place.
    async fn registrations(&self, series_id: &str) -> Result<Vec<Placed>, StoreError>;
    /// Delete a registration (nothing of it is kept); false when unknown.
    async fn delete_registration(&self, token_hash: &str) -> Result<bool, StoreError>;
}
