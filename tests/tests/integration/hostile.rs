//! Clients that try to hold the server: half-sent commands, commands
//! dribbled a byte at a time, and crowds of connections from one address.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use yail_proto::{DecodeError, Packet};
use yail_server::Config;
use yail_tests::{TestServer, test_config};

/// Whether the server has closed `stream` (an end, or a reset because
/// bytes it never read were left in the socket).
async fn wait_closed(stream: &mut TcpStream, at_most: Duration) -> bool {
    let mut byte = [0u8; 64];
    match tokio::time::timeout(at_most, stream.read(&mut byte)).await {
        Ok(Ok(0)) => true,
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(Ok(_)) | Err(_) => false,
    }
}

#[tokio::test(start_paused = true)]
async fn a_half_sent_command_is_closed_at_the_idle_timeout() {
    let config = Config {
        idle_timeout: Duration::from_secs(300),
        // Long, so that only the idle clock can close the session.
        command_timeout: Duration::from_secs(3600),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut attacker = TcpStream::connect(server.addr).await.unwrap();
    // An unclosed quote: the 150 ms idle flush cannot complete this.
    attacker.write_all(b"search \"cats").await.unwrap();
    let started = tokio::time::Instant::now();
    assert!(wait_closed(&mut attacker, Duration::from_secs(3600)).await);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(299) && waited < Duration::from_secs(301),
        "closed after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_command_dribbled_a_byte_at_a_time_is_closed_at_the_command_timeout() {
    let config = Config {
        idle_timeout: Duration::from_secs(300),
        command_timeout: Duration::from_secs(30),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut attacker = TcpStream::connect(server.addr).await.unwrap();
    let started = tokio::time::Instant::now();
    attacker.write_all(b"search \"").await.unwrap();
    let mut closed = false;
    for _ in 0..100 {
        // Every byte is news to the idle clock, but not to the command's.
        if wait_closed(&mut attacker, Duration::from_secs(5)).await {
            closed = true;
            break;
        }
        if attacker.write_all(b"a").await.is_err() {
            closed = true;
            break;
        }
    }
    let waited = started.elapsed();
    assert!(closed, "still open after {waited:?}");
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(36),
        "closed after {waited:?}"
    );
}

/// A client connecting from `source` (any 127.x address is this machine).
async fn client_from(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a 127.x source address");
    socket.connect(server).await.unwrap()
}

/// Reads one packet (within 30 s).
async fn read_packet(stream: &mut TcpStream) -> Packet {
    let read = async {
        let mut buffer = Vec::new();
        loop {
            match Packet::parse(&buffer) {
                Ok((packet, _)) => return packet,
                Err(DecodeError::Incomplete { .. }) => {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).await.expect("read a packet");
                    assert!(n > 0, "closed after {} bytes of a packet", buffer.len());
                    buffer.extend_from_slice(&chunk[..n]);
                }
                Err(e) => panic!("not a packet: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("a packet within 30 s")
}

/// Opens `count` connections from 127.0.0.1 that never send a byte.
async fn silent_crowd(server: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut crowd = Vec::with_capacity(count);
    for _ in 0..count {
        crowd.push(TcpStream::connect(server).await.unwrap());
    }
    crowd
}

/// Sends `gfx 2 files` and checks a picture comes back.
async fn assert_served(client: &mut TcpStream) {
    client.write_all(b"gfx 2 files").await.unwrap();
    let packet = read_packet(client).await;
    assert!(
        packet.error_message().is_none(),
        "{:?}",
        packet.error_message()
    );
    assert!(packet.image_data().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_connections_from_one_address_do_not_lock_out_another() {
    let server = TestServer::start(test_config()).await;
    let mut crowd = silent_crowd(server.addr, 300).await;
    let mut atari = client_from([127, 0, 0, 2], server.addr).await;
    assert_served(&mut atari).await;

    // Beyond its share the crowd was told why, and closed.
    let limit = test_config().max_per_ip;
    let packet = read_packet(&mut crowd[limit]).await;
    assert_eq!(packet.error_message(), Some(yail_server::TOO_MANY_MESSAGE));
    assert!(
        server.state.connections() <= limit + 1,
        "{} sessions",
        server.state.connections()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_makes_room_by_closing_the_longest_idle_session() {
    // A club behind one NAT may allow one address everything: then the
    // crowd fills the server, and the newcomer displaces a silent member.
    let config = Config {
        max_connections: 256,
        max_per_ip: 1000,
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut crowd = silent_crowd(server.addr, 300).await;
    let mut atari = client_from([127, 0, 0, 2], server.addr).await;
    assert_served(&mut atari).await;
    // The first of the crowd had waited longest: it was closed for the
    // newcomer (or for the crowd's own 257th and later members).
    let mut first = crowd.swap_remove(0);
    assert!(wait_closed(&mut first, Duration::from_secs(10)).await);
    // Closed sessions end a moment after their sockets close.
    let state = server.state.clone();
    let mut running = state.connections();
    for _ in 0..500 {
        if running <= 256 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        running = state.connections();
    }
    assert!(running <= 256, "{running} sessions");
    // A newcomer is served while a session is busy with a request, too.
    let mut second = client_from([127, 0, 0, 3], server.addr).await;
    assert_served(&mut second).await;
}
