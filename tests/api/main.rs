//! Integration tests: the real HTTP stack against real PostgreSQL, one database per test.
//! One binary with modules, so the throwaway cluster starts once per run. The harness
//! (`spawn_app`, signed-in `TestUser`s, `assert_problem`, the SSE client) is the
//! `parley-testing` crate (crates/parley-testing).

mod abuse;
mod bad_input;
mod batching;
mod embedded;
mod framing;
mod health;
mod http2;
mod messages;
mod notes;
mod openapi;
mod pages;
mod presence;
mod presence_crash;
mod recent;
mod streams;
mod users;
