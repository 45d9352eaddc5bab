//! Unit tests of the pure room model: every command's happy path and refusals,
//! who receives what, seq ordering, time (timers, schedule, grace periods) and resume.

use super::*;
use std::collections::BTreeMap;

const T0: Millis = 1_700_000_000_000;
const KEY: &str = "KEY";
const SEC: u64 = 1_000;
const MIN: u64 = 60_000;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn ctx(conn: &str) -> JoinCtx {
    JoinCtx {
        conn: conn.into(),
        instance: "i1".into(),
        addr_hash: None,
    }
}

fn group() -> CreateRoom {
    CreateRoom {
        title: "Night shift debrief".into(),
        ..Default::default()
    }
}

fn event_kind(e: &Event) -> String {
    serde_json::to_value(e).unwrap()["kind"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Room events (not per-connection replies), in order: (audience, seq, event).
fn events(out: &[Out]) -> Vec<(&Audience, u64, &Event)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Frame {
                audience,
                msg: ServerMsg::Event { seq, event, .. },
            } if !matches!(audience, Audience::Conn(_)) => Some((audience, *seq, event)),
            _ => None,
        })
        .collect()
}

fn kinds(out: &[Out]) -> Vec<String> {
    events(out)
        .into_iter()
        .map(|(_, _, e)| event_kind(e))
        .collect()
}

fn all_of<'a>(out: &'a [Out], kind: &str) -> Vec<(&'a Audience, u64, &'a Event)> {
    events(out)
        .into_iter()
        .filter(|(_, _, e)| event_kind(e) == kind)
        .collect()
}

/// Exactly one event of this kind.
fn one<'a>(out: &'a [Out], kind: &str) -> (&'a Audience, u64, &'a Event) {
    let v = all_of(out, kind);
    assert_eq!(
        v.len(),
        1,
        "expected exactly one `{kind}` event in {:?}",
        kinds(out)
    );
    v[0]
}

/// Frames addressed to one connection, in order.
fn replies<'a>(out: &'a [Out], conn: &str) -> Vec<&'a ServerMsg> {
    out.iter()
        .filter_map(|o| match o {
            Out::Frame {
                audience: Audience::Conn(c),
                msg,
            } if c == conn => Some(msg),
            _ => None,
        })
        .collect()
}

/// Every frame a member would receive (audience includes it), in order.
fn visible_to<'a>(out: &'a [Out], member: &str) -> Vec<&'a ServerMsg> {
    out.iter()
        .filter_map(|o| match o {
            Out::Frame { audience, msg } if audience.includes(member) => Some(msg),
            _ => None,
        })
        .collect()
}

fn welcome_in(out: &[Out], conn: &str) -> Option<(You, RoomSnapshot, bool)> {
    replies(out, conn).into_iter().find_map(|m| match m {
        ServerMsg::Welcome {
            you,
            room,
            history_reset,
            v,
            ..
        } => {
            assert_eq!(*v, PROTOCOL_VERSION);
            Some((you.clone(), (**room).clone(), *history_reset))
        }
        _ => None,
    })
}

fn error_codes(out: &[Out], conn: &str) -> Vec<ErrorCode> {
    replies(out, conn)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

fn closes(out: &[Out]) -> Vec<(String, u16)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Control(Control::Close { conn, code, .. }) => Some((conn.clone(), *code)),
            _ => None,
        })
        .collect()
}

fn binds(out: &[Out]) -> Vec<(String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Control(Control::Bind { conn, member }) => Some((conn.clone(), member.clone())),
            _ => None,
        })
        .collect()
}

fn code(r: R) -> ErrorCode {
    r.expect_err("expected a refusal").code()
}

fn timer_of(out: &[Out]) -> Timer {
    let (_, _, Event::Timer { timer }) = one(out, "timer") else {
        unreachable!()
    };
    timer.clone()
}

fn info_of(out: &[Out]) -> RoomInfo {
    let (aud, _, Event::RoomUpdated { info }) = one(out, "room_updated") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    info.clone()
}

fn member_of(out: &[Out]) -> Member {
    let (aud, _, Event::MemberUpdated { member }) = one(out, "member_updated") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    member.clone()
}

fn notice_of(out: &[Out]) -> String {
    let (_, _, Event::RoomNotice { code, .. }) = one(out, "room_notice") else {
        unreachable!()
    };
    code.clone()
}

fn chat(text: &str) -> ClientMsg {
    ClientMsg::Chat { text: text.into() }
}

/// A room with a facilitator on connection "f" and participants on the given
/// connections, who accepted the rules. Checks every event's seq as it goes.
struct Fx {
    room: Room,
    now: Millis,
    last_seq: u64,
    /// connection → member id
    ids: BTreeMap<String, String>,
    /// connection → latest resume token
    tokens: BTreeMap<String, String>,
}

impl Fx {
    fn new() -> Fx {
        Fx::with(group(), Limits::default(), &["c1", "c2"])
    }

    fn with(spec: CreateRoom, limits: Limits, participants: &[&str]) -> Fx {
        let room = Room::new(
            "r1".into(),
            &spec,
            KEY,
            limits,
            library::default_crisis_resources(),
            T0,
        );
        let mut fx = Fx {
            room,
            now: T0,
            last_seq: 0,
            ids: BTreeMap::new(),
            tokens: BTreeMap::new(),
        };
        fx.join_raw("f", "Dr Lead", Some(KEY), None).unwrap();
        let out = fx.out();
        let (you, _, _) = fx.record("f", &out);
        assert_eq!(you.role, Role::Facilitator);
        for c in participants {
            fx.add(c, &format!("Member {c}"));
            fx.ok(c, ClientMsg::AcceptRules { version: 1 });
        }
        fx
    }

    /// Drain the outbox, checking that room events carry consecutive seqs.
    fn out(&mut self) -> Vec<Out> {
        let out = self.room.take_output();
        for (_, seq, e) in events(&out) {
            assert_eq!(
                seq,
                self.last_seq + 1,
                "event {} must have the next seq",
                event_kind(e)
            );
            self.last_seq = seq;
        }
        assert_eq!(self.last_seq, self.room.seq());
        out
    }

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(&self.room).unwrap()
    }

    fn id(&self, conn: &str) -> String {
        self.ids[conn].clone()
    }

    fn record(&mut self, conn: &str, out: &[Out]) -> (You, RoomSnapshot, bool) {
        let w = welcome_in(out, conn).unwrap_or_else(|| panic!("no welcome for {conn}"));
        assert!(binds(out).contains(&(conn.to_string(), w.0.member_id.clone())));
        self.ids.insert(conn.into(), w.0.member_id.clone());
        self.tokens.insert(conn.into(), w.0.resume_token.clone());
        w
    }

    fn join_ctx(
        &mut self,
        c: &JoinCtx,
        name: &str,
        key: Option<&str>,
        resume: Option<&Resume>,
    ) -> R {
        self.room
            .join(c, PROTOCOL_VERSION, name, key, resume, self.now)
    }

    fn join_raw(
        &mut self,
        conn: &str,
        name: &str,
        key: Option<&str>,
        resume: Option<&Resume>,
    ) -> R {
        self.join_ctx(&ctx(conn), name, key, resume)
    }

    /// A join that must be refused with `code`, without output or state change.
    fn join_refused(
        &mut self,
        conn: &str,
        name: &str,
        key: Option<&str>,
        resume: Option<&Resume>,
        want: ErrorCode,
    ) {
        let before = self.state();
        let r = self.join_raw(conn, name, key, resume);
        assert_eq!(code(r), want, "join {conn:?} name {name:?}");
        assert!(self.out().is_empty());
        assert!(self.room.take_effects().is_empty());
        assert_eq!(
            self.state(),
            before,
            "a refused join must not change the room"
        );
    }

    /// A participant joins and is admitted at once; returns its member id.
    fn add(&mut self, conn: &str, name: &str) -> String {
        self.join_raw(conn, name, None, None).unwrap();
        let out = self.out();
        self.record(conn, &out).0.member_id
    }

    fn cmd(&mut self, conn: &str, msg: ClientMsg) -> R {
        self.room.handle(conn, msg, self.now)
    }

    fn ok(&mut self, conn: &str, msg: ClientMsg) -> Vec<Out> {
        let shown = format!("{msg:?}");
        let r = self.cmd(conn, msg);
        assert!(r.is_ok(), "{conn} {shown} → {r:?}");
        self.out()
    }

    /// A command that must be refused with `want`, without output, effects or state change.
    fn refuse(&mut self, conn: &str, msg: ClientMsg, want: ErrorCode) {
        let before = self.state();
        let shown = format!("{msg:?}");
        let r = self.cmd(conn, msg);
        assert_eq!(code(r), want, "{conn} {shown}");
        assert!(self.out().is_empty(), "{shown}: a refusal has no output");
        assert!(self.room.take_effects().is_empty());
        assert_eq!(
            self.state(),
            before,
            "{shown}: a refusal must not change the room"
        );
    }

    fn tick(&mut self, at: Millis) -> Vec<Out> {
        self.now = at;
        self.room.tick(at);
        let out = self.out();
        if let Some(d) = self.room.next_deadline() {
            assert!(
                d > at,
                "after tick({at}) the next deadline {d} must be in the future"
            );
        }
        out
    }

    fn disconnect(&mut self, conn: &str) -> Vec<Out> {
        self.room.disconnect(conn, self.now);
        self.out()
    }

    /// The resume history, as JSON (kept apart from the room's serialized state).
    fn history_json(&self) -> String {
        serde_json::to_string(&self.room.history).unwrap()
    }

    fn resume_of(&self, conn: &str, last_seq: u64) -> Resume {
        Resume {
            member_id: self.id(conn),
            token: self.tokens[conn].clone(),
            last_seq,
            epoch: self.room.epoch().to_string(),
        }
    }

    fn snapshot(&self, conn: &str) -> RoomSnapshot {
        self.room.snapshot_for(&self.id(conn))
    }

    fn member(&self, conn: &str) -> Member {
        let id = self.id(conn);
        self.room
            .snapshot_for(&id)
            .roster
            .into_iter()
            .find(|m| m.id == id)
            .expect("in the roster")
    }

    fn status(&self) -> RoomStatus {
        self.room.info().status
    }

    /// The id of a chat message just posted by `conn`.
    fn post(&mut self, conn: &str, text: &str) -> String {
        let out = self.ok(conn, chat(text));
        let (_, _, Event::Chat { message }) = one(&out, "chat") else {
            unreachable!()
        };
        message.id.clone()
    }
}

// ---------------------------------------------------------------------------
// Join
// ---------------------------------------------------------------------------

#[test]
fn join_refuses_another_protocol_version() {
    let mut fx = Fx::new();
    let before = fx.state();
    for v in [0, PROTOCOL_VERSION + 1] {
        let r = fx.room.join(&ctx("c9"), v, "Sam", None, None, fx.now);
        assert_eq!(code(r), ErrorCode::VersionMismatch);
    }
    assert!(fx.out().is_empty());
    assert_eq!(fx.state(), before);
}

#[test]
fn join_checks_and_trims_display_names() {
    let mut fx = Fx::new();
    let too_long = "x".repeat(41);
    for bad in [
        "",
        "   ",
        "\t\n",
        too_long.as_str(),
        "Sa\u{0}m",
        "Sa\nm",
        "\u{7}bell",
        "x\u{1b}[31m",
    ] {
        fx.join_refused("c9", bad, None, None, ErrorCode::InvalidName);
    }
    let id = fx.add("c3", "  Sam  ");
    let m = fx.member("c3");
    assert_eq!((m.id.as_str(), m.name.as_str()), (id.as_str(), "Sam"));
    // The limit counts characters, not bytes; surrounding spaces do not count.
    let forty = "é".repeat(40);
    fx.add("c4", &format!(" {forty} "));
    assert_eq!(fx.member("c4").name, forty);
}

#[test]
fn facilitator_key_must_match() {
    let mut fx = Fx::with(group(), Limits::default(), &[]);
    fx.join_refused("f2", "Dr Two", Some("WRONG"), None, ErrorCode::Forbidden);
    fx.join_refused("f2", "Dr Two", Some(""), None, ErrorCode::Forbidden);
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    let (you, snap, reset) = fx.record("f2", &out);
    assert!(!reset);
    assert_eq!(you.role, Role::Facilitator);
    let me = snap.roster.iter().find(|m| m.id == you.member_id).unwrap();
    assert!(me.creator);
    assert_eq!(me.accepted_rules, snap.rules.version);
    // Participants get no creator flag.
    fx.add("c1", "Pat");
    let p = fx.member("c1");
    assert_eq!(
        (p.role, p.creator, p.accepted_rules),
        (Role::Participant, false, 0)
    );
}

