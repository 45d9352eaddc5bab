//! The sign-in failure limits: per account and per address, in memory.

use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Failed attempts per key in a fixed window: past `limit` failures, refused
/// until the window ends. In memory, per instance.
pub struct FailureLimit {
    limit: u32,
    window_ms: u64,
    /// key → (failures, window start).
    seen: DashMap<String, (u32, u64)>,
    swept: AtomicU64,
}

impl FailureLimit {
    pub fn new(limit: u32, window_ms: u64) -> FailureLimit {
        FailureLimit {
            limit,
            window_ms,
            seen: DashMap::new(),
            swept: AtomicU64::new(0),
        }
    }

    /// `Err(seconds to wait)` when the key has used up its failures.
    pub fn check(&self, key: &str, now: u64) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        match self.seen.get(key) {
            Some(e) if e.0 >= self.limit && now < e.1 + self.window_ms => {
                Err((e.1 + self.window_ms - now).div_ceil(1000).max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str, now: u64) {
        if self.limit == 0 {
            return;
        }
        let mut e = self.seen.entry(key.to_string()).or_insert((0, now));
        if now >= e.1 + self.window_ms {
            *e = (0, now);
        }
        e.0 = e.0.saturating_add(1);
        drop(e);
        self.sweep(now);
    }

    pub fn clear(&self, key: &str) {
        self.seen.remove(key);
    }

    fn sweep(&self, now: u64) {
        let last = self.swept.load(Relaxed);
        if now.saturating_sub(last) >= 60_000
            && self
                .swept
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            let w = self.window_ms;
            self.seen.retain(|_, v| now < v.1 + w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_wait_for_the_window() {
        let l = FailureLimit::new(3, 1000);
        for _ in 0..3 {
            assert!(l.check("k", 0).is_ok());
            l.fail("k", 0);
        }
        assert_eq!(l.check("k", 10), Err(1));
        assert!(l.check("other", 10).is_ok());
        assert!(l.check("k", 1000).is_ok(), "the window ended");
        l.clear("k");
        assert!(l.check("k", 10).is_ok());
    }
}
