//! Issue 22, the Redis items: what Huddle leaves in Redis, and how far it
//! trusts what comes out of it. Real `huddle` processes and a real
//! `redis-server` (started by each test on a free port), read directly.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::{Duration, Instant};

const FAST: &[&str] = &["--rate-per-sec", "2000", "--rate-burst", "2000"];

async fn instance(redis: &Redis, extra: &[&str]) -> Server {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str()];
    args.extend_from_slice(FAST);
    args.extend_from_slice(extra);
    Server::start_with(&args).await
}

/// Poll (bounded) until `needle` is in no Redis key; panics with the keys
/// that still hold it.
async fn wait_gone_from_redis(url: &str, needle: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let keys = redis_keys_containing(url, needle);
        if keys.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} still in Redis after {secs} s, in {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every frame a client saw, as JSON text (to search for a string anywhere).
fn seen_text(c: &Client) -> String {
    c.seen
        .iter()
        .map(|m| serde_json::to_string(m).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A join that resumes `you`.
fn resume_msg(room: &str, you: &You, last: u64, epoch: &str) -> ClientMsg {
    ClientMsg::Join {
        v: PROTOCOL_VERSION,
        room_id: room.into(),
        name: "Back".into(),
        facilitator_key: None,
        resume: Some(Resume {
            member_id: you.member_id.clone(),
            token: you.resume_token.clone(),
            last_seq: last,
            epoch: epoch.into(),
        }),
    }
}

/// Resume through `server` until the room answers (bounded): retried while it
/// answers `unavailable` (the room is moving). Returns the final frame.
async fn resume_until_answered(
    server: &Server,
    room: &str,
    you: &You,
    last: u64,
    epoch: &str,
) -> (Client, ServerMsg) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut c = server.client().await;
        c.name = "Back".into();
        c.last_seq = last;
        c.epoch = epoch.to_string();
        c.send(&resume_msg(room, you, last, epoch)).await;
        let end = c
            .wait_for(20, |m| {
                matches!(
                    m,
                    ServerMsg::Resumed { .. } | ServerMsg::Welcome { .. } | ServerMsg::Error { .. }
                )
            })
            .await;
        match end {
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            } if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            end => return (c, end),
        }
    }
}

// ---------------------------------------------------------------------------
// B.2 Nothing outlives the room
// ---------------------------------------------------------------------------

/// When the last member leaves, the room's chat is dropped: from the history
/// stream and the saved state in Redis, and from the owner's memory (a
/// newcomer's welcome carries no old messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_leaves_redis_with_the_last_member() {
    let redis = Redis::start();
    let url = redis.url();
    let a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Leaving no trace").await;
    let id = room.room_id.clone();
    let mut fac = a.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut pb = b.client().await;
    pb.join_ready(&id, "OnB").await;
    let said = "words that must not outlive the room";
    pb.chat(said).await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.text == said))
        .await;
    // While people are in the room, Redis keeps it (history for resume, takeover).
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis_keys_containing(&url, said).is_empty() {
        assert!(Instant::now() < deadline, "the chat never reached Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    pb.send(&ClientMsg::Leave).await;
    fac.send(&ClientMsg::Leave).await;
    wait_gone_from_redis(&url, said, 5).await;

    // The owner forgot it too: a newcomer (through either instance) sees no old chat.
    let mut late = b.client().await;
    let w = late.join(&id, "Late", None).await;
    assert!(
        w.room.messages.is_empty(),
        "old messages replayed to a newcomer: {:?}",
        w.room.messages
    );
    assert!(!seen_text(&late).contains(said));
}

/// In memory (no Redis): the same, the model's history goes with the last member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_leaves_memory_with_the_last_member() {
    let s = Server::start_with(FAST).await;
    let room = s.group("Memory").await;
    let id = room.room_id.clone();
    let mut fac = s.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut p = s.client().await;
    p.join_ready(&id, "P").await;
    let said = "said in a room that then emptied";
    p.chat(said).await;
    let _ = fac.barrier().await;
    let (you, last, epoch) = (p.me.clone().unwrap(), p.last_seq, p.epoch.clone());
    p.send(&ClientMsg::Leave).await;
    fac.send(&ClientMsg::Leave).await;
    drop(p);
    drop(fac);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut late = s.client().await;
    let w = late.join(&id, "Late", None).await;
    assert!(
        w.room.messages.is_empty(),
        "old messages kept in memory: {:?}",
        w.room.messages
    );
    // Nor can anything be replayed: a stale resume gets nothing of it.
    let mut back = s.client().await;
    let (_, end) = back.resume(&id, "P", &you, last - 3, &epoch).await;
    assert!(!seen_text(&back).contains(said), "replayed: {end:?}");
}

