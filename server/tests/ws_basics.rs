//! Foundation tests over real WebSockets against a real `huddle` process:
//! ordering, isolation, input validation, permissions, HTTP, origin checks,
//! resume and metrics.

mod common;

use common::*;
use huddle_protocol::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// Generous limits so that ordering tests are not shaped by the rate limiter.
const FAST: &[&str] = &["--rate-per-sec", "1000", "--rate-burst", "1000"];

#[tokio::test]
async fn two_members_see_each_others_chat_in_the_same_order() {
    let server = Server::start_with(FAST).await;
    let (_room, mut a, mut ps) = room_with(&server, 1).await;
    let mut b = ps.remove(0);
    let (a_id, b_id) = (a.member_id(), b.member_id());

    const N: usize = 50;
    for i in 0..N {
        a.send(&ClientMsg::Chat {
            text: format!("a-{i}"),
        })
        .await;
        b.send(&ClientMsg::Chat {
            text: format!("b-{i}"),
        })
        .await;
    }

    let mut logs = Vec::new();
    for c in [&mut a, &mut b] {
        let mut log: Vec<(u64, String, String)> = Vec::new();
        for _ in 0..(4 * N) {
            if log.len() == 2 * N {
                break;
            }
            if let ServerMsg::Event {
                seq,
                event: Event::Chat { message },
                ..
            } = c.recv().await
            {
                assert_eq!(message.seq, seq, "chat message seq matches its event seq");
                log.push((seq, message.from.clone(), message.text.clone()));
            }
        }
        assert_eq!(log.len(), 2 * N, "[{}] received every message", c.name);
        logs.push(log);
    }
    assert_eq!(
        logs[0], logs[1],
        "both members see the same messages in the same order"
    );
    let log = &logs[0];
    assert!(
        log.windows(2).all(|w| w[0].0 < w[1].0),
        "seq strictly increases"
    );
    // Each sender's own messages keep the order they were sent in.
    for (id, prefix) in [(&a_id, "a-"), (&b_id, "b-")] {
        let mine: Vec<String> = log
            .iter()
            .filter(|(_, from, _)| from == id)
            .map(|(_, _, t)| t.clone())
            .collect();
        let want: Vec<String> = (0..N).map(|i| format!("{prefix}{i}")).collect();
        assert_eq!(mine, want);
    }
    // Nothing else was queued behind them.
    a.expect_silence(Duration::from_millis(200)).await;
    b.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_member_of_another_room_sees_nothing() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let other = server.group("Other room").await;
    let mut outsider = server.client().await;
    let w = outsider
        .join(&other.room_id, "Outsider", Some(&other.facilitator_key))
        .await;
    assert_eq!(w.room.roster.len(), 1);

    fac.chat("secret from room one").await;
    ps[0].chat("reply in room one").await;
    fac.send(&ClientMsg::TimerStart {
        name: "Round".into(),
        duration_secs: 60,
    })
    .await;
    fac.send(&ClientMsg::Pin {
        text: Some("pinned in room one".into()),
    })
    .await;
    fac.barrier().await;

    let leaked = outsider.barrier().await;
    assert!(leaked.is_empty(), "outsider received {leaked:?}");
    outsider.expect_silence(Duration::from_millis(300)).await;
    assert!(
        outsider
            .seen
            .iter()
            .all(|m| !format!("{m:?}").contains("room one")),
        "nothing of room one reached the outsider"
    );
}

/// Read the next frame: it must be an error with `code`; then prove the
/// connection still works with a ping. Returns the `refused` type.
async fn refused(c: &mut Client, code: ErrorCode) -> Option<String> {
    let m = c.recv().await;
    let ServerMsg::Error {
        code: got, refused, ..
    } = m
    else {
        panic!("expected error {code:?}, got {m:?}");
    };
    assert_eq!(got, code, "expected {code:?}");
    assert!(c.ping().await.is_empty(), "the connection still works");
    refused
}

fn join_msg(room_id: &str, name: &str, v: u32, key: Option<&str>) -> ClientMsg {
    ClientMsg::Join {
        v,
        room_id: room_id.into(),
        name: name.into(),
        facilitator_key: key.map(str::to_string),
        resume: None,
        device_id: None,
    }
}

