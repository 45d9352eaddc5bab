//! The SQL of the store, written once for both backends: `store_impl!`
//! implements [`Store`](super::Store) for a struct with `pool: Pool<DB>` and
//! `metrics: Arc<Metrics>`. The statements use `$1, $2, …` in order of first
//! appearance, which Postgres reads as positions and SQLite as named
//! parameters numbered in that same order; types are TEXT and BIGINT only.

/// Columns of an account, as [`account_of`] reads them.
pub(crate) const ACCOUNT_COLS: &str =
    "a.id, a.email, a.display_name, a.role, a.active, a.created_at";

/// Columns of a link, as [`link_of`] reads them.
pub(crate) const LINK_COLS: &str =
    "token_hash, kind, role, account_id, created_by, created_at, expires_at, used_at";

/// Columns of a bar, as [`bar_of`] reads them (with `removed_by_name` last).
pub(crate) const BAR_COLS: &str = "b.id, b.room_id, b.room_title, b.series_id, b.member_id, \
     b.device_hash, b.account_id, b.display_name, b.removed_by, b.created_at, b.lifted_at, \
     r.display_name";

/// The bars with the remover's name.
pub(crate) const BAR_FROM: &str = "bars b LEFT JOIN accounts r ON r.id = b.removed_by";

/// A bar from a row of [`BAR_COLS`].
pub(crate) fn bar_of<'r, R>(row: &'r R) -> Result<super::Bar, super::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let bad = |i: usize, e: sqlx::Error| super::StoreError::Corrupt(format!("bar column {i}: {e}"));
    Ok(super::Bar {
        id: row.try_get(0).map_err(|e| bad(0, e))?,
        room_id: row.try_get(1).map_err(|e| bad(1, e))?,
        room_title: row.try_get(2).map_err(|e| bad(2, e))?,
        series_id: row.try_get(3).map_err(|e| bad(3, e))?,
        member_id: row.try_get(4).map_err(|e| bad(4, e))?,
        device_hash: row.try_get(5).map_err(|e| bad(5, e))?,
        account_id: row.try_get(6).map_err(|e| bad(6, e))?,
        name: row.try_get(7).map_err(|e| bad(7, e))?,
        removed_by: row.try_get(8).map_err(|e| bad(8, e))?,
        created_at: row.try_get(9).map_err(|e| bad(9, e))?,
        lifted_at: row.try_get(10).map_err(|e| bad(10, e))?,
        removed_by_name: row.try_get(11).map_err(|e| bad(11, e))?,
    })
}

/// An account from a row of [`ACCOUNT_COLS`].
pub(crate) fn account_of<'r, R>(row: &'r R) -> Result<super::Account, super::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let get_s = |i: usize| -> Result<String, super::StoreError> {
        row.try_get::<String, usize>(i)
            .map_err(|e| super::StoreError::Corrupt(format!("account column {i}: {e}")))
    };
    let get_i = |i: usize| -> Result<i64, super::StoreError> {
        row.try_get::<i64, usize>(i)
            .map_err(|e| super::StoreError::Corrupt(format!("account column {i}: {e}")))
    };
    let role = get_s(3)?;
    Ok(super::Account {
        id: get_s(0)?,
        email: get_s(1)?,
        name: get_s(2)?,
        role: super::Role::parse(&role)
            .ok_or_else(|| super::StoreError::Corrupt(format!("role {role:?}")))?,
        active: get_i(4)? != 0,
        created_at: get_i(5)?,
    })
}

/// A link from a row of [`LINK_COLS`].
pub(crate) fn link_of<'r, R>(row: &'r R) -> Result<super::Link, super::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let bad =
        |i: usize, e: sqlx::Error| super::StoreError::Corrupt(format!("link column {i}: {e}"));
    let kind: String = row.try_get(1).map_err(|e| bad(1, e))?;
    let role: Option<String> = row.try_get(2).map_err(|e| bad(2, e))?;
    Ok(super::Link {
        token_hash: row.try_get(0).map_err(|e| bad(0, e))?,
        kind: super::LinkKind::parse(&kind)
            .ok_or_else(|| super::StoreError::Corrupt(format!("link kind {kind:?}")))?,
        role: match role {
            None => None,
            Some(r) => Some(
                super::Role::parse(&r)
                    .ok_or_else(|| super::StoreError::Corrupt(format!("role {r:?}")))?,
            ),
        },
        account_id: row.try_get(3).map_err(|e| bad(3, e))?,
        created_by: row.try_get(4).map_err(|e| bad(4, e))?,
        created_at: row.try_get(5).map_err(|e| bad(5, e))?,
        expires_at: row.try_get(6).map_err(|e| bad(6, e))?,
        used_at: row.try_get(7).map_err(|e| bad(7, e))?,
    })
}

