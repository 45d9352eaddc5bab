//! Who may take the on-call desk: the one check, for the shared on-call key
//! (`--oncall-key`) and for signed-in accounts with the peer-supporter (or
//! admin) role. The desk itself (`room/commands/oncall.rs`) and the session
//! only ask this function.

use crate::accounts::may_take_oncall_desk;
use crate::config::Config;
use crate::store::Account;

/// Whether this connection may join the on-call desk: its account's role
/// allows it, or `presented` is the on-call key (constant-time; never when no
/// `--oncall-key` is configured).
pub fn may_take_desk(cfg: &Config, presented: Option<&str>, account: Option<&Account>) -> bool {
    if account.is_some_and(may_take_oncall_desk) {
        return true;
    }
    match (&cfg.oncall_key, presented) {
        (Some(key), Some(p)) => key.matches(p),
        _ => false,
    }
}
