//! A session's writer: drains the connection's bounded queue into the
//! socket, writing everything already queued with one flush, pings the
//! client, and says goodbye to slow consumers.
//!
//! This is where a room's shared frame ([`FrameText`]) becomes the WebSocket
//! library's text type: `Utf8Bytes::try_from(Bytes)` keeps the very same
//! bytes (no copy, no allocation; it checks the UTF-8 once more, a single
//! pass over a frame that is already in cache).

use crate::broker::FrameText;
use crate::rooms::Outgoing;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the server pings; a connection silent for 3× this is dropped.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// The room's frame as axum's text, sharing its bytes.
fn text(t: FrameText) -> Option<Utf8Bytes> {
    match Utf8Bytes::try_from(t.into_bytes()) {
        Ok(t) => Some(t),
        Err(e) => {
            // FrameText is UTF-8 by construction: this would be a bug.
            tracing::error!(error = %e, "a frame is not UTF-8; skipped");
            None
        }
    }
}

/// Send a close frame. Whether it gets there does not matter any more: the
/// connection ends either way (a client already gone cannot receive it).
async fn close(sink: &mut SplitSink<WebSocket, Message>, code: u16, reason: Utf8Bytes) {
    let frame = Message::Close(Some(CloseFrame { code, reason }));
    if let Err(e) = sink.send(frame).await {
        tracing::debug!(error = %e, "close frame not sent (the client is gone)");
    }
}

/// Run the writer until the queue closes, the socket fails or `kill` (slow
/// consumer) fires; `done` is cancelled when it ends.
pub fn spawn(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    kill: CancellationToken,
    done: CancellationToken,
) -> JoinHandle<()> {
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
                    let reason = Utf8Bytes::from_static("slow consumer: reconnect and resume to catch up");
                    close(&mut sink, 4008, reason).await;
                    break;
                }
                m = rx.recv() => {
                    let mut next = m;
                    // Feed everything already queued, then flush once.
                    loop {
                        match next {
                            Some(Outgoing::Text(t)) => {
                                if let Some(t) = text(t) {
                                    if sink.feed(Message::Text(t)).await.is_err() { break 'outer; }
                                }
                            }
                            Some(Outgoing::Close(code, reason)) => {
                                close(&mut sink, code, Utf8Bytes::from(reason)).await;
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
}