#[test]
fn locked_room_refuses_participants_but_not_facilitators() {
    let mut fx = Fx::new();
    let out = fx.ok("f", ClientMsg::Lock { locked: true });
    assert!(info_of(&out).locked);
    fx.join_refused("c3", "Late", None, None, ErrorCode::RoomLocked);
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f2", &out);
    // Members already in can still resume.
    fx.disconnect("c1");
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_raw("c1b", "", None, Some(&r)).unwrap();
    assert!(replies(&fx.out(), "c1b")
        .iter()
        .any(|m| matches!(m, ServerMsg::Resumed { .. })));
    let out = fx.ok("f", ClientMsg::Lock { locked: false });
    assert!(!info_of(&out).locked);
    fx.add("c3", "Late");
}

#[test]
fn full_room_refuses_participants() {
    let spec = CreateRoom {
        capacity: Some(3),
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &["c1", "c2"]);
    fx.join_refused("c3", "Third", None, None, ErrorCode::RoomFull);
    // A facilitator with the key is never kept out by capacity.
    fx.join_raw("f2", "Dr Two", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f2", &out);
    // Someone leaving frees a seat.
    fx.ok("c1", ClientMsg::Leave);
    fx.ok("f2", ClientMsg::Leave);
    fx.add("c3", "Third");

    // Server-wide member limit applies even without a room capacity.
    let limits = Limits {
        max_members: 2,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["c1"]);
    fx.join_refused("c2", "Two", None, None, ErrorCode::RoomFull);
}

#[test]
fn people_in_the_waiting_room_count_towards_capacity() {
    let spec = CreateRoom {
        capacity: Some(2),
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "One", None, None).unwrap();
    fx.out();
    fx.join_refused("c2", "Two", None, None, ErrorCode::RoomFull);
}

#[test]
fn closed_room_refuses_every_join() {
    let mut fx = Fx::new();
    let out = fx.ok("f", ClientMsg::EndSession);
    assert_eq!(info_of(&out).status, RoomStatus::Closed);
    fx.join_refused("c3", "Late", None, None, ErrorCode::RoomClosed);
    fx.join_refused("f2", "Dr Two", Some(KEY), None, ErrorCode::RoomClosed);
    fx.disconnect("c1");
    let r = fx.resume_of("c1", fx.room.seq());
    fx.join_refused("c1b", "x", None, Some(&r), ErrorCode::RoomClosed);
}

#[test]
fn a_connection_joins_once() {
    let mut fx = Fx::new();
    fx.join_refused("c1", "Again", None, None, ErrorCode::AlreadyJoined);
    fx.join_refused("f", "Again", Some(KEY), None, ErrorCode::AlreadyJoined);
    fx.refuse(
        "c1",
        ClientMsg::Join {
            v: 1,
            room_id: "r1".into(),
            name: "Again".into(),
            facilitator_key: None,
            resume: None,
        },
        ErrorCode::AlreadyJoined,
    );
    // A connection waiting in the waiting room cannot join twice either.
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_raw("c3", "Wait", None, None).unwrap();
    fx.out();
    fx.join_refused("c3", "Wait", None, None, ErrorCode::AlreadyJoined);
}

#[test]
fn commands_before_joining_are_refused_not_joined() {
    let mut fx = Fx::new();
    fx.refuse("nobody", chat("hi"), ErrorCode::NotJoined);
    fx.refuse("nobody", ClientMsg::Ping { t: 1 }, ErrorCode::NotJoined);
    fx.refuse("nobody", ClientMsg::EndSession, ErrorCode::NotJoined);
}

#[test]
fn ping_is_answered_to_the_connection() {
    let mut fx = Fx::new();
    fx.now += 5;
    let out = fx.ok("c1", ClientMsg::Ping { t: 42 });
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Pong {
            t: 42,
            server_time: T0 + 5
        }]
    );
    assert!(events(&out).is_empty());
}

#[test]
fn welcome_carries_the_full_snapshot() {
    let mut fx = Fx::new();
    fx.post("c1", "hello everyone");
    fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("Breaks at 3".into()),
        },
    );
    fx.ok("c2", ClientMsg::RaiseHand);
    fx.now += 1234;
    fx.join_raw("c3", "Casey", None, None).unwrap();
    let out = fx.out();

    // Order: the member_joined event, then bind, then welcome to the connection.
    assert_eq!(kinds(&out), vec!["member_joined"]);
    let (aud, joined_seq, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    let pos_event = out
        .iter()
        .position(|o| {
            matches!(
                o,
                Out::Frame {
                    msg: ServerMsg::Event { .. },
                    ..
                }
            )
        })
        .unwrap();
    let pos_bind = out
        .iter()
        .position(|o| matches!(o, Out::Control(Control::Bind { .. })))
        .unwrap();
    let pos_welcome = out
        .iter()
        .position(|o| {
            matches!(
                o,
                Out::Frame {
                    msg: ServerMsg::Welcome { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert!(pos_event < pos_bind && pos_bind < pos_welcome);

    let (you, snap, reset) = fx.record("c3", &out);
    assert!(!reset);
    assert_eq!(you.member_id, member.id);
    assert_eq!(you.role, Role::Participant);
    assert_eq!(you.resume_token.len(), 32);
    assert!(matches!(
        replies(&out, "c3")[0],
        ServerMsg::Welcome { server_time, .. } if *server_time == T0 + 1234
    ));
    assert_eq!(&snap.info, fx.room.info());
    assert_eq!(snap.info.pinned.as_deref(), Some("Breaks at 3"));
    assert_eq!(snap.rules.version, 1);
    assert_eq!(snap.rules.rules, library::default_ground_rules());
    let roster: Vec<(&str, Role, bool)> = snap
        .roster
        .iter()
        .map(|m| (m.name.as_str(), m.role, m.online))
        .collect();
    assert_eq!(
        roster,
        vec![
            ("Dr Lead", Role::Facilitator, true),
            ("Member c1", Role::Participant, true),
            ("Member c2", Role::Participant, true),
            ("Casey", Role::Participant, true),
        ]
    );
    assert_eq!(snap.roster[3], *member);
    assert_eq!(member.accepted_rules, 0);
    assert_eq!(snap.messages.len(), 1);
    assert_eq!(snap.messages[0].text, "hello everyone");
    assert_eq!(snap.hands, vec![fx.id("c2")]);
    assert_eq!(snap.crisis_resources, library::default_crisis_resources());
    assert!(snap.waiting.is_empty() && snap.support_requests.is_empty());
    assert!(snap.personally_muted.is_empty());
    assert!(snap.timers.is_empty() && snap.energizer.is_none() && snap.energy_check.is_none());
    assert_eq!(snap.seq, joined_seq);
    assert_eq!(snap.seq, fx.room.seq());
    assert_eq!(snap.epoch, fx.room.epoch());
}

#[test]
fn member_joined_events_are_in_seq_order() {
    let mut fx = Fx::new();
    let mut seqs = vec![];
    for c in ["c3", "c4", "c5"] {
        let before = fx.room.seq();
        fx.join_raw(c, c, None, None).unwrap();
        let out = fx.out();
        let (_, seq, _) = one(&out, "member_joined");
        assert_eq!(seq, before + 1);
        let (_, snap, _) = fx.record(c, &out);
        assert_eq!(snap.seq, seq);
        // The newcomer's roster lists everyone who joined before it, in join order.
        assert_eq!(snap.roster.last().unwrap().name, c);
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn seq_is_strictly_increasing_across_all_output() {
    let mut fx = Fx::new();
    let mut all: Vec<Out> = vec![];
    let c1 = fx.id("c1");
    let msg = fx.post("c1", "first");
    all.extend(fx.ok(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "+1".into(),
        },
    ));
    all.extend(fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Round".into(),
            duration_secs: 5,
        },
    ));
    all.extend(fx.ok("c2", ClientMsg::SupportRequest { note: None }));
    all.extend(fx.ok("f", ClientMsg::OpenEnergyCheck));
    all.extend(fx.ok("f", ClientMsg::InviteToShare { member_id: c1 }));
    all.extend(fx.ok("c1", chat("second")));
    let t = fx.now + 5 * SEC;
    all.extend(fx.tick(t));
    all.extend(fx.disconnect("c2"));
    fx.join_raw("c3", "Three", None, None).unwrap();
    all.extend(fx.out());
    let seqs: Vec<u64> = events(&all).iter().map(|(_, s, _)| *s).collect();
    assert!(seqs.len() >= 9, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(*seqs.last().unwrap(), fx.room.seq());
    // A chat message carries the seq of the event that delivered it.
    for (_, seq, e) in events(&all) {
        if let Event::Chat { message } = e {
            assert_eq!(message.seq, seq);
        }
    }
}

// ---------------------------------------------------------------------------
// Chat, rules, reactions
// ---------------------------------------------------------------------------

#[test]
fn chat_requires_accepting_the_current_rules() {
    let mut fx = Fx::new();
    let id = fx.add("c3", "Newbie");
    fx.refuse("c3", chat("hi"), ErrorCode::RulesNotAccepted);
    fx.refuse(
        "c3",
        ClientMsg::AcceptRules { version: 2 },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c3",
        ClientMsg::AcceptRules { version: 0 },
        ErrorCode::Invalid,
    );
    let out = fx.ok("c3", ClientMsg::AcceptRules { version: 1 });
    let m = member_of(&out);
    assert_eq!((m.id.as_str(), m.accepted_rules), (id.as_str(), 1));

    fx.now += 7;
    let out = fx.ok("c3", chat("  hi all \n"));
    let (aud, seq, Event::Chat { message }) = one(&out, "chat") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(message.text, "hi all");
    assert_eq!(message.from, id);
    assert_eq!(message.name, "Newbie");
    assert_eq!(message.seq, seq);
    assert_eq!(message.ts, fx.now);
    assert!(message.reactions.is_empty());
    assert_eq!(fx.snapshot("c1").messages.last().unwrap(), message);
}

#[test]
fn new_ground_rules_must_be_accepted_again() {
    let mut fx = Fx::new();
    fx.post("c1", "before");
    let out = fx.ok(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec![" Be kind. ".into(), "Keep it here.".into()],
        },
    );
    let (aud, _, Event::RulesUpdated { rules }) = one(&out, "rules_updated") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(rules.version, 2);
    assert_eq!(rules.rules, vec!["Be kind.", "Keep it here."]);
    assert_eq!(fx.snapshot("c1").rules, *rules);
    fx.refuse("c1", chat("after"), ErrorCode::RulesNotAccepted);
    fx.refuse(
        "c1",
        ClientMsg::AcceptRules { version: 1 },
        ErrorCode::Invalid,
    );
    // The facilitator accepted its own rules.
    fx.post("f", "facilitator still posts");
    assert_eq!(fx.member("f").accepted_rules, 2);
    fx.ok("c1", ClientMsg::AcceptRules { version: 2 });
    fx.post("c1", "after");
    fx.refuse("c2", chat("not yet"), ErrorCode::RulesNotAccepted);

    // Showing the rules again does not bump the version.
    let out = fx.ok("f", ClientMsg::ShowGroundRules);
    let (_, _, Event::RulesShown { rules }) = one(&out, "rules_shown") else {
        unreachable!()
    };
    assert_eq!(rules.version, 2);
    fx.post("c1", "still fine");

    // Invalid rule sets.
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules { rules: vec![] },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["r".into(); 21],
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["ok".into(), "  ".into()],
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["x".repeat(301)],
        },
        ErrorCode::TooLarge,
    );
}

#[test]
fn muted_members_cannot_post() {
    let mut fx = Fx::new();
    let msg = fx.post("c2", "something");
    let c1 = fx.id("c1");
    let out = fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: c1.clone(),
        },
    );
    let m = member_of(&out);
    assert!(m.muted && m.id == c1);
    // Muting twice changes nothing.
    let out = fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: c1.clone(),
        },
    );
    assert!(out.is_empty());
    fx.refuse("c1", chat("hello"), ErrorCode::Muted);
    fx.refuse(
        "c1",
        ClientMsg::React {
            message_id: msg,
            emoji: "+1".into(),
        },
        ErrorCode::Muted,
    );
    fx.post("c2", "others still can");
    let out = fx.ok(
        "f",
        ClientMsg::Unmute {
            member_id: c1.clone(),
        },
    );
    assert!(!member_of(&out).muted);
    fx.post("c1", "back");
    fx.refuse(
        "f",
        ClientMsg::Mute {
            member_id: "nobody".into(),
        },
        ErrorCode::NotFound,
    );
}

