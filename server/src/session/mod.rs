//! One WebSocket connection: a reader (here) that checks and routes client
//! frames, and a writer ([`writer`]) that drains a queue bounded in frames and
//! bytes ([`OutQueue`]). Nothing a client sends can panic the server; message
//! bodies are never logged.
//!
//! A connection joins a room once: after it was admitted, or after it sent
//! `leave`, another `join` is refused (`already_joined`); the client opens a
//! new connection. (Each join costs a welcome, the room's whole snapshot.) A
//! refused join may still be corrected and sent again.
//!
//! This layer alone knows the WebSocket library's types: the rooms layer
//! hands it [`Outgoing`] items, and the writer turns them into frames.

pub mod writer;

use crate::broker::{FrameText, RoomCmd};
use crate::error::{SessionError, TransportError};
use crate::metrics::Metrics;
use crate::room::hash_secret;
use crate::room::ConnId;
use crate::rooms::{OutQueue, Outgoing, Rooms};
use crate::store::Account;
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use governor::{Quota, RateLimiter};
use huddle_protocol::{decode_client, valid_device_id, ClientMsg, ServerMsg, ONCALL_DESK_ID};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use writer::PING_EVERY;

/// After the server closes a connection, how long it keeps reading (and
/// discarding) what the client still sends, until the client's close reply:
/// closing a socket with unread data resets it, and the client would lose the
/// close frame (and the errors before it).
const LINGER: Duration = Duration::from_secs(2);

/// Why the reader stopped.
enum End {
    /// The client closed, vanished or went silent.
    Gone,
    /// Slow consumer: the rooms layer cancelled us; the writer may be stuck.
    Killed,
    /// The writer ended (it sent a close frame the room or shutdown asked for).
    WriterDone,
    /// We close with this code and reason; `linger` when the stream is still readable.
    Close(u16, String, bool),
}

/// Classify a transport read error by the variant of tungstenite's error
/// that axum wraps (never by its text).
fn classify(e: axum::Error) -> TransportError {
    use tungstenite::error::{Error as WsError, ProtocolError};
    match e.into_inner().downcast::<WsError>() {
        Ok(e) => match *e {
            WsError::Capacity(_) => TransportError::TooBig,
            WsError::Utf8(_) => TransportError::InvalidUtf8,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => TransportError::Gone,
            WsError::Protocol(_) => TransportError::Protocol,
            _ => TransportError::Gone,
        },
        Err(_) => TransportError::Gone,
    }
}

fn read_error_end(e: axum::Error) -> End {
    let t = classify(e);
    match t.close_code() {
        Some(code) => End::Close(code, t.to_string(), false),
        None => End::Gone,
    }
}

fn error_frame(e: &SessionError, refused: Option<&str>) -> Outgoing {
    let msg = ServerMsg::Error {
        code: e.code(),
        message: e.to_string(),
        refused: refused.map(str::to_string),
    };
    Outgoing::Text(FrameText::from(
        serde_json::to_string(&msg).unwrap_or_default(),
    ))
}

