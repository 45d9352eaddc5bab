//! The `.ics` feed of a series (RFC 5545, the `icalendar` crate): one VEVENT
//! per upcoming session, each with a UID stable for that session
//! (`<series>-<start ms>@huddle`), DTSTART and DTEND in the series' time zone
//! (TZID), and the series page as URL. No participant data is in it.

use super::schedule::{Occurrence, Schedule};
use crate::store::series::Series;
use chrono::{NaiveDateTime, TimeZone, Utc};
use icalendar::{Calendar, CalendarDateTime, Component, EventLike};

/// How many sessions the feed lists.
pub const FEED_SESSIONS: u16 = 26;

/// The stable UID of one session.
pub fn uid(series_id: &str, starts_at: i64) -> String {
    format!("{series_id}-{starts_at}@huddle")
}

fn local(tz: chrono_tz::Tz, ms: i64) -> NaiveDateTime {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.naive_local())
        .unwrap_or_default()
}

/// The feed of a series from `now` on; `page` is the series page's address.
pub fn feed(s: &Series, schedule: &Schedule, now: i64, page: &str) -> String {
    let tz = schedule.time_zone();
    let mut cal = Calendar::new();
    cal.name(&s.title);
    cal.timezone(tz.name());
    let stamp = Utc
        .timestamp_millis_opt(s.updated_at)
        .single()
        .unwrap_or_default();
    for o in schedule.upcoming(now, FEED_SESSIONS) {
        cal.push(event(s, &o, tz, stamp, page));
    }
    cal.done().to_string()
}

fn event(
    s: &Series,
    o: &Occurrence,
    tz: chrono_tz::Tz,
    stamp: chrono::DateTime<Utc>,
    page: &str,
) -> icalendar::Event {
    let at = |ms| CalendarDateTime::WithTimezone {
        date_time: local(tz, ms),
        tzid: tz.name().to_string(),
    };
    let mut e = icalendar::Event::new();
    e.uid(&uid(&s.id, o.starts_at))
        .summary(&s.title)
        .starts(at(o.starts_at))
        .ends(at(o.ends_at))
        .timestamp(stamp)
        .url(page);
    if !s.description.is_empty() {
        e.description(&s.description);
    }
    e.done()
}
