//! `huddle-load call-signalling`: the WebRTC negotiation traffic of calls.
//!
//! R rooms of M members (6 by default, the video mesh's limit). Member 0 joins
//! as facilitator and turns the room's video call on; everyone accepts the
//! ground rules and joins the call (mic and camera on). Then every pair of
//! call members negotiates again and again, as browsers do for each peer
//! connection and each ICE restart, following the protocol's perfect
//! negotiation roles (the higher `member_id` of a pair offers):
//!
//! * the offerer sends `{description: offer}` (a Chrome-like audio + video SDP,
//!   a 5.8 KB frame) and `{candidates: [3]}`;
//! * the answerer, on each offer, sends `{description: answer}` (4.0 KB)
//!   and `{candidates: [3]}`.
//!
//! Each signal carries a stamp (run, per-pair counter, send time in µs) inside
//! its SDP (an `a=x-huddle-load:` line) or its first candidate's foundation, so
//! the receiver measures the relay latency (send → `signal` frame read; one
//! process, one clock) and checks exactly once and in order per pair.
//! Everything is bounded by `--duration`, `--drain` and the setup timeouts.

use crate::net::{self, Endpoint};
use crate::payload;
use crate::run::LatencyMs;
use crate::stats::Histogram;
use crate::sys::{self, ProcSample};
use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    CallMode, ClientMsg, CreateRoom, Event, RoomCreated, RoomKind, ServerMsg, PROTOCOL_VERSION,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// ICE candidates per candidates signal (host, srflx, relay: a typical trickle batch).
const CANDIDATES_PER_BATCH: usize = 3;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub endpoints: Vec<Endpoint>,
    pub rooms: u32,
    pub members: u32,
    /// Negotiations (offer + answer + two candidate batches) per second per pair.
    pub negotiations_per_pair_sec: f64,
    pub duration: Duration,
    pub drain: Duration,
    pub setup_timeout: Duration,
    pub server_pids: Vec<u32>,
    pub quiet: bool,
}

/// What happened.
#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub urls: Vec<String>,
    pub run_id: u32,
    pub rooms: u32,
    pub members_per_room: u32,
    pub clients: u64,
    /// Clients that joined the room and the call (got `call_config` and saw every member join).
    pub in_call: u64,
    pub setup_failed: u64,
    /// Why clients failed: in setup, or dropped during the run.
    pub client_errors: BTreeMap<String, u64>,
    /// `join_call` → `call_config`, per client.
    pub call_join_ms: LatencyMs,
    pub pairs: u64,
    pub negotiations_per_pair_sec: f64,
    pub duration_secs: f64,
    pub offers_sent: u64,
    pub answers_sent: u64,
    pub candidate_batches_sent: u64,
    /// Bytes of one frame (the whole `signal` JSON) of each kind.
    pub offer_frame_bytes: usize,
    pub answer_frame_bytes: usize,
    pub candidates_frame_bytes: usize,
    pub signals_sent: u64,
    /// Signals the server refused: `error` frames during the run (only signals are sent then).
    pub refused: u64,
    pub error_codes: BTreeMap<String, u64>,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Signals from one member that arrived after a later one from the same member.
    pub out_of_order: u64,
    /// Signals not stamped by this run, or from a member not in the call.
    pub foreign: u64,
    pub dropped: u64,
    pub signals_per_sec: f64,
    /// Send → `signal` frame read.
    pub latency_ms: LatencyMs,
    pub server_cpu_pct: Option<f64>,
    pub client_cpu_pct: Option<f64>,
    /// Everything else on the machine during the window (needs --server-pid).
    pub other_cpu_pct: Option<f64>,
}

#[derive(Default)]
struct Counters {
    joined: AtomicU64,
    in_call: AtomicU64,
    setup_failed: AtomicU64,
    offers: AtomicU64,
    answers: AtomicU64,
    candidates: AtomicU64,
    refused: AtomicU64,
    delivered: AtomicU64,
    duplicated: AtomicU64,
    out_of_order: AtomicU64,
    foreign: AtomicU64,
    dropped: AtomicU64,
    latency_us: Histogram,
    call_join_us: Histogram,
    errors: Mutex<BTreeMap<String, u64>>,
    client_errors: Mutex<BTreeMap<String, u64>>,
}

fn bump(m: &Mutex<BTreeMap<String, u64>>, k: String) {
    *m.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(k)
        .or_insert(0) += 1;
}

/// The run's phase, told to every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connect, join, accept the rules; member 0 turns the call on.
    Setup,
    /// Everyone joins the call.
    JoinCall,
    /// Offerers negotiate until `until`; answers go on while offers arrive.
    Run {
        start: Instant,
        until: Instant,
    },
    Close,
}

