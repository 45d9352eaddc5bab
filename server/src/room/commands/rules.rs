//! Ground rules: accepting, setting and showing them; the welcome text.

use crate::room::*;

/// What a room created for a series' session carries from the series.
#[derive(Debug, Clone, Default)]
pub struct Carry {
    pub ground_rules: Option<Vec<String>>,
    /// Blank: none.
    pub welcome: Option<String>,
}

impl Room {
    /// `accept_rules`: the member accepts this version of the ground rules (the
    /// first time, the room's earlier messages follow if it shares them).
    pub(in crate::room) fn accept_rules(&mut self, i: usize, version: u32, now: Millis) -> R {
        if version != self.rules.version {
            return Err(RoomError::StaleRules);
        }
        let first = self.members[i].accepted_rules == 0;
        self.members[i].accepted_rules = version;
        self.member_updated(i, now);
        // Earlier messages (if the room shares them) come after the rules.
        if first {
            self.share_earlier_messages(i);
        }
        Ok(())
    }

    /// `set_ground_rules`: a new version; participants must accept it again.
    pub(in crate::room) fn set_ground_rules(&mut self, rules: Vec<String>, now: Millis) -> R {
        if rules.is_empty() || rules.len() > 20 {
            return Err(RoomError::RuleCount);
        }
        let rules = rules
            .iter()
            .map(|r| clean_text(r, 300, "ground rule", Lines::One))
            .collect::<Result<Vec<_>, _>>()?;
        self.rules = GroundRules {
            version: self.rules.version + 1,
            rules,
        };
        // Facilitators accept their own rules; participants are asked again.
        let v = self.rules.version;
        for m in self.members.iter_mut().filter(|m| m.role.is_facilitator()) {
            m.accepted_rules = v;
        }
        let rules = self.rules.clone();
        self.emit(Audience::All, Event::RulesUpdated { rules }, now);
        Ok(())
    }

    /// `show_ground_rules`: put the rules in front of everyone.
    pub(in crate::room) fn show_ground_rules(&mut self, now: Millis) -> R {
        let rules = self.rules.clone();
        self.emit(Audience::All, Event::RulesShown { rules }, now);
        Ok(())
    }

    /// Settings a new room takes from its series, before anyone joins
    /// (version 1 of its rules; no event).
    pub fn carry(&mut self, carry: &Carry) -> R {
        if let Some(rules) = &carry.ground_rules {
            if rules.is_empty() || rules.len() > 20 {
                return Err(RoomError::RuleCount);
            }
            let rules = rules
                .iter()
                .map(|r| clean_text(r, 300, "ground rule", Lines::One))
                .collect::<Result<Vec<_>, _>>()?;
            self.rules = GroundRules { version: 1, rules };
        }
        self.info.welcome_message =
            clean_optional(carry.welcome.clone(), 1000, "welcome", Lines::Many)?;
        Ok(())
    }

    /// `set_welcome`: set (or, blank, clear) the welcome text.
    pub(in crate::room) fn set_welcome(&mut self, text: Option<String>, now: Millis) -> R {
        self.info.welcome_message = clean_optional(text, 1000, "welcome", Lines::Many)?;
        self.room_updated(now);
        Ok(())
    }
}
