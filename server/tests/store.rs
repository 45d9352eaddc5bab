//! The store suite: the same checks against the embedded SQLite store and
//! against a real Postgres started for the test (tests/common/pg.rs).

mod common;

use common::pg::{Postgres, TempDir};
use huddle_server::metrics::Metrics;
use huddle_server::store::postgres::PgStore;
use huddle_server::store::sqlite::SqliteStore;
use huddle_server::store::{
    Bar, Link, LinkKind, NewAccount, NewSession, OwnedRoom, RedeemError, Role, Store, StoreError,
    StoreOp,
};
use std::sync::Arc;

const NOW: i64 = 1_800_000_000_000;

fn new_account(email: &str, role: Role) -> NewAccount {
    NewAccount {
        id: format!("id-{email}"),
        email: email.into(),
        name: "Someone".into(),
        role,
        password_hash: Some("$argon2id$fake".into()),
        created_at: NOW,
    }
}

fn link(hash: &str, kind: LinkKind, role: Option<Role>, account: Option<&str>) -> Link {
    Link {
        token_hash: hash.into(),
        kind,
        role,
        account_id: account.map(str::to_string),
        created_by: None,
        created_at: NOW,
        expires_at: NOW + 1000,
        used_at: None,
    }
}

/// Everything the rest of the server relies on, on one store.
async fn suite(s: Arc<dyn Store>) {
    // Accounts: emails are unique.
    let ann = s
        .create_account(&new_account("ann@example.org", Role::Admin))
        .await
        .unwrap()
        .expect("created");
    assert_eq!(ann.role, Role::Admin);
    assert!(ann.active);
    assert!(s
        .create_account(&NewAccount {
            id: "other".into(),
            ..new_account("ann@example.org", Role::Facilitator)
        })
        .await
        .unwrap()
        .is_none());
    let (found, hash) = s.credentials("ann@example.org").await.unwrap().unwrap();
    assert_eq!(found, ann);
    assert_eq!(hash.as_deref(), Some("$argon2id$fake"));
    assert!(s.credentials("nobody@example.org").await.unwrap().is_none());
    assert_eq!(s.account(&ann.id).await.unwrap(), Some(ann.clone()));

    // Roles.
    let bob = s
        .create_account(&NewAccount {
            created_at: NOW + 1,
            ..new_account("bob@example.org", Role::Facilitator)
        })
        .await
        .unwrap()
        .unwrap();
    assert!(s.set_role(&bob.id, Role::PeerSupporter).await.unwrap());
    assert!(!s.set_role("no-such-id", Role::Admin).await.unwrap());
    let all = s.list_accounts().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|a| (a.email.as_str(), a.role))
            .collect::<Vec<_>>(),
        vec![
            ("ann@example.org", Role::Admin),
            ("bob@example.org", Role::PeerSupporter)
        ]
    );

    // Sessions: live, expired, revoked, and ended by deactivation.
    let session = |hash: &str, expires_at: i64| NewSession {
        token_hash: hash.into(),
        account_id: bob.id.clone(),
        created_at: NOW,
        expires_at,
    };
    s.create_session(&session("s1", NOW + 100)).await.unwrap();
    s.create_session(&session("s2", NOW + 100)).await.unwrap();
    s.create_session(&session("old", NOW - 1)).await.unwrap();
    assert_eq!(
        s.session_account("s1", NOW).await.unwrap().map(|a| a.id),
        Some(bob.id.clone())
    );
    assert!(s.session_account("old", NOW).await.unwrap().is_none());
    assert!(s.session_account("s1", NOW + 100).await.unwrap().is_none());
    assert!(s.session_account("unknown", NOW).await.unwrap().is_none());
    s.revoke_session("s1", NOW).await.unwrap();
    assert!(s.session_account("s1", NOW).await.unwrap().is_none());
    assert!(s.session_account("s2", NOW).await.unwrap().is_some());
    assert!(s.set_active(&bob.id, false, NOW).await.unwrap());
    assert!(s.session_account("s2", NOW).await.unwrap().is_none());
    assert!(!s.account(&bob.id).await.unwrap().unwrap().active);
    // Reactivating does not bring the revoked session back.
    assert!(s.set_active(&bob.id, true, NOW).await.unwrap());
    assert!(s.session_account("s2", NOW).await.unwrap().is_none());
    assert!(!s.set_active("no-such-id", false, NOW).await.unwrap());

    // Invites: once, before they expire; a taken email leaves the link unused.
    s.create_link(&link(
        "inv",
        LinkKind::Invite,
        Some(Role::Facilitator),
        None,
    ))
    .await
    .unwrap();
    let peeked = s.link("inv").await.unwrap().unwrap();
    assert_eq!(peeked.kind, LinkKind::Invite);
    assert_eq!(peeked.used_at, None);
    let taken = s
        .redeem_invite("inv", NOW, &new_account("ann@example.org", Role::Admin))
        .await;
    assert!(matches!(taken, Err(RedeemError::EmailTaken)), "{taken:?}");
    let cy = s
        .redeem_invite("inv", NOW, &new_account("cy@example.org", Role::Admin))
        .await
        .unwrap();
    assert_eq!(
        cy.role,
        Role::Facilitator,
        "the link's role, not the request's"
    );
    let again = s
        .redeem_invite("inv", NOW, &new_account("dee@example.org", Role::Admin))
        .await;
    assert!(matches!(again, Err(RedeemError::Used)), "{again:?}");
    assert!(s.credentials("dee@example.org").await.unwrap().is_none());
    s.create_link(&link(
        "late",
        LinkKind::Invite,
        Some(Role::Facilitator),
        None,
    ))
    .await
    .unwrap();
    let late = s
        .redeem_invite(
            "late",
            NOW + 1000,
            &new_account("eve@example.org", Role::Admin),
        )
        .await;
    assert!(matches!(late, Err(RedeemError::Expired)), "{late:?}");
    let unknown = s
        .redeem_invite("nope", NOW, &new_account("f@example.org", Role::Admin))
        .await;
    assert!(matches!(unknown, Err(RedeemError::Unknown)), "{unknown:?}");

    // Two people racing for one invite: exactly one account.
    s.create_link(&link(
        "race",
        LinkKind::Invite,
        Some(Role::PeerSupporter),
        None,
    ))
    .await
    .unwrap();
    let (r1, r2) = (
        new_account("r1@example.org", Role::Admin),
        new_account("r2@example.org", Role::Admin),
    );
    let (a, b) = tokio::join!(
        s.redeem_invite("race", NOW, &r1),
        s.redeem_invite("race", NOW, &r2),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count(),
        1,
        "{a:?} {b:?}"
    );

    // Setup / reset: the password is set and every session of the account ends.
    s.create_session(&NewSession {
        token_hash: "ann-s".into(),
        account_id: ann.id.clone(),
        created_at: NOW,
        expires_at: NOW + 100,
    })
    .await
    .unwrap();
    s.create_link(&link("reset", LinkKind::Reset, None, Some(&ann.id)))
        .await
        .unwrap();
    let wrong_kind = s
        .redeem_invite("reset", NOW, &new_account("g@example.org", Role::Admin))
        .await;
    assert!(
        matches!(wrong_kind, Err(RedeemError::Unknown)),
        "{wrong_kind:?}"
    );
    // The refused attempt rolled back: the link still works once.
    let back = s
        .redeem_password("reset", NOW, "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(back.id, ann.id);
    let (_, hash) = s.credentials("ann@example.org").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));
    assert!(s.session_account("ann-s", NOW).await.unwrap().is_none());
    let used = s.redeem_password("reset", NOW, "$argon2id$x").await;
    assert!(matches!(used, Err(RedeemError::Used)), "{used:?}");

    // Room owners.
    for (i, id) in ["r-old", "r-new"].iter().enumerate() {
        s.add_room(&OwnedRoom {
            room_id: id.to_string(),
            account_id: cy.id.clone(),
            title: format!("Room {i}"),
            kind: "group".into(),
            created_at: NOW + i as i64,
        })
        .await
        .unwrap();
    }
    let mine = s.rooms_of(&cy.id).await.unwrap();
    assert_eq!(
        mine.iter().map(|r| r.room_id.as_str()).collect::<Vec<_>>(),
        vec!["r-new", "r-old"]
    );
    assert_eq!(s.room_owner("r-old").await.unwrap(), Some(cy.id.clone()));
    assert_eq!(s.room_owner("r-unknown").await.unwrap(), None);
    assert!(s.rooms_of(&ann.id).await.unwrap().is_empty());

    // Purge: ended sessions and links go, live ones stay.
    s.create_session(&NewSession {
        token_hash: "live".into(),
        account_id: cy.id.clone(),
        created_at: NOW,
        expires_at: NOW + 10_000,
    })
    .await
    .unwrap();
    let removed = s.purge(NOW + 5_000).await.unwrap();
    assert!(removed >= 5, "{removed}");
    assert!(s.session_account("live", NOW).await.unwrap().is_some());
    assert!(s.link("inv").await.unwrap().is_none());
    s.ping().await.unwrap();

    bars(&*s, &ann.id, &cy.id).await;
}