#[tokio::test]
async fn bad_input_before_joining_gets_its_error_code_and_the_connection_keeps_working() {
    let server = Server::start().await;
    let room = server.group("Validation").await;
    let mut c = server.client().await;
    c.name = "validator".into();

    c.send_raw("this is not json").await;
    refused(&mut c, ErrorCode::BadJson).await;
    c.send_raw("[1,2,3]").await;
    refused(&mut c, ErrorCode::BadJson).await;
    c.send_raw(r#"{"type":"fly_to_the_moon"}"#).await;
    refused(&mut c, ErrorCode::UnknownType).await;
    c.send_raw(r#"{"type":"chat"}"#).await;
    refused(&mut c, ErrorCode::BadMessage).await;
    c.send_raw(r#"{"type":"chat","text":42}"#).await;
    refused(&mut c, ErrorCode::BadMessage).await;
    c.send_raw(r#"{"type":"join","v":1,"room_id":"x"}"#).await;
    refused(&mut c, ErrorCode::BadMessage).await;

    // Over the 16 KiB protocol limit but under the 64 KiB transport ceiling.
    let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(20 * 1024));
    c.send_raw(&big).await;
    refused(&mut c, ErrorCode::TooLarge).await;

    c.send_binary(vec![0, 1, 2, 3]).await;
    refused(&mut c, ErrorCode::BinaryNotSupported).await;

    c.send(&ClientMsg::Chat { text: "hi".into() }).await;
    assert_eq!(
        refused(&mut c, ErrorCode::NotJoined).await.as_deref(),
        Some("chat")
    );
    c.send(&ClientMsg::RaiseHand).await;
    refused(&mut c, ErrorCode::NotJoined).await;

    // Rooms that do not exist (decided before the join reaches any room).
    c.send(&join_msg(
        "00000000000000000000000000000000",
        "Sam",
        1,
        None,
    ))
    .await;
    assert_eq!(
        refused(&mut c, ErrorCode::RoomNotFound).await.as_deref(),
        Some("join")
    );
    c.send(&join_msg("../../etc/passwd", "Sam", 1, None)).await;
    refused(&mut c, ErrorCode::RoomNotFound).await;

    // After all that, a normal join works on the same connection.
    let w = c
        .join(&room.room_id, "Sam", Some(&room.facilitator_key))
        .await;
    assert_eq!(w.you.role, Role::Facilitator);
    c.send(&join_msg(&room.room_id, "Sam", 1, None)).await;
    refused(&mut c, ErrorCode::AlreadyJoined).await;
    c.chat("joined fine").await;
}

#[tokio::test]
async fn refused_joins_get_their_error_codes() {
    let server = Server::start().await;
    let room = server.group("Validation").await;
    let long = "n".repeat(10 * 1024);
    for (name, v, key, code) in [
        ("Sam", 2, None, ErrorCode::VersionMismatch),
        ("Sam", 0, None, ErrorCode::VersionMismatch),
        ("bell\u{7}name", 1, None, ErrorCode::InvalidName),
        ("line\nbreak", 1, None, ErrorCode::InvalidName),
        ("nul\u{0}", 1, None, ErrorCode::InvalidName),
        (long.as_str(), 1, None, ErrorCode::InvalidName),
        ("   ", 1, None, ErrorCode::InvalidName),
        ("Sam", 1, Some("not-the-key"), ErrorCode::Forbidden),
    ] {
        let mut c = server.client().await;
        c.send(&join_msg(&room.room_id, name, v, key)).await;
        let r = refused(&mut c, code).await;
        assert_eq!(r.as_deref(), Some("join"));
    }
    // Nobody got in (counts are for members: a new member sees the roster).
    let w = server
        .client()
        .await
        .join(&room.room_id, "Check", None)
        .await;
    assert_eq!(w.room.roster.len(), 1, "{:?}", w.room.roster);
}

#[tokio::test]
async fn a_refused_join_can_be_corrected_on_the_same_connection() {
    let server = Server::start().await;
    let room = server.group("Validation").await;
    let mut c = server.client().await;
    c.send(&join_msg(&room.room_id, "Sam", 2, None)).await;
    refused(&mut c, ErrorCode::VersionMismatch).await;
    c.send(&join_msg(&room.room_id, "bell\u{7}", 1, None)).await;
    refused(&mut c, ErrorCode::InvalidName).await;
    c.send(&join_msg(&room.room_id, "Sam", 1, Some("wrong")))
        .await;
    refused(&mut c, ErrorCode::Forbidden).await;
    let w = c.join(&room.room_id, "Sam", None).await;
    assert_eq!(w.you.role, Role::Participant);
}

#[tokio::test]
async fn bad_input_in_a_room_gets_its_error_code_and_the_member_keeps_working() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let p = &mut ps[0];

    // Text over 2000 characters is too large; exactly 2000 is fine.
    p.send(&ClientMsg::Chat {
        text: "y".repeat(2001),
    })
    .await;
    assert_eq!(
        refused(p, ErrorCode::TooLarge).await.as_deref(),
        Some("chat")
    );
    let max = p.chat(&"z".repeat(2000)).await;
    assert_eq!(max.text.chars().count(), 2000);

    let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(20 * 1024));
    p.send_raw(&big).await;
    refused(p, ErrorCode::TooLarge).await;
    p.send_raw("{").await;
    refused(p, ErrorCode::BadJson).await;
    p.send_raw(r#"{"type":"warp"}"#).await;
    refused(p, ErrorCode::UnknownType).await;
    p.send_raw(r#"{"type":"react","message_id":1}"#).await;
    refused(p, ErrorCode::BadMessage).await;
    p.send_binary(vec![9; 10]).await;
    refused(p, ErrorCode::BinaryNotSupported).await;
    p.send(&ClientMsg::Chat { text: "   ".into() }).await;
    refused(p, ErrorCode::Invalid).await;
    p.send(&join_msg("whatever", "Sam", 1, None)).await;
    refused(p, ErrorCode::AlreadyJoined).await;

    // The others heard none of it except the one valid message.
    let f = fac.barrier().await;
    assert_eq!(chat_texts(&f), vec!["z".repeat(2000)], "{f:?}");
    // And the member can still talk.
    let m = p.chat("still here").await;
    assert_eq!(m.text, "still here");
}

#[tokio::test]
async fn a_frame_over_the_transport_ceiling_closes_only_that_connection() {
    let server = Server::start().await;
    let (_room, mut fac, mut ps) = room_with(&server, 1).await;
    let huge = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(100 * 1024));
    ps[0].send_raw(&huge).await;
    let code = ps[0].expect_close().await;
    assert!(code.is_none() || code == Some(1009), "closed with {code:?}");
    // The room and the other member are unaffected.
    fac.chat("still fine").await;
}

/// One sample of every client message type, aimed at `target` where an id is needed.
fn sample_of_every_type(target: &str) -> Vec<ClientMsg> {
    let id = || "000000000000".to_string();
    vec![
        ClientMsg::Join {
            v: 1,
            room_id: id(),
            name: "x".into(),
            facilitator_key: None,
            resume: None,
            device_id: None,
        },
        ClientMsg::Leave,
        ClientMsg::Ping { t: 1 },
        ClientMsg::Chat { text: "x".into() },
        ClientMsg::React {
            message_id: id(),
            emoji: "+1".into(),
        },
        ClientMsg::AcceptRules { version: 1 },
        ClientMsg::RaiseHand,
        ClientMsg::LowerHand { member_id: None },
        ClientMsg::AnswerEnergizer {
            run_id: id(),
            text: "x".into(),
        },
        ClientMsg::Agree { highlight_id: id() },
        ClientMsg::Unagree { highlight_id: id() },
        ClientMsg::EnergyAnswer {
            check_id: id(),
            level: 3,
        },
        ClientMsg::SupportRequest { note: None },
        ClientMsg::Distress,
        ClientMsg::DeclineShare { invite_id: id() },
        ClientMsg::PersonalMute {
            member_id: target.into(),
        },
        ClientMsg::PersonalUnmute {
            member_id: target.into(),
        },
        ClientMsg::Park {
            message_id: None,
            text: Some("x".into()),
        },
        ClientMsg::ListEnergizers,
        ClientMsg::HistoryBefore {
            before_seq: 1,
            limit: 1,
        },
        ClientMsg::RosterPage {
            after: None,
            limit: 1,
        },
        // -- facilitators only --
        ClientMsg::SetGroundRules {
            rules: vec!["Be kind".into()],
        },
        ClientMsg::ShowGroundRules,
        ClientMsg::SetWelcome {
            text: Some("Welcome".into()),
        },
        ClientMsg::CallOn {
            member_id: target.into(),
        },
        ClientMsg::TimerStart {
            name: "t".into(),
            duration_secs: 60,
        },
        ClientMsg::TimerPause { timer_id: id() },
        ClientMsg::TimerResume { timer_id: id() },
        ClientMsg::TimerExtend {
            timer_id: id(),
            secs: 30,
        },
        ClientMsg::TimerCancel { timer_id: id() },
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: Some(60),
        },
        ClientMsg::CloseEnergizer { run_id: id() },
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("x".into()),
        },
        ClientMsg::EditHighlight {
            highlight_id: id(),
            tag: None,
            text: Some("y".into()),
        },
        ClientMsg::RemoveHighlight { highlight_id: id() },
        ClientMsg::OpenEnergyCheck,
        ClientMsg::CloseEnergyCheck { check_id: id() },
        ClientMsg::Mute {
            member_id: target.into(),
        },
        ClientMsg::Unmute {
            member_id: target.into(),
        },
        ClientMsg::Remove {
            member_id: target.into(),
        },
        ClientMsg::SlowMode { secs: 30 },
        ClientMsg::Lock { locked: true },
        ClientMsg::DeleteMessage { message_id: id() },
        ClientMsg::Pin {
            text: Some("x".into()),
        },
        ClientMsg::Promote {
            member_id: target.into(),
        },
        ClientMsg::Demote {
            member_id: target.into(),
        },
        ClientMsg::HandOver {
            member_id: target.into(),
        },
        ClientMsg::SetWaitingRoom { enabled: true },
        ClientMsg::Admit { member_id: id() },
        ClientMsg::Decline { member_id: id() },
        ClientMsg::OpenOneOnOne { request_id: id() },
        ClientMsg::InviteToShare {
            member_id: target.into(),
        },
        ClientMsg::AllowParking { enabled: true },
        ClientMsg::Unpark { item_id: id() },
        ClientMsg::Airtime,
        ClientMsg::ExtendSession { minutes: 10 },
        ClientMsg::EndSession,
        ClientMsg::RotateKey,
        ClientMsg::SetShareHistory { enabled: true },
        ClientMsg::JoinCall {
            mic: false,
            camera: false,
        },
        ClientMsg::LeaveCall,
        ClientMsg::Signal {
            to: target.into(),
            data: serde_json::json!({"description": {"type": "offer", "sdp": "v=0"}}),
        },
        ClientMsg::MediaState {
            mic: false,
            camera: false,
            speaking: false,
        },
        ClientMsg::SetCall {
            mode: huddle_protocol::CallMode::Video,
        },
        ClientMsg::MuteMedia {
            member_id: target.into(),
        },
        ClientMsg::StopVideo {
            member_id: target.into(),
        },
        ClientMsg::MuteAll,
        ClientMsg::GiveFloor {
            member_id: Some(target.into()),
        },
        ClientMsg::AckAlert { alert_id: id() },
        ClientMsg::OpenAlertRoom { alert_id: id() },
    ]
}

