//! Big rooms: presence in batches (`members_changed`), the roster in pages,
//! and small rooms as before.

use super::*;

fn big(threshold: u32) -> Limits {
    Limits {
        big_room_threshold: threshold,
        ..Limits::default()
    }
}

fn changes(out: &[Out]) -> Vec<MembersChanged> {
    all_of(out, "members_changed")
        .into_iter()
        .map(|(aud, _, e)| {
            assert_eq!(aud, &Audience::All);
            let Event::MembersChanged(c) = e else {
                unreachable!()
            };
            c.clone()
        })
        .collect()
}

#[test]
fn small_rooms_tell_each_join_and_leave_as_before() {
    let mut fx = Fx::new();
    fx.join_raw("c3", "Three", None, None).unwrap();
    fx.join_raw("c4", "Four", None, None).unwrap();
    let out = fx.out();
    assert_eq!(all_of(&out, "member_joined").len(), 2);
    assert!(changes(&out).is_empty());
    let (_, snap, _) = welcome_in(&out, "c4").unwrap();
    assert_eq!(snap.roster.len(), 5);
    assert_eq!(snap.roster_page, None);
    let json = serde_json::to_value(&snap).unwrap();
    assert!(
        json.get("roster_page").is_none(),
        "no new field in a small room"
    );
    let out = fx.ok("c1", ClientMsg::Leave);
    one(&out, "member_left");
}

#[test]
fn a_big_room_tells_a_burst_of_joins_as_one_members_changed() {
    // Facilitator + c1, c2 = 3 members: big from here on.
    let mut fx = Fx::with(group(), big(3), &["c1", "c2"]);
    for c in ["c3", "c4", "c5"] {
        fx.join_raw(c, &format!("Member {c}"), None, None).unwrap();
    }
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    assert!(all_of(&out, "member_joined").is_empty());
    let ch = changes(&out);
    assert_eq!(ch.len(), 1, "one members_changed for the burst");
    assert_eq!(ch[0].count, 7);
    // Participants are counted, facilitators listed.
    let joined: Vec<&str> = ch[0].joined.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(joined, vec!["Dr Two"]);
    assert!(ch[0].left.is_empty() && ch[0].updated.is_empty());
    let (_, snap, _) = welcome_in(&out, "c5").unwrap();
    let cursor = snap.roster_page.expect("a big room's welcome has a cursor");
    assert_eq!(cursor.count, 6, "c5's welcome came before f2 joined");
    assert!(!cursor.more, "all 6 fit the first page");
    assert_eq!(snap.roster.len(), 6);
}

#[test]
fn members_changed_comes_before_the_next_event_and_keeps_seq_order() {
    let mut fx = Fx::with(group(), big(3), &["c1", "c2"]);
    fx.join_raw("c3", "Three", None, None).unwrap();
    fx.cmd("c1", chat("hello")).unwrap();
    fx.join_raw("c4", "Four", None, None).unwrap();
    let out = fx.out(); // checks consecutive seqs
    assert_eq!(
        kinds(&out),
        vec!["members_changed", "chat", "members_changed"]
    );
}

#[test]
fn leaving_and_going_offline_are_batched_with_reasons_and_views() {
    let mut fx = Fx::with(group(), big(3), &["c1", "c2", "c3", "c4"]);
    let c1 = fx.id("c1");
    let c2 = fx.id("c2");
    fx.cmd("c1", ClientMsg::Leave).unwrap();
    fx.room.disconnect("c2", fx.now);
    let out = fx.out();
    let ch = changes(&out);
    assert_eq!(ch.len(), 1);
    assert_eq!(
        ch[0].left,
        vec![MemberGone {
            member_id: c1,
            reason: LeaveReason::Left
        }]
    );
    assert_eq!(ch[0].updated.len(), 1);
    assert_eq!(ch[0].updated[0].id, c2);
    assert!(!ch[0].updated[0].online);
    assert_eq!(ch[0].count, 4);
}

#[test]
fn a_raised_hand_in_a_big_room_names_its_member() {
    let mut fx = Fx::with(group(), big(3), &["c1", "c2"]);
    let out = fx.ok("c2", ClientMsg::RaiseHand);
    assert_eq!(kinds(&out), vec!["members_changed", "hands"]);
    assert_eq!(changes(&out)[0].updated[0].id, fx.id("c2"));
    // A newcomer's welcome carries the hand raiser even past the first page.
    let (_, snap, _) = {
        fx.join_raw("c9", "Nine", None, None).unwrap();
        let out = fx.out();
        welcome_in(&out, "c9").unwrap()
    };
    assert!(snap.roster.iter().any(|m| m.id == fx.id("c2")));
}

