//! The `yail` binary run as a person or a script runs it. Servers are
//! started by the test on loopback ports; nothing leaves 127.0.0.0/8 and ::1.
//! One module per subcommand; the helpers and small servers they share
//! are here.

mod convert;
mod fetch;
mod hints;
mod load;
mod modes;
mod preview;
mod shell;
mod web_server;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub use yail_core::{Converter, GfxMode, Packet, Settings};
pub use yail_tests::{TestServer, eventually, photos_dir, test_config};

fn yail() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("yail").expect("the yail binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Width and height from a PNG file's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (be(16), be(20))
}

fn read_packet(path: &Path) -> Packet {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Packet::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `yail` with `args` on a blocking thread, so the test's runtime
/// keeps serving the server the command talks to.
async fn run_yail(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || yail().args(&args).output().expect("run yail"))
        .await
        .expect("yail thread")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A server that answers its first client's first write with `reply`,
/// then keeps the connection open a while.
async fn fake_server(reply: Vec<u8>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        if let Ok((mut socket, _)) = listener.accept().await {
            let mut scratch = [0u8; 256];
            let _ = socket.read(&mut scratch).await;
            let _ = socket.write_all(&reply).await;
            tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        }
    });
    addr
}

/// A server that answers every request with one Graphics 8 picture and
/// records the address each connection came from.
async fn recording_server() -> (
    SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<SocketAddr>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    recording_server_on(listener)
}

/// [`recording_server`] on `listener`.
fn recording_server_on(
    listener: tokio::net::TcpListener,
) -> (
    SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<SocketAddr>>>,
) {
    let addr = listener.local_addr().expect("address");
    let peers = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&peers);
    let picture = Packet::image(GfxMode::Gr8, Vec::new(), vec![0x55; 8800])
        .expect("packet")
        .to_bytes();
    tokio::spawn(async move {
        while let Ok((mut socket, peer)) = listener.accept().await {
            seen.lock().expect("peers").push(peer);
            let picture = picture.clone();
            tokio::spawn(async move {
                let mut decoder = yail_proto::CommandDecoder::new();
                let mut input = bytes::BytesMut::new();
                loop {
                    while let Ok(Some(command)) = decoder.decode(&mut input) {
                        match command {
                            // Neither is answered (`errors packets` comes
                            // first from `yail`).
                            yail_proto::Command::Gfx(_) | yail_proto::Command::Errors(_) => {}
                            yail_proto::Command::Quit => return,
                            _ => {
                                if socket.write_all(&picture).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    match socket.read_buf(&mut input).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    (addr, peers)
}
