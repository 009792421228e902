// Over 500 lines: one test file per binary keeps every subcommand's
// end-to-end checks, and the small servers they talk to, in one place.
//! The `yail` binary run as a person or a script runs it. Servers are
//! started by the test on loopback ports; nothing leaves 127.0.0.0/8 and ::1.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yail_core::{Converter, GfxMode, Packet, Settings};
use yail_tests::{TestServer, eventually, photos_dir, test_config};

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

#[test]
fn convert_a_folder_with_a_broken_picture_converts_the_good_ones_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pictures = dir.path().join("pictures");
    std::fs::create_dir_all(pictures.join("more")).expect("mkdir");
    std::fs::copy(photos_dir().join("horse.png"), pictures.join("horse.png")).expect("copy");
    std::fs::copy(
        photos_dir().join("rocket.jpg"),
        pictures.join("more/rocket.jpg"),
    )
    .expect("copy");
    std::fs::write(
        pictures.join("broken.jpg"),
        b"\xFF\xD8\xFF not really a JPEG",
    )
    .expect("write");
    std::fs::write(pictures.join("notes.txt"), b"not a picture").expect("write");
    let out = dir.path().join("out");

    let output = yail()
        .args(["convert", "--gfx", "gr9", "--png", "--jobs", "2", "-o"])
        .arg(&out)
        .arg(&pictures)
        .output()
        .expect("run yail");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.jpg"), "{stderr}");
    assert!(stderr.contains("converted 2 of 3 pictures"), "{stderr}");
    for name in ["horse.png", "more/rocket.jpg"] {
        let packet = read_packet(&out.join(format!("{name}.yai")));
        assert_eq!(packet.gfx(), GfxMode::Gr9.wire(), "{name}");
        assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800));
        let preview = out.join(format!("{name}.yai")).with_extension("png");
        assert_eq!(png_size(&preview), (320, 220), "{name}");
    }
    assert!(!out.join("broken.jpg.yai").exists());
    assert!(
        !out.join("notes.txt.yai").exists(),
        "not in the extension list"
    );
}

#[test]
fn convert_timings_come_in_input_order_as_json_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = [
        photos_dir().join("text.png"),
        photos_dir().join("horse.png"),
    ];
    let output = yail()
        .args(["convert", "--jobs", "2", "--timings", "-o"])
        .arg(dir.path())
        .args(&inputs)
        .arg(dir.path().join("missing.png"))
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, input) in lines.iter().zip(&inputs) {
        assert_eq!(line["input"], input.display().to_string());
        assert!(line["ms"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    }
}

#[test]
fn convert_timings_give_a_missing_file_its_json_error_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.jpg");
    let photo = photos_dir().join("horse.png");
    let output = yail()
        .args(["convert", "--timings", "-o"])
        .arg(dir.path())
        .arg(&missing)
        .arg(&photo)
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let lines: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "one line per path, in order: {lines:?}");
    assert_eq!(lines[0]["input"], missing.display().to_string());
    let error = lines[0]["error"].as_str().expect("an error text");
    assert!(error.contains("No such file"), "{error}");
    assert!(lines[0].get("ms").is_none());
    assert_eq!(lines[1]["input"], photo.display().to_string());
    assert!(lines[1]["ms"].as_f64().is_some());
}

/// Size of each concrete mode's preview: the screen at the monitor's
/// proportions (VBXE hi-res pixels are twice as tall as wide).
fn screen(mode: GfxMode) -> (u32, u32) {
    match mode {
        GfxMode::VbxeHiRes => (640, 480),
        GfxMode::Vbxe | GfxMode::VbxeLegacy => (320, 240),
        _ => (320, 220),
    }
}

