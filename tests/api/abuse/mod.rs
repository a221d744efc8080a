//! The abuse suite: what one hostile client on one host can try, and the defence that
//! holds. Every load here is bounded in count and time and goes to loopback only.

mod input;
mod login;
mod replay;
mod streams;
