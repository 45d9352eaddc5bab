//! Takeover: a serialized room plus its history.

use super::*;

#[test]
fn a_room_taken_over_with_its_history_still_resumes() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    let epoch = fx.room.epoch().to_string();
    fx.disconnect("c1");
    fx.post("c2", "before the snapshot");
    let snap = serde_json::to_value(&fx.room).unwrap();
    fx.post("c2", "after the snapshot");
    let entries: Vec<(u64, Audience, ServerMsg)> = fx
        .room
        .history
        .iter()
        .map(|h| (h.seq, h.audience.clone(), h.msg.clone()))
        .collect();

    let mut taken: Room = serde_json::from_value(snap.clone()).unwrap();
    taken.restore(entries);
    assert_eq!(
        (taken.seq(), taken.epoch()),
        (fx.room.seq(), epoch.as_str())
    );
    let texts: Vec<String> = taken
        .snapshot_for(&fx.id("c2"))
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["before the snapshot", "after the snapshot"]);
    fx.room = taken;
    let r = fx.resume_of("c1", seen);
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let rs = replies(&out, "c1b");
    assert_eq!(rs.len(), 4, "member_updated, two chats, resumed: {rs:?}");
    assert!(matches!(rs[3], ServerMsg::Resumed { .. }));

    // Without its history the room starts a new epoch: resuming gets a fresh snapshot.
    let mut lost: Room = serde_json::from_value(snap).unwrap();
    lost.restore(vec![]);
    assert_ne!(lost.epoch(), epoch);
}