struct Shared {
    cfg: Config,
    run_id: u32,
    rooms: Vec<RoomCreated>,
    c: Counters,
    /// Rooms whose facilitator turned the video call on.
    call_on: AtomicU64,
}

/// A signal's stamp: `hl<run>.<n>.<µs>` (n counts per sender → receiver, from 1).
fn stamp(run: u32, n: u64, us: u64) -> String {
    format!("hl{run}.{n}.{us}")
}

fn parse_stamp(s: &str) -> Option<(u32, u64, u64)> {
    let rest = s.strip_prefix("hl")?;
    let mut it = rest.splitn(3, '.');
    let run = it.next()?.parse().ok()?;
    let n = it.next()?.parse().ok()?;
    let tail = it.next()?;
    let end = tail
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(tail.len());
    let us = tail[..end].parse().ok()?;
    Some((run, n, us))
}

/// The stamp of a received signal's data: in its SDP or its first candidate.
fn find_stamp(data: &serde_json::Value) -> Option<(u32, u64, u64)> {
    if let Some(sdp) = data
        .get("description")
        .and_then(|d| d.get("sdp"))
        .and_then(|s| s.as_str())
    {
        let at = sdp.find("a=x-huddle-load:")?;
        return parse_stamp(&sdp[at + "a=x-huddle-load:".len()..]);
    }
    let c = data.get("candidates")?.get(0)?.get("candidate")?.as_str()?;
    parse_stamp(c.strip_prefix("candidate:")?)
}

/// A Chrome-like SDP for one audio and one video m-line, BUNDLEd: an offer lists
/// Chrome's usual video codecs (VP8, VP9 ×2, H264 ×6, AV1, each with RTX, then
/// RED/ULPFEC), an answer the ones a peer typically keeps (no H264).
pub fn sdp(kind: &str, stamp: &str) -> String {
    let offer = kind == "offer";
    let mut s = String::with_capacity(6 * 1024);
    let setup = if offer { "actpass" } else { "active" };
    let mut line = |l: &str| {
        s.push_str(l);
        s.push_str("\r\n");
    };
    line("v=0");
    line("o=- 4611731400430051336 2 IN IP4 127.0.0.1");
    line("s=-");
    line("t=0 0");
    line("a=group:BUNDLE 0 1");
    line("a=extmap-allow-mixed");
    line("a=msid-semantic: WMS 5d1e7c0b-3c43-4c55-9a0e-2f5a0b3c9d71");
    line(&format!("a=x-huddle-load:{stamp}"));
    let common = |s: &mut dyn FnMut(&str), mid: u32| {
        s("c=IN IP4 0.0.0.0");
        s("a=rtcp:9 IN IP4 0.0.0.0");
        s("a=ice-ufrag:Qm7d");
        s("a=ice-pwd:Vg4Vd0nq3x1JmG0kT7bqHk2L");
        s("a=ice-options:trickle");
        s("a=fingerprint:sha-256 3B:8F:0A:5C:1E:22:9D:47:B0:6A:FC:13:58:E4:71:2D:9C:40:AE:07:65:D8:1B:F2:3E:94:C7:5A:08:B6:EE:21");
        s(&format!("a=setup:{setup}"));
        s(&format!("a=mid:{mid}"));
    };
    line("m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126");
    common(&mut line, 0);
    for (i, u) in [
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "urn:ietf:params:rtp-hdrext:sdes:mid",
    ]
    .iter()
    .enumerate()
    {
        line(&format!("a=extmap:{} {u}", i + 1));
    }
    line("a=sendrecv");
    line("a=msid:5d1e7c0b-3c43-4c55-9a0e-2f5a0b3c9d71 0b8e3a57-6a0c-4b9e-8f0e-6c1d2a7b9e34");
    line("a=rtcp-mux");
    line("a=rtpmap:111 opus/48000/2");
    line("a=rtcp-fb:111 transport-cc");
    line("a=fmtp:111 minptime=10;useinbandfec=1");
    line("a=rtpmap:63 red/48000/2");
    line("a=fmtp:63 111/111");
    for l in [
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:1001923874 cname:Yk0Zr2t8kQm3bXcW",
        "a=ssrc:1001923874 msid:5d1e7c0b-3c43-4c55-9a0e-2f5a0b3c9d71 0b8e3a57-6a0c-4b9e-8f0e-6c1d2a7b9e34",
    ] {
        line(l);
    }
    let mut codecs: Vec<(u32, &str, Option<&str>)> = vec![
        (96, "VP8/90000", None),
        (98, "VP9/90000", Some("profile-id=0")),
        (100, "VP9/90000", Some("profile-id=2")),
    ];
    if offer {
        codecs.extend([
            (
                102,
                "H264/90000",
                Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
            ),
            (
                104,
                "H264/90000",
                Some("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"),
            ),
            (
                106,
                "H264/90000",
                Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
            ),
            (
                108,
                "H264/90000",
                Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
            ),
            (
                110,
                "H264/90000",
                Some("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f"),
            ),
            (
                112,
                "H264/90000",
                Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"),
            ),
        ]);
    }
    codecs.push((45, "AV1/90000", Some("level-idx=5;profile=0;tier=0")));
    let mut pts: Vec<String> = Vec::new();
    for (pt, _, _) in &codecs {
        pts.push(pt.to_string());
        pts.push((pt + 1).to_string());
    }
    pts.extend(["116".into(), "117".into(), "118".into()]);
    line(&format!("m=video 9 UDP/TLS/RTP/SAVPF {}", pts.join(" ")));
    common(&mut line, 1);
    for (i, u) in [
        "urn:ietf:params:rtp-hdrext:toffset",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "urn:3gpp:video-orientation",
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
        "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",
        "http://www.webrtc.org/experiments/rtp-hdrext/video-timing",
        "http://www.webrtc.org/experiments/rtp-hdrext/color-space",
        "urn:ietf:params:rtp-hdrext:sdes:mid",
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    ]
    .iter()
    .enumerate()
    {
        line(&format!("a=extmap:{} {u}", i + 2));
    }
    line("a=sendrecv");
    line("a=msid:5d1e7c0b-3c43-4c55-9a0e-2f5a0b3c9d71 7f2c9b1e-0d4a-4e8b-a3c6-51f0e9d27a88");
    line("a=rtcp-mux");
    line("a=rtcp-rsize");
    for (pt, name, fmtp) in &codecs {
        line(&format!("a=rtpmap:{pt} {name}"));
        for fb in ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"] {
            line(&format!("a=rtcp-fb:{pt} {fb}"));
        }
        if let Some(f) = fmtp {
            line(&format!("a=fmtp:{pt} {f}"));
        }
        line(&format!("a=rtpmap:{} rtx/90000", pt + 1));
        line(&format!("a=fmtp:{} apt={pt}", pt + 1));
    }
    line("a=rtpmap:116 red/90000");
    line("a=rtpmap:117 rtx/90000");
    line("a=fmtp:117 apt=116");
    line("a=rtpmap:118 ulpfec/90000");
    line("a=ssrc-group:FID 2718904532 3360491173");
    for ssrc in ["2718904532", "3360491173"] {
        line(&format!("a=ssrc:{ssrc} cname:Yk0Zr2t8kQm3bXcW"));
        line(&format!(
            "a=ssrc:{ssrc} msid:5d1e7c0b-3c43-4c55-9a0e-2f5a0b3c9d71 7f2c9b1e-0d4a-4e8b-a3c6-51f0e9d27a88"
        ));
    }
    s
}

