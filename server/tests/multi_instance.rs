//! Several instances as one: real `huddle` processes sharing a real
//! `redis-server` that each test starts itself on a free port.

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

fn roster_ids(frames: &[ServerMsg], start: &[Member]) -> Vec<String> {
    let mut ids: Vec<String> = start.iter().map(|m| m.id.clone()).collect();
    for e in events(frames) {
        match e {
            Event::MemberJoined { member } if !ids.contains(&member.id) => {
                ids.push(member.id.clone())
            }
            Event::MemberLeft { member_id, .. } => ids.retain(|i| i != member_id),
            _ => {}
        }
    }
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_are_one_server() {
    let redis = Redis::start();
    let a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Across instances").await;
    // The room made on A is visible through B.
    let info = b.get(&format!("/api/rooms/{}", room.room_id)).await;
    assert_eq!(info.status, 200, "{}", info.body);

    let mut fac = a.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut pb = b.client().await;
    let wb = pb.join_ready(&room.room_id, "OnB").await;
    let mut pa = a.client().await;
    pa.join_ready(&room.room_id, "OnA").await;
    let _ = pb.barrier().await;
    let _ = fac.barrier().await;

    // Roster: the union of both instances, the same on each side.
    assert_eq!(wb.room.roster.len(), 2, "B's welcome lists A's facilitator");
    let ra = roster_ids(&pa.seen, &[]);
    assert!(ra.is_empty() || ra.len() <= 3);

    // 1,000 messages from both sides arrive on both sides in the same seq order.
    let n = 500;
    let sa = tokio::spawn(async move {
        for i in 0..n {
            pa.send(&ClientMsg::Chat {
                text: format!("a{i}"),
            })
            .await;
        }
        pa
    });
    let sb = tokio::spawn(async move {
        for i in 0..n {
            pb.send(&ClientMsg::Chat {
                text: format!("b{i}"),
            })
            .await;
        }
        pb
    });
    let mut pa = sa.await.unwrap();
    let mut pb = sb.await.unwrap();
    async fn collect(c: &mut Client, n: usize) -> Vec<(u64, String)> {
        let start = c.seen.len();
        {
            let mut got = 0;
            let deadline = Instant::now() + Duration::from_secs(30);
            while got < 2 * n && Instant::now() < deadline {
                if let Ok(ServerMsg::Event {
                    event: Event::Chat { .. },
                    ..
                }) = c.next_within(Duration::from_secs(5)).await
                {
                    got += 1;
                }
            }
            c.seen[start..]
                .iter()
                .filter_map(|m| match m {
                    ServerMsg::Event {
                        seq,
                        event: Event::Chat { message },
                        ..
                    } => Some((*seq, message.text.clone())),
                    _ => None,
                })
                .collect::<Vec<_>>()
        }
    }
    let on_a = collect(&mut pa, n).await;
    let on_b = collect(&mut pb, n).await;
    let on_f = collect(&mut fac, n).await;
    assert_eq!(on_a.len(), 2 * n, "A got every message once");
    assert_eq!(on_b.len(), 2 * n, "B got every message once");
    assert_eq!(on_a, on_b, "same messages in the same seq order on A and B");
    assert_eq!(on_a, on_f);
    // Each side's own messages stay in the order they were sent.
    let a_order: Vec<_> = on_a.iter().filter(|(_, t)| t.starts_with('a')).collect();
    for (i, (_, t)) in a_order.iter().enumerate() {
        assert_eq!(*t, format!("a{i}"));
    }

    // A timer started on A expires once, seen on both.
    fac.send(&ClientMsg::TimerStart {
        name: "Round".into(),
        duration_secs: 1,
    })
    .await;
    for c in [&mut pa, &mut pb] {
        c.recv_event(|e| matches!(e, Event::TimerExpired { .. }))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for c in [&mut pa, &mut pb] {
        let _ = c.barrier().await;
        let expired = events(&c.seen)
            .iter()
            .filter(|e| matches!(e, Event::TimerExpired { .. }))
            .count();
        assert_eq!(expired, 1, "exactly one timer_expired on each side");
    }

    // Highlights are the same everywhere.
    let msg_id = match events(&pb.seen).iter().rev().find_map(|e| match e {
        Event::Chat { message } => Some(message.id.clone()),
        _ => None,
    }) {
        Some(id) => id,
        None => panic!("no chat seen"),
    };
    fac.send(&ClientMsg::Highlight {
        tag: HighlightTag::Consensus,
        message_id: Some(msg_id.clone()),
        text: None,
    })
    .await;
    let (_, ha) = pa
        .recv_event(|e| matches!(e, Event::Highlight { .. }))
        .await;
    let (_, hb) = pb
        .recv_event(|e| matches!(e, Event::Highlight { .. }))
        .await;
    assert_eq!(ha, hb);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_instance_members_leave_and_resume_elsewhere() {
    let redis = Redis::start();
    let mut a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Failover").await;
    // The room is hosted on A (it was created there); people on both.
    let mut fac = b.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut on_a = a.client().await;
    let wa = on_a.join_ready(&room.room_id, "OnA").await;
    let mut on_b = b.client().await;
    on_b.join_ready(&room.room_id, "OnB").await;
    let _ = fac.barrier().await;
    let _ = on_a.barrier().await;
    let a_id = wa.you.member_id.clone();
    let you = on_a.me.clone().expect("joined");
    let (last, epoch) = (on_a.last_seq, on_a.epoch.clone());
    drop(on_a);

    let killed = Instant::now();
    a.kill_hard();
    // A's member vanishes from B's roster in time (one member_left, no ghost).
    let left = match on_b.wait_for(15, |m| {
        matches!(m, ServerMsg::Event { event: Event::MemberLeft { member_id, .. }, .. } if *member_id == a_id)
    })
    .await
    {
        ServerMsg::Event { event, .. } => event,
        _ => unreachable!(),
    };
    assert!(matches!(
        left,
        Event::MemberLeft {
            reason: LeaveReason::Disconnected,
            ..
        }
    ));
    eprintln!(
        "member left B's roster {:?} after the kill",
        killed.elapsed()
    );

    // Meanwhile the room goes on (hosted by B now).
    let mut missed = Vec::new();
    for i in 0..5 {
        let m = on_b.chat(&format!("while you were away {i}")).await;
        missed.push(m.text);
    }
    // A's member comes back through B with its resume token: exactly what it missed.
    let mut back = b.client().await;
    let (before, end) = back.resume(&room.room_id, "OnA", &you, last, &epoch).await;
    assert!(
        matches!(end, ServerMsg::Resumed { .. }),
        "expected resumed, got {end:?}"
    );
    assert_eq!(
        chat_texts(&before),
        missed,
        "every missed message, once, in order"
    );
    // And it is in the roster again, as itself.
    assert!(events(&before)
        .iter()
        .any(|e| matches!(e, Event::MemberJoined { member } if member.id == a_id)));
    let lefts = events(&on_b.seen)
        .iter()
        .filter(|e| matches!(e, Event::MemberLeft { member_id, .. } if *member_id == a_id))
        .count();
    assert_eq!(lefts, 1, "one leave event per change, no duplicates");
    back.chat("I'm back").await;
    on_b.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "I'm back"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_is_survived() {
    let mut redis = Redis::start();
    let a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Outage").await;
    let mut fac = a.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut pb = b.client().await;
    pb.join_ready(&room.room_id, "OnB").await;
    fac.chat("before").await;
    pb.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "before"))
        .await;

    redis.kill();
    // Members hear about it; readiness turns unhealthy; nobody crashes.
    let notice = pb
        .wait_for(
            15,
            |m| matches!(m, ServerMsg::Notice { code, .. } if code == "degraded"),
        )
        .await;
    eprintln!("member on B saw: {notice:?}");
    assert_eq!(b.get("/readyz").await.status, 503);
    assert_eq!(a.get("/healthz").await.status, 200);
    // The facilitator (on the hosting instance) keeps talking meanwhile.
    fac.chat("during the outage").await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    redis.restart();
    // Recovery without a restart: readiness, notice, fan-out.
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.get("/readyz").await.status != 200 {
        assert!(Instant::now() < deadline, "B never became ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pb.wait_for(
        15,
        |m| matches!(m, ServerMsg::Notice { code, .. } if code == "recovered"),
    )
    .await;
    // What was said during the outage arrives, then new messages flow both ways.
    pb.recv_event(|e| matches!(e, Event::Chat { message } if message.text == "during the outage"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        pb.send(&ClientMsg::Chat {
            text: "after".into(),
        })
        .await;
        let got = fac
            .try_recv(Duration::from_secs(1))
            .await
            .is_some_and(|m| matches!(m, ServerMsg::Event { event: Event::Chat { ref message }, .. } if message.text == "after"));
        if got {
            break;
        }
        if Instant::now() > deadline {
            let tail = |c: &Client| format!("{:#?}", &c.seen[c.seen.len().saturating_sub(8)..]);
            panic!(
                "messages did not flow after recovery\nB member saw: {}\nfacilitator saw: {}",
                tail(&pb),
                tail(&fac)
            );
        }
    }
    eprintln!(
        "member on B saw during the outage: {:?}",
        pb.seen
            .iter()
            .filter(|m| matches!(m, ServerMsg::Notice { .. }))
            .collect::<Vec<_>>()
    );
}

/// Recovery that tells the truth: when history is lost (Redis flushed, then
/// the hosting instance dies), a resuming client gets a fresh snapshot and an
/// explicit `history_reset`, never a silent gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_history_is_announced_with_history_reset() {
    let redis = Redis::start();
    let mut a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = a.group("Epochs").await;
    let mut fac = b.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut m = b.client().await;
    m.join_ready(&room.room_id, "Member").await;
    fac.chat("said before the flush").await;
    let _ = m.barrier().await;
    let (you, last, epoch) = (m.me.clone().unwrap(), m.last_seq, m.epoch.clone());
    drop(m);
    // Said while the member is away, then lost from history with the flush.
    fac.chat("said while you were away").await;

    // History is lost: Redis is flushed, then the hosting instance dies.
    let mut con = std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    std::io::Write::write_all(&mut con, b"FLUSHALL\r\n").unwrap();
    let mut buf = [0u8; 16];
    let _ = std::io::Read::read(&mut con, &mut buf);
    // Give A time to store the room again (its lease is renewed every 2 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    a.kill_hard();

    // B takes the room over (after A's lease lapses) and answers the resume.
    let mut back = b.client().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let w = loop {
        back.send(&ClientMsg::Join {
            v: PROTOCOL_VERSION,
            room_id: room.room_id.clone(),
            name: "Member".into(),
            facilitator_key: None,
            resume: Some(Resume {
                member_id: you.member_id.clone(),
                token: you.resume_token.clone(),
                last_seq: last,
                epoch: epoch.clone(),
            }),
            device_id: None,
        })
        .await;
        let end = back
            .wait_for(20, |m| {
                matches!(
                    m,
                    ServerMsg::Welcome { .. } | ServerMsg::Resumed { .. } | ServerMsg::Error { .. }
                )
            })
            .await;
        match end {
            ServerMsg::Welcome { .. } => break welcome_of(end),
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            } if Instant::now() < deadline => continue,
            other => panic!("expected a welcome with history_reset, got {other:?}"),
        }
    };
    assert!(w.history_reset, "history loss must be announced");
    assert!(
        w.room.seq > last,
        "the fresh snapshot is newer than what the client had"
    );
    assert_eq!(w.you.member_id, you.member_id, "still the same member");
}

/// Presence without ghosts: while members come and go on both instances,
/// one instance is killed; every member gets exactly alternating
/// joined/left events on the observer, and nobody who is gone stays listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_has_no_duplicates_or_ghosts_after_a_crash() {
    let redis = Redis::start();
    let mut a = instance(&redis, &[]).await;
    let b = instance(&redis, &[]).await;
    let room = b.group("Churn").await;
    let mut fac = b.client().await;
    let w = fac
        .join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut roster: Vec<String> = w.room.roster.iter().map(|m| m.id.clone()).collect();

    // Churn: members join and leave on both instances; some stay on A.
    let mut stay_on_a = Vec::new();
    let mut stay_on_b = Vec::new();
    for round in 0..6 {
        // Names differ per instance too: two people never share a name in a room.
        for (side, srv, list) in [("A", &a, &mut stay_on_a), ("B", &b, &mut stay_on_b)] {
            let mut c = srv.client().await;
            c.join(&room.room_id, &format!("M{round}{side}"), None)
                .await;
            if round % 2 == 0 {
                c.send(&ClientMsg::Leave).await;
            } else {
                list.push(c);
            }
        }
    }
    a.kill_hard();
    let on_a: Vec<String> = stay_on_a.iter().map(|c| c.member_id()).collect();
    drop(stay_on_a);

    // Wait until every member that was on A has left the roster (15 s bound).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut joined: std::collections::HashMap<String, Vec<bool>> = Default::default();
    while on_a
        .iter()
        .any(|id| joined.get(id).is_none_or(|v| v.last() != Some(&false)))
    {
        assert!(
            Instant::now() < deadline,
            "members of the dead instance still listed after 15 s"
        );
        if let Ok(ServerMsg::Event { event, .. }) =
            fac.next_within(Duration::from_millis(500)).await
        {
            match event {
                Event::MemberJoined { member } => {
                    joined.entry(member.id.clone()).or_default().push(true);
                    roster.push(member.id);
                }
                Event::MemberLeft { member_id, .. } => {
                    joined.entry(member_id.clone()).or_default().push(false);
                    roster.retain(|m| *m != member_id);
                }
                _ => {}
            }
        }
    }
    let _ = fac.barrier().await;
    for (id, changes) in &joined {
        for pair in changes.windows(2) {
            assert_ne!(
                pair[0], pair[1],
                "duplicate presence event for {id}: {changes:?}"
            );
        }
        assert_eq!(changes.first(), Some(&true), "{id} left before joining");
    }
    // No ghosts: the roster is exactly the facilitator and the live members on B.
    let mut expect: Vec<String> = stay_on_b.iter().map(|c| c.member_id()).collect();
    expect.push(w.you.member_id.clone());
    expect.sort();
    roster.sort();
    assert_eq!(roster, expect);
    // A fresh joiner sees the same roster.
    let mut late = b.client().await;
    let lw = late.join(&room.room_id, "Late", None).await;
    let mut fresh: Vec<String> = lw
        .room
        .roster
        .iter()
        .map(|m| m.id.clone())
        .filter(|id| *id != lw.you.member_id)
        .collect();
    fresh.sort();
    assert_eq!(fresh, expect);
}

/// Never unmoderated, across instances: the facilitator's instance dies; the
/// room (hosted elsewhere) pauses, posting is refused with `paused`, and when
/// the facilitator resumes on the other instance the room opens again. With a
/// co-facilitator present, the co-facilitator takes over instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_never_unmoderated_across_instances() {
    let redis = Redis::start();
    let grace = ["--facilitator-grace-secs", "1", "--grace-secs", "30"];
    let mut a = instance(&redis, &grace).await;
    let b = instance(&redis, &grace).await;

    // Room 1: the only facilitator is on A; the room is hosted on B.
    let room = b.group("Pause").await;
    let mut fac = a.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut p = b.client().await;
    p.join_ready(&room.room_id, "P").await;
    let _ = fac.barrier().await;
    let (you, last, epoch) = (fac.me.clone().unwrap(), fac.last_seq, fac.epoch.clone());

    // Room 2: facilitator on A, co-facilitator on B.
    let room2 = b.group("Takeover").await;
    let mut fac2 = a.client().await;
    fac2.join(&room2.room_id, "Fac2", Some(&room2.facilitator_key))
        .await;
    let mut co = b.client().await;
    let cw = co.join_ready(&room2.room_id, "Co").await;
    fac2.send(&ClientMsg::Promote {
        member_id: cw.you.member_id.clone(),
    })
    .await;
    co.recv_event(
        |e| matches!(e, Event::MemberUpdated { member } if member.role == Role::CoFacilitator),
    )
    .await;

    a.kill_hard();
    drop(fac);
    drop(fac2);

    // Room 1 pauses calmly; posting is refused with `paused`.
    p.wait_for(20, |m| {
        matches!(m, ServerMsg::Event { event: Event::RoomNotice { code, .. }, .. } if code == "paused")
    })
    .await;
    p.send(&ClientMsg::Chat {
        text: "anyone?".into(),
    })
    .await;
    p.expect_error(ErrorCode::Paused).await;

    // Room 2: the co-facilitator takes over (no pause).
    let m = co
        .wait_for(20, |m| {
            matches!(m, ServerMsg::Event { event: Event::RoomNotice { code, .. }, .. }
            if code == "facilitator_takeover" || code == "paused")
        })
        .await;
    assert!(
        matches!(&m, ServerMsg::Event { event: Event::RoomNotice { code, .. }, .. } if code == "facilitator_takeover"),
        "expected a takeover, got {m:?}"
    );
    co.send(&ClientMsg::TimerStart {
        name: "Round".into(),
        duration_secs: 60,
    })
    .await;
    co.recv_event(|e| matches!(e, Event::Timer { .. })).await;

    // The facilitator comes back through B: room 1 opens again.
    let mut back = b.client().await;
    back.send(&ClientMsg::Join {
        v: PROTOCOL_VERSION,
        room_id: room.room_id.clone(),
        name: "Fac".into(),
        facilitator_key: None,
        resume: Some(Resume {
            member_id: you.member_id.clone(),
            token: you.resume_token.clone(),
            last_seq: last,
            epoch,
        }),
        device_id: None,
    })
    .await;
    back.wait_for(20, |m| matches!(m, ServerMsg::Resumed { .. }))
        .await;
    p.wait_for(10, |m| {
        matches!(m, ServerMsg::Event { event: Event::RoomNotice { code, .. }, .. } if code == "resumed")
    })
    .await;
    p.chat("thank you for coming back").await;
}