#[tokio::test]
async fn a_participant_is_refused_every_facilitator_command() {
    // 40+ commands in a quick row: lift the rate limit, it is not under test here.
    let server = Server::start_with(FAST).await;
    let (room, mut fac, mut ps) = room_with(&server, 2).await;
    let mut p2 = ps.pop().unwrap();
    let mut p = ps.pop().unwrap();
    let target = p2.member_id();

    let all = sample_of_every_type(&target);
    // The samples cover every type of the protocol, so none is forgotten.
    let names: BTreeSet<&str> = all.iter().map(ClientMsg::type_name).collect();
    let known: BTreeSet<&str> = KNOWN_CLIENT_TYPES.iter().copied().collect();
    assert_eq!(names, known, "one sample per client message type");
    let fac_only: Vec<ClientMsg> = all.into_iter().filter(|m| m.facilitator_only()).collect();
    assert!(
        fac_only.len() >= 30,
        "{} facilitator-only types",
        fac_only.len()
    );

    for m in &fac_only {
        p.send(m).await;
        match p.recv().await {
            ServerMsg::Error { code, refused, .. } => {
                assert_eq!(code, ErrorCode::Forbidden, "{}", m.type_name());
                assert_eq!(refused.as_deref(), Some(m.type_name()));
            }
            other => panic!("{} was not refused: {other:?}", m.type_name()),
        }
    }
    // Participants may not park unless allowed, nor lower someone else's hand.
    p.send(&ClientMsg::Park {
        message_id: None,
        text: Some("x".into()),
    })
    .await;
    p.expect_error(ErrorCode::Forbidden).await;
    p.send(&ClientMsg::LowerHand {
        member_id: Some(target.clone()),
    })
    .await;
    p.expect_error(ErrorCode::Forbidden).await;

    // Nobody else heard anything from those attempts.
    let f = fac.barrier().await;
    assert!(f.is_empty(), "facilitator received {f:?}");
    let o = p2.barrier().await;
    assert!(o.is_empty(), "other participant received {o:?}");
    // The participant is still a participant in an unchanged room (as a
    // newcomer's welcome shows it).
    let w = server
        .client()
        .await
        .join(&room.room_id, "Check", None)
        .await;
    let info = &w.room.info;
    assert_eq!(info.status, RoomStatus::Open);
    assert!(!info.locked);
    assert_eq!(info.slow_mode_secs, 0);
    assert_eq!(info.pinned, None);
    assert_eq!(w.room.roster.len(), 4);
    p.chat("I can still chat").await;
}

