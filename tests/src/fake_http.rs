// About 800 lines with its own tests: one fake serves every network-source
// test, over plain TCP or TLS, and a raw client checks what it refuses.
//! A tiny HTTP/1.1 server on loopback for tests of the network sources:
//! routes by path to canned replies or handlers, plus misbehaving hosts
//! (slow, hanging, endless, looping, garbage). One request per connection,
//! answered with `Connection: close`; every request is recorded, and so is
//! every client that left before its answer was complete. It can listen on
//! any 127.x address, serve TLS with a self-signed certificate, and
//! compress a body as the request's `Accept-Encoding` allows.
//!
//! [`raw_get`] sends a request with exactly the headers given, for tests
//! that a fake refuses what the real service refuses.
//!
//! ```no_run
//! # async fn demo() {
//! use yail_tests::fake_http::{FakeHttp, Reply};
//! let server = FakeHttp::builder()
//!     .route("/cat.jpg", Reply::ok("image/jpeg", vec![0xff, 0xd8]))
//!     .route("/slow", Reply::ok("text/plain", "late").delayed(std::time::Duration::from_secs(2)))
//!     .start()
//!     .await;
//! let url = server.url("/cat.jpg");
//! # }
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Largest request head read; tests send small ones.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body read.
const MAX_BODY: usize = 16 << 20;

/// A request as the fake server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (without `?`), empty when none.
    pub query: String,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The body (read by `Content-Length`).
    pub body: Vec<u8>,
    /// The client's address.
    pub peer: SocketAddr,
}

