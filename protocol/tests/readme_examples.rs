//! Every ```json block in `protocol/README.md` must be a real protocol message,
//! exactly as it appears on the wire, and together the blocks must show every
//! client message type, every server message type and every event kind.

use huddle_protocol::{ClientMsg, Event, ServerMsg, KNOWN_CLIENT_TYPES};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeSet;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");

/// Every `ServerMsg` type name (kept in sync with the enum by `server_type`
/// and by `hand_lists_match_the_enums`).
const SERVER_TYPES: &[&str] = &[
    "welcome",
    "resumed",
    "lobby",
    "waiting",
    "event",
    "energizers",
    "airtime",
    "crisis",
    "pong",
    "notice",
    "history",
    "roster_page",
    "facilitator_key",
    "call_config",
    "signal",
    "error",
];

/// Every `Event` kind name (kept in sync with the enum by `event_kind` and by
/// `hand_lists_match_the_enums`).
const EVENT_KINDS: &[&str] = &[
    "member_joined",
    "member_updated",
    "member_left",
    "members_changed",
    "chat",
    "reaction",
    "message_deleted",
    "rules_updated",
    "rules_shown",
    "room_updated",
    "timer",
    "timer_expired",
    "energizer_started",
    "energizer_answer",
    "energizer_closed",
    "highlight",
    "highlight_removed",
    "energy_check",
    "energy_answered",
    "hands",
    "called_on",
    "session_warning",
    "session_ended",
    "wrap_up",
    "wrap_up_preview",
    "waiting_room",
    "support_requested",
    "one_on_one",
    "share_invite",
    "share_declined",
    "personal_mutes",
    "parking_lot",
    "room_notice",
    "key_rotated",
    "alert",
    "alert_closed",
    "support_update",
    "call_joined",
    "call_left",
    "media_state",
    "floor",
];

/// Exhaustive on purpose: a new `ServerMsg` variant does not compile until it is named here.
fn server_type(m: &ServerMsg) -> &'static str {
    match m {
        ServerMsg::Welcome { .. } => "welcome",
        ServerMsg::Resumed { .. } => "resumed",
        ServerMsg::Lobby { .. } => "lobby",
        ServerMsg::Waiting { .. } => "waiting",
        ServerMsg::Event { .. } => "event",
        ServerMsg::Energizers { .. } => "energizers",
        ServerMsg::Airtime { .. } => "airtime",
        ServerMsg::Crisis { .. } => "crisis",
        ServerMsg::Pong { .. } => "pong",
        ServerMsg::Notice { .. } => "notice",
        ServerMsg::History { .. } => "history",
        ServerMsg::RosterPage { .. } => "roster_page",
        ServerMsg::FacilitatorKey { .. } => "facilitator_key",
        ServerMsg::CallConfig { .. } => "call_config",
        ServerMsg::Signal { .. } => "signal",
        ServerMsg::Error { .. } => "error",
    }
}

/// Exhaustive on purpose: a new `Event` variant does not compile until it is named here.
fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::MemberJoined { .. } => "member_joined",
        Event::MemberUpdated { .. } => "member_updated",
        Event::MemberLeft { .. } => "member_left",
        Event::MembersChanged(_) => "members_changed",
        Event::Chat { .. } => "chat",
        Event::Reaction { .. } => "reaction",
        Event::MessageDeleted { .. } => "message_deleted",
        Event::RulesUpdated { .. } => "rules_updated",
        Event::RulesShown { .. } => "rules_shown",
        Event::RoomUpdated { .. } => "room_updated",
        Event::Timer { .. } => "timer",
        Event::TimerExpired { .. } => "timer_expired",
        Event::EnergizerStarted { .. } => "energizer_started",
        Event::EnergizerAnswer { .. } => "energizer_answer",
        Event::EnergizerClosed { .. } => "energizer_closed",
        Event::Highlight { .. } => "highlight",
        Event::HighlightRemoved { .. } => "highlight_removed",
        Event::EnergyCheck { .. } => "energy_check",
        Event::EnergyAnswered { .. } => "energy_answered",
        Event::Hands { .. } => "hands",
        Event::CalledOn { .. } => "called_on",
        Event::SessionWarning { .. } => "session_warning",
        Event::SessionEnded { .. } => "session_ended",
        Event::WrapUp { .. } => "wrap_up",
        Event::WrapUpPreview { .. } => "wrap_up_preview",
        Event::WaitingRoom { .. } => "waiting_room",
        Event::SupportRequested { .. } => "support_requested",
        Event::OneOnOne { .. } => "one_on_one",
        Event::ShareInvite { .. } => "share_invite",
        Event::ShareDeclined { .. } => "share_declined",
        Event::PersonalMutes { .. } => "personal_mutes",
        Event::ParkingLot { .. } => "parking_lot",
        Event::RoomNotice { .. } => "room_notice",
        Event::KeyRotated { .. } => "key_rotated",
        Event::Alert { .. } => "alert",
        Event::AlertClosed { .. } => "alert_closed",
        Event::SupportUpdate { .. } => "support_update",
        Event::CallJoined { .. } => "call_joined",
        Event::CallLeft { .. } => "call_left",
        Event::MediaState { .. } => "media_state",
        Event::Floor { .. } => "floor",
    }
}

