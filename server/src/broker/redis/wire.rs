//! How a batch crosses Redis (the `out` channel and the history stream).
//!
//! One delivery: audience and seq in a JSON header, the frame's own JSON
//! appended raw (never escaped into another string). The publishing
//! instance's id comes first, on a line of its own, so an instance skips its
//! own batches (delivered locally already) without decoding.

use crate::broker::{Delivery, FrameText};
use crate::room::{Audience, Control};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
enum WireItem {
    F {
        a: Audience,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        s: Option<u64>,
        /// Length in bytes of the frame text in the body.
        n: usize,
    },
    C(Control),
}

/// (The first format had no origin line and a `from` field in the header,
/// which decoding ignores: history written before an upgrade still replays.)
#[derive(Serialize, Deserialize)]
struct WireHead {
    d: Vec<WireItem>,
}

/// `from \n header JSON \n frame frame frame...`; `events_only` keeps what goes
/// to history (room events), leaving out replies such as welcomes and errors.
pub(super) fn encode(from: &str, batch: &[Delivery], events_only: bool) -> Option<Vec<u8>> {
    let mut head = WireHead {
        d: Vec::with_capacity(batch.len()),
    };
    let mut body: Vec<&[u8]> = Vec::with_capacity(batch.len());
    for d in batch {
        match d {
            Delivery::Frame {
                audience,
                seq,
                text,
                ..
            } => {
                if events_only && seq.is_none() {
                    continue;
                }
                head.d.push(WireItem::F {
                    a: audience.clone(),
                    s: *seq,
                    n: text.len(),
                });
                body.push(text.as_bytes());
            }
            Delivery::Control(c) if !events_only => head.d.push(WireItem::C(c.clone())),
            Delivery::Control(_) => {}
        }
    }
    if head.d.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(from.len() + 64 + body.iter().map(|t| t.len()).sum::<usize>());
    out.extend_from_slice(from.as_bytes());
    out.push(b'\n');
    serde_json::to_writer(&mut out, &head).ok()?;
    out.push(b'\n');
    for t in body {
        out.extend_from_slice(t);
    }
    Some(out)
}

/// The publishing instance of an encoded batch (its first line).
pub(super) fn origin(payload: &[u8]) -> Option<&[u8]> {
    let nl = payload.iter().position(|b| *b == b'\n')?;
    Some(&payload[..nl])
}

/// The inverse of [`encode`] (the deliveries; [`origin`] reads the rest);
/// `None` for anything malformed.
pub(super) fn decode(payload: &[u8]) -> Option<Vec<Delivery>> {
    let first = origin(payload)?;
    // The first format has no origin line: it starts with the header.
    let payload = if first.starts_with(b"{") {
        payload
    } else {
        &payload[first.len() + 1..]
    };
    let nl = payload.iter().position(|b| *b == b'\n')?;
    let head: WireHead = serde_json::from_slice(&payload[..nl]).ok()?;
    // One copy out of Redis's reply; every frame below is a slice of it.
    let body = bytes::Bytes::copy_from_slice(&payload[nl + 1..]);
    let mut off: usize = 0;
    let mut out = Vec::with_capacity(head.d.len());
    for item in head.d {
        match item {
            WireItem::F { a, s, n } => {
                let end = off.checked_add(n).filter(|e| *e <= body.len())?;
                let text = FrameText::try_from(body.slice(off..end)).ok()?;
                off = end;
                out.push(Delivery::Frame {
                    audience: a,
                    seq: s,
                    light: true,
                    text,
                });
            }
            WireItem::C(c) => out.push(Delivery::Control(c)),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(a: Audience, s: Option<u64>, t: &str) -> Delivery {
        Delivery::Frame {
            audience: a,
            seq: s,
            light: false,
            text: FrameText::from(t.to_string()),
        }
    }

    #[test]
    fn wire_framing_round_trips_and_filters_history() {
        let batch = vec![
            frame(
                Audience::All,
                Some(7),
                r#"{"type":"event","seq":7,"x":"a\nb \"q\""}"#,
            ),
            Delivery::Control(Control::Bind {
                conn: "c".into(),
                member: "m".into(),
            }),
            frame(
                Audience::Conn("c".into()),
                None,
                r#"{"type":"welcome","é":"ü"}"#,
            ),
            frame(Audience::Members(vec!["m".into()]), Some(8), "{}"),
        ];
        let bytes = encode("inst", &batch, false).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(origin(&bytes), Some(&b"inst"[..]));
        assert_eq!(back.len(), 4);
        let texts: Vec<String> = back
            .iter()
            .filter_map(|d| match d {
                Delivery::Frame { text, .. } => Some(text.as_str().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                r#"{"type":"event","seq":7,"x":"a\nb \"q\""}"#,
                r#"{"type":"welcome","é":"ü"}"#,
                "{}"
            ]
        );
        // History keeps only events (no welcome, no controls).
        let hist = decode(&encode("inst", &batch, true).unwrap()).unwrap();
        let seqs: Vec<Option<u64>> = hist
            .iter()
            .map(|d| match d {
                Delivery::Frame { seq, .. } => *seq,
                Delivery::Control(_) => Some(0),
            })
            .collect();
        assert_eq!(seqs, vec![Some(7), Some(8)]);
        // The first format (no origin line, `from` in the header) still decodes.
        let legacy = br#"{"from":"old","d":[{"F":{"a":"all","s":3,"n":2}}]}
{}"#;
        let old = decode(legacy).unwrap();
        assert!(
            matches!(&old[..], [Delivery::Frame { seq: Some(3), text, .. }] if text.as_str() == "{}")
        );
        // Nothing to keep → nothing written.
        assert!(encode("i", &batch[1..3], true).is_none());
    }

    #[test]
    fn malformed_wire_payloads_are_rejected_without_panic() {
        assert!(decode(b"").is_none());
        assert!(decode(b"not json\n").is_none());
        let bytes = encode("i", &[frame(Audience::All, Some(1), "hello")], false).unwrap();
        // Truncated body: the declared length runs past the end.
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        // Invalid UTF-8 in a frame.
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 1] = 0xff;
        assert!(decode(&bad).is_none());
    }
}
