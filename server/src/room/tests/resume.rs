//! Resume: replay of missed events, fresh welcomes, grace periods, lost instances.

use super::*;

#[test]
fn resume_replays_only_what_the_member_missed() {
    let mut fx = Fx::new();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let seen = fx.room.seq();
    let old_token = fx.tokens["c1"].clone();
    let mut missed: Vec<Out> = fx.disconnect("c1");
    missed.extend(fx.ok("c2", chat("while you were away")));
    missed.extend(fx.ok(
        "f",
        ClientMsg::InviteToShare {
            member_id: c2.clone(),
        },
    ));
    missed.extend(fx.ok(
        "c2",
        ClientMsg::SupportRequest {
            note: Some("private".into()),
        },
    ));
    missed.extend(fx.ok(
        "c2",
        ClientMsg::PersonalMute {
            member_id: fx.id("f"),
        },
    ));
    missed.extend(fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("pinned".into()),
        },
    ));
    let to_seq = fx.room.seq();
    let expected: Vec<ServerMsg> = visible_to(&missed, &c1).into_iter().cloned().collect();
    assert_eq!(expected.len(), 3, "member_updated, chat, room_updated");

    fx.now += 3 * SEC;
    let r = fx.resume_of("c1", seen);
    fx.join_raw("c1b", "ignored", None, Some(&r)).unwrap();
    let out = fx.out();
    assert_eq!(binds(&out), vec![("c1b".to_string(), c1.clone())]);
    assert!(closes(&out).is_empty());
    let got = replies(&out, "c1b");
    let (last, replay) = got.split_last().unwrap();
    assert_eq!(
        replay.iter().map(|m| (*m).clone()).collect::<Vec<_>>(),
        expected
    );
    let ServerMsg::Resumed {
        you,
        from_seq,
        to_seq: to,
        server_time,
    } = last
    else {
        panic!("resumed expected, got {last:?}")
    };
    assert_eq!((*from_seq, *to, *server_time), (seen, to_seq, fx.now));
    assert_eq!(
        (you.member_id.as_str(), you.role),
        (c1.as_str(), Role::Participant)
    );
    assert_ne!(you.resume_token, old_token, "tokens rotate");
    assert!(welcome_in(&out, "c1b").is_none());
    assert!(member_of(&out).online);
    let s = serde_json::to_string(&got).unwrap();
    assert!(!s.contains("private") && !s.contains("share_invite") && !s.contains("personal_mutes"));
    fx.ids.insert("c1b".into(), c1.clone());
    fx.tokens.insert("c1b".into(), you.resume_token.clone());
    // The member is back as itself (rules still accepted).
    fx.post("c1b", "back");
    fx.refuse("c1", chat("old connection"), ErrorCode::NotJoined);

    // The old token was good for one use only.
    let before_drop = fx.room.seq();
    fx.disconnect("c1b");
    let stale = Resume {
        token: old_token,
        ..fx.resume_of("c1b", fx.room.seq())
    };
    fx.join_refused("c1c", "", None, Some(&stale), ErrorCode::BadResume);
    let fresh = fx.resume_of("c1b", before_drop);
    fx.join_raw("c1c", "", None, Some(&fresh)).unwrap();
    let got = fx.out();
    let rs = replies(&got, "c1c");
    assert!(
        matches!(
            rs.as_slice(),
            [ServerMsg::Event { .. }, ServerMsg::Resumed { .. }]
        ),
        "only the member_updated it missed: {rs:?}"
    );
}

#[test]
fn resume_with_a_wrong_token_is_refused() {
    let mut fx = Fx::new();
    fx.disconnect("c1");
    let r = Resume {
        token: new_secret(),
        ..fx.resume_of("c1", fx.room.seq())
    };
    fx.join_refused("c1b", "Member c1", None, Some(&r), ErrorCode::BadResume);
    let r = Resume {
        token: fx.tokens["c2"].clone(),
        ..fx.resume_of("c1", fx.room.seq())
    };
    fx.join_refused("c1b", "Member c1", None, Some(&r), ErrorCode::BadResume);
}

#[test]
fn resume_from_another_epoch_gets_a_fresh_welcome() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.disconnect("c1");
    fx.post("c2", "meanwhile");
    let r = Resume {
        epoch: "another".into(),
        ..fx.resume_of("c1", fx.room.seq())
    };
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let (you, snap, reset) = welcome_in(&out, "c1b").expect("welcome");
    assert!(reset);
    assert_eq!(you.member_id, c1);
    assert_eq!(snap.epoch, fx.room.epoch());
    assert_eq!(snap.messages.len(), 1);
    assert!(binds(&out).contains(&("c1b".to_string(), c1.clone())));
    assert!(!replies(&out, "c1b")
        .iter()
        .any(|m| matches!(m, ServerMsg::Resumed { .. })));
    // The new epoch after a history loss: old seqs no longer resume.
    fx.ids.insert("c1b".into(), c1);
    fx.tokens.insert("c1b".into(), you.resume_token);
    let seen = fx.room.seq();
    fx.room.new_epoch();
    fx.disconnect("c1b");
    let r = Resume {
        epoch: "stale".into(),
        ..fx.resume_of("c1b", seen)
    };
    fx.join_raw("c1c", "", None, Some(&r)).unwrap();
    assert!(welcome_in(&fx.out(), "c1c").unwrap().2);
}

