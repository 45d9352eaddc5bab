//! Joining: versions, names, keys, locks, capacity, the welcome and seq order.

use super::*;

#[test]
fn join_refuses_another_protocol_version() {
    let mut fx = Fx::new();
    let before = fx.state();
    for v in [0, PROTOCOL_VERSION + 1] {
        let r = fx.room.join(&ctx("c9"), v, "Sam", None, None, fx.now);
        assert_eq!(code(r), ErrorCode::VersionMismatch);
    }
    assert!(fx.out().is_empty());
    assert_eq!(fx.state(), before);
}

#[test]
fn join_checks_and_trims_display_names() {
    let mut fx = Fx::new();
    let too_long = "x".repeat(41);
    for bad in [
        "",
        "   ",
        "\t\n",
        too_long.as_str(),
        "Sa\u{0}m",
        "Sa\nm",
        "\u{7}bell",
        "x\u{1b}[31m",
    ] {
        fx.join_refused("c9", bad, None, None, ErrorCode::InvalidName);
    }
    let id = fx.add("c3", "  Sam  ");
    let m = fx.member("c3");
    assert_eq!((m.id.as_str(), m.name.as_str()), (id.as_str(), "Sam"));
    // The limit counts characters, not bytes; surrounding spaces do not count.
    let forty = "é".repeat(40);
    fx.add("c4", &format!(" {forty} "));
    assert_eq!(fx.member("c4").name, forty);
}

#[test]
fn facilitator_key_must_match() {
    let mut fx = Fx::with(group(), Limits::default(), &[]);
    fx.join_refused("f2", "Dr Two", Some("WRONG"), None, ErrorCode::Forbidden);
    fx.join_refused("f2", "Dr Two", Some(""), None, ErrorCode::Forbidden);
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    let (you, snap, reset) = fx.record("f2", &out);
    assert!(!reset);
    assert_eq!(you.role, Role::Facilitator);
    let me = snap.roster.iter().find(|m| m.id == you.member_id).unwrap();
    assert!(me.creator);
    assert_eq!(me.accepted_rules, snap.rules.version);
    // Participants get no creator flag.
    fx.add("c1", "Pat");
    let p = fx.member("c1");
    assert_eq!(
        (p.role, p.creator, p.accepted_rules),
        (Role::Participant, false, 0)
    );
}

#[test]
fn locked_room_refuses_participants_but_not_facilitators() {
    let mut fx = Fx::new();
    let out = fx.ok("f", ClientMsg::Lock { locked: true });
    assert!(info_of(&out).locked);
    fx.join_refused("c3", "Late", None, None, ErrorCode::RoomLocked);
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f2", &out);
    // Members already in can still resume.
    fx.disconnect("c1");
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    assert!(replies(&fx.out(), "c1b")
        .iter()
        .any(|m| matches!(m, ServerMsg::Resumed { .. })));
    let out = fx.ok("f", ClientMsg::Lock { locked: false });
    assert!(!info_of(&out).locked);
    fx.add("c3", "Late");
}

#[test]
fn full_room_refuses_participants() {
    let spec = CreateRoom {
        capacity: Some(3),
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &["c1", "c2"]);
    fx.join_refused("c3", "Third", None, None, ErrorCode::RoomFull);
    // A facilitator with the key is never kept out by capacity.
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f2", &out);
    // Someone leaving frees a seat.
    fx.ok("c1", ClientMsg::Leave);
    fx.ok("f2", ClientMsg::Leave);
    fx.add("c3", "Third");

    // Server-wide member limit applies even without a room capacity.
    let limits = Limits {
        max_members: 2,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["c1"]);
    fx.join_refused("c2", "Two", None, None, ErrorCode::RoomFull);
}

#[test]
fn people_in_the_waiting_room_count_towards_capacity() {
    let spec = CreateRoom {
        capacity: Some(2),
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "One", None, None).unwrap();
    fx.out();
    fx.join_refused("c2", "Two", None, None, ErrorCode::RoomFull);
}

#[test]
fn closed_room_refuses_every_join() {
    let mut fx = Fx::new();
    let out = fx.ok("f", ClientMsg::EndSession);
    assert_eq!(info_of(&out).status, RoomStatus::Closed);
    fx.join_refused("c3", "Late", None, None, ErrorCode::RoomClosed);
    fx.join_refused("f2", "Dr Two", Some(KEY), None, ErrorCode::RoomClosed);
    fx.disconnect("c1");
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_refused("c1b", "x", None, Some(&r), ErrorCode::RoomClosed);
}

