//! Security issue 22, transport and HTTP items: a real `huddle` process on
//! 127.0.0.1, attacked or probed from outside.
//!
//! - A.1 memory: one join per connection; each connection's queue is capped in bytes.
//! - A.2 a welcome larger than the old write buffer still reaches every joiner.
//! - A.3 room creation: rate limit per client, expiry of rooms nobody joined,
//!   the organizer key for listing drop-ins.
//! - B.3 the public view of a room.
//! - C.3 the summary key only in a header; F.3 the summary right after the end.
//! - E. client identity through trusted proxies; the origin check.
//! - G. response headers, /metrics access, what the logs may contain.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::Duration;

fn join_msg(room_id: &str, name: &str) -> ClientMsg {
    ClientMsg::Join {
        v: PROTOCOL_VERSION,
        room_id: room_id.into(),
        name: name.into(),
        facilitator_key: None,
        resume: None,
    }
}

/// Read until the connection ends; how many frames came first, or `None`
/// when it is still open after `wait`.
async fn frames_until_end(c: &mut Client, wait: Duration) -> Option<usize> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut n = 0;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.next_within(left).await {
            Ok(_) => n += 1,
            Err(Ended::Closed(..)) => return Some(n),
            Err(Ended::Timeout) => return None,
        }
    }
}

// ---------------------------------------------------------------------------
// A.1 Memory
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_connection_joins_once_and_a_join_after_leave_is_refused() {
    let server = Server::start().await;
    let room = server.group("One join each").await;
    let mut fac = server.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut p = server.client().await;
    p.join(&room.room_id, "Sam", None).await;
    p.send(&ClientMsg::Leave).await;
    fac.recv_event(|e| matches!(e, Event::MemberLeft { .. }))
        .await;
    // The same socket may not ask for a second welcome.
    p.send(&join_msg(&room.room_id, "Sam again")).await;
    let m = p.expect_error(ErrorCode::AlreadyJoined).await;
    assert!(
        matches!(&m, ServerMsg::Error { refused: Some(t), .. } if t == "join"),
        "{m:?}"
    );
    p.expect_silence(Duration::from_millis(300)).await;
    // A new connection joins as usual.
    let mut again = server.client().await;
    again.join(&room.room_id, "Sam again", None).await;
    fac.recv_event(|e| matches!(e, Event::MemberJoined { member } if member.name == "Sam again"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_dropped_once_its_queue_passes_the_byte_cap() {
    // Frames of about 120 KB (20,000 control characters, escaped 6× in JSON):
    // 100 of them are far below the 512-frame cap, far above 1 MiB.
    let server = Server::start_with(&[
        "--max-text",
        "20000",
        "--max-frame-bytes",
        "200000",
        "--rate-per-sec",
        "1000",
        "--rate-burst",
        "1000",
    ])
    .await;
    let room = server.group("Heavy talk").await;
    let mut talker = server.client().await;
    talker
        .join(&room.room_id, "Talker", Some(&room.facilitator_key))
        .await;
    let mut sleepy = server.client().await;
    sleepy.join(&room.room_id, "Sleepy", None).await;
    talker.barrier().await;
    // From now on Sleepy does not read.
    let text = "\u{1}".repeat(20_000);
    for _ in 0..100 {
        talker.chat(&text).await;
    }
    let m = server.metrics().await;
    assert!(
        m["huddle_slow_consumers_dropped_total"] >= 1,
        "the slow consumer was not dropped: {m:?}"
    );
    assert!(
        m["huddle_slow_consumers_over_bytes_total"] >= 1,
        "not dropped for its bytes: {m:?}"
    );
    // When it reads at last: what was already on its way, then the end.
    let n = frames_until_end(&mut sleepy, Duration::from_secs(20)).await;
    let n = n.expect("the slow consumer's connection was never ended");
    assert!(n < 100, "it got all {n} frames: it was never dropped");
    // The room goes on.
    talker.chat("still here").await;
}

// ---------------------------------------------------------------------------
// A.2 A welcome larger than the old 1 MiB write buffer
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_welcome_over_a_mebibyte_reaches_every_joiner() {
    let server = Server::start_with(&["--rate-per-sec", "1000", "--rate-burst", "1000"]).await;
    let room = server.group("Escaped history").await;
    let mut fac = server.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    // 200 messages of 2,000 control characters: 12 KB each in JSON, 2.4 MB in a welcome.
    let text = "\u{1}".repeat(2_000);
    for _ in 0..200 {
        fac.chat(&text).await;
    }
    for i in 0..3 {
        let mut c = server.client().await;
        let w = c.join(&room.room_id, &format!("Late {i}"), None).await;
        assert_eq!(w.room.messages.len(), 200);
        let json = serde_json::to_string(&w.room).unwrap();
        assert!(json.len() > 2_000_000, "welcome of {} bytes", json.len());
        c.ping().await;
    }
    fac.chat("the room still works").await;
}

// ---------------------------------------------------------------------------
// F.3 The summary
// ---------------------------------------------------------------------------

/// End 40 sessions; fetch each summary the moment the end is announced.
async fn summaries_right_after_the_end(server: &Server, other: &Server) -> Vec<(usize, u16)> {
    let mut early = Vec::new();
    for i in 0..40 {
        let room = server.group(&format!("Ends now {i}")).await;
        let mut fac = server.client().await;
        fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
            .await;
        fac.send(&ClientMsg::EndSession).await;
        fac.recv_event(|e| matches!(e, Event::SessionEnded { .. }))
            .await;
        let via = if i % 2 == 0 { server } else { other };
        let r = via
            .http(
                "GET",
                &format!("/api/rooms/{}/summary.md", room.room_id),
                &[("X-Facilitator-Key", &room.facilitator_key)],
                None,
            )
            .await;
        if r.status != 200 {
            early.push((i, r.status));
        }
    }
    early
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_is_there_as_soon_as_the_session_ends() {
    let server = Server::start().await;
    let early = summaries_right_after_the_end(&server, &server).await;
    assert!(
        early.is_empty(),
        "summary not there right after the end: {early:?}"
    );

    // Two instances through Redis: the same from either.
    let redis = Redis::start();
    let url = redis.url();
    let flags = ["--redis-url", url.as_str()];
    let a = Server::start_with(&flags).await;
    let b = Server::start_with(&flags).await;
    let early = summaries_right_after_the_end(&a, &b).await;
    assert!(
        early.is_empty(),
        "summary not there right after the end: {early:?}"
    );
}
