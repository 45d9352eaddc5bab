//! Lock-free latency histogram (log-linear buckets, ≤1.6 % relative error),
//! percentile arithmetic, and the sharded counters the client tasks update on
//! every delivery.
//!
//! Every client task records into the same few statistics, from every runtime
//! worker thread, tens of thousands of times a second. One shared atomic per
//! statistic would make those cache lines bounce between cores on every update,
//! so each statistic is split into [`shard_count`] cache-line-aligned shards and a
//! thread updates only "its" shard (picked once per thread, see [`shard_index`]):
//! updates stay relaxed atomic adds (any thread may still share a shard, and
//! readers never stop the writers) but are uncontended, and per-client memory
//! stays at zero. Readers merge the shards; a read racing with updates may miss
//! the latest ones, which is fine for every reader here (progress lines, the
//! drain check, the final report after the clients stopped).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

/// How many shards each sharded statistic has: a power of two, a bit more than
/// the threads that can run client tasks (one runtime worker per core, plus
/// room for the odd other thread), at most 64.
pub fn shard_count() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores + 1).next_power_of_two().min(64)
    })
}

/// This thread's shard, in `0..shard_count()`: threads are numbered in the order
/// they first record, so the runtime's workers get distinct shards.
pub fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Relaxed);
    }
    INDEX.with(|&i| i) & (shard_count() - 1)
}

/// Keeps each shard on its own cache lines (128 bytes: adjacent-line prefetch).
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

/// One `T` per shard.
struct Sharded<T> {
    shards: Box<[Padded<T>]>,
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded {
            shards: (0..shard_count()).map(|_| Padded::default()).collect(),
        }
    }
}

impl<T> Sharded<T> {
    /// The calling thread's shard.
    fn local(&self) -> &T {
        // There are `shard_count()` shards, so the index is in range.
        &self.shards[shard_index()].0
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().map(|p| &p.0)
    }
}

/// A sharded event counter (see the module docs).
#[derive(Default)]
pub struct Counter(Sharded<AtomicU64>);

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&self, n: u64) {
        self.0.local().fetch_add(n, Relaxed);
    }

    /// The sum over all shards.
    pub fn get(&self) -> u64 {
        self.0.iter().map(|a| a.load(Relaxed)).sum()
    }
}

/// A sharded running maximum (see the module docs).
#[derive(Default)]
pub struct Max(Sharded<AtomicU64>);

impl Max {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, v: u64) {
        fetch_max_if_greater(self.0.local(), v);
    }

    /// The maximum over all shards (0 when nothing was recorded).
    pub fn get(&self) -> u64 {
        self.0.iter().map(|a| a.load(Relaxed)).max().unwrap_or(0)
    }
}

/// `a.fetch_max(v)`, skipping the read-modify-write when `v` is not greater
/// (the common case: a maximum rarely moves).
fn fetch_max_if_greater(a: &AtomicU64, v: u64) {
    if v > a.load(Relaxed) {
        a.fetch_max(v, Relaxed);
    }
}

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

/// One shard of a [`Histogram`]. The count is the sum of the buckets.
struct HistShard {
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for HistShard {
    fn default() -> Self {
        HistShard {
            buckets: (0..N_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

/// A concurrent histogram of non-negative integers (the unit is the caller's),
/// sharded per thread (see the module docs).
pub struct Histogram {
    shards: Sharded<HistShard>,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            shards: Sharded::default(),
        }
    }

    pub fn record(&self, v: u64) {
        let s = self.shards.local();
        s.buckets[index(v)].fetch_add(1, Relaxed);
        s.sum.fetch_add(v, Relaxed);
        fetch_max_if_greater(&s.max, v);
    }

    /// Merge the shards, reading each atomic with `read` (a load or a swap to 0).
    fn merge(&self, read: impl Fn(&AtomicU64) -> u64) -> HistSnapshot {
        let mut out = HistSnapshot {
            counts: vec![0; N_BUCKETS],
            sum: 0,
            max: 0,
        };
        for s in self.shards.iter() {
            for (c, b) in out.counts.iter_mut().zip(s.buckets.iter()) {
                *c += read(b);
            }
            out.sum += read(&s.sum);
            out.max = out.max.max(read(&s.max));
        }
        out
    }

    /// A consistent-enough copy (concurrent records may straddle it).
    pub fn snapshot(&self) -> HistSnapshot {
        self.merge(|a| a.load(Relaxed))
    }

    /// Copy and zero (for per-second progress windows). Records racing with it
    /// may land in either window; that is fine for a progress line.
    pub fn take(&self) -> HistSnapshot {
        self.merge(|a| a.swap(0, Relaxed))
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
    fn shards_merge_across_threads() {
        let h = Histogram::new();
        let c = Counter::new();
        let m = Max::new();
        assert_eq!((c.get(), m.get()), (0, 0));
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (h, c, m) = (&h, &c, &m);
                s.spawn(move || {
                    assert!(shard_index() < shard_count());
                    for v in 1..=1000 {
                        h.record(v);
                        c.add(2);
                        m.record(t * 1000 + v);
                    }
                });
            }
        });
        assert!(shard_count().is_power_of_two());
        let s = h.snapshot();
        assert_eq!(s.count(), 8000);
        assert_eq!(s.max(), 1000);
        assert!((s.mean() - 500.5).abs() < 1e-9);
        assert_eq!(c.get(), 16_000);
        assert_eq!(m.get(), 8000);
        assert_eq!(h.take().count(), 8000);
        assert_eq!(h.snapshot().count(), 0);
        assert_eq!(h.snapshot().max(), 0);
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
