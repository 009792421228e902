//! `yail-search-bench`: how long a search takes to show its first picture
//! when most image hosts are broken or hang, with a real server (in this
//! process) and fake hosts on 127.0.0.x. docs/performance.md gives the
//! figures and the command.
//!
//! ```text
//! cargo run -p yail-tests --bin yail-search-bench -- --searches 8
//!   --results N      results per search (14)
//!   --broken N       of them failing at once: 500, garbage, a web page, a truncated body (5)
//!   --hanging N      of them whose host accepts and never answers (5)
//!   --delay-ms MS    how long a good host takes to answer (1000)
//!   --thumbnails all|half|none
//!                    results with a thumbnail, served by a "thumbnail proxy" in 150 ms (all)
//!   --seed N         the shuffle of the results (1)
//! ```
//!
//! Each search is a new term on a new connection, so neither the results
//! cache nor the picture cache helps. The search service is a lenient fake
//! (it answers whatever is asked): what is measured is the image hosts.
//! Fetch timeouts are the server's defaults (connect 10 s, silence 15 s,
//! whole download 30 s). Prints each time, the median and the worst.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use yail_server::Config;
use yail_tests::fake_http::{FakeHttp, Reply, Request};
use yail_tests::fake_search::{DdgImage, results_json};
use yail_tests::{TestServer, photos_dir, test_config};

struct Options {
    searches: usize,
    results: usize,
    broken: usize,
    hanging: usize,
    delay: Duration,
    thumbnails: String,
    seed: u64,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options {
            searches: 8,
            results: 14,
            broken: 5,
            hanging: 5,
            delay: Duration::from_millis(1000),
            thumbnails: String::from("all"),
            seed: 1,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .with_context(|| format!("{flag} {value}"))
            };
            match flag.as_str() {
                "--searches" => options.searches = usize::try_from(number()?)?,
                "--results" => options.results = usize::try_from(number()?)?,
                "--broken" => options.broken = usize::try_from(number()?)?,
                "--hanging" => options.hanging = usize::try_from(number()?)?,
                "--delay-ms" => options.delay = Duration::from_millis(number()?),
                "--thumbnails" => options.thumbnails = value.clone(),
                "--seed" => options.seed = number()?,
                other => bail!("unknown option {other}"),
            }
        }
        if options.broken + options.hanging > options.results {
            bail!("more broken and hanging results than results");
        }
        if !["all", "half", "none"].contains(&options.thumbnails.as_str()) {
            bail!("--thumbnails all, half or none");
        }
        Ok(options)
    }
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A broken answer, by kind: what image hosts send instead of a picture.
fn broken(kind: usize) -> Reply {
    match kind % 4 {
        0 => Reply::status(500, "text/html", "<html>upstream error</html>"),
        1 => Reply::garbage(),
        2 => Reply::ok("text/html", "<html>please log in</html>"),
        _ => Reply::ok("image/jpeg", &b"\xff\xd8\xff\xe0 cut short"[..]),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = Options::parse(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    let full = std::fs::read(photos_dir().join("coffee.png"))?;
    let thumbnail = std::fs::read(photos_dir().join("chelsea.png"))?;
    let delay = options.delay;
    let good = FakeHttp::builder()
        .bind(loopback(2))
        .fallback(Reply::ok("image/png", full).delayed(delay))
        .start()
        .await;
    let bad = FakeHttp::builder()
        .bind(loopback(3))
        .fallback(Reply::handler(|request: &Request| {
            let kind = request.path.len() + request.path.bytes().map(usize::from).sum::<usize>();
            broken(kind)
        }))
        .start()
        .await;
    let hanging = FakeHttp::builder()
        .bind(loopback(4))
        .fallback(Reply::Hang)
        .start()
        .await;
    let thumbnails = FakeHttp::builder()
        .bind(loopback(5))
        .fallback(Reply::ok("image/png", thumbnail).delayed(Duration::from_millis(150)))
        .start()
        .await;
    let search = FakeHttp::builder()
        .route(
            "/",
            Reply::ok(
                "text/html",
                "<html><script>vqd=\"4-271828\";</script></html>",
            ),
        )
        .start()
        .await;

    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut pages = Vec::new();
    for search_no in 0..options.searches {
        let mut results = Vec::new();
        for result_no in 0..options.results {
            let path = format!("/s{search_no}/r{result_no}.png");
            let host = if result_no < options.broken {
                &bad
            } else if result_no < options.broken + options.hanging {
                &hanging
            } else {
                &good
            };
            let with_thumbnail = match options.thumbnails.as_str() {
                "all" => true,
                "half" => rng.bool(),
                _ => false,
            };
            results.push(DdgImage::new(
                host.url(&path),
                with_thumbnail.then(|| thumbnails.url(&format!("/th{path}"))),
            ));
        }
        rng.shuffle(&mut results);
        pages.push(results_json(&format!("bench {search_no}"), &results));
    }
    search.set_route(
        "/i.js",
        Reply::handler(move |request: &Request| {
            let q = request.param("q").unwrap_or_default();
            let n: usize = q.trim_start_matches("bench ").parse().unwrap_or(0);
            Reply::json(pages.get(n).cloned().unwrap_or_default())
        }),
    );

    let server = TestServer::start(Config {
        search_url: search.base(),
        allow_private_urls: true,
        prefetch: false,
        request_timeout: Config::default().request_timeout,
        ..test_config()
    })
    .await;
    println!(
        "{} searches, {} results each: {} broken, {} hanging, {} good (answering in {} ms); thumbnails: {}",
        options.searches,
        options.results,
        options.broken,
        options.hanging,
        options.results - options.broken - options.hanging,
        delay.as_millis(),
        options.thumbnails
    );
    let mut times = Vec::new();
    let mut failures = 0;
    for search_no in 0..options.searches {
        let mut atari = server.client().await;
        atari.set_timeout(Duration::from_secs(120));
        let started = Instant::now();
        let packet = atari
            .request(&format!("gfx 4 search bench {search_no}"))
            .await
            .context("no packet")?;
        let took = started.elapsed();
        let outcome = match packet.error_message() {
            Some(message) => {
                failures += 1;
                format!("error: {message}")
            }
            None => String::from("picture"),
        };
        println!("search {search_no}: {:.2} s, {outcome}", took.as_secs_f64());
        times.push(took);
    }
    times.sort();
    let median = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2
    };
    println!(
        "first picture: median {:.2} s, worst {:.2} s, {failures} error(s) of {}",
        median.as_secs_f64(),
        times.last().copied().unwrap_or_default().as_secs_f64(),
        times.len()
    );
    server.shutdown().await;
    Ok(())
}
