//! Where an admin request comes from: the host name it was sent to, and,
//! for a request that changes something, the site whose page sent it.
//!
//! A web page can reach a server on loopback by DNS rebinding: its own
//! name first resolves to the attacker's server, then to 127.0.0.1, and
//! the browser, still thinking it talks to the attacker's site, sends the
//! page's requests here with the attacker's name in `Host`. So the admin
//! server answers only to the names it is known by. A page of another site
//! can also send requests without reading the answers (a form post); those
//! carry `Origin` and `Sec-Fetch-Site`, which decide for every request that
//! changes something.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, header};
use url::Url;

use super::error::AdminError;
use crate::authority::{AdminHost, HostName, host_of_authority, split_authority};

/// The names and addresses the admin server answers to.
#[derive(Debug, Clone)]
pub(super) struct HostRules {
    bound: IpAddr,
    listed: Vec<HostName>,
}

impl HostRules {
    pub(super) fn new(bound: IpAddr, listed: &[AdminHost]) -> HostRules {
        HostRules {
            bound: bound.to_canonical(),
            listed: listed.iter().map(|h| h.0.clone()).collect(),
        }
    }

    /// The bound address, loopback, `localhost` and the listed names; on an
    /// unspecified bind (0.0.0.0, ::) any address, since the server is
    /// reached at whichever of the machine's addresses the client chose. An
    /// address in `Host` cannot be rebound: only a name can.
    fn allows(&self, host: &HostName) -> bool {
        let allowed = match host {
            HostName::Ip(ip) => {
                *ip == self.bound
                    || self.bound.is_unspecified()
                    || *ip == IpAddr::V4(Ipv4Addr::LOCALHOST)
                    || *ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
            }
            HostName::Name(name) => name == "localhost",
        };
        allowed || self.listed.contains(host)
    }
}

/// Counts refusals so that a page retrying in a loop cannot flood the log:
/// one line at most every [`RefusalLog::EVERY`], saying how many were not
/// logged since.
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    state: Mutex<(Option<Instant>, u64)>,
}

impl RefusalLog {
    const EVERY: Duration = Duration::from_secs(10);

    /// `Some(refusals not logged before this one)` when this one is to be
    /// logged.
    pub(super) fn note(&self, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last, quiet) = &mut *state;
        if last.is_some_and(|at| now.duration_since(at) < Self::EVERY) {
            *quiet += 1;
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(quiet))
    }
}

