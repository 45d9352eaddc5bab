//! Nobody is alone: alerts from rooms with no live facilitator, the on-call
//! desk (one acknowledges, the others see who; a private room), and what the
//! person is told.

use super::*;

/// The desk with two supporters on call ("s1", "s2").
fn desk() -> Fx {
    let spec = CreateRoom {
        title: "On-call desk".into(),
        kind: RoomKind::OnCall,
        ..Default::default()
    };
    let room = Room::new(
        ONCALL_DESK_ID.into(),
        &spec,
        KEY,
        Limits::default(),
        vec![],
        T0,
    );
    let mut fx = Fx {
        room,
        now: T0,
        last_seq: 0,
        ids: BTreeMap::new(),
        tokens: BTreeMap::new(),
    };
    for (c, name) in [("s1", "Sam"), ("s2", "Alex")] {
        fx.room
            .join_desk(&ctx(c), PROTOCOL_VERSION, name, None, fx.now)
            .unwrap();
        let out = fx.out();
        fx.record(c, &out);
    }
    fx
}

fn alert(id: &str, urgent: bool) -> OnCallAlert {
    OnCallAlert {
        id: id.into(),
        room_title: "Night shift debrief".into(),
        name: "Member c1".into(),
        note: None,
        urgent,
        ts: T0,
        acked_by: None,
        room_opened: false,
    }
}

fn desk_replies(fx: &mut Fx) -> Vec<(String, String, DeskReply)> {
    fx.room
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::DeskReply {
                origin_room,
                request_id,
                reply,
            } => Some((origin_room, request_id, reply)),
            _ => None,
        })
        .collect()
}

/// The events of `kind` that `member` receives in `out`.
fn events_to<'a>(out: &'a [Out], member: &str, kind: &str) -> Vec<&'a Event> {
    events(out)
        .into_iter()
        .filter(|(a, _, e)| a.includes(member) && event_kind(e) == kind)
        .map(|(_, _, e)| e)
        .collect()
}

#[test]
fn a_request_with_no_live_facilitator_goes_to_the_desk_and_not_otherwise() {
    let mut fx = Fx::new();
    fx.ok("c1", ClientMsg::Distress);
    assert!(fx.room.take_effects().is_empty(), "the facilitator is here");

    fx.disconnect("f");
    let out = fx.ok(
        "c2",
        ClientMsg::SupportRequest {
            note: Some("rough night".into()),
        },
    );
    // The crisis resources come back first, as always.
    assert!(matches!(replies(&out, "c2")[0], ServerMsg::Crisis { .. }));
    let a = raised_alert(&mut fx);
    assert_eq!(a.name, "Member c2");
    assert_eq!(a.note.as_deref(), Some("rough night"));
    assert_eq!(a.room_title, "Night shift debrief");
    assert!(!a.urgent);
    // A second signal updates the same alert (urgency is never taken back).
    fx.ok("c2", ClientMsg::Distress);
    let again = raised_alert(&mut fx);
    assert_eq!((again.id.as_str(), again.urgent), (a.id.as_str(), true));
}

#[test]
fn the_person_hears_where_the_request_stands() {
    let mut fx = Fx::new();
    fx.disconnect("f");
    fx.ok("c1", ClientMsg::Distress);
    let a = raised_alert(&mut fx);
    let c1 = fx.id("c1");

    // Nobody on call: said plainly, to the person only.
    fx.room
        .desk_reply(&a.id, DeskReply::Received { supporters: 0 }, fx.now);
    let out = fx.out();
    let ev = events_to(&out, &c1, "support_update");
    assert_eq!(events(&out).len(), 1);
    assert!(!events(&out)[0].0.includes(&fx.id("c2")));
    let Event::SupportUpdate { state, message, .. } = ev[0] else {
        unreachable!()
    };
    assert_eq!(*state, SupportState::NobodyOnCall);
    assert!(message.contains("No peer supporter is on call"));
    assert!(message.contains("crisis lines"));
    // A resend's receipt says nothing new.
    fx.room
        .desk_reply(&a.id, DeskReply::Received { supporters: 0 }, fx.now);
    assert!(fx.out().is_empty());

    // Someone came on call and acknowledged it.
    fx.room
        .desk_reply(&a.id, DeskReply::Seen { by: "Sam".into() }, fx.now);
    let out = fx.out();
    let Event::SupportUpdate {
        state, message, by, ..
    } = events_to(&out, &c1, "support_update")[0]
    else {
        unreachable!()
    };
    assert_eq!((*state, by.as_deref()), (SupportState::Seen, Some("Sam")));
    assert_eq!(message, "A peer supporter (Sam) has seen your request.");

    // A private room: the link, without any key.
    fx.room.desk_reply(
        &a.id,
        DeskReply::RoomOpened {
            room_id: "r9".into(),
        },
        fx.now,
    );
    let out = fx.out();
    let Event::OneOnOne {
        room_id,
        facilitator_key,
        ..
    } = events_to(&out, &c1, "one_on_one")[0]
    else {
        unreachable!()
    };
    assert_eq!((room_id.as_str(), facilitator_key), ("r9", &None));
    assert_eq!(events(&out).len(), 1, "to the person only");
}