/// Whether an error is a unique-constraint violation (an email taken).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// `$begin`: how a writing transaction starts. SQLite needs `BEGIN IMMEDIATE`:
/// a deferred transaction that reads, then writes, fails at once with
/// "database is locked" when another connection wrote in between (the busy
/// timeout does not cover that upgrade); taking the write lock first makes
/// concurrent writers wait their turn instead.
macro_rules! store_impl {
    ($store:ty, $backend:literal, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::Ping, e))?;
                Ok(())
            }

            async fn create_account(
                &self,
                new: &NewAccount,
            ) -> Result<Option<Account>, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO accounts (id, email, display_name, role, password_hash, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6)",
                )
                .bind(&new.id)
                .bind(&new.email)
                .bind(&new.name)
                .bind(new.role.as_str())
                .bind(&new.password_hash)
                .bind(new.created_at)
                .execute(&self.pool)
                .await;
                match r {
                    Ok(_) => Ok(Some(Account {
                        id: new.id.clone(),
                        email: new.email.clone(),
                        name: new.name.clone(),
                        role: new.role,
                        active: true,
                        created_at: new.created_at,
                    })),
                    Err(e) if queries::is_unique_violation(&e) => Ok(None),
                    Err(e) => Err(failed(&self.metrics, StoreOp::CreateAccount, e)),
                }
            }

            async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
                let sql = format!("SELECT {} FROM accounts a WHERE a.id = $1", queries::ACCOUNT_COLS);
                let row = sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadAccount, e))?;
                row.as_ref().map(queries::account_of).transpose()
            }

            async fn credentials(
                &self,
                email: &str,
            ) -> Result<Option<(Account, Option<String>)>, StoreError> {
                let sql = format!(
                    "SELECT {}, a.password_hash FROM accounts a WHERE a.email = $1",
                    queries::ACCOUNT_COLS
                );
                let row = sqlx::query(&sql)
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadAccount, e))?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let hash: Option<String> = sqlx::Row::try_get(&row, 6)
                            .map_err(|e| StoreError::Corrupt(format!("password hash: {e}")))?;
                        Ok(Some((queries::account_of(&row)?, hash)))
                    }
                }
            }

            async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
                let sql = format!(
                    "SELECT {} FROM accounts a ORDER BY a.created_at, a.id",
                    queries::ACCOUNT_COLS
                );
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadAccount, e))?;
                rows.iter().map(queries::account_of).collect()
            }

            async fn set_role(&self, id: &str, role: Role) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2")
                    .bind(role.as_str())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::UpdateAccount, e))?;
                Ok(r.rows_affected() > 0)
            }

            async fn set_active(&self, id: &str, active: bool, now: i64) -> Result<bool, StoreError> {
                let op = StoreOp::UpdateAccount;
                let fail = |e| failed(&self.metrics, op, e);
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let r = sqlx::query("UPDATE accounts SET active = $1 WHERE id = $2")
                    .bind(i64::from(active))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                if !active {
                    sqlx::query(
                        "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)?;
                Ok(r.rows_affected() > 0)
            }

            async fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&s.token_hash)
                .bind(&s.account_id)
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::CreateSession, e))?;
                Ok(())
            }

            async fn session_account(
                &self,
                token_hash: &str,
                now: i64,
            ) -> Result<Option<Account>, StoreError> {
                let sql = format!(
                    "SELECT {} FROM sessions s JOIN accounts a ON a.id = s.account_id \
                     WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND a.active = 1",
                    queries::ACCOUNT_COLS
                );
                let row = sqlx::query(&sql)
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadSession, e))?;
                row.as_ref().map(queries::account_of).transpose()
            }

            async fn revoke_session(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(token_hash)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::RevokeSession, e))?;
                Ok(())
            }

            async fn create_link(&self, l: &Link) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO links (token_hash, kind, role, account_id, created_by, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&l.token_hash)
                .bind(l.kind.as_str())
                .bind(l.role.map(|r| r.as_str()))
                .bind(&l.account_id)
                .bind(&l.created_by)
                .bind(l.created_at)
                .bind(l.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::CreateLink, e))?;
                Ok(())
            }

            async fn link(&self, token_hash: &str) -> Result<Option<Link>, StoreError> {
                let sql = format!("SELECT {} FROM links WHERE token_hash = $1", queries::LINK_COLS);
                let row = sqlx::query(&sql)
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadLink, e))?;
                row.as_ref().map(queries::link_of).transpose()
            }

            async fn redeem_invite(
                &self,
                token_hash: &str,
                now: i64,
                new: &NewAccount,
            ) -> Result<Account, RedeemError> {
                let fail = |e| failed(&self.metrics, StoreOp::RedeemLink, e);
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let link = take_link(&mut tx, token_hash, now, &self.metrics).await?;
                let role = match (link.kind, link.role) {
                    (LinkKind::Invite, Some(role)) => role,
                    _ => return Err(RedeemError::Unknown),
                };
                let r = sqlx::query(
                    "INSERT INTO accounts (id, email, display_name, role, password_hash, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6)",
                )
                .bind(&new.id)
                .bind(&new.email)
                .bind(&new.name)
                .bind(role.as_str())
                .bind(&new.password_hash)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await;
                match r {
                    Ok(_) => {}
                    // Dropping the transaction rolls it back: the link stays unused.
                    Err(e) if queries::is_unique_violation(&e) => return Err(RedeemError::EmailTaken),
                    Err(e) => return Err(fail(e).into()),
                }
                tx.commit().await.map_err(fail)?;
                Ok(Account {
                    id: new.id.clone(),
                    email: new.email.clone(),
                    name: new.name.clone(),
                    role,
                    active: true,
                    created_at: new.created_at,
                })
            }

            async fn redeem_password(
                &self,
                token_hash: &str,
                now: i64,
                password_hash: &str,
            ) -> Result<Account, RedeemError> {
                let fail = |e| failed(&self.metrics, StoreOp::RedeemLink, e);
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let link = take_link(&mut tx, token_hash, now, &self.metrics).await?;
                let account_id = match (link.kind, link.account_id) {
                    (LinkKind::Setup | LinkKind::Reset, Some(id)) => id,
                    _ => return Err(RedeemError::Unknown),
                };
                let r = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2 AND active = 1")
                    .bind(password_hash)
                    .bind(&account_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                if r.rows_affected() == 0 {
                    // Deactivated since the link was issued.
                    return Err(RedeemError::Unknown);
                }
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(&account_id)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                let sql = format!("SELECT {} FROM accounts a WHERE a.id = $1", queries::ACCOUNT_COLS);
                let row = sqlx::query(&sql)
                    .bind(&account_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(fail)?;
                let account = queries::account_of(&row)?;
                tx.commit().await.map_err(fail)?;
                Ok(account)
            }

            async fn add_room(&self, room: &OwnedRoom) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO room_owners (room_id, account_id, title, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&room.room_id)
                .bind(&room.account_id)
                .bind(&room.title)
                .bind(&room.kind)
                .bind(room.created_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::RoomOwner, e))?;
                Ok(())
            }

            async fn rooms_of(&self, account_id: &str) -> Result<Vec<OwnedRoom>, StoreError> {
                let rows = sqlx::query(
                    "SELECT room_id, account_id, title, kind, created_at FROM room_owners \
                     WHERE account_id = $1 ORDER BY created_at DESC, room_id LIMIT 200",
                )
                .bind(account_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::RoomOwner, e))?;
                rows.iter()
                    .map(|r| {
                        let bad = |e: sqlx::Error| StoreError::Corrupt(format!("room owner: {e}"));
                        Ok(OwnedRoom {
                            room_id: sqlx::Row::try_get(r, 0).map_err(bad)?,
                            account_id: sqlx::Row::try_get(r, 1).map_err(bad)?,
                            title: sqlx::Row::try_get(r, 2).map_err(bad)?,
                            kind: sqlx::Row::try_get(r, 3).map_err(bad)?,
                            created_at: sqlx::Row::try_get(r, 4).map_err(bad)?,
                        })
                    })
                    .collect()
            }

            async fn room_owner(&self, room_id: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query("SELECT account_id FROM room_owners WHERE room_id = $1")
                    .bind(room_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::RoomOwner, e))?;
                match row {
                    None => Ok(None),
                    Some(r) => sqlx::Row::try_get(&r, 0)
                        .map(Some)
                        .map_err(|e| StoreError::Corrupt(format!("room owner: {e}"))),
                }
            }

            async fn add_bar(&self, bar: &Bar) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO bars (id, room_id, room_title, series_id, member_id, device_hash, \
                     account_id, display_name, removed_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&bar.id)
                .bind(&bar.room_id)
                .bind(&bar.room_title)
                .bind(&bar.series_id)
                .bind(&bar.member_id)
                .bind(&bar.device_hash)
                .bind(&bar.account_id)
                .bind(&bar.name)
                .bind(&bar.removed_by)
                .bind(bar.created_at)
                .execute(&self.pool)
                .await
                .map_err(|e| failed(&self.metrics, StoreOp::CreateBar, e))?;
                Ok(())
            }

            async fn room_bars(&self, room_id: &str) -> Result<Vec<Bar>, StoreError> {
                let sql = format!(
                    "SELECT {} FROM {} WHERE b.room_id = $1 AND b.lifted_at IS NULL \
                     ORDER BY b.created_at, b.id",
                    queries::BAR_COLS,
                    queries::BAR_FROM
                );
                let rows = sqlx::query(&sql)
                    .bind(room_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadBars, e))?;
                rows.iter().map(queries::bar_of).collect()
            }

            async fn active_bars(&self) -> Result<Vec<Bar>, StoreError> {
                let sql = format!(
                    "SELECT {} FROM {} WHERE b.lifted_at IS NULL \
                     ORDER BY b.created_at DESC, b.id LIMIT 500",
                    queries::BAR_COLS,
                    queries::BAR_FROM
                );
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| failed(&self.metrics, StoreOp::ReadBars, e))?;
                rows.iter().map(queries::bar_of).collect()
            }

            async fn lift_bar(
                &self,
                id: &str,
                now: i64,
                by: Option<&str>,
            ) -> Result<Option<Bar>, StoreError> {
                let fail = |e| failed(&self.metrics, StoreOp::LiftBar, e);
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let r = sqlx::query(
                    "UPDATE bars SET lifted_at = $1, lifted_by = $2 WHERE id = $3 AND lifted_at IS NULL",
                )
                .bind(now)
                .bind(by)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                if r.rows_affected() == 0 {
                    return Ok(None);
                }
                let sql = format!("SELECT {} FROM {} WHERE b.id = $1", queries::BAR_COLS, queries::BAR_FROM);
                let row = sqlx::query(&sql)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(fail)?;
                let bar = queries::bar_of(&row)?;
                tx.commit().await.map_err(fail)?;
                Ok(Some(bar))
            }

            async fn purge(&self, before: i64) -> Result<u64, StoreError> {
                let fail = |e| failed(&self.metrics, StoreOp::Purge, e);
                let s = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(fail)?;
                let l = sqlx::query("DELETE FROM links WHERE expires_at < $1 OR used_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(s.rows_affected() + l.rows_affected())
            }
        }

        /// Read a link inside a transaction and mark it used, once: unknown,
        /// expired and used links are refused (a concurrent redeem loses the
        /// conditional update and is told the link was used).
        async fn take_link(
            tx: &mut sqlx::Transaction<'_, <$store as StoreDb>::Db>,
            token_hash: &str,
            now: i64,
            metrics: &Metrics,
        ) -> Result<Link, RedeemError> {
            let fail = |e| failed(metrics, StoreOp::RedeemLink, e);
            let sql = format!("SELECT {} FROM links WHERE token_hash = $1", queries::LINK_COLS);
            let row = sqlx::query(&sql)
                .bind(token_hash)
                .fetch_optional(&mut **tx)
                .await
                .map_err(fail)?;
            let link = match row {
                None => return Err(RedeemError::Unknown),
                Some(r) => queries::link_of(&r)?,
            };
            if link.used_at.is_some() {
                return Err(RedeemError::Used);
            }
            if link.expires_at <= now {
                return Err(RedeemError::Expired);
            }
            let r = sqlx::query("UPDATE links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
                .bind(now)
                .bind(token_hash)
                .execute(&mut **tx)
                .await
                .map_err(fail)?;
            if r.rows_affected() == 0 {
                return Err(RedeemError::Used);
            }
            Ok(link)
        }
    };
}

/// The sqlx database a store implementation runs on (for `store_impl!`'s helpers).
pub(crate) trait StoreDb {
    type Db: sqlx::Database;
}
