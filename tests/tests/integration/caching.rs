//! The packet cache, single-flight and prefetch.

use std::time::Duration;

use yail_server::Config;
use yail_tests::{TestServer, eventually, photos_dir, test_config};

fn one_picture(cache_bytes: usize) -> Config {
    Config {
        paths: vec![photos_dir().join("chelsea.png")],
        cache_bytes,
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_converts_a_picture_once_per_mode() {
    let server = TestServer::start(one_picture(64 << 20)).await;
    let mut first = server.client().await;
    let a = first.request("gfx 17 files").await.unwrap();
    let mut second = server.client().await;
    let b = second.request("gfx 17 files").await.unwrap();
    assert_eq!(a, b);
    assert_eq!(server.state.metrics().snapshot().conversions.count, 1);
    second.request("gfx 2 next").await.unwrap();
    assert_eq!(server.state.metrics().snapshot().conversions.count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cache_every_request_converts() {
    let server = TestServer::start(one_picture(0)).await;
    let mut atari = server.client().await;
    atari.request("gfx 4 files").await.unwrap();
    atari.request("next").await.unwrap();
    assert_eq!(server.state.metrics().snapshot().conversions.count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_requests_share_one_conversion() {
    let server = TestServer::start(one_picture(0)).await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(server.client().await);
    }
    // Send all requests before reading any answer.
    for client in &mut clients {
        client.send("gfx 17 files").await.unwrap();
    }
    let mut packets = Vec::new();
    for client in &mut clients {
        packets.push(client.read_packet().await.unwrap());
    }
    assert!(packets.windows(2).all(|w| w[0] == w[1]));
    let conversions = server.state.metrics().snapshot().conversions.count;
    // Requests that arrive while the first conversion runs wait for it.
    assert!(
        conversions < 8,
        "{conversions} conversions for 8 simultaneous requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_prepares_the_next_picture() {
    let config = Config {
        paths: vec![
            photos_dir().join("camera.png"),
            photos_dir().join("coffee.png"),
        ],
        prefetch: true,
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    atari.request("gfx 16 files").await.unwrap();
    // While the Atari "shows" the picture, the other one gets converted.
    let converted = eventually(2, || server.state.metrics().snapshot().conversions.count).await;
    assert_eq!(converted, 2, "the next picture was not prepared");
    let packet = atari.request("next").await.unwrap();
    assert!(packet.image_data().is_some());
    // `next` used the prepared picture, and the one prepared after it is
    // the first picture again, already in the cache: still two conversions.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.state.metrics().snapshot().conversions.count, 2);
}
