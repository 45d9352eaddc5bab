//! Counters and gauges served at `GET /metrics` in the Prometheus text format.
//! Only counts: never message bodies, display names or ids.

use crate::store::StoreOp;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// The Redis operations whose failures are counted (the `op` label of
/// `huddle_redis_errors_total`): a small fixed set, one per kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisOp {
    /// This instance's heartbeat key.
    Heartbeat,
    /// Subscribing to a room's channels.
    Subscribe,
    /// Unsubscribing from a room's channels.
    Unsubscribe,
    /// An output batch: history append, fan-out publish, maybe the state.
    Publish,
    /// A command forwarded to the room's owner on another instance.
    Forward,
    /// Whether a room's state exists (is the room gone?).
    RoomExists,
    /// Who owns a room (reading its lease).
    Owner,
    /// Keeping the lease of a room hosted here.
    RenewLease,
    /// Taking over a room (lease, then state).
    Claim,
    /// Giving a room's lease back.
    Release,
    /// Saving a room's whole state (and the batches an outage held back).
    SaveState,
    /// Reading a room's history stream (takeover, gap fill).
    HistoryRead,
    /// Replacing a room's history stream with the model's (a message
    /// deleted, the conversation dropped).
    HistoryRewrite,
    /// Writing or reading a room's public metadata.
    Meta,
    /// The room directory (the set of room ids).
    Directory,
    /// Which instances are still alive (their heartbeats).
    Presence,
    /// Storing a new room.
    Create,
    /// Forgetting a room whose retention is over.
    Drop,
}

impl RedisOp {
    pub const ALL: [RedisOp; 18] = [
        RedisOp::Heartbeat,
        RedisOp::Subscribe,
        RedisOp::Unsubscribe,
        RedisOp::Publish,
        RedisOp::Forward,
        RedisOp::RoomExists,
        RedisOp::Owner,
        RedisOp::RenewLease,
        RedisOp::Claim,
        RedisOp::Release,
        RedisOp::SaveState,
        RedisOp::HistoryRead,
        RedisOp::HistoryRewrite,
        RedisOp::Meta,
        RedisOp::Directory,
        RedisOp::Presence,
        RedisOp::Create,
        RedisOp::Drop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RedisOp::Heartbeat => "heartbeat",
            RedisOp::Subscribe => "subscribe",
            RedisOp::Unsubscribe => "unsubscribe",
            RedisOp::Publish => "publish",
            RedisOp::Forward => "forward",
            RedisOp::RoomExists => "room_exists",
            RedisOp::Owner => "owner",
            RedisOp::RenewLease => "renew_lease",
            RedisOp::Claim => "claim",
            RedisOp::Release => "release",
            RedisOp::SaveState => "save_state",
            RedisOp::HistoryRead => "history_read",
            RedisOp::HistoryRewrite => "history_rewrite",
            RedisOp::Meta => "meta",
            RedisOp::Directory => "directory",
            RedisOp::Presence => "presence",
            RedisOp::Create => "create",
            RedisOp::Drop => "drop",
        }
    }

    /// Its position in [`RedisOp::ALL`] (for per-op arrays).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RedisOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Default)]
pub struct Metrics {
    pub connections: AtomicI64,
    pub connections_total: AtomicU64,
    pub rooms: AtomicI64,
    pub messages_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub errors_sent: AtomicU64,
    pub slow_consumers_dropped: AtomicU64,
    /// Of those, dropped for the bytes they had queued (`--queue-bytes`).
    pub slow_consumers_over_bytes: AtomicU64,
    /// Connections closed because a frame for them was over the largest the writer sends.
    pub frames_too_large: AtomicU64,
    pub rate_limited: AtomicU64,
    pub connections_refused: AtomicU64,
    /// POST /api/rooms refused by the per-client creation rate.
    pub rooms_create_limited: AtomicU64,
    /// Messages between a room and the on-call desk that could not be delivered.
    pub oncall_errors: AtomicU64,
    /// Alerts raised to the on-call desk (each send, resends included).
    pub oncall_alerts: AtomicU64,
    pub redis_publishes: AtomicU64,
    /// Messages from Redis dropped: unsigned or badly signed (--redis-signing-key).
    pub redis_forged: AtomicU64,
    /// Failed Redis operations, by [`RedisOp`].
    redis_errors: [AtomicU64; RedisOp::ALL.len()],
    pub redis_rtt_us_sum: AtomicU64,
    pub redis_rtt_count: AtomicU64,
    /// Failed database calls, by [`StoreOp`].
    store_errors: [AtomicU64; StoreOp::ALL.len()],
    /// Sign-ins that succeeded / were refused (wrong email or password) / were rate-limited.
    pub sign_ins: AtomicU64,
    pub sign_ins_failed: AtomicU64,
    pub sign_ins_limited: AtomicU64,
    /// State-changing requests refused by the CSRF (Origin) check.
    pub csrf_refused: AtomicU64,
    /// Series sessions whose room the opener could not create.
    pub series_open_failed: AtomicU64,
    /// Series sessions whose room the opener created here.
    pub series_opened: AtomicU64,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    /// Count one failed Redis operation.
    pub fn redis_error(&self, op: RedisOp) {
        Metrics::inc(&self.redis_errors[op.index()]);
    }

