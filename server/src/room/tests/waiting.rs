//! The waiting room: admit, decline, leaving, disabling it.

use super::*;

#[test]
fn waiting_room_admit_and_decline() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    let f = fx.id("f");
    fx.join_raw("c1", "Ann", None, None).unwrap();
    let out = fx.out();
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Waiting {
            room_id: "r1".into()
        }]
    );
    assert!(binds(&out).is_empty());
    let (aud, queue) = waiting_of(&out);
    assert_eq!(aud, Audience::Members(vec![f.clone()]));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].name, "Ann");
    let ann = queue[0].member_id.clone();
    fx.refuse("c1", chat("let me in"), ErrorCode::NotJoined);
    fx.join_raw("c2", "Ben", None, None).unwrap();
    let (_, queue) = waiting_of(&fx.out());
    let ben = queue[1].member_id.clone();
    // Facilitators see the queue in their snapshot.
    assert_eq!(fx.snapshot("f").waiting.len(), 2);

    let out = fx.ok(
        "f",
        ClientMsg::Admit {
            member_id: ann.clone(),
        },
    );
    let (_, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(member.id, ann);
    let (you, snap, _) = fx.record("c1", &out);
    assert_eq!(you.member_id, ann);
    assert!(
        snap.waiting.is_empty(),
        "participants never see the waiting room"
    );
    let (_, queue) = waiting_of(&out);
    assert_eq!(
        queue
            .iter()
            .map(|w| w.member_id.clone())
            .collect::<Vec<_>>(),
        vec![ben.clone()]
    );
    fx.refuse(
        "f",
        ClientMsg::Admit {
            member_id: ann.clone(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Admit {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    let out = fx.ok(
        "f",
        ClientMsg::Decline {
            member_id: ben.clone(),
        },
    );
    assert_eq!(error_codes(&out, "c2"), vec![ErrorCode::Forbidden]);
    assert_eq!(closes(&out), vec![("c2".to_string(), 4003)]);
    assert!(waiting_of(&out).1.is_empty());
    assert!(welcome_in(&out, "c2").is_none());
    fx.refuse(
        "f",
        ClientMsg::Decline { member_id: ben },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Decline { member_id: ann },
        ErrorCode::NotFound,
    );
    assert_eq!(fx.room.member_count(), 2);
}

#[test]
fn waiting_people_who_leave_drop_out_of_the_queue() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "Ann", None, None).unwrap();
    fx.join_raw("c2", "Ben", None, None).unwrap();
    fx.out();
    let out = fx.ok("c1", ClientMsg::Leave);
    assert_eq!(waiting_of(&out).1.len(), 1);
    let out = fx.disconnect("c2");
    assert!(waiting_of(&out).1.is_empty());
    assert!(fx.snapshot("f").waiting.is_empty());
}

#[test]
fn disabling_the_waiting_room_admits_everyone() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    for c in ["c1", "c2"] {
        fx.join_raw(c, c, None, None).unwrap();
    }
    fx.out();
    let out = fx.ok("f", ClientMsg::SetWaitingRoom { enabled: false });
    assert!(!info_of(&out).waiting_room);
    assert_eq!(all_of(&out, "member_joined").len(), 2);
    fx.record("c1", &out);
    fx.record("c2", &out);
    assert!(waiting_of(&out).1.is_empty());
    assert_eq!(fx.room.member_count(), 3);
    fx.add("c3", "Walk-in");
    // Enabling it again sends newcomers to wait.
    let out = fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    assert!(info_of(&out).waiting_room);
    fx.join_raw("c4", "Later", None, None).unwrap();
    assert!(welcome_in(&fx.out(), "c4").is_none());
}

#[test]
fn scheduled_room_with_waiting_room_moves_the_lobby_to_the_waiting_room() {
    let spec = CreateRoom {
        waiting_room: true,
        ..scheduled()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "Ann", None, None).unwrap();
    assert!(matches!(
        replies(&fx.out(), "c1")[..],
        [ServerMsg::Lobby { .. }]
    ));
    let out = fx.tick(T0 + 10 * MIN);
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Waiting {
            room_id: "r1".into()
        }]
    );
    assert_eq!(waiting_of(&out).1.len(), 1);
    assert!(all_of(&out, "member_joined").is_empty());
}
