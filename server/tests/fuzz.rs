//! Property tests (proptest): the protocol decoder and the room model take
//! arbitrary input without panicking, and the room's invariants hold after
//! every step of random sessions.

use huddle_protocol::*;
use huddle_server::room::{Audience, Control, Effect, JoinCtx, Limits, Out, Room};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------
// (a) Protocol decoding
// ---------------------------------------------------------------------------

/// Keys a client frame may carry, plus some it may not.
const KEYS: &[&str] = &[
    "type",
    "v",
    "room_id",
    "name",
    "facilitator_key",
    "resume",
    "member_id",
    "token",
    "last_seq",
    "epoch",
    "t",
    "text",
    "message_id",
    "emoji",
    "version",
    "run_id",
    "highlight_id",
    "check_id",
    "level",
    "note",
    "invite_id",
    "rules",
    "duration_secs",
    "timer_id",
    "secs",
    "energizer_id",
    "prompt",
    "tag",
    "locked",
    "enabled",
    "request_id",
    "item_id",
    "minutes",
    "role",
    "from",
    "seq",
    "",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let type_name = prop::sample::select(KNOWN_CLIENT_TYPES).prop_map(Value::from);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        type_name,
        prop::sample::select(&["consensus", "takeaway", "action", "🙂", "\u{0}"][..])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// An object with a known `type` and random fields: the decoder's hard case.
fn typed_object() -> impl Strategy<Value = String> {
    (
        prop::sample::select(KNOWN_CLIENT_TYPES),
        prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..5),
    )
        .prop_map(|(t, fields)| {
            let mut m = serde_json::Map::new();
            for (k, v) in fields {
                m.insert(k.to_string(), v);
            }
            m.insert("type".into(), serde_json::Value::from(t));
            serde_json::Value::Object(m).to_string()
        })
}

