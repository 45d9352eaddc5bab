//! Big rooms against a real server: many clients join, leave and drop at once,
//! and afterwards every client's count and roster (its welcome, the
//! `members_changed` events it read, the `roster_page`s it asked for) match
//! the room exactly.

mod common;

use common::*;
use futures_util::future::join_all;
use huddle_protocol::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const ARGS: &[&str] = &[
    "--rate-per-sec",
    "1000",
    "--rate-burst",
    "1000",
    "--big-room-threshold",
    "20",
    "--grace-secs",
    "120",
];

/// What one client knows of the roster, from the frames it read.
#[derive(Default)]
struct Replica {
    roster: BTreeMap<String, Member>,
    count: u32,
    cursor: Option<RosterCursor>,
}

impl Replica {
    fn apply(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Welcome { room, .. } => {
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

/// A client and its replica of the roster.
struct Peer {
    c: Client,
    r: Replica,
}

impl Peer {
    async fn join(server: &Server, room: &str, name: String) -> Peer {
        let mut c = server.client().await;
        let m = c.join_raw(room, &name, None, None).await;
        let mut r = Replica::default();
        assert!(matches!(m, ServerMsg::Welcome { .. }), "{name}: {m:?}");
        r.apply(&m);
        Peer { c, r }
    }

    /// Read (and apply) until `pred` holds for a frame.
    async fn read_until(&mut self, what: &str, pred: impl Fn(&ServerMsg) -> bool) {
        loop {
            match self.c.next_within(Duration::from_secs(30)).await {
                Ok(m) => {
                    self.r.apply(&m);
                    if pred(&m) {
                        return;
                    }
                }
                Err(e) => panic!("{}: waiting for {what}: {e:?}", self.c.name),
            }
        }
    }

    /// Page on until the replica holds as many members as the room counts.
    async fn page_to_end(&mut self) {
        while self.r.cursor.is_none_or(|c| c.more) || self.r.count as usize != self.r.roster.len() {
            let after = self.r.cursor.map(|c| c.after);
            self.c
                .send(&ClientMsg::RosterPage { after, limit: 37 })
                .await;
            self.read_until("roster_page", |m| matches!(m, ServerMsg::RosterPage { .. }))
                .await;
            if self.r.cursor.is_some_and(|c| !c.more)
                && self.r.count as usize != self.r.roster.len()
            {
                panic!(
                    "{}: at the end of the roster holding {} of {}",
                    self.c.name,
                    self.r.roster.len(),
                    self.r.count
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_concurrent_churn_every_client_sees_the_room_exactly() {
    let server = Server::start_with(ARGS).await;
    let room = server.group("Town hall").await;
    let rid = room.room_id.clone();
    let mut fac = server.client().await;
    let w = fac.join(&rid, "Fac", Some(&room.facilitator_key)).await;
    let mut fac = Peer {
        c: fac,
        r: Replica::default(),
    };
    fac.r.apply(&ServerMsg::Welcome {
        v: PROTOCOL_VERSION,
        you: w.you.clone(),
        room: Box::new(w.room.clone()),
        server_time: w.server_time,
        history_reset: false,
    });

    // 120 join at once.
    let tasks = (0..120).map(|i| Peer::join(&server, &rid, format!("P{i}")));
    let mut peers: Vec<Peer> = join_all(tasks).await;

    // Then, at once: 30 leave, 20 drop their connection (offline, awaiting
    // resume), 30 more join.
    let leaving: Vec<Peer> = peers.drain(..30).collect();
    let dropping: Vec<Peer> = peers.drain(..20).collect();
    let left_ids: BTreeSet<String> = leaving.iter().map(|p| p.c.member_id()).collect();
    let dropped_ids: BTreeSet<String> = dropping.iter().map(|p| p.c.member_id()).collect();
    // Those who leave keep their sockets open until the end: closing one with
    // unread frames resets the connection, and the kernel may then discard
    // the `leave` still unread on the server's side.
    let leave = join_all(leaving.into_iter().map(|mut p| async move {
        p.c.send(&ClientMsg::Leave).await;
        p
    }));
    let drop = async {
        for p in dropping {
            p.c.drop_socket();
        }
    };
    let more = (120..150).map(|i| Peer::join(&server, &rid, format!("P{i}")));
    let (_gone, _, newcomers) = tokio::join!(leave, drop, join_all(more));
    peers.extend(newcomers);

    // The facilitator waits until the room has seen every drop, then posts a
    // fence: whoever reads it has read every presence change before it.
    while !dropped_ids
        .iter()
        .all(|id| fac.r.roster.get(id).is_some_and(|m| !m.online))
    {
        fac.read_until("the drops", |_| true).await;
    }
    fac.c
        .send(&ClientMsg::Chat {
            text: "fence".into(),
        })
        .await;
    let is_fence = |m: &ServerMsg| matches!(m, ServerMsg::Event { event: Event::Chat { message }, .. } if message.text == "fence");
    let mut all: Vec<&mut Peer> = peers.iter_mut().collect();
    all.push(&mut fac);
    let reads = all.into_iter().map(|p| async move {
        p.read_until("the fence", is_fence).await;
        p.page_to_end().await;
        p
    });
    let done = join_all(reads).await;

    // The truth: who joined, minus who left; the dropped are offline.
    let expected: BTreeSet<String> = done
        .iter()
        .map(|p| p.c.member_id())
        .chain(dropped_ids.iter().cloned())
        .collect();
    assert_eq!(expected.len(), 1 + 70 + 30 + 20);
    let metrics = server.metrics().await;
    for p in &done {
        let name = &p.c.name;
        let held: BTreeSet<String> = p.r.roster.keys().cloned().collect();
        let extra: Vec<(&String, bool)> = held
            .difference(&expected)
            .map(|id| (&p.r.roster[id].name, left_ids.contains(id)))
            .collect();
        assert_eq!(
            p.r.count as usize,
            expected.len(),
            "{name}: count; extra {extra:?}; metrics {metrics:?}"
        );
        assert_eq!(held, expected, "{name}: roster");
        assert!(held.is_disjoint(&left_ids));
        for (id, m) in &p.r.roster {
            assert_eq!(
                m.online,
                !dropped_ids.contains(id),
                "{name}: {} online",
                m.name
            );
        }
    }
    // Newcomers got a first page, not the whole roster.
    let late = done.iter().find(|p| p.c.name == "P149").expect("P149");
    let welcome = late
        .c
        .seen
        .iter()
        .find_map(|m| match m {
            ServerMsg::Welcome { room, .. } => Some(room.clone()),
            _ => None,
        })
        .expect("a welcome");
    assert!(welcome.roster_page.is_some());
    assert!(welcome.roster.len() <= 100 + 2, "{}", welcome.roster.len());
}
