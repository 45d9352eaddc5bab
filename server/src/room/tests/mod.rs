//! Unit tests of the pure room model: every command's happy path and refusals,
//! who receives what, seq ordering, time (timers, schedule, grace periods) and resume.

use super::*;
use std::collections::BTreeMap;

mod airtime;
mod calls;
mod chat;
mod energizers;
mod energy;
mod hands;
mod highlights;
mod history;
mod join;
mod lead;
mod moderation;
mod oncall;
mod parking;
mod permissions;
mod presence;
mod removal;
mod resume;
mod schedule;
mod support;
mod takeover;
mod text;
mod timers;
mod unmoderated;
mod waiting;
mod wrap_up;

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
        device_hash: None,
        account_id: None,
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

/// The one alert the room asked its host to send to the on-call desk.
fn raised_alert(fx: &mut Fx) -> OnCallAlert {
    let raised: Vec<OnCallAlert> = fx
        .room
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::RaiseAlert { alert } => Some(alert),
            _ => None,
        })
        .collect();
    assert_eq!(raised.len(), 1, "one alert raised: {raised:?}");
    raised.into_iter().next().unwrap()
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

    /// The member on `old` resumes (caught up) on connection `new`; records the
    /// new connection's member id and token. Returns the output.
    fn resume(&mut self, old: &str, new: &str) -> Vec<Out> {
        let r = self.resume_of(old, self.room.seq());
        self.join_raw(new, "", None, Some(&r)).unwrap();
        let out = self.out();
        let you = replies(&out, new)
            .into_iter()
            .find_map(|m| match m {
                ServerMsg::Resumed { you, .. } | ServerMsg::Welcome { you, .. } => {
                    Some(you.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{old} did not resume on {new}"));
        self.ids.insert(new.into(), you.member_id);
        self.tokens.insert(new.into(), you.resume_token);
        out
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
// Event extractors shared by several topics
// ---------------------------------------------------------------------------

fn scheduled() -> CreateRoom {
    CreateRoom {
        starts_at: Some(T0 + 10 * MIN),
        ends_at: Some(T0 + 70 * MIN),
        ..group()
    }
}

fn started_run(out: &[Out]) -> EnergizerRun {
    let (aud, _, Event::EnergizerStarted { run }) = one(out, "energizer_started") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    run.clone()
}

fn highlight_of(out: &[Out]) -> Highlight {
    let (aud, _, Event::Highlight { highlight }) = one(out, "highlight") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    highlight.clone()
}

fn check_of(out: &[Out]) -> EnergyCheck {
    let (aud, _, Event::EnergyCheck { check }) = one(out, "energy_check") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    check.clone()
}

fn waiting_of(out: &[Out]) -> (Audience, Vec<Waiting>) {
    let (aud, _, Event::WaitingRoom { queue }) = one(out, "waiting_room") else {
        unreachable!()
    };
    (aud.clone(), queue.clone())
}

fn support_of(out: &[Out]) -> (Audience, SupportRequest) {
    let (aud, _, Event::SupportRequested { request }) = one(out, "support_requested") else {
        unreachable!()
    };
    (aud.clone(), request.clone())
}

fn parking_of(out: &[Out]) -> Vec<ParkedItem> {
    let (aud, _, Event::ParkingLot { items }) = one(out, "parking_lot") else {
        unreachable!()
    };
    assert_eq!(aud, &Audience::All);
    items.clone()
}
