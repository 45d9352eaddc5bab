//! A room is never unmoderated: takeover by a co-facilitator, or a pause.

use super::*;

#[test]
fn co_facilitator_takes_over_after_the_grace() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(fx.room.next_deadline(), None);
    let out = fx.disconnect("f");
    assert!(!member_of(&out).online);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
    assert!(fx.tick(T0 + 10 * SEC - 1).is_empty());
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(kinds(&out), vec!["member_updated", "room_notice"]);
    let m = member_of(&out);
    assert_eq!((m.id.as_str(), m.role), (c1.as_str(), Role::Facilitator));
    assert_eq!(notice_of(&out), "facilitator_takeover");
    assert_eq!(fx.status(), RoomStatus::Open);
    fx.post("c2", "still open");
    // The old facilitator's seat expires later; nothing else happens.
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    let out = fx.tick(T0 + 20 * SEC);
    assert_eq!(kinds(&out), vec!["member_left"]);
    assert_eq!(fx.status(), RoomStatus::Open);
    // The new facilitator can hand over and cannot be demoted.
    fx.refuse(
        "c1",
        ClientMsg::Demote {
            member_id: c1.clone(),
        },
        ErrorCode::Forbidden,
    );
}

#[test]
fn room_pauses_without_any_facilitator_and_reopens_on_return() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    fx.disconnect("f");
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(kinds(&out), vec!["room_updated", "room_notice"]);
    assert_eq!(info_of(&out).status, RoomStatus::Paused);
    assert_eq!(notice_of(&out), "paused");
    fx.refuse("c1", chat("anyone?"), ErrorCode::Paused);
    assert!(fx.room.info().unattended, "everyone is shown where help is");
    // Members may still ask for help and raise a hand while paused; with no
    // facilitator online, the distress signal goes to the on-call desk.
    fx.ok("c1", ClientMsg::Distress);
    fx.ok("c2", ClientMsg::RaiseHand);
    let alert = raised_alert(&mut fx);
    assert!(alert.urgent);
    fx.room
        .desk_reply(&alert.id, DeskReply::Received { supporters: 1 }, fx.now);
    fx.out();
    // Nothing to do until the facilitator's seat expires.
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    assert!(fx.tick(T0 + 15 * SEC).is_empty());

    fx.now = T0 + 16 * SEC;
    let r = fx.resume_of("f", seen);
    fx.join_raw("f2", "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert_eq!(
        kinds(&out),
        vec!["member_updated", "room_updated", "room_notice"]
    );
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    assert_eq!(notice_of(&out), "resumed");
    fx.post("c1", "hello again");
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 60 * SEC).is_empty());
}

#[test]
fn paused_room_stays_paused_after_the_facilitator_is_dropped() {
    let mut fx = Fx::new();
    fx.ok("f", ClientMsg::Leave);
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(info_of(&out).status, RoomStatus::Paused);
    // Nothing more is due: the host must not be asked to tick in a loop.
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 10 * MIN).is_empty());
    fx.join_raw("f3", "Dr Back", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f3", &out);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    fx.post("c1", "welcome back");
}

/// A room nobody has run yet: people read and accept the rules, posting is
/// held; past the grace everyone is shown where help is; the facilitator's
/// arrival opens it.
fn awaiting_room(spec: CreateRoom) -> Fx {
    let room = Room::new("r2".into(), &spec, KEY, Limits::default(), vec![], T0);
    Fx {
        room,
        now: T0,
        last_seq: 0,
        ids: BTreeMap::new(),
        tokens: BTreeMap::new(),
    }
}

