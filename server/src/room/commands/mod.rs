//! The commands, one file per topic. Each file is an `impl Room` block: the methods that
//! [`Room::handle`](super::Room::handle) dispatches to, and the helpers only that topic uses.
//! Each starts with `use crate::room::*;`: the state types, `R`, `new_id`, the text checks,
//! [`RoomError`](crate::error::RoomError) and the protocol types, as `room/mod.rs` sees them.

mod airtime;
pub(super) mod calls;
mod chat;
mod energizers;
mod energy;
mod hands;
mod highlights;
mod history;
mod lead;
mod membership;
mod moderation;
mod oncall;
mod parking;
pub(super) mod presence;
mod retention;
pub(super) mod rules;
mod schedule;
mod support;
mod timers;
mod waiting;

#[cfg(test)]
pub(super) use energy::COUNT_EVERY_MS;
