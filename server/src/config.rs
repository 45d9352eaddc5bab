//! Configuration from flags and `HUDDLE_*` environment variables.

use clap::Parser;
use std::net::SocketAddr;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "huddle",
    version,
    about = "Huddle: real-time rooms for clinician peer support.\n\nRuns in memory by default; give --redis-url to run several instances as one."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HUDDLE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Redis URL (e.g. redis://127.0.0.1:6379). Without it everything stays in memory.
    #[arg(long, env = "HUDDLE_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Extra allowed WebSocket origins, comma-separated (same-origin is always allowed).
    #[arg(long, env = "HUDDLE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// JSON file with the crisis resources: [{"label": "...", "contact": "..."}].
    #[arg(long, env = "HUDDLE_CRISIS_RESOURCES")]
    pub crisis_resources: Option<std::path::PathBuf>,

    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, env = "HUDDLE_MAX_FRAME_BYTES", default_value_t = 16 * 1024)]
    pub max_frame_bytes: usize,

    /// Longest chat message, in characters.
    #[arg(long, env = "HUDDLE_MAX_TEXT", default_value_t = 2000)]
    pub max_text: usize,

    /// Longest display name, in characters.
    #[arg(long, env = "HUDDLE_MAX_NAME", default_value_t = 40)]
    pub max_name: usize,

    /// Rooms this instance will host at most.
    #[arg(long, env = "HUDDLE_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,

    /// Members per room at most (a room's own capacity may be lower).
    #[arg(long, env = "HUDDLE_MAX_MEMBERS", default_value_t = 2_500)]
    pub max_members: u32,

    /// Open WebSocket connections per client address at most (0 = no limit).
    #[arg(long, env = "HUDDLE_MAX_CONNS_PER_IP", default_value_t = 256)]
    pub max_conns_per_ip: usize,

    /// Frames per second a connection may send, sustained (token bucket).
    #[arg(long, env = "HUDDLE_RATE_PER_SEC", default_value_t = 20)]
    pub rate_per_sec: u32,

    /// Burst size of the per-connection token bucket.
    #[arg(long, env = "HUDDLE_RATE_BURST", default_value_t = 40)]
    pub rate_burst: u32,

    /// Refused frames in a row (rate limit) before the connection is closed with 1008.
    #[arg(long, env = "HUDDLE_ABUSE_CLOSE_AFTER", default_value_t = 50)]
    pub abuse_close_after: u32,

    /// Outgoing frames queued per connection before it counts as a slow consumer.
    #[arg(long, env = "HUDDLE_QUEUE", default_value_t = 512)]
    pub queue: usize,

    /// Outgoing bytes queued per connection (behind the frame being written)
    /// before it counts as a slow consumer and is dropped (close 4008).
    #[arg(long, env = "HUDDLE_QUEUE_BYTES", default_value_t = 1024 * 1024)]
    pub queue_bytes: usize,

    /// Seconds a disconnected member stays in the roster, awaiting resume.
    #[arg(long, env = "HUDDLE_GRACE_SECS", default_value_t = 20)]
    pub grace_secs: u64,

    /// Seconds without a facilitator before a co-facilitator takes over or the room pauses.
    #[arg(long, env = "HUDDLE_FACILITATOR_GRACE_SECS", default_value_t = 10)]
    pub facilitator_grace_secs: u64,

    /// Minutes a closed room (its summary) is kept before everything is dropped.
    #[arg(long, env = "HUDDLE_RETENTION_MINS", default_value_t = 60)]
    pub retention_mins: u64,

    /// Seconds to drain connections on SIGTERM / ctrl-c before exiting.
    #[arg(long, env = "HUDDLE_SHUTDOWN_SECS", default_value_t = 5)]
    pub shutdown_secs: u64,

    /// Log format: text or json. Filter with RUST_LOG (default info).
    #[arg(long, env = "HUDDLE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}
