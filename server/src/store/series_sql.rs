//! The SQL of [`SeriesStore`](super::series::SeriesStore), written once for
//! both backends (see `queries.rs` for the conventions): `series_impl!`
//! implements it for a struct with `pool` and `metrics`.

/// Columns of a series, as [`series_of_row`] reads them.
pub(crate) const SERIES_COLS: &str = "id, owner_id, title, description, kind, first_start_local, \
     time_zone, rrule, duration_min, lobby_min, capacity, waiting_room, registration, ground_rules, \
     welcome, created_at, updated_at, archived_at";

/// Columns of a registration with its place (position, capacity).
pub(crate) const PLACED_SQL: &str =
    "SELECT r.id, r.series_id, r.display_name, r.token_hash, r.created_at, \
     (SELECT COUNT(*) FROM series_registrations o WHERE o.series_id = r.series_id \
        AND (o.created_at < r.created_at OR (o.created_at = r.created_at AND o.id <= r.id))), \
     s.capacity \
     FROM series_registrations r JOIN series s ON s.id = r.series_id";

/// A series from a row of [`SERIES_COLS`].
pub(crate) fn series_of_row<'r, R>(row: &'r R) -> Result<super::series::Series, super::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let bad =
        |i: usize, e: sqlx::Error| super::StoreError::Corrupt(format!("series column {i}: {e}"));
    let rules: String = row.try_get(13).map_err(|e| bad(13, e))?;
    Ok(super::series::Series {
        id: row.try_get(0).map_err(|e| bad(0, e))?,
        owner_id: row.try_get(1).map_err(|e| bad(1, e))?,
        title: row.try_get(2).map_err(|e| bad(2, e))?,
        description: row.try_get(3).map_err(|e| bad(3, e))?,
        kind: row.try_get(4).map_err(|e| bad(4, e))?,
        first_start_local: row.try_get(5).map_err(|e| bad(5, e))?,
        time_zone: row.try_get(6).map_err(|e| bad(6, e))?,
        rrule: row.try_get(7).map_err(|e| bad(7, e))?,
        duration_min: row.try_get(8).map_err(|e| bad(8, e))?,
        lobby_min: row.try_get(9).map_err(|e| bad(9, e))?,
        capacity: row.try_get(10).map_err(|e| bad(10, e))?,
        waiting_room: row.try_get::<i64, usize>(11).map_err(|e| bad(11, e))? != 0,
        registration: row.try_get::<i64, usize>(12).map_err(|e| bad(12, e))? != 0,
        ground_rules: rules
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect(),
        welcome: row.try_get(14).map_err(|e| bad(14, e))?,
        created_at: row.try_get(15).map_err(|e| bad(15, e))?,
        updated_at: row.try_get(16).map_err(|e| bad(16, e))?,
        archived_at: row.try_get(17).map_err(|e| bad(17, e))?,
    })
}

/// A registration and its place from a row of [`PLACED_SQL`].
pub(crate) fn placed_of_row<'r, R>(row: &'r R) -> Result<super::series::Placed, super::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let bad = |i: usize, e: sqlx::Error| {
        super::StoreError::Corrupt(format!("registration column {i}: {e}"))
    };
    let position: i64 = row.try_get(5).map_err(|e| bad(5, e))?;
    let capacity: Option<i64> = row.try_get(6).map_err(|e| bad(6, e))?;
    Ok(super::series::Placed {
        registration: super::series::Registration {
            id: row.try_get(0).map_err(|e| bad(0, e))?,
            series_id: row.try_get(1).map_err(|e| bad(1, e))?,
            display_name: row.try_get(2).map_err(|e| bad(2, e))?,
            token_hash: row.try_get(3).map_err(|e| bad(3, e))?,
            created_at: row.try_get(4).map_err(|e| bad(4, e))?,
        },
        position,
        waitlisted: capacity.is_some_and(|c| position > c),
    })
}