/// A trickle batch: host, server-reflexive and relay candidates (documentation addresses).
fn candidates(stamp: &str) -> serde_json::Value {
    let mut v = Vec::with_capacity(CANDIDATES_PER_BATCH);
    let kinds = [
        "1 udp 2122260223 192.0.2.23 54321 typ host generation 0",
        "1 udp 1686052607 198.51.100.7 61002 typ srflx raddr 192.0.2.23 rport 54321 generation 0",
        "1 udp 41885439 203.0.113.9 49170 typ relay raddr 198.51.100.7 rport 61002 generation 0",
    ];
    for (i, k) in kinds.iter().enumerate().take(CANDIDATES_PER_BATCH) {
        let foundation = if i == 0 {
            stamp.to_string()
        } else {
            format!("{}", 3_000_000_000u64 + i as u64)
        };
        v.push(serde_json::json!({
            "candidate": format!("candidate:{foundation} {k} ufrag Qm7d network-id 1 network-cost 10"),
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "Qm7d",
        }));
    }
    serde_json::Value::Array(v)
}

fn signal_frame(to: &str, data: serde_json::Value) -> Result<String> {
    Ok(serde_json::to_string(&ClientMsg::Signal {
        to: to.to_string(),
        data,
    })?)
}

/// One client's view of its call.
struct Peer {
    /// Next stamp counter for signals to this member.
    next_n: u64,
    /// Last stamp counter received from this member.
    last_n: u64,
}

async fn connect(ep: &Endpoint) -> Result<Ws> {
    let tcp = TcpStream::connect(ep.addr).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(ep.ws_url("/ws"), tcp)
        .await
        .context("websocket handshake")?;
    Ok(ws)
}

async fn send(ws: &mut Ws, text: String) -> Result<()> {
    ws.send(Message::text(text)).await.context("send")
}

