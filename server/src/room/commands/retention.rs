//! Retention: what the room keeps of its conversation, and when it lets go.
//! Nothing outlives the people in it: once the last member is gone, the recent
//! messages and the event history (what a resume replays) are dropped.

use crate::room::*;

impl Room {
    /// Once nobody is in the room (no member, online or awaiting resume),
    /// forget its conversation. Returns whether anything was dropped (the
    /// host then drops what it keeps elsewhere: see
    /// [`Broker::history_rewritten`](crate::broker::Broker::history_rewritten)).
    pub fn drop_history_if_empty(&mut self) -> bool {
        if !self.members.is_empty() {
            return false;
        }
        self.drop_history()
    }

    /// Forget the conversation: recent messages and the event history. A
    /// later resume finds nothing to replay and gets a fresh welcome
    /// (`history_reset`); seq and epoch stay, so nobody's numbering breaks.
    pub fn drop_history(&mut self) -> bool {
        let had = !self.messages.is_empty() || !self.history.is_empty();
        self.messages.clear();
        self.history.clear();
        had
    }

    /// The event history kept for resume, oldest first: `(seq, audience, frame)`.
    pub fn history_entries(&self) -> impl Iterator<Item = (u64, &Audience, &ServerMsg)> {
        self.history.iter().map(|h| (h.seq, &h.audience, &h.msg))
    }
}

#[cfg(test)]
mod tests {
    use crate::room::*;

    fn ctx(conn: &str) -> JoinCtx {
        JoinCtx {
            conn: conn.into(),
            instance: "i".into(),
            addr_hash: None,
            device_hash: None,
            account_id: None,
        }
    }

    #[test]
    fn the_conversation_goes_with_the_last_member() {
        let spec = CreateRoom {
            title: "T".into(),
            ..Default::default()
        };
        let mut room = Room::new("r".into(), &spec, "key", Limits::default(), vec![], 1);
        room.join(&ctx("c1"), PROTOCOL_VERSION, "Fac", Some("key"), None, 2)
            .unwrap();
        room.handle("c1", ClientMsg::Chat { text: "hi".into() }, 3)
            .unwrap();
        assert!(!room.drop_history_if_empty(), "kept while someone is in");
        // The facilitator reads the whole transcript (a stranger reads nothing).
        let fac = room.members[0].id.clone();
        assert_eq!(room.snapshot_for(&fac).messages.len(), 1);
        assert!(room.history_entries().count() > 0);
        room.handle("c1", ClientMsg::Leave, 4).unwrap();
        assert!(room.drop_history_if_empty());
        assert_eq!(room.history_entries().count(), 0);
        assert!(room.messages.is_empty());
        assert!(room.snapshot_for(&fac).messages.is_empty());
        // Nothing left: nothing more to drop.
        assert!(!room.drop_history_if_empty());
    }
}
