//! Big rooms: the roster in pages, presence in batches (see protocol/README.md,
//! "Big rooms").
//!
//! A room with at least the server's big-room threshold of members (200 by
//! default) tells presence as one [`crate::Event::MembersChanged`] per batch
//! instead of one `member_joined` / `member_updated` / `member_left` per
//! person, and its `welcome` carries a first page of the roster (with the
//! facilitators, raised hands and you) and a [`RosterCursor`]; clients ask for
//! the rest with [`crate::ClientMsg::RosterPage`].

use crate::{LeaveReason, Member};
use serde::{Deserialize, Serialize};

/// Members per `roster_page` at most (and the welcome's first page).
pub const MAX_ROSTER_PAGE: u32 = 200;

/// Where a partial roster stands: in a big room's snapshot
/// ([`crate::RoomSnapshot::roster_page`]) and every `roster_page` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterCursor {
    /// Ask for the members after this one with `roster_page { after }`.
    /// Members are paged in the order they joined: everyone who joins later
    /// comes after every cursor handed out before.
    pub after: u64,
    /// True while there are members after `after`.
    pub more: bool,
    /// Members in the roster (online or awaiting resume) right now.
    pub count: u32,
}

/// One member gone from the roster, in [`crate::Event::MembersChanged`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberGone {
    pub member_id: String,
    pub reason: LeaveReason,
}

/// The fields of [`crate::Event::MembersChanged`]: a batch's presence changes.
/// Each member appears in at most one list. Apply `left` (remove), then
/// `joined` and `updated` (insert or replace the member by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersChanged {
    /// Members who joined. In a big room only facilitators and
    /// co-facilitators are listed; participants who joined are in `count`
    /// (ask for them with `roster_page`).
    #[serde(default)]
    pub joined: Vec<Member>,
    /// Members whose view changed (online, muted, role, rules accepted), or
    /// who raised a hand, or who left and came back in the same batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updated: Vec<Member>,
    #[serde(default)]
    pub left: Vec<MemberGone>,
    /// Members in the roster after this batch.
    pub count: u32,
}
