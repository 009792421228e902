//! What a client can make generation cost: the quota of one client network
//! (many addresses of one IPv6 /64 share it), the server's budget for the
//! day, and the operator's ceilings on size and quality, each checked by
//! what a fake OpenAI receives.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;
use yail_proto::Packet;
use yail_proto::client::Client;
use yail_server::{Config, Services};
use yail_state::ServerState;
use yail_tests::test_net::LoopbackAddresses;
use yail_tests::{TestServer, photos_dir, test_config};

use crate::fake_api::FakeOpenAi;

const OPENAI_KEY: &str = "sk-test-limits-0123456789";

/// A fake OpenAI answering every generation with `camera.png`.
async fn fake_openai() -> FakeOpenAi {
    let picture = std::fs::read(photos_dir().join("camera.png")).unwrap();
    FakeOpenAi::start(OPENAI_KEY, &picture).await
}

fn config_for(openai: &FakeOpenAi) -> Config {
    Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: openai.base_url(),
        ..test_config()
    }
}

fn is_picture(packet: &Packet) -> bool {
    packet.error_message().is_none() && packet.image_data().map(<[u8]>::len) == Some(8800)
}

/// Found by the security review: the quota counted each address, so 20
/// addresses of one IPv6 /64 made 120 generations in seconds against a
/// limit of 6 a minute. The /64 is one network, with one quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_addresses_of_one_ipv6_64_share_one_generation_quota() {
    let network = |host: u16| Ipv6Addr::new(0x2001, 0xdb8, 0x31, 0x6, 0, 0, 0, host);
    let addresses = match LoopbackAddresses::add((1..=21).map(network)) {
        Ok(addresses) => addresses,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let openai = fake_openai().await;
    let config = Config {
        gen_per_minute: 6,
        // Twenty machines of one household, one at a time.
        max_per_ip: 32,
        ..config_for(&openai)
    };
    let listener = TcpListener::bind(SocketAddr::new(IpAddr::V6(network(1)), 0))
        .await
        .expect("listen on a test address");
    let server = listener.local_addr().expect("bound address");
    let services = Services::start(config, ServerState::new())
        .await
        .expect("services");
    let stop = stop_signal();
    tokio::spawn(yail_server::run(listener, services, stop.1));

    let (mut pictures, mut refused) = (0, 0);
    for host in 2..=21 {
        let source = SocketAddr::new(IpAddr::V6(network(host)), 0);
        let mut client = Client::connect_from(server, source).await.expect("connect");
        client.set_timeout(Duration::from_secs(30));
        client
            .ask_for_error_packets()
            .await
            .expect("errors packets");
        for _ in 0..7 {
            let packet = client
                .request("gen \"a red barn\"")
                .await
                .expect("an answer");
            if is_picture(&packet) {
                pictures += 1;
            } else if packet
                .error_message()
                .is_some_and(|m| m.contains("limit reached (6 a minute)"))
            {
                refused += 1;
            }
        }
    }
    let reached = openai.generations().len();
    println!("20 addresses of 2001:db8:31:6::/64, 7 gens each: {reached} reached the API");
    assert_eq!((pictures, refused), (6, 134));
    assert_eq!(reached, 6);
    let _ = stop.0.send(());
    drop(addresses);
}

/// A stop signal for `yail_server::run`: send on the first to stop.
fn stop_signal() -> (
    tokio::sync::oneshot::Sender<()>,
    impl std::future::Future<Output = ()>,
) {
    let (send, receive) = tokio::sync::oneshot::channel::<()>();
    (send, async move {
        let _ = receive.await;
    })
}

/// Found by the security review: with `--gen-quality low`, a client's
/// `openai-config quality high` and `size 1536x1024` reached the API.
/// The operator's settings are ceilings: a choice above is refused with
/// what may be chosen, and the API gets what the operator allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_config_cannot_raise_size_or_quality_above_the_operators() {
    let openai = fake_openai().await;
    let config = Config {
        gen_size: String::from("1024x1024"),
        gen_quality: String::from("low"),
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    for (command, expected) in [
        (
            "openai-config quality high\n",
            "quality high is more than this server allows; choose one of: low",
        ),
        (
            "openai-config size 1536x1024\n",
            "size 1536x1024 is more than this server allows; choose one of: 1024x1024",
        ),
        (
            "openai-config quality auto\n",
            "more than this server allows",
        ),
    ] {
        let packet = atari.request(command).await.expect("an answer");
        let text = packet.error_message().unwrap_or_default();
        assert!(text.contains(expected), "{command}: {text}");
    }
    assert!(is_picture(
        &atari.request("gen \"a fox\"").await.expect("an answer")
    ));
    let sent = openai.generations()[0].json();
    assert_eq!(
        (&sent["quality"], &sent["size"]),
        (&json!("low"), &json!("1024x1024"))
    );

    // Ceilings above the defaults: a client may choose up to them.
    let openai = fake_openai().await;
    let config = Config {
        gen_max_size: Some(String::from("1536x1024")),
        gen_max_quality: Some(String::from("medium")),
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    for command in [
        "openai-config quality medium\n",
        "openai-config size 1024x1536\n",
    ] {
        let packet = atari.request(command).await.expect("an answer");
        let text = packet.error_message().unwrap_or_default();
        assert!(!text.contains("more than"), "{command}: {text}");
    }
    let packet = atari
        .request("openai-config quality high\n")
        .await
        .expect("an answer");
    let text = packet.error_message().unwrap_or_default();
    assert!(text.contains("choose one of: low, medium"), "{text}");
    assert!(is_picture(
        &atari.request("gen \"a hen\"").await.expect("an answer")
    ));
    let sent = openai.generations()[0].json();
    assert_eq!(
        (&sent["quality"], &sent["size"]),
        (&json!("medium"), &json!("1024x1536"))
    );
}

/// The server's budget for the day counts every client: once it is spent,
/// nobody's generation reaches the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_budget_stops_every_client_once_spent() {
    let openai = fake_openai().await;
    let config = Config {
        gen_per_day: 3,
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut pictures = 0;
    for i in 1..=5u8 {
        // Five clients on five networks, each well within its own quota.
        let source = SocketAddr::from(([127, 0, 31, i], 0));
        let mut atari = Client::connect_from(server.addr, source)
            .await
            .expect("connect");
        atari.set_timeout(Duration::from_secs(30));
        atari.ask_for_error_packets().await.expect("errors packets");
        let packet = atari.request("gen \"a boat\"").await.expect("an answer");
        if is_picture(&packet) {
            pictures += 1;
        } else {
            let text = packet.error_message().unwrap_or_default();
            assert!(
                text.contains("generation budget is used up (3 a day); try again in 23 h"),
                "{text}"
            );
        }
    }
    assert_eq!(pictures, 3);
    assert_eq!(openai.generations().len(), 3);
}