#[test]
fn roster_pages_walk_the_room_in_join_order() {
    let names: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
    let conns: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut fx = Fx::with(group(), big(3), &conns);
    let want: Vec<String> = fx.room.members.iter().map(|m| m.id.clone()).collect();
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let out = fx.ok("p0", ClientMsg::RosterPage { after, limit: 5 });
        let r = replies(&out, "p0");
        let ServerMsg::RosterPage { members, cursor } = r[0] else {
            panic!("not a roster_page: {r:?}")
        };
        assert!(members.len() <= 5);
        assert_eq!(cursor.count, 13);
        got.extend(members.iter().map(|m| m.id.clone()));
        after = Some(cursor.after);
        if !cursor.more {
            break;
        }
    }
    assert_eq!(got, want);
    // Past the end: nothing, and the cursor stays where it was.
    let out = fx.ok("p0", ClientMsg::RosterPage { after, limit: 0 });
    let ServerMsg::RosterPage { members, cursor } = replies(&out, "p0")[0] else {
        unreachable!()
    };
    assert!(members.is_empty());
    assert_eq!(Some(cursor.after), after);
    // A limit past the maximum is clamped, never refused.
    let out = fx.ok(
        "p0",
        ClientMsg::RosterPage {
            after: None,
            limit: u32::MAX,
        },
    );
    let ServerMsg::RosterPage { members, .. } = replies(&out, "p0")[0] else {
        unreachable!()
    };
    assert_eq!(members.len(), 13);
}

/// What one client knows of the roster, from the frames it received.
#[derive(Default)]
struct Replica {
    /// From its welcome on, it receives the room's events.
    bound: bool,
    roster: BTreeMap<String, Member>,
    count: u32,
    cursor: Option<RosterCursor>,
}

