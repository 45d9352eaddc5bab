//! Recurring series (issue 18), the HTTP side of `program/`:
//!
//! - `POST /api/series` (a facilitator or admin creates one), `GET /api/series`
//!   (mine), `GET /api/series/{id}` (public: schedule, next sessions, open rooms),
//!   `POST /api/series/{id}` (edit: future sessions only), `POST /api/series/{id}/archive`;
//! - `POST /api/series/{id}/open` (the owner opens a session's room and gets
//!   the facilitator link; an open room's key is rotated, as in `my_rooms.rs`);
//! - `GET /api/series/{id}/calendar.ics` (the public feed);
//! - `POST /api/series/{id}/register` (a display name → a personal token,
//!   shown once, stored hashed; a seat or a place on the waitlist),
//!   `POST /api/registrations/lookup` and `POST /api/registrations/delete`
//!   (the token in the body, never in a URL that could be logged).
//!
//! Every POST passes the CSRF (Origin) check.

use super::auth::{csrf, signed_in};
use super::my_rooms::rotate_owner_key;
use super::AppState;
use crate::accounts::{self, Account, AuthError};
use crate::error::HttpError;
use crate::program::open::open_occurrence;
use crate::program::schedule::{Occurrence, Schedule};
use crate::program::{calendar, SeriesError, SeriesPatch, SeriesSpec};
use crate::store::series::{Placed, Registration, Series};
use crate::store::Role;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/series", post(create).get(mine))
        .route("/api/series/{id}", get(show).post(edit))
        .route("/api/series/{id}/archive", post(archive))
        .route("/api/series/{id}/open", post(open))
        .route("/api/series/{id}/calendar.ics", get(ics))
        .route("/api/series/{id}/register", post(register))
        .route("/api/registrations/lookup", post(lookup))
        .route("/api/registrations/delete", post(delete_registration))
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, HttpError> {
    match b {
        Ok(Json(v)) => Ok(v),
        Err(rejection) => match huddle_protocol::unknown_field(&rejection.body_text()) {
            Some(f) => Err(HttpError::UnknownField {
                field: huddle_protocol::shown_field(&f),
            }),
            None => Err(SeriesError::Invalid {
                field: "body",
                reason: rejection.body_text(),
            }
            .into()),
        },
    }
}

fn now() -> i64 {
    crate::now_ms() as i64
}

async fn facilitator(st: &AppState, headers: &HeaderMap) -> Result<Account, HttpError> {
    let me = signed_in(st, headers).await?;
    if !accounts::may_own_rooms(&me) {
        return Err(AuthError::NotAllowed.into());
    }
    Ok(me)
}

async fn series_of(st: &AppState, id: &str) -> Result<Series, HttpError> {
    Ok(st
        .accounts
        .store
        .series(id)
        .await?
        .ok_or(SeriesError::NotFound)?)
}

/// The series, when `me` owns it (or is an admin).
async fn owned(st: &AppState, me: &Account, id: &str) -> Result<Series, HttpError> {
    let s = series_of(st, id).await?;
    if s.owner_id != me.id && me.role != Role::Admin {
        return Err(HttpError::NotOwner);
    }
    Ok(s)
}

fn schedule(s: &Series) -> Result<Schedule, HttpError> {
    Ok(Schedule::of(s)?)
}

/// A session as the API shows it.
#[derive(Debug, Serialize)]
pub struct SessionView {
    #[serde(flatten)]
    pub occurrence: Occurrence,
    /// The room's join link once the session's room is open.
    pub join_link: Option<String>,
}

/// A series as the API shows it (no owner id to the public).
#[derive(Debug, Serialize)]
pub struct SeriesView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub time_zone: String,
    pub rrule: String,
    pub first_start_local: String,
    pub duration_min: i64,
    pub lobby_min: i64,
    pub capacity: Option<i64>,
    pub waiting_room: bool,
    pub registration: bool,
    pub ground_rules: Vec<String>,
    pub welcome: String,
    pub archived: bool,
    pub calendar: String,
    pub upcoming: Vec<SessionView>,
    /// Seats taken and people waiting (registration series).
    pub registered: Option<i64>,
    pub waitlisted: Option<i64>,
}

async fn view(st: &AppState, s: Series, count: u16) -> Result<SeriesView, HttpError> {
    let sc = schedule(&s)?;
    let mut upcoming = Vec::new();
    for o in sc.upcoming(now(), count) {
        let room = st
            .accounts
            .store
            .occurrence_room(&s.id, o.starts_at)
            .await?;
        upcoming.push(SessionView {
            join_link: room.map(|r| format!("/?room={r}")),
            occurrence: o,
        });
    }
    let (registered, waitlisted) = if s.registration {
        let all = st.accounts.store.registrations(&s.id).await?;
        let w = all.iter().filter(|p| p.waitlisted).count() as i64;
        (Some(all.len() as i64 - w), Some(w))
    } else {
        (None, None)
    };
    Ok(SeriesView {
        calendar: format!("/api/series/{}/calendar.ics", s.id),
        archived: s.archived_at.is_some(),
        id: s.id,
        title: s.title,
        description: s.description,
        kind: s.kind,
        time_zone: s.time_zone,
        rrule: s.rrule,
        first_start_local: s.first_start_local,
        duration_min: s.duration_min,
        lobby_min: s.lobby_min,
        capacity: s.capacity,
        waiting_room: s.waiting_room,
        registration: s.registration,
        ground_rules: s.ground_rules,
        welcome: s.welcome,
        upcoming,
        registered,
        waitlisted,
    })
}

