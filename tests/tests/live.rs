//! Opt-in tests against the real services, to confirm that the fakes the
//! other tests use are still true: one DuckDuckGo search, one `gen` with
//! OpenAI and one `gen-gemini` with Gemini, each through a real server on
//! loopback with its default settings.
//!
//! ```sh
//! YAIL_LIVE_TESTS=1 OPENAI_API_KEY=sk-... GEMINI_API_KEY=AIza... \
//!     cargo test -p yail-tests --test live -- --nocapture
//! ```
//!
//! Without `YAIL_LIVE_TESTS=1` each test passes at once, printing a note
//! (shown with `--nocapture`). With it, a test fails with the server's own
//! message when a service cannot be reached or refuses, within
//! [`LIVE_BOUND`]. Two generations cost a few cents.

use std::time::Duration;

use yail_proto::Packet;
use yail_server::Config;
use yail_tests::TestServer;

/// Longest one live test may take: a generation may take up to the
/// server's generation timeout (120 s), and the request its own.
const LIVE_BOUND: Duration = Duration::from_secs(200);

/// Whether the live tests were asked for; prints a note when they were not.
fn enabled(test: &str) -> bool {
    let on = std::env::var("YAIL_LIVE_TESTS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("{test}: skipped; set YAIL_LIVE_TESTS=1 to run it against the real service");
    }
    on
}

/// The key in `variable`; a live run without it fails saying so.
fn key(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(key) if !key.trim().is_empty() => key,
        _ => panic!("YAIL_LIVE_TESTS=1 needs {variable} in the environment"),
    }
}

/// The server's defaults (real DuckDuckGo, OpenAI and Gemini addresses,
/// default models), with no prefetch so that each request is one picture.
fn live_config() -> Config {
    Config {
        prefetch: false,
        ..Config::default()
    }
}

/// Sends `command` in Graphics 9 to a server with `config` and returns the
/// packet, within [`LIVE_BOUND`].
async fn ask(config: Config, command: &str) -> Packet {
    let work = async {
        let server = TestServer::start(config).await;
        let mut atari = server.client().await;
        atari.set_timeout(LIVE_BOUND);
        atari.request(&format!("gfx 4 {command}")).await
    };
    match tokio::time::timeout(LIVE_BOUND, work).await {
        Ok(Ok(packet)) => packet,
        Ok(Err(e)) => panic!("{command}: the server's answer could not be read: {e}"),
        Err(_) => panic!("{command}: no answer within {LIVE_BOUND:?}"),
    }
}

fn assert_picture(packet: &Packet, command: &str) {
    if let Some(message) = packet.error_message() {
        panic!("{command}: the server answered with an error: {message}");
    }
    assert_eq!(
        packet.image_data().map(<[u8]>::len),
        Some(8800),
        "{command}: a Graphics 9 picture"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckduckgo_search_gives_a_picture() {
    if !enabled("duckduckgo_search_gives_a_picture") {
        return;
    }
    let command = "search \"atari 800xl\"";
    assert_picture(&ask(live_config(), command).await, command);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_with_openai_gives_a_picture() {
    if !enabled("gen_with_openai_gives_a_picture") {
        return;
    }
    let config = Config {
        openai_api_key: Some(key("OPENAI_API_KEY")),
        ..live_config()
    };
    let command = "gen \"a red apple on a white table\"";
    assert_picture(&ask(config, command).await, command);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_gemini_gives_a_picture() {
    if !enabled("gen_gemini_gives_a_picture") {
        return;
    }
    let config = Config {
        gemini_api_key: Some(key("GEMINI_API_KEY")),
        ..live_config()
    };
    let command = "gen-gemini \"a red apple on a white table\"";
    assert_picture(&ask(config, command).await, command);
}
