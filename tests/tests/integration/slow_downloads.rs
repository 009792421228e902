//! Sessions whose requests wait on a trickling host cannot keep a full
//! server's slots from a real client.

use std::net::SocketAddr;
use std::time::Duration;

use yail_proto::client::Client;
use yail_server::Config;
use yail_tests::fake_http::{FakeHttp, Reply};
use yail_tests::{TestServer, eventually, test_config};

/// Found by the security review: a session waiting on a download had a
/// command in flight, so the full server never closed it; 16 sessions
/// looping `showurl` of a URL that trickles a byte every 200 ms kept a
/// 16-slot server "busy" for a real client for the whole fetch timeout.
/// Now a full server closes the one that has waited longest on its
/// download past `--slow-fetch-secs`, which is told so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_trickling_downloads_cannot_keep_a_real_client_out() {
    let host = FakeHttp::builder()
        .route(
            "/slow.jpg",
            Reply::trickle("image/jpeg", Duration::from_millis(200)),
        )
        .start()
        .await;
    let config = Config {
        max_connections: 16,
        slow_fetch: Some(Duration::from_secs(1)),
        fetch_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(60),
        allowed_url_nets: vec!["127.0.0.0/8".parse().expect("a network")],
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let url = host.url("/slow.jpg");

    // Sixteen hogs from sixteen addresses: each asks again as soon as it
    // is answered, and connects again if it is closed. Eight download a URL
    // of their own; eight ask for one URL, which the server downloads once
    // for all of them (the others wait on that download).
    let mut hogs = tokio::task::JoinSet::new();
    let (told, told_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for i in 1..=16u8 {
        let url = if i <= 8 {
            format!("{url}?hog={i}")
        } else {
            url.clone()
        };
        let (addr, told) = (server.addr, told.clone());
        hogs.spawn(async move {
            let source = SocketAddr::from(([127, 0, 33, i], 0));
            loop {
                let Ok(mut hog) = Client::connect_from(addr, source).await else {
                    continue;
                };
                hog.set_timeout(Duration::from_secs(120));
                // Told why in words: an error packet, not a drawn picture.
                if hog.ask_for_error_packets().await.is_err() {
                    continue;
                }
                while let Ok(packet) = hog.request(format!("gfx 2 showurl {url}")).await {
                    let _ = told.send(packet.error_message().unwrap_or_default().to_owned());
                }
            }
        });
    }
    let asked = eventually(9, || host.hits("/slow.jpg")).await;
    assert_eq!(asked, 9, "every download started");
    let showing = || {
        let sessions = server.state.sessions();
        sessions.iter().filter(|s| s.activity == "showurl").count()
    };
    assert_eq!(eventually(16, showing).await, 16, "every hog asked");
    // Past the bound for every one of them.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The real client, an Atari: when its connection ends before any
    // reply (closed while it was idle, to let a returning hog in), it
    // connects again and repeats its command.
    let source = SocketAddr::from(([127, 0, 33, 100], 0));
    let mut answers = Vec::new();
    for _ in 0..10 {
        let mut atari = Client::connect_from(server.addr, source)
            .await
            .expect("connect");
        atari.set_timeout(Duration::from_secs(30));
        // A refusal must not pass for the picture.
        if atari.ask_for_error_packets().await.is_err() {
            answers.push(Some(String::from("closed before asking")));
            continue;
        }
        match atari.request("gfx 2 files").await {
            Ok(packet) => {
                answers.push(packet.error_message().map(str::to_owned));
                if packet.image_data().map(<[u8]>::len) == Some(8800) {
                    break;
                }
            }
            Err(closed) => answers.push(Some(format!("{closed:?}"))),
        }
    }
    assert_eq!(
        answers.last(),
        Some(&None),
        "the real client is served: {answers:?}"
    );
    println!("the real client's answers: {answers:?}");

    // The hog that made room was told why (its answer may still be on
    // its way).
    let mut told_rx = told_rx;
    let told_why = async {
        while let Some(message) = told_rx.recv().await {
            if message == "server full: the download took too long; try again later" {
                return true;
            }
        }
        false
    };
    let told_why = tokio::time::timeout(Duration::from_secs(30), told_why).await;
    assert_eq!(told_why, Ok(true), "the closed hog is told why");
    hogs.abort_all();
    drop(told);
}
