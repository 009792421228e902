//! Host names as a `Host` header, an `Origin` or a flag writes them: an
//! address or a name, perhaps with a port. The admin page's host rules and
//! the `--admin-host` flag read them the same way.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host name or address the admin page answers to besides its own
/// address and `localhost` (`--admin-host`): the machine's name, or the
/// name a reverse proxy passes on. A port, if given, is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminHost(pub(crate) HostName);

impl std::str::FromStr for AdminHost {
    type Err = String;

    fn from_str(text: &str) -> Result<AdminHost, String> {
        host_of_authority(text).map(AdminHost).ok_or_else(|| {
            format!("{text:?} is not a host name or address (such as yail.example.org)")
        })
    }
}

impl std::fmt::Display for AdminHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            HostName::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostName::Ip(ip) => write!(f, "{ip}"),
            HostName::Name(name) => f.write_str(name),
        }
    }
}

/// The host part of a `Host` header, an origin or a flag: an address, or
/// a lower-case name without its trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostName {
    Ip(IpAddr),
    Name(String),
}

/// Longest host name looked at (DNS allows 253 characters).
const MAX_HOST_LEN: usize = 253;

/// The host of `authority` (`host`, `host:port`, `[v6]`, `[v6]:port`, or a
/// bare address); `None` when it is not one.
pub(crate) fn host_of_authority(authority: &str) -> Option<HostName> {
    split_authority(authority).map(|(host, _)| host)
}

/// The host and port of `authority`.
pub(crate) fn split_authority(authority: &str) -> Option<(HostName, Option<u16>)> {
    let authority = authority.trim();
    if let Ok(ip) = authority.parse::<IpAddr>() {
        return Some((HostName::Ip(ip.to_canonical()), None));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, rest) = bracketed.split_once(']')?;
            let ip: Ipv6Addr = inside.parse().ok()?;
            let port = match rest {
                "" => None,
                rest => Some(port_number(rest.strip_prefix(':')?)?),
            };
            return Some((HostName::Ip(IpAddr::V6(ip).to_canonical()), port));
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port_number(port)?)),
            None => (authority, None),
        },
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some((HostName::Ip(IpAddr::V4(ip)), port));
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= MAX_HOST_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !name.split('.').any(str::is_empty);
    valid.then_some((HostName::Name(name), port))
}

fn port_number(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
