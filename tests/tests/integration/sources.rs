//! Local pictures from --paths.

use std::path::{Path, PathBuf};

use yail_proto::{GfxMode, Packet};
use yail_server::Config;
use yail_tests::{TestServer, eventually, photos_dir, test_config};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yail-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The answer to `gfx 2 files` from a server serving only `dir`.
async fn first_packet_from(dir: &Path) -> Packet {
    let config = Config {
        paths: vec![dir.to_path_buf()],
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    atari.request("gfx 2 files").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_files_are_skipped() {
    let dir = temp_dir("broken");
    std::fs::copy(photos_dir().join("camera.png"), dir.join("good.png")).unwrap();
    std::fs::write(dir.join("empty.png"), b"").unwrap();
    std::fs::write(dir.join("text.jpg"), b"this is not a picture").unwrap();
    std::fs::write(dir.join("ignored.txt"), b"not listed at all").unwrap();
    let config = Config {
        paths: vec![dir.clone()],
        file_retries: 20,
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    for command in ["gfx 2 files", "next", "next", "next"] {
        let packet = atari.request(command).await.unwrap();
        assert_eq!(packet.error_message(), None, "{command}");
        assert_eq!(packet.mode(), GfxMode::Gr8);
    }
    assert_eq!(server.state.file_count(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_broken_files_give_an_error_packet() {
    let dir = temp_dir("all-broken");
    std::fs::write(dir.join("a.png"), b"\x89PNG\r\n\x1a\n truncated").unwrap();
    std::fs::write(dir.join("b.gif"), b"GIF89a").unwrap();
    let packet = first_packet_from(&dir).await;
    let message = packet.error_message().expect("an error packet");
    assert!(message.contains("no readable pictures"), "{message}");
    assert!(message.len() <= 255);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_folders_say_there_is_nothing_to_show() {
    let dir = temp_dir("empty");
    let packet = first_packet_from(&dir).await;
    assert!(
        packet
            .error_message()
            .is_some_and(|m| m.contains("no pictures")),
        "{packet:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slideshow_does_not_repeat_a_picture_twice_in_a_row() {
    let config = Config {
        paths: vec![
            photos_dir().join("camera.png"),
            photos_dir().join("horse.png"),
        ],
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    let mut previous = atari.request("gfx 4 files").await.unwrap();
    for _ in 0..6 {
        let packet = atari.request("next").await.unwrap();
        assert_ne!(
            packet.image_data(),
            previous.image_data(),
            "the same picture twice"
        );
        previous = packet;
    }
}

/// Waits until the catalogue holds `n` files; returns how many it holds.
async fn catalogue_reaches(server: &TestServer, n: usize) -> usize {
    eventually(n, || server.state.file_count()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_rescan_keeps_folders_set_on_the_admin_page() {
    let (first, second) = (temp_dir("runtime-a"), temp_dir("runtime-b"));
    std::fs::copy(photos_dir().join("horse.png"), first.join("a.png")).unwrap();
    for name in ["b.png", "c.png"] {
        std::fs::copy(photos_dir().join("camera.png"), second.join(name)).unwrap();
    }
    let config = Config {
        paths: vec![first.clone()],
        rescan_interval: Some(std::time::Duration::from_millis(50)),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    assert_eq!(catalogue_reaches(&server, 1).await, 1);
    server
        .state
        .set_runtime_settings(yail_state::RuntimeSettings {
            picture_paths: Some(vec![second.clone()]),
            ..yail_state::RuntimeSettings::default()
        });
    assert_eq!(
        catalogue_reaches(&server, 2).await,
        2,
        "the rescan did not take the admin page's folder"
    );
    // Several more rescans: the old --paths folder must not come back.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(server.state.file_count(), 2);
    server.shutdown().await;
    std::fs::remove_dir_all(first).unwrap();
    std::fs::remove_dir_all(second).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_added_while_running_are_found_by_the_rescan() {
    let dir = temp_dir("rescan");
    std::fs::copy(photos_dir().join("horse.png"), dir.join("first.png")).unwrap();
    let config = Config {
        paths: vec![dir.clone()],
        rescan_interval: Some(std::time::Duration::from_millis(50)),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    assert_eq!(catalogue_reaches(&server, 1).await, 1);
    std::fs::copy(photos_dir().join("camera.png"), dir.join("second.png")).unwrap();
    assert_eq!(
        catalogue_reaches(&server, 2).await,
        2,
        "the new picture was not picked up"
    );
    // Deleted pictures disappear the same way.
    std::fs::remove_file(dir.join("first.png")).unwrap();
    assert_eq!(
        catalogue_reaches(&server, 1).await,
        1,
        "the deleted picture is still listed"
    );
    server.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}
