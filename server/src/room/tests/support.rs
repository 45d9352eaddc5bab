//! Support requests, distress, one-on-ones and invitations to share.

use super::*;

#[test]
fn support_request_goes_to_facilitators_and_the_requester_only() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: fx.id("c2"),
        },
    );
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    fx.now += 99;
    let out = fx.ok(
        "c1",
        ClientMsg::SupportRequest {
            note: Some(" rough shift ".into()),
        },
    );
    // Help first.
    assert!(
        matches!(&out[0], Out::Frame { audience: Audience::Conn(c), msg: ServerMsg::Crisis { resources } } if c == "c1" && *resources == library::default_crisis_resources())
    );
    let (aud, req) = support_of(&out);
    assert!(aud.includes(&f) && aud.includes(&c2) && aud.includes(&c1));
    assert!(!aud.includes(&c3));
    assert_eq!(
        (
            req.member_id.as_str(),
            req.name.as_str(),
            req.note.as_deref()
        ),
        (c1.as_str(), "Member c1", Some("rough shift"))
    );
    assert!(!req.urgent && req.room_id.is_none());
    assert_eq!(req.ts, fx.now);
    assert!(visible_to(&out, &c3).is_empty());

    // Snapshots: facilitators see all, the requester its own, others none.
    assert_eq!(fx.snapshot("f").support_requests, vec![req.clone()]);
    assert_eq!(fx.snapshot("c1").support_requests, vec![req.clone()]);
    assert!(fx.snapshot("c3").support_requests.is_empty());

    // Empty note is no note; an over-long note is refused.
    let (_, r) = support_of(&fx.ok(
        "c3",
        ClientMsg::SupportRequest {
            note: Some("  ".into()),
        },
    ));
    assert_eq!(r.note, None);
    fx.refuse(
        "c1",
        ClientMsg::SupportRequest {
            note: Some("x".repeat(501)),
        },
        ErrorCode::TooLarge,
    );
}

#[test]
fn distress_is_urgent_and_always_allowed() {
    let mut fx = Fx::new();
    let c2 = fx.id("c2");
    // Even a muted member who has not accepted the rules may call for help.
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: c3.clone(),
        },
    );
    let out = fx.ok("c3", ClientMsg::Distress);
    assert!(matches!(replies(&out, "c3")[0], ServerMsg::Crisis { .. }));
    let (aud, req) = support_of(&out);
    assert!(req.urgent);
    assert_eq!(req.note, None);
    assert_eq!(aud, Audience::Members(vec![fx.id("f"), c3]));
    assert!(!aud.includes(&c2));
}

#[test]
fn one_on_one_from_a_support_request() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    let (_, req) = support_of(&fx.ok("c1", ClientMsg::SupportRequest { note: None }));
    let out = fx.ok(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: req.id.clone(),
        },
    );
    assert!(out.is_empty());
    let effects = fx.room.take_effects();
    assert_eq!(
        effects,
        vec![Effect::OpenOneOnOne {
            request_id: req.id.clone(),
            facilitator: f.clone(),
            participant: c1.clone(),
            title: "One-on-one support: Member c1".into(),
        }]
    );
    assert!(fx.room.take_effects().is_empty());
    fx.refuse(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    fx.room
        .one_on_one_opened(&req.id, &f, "r-private", "SECRETKEY", fx.now);
    let out = fx.out();
    let evs = all_of(&out, "one_on_one");
    assert_eq!(evs.len(), 2);
    for &(aud, _, e) in &evs {
        let Event::OneOnOne {
            request_id,
            room_id,
            link,
            facilitator_key,
        } = e
        else {
            unreachable!()
        };
        assert_eq!(
            (request_id, room_id.as_str(), link.as_str()),
            (&req.id, "r-private", "/?room=r-private")
        );
        match aud {
            Audience::Members(m) if m.len() == 1 && m[0] == c1 => {
                assert_eq!(*facilitator_key, None)
            }
            Audience::Members(m) if m.len() == 1 && m[0] == f => {
                assert_eq!(facilitator_key.as_deref(), Some("SECRETKEY"))
            }
            other => panic!("one_on_one to {other:?}"),
        }
    }
    assert!(visible_to(&out, &c2).is_empty());
    assert!(!serde_json::to_string(&visible_to(&out, &c1))
        .unwrap()
        .contains("SECRETKEY"));
    assert_eq!(
        fx.snapshot("f").support_requests[0].room_id.as_deref(),
        Some("r-private")
    );
    fx.refuse(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: req.id.clone(),
        },
        ErrorCode::Invalid,
    );
    // An unknown request id is ignored.
    fx.room.one_on_one_opened("nope", &f, "r-x", "K", fx.now);
    assert!(fx.out().is_empty());
}

#[test]
fn one_on_one_rooms_hold_two() {
    let spec = CreateRoom {
        kind: RoomKind::OneOnOne,
        capacity: Some(50),
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &["c1"]);
    assert_eq!(fx.room.info().capacity, Some(2));
    fx.join_refused("c2", "Third", None, None, ErrorCode::RoomFull);
}

