//! Lock-free latency histogram (log-linear buckets, ≤1.6 % relative error) and
//! percentile arithmetic. Shared by every client task: recording is two relaxed
//! atomic adds, so per-client memory stays at zero.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two: 2^SUB_BITS.
const SUB_BITS: u32 = 6;
/// Values below this are recorded exactly.
const EXACT: u64 = 1 << (SUB_BITS + 1);
/// Largest exponent tracked (2^41 µs ≈ 25 days); larger values are clamped.
const MAX_EXP: u32 = 40;
const N_BUCKETS: usize = EXACT as usize + ((MAX_EXP - SUB_BITS) as usize) * (1 << SUB_BITS);

fn index(v: u64) -> usize {
    let v = v.min((1u64 << (MAX_EXP + 1)) - 1);
    if v < EXACT {
        v as usize
    } else {
        let e = 63 - v.leading_zeros(); // >= SUB_BITS + 1
        let shift = e - SUB_BITS;
        let sub = (v >> shift) - (1 << SUB_BITS);
        EXACT as usize + ((e - SUB_BITS - 1) as usize) * (1 << SUB_BITS) + sub as usize
    }
}

/// Smallest value that falls in bucket `i`.
fn bucket_low(i: usize) -> u64 {
    if (i as u64) < EXACT {
        i as u64
    } else {
        let j = i - EXACT as usize;
        let e = SUB_BITS + 1 + (j >> SUB_BITS) as u32;
        let sub = (j & ((1 << SUB_BITS) - 1)) as u64;
        ((1u64 << SUB_BITS) + sub) << (e - SUB_BITS)
    }
}

/// Largest value that falls in bucket `i`.
fn bucket_high(i: usize) -> u64 {
    if i + 1 >= N_BUCKETS {
        u64::MAX
    } else {
        bucket_low(i + 1) - 1
    }
}

/// A concurrent histogram of non-negative integers (the unit is the caller's).
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            buckets: (0..N_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    pub fn record(&self, v: u64) {
        self.buckets[index(v)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// A consistent-enough copy (concurrent records may straddle it).
    pub fn snapshot(&self) -> HistSnapshot {
        HistSnapshot {
            counts: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum: self.sum.load(Relaxed),
            max: self.max.load(Relaxed),
        }
    }

    /// Copy and zero (for per-second progress windows). Records racing with it
    /// may land in either window; that is fine for a progress line.
    pub fn take(&self) -> HistSnapshot {
        HistSnapshot {
            counts: self.buckets.iter().map(|b| b.swap(0, Relaxed)).collect(),
            sum: self.sum.swap(0, Relaxed),
            max: {
                self.count.store(0, Relaxed);
                self.max.swap(0, Relaxed)
            },
        }
    }
}

/// A frozen histogram.
#[derive(Debug, Clone)]
pub struct HistSnapshot {
    counts: Vec<u64>,
    sum: u64,
    max: u64,
}

impl HistSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            self.sum as f64 / n as f64
        }
    }

    /// The value at quantile `q` (0.0..=1.0): the smallest recorded value such that
    /// at least `q` of all values are ≤ it, up to the bucket's precision (the
    /// bucket's midpoint is returned, never more than the exact maximum).
    /// 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let lo = bucket_low(i);
                let hi = bucket_high(i);
                let mid = lo + (hi - lo) / 2;
                return mid.min(self.max);
            }
        }
        self.max
    }
}

/// Exact quantile of a sorted slice, same definition as [`HistSnapshot::quantile`]
/// (nearest rank). Used by tests and for small samples.
pub fn quantile_sorted(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        for i in 0..N_BUCKETS - 1 {
            assert_eq!(bucket_high(i) + 1, bucket_low(i + 1), "bucket {i}");
            assert_eq!(index(bucket_low(i)), i);
            assert_eq!(index(bucket_high(i)), i);
        }
        for v in [0u64, 1, 127, 128, 129, 1000, 65_535, 1 << 30, u64::MAX] {
            let i = index(v);
            if v < (1u64 << (MAX_EXP + 1)) {
                assert!(bucket_low(i) <= v && v <= bucket_high(i), "{v}");
            }
        }
    }

    #[test]
    fn exact_for_small_values() {
        let h = Histogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        assert_eq!(s.quantile(0.5), 50);
        assert_eq!(s.quantile(0.99), 99);
        assert_eq!(s.quantile(1.0), 100);
        assert_eq!(s.max(), 100);
        assert!((s.mean() - 50.5).abs() < 1e-9);
    }

    #[test]
    fn percentiles_within_two_percent_of_exact() {
        let h = Histogram::new();
        // A skewed distribution: 1..=100_000 with a long tail.
        let mut all: Vec<u64> = (1..=100_000u64).map(|i| i * i % 1_000_003 + 50).collect();
        for &v in &all {
            h.record(v);
        }
        all.sort_unstable();
        let s = h.snapshot();
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = quantile_sorted(&all, q) as f64;
            let approx = s.quantile(q) as f64;
            assert!(
                (approx - exact).abs() / exact < 0.02,
                "q={q}: exact {exact}, approx {approx}"
            );
        }
        assert_eq!(s.max(), *all.last().unwrap());
    }

    #[test]
    fn empty_and_take() {
        let h = Histogram::new();
        assert_eq!(h.snapshot().quantile(0.99), 0);
        h.record(5_000);
        let w = h.take();
        assert_eq!(w.count(), 1);
        assert_eq!(w.quantile(0.5), w.max().min(w.quantile(0.5)));
        assert_eq!(h.snapshot().count(), 0);
    }

    #[test]
    fn quantile_sorted_nearest_rank() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(quantile_sorted(&v, 0.5), 5);
        assert_eq!(quantile_sorted(&v, 0.95), 10);
        assert_eq!(quantile_sorted(&v, 0.0), 1);
        assert_eq!(quantile_sorted(&[], 0.5), 0);
    }
}
