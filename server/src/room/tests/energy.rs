//! Energy checks: anonymous aggregates, shown only from k answers on (in steps
//! of k), counts batched, one check open at a time.

use super::*;
use crate::room::commands::COUNT_EVERY_MS;

fn answer(fx: &mut Fx, conn: &str, check_id: &str, level: u8) -> Vec<Out> {
    fx.ok(
        conn,
        ClientMsg::EnergyAnswer {
            check_id: check_id.into(),
            level,
        },
    )
}

/// A vote yields one frame: `energy_answered`, to the voter only.
fn assert_only_the_voter_hears(fx: &Fx, conn: &str, out: &[Out], level: u8) {
    let me = fx.id(conn);
    assert_eq!(kinds(out), vec!["energy_answered"]);
    let (aud, _, Event::EnergyAnswered { level: l, .. }) = one(out, "energy_answered") else {
        unreachable!()
    };
    assert_eq!((aud, *l), (&Audience::Members(vec![me]), level));
}

/// Every frame anyone (but a voter hearing its own answer) received: no
/// levels, no distribution.
fn assert_no_levels(out: &[Out]) {
    for o in out {
        let Out::Frame { msg, .. } = o else { continue };
        if let ServerMsg::Event {
            event: Event::EnergyAnswered { .. },
            ..
        } = msg
        {
            continue;
        }
        let s = serde_json::to_string(msg).unwrap();
        assert!(!s.contains("\"distribution\":["), "{s} shows levels");
        if let ServerMsg::Event {
            event: Event::EnergyCheck { check },
            ..
        } = msg
        {
            assert_eq!(check.distribution, None);
        }
    }
}

#[test]
fn two_answers_in_a_two_person_room_reveal_nothing_to_anyone() {
    let mut fx = Fx::with(group(), Limits::default(), &["c1"]);
    let mut seen: Vec<Out> = vec![];
    let open = fx.ok("f", ClientMsg::OpenEnergyCheck);
    let c = check_of(&open);
    assert_eq!((c.open, c.count, c.distribution), (true, 0, None));
    seen.extend(open);
    for (conn, level) in [("c1", 2u8), ("f", 5)] {
        fx.now += SEC;
        let out = answer(&mut fx, conn, &c.id, level);
        // No room-wide frame follows a vote: nothing pins it on the voter.
        assert_only_the_voter_hears(&fx, conn, &out, level);
        seen.extend(out);
    }
    // The count comes batched, once, without levels.
    let due = T0 + SEC + COUNT_EVERY_MS;
    assert_eq!(fx.room.next_deadline(), Some(due));
    assert!(fx.tick(due - 1).is_empty());
    let out = fx.tick(due);
    let counted = check_of(&out);
    assert_eq!((counted.count, counted.distribution), (2, None));
    seen.extend(out);
    assert!(fx.tick(due + COUNT_EVERY_MS).is_empty());
    // A newcomer's welcome shows the count alone.
    let snap = fx.snapshot("c1").energy_check.unwrap();
    assert_eq!((snap.count, snap.distribution), (2, None));
    // Closing below k shows nothing more; nor does the summary.
    let out = fx.ok(
        "f",
        ClientMsg::CloseEnergyCheck {
            check_id: c.id.clone(),
        },
    );
    let closed = check_of(&out);
    assert_eq!(
        (closed.open, closed.count, closed.distribution),
        (false, 2, None)
    );
    seen.extend(out);
    let out = fx.ok("f", ClientMsg::EndSession);
    seen.extend(out);
    assert_no_levels(&seen);
    let summary = fx.room.summary().unwrap();
    assert_eq!(summary.energy_checks.len(), 1);
    assert_eq!(summary.energy_checks[0].distribution, None);
    let md = crate::room::summary::markdown(summary);
    assert!(md.contains("| 1 | 2 | – | – | – | – | – |"), "{md}");
}

#[test]
fn the_kth_answer_reveals_the_levels_to_everyone() {
    let mut fx = Fx::new();
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    for (conn, level) in [("c1", 4u8), ("c2", 1)] {
        let out = answer(&mut fx, conn, &c.id, level);
        assert_only_the_voter_hears(&fx, conn, &out, level);
    }
    let out = answer(&mut fx, "f", &c.id, 4);
    assert_eq!(kinds(&out), vec!["energy_answered", "energy_check"]);
    let shown = check_of(&out);
    assert_eq!(
        (shown.count, shown.distribution),
        (3, Some([1, 0, 0, 2, 0]))
    );
    // Nothing anyone receives names who answered.
    for (aud, _, e) in events(&out) {
        if matches!(e, Event::EnergyCheck { .. }) {
            let s = serde_json::to_string(e).unwrap();
            for conn in ["c1", "c2", "f"] {
                assert!(!s.contains(&fx.id(conn)), "{s} names an answerer");
            }
            assert_eq!(aud, &Audience::All);
        }
    }
    // The reveal carries the count: no batched count is left to send.
    assert_eq!(fx.room.next_deadline(), None);
    assert_eq!(fx.snapshot("c2").energy_check, Some(shown.clone()));
    let closed = check_of(&fx.ok(
        "f",
        ClientMsg::CloseEnergyCheck {
            check_id: c.id.clone(),
        },
    ));
    assert_eq!(
        (closed.open, closed.count, closed.distribution),
        (false, 3, Some([1, 0, 0, 2, 0]))
    );
}