/// A fenced code block: its info string, its body and the line it starts on.
struct Block {
    info: String,
    body: String,
    line: usize,
}

fn read_readme() -> String {
    std::fs::read_to_string(README).unwrap_or_else(|e| panic!("cannot read {README}: {e}"))
}

fn fenced_blocks(md: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in md.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    body: String::new(),
                    line: n + 1,
                })
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => blocks.extend(open.take()),
            (Some(b), _) => {
                b.body.push_str(line);
                b.body.push('\n');
            }
            (None, None) => {}
        }
    }
    if let Some(b) = open {
        panic!(
            "README.md: code block opened at line {} is never closed",
            b.line
        );
    }
    blocks
}

fn json_blocks(md: &str) -> Vec<Block> {
    fenced_blocks(md)
        .into_iter()
        .filter(|b| b.info == "json")
        .collect()
}

/// Decode `text` as `T`, then check that encoding it again gives exactly the
/// same JSON (no extra, missing, misnamed or wrongly-null fields).
fn decode_exact<T: DeserializeOwned + Serialize>(
    text: &str,
    value: &serde_json::Value,
) -> Result<T, String> {
    let msg: T = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let again = serde_json::to_value(&msg).map_err(|e| e.to_string())?;
    if &again != value {
        return Err(format!(
            "decodes, but is not what the server/client puts on the wire; expected:\n{}",
            serde_json::to_string_pretty(&again).unwrap_or_default()
        ));
    }
    Ok(msg)
}

/// The variant names serde knows for a tagged enum, read from its
/// "unknown variant ..., expected one of `a`, `b`" error.
fn serde_variant_names<T: DeserializeOwned + std::fmt::Debug>(tag: &str) -> Vec<String> {
    let probe = format!(r#"{{"{tag}":"__no_such_variant__"}}"#);
    let err = serde_json::from_str::<T>(&probe).expect_err("probe must not decode");
    let msg = err.to_string();
    let list = msg
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected serde error format: {msg}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[derive(Default)]
struct Coverage {
    client: BTreeSet<&'static str>,
    server: BTreeSet<&'static str>,
    events: BTreeSet<&'static str>,
}

fn check_examples(md: &str) -> Result<Coverage, String> {
    let blocks = json_blocks(md);
    if blocks.is_empty() {
        return Err("README.md has no ```json blocks".into());
    }
    let mut cov = Coverage::default();
    let mut failures = Vec::new();
    for b in &blocks {
        let value: serde_json::Value = match serde_json::from_str(&b.body) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "line {}: not a single complete JSON value: {e}",
                    b.line
                ));
                continue;
            }
        };
        let as_client = decode_exact::<ClientMsg>(&b.body, &value);
        let as_server = decode_exact::<ServerMsg>(&b.body, &value);
        if let Ok(m) = &as_client {
            cov.client.insert(m.type_name());
        }
        if let Ok(m) = &as_server {
            let t = server_type(m);
            if value["type"] != t {
                failures.push(format!("line {}: server_type() says {t}", b.line));
            }
            cov.server.insert(t);
            if let ServerMsg::Event { event, .. } = m {
                let k = event_kind(event);
                if value["event"]["kind"] != k {
                    failures.push(format!("line {}: event_kind() says {k}", b.line));
                }
                cov.events.insert(k);
            }
        }
        if let (Err(c), Err(s)) = (as_client, as_server) {
            failures.push(format!(
                "line {}: neither a ClientMsg ({c}) nor a ServerMsg ({s})",
                b.line
            ));
        }
    }
    if failures.is_empty() {
        Ok(cov)
    } else {
        Err(format!(
            "bad ```json examples in README.md:\n{}",
            failures.join("\n")
        ))
    }
}

