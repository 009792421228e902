//! SIGTERM to the real server binary while 200 clients stream pictures:
//! it exits 0 within its grace period, and every client's stream ends on a
//! packet boundary (none receives part of a packet).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yail_proto::{DecodeError, Packet};

const CLIENTS: usize = 200;
/// The server's shutdown grace (Config::default) plus a margin for a
/// loaded machine.
const BOUNDED_WAIT: Duration = Duration::from_secs(10 + 5);

#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server closed between two packets.
    Clean,
    /// The connection ended with this many bytes of a packet read.
    Cut(usize),
    /// Bytes that are not a packet, or a wrong one.
    Invalid(String),
}

/// Streams `gfx 2 files`, `next`, `next`... until the server closes.
async fn stream(port: u16, packets: Arc<AtomicU64>, first: Arc<tokio::sync::Barrier>) -> End {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        first.wait().await;
        return End::Invalid("no connection".into());
    };
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut waiting_first = true;
    let end = 'session: loop {
        let command: &[u8] = if waiting_first {
            b"gfx 2 files"
        } else {
            b"next"
        };
        // The server may already have closed; the read below says how.
        let _ = stream.write_all(command).await;
        loop {
            match Packet::parse(&buffer) {
                Ok((packet, used)) => {
                    buffer.drain(..used);
                    if packet.error_message().is_none()
                        && packet.image_data().map(<[u8]>::len) != Some(8800)
                    {
                        break 'session End::Invalid(format!("{packet:?}"));
                    }
                    packets.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(DecodeError::Incomplete { .. }) => {}
                Err(e) => break 'session End::Invalid(e.to_string()),
            }
            let read = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut chunk)).await;
            match read {
                Ok(Ok(0)) | Ok(Err(_)) if buffer.is_empty() => break 'session End::Clean,
                Ok(Ok(0)) | Ok(Err(_)) => break 'session End::Cut(buffer.len()),
                Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
                Err(_) => break 'session End::Invalid("no packet within 60 s".into()),
            }
        }
        if waiting_first {
            waiting_first = false;
            first.wait().await;
        }
    };
    if waiting_first {
        first.wait().await;
    }
    end
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_200_clients_stream_exits_0_and_cuts_no_packet() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let photos = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/photos");
    let mut server = Command::new(env!("CARGO_BIN_EXE_yail-server"))
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--no-admin",
        ])
        .args(["--paths", photos, "--max-connections", "300"])
        .env("YAIL_LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start yail-server");
    let mut listening = false;
    for _ in 0..400 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "the server did not listen within 20 s");

    let packets = Arc::new(AtomicU64::new(0));
    let first = Arc::new(tokio::sync::Barrier::new(CLIENTS + 1));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(stream(port, Arc::clone(&packets), Arc::clone(&first))))
        .collect();
    // Every client has had a picture and is asking for the next one.
    first.wait().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = packets.load(Ordering::Relaxed);

    let signalled = Instant::now();
    let sent = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let mut status = None;
    while signalled.elapsed() < BOUNDED_WAIT {
        if let Some(s) = server.try_wait().expect("wait for the server") {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if status.is_none() {
        let _ = server.kill();
    }
    let mut log = String::new();
    if let Some(mut stderr) = server.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut log);
    }
    let _ = server.wait();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?} within {BOUNDED_WAIT:?}; log:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");

    let mut ends = Vec::new();
    for client in clients {
        ends.push(client.await.expect("client task"));
    }
    let bad: Vec<_> = ends.iter().filter(|e| **e != End::Clean).collect();
    assert!(
        bad.is_empty(),
        "{} of {CLIENTS} clients ended badly: {:?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
    assert!(before >= CLIENTS as u64, "{before} packets before SIGTERM");
}
