//! Stopping while clients are connected.

use std::time::Duration;

use yail_tests::{TestServer, test_config};

/// Whether a read to the end found the connection closed without more data.
/// A socket closed with bytes still unread in it (the idle client's
/// half-typed command, if the session had not read it yet) is reset rather
/// than ended by Linux: both mean closed.
fn closed(read: std::io::Result<Vec<u8>>) -> bool {
    match read {
        Ok(rest) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connected_sessions_and_returns() {
    let server = TestServer::start(test_config()).await;
    let mut busy = server.client().await;
    assert!(
        busy.request("gfx 2 files")
            .await
            .unwrap()
            .error_message()
            .is_none()
    );
    let mut idle = server.client().await;
    idle.send("gfx 4 ").await.unwrap();
    let addr = server.addr;
    let state = server.state.clone();

    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("run returned in time");
    assert!(closed(busy.read_to_end().await));
    assert!(closed(idle.read_to_end().await));
    assert_eq!(state.connections(), 0);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_is_answered_before_the_close() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    // VBXE takes several milliseconds to convert: ask, then stop at once.
    atari.send("gfx 17 files").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let stopping = tokio::spawn(server.shutdown());
    let packet = atari.read_packet().await;
    stopping.await.unwrap();
    // Either the packet arrived whole, or the session had not begun the
    // request; never half a packet.
    if let Ok(packet) = packet {
        assert!(packet.image_data().is_some() || packet.error_message().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rescan_stops_with_the_server() {
    let dir = std::env::temp_dir().join(format!("yail-it-rescan-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        yail_tests::photos_dir().join("horse.png"),
        dir.join("a.png"),
    )
    .unwrap();
    let config = yail_server::Config {
        paths: vec![dir.clone()],
        rescan_interval: Some(Duration::from_millis(20)),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let state = server.state.clone();
    assert_eq!(yail_tests::eventually(1, || state.file_count()).await, 1);
    server.shutdown().await;
    // A rescan still running would list this within a few intervals.
    std::fs::copy(
        yail_tests::photos_dir().join("camera.png"),
        dir.join("b.png"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(state.file_count(), 1, "rescanned after shutdown");
    std::fs::remove_dir_all(dir).unwrap();
}
