//! Integration-test harness: a real `huddle` process on 127.0.0.1, real
//! WebSocket clients (tokio-tungstenite) and a tiny HTTP/1.1 client.
//!
//! Every wait is bounded: a frame that does not come within [`TIMEOUT`] fails
//! the test instead of hanging it.

#![allow(dead_code)]

pub mod pg;

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::*;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bound on frames skipped while looking for one (no unbounded loops).
const MAX_SKIP: usize = 2_000;

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------

/// A running `huddle` binary; killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    /// stdout after the listening line: the server's log lines.
    stdout: Arc<Mutex<String>>,
    /// The server's own database dir, when the test gave none (removed at drop).
    _data: Option<pg::TempDir>,
}

impl Server {
    /// Start with the default configuration.
    pub async fn start() -> Server {
        Server::start_with(&[]).await
    }

    /// Start with extra command-line flags (e.g. `["--rate-burst", "500"]`).
    pub async fn start_with(args: &[&str]) -> Server {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || Server::spawn(&args))
            .await
            .expect("spawning the server")
    }

    fn spawn(args: &[String]) -> Server {
        Server::spawn_env(args, &[])
    }

    fn spawn_env(args: &[String], envs: &[(String, String)]) -> Server {
        // Each server its own database unless the test names one: a fresh
        // SQLite file (with Redis, as a sqlite: URL, allowed on one host).
        let given = args
            .iter()
            .any(|a| a == "--data-dir" || a == "--database-url");
        let data = (!given).then(|| pg::TempDir::new("data"));
        let mut db_args: Vec<String> = Vec::new();
        if let Some(d) = &data {
            if args.iter().any(|a| a == "--redis-url") {
                db_args.push("--database-url".into());
                db_args.push(format!("sqlite://{}/huddle.db", d.str()));
            } else {
                db_args.push("--data-dir".into());
                db_args.push(d.str());
            }
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_huddle"))
            .arg("--bind")
            .arg("127.0.0.1:0")
            .args(args)
            .args(&db_args)
            .env_remove("HUDDLE_DATA_DIR")
            .env_remove("HUDDLE_DATABASE_URL")
            // Only the listening line on stdout matters; keep logs quiet.
            .env("RUST_LOG", "warn")
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("HUDDLE_REDIS_URL")
            .env_remove("HUDDLE_BIND")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the huddle binary");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let err_buf = Arc::new(Mutex::new(String::new()));
        {
            let err_buf = err_buf.clone();
            std::thread::spawn(move || {
                let mut s = String::new();
                let mut r = BufReader::new(stderr);
                let _ = r.read_to_string(&mut s);
                if let Ok(mut b) = err_buf.lock() {
                    b.push_str(&s);
                }
            });
        }
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let out_buf = Arc::new(Mutex::new(String::new()));
        {
            let out_buf = out_buf.clone();
            std::thread::spawn(move || {
                // Forward the first line, then keep draining (and keeping the
                // log lines) so logging never blocks.
                let mut r = BufReader::new(stdout);
                let mut first = true;
                let mut line = String::new();
                loop {
                    line.clear();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if first && line.contains("Huddle listening on http://") {
                                first = false;
                                let _ = tx.send(line.clone());
                            } else if let Ok(mut b) = out_buf.lock() {
                                b.push_str(&line);
                            }
                        }
                    }
                }
            });
        }
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let e = err_buf.lock().map(|s| s.clone()).unwrap_or_default();
                panic!("huddle did not print its listening line; stderr:\n{e}");
            }
        };
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("cannot parse the address from {line:?}"));
        assert!(addr.ip().is_loopback(), "server must listen on 127.0.0.1");
        Server {
            child,
            addr,
            stderr: err_buf,
            stdout: out_buf,
            _data: data,
        }
    }

    /// The server's process id (to kill it hard, read its memory...).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote to stderr so far (warnings and errors).
    pub fn logs(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The server's log lines so far (tracing writes to stdout; the harness
    /// runs it with `RUST_LOG=warn`), without terminal colour codes.
    pub fn log_output(&self) -> String {
        let raw = self.stdout.lock().map(|s| s.clone()).unwrap_or_default();
        strip_ansi(&raw)
    }

    /// Kill the process at once (SIGKILL: no graceful shutdown).
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new WebSocket client (no Origin header, like a non-browser client).
    pub async fn client(&self) -> Client {
        Client::connect(self).await
    }

    // ----- HTTP -----

    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> HttpResponse {
        tokio::time::timeout(
            TIMEOUT,
            http_request(self.addr, method, path, headers, body),
        )
        .await
        .unwrap_or_else(|_| panic!("HTTP {method} {path} timed out"))
    }

    pub async fn get(&self, path: &str) -> HttpResponse {
        self.http("GET", path, &[], None).await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> HttpResponse {
        self.http(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(body),
        )
        .await
    }

    /// `POST /api/rooms`; panics unless the room is created. Waits until the
    /// room is visible (see [`Server::wait_room_visible`]).
    pub async fn create_room_spec(&self, spec: &CreateRoom) -> RoomCreated {
        self.create_room_with(spec, &[]).await
    }

    /// `POST /api/rooms` with extra headers; panics unless the room is
    /// created, then waits until it is visible.
    pub async fn create_room_with(
        &self,
        spec: &CreateRoom,
        headers: &[(&str, &str)],
    ) -> RoomCreated {
        let r = self.post_room(spec, headers).await;
        assert_eq!(r.status, 201, "create room failed: {}", r.body);
        let created: RoomCreated = r.json();
        self.wait_room_visible(&created.room_id).await;
        created
    }

    /// Wait until `GET /api/rooms/{id}` answers 200 (bounded). Works around a
    /// server race: `POST /api/rooms` answers before the room's actor stored
    /// its metadata, so an immediate join can get `room_not_found`
    /// (see `ws_basics::a_room_is_joinable_as_soon_as_it_is_created`).
    pub async fn wait_room_visible(&self, room_id: &str) {
        for _ in 0..100 {
            if self.get(&format!("/api/rooms/{room_id}")).await.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("room {room_id} never became visible");
    }

    pub async fn create_room(
        &self,
        title: &str,
        kind: RoomKind,
        waiting_room: bool,
    ) -> RoomCreated {
        self.create_room_spec(&CreateRoom {
            title: title.into(),
            kind,
            waiting_room,
            ..Default::default()
        })
        .await
    }

    /// A plain group room.
    pub async fn group(&self, title: &str) -> RoomCreated {
        self.create_room(title, RoomKind::Group, false).await
    }

    /// Scrape `/metrics` into name → value.
    pub async fn metrics(&self) -> std::collections::BTreeMap<String, i64> {
        let r = self.get("/metrics").await;
        assert_eq!(r.status, 200);
        r.body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                Some((it.next()?.to_string(), it.next()?.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Tiny HTTP/1.1 client
// ---------------------------------------------------------------------------

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not the expected JSON ({e}): {}", self.body))
    }
}

async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut s = TcpStream::connect(addr).await.expect("HTTP connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).await.expect("HTTP write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("HTTP read");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response without header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let size_str = String::from_utf8_lossy(&b[..eol]);
        let size_str = size_str.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_str, 16) else {
            break;
        };
        b = &b[eol + 2..];
        if size == 0 || b.len() < size {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

// ---------------------------------------------------------------------------
// WebSocket client
// ---------------------------------------------------------------------------

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a successful join gives back.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub you: You,
    pub room: RoomSnapshot,
    pub server_time: Millis,
    pub history_reset: bool,
}

/// How a frame read ended when it was not a server message.
#[derive(Debug)]
pub enum Ended {
    Timeout,
    Closed(Option<u16>, String),
}

/// A WebSocket client speaking the Huddle protocol. It checks, on every
/// event it reads, that `seq` strictly increases.
pub struct Client {
    ws: Ws,
    pub name: String,
    pub last_seq: u64,
    pub epoch: String,
    pub me: Option<You>,
    /// Every server message read so far, in order.
    pub seen: Vec<ServerMsg>,
}

impl Client {
    pub async fn connect(server: &Server) -> Client {
        Client::connect_url(&server.ws_url(), None)
            .await
            .unwrap_or_else(|e| panic!("WebSocket connect failed: {e}"))
    }

    /// Connect with an explicit `Origin` header (None: no header).
    pub async fn connect_url(
        url: &str,
        origin: Option<&str>,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        match origin {
            Some(o) => Client::connect_headers(url, &[("Origin", o)]).await,
            None => Client::connect_headers(url, &[]).await,
        }
    }

    pub fn member_id(&self) -> String {
        self.me.as_ref().expect("not joined").member_id.clone()
    }

    // ----- sending -----

    pub async fn send(&mut self, msg: &ClientMsg) {
        let text = serde_json::to_string(msg).unwrap();
        self.send_raw(&text).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        tokio::time::timeout(TIMEOUT, self.ws.send(Message::text(text.to_string())))
            .await
            .expect("send timed out")
            .expect("send failed");
    }

    /// Send without failing the test if the server already closed; false then.
    pub async fn try_send_raw(&mut self, text: &str) -> bool {
        matches!(
            tokio::time::timeout(TIMEOUT, self.ws.send(Message::text(text.to_string()))).await,
            Ok(Ok(()))
        )
    }

    pub async fn send_binary(&mut self, data: Vec<u8>) {
        tokio::time::timeout(TIMEOUT, self.ws.send(Message::binary(data)))
            .await
            .expect("send timed out")
            .expect("send failed");
    }

    /// Close the socket abruptly-but-politely (sends a close frame, does not leave).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }

    /// Drop the TCP connection without a close frame.
    pub fn drop_socket(self) {
        drop(self);
    }

    // ----- receiving -----

    fn note(&mut self, m: &ServerMsg) {
        match m {
            ServerMsg::Event { seq, .. } => {
                assert!(
                    *seq > self.last_seq,
                    "[{}] seq went backwards or repeated: got {seq} after {}: {m:?}",
                    self.name,
                    self.last_seq
                );
                self.last_seq = *seq;
            }
            ServerMsg::Welcome { you, room, .. } => {
                self.last_seq = room.seq;
                self.epoch = room.epoch.clone();
                self.me = Some(you.clone());
            }
            ServerMsg::Resumed { you, to_seq, .. } => {
                assert_eq!(
                    self.last_seq.max(*to_seq),
                    *to_seq,
                    "[{}] resumed to_seq behind what was replayed",
                    self.name
                );
                self.me = Some(you.clone());
            }
            _ => {}
        }
        self.seen.push(m.clone());
    }

    /// Wait up to `secs` for a frame matching `pred` (longer than [`TIMEOUT`]:
    /// takeovers, outages and shutdowns take seconds).
    pub async fn wait_for(&mut self, secs: u64, pred: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_within(left).await {
                Ok(m) if pred(&m) => return m,
                Ok(_) => {}
                Err(e) => panic!("[{}] no matching frame within {secs} s: {e:?}", self.name),
            }
        }
    }

    /// The next server message within `wait`, or how the read ended.
    pub async fn next_within(&mut self, wait: Duration) -> Result<ServerMsg, Ended> {
        let deadline = tokio::time::Instant::now() + wait;
        for _ in 0..MAX_SKIP {
            let frame = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Err(Ended::Timeout),
                Ok(f) => f,
            };
            match frame {
                None => return Err(Ended::Closed(None, "stream ended".into())),
                Some(Err(e)) => return Err(Ended::Closed(None, format!("error: {e}"))),
                Some(Ok(Message::Text(t))) => {
                    let m: ServerMsg = serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("undecodable server frame ({e}): {t}"));
                    self.note(&m);
                    return Ok(m);
                }
                Some(Ok(Message::Close(f))) => {
                    return Err(Ended::Closed(
                        f.as_ref().map(|f| u16::from(f.code)),
                        f.map(|f| f.reason.to_string()).unwrap_or_default(),
                    ))
                }
                Some(Ok(Message::Binary(_))) => panic!("server sent a binary frame"),
                Some(Ok(_)) => continue, // ping / pong
            }
        }
        Err(Ended::Timeout)
    }

    /// The next server message; fails the test after [`TIMEOUT`] or on close.
    pub async fn recv(&mut self) -> ServerMsg {
        match self.next_within(TIMEOUT).await {
            Ok(m) => m,
            Err(e) => panic!("[{}] expected a frame, got {e:?}", self.name),
        }
    }

    /// `Some(frame)` if one arrives within `wait`, `None` otherwise.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<ServerMsg> {
        match self.next_within(wait).await {
            Ok(m) => Some(m),
            Err(Ended::Timeout) => None,
            Err(e) => panic!("[{}] connection ended: {e:?}", self.name),
        }
    }

    /// Read until `pred` matches (bounded in frames and time); returns the match.
    pub async fn recv_until(&mut self, mut pred: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        self.recv_until_collect(&mut pred).await.0
    }

    /// Like [`Client::recv_until`], also returning the frames skipped on the way.
    pub async fn recv_until_collect(
        &mut self,
        mut pred: impl FnMut(&ServerMsg) -> bool,
    ) -> (ServerMsg, Vec<ServerMsg>) {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        let mut skipped = Vec::new();
        for _ in 0..MAX_SKIP {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Ok(m) if pred(&m) => return (m, skipped),
                Ok(m) => skipped.push(m),
                Err(e) => panic!(
                    "[{}] wanted frame never came ({e:?}); skipped: {skipped:#?}",
                    self.name
                ),
            }
        }
        panic!("[{}] too many frames without a match", self.name)
    }

    /// Read until an event matches; returns (seq, event).
    pub async fn recv_event(&mut self, mut pred: impl FnMut(&Event) -> bool) -> (u64, Event) {
        match self
            .recv_until(|m| matches!(m, ServerMsg::Event { event, .. } if pred(event)))
            .await
        {
            ServerMsg::Event { seq, event, .. } => (seq, event),
            _ => unreachable!(),
        }
    }

    /// Read until a `member_updated` event for member `id` satisfies `pred`.
    pub async fn recv_member_update(&mut self, id: &str, pred: impl Fn(&Member) -> bool) {
        self.recv_event(
            |e| matches!(e, Event::MemberUpdated { member } if member.id == id && pred(member)),
        )
        .await;
    }

    /// Read until an error frame; assert its code. Events on the way are skipped.
    pub async fn expect_error(&mut self, code: ErrorCode) -> ServerMsg {
        let m = self
            .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
            .await;
        match &m {
            ServerMsg::Error { code: c, .. } => {
                assert_eq!(*c, code, "[{}] wrong error code: {m:?}", self.name)
            }
            _ => unreachable!(),
        }
        m
    }

    /// Read until the server closes the connection; returns the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        for _ in 0..MAX_SKIP {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Ok(_) => continue,
                Err(Ended::Closed(code, _)) => return code,
                Err(Ended::Timeout) => panic!("[{}] the server did not close", self.name),
            }
        }
        panic!("[{}] the server did not close", self.name)
    }

    /// Every frame that arrives during `wait` (bounded).
    pub async fn collect_for(&mut self, wait: Duration) -> Vec<ServerMsg> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        for _ in 0..MAX_SKIP {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match self.try_recv(left).await {
                Some(m) => out.push(m),
                None => break,
            }
        }
        out
    }

    /// Nothing at all arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Some(m) = self.try_recv(wait).await {
            panic!("[{}] expected no frame, got {m:?}", self.name);
        }
    }

    /// Ping and wait for the matching pong; returns frames received before it.
    /// (Pong is answered by the session, so this proves the connection works.)
    pub async fn ping(&mut self) -> Vec<ServerMsg> {
        let t = rand_u64();
        self.send(&ClientMsg::Ping { t }).await;
        let (_, before) = self
            .recv_until_collect(|m| matches!(m, ServerMsg::Pong { t: x, .. } if *x == t))
            .await;
        before
    }

    /// Round trip through the room's actor (joined clients only): returns
    /// every frame delivered before the reply. Everything the room did before
    /// this call has reached us once it returns.
    pub async fn barrier(&mut self) -> Vec<ServerMsg> {
        self.send(&ClientMsg::ListEnergizers).await;
        let (_, before) = self
            .recv_until_collect(|m| matches!(m, ServerMsg::Energizers { .. }))
            .await;
        before
    }

    /// Send a join; returns the first reply frame (welcome, lobby, waiting or error).
    pub async fn join_raw(
        &mut self,
        room: &str,
        name: &str,
        key: Option<&str>,
        resume: Option<Resume>,
    ) -> ServerMsg {
        self.name = name.chars().take(20).collect();
        self.send(&ClientMsg::Join {
            v: PROTOCOL_VERSION,
            room_id: room.into(),
            name: name.into(),
            facilitator_key: key.map(str::to_string),
            resume,
            device_id: None,
        })
        .await;
        self.recv().await
    }

    /// Join and expect a welcome.
    pub async fn join(&mut self, room: &str, name: &str, key: Option<&str>) -> Welcome {
        let m = self.join_raw(room, name, key, None).await;
        welcome_of(m)
    }

    /// Join as a participant and accept the current ground rules (ready to post).
    pub async fn join_ready(&mut self, room: &str, name: &str) -> Welcome {
        let w = self.join(room, name, None).await;
        self.accept_rules(w.room.rules.version).await;
        w
    }

    /// Accept the rules and wait for our own member_updated.
    pub async fn accept_rules(&mut self, version: u32) {
        self.send(&ClientMsg::AcceptRules { version }).await;
        let me = self.member_id();
        self.recv_event(|e| {
            matches!(e, Event::MemberUpdated { member } if member.id == me && member.accepted_rules == version)
        })
        .await;
    }

    /// Send a chat and wait for its echo; returns the message.
    pub async fn chat(&mut self, text: &str) -> ChatMessage {
        self.send(&ClientMsg::Chat { text: text.into() }).await;
        let me = self.member_id();
        let t = text.to_string();
        match self
            .recv_event(
                |e| matches!(e, Event::Chat { message } if message.from == me && message.text == t),
            )
            .await
        {
            (_, Event::Chat { message }) => message,
            _ => unreachable!(),
        }
    }

    /// Resume as `you` after a drop; returns (frames before `resumed`, the resumed frame).
    pub async fn resume(
        &mut self,
        room: &str,
        name: &str,
        you: &You,
        last_seq: u64,
        epoch: &str,
    ) -> (Vec<ServerMsg>, ServerMsg) {
        self.last_seq = last_seq;
        self.epoch = epoch.to_string();
        self.name = name.chars().take(20).collect();
        self.send(&ClientMsg::Join {
            v: PROTOCOL_VERSION,
            room_id: room.into(),
            name: name.into(),
            facilitator_key: None,
            resume: Some(Resume {
                member_id: you.member_id.clone(),
                token: you.resume_token.clone(),
                last_seq,
                epoch: epoch.into(),
            }),
            device_id: None,
        })
        .await;
        let (m, before) = self
            .recv_until_collect(|m| {
                matches!(
                    m,
                    ServerMsg::Resumed { .. } | ServerMsg::Welcome { .. } | ServerMsg::Error { .. }
                )
            })
            .await;
        (before, m)
    }
}

