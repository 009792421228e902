//! `yail fetch`: pictures from a server, asked for exactly as an Atari
//! client does: the `gfx` write, the request, `next` between pictures and
//! `quit` at the end. Each packet is saved with its PNG preview.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use yail_core::{Packet, TvStandard};
use yail_proto::client::{Client, ClientError};

use crate::exit::{Outcome, ProtocolViolation};
use crate::hint;
use crate::preview::render_png;
use crate::request::wire_request;
use crate::server::{AfterFailedWrite, ServerArgs, after_failed_write, check_request, printable};

#[derive(Debug, Args)]
#[command(after_help = "\
Each picture N is saved as DIR/picture-N.yai and DIR/picture-N.png, and one
line per packet goes to stdout: N, the mode in the header, the packet's size
and the files written, or N, `error` and the server's message. An error
packet ends the run (exit code 1); a server breaking the protocol, e.g. by
declaring a packet over --max-packet, ends it with exit code 4.

Modes are named (gr8, vbxe-hr...) or given as BASIC's GRAPHICS number
(--gfx 9 is Graphics 9); wire:N sends the number N exactly as on the wire.
--server without a port means the YAIL port, 5556.

Examples:
  yail fetch files
  yail fetch --server 192.168.1.20 --gfx vbxe-legacy --count 5 --out pics files
  yail fetch --dialect current --gfx 15 search cats
  yail fetch --gfx 9 http://example.com/photo.jpg")]
pub struct FetchArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Pictures to fetch: the request, then `next` for each further one.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    count: u32,
    /// Folder for the packets and previews (created if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// TV standard of the previews: ntsc or pal.
    #[arg(long, default_value = "ntsc")]
    tv: TvStandard,
    /// Print the bytes written to the server on stderr.
    #[arg(short, long)]
    verbose: bool,
    /// The request as typed at the Atari's prompt: `files`, `search cats`,
    /// `gen a red barn`, a URL, `video`. Searches and prompts are quoted
    /// the way the chosen client quotes them.
    #[arg(required = true, num_args = 1..)]
    request: Vec<String>,
}

pub fn run(args: &FetchArgs) -> anyhow::Result<Outcome> {
    check_request(&args.request)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(fetch(args))
}

/// A connection to the first of `addrs` that accepts one within `timeout`
/// seconds, as an Atari's N: device would make it.
async fn connect(addrs: &[SocketAddr], timeout: u64) -> anyhow::Result<(Client, SocketAddr)> {
    let mut last = None;
    for &addr in addrs {
        let connecting = Client::connect(addr);
        match tokio::time::timeout(std::time::Duration::from_secs(timeout), connecting).await {
            Ok(Ok(client)) => return Ok((client, addr)),
            Ok(Err(e)) => {
                last = Some(anyhow::Error::new(e).context(format!("cannot connect to {addr}")))
            }
            Err(_) => last = Some(anyhow::anyhow!("no connection to {addr} within {timeout}s")),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no address to connect to")))
}

async fn fetch(args: &FetchArgs) -> anyhow::Result<Outcome> {
    let addrs = args.server.resolve()?;
    let (mut client, addr) = connect(&addrs, args.server.timeout).await?;
    args.server.configure(&mut client);

    let gfx = args.server.gfx_command();
    let request = wire_request(&args.request, args.server.dialect(), &args.server.model);
    let mut outcome = Outcome::Success;
    for n in 1..=args.count {
        let command = if n == 1 { request.as_str() } else { "next" };
        // The `gfx` write comes first, before the request.
        let mut writes: Vec<&[u8]> = Vec::new();
        if n == 1 {
            writes.extend(args.server.preamble());
            writes.push(&gfx);
        }
        writes.push(command.as_bytes());
        if let Err(e) = send(&mut client, &writes, args.verbose).await {
            match after_failed_write(&mut client).await {
                AfterFailedWrite::Refusal(message) => {
                    println!("{n} error {}", printable(&message));
                    return Ok(Outcome::SomeFailed);
                }
                AfterFailedWrite::NotAPacket(read) => {
                    return Err(unreadable(addr, read, n, command).await);
                }
                AfterFailedWrite::Nothing => return Err(e),
            }
        }
        let packet = match client.read_packet().await {
            Ok(packet) => packet,
            Err(e) => return Err(unreadable(addr, e, n, command).await),
        };
        if let Some(message) = packet.error_message() {
            // The Atari prints the message; a script needs the exit code.
            println!("{n} error {}", printable(message));
            outcome = Outcome::SomeFailed;
            break;
        }
        let line = save(&packet, n, &args.out, args.tv)?;
        println!("{line}");
    }
    // Leaving as the Atari does; the server may already have closed.
    let _ = client.send("quit").await;
    Ok(outcome)
}

/// Why picture `n` could not be read, with advice when `addr` looks like
/// a web server.
async fn unreadable(addr: SocketAddr, e: ClientError, n: u32, command: &str) -> anyhow::Error {
    let advice = hint::for_client_error(addr, &e).await;
    let error = anyhow::Error::new(e).context(format!("picture {n} ({command:?})"));
    match advice {
        Some(advice) => hint::with_hint(error, advice),
        None => error,
    }
}

/// Each of `writes` as one write, as one `network_write` of the Atari.
async fn send(client: &mut Client, writes: &[&[u8]], verbose: bool) -> anyhow::Result<()> {
    for bytes in writes {
        if verbose {
            eprintln!("> {:?}", String::from_utf8_lossy(bytes));
        }
        client
            .send(bytes)
            .await
            .context("cannot write to the server")?;
    }
    Ok(())
}

/// Writes picture `n`'s packet and preview; a packet that cannot be shown
/// is a protocol violation (nothing is written for it).
fn save(packet: &Packet, n: u32, out: &Path, tv: TvStandard) -> anyhow::Result<String> {
    let preview = render_png(packet, tv, 1)
        .map_err(|e| ProtocolViolation(format!("picture {n} cannot be shown: {e:#}")))?;
    let yai = out.join(format!("picture-{n}.yai"));
    let png = out.join(format!("picture-{n}.png"));
    std::fs::write(&yai, packet.to_bytes())
        .with_context(|| format!("cannot write {}", yai.display()))?;
    std::fs::write(&png, &preview.png)
        .with_context(|| format!("cannot write {}", png.display()))?;
    Ok(format!(
        "{n} {} {} {} {}",
        packet.mode(),
        packet.encoded_len(),
        yai.display(),
        png.display()
    ))
}
