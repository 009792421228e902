//! Both client generations, however TCP cuts or merges their writes.

use yail_proto::{GfxMode, Packet};
use yail_tests::{TestServer, test_config};

fn assert_image(packet: &Packet, mode: GfxMode) {
    assert_eq!(packet.error_message(), None, "expected an image");
    assert_eq!(packet.mode(), mode);
    let len = packet.image_data().map(<[u8]>::len);
    assert_eq!(
        len,
        Some(mode.geometry().expect("concrete mode").payload_len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_six_byte_gfx_merged_with_files() {
    // The legacy client writes "gfx 17" (6 bytes, no space) then "files":
    // TCP may deliver them as one segment. One Python server crashed here.
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 17files").await.unwrap();
    assert_image(&packet, GfxMode::VbxeLegacy);
    let packet = atari.request("next").await.unwrap();
    assert_image(&packet, GfxMode::VbxeLegacy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_client_gfx_with_trailing_space_then_files() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    atari.send("gfx 2 ").await.unwrap();
    assert_image(&atari.request("files").await.unwrap(), GfxMode::Gr8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gfx_merged_with_next_switches_mode_for_that_image() {
    // The current client's random slideshow sends "gfx N next" in one write.
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    assert_image(&atari.request("gfx 2 files").await.unwrap(), GfxMode::Gr8);
    assert_image(&atari.request("gfx 8 next").await.unwrap(), GfxMode::Gr11);
    assert_image(&atari.request("gfx 4 next").await.unwrap(), GfxMode::Gr9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_split_over_many_writes() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for piece in ["g", "fx", " 1", "6 ", "fi", "le"] {
        atari.send(piece).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_image(&atari.request("s").await.unwrap(), GfxMode::Vbxe);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netcat_lines_work() {
    let server = TestServer::start(test_config()).await;
    let mut person = server.client().await;
    assert_image(
        &person.request("gfx 4\r\nfiles\r\n").await.unwrap(),
        GfxMode::Gr9,
    );
    assert_image(&person.request("next\n").await.unwrap(), GfxMode::Gr9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quoted_search_split_mid_quote_gets_one_packet() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    atari.send("gfx 2 ").await.unwrap();
    atari.send("sea").await.unwrap();
    atari.send("rch \"ca").await.unwrap();
    let packet = atari.request("ts\"").await.unwrap();
    let message = packet
        .error_message()
        .expect("no search service in tests: an error packet");
    assert!(message.contains("search"), "{message}");
    // Exactly one packet: the session still answers the next request in order.
    assert_image(&atari.request("files").await.unwrap(), GfxMode::Gr8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unterminated_bare_words_are_answered_after_a_pause() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    // No quotes, no line end: complete once the sender pauses (150 ms).
    let packet = atari
        .request("gfx 2 showurl  http://127.0.0.1:9/a.jpg")
        .await
        .unwrap();
    assert!(
        packet
            .error_message()
            .is_some_and(|m| m.contains("not a public address")),
        "{packet:?}"
    );
}