    /// Failed Redis operations of one kind so far.
    pub fn redis_errors(&self, op: RedisOp) -> u64 {
        self.redis_errors[op.index()].load(Relaxed)
    }

    /// Count one failed database call.
    pub fn store_error(&self, op: StoreOp) {
        Metrics::inc(&self.store_errors[op.index()]);
    }

    /// Failed database calls of one kind so far.
    pub fn store_errors(&self, op: StoreOp) -> u64 {
        self.store_errors[op.index()].load(Relaxed)
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let mut g = |name: &str, help: &str, kind: &str, v: i64| {
            o.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
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
            "Connections dropped because their outgoing queue was full (frames or bytes).",
            "counter",
            self.slow_consumers_dropped.load(Relaxed) as i64,
        );
        g(
            "huddle_slow_consumers_over_bytes_total",
            "Connections dropped because their queued bytes passed --queue-bytes.",
            "counter",
            self.slow_consumers_over_bytes.load(Relaxed) as i64,
        );
        g(
            "huddle_frames_too_large_total",
            "Connections closed (1011) because a frame for them was over the largest the writer sends.",
            "counter",
            self.frames_too_large.load(Relaxed) as i64,
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
            "huddle_rooms_create_limited_total",
            "Room creations refused by the per-client rate (--create-rate-per-min).",
            "counter",
            self.rooms_create_limited.load(Relaxed) as i64,
        );
        g(
            "huddle_oncall_alerts_total",
            "Support requests sent to the on-call desk (resends included).",
            "counter",
            self.oncall_alerts.load(Relaxed) as i64,
        );
        g(
            "huddle_oncall_errors_total",
            "Messages between a room and the on-call desk that could not be delivered.",
            "counter",
            self.oncall_errors.load(Relaxed) as i64,
        );
        g(
            "huddle_redis_publishes_total",
            "Batches published to Redis.",
            "counter",
            self.redis_publishes.load(Relaxed) as i64,
        );
        g(
            "huddle_redis_forged_total",
            "Messages from Redis dropped because they were unsigned or badly signed.",
            "counter",
            self.redis_forged.load(Relaxed) as i64,
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
        let name = "huddle_redis_errors_total";
        o.push_str(&format!(
            "# HELP {name} Failed Redis operations, by operation.\n# TYPE {name} counter\n"
        ));
        for op in RedisOp::ALL {
            o.push_str(&format!(
                "{name}{{op=\"{op}\"}} {}\n",
                self.redis_errors(op)
            ));
        }
        for (name, help, v) in [
            (
                "huddle_sign_ins_total",
                "Successful sign-ins.",
                &self.sign_ins,
            ),
            (
                "huddle_sign_ins_failed_total",
                "Sign-ins refused: wrong email or password.",
                &self.sign_ins_failed,
            ),
            (
                "huddle_sign_ins_limited_total",
                "Sign-ins refused by the per-account or per-address rate limit.",
                &self.sign_ins_limited,
            ),
            (
                "huddle_csrf_refused_total",
                "State-changing requests refused: Origin missing or not this site.",
                &self.csrf_refused,
            ),
            (
                "huddle_series_open_failed_total",
                "Series sessions whose room the opener could not create.",
                &self.series_open_failed,
            ),
            (
                "huddle_series_opened_total",
                "Series sessions whose room the opener created on this instance.",
                &self.series_opened,
            ),
        ] {
            o.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                v.load(Relaxed)
            ));
        }
        let name = "huddle_store_errors_total";
        o.push_str(&format!(
            "# HELP {name} Failed database calls, by operation.\n# TYPE {name} counter\n"
        ));
        for op in StoreOp::ALL {
            o.push_str(&format!(
                "{name}{{op=\"{op}\"}} {}\n",
                self.store_errors(op)
            ));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_errors_are_rendered_per_op() {
        for (i, op) in RedisOp::ALL.iter().enumerate() {
            assert_eq!(op.index(), i, "RedisOp::ALL is in declaration order");
        }
        let m = Metrics::default();
        m.redis_error(RedisOp::Publish);
        m.redis_error(RedisOp::Publish);
        let text = m.render();
        assert!(text.contains("huddle_redis_errors_total{op=\"publish\"} 2\n"));
        assert!(text.contains("huddle_redis_errors_total{op=\"heartbeat\"} 0\n"));
        assert_eq!(text.matches("# TYPE huddle_redis_errors_total").count(), 1);
    }
}