/// `$begin`: how a writing transaction starts (`BEGIN IMMEDIATE` on SQLite:
/// see `store_impl!`).
macro_rules! series_impl {
    ($store:ty, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::series::SeriesStore for $store {
            async fn create_series(&self, s: &$crate::store::series::Series) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO series (id, owner_id, title, description, kind, first_start_local, time_zone, \
                     rrule, duration_min, lobby_min, capacity, waiting_room, registration, ground_rules, welcome, \
                     created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(&s.id)
                .bind(&s.owner_id)
                .bind(&s.title)
                .bind(&s.description)
                .bind(&s.kind)
                .bind(&s.first_start_local)
                .bind(&s.time_zone)
                .bind(&s.rrule)
                .bind(s.duration_min)
                .bind(s.lobby_min)
                .bind(s.capacity)
                .bind(i64::from(s.waiting_room))
                .bind(i64::from(s.registration))
                .bind(s.ground_rules.join("\n"))
                .bind(&s.welcome)
                .bind(s.created_at)
                .bind(s.updated_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::WriteSeries, e))?;
                Ok(())
            }

            async fn series(&self, id: &str) -> Result<Option<$crate::store::series::Series>, StoreError> {
                let sql = format!("SELECT {} FROM series WHERE id = $1", series_sql::SERIES_COLS);
                let row = sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadSeries, e))?;
                row.as_ref().map(series_sql::series_of_row).transpose()
            }

            async fn series_of(&self, owner_id: &str) -> Result<Vec<$crate::store::series::Series>, StoreError> {
                let sql = format!(
                    "SELECT {} FROM series WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT 200",
                    series_sql::SERIES_COLS
                );
                let rows = sqlx::query(&sql)
                    .bind(owner_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadSeries, e))?;
                rows.iter().map(series_sql::series_of_row).collect()
            }

            async fn active_series(&self, limit: i64) -> Result<Vec<$crate::store::series::Series>, StoreError> {
                let sql = format!(
                    "SELECT {} FROM series WHERE archived_at IS NULL ORDER BY id LIMIT $1",
                    series_sql::SERIES_COLS
                );
                let rows = sqlx::query(&sql)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadSeries, e))?;
                rows.iter().map(series_sql::series_of_row).collect()
            }

            async fn edit_series(
                &self,
                id: &str,
                e: &$crate::store::series::SeriesEdit,
                now: i64,
            ) -> Result<bool, StoreError> {
                let fail = |err| failed(&self.metrics, StoreOp::WriteSeries, err);
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let sql = format!("SELECT {} FROM series WHERE id = $1", series_sql::SERIES_COLS);
                let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await.map_err(fail)?;
                let Some(row) = row else { return Ok(false) };
                let mut s = series_sql::series_of_row(&row)?;
                if let Some(v) = &e.title { s.title = v.clone(); }
                if let Some(v) = &e.description { s.description = v.clone(); }
                if let Some(v) = e.duration_min { s.duration_min = v; }
                if let Some(v) = e.lobby_min { s.lobby_min = v; }
                if let Some(v) = e.capacity { s.capacity = v; }
                if let Some(v) = e.waiting_room { s.waiting_room = v; }
                if let Some(v) = e.registration { s.registration = v; }
                if let Some(v) = &e.ground_rules { s.ground_rules = v.clone(); }
                if let Some(v) = &e.welcome { s.welcome = v.clone(); }
                sqlx::query(
                    "UPDATE series SET title = $1, description = $2, duration_min = $3, lobby_min = $4, \
                     capacity = $5, waiting_room = $6, registration = $7, ground_rules = $8, welcome = $9, \
                     updated_at = $10 WHERE id = $11",
                )
                .bind(&s.title)
                .bind(&s.description)
                .bind(s.duration_min)
                .bind(s.lobby_min)
                .bind(s.capacity)
                .bind(i64::from(s.waiting_room))
                .bind(i64::from(s.registration))
                .bind(s.ground_rules.join("\n"))
                .bind(&s.welcome)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                Ok(true)
            }

            async fn archive_series(&self, id: &str, now: i64) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE series SET archived_at = $1, updated_at = $1 WHERE id = $2 AND archived_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::WriteSeries, e))?;
                Ok(r.rows_affected() > 0)
            }

            async fn claim_occurrence(
                &self,
                series_id: &str,
                starts_at: i64,
                now: i64,
            ) -> Result<$crate::store::series::Claim, StoreError> {
                let fail = |e| failed(&self.metrics, StoreOp::OpenOccurrence, e);
                // The primary key decides: one insert succeeds, everywhere.
                let r = sqlx::query(
                    "INSERT INTO series_rooms (series_id, starts_at, room_id, claimed_at) VALUES ($1, $2, NULL, $3) \
                     ON CONFLICT (series_id, starts_at) DO NOTHING",
                )
                .bind(series_id)
                .bind(starts_at)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(fail)?;
                if r.rows_affected() == 1 {
                    return Ok($crate::store::series::Claim::Won);
                }
                let room_id = self.occurrence_room(series_id, starts_at).await?;
                Ok($crate::store::series::Claim::Taken { room_id })
            }

            async fn set_occurrence_room(
                &self,
                series_id: &str,
                starts_at: i64,
                room_id: &str,
            ) -> Result<(), StoreError> {
                sqlx::query("UPDATE series_rooms SET room_id = $1 WHERE series_id = $2 AND starts_at = $3")
                    .bind(room_id)
                    .bind(series_id)
                    .bind(starts_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::OpenOccurrence, e))?;
                Ok(())
            }

            async fn release_occurrence(&self, series_id: &str, starts_at: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "DELETE FROM series_rooms WHERE series_id = $1 AND starts_at = $2 AND room_id IS NULL",
                )
                .bind(series_id)
                .bind(starts_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::OpenOccurrence, e))?;
                Ok(())
            }

            async fn occurrence_room(
                &self,
                series_id: &str,
                starts_at: i64,
            ) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT room_id FROM series_rooms WHERE series_id = $1 AND starts_at = $2")
                    .bind(series_id)
                    .bind(starts_at)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::OpenOccurrence, e))?;
                match row {
                    None => Ok(None),
                    Some(r) => sqlx::Row::try_get::<Option<String>, usize>(&r, 0)
                        .map_err(|e| StoreError::Corrupt(format!("occurrence room: {e}"))),
                }
            }

            async fn add_registration(&self, r: &$crate::store::series::Registration) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO series_registrations (id, series_id, display_name, token_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&r.id)
                .bind(&r.series_id)
                .bind(&r.display_name)
                .bind(&r.token_hash)
                .bind(r.created_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::Registration, e))?;
                Ok(())
            }

            async fn registration(
                &self,
                token_hash: &str,
            ) -> Result<Option<$crate::store::series::Placed>, StoreError> {
                let sql = format!("{} WHERE r.token_hash = $1", series_sql::PLACED_SQL);
                let row = sqlx::query(&sql)
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::Registration, e))?;
                row.as_ref().map(series_sql::placed_of_row).transpose()
            }

            async fn registrations(
                &self,
                series_id: &str,
            ) -> Result<Vec<$crate::store::series::Placed>, StoreError> {
                let sql = format!(
                    "{} WHERE r.series_id = $1 ORDER BY r.created_at, r.id LIMIT 5000",
                    series_sql::PLACED_SQL
                );
                let rows = sqlx::query(&sql)
                    .bind(series_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::Registration, e))?;
                rows.iter().map(series_sql::placed_of_row).collect()
            }

            async fn delete_registration(&self, token_hash: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM series_registrations WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::Registration, e))?;
                Ok(r.rows_affected() > 0)
            }
        }
    };
}
