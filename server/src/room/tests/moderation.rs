//! Moderation: remove, mute, delete, pin, promote, demote, hand over, personal mute.

use super::*;

#[test]
fn remove_keeps_a_member_out() {
    let mut fx = Fx::new();
    let c = JoinCtx {
        conn: "c3".into(),
        instance: "i1".into(),
        addr_hash: Some("addr-3".into()),
        device_hash: None,
        account_id: None,
    };
    fx.join_ctx(&c, "Troll", None, None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("c3", &out);
    fx.ok("c3", ClientMsg::RaiseHand);
    let out = fx.ok(
        "f",
        ClientMsg::Remove {
            member_id: you.member_id.clone(),
        },
    );
    assert_eq!(error_codes(&out, "c3"), vec![ErrorCode::Removed]);
    assert_eq!(closes(&out), vec![("c3".to_string(), 4001)]);
    let (aud, _, Event::MemberLeft { member_id, reason }) = one(&out, "member_left") else {
        unreachable!()
    };
    assert_eq!(
        (aud, member_id, *reason),
        (&Audience::All, &you.member_id, LeaveReason::Removed)
    );
    // The error and the close precede the member_left event.
    assert!(matches!(
        out.last(),
        Some(Out::Frame {
            msg: ServerMsg::Event { .. },
            ..
        })
    ));
    assert!(fx
        .snapshot("c1")
        .roster
        .iter()
        .all(|m| m.id != you.member_id));
    assert!(fx.snapshot("c1").hands.is_empty());
    // The removal is for the host to record (a bar in the store).
    assert!(fx
        .room
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Removed { .. })));
    fx.refuse("c3", chat("hi"), ErrorCode::NotJoined);

    // Resume with the old token (on a new connection): removed.
    let r = Resume {
        member_id: you.member_id.clone(),
        token: you.resume_token.clone(),
        last_seq: 1,
        epoch: fx.room.epoch().into(),
    };
    assert_eq!(
        code(fx.join_raw("c3b", "Troll", None, Some(&r))),
        ErrorCode::Removed
    );
    // That was them (their token): the facilitators hear of it (removal.rs).
    assert_eq!(notice_of(&fx.out()), "removed_rejoin");
    // Resume naming the removed member with another token: removed, silently.
    let r2 = Resume {
        token: new_secret(),
        ..r
    };
    fx.join_refused("c3b", "Troll", None, Some(&r2), ErrorCode::Removed);
    // A fresh join from the same address: removed.
    let c = JoinCtx {
        conn: "c3c".into(),
        ..c
    };
    let before = fx.state();
    assert_eq!(
        code(fx.join_ctx(&c, "Another name", None, None)),
        ErrorCode::Removed
    );
    assert!(fx.out().is_empty());
    assert_eq!(fx.state(), before);

    fx.refuse(
        "f",
        ClientMsg::Remove {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Remove {
            member_id: you.member_id,
        },
        ErrorCode::NotFound,
    );
}

