//! Chat: posting (and who may post now), reactions, deleting a message, the pinned text.

use crate::room::*;

impl Room {
    /// `chat`: post a message; members who personally muted the sender do not get it.
    pub(in crate::room) fn chat(&mut self, i: usize, text: &str, now: Millis) -> R {
        self.can_post(i, now, true)?;
        let text = clean_text(text, self.limits.max_text, "message", Lines::Many)?;
        let m = &mut self.members[i];
        m.last_post = Some(now);
        m.messages += 1;
        let message = ChatMessage {
            id: new_id(),
            seq: self.seq + 1,
            from: m.id.clone(),
            name: m.name.clone(),
            text,
            ts: now,
            reactions: Default::default(),
        };
        let from = m.id.clone();
        self.messages.push_back(message.clone());
        while self.messages.len() > self.limits.recent_messages {
            self.messages.pop_front();
        }
        let muters: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.personal_mutes.contains(&from))
            .map(|m| m.id.clone())
            .collect();
        let audience = if muters.is_empty() {
            Audience::All
        } else {
            Audience::AllExcept(muters)
        };
        self.emit(audience, Event::Chat { message }, now);
        Ok(())
    }

    /// `react`: toggle the sender's emoji (one of [`REACTION_EMOJI`]) on a message.
    pub(in crate::room) fn react(
        &mut self,
        i: usize,
        message_id: String,
        emoji: String,
        now: Millis,
    ) -> R {
        let me = self.members[i].id.clone();
        self.can_post(i, now, false)?;
        let e = allowed_reaction(&emoji).ok_or(RoomError::BadReaction)?;
        let Some(m) = self.messages.iter_mut().find(|m| m.id == message_id) else {
            return Err(RoomError::NoSuchMessage);
        };
        let who = m.reactions.entry(e.clone()).or_default();
        let on = if let Some(p) = who.iter().position(|x| x == &me) {
            who.remove(p);
            false
        } else {
            who.push(me.clone());
            true
        };
        m.reactions.retain(|_, v| !v.is_empty());
        self.emit(
            Audience::All,
            Event::Reaction {
                message_id,
                emoji: e,
                member_id: me,
                on,
            },
            now,
        );
        Ok(())
    }

    /// `delete_message`: remove a message, from the history too.
    pub(in crate::room) fn delete_message(&mut self, message_id: String, now: Millis) -> R {
        let before = self.messages.len();
        self.messages.retain(|m| m.id != message_id);
        if before == self.messages.len() {
            return Err(RoomError::NoSuchMessage);
        }
        // Scrub it from history too: a resume must not bring it back.
        self.history.retain(|h| {
            !matches!(&h.msg, ServerMsg::Event { event: Event::Chat { message }, .. } if message.id == message_id)
        });
        self.emit(Audience::All, Event::MessageDeleted { message_id }, now);
        Ok(())
    }

    /// `pin`: set (or, blank, clear) the pinned text.
    pub(in crate::room) fn pin(&mut self, text: Option<String>, now: Millis) -> R {
        self.info.pinned = clean_optional(text, 500, "pinned text", Lines::One)?;
        self.room_updated(now);
        Ok(())
    }

    // ----- helpers -----

    /// Whether member `i` may post now (chat: also slow mode).
    pub(in crate::room) fn can_post(&self, i: usize, now: Millis, chat: bool) -> R {
        let m = &self.members[i];
        match self.info.status {
            RoomStatus::Closed => return Err(RoomError::SessionEnded),
            RoomStatus::Paused if !m.role.is_facilitator() => return Err(RoomError::Paused),
            RoomStatus::AwaitingFacilitator if !m.role.is_facilitator() => {
                return Err(RoomError::AwaitingFacilitator)
            }
            _ => {}
        }
        if m.role.is_facilitator() {
            return Ok(());
        }
        if m.accepted_rules != self.rules.version {
            return Err(RoomError::RulesNotAccepted);
        }
        if m.muted {
            return Err(RoomError::Muted);
        }
        if chat && self.info.slow_mode_secs > 0 {
            if let Some(last) = m.last_post {
                let wait = self.info.slow_mode_secs as u64 * 1000;
                if now < last + wait {
                    return Err(RoomError::SlowMode {
                        wait_secs: (last + wait - now).div_ceil(1000),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The reaction `emoji` stands for, if it is one of [`REACTION_EMOJI`]
/// (surrounding spaces ignored; a bare U+2764 is the set's heart).
fn allowed_reaction(emoji: &str) -> Option<String> {
    let e = match emoji.trim() {
        "\u{2764}" => "\u{2764}\u{fe0f}",
        e => e,
    };
    REACTION_EMOJI
        .iter()
        .find(|r| **r == e)
        .map(|r| r.to_string())
}