#[test]
fn preview_of_every_mode_writes_a_png_of_the_screen_size_times_the_scale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photo = std::fs::read(photos_dir().join("chelsea.png")).expect("photo");
    let converter = Converter::new();
    for mode in GfxMode::ALL.into_iter().filter(|m| *m != GfxMode::Random) {
        let packet = converter
            .convert(&photo, &Settings::new(mode))
            .expect("convert");
        let path = dir.path().join(format!("{mode}.yai"));
        std::fs::write(&path, packet.to_bytes()).expect("write");
        let png = dir.path().join(format!("{mode}-preview.png"));
        let output = yail()
            .arg("preview")
            .arg(&path)
            .arg("-o")
            .arg(&png)
            .args(["--scale", "2", "--tv", "pal"])
            .output()
            .expect("run yail");
        assert!(output.status.success(), "{mode}: {}", text(&output.stderr));
        let (width, height) = screen(mode);
        assert_eq!(png_size(&png), (width * 2, height * 2), "{mode}");
        let line = text(&output.stdout);
        assert!(line.contains(mode.name()), "{line}");
    }
}

#[test]
fn preview_of_vbxe_hi_res_is_not_squashed_to_half_height() {
    let dir = tempfile::tempdir().expect("temp dir");
    let photo = std::fs::read(photos_dir().join("chelsea.png")).expect("photo");
    let packet = Converter::new()
        .convert(&photo, &Settings::new(GfxMode::VbxeHiRes))
        .expect("convert");
    let path = dir.path().join("cat.yai");
    std::fs::write(&path, packet.to_bytes()).expect("write");
    let output = yail().arg("preview").arg(&path).output().expect("run yail");
    assert!(output.status.success(), "{}", text(&output.stderr));
    // 640 pixels across, each twice as tall as wide: 640x480, 4:3 like
    // every other mode's preview, not 640x240.
    let png = dir.path().join("cat.png");
    assert_eq!(png_size(&png), (640, 480));
    assert!(text(&output.stdout).contains("vbxe-hr 640x480"));

    // Each row of the screen is drawn twice.
    let picture = yail_core::decode(&std::fs::read(&png).expect("png"), &Default::default())
        .expect("decode the preview")
        .to_rgb();
    let rows: Vec<&[u8]> = picture.data().chunks_exact(640 * 3).collect();
    assert!(rows.chunks_exact(2).all(|pair| pair[0] == pair[1]));
    assert!(
        rows.windows(2).any(|pair| pair[0] != pair[1]),
        "a real picture"
    );
}

#[test]
fn preview_of_a_picture_says_to_use_convert() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["rocket.jpg", "horse.png"] {
        let output = yail()
            .arg("preview")
            .arg(photos_dir().join(name))
            .arg("-o")
            .arg(dir.path().join("x.png"))
            .output()
            .expect("run yail");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("yail convert"), "{stderr}");
        let format = if name.ends_with("jpg") { "JPEG" } else { "PNG" };
        assert!(stderr.contains(&format!("a {format} picture")), "{stderr}");
        assert!(!dir.path().join("x.png").exists());
    }
}

