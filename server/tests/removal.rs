//! Removal sticks for the session (issue 15, item 7) against real servers: a
//! removed member's browser (its `device_id`) is kept out, on one instance and
//! across instances sharing a real Redis, also after the owning instance is
//! killed; the facilitators hear that a removed person tried to rejoin.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::Duration;

/// Send a join carrying `device`; the first reply.
async fn join_from(c: &mut Client, room: &str, name: &str, device: &str) -> ServerMsg {
    send_join(c, room, name, device).await;
    c.recv().await
}

async fn send_join(c: &mut Client, room: &str, name: &str, device: &str) {
    c.name = name.into();
    c.send(&ClientMsg::Join {
        v: PROTOCOL_VERSION,
        room_id: room.into(),
        name: name.into(),
        facilitator_key: None,
        resume: None,
        device_id: Some(device.into()),
    })
    .await;
}

/// Join from `device` and accept the rules.
async fn join_ready_from(c: &mut Client, room: &str, name: &str, device: &str) -> Welcome {
    let w = welcome_of(join_from(c, room, name, device).await);
    c.me = Some(w.you.clone());
    c.accept_rules(w.room.rules.version).await;
    w
}

fn removed_refusal(m: &ServerMsg) {
    match m {
        ServerMsg::Error {
            code: ErrorCode::Removed,
            refused,
            message,
        } => {
            assert_eq!(refused.as_deref(), Some("join"));
            assert_eq!(message, "you were removed from this session");
        }
        other => panic!("expected `removed`, got {other:?}"),
    }
}

/// The facilitator removes `member`; the removed client is told and closed.
async fn remove(fac: &mut Client, gone: &mut Client) {
    let member_id = gone.member_id();
    fac.send(&ClientMsg::Remove {
        member_id: member_id.clone(),
    })
    .await;
    gone.expect_error(ErrorCode::Removed).await;
    assert_eq!(gone.expect_close().await, Some(4001));
    fac.recv_event(|e| {
        matches!(e, Event::MemberLeft { member_id: m, reason: LeaveReason::Removed } if *m == member_id)
    })
    .await;
}

async fn expect_rejoin_notice(fac: &mut Client, name: &str) {
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::RoomNotice { code, .. } if code == "removed_rejoin"))
        .await;
    let Event::RoomNotice { message, .. } = e else {
        unreachable!()
    };
    assert_eq!(
        message,
        format!("{name}, who was removed, tried to rejoin and was kept out.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_browser_cannot_join_again() {
    let server = Server::start().await;
    let room = server.group("Keep out").await;
    let mut fac = server.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut other = server.client().await;
    other.join_ready(&room.room_id, "Other").await;
    let mut sam = server.client().await;
    join_ready_from(&mut sam, &room.room_id, "Sam", "browser-of-sam-00001").await;
    fac.barrier().await;
    remove(&mut fac, &mut sam).await;
    other.barrier().await;

    // A plain join from the same browser (no resume token: the client forgot
    // it), under another name, on a new connection: kept out.
    let mut again = server.client().await;
    removed_refusal(&join_from(&mut again, &room.room_id, "Not Sam", "browser-of-sam-00001").await);
    expect_rejoin_notice(&mut fac, "Sam").await;
    // Participants hear nothing of it.
    fac.barrier().await;
    let seen = other.barrier().await;
    assert!(events(&seen).is_empty(), "{seen:?}");
    // Another browser is another person (the documented limit).
    let mut elsewhere = server.client().await;
    join_ready_from(
        &mut elsewhere,
        &room.room_id,
        "Alex",
        "browser-of-alex-0001",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_holds_across_instances_and_after_the_owner_is_killed() {
    let redis = Redis::start();
    let url = redis.url();
    let args = [
        "--redis-url",
        url.as_str(),
        "--rate-per-sec",
        "2000",
        "--rate-burst",
        "2000",
    ];
    let mut a = Server::start_with(&args).await;
    let b = Server::start_with(&args).await;
    // Created on A: A hosts the room.
    let room = a.group("Keep out everywhere").await;
    let mut fac = b.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut sam = a.client().await;
    join_ready_from(&mut sam, &room.room_id, "Sam", "browser-of-sam-00001").await;
    fac.barrier().await;
    remove(&mut fac, &mut sam).await;

    // Removed on A (the room's host), rejoining through B: refused.
    let mut via_b = b.client().await;
    removed_refusal(&join_from(&mut via_b, &room.room_id, "Sam", "browser-of-sam-00001").await);
    expect_rejoin_notice(&mut fac, "Sam").await;

    // A dies; B takes the room over from what Redis holds. Still kept out.
    a.kill_hard();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut c = b.client().await;
        send_join(&mut c, &room.room_id, "Sam", "browser-of-sam-00001").await;
        // The join waits for the takeover (the lease runs out first).
        match c
            .next_within(Duration::from_secs(20))
            .await
            .expect("an answer")
        {
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            } if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            m => {
                removed_refusal(&m);
                break;
            }
        }
    }
    // And the room still works for others on B.
    let mut alex = b.client().await;
    join_ready_from(&mut alex, &room.room_id, "Alex", "browser-of-alex-0001").await;
}
