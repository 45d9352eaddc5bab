//! Issue 22, the Redis items: what Huddle leaves in Redis, and how far it
//! trusts what comes out of it. Real `huddle` processes and a real
//! `redis-server` (started by each test on a free port), read directly.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::{Duration, Instant};

/// Listing drop-ins needs the organizer key (issue 22 A.3).
const ORGANIZER: &str = "redis-security-organizer";
const FAST: &[&str] = &[
    "--rate-per-sec",
    "2000",
    "--rate-burst",
    "2000",
    "--organizer-key",
    ORGANIZER,
];

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
        device_id: None,
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

// ---------------------------------------------------------------------------
// F.1 Resume during a takeover
// ---------------------------------------------------------------------------

/// A resume that arrives while the room is moving (its owner just died, the
/// lease not lapsed yet) answers `unavailable` within a second and does not
/// spend the single-use token: the retry resumes the same member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_during_a_takeover_answers_unavailable_fast_and_keeps_its_token() {
    let redis = Redis::start();
    let mut a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Moving").await;
    let id = room.room_id.clone();
    let mut fac = b.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut m = a.client().await;
    m.join_ready(&id, "OnA").await;
    let _ = m.barrier().await;
    let (you, last, epoch) = (m.me.clone().unwrap(), m.last_seq, m.epoch.clone());

    a.kill_hard();
    drop(m);
    // The member's client reconnects through B at once.
    let mut first = b.client().await;
    let sent = Instant::now();
    first.send(&resume_msg(&id, &you, last, &epoch)).await;
    let answer = first.next_within(Duration::from_millis(1500)).await;
    let took = sent.elapsed();
    eprintln!("first answer after {took:?}: {answer:?}");
    assert!(
        matches!(
            answer,
            Ok(ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            })
        ),
        "expected `unavailable` at once, got {answer:?} after {took:?}"
    );
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    drop(first);

    // The client retries (as the web client does) until the room answers:
    // the same member, resumed — the token was not spent by the first try.
    let (back, end) = resume_until_answered(&b, &id, &you, last, &epoch).await;
    match &end {
        ServerMsg::Resumed { you: me, .. } => assert_eq!(me.member_id, you.member_id),
        other => panic!("expected resumed, got {other:?}"),
    }
    assert!(back
        .seen
        .iter()
        .all(|m| !matches!(m, ServerMsg::Error { code, .. } if *code == ErrorCode::BadResume)));
}

// ---------------------------------------------------------------------------
// D.4 Outage answers honestly
// ---------------------------------------------------------------------------

