//! The address a request comes from, as every per-client limit counts it (stream slots,
//! login attempts, registrations). One place decides it, so every limit agrees.
//!
//! The rule: the TCP peer, unless the peer is a trusted proxy (`--trusted-proxy`). Then
//! `X-Forwarded-For` is read from the right (the entry the nearest proxy added) and the
//! first address that is not itself a trusted proxy is the client; if every entry is a
//! trusted proxy, the leftmost is. A header that is missing or has an entry that is not
//! an address leaves the peer. `Forwarded` (RFC 7239) is not read: a proxy that sets only
//! `X-Forwarded-For` passes a client's own `Forwarded` through untouched, so believing
//! either header would let clients choose their address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, web};

use crate::cidr::Cidr;
use crate::state::AppState;

/// The client address of `req` (see the module's rule).
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map_or(&[][..], |state| &state.trusted_proxies[..]);
    Some(forwarded_client(
        peer,
        trusted,
        req.headers().get_all("x-forwarded-for"),
    ))
}

/// The rule, apart from the request: `forwarded` are the `X-Forwarded-For` headers in the
/// order they arrived (several are one comma-separated list).
fn forwarded_client<'a>(
    peer: IpAddr,
    trusted: &[Cidr],
    forwarded: impl Iterator<Item = &'a HeaderValue>,
) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|cidr| cidr.contains(address));
    if !is_trusted(peer) {
        return peer;
    }
    let mut entries = Vec::new();
    for value in forwarded {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for entry in text.split(',') {
            match forwarded_address(entry.trim()) {
                Some(address) => entries.push(address),
                None => return peer,
            }
        }
    }
    entries
        .iter()
        .rev()
        .find(|address| !is_trusted(**address))
        .or(entries.first())
        .copied()
        .unwrap_or(peer)
}

/// An `X-Forwarded-For` entry: an address, or (as some proxies write it) an address and
/// port.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().expect("a CIDR")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn client(peer: &str, trusted: &[&str], headers: &[&str]) -> IpAddr {
        let trusted: Vec<Cidr> = trusted.iter().map(|text| cidr(text)).collect();
        let headers: Vec<HeaderValue> = headers
            .iter()
            .map(|text| HeaderValue::from_str(text).expect("a header value"))
            .collect();
        forwarded_client(ip(peer), &trusted, headers.iter())
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy = ["10.0.0.0/8"];
        // Not from a trusted proxy: the header is the client's own claim.
        assert_eq!(
            client("203.0.113.9", &proxy, &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        assert_eq!(client("10.0.0.1", &[], &["198.51.100.1"]), ip("10.0.0.1"));
        // From one: the rightmost address that is not a trusted proxy.
        assert_eq!(
            client("10.0.0.1", &proxy, &["198.51.100.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.1", &proxy, &["6.6.6.6, 198.51.100.1, 10.0.0.2"]),
            ip("198.51.100.1"),
            "a client's own entries on the left are not believed"
        );
        assert_eq!(
            client("10.0.0.1", &proxy, &["6.6.6.6", "198.51.100.1:4321"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.1", &proxy, &["[2001:db8::1]:80"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client("10.0.0.1", &proxy, &["10.0.0.3, 10.0.0.2"]),
            ip("10.0.0.3")
        );
        // Missing or malformed: the peer.
        for malformed in [
            &[][..],
            &[""],
            &["unknown"],
            &["198.51.100.1, junk"],
            &["1.2.3.4,"],
        ] {
            assert_eq!(
                client("10.0.0.1", &proxy, malformed),
                ip("10.0.0.1"),
                "{malformed:?}"
            );
        }
        assert_eq!(
            client("::ffff:10.0.0.1", &proxy, &["198.51.100.1"]),
            ip("198.51.100.1")
        );
    }
}
