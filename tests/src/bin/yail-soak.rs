// Long because one tool holds the five runs (chaos, scale, shutdown,
// downloads, generations), which share the server launcher, the Atari-like reader and
// the packet checks.
//! `yail-soak`: chaos, scale, shutdown, download and generation runs against a real
//! `yail-server` process, on loopback only, each bounded in time.
//!
//! ```text
//! yail-soak chaos --seconds 600          well-behaved clients stream while others misbehave
//! yail-soak scale --sessions 10000       many concurrent sessions, 10 pictures each
//! yail-soak shutdown --clients 200       SIGTERM while clients stream
//! yail-soak downloads --sessions 128     showurl sessions of a 20 MB body: the server's memory
//! yail-soak generations --seconds 60     20 addresses of one IPv6 /64 loop `gen` (needs root)
//! ```
//!
//! The server binary is the `yail-server` next to this one (build both:
//! `cargo build --release -p yail-server -p yail-tests`), or `--server PATH`.
//! It serves `assets/photos`. Clients connect from addresses spread over
//! 127.0.0.0/8, as real Ataris come from distinct homes. The run exits
//! non-zero if any check fails; the summary goes to standard output and
//! the server's log to a file named in it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use yail_proto::client::ERROR_PACKETS_COMMAND;
use yail_proto::{DecodeError, GfxMode, Packet};

/// The largest read the Atari client makes.
const CHUNK: usize = 4096;
/// The text of the server's refusal when it is full.
const BUSY: &str = "server busy";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = Options::parse(&args)?;
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let passed = runtime.block_on(async {
        match options.run {
            Run::Chaos => chaos(&options).await,
            Run::Scale => scale(&options).await,
            Run::Shutdown => shutdown(&options).await,
            Run::Downloads => downloads(&options).await,
            Run::Generations => generations(&options).await,
        }
    })?;
    if !passed {
        bail!("checks failed (see above)");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Chaos,
    Scale,
    Shutdown,
    Downloads,
    Generations,
}

#[derive(Debug, Clone)]
struct Options {
    run: Run,
    server: PathBuf,
    seconds: u64,
    sessions: usize,
    pictures: usize,
    clients: usize,
    /// Source addresses the download run's sessions come from.
    addresses: usize,
    /// Size of the download run's body, in bytes.
    body_bytes: usize,
    log: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let run = match args.first().map(String::as_str) {
            Some("chaos") => Run::Chaos,
            Some("scale") => Run::Scale,
            Some("shutdown") => Run::Shutdown,
            Some("downloads") => Run::Downloads,
            Some("generations") => Run::Generations,
            _ => bail!(
                "usage: yail-soak chaos [--seconds N] | scale [--sessions N] [--pictures N] | shutdown [--clients N] | downloads [--sessions N] [--addresses N] [--body-mb N] | generations [--seconds N] [--addresses N]  [--server PATH] [--log PATH]"
            ),
        };
        let here = std::env::current_exe().context("where this program is")?;
        let mut options = Options {
            run,
            server: here.with_file_name("yail-server"),
            seconds: 60,
            sessions: if run == Run::Downloads { 128 } else { 10_000 },
            pictures: 10,
            clients: 200,
            addresses: if run == Run::Generations { 20 } else { 16 },
            body_bytes: 19_900_000,
            log: std::env::temp_dir().join(format!("yail-soak-{}.log", std::process::id())),
        };
        let mut rest = args[1..].iter();
        while let Some(flag) = rest.next() {
            let value = rest
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .with_context(|| format!("{flag}: not a number: {value}"))
            };
            match flag.as_str() {
                "--server" => options.server = PathBuf::from(value),
                "--log" => options.log = PathBuf::from(value),
                "--seconds" => options.seconds = number()?.clamp(1, 24 * 3600),
                "--sessions" => options.sessions = number()?.clamp(1, 60_000) as usize,
                "--pictures" => options.pictures = number()?.clamp(1, 1000) as usize,
                "--clients" => options.clients = number()?.clamp(1, 10_000) as usize,
                "--addresses" => options.addresses = number()?.clamp(1, 10_000) as usize,
                "--body-mb" => {
                    // Just under the server's download limit (20 MB by default).
                    options.body_bytes = (number()?.clamp(1, 1000) * 1_000_000 - 100_000) as usize;
                }
                other => bail!("unknown option {other}"),
            }
        }
        Ok(options)
    }
}

/// Lifts the soft open-file limit to the hard one; the server, started
/// from here, inherits it.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as above.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    limit.rlim_cur
}

// -- The server process ----------------------------------------------------

struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    async fn start(options: &Options, extra: &[String]) -> anyhow::Result<Server> {
        Server::start_on(options, IpAddr::V4(Ipv4Addr::LOCALHOST), extra).await
    }

    /// Starts the server listening on `bind` (a loopback address).
    async fn start_on(options: &Options, bind: IpAddr, extra: &[String]) -> anyhow::Result<Server> {
        let port = {
            let probe = std::net::TcpListener::bind(SocketAddr::new(bind, 0))?;
            probe.local_addr()?.port()
        };
        let photos = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos");
        let log = std::fs::File::create(&options.log)
            .with_context(|| format!("create {}", options.log.display()))?;
        let child = Command::new(&options.server)
            .args([
                "--bind",
                &bind.to_string(),
                "--port",
                &port.to_string(),
                "--no-admin",
            ])
            .arg("--paths")
            .arg(&photos)
            .args(extra)
            .env("YAIL_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", options.server.display()))?;
        let addr = SocketAddr::new(bind, port);
        let mut server = Server {
            child,
            addr,
            log: options.log.clone(),
        };
        for _ in 0..200 {
            if TcpStream::connect(addr).await.is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the server exited at start ({status}); log: {}",
                    server.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server did not listen within 10 s")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Open file descriptors.
    fn fds(&self) -> u64 {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count() as u64)
            .unwrap_or(0)
    }

    /// Sends SIGTERM and waits up to `wait` for the exit.
    async fn terminate(
        mut self,
        wait: Duration,
    ) -> anyhow::Result<(Option<ExitStatus>, Duration, String)> {
        let started = Instant::now();
        // SAFETY: kill only sends a signal to our own child process.
        unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGTERM) };
        let mut status = None;
        while started.elapsed() < wait {
            if let Some(s) = self.child.try_wait()? {
                status = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = started.elapsed();
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        Ok((status, took, log))
    }
}

// -- Clients ---------------------------------------------------------------

/// A client source address for number `i`: 127.1.0.1 onwards, never
/// 127.0.0.1 itself, 254 hosts to a /24.
fn source(i: usize) -> Ipv4Addr {
    let host = (i % 254 + 1) as u8;
    let net = i / 254;
    Ipv4Addr::new(127, 1 + (net / 256 % 250) as u8, (net % 256) as u8, host)
}

async fn connect_from(i: usize, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source(i), 0)))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// [`connect_from`], then `errors packets`: the soak tells pictures from
/// errors, which the server would otherwise draw as pictures in most modes.
async fn connect_counting_errors(i: usize, server: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = connect_from(i, server).await?;
    stream.write_all(ERROR_PACKETS_COMMAND).await?;
    Ok(stream)
}

/// What reading one packet gave.
#[derive(Debug)]
enum Reply {
    Packet(Packet),
    /// Bytes that are not a packet.
    Invalid,
    /// The connection ended after this many bytes of a packet.
    Truncated(usize),
    TimedOut,
    Failed(std::io::Error),
}

/// Reads one packet the way the Atari does, in chunks of at most 4 KiB.
async fn read_packet(stream: &mut TcpStream, buffer: &mut Vec<u8>, timeout: Duration) -> Reply {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut chunk = [0u8; CHUNK];
    loop {
        match Packet::parse(buffer) {
            Ok((packet, used)) => {
                buffer.drain(..used);
                return Reply::Packet(packet);
            }
            Err(DecodeError::Incomplete { .. }) => {}
            Err(_) => return Reply::Invalid,
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Reply::TimedOut,
            Ok(Ok(0)) => return Reply::Truncated(buffer.len()),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Reply::Failed(e),
        }
    }
}

/// Whether `packet` is a correct answer to a request in `mode`.
fn valid_image(packet: &Packet, mode: GfxMode) -> bool {
    match mode.geometry() {
        Some(geometry) => {
            packet.mode() == mode
                && packet.image_data().map(<[u8]>::len) == Some(geometry.payload_len())
        }
        // "random": whatever was picked must be a mode with its full payload.
        None => packet
            .mode()
            .geometry()
            .is_some_and(|g| packet.image_data().map(<[u8]>::len) == Some(g.payload_len())),
    }
}

