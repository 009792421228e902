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

use std::collections::BTreeSet;
use std::fmt::Display;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

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

/// Runs `command` on a blocking thread, so that the test's runtime keeps
/// serving the server the command talks to.
async fn run_blocking(mut command: assert_cmd::Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run yail"))
        .await
        .expect("yail thread")
}

/// Runs `yail fetch --server <server> --out <out> <rest>`, where `rest`
/// holds the options and the request as typed, words split at spaces (no
/// quoting).
async fn fetch(server: impl Display, out: &Path, rest: &str) -> Output {
    let mut command = yail();
    command
        .args(["fetch", "--server", &server.to_string(), "--out"])
        .arg(out)
        .args(rest.split_whitespace());
    run_blocking(command).await
}

/// Runs `yail load --server <server> <rest>`, where `rest` holds the
/// options and perhaps the request, split as for [`fetch`].
async fn load(server: impl Display, rest: &str) -> Output {
    let mut command = yail();
    command
        .args(["load", "--server", &server.to_string()])
        .args(rest.split_whitespace());
    run_blocking(command).await
}

/// [`load`] with `--json`: its output and the report it printed.
async fn load_json(server: impl Display, rest: &str) -> (Output, serde_json::Value) {
    let output = load(server, &format!("--json {rest}")).await;
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("one JSON object ({e}); stderr: {}", text(&output.stderr)));
    (output, report)
}

/// Checks that the command succeeded, showing its stderr if not.
#[track_caller]
fn assert_success(output: &Output) {
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// Checks that the command exited with `code`, showing its stderr if
/// not, and returns that stderr for the checks that follow.
#[track_caller]
fn assert_exit(output: &Output, code: i32) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    stderr
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

/// The source address of each connection a [`recording_server`] accepted,
/// in order.
type Peers = Arc<Mutex<Vec<SocketAddr>>>;

/// The distinct source IP addresses among `peers`.
fn source_ips(peers: &Peers) -> BTreeSet<IpAddr> {
    peers
        .lock()
        .expect("peers")
        .iter()
        .map(|p| p.ip())
        .collect()
}

/// A server that answers every request with one Graphics 8 picture and
/// records the address each connection came from.
async fn recording_server() -> (SocketAddr, Peers) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    recording_server_on(listener)
}

/// [`recording_server`] on `listener`.
fn recording_server_on(listener: tokio::net::TcpListener) -> (SocketAddr, Peers) {
    let addr = listener.local_addr().expect("address");
    let peers = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&peers);
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
