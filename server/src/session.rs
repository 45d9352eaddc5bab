//! One WebSocket connection: a reader that checks and routes client frames,
//! and a writer that drains a bounded queue. Nothing a client sends can panic
//! the server; message bodies are never logged.

use crate::hub::{Hub, Outgoing, RoomCmd};
use crate::metrics::Metrics;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use huddle_protocol::{decode_client, ClientMsg, ErrorCode, ServerMsg};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the server pings; a connection silent for 3× this is dropped.
const PING_EVERY: Duration = Duration::from_secs(20);

/// After the server closes a connection, how long it keeps reading (and
/// discarding) what the client still sends, until the client's close reply:
/// closing a socket with unread data resets it, and the client would lose the
/// close frame (and the errors before it).
const LINGER: Duration = Duration::from_secs(2);

/// Why the reader stopped.
enum End {
    /// The client closed, vanished or went silent.
    Gone,
    /// Slow consumer: the hub cancelled us; the writer may be stuck.
    Killed,
    /// The writer ended (it sent a close frame the room or shutdown asked for).
    WriterDone,
    /// We close with this code and reason; `linger` when the stream is still readable.
    Close(u16, &'static str, bool),
}

/// Classify a transport read error (tungstenite's, wrapped by axum).
fn read_error_close(e: &axum::Error) -> End {
    let s = e.to_string();
    if s.contains("Space limit exceeded") || s.contains("Message too long") {
        End::Close(1009, "message too big", false)
    } else if s.contains("UTF-8") || s.contains("utf-8") {
        End::Close(1007, "text frames must be valid UTF-8", false)
    } else if s.contains("protocol error") && !s.contains("without closing handshake") {
        End::Close(1002, "protocol error", false)
    } else {
        End::Gone
    }
}

fn error_frame(code: ErrorCode, message: &str, refused: Option<&str>) -> Outgoing {
    let msg = ServerMsg::Error {
        code,
        message: message.to_string(),
        refused: refused.map(str::to_string),
    };
    Outgoing::Text(Utf8Bytes::from(
        serde_json::to_string(&msg).unwrap_or_default(),
    ))
}

/// A hashed client address for keep-out after removal; none for loopback
/// (local development and tests share one address).
pub fn addr_hash(ip: IpAddr) -> Option<String> {
    if ip.is_loopback() {
        None
    } else {
        Some(crate::room::hash_secret(&format!("addr:{ip}")))
    }
}

/// Valid room ids are short and plain; anything else cannot name a room.
fn plausible_room_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn run(hub: Arc<Hub>, socket: WebSocket, ip: IpAddr) {
    let conn = uuid::Uuid::new_v4().simple().to_string();
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Outgoing>(hub.cfg.queue.max(8));
    // `kill`: the hub found our queue full (slow consumer). `done`: the writer ended.
    let kill = CancellationToken::new();
    let done = CancellationToken::new();
    hub.register_conn(&conn, tx.clone(), kill.clone());
    hub.metrics.connections.fetch_add(1, Relaxed);
    Metrics::inc(&hub.metrics.connections_total);

    let mut writer = {
        let kill = kill.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut ping = tokio::time::interval(PING_EVERY);
            ping.tick().await;
            // Pinned once: the writer wakes for every frame, and re-registering
            // with the token each time would cost a lock per delivery.
            let killed = kill.cancelled();
            tokio::pin!(killed);
            'outer: loop {
                tokio::select! {
                    biased;
                    _ = &mut killed => {
                        let _ = sink.send(Message::Close(Some(CloseFrame {
                            code: 4008,
                            reason: Utf8Bytes::from_static("slow consumer: reconnect and resume to catch up"),
                        }))).await;
                        break;
                    }
                    m = rx.recv() => {
                        let mut next = m;
                        // Feed everything already queued, then flush once.
                        loop {
                            match next {
                                Some(Outgoing::Text(t)) => {
                                    if sink.feed(Message::Text(t)).await.is_err() { break 'outer; }
                                }
                                Some(Outgoing::Close(code, reason)) => {
                                    let _ = sink.send(Message::Close(Some(CloseFrame {
                                        code,
                                        reason: Utf8Bytes::from(reason),
                                    }))).await;
                                    break 'outer;
                                }
                                None => break 'outer,
                            }
                            match rx.try_recv() {
                                Ok(m) => next = Some(m),
                                Err(_) => break,
                            }
                        }
                        if sink.flush().await.is_err() { break; }
                    }
                    _ = ping.tick() => {
                        if sink.send(Message::Ping(bytes::Bytes::new())).await.is_err() { break; }
                    }
                }
            }
            done.cancel();
        })
    };

    let rate = NonZeroU32::new(hub.cfg.rate_per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(hub.cfg.rate_burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    let mut refused_in_row = 0u32;
    let mut room: Option<String> = None;
    // Set by the hub when the room admits this connection: until then a
    // refused join (bad name, wrong key...) may be corrected and sent again.
    let bound = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let send = |o: Outgoing| {
        if matches!(o, Outgoing::Text(_)) {
            Metrics::inc(&hub.metrics.errors_sent);
        }
        let _ = tx.try_send(o);
    };

    let end = loop {
        let frame = tokio::select! {
            _ = done.cancelled() => break End::WriterDone,
            _ = kill.cancelled() => break End::Killed,
            f = tokio::time::timeout(PING_EVERY * 3, stream.next()) => f,
        };
        let text = match frame {
            Err(_) | Ok(None) => break End::Gone,
            Ok(Some(Err(e))) => break read_error_close(&e),
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(Message::Binary(_)))) => {
                send(error_frame(
                    ErrorCode::BinaryNotSupported,
                    "binary frames are not part of the protocol; send JSON text",
                    None,
                ));
                continue;
            }
            Ok(Some(Ok(Message::Close(_)))) => break End::Gone,
            Ok(Some(Ok(_))) => continue, // ping/pong
        };
        Metrics::inc(&hub.metrics.messages_in);
        if limiter.check().is_err() {
            Metrics::inc(&hub.metrics.rate_limited);
            refused_in_row += 1;
            if refused_in_row >= hub.cfg.abuse_close_after {
                break End::Close(1008, "too many messages", true);
            }
            send(error_frame(
                ErrorCode::RateLimited,
                "you are sending too fast; slow down",
                None,
            ));
            continue;
        }
        refused_in_row = 0;
        if text.len() > hub.cfg.max_frame_bytes {
            send(error_frame(
                ErrorCode::TooLarge,
                &format!("frames are limited to {} bytes", hub.cfg.max_frame_bytes),
                None,
            ));
            continue;
        }
        let msg = match decode_client(text.as_str()) {
            Ok(m) => m,
            Err((code, message)) => {
                send(error_frame(code, &message, None));
                continue;
            }
        };
        match msg {
            ClientMsg::Ping { t } => {
                let pong = ServerMsg::Pong {
                    t,
                    server_time: crate::hub::now_ms(),
                };
                let _ = tx.try_send(Outgoing::Text(Utf8Bytes::from(
                    serde_json::to_string(&pong).unwrap_or_default(),
                )));
            }
            ClientMsg::Join {
                v,
                room_id,
                name,
                facilitator_key,
                resume,
            } => {
                if room.is_some() && bound.load(Relaxed) {
                    send(error_frame(
                        ErrorCode::AlreadyJoined,
                        "this connection already joined a room",
                        Some("join"),
                    ));
                    continue;
                }
                if !plausible_room_id(&room_id) || hub.broker.meta(&room_id).await.is_none() {
                    send(error_frame(
                        ErrorCode::RoomNotFound,
                        "no such room",
                        Some("join"),
                    ));
                    continue;
                }
                match room.take() {
                    // Still waiting (lobby, waiting room) or refused: the room decides.
                    Some(r) if r == room_id => {}
                    Some(r) => {
                        let gone = RoomCmd::Disconnect { conn: conn.clone() };
                        let _ = hub.broker.submit(&hub, &r, gone).await;
                        hub.detach(&r, &conn).await;
                        hub.attach(&room_id, &conn, tx.clone(), kill.clone(), bound.clone())
                            .await;
                    }
                    None => {
                        hub.attach(&room_id, &conn, tx.clone(), kill.clone(), bound.clone())
                            .await;
                    }
                }
                let cmd = RoomCmd::Join {
                    conn: conn.clone(),
                    instance: hub.instance.clone(),
                    addr_hash: addr_hash(ip),
                    v,
                    name,
                    facilitator_key,
                    resume,
                };
                match hub.broker.submit(&hub, &room_id, cmd).await {
                    Ok(()) => room = Some(room_id),
                    Err((code, message)) => {
                        hub.detach(&room_id, &conn).await;
                        send(error_frame(code, &message, Some("join")));
                    }
                }
            }
            other => {
                let Some(room_id) = room.as_ref() else {
                    send(error_frame(
                        ErrorCode::NotJoined,
                        "join a room first",
                        Some(other.type_name()),
                    ));
                    continue;
                };
                let leave = matches!(other, ClientMsg::Leave);
                let t = other.type_name();
                let cmd = RoomCmd::Client {
                    conn: conn.clone(),
                    msg: other,
                };
                if let Err((code, message)) = hub.broker.submit(&hub, room_id, cmd).await {
                    send(error_frame(code, &message, Some(t)));
                }
                if leave {
                    hub.detach(room_id, &conn).await;
                    room = None;
                }
            }
        }
    };

    if let Some(room_id) = room {
        let _ = hub
            .broker
            .submit(&hub, &room_id, RoomCmd::Disconnect { conn: conn.clone() })
            .await;
        hub.detach(&room_id, &conn).await;
    }
    hub.unregister_conn(&conn);
    let linger = match end {
        End::Close(code, reason, linger) => {
            // Behind what is already queued (the errors that led here), never long.
            let close = Outgoing::Close(code, reason.to_string());
            let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(close)).await;
            linger
        }
        End::WriterDone => true,
        End::Gone | End::Killed => false,
    };
    drop(tx);
    // Let the writer flush a final close frame, but never wait long: a writer
    // stuck on a client that does not read is dropped with its socket.
    if tokio::time::timeout(Duration::from_secs(2), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    } else if linger {
        // Read (and drop) what the client still sends until its close reply,
        // so the socket closes cleanly and the client gets our close frame.
        let deadline = tokio::time::Instant::now() + LINGER;
        for _ in 0..100_000 {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => break,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
    hub.metrics.connections.fetch_sub(1, Relaxed);
}