#[test]
fn resume_older_than_the_history_gets_a_fresh_welcome() {
    let limits = Limits {
        history: 4,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["c1", "c2"]);
    let seen = fx.room.seq();
    fx.disconnect("c1");
    for i in 0..6 {
        fx.post("c2", &format!("m{i}"));
    }
    let r = fx.resume_of("c1", seen);
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let (_, snap, reset) = welcome_in(&out, "c1b").expect("welcome");
    assert!(reset);
    assert_eq!(snap.messages.len(), 6);
    fx.ids.insert("c1b".into(), fx.id("c1"));
    fx.tokens.insert(
        "c1b".into(),
        welcome_in(&out, "c1b").unwrap().0.resume_token,
    );

    // Just inside the history: resumed.
    fx.disconnect("c1b");
    fx.post("c2", "one more");
    let r = fx.resume_of("c1b", fx.room.seq() - 2);
    fx.join_raw("c1c", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let rs = replies(&out, "c1c");
    assert_eq!(rs.len(), 3);
    assert!(matches!(rs[2], ServerMsg::Resumed { .. }));
}

#[test]
fn resume_from_the_future_gets_a_fresh_welcome() {
    let mut fx = Fx::new();
    fx.disconnect("c1");
    let r = fx.resume_of("c1", fx.room.seq() + 5);
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    assert!(welcome_in(&fx.out(), "c1b").unwrap().2);
}

#[test]
fn resume_while_still_connected_moves_the_member() {
    let mut fx = Fx::new();
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert_eq!(closes(&out), vec![("c1".to_string(), 4000)]);
    assert!(events(&out).is_empty(), "no presence change");
    assert!(matches!(
        replies(&out, "c1b")[..],
        [ServerMsg::Resumed { .. }]
    ));
    fx.refuse("c1", chat("x"), ErrorCode::NotJoined);
    fx.ids.insert("c1b".into(), fx.id("c1"));
    fx.post("c1b", "moved");
}

#[test]
fn disconnected_members_are_dropped_after_the_grace() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.ok("c1", ClientMsg::RaiseHand);
    fx.now = T0 + SEC;
    let out = fx.disconnect("c1");
    assert!(!member_of(&out).online);
    assert_eq!(
        fx.snapshot("c2")
            .roster
            .iter()
            .find(|m| m.id == c1)
            .map(|m| m.online),
        Some(false)
    );
    assert_eq!(fx.room.next_deadline(), Some(T0 + 21 * SEC));
    assert!(fx.tick(T0 + 21 * SEC - 1).is_empty());
    let out = fx.tick(T0 + 21 * SEC);
    let (_, _, Event::MemberLeft { member_id, reason }) = one(&out, "member_left") else {
        unreachable!()
    };
    assert_eq!((member_id, *reason), (&c1, LeaveReason::Disconnected));
    assert!(fx.snapshot("c2").roster.iter().all(|m| m.id != c1));
    assert!(fx.snapshot("c2").hands.is_empty());
    assert_eq!(fx.room.next_deadline(), None);
    // Coming back with the token is now a new member (issue 22 F.2): see
    // resume_after_the_grace_is_a_new_member_and_no_ghost.
}

#[test]
fn leave_is_final() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    let out = fx.ok("c1", ClientMsg::Leave);
    let (_, _, Event::MemberLeft { member_id, reason }) = one(&out, "member_left") else {
        unreachable!()
    };
    assert_eq!((member_id, *reason), (&c1, LeaveReason::Left));
    assert!(closes(&out).is_empty());
    fx.refuse("c1", chat("x"), ErrorCode::NotJoined);
    assert!(fx.disconnect("c1").is_empty());
}

