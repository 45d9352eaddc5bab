//! Signed Redis traffic (`--redis-signing-key`): every value one instance
//! writes for another — commands (`in`), batches (`out`), history entries,
//! state snapshots, metadata — carries an HMAC-SHA256 over the channel or key
//! it is written to and its bytes. What arrives unsigned, or with a signature
//! that does not verify (compared in constant time), is dropped and counted
//! in `huddle_redis_forged_total`: someone who can reach Redis but does not
//! hold the key cannot speak for an instance.
//!
//! Form: `hs1:` + 64 hex digits + `\n` + the value. The channel or key name is
//! part of what is signed, so a signed value cannot be replayed into another
//! room or another kind of key. Without a key nothing is signed or checked.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const TAG: &[u8] = b"hs1:";
const HEX_LEN: usize = 64;
/// Shortest key accepted (characters).
pub const MIN_KEY_LEN: usize = 32;

pub(super) struct Signer {
    mac: Option<HmacSha256>,
}

impl Signer {
    /// `None`: nothing is signed or checked. A key shorter than
    /// [`MIN_KEY_LEN`] is refused.
    pub(super) fn new(key: Option<&str>) -> anyhow::Result<Signer> {
        let mac = match key {
            None => None,
            Some(k) => {
                anyhow::ensure!(
                    k.chars().count() >= MIN_KEY_LEN,
                    "--redis-signing-key must be at least {MIN_KEY_LEN} characters (e.g. `openssl rand -hex 32`)"
                );
                Some(
                    HmacSha256::new_from_slice(k.as_bytes())
                        .map_err(|e| anyhow::anyhow!("--redis-signing-key: {e}"))?,
                )
            }
        };
        Ok(Signer { mac })
    }

    fn tag(mac: &HmacSha256, scope: &str, payload: &[u8]) -> HmacSha256 {
        let mut m = mac.clone();
        m.update(scope.as_bytes());
        m.update(&[0]);
        m.update(payload);
        m
    }

    /// The value to write to `scope` (a channel or key name).
    pub(super) fn seal(&self, scope: &str, payload: impl Into<Vec<u8>>) -> Vec<u8> {
        let payload = payload.into();
        let Some(mac) = &self.mac else {
            return payload;
        };
        let sig = Self::tag(mac, scope, &payload).finalize().into_bytes();
        let mut out = Vec::with_capacity(TAG.len() + HEX_LEN + 1 + payload.len());
        out.extend_from_slice(TAG);
        out.extend_from_slice(hex::encode(sig).as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&payload);
        out
    }

    /// The value read from `scope`, if its signature verifies (anything, when
    /// no key is set); `None`: unsigned or forged.
    pub(super) fn open<'a>(&self, scope: &str, data: &'a [u8]) -> Option<&'a [u8]> {
        let Some(mac) = &self.mac else {
            return Some(data);
        };
        let rest = data.strip_prefix(TAG)?;
        if rest.len() <= HEX_LEN || rest[HEX_LEN] != b'\n' {
            return None;
        }
        let sig = hex::decode(&rest[..HEX_LEN]).ok()?;
        let payload = &rest[HEX_LEN + 1..];
        // verify_slice compares in constant time.
        Self::tag(mac, scope, payload)
            .verify_slice(&sig)
            .ok()
            .map(|()| payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_verify_and_nothing_else_does() {
        let s = Signer::new(Some("0123456789abcdef0123456789abcdef")).unwrap();
        let v = s.seal("huddle:room:r:in", b"{\"Leave\":1}".to_vec());
        assert!(v.starts_with(b"hs1:"));
        assert_eq!(s.open("huddle:room:r:in", &v), Some(&b"{\"Leave\":1}"[..]));
        // Another channel, a changed byte, no signature, another key: refused.
        assert_eq!(s.open("huddle:room:x:in", &v), None);
        let mut bad = v.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(s.open("huddle:room:r:in", &bad), None);
        assert_eq!(s.open("huddle:room:r:in", b"{\"Leave\":1}"), None);
        assert_eq!(s.open("huddle:room:r:in", b"hs1:zz\n{}"), None);
        assert_eq!(s.open("huddle:room:r:in", b""), None);
        let other = Signer::new(Some("another key of thirty-two characters!")).unwrap();
        assert_eq!(other.open("huddle:room:r:in", &v), None);
        // Without a key: nothing signed, nothing checked.
        let none = Signer::new(None).unwrap();
        assert_eq!(none.seal("c", b"x".to_vec()), b"x");
        assert_eq!(none.open("c", b"x"), Some(&b"x"[..]));
        assert!(Signer::new(Some("short")).is_err());
    }
}
