//! `yail load`: reports, and source addresses against a per-address limit.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_json_reports_percentiles_and_errors_by_kind() {
    let server = TestServer::start(test_config()).await;
    let (output, report) = load_json(
        server.addr,
        "--clients 4 --images 3 --gfx gr8 --spread-sources",
    )
    .await;
    assert_success(&output);
    assert_eq!(report["images"], 12, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    let latency = &report["latency_ms"];
    let at = |key: &str| latency[key].as_f64().expect("a number");
    assert!(at("p50") > 0.0, "{report}");
    assert!(at("p50") <= at("p90") && at("p90") <= at("p99") && at("p99") <= at("max"));
    let served = eventually(12, || server.state.metrics().snapshot().packets_by_mode[2]).await;
    assert_eq!(served, 12);

    // Every request answered with an error packet is counted by kind.
    let (output, report) = load_json(server.addr, "--clients 2 --images 2 dance").await;
    assert_eq!(output.status.code(), Some(1));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spread_sources_come_from_distinct_loopback_addresses() {
    let (addr, peers) = recording_server().await;
    let (output, report) = load_json(addr, "--clients 6 --images 2 --spread-sources").await;
    assert_success(&output);
    assert_eq!(report["images"], 12, "{report}");
    let ips = source_ips(&peers);
    assert_eq!(ips.len(), 6, "{ips:?}");
    assert!(ips.iter().all(|ip| ip.is_loopback()), "{ips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_with_more_clients_than_max_per_ip_spreads_sources_by_itself() {
    // A server with the defaults: 8 sessions per address.
    let config = test_config();
    assert_eq!(config.max_per_ip, 8);
    let server = TestServer::start(config).await;
    let (output, report) = load_json(server.addr, "--clients 20 --images 2").await;
    assert_success(&output);
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["images"], 40, "{report}");
    assert_eq!(report["spread_sources"], true, "{report}");

    // All 20 at once: each holds its session open for a second.
    let (output, report) = load_json(server.addr, "--clients 20 --hold-idle 1").await;
    assert_eq!(report["errors"], 0, "{report}");
    assert_success(&output);

    // With one source address the server's limit shows, and yail says why.
    // `--hold-idle 3` is long enough for a server that waits a moment for
    // the first request before sending its refusal.
    let (output, report) = load_json(server.addr, "--clients 12 --hold-idle 3 --one-source").await;
    let stderr = assert_exit(&output, 1);
    assert_eq!(report["errors_by_kind"]["error-packet"], 4, "{report}");
    assert!(stderr.contains("too many connections"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("--max-per-ip 12"), "{stderr}");
    assert!(stderr.contains("--one-source"), "says why: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spreads_sources_without_being_asked() {
    let (addr, peers) = recording_server().await;
    let output = load(addr, "--clients 10 --images 1 --json").await;
    assert_success(&output);
    let ips = source_ips(&peers);
    assert_eq!(ips.len(), 10, "{ips:?}");
}