#[test]
fn preview_refuses_out_with_several_packets_and_reports_bad_packets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.yai");
    std::fs::write(&junk, b"OK: ACK!\r\n").expect("write");
    let error = dir.path().join("error.yai");
    std::fs::write(&error, Packet::error(2, "no pictures").to_bytes()).expect("write");

    let output = yail()
        .arg("preview")
        .args([&junk, &error])
        .args(["-o", "x.png"])
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(2), "a usage error");

    let output = yail()
        .arg("preview")
        .args([&junk, &error])
        .output()
        .expect("run yail");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a YAIL packet"), "{stderr}");
    assert!(stderr.contains("no pictures"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_saves_each_packet_and_its_preview_like_an_atari() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().display().to_string();
    let addr = server.addr.to_string();
    // The legacy client's `gfx 17` is six bytes with no space after it.
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr,
        "--gfx",
        "vbxe-legacy",
        "--count",
        "3",
        "--out",
        &out,
        "files",
    ]))
    .await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    for n in 1..=3 {
        let packet = read_packet(&dir.path().join(format!("picture-{n}.yai")));
        assert_eq!(packet.gfx(), 17);
        assert_eq!(
            png_size(&dir.path().join(format!("picture-{n}.png"))),
            (320, 240)
        );
    }
    // The server saw mode 17: the six bytes `gfx 17` were understood.
    let served = eventually(3, || server.state.metrics().snapshot().packets_by_mode[17]).await;
    assert_eq!(served, 3);

    // GRAPHICS numbers work too (15 travels as 6), and the current dialect.
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr,
        "--gfx",
        "15",
        "--dialect",
        "current",
        "--out",
        &out,
        "files",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(read_packet(&dir.path().join("picture-1.yai")).gfx(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_prints_an_error_packet_and_exits_non_zero() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &server.addr.to_string(),
        "--out",
        &dir.path().display().to_string(),
        "dance",
    ]))
    .await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(stdout.starts_with("1 error "), "{stdout}");
    assert!(stdout.contains("unknown command"), "{stdout}");
    assert!(!dir.path().join("picture-1.yai").exists());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_refuses_a_server_declaring_a_four_gigabyte_block() {
    // A v1.4 header, one image block of 0xFFFFFFFF bytes, and no data.
    let addr = fake_server(vec![1, 4, 0, 2, 1, 7, 0xFF, 0xFF, 0xFF, 0xFF]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr.to_string(),
        "--timeout",
        "15",
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
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
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr.to_string(),
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_json_reports_percentiles_and_errors_by_kind() {
    let server = TestServer::start(test_config()).await;
    let addr = server.addr.to_string();
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr,
        "--clients",
        "4",
        "--images",
        "3",
        "--gfx",
        "gr8",
        "--spread-sources",
        "--json",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["images"], 12, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    let latency = &report["latency_ms"];
    let at = |key: &str| latency[key].as_f64().expect("a number");
    assert!(at("p50") > 0.0, "{report}");
    assert!(at("p50") <= at("p90") && at("p90") <= at("p99") && at("p99") <= at("max"));
    let served = eventually(12, || server.state.metrics().snapshot().packets_by_mode[2]).await;
    assert_eq!(served, 12);

    // Every request answered with an error packet is counted by kind.
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr,
        "--clients",
        "2",
        "--images",
        "2",
        "--json",
        "dance",
    ]))
    .await;
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["images"], 0, "{report}");
    assert_eq!(report["errors_by_kind"]["error-packet"], 4, "{report}");
}

#[test]
fn load_refuses_to_spread_sources_towards_a_server_off_loopback() {
    // Refused before any connection is attempted.
    let output = yail()
        .args(["load", "--server", "192.0.2.1:5556", "--spread-sources"])
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("127.0.0.0/8"));
}

#[test]
fn completions_for_bash_cover_every_subcommand() {
    let output = yail().args(["completions", "bash"]).output().expect("run");
    assert!(output.status.success());
    let script = text(&output.stdout);
    assert!(script.contains("_yail()"), "a bash function");
    for word in [
        "convert",
        "preview",
        "fetch",
        "load",
        "--spread-sources",
        "--dialect",
    ] {
        assert!(script.contains(word), "{word}");
    }
}

#[test]
fn the_man_page_is_roff() {
    let output = yail().arg("man").output().expect("run");
    assert!(output.status.success());
    let page = text(&output.stdout);
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "{}",
        &page[..40.min(page.len())]
    );
    assert!(page.contains(".TH yail"), "a title line");
}

