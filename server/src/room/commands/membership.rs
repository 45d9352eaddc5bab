//! Membership: join (fresh, lobby, waiting room, resume), the welcome and snapshot,
//! ping, leave, disconnect, a lost instance, and removing a member from the roster.

use crate::room::commands::history::{json_len, FRAME_SLACK};
use crate::room::text::NameKey;
use crate::room::*;
use std::collections::BTreeSet;

impl Room {
    /// A `join` frame from a connection.
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &mut self,
        ctx: &JoinCtx,
        v: u32,
        name: &str,
        facilitator_key: Option<&str>,
        resume: Option<&Resume>,
        now: Millis,
    ) -> R {
        if v != PROTOCOL_VERSION {
            return Err(RoomError::VersionMismatch);
        }
        if self.idx_by_conn(&ctx.conn).is_some() || self.pending.iter().any(|p| p.conn == ctx.conn)
        {
            return Err(RoomError::ConnectionAlreadyJoined);
        }
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        let mut expired = None;
        if let Some(r) = resume {
            if self.removed_tokens.contains(&hash_secret(&r.token)) {
                self.removed_tried_again(|x| x.member_id == r.member_id, now);
                return Err(RoomError::Removed);
            }
            if let Some(i) = self.idx(&r.member_id) {
                if secret_matches(&r.token, &self.members[i].token_hash) {
                    self.resume(i, ctx, r, now);
                    return Ok(());
                }
                return Err(RoomError::BadResume);
            }
            if self.removed_members.contains(&r.member_id) {
                return Err(RoomError::Removed);
            }
            if let Some(d) = self.departed.iter().position(|m| m.id == r.member_id) {
                if !secret_matches(&r.token, &self.departed[d].token_hash) {
                    return Err(RoomError::BadResume);
                }
                if self.departed[d].grace_expired {
                    // Gone for good after the grace period: a new member (new
                    // id), joining like anyone; the old token is then used up.
                    expired = Some(d);
                } else {
                    // Back as themselves (their instance died): into the roster
                    // again, shown online, then the missed events.
                    let mut rec = self.departed.remove(d).unwrap_or_else(|| unreachable!());
                    rec.conn = None;
                    rec.disconnected_at = None;
                    rec.order = self.next_order();
                    let mut member = rec.view(self.lead.as_deref());
                    member.online = true;
                    self.members.push(rec);
                    let i = self.members.len() - 1;
                    if self.batching() {
                        self.presence_joined(i, now);
                    } else {
                        self.emit(Audience::All, Event::MemberJoined { member }, now);
                    }
                    self.resume(i, ctx, r, now);
                    return Ok(());
                }
            }
            // Unknown member (left long ago, or history lost): join afresh below.
        }
        // A blank name in a resume that comes back as a new member: the old name.
        let name = match expired {
            Some(d) if name.trim().is_empty() => self.departed[d].name.clone(),
            _ => name.to_string(),
        };
        let name = clean_name(&name, self.limits.max_name)?;
        self.check_desk_join()?;
        let role = match facilitator_key {
            Some(k) if self.facilitator_key_matches(k) => Role::Facilitator,
            Some(_) => return Err(RoomError::BadFacilitatorKey),
            None => Role::Participant,
        };
        let fac = role.is_facilitator();
        if !fac {
            if let Some(d) = &ctx.device_hash {
                if self.removed_tried_again(|x| x.device_hash.as_ref() == Some(d), now) {
                    return Err(RoomError::Removed);
                }
            }
            if let Some(a) = &ctx.account_id {
                if self.removed_tried_again(|x| x.account_id.as_ref() == Some(a), now) {
                    return Err(RoomError::Removed);
                }
            }
            if ctx
                .addr_hash
                .as_ref()
                .is_some_and(|a| self.removed_addrs.contains(a))
            {
                return Err(RoomError::Removed);
            }
            if self.info.locked {
                return Err(RoomError::Locked);
            }
            let cap = self
                .info
                .capacity
                .unwrap_or(self.limits.max_members)
                .min(self.limits.max_members);
            if self.members.len() as u32 + self.pending.len() as u32 >= cap {
                return Err(RoomError::Full);
            }
        }
        let name_key = NameKey::of(&name);
        if self.name_taken(&name_key) {
            return Err(RoomError::NameTaken);
        }
        if let Some(d) = expired {
            self.departed.remove(d);
        }
        let member_id = new_id();
        let why = if fac {
            None
        } else if self.info.status == RoomStatus::Scheduled {
            Some(PendingWhy::Lobby)
        } else if self.info.waiting_room {
            Some(PendingWhy::WaitingRoom)
        } else {
            None
        };
        let p = Pending {
            member_id,
            name,
            name_key,
            conn: ctx.conn.clone(),
            instance: ctx.instance.clone(),
            role,
            addr_hash: ctx.addr_hash.clone(),
            why: why.unwrap_or(PendingWhy::Lobby),
            device_hash: ctx.device_hash.clone(),
            account_id: ctx.account_id.clone(),
        };
        match why {
            None => self.admit_pending(p, now),
            Some(PendingWhy::Lobby) => {
                let starts_at = self.info.starts_at.unwrap_or(now);
                let conn = p.conn.clone();
                self.pending.push(p);
                self.reply(
                    &conn,
                    ServerMsg::Lobby {
                        room_id: self.info.id.clone(),
                        starts_at,
                    },
                );
            }
            Some(PendingWhy::WaitingRoom) => {
                let conn = p.conn.clone();
                self.pending.push(p);
                self.reply(
                    &conn,
                    ServerMsg::Waiting {
                        room_id: self.info.id.clone(),
                    },
                );
                self.waiting_changed(now);
            }
        }
        Ok(())
    }

    /// The connection is gone (closed, dropped, instance died). The member
    /// stays in the roster as offline for the grace period, awaiting resume.
    pub fn disconnect(&mut self, conn: &str, now: Millis) {
        if let Some(pi) = self.pending.iter().position(|p| p.conn == conn) {
            let p = self.pending.remove(pi);
            if p.why == PendingWhy::WaitingRoom {
                self.waiting_changed(now);
            }
            return;
        }
        if let Some(i) = self.idx_by_conn(conn) {
            self.members[i].conn = None;
            self.members[i].disconnected_at = Some(now);
            self.member_updated(i, now);
            self.check_moderation(now);
        }
    }

    /// Every member connected through `instance` is gone (the instance died):
    /// they leave the roster at once (no ghosts) and may still resume.
    pub fn instance_lost(&mut self, instance: &str, now: Millis) {
        self.pending.retain(|p| p.instance != instance);
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.instance == instance && m.online())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            if let Some(i) = self.idx(&id) {
                self.members[i].conn = None;
                self.remove_member(i, LeaveReason::Disconnected, now);
            }
        }
        self.waiting_changed(now);
    }

    /// `ping`: a pong with the server time, to this connection only.
    pub(in crate::room) fn ping(&mut self, conn: &str, t: u64, now: Millis) -> R {
        self.reply(
            conn,
            ServerMsg::Pong {
                t,
                server_time: now,
            },
        );
        Ok(())
    }

    /// `leave`: the member leaves for good (no resume).
    pub(in crate::room) fn leave(&mut self, i: usize, now: Millis) -> R {
        self.remove_member(i, LeaveReason::Left, now);
        Ok(())
    }

    // ----- helpers -----

    /// Whether someone in the room (or waiting to enter) has a name that looks
    /// like this one (see [`NameKey`]).
    fn name_taken(&self, key: &NameKey) -> bool {
        let of = |k: &NameKey, name: &str| {
            if k.is_unset() {
                NameKey::of(name).collides(key)
            } else {
                k.collides(key)
            }
        };
        self.members.iter().any(|m| of(&m.name_key, &m.name))
            || self.pending.iter().any(|p| of(&p.name_key, &p.name))
    }

    pub(in crate::room) fn admit_pending(&mut self, p: Pending, now: Millis) {
        let token = new_secret();
        let fac = p.role.is_facilitator();
        let rec = MemberRec {
            id: p.member_id,
            name: p.name,
            name_key: p.name_key,
            role: p.role,
            creator: p.role == Role::Facilitator,
            conn: Some(p.conn),
            instance: p.instance,
            muted: false,
            accepted_rules: if fac { self.rules.version } else { 0 },
            token_hash: hash_secret(&token),
            addr_hash: p.addr_hash,
            joined_at: now,
            sees_from: self.seq,
            last_post: None,
            messages: 0,
            disconnected_at: None,
            personal_mutes: BTreeSet::new(),
            grace_expired: false,
            device_hash: p.device_hash,
            account_id: p.account_id,
            order: self.next_order(),
        };
        // The first member to join with the key (or the next, once the seat is
        // vacant) is the lead.
        let lead = p.role == Role::Facilitator && self.lead_seat_vacant();
        if lead {
            self.lead = Some(rec.id.clone());
        }
        if fac && self.members.is_empty() {
            // Nobody else is here to be told: the room opens in the welcome.
            self.open_quietly(now);
        }
        self.members.push(rec);
        let i = self.members.len() - 1;
        self.presence_joined(i, now);
        self.welcome(i, token, false, now);
        if lead {
            self.lead_is_back(now);
        }
        if fac {
            self.facilitator_present(now);
        }
    }

    fn resume(&mut self, i: usize, ctx: &JoinCtx, r: &Resume, now: Millis) {
        if let Some(old) = self.members[i].conn.take() {
            self.out.push(Out::Control(Control::Close {
                conn: old,
                code: 4000,
                reason: "resumed on another connection".into(),
            }));
        }
        let was_offline = self.members[i].disconnected_at.is_some();
        self.members[i].conn = Some(ctx.conn.clone());
        self.members[i].instance = ctx.instance.clone();
        self.members[i].disconnected_at = None;
        if ctx.device_hash.is_some() {
            self.members[i].device_hash = ctx.device_hash.clone();
        }
        let member = self.members[i].id.clone();
        // Tokens rotate on every (re)connect; a resume token is good for one use.
        let token = new_secret();
        self.members[i].token_hash = hash_secret(&token);
        let first = self.history.front().map(|h| h.seq).unwrap_or(self.seq + 1);
        let covered = r.epoch == self.epoch
            && r.last_seq <= self.seq
            && (r.last_seq + 1 >= first || r.last_seq == self.seq);
        if covered {
            self.out.push(Out::Control(Control::Bind {
                conn: ctx.conn.clone(),
                member: member.clone(),
            }));
            let missed: Vec<ServerMsg> = self
                .history
                .iter()
                .filter(|h| h.seq > r.last_seq && h.audience.includes(&member))
                .filter(|h| !self.hidden_from(i, &h.msg))
                .map(|h| h.msg.clone())
                .collect();
            for msg in missed {
                self.reply(&ctx.conn, msg);
            }
            let you = You {
                member_id: member.clone(),
                role: self.members[i].role,
                resume_token: token,
            };
            self.reply(
                &ctx.conn,
                ServerMsg::Resumed {
                    you,
                    from_seq: r.last_seq,
                    to_seq: self.seq,
                    server_time: now,
                },
            );
        } else {
            self.welcome(i, token, true, now);
        }
        if was_offline {
            self.member_updated(i, now);
        }
        if self.is_lead(&member) {
            self.lead_is_back(now);
        }
        if self.members[i].role.is_facilitator() {
            self.facilitator_present(now);
        }
    }

    fn welcome(&mut self, i: usize, token: String, history_reset: bool, now: Millis) {
        let m = &self.members[i];
        let conn = m.conn.clone().unwrap_or_default();
        let you = You {
            member_id: m.id.clone(),
            role: m.role,
            resume_token: token,
        };
        let room = Box::new(self.snapshot_for(&you.member_id));
        self.out.push(Out::Control(Control::Bind {
            conn: conn.clone(),
            member: you.member_id.clone(),
        }));
        self.reply(
            &conn,
            ServerMsg::Welcome {
                v: PROTOCOL_VERSION,
                you,
                room,
                server_time: now,
                history_reset,
            },
        );
    }

    /// The snapshot a member's `welcome` carries: the messages they may read,
    /// newest first within [`HISTORY_BUDGET_BYTES`] and what the rest of the
    /// welcome leaves of [`MAX_ROOM_FRAME_BYTES`].
    pub(in crate::room) fn snapshot_for(&self, member: &str) -> RoomSnapshot {
        let me = self.idx(member);
        let fac = me.is_some_and(|i| self.members[i].role.is_facilitator());
        let muted: Vec<String> = me
            .map(|i| self.members[i].personal_mutes.iter().cloned().collect())
            .unwrap_or_default();
        let (roster, roster_page) = self.welcome_roster(me);
        let mut snap = RoomSnapshot {
            info: self.info.clone(),
            rules: self.rules.clone(),
            roster,
            messages: Vec::new(),
            timers: self.timers.clone(),
            energizer: self.energizer.clone(),
            highlights: self.highlights.clone(),
            energy_check: self.energy.as_ref().map(|e| e.check.clone()),
            hands: self.hands.clone(),
            parking_lot: self.parking.clone(),
            waiting: if fac { self.waiting_view() } else { vec![] },
            support_requests: if fac {
                self.support.clone()
            } else {
                self.support
                    .iter()
                    .filter(|s| s.member_id == member)
                    .cloned()
                    .collect()
            },
            crisis_resources: self.crisis.clone(),
            personally_muted: muted,
            seq: self.seq,
            epoch: self.epoch.clone(),
            lead_id: self.lead.clone().filter(|l| self.idx(l).is_some()),
            next_before_seq: None,
            alerts: self.desk_alerts(),
            call: self.call_view().0,
            floor: self.call_view().1,
            roster_page,
        };
        if let Some(i) = me {
            let cap = MAX_ROOM_FRAME_BYTES.saturating_sub(json_len(&snap) + FRAME_SLACK);
            let budget = HISTORY_BUDGET_BYTES.min(cap);
            let limit = self.limits.recent_messages;
            let (messages, next) = self.page(i, u64::MAX, limit, budget, cap);
            snap.messages = messages;
            snap.next_before_seq = next;
        }
        snap
    }

    pub(in crate::room) fn remove_member(&mut self, i: usize, reason: LeaveReason, now: Millis) {
        let m = self.members.remove(i);
        self.hands.retain(|h| h != &m.id);
        self.call_drop(&m.id, CallLeftReason::LeftRoom, now);
        // Gone for good (not a lost instance, whose members may resume as
        // themselves): the lead's seat is vacant, a takeover is over.
        let may_return = reason == LeaveReason::Disconnected && !m.grace_expired;
        if !may_return && self.is_lead(&m.id) {
            self.lead = None;
        }
        if self.takeover.as_deref() == Some(m.id.as_str()) {
            self.takeover = None;
        }
        if !may_return {
            self.withdraw_alerts_of(&m.id);
        }
        if let Some(conn) = m.conn.clone() {
            if reason == LeaveReason::Removed {
                // Tell them, then close.
                self.tell_error(&conn, &RoomError::RemovedByFacilitator, None);
                self.out.push(Out::Control(Control::Close {
                    conn,
                    code: 4001,
                    reason: "removed".into(),
                }));
            }
        }
        self.presence_left(&m.id, reason, now);
        if reason == LeaveReason::Removed {
            self.removed_tokens.insert(m.token_hash.clone());
            self.removed_members.insert(m.id.clone());
            if let Some(a) = &m.addr_hash {
                self.removed_addrs.insert(a.clone());
            }
            self.removals.push(Removal {
                member_id: m.id.clone(),
                name: m.name.clone(),
                device_hash: m.device_hash.clone(),
                noticed_at: None,
                account_id: m.account_id.clone(),
                token_hash: Some(m.token_hash.clone()),
                addr_hash: m.addr_hash.clone(),
            });
        } else if reason == LeaveReason::Disconnected {
            self.departed.push_back(m);
            while self.departed.len() > 500 {
                self.departed.pop_front();
            }
        }
        self.check_moderation(now);
    }
}
