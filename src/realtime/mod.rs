//! The realtime core: the in-process hub that routes events to subscribers, the reader that
//! feeds the hub from the log, and SSE streams.

pub mod ephemeral;
pub mod hub;
pub mod presence;
pub mod reader;
pub mod recent;
pub mod replay;
pub mod single_flight;
pub mod stream;
