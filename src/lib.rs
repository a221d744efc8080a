//! Parley: realtime notes and messages over HTTP and Server-Sent Events.

pub mod api_types;
pub mod auth;
pub mod cidr;
pub mod client_address;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod event;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod startup;
pub mod state;
pub mod stream_limits;
pub mod telemetry;
pub mod tls;
