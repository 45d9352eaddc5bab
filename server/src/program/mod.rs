//! The program beyond one session: recurring series (issue 18).
//!
//! ```text
//! mod.rs        SeriesError; SeriesSpec (what a facilitator asks for) → a stored Series
//! schedule.rs   RRULE → occurrences in the series' time zone (DST-correct)
//! open.rs       an occurrence's room, created once across instances; the opener task
//! calendar.rs   the .ics feed (icalendar crate)
//! ```
//!
//! Depends downward only: the store (`store::series`) and the rooms layer
//! (`Rooms::create_room_carrying`). HTTP is in `http/series.rs`.

pub mod calendar;
pub mod open;
pub mod schedule;

use crate::error::CreateRoomError;
use crate::store::series::{Series, SeriesEdit};
use crate::store::StoreError;
use schedule::{Recurrence, Schedule};
use serde::Deserialize;

/// Why a series request was refused.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    /// Bad input, naming the field (400).
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no such series")]
    NotFound,
    #[error("no session of this series starts then")]
    NoSuchOccurrence,
    #[error("this session is over")]
    Over,
    #[error("this series is archived")]
    Archived,
    #[error("this series takes no registrations")]
    NoRegistration,
    #[error("this registration link is not valid (it may have been deleted)")]
    UnknownRegistration,
    /// Another instance is creating the room right now: retry (503).
    #[error("the session's room is being opened; try again in a moment")]
    Opening,
    #[error(transparent)]
    CreateRoom(#[from] CreateRoomError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SeriesError {
    pub fn invalid(field: &'static str, reason: &str) -> SeriesError {
        SeriesError::Invalid {
            field,
            reason: reason.to_string(),
        }
    }
}

pub const KINDS: [&str; 2] = ["group", "drop_in"];

/// `POST /api/series`: a new series. Either `recurrence` (the picker) or
/// `rrule` (an RFC 5545 RRULE value) gives the rhythm; `first_start` is local
/// time in `time_zone` (default: the deployment's).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub kind: Option<String>,
    pub first_start: String,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    #[serde(default)]
    pub rrule: Option<String>,
    #[serde(default = "default_duration")]
    pub duration_min: i64,
    #[serde(default = "default_lobby")]
    pub lobby_min: i64,
    #[serde(default)]
    pub capacity: Option<i64>,
    #[serde(default)]
    pub waiting_room: bool,
    #[serde(default)]
    pub registration: bool,
    #[serde(default)]
    pub ground_rules: Option<Vec<String>>,
    #[serde(default)]
    pub welcome: String,
}

fn default_duration() -> i64 {
    60
}

fn default_lobby() -> i64 {
    10
}

/// `POST /api/series/{id}`: what may change (future sessions only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_min: Option<i64>,
    pub lobby_min: Option<i64>,
    /// `0` clears the capacity.
    pub capacity: Option<i64>,
    pub waiting_room: Option<bool>,
    pub registration: Option<bool>,
    pub ground_rules: Option<Vec<String>>,
    pub welcome: Option<String>,
}

fn check_text(
    field: &'static str,
    s: &str,
    max: usize,
    required: bool,
) -> Result<String, SeriesError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(SeriesError::invalid(field, "required"));
    }
    if t.chars().count() > max {
        return Err(SeriesError::invalid(
            field,
            &format!("at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(SeriesError::invalid(
            field,
            "control characters are not allowed",
        ));
    }
    Ok(t.to_string())
}

fn check_duration(d: i64) -> Result<i64, SeriesError> {
    if (5..=480).contains(&d) {
        Ok(d)
    } else {
        Err(SeriesError::invalid("duration_min", "5 to 480 minutes"))
    }
}

fn check_lobby(l: i64) -> Result<i64, SeriesError> {
    if (0..=60).contains(&l) {
        Ok(l)
    } else {
        Err(SeriesError::invalid("lobby_min", "0 to 60 minutes"))
    }
}

fn check_capacity(c: i64) -> Result<i64, SeriesError> {
    if (1..=500).contains(&c) {
        Ok(c)
    } else {
        Err(SeriesError::invalid("capacity", "1 to 500"))
    }
}

