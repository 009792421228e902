//! `video` against fake cameras on 127.0.0.1: every reply is an 8800-byte
//! frame, because the current client's video loop reads nothing else.

use std::time::Duration;

use yail_proto::{GfxMode, Packet, PacketVersion};
use yail_server::Config;
use yail_tests::fake_http::{FakeHttp, Reply as HttpReply, Request as FakeRequest};
use yail_tests::{TestServer, photos_dir, test_config};

use crate::fake_api::{Fake, Reply, Request};

fn jpeg() -> Vec<u8> {
    std::fs::read(photos_dir().join("rocket.jpg")).unwrap()
}

fn png() -> Vec<u8> {
    std::fs::read(photos_dir().join("camera.png")).unwrap()
}

/// The packet is what the client's video loop reads: a version 1.1 frame
/// of 8800 bytes in `mode`.
fn assert_video_frame(packet: &Packet, mode: GfxMode, what: &str) {
    assert_eq!(packet.version(), PacketVersion::V1_1, "{what}: {packet:?}");
    assert_eq!(packet.mode(), mode, "{what}");
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800), "{what}");
}

fn lit_pixels(packet: &Packet) -> u32 {
    packet
        .image_data()
        .unwrap_or_default()
        .iter()
        .map(|b| b.count_ones())
        .sum()
}

/// The frame a message is drawn in, as the server should send it.
fn message_frame(mode: GfxMode, text: &str) -> Vec<u8> {
    yail_core::font::message_frame(mode, text).unwrap()
}

