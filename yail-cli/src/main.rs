//! `yail`: the command-line tool. Each subcommand lives in its own module
//! with its arguments and its `run`; this file only dispatches and turns
//! outcomes into exit codes.

mod convert;
mod exit;
mod fetch;
mod hint;
mod inputs;
mod load;
mod mode;
mod preview;
mod request;
mod server;
mod shell;

use clap::{CommandFactory, Parser, Subcommand};

use exit::{Outcome, UsageError};

const EXIT_CODES: &str = "\
Exit codes:
  0  everything succeeded
  1  some of the work failed: a picture did not convert or render, the server
     answered with an error packet, or load-test clients failed
  2  the command line is wrong
  3  could not run: a file or the network failed, the server went silent or
     closed the connection
  4  the server broke the protocol (bytes that are not a packet, or a packet
     larger than --max-packet)

Pictures and reports go to stdout; progress and diagnostics go to stderr.";

/// Convert pictures for Atari graphics modes and talk to YAIL servers.
#[derive(Debug, Parser)]
#[command(name = "yail", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert pictures and folders of pictures to the packets a client receives.
    Convert(convert::ConvertArgs),
    /// Render packets (.yai) to PNG as the Atari shows them.
    Preview(preview::PreviewArgs),
    /// Ask a server for pictures exactly as an Atari client does; save each
    /// packet and its preview.
    #[command(visible_alias = "get")]
    Fetch(fetch::FetchArgs),
    /// Load-test a server with many Atari-like clients.
    Load(load::LoadArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff) to stdout.
    Man,
}

fn main() -> std::process::ExitCode {
    yail_core::malloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(&args),
        Command::Preview(args) => preview::run(&args),
        Command::Fetch(args) => fetch::run(&args),
        Command::Load(args) => load::run(&args),
        Command::Completions(args) => shell::completions::<Cli>(&args),
        Command::Man => shell::man::<Cli>(),
    };
    match result {
        Ok(Outcome::Success) => std::process::ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed) => std::process::ExitCode::from(exit::SOME_FAILED),
        Err(error) => {
            if let Some(usage) = error.downcast_ref::<UsageError>() {
                Cli::command().error(usage.kind, &usage.message).exit();
            }
            eprint!("{}", error_report(&error));
            std::process::ExitCode::from(exit::code_of(&error))
        }
    }
}

/// The error line for `error`: its causes joined by `: `, a cause left
/// out when the one before already ends with its text (an error that
/// prints its source would otherwise say it twice), then a `hint:` line
/// for each piece of advice attached.
fn error_report(error: &anyhow::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut hints = Vec::new();
    for cause in error.chain() {
        if let Some(hinted) = cause.downcast_ref::<hint::Hinted>() {
            hints.push(hinted.advice.clone());
            continue;
        }
        let text = cause.to_string();
        if causes.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        causes.push(text);
    }
    let mut report = format!("yail: {}\n", causes.join(": "));
    for advice in hints {
        report.push_str(&format!("hint: {advice}\n"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_error_that_prints_its_source_says_it_once() {
        use yail_proto::client::ClientError;
        let error = anyhow::Error::new(ClientError::Decode(
            yail_proto::DecodeError::UnknownVersion(*b"HTT"),
        ))
        .context("picture 1");
        let report = error_report(&error);
        assert_eq!(
            report.matches("unknown packet version").count(),
            1,
            "{report}"
        );
        assert!(
            report.starts_with("yail: picture 1: not a packet: "),
            "{report}"
        );

        let hinted = hint::with_hint(error, "use port 5556".into());
        let report = error_report(&hinted);
        assert!(report.ends_with("\nhint: use port 5556\n"), "{report}");
        assert_eq!(report.lines().count(), 2, "{report}");
    }
}