#[test]
fn slow_mode_spaces_out_participant_messages() {
    let mut fx = Fx::new();
    let out = fx.ok("f", ClientMsg::SlowMode { secs: 10 });
    assert_eq!(info_of(&out).slow_mode_secs, 10);
    fx.post("c1", "one");
    fx.now += 5 * SEC;
    fx.refuse("c1", chat("two"), ErrorCode::SlowMode);
    // Other members and the facilitator are not held back by c1's post.
    fx.post("c2", "mine");
    fx.post("f", "lead");
    fx.post("f", "lead again");
    fx.now += 5 * SEC - 1;
    fx.refuse("c1", chat("two"), ErrorCode::SlowMode);
    fx.now += 1;
    fx.post("c1", "two");
    fx.refuse("c1", chat("three"), ErrorCode::SlowMode);
    // Turning it off lifts the limit.
    fx.ok("f", ClientMsg::SlowMode { secs: 0 });
    fx.post("c1", "three");
    fx.refuse("f", ClientMsg::SlowMode { secs: 3601 }, ErrorCode::Invalid);
}

#[test]
fn chat_text_is_checked() {
    let mut fx = Fx::new();
    fx.refuse("c1", chat(""), ErrorCode::Invalid);
    fx.refuse("c1", chat(" \n\t "), ErrorCode::Invalid);
    fx.refuse("c1", chat(&"x".repeat(2001)), ErrorCode::TooLarge);
    fx.refuse("f", chat(&"é".repeat(2001)), ErrorCode::TooLarge);
    fx.post("c1", &"é".repeat(2000));
    // Text is kept verbatim (rendering as text is the client's job).
    let id = fx.post("c2", "<b>hi</b>");
    let snap = fx.snapshot("c1");
    assert_eq!(
        snap.messages.iter().find(|m| m.id == id).unwrap().text,
        "<b>hi</b>"
    );
}

#[test]
fn recent_messages_are_bounded() {
    let limits = Limits {
        recent_messages: 3,
        ..Limits::default()
    };
    let mut fx = Fx::with(group(), limits, &["c1"]);
    for i in 0..5 {
        fx.post("c1", &format!("m{i}"));
    }
    let texts: Vec<String> = fx
        .snapshot("c1")
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["m2", "m3", "m4"]);
}

#[test]
fn reactions_toggle() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "rough night");
    let c2 = fx.id("c2");
    let out = fx.ok(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: " 💙 ".into(),
        },
    );
    let (
        aud,
        _,
        Event::Reaction {
            message_id,
            emoji,
            member_id,
            on,
        },
    ) = one(&out, "reaction")
    else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(
        (message_id, emoji.as_str(), member_id, *on),
        (&msg, "💙", &c2, true)
    );
    let snap = fx.snapshot("c1");
    assert_eq!(
        snap.messages[0].reactions.get("💙"),
        Some(&vec![c2.clone()])
    );
    fx.ok(
        "f",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "💙".into(),
        },
    );
    assert_eq!(fx.snapshot("c1").messages[0].reactions["💙"].len(), 2);

    let out = fx.ok(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "💙".into(),
        },
    );
    let (_, _, Event::Reaction { on, .. }) = one(&out, "reaction") else {
        unreachable!()
    };
    assert!(!on);
    assert_eq!(
        fx.snapshot("c1").messages[0].reactions["💙"],
        vec![fx.id("f")]
    );
    fx.ok(
        "f",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "💙".into(),
        },
    );
    assert!(fx.snapshot("c1").messages[0].reactions.is_empty());

    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: "nope".into(),
            emoji: "+1".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "  ".into(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "123456789".into(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "a\u{0}".into(),
        },
        ErrorCode::Invalid,
    );
    let c3 = fx.add("c3", "New");
    assert!(!c3.is_empty());
    fx.refuse(
        "c3",
        ClientMsg::React {
            message_id: msg,
            emoji: "+1".into(),
        },
        ErrorCode::RulesNotAccepted,
    );
}

#[test]
fn too_many_different_reactions_are_refused_without_a_trace() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "popular");
    for i in 0..16 {
        fx.ok(
            "c2",
            ClientMsg::React {
                message_id: msg.clone(),
                emoji: format!("e{i}"),
            },
        );
    }
    fx.refuse(
        "c2",
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "e16".into(),
        },
        ErrorCode::Invalid,
    );
    assert_eq!(fx.snapshot("c1").messages[0].reactions.len(), 16);
    // An existing reaction can still be toggled.
    fx.ok(
        "c1",
        ClientMsg::React {
            message_id: msg,
            emoji: "e3".into(),
        },
    );
}

// ---------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------

#[test]
fn timer_start_pause_resume_extend() {
    let mut fx = Fx::new();
    assert_eq!(fx.room.next_deadline(), None);
    let out = fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: " Round 1 ".into(),
            duration_secs: 60,
        },
    );
    let t = timer_of(&out);
    assert_eq!(t.name, "Round 1");
    assert_eq!(t.state, TimerState::Running);
    assert_eq!(t.deadline, Some(T0 + 60 * SEC));
    assert_eq!((t.duration_ms, t.remaining_ms), (60_000, None));
    assert_eq!(fx.room.next_deadline(), Some(T0 + 60 * SEC));
    assert_eq!(fx.snapshot("c1").timers, vec![t.clone()]);

    fx.now = T0 + 20 * SEC;
    let out = fx.ok(
        "f",
        ClientMsg::TimerPause {
            timer_id: t.id.clone(),
        },
    );
    let p = timer_of(&out);
    assert_eq!(
        (p.state, p.deadline, p.remaining_ms),
        (TimerState::Paused, None, Some(40_000))
    );
    assert_eq!(fx.room.next_deadline(), None);
    fx.refuse(
        "f",
        ClientMsg::TimerPause {
            timer_id: t.id.clone(),
        },
        ErrorCode::Invalid,
    );
    // A paused timer never expires.
    assert!(kinds(&fx.tick(T0 + 120 * SEC)).is_empty());

    fx.now = T0 + 130 * SEC;
    let out = fx.ok(
        "f",
        ClientMsg::TimerResume {
            timer_id: t.id.clone(),
        },
    );
    let r = timer_of(&out);
    assert_eq!(
        (r.state, r.deadline, r.remaining_ms),
        (TimerState::Running, Some(T0 + 170 * SEC), None)
    );
    fx.refuse(
        "f",
        ClientMsg::TimerResume {
            timer_id: t.id.clone(),
        },
        ErrorCode::Invalid,
    );

    let out = fx.ok(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 15,
        },
    );
    let e = timer_of(&out);
    assert_eq!((e.deadline, e.duration_ms), (Some(T0 + 185 * SEC), 75_000));
    assert_eq!(fx.room.next_deadline(), Some(T0 + 185 * SEC));
    fx.refuse(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 0,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 3601,
        },
        ErrorCode::Invalid,
    );

    // Extending a paused timer adds to what remains.
    fx.ok(
        "f",
        ClientMsg::TimerPause {
            timer_id: t.id.clone(),
        },
    );
    let out = fx.ok(
        "f",
        ClientMsg::TimerExtend {
            timer_id: t.id.clone(),
            secs: 5,
        },
    );
    assert_eq!(timer_of(&out).remaining_ms, Some(60_000));

    for bad in [
        ClientMsg::TimerPause {
            timer_id: "x".into(),
        },
        ClientMsg::TimerResume {
            timer_id: "x".into(),
        },
        ClientMsg::TimerExtend {
            timer_id: "x".into(),
            secs: 5,
        },
        ClientMsg::TimerCancel {
            timer_id: "x".into(),
        },
    ] {
        fx.refuse("f", bad, ErrorCode::NotFound);
    }
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "x".into(),
            duration_secs: 0,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "x".into(),
            duration_secs: 24 * 3600 + 1,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: " ".into(),
            duration_secs: 5,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "x".repeat(61),
            duration_secs: 5,
        },
        ErrorCode::TooLarge,
    );
}

#[test]
fn timer_expires_exactly_once() {
    let mut fx = Fx::new();
    let out = fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Break".into(),
            duration_secs: 30,
        },
    );
    let t = timer_of(&out);
    assert!(fx.tick(T0).is_empty());
    assert!(fx.tick(T0 + 30 * SEC - 1).is_empty());
    let out = fx.tick(T0 + 30 * SEC);
    let (aud, _, Event::TimerExpired { timer_id, name }) = one(&out, "timer_expired") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!((timer_id, name.as_str()), (&t.id, "Break"));
    assert_eq!(kinds(&out).len(), 1);
    for k in 1..20 {
        assert!(fx.tick(T0 + 30 * SEC + k * 1000).is_empty());
    }
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.snapshot("c1").timers.is_empty());
    fx.refuse(
        "f",
        ClientMsg::TimerPause { timer_id: t.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn several_timers_expire_independently() {
    let mut fx = Fx::new();
    let a = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "A".into(),
            duration_secs: 10,
        },
    ));
    let b = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "B".into(),
            duration_secs: 20,
        },
    ));
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
    let out = fx.tick(T0 + 15 * SEC);
    let (_, _, Event::TimerExpired { timer_id, .. }) = one(&out, "timer_expired") else {
        unreachable!()
    };
    assert_eq!(timer_id, &a.id);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    // A late tick past both deadlines still yields one expiry for B only.
    let out = fx.tick(T0 + 60 * SEC);
    let (_, _, Event::TimerExpired { timer_id, .. }) = one(&out, "timer_expired") else {
        unreachable!()
    };
    assert_eq!(timer_id, &b.id);
}

#[test]
fn cancelled_timer_never_expires() {
    let mut fx = Fx::new();
    let t = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Speaker".into(),
            duration_secs: 10,
        },
    ));
    let out = fx.ok(
        "f",
        ClientMsg::TimerCancel {
            timer_id: t.id.clone(),
        },
    );
    let c = timer_of(&out);
    assert_eq!(
        (c.id.as_str(), c.state, c.deadline),
        (t.id.as_str(), TimerState::Cancelled, None)
    );
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 60 * SEC).is_empty());
    fx.refuse(
        "f",
        ClientMsg::TimerCancel { timer_id: t.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn at_most_twenty_timers() {
    let mut fx = Fx::new();
    for i in 0..20 {
        fx.ok(
            "f",
            ClientMsg::TimerStart {
                name: format!("t{i}"),
                duration_secs: 60,
            },
        );
    }
    fx.refuse(
        "f",
        ClientMsg::TimerStart {
            name: "one more".into(),
            duration_secs: 60,
        },
        ErrorCode::Invalid,
    );
}

// ---------------------------------------------------------------------------
// Schedule
// ---------------------------------------------------------------------------

fn scheduled() -> CreateRoom {
    CreateRoom {
        starts_at: Some(T0 + 10 * MIN),
        ends_at: Some(T0 + 70 * MIN),
        ..group()
    }
}

#[test]
fn scheduled_room_keeps_participants_in_the_lobby_until_the_start() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    assert_eq!(fx.status(), RoomStatus::Scheduled);
    fx.join_raw("c1", "Early", None, None).unwrap();
    let out = fx.out();
    assert!(
        events(&out).is_empty(),
        "no member_joined while in the lobby"
    );
    assert!(binds(&out).is_empty());
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Lobby {
            room_id: "r1".into(),
            starts_at: T0 + 10 * MIN
        }]
    );
    fx.refuse("c1", chat("hi"), ErrorCode::NotJoined);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * MIN));
    // Another early bird who gives up leaves no trace.
    fx.join_raw("c2", "Gone", None, None).unwrap();
    fx.out();
    assert!(fx.disconnect("c2").is_empty());

    assert!(fx.tick(T0 + 10 * MIN - 1).is_empty());
    let out = fx.tick(T0 + 10 * MIN);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    let (_, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(member.name, "Early");
    let (you, snap, _) = fx.record("c1", &out);
    assert_eq!(you.member_id, member.id);
    assert_eq!(snap.info.status, RoomStatus::Open);
    assert_eq!(snap.roster.len(), 2);
    // Now c1 may post after accepting the rules.
    fx.ok("c1", ClientMsg::AcceptRules { version: 1 });
    fx.post("c1", "hello");
    // Joins after the start are admitted at once.
    fx.add("c3", "Late");
}

