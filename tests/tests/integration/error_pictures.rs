//! What an Atari is shown when a request fails. In Graphics 8, 9, 10, 11
//! and 15 both clients print an error packet's text to a text screen they
//! keep hidden, so the server draws the message into a picture of the
//! mode, shaped exactly as the mode's pictures are (what the client's
//! reader expects after a request). VBXE modes, and programs that ask for
//! `errors packets` (the `yail` tool), get error packets.

use yail_core::font::message_packet;
use yail_proto::client::Client;
use yail_proto::{GfxMode, Packet, PacketVersion};
use yail_tests::{TestServer, test_config};

/// A request an Atari user can make that fails on the test server: a
/// picture on a local address, which the address policy refuses.
const FAILING_REQUEST: &str = "showurl  http://127.0.0.1/cat.jpg";

/// The message a program is sent for [`FAILING_REQUEST`] in `mode`.
async fn message_for_a_program(server: &TestServer, mode: GfxMode) -> String {
    let mut program = server.client().await;
    program.send(format!("gfx {} ", mode.wire())).await.unwrap();
    let packet = program.request(FAILING_REQUEST).await.unwrap();
    assert_eq!(packet.mode(), mode, "an error packet names the mode");
    packet
        .error_message()
        .unwrap_or_else(|| panic!("a program gets an error packet in {mode:?}: {packet:?}"))
        .to_owned()
}

/// The bytes an Atari reads for one request, as its reader takes them.
async fn atari_answer(atari: &mut Client, request: &str) -> (Packet, Vec<u8>) {
    let packet = atari.request(request).await.unwrap();
    let bytes = packet.to_bytes();
    (packet, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_hidden_text_modes_an_atari_is_shown_the_error_as_a_picture() {
    let server = TestServer::start(test_config()).await;
    for mode in [
        GfxMode::Gr8,
        GfxMode::Gr9,
        GfxMode::Gr15,
        GfxMode::Gr11,
        GfxMode::Gr10,
    ] {
        let message = message_for_a_program(&server, mode).await;
        assert!(message.contains("127.0.0.1"), "{message}");

        let mut atari = server.atari().await;
        atari.send(format!("gfx {} ", mode.wire())).await.unwrap();
        let (packet, bytes) = atari_answer(&mut atari, FAILING_REQUEST).await;
        assert_eq!(packet.error_message(), None, "{mode:?}: a picture");
        assert_eq!(packet.mode(), mode);
        // Exactly the shape of the mode's pictures.
        let geometry = mode.geometry().expect("a concrete mode");
        assert_eq!(packet.version(), geometry.version, "{mode:?}");
        match geometry.version {
            PacketVersion::V1_1 => {
                assert_eq!(bytes.len(), 7 + 8800, "{mode:?}");
                assert_eq!(&bytes[..7], &[1, 1, 0, mode.wire(), 3, 0x60, 0x22]);
            }
            PacketVersion::V1_4 => {
                // Graphics 10: nine colour registers, then the image.
                assert_eq!(bytes.len(), 5 + 5 + 9 + 5 + 8800);
                assert_eq!(&bytes[..10], &[1, 4, 0, 10, 2, 6, 9, 0, 0, 0]);
                assert_eq!(&bytes[19..24], &[7, 0x60, 0x22, 0, 0]);
            }
        }
        // The message is what is drawn.
        let drawn = message_packet(mode, &message).expect("a drawable mode");
        assert_eq!(packet, drawn, "{mode:?} shows {message:?}");

        // The session goes on: the next request is answered with a picture.
        let (picture, _) = atari_answer(&mut atari, "files").await;
        assert_eq!((picture.mode(), picture.error_message()), (mode, None));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vbxe_modes_show_the_text_so_they_get_error_packets() {
    let server = TestServer::start(test_config()).await;
    for mode in [GfxMode::Vbxe, GfxMode::VbxeLegacy, GfxMode::VbxeHiRes] {
        let mut atari = server.atari().await;
        atari.send(format!("gfx {} ", mode.wire())).await.unwrap();
        let (packet, _) = atari_answer(&mut atari, FAILING_REQUEST).await;
        assert_eq!(packet.mode(), mode);
        let message = packet.error_message().expect("an error packet");
        assert!(message.contains("127.0.0.1"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_asking_for_error_packets_gets_them_in_every_mode() {
    let server = TestServer::start(test_config()).await;
    for mode in GfxMode::ALL {
        message_for_a_program(&server, mode).await;
    }
    // `errors auto` turns pictures back on, on the same session.
    let mut client = server.client().await;
    client.send("gfx 2 ").await.unwrap();
    assert!(
        client
            .request("next")
            .await
            .unwrap()
            .error_message()
            .is_some()
    );
    client.send("errors auto\n").await.unwrap();
    let packet = client.request("next").await.unwrap();
    assert_eq!(packet.error_message(), None, "drawn again: {packet:?}");
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_errors_setting_is_reported_with_the_next_answer() {
    let server = TestServer::start(test_config()).await;
    let mut client = server.client().await;
    // Like `gfx`, `errors` gets no reply: a bad value is told next time.
    client.send("gfx 17").await.unwrap();
    client.send("errors sometimes\n").await.unwrap();
    let packet = client.request("files").await.unwrap();
    let message = packet.error_message().expect("an error packet");
    assert!(message.contains("sometimes"), "{message}");
    // The setting was kept (packets), and the session goes on.
    let packet = client.request("next").await.unwrap();
    assert_eq!(
        (packet.mode(), packet.error_message()),
        (GfxMode::VbxeLegacy, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_mode_draws_the_error_in_the_mode_it_picks() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.atari().await;
    atari.send("gfx 42").await.unwrap();
    let (packet, _) = atari_answer(&mut atari, FAILING_REQUEST).await;
    // The default random modes are Graphics 8 and 9.
    assert!(
        matches!(packet.mode(), GfxMode::Gr8 | GfxMode::Gr9),
        "{packet:?}"
    );
    assert_eq!(packet.error_message(), None);
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_config_text_is_drawn_too() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.atari().await;
    atari.send("gfx 4 ").await.unwrap();
    let (packet, _) = atari_answer(&mut atari, "openai-config\n").await;
    assert_eq!(
        (packet.mode(), packet.error_message()),
        (GfxMode::Gr9, None)
    );
    let expected = message_packet(
        GfxMode::Gr9,
        "image generation is not configured on this server",
    );
    assert_eq!(Some(packet), expected);
}
