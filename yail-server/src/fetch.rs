// Over 500 lines because its unit tests (the address policy on every range)
// sit beside the policy they pin; the code itself is about 450 lines.
//! The one guarded HTTP client for everything the server downloads: search
//! results, `showurl`, generated-picture URLs and camera snapshots.
//!
//! A client names the URL, so every fetch is bounded and checked:
//! only http and https; connect, read and total timeouts; a body limit
//! enforced while the body streams in; at most a few redirects, each hop
//! checked; and an address policy applied *after* name resolution (a custom
//! resolver, so a public name that resolves to a private address is caught)
//! and to literal-IP hosts on the first request and on every redirect hop
//! (which the resolver never sees).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::redirect;
use url::{Host, Url};

/// Limits and policy of a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    pub read_timeout: Duration,
    /// Longest a whole fetch, body included, may take ([`Fetcher::get`]).
    pub total_timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Allow loopback, private, link-local and other non-public addresses
    /// (`--allow-private-urls`).
    pub allow_private: bool,
    /// The `User-Agent` sent.
    pub user_agent: String,
}

/// Default largest body: 20 MB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 20_000_000;

impl Default for FetchConfig {
    fn default() -> FetchConfig {
        FetchConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(45),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: 5,
            allow_private: false,
            user_agent: format!("yail-server/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Why a fetch failed. Messages name the host at most, never the whole
/// URL, whose query may carry something private.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL could not be parsed.
    #[error("not a valid URL: {0}")]
    BadUrl(String),
    /// A scheme other than http or https.
    #[error("only http and https URLs are fetched, not {0}")]
    Scheme(String),
    /// The host is (or resolves to) an address the policy refuses.
    #[error("{0} is a private or local address; refused")]
    Refused(String),
    /// The name did not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// More redirects than allowed.
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    /// A connect, read or total timeout.
    #[error("{0} took too long to answer")]
    Timeout(String),
    /// The server could not be reached.
    #[error("cannot connect to {0}")]
    Connect(String),
    /// The server answered with an error status.
    #[error("{host} answered {status}")]
    Status {
        /// The host.
        host: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body is larger than the limit.
    #[error("the download is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Any other transport or protocol failure.
    #[error("download from {host} failed: {reason}")]
    Http {
        /// The host.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

impl FetchError {
    /// Whether trying the same URL again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::Timeout(_) | FetchError::Connect(_) | FetchError::Http { .. }
        ) || matches!(self, FetchError::Status { status, .. } if *status >= 500 || *status == 429)
    }
}

/// A downloaded body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The URL after redirects.
    pub url: Url,
}

/// The guarded client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: Arc<FetchConfig>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A policy violation found by the resolver or the redirect policy; found
/// again in reqwest's error chain to give a typed [`FetchError`].
#[derive(Debug, thiserror::Error)]
enum Violation {
    #[error("{0} is a private or local address")]
    Refused(String),
    #[error("scheme {0} refused")]
    Scheme(String),
    #[error("too many redirects")]
    TooManyRedirects(usize),
    #[error("cannot resolve {0}")]
    Resolve(String),
}

impl Fetcher {
    /// A fetcher with `config`.
    ///
    /// # Errors
    /// When the TLS backend cannot be set up.
    pub fn new(config: FetchConfig) -> Result<Fetcher, FetchError> {
        let allow_private = config.allow_private;
        let max_redirects = config.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(Violation::TooManyRedirects(max_redirects));
            }
            match check_url(attempt.url(), allow_private) {
                Ok(()) => attempt.follow(),
                Err(violation) => attempt.error(violation),
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .http1_only()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(policy)
            .dns_resolver(GuardedResolver { allow_private })
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| FetchError::Http {
                host: String::from("(client)"),
                reason: e.to_string(),
            })?;
        Ok(Fetcher {
            client,
            config: Arc::new(config),
        })
    }

    /// The limits in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Downloads `url` whole, within the body limit and the total timeout.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.get_with(url, HeaderMap::new()).await
    }

    /// [`Fetcher::get`] with extra request headers.
    pub async fn get_with(&self, url: &str, headers: HeaderMap) -> Result<Fetched, FetchError> {
        let host = host_of(url);
        let fetch = async {
            let response = self.open_with(url, headers).await?;
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let final_url = response.url().clone();
            let bytes = read_limited(response, self.config.max_body_bytes).await?;
            Ok(Fetched {
                bytes,
                content_type,
                url: final_url,
            })
        };
        tokio::time::timeout(self.config.total_timeout, fetch)
            .await
            .unwrap_or(Err(FetchError::Timeout(host)))
    }