/// During a Redis outage, and in the moments after `/readyz` turns 200
/// again (Redis came back empty), a live room is never `room_not_found`, 404
/// or an empty directory on an instance that does not host it: `unavailable`
/// (503) until the owner has stored it again. A chat is refused with
/// `unavailable` or delivered; an acknowledged chat is never lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_answers_unavailable_never_not_found() {
    let mut redis = Redis::start();
    let a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.create_drop_in("Drop-in", ORGANIZER).await;
    let id = room.room_id.clone();
    let info_path = format!("/api/rooms/{id}");
    let list_path = "/api/rooms?kind=drop_in";
    let mut fac = a.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut pb = b.client().await;
    pb.join_ready(&id, "OnB").await;
    pb.chat("before").await;
    assert_eq!(b.get(&info_path).await.status, 200);

    redis.kill();
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.get("/readyz").await.status != 503 {
        assert!(Instant::now() < deadline, "B never noticed the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // HTTP reads through B: 503, never 404 or an empty list.
    let r = b.get(&info_path).await;
    assert_eq!(r.status, 503, "room info during the outage: {}", r.body);
    assert!(r.body.contains("unavailable"), "{}", r.body);
    let r = b.get(list_path).await;
    assert_eq!(r.status, 503, "directory during the outage: {}", r.body);
    // A join through B: `unavailable`, not `room_not_found`.
    let mut j = b.client().await;
    let reply = j.join_raw(&id, "Joiner", None, None).await;
    assert!(
        matches!(
            reply,
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "join during the outage: {reply:?}"
    );
    // A chat through B: refused with `unavailable` (it cannot reach the owner).
    pb.send(&ClientMsg::Chat {
        text: "during".into(),
    })
    .await;
    let m = pb
        .wait_for(12, |m| {
            matches!(m, ServerMsg::Error { .. })
                || matches!(m, ServerMsg::Event { event: Event::Chat { message }, .. } if message.text == "during")
        })
        .await;
    let refused_during = matches!(
        m,
        ServerMsg::Error {
            code: ErrorCode::Unavailable,
            ..
        }
    );
    assert!(
        refused_during || matches!(m, ServerMsg::Event { .. }),
        "chat during the outage: {m:?}"
    );
    // The owner keeps serving its own members (and knows its own room).
    fac.chat("said on the owner during the outage").await;
    let r = a.get(&info_path).await;
    assert_ne!(r.status, 404, "the owner lost its own room: {}", r.body);

    // Redis comes back empty. From the moment B is ready again, every answer
    // is the truth or `unavailable`, until the room is fully back.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.get("/readyz").await.status != 200 {
        assert!(Instant::now() < deadline, "B never became ready again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut acked = Vec::new();
    let mut n = 0;
    loop {
        assert!(Instant::now() < deadline, "the room never came back");
        let info = b.get(&info_path).await;
        assert!(
            info.status == 200 || info.status == 503,
            "room info after recovery: {} {}",
            info.status,
            info.body
        );
        let list = b.get(list_path).await;
        assert!(
            list.status == 503 || (list.status == 200 && list.body.contains(&id)),
            "directory after recovery: {} {}",
            list.status,
            list.body
        );
        let mut j = b.client().await;
        // One name per attempt: an earlier joiner still holds theirs (name_taken).
        let reply = j.join_raw(&id, &format!("Joiner {n}"), None, None).await;
        let joined = match reply {
            ServerMsg::Welcome { .. } => true,
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            } => false,
            other => panic!("join after recovery: {other:?}"),
        };
        n += 1;
        let text = format!("after {n}");
        pb.send(&ClientMsg::Chat { text: text.clone() }).await;
        let m = pb
            .wait_for(12, |m| {
                matches!(m, ServerMsg::Error { .. })
                    || matches!(m, ServerMsg::Event { event: Event::Chat { message }, .. } if message.text == text)
            })
            .await;
        let chat_ok = match m {
            ServerMsg::Event { .. } => {
                acked.push(text);
                true
            }
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            } => false,
            other => panic!("chat after recovery: {other:?}"),
        };
        if joined && chat_ok && info.status == 200 && list.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every acknowledged chat reached the owner's member, once.
    let _ = fac.barrier().await;
    let got = chat_texts(&fac.seen);
    for t in &acked {
        assert_eq!(
            got.iter().filter(|g| *g == t).count(),
            1,
            "{t:?} acknowledged on B but not delivered once: {got:?}"
        );
    }
    if !refused_during {
        assert_eq!(got.iter().filter(|g| *g == "during").count(), 1);
    }
}

// ---------------------------------------------------------------------------
// D.2 Signed cross-instance traffic
// ---------------------------------------------------------------------------

const SIGNING_KEY: &str = "a-test-signing-key-of-at-least-32-characters";

/// `huddle_redis_forged_total` of an instance.
async fn forged(s: &Server) -> i64 {
    s.metrics()
        .await
        .get("huddle_redis_forged_total")
        .copied()
        .unwrap_or(-1)
}

/// PUBLISH straight to Redis (as anyone who can reach it could).
fn publish(url: &str, channel: &str, payload: &[u8]) -> i64 {
    let mut con = redis_con(url);
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query(&mut con)
        .expect("PUBLISH")
}

/// With `--redis-signing-key`, every cross-instance message is signed: a
/// forged command (a join, a facilitator's `end_session` in the room's
/// command channel) and a forged batch (a chat in the room's fan-out channel)
/// are dropped and counted; nobody sees them. Signed traffic flows as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_redis_messages_are_dropped_and_counted() {
    let redis = Redis::start();
    let url = redis.url();
    let signed = ["--redis-signing-key", SIGNING_KEY];
    let a = instance(&redis, &signed).await;
    let b = instance(&redis, &signed).await;
    let room = a.group("Signed").await;
    let id = room.room_id.clone();
    let mut fac = a.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut p = b.client().await;
    p.join_ready(&id, "OnB").await;
    // Signed traffic works both ways (commands B → A, batches A → B).
    p.chat("signed and delivered").await;
    fac.recv_event(
        |e| matches!(e, Event::Chat { message } if message.text == "signed and delivered"),
    )
    .await;
    let _ = p.barrier().await;
    assert_eq!(forged(&a).await, 0);
    assert_eq!(forged(&b).await, 0);

    // Forged commands for the owner: a join, and the facilitator's end_session
    // (with the connection id it would need: a guess, as an attacker would).
    let join = serde_json::json!({"Join": {
        "conn": "forged-conn", "instance": "nowhere", "addr_hash": null,
        "v": PROTOCOL_VERSION, "name": "Intruder", "facilitator_key": null, "resume": null
    }});
    let end =
        serde_json::json!({"Client": {"conn": "forged-conn", "msg": {"type": "end_session"}}});
    let in_ch = format!("huddle:room:{id}:in");
    for cmd in [&join, &end] {
        let heard = publish(&url, &in_ch, cmd.to_string().as_bytes());
        assert!(heard >= 1, "the owner listens on {in_ch}");
    }
    // A forged batch for the other instance: a chat "from" the facilitator.
    let frame = serde_json::to_string(&ServerMsg::Event {
        seq: 10_000,
        ts: now_ms(),
        event: Event::Chat {
            message: ChatMessage {
                id: "forged".into(),
                seq: 10_000,
                from: fac.member_id(),
                name: "Fac".into(),
                text: "forged words".into(),
                ts: now_ms(),
                reactions: Default::default(),
            },
        },
    })
    .unwrap();
    let batch = format!(
        "someone\n{{\"d\":[{{\"F\":{{\"a\":\"all\",\"s\":10000,\"n\":{}}}}}]}}\n{frame}",
        frame.len()
    );
    let heard = publish(&url, &format!("huddle:room:{id}:out"), batch.as_bytes());
    assert!(heard >= 1, "B listens to the room's batches");

    // Nobody sees any of it; the room is still open; both were counted.
    let seen_f = fac.collect_for(Duration::from_millis(1500)).await;
    let seen_p = p.collect_for(Duration::from_millis(300)).await;
    for (who, seen) in [("facilitator", &seen_f), ("member", &seen_p)] {
        let text = serde_json::to_string(seen).unwrap();
        assert!(
            !text.contains("Intruder"),
            "{who} saw a forged join: {text}"
        );
        assert!(
            !text.contains("forged words"),
            "{who} saw a forged chat: {text}"
        );
        assert!(
            !text.contains("session_ended"),
            "{who} saw a forged end: {text}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while forged(&a).await < 2 || forged(&b).await < 1 {
        assert!(
            Instant::now() < deadline,
            "forgeries not counted: A {} B {}",
            forged(&a).await,
            forged(&b).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(a.log_output().contains("forged"), "{}", a.log_output());
    // And signed traffic still flows.
    fac.chat("still signed").await;
    p.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "still signed"))
        .await;
    p.chat("me too").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "me too"))
        .await;
    // What Redis keeps is signed too: nothing stored lacks a signature.
    for (k, v) in redis_dump(&url) {
        if k.ends_with(":state") || k.ends_with(":meta") || k.ends_with(":events") {
            assert!(v.contains("hs1:"), "{k} is stored unsigned");
        }
    }
}

