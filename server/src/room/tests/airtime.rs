//! Airtime for facilitators.

use super::*;

#[test]
fn airtime_is_a_private_reply_to_facilitators() {
    let mut fx = Fx::new();
    fx.now = T0 + 10 * SEC;
    fx.post("c1", "one");
    fx.now = T0 + 20 * SEC;
    fx.post("c1", "two");
    fx.now = T0 + 30 * SEC;
    let out = fx.ok("f", ClientMsg::Airtime);
    assert!(events(&out).is_empty());
    let r = replies(&out, "f");
    let [ServerMsg::Airtime { members }] = r.as_slice() else {
        panic!("airtime reply expected: {r:?}")
    };
    let view: Vec<(&str, u32, u64)> = members
        .iter()
        .map(|a| (a.name.as_str(), a.messages, a.quiet_ms))
        .collect();
    assert_eq!(
        view,
        vec![
            ("Dr Lead", 0, 30 * SEC),
            ("Member c1", 2, 10 * SEC),
            ("Member c2", 0, 30 * SEC)
        ]
    );
    fx.refuse("c1", ClientMsg::Airtime, ErrorCode::Forbidden);
}
