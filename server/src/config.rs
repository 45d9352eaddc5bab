//! Configuration from flags and `HUDDLE_*` environment variables, and the
//! types of the values that need checking: secrets (kept only as hashes),
//! network ranges (trusted proxies) and origins.

use clap::Parser;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A secret flag value: never shown by `Debug` (logs, panics).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

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

    /// Redis URL (e.g. redis://127.0.0.1:6379, or rediss://host:6380 for TLS;
    /// credentials as rediss://user:password@host). Without it everything stays in memory.
    #[arg(long, env = "HUDDLE_REDIS_URL")]
    pub redis_url: Option<String>,

    /// PEM file of the CA that signed the Redis server's certificate (rediss://),
    /// when it is not in the system's trust store (e.g. a private CA).
    #[arg(long, env = "HUDDLE_REDIS_CA_FILE")]
    pub redis_ca_file: Option<std::path::PathBuf>,

    /// Sign every message between instances (HMAC-SHA256, at least 32 characters;
    /// the same on every instance). Unsigned or forged messages are dropped and
    /// counted (huddle_redis_forged_total). Prefer the environment variable.
    #[arg(long, env = "HUDDLE_REDIS_SIGNING_KEY", hide_env_values = true)]
    pub redis_signing_key: Option<Secret>,

    /// Extra allowed WebSocket origins, comma-separated (same-origin is always allowed).
    #[arg(long, env = "HUDDLE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// JSON file of crisis resources added to the built-in ones (911, 988):
    /// [{"label": "...", "call": "...", "hours": "...", "region": "ON"}, ...];
    /// see deploy/crisis-resources.example.json. Checked at startup.
    #[arg(long, env = "HUDDLE_CRISIS_RESOURCES")]
    pub crisis_resources: Option<std::path::PathBuf>,

    /// The deployment's time zone (IANA name, e.g. America/Vancouver): the
    /// drop-in directory's "today" ends at its midnight, and the web client
    /// shows every time in it.
    #[arg(long, env = "HUDDLE_TIME_ZONE", default_value = "America/Toronto",
          value_parser = parse_time_zone)]
    pub time_zone: chrono_tz::Tz,

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

    /// From this many members on a room is big: presence goes out as one
    /// `members_changed` per batch and the welcome carries the first page of
    /// the roster (clients page the rest with `roster_page`). 0: every room.
    #[arg(long, env = "HUDDLE_BIG_ROOM_THRESHOLD", default_value_t = crate::room::DEFAULT_BIG_ROOM_THRESHOLD)]
    pub big_room_threshold: u32,

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

    /// People in a room's call at most (a full mesh between browsers).
    #[arg(long, env = "HUDDLE_MAX_CALL_PEERS", default_value_t = 12)]
    pub max_call_peers: u32,

    /// Cameras on at once in a room's call at most (past it: audio only,
    /// with a clear `call_full` error).
    #[arg(long, env = "HUDDLE_MAX_VIDEO_PEERS", default_value_t = 6)]
    pub max_video_peers: u32,

    /// STUN server URLs given to call members, comma-separated
    /// (e.g. stun:turn.example.org:3478).
    #[arg(long, env = "HUDDLE_STUN_URLS", value_delimiter = ',')]
    pub stun_urls: Vec<String>,

    /// TURN server URLs given to call members with short-lived credentials,
    /// comma-separated (e.g. turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349).
    /// Needs --turn-secret.
    #[arg(long, env = "HUDDLE_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Vec<String>,

    /// The TURN server's shared secret (coturn `static-auth-secret` with
    /// `use-auth-secret`): each call member gets username `expiry:member_id`
    /// and password base64(HMAC-SHA1(secret, username)). Never logged.
    /// Prefer the environment variable.
    #[arg(long, env = "HUDDLE_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<Secret>,

    /// How long TURN credentials last, in seconds (a member joining the call
    /// again gets new ones).
    #[arg(long, env = "HUDDLE_TURN_TTL_SECS", default_value_t = 4 * 3600)]
    pub turn_ttl_secs: u64,

    /// Seconds a disconnected member stays in the roster, awaiting resume.
    #[arg(long, env = "HUDDLE_GRACE_SECS", default_value_t = 20)]
    pub grace_secs: u64,

    /// Seconds without a facilitator before a co-facilitator takes over or the room pauses.
    #[arg(long, env = "HUDDLE_FACILITATOR_GRACE_SECS", default_value_t = 10)]
    pub facilitator_grace_secs: u64,

    /// Answers an energy check needs before anyone (facilitators included)
    /// sees its levels; they then move in steps of this many. At least 3.
    #[arg(long, env = "HUDDLE_ENERGY_MIN_ANSWERS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(crate::room::MIN_ENERGY_ANSWERS as i64..))]
    pub energy_min_answers: u32,

    /// Minutes a room wraps up after its scheduled end before it closes (a
    /// facilitator may end it sooner or extend); 0 closes at the end. Fractions allowed (0.5).
    #[arg(long, env = "HUDDLE_WRAP_UP_MINS", default_value_t = 5.0,
          value_parser = parse_minutes)]
    pub wrap_up_mins: f64,

    /// Minutes a closed room (its summary) is kept before everything is dropped.
    #[arg(long, env = "HUDDLE_RETENTION_MINS", default_value_t = 60)]
    pub retention_mins: u64,

    /// Seconds to drain connections on SIGTERM / ctrl-c before exiting.
    #[arg(long, env = "HUDDLE_SHUTDOWN_SECS", default_value_t = 5)]
    pub shutdown_secs: u64,

    /// Log format: text or json. Filter with RUST_LOG (default info; the
    /// WebSocket library is never logged below debug: its traces print frames).
    #[arg(long, env = "HUDDLE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// Rooms one client may create per minute (token bucket, bursts of as
    /// many); past it POST /api/rooms answers 429 with Retry-After. 0 = no limit.
    #[arg(long, env = "HUDDLE_CREATE_RATE_PER_MIN", default_value_t = 20)]
    pub create_rate_per_min: u32,

    /// Seconds between rounds of the series opener, which creates each
    /// series session's room once its lobby time has come.
    #[arg(long, env = "HUDDLE_SERIES_OPEN_EVERY_SECS", default_value_t = 30)]
    pub series_open_every_secs: u64,

    /// Minutes a room nobody ever joined is kept, counted from its creation
    /// (or its scheduled start); 0 keeps it like any idle room (24 h).
    #[arg(long, env = "HUDDLE_UNJOINED_ROOM_TTL_MINS", default_value_t = 15.0,
          value_parser = parse_minutes)]
    pub unjoined_room_ttl_mins: f64,

    /// Organizer key: creating a drop-in (listed in the public directory)
    /// needs it, in the X-Huddle-Organizer-Key header; without it configured,
    /// no drop-in can be created. Only its hash is kept. Prefer the
    /// environment variable (a command line is visible to other local users).
    #[arg(long, env = "HUDDLE_ORGANIZER_KEY", hide_env_values = true,
          value_parser = SecretHash::parse)]
    pub organizer_key: Option<SecretHash>,

    /// On-call key: peer supporters open the on-call desk (`/oncall`) with it
    /// and receive the support requests of rooms with no live facilitator.
    /// Without it nobody can be on call, and people who ask for support there
    /// are told so, with the crisis lines. Only its hash is kept.
    #[arg(long, env = "HUDDLE_ONCALL_KEY", hide_env_values = true,
          value_parser = SecretHash::parse)]
    pub oncall_key: Option<SecretHash>,

    /// Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are
    /// believed, as addresses or CIDRs, comma-separated (e.g. 10.0.0.0/8).
    /// Per-address limits then count the client the proxy forwarded.
    #[arg(long = "trusted-proxy", env = "HUDDLE_TRUSTED_PROXY", value_delimiter = ',',
          value_parser = Cidr::parse)]
    pub trusted_proxies: Vec<Cidr>,

    /// Secret that keys the stored hashes of client addresses (keep-out after
    /// removal). Give every instance the same one; without it each process
    /// draws its own. Only its hash is kept.
    #[arg(long, env = "HUDDLE_IP_HASH_SECRET", hide_env_values = true,
          value_parser = SecretHash::parse)]
    pub ip_hash_secret: Option<SecretHash>,

    /// This deployment's public origin, scheme://host[:port] (e.g.
    /// https://huddle.example.org). WebSocket origins must match it (scheme,
    /// host and port; the Host header is not trusted then), the CSP allows
    /// connections to it only, and an https origin turns HSTS on. Without it:
    /// same-origin against the Host header, over http (or X-Forwarded-Proto
    /// from a trusted proxy).
    #[arg(long, env = "HUDDLE_PUBLIC_ORIGIN", value_parser = Origin::parse_flag, global = true)]
    pub public_origin: Option<Origin>,

    /// Serve GET /metrics on this address only (not on --bind). Without it
    /// and without --metrics-token, /metrics is served on --bind only when
    /// that is a loopback address.
    #[arg(long, env = "HUDDLE_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Require `Authorization: Bearer TOKEN` for GET /metrics. Only its hash is kept.
    #[arg(long, env = "HUDDLE_METRICS_TOKEN", hide_env_values = true,
          value_parser = SecretHash::parse)]
    pub metrics_token: Option<SecretHash>,

    /// Directory of the embedded SQLite database (huddle.db: accounts,
    /// sessions, links, room owners), created on first run. Not used with
    /// --database-url.
    #[arg(
        long,
        env = "HUDDLE_DATA_DIR",
        default_value = "./huddle-data",
        global = true
    )]
    pub data_dir: std::path::PathBuf,

    /// Database for several instances: postgres://user:password@host/db
    /// (required with --redis-url; sqlite:///path/huddle.db is accepted for
    /// instances on one host). Prefer the environment variable (the password).
    #[arg(
        long,
        env = "HUDDLE_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<Secret>,

    /// Hours a sign-in session lasts (the cookie and the stored session).
    #[arg(long, env = "HUDDLE_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,

    /// Hours a setup, invite or password-reset link stays valid.
    #[arg(long, env = "HUDDLE_LINK_HOURS", default_value_t = 72, global = true)]
    pub link_hours: u64,

    /// Failed sign-ins per account within 15 minutes before further attempts
    /// are refused (429) until the window ends (per instance; 0 = no limit).
    #[arg(long, env = "HUDDLE_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 5)]
    pub login_failures_per_account: u32,

    /// Failed sign-ins per client address (IPv6: per /64) within 15 minutes
    /// before its attempts are refused (429) (per instance; 0 = no limit).
    #[arg(long, env = "HUDDLE_LOGIN_FAILURES_PER_ADDRESS", default_value_t = 20)]
    pub login_failures_per_address: u32,

    /// What to do; without a command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `huddle <command>`: tasks that run and exit instead of serving.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the database migrations, then exit.
    Migrate,
    /// Accounts from the command line.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum AdminCommand {
    /// Create an admin account and print its one-time setup link
    /// ({public origin}/setup?token=…) to set a password.
    Create {
        /// The admin's email (their sign-in name).
        #[arg(long)]
        email: String,
        /// Display name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_time_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    s.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        format!("unknown time zone {s:?}: use an IANA name such as America/Toronto or America/Vancouver")
    })
}

