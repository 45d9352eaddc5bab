//! The lead facilitator: who it is, what only it may do, rotating the key, and
//! taking authority back after a co-facilitator's takeover.

use super::*;

/// A second key holder joins on `conn` as `name`; returns its member id.
fn key_holder(fx: &mut Fx, conn: &str, name: &str) -> String {
    fx.join_raw(conn, name, Some(KEY), None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record(conn, &out);
    assert_eq!(you.role, Role::Facilitator);
    you.member_id
}

fn lead_of(fx: &Fx, conn: &str) -> Option<String> {
    fx.snapshot(conn).lead_id
}

/// Ids of the members shown as lead in a roster.
fn leads_in(snap: &RoomSnapshot) -> Vec<String> {
    snap.roster
        .iter()
        .filter(|m| m.lead)
        .map(|m| m.id.clone())
        .collect()
}

#[test]
fn the_first_key_holder_is_the_lead_and_stays_it_across_resumes() {
    let mut fx = Fx::new();
    let f = fx.id("f");
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    for conn in ["f", "f2", "c1"] {
        assert_eq!(lead_of(&fx, conn), Some(f.clone()), "{conn}");
        assert_eq!(leads_in(&fx.snapshot(conn)), vec![f.clone()]);
    }
    assert!(!fx.member("f2").lead);
    assert_eq!(fx.member("f2").id, f2);
    // The lead's own disconnect and resume keep the seat.
    fx.disconnect("f");
    fx.now += 5 * SEC;
    fx.resume("f", "fb");
    assert_eq!(fx.id("fb"), f);
    assert_eq!(lead_of(&fx, "c1"), Some(f.clone()));
    // ... even after a stale-epoch welcome.
    fx.disconnect("fb");
    let r = Resume {
        epoch: "old".into(),
        ..fx.resume_of("fb", 0)
    };
    fx.join_raw("fc", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let (you, snap, reset) = welcome_in(&out, "fc").unwrap();
    assert!(reset);
    assert_eq!(you.member_id, f);
    assert_eq!(snap.lead_id, Some(f.clone()));
}

#[test]
fn the_lead_can_demote_and_remove_other_key_holders() {
    let mut fx = Fx::new();
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    let f3 = key_holder(&mut fx, "f3", "Dr Three");
    let out = fx.ok(
        "f",
        ClientMsg::Demote {
            member_id: f2.clone(),
        },
    );
    let m = member_of(&out);
    assert_eq!(
        (m.id.as_str(), m.role, m.creator),
        (f2.as_str(), Role::Participant, false)
    );
    fx.refuse("f2", ClientMsg::Lock { locked: true }, ErrorCode::Forbidden);
    // The lead may remove another key holder.
    let out = fx.ok(
        "f",
        ClientMsg::Remove {
            member_id: f3.clone(),
        },
    );
    let (_, _, Event::MemberLeft { member_id, reason }) = one(&out, "member_left") else {
        unreachable!()
    };
    assert_eq!((member_id, *reason), (&f3, LeaveReason::Removed));
    assert!(closes(&out).contains(&("f3".to_string(), 4001)));
    // The lead may mute another facilitator too.
    let f4 = key_holder(&mut fx, "f4", "Dr Four");
    assert!(member_of(&fx.ok("f", ClientMsg::Mute { member_id: f4 })).muted);
}

#[test]
fn other_facilitators_cannot_take_authority_from_each_other_or_the_lead() {
    let mut fx = Fx::new();
    let f = fx.id("f");
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    let f3 = key_holder(&mut fx, "f3", "Dr Three");
    let c1 = fx.id("c1");
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    for (conn, target) in [("f2", &f), ("f2", &f3), ("c1", &f), ("c1", &f2), ("f", &f)] {
        for msg in [
            ClientMsg::Demote {
                member_id: target.clone(),
            },
            ClientMsg::Remove {
                member_id: target.clone(),
            },
            ClientMsg::Mute {
                member_id: target.clone(),
            },
        ] {
            fx.refuse(conn, msg, ErrorCode::Forbidden);
        }
    }
    // Only the lead rotates the key.
    fx.refuse("f2", ClientMsg::RotateKey, ErrorCode::Forbidden);
    fx.refuse("c1", ClientMsg::RotateKey, ErrorCode::Forbidden);
    fx.refuse("c2", ClientMsg::RotateKey, ErrorCode::Forbidden);
    // A non-lead facilitator still moderates co-facilitators and participants.
    let out = fx.ok(
        "f2",
        ClientMsg::Demote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(member_of(&out).role, Role::Participant);
}

#[test]
fn rotating_the_key_is_private_to_the_lead_and_demotes_other_key_holders() {
    let mut fx = Fx::new();
    let f = fx.id("f");
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    let c1 = fx.id("c1");
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    let old_hash = fx.room.key_hash().to_string();
    let out = fx.ok("f", ClientMsg::RotateKey);
    // The new key goes to the lead's connection only, in a reply.
    let key = match replies(&out, "f")[..] {
        [ServerMsg::FacilitatorKey { facilitator_key }] => facilitator_key.clone(),
        ref other => panic!("expected the new key, got {other:?}"),
    };
    assert_eq!(key.len(), 32);
    assert_ne!(fx.room.key_hash(), old_hash);
    assert_eq!(fx.room.key_hash(), hash_secret(&key));
    for o in &out {
        if let Out::Frame { audience, msg } = o {
            if !matches!(audience, Audience::Conn(c) if c == "f") {
                let json = serde_json::to_string(msg).unwrap();
                assert!(!json.contains(&key), "the key leaked to {audience:?}");
            }
        }
    }
    // Only the hash is kept: not in the state, not in the history.
    assert!(!fx.state().to_string().contains(&key));
    assert!(!fx.history_json().contains(&key));
    // Everyone is told, without the key; the other key holder is a participant now.
    let (aud, _, Event::KeyRotated { demoted }) = one(&out, "key_rotated") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(demoted, &vec![f2.clone()]);
    let m = fx.member("f2");
    assert_eq!((m.role, m.creator), (Role::Participant, false));
    // Co-facilitators (promoted by a facilitator) keep their role; the lead stays.
    assert_eq!(fx.member("c1").role, Role::CoFacilitator);
    assert_eq!(fx.member("f").role, Role::Facilitator);
    assert_eq!(lead_of(&fx, "c2"), Some(f.clone()));
    // The old key no longer joins; the new one does.
    fx.join_refused("f3", "Dr Three", Some(KEY), None, ErrorCode::Forbidden);
    fx.join_raw("f3", "Dr Three", Some(&key), None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("f3", &out);
    assert_eq!(you.role, Role::Facilitator);
    assert_eq!(lead_of(&fx, "f3"), Some(f));
}

#[test]
fn a_takeover_is_undone_when_the_lead_returns() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    fx.disconnect("f");
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(notice_of(&out), "facilitator_takeover");
    assert_eq!(fx.member("c1").role, Role::Facilitator);
    fx.now = T0 + 15 * SEC;
    let out = fx.resume("f", "fb");
    let back: Vec<(String, Role)> = all_of(&out, "member_updated")
        .into_iter()
        .map(|(_, _, e)| match e {
            Event::MemberUpdated { member } => (member.id.clone(), member.role),
            _ => unreachable!(),
        })
        .collect();
    assert!(
        back.contains(&(c1.clone(), Role::CoFacilitator)),
        "{back:?}"
    );
    assert_eq!(notice_of(&out), "lead_returned");
    assert_eq!(fx.member("c1").role, Role::CoFacilitator);
    // Nothing is left to undo a second time.
    fx.disconnect("fb");
    fx.now = T0 + 16 * SEC;
    let out = fx.resume("fb", "fc");
    assert!(all_of(&out, "room_notice").is_empty());
}

#[test]
fn a_returning_facilitator_who_is_not_the_lead_undoes_nothing() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    fx.disconnect("f");
    fx.disconnect("f2");
    fx.tick(T0 + 10 * SEC);
    assert_eq!(fx.member("c1").role, Role::Facilitator);
    // The second key holder comes back first: not the lead, nothing undone.
    let out = fx.resume("f2", "f2b");
    assert!(all_of(&out, "room_notice").is_empty());
    assert_eq!(fx.member("c1").role, Role::Facilitator);
    assert_eq!(fx.room.member_count(), 4);
    assert!(!f2.is_empty());
}

#[test]
fn the_lead_seat_when_the_lead_is_gone() {
    let mut fx = Fx::new();
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    // A lost instance is not gone: the seat waits for the lead's resume.
    let mut gx = Fx::new();
    let g = gx.id("f");
    gx.room.instance_lost("i1", gx.now);
    gx.out();
    let g2 = key_holder(&mut gx, "g2", "Dr Two");
    assert!(!gx.member("g2").lead);
    // (The snapshot names a lead in the roster only.)
    assert_eq!(lead_of(&gx, "g2"), None);
    let c = JoinCtx {
        conn: "gb".into(),
        instance: "i2".into(),
        addr_hash: None,
        device_hash: None,
        account_id: None,
    };
    let r = gx.resume_of("f", gx.room.seq());
    gx.join_ctx(&c, "", None, Some(&r)).unwrap();
    let out = gx.out();
    assert!(matches!(
        replies(&out, "gb").last(),
        Some(ServerMsg::Resumed { .. })
    ));
    assert_eq!(lead_of(&gx, "g2"), Some(g.clone()));
    assert_ne!(g2, g);

    // Leaving for good vacates the seat; the other facilitators keep their role.
    let out = fx.ok("f", ClientMsg::Leave);
    one(&out, "member_left");
    assert_eq!(lead_of(&fx, "f2"), None);
    assert_eq!(fx.member("f2").role, Role::Facilitator);
    fx.refuse("f2", ClientMsg::RotateKey, ErrorCode::Forbidden);
    // The next member to join with the key takes it.
    let f3 = key_holder(&mut fx, "f3", "Dr Three");
    assert_eq!(lead_of(&fx, "c1"), Some(f3.clone()));
    assert!(fx.member("f3").lead);
    assert!(!fx.member("f2").lead);
    // Dropped past the grace: vacant again, and back with the key, the lead again.
    fx.disconnect("f3");
    fx.tick(T0 + 21 * SEC);
    assert_eq!(lead_of(&fx, "c1"), None);
    let r = fx.resume_of("f3", fx.room.seq());
    fx.join_raw("f3b", "Dr Three", Some(KEY), Some(&r)).unwrap();
    let out = fx.out();
    let (you, snap, _) = fx.record("f3b", &out);
    assert_ne!(you.member_id, f3);
    assert_eq!(snap.lead_id, Some(you.member_id.clone()));
    assert!(!f2.is_empty());
}

#[test]
fn handing_over_passes_the_lead() {
    let mut fx = Fx::new();
    let f = fx.id("f");
    let c1 = fx.id("c1");
    let out = fx.ok(
        "f",
        ClientMsg::HandOver {
            member_id: c1.clone(),
        },
    );
    let ups: Vec<(String, Role, bool)> = all_of(&out, "member_updated")
        .into_iter()
        .map(|(_, _, e)| match e {
            Event::MemberUpdated { member } => (member.id.clone(), member.role, member.lead),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        ups,
        vec![
            (c1.clone(), Role::Facilitator, true),
            (f.clone(), Role::CoFacilitator, false)
        ]
    );
    assert_eq!(lead_of(&fx, "c2"), Some(c1.clone()));
    // The new lead may rotate the key; the old one may not.
    fx.refuse("f", ClientMsg::RotateKey, ErrorCode::Forbidden);
    fx.ok("c1", ClientMsg::RotateKey);
}

#[test]
fn the_owner_sets_a_new_key_through_the_room() {
    let mut fx = Fx::new();
    let f = fx.id("f");
    let f2 = key_holder(&mut fx, "f2", "Dr Two");
    let _ = fx.out();
    let new_key = "an owner's fresh key, never stored";
    fx.room.owner_set_key(hash_secret(new_key), T0);
    let out = fx.out();
    assert_eq!(fx.room.key_hash(), hash_secret(new_key));
    // As with the lead's rotation: everyone told, the other key holder demoted, the lead stays.
    let (aud, _, Event::KeyRotated { demoted }) = one(&out, "key_rotated") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(demoted, &vec![f2]);
    assert_eq!(fx.member("f").role, Role::Facilitator);
    assert_eq!(lead_of(&fx, "f"), Some(f));
    // Only the hash reached the room; the old key no longer joins, the new one does.
    assert!(!fx.state().to_string().contains(new_key));
    fx.join_refused("f3", "Dr Three", Some(KEY), None, ErrorCode::Forbidden);
    fx.join_raw("f3", "Dr Three", Some(new_key), None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("f3", &out);
    assert_eq!(you.role, Role::Facilitator);
}
