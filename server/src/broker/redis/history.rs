//! The room's events stream (history for resume and takeover) and the
//! fan-out of batches to other instances, with gap filling on the receiving
//! side. The stream only grows with the room's batches, except when the
//! model's history shrinks (a deleted message, the conversation dropped with
//! the last member): then it is rebuilt from the model ([`RedisBroker::rewrite_history`]).

use super::wire::{decode, encode};
use super::{ch_out, k_events, RedisBroker};
use crate::broker::{BrokerEvents, Delivery, FrameText};
use crate::metrics::RedisOp;
use crate::room::{Audience, Room};
use huddle_protocol::{Event, ServerMsg};
use std::borrow::Cow;
use std::sync::Arc;

/// Batches kept in a room's events stream (about).
const HISTORY_BATCHES: usize = 2_000;
/// Events per stream entry when the stream is rebuilt from the model.
const REWRITE_CHUNK: usize = 200;

/// How a secret field looks in a frame's JSON (never inside a string value:
/// quotes there are escaped).
const SECRET_FIELD: &[u8] = b"\"facilitator_key\":\"";

/// Take the secrets out of a frame that history keeps: the one-on-one event
/// carries the new room's facilitator key to the facilitator (shown once,
/// live); history keeps the event without it. True when something was taken.
fn strip_secrets(msg: &mut ServerMsg) -> bool {
    match msg {
        ServerMsg::Event {
            event: Event::OneOnOne {
                facilitator_key, ..
            },
            ..
        } => facilitator_key.take().is_some(),
        _ => false,
    }
}

