//! Faults of the network sources, one test per fault, each through a real
//! Atari session over TCP against the server on 127.0.0.1: every fault
//! ends in exactly one error packet (or, for `video`, one 8800-byte frame
//! with the problem drawn in) that says what went wrong, within a bound
//! derived from the configured timeouts; the right error kind is counted;
//! a log line names it; and the session serves the next request.
//!
//! Every peer is a fake on 127.0.0.0/8. Private addresses (10.x,
//! 169.254.x) appear only in redirects the address policy must refuse
//! before connecting, and names that must not resolve end in `.invalid`,
//! which the fetcher refuses without sending a DNS query.
//!
//! Run with `cargo test -p yail-tests --test faults`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tracing::subscriber::DefaultGuard;
use yail_proto::client::Client;
use yail_proto::{GfxMode, Packet};
use yail_server::fetch::UNUSABLE_HOST;
use yail_server::{Config, SearchEngine};
use yail_state::{ErrorKind, ServerState};
use yail_tests::fake_http::{FakeHttp, Reply, Request};
use yail_tests::fake_tcp::{FakeTcp, closed_port};
use yail_tests::{TestServer, test_config};

/// The request timeout the tests configure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// The generation timeout the tests configure.
const GEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Allowance on top of a configured timeout for a loaded machine
/// (up to eight developers build on two cores).
const SLACK: Duration = Duration::from_secs(3);
/// Pause the server makes before a video message frame (session.rs).
const MESSAGE_FRAME_PAUSE: Duration = Duration::from_secs(1);

const OPENAI_KEY: &str = "sk-test-faults-0123456789";
const GEMINI_KEY: &str = "AIza-test-faults-0123456789";
const GEMINI_MODEL: &str = "gemini-3.1-flash-image";

/// This test's log lines. The tests run on a current-thread runtime, so a
/// thread-local subscriber sees every line the server's tasks write.
struct Logs {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let writer = Arc::clone(&lines);
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || LogWriter(Arc::clone(&writer)))
        .finish();
    Logs {
        lines,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned()
    }

    /// Asserts a warning for a failed request of `kind` mentioning `word`.
    fn assert_failure_logged(&self, kind: ErrorKind, word: &str) {
        let text = self.text();
        let found = text.lines().any(|line| {
            line.contains("WARN")
                && line.contains("request failed")
                && line.contains(&format!("kind=\"{}\"", kind.name()))
                && line.contains(word)
        });
        assert!(
            found,
            "no warning of kind {kind:?} about {word:?} in:\n{text}"
        );
    }
}

fn error_counts(state: &ServerState) -> Vec<u64> {
    let snapshot = state.metrics().snapshot();
    ErrorKind::ALL
        .iter()
        .map(|kind| snapshot.errors_of(*kind))
        .collect()
}

/// Asserts that exactly one error, of `kind`, was counted since `before`.
fn assert_counted_once(state: &ServerState, before: &[u64], kind: ErrorKind) {
    let after = error_counts(state);
    for (i, each) in ErrorKind::ALL.iter().enumerate() {
        let expected = u64::from(*each == kind);
        assert_eq!(
            after[i] - before[i],
            expected,
            "errors of kind {each:?} (expected one of {kind:?})"
        );
    }
}

/// The session still works, and nothing extra was queued after the error:
/// the answer to `files` is the picture asked for.
async fn assert_still_serves(atari: &mut Client) {
    let packet = atari.request("gfx 2 files").await.expect("files answered");
    assert_eq!(packet.error_message(), None, "{packet:?}");
    assert_eq!(packet.mode(), GfxMode::Gr8);
}

