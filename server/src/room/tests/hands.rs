//! Raised hands and calling on people.

use super::*;

fn hands_of(out: &[Out]) -> Vec<String> {
    let (aud, _, Event::Hands { queue }) = one(out, "hands") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    queue.clone()
}

#[test]
fn raise_hand_queue() {
    let mut fx = Fx::new();
    fx.add("c3", "Three");
    let (c1, c2, c3) = (fx.id("c1"), fx.id("c2"), fx.id("c3"));
    assert_eq!(
        hands_of(&fx.ok("c2", ClientMsg::RaiseHand)),
        vec![c2.clone()]
    );
    assert_eq!(
        hands_of(&fx.ok("c1", ClientMsg::RaiseHand)),
        vec![c2.clone(), c1.clone()]
    );
    // Raising twice keeps the place in the queue.
    assert!(fx.ok("c2", ClientMsg::RaiseHand).is_empty());
    assert_eq!(
        hands_of(&fx.ok("c3", ClientMsg::RaiseHand)),
        vec![c2.clone(), c1.clone(), c3.clone()]
    );
    assert_eq!(
        fx.snapshot("c1").hands,
        vec![c2.clone(), c1.clone(), c3.clone()]
    );

    assert_eq!(
        hands_of(&fx.ok("c1", ClientMsg::LowerHand { member_id: None })),
        vec![c2.clone(), c3.clone()]
    );
    assert!(fx
        .ok("c1", ClientMsg::LowerHand { member_id: None })
        .is_empty());
    assert_eq!(
        hands_of(&fx.ok("c1", ClientMsg::RaiseHand)),
        vec![c2.clone(), c3.clone(), c1.clone()]
    );
    fx.refuse(
        "c1",
        ClientMsg::LowerHand {
            member_id: Some(c2.clone()),
        },
        ErrorCode::Forbidden,
    );
    // Naming yourself is fine.
    assert_eq!(
        hands_of(&fx.ok(
            "c1",
            ClientMsg::LowerHand {
                member_id: Some(c1.clone())
            }
        )),
        vec![c2.clone(), c3.clone()]
    );
    // A facilitator may lower anyone's hand.
    assert_eq!(
        hands_of(&fx.ok(
            "f",
            ClientMsg::LowerHand {
                member_id: Some(c3.clone())
            }
        )),
        vec![c2.clone()]
    );

    fx.ok("c1", ClientMsg::RaiseHand);
    let out = fx.ok(
        "f",
        ClientMsg::CallOn {
            member_id: c1.clone(),
        },
    );
    assert_eq!(kinds(&out), vec!["called_on", "hands"]);
    let (_, _, Event::CalledOn { member_id }) = one(&out, "called_on") else {
        unreachable!()
    };
    assert_eq!(member_id, &c1);
    assert_eq!(hands_of(&out), vec![c2.clone()]);
    fx.refuse(
        "f",
        ClientMsg::CallOn {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c2",
        ClientMsg::CallOn { member_id: c1 },
        ErrorCode::Forbidden,
    );
    // Leaving takes your hand down.
    fx.ok("c2", ClientMsg::Leave);
    assert!(fx.snapshot("c3").hands.is_empty());
}
