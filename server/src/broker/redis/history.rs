//! The room's events stream (history for resume and takeover) and the
//! fan-out of batches to other instances, with gap filling on the receiving
//! side.

use super::wire::{decode, encode};
use super::{ch_out, k_events, RedisBroker};
use crate::broker::{BrokerEvents, Delivery, FrameText};
use crate::metrics::RedisOp;
use crate::room::Audience;
use huddle_protocol::ServerMsg;
use std::sync::Arc;

/// Batches kept in a room's events stream (about).
const HISTORY_BATCHES: usize = 2_000;

/// One XRANGE entry: (stream id, [(field, value)]).
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// One event from the history stream: (seq, audience, frame).
type HistoryEntry = (u64, Audience, ServerMsg);

impl RedisBroker {
    /// History first, then fan-out: when another instance receives a batch,
    /// the stream already holds it (so it can fill any gap before it).
    pub(super) fn batches_pipe(
        &self,
        p: &mut redis::Pipeline,
        id: &str,
        batches: &[Arc<Vec<Delivery>>],
    ) {
        for b in batches {
            if let Some(events) = encode(&self.instance, b, true) {
                p.cmd("XADD")
                    .arg(k_events(id))
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(HISTORY_BATCHES)
                    .arg("*")
                    .arg("b")
                    .arg(events)
                    .ignore();
            }
            if let Some(all) = encode(&self.instance, b, false) {
                p.cmd("PUBLISH").arg(ch_out(id)).arg(all).ignore();
            }
        }
    }

    /// The room's events kept in Redis (empty when Redis cannot be read: the
    /// failure is counted and logged, and a takeover starts from the state).
    pub(super) async fn load_history(&self, room_id: &str) -> Vec<HistoryEntry> {
        let reply = self
            .query::<Vec<StreamEntry>>(
                RedisOp::HistoryRead,
                Some(room_id),
                redis::cmd("XRANGE")
                    .arg(k_events(room_id))
                    .arg("-")
                    .arg("+"),
            )
            .await;
        let mut out = Vec::new();
        for (_id, fields) in reply.unwrap_or_default() {
            for (f, v) in fields {
                if f != "b" {
                    continue;
                }
                let Some(batch) = decode(&v) else {
                    tracing::warn!(room = %room_id, "undecodable batch in history; skipped");
                    continue;
                };
                for d in batch {
                    if let Delivery::Frame {
                        audience,
                        seq: Some(s),
                        text,
                        ..
                    } = d
                    {
                        if let Ok(msg) = serde_json::from_slice::<ServerMsg>(text.as_bytes()) {
                            out.push((s, audience, msg));
                        }
                    }
                }
            }
        }
        out
    }

    /// Deliver a batch from another instance to local sessions, first filling
    /// any gap in the room's seq from the history stream (e.g. after an outage)
    /// and skipping events already delivered.
    pub(super) async fn deliver_remote(
        &self,
        events: &dyn BrokerEvents,
        room: &str,
        batch: Vec<Delivery>,
    ) {
        let first = batch.iter().find_map(|d| match d {
            Delivery::Frame { seq: Some(s), .. } => Some(*s),
            _ => None,
        });
        let last = self.delivered.get(room).map(|v| *v).unwrap_or(0);
        if let Some(first) = first {
            if last > 0 && first > last + 1 {
                self.catch_up(events, room, Some(first)).await;
            }
        }
        let last = self.delivered.get(room).map(|v| *v).unwrap_or(0);
        let mut max = last;
        let batch: Vec<Delivery> = batch
            .into_iter()
            .filter(|d| match d {
                Delivery::Frame { seq: Some(s), .. } => {
                    max = max.max(*s);
                    last == 0 || *s > last
                }
                _ => true,
            })
            .collect();
        if max > last {
            self.delivered.insert(room.to_string(), max);
        }
        events.batch_arrived(room, &batch);
    }

    /// Deliver from the history stream what this instance's sessions missed
    /// (events after the last delivered seq, before `until`).
    pub(super) async fn catch_up(&self, events: &dyn BrokerEvents, room: &str, until: Option<u64>) {
        let last = self.delivered.get(room).map(|v| *v).unwrap_or(0);
        if last == 0 {
            return;
        }
        let missed: Vec<Delivery> = self
            .load_history(room)
            .await
            .into_iter()
            .filter(|(s, _, _)| *s > last && until.is_none_or(|u| *s < u))
            .filter_map(|(s, a, m)| {
                serde_json::to_string(&m).ok().map(|t| Delivery::Frame {
                    audience: a,
                    seq: Some(s),
                    light: true,
                    text: FrameText::from(t),
                })
            })
            .collect();
        if let Some(Delivery::Frame { seq: Some(s), .. }) = missed.last() {
            tracing::info!(room = %room, missed = missed.len(), "filled a gap from history");
            self.delivered.insert(room.to_string(), *s);
            events.batch_arrived(room, &missed);
        }
    }
}
