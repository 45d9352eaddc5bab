//! A session's outgoing queue: the rooms layer (fan-out, notices) and the
//! session itself push frames, the session's writer pops them.
//!
//! Bounded in frames (`--queue`) and in bytes (`--queue-bytes`): a shared
//! frame counts its whole length for every connection it is queued to. A
//! connection past either bound is a slow consumer: the push is refused, the
//! connection is dropped (its writer closes with 4008, "reconnect and resume")
//! and counted. The frame at the head of the queue (the next to be written) is
//! not counted against the byte bound, so a single frame larger than the bound
//! (the welcome of a room with a long history) still gets through; what waits
//! behind it does count. Memory per connection stays under the bound plus the
//! largest frame.
//!
//! Close frames always fit: a connection can always be told goodbye.

use super::Outgoing;
use crate::metrics::Metrics;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The writer ended (or the session closed the queue): nobody reads it.
    Closed,
    /// Past a bound: the connection is being dropped as a slow consumer.
    SlowConsumer,
}

/// The bounds of one connection's queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    pub frames: usize,
    pub bytes: usize,
}

#[derive(Default)]
struct Inner {
    items: VecDeque<Outgoing>,
    /// Bytes of the text frames in `items`.
    bytes: usize,
    closed: bool,
    /// Dropped as a slow consumer (counted once).
    dropped: bool,
}

pub struct OutQueue {
    inner: Mutex<Inner>,
    ready: Notify,
    limits: QueueLimits,
    /// Cancelled when the connection is dropped as a slow consumer.
    kill: CancellationToken,
    metrics: Arc<Metrics>,
}

fn text_len(o: &Outgoing) -> usize {
    match o {
        Outgoing::Text(t) => t.len(),
        Outgoing::Close(..) => 0,
    }
}

impl OutQueue {
    pub fn new(limits: QueueLimits, kill: CancellationToken, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(OutQueue {
            inner: Mutex::new(Inner::default()),
            ready: Notify::new(),
            limits: QueueLimits {
                frames: limits.frames.max(1),
                bytes: limits.bytes.max(1),
            },
            kill,
            metrics,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The lock guards plain bookkeeping that no panic leaves half done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a frame for the writer.
    pub fn push(&self, o: Outgoing) -> Result<(), Refused> {
        let mut g = self.lock();
        if g.closed || g.dropped {
            return Err(if g.dropped {
                Refused::SlowConsumer
            } else {
                Refused::Closed
            });
        }
        let len = text_len(&o);
        if matches!(o, Outgoing::Text(_)) && !g.items.is_empty() {
            let head = g.items.front().map(text_len).unwrap_or(0);
            let behind = g.bytes - head + len;
            let over_bytes = behind > self.limits.bytes;
            if over_bytes || g.items.len() >= self.limits.frames {
                g.dropped = true;
                drop(g);
                Metrics::inc(&self.metrics.slow_consumers_dropped);
                if over_bytes {
                    Metrics::inc(&self.metrics.slow_consumers_over_bytes);
                }
                self.kill.cancel();
                return Err(Refused::SlowConsumer);
            }
        }
        g.bytes += len;
        g.items.push_back(o);
        drop(g);
        self.ready.notify_one();
        Ok(())
    }

    /// The next frame, waiting for one; `None` once the queue is closed and empty.
    pub async fn pop(&self) -> Option<Outgoing> {
        loop {
            let notified = self.ready.notified();
            if let Some(o) = self.try_pop_or_closed()? {
                return Some(o);
            }
            notified.await;
        }
    }

    /// The next frame if one is queued already.
    pub fn try_pop(&self) -> Option<Outgoing> {
        self.try_pop_or_closed().flatten()
    }

    /// `None`: closed and empty; `Some(None)`: empty for now.
    fn try_pop_or_closed(&self) -> Option<Option<Outgoing>> {
        let mut g = self.lock();
        match g.items.pop_front() {
            Some(o) => {
                g.bytes -= text_len(&o);
                Some(Some(o))
            }
            None if g.closed => None,
            None => Some(None),
        }
    }

    /// No more frames: the writer writes what is queued, then ends.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// The writer ended: refuse new frames and free the queued ones.
    pub fn close_and_clear(&self) {
        let mut g = self.lock();
        g.closed = true;
        g.items.clear();
        g.bytes = 0;
    }

    /// Bytes queued now (for tests and diagnostics).
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::FrameText;

    fn text(n: usize) -> Outgoing {
        Outgoing::Text(FrameText::from("x".repeat(n)))
    }

    fn queue(frames: usize, bytes: usize) -> (Arc<OutQueue>, CancellationToken, Arc<Metrics>) {
        let kill = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let q = OutQueue::new(QueueLimits { frames, bytes }, kill.clone(), metrics.clone());
        (q, kill, metrics)
    }

    #[test]
    fn bytes_behind_the_head_are_bounded() {
        let (q, kill, m) = queue(100, 1000);
        // A head larger than the bound is fine, and so is what fits behind it.
        q.push(text(5000)).unwrap();
        q.push(text(600)).unwrap();
        q.push(text(400)).unwrap();
        assert_eq!(q.queued_bytes(), 6000);
        assert_eq!(q.push(text(1)), Err(Refused::SlowConsumer));
        assert!(kill.is_cancelled());
        use std::sync::atomic::Ordering::Relaxed;
        assert_eq!(m.slow_consumers_dropped.load(Relaxed), 1);
        assert_eq!(m.slow_consumers_over_bytes.load(Relaxed), 1);
        // Once dropped, nothing more is queued, and it is counted once.
        assert_eq!(q.push(text(1)), Err(Refused::SlowConsumer));
        assert_eq!(m.slow_consumers_dropped.load(Relaxed), 1);
    }

    #[test]
    fn frames_are_bounded_and_close_frames_always_fit() {
        let (q, kill, m) = queue(2, 1 << 20);
        q.push(text(1)).unwrap();
        q.push(text(1)).unwrap();
        q.push(Outgoing::Close(1000, "bye".into())).unwrap();
        assert!(!kill.is_cancelled());
        assert_eq!(q.push(text(1)), Err(Refused::SlowConsumer));
        use std::sync::atomic::Ordering::Relaxed;
        assert_eq!(m.slow_consumers_over_bytes.load(Relaxed), 0);
        assert_eq!(m.slow_consumers_dropped.load(Relaxed), 1);
    }

    #[tokio::test]
    async fn the_writer_drains_in_order_then_sees_the_end() {
        let (q, _, _) = queue(10, 1000);
        q.push(text(3)).unwrap();
        q.push(text(4)).unwrap();
        q.close();
        assert_eq!(q.push(text(1)), Err(Refused::Closed));
        let lens: Vec<usize> = std::iter::from_fn(|| q.try_pop())
            .map(|o| text_len(&o))
            .collect();
        assert_eq!(lens, [3, 4]);
        assert_eq!(q.queued_bytes(), 0);
        assert!(q.pop().await.is_none());
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let (q, _, _) = queue(10, 1000);
        let q2 = q.clone();
        let t = tokio::spawn(async move { q2.pop().await.map(|o| text_len(&o)) });
        tokio::task::yield_now().await;
        q.push(text(7)).unwrap();
        assert_eq!(t.await.unwrap(), Some(7));
    }
}
