//! Face-to-face calls inside a room: the room's call setting, who is in the
//! call with which media, the targeted `signal` relay (WebRTC offers, answers
//! and ICE candidates between two members), and the ICE servers (STUN, TURN)
//! a member gets on joining the call. See protocol/README.md, "Calls".
//!
//! Media never goes through the server: browsers connect to each other
//! (DTLS-SRTP end to end; TURN only relays encrypted packets). The server
//! relays signals without reading them beyond the shape checked by
//! [`check_signal`], never keeps them in history and never replays them.

use serde::{Deserialize, Serialize};

/// The largest `data` of a `signal`, in bytes of compact JSON. Larger ones are
/// refused with `too_large` (a video offer is a few kilobytes).
pub const MAX_SIGNAL_BYTES: usize = 12 * 1024;

/// ICE candidates one `signal` may carry at most.
pub const MAX_SIGNAL_CANDIDATES: usize = 32;

/// A room's call setting (a facilitator sets it; live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CallMode {
    /// No call (the default).
    #[default]
    Off,
    /// Microphones only.
    Audio,
    /// Microphones and cameras.
    Video,
}

impl CallMode {
    pub fn is_off(&self) -> bool {
        *self == CallMode::Off
    }
}

/// One call member's media, as they say it is (and as facilitators force it:
/// receivers play a member's audio only while `mic` is true).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MediaState {
    pub mic: bool,
    pub camera: bool,
    /// Voice activity, as the member's own browser detects it.
    #[serde(default)]
    pub speaking: bool,
}

/// A member in the call (in [`crate::RoomSnapshot::call`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallPeer {
    pub member_id: String,
    pub media: MediaState,
}

/// Why a member left the call ([`crate::Event::CallLeft`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallLeftReason {
    /// They left the call (`leave_call`).
    Left,
    /// They left the room, were removed, or dropped out of it.
    LeftRoom,
    /// A facilitator turned the call off.
    CallOff,
}

/// One ICE server, in the form `RTCPeerConnection`'s `iceServers` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    /// TURN only: `expiry:member_id` (the TURN REST API form coturn's
    /// `use-auth-secret` checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only: base64(HMAC-SHA1(secret, username)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why a signal's `data` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalRefusal {
    /// Over [`MAX_SIGNAL_BYTES`].
    TooLarge,
    /// Not the shape of a signal (what is wrong, in plain words).
    Malformed(&'static str),
}

/// Check a signal's `data` before it is relayed: an object with a
/// `description` (`{"type": "offer"|"answer"|"rollback", "sdp": "..."}`),
/// `candidates` (1 to [`MAX_SIGNAL_CANDIDATES`] objects), or both, and
/// nothing else; at most [`MAX_SIGNAL_BYTES`]. The SDP and candidates
/// themselves are opaque to the server.
pub fn check_signal(data: &serde_json::Value) -> Result<(), SignalRefusal> {
    let size = serde_json::to_vec(data)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_SIGNAL_BYTES {
        return Err(SignalRefusal::TooLarge);
    }
    let Some(obj) = data.as_object() else {
        return Err(SignalRefusal::Malformed("data must be an object"));
    };
    if obj.is_empty() {
        return Err(SignalRefusal::Malformed(
            "data needs a description or candidates",
        ));
    }
    for (k, v) in obj {
        match k.as_str() {
            "description" => {
                let Some(d) = v.as_object() else {
                    return Err(SignalRefusal::Malformed("description must be an object"));
                };
                let kind = d.get("type").and_then(|t| t.as_str());
                if !matches!(kind, Some("offer" | "answer" | "rollback" | "pranswer")) {
                    return Err(SignalRefusal::Malformed(
                        "description.type must be offer, answer, pranswer or rollback",
                    ));
                }
                if d.get("sdp").is_some_and(|s| !s.is_string()) {
                    return Err(SignalRefusal::Malformed("description.sdp must be a string"));
                }
                if d.keys().any(|k| k != "type" && k != "sdp") {
                    return Err(SignalRefusal::Malformed(
                        "description has only type and sdp",
                    ));
                }
            }
            "candidates" => {
                let Some(c) = v.as_array() else {
                    return Err(SignalRefusal::Malformed("candidates must be an array"));
                };
                if c.is_empty() || c.len() > MAX_SIGNAL_CANDIDATES {
                    return Err(SignalRefusal::Malformed(
                        "candidates holds 1 to 32 candidates",
                    ));
                }
                if !c.iter().all(|x| x.is_object()) {
                    return Err(SignalRefusal::Malformed("each candidate must be an object"));
                }
            }
            _ => {
                return Err(SignalRefusal::Malformed(
                    "data has only description and candidates",
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signals_of_the_right_shape_pass() {
        let offer = json!({"description": {"type": "offer", "sdp": "v=0\r\n"}});
        assert_eq!(check_signal(&offer), Ok(()));
        let cands = json!({"candidates": [{"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}]});
        assert_eq!(check_signal(&cands), Ok(()));
        let rollback = json!({"description": {"type": "rollback"}});
        assert_eq!(check_signal(&rollback), Ok(()));
    }

    #[test]
    fn malformed_and_oversized_signals_are_refused() {
        for bad in [
            json!("offer"),
            json!({}),
            json!({"description": {"type": "hello", "sdp": ""}}),
            json!({"description": {"type": "offer", "sdp": 5}}),
            json!({"description": {"type": "offer", "sdp": "", "x": 1}}),
            json!({"candidates": []}),
            json!({"candidates": [1]}),
            json!({"candidates": vec![json!({}); 33]}),
            json!({"note": "hi"}),
        ] {
            assert!(
                matches!(check_signal(&bad), Err(SignalRefusal::Malformed(_))),
                "{bad}"
            );
        }
        let big = json!({"description": {"type": "offer", "sdp": "a".repeat(MAX_SIGNAL_BYTES)}});
        assert_eq!(check_signal(&big), Err(SignalRefusal::TooLarge));
        let fits =
            json!({"description": {"type": "offer", "sdp": "a".repeat(MAX_SIGNAL_BYTES - 100)}});
        assert_eq!(check_signal(&fits), Ok(()));
    }
}