fn camera_config(url: String) -> Config {
    Config {
        camera: Some(url),
        camera_interval: Duration::from_millis(50),
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_stream_frames_are_sent_as_they_arrive() {
    for (boundary, lengths) in [("frame", true), ("123456789000000000000987654321", false)] {
        let frames = vec![jpeg(), png()];
        let camera = Fake::start(move |_: &Request| Reply::Mjpeg {
            boundary,
            frames: frames.clone(),
            lengths,
        })
        .await;
        let server = TestServer::start(camera_config(camera.url("/?action=stream"))).await;
        let mut atari = server.client().await;
        let first = atari.request("gfx 2 video").await.unwrap();
        assert_video_frame(&first, GfxMode::Gr8, boundary);
        // The stream alternates two pictures; within 20 frames (each the
        // newest when asked) both show up unless the server repeats one.
        let mut different = false;
        for _ in 0..20 {
            let next = atari.request("next").await.unwrap();
            assert_video_frame(&next, GfxMode::Gr8, "next");
            different |= next.image_data() != first.image_data();
            if different {
                break;
            }
        }
        assert!(different, "{boundary}: the stream's two pictures alternate");
        // One connection serves every frame.
        assert_eq!(camera.requests().len(), 1, "{boundary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_camera_is_polled() {
    let camera = Fake::start(|_: &Request| Reply::bytes(200, "image/jpeg", &jpeg())).await;
    let server = TestServer::start(camera_config(camera.url("/snapshot.jpg"))).await;
    let mut atari = server.client().await;
    assert_video_frame(
        &atari.request("gfx 4 video").await.unwrap(),
        GfxMode::Gr9,
        "first",
    );
    assert_video_frame(&atari.request("next").await.unwrap(), GfxMode::Gr9, "next");
    assert!(
        camera.requests().len() >= 2,
        "polled again for the next frame"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_that_are_not_8800_byte_frames_get_graphics_8() {
    let camera = Fake::start(|_: &Request| Reply::bytes(200, "image/jpeg", &jpeg())).await;
    let server = TestServer::start(camera_config(camera.url("/snap"))).await;
    let mut atari = server.client().await;
    for mode in ["17", "10", "18"] {
        let packet = atari.request(&format!("gfx {mode} video")).await.unwrap();
        assert_video_frame(&packet, GfxMode::Gr8, mode);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_camera_is_a_frame_saying_so() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for (command, mode) in [
        ("gfx 2 video", GfxMode::Gr8),
        ("next", GfxMode::Gr8),
        ("gfx 6 camera", GfxMode::Gr15),
    ] {
        let packet = atari.request(command).await.unwrap();
        assert_video_frame(&packet, mode, command);
        assert_eq!(
            packet.image_data(),
            Some(&message_frame(mode, "no camera configured on this server")[..]),
            "{command}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_camera_is_a_frame_saying_so() {
    // A port nothing listens on: bind, note it, close.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = TestServer::start(camera_config(format!("http://127.0.0.1:{port}/snap"))).await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    assert_video_frame(&packet, GfxMode::Gr8, "video");
    assert!(lit_pixels(&packet) > 0, "a message is drawn");
    let no_camera = message_frame(GfxMode::Gr8, "no camera configured on this server");
    assert_ne!(packet.image_data(), Some(&no_camera[..]));
    assert_video_frame(&atari.request("next").await.unwrap(), GfxMode::Gr8, "next");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_answering_errors_or_garbage_is_a_frame_and_the_server_goes_on() {
    let replies: [fn() -> Reply; 3] = [
        || Reply::bytes(500, "text/plain", b"broken"),
        || Reply::bytes(200, "image/jpeg", b"this is not a JPEG at all"),
        || Reply::bytes(200, "multipart/x-mixed-replace", b"no boundary"),
    ];
    for reply in replies {
        let camera = Fake::start(move |_: &Request| reply()).await;
        let server = TestServer::start(camera_config(camera.url("/snap"))).await;
        let mut atari = server.client().await;
        let packet = atari.request("gfx 2 video").await.unwrap();
        assert_video_frame(&packet, GfxMode::Gr8, "video");
        assert!(lit_pixels(&packet) > 0);
        assert!(atari.request("files").await.unwrap().image_data().is_some());
    }
}

// --- Cameras asking for credentials, cameras with their own certificate ---

/// A camera protecting its pictures with HTTP Digest (RFC 7616), checking
/// an answer the way the RFC says a server does, with its own code: the
/// realm, nonce and opaque it handed out, the request-target as `uri`,
/// `qop=auth`, a nonce count above the last one it accepted (§3.4: a
/// server may refuse a replayed count), and the response computed from
/// the password (§3.4.1). Its 401 also offers Basic first, which it then
/// refuses: a client must prefer Digest.
struct DigestCamera {
    algorithm: &'static str,
    username: &'static str,
    password: &'static str,
    last_nc: std::sync::Mutex<u32>,
    challenges: std::sync::atomic::AtomicUsize,
}

const REALM: &str = "IP Camera(C1234)";
const NONCE: &str = "4e6a5a6b4f5451784e7a45364e6a49354e4449334d773d3d";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

impl DigestCamera {
    fn new(algorithm: &'static str, password: &'static str) -> DigestCamera {
        DigestCamera {
            algorithm,
            username: "admin",
            password,
            last_nc: std::sync::Mutex::new(0),
            challenges: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn hash(&self, text: &str) -> String {
        use sha2::Digest as _;
        let bytes: Vec<u8> = match self.algorithm {
            "MD5" => md5::Md5::digest(text.as_bytes()).to_vec(),
            _ => sha2::Sha256::digest(text.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn challenge(&self) -> HttpReply {
        self.challenges
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        HttpReply::status(401, "text/html", "<html>401 Unauthorized</html>")
            .with_header("WWW-Authenticate", r#"Basic realm="IP Camera(C1234)""#)
            .with_header(
                "WWW-Authenticate",
                &format!(
                    r#"Digest realm="{REALM}", qop="auth", algorithm={}, nonce="{NONCE}", opaque="{OPAQUE}", stale=FALSE"#,
                    self.algorithm
                ),
            )
    }

    /// Whether `request` carries a valid answer.
    fn accepts(&self, request: &FakeRequest) -> bool {
        let Some(answer) = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("Digest "))
        else {
            return false;
        };
        let fields = digest_fields(answer);
        let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
        let target = if request.query.is_empty() {
            request.path.clone()
        } else {
            format!("{}?{}", request.path, request.query)
        };
        let nc = u32::from_str_radix(field("nc"), 16).unwrap_or(0);
        let mut last_nc = self.last_nc.lock().unwrap();
        let fresh = nc > *last_nc;
        let ha1 = self.hash(&format!("{}:{REALM}:{}", self.username, self.password));
        let ha2 = self.hash(&format!("GET:{target}"));
        let expected = self.hash(&format!(
            "{ha1}:{NONCE}:{}:{}:auth:{ha2}",
            field("nc"),
            field("cnonce")
        ));
        let valid = field("username") == self.username
            && field("realm") == REALM
            && field("nonce") == NONCE
            && field("opaque") == OPAQUE
            && field("uri") == target
            && field("qop") == "auth"
            && field("algorithm").eq_ignore_ascii_case(self.algorithm)
            && fresh
            && field("response") == expected;
        if valid {
            *last_nc = nc;
        }
        valid
    }
}

/// The `name=value` and `name="value"` fields of a Digest answer.
fn digest_fields(text: &str) -> std::collections::HashMap<String, String> {
    let mut fields = std::collections::HashMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        fields.insert(name.trim().to_ascii_lowercase(), value.to_string());
        rest = after.trim_start_matches([',', ' ']);
    }
    fields
}

/// The frame a camera serving `rocket.jpg` without any protection gives:
/// what a protected camera must give once its credentials are answered.
async fn reference_frame() -> Vec<u8> {
    let camera = FakeHttp::builder()
        .fallback(HttpReply::ok("image/jpeg", jpeg()))
        .start()
        .await;
    let server = TestServer::start(camera_config(camera.url("/snap.jpg"))).await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    packet.image_data().unwrap().to_vec()
}

/// A snapshot camera that answers its JPEG only to requests `digest`
/// accepts, and challenges every other.
async fn digest_snapshot_camera(digest: &std::sync::Arc<DigestCamera>) -> FakeHttp {
    let check = std::sync::Arc::clone(digest);
    FakeHttp::builder()
        .fallback(HttpReply::handler(move |request| {
            if check.accepts(request) {
                HttpReply::ok("image/jpeg", jpeg())
            } else {
                check.challenge()
            }
        }))
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_snapshot_camera_is_answered_and_its_password_never_sent() {
    let reference = reference_frame().await;
    let digest = std::sync::Arc::new(DigestCamera::new("SHA-256", "s3cr:t pass"));
    let camera = digest_snapshot_camera(&digest).await;
    let port = camera.addr().port();
    let url =
        format!("http://admin:s3cr%3At%20pass@127.0.0.1:{port}/cgi-bin/snapshot.cgi?channel=1");
    let server = TestServer::start(camera_config(url)).await;
    let mut atari = server.client().await;
    let first = atari.request("gfx 2 video").await.unwrap();
    assert_video_frame(&first, GfxMode::Gr8, "first");
    assert_eq!(
        first.image_data(),
        Some(&reference[..]),
        "the camera's picture"
    );
    for _ in 0..3 {
        let next = atari.request("next").await.unwrap();
        assert_eq!(next.image_data(), Some(&reference[..]));
    }
    // One challenge; every later snapshot answered at once, with the
    // nonce count rising (the camera refuses a count it has seen).
    assert_eq!(
        digest.challenges.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert!(*digest.last_nc.lock().unwrap() >= 2);
    for request in camera.requests() {
        let head = request.head_text();
        assert!(!head.contains("s3cr"), "{head}");
        assert!(!head.to_ascii_lowercase().contains("basic"), "{head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_mjpeg_camera_is_answered() {
    let reference = reference_frame().await;
    let digest = std::sync::Arc::new(DigestCamera::new("MD5", "hunter2"));
    let check = std::sync::Arc::clone(&digest);
    let mut part = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
    part.extend_from_slice(&jpeg());
    part.extend_from_slice(b"\r\n");
    let camera = FakeHttp::builder()
        .fallback(HttpReply::handler(move |request| {
            if check.accepts(request) {
                HttpReply::Stream {
                    status: 200,
                    headers: vec![(
                        String::from("Content-Type"),
                        String::from("multipart/x-mixed-replace; boundary=frame"),
                    )],
                    parts: vec![part.clone()],
                    interval: Duration::from_millis(20),
                    repeat: true,
                }
            } else {
                check.challenge()
            }
        }))
        .start()
        .await;
    let port = camera.addr().port();
    let server = TestServer::start(camera_config(format!(
        "http://admin:hunter2@127.0.0.1:{port}/video.mjpg"
    )))
    .await;
    let mut atari = server.client().await;
    let first = atari.request("gfx 2 video").await.unwrap();
    assert_eq!(first.image_data(), Some(&reference[..]));
    let next = atari.request("next").await.unwrap();
    assert_eq!(next.image_data(), Some(&reference[..]));
    // The challenge, then one stream.
    assert_eq!(camera.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_camera_password_is_a_frame_saying_so() {
    let digest = std::sync::Arc::new(DigestCamera::new("SHA-256", "right"));
    let camera = digest_snapshot_camera(&digest).await;
    let port = camera.addr().port();
    let server = TestServer::start(camera_config(format!(
        "http://admin:wrong@127.0.0.1:{port}/snap"
    )))
    .await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    assert_eq!(
        packet.image_data(),
        Some(
            &message_frame(
                GfxMode::Gr8,
                "camera unreachable: the camera refused the user name and password (Digest)"
            )[..]
        )
    );
    assert!(digest.challenges.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    for request in camera.requests() {
        assert!(!request.head_text().contains("wrong"), "{request:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_credentials_in_the_camera_url_still_work() {
    let reference = reference_frame().await;
    // RFC 7617 §2's example credentials.
    let camera = FakeHttp::builder()
        .fallback(HttpReply::handler(|request| {
            if request.header("authorization") == Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") {
                HttpReply::ok("image/jpeg", jpeg())
            } else {
                HttpReply::status(401, "text/plain", "")
                    .with_header("WWW-Authenticate", r#"Basic realm="WallyWorld""#)
            }
        }))
        .start()
        .await;
    let port = camera.addr().port();
    let server = TestServer::start(camera_config(format!(
        "http://Aladdin:open%20sesame@127.0.0.1:{port}/snap"
    )))
    .await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    assert_eq!(packet.image_data(), Some(&reference[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_camera_is_refused_unless_insecure_tls_is_asked() {
    let reference = reference_frame().await;
    let camera = FakeHttp::builder()
        .tls()
        .fallback(HttpReply::ok("image/jpeg", jpeg()))
        .start()
        .await;
    let url = camera.url("/snap.jpg");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let server = TestServer::start(camera_config(url.clone())).await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    assert_eq!(
        packet.image_data(),
        Some(
            &message_frame(
                GfxMode::Gr8,
                "camera unreachable: secure connection (https) to 127.0.0.1 failed"
            )[..]
        )
    );
    assert!(
        camera.requests().is_empty(),
        "no request got past the handshake"
    );
    server.shutdown().await;

    let server = TestServer::start(Config {
        camera_insecure_tls: true,
        ..camera_config(url)
    })
    .await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 video").await.unwrap();
    assert_eq!(packet.image_data(), Some(&reference[..]));
    assert!(!camera.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_tls_is_for_the_camera_only() {
    let host = FakeHttp::builder()
        .tls()
        .fallback(HttpReply::ok("image/jpeg", jpeg()))
        .start()
        .await;
    let server = TestServer::start(Config {
        camera_insecure_tls: true,
        allow_private_urls: true,
        ..test_config()
    })
    .await;
    let mut atari = server.client().await;
    let packet = atari
        .request(&format!("showurl {}", host.url("/photo.jpg")))
        .await
        .unwrap();
    let message = packet.error_message().expect("refused");
    assert!(message.contains("secure connection"), "{message}");
    assert!(host.requests().is_empty());
}
