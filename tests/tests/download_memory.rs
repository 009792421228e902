//! What `showurl` sessions keep between requests, counted by the heap
//! itself: this test binary's allocator keeps a running total of the bytes
//! allocated and not yet freed, so the memory a server holds for its
//! connected sessions is read exactly, without the noise of the resident
//! size.
//!
//! A binary of its own: the count covers every thread of the process, so
//! no other test may run beside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use yail_proto::client::Client;
use yail_server::Config;
use yail_tests::fake_http::{FakeHttp, Reply};
use yail_tests::{TestServer, test_config};

/// The system allocator, counting the bytes in use.
struct Counting;

static IN_USE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; the
// counter is only arithmetic beside it.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is the system's.
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            IN_USE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { System.alloc_zeroed(layout) };
        if !block.is_null() {
            IN_USE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from this allocator, which is the system's.
        unsafe { System.dealloc(block, layout) };
        IN_USE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller's contract is the system's.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        if !moved.is_null() {
            IN_USE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn in_use_mb() -> f64 {
    IN_USE.load(Ordering::Relaxed) as f64 / 1e6
}

/// Sessions, and the size of the body each downloads.
const SESSIONS: u8 = 8;
const BODY_BYTES: usize = 8_000_000;

/// Bytes no decoder accepts, sent as a JPEG.
fn undecodable_body() -> Vec<u8> {
    let mut body = vec![0xff, 0xd8, 0xff, 0xe0];
    body.extend((body.len()..BODY_BYTES).map(|_| fastrand::u8(..)));
    body
}

/// An uncompressed 24-bit BMP of about the body size (a gradient): a
/// picture that converts, as large on the wire as in memory.
fn large_picture() -> Vec<u8> {
    const WIDTH: u32 = 1632;
    let row = WIDTH as usize * 3;
    let height = (BODY_BYTES / row) as u32;
    let pixels = row * height as usize;
    let mut body = Vec::with_capacity(54 + pixels);
    body.extend_from_slice(b"BM");
    body.extend_from_slice(&(54 + pixels as u32).to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&54u32.to_le_bytes());
    body.extend_from_slice(&40u32.to_le_bytes());
    body.extend_from_slice(&WIDTH.to_le_bytes());
    body.extend_from_slice(&height.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&24u16.to_le_bytes());
    body.extend_from_slice(&[0; 24]);
    for y in 0..height {
        for x in 0..WIDTH {
            body.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]);
        }
    }
    body
}

/// Found by the security review: each `showurl` session kept its
/// downloaded body (up to 20 MB) for `next`, even when its conversion
/// failed, so 128 sessions took the server's memory past 2.5 GB. Now a
/// session keeps the packet it sent: eight connected sessions, each having
/// downloaded 8 MB, hold less than one body between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showurl_sessions_keep_no_downloaded_body() {
    let host = FakeHttp::builder()
        .route("/broken.jpg", Reply::ok("image/jpeg", undecodable_body()))
        .route("/gradient.bmp", Reply::ok("image/jpeg", large_picture()))
        .start()
        .await;
    let config = Config {
        allowed_url_nets: vec!["127.0.0.0/8".parse().expect("a network")],
        request_timeout: Duration::from_secs(120),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    // One session first, so that what every session needs once (the
    // HTTP client's TLS roots, the decoders' tables) is counted before the
    // baseline.
    let mut warm_up = server.client().await;
    let _ = warm_up
        .request("showurl ".to_string() + &host.url("/gradient.bmp?warm-up"))
        .await;
    drop(warm_up);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = in_use_mb();

    let mut sessions = Vec::new();
    let (mut pictures, mut errors) = (0, 0);
    for i in 1..=SESSIONS {
        let source = SocketAddr::from(([127, 0, 35, i], 0));
        let mut atari = Client::connect_from(server.addr, source)
            .await
            .expect("connect");
        atari.set_timeout(Duration::from_secs(120));
        // Failures are counted by their error packets, not drawn pictures.
        atari.ask_for_error_packets().await.expect("errors packets");
        // A URL of its own, so no download or conversion is shared.
        let path = if i % 2 == 0 {
            "/gradient.bmp"
        } else {
            "/broken.jpg"
        };
        let url = host.url(&format!("{path}?session={i}"));
        for command in [format!("gfx 2 showurl {url}"), String::from("next")] {
            let packet = atari.request(command).await.expect("an answer");
            match packet.error_message() {
                None => pictures += 1,
                Some(message) => {
                    println!("session {i}: {message}");
                    errors += 1;
                }
            }
        }
        sessions.push(atari);
    }
    let held = in_use_mb() - before;
    println!(
        "{SESSIONS} showurl sessions of {} MB bodies, connected: {held:.1} MB more in use",
        BODY_BYTES / 1_000_000
    );
    assert_eq!((pictures, errors), (8, 8), "half convert, half cannot");
    assert!(
        held < BODY_BYTES as f64 / 1e6,
        "{held:.1} MB held by {SESSIONS} connected sessions"
    );
    // The sessions that got a picture answered `next` from its packet;
    // the others had nothing to keep and downloaded again.
    assert_eq!(host.hits("/gradient.bmp"), 1 + usize::from(SESSIONS / 2));
    assert_eq!(host.hits("/broken.jpg"), 2 * usize::from(SESSIONS / 2));
    drop(sessions);
}
