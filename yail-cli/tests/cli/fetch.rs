//! `yail fetch` and `--server`: pictures as an Atari asks for them, and servers that break the protocol.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_saves_each_packet_and_its_preview_like_an_atari() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    // The legacy client's `gfx 17` is six bytes with no space after it.
    let output = fetch(server.addr, dir.path(), "--gfx vbxe-legacy --count 3 files").await;
    let stdout = text(&output.stdout);
    assert_success(&output);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    for n in 1..=3 {
        let packet = read_packet(&dir.path().join(format!("picture-{n}.yai")));
        assert_eq!(packet.mode(), GfxMode::VbxeLegacy);
        assert_eq!(
            png_size(&dir.path().join(format!("picture-{n}.png"))),
            (320, 240)
        );
    }
    // The server saw mode 17: the six bytes `gfx 17` were understood.
    let served = eventually(3, || server.state.metrics().snapshot().packets_by_mode[17]).await;
    assert_eq!(served, 3);

    // GRAPHICS numbers work too (15 travels as 6), and the current dialect.
    let output = fetch(server.addr, dir.path(), "--gfx 15 --dialect current files").await;
    assert_success(&output);
    assert_eq!(
        read_packet(&dir.path().join("picture-1.yai")).mode(),
        GfxMode::Gr15
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_prints_an_error_packet_and_exits_non_zero() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(server.addr, dir.path(), "dance").await;
    let stdout = text(&output.stdout);
    assert_exit(&output, 1);
    assert!(stdout.starts_with("1 error "), "{stdout}");
    assert!(stdout.contains("unknown command"), "{stdout}");
    assert!(!dir.path().join("picture-1.yai").exists());
}

/// What an Atari in Graphics 8 is sent for a failing request is a picture
/// with the message drawn in (its text screen is hidden); `fetch` asks for
/// error packets, and with --atari-errors gets what the Atari gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_with_atari_errors_saves_the_picture_an_atari_is_shown() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(server.addr, dir.path(), "--atari-errors -v dance").await;
    let stderr = text(&output.stderr);
    assert_success(&output);
    assert!(!stderr.contains("errors packets"), "{stderr}");
    let packet = read_packet(&dir.path().join("picture-1.yai"));
    assert_eq!(packet.mode(), GfxMode::Gr8);
    assert_eq!(packet.error_message(), None);
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800));
    assert!(
        packet
            .image_data()
            .is_some_and(|d| d.iter().any(|&b| b != 0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_refuses_a_server_declaring_a_four_gigabyte_block() {
    // A v1.4 header, one image block of 0xFFFFFFFF bytes, and no data.
    let addr = fake_server(vec![1, 4, 0, 2, 1, 7, 0xFF, 0xFF, 0xFF, 0xFF]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "--timeout 15 files").await;
    let stderr = assert_exit(&output, 4);
    assert!(
        stderr.contains("4294967"),
        "names the declared size: {stderr}"
    );
    assert!(!dir.path().join("picture-1.yai").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_treats_text_instead_of_a_packet_as_a_protocol_violation() {
    let addr = fake_server(b"OK: ACK!\r\n".to_vec()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "files").await;
    assert_exit(&output, 4);
}

#[test]
fn the_old_positional_server_address_gets_a_pointer_to_server() {
    for command in ["load", "fetch"] {
        let output = yail()
            .args([command, "127.0.0.1:9", "files"])
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(
            text(&output.stderr).contains("--server 127.0.0.1:9"),
            "{command}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_address_without_a_port_gets_the_yail_port() {
    // Port 5556 on an address of 127.0.0.0/8 that nothing else uses.
    let pid = std::process::id();
    let host = format!("127.{}.{}.{}", 100 + pid % 100, (pid / 100) % 250 + 1, 7);
    let listener = match tokio::net::TcpListener::bind((host.as_str(), 5556)).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            // Only when a server on this machine listens on 5556 at every
            // address (0.0.0.0): then this address is taken too.
            eprintln!("skipped: {host}:5556 is in use ({e})");
            return;
        }
        Err(e) => panic!("bind {host}:5556: {e}"),
    };
    let (_, peers) = recording_server_on(listener);
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(&host, dir.path(), "--timeout 10 files").await;
    assert_success(&output);
    assert_eq!(
        read_packet(&dir.path().join("picture-1.yai")).mode(),
        GfxMode::Gr8
    );
    assert_eq!(peers.lock().expect("peers").len(), 1);

    // YAIL_SERVER is read the same way.
    let mut command = yail();
    command
        .env("YAIL_SERVER", &host)
        .args(["fetch", "--timeout", "10", "--out"])
        .arg(dir.path())
        .arg("files");
    let output = run_blocking(command).await;
    assert_success(&output);
    assert_eq!(peers.lock().expect("peers").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_servers_are_written_in_brackets() {
    let listener = match tokio::net::TcpListener::bind("[::1]:0").await {
        Ok(listener) => listener,
        Err(e) => panic!("this machine has no ::1 ({e})"),
    };
    let (addr, peers) = recording_server_on(listener);
    let port = addr.port();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(format!("[::1]:{port}"), dir.path(), "files").await;
    assert_success(&output);
    assert!(peers.lock().expect("peers")[0].is_ipv6());

    let output = yail()
        .args(["fetch", "--server", "[::1]:x", "files"])
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(2), "a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_shows_the_refusal_of_a_server_that_closes_at_once() {
    // As a server at its per-address limit does: the reason, then close,
    // before the client has written anything; the client's write may fail.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let refusal = Packet::error(GfxMode::Gr8, "too many connections from your address").to_bytes();
    tokio::spawn(async move {
        if let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(&refusal).await;
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fetch(addr, dir.path(), "files").await;
    let stdout = text(&output.stdout);
    assert_exit(&output, 1);
    assert_eq!(stdout, "1 error too many connections from your address\n");
}