fn assert_security_headers(r: &HttpResponse, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: CSP {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

#[tokio::test]
async fn http_api_health_and_security_headers() {
    let server = Server::start().await;

    // Bad bodies: 400 with a JSON error code.
    for (body, ct, code) in [
        ("not json", "application/json", "bad_message"),
        (r#"{"kind":"group"}"#, "application/json", "bad_message"),
        (
            r#"{"title":"x","kind":"party"}"#,
            "application/json",
            "bad_message",
        ),
        (r#"{"title":"x"}"#, "text/plain", "bad_message"),
        (r#"{"title":"   "}"#, "application/json", "invalid"),
        (
            r#"{"title":"x","capacity":0}"#,
            "application/json",
            "invalid",
        ),
        (
            r#"{"title":"x","starts_at":2000,"ends_at":1000}"#,
            "application/json",
            "invalid",
        ),
        // A bidi override or a control character in the title (issue 22 B.4).
        (
            "{\"title\":\"Peer \u{202E}elcric\"}",
            "application/json",
            "invalid_text",
        ),
        (
            r#"{"title":"Peer\u0007circle"}"#,
            "application/json",
            "invalid_text",
        ),
    ] {
        let r = server
            .http("POST", "/api/rooms", &[("Content-Type", ct)], Some(body))
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let v: serde_json::Value = r.json();
        assert_eq!(v["code"], code, "{body}");
        assert!(v["message"].is_string());
        assert_security_headers(&r, "POST /api/rooms (bad)");
    }

    // A good room, then its public info.
    let body = r#"{"title":"Peer circle","kind":"group"}"#;
    let r = server.post_json("/api/rooms", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_security_headers(&r, "POST /api/rooms");
    let created: RoomCreated = r.json();
    assert!(created.join_link.contains(&created.room_id));
    assert!(created.facilitator_link.contains(&created.facilitator_key));
    let r = server.get(&format!("/api/rooms/{}", created.room_id)).await;
    assert_eq!(r.status, 200);
    assert_security_headers(&r, "GET /api/rooms/{id}");
    assert!(
        !r.body.contains(&created.facilitator_key),
        "public info never shows the key"
    );
    // What a passer-by needs (security_transport checks the whole shape).
    let info: serde_json::Value = r.json();
    assert_eq!(info["id"], created.room_id.as_str());
    assert_eq!(info["title"], "Peer circle");
    assert_eq!(info["kind"], "group");
    assert_eq!(info["full"], false);
    assert!(info.get("member_count").is_none(), "{info}");
    let r = server.get("/api/rooms/nosuchroom").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json::<serde_json::Value>()["code"], "room_not_found");

    let r = server.get("/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    assert_security_headers(&r, "/healthz");
    let r = server.get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_security_headers(&r, "/readyz");

    let index = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/index.html");
    let r = server.get("/").await;
    assert_security_headers(&r, "/");
    if index.exists() {
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{:?}",
            r.header("content-type")
        );
        assert!(r.body.to_ascii_lowercase().contains("<html"));
    }
    let r = server.get("/no/such/file.js").await;
    assert_eq!(r.status, 404);
    assert_security_headers(&r, "404");
}

#[tokio::test]
async fn websocket_upgrade_checks_the_origin() {
    let server = Server::start().await;
    let room = server.group("Origins").await;

    for foreign in [
        "http://evil.example".to_string(),
        format!("http://{}.evil.example", server.addr),
        "null".to_string(),
    ] {
        match Client::connect_url(&server.ws_url(), Some(&foreign)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), 403, "origin {foreign}")
            }
            Err(e) => panic!("origin {foreign}: unexpected error {e}"),
            Ok(_) => panic!("origin {foreign} was accepted"),
        }
    }

    let mut same = Client::connect_url(&server.ws_url(), Some(&server.origin()))
        .await
        .expect("same-origin upgrade accepted");
    same.join(&room.room_id, "Same", Some(&room.facilitator_key))
        .await;
    let mut none = Client::connect_url(&server.ws_url(), None)
        .await
        .expect("no Origin (non-browser) accepted");
    none.join_ready(&room.room_id, "NoOrigin").await;
    none.chat("hello").await;
    let m = server.metrics().await;
    assert_eq!(m["huddle_connections_refused_total"], 3);
}

#[tokio::test]
async fn resume_replays_exactly_what_was_missed() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);
    p.chat("before the drop").await;
    fac.recv_event(|e| matches!(e, Event::Chat { .. })).await;

    let you = p.me.clone().unwrap();
    let last_seq = p.last_seq;
    let epoch = p.epoch.clone();
    let p_id = you.member_id.clone();
    p.drop_socket();

    // The facilitator sees the member go offline (but stay in the roster).
    fac.recv_member_update(&p_id, |m| !m.online).await;
    let sent: Vec<String> = (1..=5).map(|i| format!("missed {i}")).collect();
    for t in &sent {
        fac.chat(t).await;
    }

    let mut back = server.client().await;
    let (replayed, resumed) = back
        .resume(&room.room_id, "P1", &you, last_seq, &epoch)
        .await;
    let ServerMsg::Resumed {
        you: you2,
        from_seq,
        to_seq,
        ..
    } = resumed
    else {
        panic!("expected resumed, got {resumed:?}");
    };
    assert_eq!(you2.member_id, p_id, "same member");
    assert_ne!(you2.resume_token, you.resume_token, "token rotates");
    assert_eq!(from_seq, last_seq);
    assert_eq!(chat_texts(&replayed), sent, "exactly the missed chats");
    let seqs: Vec<u64> = replayed
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Event { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert!(seqs.iter().all(|s| *s > last_seq), "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(seqs.last().copied(), Some(to_seq));
    assert!(
        replayed
            .iter()
            .all(|m| matches!(m, ServerMsg::Event { .. })),
        "only events before resumed: {replayed:?}"
    );

    // Live again: the member posts and is seen; no duplicates arrive later.
    let m = back.chat("I'm back").await;
    fac.recv_event(|e| matches!(e, Event::Chat { message } if message.id == m.id))
        .await;
    let later = back.barrier().await;
    assert!(
        chat_texts(&later).is_empty(),
        "no duplicate chats: {later:?}"
    );

    // The used token is spent; a wrong token is refused; the connection survives.
    for token in [you.resume_token.clone(), "0".repeat(32)] {
        let mut bad = server.client().await;
        bad.send(&ClientMsg::Join {
            v: PROTOCOL_VERSION,
            room_id: room.room_id.clone(),
            name: "P1".into(),
            facilitator_key: None,
            resume: Some(Resume {
                member_id: p_id.clone(),
                token,
                last_seq,
                epoch: epoch.clone(),
            }),
            device_id: None,
        })
        .await;
        bad.expect_error(ErrorCode::BadResume).await;
        assert!(bad.ping().await.is_empty());
    }
    // The real member is unaffected.
    back.chat("still me").await;
}

#[tokio::test]
async fn resume_from_a_stale_epoch_gets_a_fresh_welcome() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 1).await;
    let p = ps.remove(0);
    let you = p.me.clone().unwrap();
    let last = p.last_seq;
    p.drop_socket();
    fac.chat("while away").await;
    let mut back = server.client().await;
    let (_, m) = back
        .resume(&room.room_id, "P1", &you, last, "not-the-epoch")
        .await;
    let w = welcome_of(m);
    assert!(w.history_reset);
    assert_eq!(w.you.member_id, you.member_id);
    assert!(w.room.messages.iter().any(|m| m.text == "while away"));
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let server = Server::start().await;
    let m0 = server.metrics().await;
    for k in [
        "huddle_connections",
        "huddle_connections_total",
        "huddle_messages_in_total",
        "huddle_errors_sent_total",
        "huddle_rooms",
        "huddle_connections_refused_total",
    ] {
        assert_eq!(m0.get(k), Some(&0), "{k} starts at 0: {m0:?}");
    }
    let room = server.group("Counted").await;

    let mut a = server.client().await;
    a.send_raw("nope").await; // 1 in, 1 error
    a.expect_error(ErrorCode::BadJson).await;
    a.send_raw(r#"{"type":"fly"}"#).await; // 2 in, 2 errors
    a.expect_error(ErrorCode::UnknownType).await;
    a.send(&ClientMsg::Chat { text: "x".into() }).await; // 3 in, 3 errors
    a.expect_error(ErrorCode::NotJoined).await;
    a.ping().await; // 4 in
    a.join(&room.room_id, "A", Some(&room.facilitator_key))
        .await; // 5 in
    a.chat("counted").await; // 6 in

    let mut b = server.client().await;
    b.join(&room.room_id, "B", None).await; // 7 in
    b.send_raw(r#"{"type":"chat"}"#).await; // 8 in, 4 errors
    b.expect_error(ErrorCode::BadMessage).await;

    let _ = Client::connect_url(&server.ws_url(), Some("http://evil.example")).await;

    let m = server.metrics().await;
    assert_eq!(m["huddle_connections"], 2, "{m:?}");
    assert_eq!(m["huddle_connections_total"], 2, "{m:?}");
    assert_eq!(m["huddle_rooms"], 1, "{m:?}");
    assert_eq!(m["huddle_messages_in_total"], 8, "{m:?}");
    assert_eq!(m["huddle_errors_sent_total"], 4, "{m:?}");
    assert_eq!(m["huddle_connections_refused_total"], 1, "{m:?}");
    assert_eq!(m["huddle_rate_limited_total"], 0, "{m:?}");
    assert_eq!(m["huddle_slow_consumers_dropped_total"], 0, "{m:?}");
    assert!(m["huddle_frames_out_total"] > 0, "{m:?}");

    // Closing both connections brings the gauge back to zero.
    a.close().await;
    b.close().await;
    let mut conns = -1;
    for _ in 0..50 {
        conns = server.metrics().await["huddle_connections"];
        if conns == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(conns, 0);
    assert_eq!(server.metrics().await["huddle_connections_total"], 2);
}

#[tokio::test]
async fn metrics_count_error_frames_refused_by_the_room() {
    let server = Server::start().await;
    let (_room, _fac, mut ps) = room_with(&server, 1).await;
    let before = server.metrics().await["huddle_errors_sent_total"];
    // Three refusals that only the room can decide.
    ps[0].send(&ClientMsg::Lock { locked: true }).await;
    ps[0].expect_error(ErrorCode::Forbidden).await;
    ps[0]
        .send(&ClientMsg::Chat {
            text: "y".repeat(2001),
        })
        .await;
    ps[0].expect_error(ErrorCode::TooLarge).await;
    ps[0]
        .send(&ClientMsg::Agree {
            highlight_id: "nope".into(),
        })
        .await;
    ps[0].expect_error(ErrorCode::NotFound).await;
    let after = server.metrics().await["huddle_errors_sent_total"];
    assert_eq!(
        after - before,
        3,
        "huddle_errors_sent_total counts every error frame sent to clients"
    );
}

#[tokio::test]
async fn a_room_is_joinable_as_soon_as_it_is_created() {
    let server = Server::start_with(&["--create-rate-per-min", "0"]).await;
    let mut missing = Vec::new();
    for i in 0..300 {
        let body = format!(r#"{{"title":"Room {i}"}}"#);
        let r = server.post_json("/api/rooms", &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let created: RoomCreated = r.json();
        let g = server.get(&format!("/api/rooms/{}", created.room_id)).await;
        if g.status != 200 {
            missing.push((i, g.status));
        }
    }
    assert!(
        missing.is_empty(),
        "rooms not found right after creation: {missing:?}"
    );
    // The same race seen from a WebSocket join.
    let mut refused = 0;
    for i in 0..300 {
        let body = format!(r#"{{"title":"Join {i}"}}"#);
        let created: RoomCreated = server.post_json("/api/rooms", &body).await.json();
        let mut c = server.client().await;
        let m = c.join_raw(&created.room_id, "Sam", None, None).await;
        if matches!(m, ServerMsg::Error { .. }) {
            refused += 1;
        }
    }
    assert_eq!(refused, 0, "joins refused right after creation");
}

#[tokio::test]
async fn leaving_tells_the_room_and_joining_again_needs_a_new_connection() {
    let server = Server::start().await;
    let (room, mut fac, mut ps) = room_with(&server, 1).await;
    let mut p = ps.remove(0);
    let p_id = p.member_id();
    p.send(&ClientMsg::Leave).await;
    let (_, e) = fac
        .recv_event(|e| matches!(e, Event::MemberLeft { member_id, .. } if *member_id == p_id))
        .await;
    assert!(matches!(
        e,
        Event::MemberLeft {
            reason: LeaveReason::Left,
            ..
        }
    ));
    // Not in the room any more, but the connection is still usable.
    assert!(p
        .ping()
        .await
        .iter()
        .all(|m| !matches!(m, ServerMsg::Error { .. })));
    p.send(&ClientMsg::Chat { text: "hi".into() }).await;
    p.expect_error(ErrorCode::NotJoined).await;
    // One join per connection (issue 22 A.1): a new one joins again.
    p.send(&join_msg(&room.room_id, "P1 again", 1, None)).await;
    assert_eq!(
        refused(&mut p, ErrorCode::AlreadyJoined).await.as_deref(),
        Some("join")
    );
    let mut p = server.client().await;
    let w = p.join(&room.room_id, "P1 again", None).await;
    assert_ne!(w.you.member_id, p_id, "a new member after leaving");
    fac.recv_event(|e| matches!(e, Event::MemberJoined { member } if member.name == "P1 again"))
        .await;
}

#[tokio::test]
async fn the_rate_limit_refuses_floods_then_closes_abusers() {
    let server = Server::start_with(&[
        "--rate-per-sec",
        "1",
        "--rate-burst",
        "5",
        "--abuse-close-after",
        "10",
    ])
    .await;
    let mut c = server.client().await;
    c.name = "flooder".into();
    for t in 0..8u64 {
        c.send(&ClientMsg::Ping { t }).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    for _ in 0..8 {
        match c.recv().await {
            ServerMsg::Pong { .. } => pongs += 1,
            ServerMsg::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((5..=6).contains(&pongs), "{pongs} pongs");
    assert_eq!(pongs + limited, 8);
    // Keep flooding: the connection is closed with 1008.
    for t in 0..20u64 {
        if !c
            .try_send_raw(&format!(r#"{{"type":"ping","t":{t}}}"#))
            .await
        {
            break;
        }
    }
    assert_eq!(c.expect_close().await, Some(1008));
    let m = server.metrics().await;
    assert!(m["huddle_rate_limited_total"] >= 10, "{m:?}");
    // Others are unaffected.
    let mut d = server.client().await;
    assert!(d.ping().await.is_empty());
}
