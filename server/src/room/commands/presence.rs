//! Presence in big rooms: changes told in batches, the roster in pages.
//!
//! Below [`Limits::big_room_threshold`] members a room tells each change as it
//! happens (`member_joined`, `member_updated`, `member_left`) and every
//! `welcome` carries the whole roster. From the threshold on, changes wait in
//! [`PresenceBuf`] and go out as one `members_changed` before the next other
//! event, or [`PRESENCE_EVERY_MS`] after the first of them
//! ([`Room::take_output_due`], and the room's next deadline), whichever comes
//! first: the order of events is kept, and a join storm costs every member a
//! few small frames a second, not one per newcomer (nor one per batch: with
//! joins trickling in, a batch is often one join). Participants who joined are
//! only counted there; the `welcome` carries the first page of the roster
//! (with the facilitators, raised hands and the newcomer), and clients ask
//! for the rest with `roster_page`. Members are kept in join order
//! ([`MemberRec::order`]), so a cursor stays good however the room churns.

use crate::room::*;
use std::collections::HashMap;

/// Members in a big room's `welcome` roster page (facilitators, raised hands
/// and the newcomer come on top).
pub(in crate::room) const WELCOME_ROSTER_PAGE: usize = 100;

/// A big room's presence changes wait at most this long to be told (unless
/// another event goes out first, which takes them along).
pub const PRESENCE_EVERY_MS: Millis = 250;

/// What happened to one member since the last `members_changed`.
#[derive(Debug, Clone, Copy, Default)]
struct Change {
    joined: bool,
    /// Changed after joining, within the same batch (went offline, raised a
    /// hand...): told in `updated` even where joins are only counted.
    touched: bool,
    left: Option<LeaveReason>,
}

/// Presence changes not told yet (never stored: flushed within the batch).
#[derive(Debug, Clone, Default)]
pub(in crate::room) struct PresenceBuf {
    /// Member ids in the order they first changed.
    order: Vec<String>,
    changes: HashMap<String, Change>,
    /// The time of the first change.
    ts: Millis,
}

impl PresenceBuf {
    fn note(&mut self, id: &str, now: Millis, f: impl FnOnce(&mut Change)) {
        if self.order.is_empty() {
            self.ts = now;
        }
        let c = self.changes.entry(id.to_string()).or_insert_with(|| {
            self.order.push(id.to_string());
            Change::default()
        });
        f(c);
    }
}

impl Room {
    /// Whether the room has at least the big-room threshold of members.
    pub fn is_big(&self) -> bool {
        self.members.len() as u32 >= self.limits.big_room_threshold
    }

    /// Changes are batched while the room is big, and while a batch is open.
    pub(in crate::room) fn batching(&self) -> bool {
        self.is_big() || !self.presence.order.is_empty()
    }

    /// The join order for a member about to be pushed onto the roster.
    pub(in crate::room) fn next_order(&mut self) -> u64 {
        // State stored before orders existed: number the roster as it stands.
        if self.last_order == 0 {
            for m in self.members.iter_mut() {
                self.last_order += 1;
                m.order = self.last_order;
            }
        }
        self.last_order += 1;
        self.last_order
    }

    /// Member `i` was just pushed onto the roster.
    pub(in crate::room) fn presence_joined(&mut self, i: usize, now: Millis) {
        if self.batching() {
            let id = self.members[i].id.clone();
            self.presence.note(&id, now, |c| c.joined = true);
        } else {
            let member = self.members[i].view(self.lead.as_deref());
            self.emit(Audience::All, Event::MemberJoined { member }, now);
        }
    }

    /// Member `i`'s view changed (or, in a big room, every client should have it).
    pub(in crate::room) fn presence_updated(&mut self, i: usize, now: Millis) {
        if self.batching() {
            let id = self.members[i].id.clone();
            self.presence.note(&id, now, |c| c.touched = c.joined);
        } else {
            let member = self.members[i].view(self.lead.as_deref());
            self.emit(Audience::All, Event::MemberUpdated { member }, now);
        }
    }

