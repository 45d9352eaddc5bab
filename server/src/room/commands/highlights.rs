//! Highlights: add, edit, remove, and agreeing with one.

use crate::room::*;

impl Room {
    /// `highlight`: from a message or a text.
    pub(in crate::room) fn highlight(
        &mut self,
        tag: HighlightTag,
        message_id: Option<String>,
        text: Option<String>,
        now: Millis,
    ) -> R {
        let text = match (&message_id, text) {
            (Some(mid), t) => {
                let Some(m) = self.messages.iter().find(|m| &m.id == mid) else {
                    return Err(RoomError::NoSuchMessage);
                };
                match t {
                    Some(t) if !t.trim().is_empty() => {
                        clean_text(&t, 500, "highlight", Lines::Many)?
                    }
                    _ => quote(&m.text, "highlight")?,
                }
            }
            (None, Some(t)) => clean_text(&t, 500, "highlight", Lines::Many)?,
            (None, None) => return Err(RoomError::MessageOrText),
        };
        if self.highlights.len() >= 100 {
            return Err(RoomError::TooManyHighlights);
        }
        let highlight = Highlight {
            id: new_id(),
            tag,
            text,
            message_id,
            agreed: vec![],
        };
        self.highlights.push(highlight.clone());
        self.emit(Audience::All, Event::Highlight { highlight }, now);
        Ok(())
    }

    /// `edit_highlight`: change its tag and/or text.
    pub(in crate::room) fn edit_highlight(
        &mut self,
        highlight_id: String,
        tag: Option<HighlightTag>,
        text: Option<String>,
        now: Millis,
    ) -> R {
        let text = match text {
            Some(t) => Some(clean_text(&t, 500, "highlight", Lines::Many)?),
            None => None,
        };
        let Some(h) = self.highlights.iter_mut().find(|h| h.id == highlight_id) else {
            return Err(RoomError::NoSuchHighlight);
        };
        if let Some(t) = tag {
            h.tag = t;
        }
        if let Some(t) = text {
            h.text = t;
        }
        let highlight = h.clone();
        self.emit(Audience::All, Event::Highlight { highlight }, now);
        Ok(())
    }

    /// `remove_highlight`.
    pub(in crate::room) fn remove_highlight(&mut self, highlight_id: String, now: Millis) -> R {
        let before = self.highlights.len();
        self.highlights.retain(|h| h.id != highlight_id);
        if before == self.highlights.len() {
            return Err(RoomError::NoSuchHighlight);
        }
        self.emit(Audience::All, Event::HighlightRemoved { highlight_id }, now);
        Ok(())
    }

    /// `agree` / `unagree`: once per member, idempotent.
    pub(in crate::room) fn agree(
        &mut self,
        i: usize,
        highlight_id: &str,
        on: bool,
        now: Millis,
    ) -> R {
        let me = self.members[i].id.clone();
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        let Some(h) = self.highlights.iter_mut().find(|h| h.id == highlight_id) else {
            return Err(RoomError::NoSuchHighlight);
        };
        let had = h.agreed.contains(&me);
        if on == had {
            return Ok(()); // idempotent: once each
        }
        if on {
            h.agreed.push(me);
        } else {
            h.agreed.retain(|a| *a != me);
        }
        let highlight = h.clone();
        self.emit(Audience::All, Event::Highlight { highlight }, now);
        Ok(())
    }
}
