//! What the tests and the bench drive a Parley server with.
//!
//! - [`spawn_app`]: a server on a free port over a fresh database cloned from a migrated
//!   template, in a throwaway cluster started once per test binary.
//! - [`TestUser`]: a signed-in user whose requests carry its token
//!   (`app.signed_in("alice")`).
//! - [`assert_problem`]: the problem+json assertion of every refusal.
//! - [`sse::SseClient`]: the one Server-Sent Events client, for tests and the bench.
//! - [`process::Process`]: the real binary as a child process, with its log and memory.
//! - [`wait::eventually`]: polls a condition the server must reach soon, with a deadline.

mod app;
mod problem;
pub mod process;
pub mod sse;
mod user;
pub mod wait;

pub use app::{TestApp, fresh_database, spawn_app, spawn_app_on, spawn_app_with};
pub use problem::assert_problem;
pub use sse::{SseClient, SseEvent};
pub use user::{PASSWORD, TestUser, credentials};
