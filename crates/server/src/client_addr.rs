//! The client's address, for the per-address limits on sign-in and sign-up. Behind a reverse proxy every
//! request arrives from the proxy, so the address the proxy saw is taken from `X-Forwarded-For`, but only
//! when the request comes from a proxy the operator trusts (`trusted_proxies`): anyone else could write
//! any address there and escape the limits, or push them onto someone else.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The client's address: `None` when the server runs without connection info (then nothing is limited
/// per address).
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientAddr(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.settings.trusted_proxies)
        })))
    }
}

/// The address of the client: the peer, unless the peer is a trusted proxy; then the rightmost
/// `X-Forwarded-For` hop that is not a trusted proxy. Each proxy appends the address it received the
/// request from, so hops to the right of an untrusted one were written by trusted proxies, and those to
/// its left by whoever sent the request (and may be made up). A hop that is not an address ends the walk
/// at the last trusted one, since no proxy we trust wrote it.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    // Several header lines are one list, in order.
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(parse_hop).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(hop) = hop else {
            return client;
        };
        client = hop;
        if !is_trusted(hop) {
            return hop;
        }
    }
    client
}

/// One hop: an address, possibly with a port (`192.0.2.1:1234`, `[2001:db8::1]:1234`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Parses `trusted_proxies`: addresses or networks (`10.0.0.0/8`, `::1`), separated by commas.
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address or a network like 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = parse_trusted_proxies("10.0.0.0/8").unwrap();
        assert_eq!(
            client_address(ip("192.0.2.9"), &headers(&["198.51.100.1"]), &trusted),
            ip("192.0.2.9")
        );
        assert_eq!(
            client_address(ip("192.0.2.9"), &headers(&["198.51.100.1"]), &[]),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1").unwrap();
        let peer = ip("127.0.0.1");
        assert_eq!(
            client_address(peer, &headers(&["203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // A made-up hop on the left is ignored: the proxy appended the address it really saw.
        assert_eq!(
            client_address(
                peer,
                &headers(&["1.2.3.4, 203.0.113.7, 10.1.2.3"]),
                &trusted
            ),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(
                peer,
                &headers(&["1.2.3.4", "203.0.113.7:5555, 10.1.2.3"]),
                &trusted
            ),
            ip("203.0.113.7"),
            "several header lines are one list, and a port is dropped"
        );
        assert_eq!(
            client_address(peer, &headers(&["[2001:db8::7]:443"]), &trusted),
            ip("2001:db8::7")
        );
        // Only trusted hops: the leftmost is as far as is known.
        assert_eq!(
            client_address(peer, &headers(&["10.9.9.9, 10.1.1.1"]), &trusted),
            ip("10.9.9.9")
        );
        // No header: the proxy itself.
        assert_eq!(client_address(peer, &HeaderMap::new(), &trusted), peer);
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            client_address(
                peer,
                &headers(&["203.0.113.7, unknown, 10.1.1.1"]),
                &trusted
            ),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_read_as_ipv4() {
        let trusted = parse_trusted_proxies("127.0.0.0/8").unwrap();
        assert_eq!(
            client_address(
                ip("::ffff:127.0.0.1"),
                &headers(&["::ffff:203.0.113.7"]),
                &trusted
            ),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let parsed = parse_trusted_proxies(" 10.0.0.0/8 ,::1,, 192.0.2.1").unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(parsed[1].contains(&ip("::1")));
        assert!(parsed[2].contains(&ip("192.0.2.1")));
        assert!(!parsed[2].contains(&ip("192.0.2.2")));
        let err = parse_trusted_proxies("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(err.contains("proxy.internal"), "{err}");
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
    }
}