/// Valid room ids are short and plain; anything else cannot name a room.
fn plausible_room_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `account`: the signed-in account that opened the connection, if any (it
/// may take the on-call desk without the key; see [`crate::oncall`]).
pub async fn run(rooms: Arc<Rooms>, socket: WebSocket, ip: IpAddr, account: Option<Account>) {
    let conn = uuid::Uuid::new_v4().simple().to_string();
    let (sink, mut stream) = socket.split();
    // `kill`: our queue went past its bounds (slow consumer). `done`: the writer ended.
    let kill = CancellationToken::new();
    let done = CancellationToken::new();
    let out = OutQueue::new(rooms.queue_limits(), kill.clone(), rooms.metrics.clone());
    rooms.register_conn(&conn, out.clone());
    rooms.metrics.connections.fetch_add(1, Relaxed);
    Metrics::inc(&rooms.metrics.connections_total);

    let mut writer = writer::spawn(
        sink,
        out.clone(),
        kill.clone(),
        done.clone(),
        rooms.max_out_frame(),
        rooms.metrics.clone(),
    );

    let rate = NonZeroU32::new(rooms.cfg.rate_per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rooms.cfg.rate_burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    let mut refused_in_row = 0u32;
    let mut room: Option<String> = None;
    // Set by the rooms layer when the room admits this connection: until then a
    // refused join (bad name, wrong key...) may be corrected and sent again.
    let bound = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Set once the client sent `leave` in a room: this connection is done
    // joining (even if the room let it go before admitting it).
    let mut left = false;
    // Our own queue: full means this client does not read (the queue drops
    // it as a slow consumer), closed means the writer ended; either way there
    // is no one to tell.
    let queue = |o: Outgoing| {
        if out.push(o).is_err() {
            tracing::debug!("frame not queued to our own connection (dropped or closed)");
        }
    };
    let send = |e: SessionError, refused: Option<&str>| {
        Metrics::inc(&rooms.metrics.errors_sent);
        queue(error_frame(&e, refused));
    };

    let end = loop {
        let frame = tokio::select! {
            _ = done.cancelled() => break End::WriterDone,
            _ = kill.cancelled() => break End::Killed,
            f = tokio::time::timeout(PING_EVERY * 3, stream.next()) => f,
        };
        let text = match frame {
            Err(_) | Ok(None) => break End::Gone,
            Ok(Some(Err(e))) => break read_error_end(e),
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(Message::Binary(_)))) => {
                send(SessionError::BinaryFrame, None);
                continue;
            }
            Ok(Some(Ok(Message::Close(_)))) => break End::Gone,
            Ok(Some(Ok(_))) => continue, // ping/pong
        };
        Metrics::inc(&rooms.metrics.messages_in);
        if limiter.check().is_err() {
            Metrics::inc(&rooms.metrics.rate_limited);
            refused_in_row += 1;
            if refused_in_row >= rooms.cfg.abuse_close_after {
                break End::Close(1008, "too many messages".into(), true);
            }
            send(SessionError::RateLimited, None);
            continue;
        }
        refused_in_row = 0;
        if text.len() > rooms.cfg.max_frame_bytes {
            let max = rooms.cfg.max_frame_bytes;
            send(SessionError::TooLarge { max }, None);
            continue;
        }
        let msg = match decode_client(text.as_str()) {
            Ok(m) => m,
            Err((code, message)) => {
                send(SessionError::Undecodable { code, message }, None);
                continue;
            }
        };
        match msg {
            ClientMsg::Ping { t } => {
                let pong = ServerMsg::Pong {
                    t,
                    server_time: crate::now_ms(),
                };
                queue(Outgoing::Text(FrameText::from(
                    serde_json::to_string(&pong).unwrap_or_default(),
                )));
            }
            ClientMsg::Join {
                v,
                room_id,
                name,
                facilitator_key,
                resume,
                device_id,
            } => {
                if bound.load(Relaxed) || left {
                    // Admitted once already, or left: one join per connection.
                    let e = if room.is_some() {
                        SessionError::AlreadyJoined
                    } else {
                        SessionError::JoinedBefore
                    };
                    send(e, Some("join"));
                    continue;
                }
                if device_id.as_deref().is_some_and(|d| !valid_device_id(d)) {
                    send(SessionError::BadDeviceId, Some("join"));
                    continue;
                }
                // The on-call desk: only with the on-call credential (a resume
                // carries its own proof: the member's token).
                let desk = room_id == ONCALL_DESK_ID;
                let oncall = desk
                    && crate::oncall::may_take_desk(
                        &rooms.cfg,
                        facilitator_key.as_deref(),
                        account.as_ref(),
                    );
                if desk && !oncall && resume.is_none() {
                    send(SessionError::OnCallKey, Some("join"));
                    continue;
                }
                if desk {
                    if let Err(e) = rooms.ensure_desk().await {
                        send(e.into(), Some("join"));
                        continue;
                    }
                }
                if !plausible_room_id(&room_id) {
                    send(SessionError::RoomNotFound, Some("join"));
                    continue;
                }
                match rooms.broker.meta(&room_id).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        send(SessionError::RoomNotFound, Some("join"));
                        continue;
                    }
                    // Cannot tell now (storage away or refilling): retry, never "no such room".
                    Err(e) => {
                        send(e.into(), Some("join"));
                        continue;
                    }
                }
                // Only its hash crosses instances and is kept (removal keep-out).
                let device_hash = device_id.as_deref().map(hash_secret);
                let account_id = account.as_ref().map(|a| a.id.clone());
                // Bars outlive the room's memory: a removed device or account
                // stays out until an admin lifts the bar (key holders are let
                // through, as by the room itself).
                if !desk
                    && facilitator_key.is_none()
                    && rooms
                        .barred(&room_id, device_hash.as_deref(), account_id.as_deref())
                        .await
                {
                    send(SessionError::Barred, Some("join"));
                    // The facilitators hear of it, as when the room refuses.
                    let told = RoomCmd::BarredTried {
                        device_hash: device_hash.clone(),
                        account_id: account_id.clone(),
                    };
                    let (rooms, rid) = (rooms.clone(), room_id.clone());
                    tokio::spawn(async move {
                        if let Err(e) = rooms.submit(&rid, told).await {
                            tracing::debug!(room = %rid, "could not tell the room of a barred join: {e}");
                        }
                    });
                    continue;
                }
                match room.take() {
                    // Still waiting (lobby, waiting room) or refused: the room decides.
                    Some(r) if r == room_id => {}
                    Some(r) => {
                        leave(&rooms, &r, &conn).await;
                        rooms
                            .attach(&room_id, &conn, out.clone(), bound.clone())
                            .await;
                    }
                    None => {
                        rooms
                            .attach(&room_id, &conn, out.clone(), bound.clone())
                            .await;
                    }
                }
                let cmd = RoomCmd::Join {
                    conn: conn.clone(),
                    instance: rooms.instance.clone(),
                    addr_hash: rooms.addr_hash(ip),
                    v,
                    name,
                    facilitator_key: if desk { None } else { facilitator_key },
                    resume,
                    device_hash,
                    oncall,
                    account_id,
                };
                match rooms.submit(&room_id, cmd).await {
                    Ok(()) => room = Some(room_id),
                    Err(e) => {
                        rooms.detach(&room_id, &conn).await;
                        send(e.into(), Some("join"));
                    }
                }
            }
            other => {
                let Some(room_id) = room.as_ref() else {
                    send(SessionError::NotJoined, Some(other.type_name()));
                    continue;
                };
                let leaving = matches!(other, ClientMsg::Leave);
                let t = other.type_name();
                let cmd = RoomCmd::Client {
                    conn: conn.clone(),
                    msg: other,
                };
                if let Err(e) = rooms.submit(room_id, cmd).await {
                    send(e.into(), Some(t));
                }
                if leaving {
                    rooms.detach(room_id, &conn).await;
                    room = None;
                    left = true;
                }
            }
        }
    };

    if let Some(room_id) = room {
        leave(&rooms, &room_id, &conn).await;
    }
    rooms.unregister_conn(&conn);
    let linger = match end {
        End::Close(code, reason, linger) => {
            // Behind what is already queued (the errors that led here).
            if out.push(Outgoing::Close(code, reason)).is_err() {
                tracing::debug!("close not queued (dropped, or the writer is gone)");
            }
            linger
        }
        End::WriterDone => true,
        End::Gone | End::Killed => false,
    };
    out.close();
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
    rooms.metrics.connections.fetch_sub(1, Relaxed);
}

