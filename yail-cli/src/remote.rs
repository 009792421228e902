//! `yail get`: one packet per command from a running server.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use yail_server::client::Client;

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Server address, e.g. 127.0.0.1:5556.
    addr: String,
    /// Commands, sent one write each as an Atari would (`gfx 2`, `files`,
    /// `next`, `search "cats"`...). `gfx` and `quit` get no packet.
    #[arg(required = true)]
    commands: Vec<String>,
    /// Directory for the packets (N.yai, numbered from 0); none: only print a summary.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds to wait for each packet.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

pub fn get(args: &GetArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut client = Client::connect(&args.addr)
            .await
            .with_context(|| format!("cannot connect to {}", args.addr))?;
        client.set_timeout(Duration::from_secs(args.timeout));
        if let Some(out) = &args.out {
            std::fs::create_dir_all(out)?;
        }
        let mut all_ok = true;
        for (n, command) in args.commands.iter().enumerate() {
            let word = command
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if word == "gfx" {
                // The client pads `gfx N` with a space; the server reads no reply.
                client.send(format!("{} ", command.trim_end())).await?;
                continue;
            }
            if word == "quit" {
                client.send(command).await?;
                break;
            }
            let packet = client
                .request(command)
                .await
                .with_context(|| format!("no packet for {command:?}"))?;
            match packet.error_message() {
                Some(message) => {
                    all_ok = false;
                    println!("{command}: error packet: {message}");
                }
                None => println!(
                    "{command}: gfx {} image, {} bytes",
                    packet.gfx(),
                    packet.encoded_len()
                ),
            }
            if let Some(out) = &args.out {
                let path = out.join(format!("{n}.yai"));
                std::fs::write(&path, packet.to_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(all_ok)
    })
}
