//! Earlier messages: who may read which messages, sharing the messages sent
//! before a newcomer arrived (a room setting, and only after the ground rules),
//! paging back with `history_before`, and the byte budget that keeps every
//! frame carrying messages bounded.
//!
//! A member may read a message when it was sent after they arrived
//! (`MemberRec::sees_from`: the room's seq just before their `member_joined`),
//! when they facilitate (facilitators and co-facilitators moderate the
//! transcript, and one arriving late or taking over needs its context), or when
//! the room shares earlier messages (`info.share_history`) and they have
//! accepted the ground rules. Personal mutes hide a muted author's messages.
//!
//! A `welcome` and a `history` page carry the newest messages first, at most
//! [`HISTORY_BUDGET_BYTES`] of JSON (one larger message alone), and never make
//! the frame exceed [`MAX_ROOM_FRAME_BYTES`]: the welcome's messages get what
//! the rest of its snapshot leaves. `next_before_seq` says where to page on.

use crate::room::*;

/// Room left in a frame for what wraps the messages (the frame's own fields).
pub(in crate::room) const FRAME_SLACK: usize = 1024;

impl Room {
    /// `set_share_history`: whether newcomers may read what was said before
    /// they arrived (after accepting the ground rules).
    pub(in crate::room) fn set_share_history(&mut self, enabled: bool, now: Millis) -> R {
        self.info.share_history = enabled;
        self.room_updated(now);
        Ok(())
    }

    /// `history_before`: a page of the messages before `before_seq` that the
    /// member may read, as a `history` reply.
    pub(in crate::room) fn history_before(
        &mut self,
        i: usize,
        conn: &str,
        before_seq: u64,
        limit: u32,
    ) -> R {
        let limit = (limit as usize).clamp(1, self.limits.recent_messages.max(1));
        let cap = MAX_ROOM_FRAME_BYTES - FRAME_SLACK;
        let (messages, next_before_seq) =
            self.page(i, before_seq, limit, HISTORY_BUDGET_BYTES, cap);
        self.reply(
            conn,
            ServerMsg::History {
                messages,
                next_before_seq,
            },
        );
        Ok(())
    }

    /// After a member's first `accept_rules`: if the room shares earlier
    /// messages, the latest of those sent before they arrived, as a `history`
    /// reply (nothing when there are none).
    pub(in crate::room) fn share_earlier_messages(&mut self, i: usize) {
        let m = &self.members[i];
        if !self.info.share_history || m.role.is_facilitator() || m.sees_from == 0 {
            return;
        }
        let Some(conn) = m.conn.clone() else {
            return;
        };
        let cap = MAX_ROOM_FRAME_BYTES - FRAME_SLACK;
        let limit = self.limits.recent_messages;
        let (messages, next_before_seq) = self.page(
            i,
            m.sees_from.saturating_add(1),
            limit,
            HISTORY_BUDGET_BYTES,
            cap,
        );
        if messages.is_empty() && next_before_seq.is_none() {
            return;
        }
        self.reply(
            &conn,
            ServerMsg::History {
                messages,
                next_before_seq,
            },
        );
    }

    // ----- helpers -----

    /// Whether member `i` may read the message of this `seq` (see the module doc).
    pub(in crate::room) fn may_read(&self, i: usize, seq: u64) -> bool {
        let m = &self.members[i];
        m.role.is_facilitator()
            || seq > m.sees_from
            || (self.info.share_history && m.accepted_rules > 0)
    }

    /// Whether a stored frame must not be replayed to member `i`: a chat
    /// message they may not read (a resume naming a `last_seq` from before
    /// their arrival).
    pub(in crate::room) fn hidden_from(&self, i: usize, msg: &ServerMsg) -> bool {
        matches!(msg, ServerMsg::Event { event: Event::Chat { message }, .. } if !self.may_read(i, message.seq))
    }

    /// The newest messages with `seq < before` that member `i` may read, oldest
    /// first: at most `limit`, filled up to `budget` bytes of JSON; when the
    /// first one alone is over the budget it comes alone if it fits in `cap`
    /// (else it is passed over: too large for any frame). The second value is
    /// the `before_seq` of the next page, if older messages remain.
    pub(in crate::room) fn page(
        &self,
        i: usize,
        before: u64,
        limit: usize,
        budget: usize,
        cap: usize,
    ) -> (Vec<ChatMessage>, Option<u64>) {
        let muted = &self.members[i].personal_mutes;
        let mut candidates = self
            .messages
            .iter()
            .rev()
            .filter(|m| m.seq < before && !muted.contains(&m.from) && self.may_read(i, m.seq))
            .peekable();
        let mut page: Vec<ChatMessage> = Vec::new();
        let mut bytes = 0;
        let mut cursor = before;
        while let Some(m) = candidates.peek() {
            if page.len() >= limit {
                break;
            }
            // Each message and the comma after it.
            let size = json_len(*m) + 1;
            if bytes + size > budget {
                if !page.is_empty() {
                    break;
                }
                if size > cap {
                    // Never sendable: passed over, paging goes on past it.
                    cursor = m.seq;
                    candidates.next();
                    continue;
                }
            }
            bytes += size;
            cursor = m.seq;
            page.push((*m).clone());
            candidates.next();
            if bytes >= budget {
                break;
            }
        }
        let more = candidates.peek().is_some();
        page.reverse();
        (page, more.then_some(cursor))
    }
}

/// The length of `v` as JSON, without building the text.
pub(in crate::room) fn json_len<T: serde::Serialize>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match serde_json::to_writer(&mut c, v) {
        Ok(()) => c.0,
        // Unreachable for the protocol's types; counted as too large to send.
        Err(_) => usize::MAX / 2,
    }
}