async fn next_msg(ws: &mut Ws) -> Result<Option<ServerMsg>> {
    match ws.next().await {
        Some(Ok(Message::Text(t))) => Ok(serde_json::from_str::<ServerMsg>(&t).ok()),
        Some(Ok(Message::Close(f))) => bail!("closed by the server: {f:?}"),
        Some(Ok(_)) => Ok(None),
        Some(Err(e)) => Err(e).context("websocket error"),
        None => bail!("connection ended"),
    }
}

/// Read frames until `want` says yes (bounded by the caller).
async fn wait_for(
    ws: &mut Ws,
    what: &str,
    mut want: impl FnMut(&ServerMsg) -> bool,
) -> Result<ServerMsg> {
    loop {
        if let Some(m) = next_msg(ws).await? {
            if let ServerMsg::Error { code, message, .. } = &m {
                bail!(
                    "refused while waiting for {what}: {}: {message}",
                    code.as_str()
                );
            }
            if want(&m) {
                return Ok(m);
            }
        }
    }
}

async fn phase_is(rx: &mut watch::Receiver<Phase>, want: impl Fn(Phase) -> bool) -> Result<Phase> {
    loop {
        let p = *rx.borrow_and_update();
        if want(p) {
            return Ok(p);
        }
        rx.changed().await.context("the run ended")?;
    }
}

/// Connect, join, accept the rules, (member 0) turn the call on, join the call and wait
/// until every member of the room is in it. Returns the socket, my id and the others' ids.
async fn setup(
    sh: &Shared,
    room: usize,
    member: u32,
    rx: &mut watch::Receiver<Phase>,
) -> Result<(Ws, String, Vec<String>)> {
    let index = room as u32 * sh.cfg.members + member;
    let ep = &sh.cfg.endpoints[index as usize % sh.cfg.endpoints.len()];
    let mut ws = connect(ep).await?;
    let created = &sh.rooms[room];
    send(
        &mut ws,
        serde_json::to_string(&ClientMsg::Join {
            v: PROTOCOL_VERSION,
            room_id: created.room_id.clone(),
            name: format!("call-{index}"),
            facilitator_key: (member == 0).then(|| created.facilitator_key.clone()),
            resume: None,
            device_id: None,
        })?,
    )
    .await?;
    let ServerMsg::Welcome {
        you, room: snap, ..
    } = wait_for(&mut ws, "welcome", |m| {
        matches!(m, ServerMsg::Welcome { .. })
    })
    .await?
    else {
        bail!("no welcome");
    };
    let me = you.member_id;
    send(
        &mut ws,
        serde_json::to_string(&ClientMsg::AcceptRules {
            version: snap.rules.version,
        })?,
    )
    .await?;
    sh.c.joined.fetch_add(1, Relaxed);
    let mut in_call: Vec<String> = Vec::new();
    let note = |m: &ServerMsg, in_call: &mut Vec<String>| {
        if let ServerMsg::Event {
            event: Event::CallJoined { member_id, .. },
            ..
        } = m
        {
            if !in_call.contains(member_id) {
                in_call.push(member_id.clone());
            }
        }
    };
    if member == 0 {
        phase_is(rx, |p| p != Phase::Setup).await?;
        send(
            &mut ws,
            serde_json::to_string(&ClientMsg::SetCall {
                mode: CallMode::Video,
            })?,
        )
        .await?;
        wait_for(&mut ws, "the call on", |m| {
            matches!(m, ServerMsg::Event { event: Event::RoomUpdated { info }, .. } if info.call == CallMode::Video)
        })
        .await?;
        sh.call_on.fetch_add(1, Relaxed);
    } else {
        // Until the facilitator turned it on (its room_updated), keeping the socket read.
        loop {
            let m = next_msg(&mut ws).await?;
            if let Some(ServerMsg::Event {
                event: Event::RoomUpdated { info },
                ..
            }) = &m
            {
                if info.call == CallMode::Video {
                    break;
                }
            }
        }
    }
    let t = Instant::now();
    send(
        &mut ws,
        serde_json::to_string(&ClientMsg::JoinCall {
            mic: true,
            camera: true,
        })?,
    )
    .await?;
    let mut configured = false;
    while !configured || in_call.len() < sh.cfg.members as usize {
        let Some(m) = next_msg(&mut ws).await? else {
            continue;
        };
        if let ServerMsg::Error { code, message, .. } = &m {
            bail!("join_call refused: {}: {message}", code.as_str());
        }
        if matches!(m, ServerMsg::CallConfig { .. }) && !configured {
            configured = true;
            sh.c.call_join_us.record(t.elapsed().as_micros() as u64);
        }
        note(&m, &mut in_call);
    }
    let others = in_call.into_iter().filter(|id| *id != me).collect();
    Ok((ws, me, others))
}

