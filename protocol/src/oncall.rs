//! The on-call desk: a deployment-wide room of peer supporters that receives
//! every support request and distress signal raised in a room with no live
//! facilitator (see protocol/README.md, "Nobody is alone").

use crate::Millis;
use serde::{Deserialize, Serialize};

/// The desk's room id: join it with `facilitator_key` set to the on-call key.
pub const ONCALL_DESK_ID: &str = "oncall";

/// A request for support as the on-call desk sees it. The person's room is
/// never named (room ids are capabilities): a supporter answers through
/// [`crate::ClientMsg::AckAlert`] and [`crate::ClientMsg::OpenAlertRoom`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCallAlert {
    pub id: String,
    /// The title of the room the request came from.
    pub room_title: String,
    /// The person's display name in that room.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A distress signal: answer first.
    pub urgent: bool,
    pub ts: Millis,
    /// The supporter who acknowledged it (display name), once one has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    /// A private room was opened with the person.
    #[serde(default)]
    pub room_opened: bool,
}

/// Where a support request raised without a live facilitator stands, as told
/// to the person who raised it ([`crate::Event::SupportUpdate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportState {
    /// The request reached the on-call desk, where peer supporters are on call.
    OnCallNotified,
    /// Nobody is on call right now (or the desk cannot be reached): the crisis
    /// lines are the way to get help now.
    NobodyOnCall,
    /// A peer supporter has seen the request.
    Seen,
}

/// Why an alert left the desk ([`crate::Event::AlertClosed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertClosedReason {
    /// The person left their room (or it ended).
    PersonLeft,
}