#[test]
fn a_connection_joins_once() {
    let mut fx = Fx::new();
    fx.join_refused("c1", "Again", None, None, ErrorCode::AlreadyJoined);
    fx.join_refused("f", "Again", Some(KEY), None, ErrorCode::AlreadyJoined);
    fx.refuse(
        "c1",
        ClientMsg::Join {
            v: 1,
            room_id: "r1".into(),
            name: "Again".into(),
            facilitator_key: None,
            resume: None,
            device_id: None,
        },
        ErrorCode::AlreadyJoined,
    );
    // A connection waiting in the waiting room cannot join twice either.
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_raw("c3", "Wait", None, None).unwrap();
    fx.out();
    fx.join_refused("c3", "Wait", None, None, ErrorCode::AlreadyJoined);
}

#[test]
fn commands_before_joining_are_refused_not_joined() {
    let mut fx = Fx::new();
    fx.refuse("nobody", chat("hi"), ErrorCode::NotJoined);
    fx.refuse("nobody", ClientMsg::Ping { t: 1 }, ErrorCode::NotJoined);
    fx.refuse("nobody", ClientMsg::EndSession, ErrorCode::NotJoined);
}

#[test]
fn ping_is_answered_to_the_connection() {
    let mut fx = Fx::new();
    fx.now += 5;
    let out = fx.ok("c1", ClientMsg::Ping { t: 42 });
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Pong {
            t: 42,
            server_time: T0 + 5
        }]
    );
    assert!(events(&out).is_empty());
}