fn check_decode(text: &str) {
    match decode_client(text) {
        Ok(m) => {
            // What decodes re-encodes, and decodes again to the same message.
            let again = serde_json::to_string(&m).expect("re-encode");
            assert_eq!(decode_client(&again).expect("re-decode"), m);
            assert!(KNOWN_CLIENT_TYPES.contains(&m.type_name()));
        }
        Err((code, message)) => {
            assert!(
                matches!(
                    code,
                    ErrorCode::BadJson
                        | ErrorCode::UnknownType
                        | ErrorCode::BadMessage
                        | ErrorCode::UnknownField
                ),
                "{code:?}"
            );
            assert!(
                message.chars().count() <= 200,
                "error message too long: {message}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_strings_never_panics(s in ".{0,200}") {
        check_decode(&s);
    }

    #[test]
    fn decoding_arbitrary_json_never_panics(v in json_value()) {
        check_decode(&v.to_string());
    }

    #[test]
    fn decoding_typed_objects_with_random_fields_never_panics(s in typed_object()) {
        check_decode(&s);
    }

    #[test]
    fn decoding_mangled_valid_frames_never_panics(
        v in json_value(),
        cut in any::<prop::sample::Index>(),
        junk in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        // A valid-looking frame, cut somewhere and with junk spliced in.
        let s = format!(r#"{{"type":"chat","text":{v}}}"#);
        let at = cut.index(s.len() + 1);
        let mut b = s.as_bytes()[..at].to_vec();
        b.extend_from_slice(&junk);
        b.extend_from_slice(&s.as_bytes()[at..]);
        check_decode(&String::from_utf8_lossy(&b));
    }
}

// ---------------------------------------------------------------------------
// (b) The room model
// ---------------------------------------------------------------------------

const T0: Millis = 1_700_000_000_000;
const KEY: &str = "fuzz-key";
const SLOTS: u8 = 6;

/// A command template: a variant and small random fields; ids are picked
/// from what the room really has when the step runs.
#[derive(Debug, Clone)]
struct Cmd {
    variant: u8,
    pick: u8,
    pick2: u8,
    n: u32,
    text: String,
    flag: bool,
}

#[derive(Debug, Clone)]
enum Step {
    /// A new connection joins through slot `slot` (as facilitator or not).
    Join {
        slot: u8,
        facilitator: bool,
        name: String,
        other_instance: bool,
    },
    /// The member in `slot` sends a command.
    Send {
        slot: u8,
        cmd: Cmd,
    },
    Tick {
        ms: u32,
    },
    Disconnect {
        slot: u8,
    },
    /// The member last seen in `slot` comes back with a resume (maybe a stale token or seq).
    Resume {
        slot: u8,
        stale_token: bool,
        seq_back: u8,
        other_epoch: bool,
    },
    InstanceLost,
    /// The host answers an `OpenOneOnOne` effect.
    OneOnOneOpened,
}

/// Variants 0..=55 are [`World::build`]'s; these end a member's or the
/// room's session, so they are drawn less often (long sessions reach more states).
const ENDERS: &[u8] = &[1, 40, 56];

fn cmd() -> impl Strategy<Value = Cmd> {
    (
        prop_oneof![
            1 => prop::sample::select(ENDERS),
            25 => (0..56u8).prop_filter("not an ender", |v| !ENDERS.contains(v)),
        ],
        any::<u8>(),
        any::<u8>(),
        prop_oneof![0..5u32, 0..400u32, Just(0), Just(3601), any::<u32>()],
        prop_oneof![
            8 => "[a-z]{1,8}( [a-z]{1,8})?",
            1 => Just(String::new()),
            1 => Just("   ".to_string()),
            1 => Just("\u{7}bell".to_string()),
            1 => ".{0,8}",
        ],
        any::<bool>(),
    )
        .prop_map(|(variant, pick, pick2, n, text, flag)| Cmd {
            variant,
            pick,
            pick2,
            n,
            text,
            flag,
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..SLOTS, prop::bool::weighted(0.3), "[A-Za-z]{1,8}|.{0,3}", prop::bool::weighted(0.2))
            .prop_map(|(slot, facilitator, name, other_instance)| Step::Join { slot, facilitator, name, other_instance }),
        12 => (0..SLOTS, cmd()).prop_map(|(slot, cmd)| Step::Send { slot, cmd }),
        2 => prop_oneof![0..2_000u32, 0..40_000u32, Just(600_000u32)].prop_map(|ms| Step::Tick { ms }),
        1 => (0..SLOTS).prop_map(|slot| Step::Disconnect { slot }),
        1 => (0..SLOTS, prop::bool::weighted(0.3), 0..4u8, prop::bool::weighted(0.1))
            .prop_map(|(slot, stale_token, seq_back, other_epoch)| Step::Resume { slot, stale_token, seq_back, other_epoch }),
        1 => Just(Step::InstanceLost),
        1 => Just(Step::OneOnOneOpened),
    ]
}

fn room_spec() -> impl Strategy<Value = CreateRoom> {
    (
        prop_oneof![
            4 => Just(RoomKind::Group),
            1 => Just(RoomKind::DropIn),
            1 => Just(RoomKind::OneOnOne),
        ],
        prop::bool::weighted(0.3),
        prop::option::weighted(0.2, 1..6u32),
        prop::option::weighted(0.2, 1_000..900_000u64),
        prop::option::weighted(0.2, 1_000..120_000u64),
    )
        .prop_map(
            |(kind, waiting_room, capacity, ends_in, starts_in)| CreateRoom {
                title: "Fuzzed room".into(),
                kind,
                waiting_room,
                capacity,
                starts_at: starts_in.map(|s| T0 + s),
                ends_at: ends_in.map(|e| T0 + starts_in.unwrap_or(0) + e),
            },
        )
}

/// What the test knows about a slot: its current connection and the last
/// identity it was given.
#[derive(Default, Clone)]
struct Slot {
    conn: Option<String>,
    you: Option<You>,
    /// The token before the latest rotation (to replay it).
    old_token: Option<String>,
    last_seq: u64,
    epoch: String,
}

/// Everything the room told anyone, tracked to check the invariants.
#[derive(Default)]
struct World {
    slots: Vec<Slot>,
    conn_n: u32,
    /// conn → member it is bound to.
    bound: BTreeMap<String, String>,
    /// The roster as told by member_joined / member_left / member_updated (id → role).
    roster: BTreeMap<String, Role>,
    last_seq: u64,
    /// Per connection: the last event seq it received.
    conn_seq: BTreeMap<String, u64>,
    /// Ids seen in events, to aim commands at real things.
    messages: Vec<String>,
    highlights: Vec<String>,
    timers: Vec<String>,
    runs: Vec<String>,
    checks: Vec<String>,
    requests: Vec<String>,
    invites: Vec<String>,
    parked: Vec<String>,
    waiting: Vec<String>,
    effects: Vec<Effect>,
}

fn pick(v: &[String], i: u8) -> String {
    if v.is_empty() || i % 8 == 7 {
        format!("nope{i}")
    } else {
        v[i as usize % v.len()].clone()
    }
}

impl World {
    fn member_pick(&self, i: u8) -> String {
        let ids: Vec<String> = self.roster.keys().cloned().collect();
        pick(&ids, i)
    }

    fn build(&self, c: &Cmd) -> ClientMsg {
        let m = || self.member_pick(c.pick);
        let opt_text = || (!c.flag).then(|| c.text.clone());
        let tag = match c.pick2 % 3 {
            0 => HighlightTag::Consensus,
            1 => HighlightTag::Takeaway,
            _ => HighlightTag::Action,
        };
        match c.variant {
            0 => ClientMsg::Join {
                v: PROTOCOL_VERSION,
                room_id: "r".into(),
                name: c.text.clone(),
                facilitator_key: None,
                resume: None,
                device_id: None,
            },
            1 => ClientMsg::Leave,
            2 => ClientMsg::Ping { t: c.n as u64 },
            3..=5 => ClientMsg::Chat {
                text: c.text.clone(),
            },
            6 => ClientMsg::React {
                message_id: pick(&self.messages, c.pick),
                emoji: ["🙂", "👍", "", "toolongemoji", "\u{7}"][c.pick2 as usize % 5].into(),
            },
            7 | 8 => ClientMsg::AcceptRules {
                version: if c.flag { c.n % 4 } else { 1 + c.n % 3 },
            },
            9 => ClientMsg::RaiseHand,
            10 => ClientMsg::LowerHand {
                member_id: c.flag.then(m),
            },
            11 => ClientMsg::AnswerEnergizer {
                run_id: pick(&self.runs, c.pick),
                text: c.text.clone(),
            },
            12 => ClientMsg::Agree {
                highlight_id: pick(&self.highlights, c.pick),
            },
            13 => ClientMsg::Unagree {
                highlight_id: pick(&self.highlights, c.pick),
            },
            14 => ClientMsg::EnergyAnswer {
                check_id: pick(&self.checks, c.pick),
                level: (c.n % 7) as u8,
            },
            15 => ClientMsg::SupportRequest { note: opt_text() },
            16 => ClientMsg::Distress,
            17 => ClientMsg::DeclineShare {
                invite_id: pick(&self.invites, c.pick),
            },
            18 => ClientMsg::PersonalMute { member_id: m() },
            19 => ClientMsg::PersonalUnmute { member_id: m() },
            20 => ClientMsg::Park {
                message_id: c.flag.then(|| pick(&self.messages, c.pick)),
                text: c.pick2.is_multiple_of(2).then(|| c.text.clone()),
            },
            21 => ClientMsg::ListEnergizers,
            22 => ClientMsg::SetGroundRules {
                rules: (0..(c.n % 4)).map(|i| format!("{} {i}", c.text)).collect(),
            },
            23 => ClientMsg::ShowGroundRules,
            24 => ClientMsg::SetWelcome { text: opt_text() },
            25 => ClientMsg::CallOn { member_id: m() },
            26 => ClientMsg::TimerStart {
                name: c.text.clone(),
                duration_secs: c.n % 900,
            },
            27 => ClientMsg::TimerPause {
                timer_id: pick(&self.timers, c.pick),
            },
            28 => ClientMsg::TimerResume {
                timer_id: pick(&self.timers, c.pick),
            },
            29 => ClientMsg::TimerExtend {
                timer_id: pick(&self.timers, c.pick),
                secs: c.n % 100,
            },
            30 => ClientMsg::TimerCancel {
                timer_id: pick(&self.timers, c.pick),
            },
            31 => ClientMsg::PushEnergizer {
                energizer_id: c.flag.then(|| {
                    if c.pick2.is_multiple_of(2) {
                        "rose-thorn".to_string()
                    } else {
                        c.text.clone()
                    }
                }),
                prompt: c.pick.is_multiple_of(2).then(|| c.text.clone()),
                duration_secs: c.pick2.is_multiple_of(3).then_some(c.n % 100),
            },
            32 => ClientMsg::CloseEnergizer {
                run_id: pick(&self.runs, c.pick),
            },
            33 => ClientMsg::Highlight {
                tag,
                message_id: c.flag.then(|| pick(&self.messages, c.pick)),
                text: c.pick2.is_multiple_of(2).then(|| c.text.clone()),
            },
            34 => ClientMsg::EditHighlight {
                highlight_id: pick(&self.highlights, c.pick),
                tag: c.flag.then_some(tag),
                text: c.pick2.is_multiple_of(2).then(|| c.text.clone()),
            },
            35 => ClientMsg::RemoveHighlight {
                highlight_id: pick(&self.highlights, c.pick),
            },
            36 => ClientMsg::OpenEnergyCheck,
            37 => ClientMsg::CloseEnergyCheck {
                check_id: pick(&self.checks, c.pick),
            },
            38 => ClientMsg::Mute { member_id: m() },
            39 => ClientMsg::Unmute { member_id: m() },
            40 => ClientMsg::Remove { member_id: m() },
            41 => ClientMsg::SlowMode { secs: c.n % 5000 },
            42 => ClientMsg::Lock { locked: c.flag },
            43 => ClientMsg::DeleteMessage {
                message_id: pick(&self.messages, c.pick),
            },
            44 => ClientMsg::Pin { text: opt_text() },
            45 => ClientMsg::Promote { member_id: m() },
            46 => ClientMsg::Demote { member_id: m() },
            47 => ClientMsg::HandOver { member_id: m() },
            48 => ClientMsg::SetWaitingRoom { enabled: c.flag },
            49 => ClientMsg::Admit {
                member_id: pick(&self.waiting, c.pick),
            },
            50 => ClientMsg::Decline {
                member_id: pick(&self.waiting, c.pick),
            },
            51 => ClientMsg::OpenOneOnOne {
                request_id: pick(&self.requests, c.pick),
            },
            52 => ClientMsg::InviteToShare { member_id: m() },
            53 => ClientMsg::AllowParking { enabled: c.flag },
            54 => ClientMsg::Unpark {
                item_id: pick(&self.parked, c.pick),
            },
            55 => match c.pick2 % 2 {
                0 => ClientMsg::Airtime,
                _ => ClientMsg::ExtendSession { minutes: c.n % 300 },
            },
            _ => ClientMsg::EndSession,
        }
    }

    fn role_of_conn(&self, conn: &str) -> Option<Role> {
        self.bound
            .get(conn)
            .and_then(|m| self.roster.get(m))
            .copied()
    }

    /// Apply a batch of output to the tracked world, checking every frame.
    fn absorb(&mut self, out: Vec<Out>, room: &Room, ctx: &str) {
        for o in out {
            match o {
                Out::Control(Control::Bind { conn, member }) => {
                    self.bound.insert(conn.clone(), member);
                    self.conn_seq.remove(&conn);
                }
                Out::Control(Control::Close { conn, .. }) => {
                    self.bound.remove(&conn);
                    for s in self.slots.iter_mut() {
                        if s.conn.as_deref() == Some(conn.as_str()) {
                            s.conn = None;
                        }
                    }
                }
                Out::Frame { audience, msg } => self.frame(audience, msg, ctx),
            }
        }
        assert_eq!(
            room.seq(),
            self.last_seq,
            "{ctx}: the room's seq and its events disagree"
        );
    }

    fn frame(&mut self, audience: Audience, msg: ServerMsg, ctx: &str) {
        // Who receives it: one connection, or the bound connections of its members.
        let receivers: Vec<String> = match &audience {
            Audience::Conn(c) => vec![c.clone()],
            a => self
                .bound
                .iter()
                .filter(|(_, m)| a.includes(m))
                .map(|(c, _)| c.clone())
                .collect(),
        };
        if let ServerMsg::Event { seq, ref event, .. } = msg {
            if !matches!(audience, Audience::Conn(_)) {
                assert!(
                    seq > self.last_seq,
                    "{ctx}: event seq {seq} after {} ({event:?})",
                    self.last_seq
                );
                self.last_seq = seq;
            }
            for r in &receivers {
                let last = self.conn_seq.entry(r.clone()).or_insert(0);
                assert!(
                    seq > *last,
                    "{ctx}: connection {r} got seq {seq} after {last} ({event:?})"
                );
                *last = seq;
            }
            for s in self.slots.iter_mut() {
                if s.conn.as_ref().is_some_and(|c| receivers.contains(c)) {
                    s.last_seq = seq;
                }
            }
            if !matches!(audience, Audience::Conn(_)) {
                // (Replays to one connection are old news, tracked when they happened.)
                self.event(&audience, event, ctx);
            }
        }
        match msg {
            ServerMsg::Welcome { you, room, .. } => {
                let ids: BTreeSet<&String> = room.roster.iter().map(|m| &m.id).collect();
                assert_eq!(
                    ids.len(),
                    room.roster.len(),
                    "{ctx}: duplicate ids in a roster"
                );
                if !you.role.is_facilitator() {
                    assert!(
                        room.waiting.is_empty(),
                        "{ctx}: a participant saw the waiting room"
                    );
                    assert!(
                        room.support_requests
                            .iter()
                            .all(|r| r.member_id == you.member_id),
                        "{ctx}: a participant saw someone else's support request"
                    );
                }
                let conn = match &audience {
                    Audience::Conn(c) => c.clone(),
                    _ => panic!("{ctx}: a welcome to more than one connection"),
                };
                for s in self.slots.iter_mut() {
                    if s.conn.as_deref() == Some(conn.as_str()) {
                        s.old_token = s.you.as_ref().map(|y| y.resume_token.clone());
                        s.you = Some(you.clone());
                        s.last_seq = room.seq;
                        s.epoch = room.epoch.clone();
                    }
                }
                self.conn_seq.insert(conn, room.seq);
            }
            ServerMsg::Resumed { you, to_seq, .. } => {
                if let Audience::Conn(conn) = &audience {
                    for s in self.slots.iter_mut() {
                        if s.conn.as_deref() == Some(conn.as_str()) {
                            s.old_token = s.you.as_ref().map(|y| y.resume_token.clone());
                            s.you = Some(you.clone());
                            s.last_seq = to_seq;
                        }
                    }
                    let last = self.conn_seq.entry(conn.clone()).or_insert(0);
                    *last = (*last).max(to_seq);
                }
            }
            ServerMsg::Waiting { .. } | ServerMsg::Lobby { .. } => {}
            _ => {}
        }
    }

    fn event(&mut self, audience: &Audience, event: &Event, ctx: &str) {
        // Facilitator-only frames reach facilitators only (and the requester).
        let private = match event {
            Event::WaitingRoom { .. } | Event::ShareDeclined { .. } => Some(None),
            Event::SupportRequested { request } => Some(Some(request.member_id.clone())),
            _ => None,
        };
        if let Some(requester) = private {
            let Audience::Members(to) = audience else {
                panic!("{ctx}: a facilitator-only event to {audience:?}: {event:?}");
            };
            for m in to {
                let role = self.roster.get(m).copied();
                assert!(
                    role.is_some_and(Role::is_facilitator) || requester.as_ref() == Some(m),
                    "{ctx}: {event:?} addressed to {m} ({role:?})"
                );
            }
        }
        let all = |v: &mut Vec<String>, id: &str| {
            if !v.iter().any(|x| x == id) {
                v.push(id.to_string());
            }
        };
        match event {
            Event::MemberJoined { member } => {
                assert!(
                    self.roster.insert(member.id.clone(), member.role).is_none(),
                    "{ctx}: member {} joined twice",
                    member.id
                );
            }
            Event::MemberUpdated { member } => {
                let before = self.roster.insert(member.id.clone(), member.role);
                assert!(
                    before.is_some(),
                    "{ctx}: update of a member not in the roster"
                );
            }
            Event::MemberLeft { member_id, .. } => {
                assert!(
                    self.roster.remove(member_id).is_some(),
                    "{ctx}: {member_id} left but was not in the roster"
                );
                self.bound.retain(|_, m| m != member_id);
            }
            Event::Chat { message } => all(&mut self.messages, &message.id),
            Event::Highlight { highlight } => all(&mut self.highlights, &highlight.id),
            Event::Timer { timer } if timer.state == TimerState::Cancelled => {
                self.timers.retain(|t| t != &timer.id)
            }
            Event::Timer { timer } => all(&mut self.timers, &timer.id),
            Event::TimerExpired { timer_id, .. } => self.timers.retain(|t| t != timer_id),
            Event::HighlightRemoved { highlight_id } => {
                self.highlights.retain(|h| h != highlight_id)
            }
            Event::MessageDeleted { message_id } => self.messages.retain(|m| m != message_id),
            Event::EnergizerStarted { run } => all(&mut self.runs, &run.id),
            Event::EnergyCheck { check } => all(&mut self.checks, &check.id),
            Event::SupportRequested { request } => all(&mut self.requests, &request.id),
            Event::ShareInvite { invite_id, .. } => all(&mut self.invites, invite_id),
            Event::ParkingLot { items } => {
                for i in items {
                    all(&mut self.parked, &i.id)
                }
            }
            Event::WaitingRoom { queue } => {
                self.waiting = queue.iter().map(|w| w.member_id.clone()).collect()
            }
            _ => {}
        }
    }

    /// A fresh facilitator's snapshot (on a copy of the room) agrees with
    /// what the events told: same roster, unique ids, same roles.
    fn check_roster(&self, room: &Room, now: Millis, ctx: &str) {
        let mut probe = room.clone();
        let c = JoinCtx {
            conn: "probe".into(),
            instance: "i1".into(),
            addr_hash: None,
            device_hash: None,
            account_id: None,
        };
        if probe
            .join(&c, PROTOCOL_VERSION, "Probe", Some(KEY), None, now)
            .is_err()
        {
            return; // closed
        }
        let welcome = probe.take_output().into_iter().find_map(|o| match o {
            Out::Frame {
                msg: ServerMsg::Welcome { you, room, .. },
                ..
            } => Some((you, room)),
            _ => None,
        });
        let Some((you, snap)) = welcome else {
            panic!("{ctx}: a facilitator's join got no welcome");
        };
        let ids: BTreeSet<String> = snap.roster.iter().map(|m| m.id.clone()).collect();
        assert_eq!(
            ids.len(),
            snap.roster.len(),
            "{ctx}: duplicate ids in the roster"
        );
        let mut expected: BTreeSet<String> = self.roster.keys().cloned().collect();
        expected.insert(you.member_id.clone());
        assert_eq!(ids, expected, "{ctx}: the roster and the events disagree");
        for m in &snap.roster {
            if m.id != you.member_id {
                assert_eq!(
                    Some(m.role),
                    self.roster.get(&m.id).copied(),
                    "{ctx}: role of {}",
                    m.id
                );
            }
        }
        // The snapshot covers everything up to the probe's own arrival.
        assert_eq!(snap.seq, room.seq() + 1, "{ctx}: snapshot seq");
    }
}

fn run_session(spec: CreateRoom, steps: Vec<Step>) {
    let limits = Limits {
        recent_messages: 6,
        history: 12,
        grace_ms: 5_000,
        facilitator_grace_ms: 3_000,
        max_members: 8,
        ..Limits::default()
    };
    let mut room = Room::new("r".into(), &spec, KEY, limits, vec![], T0);
    let mut w = World {
        slots: vec![Slot::default(); SLOTS as usize],
        ..World::default()
    };
    // Every session starts with a facilitator and a ready participant.
    let ready = Cmd {
        variant: 8,
        pick: 0,
        pick2: 0,
        n: 0,
        text: String::new(),
        flag: false,
    };
    let start = [
        Step::Join {
            slot: 0,
            facilitator: true,
            name: "Fac".into(),
            other_instance: false,
        },
        Step::Join {
            slot: 1,
            facilitator: false,
            name: "Pat".into(),
            other_instance: false,
        },
        Step::Send {
            slot: 1,
            cmd: ready,
        },
    ];
    let mut now = T0;
    for (n, st) in start.into_iter().chain(steps).enumerate() {
        let ctx = format!("step {n} ({st:?})");
        let before = w.roster.clone();
        // Whether this step may make a participant a facilitator: only a
        // facilitator's promote / hand-over.
        let mut may_elevate = false;
        let mut out_checked = None;
        match &st {
            Step::Join {
                slot,
                facilitator,
                name,
                other_instance,
            } => {
                let s = *slot as usize;
                if w.slots[s].conn.is_some() {
                    continue;
                }
                w.conn_n += 1;
                let conn = format!("c{}", w.conn_n);
                w.slots[s].conn = Some(conn.clone());
                let c = JoinCtx {
                    conn: conn.clone(),
                    instance: if *other_instance { "i2" } else { "i1" }.into(),
                    addr_hash: None,
                    device_hash: None,
                    account_id: None,
                };
                let key = facilitator.then_some(KEY);
                if let Err(e) = room.join(&c, PROTOCOL_VERSION, name, key, None, now) {
                    room.refuse(&conn, &e, "join");
                }
            }
            Step::Send { slot, cmd } => {
                // Mostly from a member the room admitted, so most commands reach the room.
                let live: Vec<String> = if cmd.pick2 % 5 != 0 && !w.bound.is_empty() {
                    w.bound.keys().cloned().collect()
                } else {
                    w.slots.iter().filter_map(|s| s.conn.clone()).collect()
                };
                if live.is_empty() {
                    continue;
                }
                let conn = live[*slot as usize % live.len()].clone();
                let msg = w.build(cmd);
                let role = w.role_of_conn(&conn);
                let fac_only = msg.facilitator_only();
                may_elevate = role.is_some_and(Role::is_facilitator)
                    && matches!(msg, ClientMsg::Promote { .. } | ClientMsg::HandOver { .. });
                let t = msg.type_name();
                let r = room.handle(&conn, msg, now);
                if fac_only && role == Some(Role::Participant) {
                    assert!(
                        matches!(&r, Err(e) if e.code() == ErrorCode::Forbidden),
                        "{ctx}: a participant's facilitator-only command was not forbidden: {r:?}"
                    );
                }
                if let Err(e) = r {
                    room.refuse(&conn, &e, t);
                }
            }
            Step::Tick { ms } => {
                now += *ms as u64;
                room.tick(now);
                // Due work may take a second tick (e.g. the session ends first),
                // but it converges: the room's actor never spins on a deadline.
                for extra in 0..=3 {
                    match room.next_deadline() {
                        Some(d) if d <= now => {
                            assert!(extra < 3, "{ctx}: deadline {d} stays due at {now}");
                            room.tick(now);
                        }
                        _ => break,
                    }
                }
            }
            Step::Disconnect { slot } => {
                let Some(conn) = w.slots[*slot as usize].conn.take() else {
                    continue;
                };
                room.disconnect(&conn, now);
                w.bound.remove(&conn);
            }
            Step::Resume {
                slot,
                stale_token,
                seq_back,
                other_epoch,
            } => {
                let s = *slot as usize;
                let Some(you) = w.slots[s].you.clone() else {
                    continue;
                };
                // A new connection; the old one (if any) is closed by the room (4000).
                w.conn_n += 1;
                let conn = format!("c{}", w.conn_n);
                w.slots[s].conn = Some(conn.clone());
                let replay = *stale_token && w.slots[s].old_token.is_some();
                let token = if *stale_token {
                    w.slots[s].old_token.clone().unwrap_or_else(|| "bad".into())
                } else {
                    you.resume_token.clone()
                };
                let resume = Resume {
                    member_id: you.member_id.clone(),
                    token,
                    last_seq: w.slots[s].last_seq.saturating_sub(*seq_back as u64),
                    epoch: if *other_epoch {
                        "other".into()
                    } else {
                        w.slots[s].epoch.clone()
                    },
                };
                let c = JoinCtx {
                    conn: conn.clone(),
                    instance: "i1".into(),
                    addr_hash: None,
                    device_hash: None,
                    account_id: None,
                };
                match room.join(&c, PROTOCOL_VERSION, "Back", None, Some(&resume), now) {
                    Err(e) => {
                        let code = e.code();
                        if replay {
                            assert!(
                                matches!(
                                    code,
                                    ErrorCode::BadResume
                                        | ErrorCode::Removed
                                        | ErrorCode::RoomClosed
                                        | ErrorCode::RoomLocked
                                        | ErrorCode::RoomFull
                                ),
                                "{ctx}: a replayed token got {code:?}"
                            );
                        }
                        room.refuse(&conn, &e, "join");
                    }
                    Ok(()) if replay => {
                        // A used token never brings the member back as itself.
                        let out = room.take_output();
                        let as_self = out.iter().any(|o| match o {
                            Out::Frame {
                                msg:
                                    ServerMsg::Resumed { you: y, .. }
                                    | ServerMsg::Welcome { you: y, .. },
                                ..
                            } => y.member_id == you.member_id,
                            _ => false,
                        });
                        assert!(!as_self, "{ctx}: a replayed resume token worked");
                        out_checked = Some(out);
                    }
                    Ok(()) => {}
                }
            }
            Step::InstanceLost => room.instance_lost("i2", now),
            Step::OneOnOneOpened => {
                let Some(Effect::OpenOneOnOne {
                    request_id,
                    facilitator,
                    ..
                }) = w.effects.pop()
                else {
                    continue;
                };
                room.one_on_one_opened(&request_id, &facilitator, "r2", "k2", now);
            }
        }
        let out = out_checked.unwrap_or_else(|| room.take_output());
        w.absorb(out, &room, &ctx);
        w.effects.extend(room.take_effects());
        // Nobody becomes a facilitator unless a facilitator made them one
        // (a co-facilitator taking over was a facilitator already).
        for (id, role) in &w.roster {
            if role.is_facilitator() && before.get(id) == Some(&Role::Participant) {
                assert!(may_elevate, "{ctx}: participant {id} became {role:?}");
            }
        }
        w.check_roster(&room, now, &ctx);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_keep_the_room_invariants(
        spec in room_spec(),
        steps in prop::collection::vec(step(), 1..90),
    ) {
        run_session(spec, steps);
    }
}

/// A long, busy session (more joins and commands than the random ones).
#[test]
fn a_busy_session_keeps_the_room_invariants() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for _ in 0..8 {
        let steps = prop::collection::vec(step(), 300..400)
            .new_tree(&mut runner)
            .expect("steps")
            .current();
        let spec = CreateRoom {
            title: "Busy".into(),
            ..Default::default()
        };
        run_session(spec, steps);
    }
}
