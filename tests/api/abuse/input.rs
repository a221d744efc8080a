//! Malformed and hostile requests: metric labels, NUL bytes, trailing JSON, readiness,
//! forwarded addresses, CORS preflights.
