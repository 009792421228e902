//! Connection limit and idle timeout.

use std::time::Duration;

use yail_server::Config;
use yail_tests::{TestServer, eventually, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limit_the_longest_idle_session_makes_room() {
    let config = Config {
        max_connections: 2,
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut first = server.client().await;
    let mut second = server.client().await;
    // Both are being served (a reply proves the session exists).
    assert!(
        first
            .request("gfx 2 files")
            .await
            .unwrap()
            .error_message()
            .is_none()
    );
    assert!(
        second
            .request("gfx 2 files")
            .await
            .unwrap()
            .error_message()
            .is_none()
    );

    // Both now wait for their Atari; the first has waited longer, so the
    // third connection takes its place.
    let mut third = server.client().await;
    assert!(
        third
            .request("gfx 2 files")
            .await
            .unwrap()
            .error_message()
            .is_none()
    );
    assert!(
        first.read_to_end().await.unwrap().is_empty(),
        "the longest-idle session was closed"
    );
    assert!(
        second
            .request("next")
            .await
            .unwrap()
            .error_message()
            .is_none(),
        "the other one is still served"
    );
    let state = server.state.clone();
    assert_eq!(eventually(2, || state.connections()).await, 2);
}

#[tokio::test(start_paused = true)]
async fn silent_sessions_are_closed_after_the_idle_timeout() {
    let config = Config {
        idle_timeout: Duration::from_secs(300),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut silent = server.client().await;
    silent.set_timeout(Duration::from_secs(3600));
    let started = tokio::time::Instant::now();
    // The paused clock jumps ahead whenever everything waits.
    assert!(silent.read_to_end().await.unwrap().is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(300),
        "closed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(301), "closed after {waited:?}");
}