pub fn welcome_of(m: ServerMsg) -> Welcome {
    match m {
        ServerMsg::Welcome {
            you,
            room,
            server_time,
            history_reset,
            ..
        } => Welcome {
            you,
            room: *room,
            server_time,
            history_reset,
        },
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// The events among some frames.
pub fn events(frames: &[ServerMsg]) -> Vec<&Event> {
    frames
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Event { event, .. } => Some(event),
            _ => None,
        })
        .collect()
}

/// The chat texts among some frames.
pub fn chat_texts(frames: &[ServerMsg]) -> Vec<String> {
    events(frames)
        .into_iter()
        .filter_map(|e| match e {
            Event::Chat { message } => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip up to and including the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn rand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    ((std::process::id() as u64) << 32) | N.fetch_add(1, Ordering::Relaxed)
}

/// Set up a group room with a facilitator and `n` ready participants
/// (`P1`, `P2`...). All join traffic is drained from every client.
pub async fn room_with(server: &Server, n: usize) -> (RoomCreated, Client, Vec<Client>) {
    let room = server.group("Night shift debrief").await;
    let mut fac = server.client().await;
    fac.join(&room.room_id, "Fac", Some(&room.facilitator_key))
        .await;
    let mut ps = Vec::new();
    for i in 1..=n {
        let mut p = server.client().await;
        p.join_ready(&room.room_id, &format!("P{i}")).await;
        ps.push(p);
    }
    fac.barrier().await;
    for p in ps.iter_mut() {
        p.barrier().await;
    }
    (room, fac, ps)
}

// ---------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------

/// A `redis-server` of our own, on a free loopback port; killed on drop.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut r = Redis { port, child: None };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Start (again) on the same port, with nothing kept from before.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// Process control (graceful shutdown tests)
// ---------------------------------------------------------------------------

impl Server {
    /// Send SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "could not send SIGTERM to the server");
    }

    /// Wait for the process to exit, at most `wait`; its exit status, or
    /// `None` if it is still running then.
    pub async fn wait_exit(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------
// Reading Redis directly (what Huddle leaves in it)
// ---------------------------------------------------------------------------

/// Every byte of a Redis reply, flattened to text (lossy UTF-8), for scanning.
fn redis_value_text(v: &redis::Value, out: &mut String) {
    use redis::Value;
    match v {
        Value::BulkString(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::SimpleString(s) => out.push_str(s),
        Value::VerbatimString { text, .. } => out.push_str(text),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Array(items) | Value::Set(items) => {
            for i in items {
                redis_value_text(i, out);
                out.push('\n');
            }
        }
        Value::Map(pairs) => {
            for (k, v) in pairs {
                redis_value_text(k, out);
                out.push('\n');
                redis_value_text(v, out);
                out.push('\n');
            }
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

/// A plain (synchronous) connection to a Redis URL.
pub fn redis_con(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// Every key in Redis with its whole value as text (strings, streams with
/// every field, sets, hashes, lists): what an operator with read access sees.
pub fn redis_dump(url: &str) -> Vec<(String, String)> {
    let mut con = redis_con(url);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
    let mut out = Vec::new();
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query(&mut con).expect("TYPE");
        let v: redis::Value = match t.as_str() {
            "string" => redis::cmd("GET").arg(&k).query(&mut con),
            "stream" => redis::cmd("XRANGE")
                .arg(&k)
                .arg("-")
                .arg("+")
                .query(&mut con),
            "set" => redis::cmd("SMEMBERS").arg(&k).query(&mut con),
            "hash" => redis::cmd("HGETALL").arg(&k).query(&mut con),
            "list" => redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query(&mut con),
            "zset" => redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).query(&mut con),
            _ => Ok(redis::Value::Nil),
        }
        .unwrap_or(redis::Value::Nil);
        let mut text = String::new();
        redis_value_text(&v, &mut text);
        out.push((k, text));
    }
    out
}

/// The keys whose value contains `needle` (empty: it is nowhere in Redis).
pub fn redis_keys_containing(url: &str, needle: &str) -> Vec<String> {
    redis_dump(url)
        .into_iter()
        .filter(|(_, v)| v.contains(needle))
        .map(|(k, _)| k)
        .collect()
}

// ---------------------------------------------------------------------------
// Redis over TLS, with the ACL user of deploy/redis-acl.conf
// ---------------------------------------------------------------------------

/// Run a command; panics with its output unless it succeeds.
fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("running a command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` speaking TLS (certificate from a CA made here with the
/// `openssl` CLI) on `tls_port`, with the ACL user of `deploy/redis-acl.conf`
/// (password [`RedisTls::PASSWORD`]) and an `admin` user; plain TCP on
/// `port` (loopback) for the test's own checks. Killed and cleaned on drop.
pub struct RedisTls {
    pub port: u16,
    pub tls_port: u16,
    pub dir: std::path::PathBuf,
    child: Option<Child>,
}

impl RedisTls {
    pub const PASSWORD: &'static str = "huddle-test-password";
    pub const ADMIN_PASSWORD: &'static str = "admin-test-password";

    pub fn start() -> RedisTls {
        let dir = std::env::temp_dir().join(format!("huddle-redis-tls-{}", rand_u64()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = |f: &str| dir.join(f).to_string_lossy().to_string();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run_ok(
            Command::new("openssl")
                .args(["req", "-x509"])
                .args(ec)
                .args(["-keyout", &p("ca.key"), "-out", &p("ca.crt"), "-days", "1"])
                .args(["-subj", "/CN=Huddle test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        );
        run_ok(
            Command::new("openssl")
                .arg("req")
                .args(ec)
                .args(["-keyout", &p("redis.key"), "-out", &p("redis.csr")])
                .args(["-subj", "/CN=localhost"]),
        );
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("ext.cnf");
        run_ok(
            Command::new("openssl")
                .args(["x509", "-req", "-in", &p("redis.csr")])
                .args([
                    "-CA",
                    &p("ca.crt"),
                    "-CAkey",
                    &p("ca.key"),
                    "-CAcreateserial",
                ])
                .args([
                    "-out",
                    &p("redis.crt"),
                    "-days",
                    "1",
                    "-extfile",
                    &p("ext.cnf"),
                ]),
        );
        // The deploy file as shipped, with a password of ours.
        let acl = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/redis-acl.conf"),
        )
        .expect("deploy/redis-acl.conf");
        let acl = acl.replace(
            ">CHANGE-ME-to-a-long-random-password",
            &format!(">{}", Self::PASSWORD),
        );
        std::fs::write(dir.join("redis-acl.conf"), acl).expect("acl");
        let (port, tls_port) = (free_port(), free_port());
        let conf = format!(
            "bind 127.0.0.1\nport {port}\ntls-port {tls_port}\n\
             tls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\ntls-auth-clients no\n\
             save \"\"\nappendonly no\n\
             include {}\n\
             user default off\n\
             user admin on >{} ~* &* +@all\n",
            p("redis.crt"),
            p("redis.key"),
            p("ca.crt"),
            p("redis-acl.conf"),
            Self::ADMIN_PASSWORD
        );
        std::fs::write(dir.join("redis.conf"), conf).expect("redis.conf");
        let child = Command::new("redis-server")
            .arg(p("redis.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let mut r = RedisTls {
            port,
            tls_port,
            dir,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", r.tls_port)).is_err() {
            if let Some(Ok(Some(s))) = r.child.as_mut().map(|c| c.try_wait()) {
                panic!("redis-server exited ({s}): built without TLS, or a bad config");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server (TLS) did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    /// What Huddle is given: TLS, as the ACL user.
    pub fn url(&self) -> String {
        format!(
            "rediss://huddle:{}@127.0.0.1:{}",
            Self::PASSWORD,
            self.tls_port
        )
    }

    /// The CA file (PEM) for `--redis-ca-file`.
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.crt").to_string_lossy().to_string()
    }

    /// The test's own view: plain TCP on loopback, as the admin user.
    pub fn admin_url(&self) -> String {
        format!(
            "redis://admin:{}@127.0.0.1:{}",
            Self::ADMIN_PASSWORD,
            self.port
        )
    }
}

impl Drop for RedisTls {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Transport and HTTP security (security_transport.rs)
// ---------------------------------------------------------------------------

impl Server {
    /// Start with extra flags and environment variables (e.g. `RUST_LOG`).
    pub async fn start_with_env(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::task::spawn_blocking(move || Server::spawn_env(&args, &envs))
            .await
            .expect("spawning the server")
    }

    /// `POST /api/rooms` with extra headers; the raw response.
    pub async fn post_room(&self, spec: &CreateRoom, headers: &[(&str, &str)]) -> HttpResponse {
        let body = serde_json::to_string(spec).unwrap();
        let mut h = vec![("Content-Type", "application/json")];
        h.extend_from_slice(headers);
        self.http("POST", "/api/rooms", &h, Some(&body)).await
    }

    /// Create a drop-in (listed in the directory) with the organizer key the
    /// server was started with (`--organizer-key`); panics unless created.
    pub async fn create_drop_in(&self, title: &str, organizer_key: &str) -> RoomCreated {
        let spec = CreateRoom {
            title: title.into(),
            kind: RoomKind::DropIn,
            ..Default::default()
        };
        self.create_room_with(&spec, &[("X-Huddle-Organizer-Key", organizer_key)])
            .await
    }
}

impl Client {
    /// Connect with extra request headers (Origin, X-Forwarded-For...).
    pub async fn connect_headers(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let mut req = url.into_client_request()?;
        for (k, v) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())
                .expect("header name");
            req.headers_mut()
                .append(name, HeaderValue::from_str(v).expect("header value"));
        }
        let (ws, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(req))
            .await
            .map_err(|_| {
                tokio_tungstenite::tungstenite::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ))
            })??;
        Ok(Client {
            ws,
            name: String::new(),
            last_seq: 0,
            epoch: String::new(),
            me: None,
            seen: Vec::new(),
        })
    }
}

/// The HTTP status of a refused WebSocket upgrade (`None`: it was accepted).
pub fn upgrade_status(r: &Result<Client, tokio_tungstenite::tungstenite::Error>) -> Option<u16> {
    match r {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Some(resp.status().as_u16()),
        Err(e) => panic!("upgrade failed oddly: {e}"),
    }
}
