//! `yail load`: many Atari-like clients at once, with a latency report.
//! Point it at your own server only (loopback or your LAN).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::sync::Semaphore;
use yail_proto::client::{Client, ClientError};

use crate::exit::Outcome;
use crate::hint;
use crate::request::wire_request;
use crate::server::{AfterFailedWrite, ServerArgs, after_failed_write, check_request, printable};

/// Most clients one run opens (each is a socket and a task).
const MAX_CLIENTS: u32 = 20_000;

/// Sessions a yail-server with its defaults accepts from one address
/// (its --max-per-ip).
const DEFAULT_MAX_PER_IP: u32 = 8;

#[derive(Debug, Args)]
#[command(after_help = "\
Each client connects, sends `gfx`, the request, then `next` for each further
image, and `quit`. The run stops starting requests after --duration seconds;
a request under way then still gets up to --timeout seconds.

Latencies are from the end of a write to the whole packet. --json prints one
object: clients, images, seconds, images_per_s, latency_ms (p50 p90 p99 max
over all images), first_ms and next_ms (the same for first requests and for
`next`), errors (total) and errors_by_kind (connect, error-packet, timeout,
closed, io, protocol, too-large), with server, request, gfx (the wire
value), mode (its name) and spread_sources.

Towards a server on 127.0.0.0/8 each client connects from its own source
address (127.0.0.1, 127.0.0.2, ...), as real Ataris come from distinct
homes, so a server's per-address limit (yail-server --max-per-ip, 8 by
default) lets them all in. Towards any other address all clients share
this machine's address, and a server with that limit refuses all but 8:
start it with a higher --max-per-ip. --one-source keeps one source address
on loopback too (to test that limit).

Examples:
  yail load --clients 50 --images 10
  yail load --server 127.0.0.1:5601 --clients 200 --gfx vbxe-legacy --json files
  yail load --clients 500 --duration 30 search cats
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
    /// memory per idle session. A session the server refuses or closes
    /// meanwhile counts as an error.
    #[arg(long)]
    hold_idle: Option<u64>,
    /// Connection attempts in flight at once (avoids overflowing the
    /// server's listen backlog while ramping up).
    #[arg(long, default_value_t = 128)]
    connect_parallelism: usize,
    /// Give each client its own source address in 127.0.0.0/8, and fail
    /// if that cannot be done (the default already does it when it can).
    #[arg(long)]
    spread_sources: bool,
    /// Connect every client from one source address, even on loopback.
    #[arg(long, conflicts_with = "spread_sources")]
    one_source: bool,
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
    /// The server answered with the start of an HTTP response.
    web_reply: bool,
    /// The last failure was silence or a close before any byte.
    unanswered: bool,
}

/// What every client task shares.
struct Plan {
    addr: SocketAddr,
    preamble: Option<&'static [u8]>,
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
    if let Some(preamble) = plan.preamble
        && let Err(e) = client.send(preamble).await
    {
        failed_write(&mut client, e, &mut report).await;
        return report;
    }
    if let Err(e) = client.send(&plan.gfx).await {
        failed_write(&mut client, e, &mut report).await;
        return report;
    }
    if let Some(hold) = plan.hold_idle {
        // An idle session hears nothing; anything the server sends or does
        // meanwhile (a refusal, closing it) is a failure to report.
        let until = (Instant::now() + hold).min(plan.deadline);
        client.set_timeout(until.saturating_duration_since(Instant::now()));
        match client.read_packet().await {
            Err(ClientError::Timeout(_)) => {}
            Ok(packet) => match packet.error_message() {
                Some(message) => report.errors.push(("error-packet", message.to_owned())),
                None => report
                    .errors
                    .push(("protocol", "a picture nobody asked for".to_owned())),
            },
            Err(e) => report.errors.push((e.kind(), e.to_string())),
        }
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
            failed_write(&mut client, e, &mut report).await;
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
                report.web_reply |= hint::is_http_reply(&e);
                report.unanswered = hint::worth_probing(&e);
                report.errors.push((e.kind(), e.to_string()));
                return report;
            }
        }
    }
    let _ = client.send("quit").await;
    report
}

/// Records the failure a write that failed stands for: the server's error
/// packet when it sent one before closing (a refusal), else the write's
/// error (noting a web server's reply, for the hint).
async fn failed_write(client: &mut Client, error: std::io::Error, report: &mut ClientReport) {
    let failure = match after_failed_write(client).await {
        AfterFailedWrite::Refusal(message) => ("error-packet", message),
        AfterFailedWrite::NotAPacket(read) => {
            report.web_reply |= hint::is_http_reply(&read);
            (read.kind(), read.to_string())
        }
        AfterFailedWrite::Nothing => ("io", error.to_string()),
    };
    report.errors.push(failure);
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

/// Why all clients share one source address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OneSourceReason {
    /// `--one-source`.
    Asked,
    /// The server is not on 127.0.0.0/8 (or has only an IPv6 address).
    NotIpv4Loopback(IpAddr),
    /// This system would not bind a second loopback address.
    CannotBind(String),
}

