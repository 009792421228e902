//! Downloads: the guarded fetcher against a hostile image host, and
//! `showurl` with the private-address policy. Every host here is a fake on
//! 127.0.0.1; nothing leaves the machine.

use std::time::{Duration, Instant};

use yail_server::Config;
use yail_server::fetch::{FetchConfig, FetchError, Fetcher, UNUSABLE_HOST};
use yail_tests::fake_http::{FakeHttp, Reply};
use yail_tests::{TestServer, eventually, photos_dir, test_config};

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(photos_dir().join(name)).expect("a test photo")
}

/// An image host that misbehaves in every way the fetcher must survive.
async fn hostile_host() -> FakeHttp {
    FakeHttp::builder()
        .route("/horse.png", Reply::ok("image/png", photo("horse.png")))
        .route("/hop1", Reply::redirect("/hop2"))
        .route("/hop2", Reply::redirect("/horse.png"))
        .route(
            "/slow",
            Reply::ok("image/png", photo("horse.png")).delayed(Duration::from_secs(30)),
        )
        .route("/hang", Reply::Hang)
        .route("/500", Reply::status(500, "text/plain", "oops"))
        .route("/garbage", Reply::garbage())
        .route("/not-a-picture", Reply::ok("image/png", "this is text"))
        .route("/loop", Reply::redirect("/loop"))
        .route("/endless", Reply::endless("image/jpeg"))
        .route(
            "/huge-declared",
            Reply::ok("image/jpeg", vec![0u8; 3 << 20]),
        )
        .route("/to-file", Reply::redirect("file:///etc/passwd"))
        .start()
        .await
}

