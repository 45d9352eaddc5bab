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

    let writer = {
        let kill = kill.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut ping = tokio::time::interval(PING_EVERY);
            ping.tick().await;
            'outer: loop {
                tokio::select! {
                    biased;
                    _ = kill.cancelled() => {
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
    let send = |o: Outgoing| {
        if matches!(o, Outgoing::Text(_)) {
            Metrics::inc(&hub.metrics.errors_sent);
        }
        let _ = tx.try_send(o);
    };

    loop {
        let frame = tokio::select! {
            _ = done.cancelled() => break,
            _ = kill.cancelled() => break,
            f = tokio::time::timeout(PING_EVERY * 3, stream.next()) => f,
        };
        let text = match frame {
            Err(_) | Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(Message::Binary(_)))) => {
                send(error_frame(
                    ErrorCode::BinaryNotSupported,
                    "binary frames are not part of the protocol; send JSON text",
                    None,
                ));
                continue;
            }
            Ok(Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(_))) => continue, // ping/pong
        };
        Metrics::inc(&hub.metrics.messages_in);
        if limiter.check().is_err() {
            Metrics::inc(&hub.metrics.rate_limited);
            refused_in_row += 1;
            if refused_in_row >= hub.cfg.abuse_close_after {
                let _ = tx.try_send(Outgoing::Close(1008, "too many messages".into()));
                break;
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
                if room.is_some() {
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
                hub.attach(&room_id, &conn, tx.clone(), kill.clone()).await;
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
    }

    if let Some(room_id) = room {
        let _ = hub
            .broker
            .submit(&hub, &room_id, RoomCmd::Disconnect { conn: conn.clone() })
            .await;
        hub.detach(&room_id, &conn).await;
    }
    hub.unregister_conn(&conn);
    drop(tx);
    // Let the writer flush a final close frame, but never wait long.
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    hub.metrics.connections.fetch_sub(1, Relaxed);
}