impl std::fmt::Display for OneSourceReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OneSourceReason::Asked => f.write_str("--one-source was given"),
            OneSourceReason::NotIpv4Loopback(ip) => write!(
                f,
                "the server, {ip}, is not on 127.0.0.0/8, the only place one machine has many addresses"
            ),
            OneSourceReason::CannotBind(why) => {
                write!(
                    f,
                    "this system will not use 127.0.0.2 as a source address ({why})"
                )
            }
        }
    }
}

/// Whether this system connects from loopback addresses other than
/// 127.0.0.1 (Linux routes all of 127.0.0.0/8 to the loopback device;
/// others may configure 127.0.0.1 alone).
fn second_loopback_usable() -> Result<(), String> {
    // A bound UDP socket sends nothing: binding alone is the question.
    std::net::UdpSocket::bind(spread_source(1))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Spread the clients' source addresses, or say why not; `Err` when
/// `--spread-sources` asks for what cannot be done.
fn choose_sources(
    args: &LoadArgs,
    addr: SocketAddr,
) -> anyhow::Result<Result<(), OneSourceReason>> {
    if args.one_source {
        return Ok(Err(OneSourceReason::Asked));
    }
    if !matches!(addr.ip(), IpAddr::V4(ip) if ip.is_loopback()) {
        anyhow::ensure!(
            !args.spread_sources,
            "--spread-sources needs a server on 127.0.0.0/8, not {}",
            addr.ip()
        );
        return Ok(Err(OneSourceReason::NotIpv4Loopback(addr.ip())));
    }
    match second_loopback_usable() {
        Ok(()) => Ok(Ok(())),
        Err(why) if args.spread_sources => {
            anyhow::bail!("--spread-sources: cannot bind 127.0.0.2 on this system: {why}")
        }
        Err(why) => Ok(Err(OneSourceReason::CannotBind(why))),
    }
}

/// The advice when clients sharing one source address failed in the way a
/// per-address limit fails them: refused with the server's reason, or
/// (when the refusal went unread) cut off while more clients ran than a
/// default server lets in from one address.
fn per_address_advice(
    reports: &[ClientReport],
    reason: &OneSourceReason,
    clients: u32,
) -> Option<String> {
    let errors = || reports.iter().flat_map(|r| &r.errors);
    let refused = errors()
        .filter(|(kind, message)| {
            *kind == "error-packet" && message.contains("too many connections")
        })
        .count();
    let cut_off = errors()
        .filter(|(kind, _)| matches!(*kind, "io" | "closed"))
        .count();
    let what = if refused > 0 {
        format!("{refused} clients were refused for too many connections from one address")
    } else if cut_off > 0 && clients > DEFAULT_MAX_PER_IP {
        format!(
            "{cut_off} clients lost their connection, as a server refusing more than \
             --max-per-ip ({DEFAULT_MAX_PER_IP} by default) from one address cuts them off"
        )
    } else {
        return None;
    };
    Some(format!(
        "{what}: all came from one address because {reason}. Start the server with \
         --max-per-ip {clients} or more, or use fewer --clients"
    ))
}

pub fn run(args: &LoadArgs) -> anyhow::Result<Outcome> {
    check_request(&args.request)?;
    let addr = args
        .server
        .resolve()?
        .into_iter()
        .next()
        .context("the server has no address")?;
    let sources = choose_sources(args, addr)?;
    let spread = sources.is_ok();
    let started = Instant::now();
    let duration = Duration::from_secs(args.duration);
    let plan = Arc::new(Plan {
        addr,
        preamble: args.server.preamble(),
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
                let source = spread.then(|| spread_source(index));
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
        "mode": args.server.gfx.name(),
        "spread_sources": spread,
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
    if let Err(reason) = &sources
        && let Some(advice) = per_address_advice(&reports, reason, args.clients)
    {
        eprintln!("hint: {advice}");
    }
    let web_reply = reports.iter().any(|r| r.web_reply);
    let unanswered = images == 0 && reports.iter().any(|r| r.unanswered);
    if web_reply || (unanswered && runtime.block_on(hint::answers_like_a_web_server(addr))) {
        eprintln!("hint: {}", hint::web_server_advice(addr));
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
    fn clients_sharing_an_address_are_told_about_max_per_ip() {
        let failed = |kind: &'static str, message: &str| ClientReport {
            errors: vec![(kind, message.to_owned())],
            ..ClientReport::default()
        };
        let reason = OneSourceReason::NotIpv4Loopback(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let refused = [
            failed("error-packet", "too many connections from your address"),
            failed("io", "Broken pipe (os error 32)"),
        ];
        let advice = per_address_advice(&refused, &reason, 9).expect("advice");
        assert!(advice.contains("1 clients were refused"), "{advice}");
        assert!(advice.contains("--max-per-ip 9"), "{advice}");
        assert!(advice.contains("192.0.2.1"), "says why: {advice}");

        let cut_off = [failed("io", "Broken pipe (os error 32)")];
        assert!(per_address_advice(&cut_off, &reason, 20).is_some());
        // Few enough clients for any default server: a broken pipe is
        // something else.
        assert!(per_address_advice(&cut_off, &reason, 8).is_none());
        let other = [failed("error-packet", "unknown command")];
        assert!(per_address_advice(&other, &reason, 20).is_none());
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
