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
use std::str::FromStr;

use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, web};

use crate::startup::AppState;

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                masked(network.to_bits().into(), self.prefix, 32)
                    == masked(address.to_bits().into(), self.prefix, 32)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                masked(network.to_bits(), self.prefix, 128)
                    == masked(address.to_bits(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// `bits` (an address of `width` bits) with all but its first `prefix` bits cleared.
fn masked(bits: u128, prefix: u8, width: u32) -> u128 {
    let host_bits = width - u32::from(prefix);
    bits.checked_shr(host_bits)
        .and_then(|network| network.checked_shl(host_bits))
        .unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = text
            .split_once('/')
            .map_or((text, None), |(a, p)| (a, Some(p)));
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{address:?} is not an IP address; write a network such as 10.0.0.0/8 or an address such as 10.0.0.1"))?
            .to_canonical();
        let width: u8 = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= width)
                .ok_or_else(|| format!("the prefix length in {text:?} must be 0 to {width}"))?,
        };
        let cidr = Self { network, prefix };
        let bits = match network {
            IpAddr::V4(v4) => u128::from(v4.to_bits()),
            IpAddr::V6(v6) => v6.to_bits(),
        };
        if masked(bits, prefix, u32::from(width)) != bits {
            return Err(format!(
                "{text:?} has bits set after its /{prefix} prefix; write the network's first address"
            ));
        }
        Ok(cidr)
    }
}

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

    #[test]
    fn cidrs_parse_and_match() {
        let private = cidr("10.0.0.0/8");
        assert!(private.contains(ip("10.1.2.3")));
        assert!(private.contains(ip("::ffff:10.1.2.3")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(!private.contains(ip("::1")));
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        let single = cidr(" 192.0.2.7 ");
        assert!(single.contains(ip("192.0.2.7")) && !single.contains(ip("192.0.2.8")));
        let v6 = cidr("fd00::/8");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(cidr("::1/128").contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "10.0.0.0/",
            "proxy",
            "::/129",
            "10/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} accepted");
        }
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
