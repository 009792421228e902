//! `yail load`: many Atari-like clients at once, with a latency report.
//! Point it at your own server only (loopback or your LAN).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::sync::Semaphore;
use yail_proto::client::Client;

use crate::exit::Outcome;
use crate::request::wire_request;
use crate::server::{ServerArgs, check_request, printable};

/// Most clients one run opens (each is a socket and a task).
const MAX_CLIENTS: u32 = 20_000;

#[derive(Debug, Args)]
#[command(after_help = "\
Each client connects, sends `gfx`, the request, then `next` for each further
image, and `quit`. The run stops starting requests after --duration seconds;
a request under way then still gets up to --timeout seconds.

Latencies are from the end of a write to the whole packet. --json prints one
object: clients, images, seconds, images_per_s, latency_ms (p50 p90 p99 max
over all images), first_ms and next_ms (the same for first requests and for
`next`), errors (total) and errors_by_kind (connect, error-packet, timeout,
closed, io, protocol, too-large).

Examples:
  yail load --clients 50 --images 10
  yail load --server 127.0.0.1:5601 --clients 200 --gfx vbxe-legacy --json files
  yail load --clients 500 --spread-sources --duration 30 search cats
  yail load --clients 1000 --hold-idle 10     # memory per idle session")]
pub struct LoadArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Clients connected at once.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=MAX_CLIENTS as i64))]
    clients: u32,
    /// Images each client asks for (the request, then `next`s).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    images: u32,
    /// Seconds after which no new request is started.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// Instead of requesting, hold the connections open (after `gfx`) for
    /// this many seconds (at most --duration): for measuring the server's
    /// memory per idle session.
    #[arg(long)]
    hold_idle: Option<u64>,
    /// Connection attempts in flight at once (avoids overflowing the
    /// server's listen backlog while ramping up).
    #[arg(long, default_value_t = 128)]
    connect_parallelism: usize,
    /// Give each client its own source address in 127.0.0.0/8, as real
    /// Ataris come from distinct homes (only for a server on 127.x).
    #[arg(long)]
    spread_sources: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// The request every client makes first, as typed at the Atari.
    #[arg(default_value = "files")]
    request: Vec<String>,
}

/// What one client saw.
#[derive(Default)]
struct ClientReport {
    first_ms: Vec<f64>,
    next_ms: Vec<f64>,
    /// Failure kind and message.
    errors: Vec<(&'static str, String)>,
}

/// What every client task shares.
struct Plan {
    addr: SocketAddr,
    gfx: Vec<u8>,
    request: String,
    images: u32,
    timeout: Duration,
    max_packet: usize,
    deadline: Instant,
    hold_idle: Option<Duration>,
}

/// The source address of client `index` when clients are spread: distinct
/// addresses in 127.0.0.0/8 from 127.0.0.1 upwards, skipping the .0 and
/// .255 host bytes.
fn spread_source(index: u32) -> SocketAddr {
    let last = 1 + index % 254;
    let rest = index / 254;
    let ip = Ipv4Addr::new(127, (rest >> 8) as u8, rest as u8, last as u8);
    SocketAddr::new(IpAddr::V4(ip), 0)
}

async fn one_client(
    plan: Arc<Plan>,
    source: Option<SocketAddr>,
    connecting: Arc<Semaphore>,
) -> ClientReport {
    let mut report = ClientReport::default();
    let connected = {
        let _permit = connecting.acquire().await;
        let connect = async {
            match source {
                Some(source) => Client::connect_from(plan.addr, source).await,
                None => Client::connect(plan.addr).await,
            }
        };
        tokio::time::timeout(plan.timeout, connect).await
    };
    let mut client = match connected {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            report.errors.push(("connect", e.to_string()));
            return report;
        }
        Err(_) => {
            report
                .errors
                .push(("connect", "connection timed out".into()));
            return report;
        }
    };
    client.set_timeout(plan.timeout);
    client.set_max_packet_len(plan.max_packet);
    if let Err(e) = client.send(&plan.gfx).await {
        report.errors.push(("io", e.to_string()));
        return report;
    }
    if let Some(hold) = plan.hold_idle {
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            (Instant::now() + hold).min(plan.deadline),
        ))
        .await;
        return report;
    }
    for n in 0..plan.images {
        if Instant::now() >= plan.deadline {
            break;
        }
        let command = if n == 0 {
            plan.request.as_str()
        } else {
            "next"
        };
        if let Err(e) = client.send(command).await {
            report.errors.push(("io", e.to_string()));
            return report;
        }
        let started = Instant::now();
        match client.read_packet().await {
            Ok(packet) => match packet.error_message() {
                None => {
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    if n == 0 {
                        report.first_ms.push(ms)
                    } else {
                        report.next_ms.push(ms)
                    }
                }
                Some(message) => report.errors.push(("error-packet", message.to_owned())),
            },
            Err(e) => {
                // The session's state is unknown after a failed read.
                report.errors.push((e.kind(), e.to_string()));
                return report;
            }
        }
    }
    let _ = client.send("quit").await;
    report
}