/// The value of the first of `headers` (names in lower case) called
/// `name`, in any case.
pub fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Request {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The first query parameter called `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key) == name).then(|| decode(value))
        })
    }

    /// The comma-separated items of a header (its first occurrence),
    /// trimmed, empty ones dropped.
    pub fn header_items(&self, name: &str) -> Vec<String> {
        self.header(name)
            .unwrap_or_default()
            .split(',')
            .map(|item| item.trim().to_string())
            .filter(|item| !item.is_empty())
            .collect()
    }

    /// Request line and headers as text, for "no secret in here" checks.
    pub fn head_text(&self) -> String {
        let mut text = format!("{} {}?{}\n", self.method, self.path, self.query);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Computes a reply from a request.
pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// What the fake server does with a request.
#[derive(Clone)]
pub enum Reply {
    /// A complete response with `Content-Length`.
    Full {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Waits, then does the inner reply.
    Delayed(Duration, Box<Reply>),
    /// Reads the request and never answers (the connection stays open
    /// until the server is dropped).
    Hang,
    /// Headers, then body bytes forever (no length), `chunk` at a time.
    Endless {
        /// The `Content-Type`.
        content_type: String,
        /// Bytes written per write.
        chunk: usize,
    },
    /// Headers without a length, then `parts` one after another with
    /// `interval` between them, then closes (or starts again if `repeat`).
    /// Serves MJPEG-like streams.
    Stream {
        /// Status code.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// The parts, written in order.
        parts: Vec<Vec<u8>>,
        /// Pause between parts.
        interval: Duration,
        /// Loop over the parts until the client leaves.
        repeat: bool,
    },
    /// These bytes instead of an HTTP response, then close.
    Raw(Vec<u8>),
    /// Computed from the request.
    Handler(Handler),
    /// The inner full reply with its body compressed as the request's
    /// `Accept-Encoding` allows: gzip when offered, else deflate (the
    /// zlib format RFC 9110 §8.4.1.2 names), else as it is.
    Compressed(Box<Reply>),
}

impl Reply {
    /// 200 with a body of `content_type`.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200, content_type, body)
    }

    /// `status` with a body of `content_type`.
    pub fn status(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: vec![(String::from("Content-Type"), content_type.to_string())],
            body: body.into(),
        }
    }

    /// A JSON body.
    pub fn json(body: impl Into<Vec<u8>>) -> Reply {
        Reply::ok("application/json", body)
    }

    /// A 302 to `location` (absolute, or a path on this server).
    pub fn redirect(location: &str) -> Reply {
        Reply::Full {
            status: 302,
            headers: vec![(String::from("Location"), location.to_string())],
            body: Vec::new(),
        }
    }

    /// Bytes that are not HTTP at all.
    pub fn garbage() -> Reply {
        Reply::Raw(b"\x00\xffNOT HTTP AT ALL\r\n\x01\x02\x03\r\n\r\n".to_vec())
    }

    /// A body without end.
    pub fn endless(content_type: &str) -> Reply {
        Reply::Endless {
            content_type: content_type.to_string(),
            chunk: 64 * 1024,
        }
    }

    /// A 200 of `content_type` whose body trickles in, one byte every
    /// `interval`, and never ends.
    pub fn trickle(content_type: &str, interval: Duration) -> Reply {
        Reply::Stream {
            status: 200,
            headers: vec![(String::from("Content-Type"), content_type.to_string())],
            parts: vec![vec![0xff]],
            interval,
            repeat: true,
        }
    }

    /// A reply from a closure of the request.
    pub fn handler(f: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Reply {
        Reply::Handler(Arc::new(f))
    }

    /// This reply, compressed when the request allows it.
    pub fn compressed(self) -> Reply {
        Reply::Compressed(Box::new(self))
    }

    /// This reply after `delay`.
    pub fn delayed(self, delay: Duration) -> Reply {
        Reply::Delayed(delay, Box::new(self))
    }

    /// This reply with an extra header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } | Reply::Stream { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

/// Routes for a [`FakeHttp`].
#[derive(Default)]
pub struct Builder {
    routes: HashMap<String, Reply>,
    fallback: Option<Reply>,
    ip: Option<IpAddr>,
    tls: bool,
}

impl Builder {
    /// Answers requests for `path` (query ignored) with `reply`.
    pub fn route(mut self, path: &str, reply: Reply) -> Builder {
        self.routes.insert(path.to_string(), reply);
        self
    }

    /// Answers every unrouted path with `reply` (default: 404).
    pub fn fallback(mut self, reply: Reply) -> Builder {
        self.fallback = Some(reply);
        self
    }

    /// Listens on `ip` (a loopback address, such as 127.0.0.7) instead of
    /// 127.0.0.1.
    pub fn bind(mut self, ip: IpAddr) -> Builder {
        self.ip = Some(ip);
        self
    }

    /// Serves https, with the self-signed certificate of `tests/certs`
    /// (for 127.0.0.1 and localhost), which no client trusts by default.
    pub fn tls(mut self) -> Builder {
        self.tls = true;
        self
    }

    /// Binds a free port and starts serving.
    pub async fn start(self) -> FakeHttp {
        let ip = self.ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let listener = TcpListener::bind(SocketAddr::new(ip, 0))
            .await
            .expect("bind a loopback port for the fake HTTP server");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared {
            routes: Mutex::new(self.routes),
            fallback: self
                .fallback
                .unwrap_or_else(|| Reply::status(404, "text/plain", "not found")),
            log: Mutex::new(Vec::new()),
            left: Mutex::new(Vec::new()),
            open: Mutex::new(Open::default()),
        });
        let tls = self.tls.then(self_signed_acceptor);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(accept(listener, tls, Arc::clone(&shared)));
        FakeHttp {
            addr,
            scheme,
            shared,
            task,
        }
    }
}

/// The acceptor for `tests/certs/camera-cert.pem`.
fn self_signed_acceptor() -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificate = CertificateDer::from_pem_slice(include_bytes!("../certs/camera-cert.pem"))
        .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../certs/camera-key.pem"))
        .expect("the test key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .expect("a certificate and its key");
    TlsAcceptor::from(Arc::new(config))
}

/// Requests being answered now, and the most there were at once.
#[derive(Default)]
struct Open {
    now: usize,
    peak: usize,
}

struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    fallback: Reply,
    log: Mutex<Vec<Request>>,
    /// Paths whose client left before the answer was complete.
    left: Mutex<Vec<String>>,
    open: Mutex<Open>,
}

/// A running fake server; stops (and drops every open connection) when
/// dropped.
pub struct FakeHttp {
    addr: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeHttp {
    /// Routes to add before [`Builder::start`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS; no trailing slash).
    pub fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Adds or replaces a route while running.
    pub fn set_route(&self, path: &str, reply: Reply) {
        lock(&self.shared.routes).insert(path.to_string(), reply);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// How many clients asking for `path` closed their connection before
    /// the answer was complete (a hanging or delayed reply, a stream).
    pub fn left_early(&self, path: &str) -> usize {
        lock(&self.shared.left)
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// Requests being answered now.
    pub fn open_requests(&self) -> usize {
        lock(&self.shared.open).now
    }

    /// The most requests that were being answered at once.
    pub fn peak_open_requests(&self) -> usize {
        lock(&self.shared.open).peak
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    // Connection tasks live in a JoinSet owned by this task, so aborting
    // the accept loop closes them too (hanging replies included).
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                match tls.clone() {
                    None => connections.spawn(serve(stream, peer, shared)),
                    Some(acceptor) => connections.spawn(async move {
                        // A client that refuses the certificate ends here.
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve(stream, peer, shared).await;
                        }
                    }),
                };
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Counts a request as open while it lives.
struct OpenGuard(Arc<Shared>);

impl OpenGuard {
    fn new(shared: &Arc<Shared>) -> OpenGuard {
        let mut open = lock(&shared.open);
        open.now += 1;
        open.peak = open.peak.max(open.now);
        OpenGuard(Arc::clone(shared))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        lock(&self.0.open).now -= 1;
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
) {
    let Some(request) = read_request(&mut stream, peer).await else {
        return;
    };
    let _open = OpenGuard::new(&shared);
    lock(&shared.log).push(request.clone());
    let reply = lock(&shared.routes)
        .get(&request.path)
        .cloned()
        .unwrap_or_else(|| shared.fallback.clone());
    if let Err(Gone) = respond(&mut stream, &request, reply).await {
        lock(&shared.left).push(request.path.clone());
    }
    let _ = stream.shutdown().await;
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S, peer: SocketAddr) -> Option<Request> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
        peer,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        301 => "Moved Permanently",
        302 => "Found",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn head(status: u16, headers: &[(String, String)], length: Option<usize>) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(length) = length {
        text.push_str(&format!("Content-Length: {length}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// The client closed its connection before the answer was complete.
struct Gone;

impl From<std::io::Error> for Gone {
    fn from(_: std::io::Error) -> Gone {
        Gone
    }
}

/// Completes when the client closes its side (a client sends nothing after
/// its request: one request per connection).
async fn client_gone<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut scratch = [0u8; 256];
    loop {
        match stream.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn respond<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &Request,
    reply: Reply,
) -> Result<(), Gone> {
    let mut reply = reply;
    loop {
        match reply {
            Reply::Handler(handler) => reply = handler(request),
            Reply::Compressed(inner) => reply = compress(*inner, request),
            Reply::Delayed(delay, inner) => {
                tokio::select! {
                    () = tokio::time::sleep(delay) => reply = *inner,
                    () = client_gone(stream) => return Err(Gone),
                }
            }
            Reply::Full {
                status,
                headers,
                body,
            } => {
                stream
                    .write_all(&head(status, &headers, Some(body.len())))
                    .await?;
                if request.method != "HEAD" {
                    stream.write_all(&body).await?;
                }
                stream.flush().await?;
                return Ok(());
            }
            Reply::Hang => {
                client_gone(stream).await;
                return Err(Gone);
            }
            Reply::Endless {
                content_type,
                chunk,
            } => {
                let headers = [(String::from("Content-Type"), content_type)];
                stream.write_all(&head(200, &headers, None)).await?;
                let block = vec![0x5a_u8; chunk.max(1)];
                loop {
                    stream.write_all(&block).await?;
                }
            }
            Reply::Stream {
                status,
                headers,
                parts,
                interval,
                repeat,
            } => {
                stream.write_all(&head(status, &headers, None)).await?;
                loop {
                    for part in &parts {
                        stream.write_all(part).await?;
                        stream.flush().await?;
                        tokio::select! {
                            () = tokio::time::sleep(interval) => {}
                            () = client_gone(stream) => return Err(Gone),
                        }
                    }
                    if !repeat || parts.is_empty() {
                        return Ok(());
                    }
                }
            }
            Reply::Raw(bytes) => {
                stream.write_all(&bytes).await?;
                return Ok(());
            }
        }
    }
}

/// The encodings an `Accept-Encoding` header offers, lower case, without
/// their weights; an item weighted `q=0` is refused, so left out.
pub fn offered_encodings(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (!coding.is_empty() && !refused).then_some(coding)
        })
        .collect()
}

/// `reply` (resolved to a full reply) with its body compressed as the
/// request allows.
fn compress(reply: Reply, request: &Request) -> Reply {
    let reply = match reply {
        Reply::Handler(handler) => handler(request),
        other => other,
    };
    let Reply::Full {
        status,
        mut headers,
        body,
    } = reply
    else {
        return reply;
    };
    let offered = offered_encodings(request.header("accept-encoding"));
    let (coding, body) = if offered.iter().any(|c| c == "gzip") {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = encoder.write_all(&body);
        ("gzip", encoder.finish().unwrap_or_default())
    } else if offered.iter().any(|c| c == "deflate") {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = encoder.write_all(&body);
        ("deflate", encoder.finish().unwrap_or_default())
    } else {
        return Reply::Full {
            status,
            headers,
            body,
        };
    };
    headers.push((String::from("Content-Encoding"), coding.to_string()));
    Reply::Full {
        status,
        headers,
        body,
    }
}

/// An answer as [`raw_get`] read it.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (not decompressed).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The body, gunzipped when it came gzip-encoded, as text.
    pub fn text(&self) -> String {
        use std::io::Read as _;
        let mut body = self.body.clone();
        if self.header("content-encoding") == Some("gzip") {
            let mut decoded = Vec::new();
            if flate2::read::GzDecoder::new(self.body.as_slice())
                .read_to_end(&mut decoded)
                .is_ok()
            {
                body = decoded;
            }
        }
        String::from_utf8_lossy(&body).into_owned()
    }
}

/// Sends `GET target` to `addr` (plain HTTP) with exactly `headers` besides
/// `Host`, and reads the whole answer: for tests of what a fake refuses,
/// where an HTTP client would add headers of its own.
///
/// # Panics
/// When nothing listens or the answer is not HTTP (a test failure).
pub async fn raw_get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect to the fake");
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the fake answers in time")
        .expect("read the answer");
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: answer[end + 4..].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_percent_decoded() {
        let request = Request {
            method: String::from("GET"),
            path: String::from("/i.js"),
            query: String::from("q=red+cat%21&vqd=4-123&x"),
            headers: Vec::new(),
            body: Vec::new(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
        };
        assert_eq!(request.param("q").as_deref(), Some("red cat!"));
        assert_eq!(request.param("vqd").as_deref(), Some("4-123"));
        assert_eq!(request.param("x").as_deref(), Some(""));
        assert_eq!(request.param("p"), None);
    }
}
