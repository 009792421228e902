// About 500 lines with its own tests: one fake serves every network-source test.
//! A tiny HTTP/1.1 server on 127.0.0.1 for tests of the network sources:
//! routes by path to canned replies or handlers, plus misbehaving hosts
//! (slow, hanging, endless, looping, garbage). One request per connection,
//! answered with `Connection: close`; every request is recorded.
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
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

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
}

impl Request {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter called `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key) == name).then(|| decode(value))
        })
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

    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start(self) -> FakeHttp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the fake HTTP server");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared {
            routes: Mutex::new(self.routes),
            fallback: self
                .fallback
                .unwrap_or_else(|| Reply::status(404, "text/plain", "not found")),
            log: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&shared)));
        FakeHttp { addr, shared, task }
    }
}

struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    fallback: Reply,
    log: Mutex<Vec<Request>>,
}

/// A running fake server; stops (and drops every open connection) when
/// dropped.
pub struct FakeHttp {
    addr: SocketAddr,
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

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
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
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    // Connection tasks live in a JoinSet owned by this task, so aborting
    // the accept loop closes them too (hanging replies included).
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(serve(stream, Arc::clone(&shared)));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    lock(&shared.log).push(request.clone());
    let reply = lock(&shared.routes)
        .get(&request.path)
        .cloned()
        .unwrap_or_else(|| shared.fallback.clone());
    let _ = respond(&mut stream, &request, reply).await;
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
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
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
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

async fn respond(stream: &mut TcpStream, request: &Request, reply: Reply) -> std::io::Result<()> {
    let mut reply = reply;
    loop {
        match reply {
            Reply::Handler(handler) => reply = handler(request),
            Reply::Delayed(delay, inner) => {
                tokio::time::sleep(delay).await;
                reply = *inner;
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
                return Ok(());
            }
            Reply::Hang => {
                std::future::pending::<()>().await;
                return Ok(());
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
                        tokio::time::sleep(interval).await;
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
        };
        assert_eq!(request.param("q").as_deref(), Some("red cat!"));
        assert_eq!(request.param("vqd").as_deref(), Some("4-123"));
        assert_eq!(request.param("x").as_deref(), Some(""));
        assert_eq!(request.param("p"), None);
    }
}
