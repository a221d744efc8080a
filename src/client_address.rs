//! The address a request comes from, as every per-client limit counts it (stream slots,
//! login attempts, registrations). One place decides it, so every limit agrees.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client address of `req`: the peer of the TCP connection.
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|peer| peer.ip())
}