#[test]
fn an_unconfirmed_alert_is_sent_again_until_the_desk_has_it() {
    let mut fx = Fx::new();
    fx.disconnect("f");
    fx.ok("c1", ClientMsg::Distress);
    let a = raised_alert(&mut fx);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 5 * SEC));
    fx.tick(T0 + 5 * SEC);
    assert_eq!(raised_alert(&mut fx).id, a.id);
    // It survives the room moving to another instance (its state is kept).
    let mut moved: Room = serde_json::from_value(fx.state()).unwrap();
    moved.tick(T0 + 10 * SEC);
    let resent: Vec<_> = moved
        .take_effects()
        .into_iter()
        .filter(|e| matches!(e, Effect::RaiseAlert { alert } if alert.id == a.id))
        .collect();
    assert_eq!(resent.len(), 1);
    // Once confirmed, no more resends.
    fx.room
        .desk_reply(&a.id, DeskReply::Received { supporters: 2 }, fx.now);
    let out = fx.out();
    let Event::SupportUpdate {
        state, supporters, ..
    } = events_to(&out, &fx.id("c1"), "support_update")[0]
    else {
        unreachable!()
    };
    assert_eq!(
        (*state, *supporters),
        (SupportState::OnCallNotified, Some(2))
    );
    fx.tick(T0 + 15 * SEC);
    assert!(fx
        .room
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::RaiseAlert { .. })));
}

#[test]
fn when_the_person_leaves_their_alert_is_withdrawn() {
    let mut fx = Fx::new();
    fx.disconnect("f");
    fx.ok("c1", ClientMsg::Distress);
    let a = raised_alert(&mut fx);
    fx.ok("c1", ClientMsg::Leave);
    let withdrawn: Vec<String> = fx
        .room
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::WithdrawAlert { alert_id } => Some(alert_id),
            _ => None,
        })
        .collect();
    assert_eq!(withdrawn, vec![a.id]);
}

