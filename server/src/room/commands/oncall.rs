//! Nobody is alone: support requests from a room with no live facilitator go
//! to the deployment's on-call desk.
//!
//! * **Room side.** A request raised while no facilitator or co-facilitator is
//!   online becomes an [`Effect::RaiseAlert`]; the room sends it again every
//!   [`ALERT_RETRY_MS`] until the desk confirms it (so neither a lost message
//!   nor an instance killed mid-alert loses it; the desk keeps one per id).
//!   The person hears where it stands ([`Event::SupportUpdate`]): on call,
//!   nobody on call (with the crisis lines), seen. When they leave, the alert
//!   is withdrawn.
//! * **Desk side** (the room of kind [`RoomKind::OnCall`], id
//!   [`ONCALL_DESK_ID`]): every supporter on call sees every open alert, one
//!   acknowledges (the others see who), and may open a private one-on-one
//!   room with the person. The desk's state is a room's state: kept by the
//!   broker, taken over like any room when its instance dies.

use crate::room::*;

/// How long a room waits for the desk's receipt before sending an alert again.
pub const ALERT_RETRY_MS: Millis = 5_000;

/// The desk keeps at most this many alerts (acknowledged ones go first).
const DESK_ALERTS: usize = 500;

impl Room {
    /// Whether a facilitator or co-facilitator is online.
    pub(in crate::room) fn staffed(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.online() && m.role.is_facilitator())
    }

    // ----- room side -----

    /// A support request was made or updated: with nobody to answer it here,
    /// send it to the on-call desk.
    pub(in crate::room) fn raise_if_unstaffed(&mut self, request: &SupportRequest, now: Millis) {
        if self.info.kind == RoomKind::OnCall {
            return;
        }
        // Already raised: it follows the desk (urgency and note updates go too).
        if self.staffed() && !self.raised.contains_key(&request.id) {
            return;
        }
        let received = self.raised.get(&request.id).is_some_and(|r| r.received);
        self.raised.insert(
            request.id.clone(),
            RaisedAlert {
                member_id: request.member_id.clone(),
                sent_at: now,
                received,
            },
        );
        self.effects.push(Effect::RaiseAlert {
            alert: self.alert_of(request),
        });
    }

    fn alert_of(&self, r: &SupportRequest) -> OnCallAlert {
        OnCallAlert {
            id: r.id.clone(),
            room_title: self.info.title.clone(),
            name: r.name.clone(),
            note: r.note.clone(),
            urgent: r.urgent,
            ts: r.ts,
            acked_by: None,
            room_opened: false,
        }
    }

    /// The earliest resend due (see [`Room::next_deadline`]).
    pub(in crate::room) fn next_alert_retry(&self) -> Option<Millis> {
        self.raised
            .values()
            .filter(|r| !r.received)
            .map(|r| r.sent_at + ALERT_RETRY_MS)
            .min()
    }

    /// Send again every alert the desk has not confirmed in time.
    pub(in crate::room) fn retry_alerts(&mut self, now: Millis) {
        let due: Vec<String> = self
            .raised
            .iter()
            .filter(|(_, r)| !r.received && r.sent_at + ALERT_RETRY_MS <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            match self.support.iter().find(|s| s.id == id).cloned() {
                Some(req) => {
                    if let Some(r) = self.raised.get_mut(&id) {
                        r.sent_at = now;
                    }
                    self.effects.push(Effect::RaiseAlert {
                        alert: self.alert_of(&req),
                    });
                }
                // Dropped from the queue meanwhile: nothing left to send.
                None => {
                    self.raised.remove(&id);
                }
            }
        }
    }

    /// The member left for good: their alerts leave the desk.
    pub(in crate::room) fn withdraw_alerts_of(&mut self, member_id: &str) {
        let gone: Vec<String> = self
            .raised
            .iter()
            .filter(|(_, r)| r.member_id == member_id)
            .map(|(id, _)| id.clone())
            .collect();
        for alert_id in gone {
            self.raised.remove(&alert_id);
            self.effects.push(Effect::WithdrawAlert { alert_id });
        }
    }

    /// The session ended: every alert of the room leaves the desk.
    pub(in crate::room) fn withdraw_all_alerts(&mut self) {
        for alert_id in std::mem::take(&mut self.raised).into_keys() {
            self.effects.push(Effect::WithdrawAlert { alert_id });
        }
    }

    /// What the desk answered about one of this room's alerts.
    pub fn desk_reply(&mut self, request_id: &str, reply: DeskReply, now: Millis) {
        let Some(raised) = self.raised.get_mut(request_id) else {
            return;
        };
        let member = raised.member_id.clone();
        let (state, message, supporters, by) = match reply {
            DeskReply::Received { supporters } => {
                if raised.received {
                    // A resend confirmed again: the person heard already.
                    return;
                }
                raised.received = true;
                if supporters == 0 {
                    (
                        SupportState::NobodyOnCall,
                        "No peer supporter is on call right now. Your request stays open and the first one to come on call will see it. If you need help now, the crisis lines are open.".to_string(),
                        Some(0),
                        None,
                    )
                } else {
                    (
                        SupportState::OnCallNotified,
                        "Your request reached the peer supporters on call. One of them will answer you here.".to_string(),
                        Some(supporters),
                        None,
                    )
                }
            }
            DeskReply::Unreachable => {
                if raised.received {
                    return;
                }
                (
                    SupportState::NobodyOnCall,
                    "We could not reach a peer supporter just now; we keep trying. If you need help now, the crisis lines are open.".to_string(),
                    None,
                    None,
                )
            }
            DeskReply::Seen { by } => {
                raised.received = true;
                (
                    SupportState::Seen,
                    format!("A peer supporter ({by}) has seen your request."),
                    None,
                    Some(by),
                )
            }
            DeskReply::RoomOpened { room_id } => {
                raised.received = true;
                if let Some(req) = self.support.iter_mut().find(|s| s.id == request_id) {
                    req.room_id = Some(room_id.clone());
                }
                self.emit(
                    Audience::Members(vec![member]),
                    Event::OneOnOne {
                        request_id: request_id.to_string(),
                        link: format!("/?room={room_id}"),
                        room_id,
                        facilitator_key: None,
                    },
                    now,
                );
                return;
            }
        };
        self.emit(
            Audience::Members(vec![member]),
            Event::SupportUpdate {
                request_id: request_id.to_string(),
                state,
                message,
                supporters,
                by,
            },
            now,
        );
    }

    // ----- desk side -----

    /// A verified on-call supporter joins the desk (the host checked the
    /// on-call credential; see `crate::oncall`). Any other room refuses.
    pub fn join_desk(
        &mut self,
        ctx: &JoinCtx,
        v: u32,
        name: &str,
        resume: Option<&Resume>,
        now: Millis,
    ) -> R {
        if self.info.kind != RoomKind::OnCall {
            return Err(RoomError::OnCallOnly);
        }
        self.desk_pass = true;
        let r = self.join(ctx, v, name, None, resume, now);
        self.desk_pass = false;
        r
    }

    /// Who may join: anyone elsewhere; at the desk, only through [`Room::join_desk`].
    pub(in crate::room) fn check_desk_join(&self) -> R {
        if self.info.kind == RoomKind::OnCall && !self.desk_pass {
            return Err(RoomError::OnCallOnly);
        }
        Ok(())
    }

    /// The desk's open alerts, as supporters see them.
    pub(in crate::room) fn desk_alerts(&self) -> Vec<OnCallAlert> {
        self.alerts.iter().map(|a| a.alert.clone()).collect()
    }

    fn supporters_on_call(&self) -> u32 {
        self.members.iter().filter(|m| m.online()).count() as u32
    }

    /// An alert from a room (new, updated, or sent again): kept once per id.
    pub fn desk_alert(&mut self, origin_room: &str, alert: OnCallAlert, now: Millis) {
        if self.info.kind != RoomKind::OnCall {
            return;
        }
        let id = alert.id.clone();
        let seen_by = match self.alerts.iter_mut().find(|a| a.alert.id == id) {
            Some(held) => {
                let changed = held.alert.urgent != (held.alert.urgent | alert.urgent)
                    || (alert.note.is_some() && held.alert.note != alert.note);
                held.alert.urgent |= alert.urgent;
                if alert.note.is_some() {
                    held.alert.note = alert.note;
                }
                let view = held.alert.clone();
                let by = view.acked_by.clone();
                if changed {
                    self.emit(Audience::All, Event::Alert { alert: view }, now);
                }
                by
            }
            None => {
                let alert = OnCallAlert {
                    acked_by: None,
                    room_opened: false,
                    ..alert
                };
                self.alerts.push(DeskAlert {
                    alert: alert.clone(),
                    origin_room: origin_room.to_string(),
                    acked_member: None,
                });
                self.bound_alerts();
                self.emit(Audience::All, Event::Alert { alert }, now);
                None
            }
        };
        let supporters = self.supporters_on_call();
        self.effects.push(Effect::DeskReply {
            origin_room: origin_room.to_string(),
            request_id: id.clone(),
            reply: DeskReply::Received { supporters },
        });
        if let Some(by) = seen_by {
            self.effects.push(Effect::DeskReply {
                origin_room: origin_room.to_string(),
                request_id: id,
                reply: DeskReply::Seen { by },
            });
        }
    }

    /// The person behind an alert left: it closes.
    pub fn desk_withdraw(&mut self, alert_id: &str, now: Millis) {
        let before = self.alerts.len();
        self.alerts.retain(|a| a.alert.id != alert_id);
        if self.alerts.len() != before {
            self.emit(
                Audience::All,
                Event::AlertClosed {
                    alert_id: alert_id.to_string(),
                    reason: AlertClosedReason::PersonLeft,
                },
                now,
            );
        }
    }

    /// `ack_alert`: this supporter answers it; the person is told.
    pub(in crate::room) fn ack_alert(&mut self, i: usize, alert_id: &str, now: Millis) -> R {
        let me = self.members[i].id.clone();
        let name = self.members[i].name.clone();
        let a = self.desk_alert_idx(alert_id)?;
        match self.alerts[a].acked_member.as_deref() {
            Some(m) if m == me => return Ok(()),
            Some(_) => return Err(RoomError::AlertTaken),
            None => {}
        }
        let held = &mut self.alerts[a];
        held.acked_member = Some(me);
        held.alert.acked_by = Some(name.clone());
        let (view, origin) = (held.alert.clone(), held.origin_room.clone());
        self.emit(Audience::All, Event::Alert { alert: view }, now);
        self.effects.push(Effect::DeskReply {
            origin_room: origin,
            request_id: alert_id.to_string(),
            reply: DeskReply::Seen { by: name },
        });
        Ok(())
    }

    /// `open_alert_room`: a private room with the person (acknowledging first).
    pub(in crate::room) fn open_alert_room(&mut self, i: usize, alert_id: &str, now: Millis) -> R {
        let a = self.desk_alert_idx(alert_id)?;
        if self.alerts[a].alert.room_opened {
            return Err(RoomError::OneOnOneAlreadyOpen);
        }
        self.ack_alert(i, alert_id, now)?;
        let name = self.alerts[self.desk_alert_idx(alert_id)?]
            .alert
            .name
            .clone();
        self.effects.push(Effect::OpenOneOnOne {
            request_id: alert_id.to_string(),
            facilitator: self.members[i].id.clone(),
            participant: String::new(),
            title: format!("One-on-one support: {name}"),
        });
        Ok(())
    }

    /// The host created the private room for an alert ([`Room::one_on_one_opened`] at the desk).
    pub(in crate::room) fn alert_room_opened(
        &mut self,
        alert_id: &str,
        supporter: &str,
        room_id: &str,
        facilitator_key: &str,
        now: Millis,
    ) {
        let Ok(a) = self.desk_alert_idx(alert_id) else {
            return;
        };
        self.alerts[a].alert.room_opened = true;
        let (view, origin) = (
            self.alerts[a].alert.clone(),
            self.alerts[a].origin_room.clone(),
        );
        self.emit(Audience::All, Event::Alert { alert: view }, now);
        self.emit(
            Audience::Members(vec![supporter.to_string()]),
            Event::OneOnOne {
                request_id: alert_id.to_string(),
                room_id: room_id.to_string(),
                link: format!("/?room={room_id}"),
                facilitator_key: Some(facilitator_key.to_string()),
            },
            now,
        );
        self.effects.push(Effect::DeskReply {
            origin_room: origin,
            request_id: alert_id.to_string(),
            reply: DeskReply::RoomOpened {
                room_id: room_id.to_string(),
            },
        });
    }

    fn desk_alert_idx(&self, alert_id: &str) -> Result<usize, RoomError> {
        if self.info.kind != RoomKind::OnCall {
            return Err(RoomError::OnCallOnly);
        }
        self.alerts
            .iter()
            .position(|a| a.alert.id == alert_id)
            .ok_or(RoomError::NoSuchAlert)
    }

    fn bound_alerts(&mut self) {
        while self.alerts.len() > DESK_ALERTS {
            let victim = self
                .alerts
                .iter()
                .position(|a| a.acked_member.is_some())
                .unwrap_or(0);
            self.alerts.remove(victim);
        }
    }

    /// A command at the desk: only these make sense there.
    pub(in crate::room) fn handle_desk(
        &mut self,
        i: usize,
        conn: &str,
        cmd: ClientMsg,
        now: Millis,
    ) -> R {
        match cmd {
            ClientMsg::Ping { t } => self.ping(conn, t, now),
            ClientMsg::Leave => self.leave(i, now),
            ClientMsg::AckAlert { alert_id } => self.ack_alert(i, &alert_id, now),
            ClientMsg::OpenAlertRoom { alert_id } => self.open_alert_room(i, &alert_id, now),
            ClientMsg::Join { .. } => Err(RoomError::AlreadyJoined),
            _ => Err(RoomError::NotAtDesk),
        }
    }
}
