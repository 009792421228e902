//! `yail`: the command-line tool. Each subcommand lives in its own module.

mod convert;
mod load;
mod remote;

use clap::{Parser, Subcommand};

/// Convert pictures for Atari graphics modes and talk to YAIL servers.
#[derive(Debug, Parser)]
#[command(name = "yail", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert pictures to the packet a client receives (DIR/NAME.yai).
    Convert(convert::ConvertArgs),
    /// Render a packet (.yai) to a PNG as the Atari shows it.
    Preview(convert::PreviewArgs),
    /// Send commands to a server and save the packets it answers with.
    Get(remote::GetArgs),
    /// Load-test a server with many Atari-like clients.
    Load(load::LoadArgs),
}

fn main() -> std::process::ExitCode {
    yail_server::alloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::convert(&args),
        Command::Preview(args) => convert::preview(&args),
        Command::Get(args) => remote::get(&args),
        Command::Load(args) => load::load(&args),
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("yail: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