#[test]
fn the_desk_keeps_one_alert_per_id_and_one_supporter_answers_it() {
    let mut fx = desk();
    let (s1, s2) = (fx.id("s1"), fx.id("s2"));
    fx.room.desk_alert("room-a", alert("a1", false), fx.now);
    let out = fx.out();
    assert_eq!(kinds(&out), vec!["alert"]);
    assert_eq!(events(&out)[0].0, &Audience::All);
    assert_eq!(
        desk_replies(&mut fx),
        vec![(
            "room-a".into(),
            "a1".into(),
            DeskReply::Received { supporters: 2 }
        )]
    );
    // Sent again (the room did not hear back): still one alert, receipt again.
    fx.room.desk_alert("room-a", alert("a1", false), fx.now);
    assert!(fx.out().is_empty());
    assert_eq!(desk_replies(&mut fx).len(), 1);
    // Now urgent: the supporters see the change.
    fx.room.desk_alert("room-a", alert("a1", true), fx.now);
    assert_eq!(kinds(&fx.out()), vec!["alert"]);
    desk_replies(&mut fx);

    // A new supporter sees every open alert in the welcome.
    fx.room
        .join_desk(&ctx("s3"), PROTOCOL_VERSION, "Robin", None, fx.now)
        .unwrap();
    let out = fx.out();
    let (_, snap, _) = fx.record("s3", &out);
    assert_eq!(snap.alerts.len(), 1);
    assert!(snap.alerts[0].urgent);

    let out = fx.ok(
        "s1",
        ClientMsg::AckAlert {
            alert_id: "a1".into(),
        },
    );
    let Event::Alert { alert } = events_to(&out, &s2, "alert")[0] else {
        unreachable!()
    };
    assert_eq!(alert.acked_by.as_deref(), Some("Sam"), "the others see who");
    assert_eq!(
        desk_replies(&mut fx),
        vec![(
            "room-a".into(),
            "a1".into(),
            DeskReply::Seen { by: "Sam".into() }
        )]
    );
    fx.refuse(
        "s2",
        ClientMsg::AckAlert {
            alert_id: "a1".into(),
        },
        ErrorCode::AlertTaken,
    );
    fx.refuse(
        "s2",
        ClientMsg::OpenAlertRoom {
            alert_id: "a1".into(),
        },
        ErrorCode::AlertTaken,
    );
    fx.refuse(
        "s1",
        ClientMsg::AckAlert {
            alert_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    // The supporter who answered opens a private room.
    fx.ok(
        "s1",
        ClientMsg::OpenAlertRoom {
            alert_id: "a1".into(),
        },
    );
    let open: Vec<Effect> = fx.room.take_effects();
    assert!(matches!(
        &open[..],
        [Effect::OpenOneOnOne { request_id, facilitator, .. }] if request_id == "a1" && facilitator == &s1
    ));
    fx.room
        .one_on_one_opened("a1", &s1, "r9", "secret-key", fx.now);
    let out = fx.out();
    let Event::OneOnOne {
        facilitator_key, ..
    } = events_to(&out, &s1, "one_on_one")[0]
    else {
        unreachable!()
    };
    assert_eq!(facilitator_key.as_deref(), Some("secret-key"));
    assert!(
        events_to(&out, &s2, "one_on_one").is_empty(),
        "key to s1 only"
    );
    assert_eq!(
        desk_replies(&mut fx),
        vec![(
            "room-a".into(),
            "a1".into(),
            DeskReply::RoomOpened {
                room_id: "r9".into()
            }
        )]
    );
    fx.refuse(
        "s1",
        ClientMsg::OpenAlertRoom {
            alert_id: "a1".into(),
        },
        ErrorCode::Invalid,
    );

    // The person left: the alert closes for everyone.
    fx.room.desk_withdraw("a1", fx.now);
    assert_eq!(kinds(&fx.out()), vec!["alert_closed"]);
    assert!(fx.snapshot("s2").alerts.is_empty());
}

#[test]
fn the_desk_admits_only_verified_supporters_and_only_its_commands() {
    let mut fx = desk();
    fx.join_refused("x", "Curious", None, None, ErrorCode::OnCallOnly);
    fx.join_refused("x", "Curious", Some(KEY), None, ErrorCode::OnCallOnly);
    fx.refuse("s1", chat("hi"), ErrorCode::Forbidden);
    fx.refuse("s1", ClientMsg::Distress, ErrorCode::Forbidden);
    // And the desk's commands mean nothing in a room.
    let mut room = Fx::new();
    room.refuse(
        "f",
        ClientMsg::AckAlert {
            alert_id: "a1".into(),
        },
        ErrorCode::OnCallOnly,
    );
    let r = room
        .room
        .join_desk(&ctx("s9"), PROTOCOL_VERSION, "Sam", None, room.now);
    assert_eq!(code(r), ErrorCode::OnCallOnly);
}

#[test]
fn the_desk_state_survives_a_move_to_another_instance() {
    let mut fx = desk();
    fx.room.desk_alert("room-a", alert("a1", true), fx.now);
    fx.out();
    desk_replies(&mut fx);
    let moved: Room = serde_json::from_value(fx.state()).unwrap();
    let snap = moved.snapshot_for(&fx.id("s1"));
    assert_eq!(snap.alerts.len(), 1);
    assert_eq!(snap.alerts[0].id, "a1");
}
