//! `video` against fake cameras on 127.0.0.1: every reply is an 8800-byte
//! frame, because the current client's video loop reads nothing else.

use std::time::Duration;

use yail_proto::{GfxMode, Packet, PacketVersion};
use yail_server::Config;
use yail_tests::{TestServer, photos_dir, test_config};

use crate::fake_api::{Fake, Reply, Request};

fn jpeg() -> Vec<u8> {
    std::fs::read(photos_dir().join("rocket.jpg")).unwrap()
}

fn png() -> Vec<u8> {
    std::fs::read(photos_dir().join("camera.png")).unwrap()
}

/// The packet is what the client's video loop reads: a version 1.1 frame
/// of 8800 bytes in `mode`.
fn assert_video_frame(packet: &Packet, mode: GfxMode, what: &str) {
    assert_eq!(packet.version(), PacketVersion::V1_1, "{what}: {packet:?}");
    assert_eq!(packet.mode(), mode, "{what}");
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800), "{what}");
}

fn lit_pixels(packet: &Packet) -> u32 {
    packet
        .image_data()
        .unwrap_or_default()
        .iter()
        .map(|b| b.count_ones())
        .sum()
}

/// The frame a message is drawn in, as the server should send it.
fn message_frame(mode: GfxMode, text: &str) -> Vec<u8> {
    yail_core::font::message_frame(mode, text).unwrap()
}

fn camera_config(url: String) -> Config {
    Config {
        camera: Some(url),
        camera_interval: Duration::from_millis(50),
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_stream_frames_are_sent_as_they_arrive() {
    for (boundary, lengths) in [("frame", true), ("123456789000000000000987654321", false)] {
        let frames = vec![jpeg(), png()];
        let camera = Fake::start(move |_: &Request| Reply::Mjpeg {
            boundary,
            frames: frames.clone(),
            lengths,
        })
        .await;
        let server = TestServer::start(camera_config(camera.url("/?action=stream"))).await;
        let mut atari = server.client().await;
        let first = atari.request("gfx 2 video").await.unwrap();
        assert_video_frame(&first, GfxMode::Gr8, boundary);
        // The stream alternates two pictures; within 20 frames (each the
        // newest when asked) both show up unless the server repeats one.
        let mut different = false;
        for _ in 0..20 {
            let next = atari.request("next").await.unwrap();
            assert_video_frame(&next, GfxMode::Gr8, "next");
            different |= next.image_data() != first.image_data();
            if different {
                break;
            }
        }
        assert!(different, "{boundary}: the stream's two pictures alternate");
        // One connection serves every frame.
        assert_eq!(camera.requests().len(), 1, "{boundary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_camera_is_polled() {
    let camera = Fake::start(|_: &Request| Reply::bytes(200, "image/jpeg", &jpeg())).await;
    let server = TestServer::start(camera_config(camera.url("/snapshot.jpg"))).await;
    let mut atari = server.client().await;
    assert_video_frame(
        &atari.request("gfx 4 video").await.unwrap(),
        GfxMode::Gr9,
        "first",
    );
    assert_video_frame(&atari.request("next").await.unwrap(), GfxMode::Gr9, "next");
    assert!(
        camera.requests().len() >= 2,
        "polled again for the next frame"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_that_are_not_8800_byte_frames_get_graphics_8() {
    let camera = Fake::start(|_: &Request| Reply::bytes(200, "image/jpeg", &jpeg())).await;
    let server = TestServer::start(camera_config(camera.url("/snap"))).await;
    let mut atari = server.client().await;
    for mode in ["17", "10", "18"] {
        let packet = atari.request(&format!("gfx {mode} video")).await.unwrap();
        assert_video_frame(&packet, GfxMode::Gr8, mode);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_camera_is_a_frame_saying_so() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for (command, mode) in [
        ("gfx 2 video", GfxMode::Gr8),
        ("next", GfxMode::Gr8),
        ("gfx 6 camera", GfxMode::Gr15),
    ] {
        let packet = atari.request(command).await.unwrap();
        assert_video_frame(&packet, mode, command);
        assert_eq!(
            packet.image_data(),
            Some(&message_frame(mode, "no camera configured on this server")[..]),
            "{command}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_camera_is_a_frame_saying_so() {
    // A port nothing listens on: bind, note it, close.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = TestServer::start(camera_config(format!("http://127.0.0.1:{port}/snap"))).await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    assert_video_frame(&packet, GfxMode::Gr8, "video");
    assert!(lit_pixels(&packet) > 0, "a message is drawn");
    let no_camera = message_frame(GfxMode::Gr8, "no camera configured on this server");
    assert_ne!(packet.image_data(), Some(&no_camera[..]));
    assert_video_frame(&atari.request("next").await.unwrap(), GfxMode::Gr8, "next");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_answering_errors_or_garbage_is_a_frame_and_the_server_goes_on() {
    let replies: [fn() -> Reply; 3] = [
        || Reply::bytes(500, "text/plain", b"broken"),
        || Reply::bytes(200, "image/jpeg", b"this is not a JPEG at all"),
        || Reply::bytes(200, "multipart/x-mixed-replace", b"no boundary"),
    ];
    for reply in replies {
        let camera = Fake::start(move |_: &Request| reply()).await;
        let server = TestServer::start(camera_config(camera.url("/snap"))).await;
        let mut atari = server.client().await;
        let packet = atari.request("gfx 2 video").await.unwrap();
        assert_video_frame(&packet, GfxMode::Gr8, "video");
        assert!(lit_pixels(&packet) > 0);
        assert!(atari.request("files").await.unwrap().image_data().is_some());
    }
}
