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
