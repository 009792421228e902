//! Connection limit and idle timeout.

use std::time::Duration;

use yail_server::Config;
use yail_tests::{TestServer, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limit_gets_server_busy_and_a_close() {
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

    let mut third = server.client().await;
    let refused = third.read_packet().await.unwrap();
    assert_eq!(refused.error_message(), Some(yail_server::BUSY_MESSAGE));
    assert!(
        third.read_to_end().await.unwrap().is_empty(),
        "closed after the packet"
    );

    // A freed slot is usable again.
    first.send("quit").await.unwrap();
    assert!(first.read_to_end().await.unwrap().is_empty());
    let mut later = None;
    for _ in 0..100 {
        let mut client = server.client().await;
        let packet = client.request("gfx 2 files").await.unwrap();
        if packet.error_message().is_none() {
            later = Some(packet);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(later.is_some(), "a slot never came free");
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
