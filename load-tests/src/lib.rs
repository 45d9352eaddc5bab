//! huddle-load: a load generator for Huddle and its two peers (a Socket.IO +
//! Redis-adapter server and a bare tokio-tungstenite broadcast server), measuring
//! fan-out throughput, end-to-end latency, loss/duplication, join storms and
//! memory per idle connection, and calls' WebRTC signalling relay. See `load-tests/README.md`.

pub mod accounts;
pub mod calls;
pub mod client;
pub mod eio;
pub mod net;
pub mod payload;
pub mod rejoin;
pub mod run;
pub mod stats;
pub mod sys;
