//! Calls against a real server: the signal relay reaches only the named
//! member (also across two instances through a real Redis, exactly once and
//! in order), refusals, and signals never replayed on resume; TURN
//! credentials in the join reply.

mod common;

use common::*;
use huddle_protocol::*;
use serde_json::json;
use std::time::Duration;

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];
const TURN_SECRET: &str = "integration-turn-secret";

fn offer(n: usize) -> serde_json::Value {
    json!({"description": {"type": "offer", "sdp": format!("v=0\r\no=- {n} 2 IN IP4 127.0.0.1\r\n")}})
}

fn signal(to: &str, data: serde_json::Value) -> ClientMsg {
    ClientMsg::Signal {
        to: to.into(),
        data,
    }
}

/// Join the call; returns the `call_config` reply.
async fn join_call(c: &mut Client, camera: bool) -> ServerMsg {
    c.send(&ClientMsg::JoinCall { mic: true, camera }).await;
    c.recv_until(|m| matches!(m, ServerMsg::CallConfig { .. }))
        .await
}

fn signals(frames: &[ServerMsg]) -> Vec<(String, serde_json::Value)> {
    frames
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Signal { from, data } => Some((from.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn signals_go_to_the_named_member_only_and_are_never_replayed() {
    let mut args = FAST.to_vec();
    args.extend_from_slice(&[
        "--stun-urls",
        "stun:127.0.0.1:3478",
        "--turn-urls",
        "turn:127.0.0.1:3478?transport=udp",
        "--turn-ttl-secs",
        "600",
    ]);
    let server = Server::start_with_env(&args, &[("HUDDLE_TURN_SECRET", TURN_SECRET)]).await;
    let (room, mut fac, mut ps) = room_with(&server, 3).await;
    let mut p3 = ps.pop().unwrap();
    let mut p2 = ps.pop().unwrap();
    let mut p1 = ps.pop().unwrap();
    let (id1, id2, id3) = (p1.member_id(), p2.member_id(), p3.member_id());

    // Call off: joining is refused.
    p1.send(&ClientMsg::JoinCall {
        mic: false,
        camera: false,
    })
    .await;
    p1.expect_error(ErrorCode::CallOff).await;
    fac.send(&ClientMsg::SetCall {
        mode: CallMode::Video,
    })
    .await;
    fac.recv_event(|e| matches!(e, Event::RoomUpdated { info } if info.call == CallMode::Video))
        .await;

    // The join reply carries STUN and short-lived TURN credentials.
    let ServerMsg::CallConfig {
        ice_servers,
        expires_at,
    } = join_call(&mut p1, true).await
    else {
        unreachable!()
    };
    assert_eq!(ice_servers.len(), 2, "{ice_servers:?}");
    assert_eq!(ice_servers[0].urls, vec!["stun:127.0.0.1:3478".to_string()]);
    let turn = &ice_servers[1];
    let user = turn.username.clone().unwrap();
    let (expiry, member) = user.split_once(':').unwrap();
    assert_eq!(member, id1);
    let expiry: u64 = expiry.parse().unwrap();
    let now = now_ms() / 1000;
    assert!(
        expiry >= now + 590 && expiry <= now + 610,
        "{expiry} vs {now}"
    );
    assert_eq!(expires_at, Some(expiry * 1000));
    assert_eq!(
        turn.credential.as_deref(),
        Some(huddle_server::media::turn_credential(TURN_SECRET, &user).as_str())
    );
    join_call(&mut p2, false).await;
    join_call(&mut fac, false).await;
    // The secret never reaches the logs.
    assert!(!server.logs().contains(TURN_SECRET));

    // p1 → p2: p2 gets it, the facilitator (in the call too) and p3 do not.
    p1.send(&signal(&id2, offer(1))).await;
    let got = p2
        .recv_until(|m| matches!(m, ServerMsg::Signal { .. }))
        .await;
    assert_eq!(
        got,
        ServerMsg::Signal {
            from: id1.clone(),
            data: offer(1)
        }
    );
    for c in [&mut fac, &mut p3, &mut p1] {
        let before = c.barrier().await;
        assert!(signals(&before).is_empty(), "{}: {before:?}", c.name);
    }

    // Refusals: to or from someone not in the call, participant media
    // controls, an oversized or malformed payload.
    p1.send(&signal(&id3, offer(2))).await;
    p1.expect_error(ErrorCode::NotInCall).await;
    p3.send(&signal(&id1, offer(3))).await;
    p3.expect_error(ErrorCode::NotInCall).await;
    p1.send(&ClientMsg::MuteMedia {
        member_id: id2.clone(),
    })
    .await;
    p1.expect_error(ErrorCode::Forbidden).await;
    p1.send(&ClientMsg::GiveFloor {
        member_id: Some(id2.clone()),
    })
    .await;
    p1.expect_error(ErrorCode::Forbidden).await;
    let big = json!({"description": {"type": "offer", "sdp": "a".repeat(MAX_SIGNAL_BYTES + 10)}});
    p1.send(&signal(&id2, big)).await;
    let ServerMsg::Error { message, .. } = p1.expect_error(ErrorCode::TooLarge).await else {
        unreachable!()
    };
    assert!(message.contains("12288"), "{message}");
    p1.send(&signal(&id2, json!({"description": {"type": "<script>"}})))
        .await;
    p1.expect_error(ErrorCode::Invalid).await;
    let before = p2.barrier().await;
    assert!(signals(&before).is_empty(), "nothing refused reached p2");

    // A facilitator mutes p1 for everyone: everyone is told, with `by`.
    fac.send(&ClientMsg::MuteMedia {
        member_id: id1.clone(),
    })
    .await;
    let fac_id = fac.member_id();
    p2.recv_event(|e| {
        matches!(e, Event::MediaState { member_id, media, by }
            if member_id == &id1 && !media.mic && by.as_deref() == Some(fac_id.as_str()))
    })
    .await;

    // p2 drops; signals sent meanwhile are gone, never replayed on resume.
    let you = p2.me.clone().unwrap();
    let (last, epoch) = (p2.last_seq, p2.epoch.clone());
    p2.drop_socket();
    tokio::time::sleep(Duration::from_millis(200)).await;
    p1.send(&signal(&id2, offer(4))).await;
    p1.send(&ClientMsg::MediaState {
        mic: false,
        camera: false,
        speaking: false,
    })
    .await;
    p1.barrier().await;
    let mut p2b = server.client().await;
    let (before, resumed) = p2b.resume(&room.room_id, "P2", &you, last, &epoch).await;
    assert!(matches!(resumed, ServerMsg::Resumed { .. }), "{resumed:?}");
    // The missed event came back; the signal did not.
    assert!(events(&before)
        .iter()
        .any(|e| matches!(e, Event::MediaState { member_id, media, .. } if member_id == &id1 && !media.camera)));
    assert!(signals(&before).is_empty(), "{before:?}");
    let after = p2b.barrier().await;
    assert!(signals(&after).is_empty(), "{after:?}");
    // Still in the call: a new signal reaches the resumed connection.
    p1.send(&signal(&id2, offer(5))).await;
    let got = p2b
        .recv_until(|m| matches!(m, ServerMsg::Signal { .. }))
        .await;
    assert_eq!(signals(&[got]), vec![(id1.clone(), offer(5))]);

    // Removing p1 ends their media at everyone's at once.
    fac.send(&ClientMsg::Remove {
        member_id: id1.clone(),
    })
    .await;
    p2b.recv_event(|e| matches!(e, Event::CallLeft { member_id, reason } if member_id == &id1 && *reason == CallLeftReason::LeftRoom))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_cross_instances_exactly_once_and_in_order() {
    let redis = Redis::start();
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str()];
    args.extend_from_slice(FAST);
    let a = Server::start_with(&args).await;
    let b = Server::start_with(&args).await;
    let room = a.group("Calls across instances").await;
    b.wait_room_visible(&room.room_id).await;
    let mut fac = a.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut pa = a.client().await;
    pa.join_ready(&room.room_id, "OnA").await;
    let mut pb = b.client().await;
    pb.join_ready(&room.room_id, "OnB").await;
    fac.send(&ClientMsg::SetCall {
        mode: CallMode::Audio,
    })
    .await;
    fac.barrier().await;
    for c in [&mut fac, &mut pa, &mut pb] {
        join_call(c, false).await;
    }
    let (ida, idb) = (pa.member_id(), pb.member_id());
    // The other side knows both are in the call.
    pb.barrier().await;

    let n = 30;
    for i in 0..n {
        pa.send(&signal(&idb, offer(i))).await;
        pb.send(&signal(&ida, offer(1000 + i))).await;
    }
    let mut at_b = Vec::new();
    while at_b.len() < n {
        let m = pb
            .recv_until(|m| matches!(m, ServerMsg::Signal { .. }))
            .await;
        at_b.extend(signals(&[m]));
    }
    let mut at_a = Vec::new();
    while at_a.len() < n {
        let m = pa
            .recv_until(|m| matches!(m, ServerMsg::Signal { .. }))
            .await;
        at_a.extend(signals(&[m]));
    }
    let want_b: Vec<_> = (0..n).map(|i| (ida.clone(), offer(i))).collect();
    let want_a: Vec<_> = (0..n).map(|i| (idb.clone(), offer(1000 + i))).collect();
    assert_eq!(at_b, want_b, "in order, once each, A → B");
    assert_eq!(at_a, want_a, "in order, once each, B → A");
    // Exactly once: nothing more comes; the facilitator got none.
    assert!(signals(&pb.barrier().await).is_empty());
    assert!(signals(&pa.barrier().await).is_empty());
    assert!(signals(&fac.barrier().await).is_empty());
    // And a refusal across instances: B signals someone not in the call.
    pb.send(&signal("nobody-here", offer(0))).await;
    pb.expect_error(ErrorCode::NotInCall).await;
}
