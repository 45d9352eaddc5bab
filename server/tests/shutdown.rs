//! Graceful shutdown of a real `huddle` process: SIGTERM tells every member,
//! closes them with 1012 and exits in time; with Redis, the rooms it hosted
//! move to another instance and nobody loses (or gets twice) a single event.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::{Duration, Instant};

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

fn is_shutdown_notice(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::Notice { code, .. } if code == "shutting_down")
}

/// Read whatever already arrived (never waits).
async fn drain(c: &mut Client) {
    for _ in 0..100_000 {
        if c.next_within(Duration::ZERO).await.is_err() {
            break;
        }
    }
}

/// The chats `from` sent, in the order a member received them.
fn texts_from(frames: &[ServerMsg], from: &str) -> Vec<String> {
    events(frames)
        .into_iter()
        .filter_map(|e| match e {
            Event::Chat { message } if message.from == from => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

/// What is missing from, doubled in, or out of order in `got`.
fn diff(got: &[String], want: &[String]) -> String {
    let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
    let mut doubled: Vec<&String> = got
        .iter()
        .filter(|g| got.iter().filter(|x| x == g).count() > 1)
        .collect();
    doubled.dedup();
    let in_order = got.windows(2).all(|w| {
        let n = |s: &str| s[1..].parse::<u32>().unwrap_or(0);
        n(&w[0]) < n(&w[1])
    });
    format!("missing {missing:?}, doubled {doubled:?}, in order: {in_order}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_tells_everyone_closes_with_1012_and_exits_in_time() {
    let shutdown_secs = 2;
    let mut server = Server::start_with(&["--shutdown-secs", "2"]).await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    // A connection that never joined, and one that stops reading (it will
    // never answer the close): neither may hold the shutdown up.
    let mut lurker = server.client().await;
    lurker.name = "lurker".into();
    let mut deaf = server.client().await;
    deaf.join_ready(&room.room_id, "Deaf").await;
    fac.barrier().await;

    let t0 = Instant::now();
    server.terminate();
    let mut clients: Vec<&mut Client> = vec![&mut fac, &mut lurker];
    clients.extend(ps.iter_mut());
    for c in clients {
        c.recv_until(is_shutdown_notice).await;
        let code = c.expect_close().await;
        assert_eq!(code, Some(1012), "[{}] closed with {code:?}", c.name);
    }
    eprintln!("everyone was told and closed within {:?}", t0.elapsed());
    let status = server
        .wait_exit(Duration::from_secs(shutdown_secs + 3))
        .await
        .unwrap_or_else(|| {
            panic!(
                "still running {:?} after SIGTERM; logs:\n{}",
                t0.elapsed(),
                server.logs()
            )
        });
    eprintln!("exited with {status} after {:?}", t0.elapsed());
    assert!(
        status.success(),
        "exit status {status}; logs:\n{}",
        server.logs()
    );
    // The deaf client got the same notice and close, even if late.
    deaf.recv_until(is_shutdown_notice).await;
    assert_eq!(deaf.expect_close().await, Some(1012));
    // And nothing listens any more.
    assert!(Client::connect_url(&server.ws_url(), None).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_moves_rooms_to_another_instance_without_losing_an_event() {
    let redis = Redis::start();
    let url = redis.url();
    let shutdown_secs = 3;
    let mut a_args = vec!["--redis-url", url.as_str(), "--shutdown-secs", "3"];
    a_args.extend_from_slice(FAST);
    let mut b_args = vec!["--redis-url", url.as_str()];
    b_args.extend_from_slice(FAST);
    let mut a = Server::start_with(&a_args).await;
    let b = Server::start_with(&b_args).await;
    // The room is hosted on A (created there); members on both instances.
    let room = a.group("Rolling restart").await;
    let mut fac = b.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let fac_id = fac.member_id();
    let mut on_a = Vec::new();
    for i in 0..2 {
        let mut c = a.client().await;
        c.join_ready(&room.room_id, &format!("OnA{i}")).await;
        on_a.push(c);
    }
    let mut on_b = b.client().await;
    on_b.join_ready(&room.room_id, "OnB").await;
    fac.barrier().await;
    for c in on_a.iter_mut() {
        c.barrier().await;
    }

    // The facilitator (on B) keeps talking through the switch.
    let n = 150;
    let talker = tokio::spawn(async move {
        for i in 0..n {
            fac.send(&ClientMsg::Chat {
                text: format!("f{i}"),
            })
            .await;
            drain(&mut fac).await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        fac
    });
    tokio::time::sleep(Duration::from_millis(600)).await;

    let t0 = Instant::now();
    a.terminate();
    // A's members: the notice, a 1012 close, then back through B with the
    // resume token of their welcome and the last seq they saw.
    let mut moved = Vec::new();
    for mut old in on_a {
        old.recv_until(is_shutdown_notice).await;
        let code = old.expect_close().await;
        assert_eq!(code, Some(1012), "[{}] closed with {code:?}", old.name);
        let you = old.me.clone().expect("joined");
        let (last, epoch) = (old.last_seq, old.epoch.clone());
        let mut new = b.client().await;
        let (_, end) = new
            .resume(&room.room_id, &old.name.clone(), &you, last, &epoch)
            .await;
        assert!(
            matches!(end, ServerMsg::Resumed { .. }),
            "[{}] expected to resume on B, got {end:?}",
            old.name
        );
        eprintln!(
            "[{}] resumed on B {:?} after SIGTERM",
            old.name,
            t0.elapsed()
        );
        moved.push((old, new));
    }
    let status = a
        .wait_exit(Duration::from_secs(shutdown_secs + 3))
        .await
        .unwrap_or_else(|| panic!("A still running after SIGTERM; logs:\n{}", a.logs()));
    eprintln!("A exited with {status} after {:?}", t0.elapsed());
    assert!(
        status.success(),
        "A's exit status {status}; logs:\n{}",
        a.logs()
    );

    let mut fac = talker.await.expect("the facilitator's task");
    let last = format!("f{}", n - 1);
    let expected: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    let is_last = |m: &ServerMsg| matches!(m, ServerMsg::Event { event: Event::Chat { message }, .. } if message.text == last);
    // Everyone gets every message once, in order: those who moved...
    for (old, new) in moved.iter_mut() {
        if !texts_from(&new.seen, &fac_id).contains(&last) {
            new.wait_for(20, is_last).await;
        }
        let mut all = old.seen.clone();
        all.extend(new.seen.iter().cloned());
        let got = texts_from(&all, &fac_id);
        assert_eq!(
            got,
            expected,
            "[{}] lost or duplicated messages across the switch: {}",
            old.name,
            diff(&got, &expected)
        );
        new.chat("still here").await;
    }
    // ...the member who stayed on B...
    if !texts_from(&on_b.seen, &fac_id).contains(&last) {
        on_b.wait_for(20, is_last).await;
    }
    let got = texts_from(&on_b.seen, &fac_id);
    assert_eq!(got, expected, "[OnB] {}", diff(&got, &expected));
    // ...and the facilitator itself.
    if !texts_from(&fac.seen, &fac_id).contains(&last) {
        fac.wait_for(20, is_last).await;
    }
    let got = texts_from(&fac.seen, &fac_id);
    assert_eq!(got, expected, "[Fac] {}", diff(&got, &expected));
    eprintln!(
        "all {n} messages everywhere {:?} after SIGTERM",
        t0.elapsed()
    );
    // B hosts the room now and it works as before.
    fac.chat("after the switch").await;
    assert_eq!(b.get("/readyz").await.status, 200);
    let info = b.get(&format!("/api/rooms/{}", room.room_id)).await;
    assert_eq!(info.status, 200, "{}", info.body);
}
