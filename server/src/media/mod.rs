//! Calls outside the room model: the ICE servers (STUN, TURN) each member of
//! a call is given, with TURN credentials in the TURN REST API form that
//! coturn's `use-auth-secret` checks (see deploy/coturn.conf):
//!
//! * username   = `expiry:member_id` (expiry in Unix seconds),
//! * credential = base64(HMAC-SHA1(secret, username)).
//!
//! The secret never leaves this process and is never logged; the credentials
//! go to one connection only (a `call_config` reply, never a room event).

use crate::config::Secret;
use base64::Engine;
use hmac::{Hmac, Mac};
use huddle_protocol::{IceServer, Millis};

/// What a deployment gives calls: `--stun-urls`, `--turn-urls`,
/// `--turn-secret`, `--turn-ttl-secs`.
#[derive(Clone, Debug, Default)]
pub struct IceConfig {
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    pub turn_secret: Option<Secret>,
    pub turn_ttl_secs: u64,
}

/// The TURN REST API password for `username`: base64(HMAC-SHA1(secret, username)).
pub fn turn_credential(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length: this never fails.
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "HMAC-SHA1 refused its key");
            return String::new();
        }
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl IceConfig {
    /// The ICE servers for `member_id` at `now`, and when its TURN credentials
    /// expire (none without TURN).
    pub fn servers_for(&self, member_id: &str, now: Millis) -> (Vec<IceServer>, Option<Millis>) {
        let mut out = Vec::new();
        if !self.stun_urls.is_empty() {
            out.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        let mut expires_at = None;
        if let (false, Some(secret)) = (self.turn_urls.is_empty(), &self.turn_secret) {
            let expiry = now / 1000 + self.turn_ttl_secs;
            let username = format!("{expiry}:{member_id}");
            let credential = turn_credential(secret.expose(), &username);
            out.push(IceServer {
                urls: self.turn_urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
            expires_at = Some(expiry * 1000);
        }
        (out, expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_matches_an_independent_hmac_sha1() {
        // Computed with: printf '%s' '1700000000:abc123' |
        //   openssl dgst -sha1 -hmac 'coturn-test-secret' -binary | base64
        assert_eq!(
            turn_credential("coturn-test-secret", "1700000000:abc123"),
            "hdcTBi7MZu9Z+/BP67t+WIgSA0I="
        );
        assert_ne!(
            turn_credential("another-secret", "1700000000:abc123"),
            "hdcTBi7MZu9Z+/BP67t+WIgSA0I="
        );
    }

    #[test]
    fn credential_matches_openssl_when_it_is_installed() {
        let user = "1800000000:m42";
        let Ok(out) = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "printf '%s' '{user}' | openssl dgst -sha1 -hmac 'k3y' -binary | base64"
            ))
            .output()
        else {
            eprintln!("no sh/openssl here: the fixed vector above still checks the HMAC");
            return;
        };
        if !out.status.success() || out.stdout.is_empty() {
            eprintln!("openssl not usable here: the fixed vector above still checks the HMAC");
            return;
        }
        let expected = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(turn_credential("k3y", user), expected);
    }

    #[test]
    fn servers_carry_stun_and_short_lived_turn() {
        let cfg = IceConfig {
            stun_urls: vec!["stun:stun.example.org:3478".into()],
            turn_urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
            turn_secret: Some("coturn-test-secret".parse().unwrap()),
            turn_ttl_secs: 3600,
        };
        let (servers, expires) = cfg.servers_for("abc123", 1_699_996_400_123);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].username.as_deref(), Some("1700000000:abc123"));
        assert_eq!(
            servers[1].credential.as_deref(),
            Some("hdcTBi7MZu9Z+/BP67t+WIgSA0I=")
        );
        assert_eq!(expires, Some(1_700_000_000_000));
        // Without a secret, no TURN (and nothing expires).
        let bare = IceConfig {
            turn_secret: None,
            ..cfg
        };
        let (servers, expires) = bare.servers_for("abc123", 0);
        assert_eq!(servers.len(), 1);
        assert_eq!(expires, None);
    }
}
