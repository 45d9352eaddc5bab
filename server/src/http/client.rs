//! Who is asking: the client's address and the scheme it used, believing
//! `X-Forwarded-For` and `X-Forwarded-Proto` only from `--trusted-proxy`
//! ranges; and the WebSocket origin check.

use crate::config::{Config, Origin};
use axum::http::{header, HeaderMap};
use std::net::{IpAddr, SocketAddr};

fn trusted(cfg: &Config, ip: IpAddr) -> bool {
    cfg.trusted_proxies.iter().any(|c| c.contains(ip))
}

/// One `X-Forwarded-For` entry: an address, maybe with a port.
fn hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client's address. From a trusted proxy, `X-Forwarded-For` is read
/// from the right (each proxy appends the address it heard from): the first
/// address that is not a trusted proxy is the client. Anything left of it was
/// written by the client and is ignored. From anyone else: the peer address.
pub fn client_ip(cfg: &Config, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(cfg, peer) {
        return peer;
    }
    let mut entries = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else {
            return peer;
        };
        entries.extend(v.split(','));
    }
    let mut client = peer;
    for e in entries.iter().rev() {
        let Some(ip) = hop(e) else {
            // Unreadable: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !trusted(cfg, ip) {
            break;
        }
    }
    client
}

/// What per-address limits count by: an IPv4 address as is, an IPv6 address
/// by its /64 (one host or one network: whoever has one address there can
/// use them all). The keep-out after removal still uses the whole address.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(a) => {
            let bits = u128::from(a) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// The scheme the client used: `X-Forwarded-Proto` from a trusted proxy,
/// otherwise plain http (this server does not speak TLS itself).
pub fn scheme(cfg: &Config, peer: IpAddr, headers: &HeaderMap) -> &'static str {
    if trusted(cfg, peer.to_canonical()) {
        let proto = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if proto.as_deref() == Some("https") {
            return "https";
        }
    }
    "http"
}

/// Whether a WebSocket upgrade may go on. No `Origin`: not a browser, nothing
/// to protect. Otherwise its scheme, host and port must be those of
/// `--public-origin` (the `Host` header is not trusted then), or without one
/// those the request came to (its `Host`, over [`scheme`]), or one of
/// `--allowed-origins`.
pub fn origin_allowed(cfg: &Config, peer: IpAddr, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str().map(Origin::parse) else {
        return false;
    };
    let Ok(origin) = origin else {
        return false;
    };
    let listed = cfg
        .allowed_origins
        .iter()
        .any(|a| a == "*" || Origin::parse_flag(a).is_ok_and(|a| a == origin));
    if listed {
        return true;
    }
    match &cfg.public_origin {
        Some(public) => *public == origin,
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| Origin::from_host(scheme(cfg, peer, headers), h).ok())
            .is_some_and(|own| own == origin),
    }
}

/// The CSRF check of a state-changing request made with a session cookie:
/// the `Origin` header must be present and name this site (`--public-origin`,
/// or without one the `Host` the request came to, over [`scheme`]). Unlike the
/// WebSocket check, a missing Origin is refused and `--allowed-origins` does
/// not count. (The cookie is SameSite=Lax as well.)
pub fn same_site_request(cfg: &Config, peer: IpAddr, headers: &HeaderMap) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .and_then(|o| Origin::parse(o).ok())
    else {
        return false;
    };
    match &cfg.public_origin {
        Some(public) => *public == origin,
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| Origin::from_host(scheme(cfg, peer, headers), h).ok())
            .is_some_and(|own| own == origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use clap::Parser;

    fn cfg(args: &[&str]) -> Config {
        Config::parse_from(std::iter::once("huddle").chain(args.iter().copied()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let behind = cfg(&["--trusted-proxy", "10.0.0.0/8,127.0.0.1"]);
        let direct = cfg(&[]);
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.0.0.2")]);
        assert_eq!(client_ip(&behind, ip("10.0.0.1"), &xff), ip("203.0.113.5"));
        assert_eq!(client_ip(&direct, ip("10.0.0.1"), &xff), ip("10.0.0.1"));
        // Not from a trusted proxy: the header is the client's own word.
        assert_eq!(
            client_ip(&behind, ip("198.51.100.1"), &xff),
            ip("198.51.100.1")
        );
        // Several headers, ports, IPv4-mapped peers.
        let two = headers(&[
            ("x-forwarded-for", "203.0.113.5:4711"),
            ("x-forwarded-for", "10.0.0.9"),
        ]);
        assert_eq!(
            client_ip(&behind, ip("::ffff:127.0.0.1"), &two),
            ip("203.0.113.5")
        );
        // Garbage: stop at the last address we know.
        let junk = headers(&[("x-forwarded-for", "203.0.113.5, not-an-ip, 10.0.0.3")]);
        assert_eq!(client_ip(&behind, ip("10.0.0.1"), &junk), ip("10.0.0.3"));
        assert_eq!(
            client_ip(&behind, ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:ffff::9")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("203.0.113.4")), ip("203.0.113.4"));
        assert_eq!(limit_key(ip("::ffff:203.0.113.4")), ip("203.0.113.4"));
    }

    #[test]
    fn the_origin_check_compares_scheme_host_and_port() {
        let same = cfg(&[]);
        let peer = ip("127.0.0.1");
        let h = |origin: &str, host: &str| headers(&[("origin", origin), ("host", host)]);
        assert!(origin_allowed(
            &same,
            peer,
            &h("http://a.example:8080", "a.example:8080")
        ));
        assert!(origin_allowed(
            &same,
            peer,
            &h("http://a.example", "A.example:80")
        ));
        assert!(!origin_allowed(
            &same,
            peer,
            &h("https://a.example:8080", "a.example:8080")
        ));
        assert!(!origin_allowed(
            &same,
            peer,
            &h("http://a.example:8081", "a.example:8080")
        ));
        assert!(!origin_allowed(&same, peer, &h("null", "a.example")));
        assert!(origin_allowed(
            &same,
            peer,
            &headers(&[("host", "a.example")])
        ));

        // Behind a trusted TLS proxy, the scheme it reports.
        let proxied = cfg(&["--trusted-proxy", "127.0.0.1"]);
        let tls = headers(&[
            ("origin", "https://a.example"),
            ("host", "a.example"),
            ("x-forwarded-proto", "https"),
        ]);
        assert!(origin_allowed(&proxied, peer, &tls));
        assert!(
            !origin_allowed(&same, peer, &tls),
            "untrusted X-Forwarded-Proto"
        );

        let public = cfg(&["--public-origin", "https://huddle.example"]);
        assert!(origin_allowed(
            &public,
            peer,
            &h("https://huddle.example", "evil.example")
        ));
        assert!(!origin_allowed(
            &public,
            peer,
            &h("https://evil.example", "evil.example")
        ));

        let listed = cfg(&["--allowed-origins", "https://app.example:8443"]);
        assert!(origin_allowed(
            &listed,
            peer,
            &h("https://app.example:8443", "x")
        ));
        assert!(!origin_allowed(
            &listed,
            peer,
            &h("https://app.example", "x")
        ));
    }
}