fn check_rules(rules: &[String]) -> Result<Vec<String>, SeriesError> {
    if rules.is_empty() || rules.len() > 20 {
        return Err(SeriesError::invalid("ground_rules", "1 to 20 rules"));
    }
    rules
        .iter()
        .map(|r| {
            let r = check_text("ground_rules", r, 300, true)?;
            if r.contains('\n') {
                return Err(SeriesError::invalid("ground_rules", "one line per rule"));
            }
            Ok(r)
        })
        .collect()
}

impl SeriesSpec {
    /// Check everything and make the series to store.
    pub fn into_series(
        self,
        id: String,
        owner_id: String,
        default_tz: chrono_tz::Tz,
        now: i64,
    ) -> Result<Series, SeriesError> {
        let title = check_text("title", &self.title, 120, true)?;
        if title.contains('\n') {
            return Err(SeriesError::invalid("title", "one line"));
        }
        let description = check_text("description", &self.description, 2000, false)?;
        let kind = self.kind.unwrap_or_else(|| "group".into());
        if !KINDS.contains(&kind.as_str()) {
            return Err(SeriesError::invalid("kind", "group or drop_in"));
        }
        let tz = match &self.time_zone {
            Some(t) => schedule::parse_time_zone(t)?,
            None => default_tz,
        };
        let first = schedule::parse_local(&self.first_start)?;
        let rrule = match (self.recurrence, &self.rrule) {
            (Some(r), None) => schedule::rrule_for(r, first),
            (None, Some(r)) => r.trim().trim_start_matches("RRULE:").to_string(),
            _ => {
                return Err(SeriesError::invalid(
                    "recurrence",
                    "give either recurrence (weekly, biweekly, monthly_nth) or rrule",
                ))
            }
        };
        let first_start_local = first.format("%Y-%m-%dT%H:%M:%S").to_string();
        let duration_min = check_duration(self.duration_min)?;
        let lobby_min = check_lobby(self.lobby_min)?;
        // The whole rule is checked here, once: a stored rule always expands.
        Schedule::new(
            &first_start_local,
            tz.name(),
            &rrule,
            duration_min,
            lobby_min,
        )?;
        let ground_rules = match &self.ground_rules {
            Some(r) => check_rules(r)?,
            None => crate::room::library::default_ground_rules(),
        };
        Ok(Series {
            id,
            owner_id,
            title,
            description,
            kind,
            first_start_local,
            time_zone: tz.name().to_string(),
            rrule,
            duration_min,
            lobby_min,
            capacity: self.capacity.map(check_capacity).transpose()?,
            waiting_room: self.waiting_room,
            registration: self.registration,
            ground_rules,
            welcome: check_text("welcome", &self.welcome, 1000, false)?,
            created_at: now,
            updated_at: now,
            archived_at: None,
        })
    }
}

impl SeriesPatch {
    pub fn into_edit(self) -> Result<SeriesEdit, SeriesError> {
        Ok(SeriesEdit {
            title: match &self.title {
                Some(t) => {
                    let t = check_text("title", t, 120, true)?;
                    if t.contains('\n') {
                        return Err(SeriesError::invalid("title", "one line"));
                    }
                    Some(t)
                }
                None => None,
            },
            description: self
                .description
                .as_deref()
                .map(|d| check_text("description", d, 2000, false))
                .transpose()?,
            duration_min: self.duration_min.map(check_duration).transpose()?,
            lobby_min: self.lobby_min.map(check_lobby).transpose()?,
            capacity: match self.capacity {
                None => None,
                Some(0) => Some(None),
                Some(c) => Some(Some(check_capacity(c)?)),
            },
            waiting_room: self.waiting_room,
            registration: self.registration,
            ground_rules: self.ground_rules.as_deref().map(check_rules).transpose()?,
            welcome: self
                .welcome
                .as_deref()
                .map(|w| check_text("welcome", w, 1000, false))
                .transpose()?,
        })
    }
}

/// A participant's display name for a registration.
pub fn check_display_name(s: &str) -> Result<String, SeriesError> {
    let n = check_text("name", s, 60, true)?;
    if n.contains('\n') {
        return Err(SeriesError::invalid("name", "one line"));
    }
    Ok(n)
}
