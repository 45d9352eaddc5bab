//! Calls: the room's call setting, joining and leaving the call, media
//! state, the targeted signal relay, and the facilitators' media controls.
//!
//! The model knows who is in the call and what each says of their media; the
//! media itself goes between browsers. A signal is relayed to one member as a
//! frame that is not a room event (no seq): it is never in history, never
//! replayed on resume, and reaches nobody else.

use crate::room::*;
use serde::{Deserialize, Serialize};

/// Who is in the room's call.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(in crate::room) struct CallState {
    /// In order of joining the call.
    pub(in crate::room) peers: Vec<CallPeer>,
    /// The member given the floor (spotlight).
    pub(in crate::room) floor: Option<String>,
}

impl Room {
    /// `set_call`: off ends the call for everyone; audio turns cameras off.
    pub(in crate::room) fn set_call(&mut self, mode: CallMode, now: Millis) -> R {
        if self.info.call == mode {
            return Ok(());
        }
        self.info.call = mode;
        match mode {
            CallMode::Off => {
                let ids: Vec<String> = self
                    .call
                    .peers
                    .iter()
                    .map(|p| p.member_id.clone())
                    .collect();
                for id in ids {
                    self.call_drop(&id, CallLeftReason::CallOff, now);
                }
            }
            CallMode::Audio => {
                for k in 0..self.call.peers.len() {
                    if self.call.peers[k].media.camera {
                        self.call.peers[k].media.camera = false;
                        self.media_changed(k, None, now);
                    }
                }
            }
            CallMode::Video => {}
        }
        self.room_updated(now);
        Ok(())
    }

    /// `join_call`: into the call with this mic and camera (again: afresh).
    pub(in crate::room) fn join_call(
        &mut self,
        i: usize,
        mic: bool,
        camera: bool,
        now: Millis,
    ) -> R {
        let m = &self.members[i];
        if self.info.status == RoomStatus::Closed {
            return Err(RoomError::SessionEnded);
        }
        if self.info.call == CallMode::Off {
            return Err(RoomError::CallOff);
        }
        if !m.role.is_facilitator() && m.accepted_rules != self.rules.version {
            return Err(RoomError::RulesNotAccepted);
        }
        let me = m.id.clone();
        let again = self.peer(&me).is_some();
        let max = self.limits.max_call_peers;
        if !again && self.call.peers.len() as u32 >= max {
            return Err(RoomError::CallFull { max });
        }
        let media = MediaState {
            mic,
            camera,
            speaking: false,
        };
        self.may_send_video(&me, &media)?;
        self.call.peers.retain(|p| p.member_id != me);
        self.call.peers.push(CallPeer {
            member_id: me.clone(),
            media,
        });
        self.emit(
            Audience::All,
            Event::CallJoined {
                member_id: me,
                media,
            },
            now,
        );
        Ok(())
    }

    /// `leave_call`.
    pub(in crate::room) fn leave_call(&mut self, i: usize, now: Millis) -> R {
        let me = self.members[i].id.clone();
        if self.peer(&me).is_none() {
            return Err(RoomError::NotInCall);
        }
        self.call_drop(&me, CallLeftReason::Left, now);
        Ok(())
    }

    /// `media_state`: one's own mic, camera and voice activity.
    pub(in crate::room) fn media_state(&mut self, i: usize, media: MediaState, now: Millis) -> R {
        let me = self.members[i].id.clone();
        let Some(k) = self.peer(&me) else {
            return Err(RoomError::NotInCall);
        };
        if self.call.peers[k].media == media {
            return Ok(());
        }
        self.may_send_video(&me, &media)?;
        self.call.peers[k].media = media;
        self.media_changed(k, None, now);
        Ok(())
    }

    /// `signal`: relay `data` to one other member of the call, and to nobody else.
    pub(in crate::room) fn signal(
        &mut self,
        i: usize,
        to: String,
        data: serde_json::Value,
        _now: Millis,
    ) -> R {
        let me = self.members[i].id.clone();
        if self.peer(&me).is_none() {
            return Err(RoomError::NotInCall);
        }
        if to == me {
            return Err(RoomError::SignalToSelf);
        }
        if self.peer(&to).is_none() {
            return Err(RoomError::PeerNotInCall);
        }
        match check_signal(&data) {
            Ok(()) => {}
            Err(SignalRefusal::TooLarge) => {
                return Err(RoomError::SignalTooLarge {
                    max: MAX_SIGNAL_BYTES,
                })
            }
            Err(SignalRefusal::Malformed(why)) => return Err(RoomError::BadSignal(why)),
        }
        // Not `emit`: no seq, no history, no replay.
        self.out.push(Out::Frame {
            audience: Audience::Members(vec![to]),
            msg: ServerMsg::Signal { from: me, data },
        });
        Ok(())
    }

