//! `GET /ws`: the WebSocket upgrade. Refused while shutting down, from a
//! foreign origin, or past the per-address connection limit (the address of
//! the client, through trusted proxies: see [`super::client`]); the transport
//! limits are set here, the session does the rest ([`crate::session::run`]).

use super::client;
use super::AppState;
use crate::error::HttpError;
use crate::metrics::Metrics;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use dashmap::DashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Bytes buffered before the WebSocket layer writes to the socket.
const WRITE_BUFFER: usize = 2 * 1024;

/// One of an address's connections; gives its place back when dropped.
struct IpSlot {
    per_ip: Arc<DashMap<IpAddr, usize>>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        self.per_ip.remove_if_mut(&self.ip, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

pub async fn upgrade(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, HttpError> {
    let rooms = st.rooms.clone();
    if rooms.shutting_down.is_cancelled() {
        Metrics::inc(&rooms.metrics.connections_refused);
        return Err(HttpError::ShuttingDown);
    }
    if !client::origin_allowed(&rooms.cfg, addr.ip(), &headers) {
        Metrics::inc(&rooms.metrics.connections_refused);
        return Err(HttpError::OriginNotAllowed);
    }
    let ip = client::client_ip(&rooms.cfg, addr.ip(), &headers);
    let key = client::limit_key(ip);
    let limit = rooms.cfg.max_conns_per_ip;
    {
        let mut n = st.per_ip.entry(key).or_insert(0);
        if limit > 0 && *n >= limit {
            Metrics::inc(&rooms.metrics.connections_refused);
            return Err(HttpError::TooManyConnections);
        }
        *n += 1;
    }
    let slot = IpSlot {
        per_ip: st.per_ip.clone(),
        ip: key,
    };
    // A signed-in account (a peer supporter may take the on-call desk without
    // the key). Without a session cookie this asks nothing of the store.
    let account = match st.accounts.account_from_headers(&headers).await {
        Ok(a) => a,
        // Counted and logged by the store: the connection goes on as anonymous.
        Err(e) => {
            tracing::debug!(error = %e, "no account for this connection: the store is unavailable");
            None
        }
    };
    let max = rooms.cfg.max_frame_bytes;
    Ok(upgrade
        // Small read buffer: idle connections must stay cheap (tungstenite's
        // default is 128 KiB).
        .read_buffer_size(1024)
        // Frames queued together are written in one go (one syscall per
        // flush, not per frame); the buffer only grows under load.
        .write_buffer_size(WRITE_BUFFER)
        // The writer waits for the socket before it adds a frame to a full
        // buffer, so the buffer holds at most WRITE_BUFFER and one frame; the
        // ceiling must let the largest frame the server sends through (a
        // welcome can be several MiB), or that frame could never be written.
        // The writer closes the connection itself on a larger one.
        .max_write_buffer_size(WRITE_BUFFER + rooms.max_out_frame() + 64 * 1024)
        // Transport ceiling: messages over 4× the protocol limit close the connection (1009);
        // smaller oversize frames get a `too_large` error and the connection goes on.
        // A single frame may be read whole up to 8× so the 1009 close reaches the
        // client cleanly (closing with unread input would reset the connection).
        .max_message_size(max * 4)
        .max_frame_size(max * 8)
        .on_upgrade(move |socket| async move {
            crate::session::run(rooms, socket, ip, account).await;
            drop(slot);
        }))
}
