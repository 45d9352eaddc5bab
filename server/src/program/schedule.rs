//! When a series meets: an RFC 5545 RRULE (the `rrule` crate) read from the
//! first session's local wall-clock time in the series' IANA time zone. The
//! rule is expanded in that zone, so a weekly 7 PM session stays at 7 PM
//! local time on both sides of a DST change (its UTC instant moves).

use super::SeriesError;
use crate::store::series::Series;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rrule::{RRuleSet, Tz};
use serde::{Deserialize, Serialize};

/// The simple choices of the recurrence picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Every week on the first session's weekday.
    Weekly,
    /// Every two weeks on that weekday.
    Biweekly,
    /// Every month on the n-th such weekday (the last one when the first
    /// session falls in a month's fifth week).
    MonthlyNth,
}

/// The RRULE value (no `RRULE:` prefix) of a picker choice from the first session.
pub fn rrule_for(recurrence: Recurrence, first: NaiveDateTime) -> String {
    use chrono::Datelike;
    let day = match first.weekday() {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    };
    match recurrence {
        Recurrence::Weekly => format!("FREQ=WEEKLY;BYDAY={day}"),
        Recurrence::Biweekly => format!("FREQ=WEEKLY;INTERVAL=2;BYDAY={day}"),
        Recurrence::MonthlyNth => {
            let nth = (first.day() - 1) / 7 + 1;
            let nth = if nth >= 5 { -1 } else { nth as i32 };
            format!("FREQ=MONTHLY;BYDAY={nth}{day}")
        }
    }
}

/// A local date-time as the API takes it: `YYYY-MM-DDTHH:MM` (seconds optional).
pub fn parse_local(s: &str) -> Result<NaiveDateTime, SeriesError> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .map_err(|_| SeriesError::invalid("first_start", "expected YYYY-MM-DDTHH:MM, local time"))
}

pub fn parse_time_zone(s: &str) -> Result<chrono_tz::Tz, SeriesError> {
    s.trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| SeriesError::invalid("time_zone", "not an IANA time zone name"))
}

/// One session of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// Its start, ms since the Unix epoch: also its stable id within the series.
    pub starts_at: i64,
    pub ends_at: i64,
    /// When its room opens (start minus the series' lobby time).
    pub opens_at: i64,
    /// Its start in the series' time zone, `YYYY-MM-DDTHH:MM:SS`.
    pub local_start: String,
}

/// A series' rule, checked and ready to expand.
pub struct Schedule {
    set: RRuleSet,
    tz: chrono_tz::Tz,
    duration_ms: i64,
    lobby_ms: i64,
}

impl Schedule {
    /// Check a rule: the first start exists in the zone (not in a DST gap),
    /// the RRULE parses, is no more frequent than daily and holds no DTSTART.
    pub fn new(
        first_start_local: &str,
        time_zone: &str,
        rrule: &str,
        duration_min: i64,
        lobby_min: i64,
    ) -> Result<Schedule, SeriesError> {
        let first = parse_local(first_start_local)?;
        let tz = parse_time_zone(time_zone)?;
        let rule = rrule.trim();
        let rule = rule.strip_prefix("RRULE:").unwrap_or(rule);
        if rule.is_empty() || rule.contains(['\n', '\r']) || rule.contains("DTSTART") {
            return Err(SeriesError::invalid(
                "rrule",
                "one RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO",
            ));
        }
        let freq = rule
            .split(';')
            .find_map(|p| p.strip_prefix("FREQ="))
            .unwrap_or_default();
        if !matches!(freq, "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY") {
            return Err(SeriesError::invalid(
                "rrule",
                "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
            ));
        }
        if tz.from_local_datetime(&first).single().is_none() {
            return Err(SeriesError::invalid(
                "first_start",
                "that local time does not exist (or is ambiguous) in this time zone",
            ));
        }
        let text = format!(
            "DTSTART;TZID={}:{}\nRRULE:{rule}",
            tz.name(),
            first.format("%Y%m%dT%H%M%S")
        );
        let set: RRuleSet = text
            .parse()
            .map_err(|e: rrule::RRuleError| SeriesError::invalid("rrule", &e.to_string()))?;
        Ok(Schedule {
            set,
            tz,
            duration_ms: duration_min * 60_000,
            lobby_ms: lobby_min * 60_000,
        })
    }

