//! An occurrence's room: created when the series owner opens it, or by the
//! opener task once its lobby time has come, exactly once across every
//! instance that shares the database (the claim is a row in `series_rooms`
//! whose primary key only one insert can take). The room carries the
//! series' settings and is owned by the series' owner (`room_owners`), who
//! gets back in through the facilitator-link rotation like any owned room.

use super::schedule::{Occurrence, Schedule};
use super::SeriesError;
use crate::room::Carry;
use crate::rooms::Rooms;
use crate::store::series::{Claim, Series};
use crate::store::{OwnedRoom, Store};
use huddle_protocol::{CreateRoom, RoomKind};
use std::sync::Arc;
use std::time::Duration;

/// A session's room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub room_id: String,
    /// Only for the caller that created the room (shown once).
    pub facilitator_key: Option<String>,
}

/// The room spec of an occurrence.
fn room_spec(s: &Series, o: &Occurrence) -> CreateRoom {
    CreateRoom {
        title: s.title.clone(),
        kind: if s.kind == "drop_in" {
            RoomKind::DropIn
        } else {
            RoomKind::Group
        },
        starts_at: Some(o.starts_at as u64),
        ends_at: Some(o.ends_at as u64),
        capacity: s.capacity.map(|c| c as u32),
        waiting_room: s.waiting_room,
    }
}

/// Open (or find) the room of the occurrence starting at `o.starts_at`.
pub async fn open_occurrence(
    rooms: &Arc<Rooms>,
    store: &Arc<dyn Store>,
    s: &Series,
    o: &Occurrence,
    now: i64,
) -> Result<Opened, SeriesError> {
    if s.archived_at.is_some() {
        return Err(SeriesError::Archived);
    }
    if now >= o.ends_at {
        return Err(SeriesError::Over);
    }
    match store.claim_occurrence(&s.id, o.starts_at, now).await? {
        Claim::Taken {
            room_id: Some(room_id),
        } => {
            return Ok(Opened {
                room_id,
                facilitator_key: None,
            })
        }
        Claim::Taken { room_id: None } => {
            // Another instance is creating it: wait for its room.
            for _ in 0..50 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Some(room_id) = store.occurrence_room(&s.id, o.starts_at).await? {
                    return Ok(Opened {
                        room_id,
                        facilitator_key: None,
                    });
                }
            }
            return Err(SeriesError::Opening);
        }
        Claim::Won => {}
    }
    let carry = Carry {
        ground_rules: Some(s.ground_rules.clone()),
        welcome: Some(s.welcome.clone()),
    };
    let created = rooms
        .create_room_carrying(&room_spec(s, o), Some(&carry))
        .await;
    let (room_id, key) = match created {
        Ok(v) => v,
        Err(e) => {
            // Let a later attempt try again; the claim must not outlive the failure.
            if let Err(re) = store.release_occurrence(&s.id, o.starts_at).await {
                tracing::warn!(error = %re, "could not release an occurrence claim");
            }
            return Err(e.into());
        }
    };
    store
        .add_room(&OwnedRoom {
            room_id: room_id.clone(),
            account_id: s.owner_id.clone(),
            title: s.title.clone(),
            kind: s.kind.clone(),
            created_at: now,
        })
        .await?;
    store
        .set_occurrence_room(&s.id, o.starts_at, &room_id)
        .await?;
    tracing::info!(series = %s.id, room = %crate::room::log_tag(&room_id), "occurrence opened");
    Ok(Opened {
        room_id,
        facilitator_key: Some(key),
    })
}

/// One round of the opener: every active series whose next session's lobby
/// time has come gets its room. Returns how many rooms this round opened here.
pub async fn open_due(rooms: &Arc<Rooms>, store: &Arc<dyn Store>, now: i64) -> usize {
    let series = match store.active_series(10_000).await {
        Ok(s) => s,
        Err(e) => {
            // Logged and counted by the store.
            tracing::debug!(error = %e, "opener: series unavailable");
            return 0;
        }
    };
    let mut opened = 0;
    for s in series {
        let schedule = match Schedule::of(&s) {
            Ok(sc) => sc,
            Err(e) => {
                tracing::warn!(series = %s.id, error = %e, "opener: a stored rule does not expand");
                continue;
            }
        };
        for o in schedule.upcoming(now, 2) {
            if o.opens_at > now {
                break;
            }
            match store.occurrence_room(&s.id, o.starts_at).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "opener: occurrence unavailable");
                    continue;
                }
            }
            match open_occurrence(rooms, store, &s, &o, now).await {
                Ok(Opened {
                    facilitator_key: Some(_),
                    ..
                }) => {
                    opened += 1;
                    crate::metrics::Metrics::inc(&rooms.metrics.series_opened);
                }
                Ok(_) => {}
                Err(e) => {
                    crate::metrics::Metrics::inc(&rooms.metrics.series_open_failed);
                    tracing::warn!(series = %s.id, error = %e, "opener: could not open a session");
                }
            }
        }
    }
    opened
}

/// The opener task: a round every `every` until shutdown.
pub fn spawn_opener(rooms: Arc<Rooms>, store: Arc<dyn Store>, every: Duration) {
    let stop = rooms.shutting_down.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    open_due(&rooms, &store, crate::now_ms() as i64).await;
                }
            }
        }
    });
}
