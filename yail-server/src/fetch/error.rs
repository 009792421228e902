//! Why a fetch failed, as a client is told and as the log keeps it, and
//! the one mapping of a policy refusal, a budget refusal or one of
//! reqwest's errors to it.

use url::Url;

use super::limits::Refusal;
use super::policy::Violation;

/// Why a fetch failed. Messages name the host at most, never the whole
/// URL, whose query may carry something private.
///
/// The message (`Display`) is what an Atari is sent. A name that does not
/// resolve and one that resolves only to addresses the policy refuses get
/// the same message, [`UNUSABLE_HOST`], or a client could map the
/// server's network by asking for names; the variant, and
/// [`FetchError::detail`] for the log, keep which it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL could not be parsed.
    #[error("not a valid URL: {0}")]
    BadUrl(String),
    /// A scheme other than http or https.
    #[error("only http and https URLs are fetched, not {0}")]
    Scheme(String),
    /// The host is (or resolves only to) an address the policy refuses.
    #[error("cannot use {0}: {UNUSABLE_HOST}")]
    Refused(String),
    /// The name did not resolve.
    #[error("cannot use {0}: {UNUSABLE_HOST}")]
    Resolve(String),
    /// More redirects than allowed.
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    /// A connect, read or total timeout.
    #[error("{0} took too long to answer")]
    Timeout(String),
    /// The server could not be reached.
    #[error("cannot connect to {0}; the server is down or refuses")]
    Connect(String),
    /// The secure (https) connection could not be set up.
    #[error("secure connection (https) to {0} failed")]
    Tls(String),
    /// The answer is a web page or other text, not a picture.
    #[error("{host} sent {what}, not a picture")]
    NotAPicture {
        /// The host.
        host: String,
        /// What came instead ("a web page (text/html)").
        what: String,
    },
    /// The server answered with an error status.
    #[error("{host} answered with an error ({status})")]
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
    /// The server's budget of download memory is taken by other downloads.
    #[error("the server is downloading too much at once; try again shortly")]
    Busy,
    /// Any other transport or protocol failure.
    #[error("download from {host} failed: {reason}")]
    Http {
        /// The host.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

/// Why a host cannot be used, as a client is told: the same words whether
/// its name is unknown or it is not a public address.
pub const UNUSABLE_HOST: &str = "no such name, or not a public address";

impl FetchError {
    /// The message with what a client is not told: for a host that cannot
    /// be used, whether its name did not resolve or its address is not
    /// public. For the server's log.
    pub fn detail(&self) -> String {
        match self {
            FetchError::Refused(host) => format!(
                "{host} is, or resolves only to, an address the policy refuses \
                 (private, local or reserved; --allow-url-net lets a network through)"
            ),
            FetchError::Resolve(host) => format!("the name {host} does not resolve"),
            other => other.to_string(),
        }
    }

    /// Whether trying the same URL again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::Timeout(_)
                | FetchError::Connect(_)
                | FetchError::Tls(_)
                | FetchError::Http { .. }
                | FetchError::Busy
        ) || matches!(self, FetchError::Status { status, .. } if *status >= 500 || *status == 429)
    }
}

/// Logs which of the two a host that cannot be used was, since the client
/// is not told (the request's own failure line shows the client's text).
pub(super) fn log_unusable_host(error: &FetchError) {
    if matches!(error, FetchError::Refused(_) | FetchError::Resolve(_)) {
        tracing::info!(detail = %error.detail(), "fetch refused");
    }
}

/// What a client is told when the download memory budget cannot cover a
/// body.
impl From<Refusal> for FetchError {
    fn from(refusal: Refusal) -> FetchError {
        match refusal {
            Refusal::LargerThanBudget(limit) => FetchError::TooLarge { limit },
            Refusal::Busy => FetchError::Busy,
        }
    }
}

/// The one mapping of a policy violation (found before a request, or in
/// reqwest's error chain after one) to the error a caller gets.
impl From<&Violation> for FetchError {
    fn from(violation: &Violation) -> FetchError {
        match violation {
            Violation::Refused(host) => FetchError::Refused(host.clone()),
            Violation::Scheme(scheme) => FetchError::Scheme(scheme.clone()),
            Violation::TooManyRedirects(n) => FetchError::TooManyRedirects(*n),
            Violation::Resolve(host) => FetchError::Resolve(host.clone()),
        }
    }
}

/// A typed error from reqwest's, finding our own policy errors in its chain.
pub(super) fn classify(error: &reqwest::Error, host: &str) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(violation) = e.downcast_ref::<Violation>() {
            return FetchError::from(violation);
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
    } else if error.is_connect() && is_tls_failure(error) {
        FetchError::Tls(host)
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

/// Whether a connect error of an https request happened after the TCP
/// connection was made, during the TLS handshake: the TCP connector's
/// own failures (refused, unreachable) carry their own I/O error kind,
/// while rustls and a peer that hangs up mid-handshake surface as others.
fn is_tls_failure(error: &reqwest::Error) -> bool {
    if error.url().is_none_or(|u| u.scheme() != "https") {
        return false;
    }
    let mut innermost_io = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            innermost_io = Some(io.kind());
        }
        source = e.source();
    }
    use std::io::ErrorKind as Io;
    !matches!(
        innermost_io,
        Some(
            Io::ConnectionRefused
                | Io::HostUnreachable
                | Io::NetworkUnreachable
                | Io::AddrNotAvailable
                | Io::TimedOut
                | Io::PermissionDenied
        )
    )
}
