//! `search` against a fake DuckDuckGo (search page with the `vqd` token,
//! then `i.js`) and a fake SearXNG, with result pictures on a fake image
//! host; all on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use yail_server::{Config, SearchEngine};
use yail_tests::fake_http::{FakeHttp, Reply, Request};
use yail_tests::{TestServer, photos_dir, test_config};

const TOKEN: &str = "4-31415926535_8979";

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(photos_dir().join(name)).expect("a test photo")
}

/// The `i.js` answer listing `paths` on `host` as results.
fn results_json(host: &str, paths: &[&str]) -> String {
    let items: Vec<String> = paths
        .iter()
        .map(|p| format!(r#"{{"image":"{host}{p}","thumbnail":"{host}/nothumb","width":1,"height":1,"title":"x"}}"#))
        .collect();
    format!(
        r#"{{"query":"q","results":[{}],"next":"i.js?p=2"}}"#,
        items.join(",")
    )
}

/// The search page: the token only for a request with a term.
fn search_page(request: &Request) -> Reply {
    match request.param("q") {
        Some(q) if !q.is_empty() => Reply::ok(
            "text/html",
            format!("<html><script>var vqd=\"{TOKEN}\";</script></html>"),
        ),
        _ => Reply::ok("text/html", "<html>home</html>"),
    }
}

/// A fake DuckDuckGo whose `i.js` checks what the real one checks, and an
/// image host with good and broken pictures.
async fn fake_duckduckgo(result_paths: &'static [&'static str]) -> FakeHttp {
    let ddg = FakeHttp::builder()
        .route("/", Reply::handler(search_page))
        .route("/horse.png", Reply::ok("image/png", photo("horse.png")))
        .route("/text.png", Reply::ok("image/png", photo("text.png")))
        .route("/rocket.jpg", Reply::ok("image/jpeg", photo("rocket.jpg")))
        .route("/broken", Reply::status(500, "text/plain", "no"))
        .route("/garbage", Reply::garbage())
        .route("/text", Reply::ok("image/jpeg", "not a picture"))
        .start()
        .await;
    let base = ddg.base();
    ddg.set_route(
        "/i.js",
        Reply::handler(move |request| {
            let allowed = request.param("vqd").as_deref() == Some(TOKEN)
                && request.param("o").as_deref() == Some("json")
                && request.header("referer").is_some()
                && request.header("sec-fetch-mode") == Some("cors");
            if allowed {
                Reply::json(results_json(&base, result_paths))
            } else {
                Reply::status(403, "text/plain", "forbidden")
            }
        }),
    );
    ddg
}

fn search_config(ddg: &FakeHttp) -> Config {
    Config {
        search_url: ddg.base(),
        allow_private_urls: true,
        search_backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(20),
        openai_api_key: Some(String::from("sk-test-secret-never-sent")),
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_shows_results_without_immediate_repeats_and_caches_the_term() {
    let ddg = fake_duckduckgo(&["/horse.png", "/text.png", "/rocket.jpg"]).await;
    let server = TestServer::start(search_config(&ddg)).await;
    let mut atari = server.client().await;
    let mut previous = atari.request("gfx 2 search red horses").await.unwrap();
    assert_eq!(previous.error_message(), None, "{previous:?}");
    for _ in 0..5 {
        let packet = atari.request("next").await.unwrap();
        assert_eq!(packet.error_message(), None);
        assert_ne!(
            packet.image_data(),
            previous.image_data(),
            "shown twice in a row"
        );
        previous = packet;
    }
    let query = ddg
        .requests()
        .into_iter()
        .find(|r| r.path == "/i.js")
        .expect("i.js was asked");
    assert_eq!(query.param("q").as_deref(), Some("red horses"));
    assert_eq!(ddg.hits("/i.js"), 1);
    // Another session with the same term (any case) uses the cached results.
    let mut other = server.client().await;
    let packet = other.request("gfx 2 search Red Horses").await.unwrap();
    assert_eq!(packet.error_message(), None);
    assert_eq!(ddg.hits("/i.js"), 1, "the results were not reused");
    assert_eq!(ddg.hits("/"), 1);
    for request in ddg.requests() {
        assert!(
            !request.head_text().contains("sk-test-secret"),
            "{request:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_results_are_skipped_within_a_bound() {
    let ddg = fake_duckduckgo(&["/broken", "/garbage", "/text", "/horse.png"]).await;
    let server = TestServer::start(search_config(&ddg)).await;
    let mut atari = server.client().await;
    for command in ["gfx 2 search x", "next", "next"] {
        let packet = atari.request(command).await.unwrap();
        // With one good result left, it may be shown again.
        assert_eq!(packet.error_message(), None, "{command}");
    }
    // Each broken result is tried at most once per session.
    for path in ["/broken", "/garbage", "/text"] {
        assert!(ddg.hits(path) <= 1, "{path} tried {} times", ddg.hits(path));
    }

    let only_broken = fake_duckduckgo(&["/broken", "/garbage", "/text"]).await;
    let config = Config {
        search_retries: 10,
        ..search_config(&only_broken)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    for command in ["search y", "next"] {
        let packet = atari.request(command).await.unwrap();
        let message = packet.error_message().expect("an error packet");
        assert!(message.contains("no usable pictures"), "{message}");
    }
    let tries: usize = ["/broken", "/garbage", "/text", "/nothumb"]
        .iter()
        .map(|p| only_broken.hits(p))
        .sum();
    // Three results and their thumbnails, once per session.
    assert!(tries <= 6, "{tries} downloads for three broken results");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_answers_back_off_a_bounded_number_of_times() {
    let ddg = FakeHttp::builder()
        .route("/", Reply::handler(search_page))
        .route("/i.js", Reply::status(429, "text/plain", "slow down"))
        .start()
        .await;
    let server = TestServer::start(search_config(&ddg)).await;
    let mut atari = server.client().await;
    let packet = atari.request("search cats").await.unwrap();
    let message = packet.error_message().expect("an error packet");
    assert!(message.contains("busy"), "{message}");
    assert_eq!(ddg.hits("/i.js"), 3, "attempts are bounded");

    // 202 (and 418) once, then results: the back-off recovers.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let host = ddg.base();
    ddg.set_route(
        "/i.js",
        Reply::handler(move |_| match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::status(202, "text/plain", ""),
            1 => Reply::status(418, "text/plain", ""),
            _ => Reply::json(results_json(&host, &["/horse.png"])),
        }),
    );
    ddg.set_route("/horse.png", Reply::ok("image/png", photo("horse.png")));
    let packet = atari.request("search dogs").await.unwrap();
    assert_eq!(packet.error_message(), None, "{packet:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_a_token_is_an_error_packet() {
    let ddg = FakeHttp::builder()
        .route("/", Reply::ok("text/html", "<html>captcha</html>"))
        .start()
        .await;
    let server = TestServer::start(search_config(&ddg)).await;
    let mut atari = server.client().await;
    let packet = atari.request("search cats").await.unwrap();
    assert!(packet.error_message().is_some_and(|m| m.contains("vqd")));
    assert_eq!(ddg.hits("/i.js"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searxng_results_are_shown() {
    let searx = FakeHttp::builder()
        .route("/horse.png", Reply::ok("image/png", photo("horse.png")))
        .start()
        .await;
    let base = searx.base();
    searx.set_route(
        "/searx/search",
        Reply::handler(move |request| {
            if request.param("format").as_deref() != Some("json") {
                return Reply::status(403, "text/plain", "json disabled");
            }
            Reply::json(format!(
                r#"{{"results":[{{"url":"{base}/page","img_src":"{base}/horse.png"}}]}}"#
            ))
        }),
    );
    let config = Config {
        search_engine: SearchEngine::Searxng,
        searxng_url: Some(searx.url("/searx/")),
        ..search_config(&searx)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 search horse").await.unwrap();
    assert_eq!(packet.error_message(), None, "{packet:?}");
    assert_eq!(searx.hits("/searx/search"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_pages_engine_choice_applies_to_the_next_search() {
    let searx = FakeHttp::builder()
        .route("/horse.png", Reply::ok("image/png", photo("horse.png")))
        .start()
        .await;
    let base = searx.base();
    searx.set_route(
        "/searx/search",
        Reply::json(format!(
            r#"{{"results":[{{"url":"{base}/page","img_src":"{base}/horse.png"}}]}}"#
        )),
    );
    // DuckDuckGo is the configured engine (this fake has no DuckDuckGo
    // page, so it would fail); SearXNG is only available, until the
    // runtime setting picks it.
    let config = Config {
        searxng_url: Some(searx.url("/searx/")),
        ..search_config(&searx)
    };
    let server = TestServer::start(config).await;
    server
        .state
        .set_runtime_settings(yail_state::RuntimeSettings {
            search_engine: Some(String::from("searxng")),
            ..yail_state::RuntimeSettings::default()
        });
    let mut atari = server.client().await;
    let packet = atari.request("gfx 2 search horse").await.unwrap();
    assert_eq!(packet.error_message(), None, "{packet:?}");
    assert_eq!(searx.hits("/searx/search"), 1);
}

/// The prefetch figure in docs/performance.md: an image host that takes
/// 1 s per picture, and the time `next` takes after the Atari has shown
/// the previous picture for 1.5 s. Printed, not asserted (timing depends
/// on the machine); run with `--nocapture` to see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_hides_a_slow_image_host() {
    let ddg = fake_duckduckgo(&[]).await;
    let slow = |name: &str| Reply::ok("image/png", photo(name)).delayed(Duration::from_secs(1));
    ddg.set_route("/a.png", slow("horse.png"));
    ddg.set_route("/b.png", slow("text.png"));
    ddg.set_route("/c.png", slow("camera.png"));
    let host = ddg.base();
    ddg.set_route(
        "/i.js",
        Reply::json(results_json(&host, &["/a.png", "/b.png", "/c.png"])),
    );
    for prefetch in [false, true] {
        let config = Config {
            prefetch,
            ..search_config(&ddg)
        };
        let server = TestServer::start(config).await;
        let mut atari = server.client().await;
        let started = Instant::now();
        let first = atari.request("gfx 2 search slow").await.unwrap();
        assert_eq!(first.error_message(), None);
        let first_time = started.elapsed();
        let mut times = Vec::new();
        for _ in 0..4 {
            // The Atari shows the picture for a while before asking again.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let started = Instant::now();
            let packet = atari.request("next").await.unwrap();
            times.push(started.elapsed());
            assert_eq!(packet.error_message(), None);
        }
        eprintln!(
            "prefetch {prefetch}: first search {:.0} ms, next: {}",
            first_time.as_secs_f64() * 1000.0,
            times
                .iter()
                .map(|t| format!("{:.1} ms", t.as_secs_f64() * 1000.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        server.shutdown().await;
    }
}
