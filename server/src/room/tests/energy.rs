//! Energy checks: anonymous aggregates, one open at a time.

use super::*;

#[test]
fn energy_check_shows_only_the_anonymous_aggregate() {
    let mut fx = Fx::new();
    let c = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    assert!(c.open);
    assert_eq!((c.count, c.distribution), (0, [0; 5]));
    let mut room_wide: Vec<Out> = vec![];
    for (conn, level) in [("c1", 4u8), ("c2", 1), ("f", 4)] {
        let me = fx.id(conn);
        let out = fx.ok(
            conn,
            ClientMsg::EnergyAnswer {
                check_id: c.id.clone(),
                level,
            },
        );
        assert_eq!(kinds(&out), vec!["energy_answered", "energy_check"]);
        let (aud, _, Event::EnergyAnswered { check_id, level: l }) = one(&out, "energy_answered")
        else {
            unreachable!()
        };
        assert_eq!(aud, &Audience::Members(vec![me.clone()]));
        assert_eq!((check_id, *l), (&c.id, level));
        // Nothing anyone else receives names who answered.
        for o in &out {
            if let Out::Frame { audience, msg } = o {
                if audience != &Audience::Members(vec![me.clone()]) {
                    let s = serde_json::to_string(msg).unwrap();
                    assert!(!s.contains(&me), "{s} reveals the answerer");
                    assert!(!s.contains("energy_answered"));
                }
            }
        }
        room_wide.extend(out);
    }
    let agg = check_of(&room_wide[room_wide.len() - 1..]);
    assert_eq!((agg.count, agg.distribution), (3, [1, 0, 0, 2, 0]));
    let snap = serde_json::to_string(&fx.snapshot("c2").energy_check).unwrap();
    assert!(!snap.contains(&fx.id("c1")));

    fx.refuse(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: c.id.clone(),
            level: 3,
        },
        ErrorCode::Invalid,
    );
    fx.add("c3", "Three");
    fx.refuse(
        "c3",
        ClientMsg::EnergyAnswer {
            check_id: c.id.clone(),
            level: 0,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c3",
        ClientMsg::EnergyAnswer {
            check_id: c.id.clone(),
            level: 6,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c3",
        ClientMsg::EnergyAnswer {
            check_id: "nope".into(),
            level: 3,
        },
        ErrorCode::NotFound,
    );

    let closed = check_of(&fx.ok(
        "f",
        ClientMsg::CloseEnergyCheck {
            check_id: c.id.clone(),
        },
    ));
    assert!(!closed.open);
    assert_eq!((closed.count, closed.distribution), (3, [1, 0, 0, 2, 0]));
    fx.refuse(
        "c3",
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
fn opening_an_energy_check_closes_the_previous_one() {
    let mut fx = Fx::new();
    let a = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck));
    fx.ok(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: a.id.clone(),
            level: 5,
        },
    );
    let out = fx.ok("f", ClientMsg::OpenEnergyCheck);
    let checks = all_of(&out, "energy_check");
    assert_eq!(checks.len(), 2);
    let (Event::EnergyCheck { check: old }, Event::EnergyCheck { check: new }) =
        (checks[0].2, checks[1].2)
    else {
        unreachable!()
    };
    assert_eq!(
        (old.id.as_str(), old.open, old.count),
        (a.id.as_str(), false, 1)
    );
    assert!(new.open && new.id != a.id);
    fx.refuse(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: a.id,
            level: 5,
        },
        ErrorCode::NotFound,
    );
    // The member may answer the new check.
    fx.ok(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: new.id.clone(),
            level: 5,
        },
    );
}
