//! `GET /api/rooms?kind=drop_in`: drop-ins open now or later today (in the
//! deployment's `--time-zone`: [`end_of_local_day`]),
//! as a passer-by sees them ([`RoomListing`]: no live counts, only whether
//! they are full). Only drop-ins are listed, and creating one needs the
//! organizer key (see `rooms.rs`).

use super::rooms::RoomListing;
use super::AppState;
use crate::error::HttpError;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use huddle_protocol::{Millis, RoomKind, RoomStatus};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ListQuery {
    kind: Option<RoomKind>,
}

pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<RoomListing>>, HttpError> {
    let kind = q.kind.unwrap_or(RoomKind::DropIn);
    if kind != RoomKind::DropIn {
        return Err(HttpError::OnlyDropInsListed);
    }
    let now = crate::now_ms();
    let end_of_day = end_of_local_day(now, st.rooms.cfg.time_zone);
    let max_members = st.rooms.cfg.max_members;
    let mut rooms: Vec<RoomListing> = st
        .rooms
        .broker
        .list_meta()
        .await?
        .into_iter()
        .map(|m| m.public)
        .filter(|p| p.info.kind == RoomKind::DropIn)
        .filter(|p| match p.info.status {
            RoomStatus::Open | RoomStatus::Paused | RoomStatus::AwaitingFacilitator => true,
            RoomStatus::Scheduled => p.info.starts_at.is_some_and(|s| s < end_of_day),
            RoomStatus::Closed => false,
        })
        .map(|p| RoomListing::of(&p, max_members))
        .collect();
    rooms.sort_by(|a, b| {
        (a.starts_at.unwrap_or(0), &a.title).cmp(&(b.starts_at.unwrap_or(0), &b.title))
    });
    Ok(Json(rooms))
}

/// The end of the local day that contains `now` in `tz` (the next local
/// midnight, as Unix milliseconds). A day is 23 or 25 hours long around a
/// daylight-saving change; where midnight itself is skipped (zones that change
/// at 00:00) the day ends at the first instant that exists after it.
pub fn end_of_local_day(now: Millis, tz: Tz) -> Millis {
    let utc_fallback = (now / 86_400_000 + 1) * 86_400_000;
    let Ok(now_i) = i64::try_from(now) else {
        return utc_fallback;
    };
    let LocalResult::Single(t) = Utc.timestamp_millis_opt(now_i) else {
        return utc_fallback;
    };
    let Some(next_midnight) = t
        .with_timezone(&tz)
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    else {
        return utc_fallback;
    };
    // Midnight, or (in a gap) the first local time that exists after it.
    let end = (0..=4).find_map(|step| {
        match tz.from_local_datetime(&(next_midnight + Duration::minutes(30 * step))) {
            LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Some(x),
            LocalResult::None => None,
        }
    });
    match end {
        Some(x) => u64::try_from(x.timestamp_millis()).unwrap_or(utc_fallback),
        None => utc_fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::end_of_local_day;
    use chrono::{TimeZone, Utc};
    use chrono_tz::Tz;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> u64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp_millis() as u64
    }

    const TORONTO: Tz = chrono_tz::America::Toronto;

    #[test]
    fn late_evening_in_toronto_is_still_today_though_utc_is_tomorrow() {
        // 23:30 EDT on 15 July = 03:30 UTC on 16 July; the day ends at
        // midnight EDT = 04:00 UTC on 16 July (UTC would say 17 July 00:00).
        let now = utc(2026, 7, 16, 3, 30);
        assert_eq!(end_of_local_day(now, TORONTO), utc(2026, 7, 16, 4, 0));
        // One minute before local midnight, and at local midnight itself.
        assert_eq!(
            end_of_local_day(utc(2026, 7, 16, 3, 59), TORONTO),
            utc(2026, 7, 16, 4, 0)
        );
        assert_eq!(
            end_of_local_day(utc(2026, 7, 16, 4, 0), TORONTO),
            utc(2026, 7, 17, 4, 0)
        );
        // In winter (EST, UTC-5) midnight is 05:00 UTC.
        assert_eq!(
            end_of_local_day(utc(2026, 1, 10, 4, 59), TORONTO),
            utc(2026, 1, 10, 5, 0)
        );
    }

    #[test]
    fn daylight_saving_days_are_23_and_25_hours_long() {
        // 8 March 2026: clocks go forward at 02:00 EST; the day starts at
        // 05:00 UTC and ends at midnight EDT = 04:00 UTC on 9 March (23 h).
        let morning = utc(2026, 3, 8, 12, 0);
        assert_eq!(end_of_local_day(morning, TORONTO), utc(2026, 3, 9, 4, 0));
        assert_eq!(
            end_of_local_day(utc(2026, 3, 8, 5, 0), TORONTO),
            utc(2026, 3, 9, 4, 0)
        );
        // 1 November 2026: clocks go back at 02:00 EDT; the day starts at
        // 04:00 UTC and ends at midnight EST = 05:00 UTC on 2 November (25 h).
        assert_eq!(
            end_of_local_day(utc(2026, 11, 1, 4, 0), TORONTO),
            utc(2026, 11, 2, 5, 0)
        );
        assert_eq!(
            end_of_local_day(utc(2026, 11, 2, 4, 30), TORONTO),
            utc(2026, 11, 2, 5, 0)
        );
    }

    #[test]
    fn other_zones_and_utc() {
        let vancouver: Tz = "America/Vancouver".parse().unwrap();
        // 20:00 PDT on 1 June = 03:00 UTC on 2 June; ends 07:00 UTC on 2 June.
        assert_eq!(
            end_of_local_day(utc(2026, 6, 2, 3, 0), vancouver),
            utc(2026, 6, 2, 7, 0)
        );
        let st_johns: Tz = "America/St_Johns".parse().unwrap();
        // Newfoundland is UTC-2:30 in summer.
        assert_eq!(
            end_of_local_day(utc(2026, 6, 2, 1, 0), st_johns),
            utc(2026, 6, 2, 2, 30)
        );
        assert_eq!(
            end_of_local_day(utc(2026, 6, 2, 23, 59), chrono_tz::UTC),
            utc(2026, 6, 3, 0, 0)
        );
    }

    #[test]
    fn a_skipped_midnight_ends_the_day_at_the_first_time_that_exists() {
        // Chile moved its clocks forward at 24:00 on Saturday 7 September
        // 2024: Sunday 00:00-00:59 did not exist; Sunday began at 01:00
        // (UTC-3) = 04:00 UTC.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let midnight = chrono::NaiveDate::from_ymd_opt(2024, 9, 8)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert!(
            santiago.from_local_datetime(&midnight).single().is_none(),
            "the test day must skip midnight"
        );
        // Saturday 7 September, 20:00 UTC-4 = 00:00 UTC on 8 September.
        assert_eq!(
            end_of_local_day(utc(2024, 9, 8, 0, 0), santiago),
            utc(2024, 9, 8, 4, 0)
        );
    }
}
