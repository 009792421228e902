//! `yail load`: many Atari-like clients at once, with a latency report.
//! Point it at your own server only (loopback or your LAN).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::sync::Semaphore;
use yail_server::client::Client;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Server address, e.g. 127.0.0.1:5556.
    addr: String,
    /// Clients connected at once.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Images each client asks for (the first request, then `next`s).
    #[arg(long, default_value_t = 10)]
    images: usize,
    /// Graphics mode value each client sends.
    #[arg(long, default_value_t = 2)]
    gfx: u8,
    /// The first request of every client.
    #[arg(long, default_value = "files")]
    command: String,
    /// Seconds to wait for each packet before counting a failure.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Instead of requesting, hold the connections open (after `gfx`) for
    /// this many seconds: for measuring the server's memory per idle session.
    #[arg(long)]
    hold_idle: Option<u64>,
    /// Connection attempts in flight at once (avoids overflowing the
    /// server's listen backlog while ramping up).
    #[arg(long, default_value_t = 128)]
    connect_parallelism: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Default)]
struct ClientReport {
    first_ms: Vec<f64>,
    next_ms: Vec<f64>,
    failures: Vec<String>,
}

async fn one_client(args: Arc<LoadArgsShared>, connecting: Arc<Semaphore>) -> ClientReport {
    let mut report = ClientReport::default();
    let connected = {
        let _permit = connecting.acquire().await;
        Client::connect(&args.addr).await
    };
    let mut client = match connected {
        Ok(client) => client,
        Err(e) => {
            report.failures.push(format!("connect: {e}"));
            return report;
        }
    };
    client.set_timeout(args.timeout);
    if let Err(e) = client.send(format!("gfx {} ", args.gfx)).await {
        report.failures.push(format!("send: {e}"));
        return report;
    }
    if let Some(hold) = args.hold_idle {
        tokio::time::sleep(hold).await;
        return report;
    }
    for n in 0..args.images {
        let command = if n == 0 {
            args.command.as_str()
        } else {
            "next"
        };
        let started = Instant::now();
        match client.request(command).await {
            Ok(packet) if packet.error_message().is_none() => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                if n == 0 {
                    report.first_ms.push(ms)
                } else {
                    report.next_ms.push(ms)
                }
            }
            Ok(packet) => report.failures.push(format!(
                "error packet: {}",
                packet.error_message().unwrap_or("")
            )),
            Err(e) => {
                report.failures.push(e.to_string());
                return report;
            }
        }
    }
    let _ = client.send("quit").await;
    report
}

struct LoadArgsShared {
    addr: String,
    gfx: u8,
    command: String,
    images: usize,
    timeout: Duration,
    hold_idle: Option<Duration>,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn load(args: &LoadArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let shared = Arc::new(LoadArgsShared {
        addr: args.addr.clone(),
        gfx: args.gfx,
        command: args.command.clone(),
        images: args.images,
        timeout: Duration::from_secs(args.timeout),
        hold_idle: args.hold_idle.map(Duration::from_secs),
    });
    let connecting = Arc::new(Semaphore::new(args.connect_parallelism.max(1)));
    let started = Instant::now();
    let reports: Vec<ClientReport> = runtime.block_on(async {
        let tasks: Vec<_> = (0..args.clients)
            .map(|_| tokio::spawn(one_client(Arc::clone(&shared), Arc::clone(&connecting))))
            .collect();
        let mut reports = Vec::with_capacity(tasks.len());
        for task in tasks {
            reports.push(task.await.context("a client task failed")?);
        }
        anyhow::Ok(reports)
    })?;
    let wall = started.elapsed().as_secs_f64();

    let mut all: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.first_ms.iter().chain(&r.next_ms))
        .copied()
        .collect();
    let mut next: Vec<f64> = reports.iter().flat_map(|r| &r.next_ms).copied().collect();
    all.sort_by(f64::total_cmp);
    next.sort_by(f64::total_cmp);
    let failures: Vec<&String> = reports.iter().flat_map(|r| &r.failures).collect();
    let images = all.len();
    let report = serde_json::json!({
        "clients": args.clients,
        "images": images,
        "failures": failures.len(),
        "seconds": wall,
        "images_per_s": images as f64 / wall,
        "ms_p50": percentile(&all, 0.5),
        "ms_p99": percentile(&all, 0.99),
        "ms_max": all.last().copied().unwrap_or(0.0),
        "next_ms_p50": percentile(&next, 0.5),
        "next_ms_p99": percentile(&next, 0.99),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} clients, {images} images in {wall:.2} s: {:.1} images/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; next p99 {:.1} ms; {} failures",
            args.clients,
            images as f64 / wall,
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(0.0),
            percentile(&next, 0.99),
            failures.len()
        );
    }
    for failure in failures.iter().take(5) {
        eprintln!("failure: {failure}");
    }
    Ok(failures.is_empty())
}
