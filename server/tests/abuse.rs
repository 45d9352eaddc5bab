//! Hardening: a real `huddle` process under abuse. In every test one client
//! misbehaves while a well-behaved member of the same room keeps receiving
//! every message the facilitator sends, in order, with normal latency.

mod common;

use common::*;
use huddle_protocol::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Send → receive on 127.0.0.1 must stay under this while the abuse goes on.
const MAX_LATENCY_MS: u64 = 500;

// ---------------------------------------------------------------------------
// The probe: the facilitator talks, a member listens and times every message
// ---------------------------------------------------------------------------

struct Probe {
    talker: tokio::task::JoinHandle<Client>,
    listener: tokio::task::JoinHandle<(Client, Vec<u64>)>,
    n: usize,
}

/// How the facilitator talks during the abuse.
#[derive(Clone, Copy)]
struct Talk {
    /// Messages in all.
    n: usize,
    /// Sent back to back, then a pause of `every`.
    chunk: usize,
    every: Duration,
    /// Extra characters per message (to make the traffic heavy).
    pad: usize,
}

impl Talk {
    /// `n` messages, one every `ms` milliseconds.
    fn steady(n: usize, ms: u64) -> Talk {
        Talk {
            n,
            chunk: 1,
            every: Duration::from_millis(ms),
            pad: 0,
        }
    }
}

/// Read whatever already arrived (never waits).
async fn drain(c: &mut Client) {
    for _ in 0..100_000 {
        if c.next_within(Duration::ZERO).await.is_err() {
            break;
        }
    }
}

impl Probe {
    fn start(mut fac: Client, mut member: Client, talk: Talk) -> Probe {
        let fac_id = fac.member_id();
        let talker = tokio::spawn(async move {
            for i in 0..talk.n {
                let text = format!("probe {i} {} {}", now_ms(), "x".repeat(talk.pad));
                fac.send(&ClientMsg::Chat { text }).await;
                // Keep reading our own echoes: the talker is never a slow consumer.
                drain(&mut fac).await;
                if (i + 1) % talk.chunk == 0 {
                    tokio::time::sleep(talk.every).await;
                }
            }
            fac
        });
        let budget = talk.every * (talk.n / talk.chunk.max(1)) as u32 + Duration::from_secs(15);
        let listener = tokio::spawn(async move {
            let end = Instant::now() + budget;
            let mut latencies = Vec::with_capacity(talk.n);
            while latencies.len() < talk.n {
                let left = end.saturating_duration_since(Instant::now());
                match member.next_within(left).await {
                    Ok(ServerMsg::Event {
                        event: Event::Chat { message },
                        ..
                    }) if message.from == fac_id => {
                        let at = now_ms();
                        let mut it = message.text.split_whitespace().skip(1);
                        let i: usize = it.next().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
                        let sent: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                        assert_eq!(
                            i,
                            latencies.len(),
                            "the facilitator's messages arrived out of order or with a gap"
                        );
                        latencies.push(at.saturating_sub(sent));
                    }
                    Ok(_) => {}
                    Err(e) => panic!(
                        "the well-behaved member lost the facilitator's message {} of {}: {e:?}",
                        latencies.len(),
                        talk.n
                    ),
                }
            }
            (member, latencies)
        });
        Probe {
            talker,
            listener,
            n: talk.n,
        }
    }

    /// Wait for the end of the talk; assert everything arrived in order, promptly.
    async fn finish(self, what: &str) -> (Client, Client) {
        let fac = self.talker.await.expect("the facilitator's task failed");
        let (member, lat) = self.listener.await.expect("the member's task failed");
        assert_eq!(lat.len(), self.n);
        let max = lat.iter().copied().max().unwrap_or(0);
        let at = lat.iter().position(|l| *l == max).unwrap_or(0);
        let mut sorted = lat.clone();
        sorted.sort_unstable();
        let p50 = sorted[sorted.len() / 2];
        eprintln!(
            "[{what}] member got all {} messages in order; latency p50 {p50} ms, max {max} ms (message {at})",
            self.n
        );
        assert!(
            max < MAX_LATENCY_MS,
            "[{what}] a message took {max} ms to reach the well-behaved member"
        );
        (fac, member)
    }
}

/// A group room with a facilitator and one ready member.
async fn setup(server: &Server) -> (RoomCreated, Client, Client) {
    let (room, fac, mut ps) = room_with(server, 1).await;
    let member = ps.pop().expect("one member");
    (room, fac, member)
}

