//! Which addresses the server may fetch from: only public ones, unless the
//! operator allows private ones or names networks to let through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use url::{Host, Url};

/// A network of addresses (`192.168.1.20/32`, `fd00::/8`); a bare address
/// is the network of that one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an address or network"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which addresses may be fetched from.
#[derive(Debug, Clone)]
pub(super) struct Policy {
    allow_private: bool,
    allowed_nets: Arc<[IpNet]>,
}

impl Policy {
    pub(super) fn new(allow_private: bool, allowed_nets: &[IpNet]) -> Policy {
        Policy {
            allow_private,
            allowed_nets: Arc::from(allowed_nets),
        }
    }

    pub(super) fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip) || self.allowed_nets.iter().any(|n| n.contains(ip))
    }
}

/// Names that never resolve (RFC 6761 `.invalid`): refused here, so no
/// query for them leaves the machine.
pub(super) fn never_resolves(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "invalid" || host.ends_with(".invalid")
}

/// A policy violation found by the resolver or the redirect policy; found
/// again in reqwest's error chain to give a typed [`FetchError`].
#[derive(Debug, thiserror::Error)]
pub(super) enum Violation {
    #[error("{0} is a private or local address")]
    Refused(String),
    #[error("scheme {0} refused")]
    Scheme(String),
    #[error("too many redirects")]
    TooManyRedirects(usize),
    #[error("cannot resolve {0}")]
    Resolve(String),
}

/// The scheme and, for literal-IP hosts, the address policy.
pub(super) fn check_url(url: &Url, policy: &Policy) -> Result<(), Violation> {
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(Violation::Scheme(other.to_string())),
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(name)) if never_resolves(name) => {
            return Err(Violation::Resolve(name.to_string()));
        }
        Some(Host::Domain(_)) => return Ok(()), // checked by the resolver
        None => return Err(Violation::Resolve(String::from("(no host)"))),
    };
    if policy.permits(ip) {
        Ok(())
    } else {
        Err(Violation::Refused(ip.to_string()))
    }
}

/// Whether `ip` is a globally reachable unicast address: not loopback,
/// private, shared (CGNAT), link-local, unique-local, unspecified,
/// multicast, broadcast, documentation, benchmarking or reserved, and not
/// an IPv6 form that embeds such an IPv4 address (mapped, compatible,
/// NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", 0.0.0.0 included
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(last_v4(&segments));
    }
    // 6to4 (2002::/16) embeds one in bits 16..48.
    if segments[0] == 0x2002 {
        let [_, hi, lo, ..] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    let first = segments[0];
    let refused = segments[..6] == [0; 6] // ::, ::1 and IPv4-compatible
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (first & 0xff00) == 0xff00 // multicast
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
        || (first == 0x2001 && segments[1] == 0) // Teredo
        || segments[..4] == [0x0100, 0, 0, 0]; // discard-only 100::/64
    !refused
}

fn last_v4(segments: &[u16; 8]) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().expect("an address"))
    }

    #[test]
    fn private_and_local_ipv4_ranges_are_refused() {
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.0.1",
            "192.168.255.255",
            "169.254.169.254",
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_ipv4_addresses_pass_including_range_neighbours() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.1.1",
            "192.169.0.1",
            "169.253.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "223.255.255.254",
        ] {
            assert!(public(ip), "{ip} must pass");
        }
    }

    #[test]
    fn local_ipv6_ranges_and_embedded_private_ipv4_are_refused() {
        for ip in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:192.168.1.1",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2002:7f00:1::1",
            "2001::1",
            "100::1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass() {
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
            "fbff::1",
            "fe7f::1",
        ] {
            assert!(public(ip), "{ip} must pass");
        }
    }

    fn check(url: &str, allow_private: bool) -> Result<(), Violation> {
        let policy = Policy {
            allow_private,
            allowed_nets: Arc::from([]),
        };
        check_url(&Url::parse(url).expect("a URL"), &policy)
    }

    #[test]
    fn literal_hosts_are_checked_without_resolving() {
        assert!(matches!(
            check("http://127.0.0.1:8080/x.jpg", false),
            Err(Violation::Refused(_))
        ));
        assert!(matches!(
            check("http://[::1]/", false),
            Err(Violation::Refused(_))
        ));
        // WHATWG parsing turns these spellings into 127.0.0.1 too.
        assert!(matches!(
            check("http://2130706433/", false),
            Err(Violation::Refused(_))
        ));
        assert!(matches!(
            check("http://0x7f.1/", false),
            Err(Violation::Refused(_))
        ));
        assert!(check("http://127.0.0.1/", true).is_ok());
        assert!(check("https://93.184.215.14/", false).is_ok());
        // Names are left to the resolver.
        assert!(check("http://localhost/", false).is_ok());
    }

    #[test]
    fn only_http_and_https_are_fetched() {
        for url in ["file:///etc/passwd", "ftp://example.org/a", "gopher://x/"] {
            assert!(
                matches!(check(url, true), Err(Violation::Scheme(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn networks_parse_and_contain_their_addresses_only() {
        let net: IpNet = "127.0.0.0/8".parse().expect("a network");
        assert!(net.contains("127.9.9.9".parse().expect("an address")));
        assert!(net.contains("::ffff:127.0.0.1".parse().expect("an address")));
        assert!(!net.contains("128.0.0.1".parse().expect("an address")));
        assert!(!net.contains("::1".parse().expect("an address")));
        let host: IpNet = "192.168.1.20".parse().expect("an address");
        assert_eq!(host.to_string(), "192.168.1.20/32");
        assert!(!host.contains("192.168.1.21".parse().expect("an address")));
        let v6: IpNet = "fd00::/8".parse().expect("a network");
        assert!(v6.contains("fd12::1".parse().expect("an address")));
        let all: IpNet = "0.0.0.0/0".parse().expect("a network");
        assert!(all.contains("10.0.0.1".parse().expect("an address")));
        for bad in ["10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn allowed_networks_open_only_themselves() {
        let policy = Policy {
            allow_private: false,
            allowed_nets: Arc::from(["127.0.0.0/8".parse::<IpNet>().expect("a network")]),
        };
        let url = |u: &str| Url::parse(u).expect("a URL");
        assert!(check_url(&url("http://127.0.0.1:8080/a.jpg"), &policy).is_ok());
        for refused in [
            "http://10.0.0.1/",
            "http://169.254.169.254/",
            "http://[::1]/",
        ] {
            assert!(
                matches!(
                    check_url(&url(refused), &policy),
                    Err(Violation::Refused(_))
                ),
                "{refused}"
            );
        }
    }
}
