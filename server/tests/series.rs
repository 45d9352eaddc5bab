//! Recurring series (issue 18): the store suite on SQLite and on a real
//! Postgres (claims once across two connections pools, registrations and
//! their waitlist under concurrency), and the HTTP road against a real
//! `huddle`: a facilitator creates a series, bad input names its field,
//! the owner opens a session (once) and gets in, the .ics feed parses back,
//! participants register past capacity onto a waitlist that promotes.

mod common;

use common::pg::{Postgres, TempDir};
use common::*;
use huddle_server::metrics::Metrics;
use huddle_server::store::postgres::PgStore;
use huddle_server::store::series::{Claim, Registration, Series, SeriesEdit};
use huddle_server::store::sqlite::SqliteStore;
use huddle_server::store::{NewAccount, Role, Store};
use serde_json::{json, Value};
use std::sync::Arc;

const NOW: i64 = 1_800_000_000_000;

fn series(id: &str, owner: &str, capacity: Option<i64>) -> Series {
    Series {
        id: id.into(),
        owner_id: owner.into(),
        title: "Thursday circle".into(),
        description: "Peers after night shifts".into(),
        kind: "group".into(),
        first_start_local: "2026-10-22T19:00:00".into(),
        time_zone: "America/Toronto".into(),
        rrule: "FREQ=WEEKLY;BYDAY=TH".into(),
        duration_min: 60,
        lobby_min: 10,
        capacity,
        waiting_room: true,
        registration: true,
        ground_rules: vec!["Confidential.".into(), "Listen.".into()],
        welcome: "Welcome back".into(),
        created_at: NOW,
        updated_at: NOW,
        archived_at: None,
    }
}

fn reg(id: &str, series: &str, at: i64) -> Registration {
    Registration {
        id: id.into(),
        series_id: series.into(),
        display_name: format!("Name {id}"),
        token_hash: format!("hash-{id}"),
        created_at: at,
    }
}