fn quick_fetcher(allow_private: bool) -> Fetcher {
    Fetcher::new(FetchConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(3),
        max_body_bytes: 1 << 20,
        allow_private,
        ..FetchConfig::default()
    })
    .expect("a fetcher")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetcher_bounds_every_misbehaving_host() {
    let host = hostile_host().await;
    let fetcher = quick_fetcher(true);

    let ok = fetcher.get(&host.url("/hop1")).await.expect("two hops");
    assert_eq!(ok.bytes.as_ref(), photo("horse.png").as_slice());
    assert_eq!(ok.content_type.as_deref(), Some("image/png"));
    assert_eq!(ok.url.path(), "/horse.png");

    let started = Instant::now();
    for path in ["/slow", "/hang"] {
        let error = fetcher.get(&host.url(path)).await.expect_err(path);
        assert!(matches!(error, FetchError::Timeout(_)), "{path}: {error:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timeouts ignored"
    );

    let error = fetcher.get(&host.url("/500")).await.expect_err("500");
    assert!(
        matches!(error, FetchError::Status { status: 500, .. }),
        "{error:?}"
    );
    let error = fetcher
        .get(&host.url("/garbage"))
        .await
        .expect_err("garbage");
    assert!(matches!(error, FetchError::Http { .. }), "{error:?}");
    let error = fetcher.get(&host.url("/loop")).await.expect_err("loop");
    assert!(
        matches!(error, FetchError::TooManyRedirects(5)),
        "{error:?}"
    );
    // The first request and five redirects, then no more.
    assert_eq!(host.hits("/loop"), 6);
    for path in ["/endless", "/huge-declared"] {
        let error = fetcher.get(&host.url(path)).await.expect_err(path);
        assert!(
            matches!(error, FetchError::TooLarge { limit } if limit == 1 << 20),
            "{path}: {error:?}"
        );
    }
    // A redirect to another scheme is not followed (reqwest stops before
    // our policy sees it) and the 302 itself is an error.
    let error = fetcher.get(&host.url("/to-file")).await.expect_err("file");
    assert!(
        matches!(error, FetchError::Status { status: 302, .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_hosts_are_refused_without_connecting() {
    let host = hostile_host().await;
    let fetcher = quick_fetcher(false);
    let port = host.addr().port();
    for url in [
        host.url("/horse.png"),
        format!("http://localhost:{port}/horse.png"),
        format!("http://[::ffff:127.0.0.1]:{port}/horse.png"),
        host.url("/hop1"),
    ] {
        let error = fetcher.get(&url).await.expect_err(&url);
        assert!(matches!(error, FetchError::Refused(_)), "{url}: {error:?}");
    }
    assert!(host.requests().is_empty(), "a refused host was contacted");
}

fn url_config(allow_private: bool) -> Config {
    Config {
        allow_private_urls: allow_private,
        request_timeout: Duration::from_secs(4),
        fetch_read_timeout: Duration::from_millis(700),
        fetch_timeout: Duration::from_secs(2),
        max_download_bytes: 2 << 20,
        openai_api_key: Some(String::from("sk-test-secret-never-sent")),
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showurl_of_loopback_is_refused_by_default() {
    let host = hostile_host().await;
    let server = TestServer::start(url_config(false)).await;
    let mut atari = server.client().await;
    let port = host.addr().port();
    for url in [
        host.url("/horse.png"),
        format!("http://localhost:{port}/horse.png"),
        host.url("/hop1"),
    ] {
        let packet = atari.request(&format!("showurl {url}")).await.unwrap();
        let message = packet.error_message().expect("an error packet");
        assert!(message.contains(UNUSABLE_HOST), "{url}: {message}");
    }
    let packet = atari.request("showurl file:///etc/passwd").await.unwrap();
    assert!(
        packet.error_message().is_some_and(|m| m.contains("http")),
        "{packet:?}"
    );
    assert!(host.requests().is_empty(), "a refused host was contacted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showurl_is_served_with_allow_private_and_next_shows_it_again() {
    let host = hostile_host().await;
    let server = TestServer::start(url_config(true)).await;
    let mut atari = server.client().await;
    let port = host.addr().port();
    for url in [
        host.url("/horse.png"),
        format!("http://localhost:{port}/horse.png"),
        host.url("/hop1"),
    ] {
        let first = atari
            .request(&format!("gfx 2 showurl {url}"))
            .await
            .unwrap();
        assert_eq!(first.error_message(), None, "{url}");
        let hits = host.hits("/horse.png");
        let again = atari.request("next").await.unwrap();
        assert_eq!(again.image_data(), first.image_data(), "{url}");
        assert_eq!(host.hits("/horse.png"), hits, "next downloaded again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_host_gets_one_packet_and_the_server_keeps_serving() {
    let host = hostile_host().await;
    let config = url_config(true);
    let deadline = config.request_timeout + Duration::from_secs(2);
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    atari.set_timeout(deadline);
    for path in [
        "/slow",
        "/hang",
        "/500",
        "/garbage",
        "/not-a-picture",
        "/loop",
        "/endless",
        "/huge-declared",
    ] {
        let started = Instant::now();
        let packet = atari
            .request(&format!("showurl {}", host.url(path)))
            .await
            .unwrap_or_else(|e| panic!("{path}: no packet: {e}"));
        let message = packet.error_message().unwrap_or_else(|| panic!("{path}"));
        assert!(message.len() <= 255, "{path}: {message}");
        assert!(started.elapsed() < deadline, "{path}");
        // `next` retries and fails the same way: still one packet each.
        let again = atari.request("next").await.unwrap();
        assert!(again.error_message().is_some(), "{path}");
    }
    // Nothing extra was sent: the next request's answer is its own.
    let packet = atari.request("gfx 2 files").await.unwrap();
    assert_eq!(packet.error_message(), None);
    // A second client is served too.
    let mut other = server.client().await;
    let packet = other
        .request(&format!("showurl {}", host.url("/horse.png")))
        .await
        .unwrap();
    assert_eq!(packet.error_message(), None);
    for request in host.requests() {
        assert!(
            !request.head_text().contains("sk-test-secret"),
            "{request:?}"
        );
    }
}

fn limited_fetcher(per_network: usize, memory: u64) -> Fetcher {
    Fetcher::new(FetchConfig {
        total_timeout: Duration::from_secs(30),
        max_body_bytes: 4 << 20,
        allow_private: true,
        max_fetches_per_network: per_network,
        download_memory_bytes: memory,
        ..FetchConfig::default()
    })
    .expect("a fetcher")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_network_cannot_run_more_fetches_than_its_quota() {
    let host = FakeHttp::builder().fallback(Reply::Hang).start().await;
    let fetcher = limited_fetcher(2, 1 << 20);
    let client = |text: &str| -> std::net::IpAddr { text.parse().unwrap() };
    // Three fetches from addresses of one IPv6 /64 (the key is the
    // client's network, whatever address it connected from).
    let mut tasks = Vec::new();
    for (n, address) in ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"]
        .into_iter()
        .enumerate()
    {
        let (fetcher, url) = (fetcher.clone(), host.url(&format!("/same{n}")));
        let ip = client(address);
        tasks.push(tokio::spawn(async move { fetcher.get_for(ip, &url).await }));
    }
    assert_eq!(eventually(2, || host.open_requests()).await, 2);
    // Another network is not held up by the first one's quota.
    let other = {
        let (fetcher, url) = (fetcher.clone(), host.url("/other"));
        tokio::spawn(async move { fetcher.get_for(client("2001:db8:5:7::1"), &url).await })
    };
    assert_eq!(eventually(3, || host.open_requests()).await, 3);
    assert_eq!(fetcher.fetches_running_for(client("2001:db8:5:6::9")), 2);
    assert_eq!(host.hits("/other"), 1);
    // One of the first network's fetches ends: the waiting one goes.
    let started: Vec<usize> = (0..3)
        .filter(|n| host.hits(&format!("/same{n}")) == 1)
        .collect();
    assert_eq!(started.len(), 2, "the third waits for a place");
    tasks[started[0]].abort();
    assert_eq!(
        eventually(3, || (0..3)
            .map(|n| host.hits(&format!("/same{n}")))
            .sum::<usize>())
        .await,
        3
    );
    for task in tasks {
        task.abort();
    }
    other.abort();
    assert_eq!(eventually(0, || host.open_requests()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_download_memory_budget_bounds_bodies_held_at_once() {
    // A body declaring 800 KB that trickles (and so holds its reservation),
    // one declaring 600 KB, one of unknown length, one larger than the
    // whole budget.
    let trickle = Reply::Stream {
        status: 200,
        headers: vec![
            (String::from("Content-Type"), String::from("image/jpeg")),
            (String::from("Content-Length"), String::from("800000")),
        ],
        parts: vec![vec![0xff; 1000]],
        interval: Duration::from_millis(200),
        repeat: true,
    };
    let host = FakeHttp::builder()
        .route("/trickle", trickle)
        .route("/600k", Reply::ok("image/jpeg", vec![0xd8; 600_000]))
        .route("/2m", Reply::ok("image/jpeg", vec![0xd8; 2_000_000]))
        .route("/endless", Reply::endless("image/jpeg"))
        .start()
        .await;
    let fetcher = limited_fetcher(8, 1 << 20);
    let client: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    let holder = {
        let (fetcher, url) = (fetcher.clone(), host.url("/trickle"));
        tokio::spawn(async move { fetcher.get_for(client, &url).await })
    };
    assert!(
        eventually(true, || fetcher.download_memory_in_use() >= 800_000).await,
        "the declared length is reserved"
    );
    // A body of unknown length grows past what is left: refused at once.
    let error = fetcher.get(&host.url("/endless")).await.expect_err("busy");
    assert_eq!(error, FetchError::Busy);
    // A body larger than the whole budget can never fit.
    let error = fetcher.get(&host.url("/2m")).await.expect_err("too large");
    assert!(
        matches!(error, FetchError::TooLarge { limit } if limit == 1 << 20),
        "{error:?}"
    );
    // A declared body that does not fit now waits for room...
    let waiter = {
        let (fetcher, url) = (fetcher.clone(), host.url("/600k"));
        tokio::spawn(async move { fetcher.get(&url).await.map(|f| f.bytes.len()) })
    };
    assert_eq!(eventually(1, || host.hits("/600k")).await, 1);
    assert!(!waiter.is_finished(), "no room while the trickle holds it");
    // ...and gets it when the other download ends.
    holder.abort();
    let length = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("room came")
        .expect("the task");
    assert_eq!(length, Ok(600_000));
    assert_eq!(eventually(0, || fetcher.download_memory_in_use()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_body_counts_what_it_inflates_to() {
    let host = FakeHttp::builder()
        .route(
            "/small",
            Reply::ok("image/png", photo("horse.png")).compressed(),
        )
        // 3 MB of zeros, a few KB on the wire: a decompression bomb.
        .route(
            "/bomb",
            Reply::ok("image/jpeg", vec![0u8; 3 << 20]).compressed(),
        )
        .start()
        .await;
    let fetcher = quick_fetcher(true);
    let small = fetcher.get(&host.url("/small")).await.expect("inflated");
    assert_eq!(small.bytes.as_ref(), photo("horse.png").as_slice());
    let request = &host.requests()[0];
    assert!(
        request
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip") && v.contains("deflate")),
        "{request:?}"
    );
    let error = fetcher
        .get(&host.url("/bomb"))
        .await
        .expect_err("too large");
    assert!(
        matches!(error, FetchError::TooLarge { limit } if limit == 1 << 20),
        "{error:?}"
    );
}