/// One member of a call, from setup to close.
async fn client(sh: Arc<Shared>, room: usize, member: u32, mut rx: watch::Receiver<Phase>) {
    let setup_in = sh.cfg.setup_timeout;
    let (mut ws, me, others) =
        match tokio::time::timeout(setup_in, setup(&sh, room, member, &mut rx)).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                sh.c.setup_failed.fetch_add(1, Relaxed);
                bump(&sh.c.client_errors, format!("{e:#}"));
                return;
            }
            Err(_) => {
                sh.c.setup_failed.fetch_add(1, Relaxed);
                bump(&sh.c.client_errors, "setup timed out".into());
                return;
            }
        };
    sh.c.in_call.fetch_add(1, Relaxed);
    if let Err(e) = negotiate(&sh, &mut ws, &me, &others, &mut rx).await {
        sh.c.dropped.fetch_add(1, Relaxed);
        bump(&sh.c.client_errors, format!("during the run: {e:#}"));
        return;
    }
    if tokio::time::timeout(Duration::from_secs(2), ws.close(None))
        .await
        .is_err()
    {
        // The process is about to drop the socket anyway.
        bump(&sh.c.errors, "close timed out".into());
    }
}

/// The run: offer to the members I am impolite with (my id is the higher), answer every offer.
async fn negotiate(
    sh: &Shared,
    ws: &mut Ws,
    me: &str,
    others: &[String],
    rx: &mut watch::Receiver<Phase>,
) -> Result<()> {
    let run = sh.run_id;
    let mut peers: HashMap<String, Peer> = others
        .iter()
        .map(|id| {
            (
                id.clone(),
                Peer {
                    next_n: 1,
                    last_n: 0,
                },
            )
        })
        .collect();
    let mut mine: Vec<&String> = others.iter().filter(|id| me > id.as_str()).collect();
    mine.sort();
    let Phase::Run { start, until } =
        phase_is(rx, |p| matches!(p, Phase::Run { .. } | Phase::Close)).await?
    else {
        return Ok(());
    };
    // Offers to my peers, spread over the period: one pair every period / len.
    let rate = sh.cfg.negotiations_per_pair_sec.max(0.01);
    let step = if mine.is_empty() {
        Duration::from_secs(3600)
    } else {
        Duration::from_secs_f64(1.0 / rate / mine.len() as f64)
    };
    // Each client starts at its own offset within the first step (spreads the rooms out).
    let jitter = (payload::now_micros() % 1000) as f64 / 1000.0;
    let mut next = start + step.mul_f64(jitter);
    let mut turn = 0usize;
    loop {
        let sending = !mine.is_empty() && Instant::now() < until;
        let wake = if sending {
            next
        } else {
            Instant::now() + Duration::from_secs(3600)
        };
        tokio::select! {
            biased;
            changed = rx.changed() => {
                changed.context("the run ended")?;
                if *rx.borrow() == Phase::Close {
                    return Ok(());
                }
            }
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(f))) => bail!("closed by the server: {f:?}"),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e).context("websocket error"),
                    None => bail!("connection ended"),
                };
                let now_us = payload::now_micros();
                match serde_json::from_str::<ServerMsg>(&text) {
                    Ok(ServerMsg::Signal { from, data }) => {
                        let Some((_, n, us)) = find_stamp(&data).filter(|s| s.0 == run) else {
                            sh.c.foreign.fetch_add(1, Relaxed);
                            continue;
                        };
                        let Some(p) = peers.get_mut(&from) else {
                            sh.c.foreign.fetch_add(1, Relaxed);
                            continue;
                        };
                        sh.c.delivered.fetch_add(1, Relaxed);
                        sh.c.latency_us.record(now_us.saturating_sub(us));
                        match n.cmp(&p.last_n) {
                            std::cmp::Ordering::Greater => p.last_n = n,
                            std::cmp::Ordering::Equal => {
                                sh.c.duplicated.fetch_add(1, Relaxed);
                            }
                            std::cmp::Ordering::Less => {
                                sh.c.out_of_order.fetch_add(1, Relaxed);
                            }
                        }
                        let kind = data
                            .get("description")
                            .and_then(|d| d.get("type"))
                            .and_then(|t| t.as_str());
                        if kind == Some("offer") {
                            answer(sh, ws, &from, p).await?;
                        }
                    }
                    Ok(ServerMsg::Error { code, .. }) => {
                        // Only signals are sent now; a rate-limit refusal names no frame type.
                        sh.c.refused.fetch_add(1, Relaxed);
                        bump(&sh.c.errors, code.as_str().to_string());
                    }
                    Ok(_) => {}
                    Err(_) => bump(&sh.c.errors, "undecodable frame".into()),
                }
            }
            _ = tokio::time::sleep_until(wake.into()), if sending => {
                let to = mine[turn % mine.len()].clone();
                turn += 1;
                next += step;
                if let Some(p) = peers.get_mut(&to) {
                    offer(sh, ws, &to, p).await?;
                }
            }
        }
    }
}

