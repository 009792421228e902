//! The server as a separate process, given files that misbehave: a FIFO
//! and a link to `/dev/zero` among good pictures, and a 134-megapixel PNG
//! asked for four times at once. Each server runs under an address-space
//! limit (`prlimit --as`), so a regression fails the test instead of
//! exhausting the machine; each is stopped with SIGTERM, which must end it
//! within the shutdown bound.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yail_proto::{DecodeError, Packet};

#[path = "common/huge_png.rs"]
mod huge_png;

/// Session grace (10 s) and runtime shutdown (5 s), with room to spare.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(20);

/// A `yail-server` child process and what it logged.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server on a free loopback port with `args`, under an
    /// address-space limit of `address_space_mib`.
    fn start(dir: &Path, address_space_mib: u64, args: &[&str]) -> Server {
        let mut child = Command::new("prlimit")
            .arg(format!("--as={}", address_space_mib << 20))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_yail-server"))
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--log-level",
                "info",
                "--no-admin",
            ])
            .args(args)
            // No .env of the developer's is read from here.
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start yail-server under prlimit");
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("N:TCP://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|port| port.parse::<u16>().ok())
                {
                    let _ = port_tx.send(port);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it listens");
        Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        }
    }

    /// A line of `/proc/<pid>/status`, in KiB (or a count).
    fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    fn logged(&self, text: &str) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(text))
    }

    /// Sends SIGTERM and returns how long the process took to exit.
    fn terminate(mut self) -> Duration {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        while started.elapsed() < SHUTDOWN_BOUND * 2 {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                assert!(status.success(), "exited with {status}");
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("still running {:?} after SIGTERM", started.elapsed());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `command` and reads the packet that answers it.
async fn request(stream: &mut TcpStream, command: &str, within: Duration) -> Packet {
    stream.write_all(command.as_bytes()).await.expect("send");
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
    tokio::time::timeout(within, read)
        .await
        .unwrap_or_else(|_| panic!("no answer to {command:?} within {within:?}"))
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yail-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/photos")
        .join(name)
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_and_dev_zero_among_the_pictures_cannot_block_or_bloat_the_server() {
    let dir = scratch_dir("hostile-files");
    let pictures = dir.join("pictures");
    std::fs::create_dir_all(&pictures).unwrap();
    // Twelve good pictures, so that six picks in a row (a request and its
    // five retries) practically never all land on the two bad ones.
    for good in [
        "astronaut.png",
        "camera.png",
        "chelsea.png",
        "coffee.png",
        "horse.png",
        "rocket.jpg",
    ] {
        std::fs::copy(photo(good), pictures.join(good)).unwrap();
        std::fs::copy(photo(good), pictures.join(format!("copy-{good}"))).unwrap();
    }
    // There at the scan: the scan leaves them out.
    mkfifo(&pictures.join("fifo.png"));
    std::os::unix::fs::symlink("/dev/zero", pictures.join("zero.jpg")).unwrap();
    // Good at the scan, swapped afterwards: loading must catch them.
    for late in ["late-fifo.png", "late-zero.jpg"] {
        std::fs::copy(photo("horse.png"), pictures.join(late)).unwrap();
    }

    let server = Server::start(
        &dir,
        2048,
        &[
            "--paths",
            pictures.to_str().unwrap(),
            "--workers",
            "2",
            "--no-prefetch",
            // All twenty Ataris below come from 127.0.0.1.
            "--max-per-ip",
            "32",
        ],
    );
    std::fs::remove_file(pictures.join("late-fifo.png")).unwrap();
    mkfifo(&pictures.join("late-fifo.png"));
    std::fs::remove_file(pictures.join("late-zero.jpg")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", pictures.join("late-zero.jpg")).unwrap();

    // Twenty Ataris, five pictures each: every answer is a good picture.
    let mut ataris = Vec::new();
    for _ in 0..20 {
        let addr = server.addr;
        ataris.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            for command in ["gfx 2 files", "next", "next", "next", "next"] {
                let packet = request(&mut stream, command, Duration::from_secs(120)).await;
                assert!(
                    packet.image_data().is_some(),
                    "{command}: {:?}",
                    packet.error_message()
                );
            }
        }));
    }
    for atari in ataris {
        atari.await.unwrap();
    }

    assert!(
        server.logged("not a regular file"),
        "the swapped files were never tried"
    );
    let threads = server.status("Threads");
    let peak_kib = server.status("VmHWM");
    println!("threads {threads}, peak RSS {} MiB", peak_kib >> 10);
    // Runtime workers, main thread and at most 64 blocking threads: a
    // blocked open() per request would pin threads until that cap, and
    // the requests behind them would time out instead of being answered.
    assert!(threads <= 2 + 64 + 2, "{threads} threads");
    assert!(peak_kib < 512 << 10, "peak RSS {} MiB", peak_kib >> 10);

    let took = server.terminate();
    assert!(took < SHUTDOWN_BOUND, "exited after {took:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Writes a 16384x8191 RGBA PNG of broad stripes (about 0.5 MB): 134
/// megapixels that take 537 MB to hold decoded.
fn write_huge_png(path: &Path) {
    let stripes = |x: u32| {
        if (x / 256).is_multiple_of(2) {
            [200, 120, 40, 255]
        } else {
            [20, 60, 200, 128]
        }
    };
    let png = huge_png::huge_png(stripes, flate2::Compression::fast());
    std::fs::write(path, png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_requests_for_a_huge_png_stay_within_the_decode_budget() {
    const BUDGET_MIB: u64 = 1100;
    let dir = scratch_dir("huge-png");
    let pictures = dir.join("pictures");
    std::fs::create_dir_all(&pictures).unwrap();
    write_huge_png(&pictures.join("huge.png"));

    let server = Server::start(
        &dir,
        3072,
        &[
            "--paths",
            pictures.to_str().unwrap(),
            "--workers",
            "2",
            "--no-prefetch",
            "--decode-memory-mb",
            &BUDGET_MIB.to_string(),
            "--request-timeout",
            "900",
        ],
    );
    let settled_before = server.status("VmRSS");

    // Four modes, so four conversions rather than one shared.
    let mut ataris = Vec::new();
    for mode in [2, 4, 6, 8] {
        let addr = server.addr;
        ataris.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let command = format!("gfx {mode} files");
            let packet = request(&mut stream, &command, Duration::from_secs(900)).await;
            assert!(
                packet.image_data().is_some(),
                "{command}: {:?}",
                packet.error_message()
            );
        }));
    }
    for atari in ataris {
        atari.await.unwrap();
    }
    let peak_kib = server.status("VmHWM");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled_kib = server.status("VmRSS");
    println!(
        "RSS before {} MiB, peak {} MiB, settled {} MiB",
        settled_before >> 10,
        peak_kib >> 10,
        settled_kib >> 10
    );
    // The budget covers the conversion; the rest is the process itself
    // (runtime, cache, the file's bytes), well under 100 MiB.
    assert!(
        peak_kib < (BUDGET_MIB + 100) << 10,
        "peak RSS {} MiB",
        peak_kib >> 10
    );
    assert!(
        settled_kib < 200 << 10,
        "RSS stayed at {} MiB",
        settled_kib >> 10
    );

    let took = server.terminate();
    assert!(took < SHUTDOWN_BOUND, "exited after {took:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
