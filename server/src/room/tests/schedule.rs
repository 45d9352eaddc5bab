//! Schedule: lobby before the start, warnings, extending and ending the session; deadlines.

use super::*;

#[test]
fn scheduled_room_keeps_participants_in_the_lobby_until_the_start() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    assert_eq!(fx.status(), RoomStatus::Scheduled);
    fx.join_raw("c1", "Early", None, None).unwrap();
    let out = fx.out();
    assert!(
        events(&out).is_empty(),
        "no member_joined while in the lobby"
    );
    assert!(binds(&out).is_empty());
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Lobby {
            room_id: "r1".into(),
            starts_at: T0 + 10 * MIN
        }]
    );
    fx.refuse("c1", chat("hi"), ErrorCode::NotJoined);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * MIN));
    // Another early bird who gives up leaves no trace.
    fx.join_raw("c2", "Gone", None, None).unwrap();
    fx.out();
    assert!(fx.disconnect("c2").is_empty());

    assert!(fx.tick(T0 + 10 * MIN - 1).is_empty());
    let out = fx.tick(T0 + 10 * MIN);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    let (_, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(member.name, "Early");
    let (you, snap, _) = fx.record("c1", &out);
    assert_eq!(you.member_id, member.id);
    assert_eq!(snap.info.status, RoomStatus::Open);
    assert_eq!(snap.roster.len(), 2);
    // Now c1 may post after accepting the rules.
    fx.ok("c1", ClientMsg::AcceptRules { version: 1 });
    fx.post("c1", "hello");
    // Joins after the start are admitted at once.
    fx.add("c3", "Late");
}

#[test]
fn facilitator_may_post_before_the_start() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    fx.post("f", "setting up");
    fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("Welcome".into()),
        },
    );
}

#[test]
fn session_warnings_fire_once_each() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let end = T0 + 70 * MIN;
    fx.tick(T0 + 10 * MIN);
    assert_eq!(fx.room.next_deadline(), Some(end - 5 * MIN));
    assert!(fx.tick(end - 5 * MIN - 1).is_empty());
    let out = fx.tick(end - 5 * MIN);
    let (
        aud,
        _,
        Event::SessionWarning {
            minutes_left,
            ends_at,
        },
    ) = one(&out, "session_warning")
    else {
        unreachable!()
    };
    assert_eq!((aud, *minutes_left, *ends_at), (&Audience::All, 5, end));
    assert_eq!(fx.room.next_deadline(), Some(end - MIN));
    assert!(fx.tick(end - 4 * MIN).is_empty());
    assert!(fx.tick(end - 2 * MIN).is_empty());
    let out = fx.tick(end - MIN + 10);
    let (_, _, Event::SessionWarning { minutes_left, .. }) = one(&out, "session_warning") else {
        unreachable!()
    };
    assert_eq!(*minutes_left, 1);
    assert_eq!(fx.room.next_deadline(), Some(end));
    assert!(fx.tick(end - 30 * SEC).is_empty());
    assert_eq!(fx.status(), RoomStatus::Open);
}

#[test]
fn a_late_tick_gives_only_the_one_minute_warning() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let end = T0 + 70 * MIN;
    fx.tick(T0 + 10 * MIN);
    let out = fx.tick(end - 30 * SEC);
    let w = all_of(&out, "session_warning");
    assert_eq!(w.len(), 1);
    assert!(matches!(
        w[0].2,
        Event::SessionWarning {
            minutes_left: 1,
            ..
        }
    ));
    assert!(fx.tick(end - 20 * SEC).is_empty());
}

#[test]
fn extend_session_moves_the_end_and_rearms_warnings() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let end = T0 + 70 * MIN;
    fx.tick(T0 + 10 * MIN);
    fx.tick(end - 5 * MIN);
    fx.now = end - 4 * MIN;
    let out = fx.ok("f", ClientMsg::ExtendSession { minutes: 10 });
    let new_end = end + 10 * MIN;
    assert_eq!(info_of(&out).ends_at, Some(new_end));
    assert_eq!(fx.room.next_deadline(), Some(new_end - 5 * MIN));
    assert!(fx.tick(end).is_empty());
    assert_eq!(fx.status(), RoomStatus::Open);
    let out = fx.tick(new_end - 5 * MIN);
    assert!(matches!(
        one(&out, "session_warning").2,
        Event::SessionWarning { minutes_left: 5, ends_at } if *ends_at == new_end
    ));
    assert_eq!(kinds(&fx.tick(new_end - MIN)), vec!["session_warning"]);
    fx.ok("f", ClientMsg::EndSession);

    fx.refuse(
        "f",
        ClientMsg::ExtendSession { minutes: 5 },
        ErrorCode::RoomClosed,
    );
    let mut fx = Fx::new();
    fx.refuse(
        "f",
        ClientMsg::ExtendSession { minutes: 0 },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::ExtendSession { minutes: 241 },
        ErrorCode::Invalid,
    );
    // A room without an end gets one.
    let out = fx.ok("f", ClientMsg::ExtendSession { minutes: 30 });
    assert_eq!(info_of(&out).ends_at, Some(T0 + 30 * MIN));
}