/// A batch as the history stream keeps it: frames carrying a secret are
/// rewritten without it (the others are shared as they are; a frame that
/// cannot be read back is left out rather than stored with its secret).
fn for_history(batch: &[Delivery]) -> Cow<'_, [Delivery]> {
    let secret = |d: &Delivery| {
        matches!(d, Delivery::Frame { seq: Some(_), text, .. }
            if text.as_bytes().windows(SECRET_FIELD.len()).any(|w| w == SECRET_FIELD))
    };
    if !batch.iter().any(secret) {
        return Cow::Borrowed(batch);
    }
    let mut out = Vec::with_capacity(batch.len());
    for d in batch {
        if !secret(d) {
            out.push(d.clone());
            continue;
        }
        let Delivery::Frame {
            audience,
            seq,
            light,
            text,
        } = d
        else {
            continue;
        };
        let stripped = serde_json::from_slice::<ServerMsg>(text.as_bytes())
            .ok()
            .and_then(|mut m| {
                strip_secrets(&mut m);
                serde_json::to_string(&m).ok()
            });
        match stripped {
            Some(t) => out.push(Delivery::Frame {
                audience: audience.clone(),
                seq: *seq,
                light: *light,
                text: FrameText::from(t),
            }),
            None => tracing::error!(
                "a frame with a secret could not be re-encoded; not kept in history"
            ),
        }
    }
    Cow::Owned(out)
}

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
            if let Some(events) = encode(&self.instance, &for_history(b), true) {
                self.xadd(p, id, events);
            }
            if let Some(all) = encode(&self.instance, b, false) {
                let ch = ch_out(id);
                let all = self.signer.seal(&ch, all);
                p.cmd("PUBLISH").arg(ch).arg(all).ignore();
            }
        }
    }

    /// Replace the room's stream with the model's history (and save the
    /// state): a deleted message, or the conversation dropped with the last
    /// member, must not come back after a takeover. One transaction, so no
    /// other instance reads a half-written stream. When Redis is away
    /// (counted and logged) the room is marked: its next publish, save or
    /// renewal rewrites it, and never appends to the old stream meanwhile.
    pub(super) async fn rewrite_history(&self, room: &Room) {
        let id = &room.info().id;
        let backlog = self.backlog.remove(id).map(|(_, v)| v).unwrap_or_default();
        let mut p = redis::pipe();
        p.atomic();
        // What an outage held back still goes to the other instances; the
        // stream itself is rebuilt below from the model, which holds it all.
        for b in &backlog {
            if let Some(all) = encode(&self.instance, b, false) {
                let ch = ch_out(id);
                let all = self.signer.seal(&ch, all);
                p.cmd("PUBLISH").arg(ch).arg(all).ignore();
            }
        }
        p.cmd("DEL").arg(k_events(id)).ignore();
        let mut chunk: Vec<Delivery> = Vec::with_capacity(REWRITE_CHUNK);
        let mut entries = room.history_entries().peekable();
        while let Some((seq, audience, msg)) = entries.next() {
            let mut msg = Cow::Borrowed(msg);
            if matches!(
                &*msg,
                ServerMsg::Event {
                    event: Event::OneOnOne {
                        facilitator_key: Some(_),
                        ..
                    },
                    ..
                }
            ) {
                strip_secrets(msg.to_mut());
            }
            match serde_json::to_string(&msg) {
                Ok(t) => chunk.push(Delivery::Frame {
                    audience: audience.clone(),
                    seq: Some(seq),
                    light: true,
                    text: FrameText::from(t),
                }),
                Err(e) => {
                    tracing::error!(room = %crate::room::log_tag(id), error = %e, "could not encode a history event")
                }
            }
            if chunk.len() >= REWRITE_CHUNK || entries.peek().is_none() {
                if let Some(events) = encode(&self.instance, &chunk, true) {
                    self.xadd(&mut p, id, events);
                }
                chunk.clear();
            }
        }
        self.state_pipe(&mut p, room);
        match self
            .query_pipe::<()>(RedisOp::HistoryRewrite, Some(id), &p)
            .await
        {
            Ok(()) => {
                self.rewrite_pending.remove(id);
                self.mark_saved(id, room.seq());
            }
            Err(_) => {
                self.rewrite_pending.insert(id.clone());
                self.keep_backlog(id, backlog);
            }
        }
    }

    /// Append one (encoded) batch to the room's history stream, signed.
    fn xadd(&self, p: &mut redis::Pipeline, id: &str, events: Vec<u8>) {
        let key = k_events(id);
        let events = self.signer.seal(&key, events);
        p.cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(HISTORY_BATCHES)
            .arg("*")
            .arg("b")
            .arg(events)
            .ignore();
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
        let key = k_events(room_id);
        let mut out = Vec::new();
        for (_id, fields) in reply.unwrap_or_default() {
            for (f, v) in fields {
                if f != "b" {
                    continue;
                }
                let Some(v) = self.signer.open(&key, &v) else {
                    self.forged("history entry", room_id);
                    continue;
                };
                let Some(batch) = decode(v) else {
                    tracing::warn!(room = %crate::room::log_tag(room_id), "undecodable batch in history; skipped");
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
            tracing::info!(room = %crate::room::log_tag(room), missed = missed.len(), "filled a gap from history");
            self.delivered.insert(room.to_string(), *s);
            events.batch_arrived(room, &missed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(msg: &ServerMsg) -> Delivery {
        Delivery::Frame {
            audience: Audience::All,
            seq: Some(1),
            light: false,
            text: FrameText::from(serde_json::to_string(msg).unwrap()),
        }
    }

    fn text(d: &Delivery) -> &str {
        match d {
            Delivery::Frame { text, .. } => text.as_str(),
            Delivery::Control(_) => "",
        }
    }

    #[test]
    fn history_never_keeps_a_one_on_one_key() {
        let one = ServerMsg::Event {
            seq: 1,
            ts: 0,
            event: Event::OneOnOne {
                request_id: "r".into(),
                room_id: "room".into(),
                link: "/?room=room".into(),
                facilitator_key: Some("0123456789abcdef".into()),
            },
        };
        // Other frames of the batch are kept as they are.
        let chat = ServerMsg::Pong {
            t: 1,
            server_time: 2,
        };
        let batch = vec![frame(&one), frame(&chat)];
        let kept = for_history(&batch);
        assert!(matches!(kept, Cow::Owned(_)));
        assert!(!text(&kept[0]).contains("0123456789abcdef"));
        assert!(text(&kept[0]).contains("\"room_id\":\"room\""));
        assert_eq!(text(&kept[1]), text(&batch[1]));
        // Text that quotes the field name (escaped in JSON) is no secret.
        let quoted = ServerMsg::Notice {
            code: "x".into(),
            message: r#"{"facilitator_key":"not a secret"}"#.into(),
        };
        let plain = vec![frame(&quoted)];
        assert!(matches!(for_history(&plain), Cow::Borrowed(_)));
    }
}