    /// Member `id` was just taken off the roster.
    pub(in crate::room) fn presence_left(&mut self, id: &str, reason: LeaveReason, now: Millis) {
        if self.batching() {
            self.presence.note(id, now, |c| c.left = Some(reason));
        } else {
            self.emit(
                Audience::All,
                Event::MemberLeft {
                    member_id: id.to_string(),
                    reason,
                },
                now,
            );
        }
    }

    /// When the changes waiting must be told (none waiting: None).
    pub(in crate::room) fn presence_due(&self) -> Option<Millis> {
        (!self.presence.order.is_empty()).then(|| self.presence.ts + PRESENCE_EVERY_MS)
    }

    /// The frames so far, the waiting presence changes included only once
    /// they are due (or the room is no longer big).
    pub fn take_output_due(&mut self, now: Millis) -> Vec<Out> {
        if self.presence_due().is_some_and(|d| d <= now) || !self.is_big() {
            self.flush_presence();
        }
        std::mem::take(&mut self.out)
    }

    /// Tell the changes waiting, as one `members_changed` (nothing if none).
    pub(in crate::room) fn flush_presence(&mut self) {
        if self.presence.order.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.presence);
        let big = self.is_big();
        let at: HashMap<&str, usize> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), i))
            .collect();
        let lead = self.lead.as_deref();
        let mut ch = MembersChanged {
            joined: Vec::new(),
            updated: Vec::new(),
            left: Vec::new(),
            count: self.members.len() as u32,
        };
        for id in &buf.order {
            let c = buf.changes.get(id).copied().unwrap_or_default();
            match at.get(id.as_str()) {
                Some(&i) => {
                    let m = &self.members[i];
                    // Joined in this batch and then went offline or raised a
                    // hand: every client must know (accepting the rules and
                    // the like need not be told where joins are only counted).
                    let told = c.touched && (!m.online() || self.hands.contains(&m.id));
                    if c.left.is_some() || !c.joined || told {
                        ch.updated.push(m.view(lead));
                    } else if !big || m.role.is_facilitator() {
                        ch.joined.push(m.view(lead));
                    }
                }
                None => {
                    if let Some(reason) = c.left {
                        ch.left.push(MemberGone {
                            member_id: id.clone(),
                            reason,
                        });
                    }
                }
            }
        }
        self.emit(Audience::All, Event::MembersChanged(ch), buf.ts);
    }

    /// The roster a `welcome` carries: all of it in a small room; in a big
    /// one the first page, the facilitators, raised hands and `me`, with the
    /// cursor to page on from.
    pub(in crate::room) fn welcome_roster(
        &self,
        me: Option<usize>,
    ) -> (Vec<Member>, Option<RosterCursor>) {
        let lead = self.lead.as_deref();
        if !self.is_big() {
            return (self.members.iter().map(|m| m.view(lead)).collect(), None);
        }
        let n = self.members.len().min(WELCOME_ROSTER_PAGE);
        let mut roster: Vec<Member> = self.members[..n].iter().map(|m| m.view(lead)).collect();
        for (i, m) in self.members.iter().enumerate().skip(n) {
            if Some(i) == me || m.role.is_facilitator() || self.hands.contains(&m.id) {
                roster.push(m.view(lead));
            }
        }
        let cursor = RosterCursor {
            after: self.members[..n].last().map(|m| m.order).unwrap_or(0),
            more: n < self.members.len(),
            count: self.members.len() as u32,
        };
        (roster, Some(cursor))
    }

    /// `roster_page`: up to `limit` members who joined after `after`.
    pub(in crate::room) fn roster_page(&mut self, conn: &str, after: Option<u64>, limit: u32) -> R {
        let limit = limit.clamp(1, MAX_ROSTER_PAGE) as usize;
        let from = after.unwrap_or(0);
        // Kept in join order: a binary search finds the cursor.
        let start = self.members.partition_point(|m| m.order <= from);
        let end = (start + limit).min(self.members.len());
        let lead = self.lead.as_deref();
        let members: Vec<Member> = self.members[start..end]
            .iter()
            .map(|m| m.view(lead))
            .collect();
        let cursor = RosterCursor {
            after: self.members[start..end]
                .last()
                .map(|m| m.order)
                .unwrap_or(from),
            more: end < self.members.len(),
            count: self.members.len() as u32,
        };
        self.reply(conn, ServerMsg::RosterPage { members, cursor });
        Ok(())
    }
}
