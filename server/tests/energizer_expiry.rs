//! Timed energizers close at their expiry, exactly once, across instances:
//! real `huddle` processes sharing a real `redis-server` (started per test).

mod common;

use common::*;
use huddle_protocol::*;
use std::time::Duration;

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

async fn instance(redis: &Redis) -> Server {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str()];
    args.extend_from_slice(FAST);
    Server::start_with(&args).await
}

/// The `energizer_closed` frames for `run_id` a client saw: (seq, ts).
fn closed(c: &Client, run_id: &str) -> Vec<(u64, Millis)> {
    c.seen
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Event {
                seq,
                ts,
                event: Event::EnergizerClosed { run_id: r },
            } if r == run_id => Some((*seq, *ts)),
            _ => None,
        })
        .collect()
}

/// Push a timed energizer; returns its run and the `ts` it started at.
async fn push_timed(fac: &mut Client, secs: u32) -> (EnergizerRun, Millis) {
    fac.send(&ClientMsg::PushEnergizer {
        energizer_id: Some("one-word".into()),
        prompt: None,
        duration_secs: Some(secs),
    })
    .await;
    match fac
        .wait_for(10, |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::EnergizerStarted { .. },
                    ..
                }
            )
        })
        .await
    {
        ServerMsg::Event {
            ts,
            event: Event::EnergizerStarted { run },
            ..
        } => (run, ts),
        other => panic!("expected energizer_started, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_energizer_closes_once_at_its_expiry_on_every_instance() {
    let redis = Redis::start();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let room = a.group("Timed energizer").await;
    let mut fac = a.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut pa = a.client().await;
    pa.join_ready(&room.room_id, "OnA").await;
    let mut pb = b.client().await;
    pb.join_ready(&room.room_id, "OnB").await;
    fac.barrier().await;

    let (run, started) = push_timed(&mut fac, 2).await;
    assert!(run.timer_id.is_some(), "a timed run has its timer");
    for c in [&mut pa, &mut pb, &mut fac] {
        c.recv_event(|e| matches!(e, Event::EnergizerClosed { run_id } if *run_id == run.id))
            .await;
    }
    // Long enough for any second close (a second tick, the other instance) to show.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut seqs = Vec::new();
    for c in [&mut pa, &mut pb, &mut fac] {
        c.barrier().await;
        let got = closed(c, &run.id);
        assert_eq!(got.len(), 1, "{}: exactly one energizer_closed", c.name);
        let (seq, ts) = got[0];
        assert!(
            ts >= started + 2_000,
            "{}: closed at its expiry, not before ({ts} < {started} + 2 s)",
            c.name
        );
        seqs.push(seq);
        // The timer's expiry and the close come together.
        assert_eq!(
            events(&c.seen)
                .iter()
                .filter(|e| matches!(e, Event::TimerExpired { .. }))
                .count(),
            1
        );
    }
    assert!(seqs.windows(2).all(|w| w[0] == w[1]), "one event: {seqs:?}");
    // Someone arriving later (through B) finds it closed.
    let mut late = b.client().await;
    let w = late.join_ready(&room.room_id, "Late").await;
    assert_eq!(
        w.room.energizer.map(|r| (r.id, r.open)),
        Some((run.id, false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_energizer_closes_once_after_its_owner_is_killed() {
    let redis = Redis::start();
    let mut a = instance(&redis).await;
    let b = instance(&redis).await;
    // Hosted on A (created there); everyone is connected through B.
    let room = a.group("Timed energizer, failover").await;
    let mut fac = b.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut pb = b.client().await;
    pb.join_ready(&room.room_id, "OnB").await;
    fac.barrier().await;

    let (run, started) = push_timed(&mut fac, 2).await;
    a.kill_hard();
    // B takes the room over (state from Redis) and closes the energizer once.
    for c in [&mut pb, &mut fac] {
        let closed_msg = c
            .wait_for(30, |m| {
                matches!(m, ServerMsg::Event { event: Event::EnergizerClosed { run_id }, .. } if *run_id == run.id)
            })
            .await;
        assert!(matches!(closed_msg, ServerMsg::Event { ts, .. } if ts >= started + 2_000));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for c in [&mut pb, &mut fac] {
        c.barrier().await;
        assert_eq!(
            closed(c, &run.id).len(),
            1,
            "{}: exactly one energizer_closed after the takeover",
            c.name
        );
    }
}
