//! A refused client reads why. An Atari writes `gfx N` and its request a
//! moment after connecting; the server reads them (for a short, bounded
//! time) before it answers with the refusal and closes, so the client's
//! writes succeed and it reads the reason, drawn into a picture where its
//! text screen is hidden.

use std::time::Duration;

use yail_core::font::message_packet;
use yail_proto::GfxMode;
use yail_server::{Config, TOO_MANY_MESSAGE};
use yail_state::ErrorKind;
use yail_tests::{TestServer, eventually, test_config};

fn one_per_address() -> Config {
    Config {
        max_per_ip: 1,
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_atari_writes_its_request_and_reads_the_refusal() {
    let server = TestServer::start(one_per_address()).await;
    let mut first = server.atari().await;
    let picture = first.request("gfx 2 files").await.unwrap();
    assert_eq!(picture.error_message(), None);

    for mode in [GfxMode::Gr9, GfxMode::Gr10, GfxMode::Gr15] {
        let mut refused = server.atari().await;
        // Two writes, as the Atari makes them: both succeed.
        refused.send(format!("gfx {} ", mode.wire())).await.unwrap();
        refused.send("files").await.unwrap();
        let packet = refused.read_packet().await.unwrap();
        assert_eq!(
            Some(packet),
            message_packet(mode, TOO_MANY_MESSAGE),
            "{mode:?}: the refusal, drawn"
        );
        // Then the connection is closed.
        assert!(refused.read_to_end().await.unwrap().is_empty());
    }
    // In a VBXE mode the text shows: an error packet.
    let mut refused = server.atari().await;
    refused.send("gfx 17").await.unwrap();
    refused.send("search \"cats\"").await.unwrap();
    let packet = refused.read_packet().await.unwrap();
    assert_eq!(packet.error_message(), Some(TOO_MANY_MESSAGE));
    assert_eq!(packet.mode(), GfxMode::VbxeLegacy);

    // The first session was never disturbed.
    let next = first.request("next").await.unwrap();
    assert_eq!(next.error_message(), None);
    assert_eq!(server.state.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_program_gets_an_error_packet() {
    let server = TestServer::start(one_per_address()).await;
    let _first = server.client().await;
    let mut refused = server.client().await;
    refused.send("gfx 2 ").await.unwrap();
    refused.send("files").await.unwrap();
    let packet = refused.read_packet().await.unwrap();
    assert_eq!(packet.error_message(), Some(TOO_MANY_MESSAGE));
    assert_eq!(packet.mode(), GfxMode::Gr8);
}

/// A client that writes nothing is still told, once the short wait for its
/// request is over, with the error packet anything reading packets knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_refused_client_gets_an_error_packet_after_a_short_wait() {
    let server = TestServer::start(one_per_address()).await;
    let _first = server.atari().await;
    let mut silent = server.atari().await;
    let packet = silent.read_packet().await.unwrap();
    assert_eq!(packet.error_message(), Some(TOO_MANY_MESSAGE));
    assert!(silent.read_to_end().await.unwrap().is_empty());
}

/// While a refused client is being read, its address's place is free for
/// whoever comes next: a refusal holds no session's place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_being_served_holds_no_place() {
    let server = TestServer::start(one_per_address()).await;
    let mut first = server.atari().await;
    assert!(
        first
            .request("gfx 2 files")
            .await
            .unwrap()
            .error_message()
            .is_none()
    );
    // Refused, and silent: the server waits for its request.
    let mut waiting = server.atari().await;
    waiting.set_timeout(Duration::from_secs(30));
    let busy = || server.state.metrics().snapshot().errors_of(ErrorKind::Busy);
    assert_eq!(eventually(1, busy).await, 1, "refused");
    first.send("quit").await.unwrap();
    assert_eq!(eventually(0, || server.state.connections()).await, 0);
    let mut next = server.atari().await;
    let packet = next.request("gfx 4 files").await.unwrap();
    assert_eq!(
        (packet.mode(), packet.error_message()),
        (GfxMode::Gr9, None)
    );
    // The waiting one still gets its refusal.
    let refusal = waiting.read_packet().await.unwrap();
    assert_eq!(refusal.error_message(), Some(TOO_MANY_MESSAGE));
}