impl Replica {
    fn apply(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Welcome { room, .. } => {
                self.bound = true;
                self.roster = room
                    .roster
                    .iter()
                    .map(|m| (m.id.clone(), m.clone()))
                    .collect();
                self.cursor = room.roster_page;
                self.count = room
                    .roster_page
                    .map(|c| c.count)
                    .unwrap_or(room.roster.len() as u32);
            }
            ServerMsg::RosterPage { members, cursor } => {
                for m in members {
                    self.roster.insert(m.id.clone(), m.clone());
                }
                self.cursor = Some(*cursor);
                self.count = cursor.count;
            }
            ServerMsg::Event { event, .. } => match event {
                Event::MemberJoined { member } => {
                    self.count += 1;
                    self.roster.insert(member.id.clone(), member.clone());
                }
                Event::MemberUpdated { member } => {
                    self.roster.insert(member.id.clone(), member.clone());
                }
                Event::MemberLeft { member_id, .. } => {
                    self.count -= 1;
                    self.roster.remove(member_id);
                }
                Event::MembersChanged(c) => {
                    for g in &c.left {
                        self.roster.remove(&g.member_id);
                    }
                    for m in c.joined.iter().chain(&c.updated) {
                        self.roster.insert(m.id.clone(), m.clone());
                    }
                    self.count = c.count;
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// A tiny deterministic generator (no dependency, reproducible churn).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[test]
fn after_churn_every_client_sees_the_room_exactly() {
    for threshold in [8, 40, 1000] {
        let mut fx = Fx::with(group(), big(threshold), &[]);
        let mut replicas: BTreeMap<String, Replica> = BTreeMap::new();
        replicas.insert(
            "f".into(),
            Replica {
                bound: true,
                ..Replica::default()
            },
        );
        // f's welcome was taken by the harness: its view starts from a page.
        let out = fx.ok(
            "f",
            ClientMsg::RosterPage {
                after: None,
                limit: 10,
            },
        );
        deliver(&out, &fx, &mut replicas);
        let mut live: Vec<String> = vec!["f".into()];
        let mut rng = Lcg(threshold as u64);
        let mut next = 0;
        for _round in 0..60 {
            // A burst of joins, leaves, disconnects and hands: one batch.
            for _ in 0..rng.next(12) + 1 {
                match rng.next(10) {
                    0..=5 => {
                        next += 1;
                        let c = format!("c{next}");
                        fx.join_raw(&c, &format!("Member {next}"), None, None)
                            .unwrap();
                        replicas.insert(c.clone(), Replica::default());
                        live.push(c);
                    }
                    6 | 7 if live.len() > 1 => {
                        let c = live.remove(1 + rng.next(live.len() - 1));
                        fx.cmd(&c, ClientMsg::Leave).unwrap();
                        replicas.remove(&c);
                    }
                    8 if live.len() > 1 => {
                        let c = live.remove(1 + rng.next(live.len() - 1));
                        fx.room.disconnect(&c, fx.now);
                        replicas.remove(&c);
                    }
                    _ if live.len() > 1 => {
                        let c = live[1 + rng.next(live.len() - 1)].clone();
                        fx.cmd(&c, ClientMsg::RaiseHand).unwrap();
                    }
                    _ => {}
                }
            }
            fx.now += 700;
            fx.room.tick(fx.now); // the grace period ends for some
            let out = fx.out();
            deliver(&out, &fx, &mut replicas);
        }
        // Every client pages through what it has not seen, then must match the room.
        let room: BTreeMap<String, Member> = fx
            .room
            .members
            .iter()
            .map(|m| (m.id.clone(), m.view(fx.room.lead.as_deref())))
            .collect();
        for c in live.clone() {
            loop {
                let r = &replicas[&c];
                let after = match r.cursor {
                    Some(cur) if !cur.more && r.count as usize == r.roster.len() => break,
                    Some(cur) if cur.more => Some(cur.after),
                    // Counted members not held: page on from the last cursor.
                    Some(cur) => Some(cur.after),
                    None if r.count as usize == r.roster.len() => break,
                    None => None,
                };
                let out = fx.ok(&c, ClientMsg::RosterPage { after, limit: 7 });
                deliver(&out, &fx, &mut replicas);
            }
            let r = &replicas[&c];
            assert_eq!(
                r.count,
                fx.room.member_count(),
                "{c}: count (threshold {threshold})"
            );
            assert_eq!(r.roster, room, "{c}: roster (threshold {threshold})");
        }
        if threshold == 8 {
            assert!(fx.room.is_big(), "the churn must reach big-room sizes");
        }
    }
}

/// Hand each frame to the replicas that would receive it: replies to their
/// connection, and room events from their welcome on.
fn deliver(out: &[Out], fx: &Fx, replicas: &mut BTreeMap<String, Replica>) {
    for (conn, r) in replicas.iter_mut() {
        let member = fx
            .room
            .members
            .iter()
            .find(|m| m.conn.as_deref() == Some(conn));
        for o in out {
            let Out::Frame { audience, msg } = o else {
                continue;
            };
            let to_me = match audience {
                Audience::Conn(c) => c == conn,
                a => r.bound && member.is_some_and(|m| a.includes(&m.id)),
            };
            if to_me {
                r.apply(msg);
            }
        }
    }
}

#[test]
fn a_big_rooms_presence_waits_a_moment_unless_another_event_goes_first() {
    use crate::room::commands::presence::PRESENCE_EVERY_MS;
    let mut fx = Fx::with(group(), big(3), &["c1", "c2"]);
    let t = fx.now;
    fx.join_raw("c3", "Three", None, None).unwrap();
    let out = fx.room.take_output_due(t);
    assert!(welcome_in(&out, "c3").is_some(), "the welcome goes at once");
    assert!(changes(&out).is_empty(), "the join waits");
    assert_eq!(fx.room.next_deadline(), Some(t + PRESENCE_EVERY_MS));
    fx.now = t + 100;
    fx.join_raw("c4", "Four", None, None).unwrap();
    assert!(changes(&fx.room.take_output_due(t + 100)).is_empty());
    // Due: both joins in one frame.
    let out = fx.room.take_output_due(t + PRESENCE_EVERY_MS);
    assert_eq!(changes(&out)[0].count, 5);
    fx.last_seq = fx.room.seq();
    // Another event takes waiting changes along, in order.
    fx.join_raw("c5", "Five", None, None).unwrap();
    fx.cmd("c1", chat("hi")).unwrap();
    let out = fx.room.take_output_due(fx.now);
    assert_eq!(kinds(&out), vec!["members_changed", "chat"]);
    assert_eq!(fx.room.next_deadline(), None);
}

#[test]
fn a_member_who_joins_and_drops_in_one_batch_is_told_offline() {
    // Found by the real-server churn test: joined and dropped before the
    // batch went out, the member was only counted (as if online).
    let mut fx = Fx::with(group(), big(3), &["c1", "c2"]);
    fx.join_raw("c3", "Member c3", None, None).unwrap();
    fx.join_raw("c4", "Member c4", None, None).unwrap();
    fx.room.disconnect("c3", fx.now);
    // Accepting the rules right after joining need not be told.
    fx.room
        .handle("c4", ClientMsg::AcceptRules { version: 1 }, fx.now)
        .unwrap();
    let out = fx.out();
    let ch = changes(&out);
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].count, 5);
    let updated: Vec<(&str, bool)> = ch[0]
        .updated
        .iter()
        .map(|m| (m.name.as_str(), m.online))
        .collect();
    assert_eq!(updated, vec![("Member c3", false)]);
}
