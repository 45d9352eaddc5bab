//! Airtime: who spoke how much, for facilitators.

use crate::room::*;

impl Room {
    /// `airtime`: who spoke how much, to this connection only.
    pub(in crate::room) fn airtime(&mut self, conn: &str, now: Millis) -> R {
        let members = self
            .members
            .iter()
            .map(|m| Airtime {
                member_id: m.id.clone(),
                name: m.name.clone(),
                messages: m.messages,
                quiet_ms: now.saturating_sub(m.last_post.unwrap_or(m.joined_at)),
            })
            .collect();
        self.reply(conn, ServerMsg::Airtime { members });
        Ok(())
    }
}
