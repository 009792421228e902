//! Everything that is not a happy path still gets exactly one packet (or,
//! for HTTP and quit, a clean close), and the session keeps working.

use yail_proto::client::Client;
use yail_proto::{GfxMode, Packet};
use yail_tests::{TestServer, eventually, test_config};

fn message(packet: &Packet) -> &str {
    packet
        .error_message()
        .unwrap_or_else(|| panic!("expected an error packet, got {packet:?}"))
}

async fn still_serves(atari: &mut Client) {
    let packet = atari.request("gfx 2 files").await.unwrap();
    assert_eq!(packet.error_message(), None);
    assert_eq!(packet.mode(), GfxMode::Gr8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_with_nothing_to_repeat_is_an_error_packet() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    assert!(message(&atari.request("next").await.unwrap()).contains("nothing"));
    still_serves(&mut atari).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_gfx_value_makes_the_next_packet_an_error() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    atari.send("gfx 99 ").await.unwrap();
    let packet = atari.request("files").await.unwrap();
    assert!(message(&packet).contains("99"), "{packet:?}");
    // The error is reported once; the following request is served.
    atari.send("gfx 4 ").await.unwrap();
    assert_eq!(atari.request("next").await.unwrap().mode(), GfxMode::Gr9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_numbers_and_unknown_commands_are_error_packets() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    atari.send("gfx 99999999999 ").await.unwrap();
    assert!(message(&atari.request("files").await.unwrap()).contains("mode"));
    assert!(message(&atari.request("dance\n").await.unwrap()).contains("unknown command"));
    still_serves(&mut atari).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_input_is_refused_without_ending_the_session() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    atari.send(vec![b'x'; 64 * 1024]).await.unwrap();
    let packet = atari.request("\n").await.unwrap();
    assert!(message(&packet).contains("longer"), "{packet:?}");
    still_serves(&mut atari).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_garbage_is_an_error_packet() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    atari.send([0xffu8, 0xfe, 0x80, b'\n']).await.unwrap();
    let packet = atari.read_packet().await.unwrap();
    assert!(message(&packet).contains("bad command"), "{packet:?}");
    still_serves(&mut atari).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfigured_sources_say_so() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for (command, word) in [
        ("gen \"a red barn\"", "generation"),
        ("gen dall-e-3 \"a red barn\"", "generation"),
        ("search \"cats\"", "search"),
        ("openai-config\n", "generation"),
    ] {
        let packet = atari.request(command).await.unwrap();
        assert!(message(&packet).contains(word), "{command}: {packet:?}");
        // `next` repeats the same answer rather than going silent.
        if command != "openai-config\n" {
            assert!(
                atari
                    .request("next")
                    .await
                    .unwrap()
                    .error_message()
                    .is_some(),
                "{command}"
            );
        }
    }
    still_serves(&mut atari).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_gets_403_and_the_connection_closes() {
    let server = TestServer::start(test_config()).await;
    let mut browser = server.client().await;
    browser
        .send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let reply = String::from_utf8(browser.read_to_end().await.unwrap()).unwrap();
    assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
    assert!(reply.ends_with("Not Allowed"), "{reply}");
    // The server is unharmed.
    still_serves(&mut server.client().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_closes_the_session_and_it_is_deregistered() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    still_serves(&mut atari).await;
    atari.send("quit").await.unwrap();
    assert!(atari.read_to_end().await.unwrap().is_empty());
    assert_eq!(eventually(0, || server.state.connections()).await, 0);
    assert!(server.state.sessions().is_empty());
}