#[test]
fn co_facilitators_cannot_moderate_the_facilitator_or_each_other() {
    let mut fx = Fx::new();
    fx.add("c3", "Three");
    let (f, c1, c2, c3) = (fx.id("f"), fx.id("c1"), fx.id("c2"), fx.id("c3"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c3.clone(),
        },
    );
    fx.refuse(
        "c1",
        ClientMsg::Remove {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Mute {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Remove {
            member_id: c3.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Mute {
            member_id: c3.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Demote {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::Remove {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    // A co-facilitator may moderate participants.
    assert!(
        member_of(&fx.ok(
            "c1",
            ClientMsg::Mute {
                member_id: c2.clone()
            }
        ))
        .muted
    );
    fx.ok("c1", ClientMsg::Remove { member_id: c2 });
    // The facilitator may moderate co-facilitators.
    assert!(
        member_of(&fx.ok(
            "f",
            ClientMsg::Mute {
                member_id: c3.clone()
            }
        ))
        .muted
    );
    fx.ok("f", ClientMsg::Remove { member_id: c3 });
}

#[test]
fn delete_message_is_scrubbed_from_history() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    fx.disconnect("c2");
    let bad = fx.post("c1", "something hurtful");
    let good = fx.post("c1", "something kind");
    let out = fx.ok(
        "f",
        ClientMsg::DeleteMessage {
            message_id: bad.clone(),
        },
    );
    let (aud, _, Event::MessageDeleted { message_id }) = one(&out, "message_deleted") else {
        unreachable!()
    };
    assert_eq!((aud, message_id), (&Audience::All, &bad));
    assert!(fx.snapshot("c1").messages.iter().all(|m| m.id != bad));
    assert!(!fx.state().to_string().contains("something hurtful"));
    assert!(!fx.history_json().contains("something hurtful"));
    assert!(fx.history_json().contains("something kind"));

    let r = fx.resume_of("c2", seen);
    fx.join_raw("c2b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let replayed = replies(&out, "c2b");
    assert!(matches!(replayed.last(), Some(ServerMsg::Resumed { .. })));
    let s = serde_json::to_string(&replayed).unwrap();
    assert!(!s.contains("something hurtful"));
    assert!(s.contains("something kind") && s.contains(&good));
    assert!(replayed.iter().any(|m| matches!(m, ServerMsg::Event { event: Event::MessageDeleted { message_id }, .. } if *message_id == bad)));

    fx.refuse(
        "f",
        ClientMsg::DeleteMessage { message_id: bad },
        ErrorCode::NotFound,
    );
    // Facilitators may delete anyone's message, including their own.
    let own = fx.post("f", "typo");
    fx.ok("f", ClientMsg::DeleteMessage { message_id: own });
}

#[test]
fn pin_and_welcome_message() {
    let mut fx = Fx::new();
    assert_eq!(
        info_of(&fx.ok(
            "f",
            ClientMsg::Pin {
                text: Some(" Break at 15:00 ".into())
            }
        ))
        .pinned
        .as_deref(),
        Some("Break at 15:00")
    );
    assert_eq!(
        fx.snapshot("c1").info.pinned.as_deref(),
        Some("Break at 15:00")
    );
    assert_eq!(
        info_of(&fx.ok("f", ClientMsg::Pin { text: None })).pinned,
        None
    );
    fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("x".into()),
        },
    );
    assert_eq!(
        info_of(&fx.ok(
            "f",
            ClientMsg::Pin {
                text: Some("  ".into())
            }
        ))
        .pinned,
        None
    );
    fx.refuse(
        "f",
        ClientMsg::Pin {
            text: Some("x".repeat(501)),
        },
        ErrorCode::TooLarge,
    );

    assert_eq!(
        info_of(&fx.ok(
            "f",
            ClientMsg::SetWelcome {
                text: Some("Welcome, all".into())
            }
        ))
        .welcome_message
        .as_deref(),
        Some("Welcome, all")
    );
    fx.refuse(
        "f",
        ClientMsg::SetWelcome {
            text: Some("x".repeat(1001)),
        },
        ErrorCode::TooLarge,
    );
    assert_eq!(
        info_of(&fx.ok("f", ClientMsg::SetWelcome { text: None })).welcome_message,
        None
    );
}

#[test]
fn promote_and_demote() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.refuse("c1", ClientMsg::Lock { locked: true }, ErrorCode::Forbidden);
    let out = fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(kinds(&out), vec!["member_updated", "waiting_room"]);
    assert_eq!(member_of(&out).role, Role::CoFacilitator);
    // Co-facilitators now receive the facilitator-only queues.
    let (aud, _, _) = one(&out, "waiting_room");
    assert!(aud.includes(&c1) && !aud.includes(&fx.id("c2")));
    fx.refuse(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::Promote {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    // ... and may run the room.
    fx.ok("c1", ClientMsg::Lock { locked: true });
    // A co-facilitator posts without re-accepting new rules.
    fx.ok(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["New".into()],
        },
    );
    fx.post("c1", "fine");

    let out = fx.ok(
        "f",
        ClientMsg::Demote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(member_of(&out).role, Role::Participant);
    fx.refuse(
        "c1",
        ClientMsg::Lock { locked: false },
        ErrorCode::Forbidden,
    );
    fx.refuse("f", ClientMsg::Demote { member_id: c1 }, ErrorCode::Invalid);
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: fx.id("f"),
        },
        ErrorCode::Forbidden,
    );
}

#[test]
fn hand_over_is_for_the_facilitator_only() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    fx.refuse(
        "c1",
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::HandOver {
            member_id: c1.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c2",
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::HandOver {
            member_id: f.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::HandOver {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    let out = fx.ok(
        "f",
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
    );
    let ups: Vec<(String, Role)> = all_of(&out, "member_updated")
        .into_iter()
        .map(|(_, _, e)| match e {
            Event::MemberUpdated { member } => (member.id.clone(), member.role),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        ups,
        vec![
            (c2.clone(), Role::Facilitator),
            (f.clone(), Role::CoFacilitator)
        ]
    );
    assert_eq!(fx.member("c2").accepted_rules, 1);
    // The new facilitator cannot be demoted; the old one can.
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: c2.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::HandOver { member_id: c1 },
        ErrorCode::Forbidden,
    );
    fx.ok("c2", ClientMsg::Demote { member_id: f });
    assert_eq!(fx.status(), RoomStatus::Open);
}

#[test]
fn personal_mute_hides_messages_for_the_muter_only() {
    let mut fx = Fx::new();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let early = fx.post("c1", "before the mute");
    let out = fx.ok(
        "c2",
        ClientMsg::PersonalMute {
            member_id: c1.clone(),
        },
    );
    let (aud, _, Event::PersonalMutes { member_ids }) = one(&out, "personal_mutes") else {
        unreachable!()
    };
    assert_eq!(
        (aud, member_ids),
        (&Audience::Members(vec![c2.clone()]), &vec![c1.clone()])
    );

    let out = fx.ok("c1", chat("after the mute"));
    let (aud, _, _) = one(&out, "chat");
    assert_eq!(aud, &Audience::AllExcept(vec![c2.clone()]));
    assert!(aud.includes(&c1) && aud.includes(&fx.id("f")) && !aud.includes(&c2));
    // Others' messages still reach c2.
    let out = fx.ok("f", chat("from the lead"));
    assert_eq!(one(&out, "chat").0, &Audience::All);

    let snap = fx.snapshot("c2");
    assert_eq!(snap.personally_muted, vec![c1.clone()]);
    assert!(
        snap.messages.iter().all(|m| m.from != c1),
        "muted member's messages hidden"
    );
    assert_eq!(snap.messages.len(), 1);
    let others = fx.snapshot("f");
    assert!(others.messages.iter().any(|m| m.id == early));
    assert_eq!(others.messages.len(), 3);
    assert!(others.personally_muted.is_empty());

    fx.refuse(
        "c2",
        ClientMsg::PersonalMute {
            member_id: c2.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::PersonalUnmute {
            member_id: c2.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::PersonalMute {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    let out = fx.ok(
        "c2",
        ClientMsg::PersonalUnmute {
            member_id: c1.clone(),
        },
    );
    let (_, _, Event::PersonalMutes { member_ids }) = one(&out, "personal_mutes") else {
        unreachable!()
    };
    assert!(member_ids.is_empty());
    assert_eq!(
        one(&fx.ok("c1", chat("heard again")), "chat").0,
        &Audience::All
    );
    assert_eq!(fx.snapshot("c2").messages.len(), 4);
}