#[test]
fn a_wrong_mode_is_a_usage_error() {
    let output = yail()
        .args(["convert", "--gfx", "gr99", "x.png"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
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

#[test]
fn convert_of_an_empty_folder_says_so_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = yail()
        .arg("convert")
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no pictures found"));
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
                            yail_proto::Command::Gfx(_) => {}
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spread_sources_come_from_distinct_loopback_addresses() {
    let (addr, peers) = recording_server().await;
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr.to_string(),
        "--clients",
        "6",
        "--images",
        "2",
        "--spread-sources",
        "--json",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["images"], 12, "{report}");
    let ips: std::collections::BTreeSet<_> = peers
        .lock()
        .expect("peers")
        .iter()
        .map(|p| p.ip())
        .collect();
    assert_eq!(ips.len(), 6, "{ips:?}");
    assert!(ips.iter().all(|ip| ip.is_loopback()), "{ips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gfx_numbers_are_basic_graphics_numbers_in_every_subcommand() {
    let server = TestServer::start(test_config()).await;
    let addr = server.addr.to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().display().to_string();
    // (GRAPHICS n, the mode it is)
    let graphics = [
        ("8", GfxMode::Gr8),
        ("9", GfxMode::Gr9),
        ("10", GfxMode::Gr10),
        ("11", GfxMode::Gr11),
        ("15", GfxMode::Gr15),
    ];
    for (number, mode) in graphics {
        // fetch: once asked for `gfx 8` on the wire, which is Graphics 11.
        let output = run_yail(args(&[
            "fetch", "--server", &addr, "--gfx", number, "--out", &out, "files",
        ]))
        .await;
        assert!(output.status.success(), "{}", text(&output.stderr));
        let fetched = read_packet(&dir.path().join("picture-1.yai"));
        assert_eq!(fetched.gfx(), mode.wire(), "fetch --gfx {number}");

        // convert
        let converted = dir.path().join(format!("converted-{number}"));
        let output = yail()
            .args(["convert", "--gfx", number, "-o"])
            .arg(&converted)
            .arg(photos_dir().join("horse.png"))
            .output()
            .expect("run yail");
        assert!(output.status.success(), "{}", text(&output.stderr));
        let packet = read_packet(&converted.join("horse.png.yai"));
        assert_eq!(packet.gfx(), mode.wire(), "convert --gfx {number}");
    }

    // load reports the mode asked for by name and by wire value.
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr,
        "--clients",
        "1",
        "--images",
        "1",
        "--gfx",
        "9",
        "--json",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["mode"], "gr9", "{report}");
    assert_eq!(report["gfx"], 4, "{report}");

    // --random-modes takes the same spellings.
    let output = yail()
        .args(["convert", "--gfx", "random", "--random-modes", "15", "-o"])
        .arg(dir.path().join("random"))
        .arg(photos_dir().join("horse.png"))
        .output()
        .expect("run yail");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let packet = read_packet(&dir.path().join("random/horse.png.yai"));
    assert_eq!(packet.gfx(), GfxMode::Gr15.wire());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_values_are_asked_for_with_the_wire_prefix() {
    let server = TestServer::start(test_config()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &server.addr.to_string(),
        "--gfx",
        "wire:8",
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(read_packet(&dir.path().join("picture-1.yai")).gfx(), 8);
    assert!(stdout.contains(" gr11 "), "wire 8 is Graphics 11: {stdout}");
}

#[test]
fn a_bare_wire_value_is_refused_with_the_spellings_to_use() {
    for command in [
        &["convert", "--gfx", "2", "x.png"][..],
        &["fetch", "--gfx", "2", "files"],
        &["load", "--gfx", "2"],
        &["convert", "--random-modes", "8,4", "x.png"],
    ] {
        let output = yail().args(command).output().expect("run");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("GRAPHICS number"), "{command:?}: {stderr}");
        assert!(stderr.contains("wire:"), "{command:?}: {stderr}");
    }
}

#[test]
fn bash_completion_of_gfx_offers_the_modes_not_file_names() {
    let script = yail().args(["completions", "bash"]).output().expect("run");
    assert!(script.status.success());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("yail.bash");
    std::fs::write(&path, &script.stdout).expect("write");
    // A file the completion must not offer for --gfx.
    std::fs::write(dir.path().join("gr-photo.jpg"), b"").expect("write");
    for (words, word) in [
        ("yail fetch --gfx ", ""),
        ("yail convert --gfx ", ""),
        ("yail load --gfx vbxe", "vbxe"),
    ] {
        // What bash does on TAB: COMP_WORDS, COMP_CWORD, then the function.
        let program = format!(
            "source {path}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             read -ra COMP_WORDS <<< \"$COMP_LINE\"; [ -z '{word}' ] && COMP_WORDS+=(''); \
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); \
             _yail yail '{word}' \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path = path.display()
        );
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(&program)
            .current_dir(dir.path())
            .output()
            .expect("run bash");
        let offered = text(&output.stdout);
        let offered: Vec<&str> = offered.lines().collect();
        if word.is_empty() {
            assert_eq!(
                offered,
                [
                    "gr8",
                    "gr9",
                    "gr10",
                    "gr11",
                    "gr15",
                    "vbxe",
                    "vbxe-legacy",
                    "vbxe-hr",
                    "random"
                ],
                "{words}: {}",
                text(&output.stderr)
            );
        } else {
            assert_eq!(offered, ["vbxe", "vbxe-legacy", "vbxe-hr"], "{words}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_server_answering_at_once_gets_the_admin_port_hint() {
    use support::{Judging, web_server};
    let addr = web_server(Judging::Eagerly).await.to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr,
        "--timeout",
        "20",
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert_eq!(
        stderr.matches("unknown packet version").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("web server"), "{stderr}");
    assert!(stderr.contains("admin page"), "{stderr}");
    assert!(stderr.contains("5556"), "names the YAIL port: {stderr}");

    let output = run_yail(args(&[
        "load",
        "--server",
        &addr,
        "--clients",
        "2",
        "--images",
        "1",
        "--timeout",
        "20",
    ]))
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("admin page"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_server_waiting_for_a_whole_line_gets_the_admin_port_hint() {
    use support::{Judging, web_server};
    // An Atari's commands end without a line break, so a server that
    // reads whole lines says nothing; yail asks it directly after the wait.
    let addr = web_server(Judging::ByLine).await.to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr,
        "--timeout",
        "1",
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no packet within"), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("admin page"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_yail_server_gets_no_web_server_hint() {
    // A server that accepts and never answers is not taken for a web
    // server: the check asks it, and it does not answer HTTP.
    let addr = fake_server(Vec::new()).await.to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &addr,
        "--timeout",
        "1",
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("hint:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_with_more_clients_than_max_per_ip_spreads_sources_by_itself() {
    // A server with the defaults: 8 sessions per address.
    let config = test_config();
    assert_eq!(config.max_per_ip, 8);
    let server = TestServer::start(config).await;
    let addr = server.addr.to_string();
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr,
        "--clients",
        "20",
        "--images",
        "2",
        "--json",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["images"], 40, "{report}");
    assert_eq!(report["spread_sources"], true, "{report}");

    // With one source address the server's limit shows, and yail says why.
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr,
        "--clients",
        "12",
        "--images",
        "1",
        "--one-source",
    ]))
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("too many connections"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("--max-per-ip 12"), "{stderr}");
    assert!(stderr.contains("--one-source"), "says why: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spreads_sources_without_being_asked() {
    let (addr, peers) = recording_server().await;
    let output = run_yail(args(&[
        "load",
        "--server",
        &addr.to_string(),
        "--clients",
        "10",
        "--images",
        "1",
        "--json",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let ips: std::collections::BTreeSet<_> = peers
        .lock()
        .expect("peers")
        .iter()
        .map(|p| p.ip())
        .collect();
    assert_eq!(ips.len(), 10, "{ips:?}");
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
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &host,
        "--timeout",
        "10",
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(read_packet(&dir.path().join("picture-1.yai")).gfx(), 2);
    assert_eq!(peers.lock().expect("peers").len(), 1);

    // YAIL_SERVER is read the same way.
    let output = tokio::task::spawn_blocking(move || {
        yail()
            .env("YAIL_SERVER", &host)
            .args(["fetch", "--timeout", "10", "--out"])
            .arg(dir.path())
            .arg("files")
            .output()
            .expect("run yail")
    })
    .await
    .expect("yail thread");
    assert!(output.status.success(), "{}", text(&output.stderr));
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
    let output = run_yail(args(&[
        "fetch",
        "--server",
        &format!("[::1]:{port}"),
        "--out",
        &dir.path().display().to_string(),
        "files",
    ]))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(peers.lock().expect("peers")[0].is_ipv6());

    let output = yail()
        .args(["fetch", "--server", "[::1]:x", "files"])
        .output()
        .expect("run yail");
    assert_eq!(output.status.code(), Some(2), "a usage error");
}