#[test]
fn welcome_carries_the_full_snapshot() {
    let mut fx = Fx::new();
    fx.post("c1", "hello everyone");
    fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("Breaks at 3".into()),
        },
    );
    fx.ok("c2", ClientMsg::RaiseHand);
    fx.now += 1234;
    fx.join_raw("c3", "Casey", None, None).unwrap();
    let out = fx.out();

    // Order: the member_joined event, then bind, then welcome to the connection.
    assert_eq!(kinds(&out), vec!["member_joined"]);
    let (aud, joined_seq, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    let pos_event = out
        .iter()
        .position(|o| {
            matches!(
                o,
                Out::Frame {
                    msg: ServerMsg::Event { .. },
                    ..
                }
            )
        })
        .unwrap();
    let pos_bind = out
        .iter()
        .position(|o| matches!(o, Out::Control(Control::Bind { .. })))
        .unwrap();
    let pos_welcome = out
        .iter()
        .position(|o| {
            matches!(
                o,
                Out::Frame {
                    msg: ServerMsg::Welcome { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert!(pos_event < pos_bind && pos_bind < pos_welcome);

    let (you, snap, reset) = fx.record("c3", &out);
    assert!(!reset);
    assert_eq!(you.member_id, member.id);
    assert_eq!(you.role, Role::Participant);
    assert_eq!(you.resume_token.len(), 32);
    assert!(matches!(
        replies(&out, "c3")[0],
        ServerMsg::Welcome { server_time, .. } if *server_time == T0 + 1234
    ));
    assert_eq!(&snap.info, fx.room.info());
    assert_eq!(snap.info.pinned.as_deref(), Some("Breaks at 3"));
    assert_eq!(snap.rules.version, 1);
    assert_eq!(snap.rules.rules, library::default_ground_rules());
    let roster: Vec<(&str, Role, bool)> = snap
        .roster
        .iter()
        .map(|m| (m.name.as_str(), m.role, m.online))
        .collect();
    assert_eq!(
        roster,
        vec![
            ("Dr Lead", Role::Facilitator, true),
            ("Member c1", Role::Participant, true),
            ("Member c2", Role::Participant, true),
            ("Casey", Role::Participant, true),
        ]
    );
    assert_eq!(snap.roster[3], *member);
    assert_eq!(member.accepted_rules, 0);
    // Issue 22 B.1: a newcomer gets no message sent before they arrived
    // ("hello everyone" was); see tests/history.rs.
    assert!(snap.messages.is_empty());
    assert_eq!(snap.next_before_seq, None);
    assert_eq!(fx.snapshot("c1").messages[0].text, "hello everyone");
    assert_eq!(snap.hands, vec![fx.id("c2")]);
    assert_eq!(snap.crisis_resources, library::default_crisis_resources());
    assert!(snap.waiting.is_empty() && snap.support_requests.is_empty());
    assert!(snap.personally_muted.is_empty());
    assert!(snap.timers.is_empty() && snap.energizer.is_none() && snap.energy_check.is_none());
    assert_eq!(snap.seq, joined_seq);
    assert_eq!(snap.seq, fx.room.seq());
    assert_eq!(snap.epoch, fx.room.epoch());
}

#[test]
fn member_joined_events_are_in_seq_order() {
    let mut fx = Fx::new();
    let mut seqs = vec![];
    for c in ["c3", "c4", "c5"] {
        let before = fx.room.seq();
        fx.join_raw(c, c, None, None).unwrap();
        let out = fx.out();
        let (_, seq, _) = one(&out, "member_joined");
        assert_eq!(seq, before + 1);
        let (_, snap, _) = fx.record(c, &out);
        assert_eq!(snap.seq, seq);
        // The newcomer's roster lists everyone who joined before it, in join order.
        assert_eq!(snap.roster.last().unwrap().name, c);
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn seq_is_strictly_increasing_across_all_output() {
    let mut fx = Fx::new();
    let mut all: Vec<Out> = vec![];
    let c1 = fx.id("c1");
    let msg = fx.post("c1", "first");
    all.extend(fx.ok(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "👍".into(),
        },
    ));
    all.extend(fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Round".into(),
            duration_secs: 5,
        },
    ));
    all.extend(fx.ok("c2", ClientMsg::SupportRequest { note: None }));
    all.extend(fx.ok("f", ClientMsg::OpenEnergyCheck));
    all.extend(fx.ok("f", ClientMsg::InviteToShare { member_id: c1 }));
    all.extend(fx.ok("c1", chat("second")));
    let t = fx.now + 5 * SEC;
    all.extend(fx.tick(t));
    all.extend(fx.disconnect("c2"));
    fx.join_raw("c3", "Three", None, None).unwrap();
    all.extend(fx.out());
    let seqs: Vec<u64> = events(&all).iter().map(|(_, s, _)| *s).collect();
    assert!(seqs.len() >= 9, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(*seqs.last().unwrap(), fx.room.seq());
    // A chat message carries the seq of the event that delivered it.
    for (_, seq, e) in events(&all) {
        if let Event::Chat { message } = e {
            assert_eq!(message.seq, seq);
        }
    }
}

#[test]
fn names_that_differ_only_by_case_spacing_or_look_alikes_are_taken() {
    let mut fx = Fx::new();
    fx.add("c3", "Paul");
    for same in [
        "member c1",
        "MEMBER C1",
        "Memberc1",
        "  Member   c1 ",
        "Member\u{3000}c1",  // ideographic space
        "Ｍember ｃ1",       // full-width letters (NFKC)
        "Member с1",         // Cyrillic es
        "Membеr c1",         // Cyrillic ie
        "Member c\u{200b}1", // zero-width space (ignorable)
        "Member cl",         // digit one and small L look alike
        "PauI",              // capital i and small L look alike
        "paul",
        "Dr Lead",        // the facilitator's name too
        "Dr \u{216c}ead", // Roman numeral fifty (NFKC: L)
    ] {
        fx.join_refused("c9", same, None, None, ErrorCode::NameTaken);
    }
    // Facilitators are no exception.
    fx.join_refused("f2", "dr lead", Some(KEY), None, ErrorCode::NameTaken);
    let r = fx.join_raw("c9", "member c1", None, None);
    assert!(r.unwrap_err().to_string().contains("choose another"));
    // Different names are fine.
    fx.add("c4", "Member c4");
    fx.add("c5", "Pauline");
    // The same member resuming keeps their name, whatever name the frame carries.
    fx.disconnect("c1");
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_raw("c1b", "Member c1", None, Some(&r)).unwrap();
    assert!(replies(&fx.out(), "c1b")
        .iter()
        .any(|m| matches!(m, ServerMsg::Resumed { .. })));
    // A member who left frees the name.
    fx.ok("c2", ClientMsg::Leave);
    fx.add("c6", "member C2");
    // Someone waiting in the waiting room holds their name too.
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_raw("w1", "Robin", None, None).unwrap();
    fx.out();
    fx.join_refused("w2", "ROBIN", None, None, ErrorCode::NameTaken);
}
