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
/// multicast, broadcast, documentation, benchmarking or reserved. An IPv6
/// form that carries an IPv4 address the network may deliver to (mapped,
/// translated, well-known NAT64, 6to4) is judged as that IPv4 address;
/// forms whose IPv4 address cannot be read from the address alone, or that
/// are obsolete (IPv4-compatible, Teredo, local-use NAT64), are refused.
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
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    let first = segments[0];
    let refused = segments[..6] == [0; 6] // ::, ::1 and IPv4-compatible (deprecated)
        || segments[..3] == [0x64, 0xff9b, 1] // local-use NAT64 64:ff9b:1::/48, see below
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (first & 0xff00) == 0xff00 // multicast
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
        || (first == 0x3fff && segments[1] & 0xf000 == 0) // documentation 3fff::/20
        || (first == 0x2001 && segments[1] == 0) // Teredo 2001::/32
        || (first == 0x2001 && segments[1] == 2 && segments[2] == 0) // benchmarking 2001:2::/48
        || (first == 0x2001 && (segments[1] & 0xfff0) == 0x0010) // ORCHID 2001:10::/28
        || (first == 0x2001 && (segments[1] & 0xfff0) == 0x0020) // ORCHIDv2 2001:20::/28
        || first == 0x5f00 // SRv6 segment identifiers 5f00::/16
        || segments[..4] == [0x0100, 0, 0, 0]; // discard-only 100::/64
    // Local-use NAT64 (RFC 8215): the site picks the prefix length (/48,
    // /56, /64 or /96, RFC 6052), and with it where the IPv4 address sits,
    // so the address alone does not say which IPv4 host a translator would
    // reach: a name could answer one whose last 32 bits look public while a
    // /64 translator reads 10.0.0.1 in the middle. The registry of special
    // addresses lists it as not globally reachable; refused like the rest.
    !refused
}

