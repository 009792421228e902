//! The real `yail-server` binary against fake services on 127.0.0.1:
//! `--check` reports each source and fails on a broken one, and a key an
//! API echoes in a body never reaches the log (standard output, and the
//! admin page's log tail) even where async-openai would print the body.

#[path = "../../tests/tests/integration/fake_api.rs"]
mod fake_api;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yail_proto::client::Client;

use fake_api::{Fake, FakeGemini, FakeOpenAi, GeminiFault, OpenAiFault, Reply, Request};

const OPENAI_KEY: &str = "sk-test-openai-cli-0123456789";
const GEMINI_KEY: &str = "AIza-test-gemini-cli-0123456789";
/// Longest a `--check` run may take: every check runs at once, each within
/// 30 s, plus the start; a margin for a loaded machine.
const CHECK_BOUND: Duration = Duration::from_secs(90);

fn photos() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos")
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(photos().join(name)).expect("a test photo")
}

/// The server binary with no environment but `args`, in a folder without
/// an env file.
fn server(args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yail-server"));
    command
        .env_clear()
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// SearXNG's JSON API as `searx/webapp.py` answers it: `format=json` only
/// when enabled (403 with Werkzeug's page otherwise; docs/dev/search_api.rst),
/// 400 `{"error": "No query"}` without `q`, and image results carrying
/// `img_src` and `thumbnail_src` (`webutils.get_json_response`). Its
/// limiter is off unless configured (`searx/limiter.py`), as here.
async fn fake_searxng(picture_url: String) -> Fake {
    Fake::start(move |request: &Request| {
        if request.path() != "/search" {
            return Reply::bytes(404, "text/html", b"<h1>Not Found</h1>");
        }
        if request.query("format") != Some("json") {
            return Reply::bytes(
                403,
                "text/html; charset=utf-8",
                b"<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n",
            );
        }
        if request.query("q").is_none_or(str::is_empty) {
            return Reply::json(400, json!({"error": "No query"}));
        }
        Reply::json(
            200,
            json!({"query": "atari", "results": [
                {"url": "http://127.0.0.1/page", "title": "An Atari", "content": "", "template": "images.html",
                 "img_src": picture_url, "thumbnail_src": picture_url, "engines": ["bing images"], "category": "images"}],
             "answers": [], "corrections": [], "infoboxes": [], "suggestions": [], "unresponsive_engines": []}),
        )
    })
    .await
}

/// Runs `--check` with `args`; its exit code and the report's lines (by
/// source name).
fn check(args: &[String]) -> (Option<i32>, Vec<String>) {
    let mut all = vec![String::from("--check"), String::from("--log-level=error")];
    all.extend_from_slice(args);
    let mut child = server(&all).spawn().expect("the server binary starts");
    let (done, wait) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect();
        let _ = done.send(lines);
    });
    let lines = match wait.recv_timeout(CHECK_BOUND) {
        Ok(lines) => lines,
        Err(_) => {
            let _ = child.kill();
            panic!("--check took longer than {CHECK_BOUND:?}");
        }
    };
    let status = child.wait().expect("the check ends");
    if lines.is_empty() {
        // Nothing on standard output: the server stopped before checking.
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        panic!("--check printed nothing; its errors: {stderr}");
    }
    let report = lines
        .into_iter()
        .filter(|l| {
            ["openai ", "gemini ", "search ", "camera ", "paths  "]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .collect();
    (status.code(), report)
}

fn line<'a>(report: &'a [String], source: &str) -> &'a str {
    report
        .iter()
        .find(|l| l.starts_with(source))
        .unwrap_or_else(|| panic!("no {source} line in {report:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_source_and_fails_on_a_broken_one() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &photo("camera.png")).await;
    let gemini = FakeGemini::start(GEMINI_KEY, &photo("camera.png"), &[]).await;
    let jpeg = photo("rocket.jpg");
    let camera = Fake::start(move |_: &Request| Reply::bytes(200, "image/jpeg", &jpeg)).await;
    let host = Fake::start(|_: &Request| Reply::bytes(200, "image/png", b"\x89PNG")).await;
    let searxng = fake_searxng(host.url("/atari.png")).await;
    let flags = |pairs: &[(&str, String)]| -> Vec<String> {
        pairs
            .iter()
            .flat_map(|(flag, value)| [format!("--{flag}"), value.clone()])
            .collect()
    };
    let searching = [
        ("search-engine", String::from("searxng")),
        ("searxng-url", searxng.url("/")),
    ];

    // Everything configured and working; an old env file's shut-down
    // model is a warning, not a failure: the server uses the newest.
    let mut all = flags(&[
        ("openai-api-key", String::from(OPENAI_KEY)),
        ("openai-base-url", openai.base_url()),
        ("gen-model", String::from("gpt-image-1-mini")),
        ("gemini-api-key", String::from(GEMINI_KEY)),
        ("gemini-base-url", gemini.base_url()),
        ("camera", camera.url("/snap.jpg")),
        ("paths", photos().display().to_string()),
    ]);
    all.extend(flags(&searching));
    let (code, report) = check(&all);
    assert_eq!(report.len(), 5, "{report:#?}");
    assert_eq!(
        line(&report, "openai"),
        "openai  warning: key accepted; gpt-image-1-mini was shut down on 2026-12-01, so gpt-image-2.6-flare is used instead; set --gen-model gpt-image-2.6-flare"
    );
    assert!(
        line(&report, "gemini")
            .starts_with("gemini  ok: key accepted; gemini-3.1-flash-image is offered"),
        "{report:#?}"
    );
    assert_eq!(
        line(&report, "search"),
        "search  ok: SearXNG found 1 pictures for \"atari 800\""
    );
    assert!(
        line(&report, "camera").starts_with("camera  ok: sent a JPEG picture"),
        "{report:#?}"
    );
    assert!(
        line(&report, "paths").starts_with("paths   ok: "),
        "{report:#?}"
    );
    assert_eq!(code, Some(0), "{report:#?}");
    assert_eq!(openai.model_lists().len(), 2, "at start, and by the check");
    assert!(openai.generations().is_empty(), "checking costs nothing");

    // A refused key and a missing folder are broken; what is not
    // configured says so and does not fail.
    let mut broken = flags(&[
        ("openai-api-key", String::from("sk-wrong-key-000000")),
        ("openai-base-url", openai.base_url()),
        ("paths", String::from("/no/such/folder")),
    ]);
    broken.extend(flags(&searching));
    let (code, report) = check(&broken);
    assert_eq!(
        line(&report, "openai"),
        "openai  BROKEN: the API key was not accepted (401); fix --openai-api-key (OPENAI_API_KEY)"
    );
    assert_eq!(
        line(&report, "gemini"),
        "gemini  not configured: set --gemini-api-key (GEMINI_API_KEY) to generate with Gemini"
    );
    assert_eq!(
        line(&report, "camera"),
        "camera  not configured: set --camera to use video"
    );
    assert_eq!(
        line(&report, "paths"),
        "paths   BROKEN: /no/such/folder does not exist; fix --paths (or --extensions)"
    );
    assert!(
        line(&report, "search").starts_with("search  ok"),
        "{report:#?}"
    );
    assert_eq!(code, Some(1), "{report:#?}");
    assert!(
        !report.iter().any(|l| l.contains("sk-wrong-key")),
        "{report:#?}"
    );

    // An unreachable search service and camera are broken too.
    let closed = String::from("http://127.0.0.1:9/");
    let (code, report) = check(&flags(&[
        ("search-engine", String::from("searxng")),
        ("searxng-url", closed.clone()),
        ("camera", closed),
    ]));
    assert!(
        line(&report, "search").starts_with("search  BROKEN: SearXNG: ")
            && line(&report, "search").contains("--searxng-url"),
        "{report:#?}"
    );
    assert!(
        line(&report, "camera").starts_with("camera  BROKEN: ")
            && line(&report, "camera").ends_with("--camera"),
        "{report:#?}"
    );
    assert_eq!(code, Some(1));
}

/// A running server: its process (killed when dropped) and what it printed.
struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn start(args: &[String]) -> Running {
        let mut child = server(args).spawn().expect("the server binary starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let lines = Arc::clone(&stdout);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Running { child, stdout }
    }

    fn printed(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// The port a line printed at start names after `marker`, waiting for it.
    async fn port_after(&self, marker: &str) -> u16 {
        for _ in 0..600 {
            let found = self.stdout.lock().unwrap().iter().find_map(|l| {
                let rest = &l[l.find(marker)? + marker.len()..];
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            });
            if let Some(port) = found {
                return port;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {marker:?} in {}", self.printed());
    }
}

async fn admin_get(admin: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(admin)
        .await
        .expect("admin page");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    String::from_utf8_lossy(&answer).into_owned()
}

/// An API may echo the key in a body the client cannot parse; async-openai
/// logs such a body whole (at ERROR, target `async_openai::error`) and a
/// 5xx body (`async_openai::client`) before the server sees the error. Those
/// lines are filtered out, and the server's own texts are scrubbed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_echoed_by_an_api_never_reaches_the_log() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &photo("camera.png")).await;
    let echo = |status: u16, body: String| OpenAiFault::Body {
        status,
        content_type: "application/json",
        body: body.into_bytes(),
    };
    // A 2xx body that does not parse, with the key where serde's error
    // quotes it; a 400 in no OpenAI shape; a 500 page quoting the key.
    openai.fail_next(echo(
        200,
        format!(r#"{{"created": "{OPENAI_KEY}", "data": []}}"#),
    ));
    openai.fail_next(echo(
        400,
        format!(r#"{{"error": {{"code": 400, "message": "bad key {OPENAI_KEY}"}}}}"#),
    ));
    for _ in 0..4 {
        openai.fail_next(echo(
            500,
            format!("<pre>Authorization: Bearer {OPENAI_KEY}</pre>"),
        ));
    }
    let gemini = FakeGemini::start(GEMINI_KEY, &photo("camera.png"), &[]).await;
    // A debug detail quoting the key (google/timesketch#3703).
    gemini.fail_next(GeminiFault::Body {
        status: 400,
        body: json!({"error": {"code": 400, "message": format!("Invalid API key: {GEMINI_KEY}"), "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.DebugInfo", "detail": format!("key {GEMINI_KEY}")}]}})
            .to_string()
            .into_bytes(),
    });
    let args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--admin-port",
        "0",
        "--log-level",
        "trace",
        "--openai-api-key",
        OPENAI_KEY,
        "--gemini-api-key",
        GEMINI_KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        String::from("--openai-base-url"),
        openai.base_url(),
        String::from("--gemini-base-url"),
        gemini.base_url(),
    ])
    .collect();
    let running = Running::start(&args);
    let port = running.port_after("N:TCP://127.0.0.1:").await;
    let admin_port = running.port_after("admin page on http://127.0.0.1:").await;
    let mut atari = Client::connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("the server answers");
    atari.set_timeout(Duration::from_secs(30));
    // The messages are read as text: error packets in every mode.
    atari
        .ask_for_error_packets()
        .await
        .expect("the server reads");
    let mut messages = Vec::new();
    for command in ["gen \"one\"", "next", "next", "gen-gemini \"four\""] {
        let packet = atari.request(command).await.expect("a packet");
        messages.push(packet.error_message().unwrap_or_default().to_owned());
    }
    assert!(messages[0].contains("unreadable answer"), "{messages:#?}");
    assert!(messages[0].contains("[key]"), "scrubbed: {messages:#?}");
    assert!(messages[2].contains("the service failed"), "{messages:#?}");
    for message in &messages {
        assert!(
            !message.contains(OPENAI_KEY) && !message.contains(GEMINI_KEY),
            "{message}"
        );
    }
    let tail = admin_get(SocketAddr::from(([127, 0, 0, 1], admin_port)), "/api/logs").await;
    assert!(tail.starts_with("HTTP/1.1 200"), "{tail}");
    assert!(
        tail.contains("request failed"),
        "the failures are logged: {tail}"
    );
    // Let the last lines reach the pipe.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let printed = running.printed();
    assert!(printed.contains("request failed"), "{printed}");
    for key in [OPENAI_KEY, GEMINI_KEY] {
        assert!(!tail.contains(key), "the key is in /api/logs: {tail}");
        assert!(
            !printed.contains(key),
            "the key is in the output: {printed}"
        );
    }
}