#[test]
fn invite_to_share_and_decline() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    let out = fx.ok(
        "f",
        ClientMsg::InviteToShare {
            member_id: c1.clone(),
        },
    );
    let (
        aud,
        _,
        Event::ShareInvite {
            invite_id,
            from_name,
        },
    ) = one(&out, "share_invite")
    else {
        unreachable!()
    };
    assert_eq!(
        (aud, from_name.as_str()),
        (&Audience::Members(vec![c1.clone()]), "Dr Lead")
    );
    let invite = invite_id.clone();
    fx.refuse(
        "c2",
        ClientMsg::DeclineShare {
            invite_id: invite.clone(),
        },
        ErrorCode::NotFound,
    );
    let out = fx.ok(
        "c1",
        ClientMsg::DeclineShare {
            invite_id: invite.clone(),
        },
    );
    let (
        aud,
        _,
        Event::ShareDeclined {
            invite_id,
            member_id,
        },
    ) = one(&out, "share_declined")
    else {
        unreachable!()
    };
    assert_eq!((invite_id, member_id), (&invite, &c1));
    assert!(aud.includes(&f) && !aud.includes(&c1) && !aud.includes(&c2));
    fx.refuse(
        "c1",
        ClientMsg::DeclineShare { invite_id: invite },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::InviteToShare {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
}

#[test]
fn a_second_request_updates_the_open_one() {
    let mut fx = Fx::new();
    let f = fx.id("f");
    let (_, first) = support_of(&fx.ok(
        "c1",
        ClientMsg::SupportRequest {
            note: Some("rough shift".into()),
        },
    ));
    fx.now += SEC;
    // Distress escalates the open request: same id, now urgent, note kept.
    let out = fx.ok("c1", ClientMsg::Distress);
    assert!(matches!(replies(&out, "c1")[0], ServerMsg::Crisis { .. }));
    let (_, req) = support_of(&out);
    assert_eq!(req.id, first.id);
    assert!(req.urgent);
    assert_eq!(req.note.as_deref(), Some("rough shift"));
    assert_eq!(req.ts, first.ts, "waiting since the first request");
    // A new note replaces the old one; urgency is never taken back.
    fx.now += SEC;
    let (_, req) = support_of(&fx.ok(
        "c1",
        ClientMsg::SupportRequest {
            note: Some("still here".into()),
        },
    ));
    assert_eq!(req.id, first.id);
    assert!(req.urgent);
    assert_eq!(req.note.as_deref(), Some("still here"));
    assert_eq!(fx.snapshot("f").support_requests, vec![req.clone()]);
    assert_eq!(fx.snapshot("c1").support_requests, vec![req.clone()]);
    // Others have their own.
    let (_, other) = support_of(&fx.ok("c2", ClientMsg::SupportRequest { note: None }));
    assert_ne!(other.id, first.id);
    assert_eq!(fx.snapshot("f").support_requests.len(), 2);
    // Once a one-on-one is open for it, it is no longer open: a new request is new.
    fx.ok(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: first.id.clone(),
        },
    );
    fx.room.take_effects();
    fx.room
        .one_on_one_opened(&first.id, &f, "r-private", "SECRETKEY", fx.now);
    fx.out();
    let (_, again) = support_of(&fx.ok("c1", ClientMsg::SupportRequest { note: None }));
    assert_ne!(again.id, first.id);
    assert!(!again.urgent);
    assert_eq!(fx.snapshot("f").support_requests.len(), 3);
}

#[test]
fn a_flood_of_requests_never_pushes_out_urgent_ones() {
    let mut fx = Fx::new();
    let (_, urgent) = support_of(&fx.ok("c1", ClientMsg::Distress));
    // One member flooding holds one request.
    for i in 0..300 {
        fx.ok(
            "c2",
            ClientMsg::SupportRequest {
                note: Some(format!("flood {i}")),
            },
        );
    }
    let queue = fx.snapshot("f").support_requests;
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[1].note.as_deref(), Some("flood 299"));
    // Many members flooding: the queue holds 200, the oldest ordinary ones go first,
    // the urgent one stays.
    for n in 0..250 {
        let conn = format!("x{n}");
        fx.add(&conn, &format!("Flooder {n}"));
        fx.ok(&conn, ClientMsg::SupportRequest { note: None });
    }
    let queue = fx.snapshot("f").support_requests;
    assert_eq!(queue.len(), 200);
    assert!(queue.contains(&urgent), "the urgent request was dropped");
    let last = queue.last().unwrap();
    assert_eq!(last.member_id, fx.id("x249"));
    // Urgent requests beyond the bound are all kept.
    for n in 0..210 {
        fx.ok(&format!("x{n}"), ClientMsg::Distress);
    }
    let queue = fx.snapshot("f").support_requests;
    assert!(queue.contains(&urgent));
    assert_eq!(queue.iter().filter(|r| r.urgent).count(), 211);
    assert_eq!(queue.len(), 211);
}