#[test]
fn facilitator_may_post_before_the_start() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    fx.post("f", "setting up");
    fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("Welcome".into()),
        },
    );
}

#[test]
fn session_warnings_fire_once_each() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let end = T0 + 70 * MIN;
    fx.tick(T0 + 10 * MIN);
    assert_eq!(fx.room.next_deadline(), Some(end - 5 * MIN));
    assert!(fx.tick(end - 5 * MIN - 1).is_empty());
    let out = fx.tick(end - 5 * MIN);
    let (
        aud,
        _,
        Event::SessionWarning {
            minutes_left,
            ends_at,
        },
    ) = one(&out, "session_warning")
    else {
        unreachable!()
    };
    assert_eq!((aud, *minutes_left, *ends_at), (&Audience::All, 5, end));
    assert_eq!(fx.room.next_deadline(), Some(end - MIN));
    assert!(fx.tick(end - 4 * MIN).is_empty());
    assert!(fx.tick(end - 2 * MIN).is_empty());
    let out = fx.tick(end - MIN + 10);
    let (_, _, Event::SessionWarning { minutes_left, .. }) = one(&out, "session_warning") else {
        unreachable!()
    };
    assert_eq!(*minutes_left, 1);
    assert_eq!(fx.room.next_deadline(), Some(end));
    assert!(fx.tick(end - 30 * SEC).is_empty());
    assert_eq!(fx.status(), RoomStatus::Open);
}

#[test]
fn a_late_tick_gives_only_the_one_minute_warning() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let end = T0 + 70 * MIN;
    fx.tick(T0 + 10 * MIN);
    let out = fx.tick(end - 30 * SEC);
    let w = all_of(&out, "session_warning");
    assert_eq!(w.len(), 1);
    assert!(matches!(
        w[0].2,
        Event::SessionWarning {
            minutes_left: 1,
            ..
        }
    ));
    assert!(fx.tick(end - 20 * SEC).is_empty());
}

#[test]
fn extend_session_moves_the_end_and_rearms_warnings() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let end = T0 + 70 * MIN;
    fx.tick(T0 + 10 * MIN);
    fx.tick(end - 5 * MIN);
    fx.now = end - 4 * MIN;
    let out = fx.ok("f", ClientMsg::ExtendSession { minutes: 10 });
    let new_end = end + 10 * MIN;
    assert_eq!(info_of(&out).ends_at, Some(new_end));
    assert_eq!(fx.room.next_deadline(), Some(new_end - 5 * MIN));
    assert!(fx.tick(end).is_empty());
    assert_eq!(fx.status(), RoomStatus::Open);
    let out = fx.tick(new_end - 5 * MIN);
    assert!(matches!(
        one(&out, "session_warning").2,
        Event::SessionWarning { minutes_left: 5, ends_at } if *ends_at == new_end
    ));
    assert_eq!(kinds(&fx.tick(new_end - MIN)), vec!["session_warning"]);
    let out = fx.tick(new_end);
    one(&out, "session_ended");

    fx.refuse(
        "f",
        ClientMsg::ExtendSession { minutes: 5 },
        ErrorCode::RoomClosed,
    );
    let mut fx = Fx::new();
    fx.refuse(
        "f",
        ClientMsg::ExtendSession { minutes: 0 },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::ExtendSession { minutes: 241 },
        ErrorCode::Invalid,
    );
    // A room without an end gets one.
    let out = fx.ok("f", ClientMsg::ExtendSession { minutes: 30 });
    assert_eq!(info_of(&out).ends_at, Some(T0 + 30 * MIN));
}

#[test]
fn the_session_ends_on_time_with_a_summary_and_no_transcript() {
    let mut fx = Fx::with(scheduled(), Limits::default(), &[]);
    let start = T0 + 10 * MIN;
    let end = T0 + 70 * MIN;
    fx.tick(start);
    fx.add("c1", "One");
    fx.add("c2", "Two");
    for c in ["c1", "c2"] {
        fx.ok(c, ClientMsg::AcceptRules { version: 1 });
    }
    fx.now = start + MIN;
    let secret = "my patient died last night and I cannot sleep";
    let msg = fx.post("c1", secret);
    fx.post("c2", "another private thing");
    let h1 = fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Consensus,
            message_id: Some(msg),
            text: Some("Nights are hard for all of us".into()),
        },
    );
    let (_, _, Event::Highlight { highlight: h1 }) = one(&h1, "highlight") else {
        unreachable!()
    };
    let h1 = h1.id.clone();
    let h2 = fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: Some("Book a debrief".into()),
        },
    );
    let (_, _, Event::Highlight { highlight: h2 }) = one(&h2, "highlight") else {
        unreachable!()
    };
    let h2 = h2.id.clone();
    for c in ["c1", "c2", "f"] {
        fx.ok(
            c,
            ClientMsg::Agree {
                highlight_id: h1.clone(),
            },
        );
    }
    fx.ok(
        "c2",
        ClientMsg::Agree {
            highlight_id: h2.clone(),
        },
    );
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("Name a small joy".into()),
            duration_secs: None,
        },
    );
    fx.ok(
        "f",
        ClientMsg::Park {
            message_id: None,
            text: Some("Scheduling concerns".into()),
        },
    );
    let out = fx.ok("f", ClientMsg::OpenEnergyCheck);
    let (_, _, Event::EnergyCheck { check }) = one(&out, "energy_check") else {
        unreachable!()
    };
    let check_id = check.id.clone();
    fx.ok(
        "c1",
        ClientMsg::EnergyAnswer {
            check_id: check_id.clone(),
            level: 2,
        },
    );
    fx.ok(
        "c2",
        ClientMsg::EnergyAnswer {
            check_id: check_id.clone(),
            level: 4,
        },
    );
    // A timer running at the end is dropped.
    fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Round".into(),
            duration_secs: 3600,
        },
    );

    let out = fx.tick(end);
    assert_eq!(kinds(&out), vec!["room_updated", "session_ended"]);
    assert_eq!(info_of(&out).status, RoomStatus::Closed);
    let (aud, _, Event::SessionEnded { summary }) = one(&out, "session_ended") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(Some(summary), fx.room.summary());
    assert_eq!(
        (summary.room_id.as_str(), summary.title.as_str()),
        ("r1", "Night shift debrief")
    );
    assert_eq!((summary.started_at, summary.ended_at), (start, end));
    let agreed: Vec<(&str, usize)> = summary
        .highlights
        .iter()
        .map(|h| (h.text.as_str(), h.agreed.len()))
        .collect();
    assert_eq!(
        agreed,
        vec![("Nights are hard for all of us", 3), ("Book a debrief", 1)]
    );
    assert_eq!(summary.energy_checks.len(), 1);
    let e = &summary.energy_checks[0];
    assert_eq!(
        (e.id.as_str(), e.open, e.count, e.distribution),
        (check_id.as_str(), false, 2, [0, 1, 0, 1, 0])
    );
    assert_eq!(summary.energizers, vec!["Stretch break", "Energizer"]);
    assert_eq!(summary.parking_lot.len(), 1);
    assert_eq!(summary.parking_lot[0].text, "Scheduling concerns");
    let s = serde_json::to_string(summary).unwrap();
    assert!(!s.contains(secret) && !s.contains("another private thing"));

    // The transcript is gone from the room and from its resume history.
    let state = fx.state().to_string() + &fx.history_json();
    assert!(!state.contains(secret) && !state.contains("another private thing"));
    assert!(
        state.contains("Scheduling concerns"),
        "the check looks at real content"
    );
    assert!(fx.snapshot("c1").messages.is_empty());
    assert!(fx.snapshot("c1").timers.is_empty());
    assert_eq!(fx.room.next_deadline(), None);

    fx.refuse("c1", chat("still here?"), ErrorCode::RoomClosed);
    fx.refuse("f", chat("still here?"), ErrorCode::RoomClosed);
    fx.refuse(
        "c1",
        ClientMsg::Agree { highlight_id: h2 },
        ErrorCode::RoomClosed,
    );
    fx.refuse("f", ClientMsg::EndSession, ErrorCode::RoomClosed);
    fx.join_refused("c3", "Late", None, None, ErrorCode::RoomClosed);
    // Ticking on changes nothing.
    assert!(fx.tick(end + MIN).is_empty());
}

#[test]
fn end_session_answers_everyone_still_waiting() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "Waiting", None, None).unwrap();
    fx.out();
    let out = fx.ok("f", ClientMsg::EndSession);
    assert_eq!(error_codes(&out, "c1"), vec![ErrorCode::RoomClosed]);
    one(&out, "session_ended");
    assert_eq!(fx.room.conns(), vec!["f".to_string()]);
}

// ---------------------------------------------------------------------------
// Energizers
// ---------------------------------------------------------------------------

fn started_run(out: &[Out]) -> EnergizerRun {
    let (aud, _, Event::EnergizerStarted { run }) = one(out, "energizer_started") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    run.clone()
}

#[test]
fn energizer_library_is_listed_to_anyone() {
    let mut fx = Fx::new();
    let out = fx.ok("c1", ClientMsg::ListEnergizers);
    assert!(events(&out).is_empty());
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Energizers {
            energizers: library::energizers()
        }]
    );
}

#[test]
fn push_library_and_custom_energizers() {
    let mut fx = Fx::new();
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    let run = started_run(&out);
    assert_eq!(run.energizer_id.as_deref(), Some("stretch"));
    assert_eq!(run.title, "Stretch break");
    assert_eq!(run.prompt, library::energizer("stretch").unwrap().prompt);
    assert!(run.open && run.answers.is_empty() && run.timer_id.is_none());
    assert_eq!(fx.snapshot("c1").energizer, Some(run.clone()));

    // A new push closes the open one first.
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some(" What helped this week? ".into()),
            duration_secs: None,
        },
    );
    assert_eq!(kinds(&out), vec!["energizer_closed", "energizer_started"]);
    let (_, _, Event::EnergizerClosed { run_id }) = one(&out, "energizer_closed") else {
        unreachable!()
    };
    assert_eq!(run_id, &run.id);
    let custom = started_run(&out);
    assert_eq!(
        (custom.energizer_id.clone(), custom.title.as_str()),
        (None, "Energizer")
    );
    assert_eq!(custom.prompt, "What helped this week?");

    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("nope".into()),
            prompt: None,
            duration_secs: None,
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: None,
            duration_secs: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("  ".into()),
            duration_secs: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: None,
            prompt: Some("x".repeat(501)),
            duration_secs: None,
        },
        ErrorCode::TooLarge,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: Some(0),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: Some(3601),
        },
        ErrorCode::Invalid,
    );
}

#[test]
fn timed_energizer_starts_a_timer() {
    let mut fx = Fx::new();
    let out = fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("one-word".into()),
            prompt: None,
            duration_secs: Some(60),
        },
    );
    let t = timer_of(&out);
    let run = started_run(&out);
    assert_eq!(run.timer_id.as_deref(), Some(t.id.as_str()));
    assert_eq!(
        (t.name.as_str(), t.deadline),
        ("One-word check-in", Some(T0 + 60 * SEC))
    );
    assert_eq!(fx.room.next_deadline(), Some(T0 + 60 * SEC));
    let out = fx.tick(T0 + 60 * SEC);
    one(&out, "timer_expired");
}

#[test]
fn a_refused_energizer_push_keeps_the_open_one() {
    let mut fx = Fx::new();
    fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    );
    for i in 0..20 {
        fx.ok(
            "f",
            ClientMsg::TimerStart {
                name: format!("t{i}"),
                duration_secs: 600,
            },
        );
    }
    // No timer can be started: the push is refused and the running energizer stays open.
    fx.refuse(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("weather".into()),
            prompt: None,
            duration_secs: Some(60),
        },
        ErrorCode::Invalid,
    );
    assert!(fx.snapshot("c1").energizer.unwrap().open);
}