/// The value at quantile `q` (nearest rank) of `sorted`; 0 when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// p50, p90, p99 and max of `values`, in milliseconds.
fn summary(mut values: Vec<f64>) -> serde_json::Value {
    values.sort_by(f64::total_cmp);
    serde_json::json!({
        "p50": percentile(&values, 0.5),
        "p90": percentile(&values, 0.9),
        "p99": percentile(&values, 0.99),
        "max": values.last().copied().unwrap_or(0.0),
    })
}

pub fn run(args: &LoadArgs) -> anyhow::Result<Outcome> {
    check_request(&args.request)?;
    let addr = args.server.resolve()?;
    if args.spread_sources && !matches!(addr.ip(), IpAddr::V4(ip) if ip.is_loopback()) {
        anyhow::bail!(
            "--spread-sources needs a server on 127.0.0.0/8, not {}",
            addr.ip()
        );
    }
    let started = Instant::now();
    let duration = Duration::from_secs(args.duration);
    let plan = Arc::new(Plan {
        addr,
        gfx: args.server.gfx_command(),
        request: wire_request(&args.request, args.server.dialect(), &args.server.model),
        images: args.images,
        timeout: args.server.timeout(),
        max_packet: args.server.max_packet,
        deadline: started + duration,
        hold_idle: args.hold_idle.map(Duration::from_secs),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let connecting = Arc::new(Semaphore::new(args.connect_parallelism.max(1)));
    let reports: Vec<ClientReport> = runtime.block_on(async {
        let tasks: Vec<_> = (0..args.clients)
            .map(|index| {
                let source = args.spread_sources.then(|| spread_source(index));
                tokio::spawn(one_client(
                    Arc::clone(&plan),
                    source,
                    Arc::clone(&connecting),
                ))
            })
            .collect();
        let mut reports = Vec::with_capacity(tasks.len());
        for task in tasks {
            reports.push(task.await.context("a client task failed")?);
        }
        anyhow::Ok(reports)
    })?;
    let wall = started.elapsed().as_secs_f64();

    let first: Vec<f64> = reports.iter().flat_map(|r| &r.first_ms).copied().collect();
    let next: Vec<f64> = reports.iter().flat_map(|r| &r.next_ms).copied().collect();
    let all: Vec<f64> = first.iter().chain(&next).copied().collect();
    let images = all.len();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut examples: BTreeMap<&str, &str> = BTreeMap::new();
    for (kind, message) in reports.iter().flat_map(|r| &r.errors) {
        *by_kind.entry(kind).or_default() += 1;
        examples.entry(kind).or_insert(message);
    }
    let errors: usize = by_kind.values().sum();
    let latency = summary(all);
    let report = serde_json::json!({
        "server": addr.to_string(),
        "request": plan.request,
        "gfx": args.server.gfx.wire(),
        "clients": args.clients,
        "images": images,
        "seconds": wall,
        "images_per_s": images as f64 / wall,
        "latency_ms": latency,
        "first_ms": summary(first),
        "next_ms": summary(next),
        "errors": errors,
        "errors_by_kind": by_kind,
    });
    if args.json {
        println!("{report}");
    } else {
        let ms = |key: &str| latency[key].as_f64().unwrap_or(0.0);
        println!(
            "{} clients, {images} images in {wall:.2} s: {:.1} images/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} errors",
            args.clients,
            images as f64 / wall,
            ms("p50"),
            ms("p90"),
            ms("p99"),
            ms("max"),
        );
    }
    for (kind, message) in &examples {
        eprintln!("{} x {kind}, e.g. {}", by_kind[kind], printable(message));
    }
    Ok(Outcome::from_ok(errors == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.9), 90.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn spread_sources_are_distinct_loopback_host_addresses() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..MAX_CLIENTS {
            let SocketAddr::V4(source) = spread_source(index) else {
                panic!("IPv4 expected");
            };
            let ip = source.ip();
            assert!(ip.is_loopback(), "{ip}");
            assert!(!matches!(ip.octets()[3], 0 | 255), "{ip}");
            assert!(seen.insert(*ip), "{ip} twice");
        }
        assert_eq!(
            spread_source(0).ip(),
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))
        );
    }
}
