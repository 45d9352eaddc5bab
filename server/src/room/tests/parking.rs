//! The parking lot.

use super::*;

#[test]
fn parking_lot() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "What about the new rota?");
    let items = parking_of(&fx.ok(
        "f",
        ClientMsg::Park {
            message_id: None,
            text: Some(" Rota ".into()),
        },
    ));
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].text.as_str(), items[0].message_id.clone()),
        ("Rota", None)
    );
    fx.refuse(
        "c1",
        ClientMsg::Park {
            message_id: Some(msg.clone()),
            text: None,
        },
        ErrorCode::Forbidden,
    );

    let out = fx.ok("f", ClientMsg::AllowParking { enabled: true });
    assert!(info_of(&out).members_can_park);
    let items = parking_of(&fx.ok(
        "c1",
        ClientMsg::Park {
            message_id: Some(msg.clone()),
            text: None,
        },
    ));
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[1].text.as_str(), items[1].message_id.as_deref()),
        ("What about the new rota?", Some(msg.as_str()))
    );
    fx.refuse(
        "c1",
        ClientMsg::Park {
            message_id: None,
            text: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c1",
        ClientMsg::Park {
            message_id: Some("nope".into()),
            text: None,
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::Park {
            message_id: None,
            text: Some(" ".into()),
        },
        ErrorCode::Invalid,
    );
    // Members still follow the posting rules.
    fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: fx.id("c1"),
        },
    );
    fx.refuse(
        "c1",
        ClientMsg::Park {
            message_id: None,
            text: Some("x".into()),
        },
        ErrorCode::Muted,
    );

    let items = parking_of(&fx.ok(
        "f",
        ClientMsg::Unpark {
            item_id: items[0].id.clone(),
        },
    ));
    assert_eq!(items.len(), 1);
    assert_eq!(fx.snapshot("c2").parking_lot, items);
    fx.refuse(
        "f",
        ClientMsg::Unpark {
            item_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c2",
        ClientMsg::Unpark {
            item_id: items[0].id.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.ok("f", ClientMsg::AllowParking { enabled: false });
    fx.refuse(
        "c2",
        ClientMsg::Park {
            message_id: None,
            text: Some("x".into()),
        },
        ErrorCode::Forbidden,
    );
}
