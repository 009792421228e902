//! The one guarded HTTP client for everything the server downloads: search
//! results, `showurl`, generated-picture URLs and camera snapshots.
//!
//! A client names the URL, so every fetch is bounded and checked:
//! only http and https; connect, read and total timeouts; a body limit
//! enforced while the body streams in; at most a few redirects, each hop
//! checked; and an address policy applied *after* name resolution (a custom
//! resolver, so a public name that resolves to a private address is caught)
//! and to literal-IP hosts on the first request and on every redirect hop
//! (which the resolver never sees). Bodies compressed with gzip or deflate
//! are decompressed as they arrive, and the limit applies to what comes
//! out. Clones of a fetcher share a quota of fetches at once per client
//! network and a budget of body bytes held across the server
//! ([`FetchConfig::max_fetches_per_network`],
//! [`FetchConfig::download_memory_bytes`]).

mod body;
mod error;
mod limits;
mod policy;
mod resolve;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::redirect;
use url::Url;

pub(crate) use body::next_chunk;
pub use body::{Fetched, read_limited};
pub use error::{FetchError, UNUSABLE_HOST};
use error::{classify, log_unusable_host};
use limits::{GROWTH_STEP, Limits, Reservation};
pub use policy::{IpNet, is_public};
use policy::{Policy, Violation, check_url};
use resolve::GuardedResolver;
pub use resolve::{Lookup, Resolve, Resolver};

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
    /// Non-public networks allowed all the same (`--allow-url-net`): one
    /// LAN host can be reached without opening every private address.
    pub allowed_nets: Vec<IpNet>,
    /// How host names are looked up (the system resolver by default).
    pub resolver: Resolver,
    /// The `User-Agent` sent (a request may give its own).
    pub user_agent: String,
    /// Fetches one client network (an IPv4 address, an IPv6 /64) may have
    /// running at once through [`Fetcher::get_for`]; more wait their turn.
    pub max_fetches_per_network: usize,
    /// Bytes of bodies all fetches of this fetcher (and its clones) may
    /// hold at once; a download waits, or fails, when they are taken.
    pub download_memory_bytes: u64,
    /// Accept any TLS certificate, self-signed or not, for any name: only
    /// for the operator's own camera (`--camera-insecure-tls`), never for
    /// the URLs clients name.
    pub accept_invalid_certs: bool,
}

/// Default largest body: 20 MB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 20_000_000;
/// Default longest wait for a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest silence while reading.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Default longest whole download (`--fetch-timeout`).
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default redirects followed.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// Default fetches at once per client network (`--max-fetches-per-ip`):
/// a search races a few candidates per session, and a household runs a
/// few sessions.
pub const DEFAULT_MAX_FETCHES_PER_NETWORK: usize = 8;
/// Default bytes of bodies held at once (`--download-memory-mb`): 128 MiB,
/// six downloads of the largest size allowed, a few hundred of the usual.
pub const DEFAULT_DOWNLOAD_MEMORY_BYTES: u64 = 128 << 20;

/// The server's defaults (the same as `Config::default()`'s): public
/// addresses only, the system resolver.
impl Default for FetchConfig {
    fn default() -> FetchConfig {
        FetchConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            allow_private: false,
            allowed_nets: Vec::new(),
            resolver: Resolver::system(),
            user_agent: format!("yail-server/{}", env!("CARGO_PKG_VERSION")),
            max_fetches_per_network: DEFAULT_MAX_FETCHES_PER_NETWORK,
            download_memory_bytes: DEFAULT_DOWNLOAD_MEMORY_BYTES,
            accept_invalid_certs: false,
        }
    }
}