/// Sends `command` on a new session and checks the one error packet it
/// gets: within `bound`, saying every one of `words`, counted as `kind`
/// and logged. Returns the message.
async fn assert_one_error(
    server: &TestServer,
    logs: &Logs,
    command: &str,
    bound: Duration,
    kind: ErrorKind,
    words: &[&str],
) -> String {
    let mut atari = server.client().await;
    // Long enough to see an answer that comes too late.
    atari.set_timeout(bound * 3);
    let before = error_counts(&server.state);
    let started = Instant::now();
    let packet = atari
        .request(command)
        .await
        .unwrap_or_else(|e| panic!("{command}: no answer: {e}"));
    let took = started.elapsed();
    let message = packet
        .error_message()
        .unwrap_or_else(|| panic!("{command}: expected an error packet, got {packet:?}"))
        .to_string();
    assert!(
        took < bound,
        "{command}: answered after {took:?}, bound {bound:?}"
    );
    for word in words {
        assert!(
            message.contains(word),
            "{command}: {message:?} lacks {word:?}"
        );
    }
    assert_counted_once(&server.state, &before, kind);
    logs.assert_failure_logged(kind, words[0]);
    assert_still_serves(&mut atari).await;
    message
}

/// Downloads with small timeouts, and the loopback network (where the
/// fakes live) allowed as if it were a LAN picture host, so the policy
/// still refuses every other private address.
fn fetch_config() -> Config {
    Config {
        request_timeout: REQUEST_TIMEOUT,
        fetch_connect_timeout: Duration::from_secs(1),
        fetch_read_timeout: Duration::from_secs(1),
        fetch_timeout: Duration::from_secs(2),
        allowed_url_nets: vec!["127.0.0.0/8".parse().expect("a network")],
        ..test_config()
    }
}

fn fetch_bound() -> Duration {
    REQUEST_TIMEOUT + SLACK
}

#[tokio::test]
async fn connection_refused() {
    let logs = capture_logs();
    let server = TestServer::start(fetch_config()).await;
    let url = format!("http://127.0.0.1:{}/cat.jpg", closed_port());
    assert_one_error(
        &server,
        &logs,
        &format!("showurl {url}"),
        fetch_bound(),
        ErrorKind::Source,
        &["cannot connect to 127.0.0.1", "down"],
    )
    .await;
}

#[tokio::test]
async fn dns_failure() {
    let logs = capture_logs();
    let server = TestServer::start(fetch_config()).await;
    // `.invalid` never resolves (RFC 6761); the fetcher refuses it without
    // a query, so nothing leaves the machine. The resolver itself is
    // injectable; fetch.rs's unit tests give it one that fails.
    assert_one_error(
        &server,
        &logs,
        "showurl http://pictures.invalid/cat.jpg",
        fetch_bound(),
        ErrorKind::Source,
        &["cannot use pictures.invalid", UNUSABLE_HOST],
    )
    .await;
}