/// This connection leaves `room_id` (it closed, or joins another room): the
/// room hears of it, and its frames stop coming here.
async fn leave(rooms: &Rooms, room_id: &str, conn: &ConnId) {
    let gone = RoomCmd::Disconnect { conn: conn.clone() };
    if let Err(e) = rooms.submit(room_id, gone).await {
        // The room is gone or unreachable: its grace timer (or the takeover
        // by another instance) marks the member offline instead.
        tracing::debug!(room = %room_id, error = %e, "disconnect not delivered");
    }
    rooms.detach(room_id, conn).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};

    fn wrapped(e: WsError) -> axum::Error {
        axum::Error::new(e)
    }

    #[test]
    fn transport_errors_are_classified_by_variant() {
        let too_long = WsError::Capacity(CapacityError::MessageTooLong {
            size: 10,
            max_size: 1,
        });
        assert_eq!(classify(wrapped(too_long)), TransportError::TooBig);
        assert_eq!(
            classify(wrapped(WsError::Utf8("bad".into()))),
            TransportError::InvalidUtf8
        );
        assert_eq!(
            classify(wrapped(WsError::Protocol(
                ProtocolError::NonZeroReservedBits
            ))),
            TransportError::Protocol
        );
        assert_eq!(
            classify(wrapped(WsError::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            ))),
            TransportError::Gone
        );
        assert_eq!(
            classify(wrapped(WsError::ConnectionClosed)),
            TransportError::Gone
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(classify(wrapped(WsError::Io(io))), TransportError::Gone);
        // Not tungstenite's at all: nothing to answer.
        assert_eq!(
            classify(axum::Error::new(std::fmt::Error)),
            TransportError::Gone
        );
        assert!(matches!(
            read_error_end(wrapped(WsError::Utf8("x".into()))),
            End::Close(1007, ref r, false) if r == "text frames must be valid UTF-8"
        ));
    }
}
