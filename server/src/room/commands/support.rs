//! Support: support requests and distress (crisis resources first), one-on-one rooms,
//! invitations to share.

use crate::room::*;

/// How many support requests the queue holds (urgent open ones may exceed it: they are never dropped).
pub(in crate::room) const SUPPORT_QUEUE: usize = 200;

impl Room {
    /// `support_request`: ask the facilitators for support (with an optional note).
    pub(in crate::room) fn request_support(
        &mut self,
        i: usize,
        note: Option<String>,
        now: Millis,
    ) -> R {
        let note = clean_optional(note, 500, "note", Lines::Many)?;
        self.support_request(i, note, false, now);
        Ok(())
    }

    /// `distress`: an urgent support request; always allowed.
    pub(in crate::room) fn distress(&mut self, i: usize, now: Millis) -> R {
        self.support_request(i, None, true, now);
        Ok(())
    }

    /// `open_one_on_one`: ask the host for a one-on-one room for a support request.
    pub(in crate::room) fn open_one_on_one(&mut self, i: usize, request_id: String) -> R {
        let me = self.members[i].id.clone();
        let Some(req) = self.support.iter().find(|s| s.id == request_id) else {
            return Err(RoomError::NoSuchSupportRequest);
        };
        if req.room_id.is_some() {
            return Err(RoomError::OneOnOneAlreadyOpen);
        }
        self.effects.push(Effect::OpenOneOnOne {
            request_id,
            facilitator: me,
            participant: req.member_id.clone(),
            title: format!("One-on-one support: {}", req.name),
        });
        Ok(())
    }

    /// The host created the one-on-one room asked for by [`Effect::OpenOneOnOne`].
    pub fn one_on_one_opened(
        &mut self,
        request_id: &str,
        facilitator: &str,
        room_id: &str,
        facilitator_key: &str,
        now: Millis,
    ) {
        if self.info.kind == RoomKind::OnCall {
            self.alert_room_opened(request_id, facilitator, room_id, facilitator_key, now);
            return;
        }
        let Some(req) = self.support.iter_mut().find(|s| s.id == request_id) else {
            return;
        };
        req.room_id = Some(room_id.to_string());
        let participant = req.member_id.clone();
        let link = format!("/?room={room_id}");
        self.emit(
            Audience::Members(vec![participant]),
            Event::OneOnOne {
                request_id: request_id.to_string(),
                room_id: room_id.to_string(),
                link: link.clone(),
                facilitator_key: None,
            },
            now,
        );
        self.emit(
            Audience::Members(vec![facilitator.to_string()]),
            Event::OneOnOne {
                request_id: request_id.to_string(),
                room_id: room_id.to_string(),
                link,
                facilitator_key: Some(facilitator_key.to_string()),
            },
            now,
        );
    }

    /// `invite_to_share`: a private invitation to speak.
    pub(in crate::room) fn invite_to_share(
        &mut self,
        i: usize,
        member_id: String,
        now: Millis,
    ) -> R {
        let t = self.member_idx(&member_id)?;
        let invite_id = new_id();
        self.invites.push((invite_id.clone(), member_id.clone()));
        if self.invites.len() > 100 {
            self.invites.remove(0);
        }
        let from_name = self.members[i].name.clone();
        let target = self.members[t].id.clone();
        self.emit(
            Audience::Members(vec![target]),
            Event::ShareInvite {
                invite_id,
                from_name,
            },
            now,
        );
        Ok(())
    }

    /// `decline_share`: the invited member declines; facilitators are told.
    pub(in crate::room) fn decline_share(&mut self, i: usize, invite_id: String, now: Millis) -> R {
        let me = self.members[i].id.clone();
        let Some(p) = self
            .invites
            .iter()
            .position(|(id, m)| id == &invite_id && m == &me)
        else {
            return Err(RoomError::NoSuchInvitation);
        };
        self.invites.remove(p);
        self.emit_to_facilitators(
            Event::ShareDeclined {
                invite_id,
                member_id: me,
            },
            now,
        );
        Ok(())
    }

    // ----- helpers -----

    /// A support request from member `i`, or (`urgent`) a distress signal.
    /// A member has at most one open request (no one-on-one opened for it yet):
    /// a second one updates it (same id; a new note replaces the old one, and
    /// urgency is never taken back). The queue holds [`SUPPORT_QUEUE`]
    /// requests; beyond that the oldest handled ones go first, then the oldest
    /// ordinary open ones. Urgent open requests are never dropped.
    fn support_request(&mut self, i: usize, note: Option<String>, urgent: bool, now: Millis) {
        let m = &self.members[i];
        let conn = m.conn.clone().unwrap_or_default();
        let me = m.id.clone();
        let name = m.name.clone();
        // Help first: the resources go back in the reply, before anything else.
        self.reply(
            &conn,
            ServerMsg::Crisis {
                resources: self.crisis.clone(),
            },
        );
        let open = self
            .support
            .iter_mut()
            .find(|s| s.member_id == me && s.room_id.is_none());
        let request = match open {
            Some(req) => {
                req.urgent |= urgent;
                if note.is_some() {
                    req.note = note;
                }
                req.name = name;
                req.clone()
            }
            None => {
                let req = SupportRequest {
                    id: new_id(),
                    member_id: me.clone(),
                    name,
                    note,
                    urgent,
                    ts: now,
                    room_id: None,
                };
                self.support.push(req.clone());
                req
            }
        };
        self.bound_support_queue();
        let mut to = self.facilitator_ids();
        if !to.contains(&me) {
            to.push(me);
        }
        self.emit(
            Audience::Members(to),
            Event::SupportRequested {
                request: request.clone(),
            },
            now,
        );
        // Nobody here to answer it: the on-call desk will (commands/oncall.rs).
        self.raise_if_unstaffed(&request, now);
    }

    /// Keep the queue to [`SUPPORT_QUEUE`]: drop the oldest handled requests,
    /// then the oldest ordinary ones; never an urgent open one.
    fn bound_support_queue(&mut self) {
        while self.support.len() > SUPPORT_QUEUE {
            let victim = self
                .support
                .iter()
                .position(|s| s.room_id.is_some())
                .or_else(|| self.support.iter().position(|s| !s.urgent));
            match victim {
                Some(v) => {
                    self.support.remove(v);
                }
                None => break,
            }
        }
    }
}