#[tokio::test]
async fn tls_failure() {
    let logs = capture_logs();
    let server = TestServer::start(fetch_config()).await;
    // A plain HTTP server answering the TLS handshake with a 400, and a
    // peer that hangs up in the middle of the handshake.
    let plain = FakeTcp::start(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    let closer = FakeTcp::start(Vec::new()).await;
    for peer in [&plain, &closer] {
        let url = format!("https://{}/cat.jpg", peer.addr());
        assert_one_error(
            &server,
            &logs,
            &format!("showurl {url}"),
            fetch_bound(),
            ErrorKind::Source,
            &["secure connection (https) to 127.0.0.1 failed"],
        )
        .await;
        assert!(peer.accepted() >= 1, "the TCP connection was made");
    }
}

#[tokio::test]
async fn slow_trickle() {
    let logs = capture_logs();
    let host = FakeHttp::builder()
        .route(
            "/trickle.jpg",
            Reply::trickle("image/jpeg", Duration::from_millis(200)),
        )
        .start()
        .await;
    let config = fetch_config();
    // Each byte comes well within the read timeout: only the total
    // download timeout ends it.
    assert!(config.fetch_read_timeout > Duration::from_millis(200));
    let server = TestServer::start(config).await;
    assert_one_error(
        &server,
        &logs,
        &format!("showurl {}", host.url("/trickle.jpg")),
        fetch_bound(),
        ErrorKind::Timeout,
        &["took too long"],
    )
    .await;
}

#[tokio::test]
async fn wrong_content_type() {
    let logs = capture_logs();
    let host = FakeHttp::builder()
        .route(
            "/cat.jpg",
            Reply::ok(
                "text/html; charset=utf-8",
                "<html><body>Please log in</body></html>",
            ),
        )
        .start()
        .await;
    let server = TestServer::start(fetch_config()).await;
    assert_one_error(
        &server,
        &logs,
        &format!("showurl {}", host.url("/cat.jpg")),
        fetch_bound(),
        ErrorKind::Source,
        &["web page", "not a picture"],
    )
    .await;
}

#[tokio::test]
async fn body_not_a_picture() {
    let logs = capture_logs();
    let host = FakeHttp::builder()
        .route(
            "/cat.png",
            Reply::ok("image/png", "this is text, not a PNG"),
        )
        .start()
        .await;
    let server = TestServer::start(fetch_config()).await;
    assert_one_error(
        &server,
        &logs,
        &format!("showurl {}", host.url("/cat.png")),
        fetch_bound(),
        ErrorKind::Convert,
        &["could not convert", "cat.png"],
    )
    .await;
}

#[tokio::test]
async fn redirect_to_a_private_address() {
    let logs = capture_logs();
    let host = FakeHttp::builder()
        .route("/to-lan.jpg", Reply::redirect("http://10.0.0.1/cat.jpg"))
        .route(
            "/to-metadata.jpg",
            Reply::redirect("http://169.254.169.254/latest/meta-data/"),
        )
        .start()
        .await;
    let server = TestServer::start(fetch_config()).await;
    for (path, target) in [
        ("/to-lan.jpg", "10.0.0.1"),
        ("/to-metadata.jpg", "169.254.169.254"),
    ] {
        // The policy's refusal is a bad request, and nothing else is
        // counted: a connection attempt would have counted a source error
        // (refused, unreachable) or a timeout.
        assert_one_error(
            &server,
            &logs,
            &format!("showurl {}", host.url(path)),
            fetch_bound(),
            ErrorKind::BadRequest,
            &["cannot use", target, UNUSABLE_HOST],
        )
        .await;
        assert_eq!(host.hits(path), 1, "{path}");
    }
}

/// One fake serving both generation APIs: OpenAI's images endpoint and
/// Gemini's `generateContent`, each answering with `openai` and `gemini`.
async fn fake_generators(openai: Reply, gemini: Reply) -> FakeHttp {
    FakeHttp::builder()
        .route("/v1/images/generations", openai)
        .route(
            &format!("/v1beta/models/{GEMINI_MODEL}:generateContent"),
            gemini,
        )
        .start()
        .await
}

fn generation_config(fake: &FakeHttp) -> Config {
    Config {
        request_timeout: REQUEST_TIMEOUT,
        gen_timeout: GEN_TIMEOUT,
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: fake.url("/v1"),
        gemini_api_key: Some(String::from(GEMINI_KEY)),
        gemini_base_url: fake.base(),
        gemini_model: String::from(GEMINI_MODEL),
        ..test_config()
    }
}

/// A generation's limit in the session: the generation timeout, then the
/// request timeout for the conversion.
fn generation_bound() -> Duration {
    GEN_TIMEOUT + REQUEST_TIMEOUT + SLACK
}

/// Asks OpenAI (`gen`) and Gemini (`gen-gemini`) once each; both must fail
/// with one error packet saying `words`, after `openai_requests` requests
/// to OpenAI (retries included) and one to Gemini.
async fn assert_generation_fault(
    fake: &FakeHttp,
    logs: &Logs,
    bound: Duration,
    words: &[&str],
    openai_requests: usize,
) {
    let server = TestServer::start(generation_config(fake)).await;
    for (command, service, path, requests) in [
        (
            "gen \"a red barn\"",
            "OpenAI",
            String::from("/v1/images/generations"),
            openai_requests,
        ),
        (
            "gen-gemini a red barn",
            "Gemini",
            format!("/v1beta/models/{GEMINI_MODEL}:generateContent"),
            1,
        ),
    ] {
        let mut expected = vec![service];
        expected.extend_from_slice(words);
        let message =
            assert_one_error(&server, logs, command, bound, ErrorKind::Source, &expected).await;
        assert!(!message.contains(OPENAI_KEY) && !message.contains(GEMINI_KEY));
        assert_eq!(fake.hits(&path), requests, "{command}: requests");
    }
    assert!(!logs.text().contains(OPENAI_KEY) && !logs.text().contains(GEMINI_KEY));
}

#[tokio::test]
async fn generation_401_bad_key() {
    let logs = capture_logs();
    let fake = fake_generators(
        Reply::status(
            401,
            "application/json",
            json!({"error": {"message": format!("Incorrect API key provided: {OPENAI_KEY}"),
                             "type": "invalid_request_error", "param": null,
                             "code": "invalid_api_key"}})
            .to_string(),
        ),
        Reply::status(
            401,
            "application/json",
            json!({"error": {"code": 401, "message": format!("API key {GEMINI_KEY} not valid"),
                             "status": "UNAUTHENTICATED"}})
            .to_string(),
        ),
    )
    .await;
    assert_generation_fault(
        &fake,
        &logs,
        generation_bound(),
        &["key was not accepted"],
        1,
    )
    .await;
}

#[tokio::test]
async fn generation_429_with_retry_after() {
    let logs = capture_logs();
    // An hour's Retry-After: the Atari must hear "busy" at once, not wait
    // for it (nor for the generation timeout), and OpenAI is not retried.
    let fake = fake_generators(
        Reply::status(
            429,
            "application/json",
            json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error",
                             "param": null, "code": null}})
            .to_string(),
        )
        .with_header("Retry-After", "3600"),
        Reply::status(
            429,
            "application/json",
            json!({"error": {"code": 429, "message": "Resource exhausted",
                             "status": "RESOURCE_EXHAUSTED"}})
            .to_string(),
        )
        .with_header("Retry-After", "3600"),
    )
    .await;
    assert_generation_fault(&fake, &logs, GEN_TIMEOUT, &["busy", "try again later"], 1).await;
}