fn bar(id: &str, room: &str, device: Option<&str>, account: Option<&str>, at: i64) -> Bar {
    Bar {
        id: id.into(),
        room_id: room.into(),
        room_title: format!("Title of {room}"),
        series_id: None,
        member_id: format!("m-{id}"),
        device_hash: device.map(str::to_string),
        account_id: account.map(str::to_string),
        name: format!("Name {id}"),
        removed_by: None,
        removed_by_name: None,
        created_at: at,
        lifted_at: None,
    }
}

/// Bars: written, listed per room and in all (with the remover's name),
/// lifted once; a lifted bar is listed nowhere.
async fn bars(s: &dyn Store, admin: &str, facilitator: &str) {
    assert!(s.active_bars().await.unwrap().is_empty());
    let by_device = Bar {
        removed_by: Some(facilitator.to_string()),
        ..bar("b1", "room-a", Some("dev-1"), None, NOW)
    };
    s.add_bar(&by_device).await.unwrap();
    s.add_bar(&bar("b2", "room-a", None, Some(admin), NOW + 1))
        .await
        .unwrap();
    s.add_bar(&bar("b3", "room-b", Some("dev-1"), None, NOW + 2))
        .await
        .unwrap();
    let a = s.room_bars("room-a").await.unwrap();
    assert_eq!(
        a.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        vec!["b1", "b2"]
    );
    assert_eq!(a[0].device_hash.as_deref(), Some("dev-1"));
    assert_eq!(a[0].member_id, "m-b1");
    assert_eq!(a[0].removed_by_name.as_deref(), Some("Someone"));
    assert_eq!(a[1].account_id.as_deref(), Some(admin));
    assert_eq!(a[1].removed_by_name, None);
    assert!(s.room_bars("room-c").await.unwrap().is_empty());
    // All of them, newest first, with what the admin page shows.
    let all = s.active_bars().await.unwrap();
    assert_eq!(
        all.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        vec!["b3", "b2", "b1"]
    );
    assert_eq!(all[2].room_title, "Title of room-a");
    assert_eq!(all[2].name, "Name b1");
    assert_eq!(all[2].created_at, NOW);
    // The same id twice is refused (a typed error, not a second bar).
    assert!(s.add_bar(&by_device).await.is_err());

    // Lifted once: returned as it was, then gone from both lists.
    let lifted = s
        .lift_bar("b1", NOW + 10, Some(admin))
        .await
        .unwrap()
        .expect("lifted");
    assert_eq!(lifted.room_id, "room-a");
    assert_eq!(lifted.member_id, "m-b1");
    assert_eq!(lifted.lifted_at, Some(NOW + 10));
    assert_eq!(s.lift_bar("b1", NOW + 11, Some(admin)).await.unwrap(), None);
    assert_eq!(s.lift_bar("nope", NOW + 11, None).await.unwrap(), None);
    let a = s.room_bars("room-a").await.unwrap();
    assert_eq!(
        a.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        vec!["b2"]
    );
    assert_eq!(s.active_bars().await.unwrap().len(), 2);
    // The other room's bar on the same device holds.
    assert_eq!(s.room_bars("room-b").await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_store_suite_passes_on_sqlite() {
    let dir = TempDir::new("store");
    let m = Arc::new(Metrics::default());
    let s = SqliteStore::open(&dir.path().join("nested"), m.clone())
        .await
        .expect("open");
    assert_eq!(s.backend(), "sqlite");
    suite(Arc::new(s)).await;
    // Reopening runs no migration twice and keeps the data.
    let s = SqliteStore::open(&dir.path().join("nested"), m.clone())
        .await
        .expect("reopen");
    assert!(s.credentials("ann@example.org").await.unwrap().is_some());
    assert_eq!(m.store_errors(StoreOp::Migrate), 0);
}

#[tokio::test]
async fn the_store_suite_passes_on_postgres() {
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let m = Arc::new(Metrics::default());
    let s = PgStore::connect(&pg.url(), m.clone())
        .await
        .expect("connect");
    assert_eq!(s.backend(), "postgres");
    suite(Arc::new(s)).await;
    let s = PgStore::connect(&pg.url(), m.clone())
        .await
        .expect("reconnect");
    assert!(s.credentials("ann@example.org").await.unwrap().is_some());

    // Postgres gone: a typed error (counted), no panic; back: it answers again.
    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    let down = s.credentials("ann@example.org").await;
    assert!(
        matches!(
            down,
            Err(StoreError::Unavailable {
                op: StoreOp::ReadAccount,
                ..
            })
        ),
        "{down:?}"
    );
    assert!(m.store_errors(StoreOp::ReadAccount) >= 1);
    let pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();
    assert!(s.credentials("ann@example.org").await.unwrap().is_some());
    drop(pg);
}

/// A migration that cannot apply stops the store from opening, and the
/// error names it.
#[tokio::test]
async fn a_failed_migration_is_named() {
    let dir = TempDir::new("badmig");
    let db = dir.path().join("huddle.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::query("CREATE TABLE accounts (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let m = Arc::new(Metrics::default());
    let err = SqliteStore::open(dir.path(), m.clone())
        .await
        .err()
        .expect("the migration must fail");
    let text = err.to_string();
    assert!(
        matches!(err, StoreError::Migration { .. }) && text.contains("0001_accounts"),
        "{text}"
    );
    assert_eq!(m.store_errors(StoreOp::Migrate), 1);
}