#[test]
fn energizer_answers_are_shown_to_all_one_per_member() {
    let mut fx = Fx::new();
    let run = started_run(&fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("weather".into()),
            prompt: None,
            duration_secs: None,
        },
    ));
    let c1 = fx.id("c1");
    let out = fx.ok(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: " Foggy ".into(),
        },
    );
    let (aud, _, Event::EnergizerAnswer { run_id, answer }) = one(&out, "energizer_answer") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    assert_eq!(run_id, &run.id);
    assert_eq!(
        (
            answer.member_id.as_str(),
            answer.name.as_str(),
            answer.text.as_str()
        ),
        (c1.as_str(), "Member c1", "Foggy")
    );
    fx.ok(
        "c2",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "Sunny".into(),
        },
    );
    fx.ok(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "Clearing up".into(),
        },
    );
    let answers: Vec<(String, String)> = fx
        .snapshot("f")
        .energizer
        .unwrap()
        .answers
        .into_iter()
        .map(|a| (a.name, a.text))
        .collect();
    assert_eq!(
        answers,
        vec![
            ("Member c2".to_string(), "Sunny".to_string()),
            ("Member c1".to_string(), "Clearing up".to_string())
        ]
    );

    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: "nope".into(),
            text: "x".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: " ".into(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "x".repeat(281),
        },
        ErrorCode::TooLarge,
    );
    fx.add("c3", "New");
    fx.refuse(
        "c3",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "x".into(),
        },
        ErrorCode::RulesNotAccepted,
    );

    let out = fx.ok(
        "f",
        ClientMsg::CloseEnergizer {
            run_id: run.id.clone(),
        },
    );
    let (_, _, Event::EnergizerClosed { run_id }) = one(&out, "energizer_closed") else {
        unreachable!()
    };
    assert_eq!(run_id, &run.id);
    assert!(!fx.snapshot("c1").energizer.unwrap().open);
    fx.refuse(
        "c1",
        ClientMsg::AnswerEnergizer {
            run_id: run.id.clone(),
            text: "late".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::CloseEnergizer { run_id: run.id },
        ErrorCode::NotFound,
    );
}

// ---------------------------------------------------------------------------
// Highlights
// ---------------------------------------------------------------------------

fn highlight_of(out: &[Out]) -> Highlight {
    let (aud, _, Event::Highlight { highlight }) = one(out, "highlight") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    highlight.clone()
}

