//! Bars: removals kept in the durable store, so that a removed person stays
//! out of the room even when the room's memory of the removal is gone (its
//! instance restarted), until an admin lifts the bar. The room's actor hears
//! of a removal as `Effect::Removed` and spawns [`Rooms::record_bar`] (an
//! actor never waits on the database); a session asks [`Rooms::barred`]
//! before it sends a join to the room.

use super::{log_tag, Rooms};
use crate::store::Bar;
use std::sync::Arc;

impl Rooms {
    /// Write a bar. A failure (already logged and counted by the store, with
    /// its op) leaves the keep-out to the room's memory alone.
    pub async fn record_bar(self: Arc<Self>, bar: Bar) {
        if let Err(e) = self.store.add_bar(&bar).await {
            tracing::error!(
                room = %log_tag(&bar.room_id),
                error = %e,
                "bar not recorded: the removal holds only while the room remembers it"
            );
        }
    }

    /// Whether an active bar of this room names the device (hash) or the
    /// account. When the database cannot answer, the join goes on to the
    /// room, which still keeps out those it removed itself (the store has
    /// logged and counted the failure): an outage never shuts every room.
    pub async fn barred(
        &self,
        room_id: &str,
        device_hash: Option<&str>,
        account_id: Option<&str>,
    ) -> bool {
        if device_hash.is_none() && account_id.is_none() {
            return false;
        }
        match self.store.room_bars(room_id).await {
            Ok(bars) => bars.iter().any(|b| {
                (device_hash.is_some() && b.device_hash.as_deref() == device_hash)
                    || (account_id.is_some() && b.account_id.as_deref() == account_id)
            }),
            Err(e) => {
                tracing::debug!(room = %log_tag(room_id), error = %e, "bars unknown; the room decides");
                false
            }
        }
    }
}