/// Read an abuser's frames until the server ends the connection; returns the
/// frames read and how it ended.
async fn read_to_end(c: &mut Client, wait: Duration) -> (Vec<ServerMsg>, Ended) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    for _ in 0..100_000 {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.next_within(left).await {
            Ok(m) => got.push(m),
            Err(e) => return (got, e),
        }
    }
    (got, Ended::Timeout)
}

fn error_codes(frames: &[ServerMsg]) -> Vec<ErrorCode> {
    frames
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

/// The server process is alive and serving.
async fn still_serving(server: &Server) {
    assert_eq!(server.get("/healthz").await.status, 200, "the server died");
}

// ---------------------------------------------------------------------------
// A hand-made WebSocket client: frames the real clients refuse to build
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum RawEnd {
    Timeout,
    Eof,
    Io,
}

struct RawWs {
    s: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    /// Connect and upgrade; `rcvbuf` shrinks the socket's receive buffer.
    async fn connect(server: &Server, rcvbuf: Option<u32>) -> RawWs {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(n) = rcvbuf {
            sock.set_recv_buffer_size(n).expect("SO_RCVBUF");
        }
        let mut s = tokio::time::timeout(TIMEOUT, sock.connect(server.addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            server.addr
        );
        s.write_all(req.as_bytes()).await.expect("upgrade request");
        let mut buf = Vec::new();
        let mut tmp = [0u8; 1024];
        loop {
            let n = tokio::time::timeout(TIMEOUT, s.read(&mut tmp))
                .await
                .expect("upgrade timed out")
                .expect("upgrade read");
            assert!(n > 0, "connection closed during the upgrade");
            buf.extend_from_slice(&tmp[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..p]).to_string();
                assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
                buf.drain(..p + 4);
                return RawWs { s, buf };
            }
        }
    }

    fn local_port(&self) -> u16 {
        self.s.local_addr().expect("local addr").port()
    }

    /// One masked frame, as a client must send it.
    async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
        let len = payload.len();
        if len < 126 {
            f.push(0x80 | len as u8);
        } else if len <= 0xffff {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.s.write_all(&f).await
    }

    async fn send_text(&mut self, text: &str) {
        self.send_frame(true, 1, text.as_bytes())
            .await
            .expect("raw send");
    }

    /// The next frame from the server: (opcode, payload).
    async fn read_frame(&mut self, wait: Duration) -> Result<(u8, Vec<u8>), RawEnd> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.buf.len() >= 2 {
                let op = self.buf[0] & 0x0f;
                assert_eq!(self.buf[1] & 0x80, 0, "the server masked a frame");
                let (len, head) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&self.buf[2..10]);
                        (u64::from_be_bytes(b) as usize, 10)
                    }
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && self.buf.len() >= head + len {
                    let payload = self.buf[head..head + len].to_vec();
                    self.buf.drain(..head + len);
                    return Ok((op, payload));
                }
            }
            let mut tmp = vec![0u8; 64 * 1024];
            match tokio::time::timeout_at(deadline, self.s.read(&mut tmp)).await {
                Err(_) => return Err(RawEnd::Timeout),
                Ok(Ok(0)) => return Err(RawEnd::Eof),
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
                Ok(Err(_)) => return Err(RawEnd::Io),
            }
        }
    }

    /// The next text frame as a server message (skipping control frames);
    /// `Err` with the close code (if any) when the server closes.
    async fn recv(&mut self, wait: Duration) -> Result<ServerMsg, Option<u16>> {
        loop {
            match self.read_frame(wait).await {
                Ok((1, p)) => {
                    let t = String::from_utf8(p).expect("the server sent invalid UTF-8");
                    return Ok(serde_json::from_str(&t).expect("undecodable server frame"));
                }
                Ok((8, p)) => return Err((p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]))),
                Ok(_) => continue,
                Err(RawEnd::Timeout) => panic!("raw client: no frame within {wait:?}"),
                Err(_) => return Err(None),
            }
        }
    }

    async fn join(&mut self, room: &str, name: &str) -> Welcome {
        let join = ClientMsg::Join {
            v: PROTOCOL_VERSION,
            room_id: room.into(),
            name: name.into(),
            facilitator_key: None,
            resume: None,
            device_id: None,
        };
        self.send_text(&serde_json::to_string(&join).unwrap()).await;
        welcome_of(
            self.recv(TIMEOUT)
                .await
                .expect("closed instead of welcoming"),
        )
    }
}

