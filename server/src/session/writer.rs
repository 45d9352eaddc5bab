//! A session's writer: drains the connection's bounded queue
//! ([`OutQueue`]) into the socket, writing everything already queued with
//! one flush, pings the client, and says goodbye to slow consumers.
//!
//! A frame over the largest the server sends
//! ([`Rooms::max_out_frame`](crate::rooms::Rooms::max_out_frame), which the
//! WebSocket write buffer is sized for) closes this connection with 1011;
//! it can never wedge the room or anyone else's connection.
//!
//! This is where a room's shared frame ([`FrameText`]) becomes the WebSocket
//! library's text type: `Utf8Bytes::try_from(Bytes)` keeps the very same
//! bytes (no copy, no allocation; it checks the UTF-8 once more, a single
//! pass over a frame that is already in cache).

use crate::broker::FrameText;
use crate::metrics::Metrics;
use crate::rooms::{OutQueue, Outgoing};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use std::sync::Arc;
use std::time::Duration;
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
/// consumer) fires; `done` is cancelled when it ends. Frames over `max_frame`
/// bytes close the connection (1011).
pub fn spawn(
    mut sink: SplitSink<WebSocket, Message>,
    queue: Arc<OutQueue>,
    kill: CancellationToken,
    done: CancellationToken,
    max_frame: usize,
    metrics: Arc<Metrics>,
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
                m = queue.pop() => {
                    let mut next = m;
                    // Feed everything already queued, then flush once.
                    loop {
                        match next {
                            Some(Outgoing::Text(t)) if t.len() > max_frame => {
                                Metrics::inc(&metrics.frames_too_large);
                                tracing::warn!(bytes = t.len(), max = max_frame, "a frame is over the largest the writer sends; closing that connection");
                                let reason = Utf8Bytes::from_static("a frame was too large to send; reconnect");
                                close(&mut sink, 1011, reason).await;
                                break 'outer;
                            }
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
                        match queue.try_pop() {
                            Some(m) => next = Some(m),
                            None => break,
                        }
                    }
                    if sink.flush().await.is_err() { break; }
                }
                _ = ping.tick() => {
                    if sink.send(Message::Ping(bytes::Bytes::new())).await.is_err() { break; }
                }
            }
        }
        // Nobody writes this connection any more: refuse new frames, free the queued ones.
        queue.close_and_clear();
        done.cancel();
    })
}
