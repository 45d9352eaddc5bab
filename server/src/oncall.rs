//! Who may take the on-call desk. One function, so that an account role
//! (peer supporter, issue "accounts") can replace the shared key without
//! touching the desk itself (`room/commands/oncall.rs`) or the session.

use crate::config::Config;

/// Whether `presented` opens the on-call desk (constant-time; false when no
/// `--oncall-key` is configured).
pub fn may_take_desk(cfg: &Config, presented: Option<&str>) -> bool {
    match (&cfg.oncall_key, presented) {
        (Some(key), Some(p)) => key.matches(p),
        _ => false,
    }
}
