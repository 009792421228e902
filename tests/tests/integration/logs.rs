//! What a session writes to the log at info level: one line per request
//! (peer, command, source, mode, bytes, time, or the error) and one when it
//! ends (duration, pictures sent, reason), and no flood from a client that
//! sends garbage or asks as fast as it can.

use std::time::Instant;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use yail_server::admin::LogTailLayer;
use yail_state::{LogLine, ServerState};
use yail_tests::{TestServer, eventually, test_config};

/// Server lines at info level and above land in `state`'s log tail, for
/// as long as the guard lives (the test's runtime has one thread).
fn capture_info(state: &ServerState) -> tracing::subscriber::DefaultGuard {
    let layer = LogTailLayer::new(state.clone()).with_filter(LevelFilter::INFO);
    tracing::subscriber::set_default(tracing_subscriber::registry().with(layer))
}

fn session_lines(state: &ServerState) -> Vec<LogLine> {
    state
        .logs()
        .since(0)
        .into_iter()
        .filter(|l| l.target == "yail_server::session")
        .collect()
}

#[tokio::test]
async fn each_request_and_each_disconnect_is_one_info_line() {
    let state = ServerState::new();
    let _logs = capture_info(&state);
    let server = TestServer::start_with_state(test_config(), state.clone()).await;
    let mut atari = server.atari().await;
    atari.send("gfx 4 ").await.unwrap();
    let picture = atari.request("files").await.unwrap();
    let bytes = picture.to_bytes().len();
    atari
        .request("showurl  http://127.0.0.1/cat.jpg")
        .await
        .unwrap();
    // A client's garbage is answered, but not logged at info.
    for _ in 0..50 {
        atari.request("dance\n").await.unwrap();
    }
    atari.send("quit").await.unwrap();
    assert!(atari.read_to_end().await.unwrap().is_empty());
    let ended = || {
        session_lines(&state)
            .iter()
            .any(|l| l.message.contains("disconnected"))
    };
    assert!(eventually(true, ended).await, "{:?}", session_lines(&state));

    let lines = session_lines(&state);
    let text: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {}", l.level, l.message))
        .collect();
    assert_eq!(lines.len(), 3, "{text:#?}");
    let [request, failed, disconnected] = [&lines[0], &lines[1], &lines[2]];
    assert_eq!(request.level, "INFO");
    for part in [
        "peer=127.0.0.1:",
        ": request ",
        "command=\"files\"",
        "source=\"files\"",
        "mode=\"gr9\"",
        &format!("bytes={bytes}"),
        "ms=",
    ] {
        assert!(request.message.contains(part), "{part} in {text:#?}");
    }
    // A URL the address policy refuses is the operator's business.
    assert_eq!(failed.level, "WARN");
    for part in [
        "request failed",
        "command=\"showurl\"",
        "sent_as=\"picture\"",
        "error=",
        "127.0.0.1",
    ] {
        assert!(failed.message.contains(part), "{part} in {text:#?}");
    }
    assert_eq!(disconnected.level, "INFO");
    for part in [
        "peer=127.0.0.1:",
        "disconnected",
        "duration=",
        "pictures=1",
        "errors=51",
        "reason=client quit",
    ] {
        assert!(disconnected.message.contains(part), "{part} in {text:#?}");
    }
}

#[tokio::test]
async fn a_client_asking_as_fast_as_it_can_gets_a_bounded_number_of_lines() {
    let state = ServerState::new();
    let _logs = capture_info(&state);
    let server = TestServer::start_with_state(test_config(), state.clone()).await;
    let mut atari = server.atari().await;
    let started = Instant::now();
    atari.send("gfx 2 ").await.unwrap();
    atari.request("files").await.unwrap();
    const REQUESTS: usize = 80;
    for _ in 1..REQUESTS {
        assert!(
            atari
                .request("next")
                .await
                .unwrap()
                .error_message()
                .is_none()
        );
    }
    let elapsed = started.elapsed();
    drop(atari);
    let ended = || {
        session_lines(&state)
            .iter()
            .any(|l| l.message.contains("disconnected"))
    };
    assert!(eventually(true, ended).await);
    let lines = session_lines(&state);
    let requests = lines
        .iter()
        .filter(|l| l.message.contains(": request "))
        .count();
    let disconnected = lines.last().expect("the last line");
    let unlogged: usize = disconnected
        .message
        .split("unlogged_requests=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a count of requests not logged");
    // A burst of 20, then one a second.
    let allowed = 20 + elapsed.as_secs() as usize + 1;
    assert!(requests <= allowed, "{requests} lines in {elapsed:?}");
    assert!(requests >= 20, "the burst is logged: {requests}");
    assert_eq!(requests + unlogged, REQUESTS, "{:?}", disconnected.message);
    assert!(
        disconnected
            .message
            .contains("reason=client closed the connection")
    );
}
