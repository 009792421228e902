//! "Try it" converts through the server's pipeline: the decode memory
//! budget and worker slots the Ataris' pictures go through, and only
//! bodies that may be pictures.

use yail_server::{AdminOptions, Config};

use crate::support::{Servers, http};

/// A PNG of 16384x8191 RGBA pixels of one colour: about 520 KB (deflate's
/// best ratio, about 1000 to 1) that take 537 MB to hold decoded, and a
/// little over 1 GB to convert.
fn huge_png() -> Vec<u8> {
    crate::huge_png::huge_png(|_| [200, 120, 40, 255], flate2::Compression::best())
}

/// This process's largest resident size so far, in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib >> 10)
}

/// Found by the security review: "try it" converted with a converter of
/// its own, outside the decode memory budget, so with
/// `--decode-memory-mb 64` a 522 KB PNG declaring 16384x8191 RGBA took the
/// server to 1.06 GB. It is refused from its header now, as a client's
/// `showurl` of it would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_it_refuses_a_picture_larger_than_the_decode_budget() {
    let config = Config {
        decode_memory: 64 << 20,
        prefetch: false,
        workers: 2,
        ..Config::default()
    };
    let servers = Servers::start_configured(config, AdminOptions::default()).await;
    let png = huge_png();
    println!(
        "{} KB PNG, peak RSS {} MiB before",
        png.len() / 1000,
        peak_rss_mib()
    );
    let tried = http(
        servers.admin,
        "POST",
        "/api/try",
        &[("Content-Type", "image/png")],
        &png,
    )
    .await;
    let error = tried.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        (400..500).contains(&tried.status)
            && error.contains("16384x8191 is more than the 8 megapixels this server decodes"),
        "{}: {error}",
        tried.status
    );
    let peak = peak_rss_mib();
    println!("refused: {error}; peak RSS {peak} MiB after");
    // The whole test process (both servers, the PNG and its encoder): far
    // from the gigabyte the conversion would take.
    assert!(peak < 256, "peak RSS {peak} MiB");
}

/// Another site's page can post `text/plain` or a form to the admin page
/// without the browser asking first; "try it" takes only bodies that may
/// be pictures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_it_takes_only_image_or_octet_stream_bodies() {
    let servers = Servers::start(None).await;
    let photo = yail_server::gallery::find("horse.png").expect("gallery photo");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|value| ("Content-Type", value))
            .into_iter()
            .collect();
        let tried = http(servers.admin, "POST", "/api/try", &headers, photo.bytes).await;
        assert_eq!(tried.status, 415, "{content_type:?}: {}", tried.text());
    }
    for content_type in [
        "image/png",
        "IMAGE/PNG",
        "application/octet-stream",
        "image/jpeg; q=1",
    ] {
        let headers = [("Content-Type", content_type)];
        let tried = http(servers.admin, "POST", "/api/try", &headers, photo.bytes).await;
        assert_eq!(tried.status, 200, "{content_type}: {}", tried.text());
    }
}