#[test]
fn highlights_from_messages_and_text() {
    let mut fx = Fx::new();
    let msg = fx.post("c1", "We all feel the staffing strain");
    let h = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Consensus,
            message_id: Some(msg.clone()),
            text: None,
        },
    ));
    assert_eq!(
        (h.tag, h.text.as_str(), h.message_id.as_deref()),
        (
            HighlightTag::Consensus,
            "We all feel the staffing strain",
            Some(msg.as_str())
        )
    );
    assert!(h.agreed.is_empty());
    let h2 = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some(" Ask for help early ".into()),
        },
    ));
    assert_eq!(
        (h2.text.as_str(), h2.message_id.clone()),
        ("Ask for help early", None)
    );
    let ids: Vec<String> = fx
        .snapshot("c2")
        .highlights
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, vec![h.id.clone(), h2.id.clone()]);

    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: Some("nope".into()),
            text: None,
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: None,
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: Some(" ".into()),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Action,
            message_id: None,
            text: Some("x".repeat(501)),
        },
        ErrorCode::TooLarge,
    );

    let e = highlight_of(&fx.ok(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: h2.id.clone(),
            tag: Some(HighlightTag::Action),
            text: Some("Ask for help early, always".into()),
        },
    ));
    assert_eq!(
        (e.id.as_str(), e.tag, e.text.as_str()),
        (
            h2.id.as_str(),
            HighlightTag::Action,
            "Ask for help early, always"
        )
    );
    let e = highlight_of(&fx.ok(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: h2.id.clone(),
            tag: Some(HighlightTag::Consensus),
            text: None,
        },
    ));
    assert_eq!(
        (e.tag, e.text.as_str()),
        (HighlightTag::Consensus, "Ask for help early, always")
    );
    fx.refuse(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: "nope".into(),
            tag: None,
            text: Some("x".into()),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::EditHighlight {
            highlight_id: h2.id.clone(),
            tag: None,
            text: Some(" ".into()),
        },
        ErrorCode::Invalid,
    );

    let out = fx.ok(
        "f",
        ClientMsg::RemoveHighlight {
            highlight_id: h.id.clone(),
        },
    );
    let (_, _, Event::HighlightRemoved { highlight_id }) = one(&out, "highlight_removed") else {
        unreachable!()
    };
    assert_eq!(highlight_id, &h.id);
    assert_eq!(fx.snapshot("c1").highlights.len(), 1);
    fx.refuse(
        "f",
        ClientMsg::RemoveHighlight {
            highlight_id: h.id.clone(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::Agree { highlight_id: h.id },
        ErrorCode::NotFound,
    );
}

#[test]
fn agree_once_each_and_unagree() {
    let mut fx = Fx::new();
    let h = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("Sleep matters".into()),
        },
    ));
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let a = highlight_of(&fx.ok(
        "c1",
        ClientMsg::Agree {
            highlight_id: h.id.clone(),
        },
    ));
    assert_eq!(a.agreed, vec![c1.clone()]);
    // Agreeing again is accepted and changes nothing.
    assert!(fx
        .ok(
            "c1",
            ClientMsg::Agree {
                highlight_id: h.id.clone()
            }
        )
        .is_empty());
    let a = highlight_of(&fx.ok(
        "c2",
        ClientMsg::Agree {
            highlight_id: h.id.clone(),
        },
    ));
    assert_eq!(a.agreed, vec![c1.clone(), c2.clone()]);
    let a = highlight_of(&fx.ok(
        "c1",
        ClientMsg::Unagree {
            highlight_id: h.id.clone(),
        },
    ));
    assert_eq!(a.agreed, vec![c2.clone()]);
    assert!(fx
        .ok(
            "c1",
            ClientMsg::Unagree {
                highlight_id: h.id.clone()
            }
        )
        .is_empty());
    assert_eq!(fx.snapshot("c1").highlights[0].agreed, vec![c2]);
    fx.refuse(
        "c1",
        ClientMsg::Agree {
            highlight_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "c1",
        ClientMsg::Unagree {
            highlight_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
}

// ---------------------------------------------------------------------------
// Energy check
// ---------------------------------------------------------------------------

fn check_of(out: &[Out]) -> EnergyCheck {
    let (aud, _, Event::EnergyCheck { check }) = one(out, "energy_check") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    check.clone()
}

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

// ---------------------------------------------------------------------------
// Hands
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Moderation
// ---------------------------------------------------------------------------

#[test]
fn remove_keeps_a_member_out() {
    let mut fx = Fx::new();
    let c = JoinCtx {
        conn: "c3".into(),
        instance: "i1".into(),
        addr_hash: Some("addr-3".into()),
    };
    fx.join_ctx(&c, "Troll", None, None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("c3", &out);
    fx.ok("c3", ClientMsg::RaiseHand);
    let out = fx.ok(
        "f",
        ClientMsg::Remove {
            member_id: you.member_id.clone(),
        },
    );
    assert_eq!(error_codes(&out, "c3"), vec![ErrorCode::Removed]);
    assert_eq!(closes(&out), vec![("c3".to_string(), 4001)]);
    let (aud, _, Event::MemberLeft { member_id, reason }) = one(&out, "member_left") else {
        unreachable!()
    };
    assert_eq!(
        (aud, member_id, *reason),
        (&Audience::All, &you.member_id, LeaveReason::Removed)
    );
    // The error and the close precede the member_left event.
    assert!(matches!(
        out.last(),
        Some(Out::Frame {
            msg: ServerMsg::Event { .. },
            ..
        })
    ));
    assert!(fx
        .snapshot("c1")
        .roster
        .iter()
        .all(|m| m.id != you.member_id));
    assert!(fx.snapshot("c1").hands.is_empty());
    fx.refuse("c3", chat("hi"), ErrorCode::NotJoined);

    // Resume with the old token (on a new connection): removed.
    let r = Resume {
        member_id: you.member_id.clone(),
        token: you.resume_token.clone(),
        last_seq: 1,
        epoch: fx.room.epoch().into(),
    };
    fx.join_refused("c3b", "Troll", None, Some(&r), ErrorCode::Removed);
    // Resume naming the removed member with another token: removed.
    let r2 = Resume {
        token: new_secret(),
        ..r
    };
    fx.join_refused("c3b", "Troll", None, Some(&r2), ErrorCode::Removed);
    // A fresh join from the same address: removed.
    let c = JoinCtx {
        conn: "c3c".into(),
        ..c
    };
    let before = fx.state();
    assert_eq!(
        code(fx.join_ctx(&c, "Another name", None, None)),
        ErrorCode::Removed
    );
    assert!(fx.out().is_empty());
    assert_eq!(fx.state(), before);

    fx.refuse(
        "f",
        ClientMsg::Remove {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Remove {
            member_id: you.member_id,
        },
        ErrorCode::NotFound,
    );
}

#[test]
fn co_facilitators_cannot_moderate_the_facilitator_or_each_other() {
    let mut fx = Fx::new();
    fx.add("c3", "Three");
    let (f, c1, c2, c3) = (fx.id("f"), fx.id("c1"), fx.id("c2"), fx.id("c3"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c3.clone(),
        },
    );
    fx.refuse(
        "c1",
        ClientMsg::Remove {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Mute {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Remove {
            member_id: c3.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Mute {
            member_id: c3.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::Demote {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::Remove {
            member_id: f.clone(),
        },
        ErrorCode::Forbidden,
    );
    // A co-facilitator may moderate participants.
    assert!(
        member_of(&fx.ok(
            "c1",
            ClientMsg::Mute {
                member_id: c2.clone()
            }
        ))
        .muted
    );
    fx.ok("c1", ClientMsg::Remove { member_id: c2 });
    // The facilitator may moderate co-facilitators.
    assert!(
        member_of(&fx.ok(
            "f",
            ClientMsg::Mute {
                member_id: c3.clone()
            }
        ))
        .muted
    );
    fx.ok("f", ClientMsg::Remove { member_id: c3 });
}

#[test]
fn delete_message_is_scrubbed_from_history() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    fx.disconnect("c2");
    let bad = fx.post("c1", "something hurtful");
    let good = fx.post("c1", "something kind");
    let out = fx.ok(
        "f",
        ClientMsg::DeleteMessage {
            message_id: bad.clone(),
        },
    );
    let (aud, _, Event::MessageDeleted { message_id }) = one(&out, "message_deleted") else {
        unreachable!()
    };
    assert_eq!((aud, message_id), (&Audience::All, &bad));
    assert!(fx.snapshot("c1").messages.iter().all(|m| m.id != bad));
    assert!(!fx.state().to_string().contains("something hurtful"));
    assert!(!fx.history_json().contains("something hurtful"));
    assert!(fx.history_json().contains("something kind"));

    let r = fx.resume_of("c2", seen);
    fx.join_raw("c2b", "", None, Some(&r)).unwrap();
    let out = fx.out();
    let replayed = replies(&out, "c2b");
    assert!(matches!(replayed.last(), Some(ServerMsg::Resumed { .. })));
    let s = serde_json::to_string(&replayed).unwrap();
    assert!(!s.contains("something hurtful"));
    assert!(s.contains("something kind") && s.contains(&good));
    assert!(replayed.iter().any(|m| matches!(m, ServerMsg::Event { event: Event::MessageDeleted { message_id }, .. } if *message_id == bad)));

    fx.refuse(
        "f",
        ClientMsg::DeleteMessage { message_id: bad },
        ErrorCode::NotFound,
    );
    // Facilitators may delete anyone's message, including their own.
    let own = fx.post("f", "typo");
    fx.ok("f", ClientMsg::DeleteMessage { message_id: own });
}

#[test]
fn pin_and_welcome_message() {
    let mut fx = Fx::new();
    assert_eq!(
        info_of(&fx.ok(
            "f",
            ClientMsg::Pin {
                text: Some(" Break at 15:00 ".into())
            }
        ))
        .pinned
        .as_deref(),
        Some("Break at 15:00")
    );
    assert_eq!(
        fx.snapshot("c1").info.pinned.as_deref(),
        Some("Break at 15:00")
    );
    assert_eq!(
        info_of(&fx.ok("f", ClientMsg::Pin { text: None })).pinned,
        None
    );
    fx.ok(
        "f",
        ClientMsg::Pin {
            text: Some("x".into()),
        },
    );
    assert_eq!(
        info_of(&fx.ok(
            "f",
            ClientMsg::Pin {
                text: Some("  ".into())
            }
        ))
        .pinned,
        None
    );
    fx.refuse(
        "f",
        ClientMsg::Pin {
            text: Some("x".repeat(501)),
        },
        ErrorCode::TooLarge,
    );

    assert_eq!(
        info_of(&fx.ok(
            "f",
            ClientMsg::SetWelcome {
                text: Some("Welcome, all".into())
            }
        ))
        .welcome_message
        .as_deref(),
        Some("Welcome, all")
    );
    fx.refuse(
        "f",
        ClientMsg::SetWelcome {
            text: Some("x".repeat(1001)),
        },
        ErrorCode::TooLarge,
    );
    assert_eq!(
        info_of(&fx.ok("f", ClientMsg::SetWelcome { text: None })).welcome_message,
        None
    );
}

#[test]
fn promote_and_demote() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.refuse("c1", ClientMsg::Lock { locked: true }, ErrorCode::Forbidden);
    let out = fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(kinds(&out), vec!["member_updated", "waiting_room"]);
    assert_eq!(member_of(&out).role, Role::CoFacilitator);
    // Co-facilitators now receive the facilitator-only queues.
    let (aud, _, _) = one(&out, "waiting_room");
    assert!(aud.includes(&c1) && !aud.includes(&fx.id("c2")));
    fx.refuse(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::Promote {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    // ... and may run the room.
    fx.ok("c1", ClientMsg::Lock { locked: true });
    // A co-facilitator posts without re-accepting new rules.
    fx.ok(
        "f",
        ClientMsg::SetGroundRules {
            rules: vec!["New".into()],
        },
    );
    fx.post("c1", "fine");

    let out = fx.ok(
        "f",
        ClientMsg::Demote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(member_of(&out).role, Role::Participant);
    fx.refuse(
        "c1",
        ClientMsg::Lock { locked: false },
        ErrorCode::Forbidden,
    );
    fx.refuse("f", ClientMsg::Demote { member_id: c1 }, ErrorCode::Invalid);
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: fx.id("f"),
        },
        ErrorCode::Forbidden,
    );
}

#[test]
fn hand_over_is_for_the_facilitator_only() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    fx.refuse(
        "c1",
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c1",
        ClientMsg::HandOver {
            member_id: c1.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "c2",
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::HandOver {
            member_id: f.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "f",
        ClientMsg::HandOver {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    let out = fx.ok(
        "f",
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
    );
    let ups: Vec<(String, Role)> = all_of(&out, "member_updated")
        .into_iter()
        .map(|(_, _, e)| match e {
            Event::MemberUpdated { member } => (member.id.clone(), member.role),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        ups,
        vec![
            (c2.clone(), Role::Facilitator),
            (f.clone(), Role::CoFacilitator)
        ]
    );
    assert_eq!(fx.member("c2").accepted_rules, 1);
    // The new facilitator cannot be demoted; the old one can.
    fx.refuse(
        "f",
        ClientMsg::Demote {
            member_id: c2.clone(),
        },
        ErrorCode::Forbidden,
    );
    fx.refuse(
        "f",
        ClientMsg::HandOver { member_id: c1 },
        ErrorCode::Forbidden,
    );
    fx.ok("c2", ClientMsg::Demote { member_id: f });
    assert_eq!(fx.status(), RoomStatus::Open);
}

// ---------------------------------------------------------------------------
// Waiting room
// ---------------------------------------------------------------------------

fn waiting_of(out: &[Out]) -> (Audience, Vec<Waiting>) {
    let (aud, _, Event::WaitingRoom { queue }) = one(out, "waiting_room") else {
        unreachable!()
    };
    (aud.clone(), queue.clone())
}

#[test]
fn waiting_room_admit_and_decline() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    let f = fx.id("f");
    fx.join_raw("c1", "Ann", None, None).unwrap();
    let out = fx.out();
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Waiting {
            room_id: "r1".into()
        }]
    );
    assert!(binds(&out).is_empty());
    let (aud, queue) = waiting_of(&out);
    assert_eq!(aud, Audience::Members(vec![f.clone()]));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].name, "Ann");
    let ann = queue[0].member_id.clone();
    fx.refuse("c1", chat("let me in"), ErrorCode::NotJoined);
    fx.join_raw("c2", "Ben", None, None).unwrap();
    let (_, queue) = waiting_of(&fx.out());
    let ben = queue[1].member_id.clone();
    // Facilitators see the queue in their snapshot.
    assert_eq!(fx.snapshot("f").waiting.len(), 2);

    let out = fx.ok(
        "f",
        ClientMsg::Admit {
            member_id: ann.clone(),
        },
    );
    let (_, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(member.id, ann);
    let (you, snap, _) = fx.record("c1", &out);
    assert_eq!(you.member_id, ann);
    assert!(
        snap.waiting.is_empty(),
        "participants never see the waiting room"
    );
    let (_, queue) = waiting_of(&out);
    assert_eq!(
        queue
            .iter()
            .map(|w| w.member_id.clone())
            .collect::<Vec<_>>(),
        vec![ben.clone()]
    );
    fx.refuse(
        "f",
        ClientMsg::Admit {
            member_id: ann.clone(),
        },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Admit {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    let out = fx.ok(
        "f",
        ClientMsg::Decline {
            member_id: ben.clone(),
        },
    );
    assert_eq!(error_codes(&out, "c2"), vec![ErrorCode::Forbidden]);
    assert_eq!(closes(&out), vec![("c2".to_string(), 4003)]);
    assert!(waiting_of(&out).1.is_empty());
    assert!(welcome_in(&out, "c2").is_none());
    fx.refuse(
        "f",
        ClientMsg::Decline { member_id: ben },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::Decline { member_id: ann },
        ErrorCode::NotFound,
    );
    assert_eq!(fx.room.member_count(), 2);
}

#[test]
fn waiting_people_who_leave_drop_out_of_the_queue() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "Ann", None, None).unwrap();
    fx.join_raw("c2", "Ben", None, None).unwrap();
    fx.out();
    let out = fx.ok("c1", ClientMsg::Leave);
    assert_eq!(waiting_of(&out).1.len(), 1);
    let out = fx.disconnect("c2");
    assert!(waiting_of(&out).1.is_empty());
    assert!(fx.snapshot("f").waiting.is_empty());
}

#[test]
fn disabling_the_waiting_room_admits_everyone() {
    let spec = CreateRoom {
        waiting_room: true,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    for c in ["c1", "c2"] {
        fx.join_raw(c, c, None, None).unwrap();
    }
    fx.out();
    let out = fx.ok("f", ClientMsg::SetWaitingRoom { enabled: false });
    assert!(!info_of(&out).waiting_room);
    assert_eq!(all_of(&out, "member_joined").len(), 2);
    fx.record("c1", &out);
    fx.record("c2", &out);
    assert!(waiting_of(&out).1.is_empty());
    assert_eq!(fx.room.member_count(), 3);
    fx.add("c3", "Walk-in");
    // Enabling it again sends newcomers to wait.
    let out = fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    assert!(info_of(&out).waiting_room);
    fx.join_raw("c4", "Later", None, None).unwrap();
    assert!(welcome_in(&fx.out(), "c4").is_none());
}

#[test]
fn scheduled_room_with_waiting_room_moves_the_lobby_to_the_waiting_room() {
    let spec = CreateRoom {
        waiting_room: true,
        ..scheduled()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    fx.join_raw("c1", "Ann", None, None).unwrap();
    assert!(matches!(
        replies(&fx.out(), "c1")[..],
        [ServerMsg::Lobby { .. }]
    ));
    let out = fx.tick(T0 + 10 * MIN);
    assert_eq!(
        replies(&out, "c1"),
        vec![&ServerMsg::Waiting {
            room_id: "r1".into()
        }]
    );
    assert_eq!(waiting_of(&out).1.len(), 1);
    assert!(all_of(&out, "member_joined").is_empty());
}

// ---------------------------------------------------------------------------
// Support and distress
// ---------------------------------------------------------------------------

fn support_of(out: &[Out]) -> (Audience, SupportRequest) {
    let (aud, _, Event::SupportRequested { request }) = one(out, "support_requested") else {
        unreachable!()
    };
    (aud.clone(), request.clone())
}

#[test]
fn support_request_goes_to_facilitators_and_the_requester_only() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: fx.id("c2"),
        },
    );
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    fx.now += 99;
    let out = fx.ok(
        "c1",
        ClientMsg::SupportRequest {
            note: Some(" rough shift ".into()),
        },
    );
    // Help first.
    assert!(
        matches!(&out[0], Out::Frame { audience: Audience::Conn(c), msg: ServerMsg::Crisis { resources } } if c == "c1" && *resources == library::default_crisis_resources())
    );
    let (aud, req) = support_of(&out);
    assert!(aud.includes(&f) && aud.includes(&c2) && aud.includes(&c1));
    assert!(!aud.includes(&c3));
    assert_eq!(
        (
            req.member_id.as_str(),
            req.name.as_str(),
            req.note.as_deref()
        ),
        (c1.as_str(), "Member c1", Some("rough shift"))
    );
    assert!(!req.urgent && req.room_id.is_none());
    assert_eq!(req.ts, fx.now);
    assert!(visible_to(&out, &c3).is_empty());

    // Snapshots: facilitators see all, the requester its own, others none.
    assert_eq!(fx.snapshot("f").support_requests, vec![req.clone()]);
    assert_eq!(fx.snapshot("c1").support_requests, vec![req.clone()]);
    assert!(fx.snapshot("c3").support_requests.is_empty());

    // Empty note is no note; an over-long note is refused.
    let (_, r) = support_of(&fx.ok(
        "c3",
        ClientMsg::SupportRequest {
            note: Some("  ".into()),
        },
    ));
    assert_eq!(r.note, None);
    fx.refuse(
        "c1",
        ClientMsg::SupportRequest {
            note: Some("x".repeat(501)),
        },
        ErrorCode::TooLarge,
    );
}

#[test]
fn distress_is_urgent_and_always_allowed() {
    let mut fx = Fx::new();
    let c2 = fx.id("c2");
    // Even a muted member who has not accepted the rules may call for help.
    fx.add("c3", "Three");
    let c3 = fx.id("c3");
    fx.ok(
        "f",
        ClientMsg::Mute {
            member_id: c3.clone(),
        },
    );
    let out = fx.ok("c3", ClientMsg::Distress);
    assert!(matches!(replies(&out, "c3")[0], ServerMsg::Crisis { .. }));
    let (aud, req) = support_of(&out);
    assert!(req.urgent);
    assert_eq!(req.note, None);
    assert_eq!(aud, Audience::Members(vec![fx.id("f"), c3]));
    assert!(!aud.includes(&c2));
}

#[test]
fn one_on_one_from_a_support_request() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    let (_, req) = support_of(&fx.ok("c1", ClientMsg::SupportRequest { note: None }));
    let out = fx.ok(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: req.id.clone(),
        },
    );
    assert!(out.is_empty());
    let effects = fx.room.take_effects();
    assert_eq!(
        effects,
        vec![Effect::OpenOneOnOne {
            request_id: req.id.clone(),
            facilitator: f.clone(),
            participant: c1.clone(),
            title: "One-on-one support: Member c1".into(),
        }]
    );
    assert!(fx.room.take_effects().is_empty());
    fx.refuse(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    fx.room
        .one_on_one_opened(&req.id, &f, "r-private", "SECRETKEY", fx.now);
    let out = fx.out();
    let evs = all_of(&out, "one_on_one");
    assert_eq!(evs.len(), 2);
    for &(aud, _, e) in &evs {
        let Event::OneOnOne {
            request_id,
            room_id,
            link,
            facilitator_key,
        } = e
        else {
            unreachable!()
        };
        assert_eq!(
            (request_id, room_id.as_str(), link.as_str()),
            (&req.id, "r-private", "/?room=r-private")
        );
        match aud {
            Audience::Members(m) if m.len() == 1 && m[0] == c1 => {
                assert_eq!(*facilitator_key, None)
            }
            Audience::Members(m) if m.len() == 1 && m[0] == f => {
                assert_eq!(facilitator_key.as_deref(), Some("SECRETKEY"))
            }
            other => panic!("one_on_one to {other:?}"),
        }
    }
    assert!(visible_to(&out, &c2).is_empty());
    assert!(!serde_json::to_string(&visible_to(&out, &c1))
        .unwrap()
        .contains("SECRETKEY"));
    assert_eq!(
        fx.snapshot("f").support_requests[0].room_id.as_deref(),
        Some("r-private")
    );
    fx.refuse(
        "f",
        ClientMsg::OpenOneOnOne {
            request_id: req.id.clone(),
        },
        ErrorCode::Invalid,
    );
    // An unknown request id is ignored.
    fx.room.one_on_one_opened("nope", &f, "r-x", "K", fx.now);
    assert!(fx.out().is_empty());
}

#[test]
fn one_on_one_rooms_hold_two() {
    let spec = CreateRoom {
        kind: RoomKind::OneOnOne,
        capacity: Some(50),
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &["c1"]);
    assert_eq!(fx.room.info().capacity, Some(2));
    fx.join_refused("c2", "Third", None, None, ErrorCode::RoomFull);
}

// ---------------------------------------------------------------------------
// Personal mute, sharing, parking lot, airtime
// ---------------------------------------------------------------------------

#[test]
fn personal_mute_hides_messages_for_the_muter_only() {
    let mut fx = Fx::new();
    let (c1, c2) = (fx.id("c1"), fx.id("c2"));
    let early = fx.post("c1", "before the mute");
    let out = fx.ok(
        "c2",
        ClientMsg::PersonalMute {
            member_id: c1.clone(),
        },
    );
    let (aud, _, Event::PersonalMutes { member_ids }) = one(&out, "personal_mutes") else {
        unreachable!()
    };
    assert_eq!(
        (aud, member_ids),
        (&Audience::Members(vec![c2.clone()]), &vec![c1.clone()])
    );

    let out = fx.ok("c1", chat("after the mute"));
    let (aud, _, _) = one(&out, "chat");
    assert_eq!(aud, &Audience::AllExcept(vec![c2.clone()]));
    assert!(aud.includes(&c1) && aud.includes(&fx.id("f")) && !aud.includes(&c2));
    // Others' messages still reach c2.
    let out = fx.ok("f", chat("from the lead"));
    assert_eq!(one(&out, "chat").0, &Audience::All);

    let snap = fx.snapshot("c2");
    assert_eq!(snap.personally_muted, vec![c1.clone()]);
    assert!(
        snap.messages.iter().all(|m| m.from != c1),
        "muted member's messages hidden"
    );
    assert_eq!(snap.messages.len(), 1);
    let others = fx.snapshot("f");
    assert!(others.messages.iter().any(|m| m.id == early));
    assert_eq!(others.messages.len(), 3);
    assert!(others.personally_muted.is_empty());

    fx.refuse(
        "c2",
        ClientMsg::PersonalMute {
            member_id: c2.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::PersonalUnmute {
            member_id: c2.clone(),
        },
        ErrorCode::Invalid,
    );
    fx.refuse(
        "c2",
        ClientMsg::PersonalMute {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );

    let out = fx.ok(
        "c2",
        ClientMsg::PersonalUnmute {
            member_id: c1.clone(),
        },
    );
    let (_, _, Event::PersonalMutes { member_ids }) = one(&out, "personal_mutes") else {
        unreachable!()
    };
    assert!(member_ids.is_empty());
    assert_eq!(
        one(&fx.ok("c1", chat("heard again")), "chat").0,
        &Audience::All
    );
    assert_eq!(fx.snapshot("c2").messages.len(), 4);
}

#[test]
fn invite_to_share_and_decline() {
    let mut fx = Fx::new();
    let (f, c1, c2) = (fx.id("f"), fx.id("c1"), fx.id("c2"));
    let out = fx.ok(
        "f",
        ClientMsg::InviteToShare {
            member_id: c1.clone(),
        },
    );
    let (
        aud,
        _,
        Event::ShareInvite {
            invite_id,
            from_name,
        },
    ) = one(&out, "share_invite")
    else {
        unreachable!()
    };
    assert_eq!(
        (aud, from_name.as_str()),
        (&Audience::Members(vec![c1.clone()]), "Dr Lead")
    );
    let invite = invite_id.clone();
    fx.refuse(
        "c2",
        ClientMsg::DeclineShare {
            invite_id: invite.clone(),
        },
        ErrorCode::NotFound,
    );
    let out = fx.ok(
        "c1",
        ClientMsg::DeclineShare {
            invite_id: invite.clone(),
        },
    );
    let (
        aud,
        _,
        Event::ShareDeclined {
            invite_id,
            member_id,
        },
    ) = one(&out, "share_declined")
    else {
        unreachable!()
    };
    assert_eq!((invite_id, member_id), (&invite, &c1));
    assert!(aud.includes(&f) && !aud.includes(&c1) && !aud.includes(&c2));
    fx.refuse(
        "c1",
        ClientMsg::DeclineShare { invite_id: invite },
        ErrorCode::NotFound,
    );
    fx.refuse(
        "f",
        ClientMsg::InviteToShare {
            member_id: "nope".into(),
        },
        ErrorCode::NotFound,
    );
}

fn parking_of(out: &[Out]) -> Vec<ParkedItem> {
    let (aud, _, Event::ParkingLot { items }) = one(out, "parking_lot") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    items.clone()
}

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

// ---------------------------------------------------------------------------
// Never unmoderated
// ---------------------------------------------------------------------------

#[test]
fn co_facilitator_takes_over_after_the_grace() {
    let mut fx = Fx::new();
    let c1 = fx.id("c1");
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: c1.clone(),
        },
    );
    assert_eq!(fx.room.next_deadline(), None);
    let out = fx.disconnect("f");
    assert!(!member_of(&out).online);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
    assert!(fx.tick(T0 + 10 * SEC - 1).is_empty());
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(kinds(&out), vec!["member_updated", "room_notice"]);
    let m = member_of(&out);
    assert_eq!((m.id.as_str(), m.role), (c1.as_str(), Role::Facilitator));
    assert_eq!(notice_of(&out), "facilitator_takeover");
    assert_eq!(fx.status(), RoomStatus::Open);
    fx.post("c2", "still open");
    // The old facilitator's seat expires later; nothing else happens.
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    let out = fx.tick(T0 + 20 * SEC);
    assert_eq!(kinds(&out), vec!["member_left"]);
    assert_eq!(fx.status(), RoomStatus::Open);
    // The new facilitator can hand over and cannot be demoted.
    fx.refuse(
        "c1",
        ClientMsg::Demote {
            member_id: c1.clone(),
        },
        ErrorCode::Forbidden,
    );
}

#[test]
fn room_pauses_without_any_facilitator_and_reopens_on_return() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    fx.disconnect("f");
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(kinds(&out), vec!["room_updated", "room_notice"]);
    assert_eq!(info_of(&out).status, RoomStatus::Paused);
    assert_eq!(notice_of(&out), "paused");
    fx.refuse("c1", chat("anyone?"), ErrorCode::Paused);
    // Members may still ask for help and raise a hand while paused.
    fx.ok("c1", ClientMsg::Distress);
    fx.ok("c2", ClientMsg::RaiseHand);
    // Nothing to do until the facilitator's seat expires.
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    assert!(fx.tick(T0 + 15 * SEC).is_empty());

    fx.now = T0 + 16 * SEC;
    let r = fx.resume_of("f", seen);
    fx.join_raw("f2", "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert_eq!(
        kinds(&out),
        vec!["member_updated", "room_updated", "room_notice"]
    );
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    assert_eq!(notice_of(&out), "resumed");
    fx.post("c1", "hello again");
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 60 * SEC).is_empty());
}

#[test]
fn paused_room_stays_paused_after_the_facilitator_is_dropped() {
    let mut fx = Fx::new();
    fx.ok("f", ClientMsg::Leave);
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(info_of(&out).status, RoomStatus::Paused);
    // Nothing more is due: the host must not be asked to tick in a loop.
    assert_eq!(fx.room.next_deadline(), None);
    assert!(fx.tick(T0 + 10 * MIN).is_empty());
    fx.join_raw("f3", "Dr Back", Some(KEY), None).unwrap();
    let out = fx.out();
    fx.record("f3", &out);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    fx.post("c1", "welcome back");
}

#[test]
fn a_new_room_pauses_if_no_facilitator_arrives() {
    let room = Room::new("r2".into(), &group(), KEY, Limits::default(), vec![], T0);
    let mut fx = Fx {
        room,
        now: T0,
        last_seq: 0,
        ids: BTreeMap::new(),
        tokens: BTreeMap::new(),
    };
    fx.add("c1", "Early");
    fx.ok("c1", ClientMsg::AcceptRules { version: 1 });
    fx.post("c1", "first!");
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * SEC));
    let out = fx.tick(T0 + 10 * SEC);
    assert_eq!(info_of(&out).status, RoomStatus::Paused);
    fx.refuse("c1", chat("hi"), ErrorCode::Paused);
    assert_eq!(fx.room.next_deadline(), None);
}

#[test]
fn reconnect_within_the_grace_does_not_flap() {
    let mut fx = Fx::new();
    let seen = fx.room.seq();
    fx.disconnect("f");
    fx.now = T0 + 5 * SEC;
    let r = fx.resume_of("f", seen);
    fx.join_raw("f2", "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert_eq!(kinds(&out), vec!["member_updated"]);
    assert!(member_of(&out).online);
    assert_eq!(fx.room.next_deadline(), None);
    for t in [10, 11, 20, 60] {
        assert!(fx.tick(T0 + t * SEC).is_empty());
    }
    assert_eq!(fx.status(), RoomStatus::Open);
    fx.post("c1", "never paused");
}

#[test]
fn drop_in_rooms_need_no_facilitator() {
    let spec = CreateRoom {
        kind: RoomKind::DropIn,
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &["c1"]);
    fx.disconnect("f");
    assert_eq!(fx.room.next_deadline(), Some(T0 + 20 * SEC));
    fx.tick(T0 + 60 * SEC);
    assert_eq!(fx.status(), RoomStatus::Open);
    fx.post("c1", "still chatting");
}

// ---------------------------------------------------------------------------
// Resume
// ---------------------------------------------------------------------------

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
    // Still welcome back as themselves with their token (not with another).
    let bad = Resume {
        token: new_secret(),
        ..fx.resume_of("c1", T0)
    };
    fx.join_refused("c1b", "Member c1", None, Some(&bad), ErrorCode::BadResume);
    let seen = fx.room.seq() - 1;
    let r = fx.resume_of("c1", seen);
    fx.join_raw("c1b", "ignored", None, Some(&r)).unwrap();
    let out = fx.out();
    let (_, _, Event::MemberJoined { member }) = one(&out, "member_joined") else {
        unreachable!()
    };
    assert_eq!(
        (member.id.as_str(), member.name.as_str()),
        (c1.as_str(), "Member c1")
    );
    assert_eq!(binds(&out), vec![("c1b".to_string(), c1.clone())]);
    let rs = replies(&out, "c1b");
    assert!(
        matches!(
            rs.as_slice(),
            [
                ServerMsg::Event {
                    event: Event::MemberLeft { .. },
                    ..
                },
                ServerMsg::Event {
                    event: Event::MemberJoined { .. },
                    ..
                },
                ServerMsg::Resumed { .. }
            ]
        ),
        "{rs:?}"
    );
    let back = fx
        .snapshot("c2")
        .roster
        .into_iter()
        .find(|m| m.id == c1)
        .unwrap();
    assert!(back.online && back.accepted_rules == 1);
    fx.post("c1b", "I'm back");
    // A join without resume is a new member.
    let other = fx.add("c9", "Member c1");
    assert_ne!(other, c1);
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
    };
    fx.join_ctx(&c, "Elsewhere", None, None).unwrap();
    let out = fx.out();
    let (you, _, _) = fx.record("c3", &out);
    let pending = JoinCtx {
        conn: "c4".into(),
        instance: "i2".into(),
        addr_hash: None,
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
    };
    fx.join_ctx(&c, "", None, Some(&r)).unwrap();
    let out = fx.out();
    assert!(matches!(
        replies(&out, "c3b").last(),
        Some(ServerMsg::Resumed { .. })
    ));
    assert_eq!(fx.room.member_instances().len(), 4);
}

