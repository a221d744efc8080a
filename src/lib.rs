//! Parley: realtime notes and messages over HTTP and Server-Sent Events.

pub mod auth;
pub mod client_address;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod extract;
pub mod metrics;
pub mod models;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod stream_limits;
pub mod telemetry;
