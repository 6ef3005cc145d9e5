//! hellojohn's integration tests: one binary, real servers over real HTTP.

#[macro_use]
mod backends;
mod harness;

mod actors;
mod bad_input;
mod control_plane;
mod durability;
mod isolation;
mod limits;
mod ops;
mod sessions;
mod tokens;
mod users;