/// The IPv4 address an IPv6 address carries where it is delivered to that
/// IPv4 host: IPv4-mapped `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96`
/// (RFC 2765), the well-known NAT64 prefix `64:ff9b::/96` (RFC 6052), and
/// 6to4 `2002::/16` (RFC 3056, the address in bits 16..48).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = ip.segments();
    let last = || Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7]));
    match segments {
        [0, 0, 0, 0, 0, 0xffff, ..] | [0, 0, 0, 0, 0xffff, 0, ..] => Some(last()),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(last()),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))),
        _ => None,
    }
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
            "3fff::1",
            "3fff:fff:ffff::1",
            "2001:2::1",
            "2001:10::1",
            "2001:2f:ffff::1",
            "5f00::1",
            "100::1",
            // Mapped, translated, NAT64 and 6to4 forms of private addresses.
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:192.168.1.1",
            "::ffff:0.0.0.0",
            "::ffff:0:127.0.0.1",
            "::ffff:0:10.0.0.1",
            "::ffff:0:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2002:7f00:1::1",
            // Refused whatever they carry.
            "::127.0.0.1",
            "::8.8.8.8",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1::808:808",
            "64:ff9b:1:7f00:0:100::",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass_including_range_neighbours() {
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
            "fbff::1",
            "fe7f::1",
            "3fff:1000::1",
            "3ffe:ffff::1",
            "2001:1::1",
            "2001:3::1",
            "2001:4:112::1",
            "2001:30::1",
            "2001:db9::1",
            "64:ff9b:2::1",
            "5f01::1",
        ] {
            assert!(public(ip), "{ip} must pass");
        }
    }

    mod embeddings {
        use proptest::prelude::*;

        use super::super::*;

        /// Special IPv4 networks as (first address, prefix length): where
        /// the answer changes, so the strategy aims at and around them.
        const SPECIAL: [(u32, u32); 14] = [
            (0x0000_0000, 8),
            (0x0a00_0000, 8),
            (0x6440_0000, 10),
            (0x7f00_0000, 8),
            (0xa9fe_0000, 16),
            (0xac10_0000, 12),
            (0xc000_0000, 24),
            (0xc000_0200, 24),
            (0xc058_6300, 24),
            (0xc0a8_0000, 16),
            (0xc612_0000, 15),
            (0xc633_6400, 24),
            (0xcb00_7100, 24),
            (0xe000_0000, 3),
        ];

        /// Any IPv4 address, half the time one inside or just outside a
        /// special network.
        fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
            let near = (0..SPECIAL.len(), any::<u32>(), -2i64..=2).prop_map(|(i, r, edge)| {
                let (base, prefix) = SPECIAL[i];
                let size = 1u64 << (32 - prefix);
                let offset = match edge {
                    -2 => -1,                        // just below
                    2 => size as i64,                // just above
                    -1 => 0,                         // first
                    1 => size as i64 - 1,            // last
                    _ => i64::from(r) % size as i64, // inside
                };
                Ipv4Addr::from((i64::from(base) + offset).rem_euclid(1 << 32) as u32)
            });
            prop_oneof![any::<u32>().prop_map(Ipv4Addr::from), near]
        }

        fn halves(v4: Ipv4Addr) -> (u16, u16) {
            let n = u32::from(v4);
            ((n >> 16) as u16, n as u16)
        }

        /// Where an IPv4 address sits in a local-use NAT64 address for each
        /// prefix length RFC 6052 allows within 64:ff9b:1::/48 (bits 64..72
        /// stay zero), the other bits taken from `fill`.
        fn local_nat64(v4: Ipv4Addr, prefix: u32, fill: u128) -> Ipv6Addr {
            let v4 = u128::from(u32::from(v4));
            let base = 0x0064_ff9b_0001_u128 << 80;
            let (placed, ours) = match prefix {
                48 => (
                    (v4 >> 16) << 64 | (v4 & 0xffff) << 40,
                    0xffff_u128 << 64 | 0xffff << 40,
                ),
                56 => (
                    (v4 >> 24) << 64 | (v4 & 0xff_ffff) << 32,
                    0xff << 64 | 0xff_ffff << 32,
                ),
                64 => (v4 << 24, 0xffff_ffff_u128 << 24),
                _ => (v4, 0xffff_ffff),
            };
            let u_octet = 0xff_u128 << 56;
            let prefix_mask = !0u128 << (128 - 48);
            let free = !(prefix_mask | u_octet | ours);
            Ipv6Addr::from(base | placed | (fill & free))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            #[test]
            fn each_embedding_is_public_exactly_when_its_ipv4_address_is(
                v4 in ipv4(),
                subnet in any::<u16>(),
                interface in any::<u64>(),
            ) {
                let expected = is_public_v4(v4);
                let (hi, lo) = halves(v4);
                let [i0, i1, i2, i3] = [
                    (interface >> 48) as u16,
                    (interface >> 32) as u16,
                    (interface >> 16) as u16,
                    interface as u16,
                ];
                for embedded in [
                    Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, hi, lo),
                    Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, hi, lo),
                    Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
                    Ipv6Addr::new(0x2002, hi, lo, subnet, i0, i1, i2, i3),
                ] {
                    prop_assert_eq!(
                        is_public(IpAddr::V6(embedded)),
                        expected,
                        "{} in {}",
                        v4,
                        embedded
                    );
                }
            }

            #[test]
            fn forms_that_hide_or_obsolete_their_ipv4_address_are_refused(
                v4 in ipv4(),
                server in ipv4(),
                flags in any::<u16>(),
                port in any::<u16>(),
                fill in any::<u128>(),
            ) {
                let (hi, lo) = halves(v4);
                let (server_hi, server_lo) = halves(server);
                let mut refused = vec![
                    // IPv4-compatible (deprecated by RFC 4291).
                    Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo),
                    // Teredo: server, flags, port and client, obfuscated.
                    Ipv6Addr::new(0x2001, 0, server_hi, server_lo, flags, !port, !hi, !lo),
                ];
                for prefix in [48, 56, 64, 96] {
                    refused.push(local_nat64(v4, prefix, fill));
                }
                for ip in refused {
                    prop_assert!(!is_public(IpAddr::V6(ip)), "{} in {}", v4, ip);
                }
            }
        }

        #[test]
        fn local_nat64_layouts_put_the_address_where_rfc_6052_says() {
            let v4 = Ipv4Addr::new(192, 0, 2, 33);
            // RFC 6052 section 2.4's examples, moved into 64:ff9b:1::/48 with
            // the rest of each prefix zero.
            let expected = [
                (48, "64:ff9b:1:c000:2:2100::"),
                (56, "64:ff9b:1:c0:0:221::"),
                (64, "64:ff9b:1:0:c0:2:2100:0"),
                (96, "64:ff9b:1::c000:221"),
            ];
            for (prefix, text) in expected {
                let want: Ipv6Addr = text.parse().expect("an address");
                assert_eq!(local_nat64(v4, prefix, 0), want, "/{prefix}");
            }
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
