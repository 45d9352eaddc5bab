//! One task per room hosted here: it owns the room's model, applies its
//! commands in order, fires its timers, and flushes its output as batches of
//! frames serialized once.

use super::Rooms;
use crate::broker::{Delivery, FrameText, RoomCmd, RoomMeta};
use crate::media::IceConfig;
use crate::now_ms;
use crate::room::{Audience, Effect, JoinCtx, Out, Room};
use huddle_protocol::*;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Joins applied at most between two flushes (each may build a welcome).
const JOINS_PER_FLUSH: usize = 8;

/// The same in a big room, whose welcomes carry one page of the roster and
/// whose joins are told as one `members_changed` per flush.
const BIG_ROOM_JOINS_PER_FLUSH: usize = 128;

/// Serialize a model's output once per frame: the batch every receiver shares.
pub fn serialize(out: Vec<Out>) -> Vec<Delivery> {
    out.into_iter()
        .filter_map(|o| match o {
            Out::Frame { audience, msg } => match serde_json::to_string(&msg) {
                Ok(t) => Some(Delivery::Frame {
                    // Events replayed to one connection (resume) are replies:
                    // not history again, and never deduplicated away by seq.
                    seq: match msg {
                        ServerMsg::Event { seq, .. } if !matches!(audience, Audience::Conn(_)) => {
                            Some(seq)
                        }
                        _ => None,
                    },
                    audience,
                    light: !matches!(
                        msg,
                        ServerMsg::Event { ref event, .. }
                            if !matches!(event, Event::Chat { .. } | Event::Reaction { .. })
                    ),
                    // The String's buffer becomes the shared frame: no copy.
                    text: FrameText::from(t),
                }),
                Err(e) => {
                    tracing::error!(error = %e, "could not serialize a frame");
                    None
                }
            },
            Out::Control(c) => Some(Delivery::Control(c)),
        })
        .collect()
}

/// Apply one command to the model; true when it was refused (an error frame went back).
fn apply(room: &mut Room, cmd: RoomCmd, now: Millis, ice: &IceConfig) -> bool {
    match cmd {
        RoomCmd::Join {
            conn,
            instance,
            addr_hash,
            v,
            name,
            facilitator_key,
            resume,
            device_hash,
            oncall,
            account_id,
        } => {
            let ctx = JoinCtx {
                conn: conn.clone(),
                instance,
                addr_hash,
                device_hash,
                account_id,
            };
            let joined = if oncall {
                room.join_desk(&ctx, v, &name, resume.as_ref(), now)
            } else {
                room.join(
                    &ctx,
                    v,
                    &name,
                    facilitator_key.as_deref(),
                    resume.as_ref(),
                    now,
                )
            };
            if let Err(e) = joined {
                room.refuse(&conn, &e, "join");
                return true;
            }
        }
        RoomCmd::Client { conn, msg } => {
            let t = msg.type_name();
            let join_call = matches!(msg, ClientMsg::JoinCall { .. });
            if let Err(e) = room.handle(&conn, msg, now) {
                room.refuse(&conn, &e, t);
                return true;
            }
            // Into the call: this member's ICE servers (TURN credentials are
            // computed here, outside the model, and go to this connection only).
            if let Some(member) = join_call.then(|| room.call_member_of(&conn)).flatten() {
                let (servers, expires_at) = ice.servers_for(&member, now);
                room.send_call_config(&conn, servers, expires_at);
            }
        }
        RoomCmd::Disconnect { conn } => room.disconnect(&conn, now),
        RoomCmd::InstancesLost { instances } => {
            for i in instances {
                room.instance_lost(&i, now);
            }
        }
        RoomCmd::Release => {}
        RoomCmd::DeskAlert { origin_room, alert } => room.desk_alert(&origin_room, alert, now),
        RoomCmd::DeskWithdraw { alert_id } => room.desk_withdraw(&alert_id, now),
        RoomCmd::DeskReply { request_id, reply } => room.desk_reply(&request_id, reply, now),
        RoomCmd::OwnerKey { key_hash } => room.owner_set_key(key_hash, now),
        RoomCmd::LiftBar { member_id } => room.lift_bar(&member_id),
        RoomCmd::BarredTried {
            device_hash,
            account_id,
        } => room.barred_tried(device_hash.as_deref(), account_id.as_deref(), now),
    }
    false
}