// ---------------------------------------------------------------------------
// D.1 TLS and least privilege
// ---------------------------------------------------------------------------

/// Huddle over TLS (`rediss://`, a private CA given with `--redis-ca-file`),
/// logged in as the ACL user of `deploy/redis-acl.conf`, signing its traffic:
/// two instances, chat both ways, the directory, a deleted message, a
/// takeover after the owner dies — and Redis denied nothing (its ACL log is
/// empty), so the user's command list is complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huddle_runs_on_tls_redis_as_the_least_privileged_user() {
    let redis = RedisTls::start();
    let (url, ca) = (redis.url(), redis.ca_file());
    let mut admin = redis_con(&redis.admin_url());
    let () = redis::cmd("ACL")
        .arg("LOG")
        .arg("RESET")
        .query(&mut admin)
        .expect("ACL LOG RESET");
    let mut args = vec![
        "--redis-url",
        url.as_str(),
        "--redis-ca-file",
        ca.as_str(),
        "--redis-signing-key",
        SIGNING_KEY,
    ];
    args.extend_from_slice(FAST);
    let mut a = Server::start_with(&args).await;
    let b = Server::start_with(&args).await;

    let room = a.create_drop_in("Over TLS", ORGANIZER).await;
    let id = room.room_id.clone();
    let mut fac = b.client().await;
    fac.join(&id, "Fac", Some(&room.facilitator_key)).await;
    let mut m = a.client().await;
    m.join_ready(&id, "OnA").await;
    m.chat("over tls").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "over tls"))
        .await;
    fac.chat("and back").await;
    m.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "and back"))
        .await;
    let list = b.get("/api/rooms?kind=drop_in").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&id), "{}", list.body);
    let oops = m.chat("oops").await;
    fac.send(&ClientMsg::DeleteMessage {
        message_id: oops.id.clone(),
    })
    .await;
    m.recv_event(|e| matches!(e, Event::MessageDeleted { .. }))
        .await;
    let _ = m.barrier().await;
    let (you, last, epoch) = (m.me.clone().unwrap(), m.last_seq, m.epoch.clone());

    // The owner dies; B takes the room over and the member resumes there.
    a.kill_hard();
    drop(m);
    let (mut back, end) = resume_until_answered(&b, &id, &you, last, &epoch).await;
    assert!(matches!(end, ServerMsg::Resumed { .. }), "{end:?}");
    back.chat("after the takeover").await;
    fac.recv_event(
        |e| matches!(e, Event::Chat { message } if message.text == "after the takeover"),
    )
    .await;

    // Redis refused nothing Huddle asked for.
    let denied: redis::Value = redis::cmd("ACL")
        .arg("LOG")
        .query(&mut admin)
        .expect("ACL LOG");
    assert!(
        matches!(&denied, redis::Value::Array(v) if v.is_empty()),
        "Redis denied the huddle user: {denied:?}"
    );
    let metrics = b.metrics().await;
    let errors: Vec<_> = metrics
        .iter()
        .filter(|(k, v)| k.starts_with("huddle_redis_errors_total") && **v > 0)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(metrics.get("huddle_redis_forged_total"), Some(&0));

    // Without the CA, the server's certificate is not trusted: no start.
    let data = common::pg::TempDir::new("no-ca");
    let db = format!("sqlite://{}/huddle.db", data.str());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
            .args([
                "--bind",
                "127.0.0.1:0",
                "--redis-url",
                &url,
                "--database-url",
                &db,
            ])
            .env_remove("HUDDLE_REDIS_CA_FILE")
            .output()
            .expect("running huddle")
    })
    .await
    .unwrap();
    assert!(!out.status.success(), "started without trusting the CA");
}
