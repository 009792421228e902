//! The network a client is counted by: its IPv4 address, or the /64 of its
//! IPv6 address, which is what one household (or one rented server) is
//! given. Every per-client limit counts by it (sessions at once, generations
//! a minute, wrong admin tokens), so taking more addresses of one's own
//! network does not buy a larger share.

use std::net::IpAddr;

/// One client network: an IPv4 address, or an IPv6 /64 (an IPv4 address
/// mapped into IPv6 counts as that IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Network(IpAddr);

impl Network {
    /// The network `ip` belongs to.
    pub(crate) fn of(ip: IpAddr) -> Network {
        Network(match ip.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        })
    }
}

/// An IPv4 address as itself, an IPv6 network as `prefix::/64`.
impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Network {
        Network::of(text.parse().unwrap())
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_one_by_its_address() {
        assert_eq!(of("192.0.2.7"), of("::ffff:192.0.2.7"));
        assert_ne!(of("192.0.2.7"), of("192.0.2.8"));
        assert_eq!(of("2001:db8:1:2:aaaa::1"), of("2001:db8:1:2:bbbb::9"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("2001:db8:1:2:ffff::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(of("::ffff:192.0.2.7").to_string(), "192.0.2.7");
    }
}