#[test]
fn instance_lost_disconnects_its_members_only() {
    let mut fx = Fx::new();
    let c = JoinCtx {
        conn: "c3".into(),
        instance: "i2".into(),
        addr_hash: None,
        device_hash: None,
        account_id: None,
    };
    fx.join_ctx(&c, "Elsewhere", None, None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("c3", &out);
    let pending = JoinCtx {
        conn: "c4".into(),
        instance: "i2".into(),
        addr_hash: None,
        device_hash: None,
        account_id: None,
    };
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_ctx(&pending, "Waiting", None, None).unwrap();
    fx.out();
    assert!(fx
        .room
        .member_instances()
        .contains(&(you.member_id.clone(), "i2".to_string())));
    fx.room.instance_lost("i2", fx.now);
    let out = fx.out();
    // Its members leave the roster at once; the waiting queue drops its people.
    let (_, _, Event::MemberLeft { member_id, reason }) = one(&out, "member_left") else {
        unreachable!()
    };
    assert_eq!(
        (member_id, *reason),
        (&you.member_id, LeaveReason::Disconnected)
    );
    assert!(waiting_of(&out).1.is_empty());
    assert!(fx.snapshot("f").waiting.is_empty());
    let online: Vec<String> = fx
        .room
        .member_instances()
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    assert_eq!(online, vec!["i1"; 3]);
    let mut conns = fx.room.conns();
    conns.sort();
    assert_eq!(conns, vec!["c1", "c2", "f"]);
    // The member may resume through another instance.
    let r = fx.resume_of("c3", fx.room.seq());
    let c = JoinCtx {
        conn: "c3b".into(),
        instance: "i1".into(),
        addr_hash: None,
        device_hash: None,
        account_id: None,
    };
    fx.join_ctx(&c, "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert!(matches!(
        replies(&out, "c3b").last(),
        Some(ServerMsg::Resumed { .. })
    ));
    assert_eq!(fx.room.member_instances().len(), 4);
}

/// Every roster entry of `name` in c2's view, as (id, online).
fn entries_named(fx: &Fx, name: &str) -> Vec<(String, bool)> {
    fx.snapshot("c2")
        .roster
        .into_iter()
        .filter(|m| m.name == name)
        .map(|m| (m.id, m.online))
        .collect()
}

#[test]
fn resume_after_the_grace_is_a_new_member_and_no_ghost() {
    let mut fx = Fx::new();
    let old = fx.id("c1");
    fx.disconnect("c1");
    let out = fx.tick(T0 + 21 * SEC);
    one(&out, "member_left");
    // A wrong token is still refused.
    let bad = Resume {
        token: new_secret(),
        ..fx.resume_of("c1", fx.room.seq())
    };
    fx.join_refused("c1b", "Member c1", None, Some(&bad), ErrorCode::BadResume);
    // With the right token: a clean new join, new id, plain welcome.
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_raw("c1b", "Member c1", None, Some(&r)).unwrap();
    let out = fx.out();
    let (you, snap, reset) = fx.record("c1b", &out);
    assert_ne!(you.member_id, old, "a new member");
    assert!(!reset, "a plain welcome");
    assert_eq!(you.role, Role::Participant);
    assert!(!replies(&out, "c1b")
        .iter()
        .any(|m| matches!(m, ServerMsg::Resumed { .. })));
    // Everyone is told of one member joining, online; nothing about the old id.
    let (aud, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(
        (member.id.as_str(), member.name.as_str(), member.online),
        (you.member_id.as_str(), "Member c1", true)
    );
    assert_eq!(kinds(&out), vec!["member_joined"]);
    // Rosters show the person online exactly once, never an offline copy.
    assert_eq!(
        entries_named(&fx, "Member c1"),
        vec![(you.member_id.clone(), true)]
    );
    assert!(snap.roster.iter().all(|m| m.id != old));
    // A new member accepts the rules anew.
    assert_eq!(fx.member("c1b").accepted_rules, 0);
    fx.refuse("c1b", chat("hi"), ErrorCode::RulesNotAccepted);
    // The old token is used up: it brings nobody back a second time.
    fx.disconnect("c1b");
    let again = Resume {
        member_id: old.clone(),
        ..r
    };
    fx.join_raw("c1c", "Someone else", None, Some(&again))
        .unwrap();
    let out = fx.out();
    let (third, _, _) = fx.record("c1c", &out);
    assert!(third.member_id != old && third.member_id != you.member_id);
}

#[test]
fn resume_after_the_grace_with_a_blank_name_keeps_the_old_name() {
    let mut fx = Fx::new();
    fx.disconnect("c1");
    fx.tick(T0 + 21 * SEC);
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("c1b", &out);
    assert_eq!(entries_named(&fx, "Member c1"), vec![(you.member_id, true)]);
}

#[test]
fn a_member_back_from_a_lost_instance_is_shown_online() {
    let mut fx = Fx::new();
    let c = JoinCtx {
        conn: "c3".into(),
        instance: "i2".into(),
        addr_hash: None,
        device_hash: None,
        account_id: None,
    };
    fx.join_ctx(&c, "Elsewhere", None, None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("c3", &out);
    fx.room.instance_lost("i2", fx.now);
    fx.out();
    let r = fx.resume_of("c3", fx.room.seq());
    fx.join_raw("c3b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    // Back as themselves (same id), and shown online to everyone.
    let (_, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(member.id, you.member_id);
    assert!(member.online, "others see the member back online");
    assert_eq!(
        entries_named(&fx, "Elsewhere"),
        vec![(you.member_id.clone(), true)]
    );
}
