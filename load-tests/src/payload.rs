//! The chat text a load sender posts: it carries the send time so that every
//! receiver computes end-to-end latency, plus who sent it and its counter so that
//! a receiver detects duplicates and gaps per sender.
//!
//! Format: `t=<unix micros>;r=<run id>;s=<sender index in room>;n=<counter>;` then
//! optional `x` padding. Plain ASCII, so no server sanitizing changes it.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (wall clock: sender and receivers share the machine).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// What a receiver reads back from a load message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub t_us: u64,
    pub run: u32,
    pub sender: u32,
    pub n: u64,
}

/// Write the text for `stamp` into `out` (cleared first), padded to at least `pad_to` bytes.
pub fn encode(out: &mut String, stamp: Stamp, pad_to: usize) {
    out.clear();
    let _ = write!(
        out,
        "t={};r={};s={};n={};",
        stamp.t_us, stamp.run, stamp.sender, stamp.n
    );
    while out.len() < pad_to {
        out.push('x');
    }
}

/// Parse a load message; `None` for any other text.
pub fn decode(text: &str) -> Option<Stamp> {
    let mut it = text.split(';');
    let mut field = |key: &str| -> Option<u64> { it.next()?.strip_prefix(key)?.parse().ok() };
    let t_us = field("t=")?;
    let run = u32::try_from(field("r=")?).ok()?;
    let sender = u32::try_from(field("s=")?).ok()?;
    let n = field("n=")?;
    Some(Stamp {
        t_us,
        run,
        sender,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let s = Stamp {
            t_us: 1_700_000_000_123_456,
            run: 42,
            sender: 3,
            n: 17,
        };
        let mut out = String::new();
        encode(&mut out, s, 0);
        assert_eq!(out, "t=1700000000123456;r=42;s=3;n=17;");
        assert_eq!(decode(&out), Some(s));
        encode(&mut out, s, 100);
        assert_eq!(out.len(), 100);
        assert!(out.ends_with("xxx"));
        assert_eq!(decode(&out), Some(s));
    }

    #[test]
    fn other_text_is_not_a_stamp() {
        assert_eq!(decode("hello"), None);
        assert_eq!(decode("t=1;r=2;s=3"), None);
        assert_eq!(decode("t=x;r=2;s=3;n=4;"), None);
        assert_eq!(decode(""), None);
    }
}