    pub fn of(s: &Series) -> Result<Schedule, SeriesError> {
        Schedule::new(
            &s.first_start_local,
            &s.time_zone,
            &s.rrule,
            s.duration_min,
            s.lobby_min,
        )
    }

    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.tz
    }

    /// The next `n` sessions not yet over at `now` (ms), in order.
    pub fn upcoming(&self, now: i64, n: u16) -> Vec<Occurrence> {
        // A session still running counts: look from one duration back.
        let from = now - self.duration_ms - 1;
        let after = Utc
            .timestamp_millis_opt(from)
            .single()
            .unwrap_or_default()
            .with_timezone(&Tz::Tz(self.tz));
        let res = self.set.clone().after(after).all(n);
        res.dates.iter().map(|d| self.occurrence(d)).collect()
    }

    /// The session starting exactly at `starts_at`, if the rule has one.
    pub fn at(&self, starts_at: i64) -> Option<Occurrence> {
        self.upcoming(starts_at, 1)
            .into_iter()
            .find(|o| o.starts_at == starts_at)
    }

    fn occurrence(&self, d: &DateTime<Tz>) -> Occurrence {
        let starts_at = d.timestamp_millis();
        Occurrence {
            starts_at,
            ends_at: starts_at + self.duration_ms,
            opens_at: starts_at - self.lobby_ms,
            local_start: d.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(tz: chrono_tz::Tz, local: &str) -> i64 {
        tz.from_local_datetime(&parse_local(local).unwrap())
            .single()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_weekly_toronto_session_stays_at_7pm_across_the_november_change() {
        let tz = chrono_tz::America::Toronto;
        // Thursdays 19:00; DST ends Sunday 2026-11-01 at 02:00.
        let s = Schedule::new(
            "2026-10-22T19:00",
            "America/Toronto",
            "FREQ=WEEKLY;BYDAY=TH",
            90,
            10,
        )
        .unwrap();
        let next = s.upcoming(ms(tz, "2026-10-20T00:00"), 4);
        let local: Vec<&str> = next.iter().map(|o| o.local_start.as_str()).collect();
        assert_eq!(
            local,
            [
                "2026-10-22T19:00:00",
                "2026-10-29T19:00:00",
                "2026-11-05T19:00:00",
                "2026-11-12T19:00:00"
            ]
        );
        // EDT (UTC-4) before, EST (UTC-5) after: 23:00 UTC, then 00:00 UTC.
        let utc = |o: &Occurrence| {
            Utc.timestamp_millis_opt(o.starts_at)
                .unwrap()
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        };
        assert_eq!(utc(&next[1]), "2026-10-29T23:00");
        assert_eq!(utc(&next[2]), "2026-11-06T00:00");
        assert_eq!(
            next[2].starts_at - next[1].starts_at,
            (7 * 24 + 1) * 3_600_000
        );
        assert_eq!(next[0].ends_at - next[0].starts_at, 90 * 60_000);
        assert_eq!(next[0].starts_at - next[0].opens_at, 10 * 60_000);
    }

    #[test]
    fn the_picker_makes_weekly_biweekly_and_nth_weekday_rules() {
        let first = parse_local("2026-03-10T12:30").unwrap(); // the 2nd Tuesday
        assert_eq!(rrule_for(Recurrence::Weekly, first), "FREQ=WEEKLY;BYDAY=TU");
        assert_eq!(
            rrule_for(Recurrence::Biweekly, first),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
        );
        assert_eq!(
            rrule_for(Recurrence::MonthlyNth, first),
            "FREQ=MONTHLY;BYDAY=2TU"
        );
        let last = parse_local("2026-03-31T12:30").unwrap();
        assert_eq!(
            rrule_for(Recurrence::MonthlyNth, last),
            "FREQ=MONTHLY;BYDAY=-1TU"
        );
        let s = Schedule::new(
            "2026-03-10T12:30",
            "America/Vancouver",
            &rrule_for(Recurrence::MonthlyNth, first),
            60,
            10,
        )
        .unwrap();
        let tz = chrono_tz::America::Vancouver;
        let got: Vec<String> = s
            .upcoming(ms(tz, "2026-03-01T00:00"), 3)
            .into_iter()
            .map(|o| o.local_start)
            .collect();
        assert_eq!(
            got,
            [
                "2026-03-10T12:30:00",
                "2026-04-14T12:30:00",
                "2026-05-12T12:30:00"
            ]
        );
        let s = Schedule::new(
            "2026-03-10T12:30",
            "America/Vancouver",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            60,
            10,
        )
        .unwrap();
        let got = s.upcoming(ms(tz, "2026-03-01T00:00"), 2);
        assert_eq!(got[1].local_start, "2026-03-24T12:30:00");
    }

    #[test]
    fn a_running_session_is_still_upcoming_and_at_finds_exact_starts() {
        let tz = chrono_tz::America::Toronto;
        let s =
            Schedule::new("2026-10-22T19:00", "America/Toronto", "FREQ=WEEKLY", 60, 10).unwrap();
        let during = ms(tz, "2026-10-22T19:30");
        let first = &s.upcoming(during, 1)[0];
        assert_eq!(first.local_start, "2026-10-22T19:00:00");
        assert_eq!(s.at(first.starts_at).as_ref(), Some(first));
        assert_eq!(s.at(first.starts_at + 60_000), None);
    }

    #[test]
    fn bad_rules_zones_and_dates_name_their_field() {
        let field = |r: Result<Schedule, SeriesError>| match r {
            Err(SeriesError::Invalid { field, .. }) => field,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(
            field(Schedule::new(
                "2026-10-22T19:00",
                "Mars/Olympus",
                "FREQ=WEEKLY",
                60,
                10
            )),
            "time_zone"
        );
        assert_eq!(
            field(Schedule::new(
                "22/10/2026 7pm",
                "America/Toronto",
                "FREQ=WEEKLY",
                60,
                10
            )),
            "first_start"
        );
        assert_eq!(
            field(Schedule::new(
                "2026-10-22T19:00",
                "America/Toronto",
                "FREQ=FORTNIGHTLY",
                60,
                10
            )),
            "rrule"
        );
        assert_eq!(
            field(Schedule::new(
                "2026-10-22T19:00",
                "America/Toronto",
                "FREQ=MINUTELY",
                60,
                10
            )),
            "rrule"
        );
        assert_eq!(
            field(Schedule::new(
                "2026-10-22T19:00",
                "America/Toronto",
                "FREQ=WEEKLY;BYDAY=XX",
                60,
                10
            )),
            "rrule"
        );
        assert_eq!(
            field(Schedule::new(
                "2026-10-22T19:00",
                "America/Toronto",
                "FREQ=WEEKLY\nDTSTART:20260101T000000",
                60,
                10
            )),
            "rrule"
        );
        // 02:30 on 2026-03-08 does not exist in Toronto (spring forward).
        assert_eq!(
            field(Schedule::new(
                "2026-03-08T02:30",
                "America/Toronto",
                "FREQ=WEEKLY",
                60,
                10
            )),
            "first_start"
        );
    }
}