// ---------------------------------------------------------------------------
// Floods
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_then_closed_1008_and_the_room_goes_on() {
    let server = Server::start_with(&[
        "--rate-per-sec",
        "50",
        "--rate-burst",
        "50",
        "--abuse-close-after",
        "100",
    ])
    .await;
    let (room, fac, member) = setup(&server).await;
    let mut abuser = server.client().await;
    abuser.join_ready(&room.room_id, "Flooder").await;

    let probe = Probe::start(fac, member, Talk::steady(40, 25));
    let mut sent = 0;
    for i in 0..2_000 {
        let text = format!(r#"{{"type":"chat","text":"flood {i}"}}"#);
        if !abuser.try_send_raw(&text).await {
            break;
        }
        sent += 1;
    }
    let (frames, end) = read_to_end(&mut abuser, Duration::from_secs(10)).await;
    let (_fac, _member) = probe.finish("flood").await;

    let codes = error_codes(&frames);
    let limited = codes
        .iter()
        .filter(|c| **c == ErrorCode::RateLimited)
        .count();
    eprintln!("flooder sent {sent} frames, got {limited} rate_limited errors, then {end:?}");
    assert!(limited >= 1, "no rate_limited error: {codes:?}");
    assert!(
        matches!(end, Ended::Closed(Some(1008), _)),
        "sustained abuse must be closed with 1008, got {end:?}"
    );
    let m = server.metrics().await;
    assert!(m["huddle_rate_limited_total"] >= 100, "{m:?}");
    still_serving(&server).await;
}

// ---------------------------------------------------------------------------
// Oversized, binary and invalid frames
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_get_too_large_or_a_1009_close() {
    let server = Server::start_with(&["--max-frame-bytes", "1024"]).await;
    let (room, fac, member) = setup(&server).await;
    let mut abuser = server.client().await;
    abuser.join_ready(&room.room_id, "Big").await;

    let probe = Probe::start(fac, member, Talk::steady(30, 25));
    // Over the limit but under 4×: refused, the connection stays usable.
    for size in [1_025, 2_000, 4_000] {
        let text = format!(r#"{{"type":"chat","text":"{}"}}"#, "y".repeat(size));
        abuser.send_raw(&text).await;
        abuser.expect_error(ErrorCode::TooLarge).await;
    }
    abuser.ping().await;
    let ok = abuser.chat("small is fine").await;
    assert_eq!(ok.text, "small is fine");
    // Over 4× the limit: the transport closes the connection with 1009.
    let huge = format!(r#"{{"type":"chat","text":"{}"}}"#, "z".repeat(5_000));
    abuser.send_raw(&huge).await;
    let (_, end) = read_to_end(&mut abuser, TIMEOUT).await;
    assert!(
        matches!(end, Ended::Closed(Some(1009), _)),
        "a frame over 4x the limit must be closed with 1009, got {end:?}"
    );
    let (_fac, mut member) = probe.finish("oversized").await;
    let texts = chat_texts(&member.barrier().await);
    assert!(
        texts.iter().all(|t| !t.contains("zzzz")),
        "the huge frame reached the room"
    );
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_are_refused_and_the_connection_stays_usable() {
    let server = Server::start().await;
    let (room, fac, member) = setup(&server).await;
    let mut abuser = server.client().await;
    abuser.join_ready(&room.room_id, "Binary").await;

    let probe = Probe::start(fac, member, Talk::steady(20, 25));
    let chat = serde_json::to_vec(&ClientMsg::Chat {
        text: "as binary".into(),
    })
    .unwrap();
    for data in [chat, vec![0xff, 0x00, 0xfe], Vec::new()] {
        abuser.send_binary(data).await;
        abuser.expect_error(ErrorCode::BinaryNotSupported).await;
    }
    abuser.ping().await;
    abuser.chat("as text").await;
    let (_fac, mut member) = probe.finish("binary").await;
    let texts = chat_texts(&member.barrier().await);
    assert!(
        !texts.iter().any(|t| t == "as binary"),
        "a binary frame was taken as a chat"
    );
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_text_frames_close_only_that_connection() {
    let server = Server::start().await;
    let (room, fac, member) = setup(&server).await;

    // Fragmented text whose split falls inside a character is still valid UTF-8.
    let mut split = RawWs::connect(&server, None).await;
    let ping = r#"{"type":"ping","t":7} "#.to_string() + "é";
    let bytes = ping.as_bytes();
    let cut = bytes.len() - 1; // between the two bytes of 'é'
    split.send_frame(false, 1, &bytes[..cut]).await.unwrap();
    split.send_frame(true, 0, &bytes[cut..]).await.unwrap();
    // Trailing garbage after the JSON object: refused as bad_json, never a panic.
    match split.recv(TIMEOUT).await {
        Ok(ServerMsg::Error { code, .. }) => assert_eq!(code, ErrorCode::BadJson),
        Ok(ServerMsg::Pong { t, .. }) => assert_eq!(t, 7),
        other => panic!("unexpected answer to a split text frame: {other:?}"),
    }

    let mut raw = RawWs::connect(&server, None).await;
    let w = raw.join(&room.room_id, "Raw").await;
    assert_eq!(w.you.role, Role::Participant);

    let probe = Probe::start(fac, member, Talk::steady(20, 25));
    let mut payload = br#"{"type":"chat","text":""#.to_vec();
    payload.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    payload.extend_from_slice(br#""}"#);
    raw.send_frame(true, 1, &payload).await.unwrap();
    let end = loop {
        match raw.recv(TIMEOUT).await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    eprintln!("invalid UTF-8: the server ended the connection with {end:?}");
    assert!(
        end.is_none() || end == Some(1007),
        "invalid UTF-8 should close with 1007 (or drop), got {end:?}"
    );
    // A second offender on a fresh connection, mid-fragment this time.
    let mut raw2 = RawWs::connect(&server, None).await;
    raw2.send_frame(false, 1, b"{\"type\":\"ping\",\"t\":1")
        .await
        .unwrap();
    raw2.send_frame(true, 0, &[0x80, 0x80]).await.unwrap();
    assert!(
        raw2.recv(TIMEOUT).await.is_err(),
        "invalid continuation accepted"
    );

    let (_fac, mut member) = probe.finish("invalid utf-8").await;
    member.ping().await;
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_is_refused_without_harm() {
    // Large enough a frame limit that the nesting reaches the JSON decoder.
    let server = Server::start_with(&["--max-frame-bytes", "300000"]).await;
    let (room, fac, member) = setup(&server).await;
    let mut abuser = server.client().await;
    abuser.join_ready(&room.room_id, "Nested").await;

    let probe = Probe::start(fac, member, Talk::steady(30, 25));
    let cases = [
        ("[".repeat(100_000), ErrorCode::BadJson),
        ("{\"a\":".repeat(50_000), ErrorCode::BadJson),
        (
            format!(r#"{{"type":"chat","text":{}}}"#, "[".repeat(100_000)),
            ErrorCode::BadMessage,
        ),
        (
            format!(
                r#"{{"type":"chat","text":"x","extra":{}1{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            ErrorCode::BadMessage,
        ),
    ];
    for (frame, code) in &cases {
        let t0 = Instant::now();
        abuser.send_raw(frame).await;
        let m = abuser
            .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
            .await;
        let ServerMsg::Error { code: got, .. } = m else {
            unreachable!()
        };
        assert!(
            got == *code || got == ErrorCode::BadJson,
            "expected {code:?}, got {got:?}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "nested JSON was slow to refuse"
        );
    }
    abuser.ping().await;
    abuser.chat("flat is fine").await;
    probe.finish("nested json").await;
    still_serving(&server).await;
}

// ---------------------------------------------------------------------------
// Names, forged identities, resume tokens
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_control_character_names_are_refused() {
    let server = Server::start().await;
    let (room, fac, member) = setup(&server).await;
    let mut abuser = server.client().await;

    let probe = Probe::start(fac, member, Talk::steady(30, 25));
    let bad = [
        "N".repeat(10 * 1024),
        "é".repeat(41),
        "Sam\u{7}".to_string(),
        "line\nbreak".to_string(),
        "nul\u{0}".to_string(),
        "\u{1b}[31mred".to_string(),
        "del\u{7f}".to_string(),
        "c1\u{85}x".to_string(),
        "bidi\u{9b}x".to_string(),
        "   ".to_string(),
        String::new(),
    ];
    for name in &bad {
        let m = abuser.join_raw(&room.room_id, name, None, None).await;
        match m {
            ServerMsg::Error { code, .. } => assert_eq!(
                code,
                ErrorCode::InvalidName,
                "name {:?} refused with the wrong code",
                name.chars().take(12).collect::<String>()
            ),
            other => panic!(
                "name {:?} was accepted: {other:?}",
                name.chars().take(12).collect::<String>()
            ),
        }
    }
    // The same connection can still join with a proper name (trimmed).
    let w = abuser.join(&room.room_id, "  Dana  ", None).await;
    let (_fac, mut member) = probe.finish("names").await;
    let roster = &w.room.roster;
    assert!(roster.iter().any(|m| m.name == "Dana"));
    for m in roster {
        assert!(
            !m.name.chars().any(char::is_control) && m.name.chars().count() <= 40,
            "bad name in the roster: {:?}",
            m.name
        );
    }
    member.barrier().await;
    let joined: Vec<_> = events(&member.seen)
        .into_iter()
        .filter_map(|e| match e {
            Event::MemberJoined { member } => Some(member.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        joined,
        vec!["Dana".to_string()],
        "only the proper join reached the room"
    );
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_member_ids_and_roles_are_never_honoured() {
    let server = Server::start().await;
    let (room, fac, member) = setup(&server).await;
    let fac_id = fac.member_id();
    let mut abuser = server.client().await;

    let probe = Probe::start(fac, member, Talk::steady(40, 25));
    let r = &room.room_id;
    let forged_joins = [
        format!(r#"{{"type":"join","v":1,"room_id":"{r}","name":"Eve","role":"facilitator"}}"#),
        format!(r#"{{"type":"join","v":1,"room_id":"{r}","name":"Eve","member_id":"{fac_id}"}}"#),
        format!(
            r#"{{"type":"join","v":1,"room_id":"{r}","name":"Eve","you":{{"member_id":"{fac_id}","role":"facilitator","resume_token":"x"}}}}"#
        ),
        format!(r#"{{"type":"join","v":1,"room_id":"{r}","name":"Eve","creator":true}}"#),
    ];
    for f in &forged_joins {
        abuser.send_raw(f).await;
        abuser.expect_error(ErrorCode::UnknownField).await;
    }
    // A guessed facilitator key, and a forged resume as the facilitator.
    let m = abuser
        .join_raw(r, "Eve", Some("0123456789abcdef"), None)
        .await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{m:?}"
    );
    let forged = Resume {
        member_id: fac_id.clone(),
        token: "f".repeat(32),
        last_seq: 0,
        epoch: String::new(),
    };
    let m = abuser.join_raw(r, "Eve", None, Some(forged)).await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::BadResume,
                ..
            }
        ),
        "{m:?}"
    );
    // Joined for real: a participant, with an id of its own.
    let w = abuser.join(r, "Eve", None).await;
    assert_eq!(w.you.role, Role::Participant);
    assert_ne!(w.you.member_id, fac_id);
    abuser.accept_rules(w.room.rules.version).await;
    let me = w.you.member_id.clone();
    // Extra fields naming someone else, or a role: refused, not half-applied.
    let forged_cmds = [
        format!(r#"{{"type":"chat","text":"as the facilitator","from":"{fac_id}"}}"#),
        format!(r#"{{"type":"chat","text":"as the facilitator","member_id":"{fac_id}"}}"#),
        r#"{"type":"chat","text":"as the facilitator","role":"facilitator"}"#.to_string(),
        format!(r#"{{"type":"promote","member_id":"{me}","role":"facilitator"}}"#),
    ];
    for f in &forged_cmds {
        abuser.send_raw(f).await;
        abuser.expect_error(ErrorCode::UnknownField).await;
    }
    // Field-less commands too: an extra field is refused, never ignored.
    for f in [
        r#"{"type":"end_session","role":"facilitator"}"#,
        r#"{"type":"airtime","role":"facilitator","member_id":"x"}"#,
    ] {
        abuser.send_raw(f).await;
        let m = abuser.expect_error(ErrorCode::UnknownField).await;
        assert!(
            matches!(&m, ServerMsg::Error { message, .. } if message.starts_with("unknown field `")),
            "{f}: {m:?}"
        );
    }
    // Well-formed facilitator commands from a participant: forbidden.
    let cmds = [
        ClientMsg::Promote {
            member_id: me.clone(),
        },
        ClientMsg::HandOver {
            member_id: me.clone(),
        },
        ClientMsg::Mute {
            member_id: fac_id.clone(),
        },
        ClientMsg::Remove {
            member_id: fac_id.clone(),
        },
        ClientMsg::Demote {
            member_id: fac_id.clone(),
        },
        ClientMsg::LowerHand {
            member_id: Some(fac_id.clone()),
        },
        ClientMsg::EndSession,
    ];
    for c in &cmds {
        abuser.send(c).await;
        abuser.expect_error(ErrorCode::Forbidden).await;
    }
    let (_fac, mut member) = probe.finish("forged").await;
    let seen = {
        let mut s = member.seen.clone();
        s.extend(member.barrier().await);
        s
    };
    for e in events(&seen) {
        match e {
            Event::MemberUpdated { member } | Event::MemberJoined { member } if member.id == me => {
                assert_eq!(
                    member.role,
                    Role::Participant,
                    "the abuser was elevated: {e:?}"
                )
            }
            Event::MemberUpdated { member } if member.id == fac_id => {
                assert!(!member.muted && member.role == Role::Facilitator, "{e:?}")
            }
            Event::Chat { message } => assert_ne!(message.text, "as the facilitator"),
            Event::SessionEnded { .. } | Event::MemberLeft { .. } => panic!("{e:?}"),
            _ => {}
        }
    }
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_foreign_resume_tokens_are_refused() {
    let server = Server::start().await;
    let (room, fac, member) = setup(&server).await;
    let other = server.group("Another room").await;
    let mut x = server.client().await;
    let wx = x.join_ready(&room.room_id, "Xena").await;
    let mut y = server.client().await;
    let wy = y.join_ready(&room.room_id, "Yuri").await;
    let x_you = wx.you.clone();
    let y_you = wy.you.clone();
    let (x_last, epoch) = (x.last_seq, x.epoch.clone());
    drop(x); // X's connection drops; X may resume within the grace period.

    let probe = Probe::start(fac, member, Talk::steady(40, 25));
    let r = &room.room_id;
    let resume = |you: &You, member_id: &str| Resume {
        member_id: member_id.to_string(),
        token: you.resume_token.clone(),
        last_seq: x_last,
        epoch: epoch.clone(),
    };
    // X's token for Y, Y's token for X: refused.
    let mut eve = server.client().await;
    for (tok, id) in [(&x_you, &y_you.member_id), (&y_you, &x_you.member_id)] {
        let m = eve.join_raw(r, "Eve", None, Some(resume(tok, id))).await;
        assert!(
            matches!(
                m,
                ServerMsg::Error {
                    code: ErrorCode::BadResume,
                    ..
                }
            ),
            "a token was accepted for another member: {m:?}"
        );
    }
    // X's token in another room: never X there.
    let mut far = server.client().await;
    let m = far
        .join_raw(
            &other.room_id,
            "Eve",
            None,
            Some(resume(&x_you, &x_you.member_id)),
        )
        .await;
    match &m {
        ServerMsg::Error { code, .. } => assert_eq!(*code, ErrorCode::BadResume, "{m:?}"),
        ServerMsg::Welcome { you, room, .. } => {
            // Documented: an unknown member joins afresh, as a new participant.
            assert_ne!(you.member_id, x_you.member_id);
            assert_eq!(you.role, Role::Participant);
            assert!(room.roster.iter().all(|m| m.id != x_you.member_id));
        }
        other => panic!("a foreign token resumed: {other:?}"),
    }
    // X comes back for real: the token rotates.
    let mut x2 = server.client().await;
    let (_, end) = x2.resume(r, "Xena", &x_you, x_last, &epoch).await;
    let ServerMsg::Resumed { you: new_you, .. } = end else {
        panic!("X could not resume: {end:?}")
    };
    assert_ne!(
        new_you.resume_token, x_you.resume_token,
        "the token did not rotate"
    );
    // Replaying the used token: refused, and X's live connection is untouched.
    let mut replay = server.client().await;
    let m = replay
        .join_raw(r, "Xena", None, Some(resume(&x_you, &x_you.member_id)))
        .await;
    assert!(
        matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::BadResume,
                ..
            }
        ),
        "a used resume token worked again: {m:?}"
    );
    let again = x2.chat("still me").await;
    assert_eq!(again.from, x_you.member_id);
    // Y was never disturbed either.
    y.ping().await;
    let (_fac, mut member) = probe.finish("resume tokens").await;
    let seen = member.barrier().await;
    assert!(
        !events(&seen)
            .iter()
            .any(|e| matches!(e, Event::MemberLeft { .. })),
        "a refused resume removed someone"
    );
    still_serving(&server).await;
}

// ---------------------------------------------------------------------------
// Connections from one address
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_51st_connection_from_one_address_gets_429() {
    let server = Server::start_with(&["--max-conns-per-ip", "50"]).await;
    let (_room, fac, member) = setup(&server).await; // 2 connections already
    let probe = Probe::start(fac, member, Talk::steady(60, 25));
    let mut open = Vec::new();
    let mut refused = 0;
    let mut other = Vec::new();
    for _ in 0..1_000 {
        match Client::connect_url(&server.ws_url(), None).await {
            Ok(c) => {
                assert_eq!(refused, 0, "a connection was accepted after a refusal");
                open.push(c);
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                if resp.status().as_u16() == 429 {
                    refused += 1;
                } else {
                    other.push(resp.status().as_u16());
                }
            }
            Err(e) => panic!("connection attempt failed oddly: {e}"),
        }
    }
    assert!(other.is_empty(), "unexpected statuses: {other:?}");
    assert_eq!(
        open.len(),
        48,
        "50 connections per address, 2 were already open"
    );
    assert_eq!(refused, 1_000 - 48);
    // The accepted ones all work.
    for c in open.iter_mut() {
        c.ping().await;
    }
    probe.finish("connection limit").await;
    // Closing some frees their slots.
    for c in open.drain(..5) {
        c.close().await;
    }
    let deadline = Instant::now() + TIMEOUT;
    let mut back = 0;
    while back < 5 {
        assert!(
            Instant::now() < deadline,
            "closed connections never freed their slots"
        );
        match Client::connect_url(&server.ws_url(), None).await {
            Ok(mut c) => {
                c.ping().await;
                open.push(c);
                back += 1;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let m = server.metrics().await;
    assert!(m["huddle_connections_refused_total"] >= 952, "{m:?}");
    still_serving(&server).await;
}

// ---------------------------------------------------------------------------
// A client that never reads
// ---------------------------------------------------------------------------

/// Whether the server still holds a connection to this client port open
/// (ESTABLISHED in /proc/net/tcp, server side).
fn server_side_established(server_port: u16, client_port: u16) -> bool {
    let Ok(t) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let local = format!("0100007F:{server_port:04X}");
    let remote = format!("0100007F:{client_port:04X}");
    t.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && f[1] == local && f[2] == remote && f[3] == "01"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_without_slowing_the_room() {
    let server = Server::start_with(&[
        "--rate-per-sec",
        "20000",
        "--rate-burst",
        "20000",
        "--queue",
        "512",
    ])
    .await;
    let (room, fac, member) = setup(&server).await;
    let mut slow = RawWs::connect(&server, Some(4096)).await;
    slow.join(&room.room_id, "Sleepy").await;
    let slow_port = slow.local_port();
    // From now on it never reads, while 5,000 heavy messages flow.
    let talk = Talk {
        n: 5_000,
        chunk: 25,
        every: Duration::from_millis(12),
        pad: 1_500,
    };
    let t0 = Instant::now();
    let probe = Probe::start(fac, member, talk);
    let (_fac, mut member) = probe.finish("slow consumer").await;
    eprintln!("5,000 messages flowed in {:?}", t0.elapsed());

    let m = server.metrics().await;
    assert!(
        m["huddle_slow_consumers_dropped_total"] >= 1,
        "the slow consumer was never dropped: {m:?}"
    );
    // The server lets go of the connection (it does not keep a task and
    // megabytes of buffers for a client that never reads).
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_side_established(server.addr.port(), slow_port) {
        assert!(
            Instant::now() < deadline,
            "the server still holds the dropped connection open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // When it finally reads: what was buffered, then a 4008 close or a reset.
    let mut frames = 0;
    let end = loop {
        match slow.read_frame(Duration::from_secs(10)).await {
            Ok((8, p)) => break Ok((p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]))),
            Ok(_) => frames += 1,
            Err(e) => break Err(e),
        }
    };
    eprintln!("the slow consumer read {frames} buffered frames, then {end:?}");
    match end {
        Ok(code) => assert!(code == Some(4008), "closed with {code:?}"),
        Err(RawEnd::Timeout) => panic!("the slow consumer's connection was never ended"),
        Err(_) => {}
    }
    assert!(
        frames < 5_000,
        "the slow consumer got everything: it was not dropped"
    );
    // The room carries on for everyone else.
    member.ping().await;
    still_serving(&server).await;
}