/// A deleted message leaves the Redis stream (and every other key) at once,
/// and after a failover a resuming member does not get it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_message_leaves_redis_and_never_replays_after_failover() {
    let redis = Redis::start();
    let url = redis.url();
    let mut a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    // Hosted on A; everybody is on B.
    let room = a.group("Scrubbed").await;
    let id = room.room_id.clone();
    let mut fac = b.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut m = b.client().await;
    m.join_ready(&id, "Writer").await;
    let mut away = b.client().await;
    away.join_ready(&id, "Away").await;
    let _ = away.barrier().await;
    let (you, last, epoch) = (away.me.clone().unwrap(), away.last_seq, away.epoch.clone());
    away.drop_socket();

    let kept = "a message that stays";
    let secret = "a message the facilitator deleted";
    m.chat(kept).await;
    let msg = m.chat(secret).await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.text == secret))
        .await;
    fac.send(&ClientMsg::DeleteMessage {
        message_id: msg.id.clone(),
    })
    .await;
    m.recv_event(|e| matches!(e, Event::MessageDeleted { message_id } if *message_id == msg.id))
        .await;
    wait_gone_from_redis(&url, secret, 5).await;
    assert!(
        !redis_keys_containing(&url, kept).is_empty(),
        "the rest of the history stays"
    );

    // Failover: the owner dies; B takes the room over from what Redis keeps.
    a.kill_hard();
    let (back, end) = resume_until_answered(&b, &id, &you, last, &epoch).await;
    assert!(
        matches!(end, ServerMsg::Resumed { .. }),
        "expected resumed, got {end:?}"
    );
    let text = seen_text(&back);
    assert!(text.contains(kept), "the kept message is replayed");
    assert!(!text.contains(secret), "the deleted message came back");
}

// ---------------------------------------------------------------------------
// D.3 No secret in Redis in plaintext
// ---------------------------------------------------------------------------

/// Every resume token a client was given.
fn tokens_seen(c: &Client) -> Vec<String> {
    c.seen
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Welcome { you, .. } | ServerMsg::Resumed { you, .. } => {
                Some(you.resume_token.clone())
            }
            _ => None,
        })
        .collect()
}

/// Resume tokens, facilitator keys and one-on-one room keys are never
/// written to Redis in plaintext: every key's whole value is scanned for
/// every secret the test clients received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_stored_in_redis_in_plaintext() {
    let redis = Redis::start();
    let url = redis.url();
    let a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Secrets").await;
    let id = room.room_id.clone();
    let mut fac = b.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut p = a.client().await;
    p.join_ready(&id, "OnA").await;
    let mut q = b.client().await;
    q.join_ready(&id, "OnB").await;

    // A one-on-one room: its facilitator key goes to the facilitator in an event.
    p.send(&ClientMsg::SupportRequest {
        note: Some("could we talk".into()),
    })
    .await;
    let (_, ev) = fac
        .recv_event(|e| matches!(e, Event::SupportRequested { .. }))
        .await;
    let Event::SupportRequested { request } = ev else {
        unreachable!()
    };
    fac.send(&ClientMsg::OpenOneOnOne {
        request_id: request.id.clone(),
    })
    .await;
    let (_, ev) = fac
        .recv_event(|e| matches!(e, Event::OneOnOne { .. }))
        .await;
    let Event::OneOnOne {
        room_id: one_id,
        facilitator_key: Some(one_key),
        ..
    } = ev
    else {
        panic!("the facilitator got no key: {ev:?}")
    };
    p.recv_event(|e| matches!(e, Event::OneOnOne { .. })).await;
    let mut one = a.client().await;
    one.join(&one_id, "Fac", Some(&one_key)).await;

    // Tokens rotate on resume: the new one must not be stored either.
    let (you, last, epoch) = (q.me.clone().unwrap(), q.last_seq, q.epoch.clone());
    let mut q_tokens = tokens_seen(&q);
    q.drop_socket();
    let mut q2 = b.client().await;
    let (_, end) = q2.resume(&id, "OnB", &you, last, &epoch).await;
    assert!(matches!(end, ServerMsg::Resumed { .. }), "{end:?}");
    q_tokens.extend(tokens_seen(&q2));
    for c in [&mut fac, &mut p, &mut q2, &mut one] {
        let _ = c.barrier().await;
    }
    // Let the owners save (state is saved with heavy batches at once; chat-only within 10 s).
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut secrets: Vec<(String, String)> = vec![
        ("room facilitator key".into(), room.facilitator_key.clone()),
        ("one-on-one facilitator key".into(), one_key.clone()),
    ];
    for (who, c) in [("fac", &fac), ("p", &p), ("one", &one)] {
        for t in tokens_seen(c) {
            secrets.push((format!("resume token of {who}"), t));
        }
    }
    for t in q_tokens {
        secrets.push(("resume token of q".into(), t));
    }
    assert!(secrets.len() >= 7, "{secrets:?}");
    let dump = redis_dump(&url);
    assert!(
        dump.iter().any(|(k, _)| k.contains(&one_id)),
        "the one-on-one room is stored"
    );
    for (what, s) in &secrets {
        let found: Vec<&String> = dump
            .iter()
            .filter(|(k, v)| k.contains(s.as_str()) || v.contains(s.as_str()))
            .map(|(k, _)| k)
            .collect();
        assert!(found.is_empty(), "{what} stored in plaintext in {found:?}");
    }
}