#[test]
fn the_session_ends_on_time_with_a_summary_and_no_transcript() {
    // No wrap-up: the room closes at the scheduled end itself.
    let limits = Limits {
        wrap_up_ms: 0,
        ..Limits::default()
    };
    let mut fx = Fx::with(scheduled(), limits, &[]);
    let start = T0 + 10 * MIN;
    let end = T0 + 70 * MIN;
    fx.tick(start);
    fx.add("c1", "One");
    fx.add("c2", "Two");
    for c in ["c1", "c2"] {
        fx.ok(c, ClientMsg::AcceptRules { version: 1 });
    }
    fx.now = start + MIN;
    let secret = "my patient died last night and I cannot sleep";
    let msg = fx.post("c1", secret);
    fx.post("c2", "another private thing");
    let h1 = fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Consensus,
            message_id: Some(msg),
            text: Some("Nights are hard for all of us".into()),
        },
    );
    let (_, _, Event::Highlight { highlight: h1 }) = one(&h1, "highlight") else {
        unreachable!()
    };
    let h1 = h1.id.clone();
    let h2 = fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: Some("Book a debrief".into()),
        },
    );
    let (_, _, Event::Highlight { highlight: h2 }) = one(&h2, "highlight") else {
        unreachable!()
    };
    let h2 = h2.id.clone();
    for c in ["c1", "c2", "f"] {
        fx.ok(
            c,
            ClientMsg::Agree {
                highlight_id: h1.clone(),
            },
        );
    }
    fx.ok(
        "c2",
        ClientMsg::Agree {
            highlight_id: h2.clone(),
        },
    );
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("Name a small joy".into()),
            duration_secs: None,
        },
    );
    fx.ok(
        "f",
        ClientMsg::Park {
            message_id: None,
            text: Some("Scheduling concerns".into()),
        },
    );
    let out = fx.ok("f", ClientMsg::OpenEnergyCheck);
    let (_, _, Event::EnergyCheck { check }) = one(&out, "energy_check") else {
        unreachable!()
    };
    let check_id = check.id.clone();
    fx.ok(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: check_id.clone(),
            level: 2,
        },
    );
    fx.ok(
        "c2",
        ClientMsg::EnergyAnswer {
            check_id: check_id.clone(),
            level: 4,
        },
    );
    // A timer running at the end is dropped.
    fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Round".into(),
            duration_secs: 3600,
        },
    );

    let out = fx.tick(end);
    // The batched count of energy answers was due: it goes first.
    assert_eq!(
        kinds(&out),
        vec!["energy_check", "room_updated", "session_ended"]
    );
    assert_eq!(info_of(&out).status, RoomStatus::Closed);
    let (aud, _, Event::SessionEnded { summary }) = one(&out, "session_ended") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(Some(summary), fx.room.summary());
    assert_eq!(
        (summary.room_id.as_str(), summary.title.as_str()),
        ("r1", "Night shift debrief")
    );
    assert_eq!((summary.started_at, summary.ended_at), (start, end));
    let agreed: Vec<(&str, usize)> = summary
        .highlights
        .iter()
        .map(|h| (h.text.as_str(), h.agreed.len()))
        .collect();
    assert_eq!(
        agreed,
        vec![("Nights are hard for all of us", 3), ("Book a debrief", 1)]
    );
    assert_eq!(summary.energy_checks.len(), 1);
    let e = &summary.energy_checks[0];
    assert_eq!(
        (e.id.as_str(), e.open, e.count, e.distribution),
        (check_id.as_str(), false, 2, None)
    );
    assert_eq!(summary.energizers, vec!["Stretch break", "Energizer"]);
    assert_eq!(summary.parking_lot.len(), 1);
    assert_eq!(summary.parking_lot[0].text, "Scheduling concerns");
    let s = serde_json::to_string(summary).unwrap();
    assert!(!s.contains(secret) && !s.contains("another private thing"));

    // The transcript is gone from the room and from its resume history.
    let state = fx.state().to_string() + &fx.history_json();
    assert!(!state.contains(secret) && !state.contains("another private thing"));
    assert!(
        state.contains("Scheduling concerns"),
        "the check looks at real content"
    );
    assert!(fx.snapshot("c1").messages.is_empty());
    assert!(fx.snapshot("c1").timers.is_empty());
    assert_eq!(fx.room.next_deadline(), None);

    fx.refuse("c1", chat("still here?"), ErrorCode::RoomClosed);
    fx.refuse("f", chat("still here?"), ErrorCode::RoomClosed);
    fx.refuse(
        "c1",
        ClientMsg::Agree { highlight_id: h2 },
        ErrorCode::RoomClosed,
    );
    fx.refuse("f", ClientMsg::EndSession, ErrorCode::RoomClosed);
    fx.join_refused("c3", "Late", None, None, ErrorCode::RoomClosed);
    // Ticking on changes nothing.
    assert!(fx.tick(end + MIN).is_empty());
}

#[test]
fn end_session_answers_everyone_still_waiting() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "Waiting", None, None).unwrap();
    fx.out();
    let out = fx.ok("f", ClientMsg::EndSession);
    assert_eq!(error_codes(&out, "c1"), vec![ErrorCode::RoomClosed]);
    one(&out, "session_ended");
    assert_eq!(fx.room.conns(), vec!["f".to_string()]);
}

#[test]
fn short_scheduled_session_has_no_past_deadline_before_it_starts() {
    // A 3-minute session: its 5-minute warning mark lies before the start.
    let spec = CreateRoom {
        starts_at: Some(T0 + 10 * MIN),
        ends_at: Some(T0 + 13 * MIN),
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * MIN));
    assert!(fx.tick(T0 + 9 * MIN).is_empty());
    let out = fx.tick(T0 + 10 * MIN);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    // Opening late into the last minutes: only the warning still ahead fires.
    assert_eq!(fx.room.next_deadline(), Some(T0 + 12 * MIN));
    let out = fx.tick(T0 + 12 * MIN);
    assert!(matches!(
        one(&out, "session_warning").2,
        Event::SessionWarning {
            minutes_left: 1,
            ..
        }
    ));
    let out = fx.tick(T0 + 13 * MIN);
    one(&out, "wrap_up");
}