async fn offer(sh: &Shared, ws: &mut Ws, to: &str, p: &mut Peer) -> Result<()> {
    describe_and_trickle(sh, ws, to, p, "offer").await?;
    sh.c.offers.fetch_add(1, Relaxed);
    Ok(())
}

async fn answer(sh: &Shared, ws: &mut Ws, to: &str, p: &mut Peer) -> Result<()> {
    describe_and_trickle(sh, ws, to, p, "answer").await?;
    sh.c.answers.fetch_add(1, Relaxed);
    Ok(())
}

async fn describe_and_trickle(
    sh: &Shared,
    ws: &mut Ws,
    to: &str,
    p: &mut Peer,
    kind: &str,
) -> Result<()> {
    let st = stamp(sh.run_id, p.next_n, payload::now_micros());
    p.next_n += 1;
    let d = serde_json::json!({ "description": { "type": kind, "sdp": sdp(kind, &st) } });
    send(ws, signal_frame(to, d)?).await?;
    let st = stamp(sh.run_id, p.next_n, payload::now_micros());
    p.next_n += 1;
    send(
        ws,
        signal_frame(to, serde_json::json!({ "candidates": candidates(&st) }))?,
    )
    .await?;
    sh.c.candidates.fetch_add(1, Relaxed);
    Ok(())
}

async fn create_rooms(cfg: &Config, run_id: u32) -> Result<Vec<RoomCreated>> {
    let mut out = Vec::with_capacity(cfg.rooms as usize);
    for r in 0..cfg.rooms {
        let ep = &cfg.endpoints[r as usize % cfg.endpoints.len()];
        let body = serde_json::to_string(&CreateRoom {
            title: format!("calls {run_id} #{r}"),
            kind: RoomKind::Group,
            ..Default::default()
        })?;
        let resp = net::request(
            ep,
            "POST",
            "/api/rooms",
            Some(&body),
            Duration::from_secs(10),
        )
        .await?;
        if !(200..300).contains(&resp.status) {
            bail!("POST /api/rooms: HTTP {} {:.200}", resp.status, resp.body);
        }
        out.push(
            serde_json::from_str(&resp.body)
                .with_context(|| format!("POST /api/rooms: unexpected body {:.200}", resp.body))?,
        );
    }
    Ok(out)
}

fn sample_all(pids: &[u32]) -> Option<Vec<ProcSample>> {
    if pids.is_empty() {
        return None;
    }
    let v: Vec<ProcSample> = pids.iter().filter_map(|&p| sys::sample(p).ok()).collect();
    (v.len() == pids.len()).then_some(v)
}

fn cpu(v: &Option<Vec<ProcSample>>) -> Option<u64> {
    v.as_ref().map(|v| v.iter().map(|s| s.cpu_ticks).sum())
}

fn pct(ticks: u64, secs: f64) -> f64 {
    (ticks as f64 / sys::clock_ticks_per_sec() as f64 / secs * 1000.0).round() / 10.0
}