fn readme_coverage() -> Coverage {
    check_examples(&read_readme()).unwrap_or_else(|e| panic!("{e}"))
}

fn missing<'a>(wanted: &[&'a str], seen: &BTreeSet<&str>) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|n| !seen.contains(n))
        .collect()
}

#[test]
fn every_json_block_is_a_wire_message() {
    readme_coverage();
}

#[test]
fn every_client_type_has_an_example() {
    let cov = readme_coverage();
    let m = missing(KNOWN_CLIENT_TYPES, &cov.client);
    assert!(
        m.is_empty(),
        "README.md lacks a ClientMsg example for: {m:?}"
    );
}

#[test]
fn every_server_type_has_an_example() {
    let cov = readme_coverage();
    let m = missing(SERVER_TYPES, &cov.server);
    assert!(
        m.is_empty(),
        "README.md lacks a ServerMsg example for: {m:?}"
    );
}

#[test]
fn every_event_kind_has_an_example() {
    let cov = readme_coverage();
    let m = missing(EVENT_KINDS, &cov.events);
    assert!(m.is_empty(), "README.md lacks an Event example for: {m:?}");
}

#[test]
fn every_error_code_is_in_the_table() {
    let md = read_readme();
    // Probe `ErrorCode` through an `error` frame to list every code serde knows.
    let probe = r#"{"type":"error","code":"__no_such_code__","message":""}"#;
    let msg = serde_json::from_str::<ServerMsg>(probe)
        .expect_err("probe must not decode")
        .to_string();
    let list = msg
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected serde error format: {msg}"));
    let codes: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    assert!(codes.len() >= 20, "could not read the error codes: {msg}");
    let m: Vec<&str> = codes
        .into_iter()
        .filter(|c| !md.contains(&format!("| `{c}` |")))
        .collect();
    assert!(m.is_empty(), "README.md error table lacks: {m:?}");
}

/// The hand-written lists above (and `KNOWN_CLIENT_TYPES`) must name every
/// variant serde knows, so a new variant without an example fails this test.
#[test]
fn hand_lists_match_the_enums() {
    assert_eq!(
        serde_variant_names::<ServerMsg>("type"),
        SERVER_TYPES,
        "SERVER_TYPES is out of date"
    );
    assert_eq!(
        serde_variant_names::<Event>("kind"),
        EVENT_KINDS,
        "EVENT_KINDS is out of date"
    );
    assert_eq!(
        serde_variant_names::<ClientMsg>("type"),
        KNOWN_CLIENT_TYPES,
        "huddle_protocol::KNOWN_CLIENT_TYPES is out of date"
    );
}

/// The checker itself must catch what it is meant to catch.
#[test]
fn checker_rejects_bad_examples() {
    let bad = [
        "```json\n{\"type\":\"chat\"}\n```\n", // missing field
        "```json\n{\"type\":\"chat\",\"text\":\"hi\",\"x\":1}\n```\n", // unknown field
        "```json\n{\"type\":\"fly\"}\n```\n",  // unknown type
        "```json\n{\"type\":\"pong\",\"t\":1,\"server_time\":2,\"x\":3}\n```\n", // not exact
        "```json\n{\"type\":\"leave\"}\n{\"type\":\"leave\"}\n```\n", // two values
        "```json\n{\"type\":\"set_welcome\"}\n```\n", // wire has `text: null`
    ];
    for md in bad {
        assert!(
            check_examples(md).is_err(),
            "should have been refused: {md}"
        );
    }
    let good = "```json\n{\"type\":\"leave\"}\n```\n```text\nnot json\n```\n";
    let cov = check_examples(good).expect("a good example");
    assert!(cov.client.contains("leave"));
}
