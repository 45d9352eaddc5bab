//! Engine.IO v4 / Socket.IO v5 framing, as much as a WebSocket-only client needs.
//!
//! Engine.IO packet = one type digit + payload: `0` open (JSON handshake),
//! `1` close, `2` ping, `3` pong, `4` message, `5` upgrade, `6` noop.
//! A Socket.IO packet rides in an Engine.IO message: type digit (`0` connect,
//! `1` disconnect, `2` event, `3` ack, `4` connect error, `5`/`6` binary),
//! then an optional `/namespace,`, an optional ack id (digits), then JSON.
//! So an event on the main namespace is `42["name",data]`.

use serde::{de::DeserializeOwned, Serialize};

/// One decoded Engine.IO packet (borrowing the frame text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eio<'a> {
    /// Handshake JSON (`sid`, `pingInterval`, ...).
    Open(&'a str),
    Close,
    /// Server ping: answer with [`pong`] carrying the same payload.
    Ping(&'a str),
    Pong(&'a str),
    Message(Sio<'a>),
    Upgrade,
    Noop,
    Unknown,
}

/// One decoded Socket.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sio<'a> {
    /// Connected to the namespace; JSON (`{"sid":...}`), may be empty.
    Connect(&'a str),
    Disconnect,
    /// `["name", args...]` as raw JSON; decode with [`decode_event`].
    Event {
        ack: Option<u64>,
        json: &'a str,
    },
    Ack {
        ack: u64,
        json: &'a str,
    },
    ConnectError(&'a str),
    /// Binary packets (not used by the peer) or garbage.
    Other,
}

/// Parse one text frame.
pub fn parse(frame: &str) -> Eio<'_> {
    let Some(t) = frame.chars().next() else {
        return Eio::Unknown;
    };
    let rest = &frame[t.len_utf8()..];
    match t {
        '0' => Eio::Open(rest),
        '1' => Eio::Close,
        '2' => Eio::Ping(rest),
        '3' => Eio::Pong(rest),
        '4' => Eio::Message(parse_sio(rest)),
        '5' => Eio::Upgrade,
        '6' => Eio::Noop,
        _ => Eio::Unknown,
    }
}

fn parse_sio(p: &str) -> Sio<'_> {
    let Some(t) = p.chars().next() else {
        return Sio::Other;
    };
    if !t.is_ascii_digit() {
        return Sio::Other;
    }
    let mut rest = &p[t.len_utf8()..];
    // Optional namespace: "/ns," (the main namespace "/" is omitted on the wire).
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(i) => rest = &rest[i + 1..],
            None => rest = "",
        }
    }
    // Optional ack id.
    let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
    let ack = if digits > 0 {
        rest[..digits].parse::<u64>().ok()
    } else {
        None
    };
    let json = &rest[digits..];
    match t {
        '0' => Sio::Connect(json),
        '1' => Sio::Disconnect,
        '2' => Sio::Event { ack, json },
        '3' => match ack {
            Some(ack) => Sio::Ack { ack, json },
            None => Sio::Other,
        },
        '4' => Sio::ConnectError(json),
        _ => Sio::Other,
    }
}

/// Decode an event's `["name", data]` when it has exactly one argument.
pub fn decode_event<T: DeserializeOwned>(json: &str) -> Option<(String, T)> {
    serde_json::from_str::<(String, T)>(json).ok()
}

/// The Socket.IO connect packet for the main namespace (no auth).
pub const CONNECT: &str = "40";

/// Encode an event with one argument: `42["name",data]`.
pub fn event<T: Serialize + ?Sized>(name: &str, data: &T) -> String {
    let mut s = String::from("42");
    // Serializing a (&str, &T) tuple yields the JSON array `["name",data]`.
    s.push_str(&serde_json::to_string(&(name, data)).expect("serializable"));
    s
}

/// The answer to an Engine.IO ping with `payload`.
pub fn pong(payload: &str) -> String {
    format!("3{payload}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Chat {
        text: String,
        seq: u64,
    }

    #[test]
    fn engine_io_packets() {
        assert_eq!(
            parse(r#"0{"sid":"abc","pingInterval":25000}"#),
            Eio::Open(r#"{"sid":"abc","pingInterval":25000}"#)
        );
        assert_eq!(parse("2"), Eio::Ping(""));
        assert_eq!(parse("2probe"), Eio::Ping("probe"));
        assert_eq!(parse("3"), Eio::Pong(""));
        assert_eq!(parse("1"), Eio::Close);
        assert_eq!(parse("6"), Eio::Noop);
        assert_eq!(parse(""), Eio::Unknown);
        assert_eq!(parse("x"), Eio::Unknown);
        assert_eq!(pong("probe"), "3probe");
    }

    #[test]
    fn socket_io_packets() {
        assert_eq!(
            parse(r#"40{"sid":"s1"}"#),
            Eio::Message(Sio::Connect(r#"{"sid":"s1"}"#))
        );
        assert_eq!(parse("40"), Eio::Message(Sio::Connect("")));
        assert_eq!(parse("41"), Eio::Message(Sio::Disconnect));
        assert_eq!(
            parse(r#"42["chat",{"text":"hi","seq":7}]"#),
            Eio::Message(Sio::Event {
                ack: None,
                json: r#"["chat",{"text":"hi","seq":7}]"#
            })
        );
        assert_eq!(
            parse(r#"42/admin,13["x",1]"#),
            Eio::Message(Sio::Event {
                ack: Some(13),
                json: r#"["x",1]"#
            })
        );
        assert_eq!(
            parse(r#"4312[true]"#),
            Eio::Message(Sio::Ack {
                ack: 12,
                json: "[true]"
            })
        );
        assert_eq!(
            parse(r#"44{"message":"no"}"#),
            Eio::Message(Sio::ConnectError(r#"{"message":"no"}"#))
        );
        assert_eq!(parse("4"), Eio::Message(Sio::Other));
    }

    #[test]
    fn events_round_trip() {
        let f = event("join", "room-1");
        assert_eq!(f, r#"42["join","room-1"]"#);
        let f = event(
            "chat",
            &serde_json::json!({"text": "t=1;\"quoted\"", "seq": 3}),
        );
        let Eio::Message(Sio::Event { json, .. }) = parse(&f) else {
            panic!("not an event: {f}")
        };
        let (name, c): (String, Chat) = decode_event(json).unwrap();
        assert_eq!(name, "chat");
        assert_eq!(
            c,
            Chat {
                text: "t=1;\"quoted\"".into(),
                seq: 3
            }
        );
        assert!(decode_event::<Chat>(r#"["chat"]"#).is_none());
    }
}