/// The client's address, as the listener saw it.
pub(super) fn peer_of(request: &Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// A header value for the log: printable, short.
pub(super) fn shown(value: Option<&axum::http::HeaderValue>) -> String {
    shown_text(value.map_or("(none)", |v| v.to_str().unwrap_or("(not text)")))
}

/// Whether a request with `method`, `uri` and `headers` may be served:
/// sent to a name in `rules`, and, when it changes something, from the
/// admin page itself.
pub(super) fn judge(
    rules: &HostRules,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<(), AdminError> {
    let host = request_host(uri, headers)?;
    if !rules.allows(&host.0) {
        return Err(AdminError::UnknownHost(shown_text(&host.1)));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    same_origin(&host.1, headers)
}

/// The host the request was sent to, parsed and as written. An
/// absolute-form target (`POST http://name/...`) names it too, and must
/// agree with `Host`.
fn request_host(
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<(HostName, String), AdminError> {
    let missing = || AdminError::BadRequest(String::from("the request names no valid host"));
    let header = match headers.get_all(header::HOST).iter().collect::<Vec<_>>()[..] {
        [] => None,
        [one] => Some(one.to_str().map_err(|_| missing())?.to_string()),
        _ => return Err(missing()),
    };
    let target = uri.authority().map(|a| a.as_str().to_string());
    let written = match (header, target) {
        (Some(h), Some(t)) if !h.eq_ignore_ascii_case(&t) => return Err(missing()),
        (Some(h), _) => h,
        (None, Some(t)) => t,
        (None, None) => return Err(missing()),
    };
    let parsed = host_of_authority(&written).ok_or_else(missing)?;
    Ok((parsed, written))
}

/// A request that changes something must come from the admin page itself
/// (or from no browser at all: scripts send neither header). `Origin`
/// must name the host and port the request was sent to (its scheme is not
/// compared: a TLS proxy in front changes it); `Sec-Fetch-Site`, where the
/// browser sends it, must be `same-origin` or `none` (typed by the user).
fn same_origin(host: &str, headers: &HeaderMap) -> Result<(), AdminError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        if !matches!(site, "same-origin" | "none") {
            let site = shown_text(site);
            return Err(AdminError::CrossSite(format!("Sec-Fetch-Site: {site}")));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let refused = || AdminError::CrossSite(format!("Origin: {}", shown_text(origin)));
    let url = Url::parse(origin).map_err(|_| refused())?;
    let origin_host = url
        .host_str()
        .and_then(host_of_authority)
        .ok_or_else(refused)?;
    let origin_port = url.port_or_known_default();
    let (host, port) = split_authority(host).ok_or_else(refused)?;
    // A `Host` without a port means the default port of the scheme the
    // browser used, which is the origin's.
    if host == origin_host && port.or(origin_port) == origin_port {
        Ok(())
    } else {
        Err(refused())
    }
}

/// At most 100 characters of `text`, for an error or the log.
fn shown_text(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> HostName {
        host_of_authority(text).unwrap_or_else(|| panic!("{text} is a host"))
    }

    fn rules(bound: &str, listed: &[&str]) -> HostRules {
        let listed: Vec<AdminHost> = listed.iter().map(|h| h.parse().expect("a host")).collect();
        HostRules::new(bound.parse().expect("an address"), &listed)
    }

    #[test]
    fn hosts_parse_with_and_without_ports() {
        assert_eq!(host("127.0.0.1:5557"), host("127.0.0.1"));
        assert_eq!(host("[::1]:5557"), HostName::Ip("::1".parse().expect("ip")));
        assert_eq!(host("[::1]"), host("::1"));
        assert_eq!(host("LocalHost.:8080"), HostName::Name("localhost".into()));
        assert_eq!(host("[::ffff:127.0.0.1]"), host("127.0.0.1"));
        for bad in [
            "",
            ":80",
            "a:b",
            "a:99999",
            "[::1",
            "[::1]x",
            "evil.example/x",
            "user@host",
            "a..b",
            "spa ce",
        ] {
            assert_eq!(host_of_authority(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_the_bound_address_loopback_localhost_and_listed_names_are_served() {
        let loopback = rules("127.0.0.1", &[]);
        for ok in [
            "127.0.0.1:5557",
            "127.0.0.1",
            "localhost:5557",
            "[::1]:5557",
        ] {
            assert!(loopback.allows(&host(ok)), "{ok}");
        }
        for refused in [
            "rebind.attacker.example",
            "rebind.attacker.example:5557",
            "127.0.0.1.nip.io",
            "localhost.attacker.example",
            "192.168.1.20:5557",
        ] {
            assert!(!loopback.allows(&host(refused)), "{refused}");
        }

        let lan = rules("192.168.1.20", &["yail.example.org", "10.1.1.1"]);
        for ok in [
            "192.168.1.20:5557",
            "yail.example.org",
            "YAIL.example.org.:443",
            "10.1.1.1",
        ] {
            assert!(lan.allows(&host(ok)), "{ok}");
        }
        assert!(!lan.allows(&host("other.example.org")));
        assert!(!lan.allows(&host("192.168.1.21")));

        // Bound everywhere: any address the client used, still no foreign name.
        let everywhere = rules("0.0.0.0", &[]);
        assert!(everywhere.allows(&host("192.168.1.20:5557")));
        assert!(everywhere.allows(&host("[2001:db8::5]:5557")));
        assert!(!everywhere.allows(&host("rebind.attacker.example")));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, axum::http::HeaderValue::from_static(value));
        }
        map
    }

    fn post(pairs: &[(&'static str, &'static str)]) -> Result<(), AdminError> {
        judge(
            &rules("127.0.0.1", &[]),
            &Method::POST,
            &axum::http::Uri::from_static("/api/config"),
            &headers(pairs),
        )
    }

    #[test]
    fn changes_from_another_site_are_refused() {
        let host = ("host", "127.0.0.1:5557");
        assert!(post(&[host]).is_ok(), "a script sends no Origin");
        assert!(post(&[host, ("origin", "http://127.0.0.1:5557")]).is_ok());
        assert!(post(&[host, ("sec-fetch-site", "same-origin")]).is_ok());
        assert!(post(&[("host", "localhost"), ("origin", "https://localhost")]).is_ok());
        for refused in [
            [host, ("origin", "http://evil.example")],
            [host, ("origin", "http://127.0.0.1:8080")],
            [host, ("origin", "http://localhost:5557")],
            [host, ("origin", "null")],
            [host, ("origin", "not a url")],
            [host, ("sec-fetch-site", "cross-site")],
            [host, ("sec-fetch-site", "same-site")],
        ] {
            assert!(
                matches!(post(&refused), Err(AdminError::CrossSite(_))),
                "{refused:?}"
            );
        }
        // Reading is judged by the host alone.
        let read = judge(
            &rules("127.0.0.1", &[]),
            &Method::GET,
            &axum::http::Uri::from_static("/api/status"),
            &headers(&[host, ("origin", "http://evil.example")]),
        );
        assert!(read.is_ok());
    }

    #[test]
    fn a_missing_doubled_or_contradicted_host_is_a_bad_request() {
        assert!(matches!(post(&[]), Err(AdminError::BadRequest(_))));
        assert!(matches!(
            post(&[("host", "127.0.0.1"), ("host", "evil.example")]),
            Err(AdminError::BadRequest(_))
        ));
        let contradicted = judge(
            &rules("127.0.0.1", &[]),
            &Method::GET,
            &axum::http::Uri::from_static("http://evil.example/api/status"),
            &headers(&[("host", "127.0.0.1")]),
        );
        assert!(matches!(contradicted, Err(AdminError::BadRequest(_))));
        assert!(matches!(
            post(&[("host", "rebind.attacker.example")]),
            Err(AdminError::UnknownHost(_))
        ));
    }

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count() {
        let log = RefusalLog::default();
        let start = Instant::now();
        assert_eq!(log.note(start), Some(0));
        for i in 1..=500 {
            assert_eq!(log.note(start + Duration::from_millis(i)), None);
        }
        assert_eq!(log.note(start + RefusalLog::EVERY), Some(500));
    }
}
