//! Open streams: global and per-address caps, and closed streams released at once.