/// Why a room's actor stopped.
pub enum ActorEnd {
    /// Retention is over: the room is gone for good.
    Expired,
    /// Ownership moved to another instance (or this one is shutting down).
    Released,
}

/// Hand a batch to this instance's sessions, then to the broker (the other
/// instances, and what must survive this one).
async fn flush(rooms: &Rooms, room: &Room, out: Vec<Out>) {
    let batch = Arc::new(serialize(out));
    rooms.deliver_local(&room.info().id, &batch);
    rooms.broker.publish(room, batch).await;
}

/// The life of a room on its owning instance.
pub async fn run_actor(
    rooms: Arc<Rooms>,
    mut room: Room,
    mut rx: mpsc::Receiver<RoomCmd>,
) -> ActorEnd {
    let id = room.info().id.clone();
    let retention = Duration::from_secs(rooms.cfg.retention_mins * 60);
    let mut last_meta = RoomMeta::of(&room);
    rooms.broker.store_meta(&id, &last_meta).await;
    let mut idle_since = tokio::time::Instant::now();
    // A room nobody ever joined goes after --unjoined-room-ttl-mins, counted
    // from now (its creation, or its arrival here) or its scheduled start.
    let unjoined_ttl_ms = (rooms.cfg.unjoined_room_ttl_mins * 60_000.0) as u64;
    let unjoined_from = now_ms().max(room.info().starts_at.unwrap_or(0));
    let mut ever_joined = room.seq() > 0 || room.member_count() > 0;
    // The on-call desk lives as long as the deployment.
    let desk = room.info().kind == RoomKind::OnCall;
    let ice = rooms.ice();
    let mut presence = tokio::time::interval(Duration::from_secs(2));
    presence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = room.next_deadline().map(|d| {
            let wait = d.saturating_sub(now_ms());
            tokio::time::Instant::now() + Duration::from_millis(wait)
        });
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { return ActorEnd::Released };
                let now = now_ms();
                let mut release = matches!(cmd, RoomCmd::Release);
                let mut joins = matches!(cmd, RoomCmd::Join { .. }) as usize;
                let mut refused = apply(&mut room, cmd, now, &ice) as u64;
                // Drain what is already queued: one flush (one publish) per
                // burst. A join's welcome is the room's whole snapshot: a few
                // per flush, so a join storm never holds hundreds of them at once
                // (more in a big room, whose welcome carries one roster page).
                let mut n = 0;
                let max_joins = if room.is_big() { BIG_ROOM_JOINS_PER_FLUSH } else { JOINS_PER_FLUSH };
                while n < 256 && !release && joins < max_joins {
                    match rx.try_recv() {
                        Ok(cmd) => {
                            release = matches!(cmd, RoomCmd::Release);
                            joins += matches!(cmd, RoomCmd::Join { .. }) as usize;
                            refused += apply(&mut room, cmd, now, &ice) as u64;
                        }
                        Err(_) => break,
                    }
                    n += 1;
                }
                rooms.metrics.errors_sent.fetch_add(refused, Relaxed);
                ever_joined = ever_joined || room.member_count() > 0;
                if release {
                    // Stop taking commands from other instances, then apply those
                    // already here: nothing sent to the room is lost in the handover.
                    rooms.broker.close_intake(&id).await;
                    while let Ok(cmd) = rx.try_recv() {
                        apply(&mut room, cmd, now_ms(), &ice);
                    }
                    let out = room.take_output();
                    if !out.is_empty() {
                        flush(&rooms, &room, out).await;
                    }
                    rooms.broker.persist(&room).await;
                    return ActorEnd::Released;
                }
            }
            _ = tokio::time::sleep_until(next.unwrap_or(far)), if next.is_some() => {
                room.tick(now_ms());
            }
            _ = presence.tick() => {
                // Whatever waits (a big room's presence) goes out before the
                // state is kept: the stream never lags the stored room.
                let out = room.take_output();
                if !out.is_empty() {
                    flush(&rooms, &room, out).await;
                }
                let lost = rooms.broker.lost_instances(&id, &room.member_instances()).await;
                if !lost.is_empty() {
                    apply(&mut room, RoomCmd::InstancesLost { instances: lost }, now_ms(), &ice);
                }
                if !rooms.broker.maintain(&room).await {
                    tracing::warn!(room = %super::log_tag(&id), "lost room ownership; stopping actor");
                    return ActorEnd::Released;
                }
                if !desk
                    && !ever_joined
                    && unjoined_ttl_ms > 0
                    && now_ms() > unjoined_from.saturating_add(unjoined_ttl_ms)
                {
                    tracing::debug!(room = %id, "nobody ever joined; dropping the room");
                    return ActorEnd::Expired;
                }
                let closed = room.info().status == RoomStatus::Closed;
                if room.member_count() > 0 && !closed {
                    idle_since = tokio::time::Instant::now();
                }
                let limit = if closed { retention } else { Duration::from_secs(24 * 3600).max(retention) };
                if !desk && idle_since.elapsed() > limit {
                    tracing::debug!(room = %id, "room retention over; dropping it");
                    return ActorEnd::Expired;
                }
            }
        }
        // Effects first: they may add output.
        for e in room.take_effects() {
            match e {
                Effect::OpenOneOnOne {
                    request_id,
                    facilitator,
                    participant: _,
                    title,
                } => {
                    let spec = CreateRoom {
                        title,
                        kind: RoomKind::OneOnOne,
                        ..Default::default()
                    };
                    match rooms.create_room(&spec).await {
                        Ok((rid, key)) => {
                            room.one_on_one_opened(&request_id, &facilitator, &rid, &key, now_ms())
                        }
                        Err(e) => {
                            tracing::warn!(room = %super::log_tag(&id), code = ?e.code(), "could not open a one-on-one room: {e}")
                        }
                    }
                }
                // Between rooms: never awaited here (an actor never waits on another).
                Effect::RaiseAlert { alert } => {
                    tokio::spawn(rooms.clone().send_to_desk(id.clone(), alert));
                }
                Effect::WithdrawAlert { alert_id } => {
                    tokio::spawn(rooms.clone().withdraw_from_desk(id.clone(), alert_id));
                }
                Effect::DeskReply {
                    origin_room,
                    request_id,
                    reply,
                } => {
                    tokio::spawn(
                        rooms
                            .clone()
                            .reply_from_desk(origin_room, request_id, reply),
                    );
                }
                // Into the durable store: never awaited here (the database may be slow).
                Effect::Removed {
                    member_id,
                    name,
                    device_hash,
                    account_id,
                    removed_by,
                } => {
                    let bar = crate::store::Bar {
                        id: uuid::Uuid::new_v4().simple().to_string(),
                        room_id: id.clone(),
                        room_title: room.info().title.clone(),
                        series_id: None,
                        member_id,
                        device_hash,
                        account_id,
                        name,
                        removed_by,
                        removed_by_name: None,
                        created_at: now_ms() as i64,
                        lifted_at: None,
                    };
                    tokio::spawn(rooms.clone().record_bar(bar));
                }
            }
        }
        // Metadata first, then the frames: whoever hears of a change (the
        // end of the session...) and asks over HTTP finds it stored already.
        let meta = RoomMeta::of(&room);
        if meta.public != last_meta.public
            || meta.summary != last_meta.summary
            || meta.key_hash != last_meta.key_hash
        {
            rooms.broker.store_meta(&id, &meta).await;
            last_meta = meta;
        }
        // A big room's presence changes wait a moment (one frame for many).
        let out = room.take_output_due(now_ms());
        // A deleted message is scrubbed from the model's history: the broker's
        // copy (the Redis stream) must lose it too.
        let scrubbed = out.iter().any(|o| {
            matches!(
                o,
                Out::Frame {
                    msg: ServerMsg::Event {
                        event: Event::MessageDeleted { .. },
                        ..
                    },
                    ..
                }
            )
        });
        if !out.is_empty() {
            flush(&rooms, &room, out).await;
        }
        // Nothing outlives the people in the room: with the last member gone,
        // the conversation is dropped here and wherever the broker keeps it.
        let emptied = room.drop_history_if_empty();
        if scrubbed || emptied {
            rooms.broker.history_rewritten(&room).await;
        }
    }
}
