//! Resuming streams that never read: replay memory is bounded in bytes.
