//! hellojohn's integration tests: one binary, real servers over real HTTP.

// Tests may unwrap and panic: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod backends;
mod harness;

mod actors;
mod backup;
mod bad_input;
mod big_backups;
mod browser;
mod cluster;
mod connection_budget;
mod console;
mod console_browser;
mod control_plane;
mod deployment;
mod durability;
mod email_links;
mod isolation;
mod limits;
mod mfa;
mod oauth;
mod openapi;
mod operability;
mod ops;
mod orgs;
mod proxy;
mod review;
mod scale;
mod sessions;
mod social;
mod sql;
mod tokens;
mod users;
mod webhooks;
