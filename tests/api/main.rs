//! Integration tests: the real HTTP stack against real PostgreSQL, one database per test.
//! One binary with modules, so the throwaway cluster starts once per run.

mod abuse;
mod bad_input;
mod embedded;
mod health;
mod helpers;
mod messages;
mod notes;
mod openapi;
mod pages;
mod sse;
mod streams;
mod users;
