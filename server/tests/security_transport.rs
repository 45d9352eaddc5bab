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
