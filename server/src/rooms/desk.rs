//! The on-call desk as this instance's rooms layer sees it: the one desk
//! room (created on first need, hosted like any room, so it moves to another
//! instance when its own dies), and the messages between a room and the desk,
//! sent from tasks of their own so an actor never waits on another.

use super::{log_tag, Rooms};
use crate::broker::{RoomCmd, RoomMeta};
use crate::error::BrokerError;
use crate::metrics::Metrics;
use crate::room::{self, DeskReply, Room};
use huddle_protocol::{CreateRoom, OnCallAlert, RoomKind, ONCALL_DESK_ID};
use std::sync::Arc;

impl Rooms {
    /// Make sure the desk exists somewhere (created here if nobody has it).
    pub async fn ensure_desk(self: &Arc<Self>) -> Result<(), BrokerError> {
        if self.actor(ONCALL_DESK_ID).is_some() {
            return Ok(());
        }
        // Two joins at once must not start two desks here.
        let _one_at_a_time = self.desk_init.lock().await;
        if self.broker.meta(ONCALL_DESK_ID).await?.is_some() {
            return Ok(());
        }
        let spec = CreateRoom {
            title: "On-call desk".into(),
            kind: RoomKind::OnCall,
            ..Default::default()
        };
        // Its facilitator key opens nothing: supporters join with the on-call
        // credential (`crate::oncall`), checked by the session.
        let room = Room::new(
            ONCALL_DESK_ID.to_string(),
            &spec,
            &room::new_secret(),
            self.limits(),
            self.crisis.clone(),
            crate::now_ms(),
        );
        self.broker
            .store_meta(ONCALL_DESK_ID, &RoomMeta::of(&room))
            .await;
        self.broker.create(room).await
    }

    /// Submit to the desk, creating it first when it does not exist yet.
    async fn submit_to_desk(self: &Arc<Self>, cmd: RoomCmd) -> Result<(), BrokerError> {
        match self.submit(ONCALL_DESK_ID, cmd.clone()).await {
            Err(BrokerError::RoomNotFound) => {
                self.ensure_desk().await?;
                self.submit(ONCALL_DESK_ID, cmd).await
            }
            r => r,
        }
    }

    /// An alert raised in `origin`: to the desk. When it cannot get there the
    /// room is told at once (the person hears it plainly); the room sends
    /// it again until the desk confirms.
    pub async fn send_to_desk(self: Arc<Self>, origin: String, alert: OnCallAlert) {
        Metrics::inc(&self.metrics.oncall_alerts);
        let request_id = alert.id.clone();
        let cmd = RoomCmd::DeskAlert {
            origin_room: origin.clone(),
            alert,
        };
        if let Err(e) = self.submit_to_desk(cmd).await {
            Metrics::inc(&self.metrics.oncall_errors);
            tracing::warn!(room = %log_tag(&origin), op = "desk_alert", code = ?e.code(), "could not reach the on-call desk: {e}");
            let reply = RoomCmd::DeskReply {
                request_id,
                reply: DeskReply::Unreachable,
            };
            if let Err(e) = self.submit(&origin, reply).await {
                tracing::debug!(room = %origin, "room gone before hearing the desk was unreachable: {e}");
            }
        }
    }

    /// The person behind an alert left `origin`: the desk drops it.
    pub async fn withdraw_from_desk(self: Arc<Self>, origin: String, alert_id: String) {
        if let Err(e) = self
            .submit_to_desk(RoomCmd::DeskWithdraw { alert_id })
            .await
        {
            Metrics::inc(&self.metrics.oncall_errors);
            tracing::warn!(room = %log_tag(&origin), op = "desk_withdraw", code = ?e.code(), "could not withdraw an alert from the on-call desk: {e}");
        }
    }

    /// What the desk says about an alert, to the room it came from.
    pub async fn reply_from_desk(
        self: Arc<Self>,
        origin: String,
        request_id: String,
        reply: DeskReply,
    ) {
        if let Err(e) = self
            .submit(&origin, RoomCmd::DeskReply { request_id, reply })
            .await
        {
            // The room may be gone (ended, expired): nobody left to tell.
            Metrics::inc(&self.metrics.oncall_errors);
            tracing::warn!(room = %log_tag(&origin), op = "desk_reply", code = ?e.code(), "could not tell a room what the on-call desk did: {e}");
        }
    }
}
