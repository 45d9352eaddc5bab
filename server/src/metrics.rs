//! Counters and gauges served at `GET /metrics` in the Prometheus text format.
//! Only counts: never message bodies, display names or ids.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Metrics {
    pub connections: AtomicI64,
    pub connections_total: AtomicU64,
    pub rooms: AtomicI64,
    pub messages_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub errors_sent: AtomicU64,
    pub slow_consumers_dropped: AtomicU64,
    pub rate_limited: AtomicU64,
    pub connections_refused: AtomicU64,
    pub redis_publishes: AtomicU64,
    pub redis_errors: AtomicU64,
    pub redis_rtt_us_sum: AtomicU64,
    pub redis_rtt_count: AtomicU64,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let mut g = |name: &str, help: &str, kind: &str, v: i64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        g(
            "huddle_connections",
            "Open WebSocket connections.",
            "gauge",
            self.connections.load(Relaxed),
        );
        g(
            "huddle_connections_total",
            "WebSocket connections accepted.",
            "counter",
            self.connections_total.load(Relaxed) as i64,
        );
        g(
            "huddle_rooms",
            "Rooms hosted by this instance.",
            "gauge",
            self.rooms.load(Relaxed),
        );
        g(
            "huddle_messages_in_total",
            "Client frames received.",
            "counter",
            self.messages_in.load(Relaxed) as i64,
        );
        g(
            "huddle_frames_out_total",
            "Frames queued to clients.",
            "counter",
            self.frames_out.load(Relaxed) as i64,
        );
        g(
            "huddle_errors_sent_total",
            "Error frames sent to clients.",
            "counter",
            self.errors_sent.load(Relaxed) as i64,
        );
        g(
            "huddle_slow_consumers_dropped_total",
            "Connections dropped because their outgoing queue was full.",
            "counter",
            self.slow_consumers_dropped.load(Relaxed) as i64,
        );
        g(
            "huddle_rate_limited_total",
            "Frames refused by the per-connection rate limit.",
            "counter",
            self.rate_limited.load(Relaxed) as i64,
        );
        g(
            "huddle_connections_refused_total",
            "Upgrades refused (origin, per-address limit, shutting down).",
            "counter",
            self.connections_refused.load(Relaxed) as i64,
        );
        g(
            "huddle_redis_publishes_total",
            "Batches published to Redis.",
            "counter",
            self.redis_publishes.load(Relaxed) as i64,
        );
        g(
            "huddle_redis_errors_total",
            "Failed Redis operations.",
            "counter",
            self.redis_errors.load(Relaxed) as i64,
        );
        g(
            "huddle_redis_rtt_microseconds_sum",
            "Sum of Redis round-trip times.",
            "counter",
            self.redis_rtt_us_sum.load(Relaxed) as i64,
        );
        g(
            "huddle_redis_rtt_microseconds_count",
            "Number of timed Redis round trips.",
            "counter",
            self.redis_rtt_count.load(Relaxed) as i64,
        );
        o
    }
}