/// Wait until `cond` or `deadline`, polling.
async fn until(deadline: Instant, cond: impl Fn() -> bool) -> bool {
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

pub async fn run(cfg: Config) -> Result<Report> {
    if cfg.members < 2 {
        bail!("a call needs at least 2 members per room");
    }
    let clients = cfg.rooms as u64 * cfg.members as u64;
    let (_, nofile) = sys::raise_nofile_limit().context("raise RLIMIT_NOFILE")?;
    if clients + 64 > nofile {
        bail!("{clients} clients need more file descriptors than RLIMIT_NOFILE allows ({nofile})");
    }
    let run_id = (payload::now_micros() % 1_000_000_000) as u32;
    let rooms = create_rooms(&cfg, run_id).await?;
    let pairs = cfg.rooms as u64 * (cfg.members as u64 * (cfg.members as u64 - 1) / 2);
    if !cfg.quiet {
        eprintln!(
            "call-signalling → {}: {} rooms × {} members = {clients} clients, {pairs} pairs × {} negotiations/s for {:?} (run {run_id})",
            cfg.endpoints.iter().map(|e| e.http_url()).collect::<Vec<_>>().join(","),
            cfg.rooms,
            cfg.members,
            cfg.negotiations_per_pair_sec,
            cfg.duration
        );
    }
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        run_id,
        rooms,
        c: Counters::default(),
        call_on: AtomicU64::new(0),
    });
    let (tx, rx) = watch::channel(Phase::Setup);
    let mut tasks = JoinSet::new();
    for r in 0..cfg.rooms as usize {
        for m in 0..cfg.members {
            tasks.spawn(client(sh.clone(), r, m, rx.clone()));
        }
    }
    let c = &sh.c;
    let setup_end = Instant::now() + cfg.setup_timeout;
    let done = |n: &AtomicU64| n.load(Relaxed) + c.setup_failed.load(Relaxed) >= clients;
    until(setup_end, || done(&c.joined)).await;
    tx.send(Phase::JoinCall).context("no client left")?;
    until(setup_end, || done(&c.in_call)).await;
    if !cfg.quiet {
        eprintln!(
            "setup: {} of {clients} in the call ({} failed); call_config p50 {:.1} ms",
            c.in_call.load(Relaxed),
            c.setup_failed.load(Relaxed),
            c.call_join_us.snapshot().quantile(0.5) as f64 / 1000.0
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = sample_all(&cfg.server_pids);
    let self_before = sys::sample_self().ok().map(|s| s.cpu_ticks);
    let machine_before = sys::machine_cpu_ticks();
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + cfg.duration;
    tx.send(Phase::Run { start, until: end })
        .context("no client left")?;
    let mut tick = Instant::now() + Duration::from_secs(1);
    let mut prev = 0;
    while Instant::now() < end {
        tokio::time::sleep_until(tick.min(end).into()).await;
        if Instant::now() >= tick {
            tick += Duration::from_secs(1);
            let d = c.delivered.load(Relaxed);
            if !cfg.quiet {
                let w = c.latency_us.snapshot();
                eprintln!(
                    "[{:>4.1}s] delivered {d} (+{}/s) so far p50 {:.2} ms p99 {:.2} ms refused {} dropped {}",
                    start.elapsed().as_secs_f64(),
                    d - prev,
                    w.quantile(0.5) as f64 / 1000.0,
                    w.quantile(0.99) as f64 / 1000.0,
                    c.refused.load(Relaxed),
                    c.dropped.load(Relaxed)
                );
            }
            prev = d;
        }
    }
    // Drain: answers to the last offers, and everything in flight, until all that was sent
    // arrived (or was refused) and nothing more was sent for 300 ms; bounded by --drain.
    let sent = || 2 * (c.offers.load(Relaxed) + c.answers.load(Relaxed));
    let drain_end = Instant::now() + cfg.drain;
    let mut last = (sent(), Instant::now());
    while Instant::now() < drain_end {
        let s = sent();
        if s != last.0 {
            last = (s, Instant::now());
        }
        let got = c.delivered.load(Relaxed) + c.refused.load(Relaxed);
        if got >= s && last.1.elapsed() > Duration::from_millis(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let window = start.elapsed().as_secs_f64();
    let after = sample_all(&cfg.server_pids);
    let self_after = sys::sample_self().ok().map(|s| s.cpu_ticks);
    let machine_after = sys::machine_cpu_ticks();
    if tx.send(Phase::Close).is_err() {
        // Every client already ended: nothing to tell.
    }
    if tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tasks.abort_all();
    }

    let server_ticks = match (cpu(&before), cpu(&after)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let self_ticks = match (self_before, self_after) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let other = match (machine_before, machine_after, server_ticks, self_ticks) {
        (Some((b0, _)), Some((b1, _)), Some(s), Some(me)) => {
            Some(pct(b1.saturating_sub(b0).saturating_sub(s + me), window))
        }
        _ => None,
    };
    let signals_sent = sent();
    let refused = c.refused.load(Relaxed);
    let delivered = c.delivered.load(Relaxed);
    let probe = stamp(run_id, 1, payload::now_micros());
    let frame = |d: serde_json::Value| signal_frame("0123456789ab", d).map(|s| s.len());
    let lock =
        |m: &Mutex<BTreeMap<String, u64>>| m.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(Report {
        scenario: "call-signalling",
        urls: cfg.endpoints.iter().map(|e| e.http_url()).collect(),
        run_id,
        rooms: cfg.rooms,
        members_per_room: cfg.members,
        clients,
        in_call: c.in_call.load(Relaxed),
        setup_failed: c.setup_failed.load(Relaxed),
        client_errors: lock(&c.client_errors),
        call_join_ms: LatencyMs::from_us(&c.call_join_us.snapshot()),
        pairs,
        negotiations_per_pair_sec: cfg.negotiations_per_pair_sec,
        duration_secs: cfg.duration.as_secs_f64(),
        offers_sent: c.offers.load(Relaxed),
        answers_sent: c.answers.load(Relaxed),
        candidate_batches_sent: c.candidates.load(Relaxed),
        offer_frame_bytes: frame(
            serde_json::json!({"description": {"type": "offer", "sdp": sdp("offer", &probe)}}),
        )?,
        answer_frame_bytes: frame(
            serde_json::json!({"description": {"type": "answer", "sdp": sdp("answer", &probe)}}),
        )?,
        candidates_frame_bytes: frame(serde_json::json!({"candidates": candidates(&probe)}))?,
        signals_sent,
        refused,
        error_codes: lock(&c.errors),
        delivered,
        lost: signals_sent.saturating_sub(refused + delivered),
        duplicated: c.duplicated.load(Relaxed),
        out_of_order: c.out_of_order.load(Relaxed),
        foreign: c.foreign.load(Relaxed),
        dropped: c.dropped.load(Relaxed),
        signals_per_sec: delivered as f64 / window,
        latency_ms: LatencyMs::from_us(&c.latency_us.snapshot()),
        server_cpu_pct: server_ticks.map(|t| pct(t, window)),
        client_cpu_pct: self_ticks.map(|t| pct(t, window)),
        other_cpu_pct: other,
    })
}

/// The human-readable table (stdout).
pub fn table(r: &Report) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("scenario", r.scenario.to_string()),
        ("urls", r.urls.join(", ")),
        (
            "clients",
            format!(
                "{} = {} rooms × {} members; in the call {}, failed {}, dropped {}",
                r.clients, r.rooms, r.members_per_room, r.in_call, r.setup_failed, r.dropped
            ),
        ),
        (
            "join_call ms",
            format!(
                "p50 {:.2}  p99 {:.2}  max {:.2} (→ call_config)",
                r.call_join_ms.p50, r.call_join_ms.p99, r.call_join_ms.max
            ),
        ),
        (
            "offered",
            format!(
                "{} pairs × {} negotiations/s for {}s; frames: offer {} B, answer {} B, candidates {} B",
                r.pairs,
                r.negotiations_per_pair_sec,
                r.duration_secs,
                r.offer_frame_bytes,
                r.answer_frame_bytes,
                r.candidates_frame_bytes
            ),
        ),
        (
            "sent",
            format!(
                "{} signals: {} offers, {} answers, {} candidate batches",
                r.signals_sent, r.offers_sent, r.answers_sent, r.candidate_batches_sent
            ),
        ),
        (
            "delivered",
            format!("{} ({:.0} signals/s)", r.delivered, r.signals_per_sec),
        ),
        (
            "lost / dup / order",
            format!(
                "{} / {} / {} out of order (refused {}, foreign {})",
                r.lost, r.duplicated, r.out_of_order, r.refused, r.foreign
            ),
        ),
        (
            "relay latency ms",
            format!(
                "p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
                r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99, r.latency_ms.max, r.latency_ms.mean
            ),
        ),
    ];
    if !r.error_codes.is_empty() {
        rows.push(("errors", format!("{:?}", r.error_codes)));
    }
    for (k, v) in &r.client_errors {
        rows.push(("  client error", format!("{v} × {k}")));
    }
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |c| format!("{c:.1} %"));
    rows.push((
        "CPU (one core = 100 %)",
        format!(
            "server {}  generator {}  other {}",
            opt(r.server_cpu_pct),
            opt(r.client_cpu_pct),
            opt(r.other_cpu_pct)
        ),
    ));
    let w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{k:<w$}  {v}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_through_sdp_and_candidates() {
        let st = stamp(42, 7, 1_700_000_000_123_456);
        let offer = serde_json::json!({"description": {"type": "offer", "sdp": sdp("offer", &st)}});
        assert_eq!(find_stamp(&offer), Some((42, 7, 1_700_000_000_123_456)));
        let cands = serde_json::json!({ "candidates": candidates(&st) });
        assert_eq!(find_stamp(&cands), Some((42, 7, 1_700_000_000_123_456)));
        assert_eq!(find_stamp(&serde_json::json!({"candidates": [{}]})), None);
    }

    #[test]
    fn signals_are_valid_and_browser_sized() {
        let st = stamp(1, 1, 1);
        for kind in ["offer", "answer"] {
            let d = serde_json::json!({"description": {"type": kind, "sdp": sdp(kind, &st)}});
            assert_eq!(huddle_protocol::check_signal(&d), Ok(()), "{kind}");
        }
        let c = serde_json::json!({ "candidates": candidates(&st) });
        assert_eq!(huddle_protocol::check_signal(&c), Ok(()));
        // Chrome's audio + video offers are about 5-6.5 KB, answers 3.5-5 KB.
        let offer = sdp("offer", &st).len();
        let answer = sdp("answer", &st).len();
        assert!((5_000..7_000).contains(&offer), "offer {offer} B");
        assert!((3_500..5_000).contains(&answer), "answer {answer} B");
    }
}