/// The guarded client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: Arc<FetchConfig>,
    limits: Limits,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher with `config`.
    ///
    /// # Errors
    /// When the TLS backend cannot be set up.
    pub fn new(config: FetchConfig) -> Result<Fetcher, FetchError> {
        let max_redirects = config.max_redirects;
        let hops = Policy::new(config.allow_private, &config.allowed_nets);
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(Violation::TooManyRedirects(max_redirects));
            }
            match check_url(attempt.url(), &hops) {
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
            .dns_resolver(GuardedResolver {
                policy: Policy::new(config.allow_private, &config.allowed_nets),
                resolver: config.resolver.clone(),
            })
            .user_agent(config.user_agent.clone())
            // gzip and deflate (reqwest's features) are on: the header
            // offers both unless a request sets its own, and a body
            // arrives decompressed, so every limit counts what comes out.
            .tls_danger_accept_invalid_certs(config.accept_invalid_certs)
            .build()
            .map_err(|e| FetchError::Http {
                host: String::from("(client)"),
                reason: e.to_string(),
            })?;
        let limits = Limits::new(config.max_fetches_per_network, config.download_memory_bytes);
        Ok(Fetcher {
            client,
            config: Arc::new(config),
            limits,
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
        // A session's request waiting on this download may be closed by a
        // full server once it has waited long (`--slow-fetch-secs`).
        let _waiting = crate::download_clock::mark();
        let host = host_of(url);
        let fetch = async {
            let response = self.open_with(url, headers).await?;
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let final_url = response.url().clone();
            let (bytes, reservation) = self.read_reserved(response).await?;
            Ok(Fetched {
                bytes,
                content_type,
                url: final_url,
                _reservation: Some(Arc::new(reservation)),
            })
        };
        tokio::time::timeout(self.config.total_timeout, fetch)
            .await
            .unwrap_or(Err(FetchError::Timeout(host)))
    }

    /// [`Fetcher::get`] for a fetch `client` causes: it waits for a place
    /// in the quota of the client's network, within the total timeout.
    pub async fn get_for(&self, client: IpAddr, url: &str) -> Result<Fetched, FetchError> {
        let host = host_of(url);
        let fetch = async {
            let _place = self.limits.network(client).await;
            self.get(url).await
        };
        tokio::time::timeout(self.config.total_timeout, fetch)
            .await
            .unwrap_or(Err(FetchError::Timeout(host)))
    }

    /// Fetches running now for `client`'s network through
    /// [`Fetcher::get_for`].
    pub fn fetches_running_for(&self, client: IpAddr) -> usize {
        self.limits.running_for(client)
    }

    /// Bytes of the download memory budget held now, by bodies arriving
    /// or handed out and not yet dropped.
    pub fn download_memory_in_use(&self) -> u64 {
        self.limits.reserved_bytes()
    }

    /// Reads a response body within the body limit and the download
    /// memory budget (see [`FetchConfig::download_memory_bytes`]); the
    /// reservation covers the body until it is dropped.
    async fn read_reserved(
        &self,
        mut response: reqwest::Response,
    ) -> Result<(Bytes, Reservation), FetchError> {
        let limit = self.config.max_body_bytes;
        let declared = response.content_length();
        if declared.is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut reservation = match declared {
            Some(length) => self.limits.reserve(length).await?,
            None => Reservation::empty(),
        };
        let capacity = declared.unwrap_or(0).min(limit);
        let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = next_chunk(&mut response).await? {
            let length = body.len() as u64 + chunk.len() as u64;
            if length > limit {
                return Err(FetchError::TooLarge { limit });
            }
            if length > reservation.bytes() {
                let step = length.div_ceil(GROWTH_STEP).saturating_mul(GROWTH_STEP);
                self.limits
                    .grow(&mut reservation, step.min(limit).max(length))?;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body.freeze(), reservation))
    }

    /// A whole body, within the body limit and the download memory budget,
    /// of a response from [`Fetcher::open_with`] (a search service's page).
    pub(crate) async fn read_body(&self, response: reqwest::Response) -> Result<Bytes, FetchError> {
        Ok(self.read_reserved(response).await?.0)
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
        let response = self.send_with(url, headers).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                host: response.url().host_str().unwrap_or_default().to_string(),
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

    /// Sends a GET for `url` with `headers` and returns the response once
    /// its headers are in, whatever its status (a camera asking for
    /// credentials answers 401 with what it wants in its headers). The
    /// address policy applies; only the connect and read timeouts do.
    pub async fn send_with(
        &self,
        url: &str,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::BadUrl(e.to_string()))?;
        check_url(
            &parsed,
            &Policy::new(self.config.allow_private, &self.config.allowed_nets),
        )
        .map_err(|violation| FetchError::from(&violation))
        .inspect_err(log_unusable_host)?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let response = self
            .client
            .get(parsed)
            .headers(headers)
            .send()
            .await
            .map_err(|e| classify(&e, &host))
            .inspect_err(log_unusable_host)?;
        Ok(response)
    }
}

fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| String::from("the server"))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

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

    /// A resolver answering from a table, counting the names it is asked;
    /// unknown names fail as a DNS server's "no such name" would.
    struct Table {
        entries: Vec<(&'static str, IpAddr)>,
        asked: Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl Resolve for Table {
        fn lookup(&self, host: String) -> Lookup {
            self.asked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(host.clone());
            let found: Vec<IpAddr> = self
                .entries
                .iter()
                .filter(|(name, _)| *name == host)
                .map(|(_, ip)| *ip)
                .collect();
            Box::pin(async move {
                if found.is_empty() {
                    Err(std::io::Error::other("no such name"))
                } else {
                    Ok(found)
                }
            })
        }
    }

    fn table_fetcher(
        entries: Vec<(&'static str, IpAddr)>,
        allowed_nets: Vec<IpNet>,
    ) -> (Fetcher, Arc<std::sync::Mutex<Vec<String>>>) {
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let resolver = Resolver::new(Table {
            entries,
            asked: Arc::clone(&asked),
        });
        let fetcher = Fetcher::new(FetchConfig {
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(3),
            allowed_nets,
            resolver,
            ..FetchConfig::default()
        })
        .expect("a fetcher");
        (fetcher, asked)
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_resolve_error() {
        let (fetcher, asked) = table_fetcher(Vec::new(), Vec::new());
        let error = fetcher
            .get("http://pictures.example.com/cat.jpg")
            .await
            .expect_err("no such name");
        assert!(
            matches!(&error, FetchError::Resolve(host) if host == "pictures.example.com"),
            "{error:?}"
        );
        assert!(error.detail().contains("does not resolve"), "{error:?}");
        assert_eq!(*asked.lock().unwrap(), ["pictures.example.com"]);
    }

    #[tokio::test]
    async fn invalid_names_are_refused_without_asking_the_resolver() {
        let (fetcher, asked) = table_fetcher(Vec::new(), Vec::new());
        for url in ["http://cat.invalid/x.jpg", "https://INVALID./x.jpg"] {
            let error = fetcher.get(url).await.expect_err(url);
            assert!(matches!(error, FetchError::Resolve(_)), "{url}: {error:?}");
        }
        assert!(asked.lock().unwrap().is_empty(), "a query was made");
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_private_address_is_refused_before_connecting() {
        let private: IpAddr = "10.0.0.1".parse().expect("an address");
        let metadata: IpAddr = "169.254.169.254".parse().expect("an address");
        let (fetcher, _) = table_fetcher(
            vec![("lan.example.com", private), ("meta.example.com", metadata)],
            Vec::new(),
        );
        for url in [
            "http://lan.example.com/x.jpg",
            "http://meta.example.com/latest/",
        ] {
            let error = fetcher.get(url).await.expect_err(url);
            // A connection attempt would have given Connect or Timeout.
            assert!(matches!(error, FetchError::Refused(_)), "{url}: {error:?}");
        }
    }

    #[tokio::test]
    async fn unknown_and_private_names_give_a_client_the_same_text() {
        // The same name, unknown to one resolver and private to the other:
        // the client's text must not tell the two apart; the log's must.
        let url = "http://nas.example.com/photo.jpg";
        let (unknown, _) = table_fetcher(Vec::new(), Vec::new());
        let lan: IpAddr = "192.168.1.10".parse().expect("an address");
        let (private, _) = table_fetcher(vec![("nas.example.com", lan)], Vec::new());
        let not_found = unknown.get(url).await.expect_err("no such name");
        let refused = private.get(url).await.expect_err("private");
        assert!(matches!(not_found, FetchError::Resolve(_)), "{not_found:?}");
        assert!(matches!(refused, FetchError::Refused(_)), "{refused:?}");
        assert_eq!(not_found.to_string(), refused.to_string());
        assert_eq!(
            refused.to_string(),
            format!("cannot use nas.example.com: {UNUSABLE_HOST}")
        );
        assert_ne!(not_found.detail(), refused.detail());
        // A literal private address reads the same way.
        let literal = unknown
            .get("http://192.168.1.10/photo.jpg")
            .await
            .expect_err("private");
        assert_eq!(
            literal.to_string(),
            format!("cannot use 192.168.1.10: {UNUSABLE_HOST}")
        );
    }
}