#[test]
fn a_new_room_awaits_its_facilitator_then_opens() {
    for kind in [RoomKind::Group, RoomKind::DropIn, RoomKind::OneOnOne] {
        let mut fx = awaiting_room(CreateRoom { kind, ..group() });
        assert_eq!(fx.status(), RoomStatus::AwaitingFacilitator, "{kind:?}");
        fx.add("c1", "Early");
        fx.ok("c1", ClientMsg::AcceptRules { version: 1 });
        let snap = fx.snapshot("c1");
        assert_eq!(snap.info.status, RoomStatus::AwaitingFacilitator);
        assert!(!snap.info.unattended);
        fx.refuse("c1", chat("first!"), ErrorCode::AwaitingFacilitator);
        assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
        assert!(fx.tick(T0 + 10 * SEC - 1).is_empty());
        let out = fx.tick(T0 + 10 * SEC);
        assert_eq!(kinds(&out), vec!["room_updated", "room_notice"]);
        let info = info_of(&out);
        assert_eq!(info.status, RoomStatus::AwaitingFacilitator);
        assert!(info.unattended);
        assert_eq!(notice_of(&out), "no_facilitator");
        // Said once; nothing more is due until someone arrives.
        assert_eq!(fx.room.next_deadline(), None);
        assert!(fx.tick(T0 + 10 * MIN).is_empty());
        // A newcomer sees it at once, in the welcome.
        fx.add("c2", "Later");
        assert!(fx.snapshot("c2").info.unattended);
        fx.refuse("c1", chat("hello?"), ErrorCode::AwaitingFacilitator);

        fx.join_raw("f", "Dr Lead", Some(KEY), None).unwrap();
        let out = fx.out();
        fx.record("f", &out);
        let info = info_of(&out);
        assert_eq!(info.status, RoomStatus::Open);
        assert!(!info.unattended);
        assert_eq!(notice_of(&out), "opened");
        fx.post("c1", "hello at last");
    }
}

#[test]
fn a_scheduled_room_with_nobody_to_run_it_awaits_from_its_start() {
    let mut fx = awaiting_room(CreateRoom {
        starts_at: Some(T0 + MIN),
        ..group()
    });
    fx.join_raw("c1", "Early", None, None).unwrap();
    fx.out();
    assert_eq!(fx.status(), RoomStatus::Scheduled);
    assert_eq!(fx.room.next_deadline(), Some(T0 + MIN));
    let out = fx.tick(T0 + MIN);
    assert_eq!(info_of(&out).status, RoomStatus::AwaitingFacilitator);
    // The grace counts from the start, not from the room's creation.
    assert_eq!(fx.room.next_deadline(), Some(T0 + MIN + 10 * SEC));
    let out = fx.tick(T0 + MIN + 10 * SEC);
    assert!(info_of(&out).unattended);
}

#[test]
fn a_scheduled_room_whose_facilitator_is_early_opens_at_its_start() {
    let mut fx = awaiting_room(CreateRoom {
        starts_at: Some(T0 + MIN),
        ..group()
    });
    fx.join_raw("f", "Dr Lead", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f", &out);
    let out = fx.tick(T0 + MIN);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
}

#[test]
fn a_co_facilitator_arriving_first_opens_the_room_too() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.ok("f", ClientMsg::Promote { member_id: c1 });
    fx.ok("f", ClientMsg::Leave);
    fx.tick(T0 + 10 * SEC);
    assert_eq!(
        fx.status(),
        RoomStatus::Open,
        "the co-facilitator took over"
    );
}

#[test]
fn reconnect_within_the_grace_does_not_flap() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    fx.disconnect("f");
    fx.now = T0 + 5 * SEC;
    let r = fx.resume_of("f", seen);
    fx.join_raw("f2", "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert_eq!(kinds(&out), vec!["member_updated"]);
    assert!(member_of(&out).online);
    assert_eq!(fx.room.next_deadline(), None);
    for t in [10, 11, 20, 60] {
        assert!(fx.tick(T0 + t * SEC).is_empty());
    }
    assert_eq!(fx.status(), RoomStatus::Open);
    fx.post("c1", "never paused");
}

#[test]
fn drop_ins_pause_without_a_facilitator_like_groups() {
    let spec = CreateRoom {
        kind: RoomKind::DropIn,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &["c1"]);
    fx.disconnect("f");
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
    fx.tick(T0 + 60 * SEC);
    assert_eq!(fx.status(), RoomStatus::Paused);
    assert!(fx.room.info().unattended);
    fx.refuse("c1", chat("anyone?"), ErrorCode::Paused);
}