async fn create(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    b: Result<Json<SeriesSpec>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let me = facilitator(&st, &headers).await?;
    let spec = body(b)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let s = spec.into_series(id, me.id.clone(), st.rooms.cfg.time_zone, now())?;
    st.accounts.store.create_series(&s).await?;
    tracing::info!(account = %me.id, series = %s.id, "series created");
    Ok((StatusCode::CREATED, Json(view(&st, s, 5).await?)).into_response())
}

async fn mine(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let me = facilitator(&st, &headers).await?;
    let mut out = Vec::new();
    for s in st.accounts.store.series_of(&me.id).await? {
        out.push(view(&st, s, 3).await?);
    }
    Ok(Json(out).into_response())
}

#[derive(Debug, Deserialize)]
struct CountQuery {
    count: Option<u16>,
}

async fn show(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CountQuery>,
) -> Result<Response, HttpError> {
    let count = q.count.unwrap_or(5);
    if !(1..=50).contains(&count) {
        return Err(SeriesError::invalid("count", "1 to 50").into());
    }
    let s = series_of(&st, &id).await?;
    Ok(Json(view(&st, s, count).await?).into_response())
}

async fn edit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Result<Json<SeriesPatch>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let me = facilitator(&st, &headers).await?;
    let s = owned(&st, &me, &id).await?;
    if s.archived_at.is_some() {
        return Err(SeriesError::Archived.into());
    }
    let patch = body(b)?.into_edit()?;
    st.accounts.store.edit_series(&id, &patch, now()).await?;
    let s = series_of(&st, &id).await?;
    Ok(Json(view(&st, s, 5).await?).into_response())
}

async fn archive(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let me = facilitator(&st, &headers).await?;
    owned(&st, &me, &id).await?;
    st.accounts.store.archive_series(&id, now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    /// The session (its start, ms); none: the next one.
    starts_at: Option<i64>,
}

#[derive(Debug, Serialize)]
struct OpenedView {
    room_id: String,
    starts_at: i64,
    join_link: String,
    facilitator_key: String,
    facilitator_link: String,
}

async fn open(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Result<Json<OpenBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let me = facilitator(&st, &headers).await?;
    let s = owned(&st, &me, &id).await?;
    let req = body(b)?;
    let sc = schedule(&s)?;
    let now = now();
    let o = match req.starts_at {
        Some(t) => sc.at(t).ok_or(SeriesError::NoSuchOccurrence)?,
        None => sc
            .upcoming(now, 1)
            .into_iter()
            .next()
            .ok_or(SeriesError::NoSuchOccurrence)?,
    };
    let opened = open_occurrence(&st.rooms, &st.accounts.store, &s, &o, now).await?;
    let key = match opened.facilitator_key {
        Some(k) => k,
        None => rotate_owner_key(&st, &opened.room_id).await?,
    };
    let id = opened.room_id;
    Ok(Json(OpenedView {
        join_link: format!("/?room={id}"),
        facilitator_link: format!("/?room={id}#key={key}"),
        starts_at: o.starts_at,
        room_id: id,
        facilitator_key: key,
    })
    .into_response())
}

async fn ics(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, HttpError> {
    let id = id.strip_suffix(".ics").unwrap_or(&id).to_string();
    let s = series_of(&st, &id).await?;
    let sc = schedule(&s)?;
    let origin = st
        .rooms
        .cfg
        .public_origin
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_default();
    let page = format!("{origin}/api/series/{}", s.id);
    let text = calendar::feed(&s, &sc, now(), &page);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"series.ics\"",
            ),
        ],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    name: String,
}

#[derive(Debug, Serialize)]
struct RegistrationView {
    series_id: String,
    title: String,
    display_name: String,
    position: i64,
    waitlisted: bool,
    calendar: String,
    /// Only in the answer to registering: the personal token, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

fn registration_view(s: &Series, p: Placed, token: Option<String>) -> RegistrationView {
    RegistrationView {
        series_id: s.id.clone(),
        title: s.title.clone(),
        display_name: p.registration.display_name,
        position: p.position,
        waitlisted: p.waitlisted,
        calendar: format!("/api/series/{}/calendar.ics", s.id),
        token,
    }
}

async fn register(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let req = body(b)?;
    let s = series_of(&st, &id).await?;
    if s.archived_at.is_some() {
        return Err(SeriesError::Archived.into());
    }
    if !s.registration {
        return Err(SeriesError::NoRegistration.into());
    }
    let name = crate::program::check_display_name(&req.name)?;
    let (token, token_hash) = accounts::credentials::new_token();
    let r = Registration {
        id: uuid::Uuid::new_v4().simple().to_string(),
        series_id: s.id.clone(),
        display_name: name,
        token_hash: token_hash.clone(),
        created_at: now(),
    };
    st.accounts.store.add_registration(&r).await?;
    let placed = st
        .accounts
        .store
        .registration(&token_hash)
        .await?
        .ok_or(SeriesError::UnknownRegistration)?;
    Ok((
        StatusCode::CREATED,
        Json(registration_view(&s, placed, Some(token))),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

async fn placed_of(st: &AppState, token: &str) -> Result<(Series, Placed), HttpError> {
    let hash = accounts::credentials::token_hash(token.trim());
    let p = st
        .accounts
        .store
        .registration(&hash)
        .await?
        .ok_or(SeriesError::UnknownRegistration)?;
    let s = series_of(st, &p.registration.series_id).await?;
    Ok((s, p))
}

async fn lookup(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    b: Result<Json<TokenBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let req = body(b)?;
    let (s, p) = placed_of(&st, &req.token).await?;
    Ok(Json(registration_view(&s, p, None)).into_response())
}

async fn delete_registration(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    b: Result<Json<TokenBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let req = body(b)?;
    let hash = accounts::credentials::token_hash(req.token.trim());
    if !st.accounts.store.delete_registration(&hash).await? {
        return Err(SeriesError::UnknownRegistration.into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
