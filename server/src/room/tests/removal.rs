//! Removal sticks for the session: the removed member's device and resume
//! token keep them out, across a stored and reloaded room, and the
//! facilitators hear (at most once a minute) that they tried to come back.

use super::*;

fn from_device(conn: &str, device: &str) -> JoinCtx {
    JoinCtx {
        device_hash: Some(hash_secret(device)),
        ..ctx(conn)
    }
}

/// "Sam" joins on `conn` from `device`, accepts the rules; returns the member id.
fn add_from(fx: &mut Fx, conn: &str, device: &str, name: &str) -> String {
    fx.join_ctx(&from_device(conn, device), name, None, None)
        .unwrap();
    let out = fx.out();
    let id = fx.record(conn, &out).0.member_id;
    fx.ok(conn, ClientMsg::AcceptRules { version: 1 });
    id
}

fn remove(fx: &mut Fx, member_id: &str) {
    let out = fx.ok(
        "f",
        ClientMsg::Remove {
            member_id: member_id.into(),
        },
    );
    assert_eq!(one(&out, "member_left").0, &Audience::All);
}

/// The `removed_rejoin` notices in `out`: (audience, message).
fn rejoin_notices(out: &[Out]) -> Vec<(Audience, String)> {
    all_of(out, "room_notice")
        .into_iter()
        .filter_map(|(a, _, e)| match e {
            Event::RoomNotice { code, message } if code == "removed_rejoin" => {
                Some((a.clone(), message.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_removed_device_is_kept_out_and_the_facilitators_hear_of_it() {
    let mut fx = Fx::new();
    // c1 co-facilitates: facilitators and co-facilitators hear, nobody else.
    let c1 = fx.id("c1");
    fx.ok("f", ClientMsg::Promote { member_id: c1 });
    let sam = add_from(&mut fx, "c3", "device-of-sam-0001", "Sam");
    remove(&mut fx, &sam);

    // A plain join from the same browser, under another name: kept out.
    let r = fx.join_ctx(
        &from_device("c3b", "device-of-sam-0001"),
        "Not Sam",
        None,
        None,
    );
    assert_eq!(code(r), ErrorCode::Removed);
    let out = fx.out();
    let notices = rejoin_notices(&out);
    assert_eq!(
        notices,
        vec![(
            Audience::Members(vec![fx.id("f"), fx.id("c1")]),
            "Sam, who was removed, tried to rejoin and was kept out.".to_string()
        )]
    );
    assert!(visible_to(&out, &fx.id("c2")).is_empty());
    assert!(fx.snapshot("f").roster.iter().all(|m| m.name != "Not Sam"));
    assert!(fx.snapshot("f").waiting.is_empty());

    // Again within the minute: kept out, and nobody is told twice.
    fx.now += 59 * SEC;
    let before = fx.state();
    let r = fx.join_ctx(&from_device("c3c", "device-of-sam-0001"), "Sam", None, None);
    assert_eq!(code(r), ErrorCode::Removed);
    assert!(fx.out().is_empty());
    assert_eq!(fx.state(), before);

    // A minute on: told again.
    fx.now += 2 * SEC;
    let r = fx.join_ctx(&from_device("c3d", "device-of-sam-0001"), "Sam", None, None);
    assert_eq!(code(r), ErrorCode::Removed);
    assert_eq!(rejoin_notices(&fx.out()).len(), 1);

    // Another browser is another person (the documented limit): let in.
    add_from(&mut fx, "c4", "device-of-someone-else", "Alex");
    // The facilitator key is not stopped by a device (shared browsers; rotate the key).
    fx.join_ctx(
        &from_device("f2", "device-of-sam-0001"),
        "Second key",
        Some(KEY),
        None,
    )
    .unwrap();
    let out = fx.out();
    assert_eq!(fx.record("f2", &out).0.role, Role::Facilitator);
}

#[test]
fn a_join_without_a_device_or_with_an_unknown_one_is_not_kept_out() {
    let mut fx = Fx::new();
    let sam = add_from(&mut fx, "c3", "device-of-sam-0001", "Sam");
    remove(&mut fx, &sam);
    fx.add("c5", "Sam again");
    add_from(&mut fx, "c6", "device-of-sam-0002", "Sam once more");
    // Nothing was said to the facilitators.
    assert!(!fx.history_json().contains("removed_rejoin"));
}

#[test]
fn the_device_a_member_resumed_from_is_the_one_kept_out() {
    let mut fx = Fx::new();
    // c1 joined without a device id, and resumed from a browser that has one.
    let c1 = fx.id("c1");
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_ctx(
        &from_device("c1b", "device-of-c1-laptop"),
        "",
        None,
        Some(&r),
    )
    .unwrap();
    fx.out();
    remove(&mut fx, &c1);
    let r = fx.join_ctx(
        &from_device("c1c", "device-of-c1-laptop"),
        "New me",
        None,
        None,
    );
    assert_eq!(code(r), ErrorCode::Removed);
    let notices = rejoin_notices(&fx.out());
    assert_eq!(notices.len(), 1);
    assert!(notices[0].1.starts_with("Member c1, who was removed"));
}

#[test]
fn a_device_waiting_to_be_admitted_is_remembered_once_admitted() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_ctx(&from_device("c3", "device-of-sam-0001"), "Sam", None, None)
        .unwrap();
    let out = fx.out();
    let (_, queue) = waiting_of(&out);
    let sam = queue[0].member_id.clone();
    let out = fx.ok(
        "f",
        ClientMsg::Admit {
            member_id: sam.clone(),
        },
    );
    fx.record("c3", &out);
    remove(&mut fx, &sam);
    let r = fx.join_ctx(&from_device("c3b", "device-of-sam-0001"), "Sam", None, None);
    assert_eq!(code(r), ErrorCode::Removed);
}

#[test]
fn removal_survives_the_stored_room_and_older_stored_rooms_still_load() {
    let mut fx = Fx::new();
    let sam = add_from(&mut fx, "c3", "device-of-sam-0001", "Sam");
    let token = fx.tokens["c3"].clone();
    remove(&mut fx, &sam);

    // Stored and loaded again (another instance taking the room over).
    let json = serde_json::to_string(&fx.room).unwrap();
    assert!(
        !json.contains("device-of-sam-0001"),
        "only the hash is kept"
    );
    fx.room = serde_json::from_str(&json).unwrap();
    let r = fx.join_ctx(&from_device("c3b", "device-of-sam-0001"), "Sam", None, None);
    assert_eq!(code(r), ErrorCode::Removed);
    assert_eq!(rejoin_notices(&fx.out()).len(), 1);
    // The removed token, too (the notice names them, once a minute).
    fx.now += MIN;
    let resume = Resume {
        member_id: sam.clone(),
        token,
        last_seq: 0,
        epoch: fx.room.epoch().into(),
    };
    let r = fx.join_ctx(&ctx("c3c"), "Sam", None, Some(&resume));
    assert_eq!(code(r), ErrorCode::Removed);
    let notices = rejoin_notices(&fx.out());
    assert_eq!(notices.len(), 1);
    assert!(notices[0].1.starts_with("Sam, who was removed"));

    // A room stored before devices were remembered still loads (and works).
    let mut old = fx.state();
    old.as_object_mut().unwrap().remove("removals");
    for m in old["members"].as_array_mut().unwrap() {
        m.as_object_mut().unwrap().remove("device_hash");
    }
    let mut room: Room = serde_json::from_value(old).unwrap();
    room.join(&ctx("c9"), PROTOCOL_VERSION, "Late", None, None, fx.now)
        .unwrap();
}

/// The host hears of a removal (to record the bar), with the device and the
/// account; once the bar is lifted, that device and account come back in.
#[test]
fn a_removal_is_an_effect_and_a_lifted_bar_lets_them_back() {
    let mut fx = Fx::new();
    fx.room.take_effects();
    let ctx = JoinCtx {
        account_id: Some("acct-sam".into()),
        ..from_device("c3", "device-of-sam-0009")
    };
    fx.join_ctx(&ctx, "Sam", None, None).unwrap();
    let out = fx.out();
    let sam = fx.record("c3", &out).0.member_id;
    remove(&mut fx, &sam);
    let fx_effects = fx.room.take_effects();
    assert_eq!(
        fx_effects,
        vec![Effect::Removed {
            member_id: sam.clone(),
            name: "Sam".into(),
            device_hash: Some(hash_secret("device-of-sam-0009")),
            account_id: Some("acct-sam".into()),
            removed_by: None,
        }]
    );
    // Kept out by device, and by account from another device.
    let by_account = JoinCtx {
        account_id: Some("acct-sam".into()),
        ..from_device("c4", "device-other-00001")
    };
    assert_eq!(
        fx.join_ctx(&by_account, "Sammy", None, None),
        Err(RoomError::Removed)
    );
    assert_eq!(
        fx.join_ctx(&from_device("c5", "device-of-sam-0009"), "S", None, None),
        Err(RoomError::Removed)
    );
    // Lifted: both come back.
    fx.room.lift_bar(&sam);
    fx.join_ctx(&from_device("c6", "device-of-sam-0009"), "Sam", None, None)
        .unwrap();
    fx.join_ctx(&by_account, "Sammy", None, None).unwrap();
    // Lifting an unknown member changes nothing.
    fx.room.lift_bar("nobody");
}