// ---------------------------------------------------------------------------
// Time: the host is never asked to tick in the past
// ---------------------------------------------------------------------------

#[test]
fn short_scheduled_session_has_no_past_deadline_before_it_starts() {
    // A 3-minute session: its 5-minute warning mark lies before the start.
    let spec = CreateRoom {
        starts_at: Some(T0 + 10 * MIN),
        ends_at: Some(T0 + 13 * MIN),
        ..group()
    };
    let mut fx = Fx::with(spec, Limits::default(), &[]);
    assert_eq!(fx.room.next_deadline(), Some(T0 + 10 * MIN));
    assert!(fx.tick(T0 + 9 * MIN).is_empty());
    let out = fx.tick(T0 + 10 * MIN);
    assert_eq!(info_of(&out).status, RoomStatus::Open);
    // Opening late into the last minutes: only the warning still ahead fires.
    assert_eq!(fx.room.next_deadline(), Some(T0 + 12 * MIN));
    let out = fx.tick(T0 + 12 * MIN);
    assert!(matches!(
        one(&out, "session_warning").2,
        Event::SessionWarning {
            minutes_left: 1,
            ..
        }
    ));
    let out = fx.tick(T0 + 13 * MIN);
    one(&out, "session_ended");
}

// ---------------------------------------------------------------------------
// Permission matrix
// ---------------------------------------------------------------------------