    /// Sends a GET for `url` and returns the response once its headers are
    /// in and its status is a success, for callers that stream the body
    /// (a camera); read it with [`read_limited`] or chunk by chunk within
    /// your own bound. Only the connect and read timeouts apply.
    pub async fn open(&self, url: &str) -> Result<reqwest::Response, FetchError> {
        self.open_with(url, HeaderMap::new()).await
    }

    /// [`Fetcher::open`] with extra request headers.
    pub async fn open_with(
        &self,
        url: &str,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::BadUrl(e.to_string()))?;
        check_url(&parsed, self.config.allow_private).map_err(Violation::into_error)?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let response = self
            .client
            .get(parsed)
            .headers(headers)
            .send()
            .await
            .map_err(|e| classify(&e, &host))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                host: response.url().host_str().unwrap_or(&host).to_string(),
                status: status.as_u16(),
            });
        }
        if let Some(length) = response.content_length()
            && length > self.config.max_body_bytes
        {
            return Err(FetchError::TooLarge {
                limit: self.config.max_body_bytes,
            });
        }
        Ok(response)
    }
}

/// Reads a response body, failing as soon as it grows past `limit` bytes.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Bytes, FetchError> {
    let host = response.url().host_str().unwrap_or_default().to_string();
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge { limit });
    }
    let capacity = response.content_length().unwrap_or(0).min(limit);
    let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, &host))? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

impl Violation {
    fn into_error(self) -> FetchError {
        match self {
            Violation::Refused(host) => FetchError::Refused(host),
            Violation::Scheme(scheme) => FetchError::Scheme(scheme),
            Violation::TooManyRedirects(n) => FetchError::TooManyRedirects(n),
            Violation::Resolve(host) => FetchError::Resolve(host),
        }
    }
}

/// A typed error from reqwest's, finding our own policy errors in its chain.
fn classify(error: &reqwest::Error, host: &str) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(v) = e.downcast_ref::<Violation>() {
            return match v {
                Violation::Refused(h) => FetchError::Refused(h.clone()),
                Violation::Scheme(s) => FetchError::Scheme(s.clone()),
                Violation::TooManyRedirects(n) => FetchError::TooManyRedirects(*n),
                Violation::Resolve(h) => FetchError::Resolve(h.clone()),
            };
        }
        source = e.source();
    }
    let host = error
        .url()
        .and_then(Url::host_str)
        .unwrap_or(host)
        .to_string();
    if error.is_timeout() {
        FetchError::Timeout(host)
    } else if error.is_connect() {
        FetchError::Connect(host)
    } else {
        // reqwest's message names the URL: keep only the innermost cause.
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(e) = source {
            reason = e.to_string();
            source = e.source();
        }
        FetchError::Http { host, reason }
    }
}

/// The scheme and, for literal-IP hosts, the address policy.
fn check_url(url: &Url, allow_private: bool) -> Result<(), Violation> {
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(Violation::Scheme(other.to_string())),
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()), // checked by the resolver
        None => return Err(Violation::Resolve(String::from("(no host)"))),
    };
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(Violation::Refused(ip.to_string()))
    }
}

/// Resolves names with the system resolver and drops the addresses the
/// policy refuses; a name left with none is refused.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Violation::Resolve(host.clone()))?
                .collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let violation = if found.is_empty() {
                    Violation::Resolve(host)
                } else {
                    Violation::Refused(host)
                };
                return Err(Box::new(violation) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| String::from("the server"))
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
        check_url(&Url::parse(url).expect("a URL"), allow_private)
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

    #[tokio::test]
    async fn refusals_happen_before_any_connection() {
        let fetcher = Fetcher::new(FetchConfig::default()).expect("a fetcher");
        // Nothing listens on these; a refusal proves no connection was tried
        // (a connection attempt would give Connect instead).
        let error = fetcher
            .get("http://127.0.0.1:9/x")
            .await
            .expect_err("refused");
        assert!(matches!(error, FetchError::Refused(_)), "{error:?}");
        let error = fetcher
            .get("http://localhost:9/x")
            .await
            .expect_err("refused");
        assert!(matches!(error, FetchError::Refused(_)), "{error:?}");
        let error = fetcher.get("not a url").await.expect_err("bad");
        assert!(matches!(error, FetchError::BadUrl(_)), "{error:?}");
    }
}