/// The series part of the store, on one store; `other` is a second handle
/// on the same database (another instance).
async fn suite(s: Arc<dyn Store>, other: Arc<dyn Store>) {
    s.create_account(&NewAccount {
        id: "fay".into(),
        email: "fay@example.org".into(),
        name: "Fay".into(),
        role: Role::Facilitator,
        password_hash: None,
        created_at: NOW,
    })
    .await
    .unwrap()
    .unwrap();
    let a = series("s1", "fay", Some(2));
    s.create_series(&a).await.unwrap();
    assert_eq!(other.series("s1").await.unwrap(), Some(a.clone()));
    assert_eq!(s.series("nope").await.unwrap(), None);
    s.create_series(&Series {
        created_at: NOW + 1,
        ..series("s2", "fay", None)
    })
    .await
    .unwrap();
    let mine: Vec<String> = s
        .series_of("fay")
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(mine, ["s2", "s1"]);

    // Edit: only what is given changes.
    assert!(s
        .edit_series(
            "s1",
            &SeriesEdit {
                title: Some("Renamed".into()),
                capacity: Some(Some(3)),
                ground_rules: Some(vec!["One rule.".into()]),
                ..Default::default()
            },
            NOW + 5
        )
        .await
        .unwrap());
    let e = s.series("s1").await.unwrap().unwrap();
    assert_eq!(
        (e.title.as_str(), e.capacity, e.updated_at),
        ("Renamed", Some(3), NOW + 5)
    );
    assert_eq!(e.ground_rules, ["One rule."]);
    assert_eq!(e.welcome, "Welcome back");
    assert!(!s
        .edit_series("nope", &SeriesEdit::default(), NOW)
        .await
        .unwrap());
    s.edit_series(
        "s1",
        &SeriesEdit {
            capacity: Some(Some(2)),
            ..Default::default()
        },
        NOW + 6,
    )
    .await
    .unwrap();

    // Claims: 20 at once from two handles, exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let st = if i % 2 == 0 { s.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            st.claim_occurrence("s1", 777, NOW).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap() == Claim::Won {
            won += 1;
        }
    }
    assert_eq!(won, 1, "an occurrence is claimed once");
    assert_eq!(s.occurrence_room("s1", 777).await.unwrap(), None);
    s.set_occurrence_room("s1", 777, "room-a").await.unwrap();
    assert_eq!(
        other.claim_occurrence("s1", 777, NOW).await.unwrap(),
        Claim::Taken {
            room_id: Some("room-a".into())
        }
    );
    // A released claim (room creation failed) can be won again.
    assert_eq!(
        s.claim_occurrence("s1", 888, NOW).await.unwrap(),
        Claim::Won
    );
    s.release_occurrence("s1", 888).await.unwrap();
    assert_eq!(
        other.claim_occurrence("s1", 888, NOW).await.unwrap(),
        Claim::Won
    );

    // Registrations: capacity 2, in order; the third waits, and moves up.
    for (i, id) in ["r1", "r2", "r3"].iter().enumerate() {
        s.add_registration(&reg(id, "s1", NOW + i as i64))
            .await
            .unwrap();
    }
    let placed = s.registrations("s1").await.unwrap();
    let shape: Vec<(&str, i64, bool)> = placed
        .iter()
        .map(|p| (p.registration.id.as_str(), p.position, p.waitlisted))
        .collect();
    assert_eq!(shape, [("r1", 1, false), ("r2", 2, false), ("r3", 3, true)]);
    let r3 = other.registration("hash-r3").await.unwrap().unwrap();
    assert!(r3.waitlisted);
    assert!(s.delete_registration("hash-r1").await.unwrap());
    assert!(!s.delete_registration("hash-r1").await.unwrap());
    let r3 = s.registration("hash-r3").await.unwrap().unwrap();
    assert_eq!(
        (r3.position, r3.waitlisted),
        (2, false),
        "promoted in order"
    );
    assert_eq!(s.registration("hash-r1").await.unwrap(), None);

    // 50 at once on a series of capacity 2 (s2 has none: set 2): never over.
    s.edit_series(
        "s2",
        &SeriesEdit {
            capacity: Some(Some(2)),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let st = if i % 2 == 0 { s.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            st.add_registration(&reg(&format!("c{i:02}"), "s2", NOW))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = s.registrations("s2").await.unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(all.iter().filter(|p| !p.waitlisted).count(), 2);
    let positions: Vec<i64> = all.iter().map(|p| p.position).collect();
    assert_eq!(positions, (1..=50).collect::<Vec<i64>>());

    // Archive: once; archived series leave the opener's list.
    assert!(s.archive_series("s1", NOW + 9).await.unwrap());
    assert!(!s.archive_series("s1", NOW + 10).await.unwrap());
    let active: Vec<String> = s
        .active_series(100)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(active, ["s2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_store_suite_passes_on_sqlite() {
    let dir = TempDir::new("series-store");
    let m = Arc::new(Metrics::default());
    let a = SqliteStore::open(dir.path(), m.clone())
        .await
        .expect("open");
    let b = SqliteStore::open(dir.path(), m.clone())
        .await
        .expect("open again");
    suite(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_store_suite_passes_on_postgres() {
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let m = Arc::new(Metrics::default());
    let a = PgStore::connect(&pg.url(), m.clone())
        .await
        .expect("connect");
    let b = PgStore::connect(&pg.url(), m.clone())
        .await
        .expect("connect again");
    suite(Arc::new(a), Arc::new(b)).await;
    drop(pg);
}

/// `huddle admin create`: the setup token it printed.
fn admin_create(dir: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args([
            "admin",
            "create",
            "--email",
            "ada@example.org",
            "--name",
            "Ada",
        ])
        .args(["--data-dir", dir])
        .env("RUST_LOG", "warn")
        .env_remove("HUDDLE_DATABASE_URL")
        .output()
        .expect("running huddle admin create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    stdout
        .split("/setup?token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("a setup link")
        .to_string()
}

async fn post(s: &Server, path: &str, cookie: Option<&str>, body: &Value) -> HttpResponse {
    let origin = s.origin();
    let mut h = vec![
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
    ];
    if let Some(c) = cookie {
        h.push(("Cookie", c));
    }
    s.http("POST", path, &h, Some(&body.to_string())).await
}

fn cookie_of(r: &HttpResponse) -> String {
    let set = r.header("set-cookie").expect("Set-Cookie");
    set.split(';').next().unwrap().trim().to_string()
}

fn field_error(r: &HttpResponse) -> String {
    assert_eq!(r.status, 400, "{}", r.body);
    let v: Value = r.json();
    v["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facilitator_runs_a_weekly_series_with_registration_and_a_calendar() {
    let data = TempDir::new("series-http");
    let dir = data.str();
    let setup = admin_create(&dir);
    let s = Server::start_with(&["--data-dir", &dir, "--time-zone", "America/Toronto"]).await;
    let r = post(
        &s,
        "/api/auth/accept",
        None,
        &json!({"token": setup, "password": "a long enough passphrase"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ada = cookie_of(&r);

    // The first session is tomorrow at this minute, local time: the lobby opens
    // in ~24 h, so nothing opens by itself during this test.
    let tz: chrono_tz::Tz = "America/Toronto".parse().unwrap();
    let first = (chrono::Utc::now() + chrono::Duration::days(1)).with_timezone(&tz);
    let first_local = first.format("%Y-%m-%dT%H:%M").to_string();
    let spec = json!({
        "title": "Night-shift circle", "first_start": first_local, "recurrence": "weekly",
        "duration_min": 60, "capacity": 2, "registration": true, "waiting_room": true,
        "ground_rules": ["What is said here stays here."], "welcome": "Welcome back, everyone."
    });

    // Signed out, or cross-site: refused.
    assert_eq!(post(&s, "/api/series", None, &spec).await.status, 401);
    let cross = s
        .http(
            "POST",
            "/api/series",
            &[
                ("Content-Type", "application/json"),
                ("Origin", "https://evil.example"),
                ("Cookie", &ada),
            ],
            Some(&spec.to_string()),
        )
        .await;
    assert_eq!(cross.status, 403);
    // Bad input names the field.
    let mut bad = spec.clone();
    bad["time_zone"] = json!("Mars/Olympus");
    assert!(field_error(&post(&s, "/api/series", Some(&ada), &bad).await).contains("time_zone"));
    let mut bad = spec.clone();
    bad["recurrence"] = Value::Null;
    bad["rrule"] = json!("FREQ=SOMETIMES");
    assert!(field_error(&post(&s, "/api/series", Some(&ada), &bad).await).contains("rrule"));
    let mut bad = spec.clone();
    bad["first_start"] = json!("next tuesday");
    assert!(field_error(&post(&s, "/api/series", Some(&ada), &bad).await).contains("first_start"));
    let mut bad = spec.clone();
    bad["duration_min"] = json!(0);
    assert!(field_error(&post(&s, "/api/series", Some(&ada), &bad).await).contains("duration_min"));

    let r = post(&s, "/api/series", Some(&ada), &spec).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created: Value = r.json();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["time_zone"], "America/Toronto");
    assert!(created["rrule"]
        .as_str()
        .unwrap()
        .starts_with("FREQ=WEEKLY;BYDAY="));
    let up = created["upcoming"].as_array().unwrap();
    assert_eq!(up.len(), 5);
    assert_eq!(up[0]["local_start"], format!("{first_local}:00"));
    assert!(up[0]["join_link"].is_null());
    // Every session at the same local time, a week apart.
    for w in up.windows(2) {
        assert_eq!(
            &w[0]["local_start"].as_str().unwrap()[11..],
            &w[1]["local_start"].as_str().unwrap()[11..]
        );
    }
    let mine: Value = s
        .http("GET", "/api/series", &[("Cookie", &ada)], None)
        .await
        .json();
    assert_eq!(mine[0]["id"], id.as_str());

    // The calendar parses back: one VEVENT per session, stable UIDs, TZID.
    let ics = s.get(&format!("/api/series/{id}/calendar.ics")).await;
    assert_eq!(ics.status, 200);
    assert!(ics
        .header("content-type")
        .unwrap()
        .starts_with("text/calendar"));
    let cal: icalendar::Calendar = ics.body.parse().expect("the feed parses");
    use icalendar::Component;
    let events: Vec<&icalendar::Event> =
        cal.components.iter().filter_map(|c| c.as_event()).collect();
    assert_eq!(events.len(), 26);
    let t0 = up[0]["starts_at"].as_i64().unwrap();
    assert_eq!(
        events[0].get_uid(),
        Some(format!("{id}-{t0}@huddle").as_str())
    );
    assert_eq!(events[0].get_summary(), Some("Night-shift circle"));
    match events[0].get_start() {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => {
            assert_eq!(tzid, "America/Toronto");
            assert_eq!(date_time.format("%Y-%m-%dT%H:%M").to_string(), first_local);
        }
        other => panic!("DTSTART {other:?}"),
    }
    let again = s.get(&format!("/api/series/{id}/calendar.ics")).await;
    let cal2: icalendar::Calendar = again.body.parse().unwrap();
    assert_eq!(
        cal2.components[0].as_event().unwrap().get_uid(),
        events[0].get_uid()
    );

    // Registration: two seats, the third waits; deleting a seat promotes it.
    let mut tokens = Vec::new();
    for name in ["Sam", "Lee", "Kim"] {
        let r = post(
            &s,
            &format!("/api/series/{id}/register"),
            None,
            &json!({"name": name}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v: Value = r.json();
        tokens.push((
            v["token"].as_str().unwrap().to_string(),
            v["waitlisted"].as_bool().unwrap(),
        ));
    }
    assert_eq!(
        tokens.iter().map(|t| t.1).collect::<Vec<_>>(),
        [false, false, true]
    );
    let bad = post(
        &s,
        &format!("/api/series/{id}/register"),
        None,
        &json!({"name": "  "}),
    )
    .await;
    assert!(field_error(&bad).contains("name"));
    let del = post(
        &s,
        "/api/registrations/delete",
        None,
        &json!({"token": tokens[0].0}),
    )
    .await;
    assert_eq!(del.status, 204, "{}", del.body);
    let kim: Value = post(
        &s,
        "/api/registrations/lookup",
        None,
        &json!({"token": tokens[2].0}),
    )
    .await
    .json();
    assert_eq!(
        (kim["position"].as_i64(), kim["waitlisted"].as_bool()),
        (Some(2), Some(false))
    );
    assert!(kim.get("token").is_none(), "the token is shown once");
    assert_eq!(
        post(
            &s,
            "/api/registrations/lookup",
            None,
            &json!({"token": tokens[0].0})
        )
        .await
        .status,
        404
    );

    // The owner opens the next session: one room, carrying the series' settings.
    let r = post(
        &s,
        &format!("/api/series/{id}/open"),
        Some(&ada),
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let opened: Value = r.json();
    let room = opened["room_id"].as_str().unwrap().to_string();
    assert_eq!(opened["starts_at"].as_i64(), Some(t0));
    let key = opened["facilitator_key"].as_str().unwrap().to_string();
    let again: Value = post(
        &s,
        &format!("/api/series/{id}/open"),
        Some(&ada),
        &json!({"starts_at": t0}),
    )
    .await
    .json();
    assert_eq!(
        again["room_id"].as_str(),
        Some(room.as_str()),
        "opened once"
    );
    let key2 = again["facilitator_key"].as_str().unwrap().to_string();
    assert_ne!(key, key2, "getting back in rotates the key");
    let shown: Value = s.get(&format!("/api/series/{id}")).await.json();
    assert_eq!(shown["upcoming"][0]["join_link"], format!("/?room={room}"));
    assert_eq!(shown["registered"].as_i64(), Some(2));
    let unknown = post(
        &s,
        &format!("/api/series/{id}/open"),
        Some(&ada),
        &json!({"bogus": 1}),
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(
        post(
            &s,
            &format!("/api/series/{id}/open"),
            Some(&ada),
            &json!({"starts_at": t0 + 1})
        )
        .await
        .status,
        404
    );

    // The owner joins as facilitator with the new key; the room has the rules and welcome.
    let mut fac = Client::connect(&s).await;
    let w = fac.join(&room, "Ada", Some(&key2)).await;
    assert_eq!(w.you.role, huddle_protocol::Role::Facilitator);
    assert_eq!(w.room.rules.rules, ["What is said here stays here."]);
    assert_eq!(
        w.room.info.welcome_message.as_deref(),
        Some("Welcome back, everyone.")
    );
    assert!(w.room.info.waiting_room);

    // Edit: future only; archive ends registration.
    let r = post(
        &s,
        &format!("/api/series/{id}"),
        Some(&ada),
        &json!({"title": "Night circle", "capacity": 0}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = r.json();
    assert_eq!(
        (v["title"].as_str(), v["capacity"].is_null()),
        (Some("Night circle"), true)
    );
    assert_eq!(
        post(
            &s,
            &format!("/api/series/{id}/archive"),
            Some(&ada),
            &json!({})
        )
        .await
        .status,
        204
    );
    assert_eq!(
        post(
            &s,
            &format!("/api/series/{id}/register"),
            None,
            &json!({"name": "Late"})
        )
        .await
        .status,
        409
    );
}