#[test]
fn after_the_reveal_levels_move_only_in_steps_of_k() {
    let mut fx = Fx::with(group(), Limits::default(), &["a", "b", "c", "d", "e", "g"]);
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    for (conn, level) in [("a", 1u8), ("b", 2), ("c", 3)] {
        answer(&mut fx, conn, &c.id, level);
    }
    // Two more: one more frame each would tell their levels by difference.
    for (conn, level) in [("d", 5u8), ("e", 5)] {
        let out = answer(&mut fx, conn, &c.id, level);
        assert_only_the_voter_hears(&fx, conn, &out, level);
    }
    let out = fx.tick(fx.now + COUNT_EVERY_MS);
    let counted = check_of(&out);
    assert_eq!(
        (counted.count, counted.distribution),
        (5, Some([1, 1, 1, 0, 0]))
    );
    // The sixth answer is the third since the last levels shown: new levels.
    let out = answer(&mut fx, "g", &c.id, 4);
    let shown = check_of(&out);
    assert_eq!(
        (shown.count, shown.distribution),
        (6, Some([1, 1, 1, 1, 2]))
    );
    // A seventh, then close: its level stays hidden, the count is exact.
    answer(&mut fx, "f", &c.id, 1);
    let closed = check_of(&fx.ok(
        "f",
        ClientMsg::CloseEnergyCheck {
            check_id: c.id.clone(),
        },
    ));
    assert_eq!(
        (closed.count, closed.distribution),
        (7, Some([1, 1, 1, 1, 2]))
    );
    // No batched count fires after the close.
    assert_eq!(fx.room.next_deadline(), None);
}

#[test]
fn k_comes_from_the_limits_and_is_never_below_three() {
    let limits = Limits {
        energy_min_answers: 4,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["a", "b", "c"]);
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    for (conn, level) in [("a", 3u8), ("b", 3), ("c", 2)] {
        let out = answer(&mut fx, conn, &c.id, level);
        assert_only_the_voter_hears(&fx, conn, &out, level);
    }
    let shown = check_of(&answer(&mut fx, "f", &c.id, 5));
    assert_eq!(
        (shown.count, shown.distribution),
        (4, Some([0, 1, 2, 0, 1]))
    );

    // A room whose limits say less still waits for three.
    let limits = Limits {
        energy_min_answers: 1,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["a", "b"]);
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    for conn in ["a", "b"] {
        let out = answer(&mut fx, conn, &c.id, 3);
        assert_only_the_voter_hears(&fx, conn, &out, 3);
    }
    let shown = check_of(&answer(&mut fx, "f", &c.id, 3));
    assert_eq!(shown.distribution, Some([0, 0, 3, 0, 0]));
}

#[test]
fn energy_answers_are_checked() {
    let mut fx = Fx::new();
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    answer(&mut fx, "c1", &c.id, 4);
    fx.refuse(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: c.id.clone(),
            level: 3,
        },
        ErrorCode::Invalid,
    );
    for level in [0, 6] {
        fx.refuse(
            "c2",
            ClientMsg::EnergyAnswer {
                check_id: c.id.clone(),
                level,
            },
            ErrorCode::Invalid,
        );
    }
    fx.refuse(
        "c2",
        ClientMsg::EnergyAnswer {
            check_id: "nope".into(),
            level: 3,
        },
        ErrorCode::NotFound,
    );
    fx.ok(
        "f",
        ClientMsg::CloseEnergyCheck {
            check_id: c.id.clone(),
        },
    );
    fx.refuse(
        "c2",
        ClientMsg::EnergyAnswer {
            check_id: c.id.clone(),
            level: 3,
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::CloseEnergyCheck { check_id: c.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn the_tally_survives_a_takeover() {
    let mut fx = Fx::new();
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    answer(&mut fx, "c1", &c.id, 2);
    answer(&mut fx, "c2", &c.id, 2);
    // Another instance loads the stored state and carries on.
    let json = serde_json::to_string(&fx.room).unwrap();
    fx.room = serde_json::from_str(&json).unwrap();
    fx.room.restore(vec![]);
    fx.last_seq = fx.room.seq();
    let shown = check_of(&answer(&mut fx, "f", &c.id, 5));
    assert_eq!(
        (shown.count, shown.distribution),
        (3, Some([0, 2, 0, 0, 1]))
    );
}

#[test]
fn opening_an_energy_check_closes_the_previous_one() {
    let mut fx = Fx::new();
    let a = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    answer(&mut fx, "c1", &a.id, 5);
    let out = fx.ok("f", ClientMsg::OpenEnergyCheck);
    let checks = all_of(&out, "energy_check");
    assert_eq!(checks.len(), 2);
    let (Event::EnergyCheck { check: old }, Event::EnergyCheck { check: new }) =
        (checks[0].2, checks[1].2)
    else {
        unreachable!()
    };
    assert_eq!(
        (old.id.as_str(), old.open, old.count, old.distribution),
        (a.id.as_str(), false, 1, None)
    );
    assert!(new.open && new.id != a.id);
    // The old check's batched count is not sent any more.
    assert_eq!(fx.room.next_deadline(), None);
    fx.refuse(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: a.id,
            level: 5,
        },
        ErrorCode::NotFound,
    );
    // The member may answer the new check.
    answer(&mut fx, "c1", &new.id, 5);
}