    /// `mute_media` / `stop_video`: turn one member's mic or camera off for everyone.
    pub(in crate::room) fn force_media(
        &mut self,
        i: usize,
        member_id: String,
        video: bool,
        now: Millis,
    ) -> R {
        let by = self.members[i].id.clone();
        self.member_idx(&member_id)?;
        if member_id == by {
            return Err(RoomError::MuteSelf);
        }
        let Some(k) = self.peer(&member_id) else {
            return Err(RoomError::PeerNotInCall);
        };
        let media = &mut self.call.peers[k].media;
        let was = if video { media.camera } else { media.mic };
        if was {
            if video {
                media.camera = false;
            } else {
                media.mic = false;
                media.speaking = false;
            }
            self.media_changed(k, Some(by), now);
        }
        Ok(())
    }

    /// `mute_all`: every microphone in the call but the sender's.
    pub(in crate::room) fn mute_all(&mut self, i: usize, now: Millis) -> R {
        let by = self.members[i].id.clone();
        if self.info.call == CallMode::Off {
            return Err(RoomError::CallOff);
        }
        for k in 0..self.call.peers.len() {
            let p = &mut self.call.peers[k];
            if p.member_id != by && p.media.mic {
                p.media.mic = false;
                p.media.speaking = false;
                self.media_changed(k, Some(by.clone()), now);
            }
        }
        Ok(())
    }

    /// `give_floor`: spotlight a member of the call (their raised hand goes
    /// down: the queue fed the floor), or nobody.
    pub(in crate::room) fn give_floor(&mut self, member_id: Option<String>, now: Millis) -> R {
        if let Some(id) = &member_id {
            self.member_idx(id)?;
            if self.peer(id).is_none() {
                return Err(RoomError::PeerNotInCall);
            }
            if self.hands.contains(id) {
                self.hands.retain(|h| h != id);
                let queue = self.hands.clone();
                self.emit(Audience::All, Event::Hands { queue }, now);
            }
        }
        if self.call.floor != member_id {
            self.call.floor = member_id.clone();
            self.emit(Audience::All, Event::Floor { member_id }, now);
        }
        Ok(())
    }

    // ----- helpers -----

    /// The call as a snapshot shows it.
    pub(in crate::room) fn call_view(&self) -> (Vec<CallPeer>, Option<String>) {
        (self.call.peers.clone(), self.call.floor.clone())
    }

    /// Whether this member is in the call (its index there).
    pub(in crate::room) fn peer(&self, member: &str) -> Option<usize> {
        self.call.peers.iter().position(|p| p.member_id == member)
    }

    /// The member's media ends (left the call or the room, removed, call off):
    /// everyone is told at once. Nothing when they were not in the call.
    pub(in crate::room) fn call_drop(&mut self, member: &str, reason: CallLeftReason, now: Millis) {
        let Some(k) = self.peer(member) else {
            return;
        };
        self.call.peers.remove(k);
        self.emit(
            Audience::All,
            Event::CallLeft {
                member_id: member.to_string(),
                reason,
            },
            now,
        );
        if self.call.floor.as_deref() == Some(member) {
            self.call.floor = None;
            self.emit(Audience::All, Event::Floor { member_id: None }, now);
        }
    }

    /// The call's setting and size allow this member's camera to be on.
    fn may_send_video(&self, me: &str, media: &MediaState) -> R {
        if !media.camera {
            return Ok(());
        }
        if self.info.call != CallMode::Video {
            return Err(RoomError::AudioOnlyCall);
        }
        let max = self.limits.max_video_peers;
        let others = self
            .call
            .peers
            .iter()
            .filter(|p| p.member_id != me && p.media.camera)
            .count() as u32;
        if others >= max {
            return Err(RoomError::VideoFull { max });
        }
        Ok(())
    }

    fn media_changed(&mut self, k: usize, by: Option<String>, now: Millis) {
        let p = &self.call.peers[k];
        let event = Event::MediaState {
            member_id: p.member_id.clone(),
            media: p.media,
            by,
        };
        self.emit(Audience::All, event, now);
    }

    /// After a join of the call: the ICE servers for this connection's member
    /// (the host computes them; the model never holds the TURN secret). A reply,
    /// not an event. Returns the member id to compute them for, if in the call.
    pub fn call_member_of(&self, conn: &str) -> Option<String> {
        let i = self.idx_by_conn(conn)?;
        let id = &self.members[i].id;
        self.peer(id).map(|_| id.clone())
    }

    /// Send a `call_config` reply to one connection.
    pub fn send_call_config(
        &mut self,
        conn: &str,
        ice_servers: Vec<IceServer>,
        expires_at: Option<Millis>,
    ) {
        self.reply(
            conn,
            ServerMsg::CallConfig {
                ice_servers,
                expires_at,
            },
        );
    }
}
