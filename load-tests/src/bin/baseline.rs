//! `baseline`: a bare tokio-tungstenite broadcast server, the practical ceiling
//! Huddle is compared with. No application logic: a client joins a room (any
//! name), and each chat is stamped with the room's next seq and broadcast to
//! everyone in the room, sender included. It speaks the subset of Huddle's JSON
//! protocol that huddle-load uses (`join` → `welcome`, `chat` → `event`), so the
//! same client code drives both. Other client frames are ignored.
//!
//! Usage: `baseline [--bind 127.0.0.1:PORT]` (default 127.0.0.1:0: any free port).
//! Prints `baseline listening on ws://ADDR/ws (pid N)` once listening.

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ChatMessage, ClientMsg, Event, GroundRules, Role, RoomInfo, RoomKind, RoomSnapshot, RoomStatus,
    ServerMsg, You, PROTOCOL_VERSION,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a slow member may fall behind before it loses some (it is then told by a seq gap).
const ROOM_BACKLOG: usize = 1024;
const MAX_TEXT: usize = 4096;

struct Room {
    /// Held while stamping and publishing, so seq order = delivery order.
    inner: Mutex<RoomInner>,
}

struct RoomInner {
    seq: u64,
    tx: broadcast::Sender<Utf8Bytes>,
}

#[derive(Default)]
struct Server {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_member: AtomicU64,
    lagged: AtomicU64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn welcome(room_id: &str, member_id: &str, seq: u64) -> ServerMsg {
    ServerMsg::Welcome {
        v: PROTOCOL_VERSION,
        you: You {
            member_id: member_id.to_string(),
            role: Role::Participant,
            resume_token: String::new(),
        },
        room: Box::new(RoomSnapshot {
            info: RoomInfo {
                id: room_id.to_string(),
                title: room_id.to_string(),
                kind: RoomKind::Group,
                status: RoomStatus::Open,
                starts_at: None,
                ends_at: None,
                capacity: None,
                locked: false,
                waiting_room: false,
                slow_mode_secs: 0,
                members_can_park: false,
                pinned: None,
                welcome_message: None,
                share_history: false,
                wrap_up_until: None,
                unattended: false,
                call: Default::default(),
            },
            rules: GroundRules {
                version: 1,
                rules: vec![],
            },
            roster: vec![],
            messages: vec![],
            timers: vec![],
            energizer: None,
            highlights: vec![],
            energy_check: None,
            hands: vec![],
            parking_lot: vec![],
            waiting: vec![],
            support_requests: vec![],
            crisis_resources: vec![],
            personally_muted: vec![],
            seq,
            epoch: "baseline".into(),
            lead_id: None,
            next_before_seq: None,
            alerts: vec![],
            call: vec![],
            floor: None,
            roster_page: None,
        }),
        server_time: now_ms(),
        history_reset: false,
    }
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

async fn connection(server: Arc<Server>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(ws_config())).await
    else {
        return;
    };
    // First frame: join (bounded wait).
    let first = tokio::time::timeout(Duration::from_secs(30), ws.next()).await;
    let Ok(Some(Ok(Message::Text(t)))) = first else {
        return;
    };
    let Ok(ClientMsg::Join { room_id, name, .. }) = huddle_protocol::decode_client(t.as_str())
    else {
        return;
    };
    let member_id = format!("m{}", server.next_member.fetch_add(1, Relaxed));
    let room = {
        let mut rooms = server.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms
            .entry(room_id.clone())
            .or_insert_with(|| {
                Arc::new(Room {
                    inner: Mutex::new(RoomInner {
                        seq: 0,
                        tx: broadcast::channel(ROOM_BACKLOG).0,
                    }),
                })
            })
            .clone()
    };
    let (mut rx, seq) = {
        let g = room.inner.lock().unwrap_or_else(|e| e.into_inner());
        (g.tx.subscribe(), g.seq)
    };
    let hello = serde_json::to_string(&welcome(&room_id, &member_id, seq)).expect("serializable");
    if ws.send(Message::text(hello)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            m = ws.next() => {
                let Some(Ok(m)) = m else { break };
                let Message::Text(t) = m else {
                    if matches!(m, Message::Close(_)) { break }
                    continue;
                };
                match huddle_protocol::decode_client(t.as_str()) {
                    Ok(ClientMsg::Chat { text }) if text.len() <= MAX_TEXT => {
                        let g = &mut *room.inner.lock().unwrap_or_else(|e| e.into_inner());
                        g.seq += 1;
                        let ts = now_ms();
                        let ev = ServerMsg::Event {
                            seq: g.seq,
                            ts,
                            event: Event::Chat {
                                message: ChatMessage {
                                    id: g.seq.to_string(),
                                    seq: g.seq,
                                    from: member_id.clone(),
                                    name: name.clone(),
                                    text,
                                    ts,
                                    reactions: BTreeMap::new(),
                                },
                            },
                        };
                        let json = serde_json::to_string(&ev).expect("serializable");
                        let _ = g.tx.send(Utf8Bytes::from(json));
                    }
                    Ok(ClientMsg::Ping { t }) => {
                        let pong = ServerMsg::Pong { t, server_time: now_ms() };
                        let json = serde_json::to_string(&pong).expect("serializable");
                        if ws.send(Message::text(json)).await.is_err() { break }
                    }
                    Ok(ClientMsg::Leave) => break,
                    _ => {}
                }
            }
            r = rx.recv() => {
                match r {
                    Ok(frame) => {
                        // Batch whatever else is already queued into one flush.
                        if ws.feed(Message::Text(frame)).await.is_err() { break }
                        let mut n = 0;
                        while n < 64 {
                            match rx.try_recv() {
                                Ok(f) => {
                                    if ws.feed(Message::Text(f)).await.is_err() { return }
                                    n += 1;
                                }
                                Err(broadcast::error::TryRecvError::Lagged(k)) => {
                                    server.lagged.fetch_add(k, Relaxed);
                                }
                                Err(_) => break,
                            }
                        }
                        if ws.flush().await.is_err() { break }
                    }
                    Err(broadcast::error::RecvError::Lagged(k)) => {
                        server.lagged.fetch_add(k, Relaxed);
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
    }
    let _ = ws.close(None).await;
    // Forget empty rooms.
    drop(rx);
    let mut rooms = server.rooms.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = rooms.get(&room_id) {
        let empty = r
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tx
            .receiver_count()
            == 0;
        if empty {
            rooms.remove(&room_id);
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut bind = "127.0.0.1:0".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bind" => bind = args.next().unwrap_or(bind),
            "-h" | "--help" => {
                println!("usage: baseline [--bind 127.0.0.1:PORT]");
                return Ok(());
            }
            other => {
                eprintln!("baseline: unknown argument {other:?} (usage: baseline [--bind ADDR])");
                std::process::exit(2);
            }
        }
    }
    let _ = huddle_load::sys::raise_nofile_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // A deep accept queue (std/tokio default to 128): join storms overflow it otherwise.
        let addr: std::net::SocketAddr = bind.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("--bind {bind}: {e}"),
            )
        })?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener: TcpListener = socket.listen(4096)?;
        println!(
            "baseline listening on ws://{}/ws (pid {})",
            listener.local_addr()?,
            std::process::id()
        );
        let server = Arc::new(Server::default());
        loop {
            match listener.accept().await {
                Ok((tcp, _)) => {
                    tokio::spawn(connection(server.clone(), tcp));
                }
                Err(e) => {
                    // e.g. EMFILE: back off instead of spinning.
                    eprintln!("baseline: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}