/// Counters shared by the client tasks.
#[derive(Default)]
struct Tally {
    images: AtomicU64,
    busy: AtomicU64,
    error_packets: AtomicU64,
    invalid: AtomicU64,
    truncated: AtomicU64,
    timed_out: AtomicU64,
    io_errors: AtomicU64,
    connect_failures: AtomicU64,
    garbage_sent: AtomicU64,
    silent_closed_by_server: AtomicU64,
    silent_left_open: AtomicU64,
    non_readers: AtomicU64,
    mid_packet_drops: AtomicU64,
    flood_served: AtomicU64,
    flood_refused: AtomicU64,
    /// Flood connections the server closed (to make room for a later one).
    flood_closed: AtomicU64,
    /// Floods that held more connections open than the server's limit.
    flood_over_limit: AtomicU64,
    /// Well-behaved sessions the server closed before it took a command
    /// (the end of the stream came before any byte of a reply), by the
    /// client's address: only eviction of an idle session may do that.
    closed_while_idle: std::sync::Mutex<Vec<Ipv4Addr>>,
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Tally {
    /// Records a well-behaved client's reply; `true` if it was an image.
    fn record(&self, reply: &Reply, mode: GfxMode) -> bool {
        match reply {
            Reply::Packet(p) if p.error_message().is_some_and(|m| m.contains(BUSY)) => {
                add(&self.busy)
            }
            Reply::Packet(p) if p.error_message().is_some() => add(&self.error_packets),
            Reply::Packet(p) if valid_image(p, mode) => {
                add(&self.images);
                return true;
            }
            Reply::Packet(_) | Reply::Invalid => add(&self.invalid),
            Reply::Truncated(_) => add(&self.truncated),
            Reply::TimedOut => add(&self.timed_out),
            Reply::Failed(_) => add(&self.io_errors),
        }
        false
    }

    /// Replies a well-behaved client must never get.
    fn bad_replies(&self) -> u64 {
        get(&self.invalid) + get(&self.truncated) + get(&self.timed_out) + get(&self.io_errors)
    }
}

const MODES: [GfxMode; 5] = [
    GfxMode::Gr8,
    GfxMode::Gr9,
    GfxMode::Gr15,
    GfxMode::VbxeLegacy,
    GfxMode::Random,
];

/// One well-behaved session: `gfx N files`, then `next` a few times
/// (`think` apart, as a person looks at each picture), `quit`.
async fn good_session(
    i: usize,
    server: SocketAddr,
    tally: &Tally,
    pictures: usize,
    think: Duration,
) {
    let timeout = Duration::from_secs(60);
    let Ok(mut stream) = connect_counting_errors(i, server).await else {
        add(&tally.connect_failures);
        return;
    };
    let mode = MODES[i % MODES.len()];
    let mut buffer = Vec::new();
    for n in 0..pictures {
        let command = if n == 0 {
            format!("gfx {} files", u8::from(mode))
        } else {
            String::from("next")
        };
        if stream.write_all(command.as_bytes()).await.is_err() {
            add(&tally.io_errors);
            return;
        }
        let reply = read_packet(&mut stream, &mut buffer, timeout).await;
        if matches!(reply, Reply::Truncated(0)) {
            // The stream ended cleanly before any reply: the server closed
            // the idle session before our command arrived (a command it had
            // received and dropped would have ended it with a reset). The
            // Atari connects again; the log must show this eviction.
            tally
                .closed_while_idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(source(i));
            return;
        }
        if !tally.record(&reply, mode) {
            return;
        }
        tokio::time::sleep(think).await;
    }
    let _ = stream.write_all(b"quit").await;
}

/// The addresses whose sessions the server's log says it closed to make
/// room (`server full: closing the longest-idle session address=...`).
fn evicted_addresses(log: &str) -> std::collections::HashSet<String> {
    log.lines()
        .filter(|line| line.contains("server full: closing"))
        .map(without_colours)
        .filter_map(|line| {
            let at = line.find("address=")? + "address=".len();
            let rest = &line[at..];
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        })
        .collect()
}

/// `line` without the terminal colour codes (`ESC [ ... m`) of the log.
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// -- chaos -----------------------------------------------------------------

/// Random bytes, long lines, unterminated quotes, binary, HTTP and TLS.
fn garbage() -> Vec<u8> {
    match fastrand::u8(0..6) {
        0 => (0..fastrand::usize(1..4000))
            .map(|_| fastrand::u8(..))
            .collect(),
        1 => format!("search \"{}", "x".repeat(fastrand::usize(1..5000))).into_bytes(),
        2 => format!("gfx {} files", fastrand::u32(..)).into_bytes(),
        3 => b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
        4 => vec![
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03,
        ],
        _ => "next".repeat(fastrand::usize(1..500)).into_bytes(),
    }
}

async fn chaos(options: &Options) -> anyhow::Result<bool> {
    const MAX_CONNECTIONS: usize = 64;
    const IDLE_SECS: u64 = 5;
    let server = Server::start(
        options,
        &[
            "--max-connections".into(),
            MAX_CONNECTIONS.to_string(),
            "--idle-timeout".into(),
            IDLE_SECS.to_string(),
            "--request-timeout".into(),
            "20".into(),
            "--cache-mb".into(),
            "16".into(),
        ],
    )
    .await?;
    let addr = server.addr;
    let tally = Arc::new(Tally::default());
    // Warm up (every mode once, the catalogue read), then take the idle figures.
    for i in 0..MODES.len() {
        good_session(i, addr, &tally, 2, Duration::ZERO).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss, idle_fds) = (server.rss_kib(), server.fds());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    let mut spawn_role = |role: usize, count: usize| {
        for k in 0..count {
            let tally = Arc::clone(&tally);
            tasks.spawn(async move {
                let mut i = role * 100_000 + k * 1000;
                while Instant::now() < deadline {
                    i += 1;
                    match role {
                        0 => good_session(i, addr, &tally, 5, Duration::from_millis(20)).await,
                        1 => garbage_session(i, addr, &tally).await,
                        2 => silent_session(i, addr, &tally, IDLE_SECS).await,
                        3 => non_reader(i, addr, &tally).await,
                        4 => mid_packet_drop(i, addr, &tally).await,
                        _ => flood(i, addr, &tally, MAX_CONNECTIONS, 40).await,
                    }
                    // Leave the shared machine some breath between sessions.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
        }
    };
    spawn_role(0, 6);
    spawn_role(1, 2);
    spawn_role(2, 2);
    spawn_role(3, 2);
    spawn_role(4, 2);
    spawn_role(5, 1);
    while tasks.join_next().await.is_some() {}
    let load_secs = started.elapsed().as_secs_f64();
    // Give the server the idle timeout to close what the clients left.
    let settle = Instant::now();
    let mut fds = server.fds();
    while fds > idle_fds + 2 && settle.elapsed() < Duration::from_secs(IDLE_SECS * 3) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        fds = server.fds();
    }
    let rss = server.rss_kib();
    let peak_rss = peak_rss_kib(server.pid());
    let (status, took, log) = server.terminate(Duration::from_secs(15)).await?;
    let panics = log.matches("panicked").count();
    let served = get(&tally.images);
    let evicted = evicted_addresses(&log);
    let closed_while_idle = tally
        .closed_while_idle
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let unexplained = closed_while_idle
        .iter()
        .filter(|a| !evicted.contains(&a.to_string()))
        .count();

    println!(
        "chaos run: {load_secs:.0} s of load, server log {}",
        options.log.display()
    );
    println!(
        "  well-behaved: {served} images, {} busy refusals, {} error packets, {} bad replies (invalid {}, truncated {}, timed out {}, i/o {}), {} failed connects",
        get(&tally.busy),
        get(&tally.error_packets),
        tally.bad_replies(),
        get(&tally.invalid),
        get(&tally.truncated),
        get(&tally.timed_out),
        get(&tally.io_errors),
        get(&tally.connect_failures)
    );
    println!(
        "  full server: {} sessions closed to make room; {} well-behaved sessions among them, closed while idle ({unexplained} not in the log)",
        log.matches("server full: closing").count(),
        closed_while_idle.len(),
    );
    println!(
        "  hostile: {} garbage sessions, {} silent (closed by server {}, left open {}), {} non-readers, {} mid-packet drops, flood {} served / {} closed to make room / {} refused ({} floods over the limit)",
        get(&tally.garbage_sent),
        get(&tally.silent_closed_by_server) + get(&tally.silent_left_open),
        get(&tally.silent_closed_by_server),
        get(&tally.silent_left_open),
        get(&tally.non_readers),
        get(&tally.mid_packet_drops),
        get(&tally.flood_served),
        get(&tally.flood_closed),
        get(&tally.flood_refused),
        get(&tally.flood_over_limit)
    );
    println!(
        "  server: idle {idle_rss} KiB / {idle_fds} fds; after {rss} KiB / {fds} fds; peak {peak_rss} KiB"
    );
    println!(
        "  SIGTERM: {status:?} after {:.2} s; {panics} panics in the log",
        took.as_secs_f64()
    );

    let mut passed = true;
    let mut check = |ok: bool, what: &str| {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    };
    check(served > 0, "well-behaved clients received images");
    check(
        tally.bad_replies() == 0,
        "well-behaved clients received only whole, valid packets",
    );
    check(
        unexplained == 0,
        "well-behaved sessions were closed only by eviction, while idle",
    );
    check(
        get(&tally.flood_over_limit) == 0
            && get(&tally.flood_refused) + get(&tally.flood_closed) > 0,
        "a flood past --max-connections is held to it (refused, or idle sessions closed)",
    );
    check(
        get(&tally.silent_left_open) == 0,
        "silent connections are closed by the idle timeout",
    );
    check(panics == 0, "no panic in the server log");
    check(
        fds <= idle_fds + 2,
        "open descriptors back at the idle level",
    );
    // The cache (16 MiB here) fills during the run; allow it and as much again.
    check(
        rss <= idle_rss + 32 * 1024,
        "resident memory back near the idle level (+ cache)",
    );
    check(status.is_some_and(|s| s.success()), "exit 0 after SIGTERM");
    Ok(passed)
}

async fn garbage_session(i: usize, addr: SocketAddr, tally: &Tally) {
    let Ok(mut stream) = connect_from(i, addr).await else {
        return;
    };
    add(&tally.garbage_sent);
    for _ in 0..fastrand::usize(1..4) {
        if stream.write_all(&garbage()).await.is_err() {
            return;
        }
    }
    // Read whatever comes back for a moment; the server may close.
    let mut sink = [0u8; CHUNK];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn silent_session(i: usize, addr: SocketAddr, tally: &Tally, idle_secs: u64) {
    let Ok(mut stream) = connect_from(i, addr).await else {
        return;
    };
    let mut sink = [0u8; CHUNK];
    // The idle timeout must close it; the first bytes may be a busy packet.
    let closed = tokio::time::timeout(Duration::from_secs(idle_secs + 3), async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok();
    add(if closed {
        &tally.silent_closed_by_server
    } else {
        &tally.silent_left_open
    });
}

async fn non_reader(i: usize, addr: SocketAddr, tally: &Tally) {
    let Ok(mut stream) = connect_from(i, addr).await else {
        return;
    };
    add(&tally.non_readers);
    let _ = stream.write_all(b"gfx 17 files").await;
    for _ in 0..30 {
        if tokio::time::timeout(Duration::from_millis(100), stream.write_all(b"next"))
            .await
            .is_err()
        {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
}

async fn mid_packet_drop(i: usize, addr: SocketAddr, tally: &Tally) {
    let Ok(mut stream) = connect_from(i, addr).await else {
        return;
    };
    let _ = stream.write_all(b"gfx 17 files").await;
    let mut part = vec![0u8; fastrand::usize(1..5000)];
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut part)).await;
    add(&tally.mid_packet_drops);
}

/// Opens `limit + extra` connections at once, then asks each for a reply
/// in turn: one past the limit must be refused ("server busy") or make
/// room by closing an idle session (maybe one of the flood's own), so
/// never more than `limit` stay open.
async fn flood(i: usize, addr: SocketAddr, tally: &Tally, limit: usize, extra: usize) {
    let mut streams = Vec::new();
    let mut open = 0;
    for k in 0..limit + extra {
        // Each says nothing until all are open.
        if let Ok(stream) = connect_from(i * 1000 + k, addr).await {
            streams.push(stream);
        }
    }
    let mut buffer = Vec::new();
    for stream in &mut streams {
        // `errors packets` first, so that a refusal is told as an error
        // packet rather than drawn in Graphics 8.
        let _ = stream.write_all(ERROR_PACKETS_COMMAND).await;
        let _ = stream.write_all(b"gfx 2 ").await;
        buffer.clear();
        match read_packet(stream, &mut buffer, Duration::from_millis(200)).await {
            Reply::Packet(p) if p.error_message().is_some_and(|m| m.contains(BUSY)) => {
                add(&tally.flood_refused)
            }
            // Closed to make room for a later connection.
            Reply::Truncated(0) | Reply::Failed(_) => add(&tally.flood_closed),
            // Accepted sessions wait for a request after `gfx`: no reply.
            _ => {
                add(&tally.flood_served);
                open += 1;
            }
        }
    }
    if open > limit {
        add(&tally.flood_over_limit);
    }
    drop(streams);
    tokio::time::sleep(Duration::from_secs(5)).await;
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// -- scale -----------------------------------------------------------------

/// How long after the clients have gone the server's memory is read again.
const SETTLE: Duration = Duration::from_secs(15);
/// What the server may keep after a burst, above its resident size at
/// start: 64 MiB, plus the packet cache (64 MiB by default).
const MEMORY_GOAL_KIB: u64 = (64 + 64) << 10;

/// The server's resident size once the clients have gone: as soon as its
/// descriptors are back to `start_fds` (at most a minute), and [`SETTLE`]
/// later.
async fn rss_after_leaving(server: &Server, start_fds: u64) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.fds() > start_fds && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let at_once = server.rss_kib();
    tokio::time::sleep(SETTLE).await;
    (at_once, server.rss_kib())
}

async fn scale(options: &Options) -> anyhow::Result<bool> {
    let sessions = options.sessions;
    let needed = 2 * sessions as u64 + 200;
    if open_file_limit() < needed / 2 {
        bail!(
            "open-file limit {} is too low for {sessions} sessions",
            open_file_limit()
        );
    }
    let server = Server::start(
        options,
        &[
            "--max-connections".into(),
            (sessions + 100).to_string(),
            "--idle-timeout".into(),
            "900".into(),
        ],
    )
    .await?;
    let addr = server.addr;
    let (start_rss, start_fds) = (server.rss_kib(), server.fds());
    let tally = Arc::new(Tally::default());
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(
        sessions * options.pictures,
    )));
    let pictures = options.pictures;
    let started = Instant::now();
    // Sessions stay connected until all have had their pictures, so the
    // idle figure is taken with every one of them open.
    let all_done = Arc::new(tokio::sync::Barrier::new(sessions + 1));
    let release = tokio::sync::watch::channel(false);
    let connect_limit = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..sessions {
        let (tally, latencies, all_done) = (
            Arc::clone(&tally),
            Arc::clone(&latencies),
            Arc::clone(&all_done),
        );
        let mut released = release.1.clone();
        let connect_limit = Arc::clone(&connect_limit);
        tasks.spawn(async move {
            let stream = {
                let _permit = connect_limit.acquire().await;
                connect_counting_errors(i, addr).await
            };
            let mut stream = match stream {
                Ok(stream) => Some(stream),
                Err(_) => {
                    add(&tally.connect_failures);
                    None
                }
            };
            if let Some(stream) = stream.as_mut() {
                let mode = GfxMode::Gr8;
                let mut buffer = Vec::new();
                for n in 0..pictures {
                    let command: &[u8] = if n == 0 { b"gfx 2 files" } else { b"next" };
                    let asked = Instant::now();
                    if stream.write_all(command).await.is_err() {
                        add(&tally.io_errors);
                        break;
                    }
                    let reply = read_packet(stream, &mut buffer, Duration::from_secs(300)).await;
                    if n > 0
                        && let Ok(mut latencies) = latencies.lock()
                    {
                        latencies.push(asked.elapsed());
                    }
                    if !tally.record(&reply, mode) {
                        break;
                    }
                }
            }
            all_done.wait().await;
            let _ = released.changed().await;
            drop(stream);
        });
    }
    all_done.wait().await;
    let busy_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle_rss, idle_fds, connections) = (
        server.rss_kib(),
        server.fds(),
        server.fds().saturating_sub(start_fds),
    );
    let _ = release.0.send(true);
    while tasks.join_next().await.is_some() {}
    let peak = peak_rss_kib(server.pid());
    let (left_rss, settled_rss) = rss_after_leaving(&server, start_fds).await;
    let (status, took, log) = server.terminate(Duration::from_secs(15)).await?;
    let panics = log.matches("panicked").count();

    let mut latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let expected = (sessions * pictures) as u64;
    let images = get(&tally.images);
    println!(
        "scale run: {sessions} sessions x {pictures} pictures (GR.8, files), server log {}",
        options.log.display()
    );
    println!(
        "  {images} of {expected} images in {busy_secs:.1} s; failures: busy {}, error packets {}, bad replies {}, failed connects {}",
        get(&tally.busy),
        get(&tally.error_packets),
        tally.bad_replies(),
        get(&tally.connect_failures)
    );
    println!(
        "  next: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        latencies.len()
    );
    println!(
        "  server RSS: {start_rss} KiB at start; {idle_rss} KiB with {connections} idle connections open ({idle_fds} fds); peak {peak} KiB"
    );
    println!(
        "  after they left: {left_rss} KiB at once, {settled_rss} KiB {} s later",
        SETTLE.as_secs()
    );
    println!(
        "  SIGTERM: {status:?} after {:.2} s; {panics} panics in the log",
        took.as_secs_f64()
    );
    let mut passed = true;
    let mut check = |ok: bool, what: &str| {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    };
    check(images == expected, "every session received every picture");
    check(
        settled_rss <= start_rss + MEMORY_GOAL_KIB,
        "RSS after they left within 64 MiB + the 64 MiB packet cache of the start",
    );
    check(panics == 0, "no panic in the server log");
    check(status.is_some_and(|s| s.success()), "exit 0 after SIGTERM");
    Ok(passed)
}

// -- shutdown --------------------------------------------------------------

/// `clients` sessions stream pictures; SIGTERM arrives mid-stream. The
/// server must exit 0 within its grace period (10 s) plus a margin, and no
/// client may have received part of a packet: each stream ends on a packet
/// boundary.
async fn shutdown(options: &Options) -> anyhow::Result<bool> {
    let clients = options.clients;
    let server = Server::start(
        options,
        &["--max-connections".into(), (clients + 50).to_string()],
    )
    .await?;
    let addr = server.addr;
    let whole = Arc::new(AtomicU64::new(0));
    let cut = Arc::new(AtomicU64::new(0));
    let invalid = Arc::new(AtomicU64::new(0));
    let started_streaming = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..clients {
        let (whole, cut, invalid, started) = (
            Arc::clone(&whole),
            Arc::clone(&cut),
            Arc::clone(&invalid),
            Arc::clone(&started_streaming),
        );
        tasks.spawn(async move {
            let Ok(mut stream) = connect_counting_errors(i, addr).await else {
                invalid.fetch_add(1, Ordering::Relaxed);
                started.wait().await;
                return;
            };
            let mode = MODES[i % 3];
            let mut buffer = Vec::new();
            let mut first = true;
            loop {
                let command = if first {
                    format!("gfx {} files", u8::from(mode))
                } else {
                    "next".into()
                };
                if stream.write_all(command.as_bytes()).await.is_err() {
                    break;
                }
                let reply = read_packet(&mut stream, &mut buffer, Duration::from_secs(60)).await;
                if first {
                    started.wait().await;
                    first = false;
                }
                match reply {
                    Reply::Packet(p) if valid_image(&p, mode) || p.error_message().is_some() => {
                        whole.fetch_add(1, Ordering::Relaxed);
                    }
                    // The server closed between packets: the clean end.
                    Reply::Truncated(0) => break,
                    Reply::Failed(e)
                        if e.kind() == std::io::ErrorKind::ConnectionReset && buffer.is_empty() =>
                    {
                        break;
                    }
                    Reply::Truncated(_) | Reply::Failed(_) => {
                        cut.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    _ => {
                        invalid.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
        });
    }
    started_streaming.wait().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = whole.load(Ordering::Relaxed);
    let (status, took, log) = server.terminate(Duration::from_secs(15)).await?;
    let clients_ended = tokio::time::timeout(Duration::from_secs(20), async {
        while tasks.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    let panics = log.matches("panicked").count();
    println!(
        "shutdown run: {clients} clients streaming, {before} packets before SIGTERM, {} in all; server log {}",
        whole.load(Ordering::Relaxed),
        options.log.display()
    );
    println!(
        "  SIGTERM: {status:?} after {:.2} s; {} clients cut mid-packet, {} invalid replies, {panics} panics",
        took.as_secs_f64(),
        cut.load(Ordering::Relaxed),
        invalid.load(Ordering::Relaxed)
    );
    let mut passed = true;
    let mut check = |ok: bool, what: &str| {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    };
    check(status.is_some_and(|s| s.success()), "exit 0");
    check(
        took <= Duration::from_secs(12),
        "within the 10 s grace period (+2 s)",
    );
    check(clients_ended, "every client saw its connection end");
    check(
        cut.load(Ordering::Relaxed) == 0,
        "no client received a truncated packet",
    );
    check(invalid.load(Ordering::Relaxed) == 0, "no invalid packet");
    check(panics == 0, "no panic in the server log");
    Ok(passed)
}

// -- downloads -------------------------------------------------------------

/// A body that starts like a 4000x3000 RGB PNG and goes on with `len`
/// bytes in all of image data no decoder accepts: the server downloads it
/// whole, reserves its decoded size and fails to convert it.
fn picture_like_body(len: usize) -> Vec<u8> {
    let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&4000u32.to_be_bytes());
    header.extend_from_slice(&3000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    body.extend_from_slice(&13u32.to_be_bytes());
    body.extend_from_slice(b"IHDR");
    body.extend_from_slice(&header);
    body.extend_from_slice(&[0; 4]); // a CRC nobody checks before the data
    let data = len.saturating_sub(body.len() + 8);
    body.extend_from_slice(&(data as u32).to_be_bytes());
    body.extend_from_slice(b"IDAT");
    body.extend((0..data).map(|_| fastrand::u8(..)));
    body
}

/// `sessions` sessions from `addresses` source addresses each ask for
/// `showurl` of a picture-like body just under the download limit (a URL
/// of its own, so nothing is shared), and then `next`; they stay connected
/// until all have both answers, then leave. Reports the server's resident
/// size at start, with the sessions connected, its peak, and after they
/// left.
async fn downloads(options: &Options) -> anyhow::Result<bool> {
    use yail_tests::fake_http::{FakeHttp, Reply as HttpReply};
    let (sessions, addresses) = (options.sessions, options.addresses);
    let body = picture_like_body(options.body_bytes);
    let host = FakeHttp::builder()
        .route("/big.png", HttpReply::ok("image/png", body))
        .start()
        .await;
    let server = Server::start(
        options,
        &[
            "--allow-url-net".into(),
            "127.0.0.0/8".into(),
            "--max-connections".into(),
            (sessions + 16).to_string(),
            "--max-per-ip".into(),
            sessions.div_ceil(addresses).max(1).to_string(),
            "--request-timeout".into(),
            "300".into(),
        ],
    )
    .await?;
    let addr = server.addr;
    let (start_rss, start_fds) = (server.rss_kib(), server.fds());
    let tally = Arc::new(Tally::default());
    let all_done = Arc::new(tokio::sync::Barrier::new(sessions + 1));
    let release = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..sessions {
        let (tally, all_done) = (Arc::clone(&tally), Arc::clone(&all_done));
        let url = host.url(&format!("/big.png?session={i}"));
        let mut released = release.1.clone();
        tasks.spawn(async move {
            let stream = connect_counting_errors(i % addresses, addr).await;
            let mut stream = stream.inspect_err(|_| add(&tally.connect_failures)).ok();
            if let Some(stream) = stream.as_mut() {
                let mut buffer = Vec::new();
                for command in [format!("gfx 2 showurl {url}"), String::from("next")] {
                    if stream.write_all(command.as_bytes()).await.is_err() {
                        add(&tally.io_errors);
                        break;
                    }
                    let reply = read_packet(stream, &mut buffer, Duration::from_secs(300)).await;
                    tally.record(&reply, GfxMode::Gr8);
                }
            }
            all_done.wait().await;
            let _ = released.changed().await;
            drop(stream);
        });
    }
    all_done.wait().await;
    let busy_secs = started.elapsed().as_secs_f64();
    let held_rss = server.rss_kib();
    tokio::time::sleep(SETTLE).await;
    let held_settled_rss = server.rss_kib();
    let _ = release.0.send(true);
    while tasks.join_next().await.is_some() {}
    let peak = peak_rss_kib(server.pid());
    let (left_rss, settled_rss) = rss_after_leaving(&server, start_fds).await;
    let downloads = host.hits("/big.png");
    let (status, _, log) = server.terminate(Duration::from_secs(15)).await?;
    let panics = log.matches("panicked").count();

    let answers = get(&tally.images) + get(&tally.error_packets) + get(&tally.busy);
    println!(
        "downloads run: {sessions} showurl sessions from {addresses} addresses, a {:.1} MB body each, server log {}",
        options.body_bytes as f64 / 1e6,
        options.log.display()
    );
    println!(
        "  {answers} of {} answers in {busy_secs:.1} s ({} pictures, {} error packets, {} busy); {downloads} downloads; bad replies {}, failed connects {}",
        2 * sessions,
        get(&tally.images),
        get(&tally.error_packets),
        get(&tally.busy),
        tally.bad_replies(),
        get(&tally.connect_failures)
    );
    println!(
        "  server RSS: {start_rss} KiB at start; with the sessions connected {held_rss} KiB at once, {held_settled_rss} KiB {} s later; peak {peak} KiB",
        SETTLE.as_secs()
    );
    println!(
        "  after they left: {left_rss} KiB at once, {settled_rss} KiB {} s later",
        SETTLE.as_secs()
    );
    let mut passed = true;
    let mut check = |ok: bool, what: &str| {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    };
    check(answers == 2 * sessions as u64, "every command was answered");
    check(panics == 0, "no panic in the server log");
    check(status.is_some_and(|s| s.success()), "exit 0 after SIGTERM");
    Ok(passed)
}

// -- generations -----------------------------------------------------------

/// The network the generation run's clients come from: one /64 of the
/// documentation prefix, on `lo`.
fn generation_address(host: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0x31, 0x7, 0, 0, 0, host)
}

/// A fake OpenAI images endpoint on loopback: every generation is answered
/// with `camera.png`.
async fn fake_openai() -> anyhow::Result<yail_tests::fake_http::FakeHttp> {
    use base64::Engine;
    use yail_tests::fake_http::{FakeHttp, Reply as HttpReply};
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos/camera.png");
    let picture = std::fs::read(&photo).with_context(|| format!("read {}", photo.display()))?;
    let data = base64::engine::general_purpose::STANDARD.encode(picture);
    // The answer of POST /v1/images/generations: `created` and a `data`
    // list of images; GPT image models always answer base64 (`b64_json`),
    // never a URL (openai-python, src/openai/types/images_response.py and
    // the `response_format` docstring of image_generate_params.py).
    let body = serde_json::json!({ "created": 1_790_000_000u32, "data": [{ "b64_json": data }] });
    let body = serde_json::to_vec(&body)?;
    Ok(FakeHttp::builder()
        .route(
            "/v1/images/generations",
            HttpReply::handler(move |request| {
                // The endpoint is POST only, with a JSON body.
                if request.method == "POST" {
                    HttpReply::json(body.clone())
                } else {
                    HttpReply::status(405, "text/plain", "method not allowed")
                }
            }),
        )
        .start()
        .await)
}

/// `addresses` clients of one IPv6 /64 (added to `lo` for the run, so it
/// needs root) each ask for `gen` again as soon as they are answered, for
/// `seconds`, against a server with the default quota. Reports how many
/// generations reached the fake OpenAI, per minute.
async fn generations(options: &Options) -> anyhow::Result<bool> {
    let hosts = options.addresses.clamp(1, 1000) as u16;
    let _addresses =
        yail_tests::test_net::LoopbackAddresses::add((1..=hosts + 1).map(generation_address))
            .map_err(|why| anyhow::anyhow!("cannot add the test addresses: {why}"))?;
    let openai = fake_openai().await?;
    let server = Server::start_on(
        options,
        IpAddr::V6(generation_address(1)),
        &[
            "--openai-api-key".into(),
            "sk-soak-0123456789abcdef".into(),
            "--openai-base-url".into(),
            openai.url("/v1"),
            "--max-per-ip".into(),
            (hosts + 8).to_string(),
        ],
    )
    .await?;
    let addr = server.addr;
    let tally = Arc::new(Tally::default());
    let quota_refusals = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for host in 2..=hosts + 1 {
        let (tally, quota_refusals) = (Arc::clone(&tally), Arc::clone(&quota_refusals));
        tasks.spawn(async move {
            let source = SocketAddr::new(IpAddr::V6(generation_address(host)), 0);
            let socket = TcpSocket::new_v6()?;
            socket.bind(source)?;
            let mut stream = socket.connect(addr).await?;
            stream.write_all(ERROR_PACKETS_COMMAND).await?;
            let mut buffer = Vec::new();
            while Instant::now() < deadline {
                stream.write_all(b"gfx 2 gen \"a red barn\"").await?;
                let reply = read_packet(&mut stream, &mut buffer, Duration::from_secs(60)).await;
                if let Reply::Packet(packet) = &reply
                    && packet
                        .error_message()
                        .is_some_and(|m| m.contains("limit reached"))
                {
                    add(&quota_refusals);
                }
                tally.record(&reply, GfxMode::Gr8);
                // A refusal is an answer too: ask again at once.
                if !matches!(reply, Reply::Packet(_)) {
                    break;
                }
            }
            anyhow::Ok(())
        });
    }
    let mut failed_clients = 0;
    while let Some(done) = tasks.join_next().await {
        if !matches!(done, Ok(Ok(()))) {
            failed_clients += 1;
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let reached = openai.hits("/v1/images/generations");
    let (status, _, log) = server.terminate(Duration::from_secs(15)).await?;
    let panics = log.matches("panicked").count();
    println!(
        "generations run: {hosts} clients of 2001:db8:31:7::/64 looping gen for {:.1} min, server log {}",
        minutes,
        options.log.display()
    );
    println!(
        "  {} pictures, {} refused by the quota, {} other error packets; {reached} requests reached the API: {:.1} a minute",
        get(&tally.images),
        get(&quota_refusals),
        get(&tally.error_packets) - get(&quota_refusals),
        reached as f64 / minutes
    );
    let mut passed = true;
    let mut check = |ok: bool, what: &str| {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    };
    check(failed_clients == 0, "every client stayed connected");
    check(
        reached as f64 <= 6.0 * minutes.ceil(),
        "at most the quota (6 a minute) reached the API",
    );
    check(panics == 0, "no panic in the server log");
    check(status.is_some_and(|s| s.success()), "exit 0 after SIGTERM");
    Ok(passed)
}