#[tokio::test]
async fn generation_500() {
    let logs = capture_logs();
    let fake = fake_generators(
        Reply::status(500, "text/html", "<html>upstream exploded</html>"),
        Reply::status(500, "text/html", "<html>upstream exploded</html>"),
    )
    .await;
    assert_generation_fault(
        &fake,
        &logs,
        generation_bound(),
        &["(500)", "service failed"],
        // Three bounded retries after short pauses, then the error.
        4,
    )
    .await;
}

#[tokio::test]
async fn generation_malformed_json() {
    let logs = capture_logs();
    let fake = fake_generators(
        Reply::json(r#"{"created": 1, "data": [{"b64_json": "#),
        Reply::json(r#"{"candidates": [{"content": "#),
    )
    .await;
    assert_generation_fault(
        &fake,
        &logs,
        generation_bound(),
        &["no usable picture", "unreadable answer"],
        1,
    )
    .await;
}

const TOKEN: &str = "4-27182818284_5904";

/// A fake DuckDuckGo whose search page gives the token and whose `i.js`
/// answers `results`.
async fn fake_duckduckgo(results: Reply) -> FakeHttp {
    FakeHttp::builder()
        .route(
            "/",
            Reply::handler(|_: &Request| {
                Reply::ok(
                    "text/html",
                    format!("<html><script>vqd=\"{TOKEN}\";</script></html>"),
                )
            }),
        )
        .route("/i.js", results)
        .start()
        .await
}

/// A fake SearXNG answering `/search` with `results`.
async fn fake_searxng(results: Reply) -> FakeHttp {
    FakeHttp::builder().route("/search", results).start().await
}

/// `search` on DuckDuckGo and on SearXNG, each answering `results`.
async fn assert_search_fault(results: Reply, kind: ErrorKind, words: &[&str]) {
    let logs = capture_logs();
    let ddg = fake_duckduckgo(results.clone()).await;
    let searxng = fake_searxng(results).await;
    for config in [
        Config {
            search_url: ddg.base(),
            ..fetch_config()
        },
        Config {
            search_engine: SearchEngine::Searxng,
            searxng_url: Some(searxng.base()),
            ..fetch_config()
        },
    ] {
        let server = TestServer::start(config).await;
        assert_one_error(
            &server,
            &logs,
            "search red horses",
            fetch_bound(),
            kind,
            words,
        )
        .await;
    }
    assert_eq!(ddg.hits("/i.js"), 1);
    assert_eq!(searxng.hits("/search"), 1);
}

#[tokio::test]
async fn search_engine_500() {
    assert_search_fault(
        Reply::status(500, "text/plain", "oops"),
        ErrorKind::Source,
        &["image search failed", "(500)"],
    )
    .await;
}

#[tokio::test]
async fn search_engine_malformed_json() {
    assert_search_fault(
        Reply::json(r#"{"results": [{"image": "#),
        ErrorKind::Source,
        &["unexpected answer from the image search service"],
    )
    .await;
}

#[tokio::test]
async fn search_engine_zero_results() {
    assert_search_fault(
        Reply::json(r#"{"query": "red horses", "results": []}"#),
        ErrorKind::Source,
        &["no pictures found for \"red horses\""],
    )
    .await;
}

fn camera_config(url: String) -> Config {
    Config {
        request_timeout: REQUEST_TIMEOUT,
        camera: Some(url),
        camera_interval: Duration::from_millis(50),
        ..test_config()
    }
}

/// `video` answers a camera fault with one 8800-byte Graphics 8 frame with
/// `message` drawn in, within the request timeout and the message pause;
/// counted as `kind`, logged, and the session goes on.
async fn assert_camera_fault(url: String, kind: ErrorKind, message: &str) {
    let logs = capture_logs();
    let server = TestServer::start(camera_config(url)).await;
    let mut atari = server.client().await;
    let bound = REQUEST_TIMEOUT + MESSAGE_FRAME_PAUSE + SLACK;
    atari.set_timeout(bound * 3);
    let before = error_counts(&server.state);
    let started = Instant::now();
    let packet: Packet = atari.request("gfx 2 video").await.expect("a frame");
    let took = started.elapsed();
    assert!(took < bound, "answered after {took:?}, bound {bound:?}");
    assert_eq!(packet.error_message(), None, "video reads frames only");
    assert_eq!(packet.mode(), GfxMode::Gr8);
    let expected = yail_core::font::message_frame(GfxMode::Gr8, message).expect("a frame");
    assert_eq!(expected.len(), 8800);
    assert_eq!(
        packet.image_data(),
        Some(&expected[..]),
        "the frame shows {message:?}"
    );
    assert_counted_once(&server.state, &before, kind);
    logs.assert_failure_logged(kind, message);
    assert_still_serves(&mut atari).await;
}

#[tokio::test]
async fn camera_down() {
    let url = format!("http://127.0.0.1:{}/snapshot.jpg", closed_port());
    assert_camera_fault(
        url,
        ErrorKind::Source,
        "camera unreachable: cannot connect to 127.0.0.1; the server is down or refuses",
    )
    .await;
}

#[tokio::test]
async fn camera_that_never_answers() {
    let camera = FakeHttp::builder().fallback(Reply::Hang).start().await;
    assert_camera_fault(
        camera.url("/snapshot.jpg"),
        ErrorKind::Timeout,
        "the picture took too long; try again",
    )
    .await;
}