fn parse_minutes(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m >= 0.0 => Ok(m),
        _ => Err("minutes: a number, 0 or more (e.g. 15 or 0.5)".into()),
    }
}

/// A secret given in the configuration, kept only as its hash (as room keys
/// are); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn parse(s: &str) -> Result<SecretHash, String> {
        if s.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(SecretHash(crate::room::hash_secret(s)))
    }

    /// Whether a presented secret is this one (constant time).
    pub fn matches(&self, presented: &str) -> bool {
        crate::room::secret_matches(presented, &self.0)
    }

    /// The hash, as key material derived from the secret.
    pub fn key(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not an address or CIDR (e.g. 10.0.0.0/8)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let net = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> u128 {
            match ip {
                IpAddr::V4(a) => u32::from(a) as u128,
                IpAddr::V6(a) => u128::from(a),
            }
        };
        let ip = ip.to_canonical();
        if ip.is_ipv4() != self.net.is_ipv4() {
            return false;
        }
        let width = if ip.is_ipv4() { 32 } else { 128 };
        if self.prefix == 0 {
            return true;
        }
        let shift = width - u32::from(self.prefix);
        (bits(ip) >> shift) == (bits(self.net) >> shift)
    }
}

/// A web origin: scheme, host and port (the port explicit, defaults filled
/// in), compared exactly; hosts are lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// An `Origin` header value: `scheme://host[:port]`, nothing after.
    pub fn parse(s: &str) -> Result<Origin, String> {
        let bad = || format!("{s:?} is not an origin (scheme://host[:port])");
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad());
        }
        Origin::from_host(&scheme, rest).map_err(|_| bad())
    }

    /// A `--public-origin` value: an origin, maybe with a trailing slash.
    pub fn parse_flag(s: &str) -> Result<Origin, String> {
        Origin::parse(s.trim().strip_suffix('/').unwrap_or(s.trim()))
    }

    /// The origin a `Host` header names, for a given scheme.
    pub fn from_host(scheme: &str, host: &str) -> Result<Origin, String> {
        let bad = || format!("{host:?} is not host[:port]");
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad()),
        };
        let (name, port) = if let Some(v6) = host.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
            addr.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            (format!("[{}]", addr.to_ascii_lowercase()), after)
        } else {
            let end = host.find(':').unwrap_or(host.len());
            let name = &host[..end];
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
            if !ok {
                return Err(bad());
            }
            (name.to_ascii_lowercase(), &host[end..])
        };
        let port = match port {
            "" => default_port,
            p => p
                .strip_prefix(':')
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(bad)?,
        };
        Ok(Origin {
            scheme: scheme.to_string(),
            host: name,
            port,
        })
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The WebSocket origin of the same server (`wss://` for `https://`).
    pub fn websocket(&self) -> String {
        let scheme = if self.is_https() { "wss" } else { "ws" };
        format!("{scheme}://{}", self.authority())
    }

    /// `host[:port]`, the port only when it is not the scheme's default.
    fn authority(&self) -> String {
        let default = if self.is_https() { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let o = |s: &str| Origin::parse(s).unwrap();
        assert_eq!(o("https://Huddle.Example"), o("https://huddle.example:443"));
        assert_ne!(o("https://huddle.example"), o("http://huddle.example"));
        assert_ne!(o("http://h:8080"), o("http://h:8081"));
        assert_eq!(o("http://[::1]:8080"), o("http://[::1]:8080"));
        for bad in [
            "null",
            "huddle.example",
            "ftp://h",
            "http://h/",
            "http://h:0",
            "http://h:99999",
            "http://user@h",
            "http://h:80.evil.example",
            "http://",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Origin::parse_flag("https://huddle.example/").unwrap(),
            o("https://huddle.example")
        );
        assert_eq!(
            o("https://h.example:8443").websocket(),
            "wss://h.example:8443"
        );
        assert_eq!(o("http://h.example:80").websocket(), "ws://h.example");
        assert_eq!(
            Origin::from_host("http", "127.0.0.1:8080").unwrap(),
            o("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn cidrs_contain_their_addresses() {
        let c = |s: &str| Cidr::parse(s).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(c("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!c("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(
            c("127.0.0.1").contains(ip("::ffff:127.0.0.1")),
            "IPv4-mapped"
        );
        assert!(c("fd00::/8").contains(ip("fd12::1")));
        assert!(!c("fd00::/8").contains(ip("10.0.0.1")));
        assert!(c("0.0.0.0/0").contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "::/129", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_kept_hashed() {
        let s = SecretHash::parse("organizer-secret").unwrap();
        assert!(s.matches("organizer-secret"));
        assert!(!s.matches("organizer-secreT"));
        assert!(!format!("{s:?}").contains("organizer"));
        assert!(!s.key().contains("organizer"));
        assert!(SecretHash::parse("").is_err());
    }

    #[test]
    fn energy_min_answers_is_never_below_three() {
        let parse = |args: &[&str]| Config::try_parse_from([&["huddle"], args].concat());
        assert_eq!(parse(&[]).unwrap().energy_min_answers, 3);
        assert_eq!(
            parse(&["--energy-min-answers", "5"])
                .unwrap()
                .energy_min_answers,
            5
        );
        for bad in ["2", "0", "many"] {
            let err = parse(&["--energy-min-answers", bad])
                .unwrap_err()
                .to_string();
            assert!(err.contains("--energy-min-answers"), "{bad}: {err}");
        }
        assert!(parse(&["--energy-min-answers", "2"])
            .unwrap_err()
            .to_string()
            .contains("3.."));
    }

    #[test]
    fn wrap_up_takes_fractional_minutes() {
        let parse = |args: &[&str]| Config::try_parse_from([&["huddle"], args].concat());
        assert_eq!(parse(&[]).unwrap().wrap_up_mins, 5.0);
        assert_eq!(parse(&["--wrap-up-mins", "0.1"]).unwrap().wrap_up_mins, 0.1);
        assert_eq!(parse(&["--wrap-up-mins", "0"]).unwrap().wrap_up_mins, 0.0);
        assert!(parse(&["--wrap-up-mins", "-1"]).is_err());
    }
}