/// Fails to compile when a variant is added, so the samples below stay complete.
fn variant_is_sampled(m: &ClientMsg) {
    match m {
        ClientMsg::Join { .. }
        | ClientMsg::Leave
        | ClientMsg::Ping { .. }
        | ClientMsg::Chat { .. }
        | ClientMsg::React { .. }
        | ClientMsg::AcceptRules { .. }
        | ClientMsg::RaiseHand
        | ClientMsg::LowerHand { .. }
        | ClientMsg::AnswerEnergizer { .. }
        | ClientMsg::Agree { .. }
        | ClientMsg::Unagree { .. }
        | ClientMsg::EnergyAnswer { .. }
        | ClientMsg::SupportRequest { .. }
        | ClientMsg::Distress
        | ClientMsg::DeclineShare { .. }
        | ClientMsg::PersonalMute { .. }
        | ClientMsg::PersonalUnmute { .. }
        | ClientMsg::Park { .. }
        | ClientMsg::ListEnergizers
        | ClientMsg::SetGroundRules { .. }
        | ClientMsg::ShowGroundRules
        | ClientMsg::SetWelcome { .. }
        | ClientMsg::CallOn { .. }
        | ClientMsg::TimerStart { .. }
        | ClientMsg::TimerPause { .. }
        | ClientMsg::TimerResume { .. }
        | ClientMsg::TimerExtend { .. }
        | ClientMsg::TimerCancel { .. }
        | ClientMsg::PushEnergizer { .. }
        | ClientMsg::CloseEnergizer { .. }
        | ClientMsg::Highlight { .. }
        | ClientMsg::EditHighlight { .. }
        | ClientMsg::RemoveHighlight { .. }
        | ClientMsg::OpenEnergyCheck
        | ClientMsg::CloseEnergyCheck { .. }
        | ClientMsg::Mute { .. }
        | ClientMsg::Unmute { .. }
        | ClientMsg::Remove { .. }
        | ClientMsg::SlowMode { .. }
        | ClientMsg::Lock { .. }
        | ClientMsg::DeleteMessage { .. }
        | ClientMsg::Pin { .. }
        | ClientMsg::Promote { .. }
        | ClientMsg::Demote { .. }
        | ClientMsg::HandOver { .. }
        | ClientMsg::SetWaitingRoom { .. }
        | ClientMsg::Admit { .. }
        | ClientMsg::Decline { .. }
        | ClientMsg::OpenOneOnOne { .. }
        | ClientMsg::InviteToShare { .. }
        | ClientMsg::AllowParking { .. }
        | ClientMsg::Unpark { .. }
        | ClientMsg::Airtime
        | ClientMsg::ExtendSession { .. }
        | ClientMsg::EndSession => {}
    }
}

/// A busy room (participants c1, c2; co-facilitator "k"; someone waiting on "w")
/// and one valid sample of every client message, aimed at real ids.
fn matrix() -> (Fx, Vec<ClientMsg>) {
    let mut fx = Fx::new();
    fx.add("k", "Co");
    let (c1, c2, k) = (fx.id("c1"), fx.id("c2"), fx.id("k"));
    fx.ok(
        "f",
        ClientMsg::Promote {
            member_id: k.clone(),
        },
    );
    let msg = fx.post("c1", "a message");
    let timer = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Round".into(),
            duration_secs: 60,
        },
    ))
    .id;
    let paused = timer_of(&fx.ok(
        "f",
        ClientMsg::TimerStart {
            name: "Held".into(),
            duration_secs: 60,
        },
    ))
    .id;
    fx.ok(
        "f",
        ClientMsg::TimerPause {
            timer_id: paused.clone(),
        },
    );
    let run = started_run(&fx.ok(
        "f",
        ClientMsg::PushEnergizer {
            energizer_id: Some("stretch".into()),
            prompt: None,
            duration_secs: None,
        },
    ))
    .id;
    let hl = highlight_of(&fx.ok(
        "f",
        ClientMsg::Highlight {
            tag: HighlightTag::Takeaway,
            message_id: None,
            text: Some("point".into()),
        },
    ))
    .id;
    let check = check_of(&fx.ok("f", ClientMsg::OpenEnergyCheck)).id;
    let (_, req) = support_of(&fx.ok("c2", ClientMsg::SupportRequest { note: None }));
    let item = parking_of(&fx.ok(
        "f",
        ClientMsg::Park {
            message_id: None,
            text: Some("later".into()),
        },
    ))[0]
        .id
        .clone();
    let out = fx.ok(
        "f",
        ClientMsg::InviteToShare {
            member_id: c1.clone(),
        },
    );
    let (_, _, Event::ShareInvite { invite_id, .. }) = one(&out, "share_invite") else {
        unreachable!()
    };
    let invite = invite_id.clone();
    fx.ok("c2", ClientMsg::RaiseHand);
    fx.ok("f", ClientMsg::SetWaitingRoom { enabled: true });
    fx.join_raw("w", "Waiting", None, None).unwrap();
    let (_, queue) = waiting_of(&fx.out());
    let waiting = queue[0].member_id.clone();

    let samples = vec![
        ClientMsg::Join {
            v: 1,
            room_id: "r1".into(),
            name: "x".into(),
            facilitator_key: None,
            resume: None,
        },
        ClientMsg::Leave,
        ClientMsg::Ping { t: 1 },
        chat("hi"),
        ClientMsg::React {
            message_id: msg.clone(),
            emoji: "+1".into(),
        },
        ClientMsg::AcceptRules { version: 1 },
        ClientMsg::RaiseHand,
        ClientMsg::LowerHand { member_id: None },
        ClientMsg::AnswerEnergizer {
            run_id: run.clone(),
            text: "ok".into(),
        },
        ClientMsg::Agree {
            highlight_id: hl.clone(),
        },
        ClientMsg::Unagree {
            highlight_id: hl.clone(),
        },
        ClientMsg::EnergyAnswer {
            check_id: check.clone(),
            level: 3,
        },
        ClientMsg::SupportRequest { note: None },
        ClientMsg::Distress,
        ClientMsg::DeclineShare { invite_id: invite },
        ClientMsg::PersonalMute {
            member_id: c2.clone(),
        },
        ClientMsg::PersonalUnmute {
            member_id: c2.clone(),
        },
        ClientMsg::Park {
            message_id: Some(msg.clone()),
            text: None,
        },
        ClientMsg::ListEnergizers,
        // -- facilitators only --
        ClientMsg::SetGroundRules {
            rules: vec!["Be kind".into()],
        },
        ClientMsg::ShowGroundRules,
        ClientMsg::SetWelcome {
            text: Some("Welcome".into()),
        },
        ClientMsg::CallOn {
            member_id: c2.clone(),
        },
        ClientMsg::TimerStart {
            name: "Break".into(),
            duration_secs: 30,
        },
        ClientMsg::TimerPause {
            timer_id: timer.clone(),
        },
        ClientMsg::TimerResume { timer_id: paused },
        ClientMsg::TimerExtend {
            timer_id: timer.clone(),
            secs: 30,
        },
        ClientMsg::TimerCancel {
            timer_id: timer.clone(),
        },
        ClientMsg::PushEnergizer {
            energizer_id: Some("weather".into()),
            prompt: None,
            duration_secs: Some(30),
        },
        ClientMsg::CloseEnergizer { run_id: run },
        ClientMsg::Highlight {
            tag: HighlightTag::Consensus,
            message_id: Some(msg.clone()),
            text: None,
        },
        ClientMsg::EditHighlight {
            highlight_id: hl.clone(),
            tag: Some(HighlightTag::Action),
            text: None,
        },
        ClientMsg::RemoveHighlight { highlight_id: hl },
        ClientMsg::OpenEnergyCheck,
        ClientMsg::CloseEnergyCheck { check_id: check },
        ClientMsg::Mute {
            member_id: c2.clone(),
        },
        ClientMsg::Unmute {
            member_id: c2.clone(),
        },
        ClientMsg::Remove {
            member_id: c2.clone(),
        },
        ClientMsg::SlowMode { secs: 5 },
        ClientMsg::Lock { locked: true },
        ClientMsg::DeleteMessage { message_id: msg },
        ClientMsg::Pin {
            text: Some("pinned".into()),
        },
        ClientMsg::Promote {
            member_id: c2.clone(),
        },
        ClientMsg::Demote { member_id: k },
        ClientMsg::HandOver {
            member_id: c2.clone(),
        },
        ClientMsg::SetWaitingRoom { enabled: false },
        ClientMsg::Admit {
            member_id: waiting.clone(),
        },
        ClientMsg::Decline { member_id: waiting },
        ClientMsg::OpenOneOnOne { request_id: req.id },
        ClientMsg::InviteToShare { member_id: c2 },
        ClientMsg::AllowParking { enabled: true },
        ClientMsg::Unpark { item_id: item },
        ClientMsg::Airtime,
        ClientMsg::ExtendSession { minutes: 10 },
        ClientMsg::EndSession,
    ];
    samples.iter().for_each(variant_is_sampled);
    (fx, samples)
}

#[test]
fn the_samples_cover_every_client_message() {
    let (_, samples) = matrix();
    let names: Vec<&str> = samples.iter().map(ClientMsg::type_name).collect();
    assert_eq!(names, KNOWN_CLIENT_TYPES.to_vec());
    // The facilitator-only commands are exactly the documented tail of the list.
    let first = KNOWN_CLIENT_TYPES
        .iter()
        .position(|t| *t == "set_ground_rules")
        .unwrap();
    let fac: Vec<&str> = samples
        .iter()
        .filter(|m| m.facilitator_only())
        .map(ClientMsg::type_name)
        .collect();
    assert_eq!(fac, KNOWN_CLIENT_TYPES[first..].to_vec());
    assert_eq!(fac.len(), 36);
}

#[test]
fn participants_are_refused_every_facilitator_command_without_side_effects() {
    let (mut fx, samples) = matrix();
    let mut n = 0;
    for m in samples.into_iter().filter(ClientMsg::facilitator_only) {
        fx.refuse("c1", m, ErrorCode::Forbidden);
        n += 1;
    }
    assert_eq!(n, 36);
}

#[test]
fn facilitators_may_send_every_facilitator_command() {
    let n = matrix().1.len();
    let mut checked = 0;
    for idx in 0..n {
        // A fresh room for each command, for the lead and for a co-facilitator.
        let (mut fx, samples) = matrix();
        let m = samples[idx].clone();
        if !m.facilitator_only() {
            continue;
        }
        let shown = format!("{m:?}");
        let r = fx.cmd("f", m);
        assert!(r.is_ok(), "facilitator {shown} → {r:?}");
        let (mut fx, samples) = matrix();
        let m = samples[idx].clone();
        let hand_over = matches!(m, ClientMsg::HandOver { .. });
        let r = fx.cmd("k", m);
        if hand_over {
            assert_eq!(
                code(r),
                ErrorCode::Forbidden,
                "only the Facilitator hands over"
            );
        } else {
            assert!(r.is_ok(), "co-facilitator {shown} → {r:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, 36);
}

// ---------------------------------------------------------------------------
// Takeover: a serialized room plus its history
// ---------------------------------------------------------------------------

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
